"""Serve a stored file with HTTP Range support (RFC 9110 §14), so that browsers can seek in
audio and video access copies without downloading them whole.

One range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) gives 206 with Content-Range; a range that starts
past the end gives 416 with `Content-Range: bytes */size`; several ranges, or a Range header we do
not understand, are ignored and the whole file is served (200), which the RFC allows. ETag and
Last-Modified come from the file's size and modification time; If-Range, If-None-Match and
If-Modified-Since are honoured. The body is streamed in chunks, never read into memory.

Views decide who may see the file; this module only serves it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date, parse_http_date_safe

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _FileSlice:
    """Iterates over bytes [start, start + length) of a file; closed by Django after the
    response is sent (StreamingHttpResponse calls close())."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._f.seek(start)
        self._left = length

    def __iter__(self) -> Iterator[bytes]:
        while self._left > 0:
            chunk = self._f.read(min(CHUNK, self._left))
            if not chunk:  # the file shrank under us: stop rather than loop
                break
            self._left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._f.close()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """(first, last) byte positions for one satisfiable range; None to serve the whole file
    (no header, several ranges, or a header we do not understand); False if unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if not m or (not m.group(1) and not m.group(2)):
        return None  # other units, several ranges, or nonsense: ignore the header
    first, last = m.group(1), m.group(2)
    if not first:  # suffix: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            return False
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid syntax per RFC 9110: ignore
    if start >= size:
        return False
    return start, min(end, size - 1)


def _etag(st: os.stat_result) -> str:
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def ranged_file_response(request: HttpRequest, path: Path, content_type: str) -> HttpResponseBase:
    """GET/HEAD response for `path` honouring Range and the usual validators."""
    path = Path(path)
    st = path.stat()
    size = st.st_size
    etag, last_modified = _etag(st), http_date(st.st_mtime)
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": last_modified}

    inm = request.headers.get("If-None-Match")
    ims = parse_http_date_safe(request.headers.get("If-Modified-Since") or "")
    if (inm and (inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")])) or (
        not inm and ims is not None and int(st.st_mtime) <= ims
    ):
        response = HttpResponse(status=304)
        for k, v in headers.items():
            response[k] = v
        return response

    wanted = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if wanted is not None and if_range and if_range.strip() not in (etag, last_modified):
        wanted = None  # the client's copy is stale: send the whole new file

    head = request.method == "HEAD"
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        for k, v in headers.items():
            response[k] = v
        return response
    if isinstance(wanted, tuple):
        first, last = wanted
        length = last - first + 1
        ranged: HttpResponseBase = (
            HttpResponse(status=206, content_type=content_type)
            if head
            else StreamingHttpResponse(
                _FileSlice(path, first, length), status=206, content_type=content_type
            )
        )
        ranged["Content-Range"] = f"bytes {first}-{last}/{size}"
        ranged["Content-Length"] = str(length)
        for k, v in headers.items():
            ranged[k] = v
        return ranged
    whole: HttpResponseBase
    if head:
        whole = HttpResponse(content_type=content_type)
    else:
        whole = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
        if (
            "Content-Disposition" in whole
        ):  # FileResponse adds the stored file's name: keep it private
            del whole["Content-Disposition"]
    whole["Content-Length"] = str(size)
    for k, v in headers.items():
        whole[k] = v
    return whole
