"""Cells of the spreadsheets Lantai writes (CSV and .xlsx exports, registers, error reports).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, WPS and LibreOffice when the file is opened (CSV injection). Every writer passes
its cells through :func:`formula_safe`, which puts an apostrophe in front of such text, so the
cell shows the text and never runs. The catalogue import reads an exported list back with
:func:`formula_restored`, so an exported list still imports back unchanged.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def formula_safe(value: object) -> object:
    """`value` as a cell that no spreadsheet runs as a formula: text starting with one of
    FORMULA_STARTS gets an apostrophe in front; numbers, dates and None are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def formula_restored(value: object) -> object:
    """The inverse of :func:`formula_safe` for a cell read back from an exported file."""
    if isinstance(value, str) and value[:1] == QUOTE and value[1:2] in FORMULA_STARTS:
        return value[1:]
    return value
