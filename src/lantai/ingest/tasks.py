"""Queued jobs of 收. Progress (the stage being run) goes to the cache, readable by any web process."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from huey import crontab

from lantai.core.audit import acting_as
from lantai.ingest import (
    services,
    warning_tasks,  # noqa: F401  (huey discovers tasks.py only)
)
from lantai.ingest.models import TransferVersion
from lantai.job_leases import hold_for_test
from lantai.jobs import huey

PROGRESS_SECONDS = 6 * 3600
STALE_SECONDS = 2 * 3600  # no new stage for this long: the worker running the check has died


def progress_key(version_id: int) -> str:
    return f"transfer-check-progress:{version_id}"


def read_progress(version_id: int) -> dict[str, Any]:
    return cache.get(progress_key(version_id)) or {}


@huey.task()
def check_version(version_id: int, actor: str = "system", resume: bool = False) -> None:
    """Run the 移交与接收 checks of one version. Whatever happens inside, the transfer ends
    通过 or 不通过: an unreadable package or a crash becomes a failed check with the error.
    `resume` continues an interrupted check where it stopped (services.run_check)."""
    version = TransferVersion.objects.select_related("transfer").get(pk=version_id)
    key = progress_key(version_id)
    done: list[str] = []

    def progress(stage: str) -> None:
        done.append(stage)
        cache.set(
            key,
            {"status": "checking", "stage": stage, "stages": list(done), "at": time.time()},
            PROGRESS_SECONDS,
        )
        hold_for_test(f"check_version/{stage}")  # tests/scaleout: a worker killed mid-check

    cache.set(
        key, {"status": "checking", "stage": "", "stages": [], "at": time.time()}, PROGRESS_SECONDS
    )
    with acting_as(actor):
        try:
            report = services.run_check(version, progress=progress, resume=resume)
        except services.UnreadableSource as e:
            services.record_check_error(version, e.message_zh)
            cache.set(key, {"status": "failed", "message": e.message_zh}, PROGRESS_SECONDS)
        except Exception as e:  # a failed tool yields a failed check, never a stuck transfer
            message = f"检测出错：{type(e).__name__}: {e}"
            services.record_check_error(version, message)
            cache.set(key, {"status": "failed", "message": message}, PROGRESS_SECONDS)
        else:
            cache.set(key, {"status": report.result, "stages": list(done)}, PROGRESS_SECONDS)


@huey.periodic_task(crontab(minute="*/10"))
def requeue_interrupted_checks() -> list[int]:
    """A check whose worker died (killed, machine restarted) would stay 检测中 forever: re-queue
    any check with no progress for STALE_SECONDS. Checks are idempotent per file: the re-queued
    check resumes, redoing only the files the dead worker had not finished."""
    return requeue_stale(time.time())


def requeue_stale(now: float) -> list[int]:
    from lantai.ingest.models import Transfer

    requeued = []
    cutoff = timezone.now() - timedelta(seconds=STALE_SECONDS)
    for transfer in Transfer.objects.filter(status="checking", updated_at__lt=cutoff):
        version = transfer.versions.order_by("-number").first()
        if version is None:
            continue
        last = read_progress(version.pk).get("at", 0)
        if now - float(last) >= STALE_SECONDS:
            check_version(version.pk, "system:requeue", resume=True)
            requeued.append(version.pk)
    return requeued
