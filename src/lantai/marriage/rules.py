"""The rights rules in force: the newest edited version, else the shipped data file (version 0).
An edit is a new version (checked before it is kept); old versions stay, so every logged query
can be read against the rules it was checked under."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from lantai.core import audit
from lantai.standards import marriage_rights

from .models import RulesVersion


def shipped_text() -> str:
    from importlib import resources

    data = resources.files("lantai.standards").joinpath("data", "marriage-rights.yaml")
    return data.read_text(encoding="utf-8")


def current() -> tuple[int, marriage_rights.Rules]:
    latest = RulesVersion.objects.order_by("-number").first()
    if latest is None:
        return 0, marriage_rights.load_rules(None)
    return latest.number, marriage_rights.load_rules(latest.text)


def current_text() -> tuple[int, str]:
    latest = RulesVersion.objects.order_by("-number").first()
    return (0, shipped_text()) if latest is None else (latest.number, latest.text)


def save_version(text: str, note: str, *, user: Any = None, actor: str) -> RulesVersion:
    """Keep ``text`` as the next version (marriage_rights.RulesError when it is not valid)."""
    marriage_rights.load_rules(text)
    for _attempt in range(3):  # two editors at once: the second takes the next number
        try:
            with transaction.atomic():
                top = RulesVersion.objects.aggregate(m=Max("number"))["m"] or 0
                version = RulesVersion.objects.create(
                    number=top + 1, text=text, note=note[:500],
                    created_by=user if getattr(user, "pk", None) else None,
                )  # fmt: skip
                audit.record(
                    "marriage_rules", "marriage_rules", version.number,
                    {"note": note[:500], "lines": text.count("\n") + 1}, actor=actor,
                )  # fmt: skip
                return version
        except IntegrityError:
            continue
    raise RuntimeError("could not number the rules version")
