"""Queued jobs of 用: rendering the copies delivered to the public from large sources."""

from __future__ import annotations

from lantai.access import delivery
from lantai.jobs import huey


@huey.task()
def render_copy(component_id: int, kind: str) -> None:
    """Render the watermarked copy ("image" or "pdf") of one component (see
    `delivery.delivered_copy`: sources too large to render inside a web request come here)."""
    delivery.render_copy(component_id, kind)


@huey.task()
def render_recording(recording_id: int) -> None:
    """Burn the watermark into the video copy played on the portal (see
    `delivery.recording_media`)."""
    delivery.render_recording(recording_id)


@huey.task()
def build_pyramid(component_id: int, variant: str) -> None:
    """Build the IIIF image pyramid ("public", watermarked, or "staff") of one page image too
    large to build inside a web request (see `iiif.ensure_pyramid`)."""
    from lantai.access import iiif

    iiif.build_queued(component_id, variant)
