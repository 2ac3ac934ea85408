"""Registering donors, campaigns and accessions: validation with messages naming the field and
the rule, numbering per repository and year, permissions, audit entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lantai.catalog import services as catalog
from lantai.core.models import AuditEntry
from lantai.holdings import services as hs
from lantai.holdings.models import Accession, Donor
from lantai.standards.accessions import mask_id_number

from .conftest import Desk

RED = {"kind": "捐赠", "received_on": "2026-03-05", "item_count": 12, "description": "红色家书"}


def donor(desk: Desk, name: str = "韦国清家属") -> Donor:
    return hs.create_donor(
        desk.archivist,
        {
            "kind": "person",
            "name": name,
            "contact": "13800000000",
            "id_document": "450102195001011234",
        },
    )


def test_donor_keeps_only_the_masked_id_number(desk: Desk) -> None:
    d = donor(desk)
    d.refresh_from_db()
    assert d.id_document_masked == "450***********1234"
    assert "195001" not in d.id_document_masked
    assert mask_id_number("AB12") == "****"


def test_accessions_are_numbered_per_repository_and_year(desk: Desk) -> None:
    d = donor(desk)
    a1 = hs.create_accession(desk.archivist, desk.repo, d, RED)
    a2 = hs.create_accession(desk.archivist, desk.repo, d, {**RED, "received_on": "2026-04-01"})
    a3 = hs.create_accession(desk.archivist, desk.repo, d, {**RED, "received_on": "2025-12-30"})
    other = catalog.create_repository("X4501", "另一档案馆")
    a4 = hs.create_accession(desk.archivist, other, d, RED)
    assert [a1.number, a2.number, a3.number, a4.number] == [
        "ZJ-2026-0001", "ZJ-2026-0002", "ZJ-2025-0001", "ZJ-2026-0001",
    ]  # fmt: skip


def test_accession_stores_value_deed_and_restrictions(desk: Desk) -> None:
    campaign = hs.create_campaign(
        desk.archivist, desk.repo,
        {"name": "红色档案征集", "theme": "革命文献", "starts_on": "2026-01-01", "ends_on": "2026-12-31", "target_items": 2000},
    )  # fmt: skip
    a = hs.create_accession(
        desk.archivist, desk.repo, donor(desk),
        {**RED, "campaign": campaign, "appraised_value": "1500.5", "condition": "轻度破损",
         "deed_terms": "无偿捐赠，永久保存",
         "restrictions": [{"scope": "publication", "donor_lifetime": True, "text": "生前不得公布"},
                          {"scope": "access", "until": "2036-01-01", "text": "十年内仅供研究"}]},
    )  # fmt: skip
    summary = hs.accession_summary(Accession.objects.get(pk=a.pk))
    assert summary["campaign"] == "红色档案征集"
    assert a.appraised_value == Decimal("1500.50")
    assert [(r["scope"], r["until"], r["donor_lifetime"]) for r in summary["restrictions"]] == [
        ("access", "2036-01-01", False), ("publication", None, True),
    ]  # fmt: skip
    entry = AuditEntry.objects.filter(action="holdings.accession.create").get()
    assert entry.actor == "liming" and entry.detail["number"] == "ZJ-2026-0001"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "赠送"}, "征集方式（kind）须为 捐赠 / 征购 / 代存 / 复制 / 移交：赠送"),
        ({"received_on": ""}, "接收日期（received_on）必填"),
        ({"received_on": "2026-13-01"}, "接收日期（received_on）须为日期 YYYY-MM-DD：2026-13-01"),
        ({"received_on": (dt.date.today() + dt.timedelta(days=1)).isoformat()}, "接收日期（received_on）不得晚于今天"),
        ({"item_count": 0}, "件数（item_count）不得小于1：0"),
        ({"item_count": "十二"}, "件数（item_count）须为整数：十二"),
        ({"appraised_value": "-3"}, "估值（appraised_value）须为 0 至 1万亿元之间的金额：-3"),
        ({"restrictions": [{"scope": "display", "donor_lifetime": True, "text": "x"}]},
         "第1条限制的范围（scope）须为 access / publication / reproduction：display"),
        ({"restrictions": [{"scope": "access", "text": "x"}]}, "第1条限制须有期限"),
        ({"restrictions": [{"scope": "access", "until": "2030-01-01", "donor_lifetime": True, "text": "x"}]},
         "第1条限制只能有一种期限"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_the_field_and_rule(
    desk: Desk, change: dict, message: str
) -> None:
    d = donor(desk)
    with pytest.raises(hs.HoldingsError) as e:
        hs.create_accession(desk.archivist, desk.repo, d, {**RED, **change})
    assert message in str(e.value)
    assert not Accession.objects.exists()


def test_bad_donor_and_campaign_are_refused(desk: Desk) -> None:
    with pytest.raises(hs.HoldingsError, match="名称（name）必填"):
        hs.create_donor(desk.archivist, {"kind": "person", "name": " "})
    with pytest.raises(hs.HoldingsError, match="捐赠者类型（kind）须为 person"):
        hs.create_donor(desk.archivist, {"kind": "family", "name": "某家族"})
    with pytest.raises(hs.HoldingsError, match="结束日期（ends_on）不得早于开始日期"):
        hs.create_campaign(
            desk.archivist,
            desk.repo,
            {"name": "x", "starts_on": "2026-05-01", "ends_on": "2026-04-01"},
        )
    other = catalog.create_repository("X4502", "另一档案馆")
    campaign = hs.create_campaign(desk.archivist, other, {"name": "别馆活动"})
    with pytest.raises(hs.HoldingsError, match="征集活动（campaign）须属于同一档案馆"):
        hs.create_accession(desk.archivist, desk.repo, donor(desk), {**RED, "campaign": campaign})


def test_only_editors_register_and_only_viewers_list(desk: Desk) -> None:
    d = donor(desk)
    with pytest.raises(hs.HoldingsError, match="无权登记征集"):
        hs.create_accession(desk.keeper, desk.repo, d, RED)
    with pytest.raises(hs.HoldingsError, match="无权登记征集"):
        hs.create_donor(desk.sysadmin, {"kind": "person", "name": "x"})
    hs.create_accession(desk.archivist, desk.repo, d, RED)
    assert [a.number for a in hs.list_accessions(desk.keeper)] == ["ZJ-2026-0001"]
    with pytest.raises(hs.HoldingsError, match="无权查看征集登记"):
        hs.list_accessions(desk.sysadmin)
    with pytest.raises(hs.HoldingsError, match="无权查看征集登记"):
        hs.list_donors(desk.sysadmin)


EVENT = {"kind": "移交", "received_on": "2026-01-10", "item_count": 39000, "event_name": "新冠肺炎疫情防控",
         "event_starts_on": "2020-01-20", "event_ends_on": "2023-01-08", "forming_bodies": "疫情防控指挥部\n卫生健康委员会"}  # fmt: skip


def test_major_event_collection_needs_its_event(desk: Desk) -> None:
    d = donor(desk, "疫情防控指挥部")
    a = hs.create_accession(desk.archivist, desk.repo, d, EVENT)
    assert hs.accession_summary(a)["event"]["forming_bodies"] == [
        "疫情防控指挥部",
        "卫生健康委员会",
    ]
    for change, message in [
        ({"event_name": ""}, "重大活动名称（event_name）必填"),
        ({"event_starts_on": None}, "活动开始日期（event_starts_on）必填"),
        ({"event_ends_on": "2019-01-01"}, "活动结束日期（event_ends_on）不得早于活动开始日期"),
        ({"forming_bodies": " \n "}, "形成单位（forming_bodies）必填"),
        ({"kind": "捐赠"}, "只有重大活动档案移交（kind 移交）才填写活动信息：event_name"),
    ]:
        with pytest.raises(hs.HoldingsError) as e:
            hs.create_accession(desk.archivist, desk.repo, d, {**EVENT, **change})
        assert message in str(e.value)
    assert Accession.objects.count() == 1


def test_campaign_progress_counts_items_against_the_target(desk: Desk) -> None:
    campaign = hs.create_campaign(
        desk.archivist, desk.repo, {"name": "红色档案征集", "target_items": 40}
    )
    assert hs.campaign_progress(campaign)["percent"] == 0.0
    d = donor(desk)
    hs.create_accession(desk.archivist, desk.repo, d, {**RED, "campaign": campaign})
    hs.create_accession(
        desk.archivist, desk.repo, d, {**RED, "item_count": 2, "campaign": campaign}
    )
    hs.create_accession(desk.archivist, desk.repo, d, RED)  # outside the campaign
    assert hs.campaign_progress(campaign) == {
        "campaign": "红色档案征集", "target_items": 40, "accessions": 2, "items": 14, "percent": 35.0,
    }  # fmt: skip
