"""Volumes (案卷) and the documents inside them (卷内文件), and the two-process validation path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lantai.catalog import importing, services
from lantai.catalog.models import Category, Record
from tests.catalog.test_import import BAD, GOOD, write

VOLUMES = "档号,责任者,案卷题名,年度,保管期限,密级\n" + "\n".join(
    f"Z109-RS·2011-Y-{n:03d},人事处,2011年干部任免材料（第{n}卷）,2011,永久,公开" for n in (1, 2)
)
ITEMS = "档号,责任者,题名,日期,密级\n" + "\n".join(
    [
        "Z109-RS·2011-Y-001-001,人事处,关于张三同志任职的通知,20110301,公开",
        "Z109-RS·2011-Y-001-002,人事处,关于李四同志任职的通知,20110302,公开",
        "Z109-RS·2011-Y-002-001,人事处,关于王五同志免职的通知,20110401,公开",
        "Z109-RS·2011-Y-009-001,人事处,案卷不存在的卷内文件,20110402,公开",
    ]
)


@pytest.fixture
def rs(ws: Category) -> Category:
    return services.create_category(ws.fonds, "RS")  # 人事: arranged by volume (DA/T 13 data)


def test_volume_category_imports_volumes_and_links_their_documents(
    rs: Category, tmp_path: Path
) -> None:
    assert (rs.arrangement, rs.code_rule, rs.volume_item_rule) == (
        "volume",
        "volume-ws",
        "volume-item-ws",
    )
    (tmp_path / "v.csv").write_text(VOLUMES, encoding="utf-8")
    assert importing.import_file(tmp_path / "v.csv", rs).rows_imported == 2
    assert set(Record.objects.values_list("level", flat=True)) == {"volume"}

    (tmp_path / "i.csv").write_text(ITEMS, encoding="utf-8")
    result = importing.import_file(
        tmp_path / "i.csv", rs, level="volume_item", valid_rows_only=True
    )
    assert (result.rows_imported, result.rows_rejected) == (3, 1)
    assert result.errors[0].rule == "parent" and "Z109-RS·2011-Y-009" in result.errors[0].message
    volume = Record.objects.get(reference_code="Z109-RS·2011-Y-001")
    assert sorted(volume.children.values_list("reference_code", flat=True)) == [
        "Z109-RS·2011-Y-001-001",
        "Z109-RS·2011-Y-001-002",
    ]
    # the browse list shows the volumes; their documents show inside them
    rows, _ = services.browse(None, category=rs)
    assert [r.reference_code for r in rows] == ["Z109-RS·2011-Y-001", "Z109-RS·2011-Y-002"]


def test_an_item_code_is_refused_in_a_volume_list(rs: Category, tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text(VOLUMES.replace("Y-001", "Y-BGS-0001"), encoding="utf-8")
    result = importing.import_file(tmp_path / "v.csv", rs)
    assert result.status == "rejected" and result.errors[0].rule == "code_rule"


def _outcome(result: importing.ImportResult) -> tuple[Any, ...]:
    return (
        result.status,
        result.rows_total,
        result.rows_imported,
        result.rows_rejected,
        [(e.row, e.column, e.rule, e.value) for e in result.errors],
    )


@pytest.mark.parametrize("lines", [GOOD, BAD], ids=["good", "bad"])
def test_second_process_gives_the_same_result(
    ws: Category, tmp_path: Path, settings: Any, lines: list[str]
) -> None:
    settings.IMPORT_PARALLEL_BYTES = 10**12
    inline = _outcome(
        importing.import_file(write(tmp_path, lines, name="a.csv"), ws, valid_rows_only=True)
    )
    codes = sorted(Record.objects.values_list("reference_code", flat=True))
    Record.objects.all().delete()
    settings.IMPORT_PARALLEL_BYTES = 0  # every file goes through the forked validator
    forked = _outcome(
        importing.import_file(write(tmp_path, lines, name="b.csv"), ws, valid_rows_only=True)
    )
    assert forked == inline
    assert sorted(Record.objects.values_list("reference_code", flat=True)) == codes


def test_second_process_reports_an_encoding_break_as_unreadable(
    ws: Category, tmp_path: Path, settings: Any
) -> None:
    settings.IMPORT_PARALLEL_BYTES = 0
    path = tmp_path / "mixed.csv"
    good = (
        "\n".join(
            ["档号,责任者,题名"]
            + [f"Z109-WS·2011-Y-BGS-{i:04d},办公厅,第{i}号文件" for i in range(1, 6000)]
        )
        + "\n"
    ).encode()
    path.write_bytes(good + "Z109-WS·2011-Y-BGS-9999,办公厅,".encode() + b"\xff\xfe\n")
    with pytest.raises(importing.FileUnreadable, match="编码"):
        importing.import_file(path, ws)
    assert Record.objects.count() == 0
