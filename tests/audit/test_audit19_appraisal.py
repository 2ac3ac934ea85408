"""Audit of issue 19 (appraisal and disposal): defects found from outside, each written as a
failing test before it was fixed and kept as a regression test."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from lantai.appraisal import disposals
from lantai.appraisal import services as ap
from lantai.appraisal.models import Disposal
from lantai.core.models import AuditEntry
from tests.appraisal.conftest import Group, group, make_record  # noqa: F401 - fixture

DAY = date(2026, 12, 1)


def _approved_disposal(group: Group) -> Disposal:  # noqa: F811
    a = make_record(group.category, 1, pages=12)
    task = ap.create_task(group.alice, kind="expiry", name="到期鉴定", select="codes",
                          codes=[a.reference_code])  # fmt: skip
    made = ap.propose(group.alice, task, list(task.items.values_list("pk", flat=True)),
                      outcome="destroy", reason="期满，无保存价值")  # fmt: skip
    ap.decide(group.bob, task, [p.pk for p in made], reason="同意销毁")
    disposal = disposals.prepare_disposal(group.alice, [a.reference_code], reason="期满销毁")
    return disposals.approve_disposal(group.carol, disposal, note="同意")


def test_a_disposal_executed_from_two_tabs_is_executed_once(group: Group) -> None:  # noqa: F811
    disposal = _approved_disposal(group)
    tab1 = Disposal.objects.get(pk=disposal.pk)  # both pages loaded before either click
    tab2 = Disposal.objects.get(pk=disposal.pk)
    done = disposals.execute_disposal(group.alice, tab1, executed_on=DAY, method="碎纸机粉碎",
                               place="本馆销毁室", executors="张三、李四")  # fmt: skip
    assert done.status == "completed"
    with pytest.raises(ap.AppraisalError):
        disposals.execute_disposal(group.bob, tab2, executed_on=DAY, method="焚烧",
                            place="外单位", executors="王五")  # fmt: skip
    kept = Disposal.objects.get(pk=disposal.pk)
    assert (kept.executors, kept.method, kept.executed_by_id) == (
        "张三、李四",
        "碎纸机粉碎",
        group.alice.pk,
    )
    assert AuditEntry.objects.filter(action="disposal_execute").count() == 1


def test_the_english_appraisal_page_names_kinds_in_english(group: Group) -> None:  # noqa: F811
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(group.alice)
    body = client.get("/appraisal/").content.decode()
    assert 'lang="en"' in body
    assert "到期鉴定" not in body and "密级鉴定" not in body and "价值鉴定" not in body


def test_a_member_of_another_archives_cannot_approve_or_execute_a_disposal(group: Group) -> None:  # noqa: F811
    from lantai.catalog import services as catalog
    from lantai.core import accounts

    disposal = _approved_disposal(group)
    Disposal.objects.filter(pk=disposal.pk).update(status="draft", approved_by=None, list_sm3="")
    county = catalog.create_repository("451021", "临江县档案馆", level="county")
    outsider = accounts.create_user(
        "county_rv", role="reviewer", password="Pw-12345678x", clearance=4
    )
    accounts.grant(outsider, actor=None, repository_ids=[county.pk])
    row = disposal.items.get()
    assert not catalog.visible_records(outsider).filter(pk=row.record_key).exists()
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/appraisal/disposals/{disposal.pk}/").status_code == 404
    with pytest.raises(ap.AppraisalError):
        disposals.approve_disposal(outsider, Disposal.objects.get(pk=disposal.pk), note="同意")


def test_a_record_lent_out_of_the_stacks_is_not_destroyed(group: Group) -> None:  # noqa: F811
    from lantai.catalog import services as catalog
    from lantai.stacks import lending
    from lantai.stacks import services as st
    from lantai.stacks.models import Loan

    disposal = _approved_disposal(group)
    record = disposal.items.get().record
    building = st.create_building(None, catalog.default_repository(), "K1", "一号库房楼")
    room = st.create_room(None, building, "K1-101", "纸质档案库一", "paper")
    st.create_shelf(None, room, "A-01", "1", 3)
    box = st.create_box(None, "A-01", "B-0001", 40)
    st.place_records(None, box, [record.reference_code])
    lending.lend_record(
        None, record, "exhibition", "2099-01-01", borrower="省博物馆", reason="红色展"
    )
    with pytest.raises(ap.AppraisalError):
        disposals.execute_disposal(group.alice, Disposal.objects.get(pk=disposal.pk), executed_on=DAY,
                            method="碎纸机粉碎", place="本馆销毁室", executors="张三、李四")  # fmt: skip
    assert Loan.objects.filter(returned_at__isnull=True).count() == 1
