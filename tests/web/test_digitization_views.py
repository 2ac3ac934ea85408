"""数字化 in the staff UI: who sees which batch, the report, 抽检/accept/return refusals, uploads
that must be refused, page images, the viewer's highlighted hits, OCR correction and recordings.

Batches are built row by row from real stored page images (Pillow + Noto CJK), so these tests do
not depend on a run of the checks or of OCR; the browser test drives the whole pipeline."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFile, ImageFont

from lantai.catalog import components
from lantai.core import accounts
from lantai.digitization.models import Batch, Correction, Finding, Item, Page, Recording

from .conftest import PASSWORD, Site

pytestmark = pytest.mark.django_db
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def make_page(path: Path, lines: list[str], *, dpi: int = 300, size: tuple = (800, 1100)) -> Path:
    """A greyscale page with a few lines of Chinese text, its resolution recorded in the file."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 44)
    for i, line in enumerate(lines):
        draw.text((80, 140 + i * 110), line, font=font, fill=0)
    image.save(path, dpi=(dpi, dpi))
    return path


def text(response: Any) -> str:
    return response.content.decode("utf-8")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _own_dirs(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.DERIVATIVES_DIR = tmp_path / "derivatives"
    settings.DIGITIZATION_INBOX = tmp_path / "inbox"
    settings.DIGITIZATION_INBOX.mkdir()


@pytest.fixture
def vendors(site: Site) -> tuple[Any, Any]:
    return (
        accounts.create_user("saomiao1", role="scanning_vendor", password=PASSWORD, scope_all=True),
        accounts.create_user("saomiao2", role="scanning_vendor", password=PASSWORD, scope_all=True),
    )


LINES = [["关于档案工作的通知", "兰州市档案局办公室"], ["年度工作总结报告", "数字化扫描质量"]]
BOX = [80, 150, 520, 205]


def make_batch(
    site: Site, user: Any, tmp_path: Path, *, status: str = "checked", attach: bool = False
) -> Batch:
    """A checked batch of two items (the first sampled), one page each, stored as the check
    stores them; `attach` makes it accepted, its pages components with OCR lines."""
    folder = tmp_path / f"scan-{user.username}"
    folder.mkdir(exist_ok=True)
    batch = Batch.objects.create(
        repository=site.repository,
        name=f"扫描批次-{user.username}",
        source=str(folder),
        status=status,
        result="pass" if status != "checking" else "",
        checked_at=None if status == "checking" else timezone.now(),
        created_by=user,
        summary={
            "files": 2,
            "pages": 2,
            "items": 2,
            "items_without_pages": 0,
            "unplaced": 0,
            "recordings": 0,
            "checks": {
                "resolution": {"examined": 2, "passed": 2, "failed": 0, "warned": 0, "na": 0}
            },
        },  # fmt: skip
    )
    for n, record in enumerate(site.records[:2]):
        item = Item.objects.create(
            batch=batch, record=record, reference_code=record.reference_code,
            page_count=1, sampled=n == 0,
        )  # fmt: skip
        source = make_page(folder / f"{record.reference_code}-1.png", LINES[n])
        stored = components.store_file(source)
        page = Page.objects.create(
            batch=batch, item=item, number=1, source_name=source.name, path=stored.relative,
            sm3=stored.sm3, sha256=stored.sha256, size=stored.size, file_format="PNG",
            width=800, height=1100, dpi=300.0, mode="grey", skew=0.1,
        )  # fmt: skip
        if attach:
            page.component = components.add_stored(record, stored, source.name)
            page.ocr_status, page.ocr_key = "done", page.key
            page.ocr_lines = [
                [LINES[n][0], BOX, 0.97],
                [LINES[n][1], [80, 260, 520, 315], 0.6],
            ]
            page.ocr_confidence, page.needs_correction = 0.78, True
            page.save()
    return batch


# --- who sees what --------------------------------------------------------------------------------
def test_vendor_sees_only_its_own_batches(site: Site, vendors: Any, tmp_path: Path) -> None:
    mine, theirs = vendors
    own = make_batch(site, mine, tmp_path)
    other = make_batch(site, theirs, tmp_path)
    vendor = client_for(mine)

    listing = text(vendor.get(reverse("web:digitization_batches")))
    assert own.name in listing and other.name not in listing
    assert vendor.get(reverse("web:digitization_batch", args=[own.pk])).status_code == 200
    for name in ("web:digitization_batch", "web:digitization_report", "web:digitization_progress"):
        assert vendor.get(reverse(name, args=[other.pk])).status_code == 404, name
    # a vendor inspects nothing and never sees the catalogue
    assert vendor.get(reverse("web:digitization_inspect", args=[own.pk])).status_code == 403
    assert vendor.get(reverse("web:record", args=[site.records[0].pk])).status_code == 403
    assert vendor.get(reverse("web:digitization_inbox")).status_code == 403
    # its own pages before acceptance (to see what the report is about), not another's
    own_page, other_page = own.pages.first(), other.pages.first()
    assert vendor.get(reverse("web:page_image", args=[own_page.pk])).status_code == 200
    assert vendor.get(reverse("web:page_image", args=[other_page.pk])).status_code == 404

    reader = client_for(site.users["reader"])  # reading-room staff: no 数字化 at all
    assert reader.get(reverse("web:digitization_batches")).status_code == 403
    assert reader.get(reverse("web:digitization_batch", args=[own.pk])).status_code == 403
    # nor a page of a batch not accepted (no component: not part of any record yet)
    assert reader.get(reverse("web:page_image", args=[own_page.pk])).status_code == 404

    manager = client_for(site.users["cataloguer"])
    listing = text(manager.get(reverse("web:digitization_batches")))
    assert own.name in listing and other.name in listing
    assert manager.get(reverse("web:page_image", args=[own_page.pk])).status_code == 200
    # a cataloguer whose scope holds neither the archives nor the records sees nothing of it
    outside = client_for(site.users["noscope"])
    assert outside.get(reverse("web:digitization_batch", args=[own.pk])).status_code == 404
    assert outside.get(reverse("web:page_image", args=[own_page.pk])).status_code == 404


def test_page_image_is_scaled_and_never_the_stored_path(site: Site, tmp_path: Path) -> None:
    batch = make_batch(site, site.users["cataloguer"], tmp_path, status="accepted", attach=True)
    page = batch.pages.first()
    reader = client_for(site.users["reader"])  # sees the record: sees its pages
    response = reader.get(reverse("web:page_image", args=[page.pk]) + "?w=400")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    image = Image.open(io.BytesIO(body))
    assert image.size == (400, 550)
    assert page.path.encode() not in body and page.sm3 not in response.get(
        "Content-Disposition", ""
    )
    # a second request is served from the rendered copy
    assert reader.get(reverse("web:page_image", args=[page.pk]) + "?w=400").status_code == 200
    # a record the user may not see: its pages are not there either
    outsider = accounts.create_user("zhaoliu", role="reading_room", password=PASSWORD)
    assert client_for(outsider).get(reverse("web:page_image", args=[page.pk])).status_code == 404


# --- new batches: bad inputs ------------------------------------------------------------------------
def test_upload_refuses_what_is_not_a_page(site: Site, settings: Any, tmp_path: Path) -> None:
    manager = client_for(site.users["cataloguer"])
    url = reverse("web:digitization_create")
    form = {"repository": site.repository.pk, "purpose": "ocr", "name": "上传"}

    notes = SimpleUploadedFile("说明.txt", "不是图像".encode())
    response = manager.post(url, {**form, "files": [notes]})
    assert response.status_code == 200
    assert "类型不支持" in text(response)

    fake = SimpleUploadedFile(f"{site.records[0].reference_code}-1.png", b"plain text, no PNG")
    response = manager.post(url, {**form, "files": [fake]})
    assert "不是PNG图像文件" in text(response)

    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2  # more files than a form post may carry
    pages = [SimpleUploadedFile(f"x-{n}.png", b"\x89PNG\r\n\x1a\n") for n in (1, 2, 3)]
    response = manager.post(url, {**form, "files": pages})
    assert response.status_code == 200 and "一次最多上传 2 个文件" in text(response)

    response = manager.post(url, form)  # no file at all
    assert "请选择要上传的页面文件" in text(response)
    assert not Batch.objects.exists()
    assert not any(Path(tmp_path / "inbox").iterdir())  # nothing half-written


def test_safe_names() -> None:
    from lantai.web.views.digitization import UploadRefused, safe_name

    assert safe_name("Z109-WS·2023-Y-BGS-0001-0001.jpg") == "Z109-WS·2023-Y-BGS-0001-0001.jpg"
    for bad in ("../evil-1.png", "a/b-1.png", "..\\x-1.png", ".hidden-1.png", "a\x00-1.png", ""):
        with pytest.raises(UploadRefused):
            safe_name(bad)


def test_inbox_refuses_a_folder_outside_it(site: Site, settings: Any, tmp_path: Path) -> None:
    (settings.DIGITIZATION_INBOX / "批次一").mkdir()
    (tmp_path / "outside").mkdir()
    manager = client_for(site.users["cataloguer"])
    url = reverse("web:digitization_inbox")
    page = text(manager.get(url))
    assert "批次一" in page
    form = {"repository": site.repository.pk, "purpose": "ocr"}
    for name in ("../outside", "..", "/etc", "没有这个"):
        response = manager.post(url, {**form, "folder": name})
        assert response.status_code == 200
        assert "收件箱中没有文件夹" in text(response), name
    assert not Batch.objects.exists()


# --- decisions ----------------------------------------------------------------------------------------
def test_accept_waits_for_the_sample_and_return_needs_reasons(
    site: Site, vendors: Any, tmp_path: Path
) -> None:
    vendor_user = vendors[0]
    batch = make_batch(site, vendor_user, tmp_path)
    manager = client_for(site.users["cataloguer"])
    detail = reverse("web:digitization_batch", args=[batch.pk])
    assert "1 页未检查" in text(manager.get(detail))

    response = manager.post(reverse("web:digitization_accept", args=[batch.pk]), follow=True)
    assert "抽检页面未检查" in text(response)
    batch.refresh_from_db()
    assert batch.status == "checked" and not Page.objects.filter(component__isnull=False).exists()

    response = manager.post(
        reverse("web:digitization_return", args=[batch.pk]), {"reason": "  "}, follow=True
    )
    assert "退回时须写明理由" in text(response)
    batch.refresh_from_db()
    assert batch.status == "checked"

    # 抽检: failing a page needs a note; the screen shows the page and its facts
    inspect = reverse("web:digitization_inspect", args=[batch.pk])
    screen = text(manager.get(inspect))
    assert "300 dpi" in screen and "灰度" in screen
    sampled = batch.pages.get(item__sampled=True)
    assert reverse("web:page_image", args=[sampled.pk]) in screen
    response = manager.post(inspect, {"page_id": sampled.pk, "result": "fail"}, follow=True)
    assert "须写明问题" in text(response)
    manager.post(inspect, {"page_id": sampled.pk, "result": "fail", "note": "字迹不清"})
    sampled.refresh_from_db()
    assert (sampled.inspection, sampled.inspection_note) == ("fail", "字迹不清")

    response = manager.post(
        reverse("web:digitization_return", args=[batch.pk]),
        {"reason": "第 1 页字迹不清，请重扫"},
        follow=True,
    )
    assert "已退回" in text(response)
    # the vendor reads the reasons on its batch page and can have the batch checked again
    page = text(client_for(vendor_user).get(detail))
    assert "第 1 页字迹不清，请重扫" in page
    recheck = reverse("web:digitization_recheck", args=[batch.pk])
    assert recheck in page
    response = client_for(vendor_user).post(recheck, follow=True)
    assert "已重新提交检测" in text(response)
    batch.refresh_from_db()  # checked again, for real (jobs run inline in tests)
    assert (batch.status, batch.summary["pages"]) == ("checked", 2)


def test_report_names_the_checks_and_shows_findings(site: Site, tmp_path: Path) -> None:
    batch = make_batch(site, site.users["cataloguer"], tmp_path)
    batch.result = "fail"
    batch.summary["checks"]["skew"] = {
        "examined": 2, "passed": 1, "failed": 1, "warned": 0, "na": 0,
    }  # fmt: skip
    batch.summary["unplaced"] = 1
    batch.save()
    page = batch.pages.first()
    Finding.objects.create(
        batch=batch, code="skew", result="fail", subject=page.source_name, page=page,
        item=page.item, evidence={"degrees": 4.2, "max_degrees": 3.0},
        message_zh="偏斜 4.2°，超过 3.0°，需纠偏或重扫", message_en="Skew 4.2° exceeds 3.0°",
    )  # fmt: skip
    Finding.objects.create(
        batch=batch, code="catalogue_link", result="fail", subject="Z999-1.png",
        evidence={"reference_code": "Z999"},
        message_zh="“Z999-1.png”对应的档号“Z999”在目录中不存在", message_en="not in catalogue",
    )  # fmt: skip
    manager = client_for(site.users["cataloguer"])
    report = text(manager.get(reverse("web:digitization_report", args=[batch.pk])))
    assert "扫描分辨率" in report  # the catalogue's name of the check
    assert "偏斜 4.2°，超过 3.0°" in report and "max_degrees" in report
    assert "Z999-1.png" in report
    assert 'id="unplaced"' in report and 'id="without-pages"' in report
    manager.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = text(manager.get(reverse("web:digitization_report", args=[batch.pk])))
    assert "Scanning resolution" in english and "Skew 4.2° exceeds 3.0°" in english
    manager.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    try:
        pdf = manager.get(reverse("web:digitization_report_pdf", args=[batch.pk]))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        # WeasyPrint switches Pillow's LOAD_TRUNCATED_IMAGES on when imported; left on, every
        # later DA/T 31 check in this process reports each page as corrupt
        assert ImageFile.LOAD_TRUNCATED_IMAGES is False, "report PDF left truncated images on"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def test_checking_batch_polls_progress(site: Site, tmp_path: Path) -> None:
    batch = make_batch(site, site.users["cataloguer"], tmp_path, status="checking")
    manager = client_for(site.users["cataloguer"])
    page = text(manager.get(reverse("web:digitization_batch", args=[batch.pk])))
    assert reverse("web:digitization_progress", args=[batch.pk]) in page
    assert 'id="worker-status"' in page  # the banner is there for lantai.js to show
    data = manager.get(reverse("web:digitization_progress", args=[batch.pk])).json()
    assert data["done"] is False and data["status"] == "checking"
    assert isinstance(data["worker_down"], bool)


# --- reading: viewer, correction -------------------------------------------------------------------
def test_viewer_draws_the_hit_boxes(site: Site, tmp_path: Path) -> None:
    batch = make_batch(site, site.users["cataloguer"], tmp_path, status="accepted", attach=True)
    record = site.records[0]
    reader = client_for(site.users["reader"])
    detail = text(reader.get(reverse("web:record", args=[record.pk])))
    assert "数字化页面" in detail and reverse("web:record_pages_pdf", args=[record.pk]) in detail

    viewer = text(reader.get(reverse("web:record_pages", args=[record.pk]) + "?q=档案工作"))
    assert 'class="hit-box" data-box="80,150,520,205"' in viewer
    assert 'class="ocr-line hit"' in viewer
    assert "digitization.js" in viewer and "style=" not in viewer.split("<main")[1]  # CSP
    viewer = text(reader.get(reverse("web:record_pages", args=[record.pk]) + "?q=没有的词"))
    assert "hit-box" not in viewer
    assert reader.get(reverse("web:record_pages", args=[987654])).status_code == 404
    manager = client_for(site.users["cataloguer"])
    detail = text(manager.get(reverse("web:digitization_batch", args=[batch.pk])))
    assert reverse("web:record_pages", args=[record.pk]) in detail
    listing = text(manager.get(reverse("web:digitization_batches")))
    assert "<td>2 / 2</td>" in listing  # pages read by OCR / pages to read


def test_correction_keeps_the_original_and_refuses_a_missing_line(
    site: Site, tmp_path: Path
) -> None:
    batch = make_batch(site, site.users["cataloguer"], tmp_path, status="accepted", attach=True)
    page = batch.pages.get(item__record=site.records[0])
    manager = client_for(site.users["cataloguer"])
    flagged = text(manager.get(reverse("web:digitization_corrections", args=[batch.pk])))
    assert reverse("web:digitization_correct", args=[page.pk]) in flagged

    url = reverse("web:digitization_correct", args=[page.pk])
    response = manager.post(url, {"line": "7", "text": "第八行"})
    assert "第 8 行不存在" in text(response)
    response = manager.post(url, {"line": "x", "text": "?"})
    assert "不存在" in text(response)
    assert not Correction.objects.exists()

    manager.post(url, {"line": "1", "text": "兰州市档案局综合办公室"})
    screen = text(manager.get(url))
    assert 'value="兰州市档案局综合办公室"' in screen
    assert "识别原文：兰州市档案局办公室" in screen
    assert "zhangsan" in screen  # who corrected it
    # readers cannot correct
    assert (
        client_for(site.users["reader"]).post(url, {"line": "0", "text": "改"}).status_code == 403
    )


# --- recordings ---------------------------------------------------------------------------------------
def test_recording_player_range_and_segments(site: Site, settings: Any, tmp_path: Path) -> None:
    record = site.records[0]
    copy = Path(settings.DERIVATIVES_DIR) / "av" / "ab" / "tone.m4a"
    copy.parent.mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
         "-c:a", "aac", str(copy)],
        check=True,
    )  # fmt: skip
    source = tmp_path / "tone.wav"
    source.write_bytes(b"RIFF")
    stored = components.store_file(source)
    recording = Recording.objects.create(
        record=record, source_name="录音.wav", path=stored.relative, sm3=stored.sm3,
        sha256=stored.sha256, size=stored.size, kind="audio", status="done",
        component=components.add_stored(record, stored, "录音.wav"),
        info={"container": "WAV", "duration_seconds": 3.0, "streams": [
            {"index": 0, "type": "audio", "codec": "pcm_s16le", "sample_rate": 44100,
             "channels": 1}]},
        access_path="av/ab/tone.m4a", access_mime="audio/mp4",
    )  # fmt: skip
    manager = client_for(site.users["cataloguer"])
    url = reverse("web:recording_file", args=[recording.pk, "copy"])
    response = manager.get(url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206 and response["Content-Range"].startswith("bytes 0-99/")
    assert (
        manager.get(reverse("web:recording_file", args=[recording.pk, "poster"])).status_code == 404
    )

    add = reverse("web:recording_segment_add", args=[recording.pk])
    response = manager.post(
        add, {"start": "00:00:01", "end": "00:00:09", "description": "讲话"}, follow=True
    )
    assert "不在录音录像的时长" in text(response)
    manager.post(add, {"start": "1", "end": "2.5", "description": "主持人开场"})
    page = text(manager.get(reverse("web:record", args=[record.pk])))
    assert "<audio" in page and url in page
    assert 'data-seek="1.000"' in page and "主持人开场" in page and "pcm_s16le" in page
    # a record the user may not see: no recording either
    outsider = accounts.create_user("zhaoliu", role="reading_room", password=PASSWORD)
    assert client_for(outsider).get(url).status_code == 404
