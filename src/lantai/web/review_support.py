"""What the review pages need beyond lantai.review's services: the labels of decisions, grounds,
categories and finding kinds in the page's language; a section's text cut into segments with
every machine finding highlighted (overlaps included); the passages a reviewer marked, read
back from the form; and the people a task can be assigned to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from lantai.core.models import User
from lantai.core.roles import REVIEW, ROLES
from lantai.review.screening import CONTEXT_KINDS
from lantai.standards.sensitivity import ground_citation, grounds, review_data
from lantai.web.labels import english

KIND_LABELS: dict[str, Any] = {
    "id18": _("18位身份证号"),
    "id15": _("15位身份证号"),
    "phone": _("电话号码"),
    "bankcard": _("银行卡号"),
    "passport": _("护照、通行证号"),
    "uscc": _("统一社会信用代码"),
    "person": _("人名"),
    "place": _("地名"),
    "org": _("机构名"),
    "privacy": _("个人隐私"),
    "secret-mark": _("密级标志"),
    "lexicon": _("敏感词"),
}
MAX_PASSAGES = 500  # passages one decision may withhold (a form cannot grow without bound)


def _pick(entry: dict[str, Any], stem: str) -> str:
    return str(entry.get(f"{stem}_en") if english() else entry.get(f"{stem}_zh", ""))


def decision_choices() -> list[tuple[str, str]]:
    return [(d["code"], _pick(d, "label")) for d in review_data()["decisions"]]


def decision_label(code: str) -> str:
    return dict(decision_choices()).get(code, code)


def ground_choices() -> list[tuple[str, str]]:
    """第八条 grounds as a select shows them: “第八条（一）国家秘密”."""
    out = []
    for code, g in grounds().items():
        out.append((code, f"{ground_citation(code, english=english())} {_pick(g, 'short')}"))
    return out


def ground_label(code: str) -> str:
    return dict(ground_choices()).get(code, code)


def ground_text(code: str) -> str:
    """The ground's full wording (for a tooltip)."""
    g = grounds().get(code)
    return _pick(g, "label") if g else ""


def category_label(code: str) -> str:
    for c in review_data()["categories"]:
        if c["code"] == code:
            return _pick(c, "label")
    return code


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def early_subject_choices() -> list[tuple[str, str]]:
    return [(c["code"], _pick(c, "label")) for c in review_data()["early_open_categories"]]


def optional_stage_choices() -> list[tuple[str, str]]:
    return [(s["code"], _pick(s, "label")) for s in review_data()["stages"] if s.get("optional")]


def reviewer_accounts() -> QuerySet[User]:
    """Active accounts whose role may review (审核员, 审核组长)."""
    codes = [code for code, role in ROLES.items() if REVIEW in role.permissions]
    return User.objects.filter(is_active=True, role__in=codes).order_by("username")


# --- highlighted text -----------------------------------------------------------------------------
@dataclass
class Segment:
    """A run of a section's text under the same findings; `offset` is its first character's
    place in the section (Python characters, as the spans and the passages count them)."""

    offset: int
    text: str
    spans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.top["kind"] if self.spans else ""

    @property
    def top(self) -> dict[str, Any]:
        return max(self.spans, key=lambda s: (s["kind"] not in CONTEXT_KINDS, s["score"]))

    @property
    def kinds(self) -> str:
        return " ".join(sorted({s["kind"] for s in self.spans}))

    @property
    def title(self) -> str:
        return "\n".join(
            f"{category_label(s['category'])} · {kind_label(s['kind'])} · {s['rule']} "
            f"{s['version']} · {float(s['score']):.2f}"
            for s in sorted(self.spans, key=lambda s: -float(s["score"]))
        )


