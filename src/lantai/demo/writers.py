"""The demo's 归档文件目录 files: rows written as CSV (any size, streamed) or .xlsx (small)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any


def export_columns() -> list[tuple[str, str]]:
    """(Chinese header, field) of the 归档文件目录, in the export order of catalogue_columns.yaml."""
    from lantai.catalog.columns import export_columns as columns

    return columns()


def write_csv(path: Path | str, rows: Iterable[dict[str, Any]], encoding: str = "utf-8") -> int:
    """Write a 归档文件目录 CSV (Chinese headers, 序号 numbered from 1); returns the row count."""
    cols = export_columns()
    fields = [f for _, f in cols if f != "sequence"]
    get = itemgetter(*fields)
    n = 0
    with Path(path).open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow([h for h, _ in cols])
        write = writer.writerow
        if cols[0][1] == "sequence":
            for n, row in enumerate(rows, start=1):  # noqa: B007
                write((n, *get(row)))
        else:
            for n, row in enumerate(rows, start=1):  # noqa: B007
                write(get(row))
    return n


def write_xlsx(path: Path | str, rows: Iterable[dict[str, Any]]) -> int:
    """Write a 归档文件目录 .xlsx (small files: tests, samples); returns the row count."""
    import openpyxl

    cols = export_columns()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("归档文件目录")
    ws.append([h for h, _ in cols])
    n = 0
    for n, row in enumerate(rows, start=1):  # noqa: B007
        ws.append([n if f == "sequence" else row.get(f, "") for _, f in cols])
    wb.save(str(path))
    return n
