"""The demo's working archives beyond the catalogue (issue 19): donors and accessions (a red
archives donation campaign, an intangible-heritage collection, two major-event collections), a
completed appraisal with its disposal, the stacks with located boxes and a climate record, the
transfer early warning and the quality work with the filing units, and the year's statistics.

Everything goes through the rooms' services; a second run finds what the first made.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from lantai.catalog.models import Component, Fonds, Record, Repository
from lantai.core.models import User
from lantai.holdings import documents, donor_restrictions, received
from lantai.holdings import services as holdings
from lantai.holdings.models import Accession, Campaign, Donor

if TYPE_CHECKING:
    from lantai.demo.generator import DemoArchive
    from lantai.demo.seed import Summary

CAMPAIGN = "“红色家书”红色档案征集活动"


def make_collecting(archive: DemoArchive, summary: Summary) -> None:
    home = Repository.objects.get(code=archive.repositories[0].code)
    today = timezone.localdate()
    users = {u.username: u for u in User.objects.filter(username__in=("keeper", "senior"))}
    _accessions(home, archive, summary, today)
    if len(users) == 2:  # before the stacks: destroyed records leave no box behind
        _disposal(users["keeper"], users["senior"], today, summary)
    _stacks(home, summary)
    _transfer_quality(archive, summary, today)
    _statistics(today, summary)


# --- 征集 -------------------------------------------------------------------------------------
def _donor(kind: str, name: str, contact: str, address: str) -> Donor:
    found = Donor.objects.filter(name=name).first()
    if found is not None:
        return found
    return holdings.create_donor(
        None, {"kind": kind, "name": name, "contact": contact, "address": address}
    )


def _accessions(home: Repository, archive: DemoArchive, summary: Summary, today: dt.date) -> None:
    if not Campaign.objects.filter(repository=home, name=CAMPAIGN).exists():
        campaign = holdings.create_campaign(None, home, {
            "name": CAMPAIGN, "theme": "革命先辈书信、日记、证章、照片及口述史料",
            "starts_on": dt.date(today.year, 3, 1), "ends_on": dt.date(today.year, 12, 31),
            "target_items": 300,
        })  # fmt: skip
        _red_donations(home, archive, campaign, today)
        _heritage(home, today)
        _major_events(home, today)
    accessions = Accession.objects.filter(repository=home)
    campaign = Campaign.objects.get(repository=home, name=CAMPAIGN)
    progress = holdings.campaign_progress(campaign)
    summary.alive.append(
        f"  征集 accessions: {accessions.count()} 次登记（{Donor.objects.count()} 位捐赠者），"
        f"{campaign.name}已征集 {progress['items']}/{progress['target_items']} 件；"
        f"捐赠者限制 {len(donor_restrictions.restrictions_in_force())} 条在执行（检索与门户自动遵守）"
    )


def _unpictured_red(home: Repository, archive: DemoArchive, count: int) -> list[str]:
    """Open red records without page images: the pictured ones stay in the exhibitions."""
    red = next((f.code for f in archive.fonds if f.revolutionary), "")
    with_files = Component.objects.values("record_id")
    return list(
        Record.objects.filter(repository=home, fonds__code=red, open_status="open")
        .exclude(pk__in=with_files)
        .order_by("-reference_code")
        .values_list("reference_code", flat=True)[:count]
    )


def _red_donations(
    home: Repository, archive: DemoArchive, campaign: Campaign, today: dt.date
) -> None:
    letters = _donor("person", "韦秀兰", "0771-5551234", "岭南省邕州市青秀区民族大道")
    family = _donor("person", "黄志坚", "0778-5556789", "岭南省河池市东兰县武篆镇")
    school = _donor("organisation", "岭南省革命历史研究会", "0771-5550001", "岭南省邕州市")
    codes = _unpictured_red(home, archive, 4)
    first = holdings.create_accession(None, home, letters, {
        "kind": "捐赠", "campaign": campaign, "received_on": dt.date(today.year, 4, 12),
        "item_count": 36, "description": "其父韦拔群部战士韦国清1929—1932年家书、日记及入党介绍信",
        "deed_terms": "无偿捐赠，所有权转归档案馆；档案馆负责妥善保管并可用于展览、编研。",
    })  # fmt: skip
    holdings.appraise(None, first, {"condition": "纸张泛黄，个别折痕，字迹清晰",
                                    "appraised_value": "0"})  # fmt: skip
    holdings.accept(None, first)
    if codes:
        donor_restrictions.link_records(None, first, codes[:2])
        donor_restrictions.add_restriction(None, first, {
            "scope": "access", "donor_lifetime": True,
            "text": "日记涉及家族私事，捐赠者生前不对外公开",
        })  # fmt: skip
    for kind in ("certificate", "thanks"):
        documents.issue(None, first, kind)
    received.add_item(None, first, {"description": "家书（毛笔手书）", "count": 28})
    received.add_item(
        None, first, {"description": "日记本", "count": 2, "digitization": "scheduled"}
    )
    second = holdings.create_accession(None, home, family, {
        "kind": "捐赠", "campaign": campaign, "received_on": dt.date(today.year, 6, 30),
        "item_count": 58, "description": "东兰农民运动讲习所学员证章、照片及口述回忆录音",
        "deed_terms": "无偿捐赠；照片出版须注明捐赠者。",
    })  # fmt: skip
    holdings.appraise(None, second, {"condition": "证章锈蚀轻微，照片完好"})
    holdings.accept(None, second)
    if len(codes) > 2:
        donor_restrictions.link_records(None, second, codes[2:3])
        donor_restrictions.add_restriction(None, second, {
            "scope": "publication", "until": dt.date(today.year + 5, 12, 31),
            "text": "照片五年内不在网上公布",
        })  # fmt: skip
    documents.issue(None, second, "certificate")
    bought = holdings.create_accession(None, home, school, {
        "kind": "征购", "campaign": campaign, "received_on": dt.date(today.year, 9, 18),
        "item_count": 120, "description": "1930年代右江苏区布告、传单及报刊",
    })  # fmt: skip
    holdings.appraise(None, bought, {"condition": "部分虫蛀，需修复", "appraised_value": "86000"})


def _heritage(home: Repository, today: dt.date) -> None:
    bearer = _donor("person", "覃金花", "0772-5552468", "岭南省柳州市三江侗族自治县")
    ich = holdings.create_accession(None, home, bearer, {
        "kind": "捐赠", "received_on": dt.date(today.year, 5, 20), "item_count": 214,
        "description": "国家级非物质文化遗产“侗族大歌”代表性传承人手抄歌本、演唱录音录像及照片",
        "deed_terms": "无偿捐赠；录音录像可用于非遗保护与公益展示。",
    })  # fmt: skip
    holdings.appraise(None, ich, {"condition": "歌本纸张脆化，录像为DV磁带需转录"})
    holdings.accept(None, ich)
    received.add_item(None, ich, {"description": "手抄侗族大歌歌本", "count": 46,
                                  "digitization": "digitized"})  # fmt: skip
    received.add_item(None, ich, {"description": "演唱录像（DV磁带）", "count": 18,
                                  "digitization": "scheduled"})  # fmt: skip
    received.add_item(None, ich, {"description": "传承活动照片", "count": 150})
    documents.issue(None, ich, "thanks")


def _major_events(home: Repository, today: dt.date) -> None:
    office = _donor("organisation", "岭南省乡村振兴局", "0771-5553000", "岭南省邕州市")
    health = _donor("organisation", "岭南省卫生健康委员会", "0771-5554000", "岭南省邕州市")
    rural = holdings.create_accession(None, home, office, {
        "kind": "移交", "received_on": dt.date(today.year, 7, 15), "item_count": 21600,
        "description": "全省驻村工作队脱贫攻坚与乡村振兴工作档案（文书、照片、音像）",
        "event_name": "脱贫攻坚与乡村振兴驻村帮扶", "event_starts_on": dt.date(2015, 10, 1),
        "event_ends_on": dt.date(2025, 12, 31),
        "forming_bodies": "岭南省乡村振兴局\n省驻村工作队总队\n各市驻村工作队",
    })  # fmt: skip
    holdings.appraise(None, rural, {"condition": "整理规范，电子档案与纸质档案对应"})
    holdings.accept(None, rural)
    epidemic = holdings.create_accession(None, home, health, {
        "kind": "移交", "received_on": dt.date(today.year, 8, 26), "item_count": 17800,
        "description": "新冠肺炎疫情防控工作档案（指挥部文件、会议记录、照片、音像）",
        "event_name": "新冠肺炎疫情防控", "event_starts_on": dt.date(2020, 1, 20),
        "event_ends_on": dt.date(2023, 1, 8),
        "forming_bodies": "省疫情防控工作指挥部\n岭南省卫生健康委员会\n省疾病预防控制中心",
    })  # fmt: skip
    holdings.appraise(None, epidemic, {"condition": "部分照片缺少说明，已要求补充"})


# --- 鉴定与销毁 ----------------------------------------------------------------------------------
def _disposal(preparer: User, approver: User, today: dt.date, summary: Summary) -> None:
    from lantai.appraisal.demo import make_disposal
    from lantai.appraisal.models import Disposal

    done = Disposal.objects.order_by("pk").first()
    if done is None:
        made = make_disposal(preparer, approver, on=today)
        if not made:
            summary.problems.append("演示鉴定未做：保管期限已满且仅有纸质的档案不足两件")
            return
        done = Disposal.objects.get(number=made["disposal"])
    summary.alive.append(
        f"  鉴定与销毁 appraisal: 到期鉴定已完成，销毁清册 {done.number}（{done.get_status_display()}），"
        f"/appraisal/disposals/{done.pk}/"
    )


# --- 库房 ---------------------------------------------------------------------------------------
def _stacks(home: Repository, summary: Summary) -> None:
    from lantai.stacks.demo import build

    made = build(home)
    summary.alive.append(
        f"  库房 stacks: {made['rooms']} 间库房、{made['shelves']} 列架、{made['boxes']} 个档案盒"
        f"（{made['units_located']} 件/卷已定位，{made['boxes_out']} 盒出库数字化），"
        f"温湿度记录 {made['readings']} 条，未处理告警 {made['open_alerts']} 条"
    )


# --- 移交预警与进馆质量 ---------------------------------------------------------------------------
def _transfer_quality(archive: DemoArchive, summary: Summary, today: dt.date) -> None:
    from lantai.demo.seed import UNIT_BODY
    from lantai.demo.transfer import make_transfer
    from lantai.ingest import quality, warning
    from lantai.ingest.models import QualityVisit, SelfCheck

    unit = Fonds.objects.filter(creator__contains=UNIT_BODY).order_by("pk").first()
    if unit is None:
        return
    if not SelfCheck.objects.filter(fonds=unit).exists():
        # the unit formed records six years before the earliest the archives holds: those are due
        earliest = Record.objects.filter(fonds=unit, year__isnull=False).order_by("year").first()
        first = (earliest.year if earliest and earliest.year else today.year - 30) - 6
        warning.set_profile(unit, first_year=first, note=f"演示：{first}年起形成档案")
        Path(settings.UPLOAD_DIR).mkdir(parents=True, exist_ok=True)
        dest = Path(tempfile.mkdtemp(prefix="demo-selfcheck-", dir=settings.UPLOAD_DIR))
        try:
            package = make_transfer(dest / "package", 6, fonds=unit.code, year=today.year - 1,
                                    kinds=("pdf",), unit=unit.creator)  # fmt: skip
            broken = sorted(package.rglob("*.pdf"))[0]
            broken.write_bytes(broken.read_bytes()[:-40])  # a truncated file: fixity fails
            quality.self_check(package, unit)
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        quality.add_visit(unit, visited_on=today - dt.timedelta(days=12), visitors="接收征集处 李明、王芳",
                          advice="电子文件须与登记表的 SM3 一致；移交前用本系统自检。",
                          follow_up="下月复查自检结果")  # fmt: skip
    warning.refresh_reminders(today)
    due = warning.unit_due(unit, today)
    summary.alive.append(
        f"  移交预警与进馆质量 transfer quality: {unit.creator} 自检 "
        f"{SelfCheck.objects.filter(fonds=unit).count()} 次，业务指导 "
        f"{QualityVisit.objects.filter(fonds=unit).count()} 次，"
        f"应移交未移交年度 {len(due.due) + len(due.overdue)} 个（逾期 {len(due.overdue)} 个）"
    )


# --- 统计 ---------------------------------------------------------------------------------------
def _statistics(today: dt.date, summary: Summary) -> None:
    from lantai.stats import services as stats

    figures = {f["code"]: f for f in stats.report(today.year).as_json()["figures"]}
    held = figures.get("holdings_items", {}).get("value")
    opened = figures.get("open_ratio", {}).get("value")
    summary.alive.append(
        f"  统计 statistics: {today.year} 年度报表 /stats/?year={today.year}"
        f"（馆藏 {held} 件，开放率 {opened}%），`lantai stats report --year {today.year} --json`"
    )
