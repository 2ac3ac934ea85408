"""OCR correction beyond one changed line (issue 14, point 4, audit): a page stays 待校对 until
every low-confidence line is corrected or confirmed by a person, and lines OCR missed can be
added, searched and put in the searchable PDF. Real pages, real OCR, real search."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lantai.catalog.models import ComponentText, Record
from lantai.core.models import AuditEntry, User
from lantai.digitization import reading, services
from lantai.digitization.models import Correction, Page
from lantai.search import services as search
from lantai.search.query import Query

from .test_batches import inspect_all, register

pytestmark = pytest.mark.django_db(transaction=True)


def read_page(
    folder: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> Page:
    record = make_record(1, pages=1)
    write_page(folder / f"{record.reference_code}-0001.jpg", "关于加强档案数字化工作的通知")
    batch = register(folder)
    inspect_all(batch)
    services.accept_batch(batch, user=None, reason="警告已复核")
    page = Page.objects.get(batch=batch)
    assert page.ocr_status == "done"
    return page


@pytest.fixture
def people(db: None) -> tuple[User, User]:
    return (
        User.objects.create_user("keeper", password="x", role="cataloguer", scope_all=True),
        User.objects.create_user("reader", password="x", role="reading_room", scope_all=True),
    )


def test_a_page_stays_flagged_until_every_low_line_is_corrected_or_confirmed(
    settings: Any,
    tmp_path: Path,
    make_record: Callable[..., Record],
    write_page: Callable[..., Path],
    people: tuple[User, User],
) -> None:
    settings.OCR_LOW_CONFIDENCE = 1.01  # every line the OCR read counts as low confidence
    keeper, reader = people
    page = read_page(tmp_path, make_record, write_page)
    shown = reading.lines(page)
    assert page.needs_correction and len(shown) >= 3 and all(ln.needs_review for ln in shown)

    reading.correct_line(page, 0, "关于加强兰台数字化工作的通知", user=keeper)
    page.refresh_from_db()
    assert page.needs_correction  # one line fixed, the others not yet looked at
    assert services.ocr_progress(page.batch)["needs_correction"] == 1

    before = reading.page_text(page)
    made = reading.confirm_line(page, 1, user=keeper)
    assert made.original == made.text == shown[1].text and made.user == keeper
    line = reading.lines(page)[1]
    assert line.reviewed and not line.corrected and not line.needs_review
    assert reading.page_text(page) == before  # confirming changes no text
    with pytest.raises(services.DigitizationError, match="已经校对过"):
        reading.confirm_line(page, 1, user=keeper)
    with pytest.raises(services.DigitizationError, match="无权"):
        reading.confirm_line(page, 2, user=reader)
    with pytest.raises(services.DigitizationError, match="无权"):
        reading.confirm_page(page, user=reader)
    with pytest.raises(services.DigitizationError, match="不存在"):
        reading.confirm_line(page, 99, user=keeper)
    page.refresh_from_db()
    assert page.needs_correction

    assert reading.confirm_page(page, user=keeper) == len(shown) - 2  # 校对完成
    page.refresh_from_db()
    assert not page.needs_correction
    assert Correction.objects.filter(page=page).count() == len(shown)
    assert AuditEntry.objects.filter(action="ocr_confirm", target_id=str(page.pk)).count() == (
        len(shown) - 1
    )
    assert reading.confirm_page(page, user=keeper) == 0  # nothing left to confirm


def test_a_line_ocr_missed_is_added_searched_and_in_the_pdf(
    tmp_path: Path,
    make_record: Callable[..., Record],
    write_page: Callable[..., Path],
    people: tuple[User, User],
) -> None:
    keeper, reader = people
    page = read_page(tmp_path / "scan", make_record, write_page)
    read = len(page.ocr_lines)
    for bad, why in (("  ", "请填写"), ("同意\n归档", "换行"), ("档" * 2001, "2000")):
        with pytest.raises(services.DigitizationError, match=why):
            reading.add_line(page, bad, user=keeper)
    with pytest.raises(services.DigitizationError, match="无权"):
        reading.add_line(page, "同意归档", user=reader)
    assert not Correction.objects.exists()

    first = reading.add_line(page, "手写批注：同意归档", user=keeper)
    second = reading.add_line(page, "馆长签字", user=keeper)
    assert (first.line, first.original, second.line) == (read, "", read + 1)
    shown = reading.lines(page)
    assert len(shown) == read + 2
    added = shown[read]
    assert added.box is None and added.added and added.confidence == 1.0
    assert added.text == "手写批注：同意归档" and added.reviewed
    assert reading.page_text(page).endswith("手写批注：同意归档\n馆长签字")

    record = page.item.record
    text = ComponentText.objects.get(component=page.component)
    assert "同意归档" in text.text and text.source == "corrected"
    found = search.search(None, Query(text="同意归档", limit=5), scope=search.EVERYTHING)
    assert [h.id for h in found.hits] == [record.pk]
    assert [ln.index for ln in reading.hit_lines(page, "同意归档")] == [read]
    assert reading.highlights(page, "同意归档") == []  # no box to draw on the image

    # an added line is corrected like any other; emptied, it is gone from the text
    reading.correct_line(page, read + 1, "馆长签字（已盖章）", user=keeper)
    reading.correct_line(page, read, "", user=keeper)
    assert [ln.text for ln in reading.lines(page)[read:]] == ["馆长签字（已盖章）"]
    assert reading.add_line(page, "又一行", user=keeper).line == read + 2  # indexes never reused

    pdf = tmp_path / "record.pdf"
    pdf.write_bytes(reading.searchable_pdf(record))
    extracted = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "馆长签字（已盖章）" in extracted and "又一行" in extracted
    assert "数字化工作" in extracted.replace(" ", "")  # the OCR lines are still there


def test_a_line_cannot_be_added_to_a_page_not_yet_read(
    tmp_path: Path,
    make_record: Callable[..., Record],
    write_page: Callable[..., Path],
    people: tuple[User, User],
) -> None:
    page = read_page(tmp_path, make_record, write_page)
    Page.objects.filter(pk=page.pk).update(ocr_status="pending")
    page.refresh_from_db()
    with pytest.raises(services.DigitizationError, match="尚未识别"):
        reading.add_line(page, "同意归档", user=people[0])
    with pytest.raises(services.DigitizationError, match="不存在"):
        reading.confirm_line(page, 0, user=people[0])
