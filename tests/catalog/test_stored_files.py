"""Content-addressed working copies (catalog.components.store_chunks): the same content is stored
once, and a stored copy that no longer holds its content is not reused for a new upload."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from lantai.catalog.components import store_chunks


def test_the_same_content_is_stored_once_and_a_damaged_copy_is_replaced() -> None:
    content = "兰台：同一内容只保存一份。".encode() * 100
    first = store_chunks(iter([content]))
    path = Path(settings.MEDIA_ROOT) / first.relative
    assert path.read_bytes() == content
    inode = path.stat().st_ino
    again = store_chunks(iter([content]))
    assert again.relative == first.relative and path.stat().st_ino == inode  # kept as it was
    damaged = bytearray(content)
    damaged[10] ^= 0xFF  # one flipped bit, same size: what disk damage looks like
    path.write_bytes(bytes(damaged))
    third = store_chunks(iter([content]))
    assert third.relative == first.relative and path.read_bytes() == content
