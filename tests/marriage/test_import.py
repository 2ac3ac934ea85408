"""Importing civil-affairs exports: GB18030 CSV and .xlsx, the row-by-row report, all or nothing
unless the valid rows alone are asked for, and the same file twice changes nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from lantai.catalog.models import Record
from lantai.marriage import importing
from lantai.marriage.models import ImportRun, Party, Registration
from tests.marriage.conftest import resident_id

pytestmark = pytest.mark.django_db

HEADERS = ["登记类别", "登记日期", "登记机关", "行政区划代码", "结婚证字号",
           "男方姓名", "男方身份证号", "女方姓名", "女方身份证号"]  # fmt: skip
MAN = resident_id("450102", date(1980, 1, 2), 13)
WOMAN = resident_id("450102", date(1982, 3, 4), 24)


def _rows(n: int = 3) -> list[list[str]]:
    return [
        ["结婚", f"2005-06-{10 + i:02d}", "南宁市兴宁区民政局婚姻登记处", "450102",
         f"J450102-2005-{i + 1:06d}", f"覃志{'强明华'[i % 3]}",
         resident_id("450102", date(1980, 1, 2 + i), 13), f"韦春{'燕梅兰'[i % 3]}",
         resident_id("450102", date(1982, 3, 4 + i), 24)]
        for i in range(n)
    ]  # fmt: skip


def _csv(path: Path, rows: list[list[str]], encoding: str = "gb18030") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADERS, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _import(path: Path, fonds: Any, **kw: Any) -> importing.Result:
    return importing.import_file(path, fonds, actor="tester", **kw)


def test_a_gb18030_export_imports_as_closed_hy_records_once(fonds: Any, tmp_path: Path) -> None:
    path = _csv(tmp_path / "民政导出.csv", _rows())
    result = _import(path, fonds)
    assert (result.status, result.rows_imported, result.rows_rejected) == ("imported", 3, 0)
    records = Record.objects.filter(fonds=fonds).order_by("reference_code")
    assert [r.reference_code for r in records] == [f"MZHY-HY·2005·D100-{n:05d}" for n in (1, 2, 3)]
    assert {r.open_status for r in records} == {"closed"} and {
        r.category.code for r in records
    } == {"HY"}
    assert records[0].title == "覃志强、韦春燕结婚登记"
    reg = Registration.objects.get(record=records[0])
    assert (reg.kind, reg.certificate_number, reg.region_code) == (
        "marriage",
        "J450102-2005-000001",
        "450102",
    )
    assert [p.sex for p in Party.objects.filter(registration=reg)] == ["男", "女"]  # from 男方/女方
    again = _import(path, fonds)
    assert (again.rows_imported, again.rows_unchanged) == (0, 3)
    assert Record.objects.filter(fonds=fonds).count() == 3
    assert MAN not in json.dumps(list(Record.objects.values()), default=str, ensure_ascii=False)


def test_bad_rows_reject_the_file_with_row_column_and_rule(fonds: Any, tmp_path: Path) -> None:
    rows = _rows()
    rows[1][6] = rows[1][6][:-1] + ("0" if rows[1][6][-1] != "0" else "1")  # check character
    rows[2][1] = "2099-01-01"  # in the future
    result = _import(_csv(tmp_path / "bad.csv", rows), fonds)
    assert result.status == "rejected" and result.rows_rejected == 2 and result.rows_imported == 0
    assert not Record.objects.filter(fonds=fonds).exists()
    found = {(e["row"], e["column"], e["rule"]) for e in result.errors}
    assert (3, "男方身份证号", "id_checksum") in found and (4, "登记日期", "date_future") in found
    assert {e["row"] for e in result.errors} == {3, 4}
    assert all(e["message"] and e["message_en"] for e in result.errors)
    partial = _import(_csv(tmp_path / "bad2.csv", rows), fonds, valid_rows_only=True)
    assert (partial.status, partial.rows_imported, partial.rows_rejected) == ("imported", 1, 2)
    assert ImportRun.objects.get(pk=partial.run_id).errors == partial.errors


def test_an_xlsx_export_with_date_cells_imports(fonds: Any, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["婚姻登记档案目录"])  # a title row above the header
    sheet.append(HEADERS)
    row: list[Any] = _rows(1)[0]
    row[1] = date(2005, 6, 10)
    sheet.append(row)
    path = tmp_path / "export.xlsx"
    book.save(path)
    result = _import(path, fonds)
    assert (result.status, result.rows_imported) == ("imported", 1), result.errors


def test_a_file_without_the_required_columns_is_unreadable(fonds: Any, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("登记日期,登记机关,男方姓名\n2005-01-01,某局,张三\n", encoding="utf-8")
    with pytest.raises(importing.FileUnreadable) as caught:
        _import(path, fonds)
    assert "登记类别" in caught.value.message_zh and not ImportRun.objects.exists()


def test_a_changed_row_under_a_known_certificate_number_is_an_error(
    fonds: Any, tmp_path: Path
) -> None:
    rows = _rows(1)
    assert _import(_csv(tmp_path / "a.csv", rows), fonds).rows_imported == 1
    rows[0][5] = "覃智强"  # the same 证号 and people, one name written differently
    result = _import(_csv(tmp_path / "b.csv", rows), fonds)
    assert result.status == "rejected" and result.rows_rejected == 1
    assert [e["rule"] for e in result.errors] == ["certificate_number_taken"]
    assert "MZHY-HY·2005·D100-00001" in result.errors[0]["message"]
    twice = _rows(2)
    twice[1][4] = twice[0][4]  # two rows of one file under one 证号
    again = _import(_csv(tmp_path / "c.csv", twice), fonds, valid_rows_only=True)
    assert [e["rule"] for e in again.errors] == ["certificate_number_taken"]


def test_identity_numbers_in_the_report_are_masked(fonds: Any, tmp_path: Path) -> None:
    rows = _rows(1)
    rows[0][8] = rows[0][6]  # the woman's column holds the man's (valid) number
    result = _import(_csv(tmp_path / "sex.csv", rows), fonds)
    assert result.status == "rejected" and result.errors
    text = json.dumps(result.errors, ensure_ascii=False)
    assert rows[0][6] not in text and rows[0][6][:4] + "**********" + rows[0][6][-4:] in text


def test_a_row_the_reader_cannot_take_fails_the_run_instead_of_leaving_it_running(
    fonds: Any, tmp_path: Path
) -> None:
    rows = _rows(1)
    rows[0][2] = "局" * 200_000  # over the CSV field limit
    with pytest.raises(importing.FileUnreadable):
        _import(_csv(tmp_path / "huge.csv", rows, encoding="utf-8"), fonds)
    run = ImportRun.objects.get()
    assert run.status == "failed" and run.finished_at is not None and run.errors
