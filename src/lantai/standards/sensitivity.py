"""What the open-review pre-screen finds in a text: spans, and the grounds and categories they
support (``data/open-review.yaml``). Detectors live in ``personal_ids`` (validated numbers),
``review_lexicons`` (term lists, Aho-Corasick) and the review room (named entities, classifier)."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

from ._data import load_data

__all__ = ["KINDS", "Span", "category_ground", "ground_citation", "grounds", "review_data"]

# the `kind` of a span, as `lantai review screen --json` prints it (kept stable)
KINDS = (
    "id18", "id15", "phone", "bankcard", "passport", "uscc", "person", "place", "org",
    "privacy", "secret-mark", "lexicon",
)  # fmt: skip


@dataclass(frozen=True)
class Span:
    """One finding: ``text[start:end]`` (character offsets), what it is and why it matters."""

    start: int
    end: int
    text: str
    category: str  # a category code of data/open-review.yaml
    kind: str  # one of KINDS
    ground: str  # the 办法 第八条 ground it supports (art8-1 … art8-4), "" for none alone
    rule: str  # the rule or model id
    version: str  # the version of that rule, lexicon or model
    score: float  # 0..1: how sure the detector is that this is what it says

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def review_data() -> dict[str, Any]:
    return load_data("open-review.yaml")


@functools.cache
def grounds() -> dict[str, dict[str, str]]:
    return {g["code"]: g for g in review_data()["grounds"]}


@functools.cache
def category_ground(category: str) -> str:
    """The ground a category supports ("" for none); KeyError for an unknown category."""
    for c in review_data()["categories"]:
        if c["code"] == category:
            return str(c["ground"])
    raise KeyError(category)


def ground_citation(code: str, *, english: bool = False) -> str:
    """How a ground is cited: “第八条（三）” (or “Art. 8(3)”) for art8-3."""
    n = int(code.rsplit("-", 1)[-1])
    return f"Art. 8({n})" if english else f"第八条（{'一二三四'[n - 1]}）"
