"""The machine pre-screen (机审): every detector over every section of an item — validated
numbers, secret marks, the archives' term lists, named entities, the relational rule (a person
in the same sentence as a privacy term) and the archives' classifier. It ranks and explains; it
never decides."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from lantai.review import classifier_store, lexicons, ner
from lantai.review.texts import Section
from lantai.standards import review_lexicons, screening_patterns
from lantai.standards.sensitivity import Span

# spans that alone do not make an item risky (they feed the relational rule)
CONTEXT_KINDS = frozenset({"person", "place", "org"})
EXPLAIN_TERMS = 5


def detector_versions(matcher_versions: Sequence[str]) -> dict[str, str]:
    return {
        "patterns": screening_patterns.PATTERNS_VERSION,
        "ner": ner.model_version(),
        "relations": review_lexicons.RELATIONS_VERSION,
        "lexicons": ",".join(sorted(matcher_versions)),
    }


def screen_text(
    text: str,
    matcher: review_lexicons.LexiconMatcher | None = None,
    *,
    entities: Sequence[Span] | None = None,
) -> list[Span]:
    """Every span the detectors find in `text`, sorted by position. `entities`: the named
    entities of `text` when the caller found them already (batched over many texts)."""
    matcher = matcher or review_lexicons.LexiconMatcher(review_lexicons.default_lexicons())
    spans = list(screening_patterns.pattern_spans(text))
    terms = matcher.spans(text)
    spans.extend(terms)
    if text.strip():
        found = list(entities) if entities is not None else ner.engine().entities(text)
        spans.extend(found)
        persons = [s for s in found if s.kind == "person"]
        privacy = [s for s in terms if s.category == "personal_privacy"]
        if persons and privacy:
            spans.extend(review_lexicons.relational_spans(text, persons, privacy))
    return sorted(spans, key=lambda s: (s.start, s.end, s.kind))


def risk_of(spans: Sequence[dict[str, Any]], classifier_score: float | None) -> float:
    """The item's place in the queue: the strongest finding that supports a ground alone, or the
    classifier's probability when that is higher."""
    scores = [float(s["score"]) for s in spans if s["ground"] and s["kind"] not in CONTEXT_KINDS]
    if classifier_score is not None:
        scores.append(classifier_score)
    return round(max(scores, default=0.0), 4)


def screen_sections(sections: Sequence[Section]) -> dict[str, Any]:
    """The pre-screen of one item: spans per section, detector versions, the classifier's score
    and the n-grams that explain it, and the risk; as stored on the review item."""
    started = time.monotonic()
    matcher = lexicons.matcher()
    spans: list[dict[str, Any]] = []
    # the sections' sentences go through the NER model together: batches of equal lengths
    entities = ner.engine().entities_many([s.text for s in sections])
    for section, found in zip(sections, entities, strict=True):
        for span in screen_text(section.text, matcher, entities=found):
            spans.append({"section": section.key, **span.as_dict()})
    versions = detector_versions([lex.version for lex in matcher.lexicons])
    model = classifier_store.active()
    classified: dict[str, Any] | None = None
    if model is not None:
        text = "\n".join(s.text for s in sections)
        score = model.predict_proba([text])[0]
        classified = {
            "score": round(float(score), 4),
            "version": model.version,
            "explain": [[g, round(w, 4)] for g, w in model.explain(text, top=EXPLAIN_TERMS)],
        }
        versions["classifier"] = model.version
    return {
        "sections": [{"key": s.key, "label": s.label, "chars": len(s.text)} for s in sections],
        "spans": spans,
        "versions": versions,
        "classifier": classified,
        "risk": risk_of(spans, classified["score"] if classified else None),
        "seconds": round(time.monotonic() - started, 3),
    }
