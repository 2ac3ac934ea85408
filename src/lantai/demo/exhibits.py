"""The demo's 红色档案专题数据库 and its online exhibitions (issue 18).

The red records of the 革命历史档案 fonds that are open get page images (old vertical pages, as
``digitized`` draws them), the 红色档案 thematic collection becomes a published database described in
its own fields (period, event, people, places, carrier condition), a few originals get a condition
assessment and conservation actions, and two exhibitions are built by one curator, approved by
another and published. Everything goes through the exhibits services; a second run finds what the
first made.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from django.conf import settings

from lantai.catalog import components, public
from lantai.catalog.models import Component, Record, Repository, ThematicCollection
from lantai.core.models import User
from lantai.demo import documents
from lantai.demo.words import person_name, words
from lantai.exhibits import conservation, databases, exhibitions
from lantai.exhibits.models import Database, Exhibition
from lantai.standards import gazetteer

if TYPE_CHECKING:
    from lantai.demo.generator import DemoArchive
    from lantai.demo.seed import Summary

PICTURED = 14  # open red records that get page images for the database and the exhibitions
DATABASE_SLUG = "red-archives"
# The demo province is made up (岭南省); its places lie where Guangxi lies, so that its map looks
# like a real one. Real county names among them (东兰, 凤山, 南丹) come from the shipped gazetteer.
PLACES_AREA = ((105.2, 111.6), (21.9, 25.9))  # lon, lat
# What the red records of each span of years are about: (last year, sub-period, event)
EVENTS = (
    (1927, "大革命时期", "农民运动与农民协会"),
    (1933, "土地革命战争时期", "土地革命与红军根据地"),
    (1936, "土地革命战争时期", "红军长征过境"),
    (1945, "抗日战争时期", "抗日救亡运动"),
    (1949, "解放战争时期", "迎接解放"),
)


def _pictured_records(home: Repository, red_fonds: str) -> list[Record]:
    """Open red records of the revolutionary fonds, spread over the years, with page images
    attached (drawn now when a record has none)."""
    from lantai.demo.digitized import PageJob, _draw_vertical

    pool = Record.objects.filter(
        repository=home,
        fonds__code=red_fonds,
        level="item",
        open_status="open",
        classification_level=0,
        open_copy__isnull=True,
    ).order_by("date", "pk")
    by_year: dict[int, Record] = {}
    for record in pool.iterator():
        by_year.setdefault(record.year or 0, record)
    chosen = list(by_year.values())
    step = max(1, len(chosen) // PICTURED)
    chosen = chosen[::step][:PICTURED]
    held = set(Component.objects.filter(record__in=chosen).values_list("record_id", flat=True))
    for i, record in enumerate(chosen):
        if record.pk in held:
            continue
        pages = 2 if i % 3 == 0 else 1
        job = PageJob(
            folder="",
            code=record.reference_code,
            issuer=record.author or record.fonds.creator,
            title=record.title,
            date=record.date.isoformat() if record.date else f"{record.year or 1930}-01-01",
            number="",
            pages=pages,
            red_header=False,
            seed=record.pk,
            vertical=True,
        )
        for n in range(1, pages + 1):
            image = _draw_vertical(job, n)
            data = documents.jpeg_bytes(image)
            components.attach_component(
                record, [data], f"{record.reference_code}-{n:03d}.jpg", user=None
            )
    return chosen


def _local_gazetteer() -> Path:
    """The demo province's places, written to the archives' own gazetteer file (unless the
    operator keeps one there already)."""
    path = Path(settings.GAZETTEER_FILE)
    if not path.exists():
        region = words()["region"]
        names = [c["name"] for c in region["cities"]] + list(region["counties"])
        rng = random.Random("lantai-demo:gazetteer")
        (lon0, lon1), (lat0, lat1) = PLACES_AREA
        places = {
            region["province"]: {"kind": "province", "parent": "中国", "lon": 108.6, "lat": 23.9}
        }
        for name in names:
            if gazetteer.resolve(name) is not None:  # a real county name: the shipped place
                continue
            places[name] = {
                "kind": "city" if name.endswith("市") else "county",
                "parent": region["province"],
                "lon": round(rng.uniform(lon0, lon1), 2),
                "lat": round(rng.uniform(lat0, lat1), 2),
            }
        text = "# 演示省（岭南省）的地名：位置为示意，非真实坐标 (demo places; made-up positions)\n"
        path.write_text(text + yaml.safe_dump({"places": places}, allow_unicode=True), "utf-8")
    gazetteer.use_local_file(path)
    return path


def _event(year: int) -> tuple[str, str]:
    for last, period, event in EVENTS:
        if year <= last:
            return period, event
    return EVENTS[-1][1], EVENTS[-1][2]


def _red_database(home: Repository, collection_code: str, pictured: list[Record]) -> Database:
    """The 红色档案专题数据库 over the demo's 红色档案 collection, every entry described, published."""
    found = Database.objects.filter(repository=home, slug=DATABASE_SLUG).first()
    if found is not None:
        return found
    collection = ThematicCollection.objects.filter(
        repository=home, code=collection_code, database__isnull=True
    ).first()
    database = databases.create_database(
        None,
        repository=home,
        code="HS-DB",
        name="红色档案专题数据库",
        slug=DATABASE_SLUG,
        kind="red",
        description=(
            "收录本馆革命历史档案全宗中1925—1949年的红色档案，按历史时期、革命事件、人物、地点著录，"
            "附载体保护状况；已数字化的可在线查阅页面图像。"
        ),
        collection=collection,
    )
    databases.add_records(None, database, [r.pk for r in pictured])
    region = words()["region"]
    places = [c["name"] for c in region["cities"]] + list(region["counties"])
    rng = random.Random("lantai-demo:red-database")
    entries = databases.staff_entries(None, database).select_related("record")
    for entry in entries:
        record = entry.record
        year = record.year or (record.date.year if record.date else 1935)
        period, event = _event(year)
        values = {
            "period": period,
            "event": event,
            "people": [person_name(rng) for _ in range(rng.randint(1, 2))],
            "places": rng.sample(places, rng.randint(1, 2)),
            "carrier": "纸质",
        }
        databases.describe(None, entry, values)
    _conservation(pictured)
    databases.publish(None, database)
    return database


