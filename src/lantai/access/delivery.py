"""Delivered copies: what the public receives of an open record's content, never the stored
original. Page images re-rendered with a visible watermark, PDFs stamped, large ones rendered by a
queued job; recordings (音像档案) played from a copy with the watermark burned into every frame
(video) or with the notice beside the player (audio), served with HTTP Range."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from lantai.access import derivatives
from lantai.catalog import open_copies, public
from lantai.catalog.models import Component, Record

from .services import (
    AccessError,
    PublicContent,
    _stored_path,
)


# --- delivered copies: watermarked page images and stamped PDFs ------------------------------------
def delivery_id(component: Component) -> str:
    """The id stamped on every delivered copy of a component: its number and a keyed check over
    the stored file's SM3, so that a copy found elsewhere is traced to the component and the
    version of its file (and no id can be made up for another). It names the copy, not the day:
    each copy is rendered once and served until its source or stamp changes (see derivatives)."""
    mac = hmac.new(
        settings.SECRET_KEY.encode(), f"{component.pk}:{component.sm3}".encode(), "sha256"
    ).hexdigest()[:8]
    return f"GK-{component.pk}-{mac.upper()}"


def _stamp(component: Component, repository_name: str) -> str:
    return f"{repository_name} 公众查档 {delivery_id(component)}"


def watermark_text(component: Component) -> str:
    """What is written across and at the foot of every delivered page of `component`."""
    record = Record.objects.select_related("repository").get(pk=component.record_id)
    return _stamp(component, record.repository.name)


def _copy_path(component: Component, kind: str, stamp: str) -> Path:
    params = f"{settings.PUBLIC_IMAGE_MAX_PX}px" if kind == "image" else ""
    return derivatives.cache_path(kind, component.sm3, stamp, params)


def _too_large_to_render_now(component: Component, kind: str) -> bool:
    """Whether rendering `component` would hold a web request too long: by its size in bytes,
    and for an image by its pixels (read from the header). RenderError for a decompression bomb."""
    if component.size > settings.PUBLIC_DELIVERY_INLINE_BYTES:
        return True
    inline_pixels = settings.PUBLIC_DELIVERY_INLINE_PIXELS
    return kind == "image" and derivatives.source_pixels(_stored_path(component)) > inline_pixels


def delivered_copy(component: Component, kind: str) -> Path | None:
    """The file to send for a public component of `kind` ("image" or "pdf"): its watermarked
    derivative, never the stored original. Small sources are rendered now; large ones by a queued
    job (`lantai.access.tasks.render_copy`), and None is returned until it is done. AccessError
    for a component the public may not have, and for one that cannot be rendered (the message
    says why)."""
    if public.public_component(component.pk, kind) is None:
        raise AccessError("该电子文件不对公众提供")
    stamp = watermark_text(component)
    target = _copy_path(component, kind, stamp)
    try:
        if not target.is_file() and not derivatives.failure(target):
            if not _too_large_to_render_now(component, kind):
                derivatives.render(kind, _stored_path(component), stamp, target)
            elif derivatives.claim(target):
                from lantai.access import tasks

                tasks.render_copy(component.pk, kind)  # with inline jobs, done on return
    except derivatives.RenderError as e:
        raise AccessError(e.message) from e
    if target.is_file():
        return target
    if problem := derivatives.failure(target):
        raise AccessError(problem)
    return None


def watermarked_image(component: Component) -> Path | None:
    """A JPEG of the page image, at most PUBLIC_IMAGE_MAX_PX on its longest side, with the
    watermark drawn across it and at its foot (see `delivered_copy`)."""
    return delivered_copy(component, "image")


def watermarked_pdf(component: Component) -> Path | None:
    """The PDF with the watermark stamped on every page (see `delivered_copy`)."""
    return delivered_copy(component, "pdf")


def preparing_image(message: str) -> bytes:
    """The PNG shown in place of a page image while its copy is rendered."""
    return derivatives.placeholder_png(message)


def render_copy(component_id: int, kind: str) -> None:
    """Render one delivered copy (the queued job's work). A component that is gone, no longer
    public or rendered already is skipped; one that cannot be rendered is recorded as such."""
    component = Component.objects.filter(pk=component_id).first()
    if component is None:
        return
    stamp = watermark_text(component)
    target = _copy_path(component, kind, stamp)
    if public.public_component(component.pk, kind) is None or target.is_file():
        derivatives.unclaim(target)
        return
    try:
        derivatives.render(kind, _stored_path(component), stamp, target)
    except (derivatives.RenderError, AccessError):
        derivatives.unclaim(target)  # a RenderError is kept in the failure marker


def prepare_contents(record: Record, contents: Iterable[PublicContent]) -> dict[int, str]:
    """For the record page: by component id, the state of each content's delivered copy:
    "ready" (rendered, or small enough to be rendered when asked), "preparing" (a job renders it,
    queued here if it was not yet) or "unavailable" (it cannot be rendered)."""
    states: dict[int, str] = {}
    repository_name = record.repository.name
    for content in contents:
        component, kind = content.component, content.kind
        target = _copy_path(component, kind, _stamp(component, repository_name))
        state = "ready"
        try:
            if target.is_file():
                pass
            elif derivatives.failure(target):
                state = "unavailable"
            elif _too_large_to_render_now(component, kind):
                state = "ready" if delivered_copy(component, kind) else "preparing"
        except (AccessError, derivatives.RenderError):
            state = "unavailable"
        states[component.pk] = state
    return states


# --- recordings (音像档案) of open records ----------------------------------------------------------
# The same policy as page images: a video is played from a copy with the watermark text burned
# into every frame (rendered once by a queued job, like a large page image), its poster is a
# watermarked image; neither the stored original nor the plain access copy is ever sent. Audio is
# played from its access copy with the notice shown beside the player: a spoken watermark (a
# voice or tone mixed into the sound) would spoil the recording for listening and is out of scope
# (decision for issue 14). Media are served with HTTP Range, so that the player can seek.
@dataclass(frozen=True)
class PublicSegment:
    start: float  # seconds
    end: float
    start_code: str  # HH:MM:SS
    end_code: str
    description: str


@dataclass(frozen=True)
class PublicRecording:
    recording: Any  # lantai.digitization.models.Recording
    kind: str  # "audio" | "video"
    state: str  # "ready" | "preparing" | "unavailable"
    segments: list[PublicSegment]  # by start
    stamp: str  # the watermark / notice text


def public_recording(pk: int) -> Any | None:
    """A recording of an open record, attached to it; None otherwise (closed, staged, missing,
    or a record under a publication hold in force: its content is not published)."""
    from lantai.digitization.models import Recording

    recording = Recording.objects.filter(pk=pk, component__isnull=False).first()
    if recording is None or public.public_record(recording.record_id) is None:
        return None
    if not public.publishable(recording.record_id):
        return None
    return recording


def _video_copy_path(recording: Any, stamp: str) -> Path:
    return derivatives.cache_path("video", recording.sm3, stamp, "burned")


def _poster_copy_path(recording: Any, stamp: str) -> Path:
    return derivatives.cache_path("image", recording.sm3, stamp, "poster")


def recording_stamp(recording: Any) -> str:
    """The watermark of a recording: that of its component, as for a page."""
    return watermark_text(recording.component)


def recording_media(recording: Any) -> tuple[Path, str] | None:
    """The file to play for a public recording and its type: the watermarked video copy, or the
    audio access copy. None while it is being made (the access copy by the digitization job, the
    watermarked copy by `tasks.render_recording`, queued here when it was not). AccessError when
    it cannot be made."""
    from lantai.digitization import recordings

    if public_recording(recording.pk) is None:
        raise AccessError("该录音录像不对公众提供")
    if recording.status == "failed":
        raise AccessError("录音录像的利用版本未能生成")
    access = recordings.derivative(recording, "copy")
    if access is None:
        return None  # the access copy is still being made
    if recording.kind != "video":
        return access, recording.access_mime or "audio/mp4"
    target = _video_copy_path(recording, recording_stamp(recording))
    if not target.is_file():
        if problem := derivatives.failure(target):
            raise AccessError(problem)
        if derivatives.claim(target):
            from lantai.access import tasks

            tasks.render_recording(recording.pk)  # with inline jobs, done on return
    if target.is_file():
        return target, "video/mp4"
    if problem := derivatives.failure(target):
        raise AccessError(problem)
    return None


def render_recording(recording_id: int) -> None:
    """Burn the watermark into a public video's access copy (the queued job's work); skipped
    when the recording is gone, no longer public or done already."""
    from lantai.digitization import recordings

    recording = public_recording(recording_id)
    if recording is None or recording.kind != "video":
        return
    target = _video_copy_path(recording, recording_stamp(recording))
    access = recordings.derivative(recording, "copy")
    if access is None or target.is_file():
        derivatives.unclaim(target)
        return
    # a RenderError is kept in the failure marker: the record page says it cannot be played
    with contextlib.suppress(derivatives.RenderError):
        derivatives.render("video", access, recording_stamp(recording), target)


def recording_poster(recording: Any) -> Path | None:
    """The video's poster frame with the watermark (rendered now: it is one small picture)."""
    from lantai.digitization import recordings

    if public_recording(recording.pk) is None:
        raise AccessError("该录音录像不对公众提供")
    poster = recordings.derivative(recording, "poster")
    if poster is None:
        return None
    stamp = recording_stamp(recording)
    target = _poster_copy_path(recording, stamp)
    if not target.is_file():
        try:
            derivatives.render("image", poster, stamp, target)
        except derivatives.RenderError as e:
            raise AccessError(e.message) from e
    return target


def public_recordings(record: Record) -> list[PublicRecording]:
    """The recordings of an open record, each with the state of what the portal plays and its
    time-coded segments; nothing for a record the public may not see, nor for one under a
    publication hold in force (its description stays public, its recordings are not played)."""
    from lantai.digitization import av, recordings

    if public.public_record(record.pk) is None or open_copies.open_copy_of(record.pk) is not None:
        return []
    if not public.publishable(record.pk):
        return []
    out = []
    for recording in recordings.record_recordings(record):
        if recording.status == "failed" and not recording.info:
            continue  # a file ffprobe never recognised: nothing the public could play
        try:
            state = "ready" if recording_media(recording) else "preparing"
        except AccessError:
            state = "unavailable"
        segments = [
            PublicSegment(s.start, s.end, av.timecode(s.start), av.timecode(s.end), s.description)
            for s in sorted(recording.segments.all(), key=lambda s: (s.start, s.pk))
        ]
        out.append(
            PublicRecording(recording, recording.kind, state, segments, recording_stamp(recording))
        )
    return out
