"""A 门类's 档号 rules fit together (issue 13 audit, D3): the catalogue service refuses a rule
whose level does not match the arrangement and a 卷内文件 rule that does not extend the 案卷 rule,
so the CLI, the pages and the API all refuse them alike."""

from __future__ import annotations

import pytest

from lantai.catalog import services
from lantai.catalog.models import Category
from lantai.standards import archival_code as ac

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "options", "field"),
    [
        ("KU", {"arrangement": "volume", "code_rule": "volume-item-ws"}, "code_rule"),
        (
            "KJ",
            {"code_rule": "volume-ws", "volume_item_rule": "kj-project-item"},
            "volume_item_rule",
        ),
        ("KJ", {"volume_item_rule": "no-such-rule"}, "volume_item_rule"),
    ],
)
def test_rules_that_do_not_fit_are_refused(code: str, options: dict, field: str) -> None:
    fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
    with pytest.raises(services.CatalogError) as refused:
        services.create_category(fonds, code, **options)
    assert refused.value.field == field
    assert not Category.objects.exists()


def test_a_volume_rule_gets_the_item_rule_that_extends_it() -> None:
    fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
    kj = services.create_category(fonds, "KJ", code_rule="volume-ws")
    assert (kj.arrangement, kj.volume_item_rule) == ("volume", "volume-item-ws")
    volume, item = ac.get_rule("volume-ws"), ac.get_rule("volume-item-ws")
    assert services.extends(item, volume) and not services.extends(
        ac.get_rule("kj-project-item"), volume
    )
    levels = {services.rule_level(ac.get_rule(n)) for n in ("dat22", "volume-ws", "volume-item-ws")}
    assert levels == {"item", "volume", "volume-item"}


def test_a_missing_fonds_hint_names_the_archives_that_hold_it() -> None:
    """D2: on the operator's CLI (`name_others`) a fonds that exists only in another 档案馆 is
    pointed to there, never to a duplicate in this one. Elsewhere (web transfer accept, whose user
    may not see that archives) no other archives is named, and the hint says to name the right one."""
    services.create_repository("490101", "某市档案馆")
    services.create_fonds("J005", "某市教育局", repository_code="490101")
    with pytest.raises(services.CatalogError) as missing:
        services.find_category("J005", "KJ", name_others=True)
    assert "--repository 490101" in missing.value.message_zh
    assert "fonds add" not in missing.value.message_zh
    with pytest.raises(services.CatalogError) as unnamed:
        services.find_category("J005", "KJ")
    assert "490101" not in unnamed.value.message_zh and "某市" not in unnamed.value.message_zh
    assert "如属其他档案馆，请指定该档案馆" in unnamed.value.message_zh
