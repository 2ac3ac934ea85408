"""Template filters that show data from the standards files in the UI's language.

The standards package sits below Django and keeps both languages (decision 0001); these filters
pick one for the request's language."""

from __future__ import annotations

from typing import Any

from django import template

from lantai.standards import archival_code as ac
from lantai.standards.dat70 import Catalogue
from lantai.web.labels import english

register = template.Library()


@register.filter
def stage_name(catalogue: Catalogue, stage: str) -> str:
    """``{{ catalogue|stage_name:"yj" }}``: a DA/T 70 stage's name (移交与接收环节)."""
    return catalogue.stage_name(stage, english())


@register.filter
def rule_label(choice: Any) -> str:
    """The label of a 档号 rule as listed (a CodeRuleChoice): a built-in rule's English label from
    code_rules.yaml in English; a custom rule's label as its author wrote it."""
    if english() and not choice.custom:
        rule = ac.load_rules().get(choice.name)
        if rule is not None:
            return str(rule.label_en)
    return str(choice.label)


@register.filter
def rule_description(choice: Any) -> str:
    """The template of a 档号 rule in words, in the UI's language."""
    if english():
        try:
            return ac.CodeRule.from_template(choice.name, choice.template).describe_en()
        except ac.CodeRuleError:
            pass
    return str(choice.description)
