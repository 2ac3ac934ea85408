"""Catalogue export to .xlsx and .csv with the same columns the import reads back.

Text cells that a spreadsheet would run as a formula are neutralised (`core.spreadsheet_cells`)
and .xlsx cells are written as values (numbers) or text, never as formulas."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lantai.catalog import columns
from lantai.catalog.models import Category, Record
from lantai.catalog.services import CatalogError
from lantai.core.spreadsheet_cells import formula_safe
from lantai.standards import vocabularies as vocab


def _labels(vocabulary: str) -> dict[str, str]:
    return {t.code: t.label_zh for t in vocab.get_vocabulary(vocabulary).terms}


def _rows(category: Category, year: int | None, records: Any = None) -> Iterator[list[Any]]:
    qs = records if records is not None else Record.objects.filter(category=category)
    if year is not None:
        qs = qs.filter(year=year)
    cols = columns.export_columns()
    labels = _labels("classification")
    retention_labels = _labels("retention")
    status_labels = _labels("open_status")
    for n, r in enumerate(qs.order_by("reference_code", "pk").iterator(2000), start=1):
        values = {
            "sequence": n,
            "classification": labels.get(r.classification, r.classification),
            "retention": retention_labels.get(r.retention, r.retention),
            "open_status": status_labels.get(r.open_status, r.open_status),
            "date": r.date.strftime("%Y%m%d") if r.date else "",
        }
        yield [
            formula_safe(
                values[f] if f in values else (getattr(r, f) if getattr(r, f) is not None else "")
            )
            for _, f in cols
        ]


def export_file(
    path: Path,
    category: Category,
    *,
    year: int | None = None,
    encoding: str = "utf-8-sig",
    records: Any = None,
) -> int:
    """Write the catalogue of `category` (optionally one year) to `path`; returns the row count."""
    headers = [h for h, _ in columns.export_columns()]
    suffix = path.suffix.lower()
    count = 0
    if suffix == ".csv":
        if encoding not in ("utf-8-sig", "utf-8", "gb18030"):
            raise CatalogError(f"不支持的编码“{encoding}”：可选 utf-8-sig、gb18030")
        with path.open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f)
            w.writerow(headers)
            for row in _rows(category, year, records):
                w.writerow(row)
                count += 1
    elif suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("归档文件目录")
        ws.append(headers)
        for row in _rows(category, year, records):
            ws.append(_text_cells(ws, row))
            count += 1
        wb.save(path)
    else:
        raise CatalogError(f"不支持的导出格式“{path.suffix}”：请用 .xlsx 或 .csv")
    return count


def _text_cells(ws: Any, row: list[Any]) -> list[Any]:
    """The row's cells for a write-only sheet: text as text (data type "s"), never a formula."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in row:
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        cells.append(cell)
    return cells