def _conservation(records: list[Record]) -> None:
    """Condition assessments of a few fragile originals, and what was done about them."""
    plans = (
        ("严重破损", ["酸化", "脆化", "撕裂"], [("去酸", "本馆档案保护技术部"), ("修裱", "本馆档案保护技术部")]),
        ("中度破损", ["霉变", "字迹褪变"], [("脱霉", "本馆档案保护技术部"), ("数字化抢救", "本馆数字化外包服务商")]),
        ("轻度破损", ["撕裂"], [("修裱", "本馆档案保护技术部")]),
    )  # fmt: skip
    for record, (grade, damage, actions) in zip(records[:3], plans, strict=False):
        when = dt.date(2024, 3 + records.index(record), 12)
        conservation.add_condition(
            None, record.pk, carrier="纸质", grade=grade, damage=damage, assessed_on=when,
            note="油印件，纸张发黄变脆，边缘有破口（演示）",
        )  # fmt: skip
        for i, (kind, by) in enumerate(actions):
            conservation.add_action(
                None, record.pk, kind=kind, done_on=when + dt.timedelta(days=30 * (i + 1)),
                done_by=by, note="按修复方案实施并留存修复前后影像（演示）",
            )  # fmt: skip


# --- exhibitions -----------------------------------------------------------------------------
CURATOR, PUBLISHER = "curator", "curator2"


def _item(record: Record, component: Component, n: int, caption: str = "") -> dict[str, object]:
    return {
        "record": record.pk,
        "component": component.pk,
        "alt": f"{record.title}（档号 {record.reference_code}）第{n}页的扫描图像",
        "alt_en": f"Scan of page {n} of record {record.reference_code}",
        "caption": caption
        or f"{record.title}，{record.year or ''}年。档号：{record.reference_code}",
    }


def _year(record: Record) -> int:
    return record.year or (record.date.year if record.date else 1935)


def _date(record: Record) -> str:
    return record.date.isoformat() if record.date else str(_year(record))


def _events(records: list[Record], images: dict[int, list[Component]]) -> list[dict[str, object]]:
    return [
        {
            "date": _date(r),
            "title": r.title[:200],
            "text": f"{_event(_year(r))[1]}。档号 {r.reference_code}",
            "record": r.pk,
            **({"item": _item(r, images[r.pk][0], 1)} if r.pk in images else {}),
        }
        for r in records
    ]


