"""DA/T 48-2009 EEP packages: items from 文件实体, contents decoded from base64; broken
ones fail."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from lantai.demo.transfer import eep_document, make_eep_transfer
from lantai.standards.transfer import eep
from lantai.standards.transfer.detect import read_package

from .conftest import failed as all_failed
from .conftest import read_only_snapshot


def failed(pkg: Any, content_code: str | None = None) -> list[Any]:
    """The failures other than "no signature": the demo writer does not sign (the signature
    tests are in test_eep_signature.py)."""
    return [r for r in all_failed(pkg, content_code) if r.evidence.get("signatures") != 0]


def test_two_documents(tmp_path: Path) -> None:
    root = make_eep_transfer(tmp_path / "in", 2)
    before = read_only_snapshot(root)
    pkg = read_package(root, tmp_path / "out")
    assert read_only_snapshot(root) == before
    assert pkg.kind == "eep" and failed(pkg) == []
    assert len(pkg.items) == 2 and len(pkg.metadata_files) == 2
    item = pkg.items[1]
    assert item.fields["电子文件号"] == "Z109-WS·2020-Y-BGS-0002"
    assert item.fields["全宗号"] == "Z109" and item.fields["室编件号"] == "0002"
    assert item.fields["保管期限"] == "永久" and item.fields["密级"] == "公开"
    assert item.fields["题名"] and item.fields["责任者"] == "岭南省人民政府办公厅"
    assert "计算机文件名" not in item.fields  # file attributes are per file, not per item
    assert len(item.files) == 2
    for rel in item.files:
        data = pkg.path_of(rel).read_bytes()
        attrs = pkg.declared_attributes[rel]
        assert int(attrs["计算机文件大小"]) == len(data)
        assert rel.endswith(attrs["计算机文件名"])
    pdf = pkg.path_of(item.files[0]).read_bytes()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert pkg.declared_attributes[item.files[0]]["格式信息"] == "PDF"
    assert {f.path for f in pkg.files} == {p for i in pkg.items for p in i.files}
    assert (tmp_path / "out") == pkg.content_root
    assert {f.path for f in pkg.package_files} == {
        "Z109-WS·2020-Y-BGS-0001.xml",
        "Z109-WS·2020-Y-BGS-0002.xml",
    }


def test_one_file_with_two_entities_and_no_namespace(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    a = eep_document(
        code="Z109-WS·2020-Y-BGS-0001",
        title="甲",
        files=[("a.pdf", b"%PDF-1.4 a")],
        namespace=False,
    )
    b = eep_document(code="Z109-WS·2020-Y-BGS-0002", title="乙", files=[("b.txt", b"bbb")])
    entity_b = b[b.index("<文件实体>") : b.index("</文件实体>") + len("</文件实体>")]
    merged = a.replace("</文件实体>", "</文件实体>\n" + entity_b, 1)
    (root / "包.xml").write_text(merged, encoding="utf-8")
    pkg = eep.read(root, tmp_path / "out")
    assert failed(pkg) == []
    assert [i.fields["题名"] for i in pkg.items] == ["甲", "乙"]
    assert pkg.path_of(pkg.items[1].files[0]).read_bytes() == b"bbb"
    assert any("未使用 DA/T 48 命名空间" in n for n in pkg.notes)


def test_invalid_base64_is_a_failed_check(tmp_path: Path) -> None:
    root = make_eep_transfer(tmp_path / "in", 2)
    victim = root / "Z109-WS·2020-Y-BGS-0002.xml"
    text = victim.read_text(encoding="utf-8")
    start = text.index('<编码数据 编码数据ID="C1">') + len('<编码数据 编码数据ID="C1">')
    victim.write_text(text[:start] + "@@not*base64!!" + text[start:], encoding="utf-8")
    pkg = read_package(root, tmp_path / "out")
    [bad] = failed(pkg)
    assert bad.content_code == "3-2" and bad.object == victim.name
    assert "base64" in bad.evidence["reason"]
    assert bad.evidence["file"] == "Z109-WS·2020-Y-BGS-0002.pdf"
    # the other file of that item and the other item are still read
    assert len(pkg.items) == 2 and len(pkg.items[1].files) == 1
    assert len(pkg.files) == 3


def test_eep_missing_required_elements(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    text = eep_document(code="X", title="t", files=[("a.pdf", b"x")])
    text = text.replace("<版本>2009</版本>", "")
    (root / "a.xml").write_text(text, encoding="utf-8")
    pkg = eep.read(root, tmp_path / "out")
    [bad] = failed(pkg)
    assert bad.content_code == "1-5" and bad.evidence["missing"] == ["版本"]


def test_broken_eep_xml(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    text = eep_document(code="X", title="t", files=[("a.pdf", b"x")])
    (root / "a.xml").write_text(text.replace("</题名>", "", 1), encoding="utf-8")
    pkg = read_package(root, tmp_path / "out")
    assert pkg.kind == "eep"
    [bad] = failed(pkg)
    assert bad.content_code == "3-1" and bad.object == "a.xml"


def test_decoded_content_matches(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 50
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.xml").write_text(
        eep_document(code="X", title="t", files=[("../../evil.bin", payload)]), encoding="utf-8"
    )
    pkg = eep.read(root, tmp_path / "out")
    [path] = pkg.items[0].files
    assert ".." not in path and path.endswith("evil.bin")
    assert (tmp_path / "out" / path).resolve().is_relative_to((tmp_path / "out").resolve())
    assert (
        hashlib.sha256(pkg.path_of(path).read_bytes()).digest() == hashlib.sha256(payload).digest()
    )
