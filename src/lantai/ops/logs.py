"""Log formats: JSON lines (python-json-logger) or plain text, both carrying the request id.

Chosen by LANTAI_LOG_FORMAT (json|text; default json when stderr is not a terminal, i.e. under
systemd or a container, text in a terminal such as the demo). No Django imports: settings.py's
LOGGING names these classes by dotted path.

A JSON line: {"timestamp": "2026-12-07T20:44:19.123+08:00", "level": "INFO",
"logger": "lantai.request", "message": "GET /public/ 200", "request_id": "…", "method": "GET",
"path": "/public/", "status": 200, "duration_ms": 12.5, "view": "access:home", "user": 7}
"""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

__all__ = [
    "JsonLineFormatter",
    "RequestIdFilter",
    "TextFormatter",
    "default_format",
    "escape_controls",
]

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: whatever a terminal,
# journald or a log shipper could take for the end of a line (or an escape sequence).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def escape_controls(text: str) -> str:
    """`text` on one line: control characters written as \\n, \\r, \\t, \\xNN or \\uNNNN, so
    that text a client chose (a path with %0A in it) cannot start a line of its own."""
    return _CONTROLS.sub(_escaped, text)


def default_format() -> str:
    chosen = os.environ.get("LANTAI_LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    if chosen:
        raise ValueError(f"LANTAI_LOG_FORMAT={chosen!r}: use json or text")
    return "text" if sys.stderr.isatty() else "json"


class RequestIdFilter(logging.Filter):
    """Puts the request's (or job's) id on every record ("" outside requests): the id of the
    request the record names (Django's django.request lines, e.g. "Not Found", are written after
    the middleware chain returned, when the current id is already reset), else the current one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            from lantai.ops.request_ids import current

            named = getattr(getattr(record, "request", None), "request_id", "")
            record.request_id = named if isinstance(named, str) and named else current()
        return True


def _iso(record: logging.LogRecord) -> str:
    """ISO 8601 in local time with its offset, to the millisecond."""
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line with fixed names for the standard fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("json_ensure_ascii", False)  # Chinese messages stay readable
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["timestamp"] = _iso(record)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data.setdefault("request_id", getattr(record, "request_id", ""))
        for noise in ("levelname", "name", "asctime", "color_message"):
            log_data.pop(noise, None)
        # keep the order readable: timestamp, level, logger, message first
        head: dict[str, Any] = {
            k: log_data.pop(k) for k in ("timestamp", "level", "logger", "message") if k in log_data
        }
        rest = dict(log_data)
        log_data.clear()
        log_data.update(head)
        log_data.update(rest)


class TextFormatter(logging.Formatter):
    """`2026-12-07T20:44:19.123+08:00 INFO lantai.request [id] GET /public/ 200`

    One record, one line: control characters in the message are escaped (`escape_controls`), so
    a path or name a client chose cannot forge a line; only a traceback spans lines after it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso(record)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = ""
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802
        # a copy: other handlers format the same record (JSON escapes on its own)
        one_line = logging.makeLogRecord(record.__dict__)
        one_line.message = escape_controls(record.message)
        return super().formatMessage(one_line)
