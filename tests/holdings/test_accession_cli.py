"""`lantai accession list [--year Y] --json`: one JSON array of the accessions (checked from
outside, keep stable); usage errors are JSON too, exit 2."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from lantai.holdings import services as hs

from .conftest import Desk


def run(*args: str) -> Any:
    from lantai.cli import main
    from lantai.holdings.cli import accession

    if "accession" not in main.commands:  # until the lead registers the group
        main.add_command(accession)
    return CliRunner().invoke(main, ["accession", *args], catch_exceptions=False)


def test_list_json_prints_accessions_with_restrictions(desk: Desk) -> None:
    d = hs.create_donor(desk.archivist, {"kind": "organisation", "name": "乡村振兴工作队"})
    campaign = hs.create_campaign(desk.archivist, desk.repo, {"name": "重大活动档案接收"})
    hs.create_accession(
        desk.archivist,
        desk.repo,
        d,
        {"kind": "移交", "received_on": "2025-11-02", "item_count": 3800, "campaign": campaign,
         "event_name": "脱贫攻坚与乡村振兴", "event_starts_on": "2021-02-25",
         "forming_bodies": "乡村振兴工作队\n县农业农村局"},
    )  # fmt: skip
    hs.create_accession(
        desk.archivist, desk.repo, d,
        {"kind": "捐赠", "received_on": "2026-02-01", "item_count": 7,
         "restrictions": [{"scope": "reproduction", "until": "2030-12-31", "text": "不得复制"}]},
    )  # fmt: skip
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["number"], r["kind"], r["items"], r["campaign"]) for r in rows] == [
        ("ZJ-2025-0001", "移交", 3800, "重大活动档案接收"),
        ("ZJ-2026-0001", "捐赠", 7, None),
    ]
    assert rows[0]["event"] == {
        "name": "脱贫攻坚与乡村振兴", "starts_on": "2021-02-25", "ends_on": None,
        "forming_bodies": ["乡村振兴工作队", "县农业农村局"],
    }  # fmt: skip
    assert rows[1]["event"] is None
    assert rows[1]["donor"] == {"name": "乡村振兴工作队", "kind": "organisation"}
    assert rows[1]["received_on"] == "2026-02-01"
    assert rows[1]["restrictions"] == [
        {
            "scope": "reproduction",
            "until": "2030-12-31",
            "donor_lifetime": False,
            "text": "不得复制",
        }
    ]
    only_2025 = json.loads(run("list", "--year", "2025", "--json").output)
    assert [r["number"] for r in only_2025] == ["ZJ-2025-0001"]
    text = run("list").output
    assert "ZJ-2026-0001" in text and "限制1条" in text and "共2条征集登记" in text


def test_list_json_empty_and_bad_year(desk: Desk) -> None:
    result = run("list", "--json")
    assert result.exit_code == 0 and json.loads(result.output) == []
    bad = run("list", "--year", "二〇二六", "--json")
    assert bad.exit_code == 2
    error = json.loads(bad.output)
    assert error["ok"] is False and "--year" in error["error"]
