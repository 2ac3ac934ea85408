"""`lantai appraisal due [--date D] [--json]`: the records whose retention has run out, count and
list; a bad date is a usage error (exit 2), in JSON under --json."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from .conftest import Group, make_record


def run(*args: str) -> Any:
    from lantai.appraisal.cli import appraisal
    from lantai.cli import main

    if "appraisal" not in main.commands:  # until the lead registers the group
        main.add_command(appraisal)
    return CliRunner().invoke(main, ["appraisal", *args], catch_exceptions=False)


def test_due_lists_count_and_records(group: Group) -> None:
    make_record(group.category, 1, year=2010, retention="D10")
    make_record(group.category, 2, year=2016, retention="D10")
    make_record(group.category, 3, year=1950, retention="Y")
    result = run("due", "--date", "2026-12-07", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True and data["date"] == "2026-12-07" and data["count"] == 1
    row = data["records"][0]
    assert row["reference_code"] == "Z109-WS·2010-D10-BGS-0001"
    assert row["retention"] == "D10" and row["expired_on"] == "2020-12-31"
    later = json.loads(run("due", "--date", "2027-01-01", "--json").output)
    assert later["count"] == 2
    text = run("due", "--date", "2026-12-07").output
    assert "Z109-WS·2010-D10-BGS-0001" in text and "共1条" in text


def test_classification_due(group: Group) -> None:
    make_record(group.category, 1, year=2000, retention="D30", classification="秘密")
    make_record(group.category, 2, year=2020, retention="D30", classification="机密")
    data = json.loads(run("classification-due", "--date", "2026-12-07", "--json").output)
    assert data["count"] == 1 and data["records"][0]["classification"] == "confidential"


def test_bad_date_is_a_json_usage_error(group: Group) -> None:
    bad = run("due", "--date", "2026-13-01", "--json")
    assert bad.exit_code == 2
    error = json.loads(bad.output)
    assert error["ok"] is False and "--date" in error["error"]
    unknown = run("due", "--when", "x", "--json")
    assert unknown.exit_code == 2 and json.loads(unknown.output)["ok"] is False
