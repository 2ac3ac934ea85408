"""Appraisal and disposal services: what is due, proposals and decisions by two members of the
appraisal group, decisions written into the catalogue, the report frozen at closing, and disposal
by two people with a destruction list that outlives its records."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from lantai.appraisal import disposals
from lantai.appraisal import services as ap
from lantai.appraisal.models import Disposal, DisposalItem, Proposal, RetentionMark
from lantai.catalog.models import Record
from lantai.core.models import AuditEntry

from .conftest import Group, make_record

DAY = date(2026, 12, 7)


def codes(rows: Any) -> list[str]:
    return [r.reference_code for r in rows]


def test_due_records_follow_year_plus_period(group: Group) -> None:
    d10 = make_record(group.category, 1, year=2010, retention="D10")  # ran out 2020-12-31
    d10_late = make_record(group.category, 2, year=2016, retention="D10")  # runs out 2026-12-31
    d30 = make_record(group.category, 3, year=1990, retention="D30")  # ran out 2020-12-31
    make_record(group.category, 4, year=1950, retention="Y")  # never
    old = make_record(group.category, 5, year=2000, retention="短期")  # 短期 = D10
    assert old.retention == "D10" and old.retention_legacy == "短期"
    assert codes(ap.due_records(DAY)) == codes([d30, old, d10])  # in 档号 order
    assert codes(ap.due_records(date(2020, 12, 31))) == codes([old])
    assert codes(ap.due_records(date(2021, 1, 1))) == codes([d30, old, d10])
    assert d10_late.reference_code not in codes(ap.due_records(date(2026, 12, 31)))
    assert d10_late.reference_code in codes(ap.due_records(date(2027, 1, 1)))


def test_expiry_task_proposals_decisions_and_report(group: Group) -> None:
    a = make_record(group.category, 1, year=2010, retention="D10")
    b = make_record(group.category, 2, year=2010, retention="D10")
    c = make_record(group.category, 3, year=2010, retention="D10")
    task = ap.create_task(group.alice, kind="expiry", name="2026年到期鉴定", basis="实施条例第二十四条",
                          select="due", on=DAY)  # fmt: skip
    assert task.items.count() == 3
    items = {i.reference_code: i.pk for i in task.items.all()}
    # bulk: one reason for two rows
    made = ap.propose(group.alice, task, [items[a.reference_code], items[b.reference_code]],
                      outcome="destroy", reason="事务性文件，已无查考价值")  # fmt: skip
    assert len(made) == 2
    keep = ap.propose(group.alice, task, ap.items_by_codes(task, [c.reference_code]),
                      outcome="keep", new_retention="D10", reason="仍有查考价值")  # fmt: skip
    # deciding one's own proposal is refused
    with pytest.raises(ap.AppraisalError, match="本人提出的意见"):
        ap.decide(group.alice, task, [made[0].pk], reason="同意")
    # the task cannot close while rows are undecided
    with pytest.raises(ap.AppraisalError, match="3 条候选档案未作出鉴定决定"):
        ap.close_task(group.bob, task, conclusion="完成")
    decided = ap.decide(group.bob, task, [p.pk for p in made + keep], reason="鉴定小组讨论通过")
    assert {d.outcome for d in decided} == {"destroy", "keep"}
    c.refresh_from_db()
    mark = RetentionMark.objects.get(record=c)
    assert mark.retention == "D10" and mark.expires_on == date(DAY.year + 10, 12, 31)
    # kept on: no longer due, although 年度 + period has run out
    assert c.reference_code not in codes(ap.due_records(DAY))
    assert AuditEntry.objects.filter(action="appraisal_decide").count() == 1
    ap.close_task(group.carol, task, conclusion="销毁2件，继续保存1件")
    task.refresh_from_db()
    assert task.status == "closed" and len(task.report_sm3) == 64
    report = ap.report_data(task)
    assert report["final"] and report["counts"] == {"继续保存": 1, "销毁": 2}
    assert report["rows"][0]["proposer"] == "alice" and report["rows"][0]["decided_by"] == "bob"
    with pytest.raises(ap.AppraisalError, match="已完成"):
        ap.propose(group.bob, task, [items[a.reference_code]], outcome="destroy", reason="x")


def test_bad_proposals_are_refused(group: Group) -> None:
    y = make_record(group.category, 1, year=1950, retention="Y")
    d = make_record(group.category, 2, year=2010, retention="D10")
    task = ap.create_task(group.alice, kind="value", name="价值鉴定", select="codes",
                          codes=[y.reference_code, d.reference_code])  # fmt: skip
    third = make_record(group.category, 3, year=2010, retention="D10")
    other = ap.create_task(
        group.alice, kind="expiry", name="到期", select="codes", codes=[third.reference_code]
    )
    y_item = task.items.get(reference_code=y.reference_code).pk
    d_item = task.items.get(reference_code=d.reference_code).pk
    # a value appraisal does not destroy; an expiry appraisal of a permanent record cannot
    with pytest.raises(ap.AppraisalError, match="价值鉴定不能提出“销毁”"):
        ap.propose(group.alice, task, [d_item], outcome="destroy", reason="无价值")
    y2 = make_record(group.category, 4, year=1951, retention="Y")
    expiry = ap.create_task(group.bob, kind="expiry", name="含永久", select="codes",
                            codes=[y2.reference_code])  # fmt: skip
    with pytest.raises(ap.AppraisalError, match="“永久”的档案不得销毁"):
        ap.propose(group.alice, expiry, [expiry.items.get().pk], outcome="destroy", reason="x")
    # a row of another task
    with pytest.raises(ap.AppraisalError, match="不属于鉴定任务"):
        ap.propose(group.alice, task, [other.items.get().pk], outcome="unchanged", reason="x")
    with pytest.raises(ap.AppraisalError, match="不在鉴定任务“价值鉴定”的候选档案中"):
        ap.items_by_codes(task, ["Z109-WS·2099-D10-BGS-0001"])
    with pytest.raises(ap.AppraisalError, match="须长于原期限"):
        ap.propose(
            group.alice, task, [d_item], outcome="raise_retention", new_retention="D10", reason="x"
        )
    with pytest.raises(ap.AppraisalError, match="理由"):
        ap.propose(group.alice, task, [d_item], outcome="unchanged", reason="  ")
    with pytest.raises(ap.CatalogError, match="无此权限"):
        ap.propose(group.cataloguer, task, [d_item], outcome="unchanged", reason="x")
    ap.propose(
        group.alice,
        task,
        [y_item],
        outcome="lower_retention",
        new_retention="D30",
        reason="价值不高",
    )
    proposal = Proposal.objects.get(item_id=y_item)
    ap.decide(group.carol, task, [proposal.pk], reason="同意降低")
    y.refresh_from_db()
    assert y.retention == "D30"
    assert AuditEntry.objects.filter(
        action="update", target_type="record", target_id=str(y.pk)
    ).exists()


def test_classification_review_declassifies(group: Group) -> None:
    old = make_record(group.category, 1, year=2000, retention="D30", classification="秘密")
    stated = make_record(group.category, 2, year=2010, retention="D30", classification="机密",
                         secrecy_period="10年")  # fmt: skip
    young = make_record(group.category, 3, year=2020, retention="D30", classification="机密")
    assert codes(ap.classification_due(DAY)) == codes([old, stated])
    task = ap.create_task(
        group.carol, kind="classification", name="密级鉴定", select="classification_due", on=DAY
    )
    items = list(task.items.order_by("reference_code"))
    ap.propose(group.carol, task, [items[0].pk], outcome="declassify", reason="已无保密必要")
    ap.propose(group.carol, task, [items[1].pk], outcome="reclassify", new_classification="confidential",
               new_secrecy_period="20年", reason="降为秘密")  # fmt: skip
    ap.decide(group.alice, task, list(Proposal.objects.filter(item__task=task).values_list("pk", flat=True)),
              reason="同意")  # fmt: skip
    old.refresh_from_db()
    stated.refresh_from_db()
    assert (old.classification, old.classification_level, old.secrecy_period) == ("public", 0, "")
    assert (stated.classification, stated.classification_level) == ("confidential", 2)
    assert young.reference_code not in codes(ap.classification_due(DAY))


def _destroy_decided(group: Group, *records: Any) -> Any:
    task = ap.create_task(group.alice, kind="expiry", name="到期鉴定", select="codes",
                          codes=[r.reference_code for r in records])  # fmt: skip
    made = ap.propose(group.alice, task, list(task.items.values_list("pk", flat=True)),
                      outcome="destroy", reason="期满，无保存价值")  # fmt: skip
    ap.decide(group.bob, task, [p.pk for p in made], reason="同意销毁")
    return task


def test_disposal_needs_two_people_and_destroy_decisions(group: Group) -> None:
    a = make_record(group.category, 1, pages=12)
    b = make_record(group.category, 2, pages=5)
    kept = make_record(group.category, 3)
    _destroy_decided(group, a, b)
    with pytest.raises(ap.AppraisalError, match="没有“销毁”的鉴定决定"):
        disposals.prepare_disposal(
            group.alice, [a.reference_code, kept.reference_code], reason="期满销毁"
        )
    disposal = disposals.prepare_disposal(
        group.alice, [a.reference_code, b.reference_code], reason="期满销毁"
    )
    assert disposal.number.startswith("XH-") and disposal.items.count() == 2
    with pytest.raises(ap.AppraisalError, match="已列入另一份销毁清册"):
        disposals.prepare_disposal(group.bob, [a.reference_code], reason="再列一次")
    # executing before approval, approving one's own list: refused
    with pytest.raises(ap.AppraisalError, match="须经监销人批准"):
        disposals.execute_disposal(
            group.alice, disposal, executed_on=DAY, method="碎纸", place="库房", executors="甲"
        )
    with pytest.raises(ap.AppraisalError, match="销毁须由两人办理"):
        disposals.approve_disposal(group.alice, disposal)
    assert Disposal.objects.get(pk=disposal.pk).status == "draft"
    disposals.approve_disposal(group.carol, disposal, note="同意")
    with pytest.raises(ap.AppraisalError, match="销毁方式"):
        disposals.execute_disposal(
            group.alice, disposal, executed_on=DAY, method=" ", place="库房", executors="甲"
        )
    done = disposals.execute_disposal(group.alice, disposal, executed_on=date(2026, 12, 1),
                               method="碎纸机粉碎", place="本馆销毁室", executors="张三、李四")  # fmt: skip
    assert done.status == "completed"
    assert not Record.objects.filter(pk__in=[a.pk, b.pk]).exists()
    # the list outlives its records
    rows = disposals.list_rows(done)
    assert [(r["reference_code"], r["pages"], r["retention"]) for r in rows] == [
        (a.reference_code, 12, "定期10年"), (b.reference_code, 5, "定期10年"),
    ]  # fmt: skip
    assert all(r["reason"] == "期满，无保存价值" and "鉴定任务" in r["decision"] for r in rows)
    assert all(r["decision"].endswith("：同意销毁") for r in rows)
    assert set(DisposalItem.objects.values_list("state", flat=True)) == {"removed"}
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"disposal_prepare", "disposal_approve", "disposal_execute", "delete"} <= actions


def test_a_tampered_list_is_not_executed(group: Group) -> None:
    a = make_record(group.category, 1)
    _destroy_decided(group, a)
    disposal = disposals.prepare_disposal(group.alice, [a.reference_code], reason="期满销毁")
    disposals.approve_disposal(group.bob, disposal)
    DisposalItem.objects.filter(disposal=disposal).update(title="改过的题名")
    with pytest.raises(ap.AppraisalError, match="SM3 不符"):
        disposals.execute_disposal(
            group.alice, disposal, executed_on=DAY, method="碎纸", place="库房", executors="甲"
        )
    assert Record.objects.filter(pk=a.pk).exists()


def test_a_record_another_room_holds_is_not_destroyed(group: Group) -> None:
    from lantai.review.models import ReviewItem, ReviewTask

    a = make_record(group.category, 1)
    b = make_record(group.category, 2)
    _destroy_decided(group, a, b)
    disposal = disposals.prepare_disposal(
        group.alice, [a.reference_code, b.reference_code], reason="期满销毁"
    )
    disposals.approve_disposal(group.bob, disposal)
    review = ReviewTask.objects.create(repository=a.repository, name="开放审核")
    ReviewItem.objects.create(task=review, record=b)
    with pytest.raises(ap.AppraisalError, match="仍被其他业务引用.*BGS-0002（开放审核）"):
        disposals.execute_disposal(
            group.alice, disposal, executed_on=DAY, method="碎纸", place="库房", executors="甲"
        )
    assert Record.objects.filter(pk__in=[a.pk, b.pk]).count() == 2  # nothing half done
    assert Disposal.objects.get(pk=disposal.pk).status == "approved"


def test_demo_makes_a_completed_disposal(group: Group) -> None:
    from lantai.appraisal.demo import make_disposal

    assert make_disposal(group.alice, group.bob, on=DAY) == {}  # nothing due yet
    records = [make_record(group.category, n) for n in range(1, 5)]
    made = make_disposal(group.alice, group.bob, on=DAY)
    assert made["status"] == "completed" and made["destroyed"] == 3 and made["kept"] == 1
    assert Record.objects.filter(pk__in=[r.pk for r in records]).count() == 1
    disposal = Disposal.objects.get(number=made["disposal"])
    assert disposal.prepared_by == group.alice and disposal.approved_by == group.bob


def test_rows_above_a_members_clearance_are_hidden_from_them(group: Group) -> None:
    from lantai.core import accounts

    low = accounts.create_user(
        "erin", role="reviewer", password="Pw-12345678x", scope_all=True, clearance=1
    )
    secret = make_record(group.category, 1, year=2000, classification="机密")
    task = ap.create_task(group.alice, kind="classification", name="密级鉴定", select="codes",
                          codes=[secret.reference_code])  # fmt: skip
    item = task.items.get()
    with pytest.raises(ap.AppraisalError, match="密级高于您的涉密等级"):
        ap.propose(low, task, [item.pk], outcome="declassify", reason="x")
    made = ap.propose(group.alice, task, [item.pk], outcome="declassify", reason="已无保密必要")
    with pytest.raises(ap.AppraisalError, match="密级高于您的涉密等级"):
        ap.decide(low, task, [made[0].pk], reason="同意")
    shown = disposals.shown_rows(low, ap.report_data(task)["rows"])
    assert shown[0]["reference_code"] == secret.reference_code
    assert secret.title not in str(shown) and "已无保密必要" not in str(shown)
    assert disposals.shown_rows(group.bob, ap.report_data(task)["rows"])[0]["title"] == secret.title


def test_a_volume_is_destroyed_with_its_documents(group: Group) -> None:
    from lantai.catalog import services as catalog

    fonds = group.category.fonds
    volumes = catalog.create_category(fonds, "KJ", arrangement="volume", code_rule="volume-ws",
                                      volume_item_rule="volume-item-ws")  # fmt: skip
    volume, issues = catalog.save_record(
        volumes, {"reference_code": "Z109-KJ·2010-D10-001", "title": "2010年基建工程案卷",
                  "retention": "D10", "year": "2010", "pages": 40, "author": "基建处",
                  "date": "2010-06-01"},
    )  # fmt: skip
    assert volume is not None, issues
    inside = [
        Record.objects.create(
            repository=volume.repository,
            fonds=fonds,
            category=volumes,
            parent=volume,
            level="volume_item",
            reference_code=f"Z109-KJ·2010-D10-001-{n:03d}",
            sequence_prefix="Z109-KJ·2010-D10-001-",
            sequence_number=n,
            year=2010,
            retention="D10",
            title=f"卷内文件{n}",
        )  # fmt: skip
        for n in (1, 2, 3)
    ]
    # the due list names the 案卷, not its 卷内文件
    assert codes(ap.due_records(DAY)) == ["Z109-KJ·2010-D10-001"]
    _destroy_decided(group, volume)
    disposal = disposals.prepare_disposal(group.alice, [volume.reference_code], reason="期满销毁")
    assert (
        disposals.list_rows(disposal)[0]["items"] == 4
        and disposals.list_rows(disposal)[0]["pages"] == 40
    )
    disposals.approve_disposal(group.bob, disposal)
    disposals.execute_disposal(
        group.alice, disposal, executed_on=DAY, method="碎纸", place="库房", executors="甲"
    )
    assert not Record.objects.filter(pk__in=[volume.pk, *(r.pk for r in inside)]).exists()


def test_a_record_whose_box_is_lent_out_is_not_destroyed_and_a_returned_one_is(
    group: Group,
) -> None:
    """AUDIT19-15: the open loan of the box the record lies in holds it too (found through the
    record's one-to-one placement); once the box is back the disposal runs."""
    from django.utils import timezone

    from lantai.catalog import services as catalog
    from lantai.stacks import lending
    from lantai.stacks import services as st
    from lantai.stacks.models import Loan

    a = make_record(group.category, 7, pages=3)
    task = ap.create_task(group.alice, kind="expiry", name="到期鉴定", select="codes",
                          codes=[a.reference_code])  # fmt: skip
    made = ap.propose(group.alice, task, list(task.items.values_list("pk", flat=True)),
                      outcome="destroy", reason="期满")  # fmt: skip
    ap.decide(group.bob, task, [p.pk for p in made], reason="同意销毁")
    disposal = disposals.prepare_disposal(group.alice, [a.reference_code], reason="期满销毁")
    disposal = disposals.approve_disposal(group.carol, disposal, note="同意")
    building = st.create_building(None, catalog.default_repository(), "K9", "九号库房楼")
    room = st.create_room(None, building, "K9-101", "纸质档案库九", "paper")
    st.create_shelf(None, room, "Z-01", "1", 3)
    box = st.create_box(None, "Z-01", "B-0901", 40)
    st.place_records(None, box, [a.reference_code])
    loan = lending.lend_box(
        None, box, "exhibition", "2099-01-01", borrower="省博物馆", reason="展览"
    )
    assert list(disposals.lent_out([a.pk])) == [a.pk]
    with pytest.raises(ap.AppraisalError, match="借出未归还"):
        disposals.execute_disposal(group.alice, disposal, executed_on=date(2026, 12, 1),
                            method="粉碎", place="本馆", executors="张三")  # fmt: skip
    assert Disposal.objects.get(pk=disposal.pk).status == "approved"
    Loan.objects.filter(pk=loan.pk).update(returned_at=timezone.now())
    assert disposals.lent_out([a.pk]) == {}
    done = disposals.execute_disposal(group.alice, disposal, executed_on=date(2026, 12, 1),
                               method="粉碎", place="本馆", executors="张三")  # fmt: skip
    assert done.status == "completed"
