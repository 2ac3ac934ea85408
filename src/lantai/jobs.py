"""The one place that knows how jobs are queued: the huey instance (configured in settings.HUEY)."""

from huey.contrib.djhuey import HUEY as huey

__all__ = ["huey"]
