"""The archives' own classifier: trained from its reviewers' decisions, kept as a file under the
data directory with its SM3 in the database (a model file is code to the loader: one whose digest
differs is refused), evaluated honestly on held-back decisions when it is trained."""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from lantai.catalog import services as catalog
from lantai.core import audit, sm3
from lantai.core.models import User
from lantai.core.roles import REVIEW_MANAGE
from lantai.review import texts
from lantai.review.classifier import (
    RoundRecord,
    SensitivityClassifier,
    cross_validated,
    evaluate,
    next_to_label,
    round_record,
    should_stop,
)
from lantai.review.models import ClassifierVersion, ReviewItem
from lantai.review.services import ReviewError

MIN_LABELS = 20
MIN_EACH = 5  # of either class
_cache: dict[str, SensitivityClassifier] = {}
_lock = threading.Lock()


def _dir() -> Path:
    return Path(settings.DATA_DIR) / "review" / "models"


def active() -> SensitivityClassifier | None:
    row = ClassifierVersion.objects.filter(active=True).order_by("-created_at").first()
    if row is None:
        return None
    with _lock:
        model = _cache.get(row.version)
        if model is None:
            data = (Path(settings.DATA_DIR) / row.path).read_bytes()
            model = SensitivityClassifier.from_bytes(data, row.sm3)
            _cache.clear()
            _cache[row.version] = model
    return model


def is_sensitive(item: ReviewItem) -> bool:
    """The label a decided item teaches: anything withheld (deferred, restricted or passages)."""
    return item.decision != "open" or bool(item.passages)


def training_set() -> tuple[list[str], list[bool], list[int]]:
    """Texts and labels of every item a person has decided (the latest decision counts)."""
    decided = ReviewItem.objects.exclude(decision="").select_related("record").order_by("pk")
    out_texts, labels, ids = [], [], []
    for item in decided.iterator(chunk_size=200):
        out_texts.append(_text(item))
        labels.append(is_sensitive(item))
        ids.append(item.pk)
    return out_texts, labels, ids


def check_trainable(labels: int | None = None, positives: int | None = None) -> None:
    """ReviewError unless there are enough decisions of both kinds to train and evaluate on."""
    if labels is None or positives is None:
        decided = ReviewItem.objects.exclude(decision="")
        labels = decided.count()
        positives = decided.filter(
            Q(decision__in=("deferred", "restricted_use")) | ~Q(passages=[])
        ).count()
    if labels < MIN_LABELS or min(positives, labels - positives) < MIN_EACH:
        raise ReviewError(
            f"人工审核结论不足：需要至少 {MIN_LABELS} 条，且“开放”与“不开放”各至少 {MIN_EACH} 条"
            f"（现有 {labels} 条，其中不开放 {positives} 条）",
            f"Too few decisions to train: {labels} ({positives} withheld); need "
            f"{MIN_LABELS} with at least {MIN_EACH} of each",
        )


UNDECIDED_MAX = 5000  # undecided items a round looks at (the next to decide are chosen among them)
STOP_SET = 300  # of them, the fixed set the stopping rule watches across rounds
NEXT = 20


def _text(item: ReviewItem) -> str:
    return "\n".join(s.text for s in texts.sections(item.record))


def _learning_round(model: SensitivityClassifier, labels: list[bool]) -> dict[str, Any]:
    """Active learning: which undecided items reviewers should decide next (the model is least
    sure of them, and they differ from each other), and whether the stopping rule says that more
    decisions would no longer change the model's calls (then its ranking can run the queue)."""
    undecided = list(
        ReviewItem.objects.filter(decision="", screened_at__isnull=False, task__status="active")
        .select_related("record")
        .order_by("pk")[:UNDECIDED_MAX]
    )
    found = [_text(i) for i in undecided]
    # the stop set stays the same items from round to round (decided since or not: the rule
    # compares the models' calls on them, which needs no labels), until one of them is gone
    last = ClassifierVersion.objects.order_by("-created_at").first()
    stop_ids = list((last.evaluation.get("learning") or {}).get("stop_set", [])) if last else []
    stop_items = {
        i.pk: i for i in ReviewItem.objects.filter(pk__in=stop_ids).select_related("record")
    }
    if not stop_ids or len(stop_items) != len(stop_ids):
        stop_ids, stop_items = [i.pk for i in undecided[:STOP_SET]], {i.pk: i for i in undecided}
    current = round_record(model, labels, [_text(stop_items[pk]) for pk in stop_ids], found)
    history = []  # earlier rounds on the same stop set, oldest first
    for row in ClassifierVersion.objects.order_by("created_at"):
        kept = row.evaluation.get("learning") or {}
        if kept.get("stop_set") == stop_ids and "round" in kept:
            r = kept["round"]
            history.append(RoundRecord(r["labelled"], r["positives_found"],
                                       tuple(r["stop_set_scores"]), r["estimated_remaining"]))  # fmt: skip
        else:
            history = []
    decision = should_stop([*history, current])
    picked = next_to_label(model, found, NEXT)
    return {
        "stop_set": stop_ids, "round": asdict(current), "stop": asdict(decision),
        "next_items": [undecided[i].pk for i in picked],
    }  # fmt: skip


def train(user: User | None) -> ClassifierVersion:
    """Train, evaluate on held-back decisions (cross-validation), store and activate a version.
    Minutes for tens of thousands of decisions: the web page queues it (tasks.train_classifier)."""
    catalog.require(user, REVIEW_MANAGE)
    docs, labels, _ = training_set()
    positives = sum(labels)
    check_trainable(len(labels), positives)
    held_back = cross_validated(docs, labels)
    evaluation = evaluate(labels, held_back).as_dict()
    model = SensitivityClassifier().fit(docs, labels)
    evaluation["learning"] = _learning_round(model, labels)
    data = model.to_bytes()
    digest = sm3.sm3_hex(data)
    rel = Path("review") / "models" / f"{digest}.model"
    path = Path(settings.DATA_DIR) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with transaction.atomic():
        ClassifierVersion.objects.filter(active=True).update(active=False)
        same = ClassifierVersion.objects.filter(version=model.version).first()
        if same is not None:  # the same decisions again: the same model, made active again
            same.active = True
            same.save(update_fields=["active"])
            return same
        row = ClassifierVersion.objects.create(
            version=model.version, path=str(rel), sm3=digest, labels=len(labels),
            positives=positives, evaluation=evaluation, created_by=user,
        )  # fmt: skip
        audit.record("review_classifier_train", "review_classifier", row.pk, {
            "version": row.version, "sm3": digest, "labels": len(labels),
            "positives": positives, "evaluation": evaluation,
        })  # fmt: skip
    return row