def _build(
    curator: User, home: Repository, slug: str, title: str, title_en: str, summary: str,
    cover: dict[str, object], sections: list[tuple[str, str, list[tuple[str, str, list[dict[str, object]]]]]],
) -> Exhibition:  # fmt: skip
    """A new exhibition with its sections, pages and blocks, made by `curator` as in the editor."""
    ex = exhibitions.create(curator, slug=slug, title=title, repository=home)
    ex = exhibitions.edit_meta(
        curator, ex, {"title": title, "title_en": title_en, "summary": summary, "cover": cover}
    )
    for s, (section, section_en, pages) in enumerate(sections):
        ex = exhibitions.add_section(curator, ex, section, section_en)
        for p, (page_slug, page_title, blocks) in enumerate(pages):
            ex = exhibitions.add_page(curator, ex, s, page_slug, page_title)
            for block in blocks:
                ex = exhibitions.add_block(curator, ex, s, p, block)
    return ex


def _publish(curator: User, publisher: User, ex: Exhibition, **window: dt.datetime) -> None:
    ex = exhibitions.submit(curator, ex)
    exhibitions.approve(publisher, ex, note="演示：编研部审核通过", **window)


def _red_exhibition(
    curator: User, publisher: User, home: Repository, pictured: list[Record], database: Database
) -> None:
    images = public.public_images([r.pk for r in pictured])
    shown = [r for r in pictured if r.pk in images]
    if len(shown) < 6:
        return
    early = [r for r in shown if _year(r) <= 1936] or shown[:3]
    late = [r for r in shown if _year(r) > 1936] or shown[-3:]
    two_pages = next((r for r in shown if len(images[r.pk]) >= 2), shown[0])
    first = shown[0]
    places = sorted({p for e in database.entries.all() for p in e.values.get("places", [])})[:12]
    from lantai.digitization.models import Recording

    audio = Recording.objects.filter(record__in=shown + list(Record.objects.filter(
        repository=home, fonds=first.fonds)), kind="audio").first()  # fmt: skip
    resistance: list[dict[str, object]] = [
        {"kind": "text", "heading": "抗战烽火", "heading_en": "Years of resistance",
         "body": "全面抗战爆发后，岭南各地党组织发动群众，开展抗日救亡宣传，组织游击武装。"
                 "本单元的档案记录了这一时期的通告、决议与报告。",
         "body_en": "After 1937 the Party organisations of Lingnan rallied the people against the invasion."},
        {"kind": "gallery", "heading": "抗战时期的文件", "items": [
            _item(r, images[r.pk][0], 1) for r in late[:6]]},
        {"kind": "timeline", "heading": "大事记", "events": _events(shown, images)},
    ]  # fmt: skip
    if audio is not None and public.public_record(audio.record_id) is not None:
        resistance.append(
            {
                "kind": "media",
                "recording": audio.pk,
                "start": 3,
                "end": 15,
                "caption": "口述历史：亲历者回忆当年参加革命工作的经过（演示录音）",
            }  # fmt: skip
        )
    sections = [
        ("星火燎原（1925—1936）", "A spark sets the prairie ablaze (1925–1936)", [
            ("peasant-movement", "农民运动与土地革命", [
                {"kind": "text", "heading": "星火燎原", "heading_en": "A single spark",
                 "body": "二十世纪二十年代中期，岭南各地兴起农民运动，农民协会纷纷成立。"
                         "本展选取本馆革命历史档案全宗中的原件，展示这一时期的斗争历程。\n\n"
                         "展出图像均为数字化副本，带有本馆水印。",
                 "body_en": "From the mid-1920s peasant associations sprang up across Lingnan. "
                            "The documents shown are digitized copies from the revolutionary fonds."},
                {"kind": "image", "items": [_item(first, images[first.pk][0], 1)]},
                {"kind": "quote", "text": first.title, "source": f"{first.author}，{_year(first)}年（档号 {first.reference_code}）",
                 "record": first.pk},
                {"kind": "gallery", "heading": "早期文件", "items": [
                    _item(r, images[r.pk][0], 1) for r in early[:6]]},
            ]),
            ("original-pages", "原件细读", [
                {"kind": "deepzoom", "items": [_item(two_pages, images[two_pages.pk][0], 1,
                 "可放大查看原件笔迹与印章（拖动、滚轮或 + − 键缩放）")]},
                {"kind": "compare", "heading": "同一文件的首页与末页", "items": [
                    _item(two_pages, images[two_pages.pk][0], 1),
                    _item(two_pages, images[two_pages.pk][-1], len(images[two_pages.pk]))]},
                {"kind": "map", "heading": "档案涉及的地点", "places": [{"place": p, "label": p} for p in places]},
            ]),
        ]),
        ("抗战烽火与迎接解放（1937—1949）", "Resistance and liberation (1937–1949)", [
            ("resistance", "抗战烽火", resistance),
        ]),
    ]  # fmt: skip
    ex = _build(
        curator, home, "red-lingnan", "红色岭南——革命历史档案史料展",
        "Red Lingnan: documents of the revolutionary years",
        "以本馆珍藏的革命历史档案为主线，展示1925—1949年岭南人民的革命斗争历程。",
        _item(first, images[first.pk][0], 1), sections,
    )  # fmt: skip
    _publish(curator, publisher, ex)


