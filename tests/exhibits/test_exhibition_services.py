"""Building, reviewing, publishing, scheduling, withdrawing and restoring exhibitions through the
services: states, permissions, submitter ≠ approver, validation that loses nothing, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from lantai.core.models import AuditEntry
from lantai.exhibits import exhibitions as ex
from lantai.exhibits.exhibitions import ExhibitionError

from .exhibition_fixtures import Hall, build, item, publish


def test_build_submit_approve_publish(hall: Hall) -> None:
    exhibition = build(hall)
    assert exhibition.status == "draft" and not ex.is_visible(exhibition)
    ex.submit(hall.users["curator"], exhibition)
    exhibition.refresh_from_db()
    assert exhibition.status == "review" and not ex.is_visible(exhibition)
    version = ex.approve(hall.users["publisher"], exhibition, note="首展")
    exhibition.refresh_from_db()
    assert (exhibition.status, exhibition.published_id, version.number) == (
        "published",
        version.pk,
        1,
    )
    assert ex.is_visible(exhibition)
    assert version.snapshot["content"]["sections"][0]["pages"][1]["slug"] == "notices"
    actions = list(
        AuditEntry.objects.filter(target_type="exhibition").values_list("action", flat=True)
    )
    for action in (
        "exhibition_create",
        "exhibition_edit",
        "exhibition_submit",
        "exhibition_publish",
    ):
        assert action in actions


def test_the_submitter_cannot_approve_their_own_submission(hall: Hall, settings: Any) -> None:
    exhibition = build(hall)
    ex.submit(hall.users["curator"], exhibition)
    with pytest.raises(ExhibitionError, match="不能审核发布本人提交的展览"):
        ex.approve(hall.users["curator"], exhibition)
    settings.EXHIBITION_SELF_APPROVAL = True  # a single-curator archives
    ex.approve(hall.users["curator"], exhibition)
    entry = AuditEntry.objects.filter(action="exhibition_publish").get()
    assert entry.detail["self_approved"] is True


def test_permissions(hall: Hall) -> None:
    with pytest.raises(ExhibitionError, match="没有此权限"):
        ex.create(hall.users["reader"], slug="x", title="x", repository=hall.repository)
    exhibition = build(hall)
    ex.submit(hall.users["cataloguer"], exhibition)  # CURATE may submit
    with pytest.raises(ExhibitionError, match="没有此权限"):
        ex.approve(hall.users["cataloguer"], exhibition)  # but not publish
    assert ex.staff_exhibitions(hall.users["reader"]).count() == 0


def test_items_may_only_name_records_the_curator_may_see(hall: Hall) -> None:
    from lantai.catalog.models import Record

    exhibition = build(hall)
    hidden = Record.objects.filter(pk=hall.closed_record.pk)
    hidden.update(classification_level=3)  # above the curator's clearance
    with pytest.raises(ExhibitionError, match="不在您的查阅范围内"):
        ex.add_block(hall.users["curator"], exhibition, 0, 0,
                     {"kind": "image", "items": [item(hall, hall.closed_record)]})  # fmt: skip
    with pytest.raises(ExhibitionError, match="不属于档案"):  # a page of another record
        ex.add_block(hall.users["curator"], exhibition, 0, 0,
                     {"kind": "image", "items": [{**item(hall), "record": hall.other_record.pk}]})  # fmt: skip


def test_an_invalid_edit_changes_nothing_and_names_the_rule(hall: Hall) -> None:
    exhibition = build(hall)
    before = exhibition.content
    with pytest.raises(ExhibitionError) as caught:
        ex.add_block(
            hall.users["curator"],
            exhibition,
            0,
            1,
            {"kind": "image", "items": [item(hall, alt="")]},
        )
    assert caught.value.problems == [
        "第1部分第2页第3块（图片）第1幅图：缺少替代文字（无障碍要求每幅图片都有替代文字）"
    ]
    exhibition.refresh_from_db()
    assert exhibition.content == before
    with pytest.raises(ExhibitionError, match="网址名“notices”与本展览的另一页重复"):
        ex.add_page(hall.users["curator"], exhibition, 0, "notices", "重复")
    with pytest.raises(ExhibitionError, match="不存在"):
        ex.delete_block(hall.users["curator"], exhibition, 0, 5, 0)


def test_moves_and_deletes(hall: Hall) -> None:
    user, exhibition = hall.users["curator"], build(hall)
    ex.move_page(user, exhibition, 0, 1, -1)
    exhibition.refresh_from_db()
    assert [p["slug"] for p in exhibition.content["sections"][0]["pages"]] == [
        "notices",
        "proclamation",
    ]
    ex.move_block(user, exhibition, 0, 0, 1, -1)
    exhibition.refresh_from_db()
    assert [b["kind"] for b in exhibition.content["sections"][0]["pages"][0]["blocks"]] == [
        "quote",
        "gallery",
    ]
    ex.delete_block(user, exhibition, 0, 0, 0)
    ex.add_section(user, exhibition, "第二部分")
    ex.move_section(user, exhibition, 1, -1)
    exhibition.refresh_from_db()
    assert [s["title"] for s in exhibition.content["sections"]] == ["第二部分", "解放"]
    ex.delete_section(user, exhibition, 0)
    exhibition.refresh_from_db()
    assert len(exhibition.content["sections"]) == 1


def test_submission_refuses_closed_records_with_a_list_of_problems(hall: Hall) -> None:
    exhibition = build(hall)
    ex.add_block(hall.users["curator"], exhibition, 0, 0,
                 {"kind": "image", "items": [item(hall, hall.closed_record, alt="会议记录")]})  # fmt: skip
    ex.add_page(hall.users["curator"], exhibition, 0, "empty", "空页")
    with pytest.raises(ExhibitionError) as caught:
        ex.submit(hall.users["curator"], exhibition)
    problems = caught.value.problems
    assert (
        f"第1部分第1页第3块（图片）第1幅图：档案 {hall.closed_record.reference_code} 不是开放档案，不能公开展出"
        in problems
    )
    assert "第1部分第3页：这一页还没有内容块" in problems
    exhibition.refresh_from_db()
    assert exhibition.status == "draft"


def test_edits_wait_while_in_review(hall: Hall) -> None:
    exhibition = build(hall)
    ex.submit(hall.users["curator"], exhibition)
    with pytest.raises(ExhibitionError, match="审核中"):
        ex.add_section(hall.users["curator"], exhibition, "新")
    ex.reject(hall.users["curator"], exhibition)  # the submitter recalls it
    exhibition.refresh_from_db()
    assert exhibition.status == "draft"
    ex.add_section(hall.users["curator"], exhibition, "新")


def test_scheduled_publication_and_withdrawal_need_no_job(hall: Hall) -> None:
    now = timezone.now()
    exhibition = build(hall)
    publish(
        hall,
        exhibition,
        publish_at=now + dt.timedelta(days=1),
        withdraw_at=now + dt.timedelta(days=3),
    )
    exhibition.refresh_from_db()
    assert not ex.is_visible(exhibition)
    assert ex.is_visible(exhibition, now + dt.timedelta(days=2))
    assert not ex.is_visible(exhibition, now + dt.timedelta(days=3))
    current, past = ex.hall(now + dt.timedelta(days=4))
    assert (current, [e.pk for e in past]) == ([], [exhibition.pk])
    with pytest.raises(ExhibitionError, match="晚于发布时间"):
        ex.schedule(hall.users["publisher"], exhibition, now, now - dt.timedelta(hours=1))


def test_withdraw_now(hall: Hall) -> None:
    exhibition = build(hall)
    publish(hall, exhibition)
    ex.withdraw(hall.users["publisher"], exhibition, "到期")
    exhibition.refresh_from_db()
    assert exhibition.status == "withdrawn" and not ex.is_visible(exhibition)
    assert ex.public_exhibition("red-guangxi") is None
    assert AuditEntry.objects.filter(action="exhibition_withdraw").exists()


def test_versions_and_restore(hall: Hall) -> None:
    user, exhibition = hall.users["curator"], build(hall)
    publish(hall, exhibition)
    ex.edit_section(user, exhibition, 0, "解放与新生")
    exhibition.refresh_from_db()
    ex.submit(user, exhibition)
    exhibition.refresh_from_db()
    assert ex.is_visible(exhibition)  # version 1 stays public while version 2 is reviewed
    ex.approve(hall.users["publisher"], exhibition)
    exhibition.refresh_from_db()
    assert [v.number for v in ex.versions(exhibition)] == [2, 1]
    assert exhibition.published.snapshot["content"]["sections"][0]["title"] == "解放与新生"
    ex.restore(user, exhibition, 1)
    exhibition.refresh_from_db()
    assert exhibition.content["sections"][0]["title"] == "解放"
    assert exhibition.published.number == 2  # the public version is untouched until approved
    with pytest.raises(ExhibitionError, match="版本 9 不存在"):
        ex.restore(user, exhibition, 9)


def test_create_refuses_bad_and_taken_slugs(hall: Hall) -> None:
    user = hall.users["curator"]
    with pytest.raises(ExhibitionError, match="网址名“Red Guangxi”不合规则"):
        ex.create(user, slug="Red Guangxi", title="x", repository=hall.repository)
    build(hall)
    with pytest.raises(ExhibitionError, match="已被另一个展览使用"):
        ex.create(user, slug="red-guangxi", title="x", repository=hall.repository)
