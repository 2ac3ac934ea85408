"""Where each file of a scanning batch belongs (DA/T 31 names, item folders, multipage files,
manifests) and what cannot be placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lantai.digitization import layout

CODES = {"0001-WS·2024-Y-BGS-0001", "0001-WS·2024-Y-BGS-0002", "0001-WS·2024-Y-BGS-0003-0003"}


def existing(codes: set[str]) -> set[str]:
    return codes & CODES


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def placed(result: layout.Layout) -> dict[str, tuple[str, int | None, str, str]]:
    return {p.source: (p.reference_code, p.number, p.how, p.problem) for p in result.placements}


def test_names_folders_and_multipage_files_are_placed(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "0001-WS·2024-Y-BGS-0001-0001.jpg",
        "0001-WS·2024-Y-BGS-0001-002.tif",
        "0001-WS·2024-Y-BGS-0002/0001.png",
        "0001-WS·2024-Y-BGS-0002/0001-WS·2024-Y-BGS-0002-0002.jp2",
        "0001-WS·2024-Y-BGS-0003-0003.pdf",  # a 件 whose 档号 ends in a number: the whole item
        "sub/0001-WS·2024-Y-BGS-0003-0003-0004.tiff",
        ".DS_Store",
        "Thumbs.db",
    )
    got = placed(layout.read_layout(tmp_path, existing))
    assert got == {
        "0001-WS·2024-Y-BGS-0001-0001.jpg": ("0001-WS·2024-Y-BGS-0001", 1, "name", ""),
        "0001-WS·2024-Y-BGS-0001-002.tif": ("0001-WS·2024-Y-BGS-0001", 2, "name", ""),
        "0001-WS·2024-Y-BGS-0002/0001.png": ("0001-WS·2024-Y-BGS-0002", 1, "folder", ""),
        "0001-WS·2024-Y-BGS-0002/0001-WS·2024-Y-BGS-0002-0002.jp2": (
            "0001-WS·2024-Y-BGS-0002",
            2,
            "folder",
            "",
        ),
        "0001-WS·2024-Y-BGS-0003-0003.pdf": ("0001-WS·2024-Y-BGS-0003-0003", None, "name", ""),
        "sub/0001-WS·2024-Y-BGS-0003-0003-0004.tiff": (
            "0001-WS·2024-Y-BGS-0003-0003",
            4,
            "name",
            "",
        ),
    }


def test_files_that_cannot_be_placed_say_why(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "scan0001.jpg",  # no 档号
        "0001-WS·2024-Y-BGS-0002/page-one.jpg",  # in an item folder, not a page number
        "0001-WS·2024-Y-BGS-0001-0001.bmp",  # not a page format
        "0009-WS·2024-Y-BGS-9999-0001.jpg",  # a 档号 the catalogue does not have: placed, unmatched later
        "0009-WS·2024-Y-BGS-9999.mp4",
    )
    got = placed(layout.read_layout(tmp_path, existing))
    assert got["scan0001.jpg"][3] == "naming"
    assert got["0001-WS·2024-Y-BGS-0002/page-one.jpg"][3] == "naming"
    assert got["0001-WS·2024-Y-BGS-0001-0001.bmp"][3] == "file_format"
    assert got["0009-WS·2024-Y-BGS-9999-0001.jpg"] == ("0009-WS·2024-Y-BGS-9999", 1, "name", "")
    assert got["0009-WS·2024-Y-BGS-9999.mp4"][3] == "catalogue_link"
    messages = [
        p.message_zh for p in layout.read_layout(tmp_path, existing).placements if p.problem
    ]
    assert all("“" in m for m in messages)  # each names its file


def test_a_manifest_places_the_files_it_lists(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.jpg", "images/b.jpg", "images/c.jpg")
    (tmp_path / "清单.csv").write_text(
        "档号,文件,页号\n"
        "0001-WS·2024-Y-BGS-0001,images/a.jpg,2\n"
        "0001-WS·2024-Y-BGS-0001,images/b.jpg,1\n"
        "0001-WS·2024-Y-BGS-0002,images/missing.jpg,1\n",
        encoding="gb18030",
    )
    result = layout.read_layout(tmp_path, existing)
    got = placed(result)
    assert result.manifest == "清单.csv"
    assert got["images/a.jpg"] == ("0001-WS·2024-Y-BGS-0001", 2, "manifest", "")
    assert got["images/b.jpg"] == ("0001-WS·2024-Y-BGS-0001", 1, "manifest", "")
    assert got["images/c.jpg"][3] == "naming"  # not listed, not named by a 档号
    assert result.missing == [(4, "0001-WS·2024-Y-BGS-0002", "images/missing.jpg")]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("题名,日期\nx,y\n", "档号"),  # no manifest header
        ("档号,文件,页号\n0001-WS·2024-Y-BGS-0001,a.jpg,二\n", "不是数字"),
        ("档号,文件,页号\n0001-WS·2024-Y-BGS-0001,a.jpg,0\n", "页号"),
        (
            "档号,文件,页号\n0001-WS·2024-Y-BGS-0001,a.jpg,1\n0001-WS·2024-Y-BGS-0001,a.jpg,2\n",
            "已在前面",
        ),
        ("档号,文件,页号\n,a.jpg,1\n", "缺少档号"),
    ],
)
def test_a_bad_manifest_stops_the_batch_with_the_row(
    tmp_path: Path, content: str, needle: str
) -> None:
    touch(tmp_path, "a.jpg")
    (tmp_path / "manifest.csv").write_text(content, encoding="utf-8")
    with pytest.raises(layout.LayoutError) as e:
        layout.read_layout(tmp_path, existing)
    assert needle in e.value.message_zh and "manifest.csv" in e.value.message_zh


def test_two_manifests_and_a_missing_folder_are_refused(tmp_path: Path) -> None:
    touch(tmp_path, "a.csv", "b.xlsx")
    with pytest.raises(layout.LayoutError, match="多个清单"):
        layout.read_layout(tmp_path, existing)
    with pytest.raises(layout.LayoutError, match="不存在"):
        layout.read_layout(tmp_path / "nope", existing)


def test_links_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside, "0001-WS·2024-Y-BGS-0001-0001.jpg")
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "0001-WS·2024-Y-BGS-0001-0001.jpg").symlink_to(
        outside / "0001-WS·2024-Y-BGS-0001-0001.jpg"
    )
    (batch / "dir").symlink_to(outside, target_is_directory=True)
    result = layout.read_layout(batch, existing)
    assert result.placements == []
    assert result.links == ["0001-WS·2024-Y-BGS-0001-0001.jpg", "dir"]  # listed, not read


def test_an_empty_folder_named_by_a_record_is_listed(tmp_path: Path) -> None:
    (tmp_path / "0001-WS·2024-Y-BGS-0002").mkdir()
    (tmp_path / "not-a-code").mkdir()
    assert layout.read_layout(tmp_path, existing).empty == ["0001-WS·2024-Y-BGS-0002"]
