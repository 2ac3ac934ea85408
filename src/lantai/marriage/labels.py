"""The label of a requester type, proof kind or registration kind in the interface language: the
rights rules and the marriage profile carry both a Chinese and an English label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from django.utils.translation import get_language

from lantai.standards import marriage_profile


class Labelled(Protocol):
    @property
    def label_zh(self) -> str: ...

    @property
    def label_en(self) -> str: ...


def english() -> bool:
    """Whether the page is being rendered in English (Chinese is the default)."""
    return (get_language() or "").lower().startswith("en")


def label(item: Labelled) -> str:
    return item.label_en if english() else item.label_zh


def labelled(items: Mapping[str, Labelled], code: str) -> str:
    """The label of ``items[code]``; the code itself when the current rules no longer have it."""
    found = items.get(code)
    return label(found) if found is not None else code


def kind_label(code_or_label: str) -> str:
    """A registration kind by code or stored Chinese label (certificate content keeps the
    label), in the interface language; unknown text is shown as it is."""
    try:
        return label(marriage_profile.kind(code_or_label))
    except marriage_profile.MarriageProfileError:
        return code_or_label
