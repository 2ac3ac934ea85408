"""音像档案: digitized recordings of records, their access copies, and time-coded description
segments. A segment's start, end and description become the recording's searchable text, so a
query finds the record and the hit links to that moment of the recording."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction

from lantai.catalog import components
from lantai.catalog.models import Record
from lantai.catalog.services import visible_records
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import DIGITIZE_MANAGE, EDIT
from lantai.digitization import av
from lantai.digitization.models import Recording, Segment
from lantai.digitization.services import DigitizationError

log = logging.getLogger(__name__)


def _require(user: User | None, record: Record, permission: str) -> None:
    if user is None:
        return
    if (
        not user.has_perm_code(permission)
        or not visible_records(user).filter(pk=record.pk).exists()
    ):
        raise DigitizationError(
            "无权修改该档案的录音录像", "You may not change this record's recordings"
        )


def add_recording(record: Record, path: Path, *, user: User | None) -> Recording:
    """Attach a recording file to a record at once (outside a scanning batch) and queue its
    access copy. Refused when ffprobe cannot read it or it is not an accepted kind."""
    _require(user, record, EDIT)
    try:
        info = av.probe(path)
    except av.MediaRejected as e:
        raise DigitizationError(e.message_zh, e.message_en, "file") from e
    stored = components.store_file(path)
    with transaction.atomic():
        component = components.add_stored(record, stored, path.name)
        recording = Recording.objects.create(
            record=record,
            source_name=path.name,
            path=stored.relative,
            sm3=stored.sm3,
            sha256=stored.sha256,
            size=stored.size,
            component=component,
            kind=info.kind,
            info=info.as_dict(),
            status="pending",
        )
        audit.record("recording_add", "record", record.pk, {"name": path.name, "sm3": stored.sm3})
        transaction.on_commit(lambda: _queue(recording.pk))
    return recording


def _queue(recording_id: int) -> None:
    from lantai.digitization import tasks

    tasks.make_access_copy(recording_id)


def _folder(recording: Recording) -> Path:
    return Path(settings.DERIVATIVES_DIR) / "av" / recording.sm3[:2] / recording.sm3


def make_access_copy(recording_id: int) -> str:
    """The job: access copy, poster and waveform of one recording (done | skipped | failed)."""
    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None or recording.status not in ("pending", "failed", "done"):
        return "skipped"
    if recording.status == "done" and derivative(recording, "copy") is not None:
        return "skipped"
    src = Path(settings.MEDIA_ROOT) / recording.path
    try:
        info = av.MediaInfo.from_dict(recording.info)
        # a stuck ffmpeg must not hold a worker thread for ever: 4× real time, at least 10 min
        timeout = max(600.0, 4 * info.duration_seconds)
        made = av.make_access_copy(src, _folder(recording), info, timeout=timeout)
    except Exception as e:  # recorded on the recording: the page shows why
        log.warning("access copy of recording %s failed: %s", recording.pk, e)
        message = getattr(e, "message_zh", "") or f"{type(e).__name__}: {e}"
        Recording.objects.filter(pk=recording.pk).update(status="failed", error=message[:2000])
        return "failed"
    root = Path(settings.DERIVATIVES_DIR)
    Recording.objects.filter(pk=recording.pk).update(
        status="done",
        error="",
        access_path=str(made.path.relative_to(root)),
        access_mime=made.mime_type,
        poster_path=str(made.poster.relative_to(root)) if made.poster else "",
        waveform_path=str(made.waveform.relative_to(root)) if made.waveform else "",
    )
    return "done"


def derivative(recording: Recording, which: str) -> Path | None:
    """The access copy, poster or waveform file of a recording, if made and still there."""
    relative = {
        "copy": recording.access_path,
        "poster": recording.poster_path,
        "waveform": recording.waveform_path,
    }.get(which, "")
    if not relative:
        return None
    root = Path(settings.DERIVATIVES_DIR).resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def record_recordings(record: Record) -> list[Recording]:
    return list(
        Recording.objects.filter(record=record, component__isnull=False).prefetch_related(
            "segments"
        )
    )


def add_segment(
    recording: Recording,
    start: str | float,
    end: str | float,
    description: str,
    *,
    user: User | None,
) -> Segment:
    """A time-coded description of part of a recording (times as HH:MM:SS or seconds)."""
    if user is not None and not (user.has_perm_code(EDIT) or user.has_perm_code(DIGITIZE_MANAGE)):
        raise DigitizationError("无权著录录音录像片段", "You may not describe segments")
    try:
        begin = av.parse_timecode(str(start))
        finish = av.parse_timecode(str(end))
    except ValueError as e:
        raise DigitizationError(
            f"时间格式不对：{e}（应为 时:分:秒 或秒数）",
            f"Bad time: {e} (use HH:MM:SS or seconds)",
            "start",
        ) from None
    duration = float(recording.info.get("duration_seconds") or 0)
    if not 0 <= begin < finish or (duration and finish > duration + 0.5):
        raise DigitizationError(
            f"片段 {av.timecode(begin)}–{av.timecode(finish)} 不在录音录像的时长"
            f"（{av.timecode(duration)}）之内，或开始不早于结束",
            f"The segment {begin:g}–{finish:g} s is not within the recording ({duration:g} s) "
            "or does not start before it ends",
            "end",
        )
    if not description.strip():
        raise DigitizationError("片段须有内容描述", "Describe the segment", "description")
    with transaction.atomic():
        segment = Segment.objects.create(
            recording=recording,
            start=begin,
            end=finish,
            description=description.strip(),
            created_by=user,
        )
        _refresh_text(recording)
    return segment


def _refresh_text(recording: Recording) -> None:
    if recording.component_id is None:
        return
    text = "\n".join(
        f"[{av.timecode(s.start)}–{av.timecode(s.end)}] {s.description}"
        for s in recording.segments.order_by("start")
    )
    components.set_component_text(recording.component_id, text, "segments")
