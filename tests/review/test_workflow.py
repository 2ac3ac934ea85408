"""审核 and 确认: decisions at each stage with their rules (ground, rule, re-review year, passages
only when opening), separated duties (no second review of one's own first review; a third
person and 审核组长 for the sample check), the audit trail of what the machine showed, and the
joint review with the forming unit (own records only, in bulk, disagreements and their answer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from lantai.catalog.services import PermissionDenied
from lantai.core import sm3
from lantai.core.models import AuditEntry
from lantai.review import services
from lantai.review.models import ReviewDecision, UnitOpinion
from lantai.review.services import Proposal, ReviewError
from tests.review.conftest import ID_NUMBER, Archive, fresh, item_of, passage

pytestmark = pytest.mark.django_db

OPEN = Proposal("open")
NEXT_YEAR = timezone.localdate().year + 1


def deferred(**kw: Any) -> Proposal:
    base: dict[str, Any] = {
        "ground": "art8-3", "rule": "涉及个人病史", "rereview_year": NEXT_YEAR + 4,
    }  # fmt: skip
    return Proposal("deferred", **{**base, **kw})


@pytest.fixture
def task_of(archive: Archive, make_task: Any) -> Any:
    def make(n: int = 1, fonds: str = "Z109", **kw: Any) -> tuple[Any, list[Any]]:
        cat = archive.ws109 if fonds == "Z109" else archive.ws110
        records = [archive.record(f"关于第{i}批救济款发放的通知", category=cat) for i in range(n)]
        kw.setdefault("stages", ("second", "unit"))
        task = make_task(records, **kw)
        return task, [item_of(task, r) for r in records]

    return make


@pytest.mark.parametrize(
    ("proposal", "words"),
    [
        (deferred(ground=""), "第八条"),
        (deferred(ground="art9-9"), "第八条"),
        (deferred(rule="  "), "具体规则"),
        (deferred(rereview_year=None), "复审年度"),
        (deferred(rereview_year=NEXT_YEAR - 1), "复审年度"),  # this year: not in the future
        (Proposal("restricted_use", rule="仅供本单位查阅"), "第八条"),
        (Proposal("closed"), "无效"),
    ],
)
def test_a_decision_without_its_ground_rule_or_year_is_refused(
    archive: Archive, task_of: Any, proposal: Proposal, words: str
) -> None:
    _, (item,) = task_of()
    with pytest.raises(ReviewError) as refused:
        services.decide(item, archive.users["r1"], proposal)
    assert words in refused.value.message_zh and refused.value.message_en
    item = fresh(item)
    assert item.stage == "first" and item.decision == ""
    assert not ReviewDecision.objects.filter(item=item).exists()


def test_passages_are_marked_only_on_an_open_decision(archive: Archive, task_of: Any) -> None:
    _, (item,) = task_of()
    marked = (passage(item.record, "field:title", "救济款"),)
    with pytest.raises(ReviewError, match="部分开放"):
        services.decide(item, archive.users["r1"], deferred(passages=marked))
    with pytest.raises(ReviewError, match="位置无效"):
        bad = ({"section": "field:title", "start": 5, "end": 999},)
        services.decide(item, archive.users["r1"], Proposal("open", passages=bad))
    made = services.decide(item, archive.users["r1"], Proposal("open", passages=marked))
    assert [p["text"] for p in made.passages] == ["救济款"]
    assert fresh(item).stage == "second"


def test_a_reviewer_cannot_second_review_their_own_first_review(
    archive: Archive, task_of: Any
) -> None:
    _, (item,) = task_of()
    services.decide(item, archive.users["r1"], OPEN)
    item = fresh(item)
    assert item.stage == "second" and item.first_reviewer_id == archive.users["r1"].pk
    # not in r1's queue for the 复审 either
    assert item.pk not in {i.pk for i in services.queue(archive.users["r1"], stage="second")}
    with pytest.raises(ReviewError, match="不能复审本人初审"):
        services.decide(item, archive.users["r1"], OPEN)
    assert fresh(item).stage == "second"
    services.decide(item, archive.users["r2"], OPEN)
    assert fresh(item).stage == "unit"


def test_another_reviewer_cannot_take_a_first_review_assigned_to_someone_else(
    archive: Archive, task_of: Any
) -> None:
    _, (item,) = task_of()
    with pytest.raises(ReviewError, match="已分配给其他审核员"):
        services.decide(item, archive.users["r2"], OPEN)


def test_the_sample_check_needs_a_third_person_with_review_manage(
    archive: Archive, task_of: Any
) -> None:
    u = archive.users
    _, (item,) = task_of(
        stages=("second", "sample", "unit"), sample_rate=1.0, reviewers=[u["senior"], u["r2"]]
    )
    assert item.sampled
    services.decide(item, u["senior"], OPEN)  # a senior gives the first review
    services.decide(fresh(item), u["r2"], OPEN)
    item = fresh(item)
    assert item.stage == "sample"
    with pytest.raises(ReviewError, match="抽查须由未参与"):
        services.decide(item, u["senior"], OPEN)
    with pytest.raises(PermissionDenied):
        services.decide(item, u["r1"], OPEN)  # a plain reviewer: no 审核组长 permission
    services.decide(item, u["senior2"], OPEN)
    assert fresh(item).stage == "unit"


def test_an_item_not_drawn_skips_the_sample_check(archive: Archive, task_of: Any) -> None:
    _, (item,) = task_of(stages=("second", "sample", "unit"), sample_rate=0.0)
    services.decide(item, archive.users["r1"], OPEN)
    services.decide(fresh(item), archive.users["r2"], OPEN)
    assert fresh(item).stage == "unit"


def test_approval_needs_review_manage_and_ends_at_published(
    archive: Archive, task_of: Any, walk: Any
) -> None:
    _, (item,) = task_of()
    item = walk(item, OPEN, stop="approval")
    assert item.stage == "approval"
    with pytest.raises(PermissionDenied):
        services.decide(item, archive.users["r2"], OPEN)
    services.decide(item, archive.users["senior"], OPEN)
    item = fresh(item)
    assert item.stage == "published" and item.published_at is None  # approved, not yet published
    assert item.record.open_status == "closed"  # deciding never opens a record


def test_the_decision_audit_entry_carries_findings_by_sm3_not_the_id_number(
    archive: Archive, make_task: Any
) -> None:
    record = archive.record(
        "关于张三因患肺结核申请退休的报告", remarks=f"张三，身份证号{ID_NUMBER}。"
    )
    task = make_task([record], stages=())
    item = item_of(task, record)
    marked = (passage(record, "field:remarks", ID_NUMBER),)
    services.decide(item, archive.users["r1"], Proposal("open", passages=marked), seconds=12.5)
    entry = AuditEntry.objects.filter(action="review_decide", target_id=str(item.pk)).last()
    assert entry is not None
    detail = entry.detail
    digest = sm3.sm3_hex(ID_NUMBER.encode())
    kinds = {f["kind"]: f for f in detail["findings"]}
    assert kinds["id18"]["sm3"] == digest and kinds["id18"]["version"]
    assert detail["passages"][0]["sm3"] == digest
    assert detail["shown"]["versions"] and detail["seconds"] == 12.5
    dumped = json.dumps(detail, ensure_ascii=False)
    assert ID_NUMBER not in dumped and ID_NUMBER[:14] not in dumped
    # no entry the review wrote holds the number (the catalogue's own entry of the record does)
    everything = json.dumps(
        list(
            AuditEntry.objects.filter(action__startswith="review_").values_list("detail", flat=True)
        ),
        ensure_ascii=False,
    )
    assert ID_NUMBER not in everything


# --- 会同审核 ----------------------------------------------------------------------------------
def test_a_unit_sees_only_items_on_its_own_fonds(archive: Archive, task_of: Any, walk: Any) -> None:
    _, own = task_of(2, "Z109")
    _, other = task_of(1, "Z110")
    for item in own + other:
        walk(item, OPEN, stop="unit")
    listed = {i.pk for i in services.unit_items(archive.users["unit109"])}
    assert listed == {i.pk for i in own}
    assert {i.pk for i in services.unit_items(archive.users["unit110"])} == {other[0].pk}
    assert not services.unit_items(archive.users["r1"]).exists()  # not a unit


def test_a_unit_answering_for_another_units_record_saves_nothing(
    archive: Archive, task_of: Any, walk: Any
) -> None:
    _, own = task_of(3, "Z109")
    _, (foreign,) = task_of(1, "Z110")
    for item in [*own, foreign]:
        walk(item, OPEN, stop="unit")
    unit = archive.users["unit109"]
    with pytest.raises(ReviewError, match="不是本单位的档案") as alone:
        services.unit_opinion([fresh(foreign)], unit, agrees=True)
    assert alone.value.message_en
    batch = [fresh(own[0]), fresh(own[1]), fresh(foreign), fresh(own[2])]
    with pytest.raises(ReviewError, match="未保存任何意见"):
        services.unit_opinion(batch, unit, agrees=True)
    assert not UnitOpinion.objects.exists()
    assert all(fresh(i).stage == "unit" and fresh(i).unit_state == "pending" for i in batch)
    assert not AuditEntry.objects.filter(action="review_unit_opinion").exists()
    # in bulk on its own records only, it goes through
    assert services.unit_opinion([fresh(i) for i in own], unit, agrees=True) == 3
    assert {fresh(i).stage for i in own} == {"approval"}


def test_disagreement_goes_back_to_the_archives_who_accept_or_keep(
    archive: Archive, task_of: Any, walk: Any
) -> None:
    u = archive.users
    _, (accepted, kept) = task_of(2)
    for item in (accepted, kept):
        walk(item, OPEN, stop="unit")
    with pytest.raises(ReviewError, match="理由"):
        services.unit_opinion([fresh(accepted)], u["unit109"], agrees=False, decision="deferred",
                              ground="art8-3")  # fmt: skip
    with pytest.raises(ReviewError, match="第八条"):
        services.unit_opinion([fresh(accepted)], u["unit109"], agrees=False, decision="deferred",
                              note="涉及个人隐私")  # fmt: skip
    services.unit_opinion(
        [fresh(accepted), fresh(kept)], u["unit109"], agrees=False, decision="deferred",
        ground="art8-3", note="涉及职工病史",
    )  # fmt: skip
    assert {(fresh(i).stage, fresh(i).unit_state) for i in (accepted, kept)} == {
        ("unit", "disputed")
    }
    # the dispute waits in the senior's queue
    assert {i.pk for i in services.queue(u["senior"])} >= {accepted.pk, kept.pk}
    with pytest.raises(PermissionDenied):
        services.answer_dispute(fresh(accepted), u["r1"], accept=True)
    services.answer_dispute(fresh(accepted), u["senior"], accept=True)
    done = fresh(accepted)
    assert (done.stage, done.unit_state, done.decision, done.ground) == (
        "approval",
        "agreed",
        "deferred",
        "art8-3",
    )
    assert done.rereview_year and done.rereview_year > timezone.localdate().year
    services.answer_dispute(fresh(kept), u["senior"], accept=False)
    back = fresh(kept)
    assert (back.stage, back.unit_state, back.decision) == ("unit", "pending", "open")
    assert back.pk in {i.pk for i in services.unit_items(u["unit109"])}
    services.unit_opinion([back], u["unit109"], agrees=True, note="协商一致")
    assert fresh(kept).stage == "approval"
    services.decide(fresh(kept), u["senior"], OPEN)
    assert fresh(kept).stage == "published"
    with pytest.raises(ReviewError):
        services.answer_dispute(fresh(kept), u["senior"], accept=True)  # nothing to answer


def test_progress_per_stage_fonds_and_reviewer(archive: Archive, task_of: Any) -> None:
    task, items = task_of(3, reviewers=[archive.users["r1"], archive.users["r2"]])
    services.decide(items[0], archive.users["r1"], OPEN)
    p = services.progress(task)
    assert p["total"] == 3
    assert dict((code, n) for code, _, n in p["stages"])["second"] == 1
    assert p["by_fonds"] == [{"fonds": "Z109 兰州市民政局", "total": 3, "done": 1}]
    assert {r["reviewer"]: (r["total"], r["done"]) for r in p["by_reviewer"]} == {
        "reviewer_li": (2, 1), "reviewer_wang": (1, 0),
    }  # fmt: skip


@pytest.mark.clamd
def test_transfer_opinions_of_an_accepted_transfer_prefill_the_proposal(
    archive: Archive,
    make_task: Any,
    tmp_path: Any,
    settings: Any,
    clamd_scanner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """What the unit said at transfer (实施条例 art 30) reaches the reviewer of its records."""
    from lantai.catalog.models import Record
    from lantai.demo.transfer import make_transfer
    from lantai.ingest import services as ingest

    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    source = make_transfer(tmp_path / "pkg", 2, kinds=("pdf",))
    t = ingest.receive(
        source, "兰州市民政局", fonds=archive.z109, title="2020年文书档案移交",
        opening_opinion="涉及个人信息，建议延期开放", disclosure_status="未主动公开",
        classification_changes="无",
    )  # fmt: skip
    report = ingest.run_check(t.versions.get(), scanner=clamd_scanner[0])
    assert report.result == "pass"
    with django_capture_on_commit_callbacks(execute=True):
        ingest.accept(t)
    record = Record.objects.filter(fonds=archive.z109).order_by("pk").last()
    assert record is not None
    opinions = services.transfer_opinions(record)
    assert [(o["opening_opinion"], o["disclosure_status"], o["classification_changes"])
            for o in opinions] == [("涉及个人信息，建议延期开放", "未主动公开", "无")]  # fmt: skip
    assert services.suggested_decision(opinions) == "deferred"
    # a record transferred without opinions has none
    plain = archive.record("未经移交的档案")
    assert services.transfer_opinions(plain) == []
