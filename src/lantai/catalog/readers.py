"""Reading catalogue spreadsheets (.xlsx, .csv) as a stream of rows.

CSV encodings: UTF-8 (with or without BOM), UTF-16 with BOM, and GB18030 (a superset of GBK and
GB2312), detected from the bytes. Rows are yielded lazily so a million-row file uses flat memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.catalog import columns

HEADER_SCAN_ROWS = 10
SAMPLE_BYTES = 256 * 1024


class FileUnreadable(Exception):
    """The file as a whole cannot be read (as opposed to bad rows inside it)."""

    def __init__(self, message_zh: str, message_en: str = "") -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en  # shown in the English UI and kept with a failed import


@dataclass
class Table:
    path: Path
    kind: str  # "xlsx" | "csv"
    encoding: str = ""
    headers: list[str] = field(default_factory=list)
    header_row: int = 0  # 1-based row number of the header in the file

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number in the file, cells) for every row after the header; blank rows skipped."""
        source = (
            _xlsx_rows(self.path) if self.kind == "xlsx" else _csv_rows(self.path, self.encoding)
        )
        for number, cells in source:
            if number <= self.header_row:
                continue
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield number, cells


def open_table(path: Path, is_header: Callable[[list[str]], bool] | None = None) -> Table:
    """The table in a spreadsheet; its header is the first of the first rows in which at least
    two catalogue columns are recognised (or which `is_header` accepts)."""
    if not path.exists():
        raise FileUnreadable(f"文件“{path}”不存在", f"File {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise FileUnreadable(
            f"“{path.name}”是旧版 Excel 97-2003 格式（.xls），请在 Excel 中另存为 .xlsx 后再导入",
            f"{path.name!r} is in the old Excel 97-2003 format (.xls): save it as .xlsx in Excel "
            "and import that",
        )
    if suffix in (".xlsx", ".xlsm"):
        table = Table(path, "xlsx")
        rows = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        table = Table(path, "csv", encoding=detect_encoding(path))
        rows = _csv_rows(path, table.encoding)
    else:
        raise FileUnreadable(
            f"不支持的文件类型“{path.suffix}”：请上传 .xlsx 或 .csv 文件",
            f"Unsupported file type {path.suffix!r}: upload an .xlsx or .csv file",
        )
    for number, cells in rows:
        text = ["" if c is None else str(c).strip() for c in cells]
        if (is_header or _catalogue_header)(text):
            table.headers, table.header_row = text, number
            break
        if number >= HEADER_SCAN_ROWS:
            break
    if not table.headers and is_header is not None:  # the caller names its own columns
        raise FileUnreadable(
            f"“{path.name}”前 {HEADER_SCAN_ROWS} 行中找不到表头",
            f"No header in the first {HEADER_SCAN_ROWS} rows of {path.name!r}",
        )
    if not table.headers:
        raise FileUnreadable(
            f"“{path.name}”前 {HEADER_SCAN_ROWS} 行中找不到表头（应有“档号”“题名”“日期”等列名）",
            f"No header in the first {HEADER_SCAN_ROWS} rows of {path.name!r} (it should name "
            "columns such as 档号, 题名, 日期)",
        )
    return table


def _catalogue_header(cells: list[str]) -> bool:
    return columns.recognised_count(cells) >= 2


def detect_encoding(path: Path) -> str:
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileUnreadable(
        f"“{path.name}”的字符编码无法识别：请保存为 UTF-8 或 GB18030（GBK）编码的 CSV",
        f"The character encoding of {path.name!r} is not recognised: save the CSV in UTF-8 or "
        "GB18030 (GBK)",
    )


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, list[Any]]]:
    with path.open(encoding=encoding, newline="") as f:
        head = f.read(4096)
        f.seek(0)
        delimiter = "\t" if head.count("\t") > head.count(",") else ","
        reader = csv.reader(f, delimiter=delimiter)
        try:
            for cells in reader:
                yield reader.line_num, cells
        except UnicodeDecodeError as e:
            raise FileUnreadable(
                f"“{path.name}”第 {reader.line_num + 1} 行附近含有不属于 {encoding} 编码的字节：文件可能混用了多种编码",
                f"{path.name!r} has bytes that are not {encoding} near row {reader.line_num + 1}: "
                "the file may mix encodings",
            ) from e
        except csv.Error as e:
            raise FileUnreadable(
                f"“{path.name}”第 {reader.line_num} 行不是有效的 CSV：{e}",
                f"Row {reader.line_num} of {path.name!r} is not valid CSV: {e}",
            ) from e


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as e:
        raise FileUnreadable(
            f"“{path.name}”不是有效的 .xlsx 文件（{type(e).__name__}）",
            f"{path.name!r} is not a valid .xlsx file ({type(e).__name__})",
        ) from e
    try:
        ws = wb["归档文件目录"] if "归档文件目录" in wb.sheetnames else wb.worksheets[0]
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in row]
    finally:
        wb.close()


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
