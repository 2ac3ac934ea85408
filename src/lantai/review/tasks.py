"""Queued jobs of 开放审核: the machine pre-screen, SCREEN_BATCH items per job so that a task of a
million items spreads over every worker, and the yearly return of deferred records."""

from __future__ import annotations

from huey import crontab

from lantai.core.audit import acting_as
from lantai.jobs import huey
from lantai.review import publishing, services
from lantai.review.models import ReviewItem

SCREEN_BATCH = 50


@huey.task(retries=1, retry_delay=60)
def screen_items(item_ids: list[int]) -> int:
    """Screen the items still waiting for it (run again, it skips those done: idempotent)."""
    done = 0
    for item in ReviewItem.objects.filter(pk__in=item_ids, stage="machine").select_related(
        "record"
    ):
        services.screen_item(item)
        done += 1
    return done


@huey.periodic_task(crontab(minute="17", hour="2"))
def start_rereviews() -> int:
    with acting_as("system"):
        return len(publishing.start_rereviews())


@huey.task()
def train_classifier(user_id: int) -> str:
    from lantai.core.models import User
    from lantai.review import classifier_store

    user = User.objects.get(pk=user_id)
    with acting_as(user.get_username()):
        return classifier_store.train(user).version
