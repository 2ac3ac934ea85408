"""`lantai exhibition export SLUG --out DIR`: a static package of the PUBLISHED version with
relative links, watermarked images fetched through the public image service (no original file),
deep-zoom tiles, and a manifest with SHA-256 and SM3; refusals with exit 1 and JSON."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lantai.exhibits import exhibitions as ex

from .exhibition_fixtures import Hall, build, item, publish, set_open_status


def run(*args: str) -> Any:
    from lantai.cli import main
    from lantai.exhibits.cli import exhibition

    if "exhibition" not in main.commands:  # until the lead registers the group
        main.add_command(exhibition)
    return CliRunner().invoke(main, ["exhibition", *args], catch_exceptions=False)


def originals(hall: Hall) -> set[str]:
    return {c.sha256 for cs in hall.images.values() for c in cs}


def test_export_writes_a_package_without_any_original(hall: Hall, tmp_path: Path) -> None:
    exhibition = build(hall)
    ex.add_block(
        hall.users["curator"],
        exhibition,
        0,
        1,
        {"kind": "deepzoom", "items": [item(hall, alt="布告高清")]},
    )
    publish(hall, exhibition)
    ex.add_section(
        hall.users["curator"], exhibition, "草稿里新加的部分"
    )  # not in the published version
    out = tmp_path / "kiosk"
    result = run("export", "red-guangxi", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["ok"] and summary["pages"] == 2 and summary["version"] == 1
    from lantai.core.models import AuditEntry

    assert AuditEntry.objects.filter(
        action="exhibition_export", target_id=str(exhibition.pk)
    ).exists()
    index = (out / "index.html").read_text("utf-8")
    assert 'href="proclamation.html"' in index and "草稿里新加的部分" not in index
    page = (out / "notices.html").read_text("utf-8")
    assert 'rel="prev" href="proclamation.html"' in page and 'href="index.html"' in page
    for body in (index, page):
        assert not re.search(r'(src|href)="/', body), "absolute links in an offline package"
        for ref in re.findall(r'(?:src|href)="([^"#:]+)"', body):
            assert (out / ref).exists(), ref
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(listed) == on_disk
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and len(entry["sm3"]) == 64
    assert not originals(hall) & {f["sha256"] for f in listed.values()}  # no original file
    images = [n for n in listed if n.startswith("images/")]
    assert images and all((out / n).read_bytes()[:2] == b"\xff\xd8" for n in images)  # JPEGs
    osd = any(n.startswith("vendor/openseadragon/") for n in listed)
    if osd:  # deep zoom as static level-0 tiles OpenSeadragon can open from file://
        component = hall.images[hall.open_record.pk][0].pk
        info = json.loads((out / f"tiles/c{component}/info.json").read_text())
        assert info["profile"] == "level0" and info["width"] > 0
        assert (out / f"tiles/c{component}/info.js").exists()
        assert not [n for n in listed if n.startswith("tiles/") and f"tiles/c{component}/" not in n]


def test_export_refuses_unpublished_and_withdrawn(hall: Hall, tmp_path: Path) -> None:
    exhibition = build(hall)
    result = run("export", "red-guangxi", "--out", str(tmp_path / "a"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "ok": False,
        "error": "展览“红色广西——革命历史档案史料展”尚未发布，不能导出（只导出已发布的版本）",
    }
    publish(hall, exhibition)
    ex.withdraw(hall.users["publisher"], exhibition)
    result = run("export", "red-guangxi", "--out", str(tmp_path / "b"))
    assert result.exit_code == 1 and "已撤展" in result.output
    assert not (tmp_path / "b").exists()
    assert run("export", "nothing-here", "--out", str(tmp_path / "c"), "--json").exit_code == 1


def test_export_usage_errors_exit_2(hall: Hall) -> None:
    result = run("export", "red-guangxi", "--json")  # no --out
    assert result.exit_code == 2
    assert json.loads(result.output)["ok"] is False


def test_export_refuses_a_directory_that_is_not_empty(hall: Hall, tmp_path: Path) -> None:
    publish(hall, build(hall))
    (tmp_path / "keep.txt").write_text("mine")
    result = run("export", "red-guangxi", "--out", str(tmp_path), "--json")
    assert result.exit_code == 1 and "不为空" in json.loads(result.output)["error"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_leak_a_closed_record_is_gone_from_the_export_at_once(hall: Hall, tmp_path: Path) -> None:
    publish(hall, build(hall))
    set_open_status(hall.open_record, "未开放")
    out = tmp_path / "pkg"
    assert run("export", "red-guangxi", "--out", str(out)).exit_code == 0
    closed = {f"c{c.pk}-" for c in hall.images[hall.open_record.pk]}
    names = [p.name for p in out.rglob("*")]
    assert not [n for n in names if any(n.startswith(c) for c in closed)]
    text = "".join(p.read_text("utf-8") for p in out.glob("*.html"))
    assert "布告原件" not in text and "c" + str(hall.images[hall.other_record.pk][0].pk) in text
