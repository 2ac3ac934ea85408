"""The statistics report as an Excel workbook in the report's layout: a title, the unit of each
figure, this year, the previous year and the change; one sheet per breakdown."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from lantai.standards import statistics as std

TITLE = "{year} 年度档案统计报表"


def workbook(report: dict[str, Any], repository: str = "") -> bytes:
    """The .xlsx bytes of `report` (services.Report.as_json())."""
    year, prev = report["year"], report["previous_year"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "统计报表"
    _title(sheet, TITLE.format(year=year), repository, 6)
    header = ["指标", "计量单位", f"{year} 年", f"{prev} 年", "增减", "数据来源"]
    sheet.append(header)
    for row in report["figures"]:
        shown = row["available"]
        sheet.append([
            row["label_zh"], row["unit"],
            row["value"] if shown else "无数据来源",
            row["previous"] if shown else None,
            row["change"] if shown else None,
            row.get("from_zh") or row["from"],
        ])  # fmt: skip
    _style(sheet, header_row=3, widths=[28, 10, 16, 16, 12, 60])
    names = {b.code: b for b in std.report_breakdowns()}
    for code, entries in report["breakdowns"].items():
        breakdown = names.get(code)
        part = book.create_sheet(_sheet_name(breakdown.label_zh if breakdown else code))
        _title(part, f"{TITLE.format(year=year)}：{breakdown.label_zh if breakdown else code}",
               repository, 5)  # fmt: skip
        first = "门类" if code == "holdings_by_category" else "保管期限"
        head = [first, "计量单位", f"{year} 年", f"{prev} 年", "增减"]
        part.append(head)
        for entry in entries:
            name = entry.get("label_zh") or entry.get("retention") or ""
            key = entry.get("category") or entry.get("retention")
            if key and key != name:
                name = f"{name}（{key}）"
            level = std.level_unit(entry["level"])
            part.append([name, level, entry["value"], entry["previous"],
                         std.change(entry["value"], entry["previous"])])  # fmt: skip
        _style(part, header_row=3, widths=[24, 10, 16, 16, 12])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(name: str) -> str:
    return "".join(c for c in name if c not in "[]:*?/\\")[:31]


def _title(sheet: Any, title: str, repository: str, width: int) -> None:
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    sheet.append([f"填报单位：{repository}" if repository else ""])


def _style(sheet: Any, header_row: int, widths: list[int]) -> None:
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
