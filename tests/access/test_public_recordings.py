"""Recordings of open records on the portal (issue 14, point 5): the same policy as page images.
A video plays from a copy with the watermark burned into its frames (rendered by a queued job;
the page says 正在生成… meanwhile), its poster is watermarked, audio plays from its access copy
with the notice beside the player; media are served with Range (the player seeks) and never as a
download; a closed record's recordings are 404; the described segments link to their moment.
Real ffmpeg, real files."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image, ImageChops, ImageStat

from lantai.access import delivery, derivatives
from lantai.catalog.components import attach_component
from lantai.digitization import av, recordings
from lantai.jobs import huey

from .conftest import Portal

pytestmark = pytest.mark.django_db(transaction=True)


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def add(record: Any, tmp_path: Path, kind: str, seconds: float = 3) -> Any:
    suffix = ".mp4" if kind == "video" else ".flac"
    path = av.generate_sample(
        tmp_path / f"{record.pk}-{kind}{suffix}",
        kind,
        seconds,
        size="320x240",  # type: ignore[arg-type]
    )
    recording = recordings.add_recording(record, path, user=None)  # access copy: inline job
    recordings.add_segment(recording, "00:00:01", "00:00:02", "主持人宣布会议开始", user=None)
    recording.refresh_from_db()
    assert recording.status == "done", recording.error
    return recording


def frame(path: Path, at: float = 1.0) -> Image.Image:
    png = subprocess.run(
        [av.FFMPEG, "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1",
         "-f", "image2pipe", "-c:v", "png", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return Image.open(io.BytesIO(png)).convert("RGB")


@pytest.fixture(autouse=True)
def _own_delivery_cache(settings: Any, tmp_path: Path) -> None:
    """Delivered copies are cached under DATA_DIR by content and component id: each test here
    keeps its own, so that the portal's other tests find theirs not rendered yet."""
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def queued() -> Iterator[Any]:
    huey.immediate = False
    huey.flush()
    try:
        yield huey
    finally:
        huey.flush()
        huey.immediate = True


