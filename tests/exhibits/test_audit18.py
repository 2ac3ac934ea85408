"""AUDIT-18: defects found by auditing issue 18 from outside (exhibitions and databases).

Each test is marked xfail(strict=True) with the defect it proves; the fix removes the mark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client

from lantai.exhibits import exhibitions as ex

from .exhibition_fixtures import Hall, build, publish, set_open_status


def _run(*args: str) -> Any:
    from lantai.cli import main
    from lantai.exhibits.cli import exhibition

    if "exhibition" not in main.commands:
        main.add_command(exhibition)
    return CliRunner().invoke(main, ["exhibition", *args])


def _add_record_bound_blocks(hall: Hall, exhibition: Any) -> None:
    """A timeline event and a map place tied to the open record, each naming it (as the demo's
    exhibitions do: title and 档号 of the record in the event)."""
    user = hall.users["curator"]
    record = hall.open_record
    ex.add_block(
        user, exhibition, 0, 1,
        {"kind": "timeline", "heading": "大事记", "events": [
            {"date": "1949-10-01", "title": record.title,
             "text": f"档号 {record.reference_code}", "record": record.pk},
            {"date": "1949-10-02", "title": hall.other_record.title,
             "text": "通告", "record": hall.other_record.pk},
        ]},
    )  # fmt: skip
    ex.add_block(
        user, exhibition, 0, 1,
        {"kind": "map", "heading": "地点", "places": [
            {"place": "南宁", "label": f"{record.title}（南宁）", "record": record.pk},
            {"place": "桂林", "label": "桂林", "record": hall.other_record.pk},
        ]},
    )  # fmt: skip


@pytest.mark.xfail(
    strict=True,
    reason="AUDIT-18 HIGH: quote/timeline/map content tied to a closed record stays public "
    "(title and 档号 of the closed record on the exhibition page)",
)
def test_leak_record_bound_quote_timeline_and_map_leave_when_the_record_closes(
    hall: Hall, client: Client
) -> None:
    exhibition = build(hall)  # its notices page has a quote tied to the open record
    _add_record_bound_blocks(hall, exhibition)
    exhibition.refresh_from_db()
    publish(hall, exhibition)
    page = "/public/exhibitions/red-guangxi/notices/"
    before = client.get(page).content.decode()
    record = hall.open_record
    assert "人民解放军所到之处" in before and record.reference_code in before

    set_open_status(record, "未开放")

    after = client.get(page).content.decode()
    assert "桂林" in after  # what belongs to the record still open stays
    assert record.reference_code not in after  # the timeline event naming the closed record
    assert f"{record.title}（南宁）" not in after  # the map place tied to it
    assert "人民解放军所到之处" not in after  # the quotation from it


@pytest.mark.xfail(
    strict=True,
    reason="AUDIT-18 HIGH: the static export keeps timeline/quote text of a record closed "
    "after publication",
)
def test_leak_export_drops_record_bound_timeline_of_a_closed_record(
    hall: Hall, tmp_path: Path
) -> None:
    exhibition = build(hall)
    _add_record_bound_blocks(hall, exhibition)
    exhibition.refresh_from_db()
    publish(hall, exhibition)
    set_open_status(hall.open_record, "未开放")
    result = _run("export", "red-guangxi", "--out", str(tmp_path / "pkg"), "--json")
    assert result.exit_code == 0, result.output
    text = "".join(p.read_text("utf-8") for p in (tmp_path / "pkg").glob("*.html"))
    assert hall.open_record.reference_code not in text
    assert "人民解放军所到之处" not in text


@pytest.mark.xfail(
    strict=True,
    reason="AUDIT-18 MED: export to a directory that cannot be created ends in a traceback and "
    "'意外错误' (exit 3) instead of a clear message naming the directory",
)
def test_export_to_a_directory_that_cannot_be_made_says_so(hall: Hall, tmp_path: Path) -> None:
    publish(hall, build(hall))
    blocker = tmp_path / "a-file.txt"
    blocker.write_text("not a directory")
    target = blocker / "pkg"
    result = _run("export", "red-guangxi", "--out", str(target), "--json")
    answer = json.loads(result.stdout)
    assert result.exit_code == 1, result.output
    assert answer["ok"] is False and str(target) in answer["error"]
    assert "意外错误" not in answer["error"] and "Traceback" not in result.output
