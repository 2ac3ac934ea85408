"""`lantai repository add|list` and `lantai category add|list` (issue 13, point 2): the archival
structure from the console, through the catalogue's services; clear errors, exit codes as
cli_common documents, and one JSON object under --json also on errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lantai.catalog import services
from lantai.catalog.models import Category, Fonds, Repository
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
    # following a `fonds add J019` hint would make a second J019 in the wrong 档案馆
    assert code == 2 and "没有全宗" in out and "--repository 441900" in out
    assert "fonds add" not in out
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


def _argv(hint: str) -> list[str]:
    """The `lantai …` command a hint names, as arguments (up to the first full stop)."""
    command = hint.split("lantai ", 1)[1].split("（")[0].split("`")[0]
    return command.replace("全宗名称", "名称").split()


def test_hints_name_the_repository(tmp_path: Path) -> None:
    """D2: a hint for a missing 门类 or 全宗 names the 档案馆 the command must act on, and
    following it works (it used to send `category add` to the default 档案馆 and then suggest a
    duplicate fonds there)."""
    assert run("repository", "add", "490101", "--name", "某市档案馆")[0] == 0
    assert run("fonds", "add", "J005", "--name", "某市教育局", "--repository", "490101")[0] == 0
    csv = tmp_path / "x.csv"
    csv.write_text("档号,题名\n", encoding="utf-8")
    where = ["--repository", "490101"]

    code, data = run_json(
        "catalog", "import", str(csv), *where, "--fonds", "J005", "--category", "KJ"
    )
    assert code == 2 and "--repository 490101" in data["error"], data
    code, out = run(*_argv(data["error"]))
    assert code == 0 and Category.objects.filter(fonds__repository__code="490101").exists(), out

    code, data = run_json(
        "catalog", "import", str(csv), *where, "--fonds", "J006", "--category", "WS"
    )
    assert code == 2 and "lantai fonds add J006" in data["error"], data
    assert "--repository 490101" in data["error"]
    assert run(*_argv(data["error"]))[0] == 0
    assert Fonds.objects.get(code="J006").repository.code == "490101"

    code, out = run("category", "add", "WS", "--fonds", "J007", *where)
    assert code == 2 and "lantai fonds add J007" in out and "--repository 490101" in out
    # the default 档案馆 named explicitly stays named in the hint
    home = services.default_repository().code
    code, out = run("category", "add", "WS", "--fonds", "J008", "--repository", home)
    assert code == 2 and f"--repository {home}" in out, out
    code, out = run("category", "add", "WS", "--fonds", "J008")
    assert code == 2 and "lantai fonds add J008 --name 全宗名称（" in out, out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        # a 卷内文件 rule as the 案卷 rule
        (
            ["KU", "--code-rule", "volume-item-ws", "--arrangement", "volume"],
            ["--code-rule", "volume-item-ws", "卷内文件"],
        ),
        (["KU", "--code-rule", "volume-item-ws"], ["--code-rule", "volume-item-ws"]),
        # a 卷内文件 rule that does not extend the 案卷 rule
        (
            ["KJ", "--code-rule", "volume-ws", "--volume-item-rule", "kj-project-item"],
            ["--volume-item-rule", "kj-project-item", "volume-ws"],
        ),
        (
            ["KJ", "--volume-item-rule", "volume-item-ws"],
            ["--volume-item-rule", "volume-item-ws", "kj-project"],
        ),
        # a rule whose level contradicts an explicit arrangement
        (
            ["WS", "--code-rule", "volume-ws", "--arrangement", "item"],
            ["--code-rule", "volume-ws", "按件"],
        ),
        (["KJ", "--code-rule", "dat22", "--arrangement", "volume"], ["--code-rule", "dat22"]),
        # an item rule as a 卷内文件 rule
        (["KJ", "--volume-item-rule", "dat22"], ["--volume-item-rule", "dat22"]),
    ],
)
def test_category_add_refuses_rules_that_do_not_fit(args: list[str], words: list[str]) -> None:
    """D3: the rule's level must fit the arrangement and the 卷内文件 rule must extend the 案卷
    rule; the message names the option and the rule (exit 1)."""
    assert run("fonds", "add", "Z109", "--name", "岭南省人民政府办公厅")[0] == 0
    code, data = run_json("category", "add", *args[:1], "--fonds", "Z109", *args[1:])
    assert code == 1 and data["ok"] is False, data
    assert all(w in data["error"] for w in words), data["error"]
    assert not Category.objects.exists()


def test_category_add_derives_the_arrangement_from_the_rule_and_says_so() -> None:
    assert run("fonds", "add", "Z109", "--name", "岭南省人民政府办公厅")[0] == 0
    code, out = run("category", "add", "WS", "--fonds", "Z109", "--code-rule", "volume-ws")
    assert code == 0 and "整理方式按档号规则“volume-ws”定为按卷" in out, out
    ws = Category.objects.get(code="WS")
    assert (ws.arrangement, ws.code_rule, ws.volume_item_rule) == (
        "volume",
        "volume-ws",
        "volume-item-ws",
    )
    # KJ under the 文书 case-file rule: its 卷内文件 rule is the one that extends it
    code, data = run_json("category", "add", "KJ", "--fonds", "Z109", "--code-rule", "volume-ws")
    assert code == 0 and data["category"]["volume_item_rule"] == "volume-item-ws", data


def test_every_standard_category_takes_its_default_rules() -> None:
    from lantai.catalog import services
    from lantai.standards.categories import load_categories

    fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
    for code, spec in load_categories().items():
        cat = services.create_category(fonds, code)
        assert (cat.arrangement, cat.code_rule) == (spec.arrangement, spec.code_rule)
        assert cat.volume_item_rule == (spec.volume_item_rule or "")


def test_category_list_of_an_unknown_fonds_is_exit_2() -> None:
    code, data = run_json("category", "list", "--fonds", "999")
    assert code == 2 and "999" in data["error"] and "lantai fonds add" in data["error"]


def test_fonds_add_in_an_unknown_repository_is_exit_2() -> None:
    code, out = run("fonds", "add", "X1", "--name", "N", "--repository", "NOPE")
    assert code == 2 and "档案馆“NOPE”不存在" in out and "Error:" not in out
    assert not Fonds.objects.exists()
