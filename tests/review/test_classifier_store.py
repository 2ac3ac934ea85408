"""The archives' classifier in the review room: trained on decisions, stored with its SM3 (a
changed file is refused), evaluated on held-back decisions, and an active-learning round that
names the undecided items to decide next and the stopping rule's state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from lantai.review import classifier_store, services
from lantai.review.classifier import ClassifierError
from lantai.review.services import Proposal, ReviewError
from tests.review.conftest import Archive, item_of

SENSITIVE = "经研究，给予{name}同志留党察看一年处分，其患有精神疾病的情况另行处理。"
PLAIN = "关于{n}年度全市中小学教材征订工作的通知，请各县按时上报征订数量。"
NAMES = ("王建华", "李秀英", "陈国强", "黄玉兰", "韦志明", "覃丽萍", "蒙振华", "农春燕")


def _decided_task(
    archive: Archive, make_task: Any, walk: Any, n_plain: int, n_sensitive: int
) -> Any:
    plain = [archive.record(PLAIN.format(n=1960 + i)) for i in range(n_plain)]
    sensitive = [
        archive.record(f"人事处理材料{i}", remarks=SENSITIVE.format(name=NAMES[i % len(NAMES)]))
        for i in range(n_sensitive)
    ]
    extra = [archive.record(PLAIN.format(n=1900 + i)) for i in range(4)]  # left undecided
    task = make_task(plain + sensitive + extra, stages=())
    for record in plain:
        walk(item_of(task, record), Proposal("open"))
    for record in sensitive:
        walk(item_of(task, record), Proposal("deferred", ground="art8-3", rule="个人隐私",
                                             rereview_year=2040))  # fmt: skip
    return task


def test_too_few_decisions_are_refused_with_the_counts(
    archive: Archive, make_task: Any, walk: Any
) -> None:
    _decided_task(archive, make_task, walk, 6, 2)
    with pytest.raises(ReviewError, match="现有 8 条，其中不开放 2 条"):
        classifier_store.train(archive.users["senior"])


def test_training_stores_the_model_evaluates_it_and_proposes_what_to_decide_next(
    archive: Archive, make_task: Any, walk: Any
) -> None:
    task = _decided_task(archive, make_task, walk, 16, 6)
    row = classifier_store.train(archive.users["senior"])
    assert (row.labels, row.positives) == (22, 6)
    for key in ("balanced_accuracy", "f2", "recall", "precision"):
        assert 0.0 <= row.evaluation[key] <= 1.0
    learning = row.evaluation["learning"]
    undecided = set(task.items.filter(decision="").values_list("pk", flat=True))
    assert learning["next_items"] and set(learning["next_items"]) <= undecided
    assert learning["stop"]["stop"] is False  # one round, 22 decisions: far from stopping
    assert learning["stop_set"] and set(learning["stop_set"]) <= undecided

    model = classifier_store.active()
    assert model is not None and model.version == row.version
    sensitive, plain = model.predict_proba([SENSITIVE.format(name="张三"), PLAIN.format(n=1970)])
    assert sensitive > plain  # it learnt which way the decisions went

    # the screen now carries the classifier's score and the n-grams that explain it
    item = task.items.filter(decision="").first()
    screened = services.screen_item(item)
    assert screened.screening["classifier"]["version"] == row.version
    assert screened.screening["versions"]["classifier"] == row.version

    # the page shows the items to decide next
    client = Client()
    client.force_login(archive.users["senior"])
    page = client.get("/review/classifier/").content.decode()
    assert 'id="next-items"' in page


def test_a_model_file_changed_on_disk_is_refused(
    archive: Archive, make_task: Any, walk: Any
) -> None:
    _decided_task(archive, make_task, walk, 16, 6)
    row = classifier_store.train(archive.users["senior"])
    path = Path(settings.DATA_DIR) / row.path
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    classifier_store._cache.clear()
    with pytest.raises(ClassifierError):
        classifier_store.active()
