"""The demo transfer generator: deterministic, valid files, consistent metadata."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from lantai.demo.transfer import make_transfer
from lantai.standards.transfer import cn_layout


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_deterministic(tmp_path: Path) -> None:
    a = make_transfer(tmp_path / "a", 5, seed=7, files_per_item=2)
    b = make_transfer(tmp_path / "b", 5, seed=7, files_per_item=2)
    c = make_transfer(tmp_path / "c", 5, seed=8, files_per_item=2)
    assert _digest_tree(a) == _digest_tree(b)
    assert _digest_tree(a) != _digest_tree(c)


def test_files_are_real_and_distinct(tmp_path: Path) -> None:
    root = make_transfer(tmp_path / "t", 8, size_kb=20)
    files = sorted((root / "电子档案").rglob("*.*"))
    assert {p.suffix for p in files} == {".pdf", ".jpg", ".tif", ".xml"}
    assert len({hashlib.sha256(p.read_bytes()).digest() for p in files}) == len(files)
    for p in files:
        assert 10 * 1024 < p.stat().st_size < 40 * 1024, p
        if p.suffix == ".pdf":
            with pikepdf.open(p) as pdf:
                assert len(pdf.pages) == 1
        elif p.suffix in (".jpg", ".tif"):
            with Image.open(p) as im:
                im.load()
                assert im.format == {".jpg": "JPEG", ".tif": "TIFF"}[p.suffix]


def test_codes_and_register(tmp_path: Path) -> None:
    root = make_transfer(
        tmp_path / "t", 12, fonds="X013", year=2019, retention="D30", org="RSC", digest="MD5"
    )
    pkg = cn_layout.read(root)
    codes = [i.fields["档号"] for i in pkg.items]
    assert codes[0] == "X013-WS·2019-D30-RSC-0001" and codes[-1] == "X013-WS·2019-D30-RSC-0012"
    assert [i.fields["日期"] for i in pkg.items] == sorted(i.fields["日期"] for i in pkg.items)
    assert pkg.items[0].fields["保管期限"] == "定期30年"
    assert pkg.register.fields["摘要算法"] == "MD5"
    assert {d.algorithm for d in pkg.declared} == {"md5"}


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_transfer(tmp_path / "a", 1, kinds=("doc",))
    with pytest.raises(ValueError):
        make_transfer(tmp_path / "b", 1, digest="CRC32")
    make_transfer(tmp_path / "c", 1)
    with pytest.raises(FileExistsError):
        make_transfer(tmp_path / "c", 1)