def test_an_open_video_plays_watermarked_with_range(live_portal: Portal, tmp_path: Path) -> None:
    record = live_portal.open_records[0]
    recording = add(record, tmp_path, "video")
    client = Client()
    page = client.get(f"/public/records/{record.pk}/").content.decode()
    media_url = f"/public/recordings/{recording.pk}/media"
    assert f'src="{media_url}"' in page and "<video" in page and "nodownload" in page
    assert f'href="{media_url}' not in page  # played, never offered as a download
    assert f'href="#rec-{recording.pk}-t=1"' in page and "主持人宣布会议开始" in page
    assert "00:00:01" in page

    ranged = client.get(media_url, HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206
    assert ranged["Content-Type"] == "video/mp4" and ranged["Accept-Ranges"] == "bytes"
    assert ranged["Content-Range"].startswith("bytes 0-99/") and len(body(ranged)) == 100
    assert "attachment" not in ranged.get("Content-Disposition", "")
    whole = client.get(media_url)
    assert whole.status_code == 200
    served = tmp_path / "served.mp4"
    served.write_bytes(body(whole))
    plain = recordings.derivative(recording, "copy")
    assert plain is not None and served.read_bytes() != plain.read_bytes()
    info = av.probe(served)
    assert info.video is not None and info.video.codec == "h264" and info.audio is not None
    # the watermark is in the frames: the foot band and the middle differ from the plain copy
    marked, original = frame(served), frame(plain)
    assert marked.size == original.size
    w, h = marked.size
    foot = (0, h - h // 10, w // 2, h)
    diff = ImageChops.difference(marked.crop(foot), original.crop(foot))
    assert max(ImageStat.Stat(diff).mean) > 20
    middle = (w // 4, h * 2 // 5, w * 3 // 4, h * 3 // 5)
    diff = ImageChops.difference(marked.crop(middle), original.crop(middle))
    assert max(ImageStat.Stat(diff).mean) > 3  # the faint text across the middle
    # the copy is what the filter draws: the component's watermark text, from a text file
    stamp = delivery.recording_stamp(recording)
    assert stamp.startswith(record.repository.name) and "公众查档" in stamp
    assert derivatives.video_filter(tmp_path / "t.txt").count("drawtext=") == 2
    assert stamp in page  # the notice beside the player names it too


def test_the_poster_is_watermarked(live_portal: Portal, tmp_path: Path) -> None:
    record = live_portal.open_records[1]
    recording = add(record, tmp_path, "video")
    response = Client().get(f"/public/recordings/{recording.pk}/poster.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    served = Image.open(io.BytesIO(body(response))).convert("RGB")
    plain_path = recordings.derivative(recording, "poster")
    assert plain_path is not None
    plain = Image.open(plain_path).convert("RGB")
    assert served.width == plain.width and served.height > plain.height  # the stamped foot band
    assert served.getpixel((served.width // 2, served.height - 3)) != plain.getpixel(
        (plain.width // 2, plain.height - 3)
    )


def test_audio_plays_with_the_notice_and_range(live_portal: Portal, tmp_path: Path) -> None:
    record = live_portal.open_records[2]
    recording = add(record, tmp_path, "audio", seconds=2.5)
    client = Client()
    page = client.get(f"/public/records/{record.pk}/").content.decode()
    assert "<audio" in page and "录音仅供在线收听" in page
    assert "不在线提供" not in page  # the recording is played, not counted among files offline
    assert delivery.recording_stamp(recording) in page
    response = client.get(f"/public/recordings/{recording.pk}/media", HTTP_RANGE="bytes=10-")
    assert response.status_code == 206 and response["Content-Type"] == "audio/mp4"
    plain = recordings.derivative(recording, "copy")
    assert plain is not None and body(response) == plain.read_bytes()[10:]
    past = client.get(f"/public/recordings/{recording.pk}/media", HTTP_RANGE="bytes=99999999-")
    assert past.status_code == 416
    assert client.get(f"/public/recordings/{recording.pk}/poster.jpg").status_code == 404


def test_a_closed_records_recording_is_not_found(live_portal: Portal, tmp_path: Path) -> None:
    client = Client()
    for record in live_portal.closed_records:
        recording = add(record, tmp_path, "video", seconds=2)
        assert client.get(f"/public/recordings/{recording.pk}/media").status_code == 404
        assert client.get(f"/public/recordings/{recording.pk}/poster.jpg").status_code == 404
        assert client.get(f"/public/records/{record.pk}/").status_code == 404
        assert delivery.public_recordings(record) == []
    assert client.get("/public/recordings/999999/media").status_code == 404


def test_the_watermarked_video_is_a_queued_job(
    live_portal: Portal, tmp_path: Path, queued: Any
) -> None:
    record = live_portal.open_records[0]
    path = av.generate_sample(tmp_path / "meeting.mp4", "video", 2, size="320x240")
    recording = recordings.add_recording(record, path, user=None)
    client = Client()
    page = client.get(f"/public/records/{record.pk}/").content.decode()
    assert "正在生成" in page and "<video" not in page  # the access copy is not made yet
    while (task := queued.dequeue()) is not None:  # the worker makes the access copy
        queued.execute(task)
    media = f"/public/recordings/{recording.pk}/media"
    waiting = client.get(media)
    assert waiting.status_code == 202 and waiting["Cache-Control"] == "no-store"
    assert "正在生成" in client.get(f"/public/records/{record.pk}/").content.decode()
    names = []
    while (task := queued.dequeue()) is not None:  # queued once, however often it was asked for
        names.append(task.name.rsplit(".", 1)[-1])
        queued.execute(task)
    assert names == ["render_recording"]
    assert client.get(media, HTTP_RANGE="bytes=0-9").status_code == 206
    assert "<video" in client.get(f"/public/records/{record.pk}/").content.decode()


def test_scanned_page_formats_are_shown_as_watermarked_images(live_portal: Portal) -> None:
    """JPEG, TIFF, JPEG 2000 (.jp2 and a bare .j2k codestream) and PNG pages of an open record are
    page images on the portal (watermarked JPEGs), not downloads."""
    record = live_portal.open_records[0]
    made = []
    for fmt, name, options in (("JPEG", "a.jpg", {}), ("TIFF", "b.tif", {}),
                               ("JPEG2000", "c.jp2", {}), ("JPEG2000", "d.j2k", {"no_jp2": True}),
                               ("PNG", "e.png", {})):  # fmt: skip
        out = io.BytesIO()
        Image.new("RGB", (300, 400), "#f4efe2").save(out, fmt, **options)
        made.append(
            attach_component(record, [out.getvalue()], f"{record.reference_code}-{name}", user=None)
        )
    client = Client()
    page = client.get(f"/public/records/{record.pk}/").content.decode()
    for component in made:
        assert f"/iiif/3/c{component.pk}/info.json" in page, component.name  # in the viewer
        url = f"/public/content/{component.pk}/page.jpg"
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(body(response)))
        assert image.height > 400 * image.width // 300  # the watermark's foot band