def _centenary_exhibition(
    curator: User, publisher: User, home: Repository, pictured: list[Record]
) -> None:
    """百年征程 初心永恒: the red records and later digitized records, decade by decade."""
    later = list(
        public.open_records().filter(repository=home, components__isnull=False, year__gt=1949)
        .distinct().order_by("year", "pk")[:400]
    )  # fmt: skip
    images = public.public_images([r.pk for r in pictured + later])
    by_decade: dict[int, Record] = {}
    for r in later:
        if r.pk in images:
            by_decade.setdefault(_year(r) // 10 * 10, r)
    red = [r for r in pictured if r.pk in images][:4]
    decades = list(by_decade.values())
    if len(red) < 2 or len(decades) < 2:
        return
    sections = [
        ("百年征程", "A century's journey", [
            ("journey", "从革命年代到新时代", [
                {"kind": "text", "heading": "百年征程 初心永恒", "heading_en": "A century's journey",
                 "body": "从革命年代的油印文件到新时代的电子文件，档案记录了岭南的百年变迁。"
                         "本展按年代各选一件馆藏，连成一条时间线。",
                 "body_en": "One record a decade, from the revolutionary years to the present."},
                {"kind": "timeline", "heading": "按年代浏览", "events": _events(red + decades, images)},
                {"kind": "gallery", "heading": "各年代馆藏", "items": [
                    _item(r, images[r.pk][0], 1) for r in red + decades][:12]},
            ]),
        ]),
    ]  # fmt: skip
    ex = _build(
        curator, home, "centenary-journey", "百年征程 初心永恒",
        "A century's journey", "按年代选取馆藏档案，回顾岭南百年发展历程。",
        _item(decades[-1], images[decades[-1].pk][0], 1), sections,
    )  # fmt: skip
    _publish(curator, publisher, ex)
    # a past exhibition: shown a year ago for eleven months, listed among the past ones
    now = dt.datetime.now(dt.UTC)
    past = _build(
        curator, home, "archives-day-2025", "2025年国际档案日主题展",
        "International Archives Day 2025", "已结束的线上展览（演示）。",
        _item(decades[0], images[decades[0].pk][0], 1),
        [("档案见证", "Archives bear witness", [("witness", "档案见证", [
            {"kind": "gallery", "items": [_item(r, images[r.pk][0], 1) for r in decades[:4]]}])])],
    )  # fmt: skip
    _publish(curator, publisher, past, publish_at=now - dt.timedelta(days=365),
             withdraw_at=now - dt.timedelta(days=30))  # fmt: skip


def _exhibitions(home: Repository, pictured: list[Record], database: Database) -> str:
    curator = User.objects.filter(username=CURATOR).first()
    publisher = User.objects.filter(username=PUBLISHER).first()
    if curator is None or publisher is None:
        return "缺少演示账号 curator / curator2，未建展览"
    if not Exhibition.objects.filter(repository=home).exists():
        _red_exhibition(curator, publisher, home, pictured, database)
        _centenary_exhibition(curator, publisher, home, pictured)
    current, past = exhibitions.hall()
    return f"网上展厅 {len(current)} 个展览在展、{len(past)} 个已结束，/public/exhibitions/"


def make_exhibits(archive: DemoArchive, summary: Summary) -> None:
    """The database and the exhibitions; a line of the demo summary says what is there."""
    if documents.fonts_available():  # said once already by living.make_alive
        return
    home = Repository.objects.get(code=archive.repositories[0].code)
    red_fonds = next((f.code for f in archive.fonds if f.revolutionary), "")
    _local_gazetteer()
    pictured = _pictured_records(home, red_fonds)
    database = _red_database(home, archive.collection["code"], pictured)
    summary.alive.append(
        f"  专题数据库 thematic database: “{database.collection.name}”已发布，"
        f"{database.entries.count()} 件著录（{len(pictured)} 件附页面图像），"
        f"/public/databases/{home.code}/{database.slug}/（时间轴、地图）"
    )
    summary.alive.append(f"  网上展厅 exhibitions: {_exhibitions(home, pictured, database)}")
