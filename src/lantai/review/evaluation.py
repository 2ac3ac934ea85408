"""How well the machine helps, measured on the archives' own decisions (the labelled sample): per
ground, the recall and precision of the pre-screen's findings against what reviewers withheld;
the classifier's balanced accuracy and F2 on held-back decisions (with their uncertainty); and
reviewer time per item with and without the machine's findings shown."""

from __future__ import annotations

import statistics
from typing import Any

from django.db.models import QuerySet

from lantai.review.classifier_store import is_sensitive
from lantai.review.models import ClassifierVersion, ReviewDecision, ReviewItem
from lantai.review.screening import CONTEXT_KINDS
from lantai.standards.sensitivity import category_ground, grounds

FLAG_SCORE = 0.5  # a finding at or above this score flags its ground


def _truth(item: ReviewItem) -> set[str]:
    """The grounds a reviewer's decision rests on: the decision's ground, and for a partly
    opened item the grounds of the categories of its withheld passages."""
    found = {item.ground} if item.decision != "open" and item.ground else set()
    for p in item.passages:
        try:
            ground = category_ground(str(p.get("category") or "personal_info"))
        except KeyError:
            ground = "art8-3"
        if ground:
            found.add(ground)
    return found


def _flagged(item: ReviewItem) -> set[str]:
    return {
        s["ground"]
        for s in item.screening.get("spans", [])
        if s["ground"] and s["kind"] not in CONTEXT_KINDS and float(s["score"]) >= FLAG_SCORE
    }


def per_ground(items: QuerySet[ReviewItem]) -> list[dict[str, Any]]:
    """Recall and precision of the pre-screen per 第八条 ground over the decided, screened items."""
    counts = {g: {"tp": 0, "fp": 0, "fn": 0} for g in grounds()}
    n = 0
    for item in (
        items.exclude(decision="")
        .exclude(screened_at=None)
        .only("decision", "ground", "passages", "screening")
    ):
        n += 1
        truth, flagged = _truth(item), _flagged(item)
        for g, c in counts.items():
            c["tp"] += g in truth and g in flagged
            c["fp"] += g not in truth and g in flagged
            c["fn"] += g in truth and g not in flagged
    out = []
    for g, c in counts.items():
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        out.append({
            "ground": g, "label": grounds()[g]["short_zh"], "items": n,
            "withheld": tp + fn, "flagged": tp + fp,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        })  # fmt: skip
    return out


def reviewer_time(items: QuerySet[ReviewItem]) -> dict[str, Any]:
    """Seconds per first-review decision, with and without the machine's findings shown."""
    rows = ReviewDecision.objects.filter(item__in=items, stage="first", seconds__isnull=False)
    out: dict[str, Any] = {}
    for assisted in (True, False):
        times = [float(s) for (s,) in rows.filter(assisted=assisted).values_list("seconds") if s]
        decided = rows.filter(assisted=assisted).select_related("item")
        out["assisted" if assisted else "unassisted"] = {
            "decisions": len(times),
            "median_seconds": round(statistics.median(times), 1) if times else None,
            "mean_seconds": round(statistics.fmean(times), 1) if times else None,
            "withheld": sum(is_sensitive(d.item) for d in decided),
        }
    return out


def report(items: QuerySet[ReviewItem]) -> dict[str, Any]:
    model = ClassifierVersion.objects.filter(active=True).order_by("-created_at").first()
    return {
        "decided": items.exclude(decision="").count(),
        "per_ground": per_ground(items),
        "classifier": {
            "version": model.version,
            "labels": model.labels,
            "positives": model.positives,
            "evaluation": model.evaluation,
            "trained_at": model.created_at.isoformat(),
        }
        if model
        else None,  # fmt: skip
        "reviewer_time": reviewer_time(items),
    }
