"""The `lantai` command's checked interface: exit codes and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lantai.catalog.models import Fonds, Record
from lantai.cli import main
from tests.catalog.test_import import BAD, GOOD, write


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_code_parse_json() -> None:
    code, out = run("code", "parse", "Z109-WS·2011-Y-BGS-0001", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["rule"] == "dat22"
    assert data["components"] == {
        "fonds": "Z109",
        "category": "WS",
        "year": "2011",
        "retention": "Y",
        "org": "BGS",
        "item": "0001",
    }


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("J019-ZY·JC·CC·2019·D30-001-001", "zy-volume-item"),
        ("C038-001-002-003", "traditional"),
        ("X032-KJ·KY·01-003", None),
    ],
)
def test_code_parse_other_structures(value: str, rule: str | None) -> None:
    args = ["code", "parse", value, "--json"] + (["--rule", rule] if rule else [])
    code, out = run(*args)
    assert code == 0, out
    assert json.loads(out)["code"] == value


def test_code_parse_invalid_exits_1_with_the_reason() -> None:
    code, out = run("code", "parse", "Z109-WS·2011-Q-BGS-0001", "--rule", "dat22")
    assert code == 1 and "保管期限" in out


@pytest.mark.django_db
def test_fonds_add_in_the_default_repository() -> None:
    code, out = run("fonds", "add", "J019", "--name", "岭南省教育厅")
    assert code == 0, out
    assert Fonds.objects.get(code="J019").repository.is_default
    code, out = run("fonds", "add", "J019", "--name", "重复")
    assert code == 1 and "J019" in out
    code, out = run("fonds", "add", "bad code!", "--name", "x")
    assert code == 1 and "全宗号" in out


@pytest.mark.django_db
def test_catalog_import_exit_codes(tmp_path: Path) -> None:
    assert run("fonds", "add", "Z109", "--name", "岭南省人民政府办公厅")[0] == 0
    from lantai.catalog import services

    services.create_category(Fonds.objects.get(code="Z109"), "WS")
    bad = write(tmp_path, BAD, name="bad.csv")
    code, out = run("catalog", "import", str(bad), "--fonds", "Z109", "--category", "WS", "--json")
    report = json.loads(out)
    assert code == 1 and report["status"] == "rejected" and report["rows_rejected"] == 6
    assert {"row", "column", "rule", "value", "message"} <= set(report["errors"][0])
    assert Record.objects.count() == 0

    code, out = run(
        "catalog", "import", str(bad), "--fonds", "Z109", "--category", "WS", "--valid-rows-only"
    )
    assert code == 1 and Record.objects.count() == 2

    good = write(tmp_path, GOOD, name="good.csv")
    code, out = run(
        "catalog", "import", str(good), "--fonds", "Z109", "--category", "WS", "--valid-rows-only"
    )
    assert code == 0, out  # rows 1 and 3 are unchanged, row 2 is new

    missing = tmp_path / "nope.xlsx"
    assert run("catalog", "import", str(missing), "--fonds", "Z109", "--category", "WS")[0] == 2
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip")
    code, out = run("catalog", "import", str(junk), "--fonds", "Z109", "--category", "WS", "--json")
    assert code == 2 and json.loads(out)["status"] == "unreadable"
    assert run("catalog", "import", str(good), "--fonds", "Z999", "--category", "WS")[0] == 2


@pytest.mark.django_db
def test_code_gaps_reports_missing_numbers(tmp_path: Path) -> None:
    run("fonds", "add", "Z109", "--name", "岭南省人民政府办公厅")
    from lantai.catalog import importing, services

    cat = services.create_category(Fonds.objects.get(code="Z109"), "WS")
    importing.import_file(write(tmp_path, [GOOD[0], GOOD[2]]), cat)
    code, out = run("code", "gaps", "--fonds", "Z109", "--category", "WS", "--json")
    data = json.loads(out)  # one object, like every --json output
    assert code == 1 and data["ok"] is False and data["gaps"][0]["prefix"] == "Z109-WS·2011-Y-BGS-"


@pytest.mark.django_db
def test_user_add_passwd_and_tokens() -> None:
    from lantai.core.models import ApiToken, User

    code, out = run(
        "user", "add", "sysadmin", "--role", "system_admin", "--password", "Lantai@2024pass"
    )
    assert code == 0, out
    code, out = run("user", "add", "x", "--role", "no_such_role", "--password", "Lantai@2024pass")
    assert code == 1 and "未知角色" in out
    code, out = run("user", "passwd", "sysadmin", "--password", "short")
    assert code == 1
    code, out = run("user", "passwd", "sysadmin", "--password", "Another@2024pass")
    assert code == 0 and User.objects.get(username="sysadmin").check_password("Another@2024pass")
    code, out = run("user", "token", "sysadmin", "--name", "ci")
    assert code == 0 and out.strip().startswith("lt_") and ApiToken.objects.count() == 1
    code, out = run("user", "revoke-tokens", "sysadmin")
    assert code == 0 and ApiToken.objects.count() == 0


def test_an_uninitialised_database_is_a_clear_exit_2(tmp_path: Path) -> None:
    """A data directory whose database was never initialised (no tables): every command says
    so and exits 2, as JSON under --json, never a traceback. Run as a real process, since the
    test database of this session has its tables."""
    import os
    import subprocess
    import sys

    data = tmp_path / "empty-data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LANTAI_DATABASE_URL"}
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY="x")
    lantai = [sys.executable, "-c", "from lantai.cli import main; main()"]
    for args in (["storage", "audit", "--json"], ["storage", "location", "list"]):
        done = subprocess.run(lantai + args, env=env, capture_output=True, text=True)
        assert done.returncode == 2, done
        assert "Traceback" not in done.stderr and "lantai init" in done.stdout + done.stderr
        if "--json" in args:
            assert "lantai init" in json.loads(done.stdout)["error"]
