"""Choosing the reader, and the failed 1-5 check for a layout nobody can read."""

from __future__ import annotations

from pathlib import Path

from lantai.demo.transfer import make_eep_transfer, make_transfer
from lantai.standards.transfer.detect import detect_kind, read_package

from .conftest import failed


def test_detects_each_layout(tmp_path: Path) -> None:
    cn = make_transfer(tmp_path / "cn", 2)
    ep = make_eep_transfer(tmp_path / "eep", 1)
    assert detect_kind(cn) == "cn-layout"
    assert detect_kind(ep) == "eep"
    suite = Path("/work/shared/corpora/bagit-conformance-suite/v1.0/valid/basicBag")
    if suite.is_dir():
        assert detect_kind(suite) == "bagit"


def test_wrapped_in_a_top_folder(tmp_path: Path) -> None:
    make_transfer(tmp_path / "outer" / "某单位2020年移交", 2)
    pkg = read_package(tmp_path / "outer", tmp_path / "x")
    assert pkg.kind == "cn-layout" and failed(pkg) == []
    assert pkg.root == tmp_path / "outer" / "某单位2020年移交"
    assert "某单位2020年移交" in pkg.notes[0]


def test_eep_files_inside_the_chinese_layout(tmp_path: Path) -> None:
    root = tmp_path / "t"
    make_eep_transfer(root / "电子档案", 2)
    pkg = read_package(root, tmp_path / "x")
    assert pkg.kind == "eep" and len(pkg.items) == 2


def test_unrecognised_layout(tmp_path: Path) -> None:
    root = tmp_path / "junk"
    root.mkdir()
    (root / "readme.txt").write_text("hello", encoding="utf-8")
    (root / "notes.xml").write_text("<a/>", encoding="utf-8")
    pkg = read_package(root, tmp_path / "x")
    [bad] = failed(pkg)
    assert pkg.kind == "unknown"
    assert bad.content_code == "1-5" and bad.property == "authenticity"
    assert "无法识别信息包结构" in bad.evidence["reason"]
    assert {f.path for f in pkg.files} == {"readme.txt", "notes.xml"}
