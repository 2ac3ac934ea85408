"""`lantai alerts …` and `lantai health` (lantai.ops.alerts, lantai.ops.health)."""

from __future__ import annotations

import click


@click.group()
def alerts() -> None:
    """告警投递 (alerts delivered by mail and webhook)."""
