"""计划: which records a review task selects (formation + 25 years, early-open 门类, 保密期限,
records already under review, open records) and how a task is made (round-robin assignment, a
reproducible sample, the machine pre-screen run through the job queue)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest

from lantai.catalog.models import Record
from lantai.core.models import AuditEntry
from lantai.review import services
from tests.review.conftest import ID_NUMBER, Archive, item_of

pytestmark = pytest.mark.django_db


def codes(records: list[Any]) -> set[str]:
    return {r.reference_code for r in records}


def planned(archive: Archive, as_of: date, **kw: Any) -> services.Plan:
    return services.plan_records(
        archive.repository, as_of=as_of, user=archive.users["senior"], **kw
    )


def test_records_due_by_formation_date_plus_25_years(archive: Archive) -> None:
    due = archive.record("关于1999年救灾款发放的通知", date="20010531")
    not_yet = archive.record("关于2001年六月救灾工作的报告", date="20010602")
    leap = archive.record("关于闰日登记的通知", date="20000229")
    year_only = archive.record("二〇〇〇年度工作总结", date="20000101", year="2000")
    # a legacy record known by its year alone (the catalogue's form needs a date; old data lacks it)
    Record.objects.filter(pk=year_only.pk).update(date=None, open_due_date=None)
    plan = planned(archive, date(2026, 6, 1))
    assert due.reference_code in codes(plan.records)
    assert not_yet.reference_code not in codes(plan.records)
    # 29 February 2000 falls due on 28 February 2025, not on 1 March
    assert leap.reference_code not in codes(planned(archive, date(2025, 2, 27)).records)
    assert leap.reference_code in codes(planned(archive, date(2025, 2, 28)).records)
    # a record with only its year may have been formed on 31 December: due 31 December 2025
    assert year_only.reference_code not in codes(planned(archive, date(2025, 12, 30)).records)
    assert year_only.reference_code in codes(planned(archive, date(2025, 12, 31)).records)
    assert not plan.excluded  # nothing classified here


def test_early_open_category_is_selected_only_when_chosen(archive: Archive) -> None:
    science = archive.record("2010年科研项目成果鉴定材料", category=archive.kj109, date="20100605")
    paper = archive.record("2010年文书档案", date="20100605")
    as_of = date(2026, 6, 1)
    assert science.reference_code not in codes(planned(archive, as_of).records)
    chosen = planned(archive, as_of, early_categories=[archive.kj109])
    assert science.reference_code in codes(chosen.records)
    assert paper.reference_code not in codes(chosen.records)


@pytest.mark.parametrize(
    ("classification", "secrecy", "formed", "category", "selected", "until"),
    [
        ("绝密", "10年", "20000301", "WS", True, ""),  # its own period ran out in 2010
        ("秘密", "30年", "20000301", "WS", False, "2030-03-01"),  # not the default 10
        ("绝密", "", "20000301", "WS", False, "2030-03-01"),  # blank: 30 years for 绝密
        ("秘密", "长期", "19700301", "WS", False, "长期"),
        ("秘密", "", "20100301", "KJ", True, ""),  # early-open; blank 秘密: 10 years → 2020
        ("机密", "", "20100301", "KJ", False, "2030-03-01"),  # blank 机密: 20 years
    ],
)
def test_classified_records_wait_for_their_secrecy_period(
    archive: Archive,
    classification: str,
    secrecy: str,
    formed: str,
    category: str,
    selected: bool,
    until: str,
) -> None:
    cat = archive.kj109 if category == "KJ" else archive.ws109
    record = archive.record(
        f"{classification}文件", category=cat, date=formed, classification=classification,
        secrecy=secrecy,
    )  # fmt: skip
    plan = planned(archive, date(2026, 6, 1), early_categories=[archive.kj109])
    assert (record.reference_code in codes(plan.records)) is selected
    excluded = {e.record.reference_code: e.reason for e in plan.excluded}
    if selected:
        assert record.reference_code not in excluded
    else:
        assert "保密期限未满" in excluded[record.reference_code]
        assert until in excluded[record.reference_code]


def test_records_in_an_active_task_and_open_records_are_not_selected_again(
    archive: Archive, make_task: Any
) -> None:
    first = archive.record("关于救济款的通知", date="19850301")
    second = archive.record("关于救济粮的通知", date="19850302")
    already_open = archive.record("关于婚姻登记的通知", date="19850303", status="开放")
    as_of = date(2026, 6, 1)
    plan = planned(archive, as_of)
    assert codes(plan.records) == {first.reference_code, second.reference_code}
    make_task([first])
    again = planned(archive, as_of)
    assert codes(again.records) == {second.reference_code}
    assert already_open.reference_code not in codes(again.records)


def test_create_task_assigns_in_turn_and_draws_a_reproducible_sample(
    archive: Archive, make_task: Any
) -> None:
    records = [archive.record(f"关于第{n}批救济款的通知", date="19850301") for n in range(1, 9)]
    r1, r2 = archive.users["r1"], archive.users["r2"]
    task = make_task(records, reviewers=[r1, r2], sample_rate=0.5)
    items = [item_of(task, r) for r in records]
    assert [i.first_reviewer_id for i in items] == [r1.pk, r2.pk] * 4
    # the draw is recomputed from what the audit entry names (task, record, rate)
    entry = AuditEntry.objects.get(action="review_task_create", target_id=str(task.pk))
    rate = entry.detail["sample_rate"]
    assert rate == 0.5

    def drawn(record_id: int) -> bool:
        digest = hashlib.sha256(f"review-sample:{task.pk}:{record_id}".encode()).digest()
        return bool(int.from_bytes(digest[:8], "big") / 2**64 < rate)

    assert [i.sampled for i in items] == [drawn(r.pk) for r in records]
    everything = make_task([archive.record("全部抽查", date="19850301")], sample_rate=1.0)
    assert all(i.sampled for i in everything.items.all())
    none = make_task([archive.record("不抽查", date="19850301")], sample_rate=0.0)
    assert not any(i.sampled for i in none.items.all())


def test_create_task_screens_every_item_through_the_queue(archive: Archive, make_task: Any) -> None:
    risky = archive.record(
        "关于张三因患肺结核申请退休的报告", date="19850301",
        remarks=f"张三，身份证号{ID_NUMBER}，住兰州市城关区。",
    )  # fmt: skip
    plain = archive.record("关于召开全市档案工作会议的通知", date="19850302")
    task = make_task([risky, plain], reviewers=[archive.users["r1"]])
    item, other = item_of(task, risky), item_of(task, plain)
    assert item.stage == "first" and other.stage == "first"
    assert item.screened_at is not None and item.screen_error == ""
    spans = item.screening["spans"]
    ids = [s for s in spans if s["kind"] == "id18"]
    assert [(s["section"], s["text"]) for s in ids] == [("field:remarks", ID_NUMBER)]
    assert ids[0]["ground"] == "art8-3" and ids[0]["rule"] and ids[0]["version"]
    remarks = risky.remarks
    assert remarks[ids[0]["start"] : ids[0]["end"]] == ID_NUMBER
    # 张三 in the same sentence as 肺结核: the relational rule marks personal privacy
    assert any(s["kind"] == "privacy" and s["section"] == "field:title" for s in spans), spans
    assert set(item.screening["versions"]) >= {"patterns", "ner", "lexicons"}
    assert item.risk > other.risk
    # the queue puts the riskier item first
    queue = list(services.queue(archive.users["r1"], task))
    assert [q.pk for q in queue] == [item.pk, other.pk]


@pytest.mark.parametrize("until", ["2030年12月31日", "2030-12-31", "至2030年"])
def test_a_declassification_date_is_read_as_a_date(archive: Archive, until: str) -> None:
    record = archive.record("秘密文件", date="19900301", classification="秘密", secrecy=until)
    plan = planned(archive, date(2026, 6, 1))
    assert record.reference_code not in codes(plan.records)
    assert (
        "2030" in {e.record.reference_code: e.reason for e in plan.excluded}[record.reference_code]
    )


def test_create_task_refuses_a_record_already_under_review(
    archive: Archive, make_task: Any
) -> None:
    record = archive.record("关于救济款的通知")
    make_task([record])
    with pytest.raises(services.ReviewError):
        make_task([record], name="第二个任务")


def test_a_single_record_on_a_citizens_request(
    archive: Archive, django_capture_on_commit_callbacks: Any
) -> None:
    """利用即时审: a task for one record, whether due or not; never for an open one or twice."""
    senior = archive.users["senior"]
    wanted = archive.record("2015年低保名册", date="20150301")  # not due for ten years
    with django_capture_on_commit_callbacks(execute=True):
        task = services.request_task(senior, wanted, "公民查阅本人低保材料")
    assert task.kind == "request" and task.criteria == {"reason": "公民查阅本人低保材料"}
    assert [i.record_id for i in task.items.all()] == [wanted.pk]
    assert task.items.get().stage == "first"  # screened
    with pytest.raises(services.ReviewError, match="已在审核中"):
        services.request_task(senior, wanted, "再次申请")
    opened = archive.record("已开放档案", status="开放")
    with pytest.raises(services.ReviewError, match="已开放"):
        services.request_task(senior, opened, "申请")
