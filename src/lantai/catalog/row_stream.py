"""A catalogue's rows, validated, as a stream of chunks: in this process, or in a second process
so that on a multi-core machine validation runs alongside the database writes.

The second process is forked after the validator is built and never touches the database; it
hands back chunks of (row number, clean values or None, errors) through a bounded queue, so
memory stays flat whatever the file size.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import queue
from collections.abc import Iterator, Mapping
from typing import Any

from lantai.catalog.readers import FileUnreadable, Table
from lantai.catalog.validation import Issue, RecordValidator
from lantai.core.spreadsheet_cells import formula_restored

CHUNK = 2000
QUEUE_CHUNKS = 4
Validated = tuple[int, dict[str, Any] | None, list[Issue]]
HASHED = (
    "reference_code", "title", "author", "document_number", "date", "year", "retention",
    "classification", "pages", "remarks", "org_code", "open_status", "secrecy_period",
)  # fmt: skip


def row_dict(headers: list[str], mapping: Mapping[str, str], cells: list[Any]) -> dict[str, Any]:
    """Cells keyed by field; unmapped non-empty columns are kept under "extra". A cell that an
    export neutralised against formulas ('=…, '-…) is read back as it was stored."""
    row: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for i, header in enumerate(headers):
        value = cells[i] if i < len(cells) else None
        if value.__class__ is str and value[:1] == "'":  # neutralised by an export
            value = formula_restored(value)
        target = mapping.get(header, "")
        if target:
            row[target] = value
        elif header and value not in (None, ""):
            extra[header] = value
    if extra:
        row["extra"] = extra
    return row


def row_hash(clean: Mapping[str, Any]) -> str:
    """Identifies a row's content, so that re-importing it is recognised as unchanged."""
    body = "\x1f".join(str(clean.get(k)) for k in HASHED)
    return hashlib.blake2b(body.encode(), digest_size=16).hexdigest()


def validated_chunks(
    table: Table, mapping: Mapping[str, str], validator: RecordValidator, *, parallel: bool
) -> Iterator[list[Validated]]:
    if parallel:
        yield from _from_child(table, mapping, validator)
    else:
        yield from _chunks(table, mapping, validator)


def _chunks(
    table: Table, mapping: Mapping[str, str], validator: RecordValidator
) -> Iterator[list[Validated]]:
    chunk: list[Validated] = []
    headers = table.headers
    for number, cells in table.rows():
        clean, issues = validator.validate(row_dict(headers, mapping, cells))
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            chunk.append((number, None, errors))
        else:
            clean["row_hash"] = row_hash(clean)
            chunk.append((number, clean, []))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _produce(
    table: Table, mapping: Mapping[str, str], validator: RecordValidator, out: Any
) -> None:
    try:
        for chunk in _chunks(table, mapping, validator):
            out.put(chunk)
        out.put(("end", ""))
    except FileUnreadable as e:
        out.put(("unreadable", e.message_zh))
    except BaseException as e:  # reported to the parent, which fails the import with it
        out.put(("error", f"{type(e).__name__}: {e}"))


def _from_child(
    table: Table, mapping: Mapping[str, str], validator: RecordValidator
) -> Iterator[list[Validated]]:
    ctx = multiprocessing.get_context("fork")
    chunks: Any = ctx.Queue(maxsize=QUEUE_CHUNKS)
    child = ctx.Process(target=_produce, args=(table, mapping, validator, chunks), daemon=True)
    child.start()
    try:
        while True:
            try:
                item = chunks.get(timeout=1)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"校验进程意外退出（退出码 {child.exitcode}）") from None
                continue
            if isinstance(item, tuple):
                kind, message = item
                if kind == "end":
                    return
                if kind == "unreadable":
                    raise FileUnreadable(message)
                raise RuntimeError(f"校验进程出错：{message}")
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