def segments(text: str, spans: Iterable[dict[str, Any]]) -> list[Segment]:
    """`text` cut at every span boundary; each piece lists the spans covering it, so nested
    and overlapping findings all show. Spans outside the text are ignored."""
    size = len(text)
    inside = [s for s in spans if 0 <= int(s["start"]) < int(s["end"]) <= size]
    cuts = sorted({0, size, *(int(s["start"]) for s in inside), *(int(s["end"]) for s in inside)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        covering = [s for s in inside if int(s["start"]) <= a and int(s["end"]) >= b]
        out.append(Segment(a, text[a:b], covering))
    return out


# --- what the machine found, for the reasons list -------------------------------------------------
def reasons(screening: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The findings grouped by category (strongest group first); `labels` names the sections."""
    groups: dict[str, dict[str, Any]] = {}
    for s in screening.get("spans", []):
        g = groups.setdefault(
            s["category"],
            {
                "category": s["category"], "label": category_label(s["category"]),
                "ground": s["ground"], "ground_label": ground_label(s["ground"])
                if s["ground"] else "", "top": 0.0, "findings": [],
            },
        )  # fmt: skip
        g["top"] = max(g["top"], float(s["score"]))
        g["findings"].append({**s, "kind_label": kind_label(s["kind"]),
                              "section_label": labels.get(s["section"], s["section"])})  # fmt: skip
    return sorted(groups.values(), key=lambda g: (g["category"] == "entity", -g["top"]))


def top_kinds(screening: dict[str, Any], n: int = 3) -> list[str]:
    """The labels of the strongest kinds found (the queue's tags), context kinds last."""
    best: dict[str, float] = {}
    for s in screening.get("spans", []):
        best[s["kind"]] = max(best.get(s["kind"], 0.0), float(s["score"]))
    order = sorted(best, key=lambda k: (k in CONTEXT_KINDS, -best[k]))
    return [kind_label(k) for k in order[:n]]


# --- passages from the form -----------------------------------------------------------------------
def posted_passages(data: QueryDict) -> list[dict[str, Any]]:
    """The passages to withhold, as the page posts them: parallel lists passage_section,
    passage_start, passage_end (and passage_category). A malformed entry is kept as it is, for
    the service to refuse with the passage's number."""
    sections = data.getlist("passage_section")[:MAX_PASSAGES]
    starts, ends = data.getlist("passage_start"), data.getlist("passage_end")
    categories = data.getlist("passage_category")
    out = []
    for i, section in enumerate(sections):
        out.append({
            "section": section,
            "start": starts[i] if i < len(starts) else "",
            "end": ends[i] if i < len(ends) else "",
            "category": categories[i] if i < len(categories) else "",
        })  # fmt: skip
    return out


def passages_shown(
    passages: Sequence[dict[str, Any]], texts: dict[str, str], labels: dict[str, str]
) -> list[dict[str, Any]]:
    """The passages with their text and section label, for the list beside the form."""
    out = []
    for p in passages:
        text = texts.get(str(p.get("section")), "")
        try:
            start, end = int(p["start"]), int(p["end"])
            excerpt = text[start:end] if 0 <= start < end <= len(text) else ""
        except (KeyError, TypeError, ValueError):
            excerpt = ""
        out.append({**p, "text": p.get("text") or excerpt,
                    "section_label": labels.get(str(p.get("section")), p.get("section"))})  # fmt: skip
    return out


# --- 鉴定成果导入: giving up a previewed file ----------------------------------------------------
def discard_import(user: User, row: Any) -> None:
    """放弃 a previewed exchange import: nothing changes but its status (and the audit log)."""
    from lantai.catalog import services as catalog
    from lantai.core import audit
    from lantai.core.roles import REVIEW_MANAGE
    from lantai.review.services import ReviewError

    catalog.require(user, REVIEW_MANAGE)
    if row.status != "previewed":
        raise ReviewError("该导入已处理过", "This import was handled already")
    row.status = "discarded"
    row.save(update_fields=["status"])
    audit.record("review_exchange_discard", "review_exchange", row.pk, {"file": row.file_name})
