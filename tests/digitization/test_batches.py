"""A scanning batch from folder to accepted, read and searchable; and each bad input gives its
finding (issue 14, "Done when"). Real files, real checks, real OCR (small pages)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from lantai.catalog.models import Component, ComponentText, Record
from lantai.core.models import User
from lantai.digitization import reading, services
from lantai.digitization.models import Batch, Page
from lantai.search import services as search
from lantai.search.query import Query

pytestmark = pytest.mark.django_db(transaction=True)


def register(folder: Path, **kw: object) -> Batch:
    from lantai.catalog.services import default_repository

    batch = services.register_batch(folder, user=None, repository=default_repository(), **kw)  # type: ignore[arg-type]
    return services.check_batch(batch.pk)


def codes(batch: Batch) -> dict[str, set[str]]:
    """finding code -> the subjects it is about"""
    out: dict[str, set[str]] = {}
    for f in batch.findings.exclude(result="na"):
        out.setdefault(f.code, set()).add(f.subject)
    return out


def inspect_all(batch: Batch) -> None:
    for page in services.sample_pages(batch):
        services.inspect_page(page, user=None, result="pass")


def test_a_good_batch_is_checked_accepted_read_and_found(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a, b = make_record(1, pages=2), make_record(2, pages=1)
    write_page(tmp_path / f"{a.reference_code}-0001.jpg", "关于加强档案数字化工作的通知")
    write_page(tmp_path / f"{a.reference_code}-0002.jpg", "请于年底前报送数字化成果清单")
    write_page(tmp_path / b.reference_code / "0001.jpg", "红色档案专题数据库建设方案")
    batch = register(tmp_path)
    assert batch.status == "checked" and batch.result in ("pass", "warn"), codes(batch)
    assert not batch.findings.filter(result="fail").exists()
    assert batch.summary["pages"] == 3 and batch.summary["items"] == 2
    checks = batch.summary["checks"]
    assert checks["resolution"]["examined"] == 3 and checks["resolution"]["passed"] == 3
    ready = services.readiness(batch)
    assert ready.uninspected >= 1 and not ready.acceptable  # 抽检 first
    with pytest.raises(services.DigitizationError, match="抽检"):
        services.accept_batch(batch, user=None, reason="ok")
    inspect_all(batch)
    attached = services.accept_batch(batch, user=None, reason="警告已复核")
    assert attached == 3
    batch.refresh_from_db()
    assert batch.status == "accepted"
    assert Component.objects.filter(record=a).count() == 2
    # the worker (immediate here) read every page: text, boxes, confidence, derivatives
    pages = list(Page.objects.filter(batch=batch).order_by("item__reference_code", "number"))
    assert {p.ocr_status for p in pages} == {"done"}
    first = pages[0]
    assert "数字化工作" in reading.page_text(first)
    assert reading.derivative_path(first, ".alto.xml").is_file()
    assert ComponentText.objects.filter(component__record=a, source="ocr").count() == 2
    hits = search.search(None, Query(text="报送数字化成果", limit=5), scope=search.EVERYTHING)
    assert [h.id for h in hits.hits] == [a.pk]
    boxes = reading.highlights(pages[1], "报送数字化成果")
    assert len(boxes) == 1
    pdf = reading.searchable_pdf(a)
    assert pdf.startswith(b"%PDF")


def test_each_bad_input_gives_its_finding(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=3)
    b = make_record(2, pages=1)
    c = make_record(3, pages=2)
    code_a, code_b, code_c = a.reference_code, b.reference_code, c.reference_code
    write_page(tmp_path / f"{code_a}-0001.jpg", "关于加强档案数字化工作的通知")
    write_page(tmp_path / f"{code_a}-0003.jpg", "省档案馆负责组织抽检和验收工作")  # page 2 missing
    write_page(tmp_path / f"{code_b}-0001.jpg", "本页分辨率太低", dpi=150)
    write_page(tmp_path / f"{code_c}-0001.jpg", "", blank=True)
    twin = write_page(tmp_path / f"{code_c}-0002.jpg", "馆藏纸质档案数字化率达到九成")
    (tmp_path / f"{code_c}-0003.jpg").write_bytes(twin.read_bytes())  # scanned twice
    (tmp_path / "IMG_0007.jpg").write_bytes(twin.read_bytes())  # not named 档号-页号
    write_page(tmp_path / "Z109-WS·2011-Y-BGS-0999-0001.jpg", "不存在的档号")
    tiff = io.BytesIO()
    Image.new("L", (400, 500), 255).save(tiff, "TIFF", dpi=(300, 300))
    (tmp_path / f"{code_b}-0002.tif").write_bytes(tiff.getvalue()[:300])  # truncated
    batch = register(tmp_path)
    found = codes(batch)
    assert batch.status == "checked" and batch.result == "fail"
    assert "IMG_0007.jpg" in found["naming"]
    assert "Z109-WS·2011-Y-BGS-0999-0001.jpg" in found["catalogue_link"]
    assert f"{code_b}-0002.tif" in found["file_integrity"]
    assert f"{code_b}-0001.jpg" in found["resolution"]
    assert f"{code_c}-0001.jpg" in found["blank_page"]
    assert code_c in found["duplicate_page"]  # the same page twice in one item
    assert code_a in found["page_sequence"] or code_a in found["page_count"]  # 漏扫 page 2
    assert code_c in found["page_count"]  # 3 pages for 页数 2: 多扫
    with pytest.raises(services.DigitizationError, match="不合格"):
        services.accept_batch(batch, user=None, reason="试试")
    with pytest.raises(services.DigitizationError, match="理由"):
        services.return_batch(batch, user=None, reason=" ")
    services.return_batch(batch, user=None, reason="第2页漏扫；低分辨率重扫")
    batch.refresh_from_db()
    assert batch.status == "returned"
    assert not Component.objects.filter(record__in=[a, b, c]).exists()  # nothing attached


def test_a_batch_with_nothing_to_examine_is_not_a_pass(tmp_path: Path, ws: object) -> None:
    (tmp_path / "readme.txt").write_text("nothing here", encoding="utf-8")
    batch = register(tmp_path)
    assert batch.result == "fail" and batch.summary["pages"] == 0


def test_an_unreadable_manifest_fails_the_batch_with_its_reason(tmp_path: Path, ws: object) -> None:
    (tmp_path / "清单.csv").write_text("档号,文件,页号\nX,a.jpg,一\n", encoding="utf-8")
    (tmp_path / "a.jpg").write_bytes(b"x")
    batch = register(tmp_path)
    assert batch.status == "failed" and "不是数字" in batch.error


def test_a_vendor_sees_only_its_own_batches(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    from lantai.catalog.services import default_repository

    repo = default_repository()
    vendor = User.objects.create_user("scanner", password="x", role="scanning_vendor")
    other = User.objects.create_user("scanner2", password="x", role="scanning_vendor")
    keeper = User.objects.create_user("keeper", password="x", role="cataloguer", scope_all=True)
    with pytest.raises(services.DigitizationError, match="无权"):
        services.register_batch(tmp_path, user=vendor, repository=repo)
    vendor.repositories.add(repo)
    batch = services.register_batch(tmp_path, user=vendor, repository=repo)
    assert services.visible_batch(vendor, batch.pk) == batch
    assert services.visible_batch(other, batch.pk) is None
    assert services.visible_batch(keeper, batch.pk) == batch
    services.check_batch(batch.pk)
    batch.refresh_from_db()
    with pytest.raises(services.DigitizationError, match="无权"):
        services.accept_batch(batch, user=vendor)


def test_ocr_is_idempotent_and_reuses_a_page_read_before(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=1)
    write_page(tmp_path / "one" / f"{a.reference_code}-0001.jpg", "音像档案数字化转换技术要求")
    first = register(tmp_path / "one")
    inspect_all(first)
    services.accept_batch(first, user=None)
    page = Page.objects.get(batch=first)
    assert page.ocr_status == "done"
    assert reading.ocr_page(page.pk) == "skipped"  # run again (a retried job): nothing read twice
    b = make_record(2, pages=1)
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / f"{b.reference_code}-0001.jpg").write_bytes(
        (tmp_path / "one" / f"{a.reference_code}-0001.jpg").read_bytes()
    )
    second = register(tmp_path / "two")
    inspect_all(second)
    services.accept_batch(second, user=None)
    twin = Page.objects.get(batch=second)
    assert twin.ocr_status == "done" and twin.ocr_lines == page.ocr_lines
    assert twin.ocr_seconds == 0.0  # reused, not read again


def test_a_correction_replaces_the_ocr_text_in_search_and_keeps_the_original(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=1)
    write_page(tmp_path / f"{a.reference_code}-0001.jpg", "关于加强档案数字化工作的通知")
    batch = register(tmp_path)
    inspect_all(batch)
    services.accept_batch(batch, user=None)
    page = Page.objects.get(batch=batch)
    keeper = User.objects.create_user("keeper", password="x", role="cataloguer", scope_all=True)
    reader = User.objects.create_user("reader", password="x", role="reading_room", scope_all=True)
    original = reading.lines(page)[0].text
    with pytest.raises(services.DigitizationError, match="无权"):
        reading.correct_line(page, 0, "改", user=reader)
    with pytest.raises(services.DigitizationError, match="不存在"):
        reading.correct_line(page, 99, "改", user=keeper)
    reading.correct_line(page, 0, "关于加强兰台数字化工作的通知", user=keeper)
    page.refresh_from_db()
    shown = reading.lines(page)[0]
    assert shown.text == "关于加强兰台数字化工作的通知" and shown.original == original
    assert shown.corrected and page.ocr_lines[0][0] == original  # the OCR is kept
    text = ComponentText.objects.get(component__record=a)
    assert text.source == "corrected" and "兰台数字化" in text.text
    found = search.search(None, Query(text="兰台数字化", limit=5), scope=search.EVERYTHING)
    assert [h.id for h in found.hits] == [a.pk]
    assert reading.corrections(page)[0].user == keeper


def test_a_rerun_after_a_crash_starts_the_batch_over(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=1)
    write_page(tmp_path / f"{a.reference_code}-0001.jpg", "关于加强档案数字化工作的通知")
    from lantai.catalog.services import default_repository

    batch = services.register_batch(tmp_path, user=None, repository=default_repository())
    services.check_batch(batch.pk)
    Batch.objects.filter(pk=batch.pk).update(status="checking")  # as if the worker died at the end
    services.check_batch(batch.pk)
    assert Page.objects.filter(batch=batch).count() == 1
    assert batch.items.count() == 1


def test_a_record_digitized_before_gets_no_second_set_of_pages(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=1)
    for name in ("one", "two", "three"):
        write_page(
            tmp_path / name / f"{a.reference_code}-0001.jpg", f"{name}关于档案数字化工作的通知"
        )
    first, second = register(tmp_path / "one"), register(tmp_path / "two")
    inspect_all(first)
    inspect_all(second)
    services.accept_batch(first, user=None)
    with pytest.raises(
        services.DigitizationError, match="其他批次"
    ):  # checked before, accepted after
        services.accept_batch(second, user=None)
    third = register(tmp_path / "three")
    assert a.reference_code in codes(third)["already_digitized"]
    assert third.result == "fail"
    assert Component.objects.filter(record=a).count() == 1


def test_links_empty_record_folders_and_recordings_in_a_batch(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    from lantai.digitization import av

    a, b, c = make_record(1, pages=1), make_record(2, pages=3), make_record(3, pages=4)
    outside = write_page(tmp_path / "outside" / "x.jpg", "批次之外的文件")
    batch_dir = tmp_path / "batch"
    write_page(batch_dir / f"{a.reference_code}-0001.jpg", "关于加强档案数字化工作的通知")
    (batch_dir / f"{a.reference_code}-0002.jpg").symlink_to(outside)
    av.generate_sample(batch_dir / f"{b.reference_code}.wav", "audio", 1.0)  # 页数 3: not pages
    (batch_dir / c.reference_code).mkdir()  # the record's folder, left empty
    batch = register(batch_dir)
    found = codes(batch)
    assert f"{a.reference_code}-0002.jpg" in found["file_format"]  # a link is not read
    assert b.reference_code not in found.get("page_count", set())
    assert c.reference_code in found["page_count"]  # 0 of 4 pages: 漏扫
    assert batch.summary["recordings"] == 1 and batch.summary["items_without_pages"] == 1


def test_a_multipage_tiff_named_by_its_record_gives_one_page_per_frame(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    from tests.digitization.conftest import TEXTS, page_image

    a = make_record(1, pages=3)
    frames = [Image.open(io.BytesIO(page_image(TEXTS[i]))) for i in range(3)]
    frames[0].save(
        tmp_path / f"{a.reference_code}.tif",
        save_all=True,
        append_images=frames[1:],
        dpi=(300, 300),
    )
    batch = register(tmp_path)
    pages = list(batch.pages.order_by("number"))
    assert [(p.number, p.frame) for p in pages] == [(1, 1), (2, 2), (3, 3)]
    assert len({p.sm3 for p in pages}) == 1  # one stored file
    assert "page_count" not in codes(batch) and batch.summary["pages"] == 3
    inspect_all(batch)
    services.accept_batch(batch, user=None, reason="多页 TIFF")
    assert Component.objects.filter(record=a).count() == 1  # one component of three pages
    assert TEXTS[2] in reading.page_text(Page.objects.get(batch=batch, number=3))  # its own frame
