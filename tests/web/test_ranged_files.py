"""HTTP Range for audio/video access copies: what a browser's <video> element sends when it
seeks, and the edge cases around it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.http.response import HttpResponseBase
from django.test import RequestFactory

from lantai.web import ranged_files
from lantai.web.ranged_files import parse_range, ranged_file_response

# closing a response sends request_finished, whose handler closes old database connections
pytestmark = pytest.mark.django_db
SIZE = 1_000_000


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "access.mp4"
    path.write_bytes(bytes(i % 251 for i in range(SIZE)))
    return path


def get(path: Path, method: str = "get", **headers: str) -> HttpResponseBase:
    request = getattr(RequestFactory(), method)("/media/1", headers=headers)
    return ranged_file_response(request, path, "video/mp4")


def body(response: HttpResponseBase) -> bytes:
    try:
        if getattr(response, "streaming", False):
            return b"".join(response.streaming_content)  # type: ignore[attr-defined]
        return bytes(response.content)  # type: ignore[attr-defined]
    finally:
        response.close()


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=500000-", 500000, SIZE - 1),  # a seek: from there to the end
        ("bytes=-500", SIZE - 500, SIZE - 1),  # the last 500 bytes
        ("bytes=999990-2000000", 999990, SIZE - 1),  # past the end: clipped
        ("bytes=-2000000", 0, SIZE - 1),  # a suffix longer than the file: all of it
        ("bytes=7-7", 7, 7),
    ],
)
def test_a_single_range_gives_206_with_exactly_those_bytes(
    media: Path, header: str, first: int, last: int
) -> None:
    response = get(media, Range=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Content-Type"] == "video/mp4" and response["Accept-Ranges"] == "bytes"
    assert body(response) == media.read_bytes()[first : last + 1]


@pytest.mark.parametrize("header", ["bytes=1000000-", "bytes=2000000-2000010", "bytes=-0"])
def test_an_unsatisfiable_range_gives_416_with_the_size(media: Path, header: str) -> None:
    response = get(media, Range=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    response.close()


@pytest.mark.parametrize(
    "header",
    ["", "bytes=0-9,20-29", "items=0-9", "bytes=abc", "bytes=9-0", "bytes=-"],
)
def test_no_several_or_nonsense_ranges_give_the_whole_file(media: Path, header: str) -> None:
    response = get(media, Range=header) if header else get(media)
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE) and response["Accept-Ranges"] == "bytes"
    assert "Content-Range" not in response and "Content-Disposition" not in response
    assert body(response) == media.read_bytes()


def test_validators_and_if_range(media: Path) -> None:
    first = get(media)
    etag, modified = first["ETag"], first["Last-Modified"]
    first.close()
    assert etag.startswith('"') and modified.endswith("GMT")
    unchanged = get(media, If_None_Match=etag)
    assert unchanged.status_code == 304 and body(unchanged) == b""
    assert get(media, If_Modified_Since=modified).status_code == 304
    # If-Range with the current ETag: the range is served
    fresh = get(media, Range="bytes=0-9", If_Range=etag)
    assert fresh.status_code == 206
    fresh.close()
    # the file changed since the client cached it: the whole new file, not a mixed-up piece
    media.write_bytes(b"x" * 10)
    os.utime(media, (1_900_000_000, 1_900_000_000))
    stale = get(media, Range="bytes=0-3", If_Range=etag)
    assert stale.status_code == 200 and body(stale) == b"x" * 10
    assert get(media, If_None_Match=etag).status_code == 200


def test_head_sends_headers_only(media: Path) -> None:
    whole = get(media, method="head")
    assert whole.status_code == 200 and whole["Content-Length"] == str(SIZE)
    assert body(whole) == b""
    part = get(media, method="head", Range="bytes=10-19")
    assert part.status_code == 206 and part["Content-Length"] == "10"
    assert body(part) == b""


def test_a_range_is_streamed_in_chunks_not_read_whole(
    media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranged_files, "CHUNK", 4096)
    response = get(media, Range="bytes=100-")
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]
    response.close()
    assert max(len(c) for c in chunks) == 4096 and len(chunks) > 200
    assert b"".join(chunks) == media.read_bytes()[100:]


def test_an_empty_file() -> None:
    assert parse_range("bytes=0-", 0) is False
    assert parse_range("bytes=-5", 0) is False
    assert parse_range(None, 0) is None
