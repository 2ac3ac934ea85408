"""The Chinese transfer layout: a generated transfer reads back exactly, in UTF-8 and GB18030;
hostile and broken metadata give the right failed check, quickly, never a crash."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest

from lantai.demo.transfer import make_transfer
from lantai.standards.transfer import cn_layout
from lantai.standards.transfer.detect import read_package

from .conftest import failed, read_only_snapshot


@pytest.fixture(scope="module")
def transfers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("transfers")
    return {
        "utf8": make_transfer(base / "utf8", 6, files_per_item=2),
        "gb18030": make_transfer(base / "gb", 5, encoding="GB18030", digest="SHA-256"),
    }


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


@pytest.mark.parametrize("name", ["utf8", "gb18030"])
def test_generated_transfer_reads_back(
    transfers: dict[str, Path], name: str, tmp_path: Path
) -> None:
    root = transfers[name]
    before = read_only_snapshot(root)
    pkg = read_package(root, tmp_path / "x")
    assert read_only_snapshot(root) == before
    assert pkg.kind == "cn-layout"
    assert failed(pkg) == [] and [r for r in pkg.results if r.status == "warn"] == []
    n_items, per_item = (6, 2) if name == "utf8" else (5, 1)
    assert len(pkg.items) == n_items
    first = pkg.items[0]
    assert first.fields["档号"] == "Z109-WS·2020-Y-BGS-0001"
    assert first.fields["保管期限"] == "永久" and first.fields["日期"].startswith("2020")
    assert "通知" in first.fields["题名"] or "报告" in first.fields["题名"] or first.fields["题名"]
    assert all(len(i.files) == per_item for i in pkg.items)
    content = {f.path: f.size for f in pkg.files if f.path.startswith("电子档案/")}
    assert sorted(p for i in pkg.items for p in i.files) == sorted(content)
    assert pkg.register.item_count == n_items
    assert pkg.register.byte_count == sum(content.values())
    assert pkg.register.fields["移交单位"] == "岭南省人民政府办公厅"
    algorithm = "sm3" if name == "utf8" else "sha256"
    assert {d.path for d in pkg.declared} == set(content)
    for d in pkg.declared:
        assert d.algorithm == algorithm and d.source == "其他/移交登记表.XML"
        assert d.value == hashlib.new(algorithm, (root / d.path).read_bytes()).hexdigest()
    assert "移交单位" in pkg.description
    if name == "gb18030":
        assert "说明文件.TXT 按 GB18030 解码" in pkg.notes
        assert "文件目录.XML 按 GB18030 解码" in pkg.notes
    assert "按 文件目录.XML 读取" in pkg.notes


def test_case_variants_and_volume_catalogue(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    (root / "文件目录.XML").rename(root / "案卷目录.xml")
    (root / "其他" / "移交登记表.XML").rename(root / "其他" / "移交登记表.xml")
    pkg = cn_layout.read(root)
    assert failed(pkg) == []
    assert len(pkg.items) == 6 and pkg.register.item_count == 6
    assert "按 案卷目录.xml 读取" in pkg.notes


def _replace(path: Path, old: str, new: str, encoding: str = "utf-8") -> None:
    text = path.read_text(encoding=encoding)
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding=encoding)


def test_not_well_formed_catalogue(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    _replace(root / "文件目录.XML", "</题名>", "</题目>")
    pkg = read_package(root, tmp_path / "x")
    [bad] = failed(pkg, "3-1")
    assert bad.object == "文件目录.XML" and bad.property == "usability"
    assert bad.evidence["line"] > 1 and "XML 格式不正确" in bad.evidence["reason"]
    assert pkg.items == []
    assert pkg.register.item_count == 6  # the register is still read


def test_gb18030_bytes_declared_utf8(tmp_path: Path) -> None:
    root = make_transfer(tmp_path / "t", 3, encoding="GB18030")
    cat = root / "文件目录.XML"
    cat.write_bytes(cat.read_bytes().replace(b'encoding="GB18030"', b'encoding="UTF-8"'))
    pkg = read_package(root, tmp_path / "x")
    [bad] = failed(pkg, "3-1")
    assert bad.object == "文件目录.XML"
    assert bad.evidence["declared_encoding"] == "UTF-8"
    assert bad.evidence["line"] >= 2 and bad.evidence["byte_offset"] > 0
    assert "UTF-8" in bad.evidence["reason"]


def test_gb2312_declaration_is_read_as_gb18030(tmp_path: Path) -> None:
    root = make_transfer(tmp_path / "t", 2, encoding="GB2312")
    pkg = read_package(root, tmp_path / "x")
    assert failed(pkg) == []
    assert pkg.items[1].fields["责任者"].startswith("岭南省")
    assert any("GB2312" in n and "GB18030" in n for n in pkg.notes)


def test_entity_expansion_bomb_is_refused_quickly(
    transfers: dict[str, Path], tmp_path: Path
) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    lol = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 12)
    ]
    bomb = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE 文件目录 [\n'
        + "\n".join(lol)
        + "\n]>\n<文件目录><文件><题名>&lol11;</题名></文件></文件目录>\n"
    )
    (root / "文件目录.XML").write_text(bomb, encoding="utf-8")
    start = time.monotonic()
    pkg = read_package(root, tmp_path / "x")
    assert time.monotonic() - start < 10  # generous: expanded it would never finish
    [bad] = failed(pkg, "3-1")
    assert "实体" in bad.evidence["reason"] and bad.object == "文件目录.XML"
    assert pkg.items == []


def test_external_entity_is_not_fetched(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE 文件目录 [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        "<文件目录><文件><题名>&x;</题名></文件></文件目录>\n"
    )
    (root / "文件目录.XML").write_text(xxe, encoding="utf-8")
    pkg = read_package(root, tmp_path / "x")
    assert failed(pkg, "3-1")
    assert all("TOP-SECRET" not in v for i in pkg.items for v in i.fields.values())


def test_missing_register(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    (root / "其他" / "移交登记表.XML").unlink()
    pkg = read_package(root, tmp_path / "x")
    [bad] = failed(pkg)
    assert bad.content_code == "1-5" and bad.object == "其他/移交登记表.XML"
    assert "移交登记表" in bad.evidence["reason"]
    assert pkg.register.item_count is None and pkg.declared == []
    assert len(pkg.items) == 6


def test_unknown_digest_algorithm(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    _replace(
        root / "其他" / "移交登记表.XML", "<摘要算法>SM3</摘要算法>", "<摘要算法>CRC32</摘要算法>"
    )
    pkg = read_package(root, tmp_path / "x")
    [bad] = failed(pkg)
    assert bad.content_code == "1-1" and bad.property == "authenticity"
    assert "CRC32" in bad.evidence["reason"]
    assert pkg.declared == []


def test_malformed_digest_value_and_unsafe_paths(
    transfers: dict[str, Path], tmp_path: Path
) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    reg = root / "其他" / "移交登记表.XML"
    text = reg.read_text(encoding="utf-8")
    first = text.index("<数字摘要")
    end = text.index("</数字摘要>", first)
    text = text[: end - 3] + "xyz" + text[end:]  # not hex any more
    reg.write_text(text, encoding="utf-8")
    _replace(
        root / "文件目录.XML",
        "<电子档案名称>电子档案/2020/WS/Z109-WS·2020-Y-BGS-0002-01.tif",
        "<电子档案名称>../../etc/passwd",
    )
    pkg = read_package(root, tmp_path / "x")
    fixity = failed(pkg, "1-1")
    assert [r.object for r in fixity] == ["电子档案/2020/WS/Z109-WS·2020-Y-BGS-0001-01.pdf"]
    assert len(pkg.declared) == 11
    [loc] = failed(pkg, "1-4")
    assert "../../etc/passwd" in loc.evidence["found"]
    assert all(".." not in p for i in pkg.items for p in i.files)


def test_register_bytes_in_gb_with_tolerance(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    pkg0 = cn_layout.read(root)
    _replace(
        root / "其他" / "移交登记表.XML",
        f"<移交数据量>{pkg0.register.byte_count}<",
        "<移交数据量>0.001 GB<",
    )
    pkg = cn_layout.read(root)
    assert pkg.register.byte_count == int(0.001 * 1024**3)
    assert pkg.register.byte_count_tolerance == 1024**3 // 2000
    assert any("GB" in n for n in pkg.notes)


def test_missing_catalogue_and_description(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    (root / "文件目录.XML").unlink()
    (root / "说明文件.TXT").unlink()
    pkg = read_package(root, tmp_path / "x")
    objects = {r.object for r in failed(pkg, "1-5")}
    assert objects == {"文件目录.XML", "说明文件.TXT"}


def test_symlink_is_not_followed(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    (root / "电子档案" / "link.pdf").symlink_to("/etc/passwd")
    pkg = read_package(root, tmp_path / "x")
    [bad] = failed(pkg)
    assert bad.content_code == "4-2" and bad.object == "电子档案/link.pdf"
    assert "电子档案/link.pdf" not in {f.path for f in pkg.files}


def test_undeclared_gb18030_is_read_with_a_warning(tmp_path: Path) -> None:
    root = make_transfer(tmp_path / "t", 2, encoding="GB18030")
    cat = root / "文件目录.XML"
    cat.write_bytes(cat.read_bytes().replace(b'<?xml version="1.0" encoding="GB18030"?>\n', b""))
    pkg = read_package(root, tmp_path / "x")
    assert failed(pkg) == []
    [warn] = [r for r in pkg.results if r.status == "warn"]
    assert warn.content_code == "3-1" and warn.object == "文件目录.XML"
    assert pkg.items[0].fields["档号"] == "Z109-WS·2020-Y-BGS-0001"


def test_bom_and_bare_file_names(transfers: dict[str, Path], tmp_path: Path) -> None:
    root = _copy(transfers["utf8"], tmp_path / "t")
    cat = root / "文件目录.XML"
    text = cat.read_text(encoding="utf-8").replace("<电子档案名称>电子档案/", "<电子档案名称>")
    cat.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    pkg = read_package(root, tmp_path / "x")
    assert failed(pkg) == []
    assert pkg.items[0].files[0] == "电子档案/2020/WS/Z109-WS·2020-Y-BGS-0001-01.pdf"
    assert any("电子档案/ 下的相对路径" in n for n in pkg.notes)


def test_chinese_layout_inside_a_bag(transfers: dict[str, Path], tmp_path: Path) -> None:
    import bagit

    root = _copy(transfers["gb18030"], tmp_path / "bag")
    bagit.make_bag(str(root), {"Source-Organization": "岭南省人民政府办公厅"}, checksums=["sha256"])
    pkg = read_package(root, tmp_path / "x")
    assert pkg.kind == "bagit" and failed(pkg) == []
    assert len(pkg.items) == 5
    assert pkg.items[0].files[0].startswith("data/电子档案/")
    assert pkg.register.item_count == 5 and pkg.register.source == "data/其他/移交登记表.XML"
    assert pkg.register.fields["bag-info:Source-Organization"] == "岭南省人民政府办公厅"
    sources = {d.source for d in pkg.declared}
    assert {"manifest-sha256.txt", "data/其他/移交登记表.XML"} <= sources
