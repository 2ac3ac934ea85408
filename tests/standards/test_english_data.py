"""Every DA/T 70 title and method and every built-in 档号 rule label has its English in the data
files (the UI shows it in English; decision 0001: data below Django carries both languages)."""

from __future__ import annotations

import re

from lantai.standards import archival_code as ac
from lantai.standards.dat70 import PROPERTIES, STAGES, load_catalogue

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


def english(text: str | None) -> bool:
    return bool(text and text.strip()) and not CJK.search(text or "")


def test_every_dat70_content_check_and_item_has_english() -> None:
    catalogue = load_catalogue()
    assert [p for p in PROPERTIES if not english(catalogue.property_names_en.get(p))] == []
    for stage in STAGES:
        assert english(catalogue.stage_name(stage, english=True)), stage
        for c in catalogue.contents(stage):
            assert english(c.title_en) and english(c.method_en), (stage, c.code)
            assert c.title(english=True) == c.title_en and c.title(english=False) == c.title_zh
    for key, spec in catalogue.checks.items():
        assert english(spec.title_en), key
    for item in catalogue.items:
        assert (item.title_zh is None) == (item.title_en is None), item.code
        assert item.title_en is None or english(item.title_en), item.code


def test_a_stored_result_is_titled_by_its_check_key() -> None:
    catalogue = load_catalogue()
    spec = catalogue.check("virus_scan")
    assert catalogue.check_title("virus_scan", "旧标题", english=True) == spec.title_en
    assert catalogue.check_title("virus_scan", "旧标题", english=False) == spec.title_zh
    # a result stored before check keys were kept shows its stored title
    assert catalogue.check_title("", "旧标题", english=True) == "旧标题"


def test_every_builtin_code_rule_has_an_english_label() -> None:
    for name, rule in ac.load_rules().items():
        assert english(rule.label_en) and rule.label_en != rule.label_zh, name
        assert english(rule.describe_en()), name
