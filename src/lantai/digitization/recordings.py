"""音像档案: digitized recordings of records, their access copies, and time-coded description
segments. A segment's start, end and description become the recording's searchable text, so a
query finds the record and the hit links to that moment of the recording."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from lantai.catalog import components
from lantai.catalog.models import Component, Record
from lantai.catalog.services import visible_records
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import DIGITIZE_MANAGE, EDIT
from lantai.digitization import av
from lantai.digitization.models import Recording, Segment, StoredFileFields
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
        components.touch([record.pk])
        recording = Recording.objects.create(
            record=record,
            source_name=path.name,
            **StoredFileFields.fields_of(stored),
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
        if recording.info:
            info = av.MediaInfo.from_dict(recording.info)
        else:  # refused by ffprobe when it was uploaded: run again, it is identified anew
            info = av.probe(src)
            recording.kind, recording.info = info.kind, info.as_dict()
            Recording.objects.filter(pk=recording.pk).update(kind=info.kind, info=recording.info)
        # a stuck ffmpeg must not hold a worker thread for ever: 4× real time, at least 10 min
        timeout = max(600.0, 4 * info.duration_seconds)
        made = av.make_access_copy(src, _folder(recording), info, timeout=timeout)
    except Exception as e:  # recorded on the recording: the page shows why
        log.warning("access copy of recording %s failed: %s", recording.pk, e)
        message = _reason(e, src, recording.source_name)
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


def _reason(error: Exception, src: Path, name: str) -> str:
    """Why a recording cannot be played, in Chinese, naming the file as the user knows it (the
    stored file is named by its SM3 digest)."""
    message = getattr(error, "message_zh", "") or f"{type(error).__name__}: {error}"
    return str(message).replace(str(src), name).replace(src.name, name)


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


# --- recordings uploaded as electronic files ---------------------------------------------------------
# 上传电子文件 (catalog.components) knows nothing of recordings: the catalogue room is below this one.
# Every new component is looked at once its transaction commits (DigitizationConfig.ready); one whose
# content is audio or video becomes a Recording, as if added here.

#: suffixes of recordings (the accepted containers and common ones ffprobe may name as refused);
#: a file so named is probed even when its content says nothing, so a damaged one is reported
MEDIA_SUFFIXES = frozenset(
    [".wav", ".flac", ".mp3", ".mp4", ".m4a", ".m4v", ".mov", ".mxf", ".mkv", ".webm"]
    + [".avi", ".mpg", ".mpeg", ".vob", ".ogg", ".opus", ".oga", ".aif", ".aiff", ".wma"]
    + [".wmv", ".3gp", ".aac", ".amr", ".flv"]
)  # not .ts: far more TypeScript sources than MPEG transport streams are uploaded
# ISO base-media brands of still images (HEIF, AVIF, JPEG 2000 parts, camera raw): not recordings
IMAGE_BRANDS = frozenset(
    [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"]
    + [b"jp2 ", b"jpx ", b"jpm ", b"crx "]
)
HEAD_BYTES = 192


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header (an MP3 without ID3 tag, ADTS AAC): 11 sync bits, then valid
    version, layer, bit-rate and sample-rate fields. A UTF-16 byte-order mark (FF FE) has layer I
    bits and is ruled out with layer I."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    if version == 1 or layer == 3:
        return False
    if layer == 0:  # ADTS (AAC): the sampling-frequency index is below 13
        return head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0xF < 13
    return (head[2] >> 4) not in (0, 15) and (head[2] >> 2) & 3 != 3


def looks_like_media(path: Path, name: str) -> bool:
    """Cheap first look (the name's suffix, the first bytes) before ffprobe runs on a new
    component: page images, PDFs and office files never reach ffprobe."""
    if Path(name).suffix.lower() in MEDIA_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return False
    if head[:4] in (b"RIFF", b"RF64", b"BW64"):
        return head[8:12] in (b"WAVE", b"AVI ")
    if head[:4] == b"FORM":
        return head[8:12] in (b"AIFF", b"AIFC")
    if head[4:8] == b"ftyp":
        return head[8:12] not in IMAGE_BRANDS
    return (
        head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")  # QuickTime
        or head[:4] in (b"fLaC", b"OggS", b"\x1a\x45\xdf\xa3", b"\x00\x00\x01\xba")  # MKV, PS
        or head[:3] == b"ID3"
        or head[:4] == b"\x06\x0e\x2b\x34"  # an MXF partition pack (SMPTE universal label)
        or head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"  # ASF (WMA/WMV)
        or (len(head) > 188 and head[0] == head[188] == 0x47)  # MPEG transport stream
        or _mpeg_audio_frame(head)
    )


def component_saved(
    sender: Any, instance: Component, created: bool, raw: bool = False, **kw: Any
) -> None:
    """post_save of Component: a new one is looked at after its transaction commits. By then
    add_recording or an accepted batch has made its own Recording for it (in that transaction),
    and it gets no second one."""
    if not created or raw or kw.get("using", "default") != "default":
        return  # a rebuild writes its database elsewhere
    pk, path, name = instance.pk, instance.path, instance.name
    transaction.on_commit(lambda: _recording_of_component(pk, path, name), robust=True)


def _recording_of_component(component_id: int, path: str, name: str) -> None:
    try:
        # the first look before any query: an accepted batch of 10,000 pages costs 10,000 reads
        # of a few bytes after its commit, and no query
        if looks_like_media(Path(settings.MEDIA_ROOT) / path, name):
            recording_from_component(component_id)
    except Exception:  # the upload is stored and committed: never fail its request now
        log.exception("component %s: recording not registered", component_id)


def recording_from_component(component_id: int) -> Recording | None:
    """The Recording of a component whose content is audio or video (ffprobe decides), with its
    access copy queued; a failed one with the reason when ffprobe refuses a file that looks like a
    recording (truncated, damaged, not audio/video); None for other files, or when a Recording
    already points at the component."""
    component = Component.objects.filter(pk=component_id).first()
    if component is None or Recording.objects.filter(component_id=component_id).exists():
        return None
    src = Path(settings.MEDIA_ROOT) / component.path
    if not looks_like_media(src, component.name):
        return None
    info: av.MediaInfo | None = None
    error = ""
    try:
        info = av.probe(src)
    except Exception as e:  # MediaRejected, or ffprobe missing: shown on the record page
        error = _reason(e, src, component.name)[:2000]
    recording = Recording.objects.create(
        record_id=component.record_id,
        source_name=component.name,
        path=component.path,
        sm3=component.sm3,
        sha256=component.sha256,
        size=component.size,
        component=component,
        kind=info.kind if info else "",
        info=info.as_dict() if info else {},
        status="pending" if info else "failed",
        error=error,
    )
    audit.record(
        "recording_add",
        "record",
        component.record_id,
        {"name": component.name, "sm3": component.sm3, "component": component.pk,
         "status": recording.status},
    )  # fmt: skip
    if info is not None:
        _queue(recording.pk)
    return recording
