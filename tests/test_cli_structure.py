"""`lantai repository add|list` and `lantai category add|list` (issue 13, point 2): the archival
structure from the console, through the catalogue's services; clear errors, exit codes as
cli_common documents, and one JSON object under --json also on errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lantai.catalog.models import Category, Repository
from lantai.cli import main

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def run_json(*args: str) -> tuple[int, dict]:
    code, out = run(*args, "--json")
    return code, json.loads(out)


def test_repository_add_and_list() -> None:
    code, out = run("repository", "add", "441900", "--name", "东莞市档案馆", "--level", "市级")
    assert code == 0, out
    assert "东莞市档案馆" in out
    repo = Repository.objects.get(code="441900")
    assert (repo.name, repo.level) == ("东莞市档案馆", "city")

    code, data = run_json(
        "repository", "add", "441901", "--name", "某县档案馆", "--level", "county"
    )
    assert code == 0 and data["ok"] and data["repository"]["level"] == "county"

    code, data = run_json("repository", "list")
    assert code == 0
    assert {"441900", "441901"} <= {r["code"] for r in data["repositories"]}
    code, out = run("repository", "list")
    assert code == 0 and "441900" in out and "某县档案馆" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["441900", "--name", "重复"], "已存在"),
        (["bad code!", "--name", "x"], "档案馆代码"),
        (["441902", "--name", "x", "--level", "national"], "级别"),
        (["441903", "--name", "  "], "名称"),
    ],
)
def test_repository_add_refusals_exit_1(args: list[str], words: str) -> None:
    assert run("repository", "add", "441900", "--name", "东莞市档案馆")[0] == 0
    code, out = run("repository", "add", *args)
    assert code == 1 and words in out and "Traceback" not in out
    code, data = run_json("repository", "add", *args)
    assert code == 1 and data["ok"] is False and words in data["error"]


def test_category_add_and_list() -> None:
    assert run("fonds", "add", "Z109", "--name", "岭南省人民政府办公厅")[0] == 0
    code, out = run("category", "add", "WS", "--fonds", "Z109")
    assert code == 0, out
    assert "WS" in out and "dat22" in out
    ws = Category.objects.get(fonds__code="Z109", code="WS")
    assert (ws.arrangement, ws.code_rule) == ("item", "dat22")

    code, data = run_json(
        "category", "add", "ws", "--fonds", "z109", "--arrangement", "item", "--code-rule",
        "dat22",
    )  # fmt: skip
    assert code == 1 and data["ok"] is False and "已有门类 WS" in data["error"]

    code, data = run_json("category", "add", "KJ", "--fonds", "Z109", "--arrangement", "volume")
    assert code == 0, data
    assert data["category"]["arrangement"] == "volume" and data["category"]["volume_item_rule"]

    code, data = run_json("category", "list", "--fonds", "Z109")
    assert code == 0 and [c["code"] for c in data["categories"]] == ["KJ", "WS"]
    code, out = run("category", "list")
    assert code == 0 and "Z109\tWS" in out


def test_category_in_another_repository() -> None:
    assert run("repository", "add", "441900", "--name", "东莞市档案馆")[0] == 0
    assert run("fonds", "add", "J019", "--name", "东莞市教育局", "--repository", "441900")[0] == 0
    code, out = run("category", "add", "WS", "--fonds", "J019")  # not in the default one
    assert code == 2 and "没有全宗" in out and "lantai fonds add J019" in out
    code, data = run_json("category", "add", "WS", "--fonds", "J019", "--repository", "441900")
    assert code == 0 and data["category"]["repository"] == "441900"


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (["WS", "--fonds", "Z999"], 2, "lantai fonds add Z999"),
        (["WS", "--fonds", "Z109", "--repository", "nowhere"], 2, "档案馆“nowhere”不存在"),
        (["XX", "--fonds", "Z109"], 1, "DA/T 13"),
        (["WS", "--fonds", "Z109", "--code-rule", "no-such-rule"], 1, "no-such-rule"),
        (["WS", "--fonds", "Z109", "--arrangement", "volume"], 1, "档号规则"),
    ],
)
def test_category_add_errors(args: list[str], exit_code: int, words: str) -> None:
    assert run("fonds", "add", "Z109", "--name", "岭南省人民政府办公厅")[0] == 0
    code, out = run("category", "add", *args)
    assert code == exit_code and words in out and "Traceback" not in out
    code, data = run_json("category", "add", *args)
    assert code == exit_code and data["ok"] is False and words in data["error"]
    assert not Category.objects.exists()
