"""The open review of the demo archives (issue 15): a task under way over the closed records of
the demo filing unit's fonds that are past 25 years, with what a real one holds at mid-course.

A few of those records carry what a review must catch in their 备注 (a personnel note naming a
person with an illness or a sanction, an ID number, a telephone number, a secret mark): the
synthetic catalogue has no such text of its own. Every step goes through the review services as
the demo users: the machine screens every item; 审核员 `reviewer` and `reviewer2` each give the 初审 of
their share and the 复审 of the other's;
审核组长 `senior` the 抽查 and 馆审定; the unit `unit` agrees with some results and disagrees with
one; part is published (records whose title names a person open in part: the name is withheld
from the public in their redacted copy; some are deferred and fill the deferral list); two items are on the doubt list. Decisions made by this script carry
no reviewer time (`seconds`): timing comes only from the review page.
"""

from __future__ import annotations

import random
from datetime import date
from typing import TYPE_CHECKING

from lantai.catalog.models import Record
from lantai.core.models import User
from lantai.review import publishing, services
from lantai.review.models import ReviewTask
from lantai.review.services import Proposal

if TYPE_CHECKING:
    from lantai.demo.seed import Summary

TASK_NAME = "2025 年度到期档案开放审核（演示）"
MAX_ITEMS = 60
SEED = 15
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(rng: random.Random, born: date) -> str:
    """A synthetic 18-digit ID number with a correct MOD 11-2 check digit (GB 11643)."""
    body = f"4501{rng.randint(2, 29):02d}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


PERSONS = ("王建华", "李秀英", "陈国强", "黄玉兰", "韦志明", "覃丽萍", "蒙振华", "农春燕")


def _planted(rng: random.Random, n: int) -> str:
    """备注 text for the n-th planted record: what a reviewer must see."""
    person = PERSONS[n % len(PERSONS)]
    kinds = (
        f"附{person}（身份证号 {_id_number(rng, date(1931 + n, 3, 1 + n))}）因病申请退职的报告。",
        f"经研究，给予{person}同志留党察看一年处分。",
        f"{person}离婚后子女抚养问题的处理意见，联系电话：0771-58{rng.randint(10000, 99999)}。",
        "本件原标密级：秘密★10年。",
        f"{person}因犯盗窃罪被判处有期徒刑三年，刑满释放后的安置情况。",
    )
    return kinds[n % len(kinds)]


def make_review(summary: Summary) -> None:
    if ReviewTask.objects.filter(name=TASK_NAME).exists():
        summary.alive.append("  开放审核 open review: 演示任务已存在")
        return
    users = {u.username: u for u in User.objects.filter(
        username__in=("reviewer", "reviewer2", "senior", "unit"))}  # fmt: skip
    unit = users.get("unit")
    if len(users) < 4 or unit is None or not unit.fonds.exists():
        summary.problems.append("演示开放审核未完成：缺少演示审核员或立档单位用户")
        return
    fonds = list(unit.fonds.all())
    repo = fonds[0].repository
    plan = services.plan_records(repo, as_of=date.today(), fonds=fonds)
    records = plan.records[:MAX_ITEMS]
    if len(records) < 10:
        summary.problems.append(f"演示开放审核未完成：到期未开放档案只有 {len(records)} 件")
        return
    rng = random.Random(SEED)
    planted = _plant(records, rng)
    senior = users["senior"]
    task = services.create_task(
        senior, name=TASK_NAME, records=records, reviewers=[users["reviewer"], users["reviewer2"]],
        criteria={"as_of": date.today().isoformat(), "fonds": [f.code for f in fonds]},
        unit_deadline=date.today().replace(day=28), unassisted_rate=0.1,
    )  # fmt: skip
    for item in task.items.select_related("record"):
        services.screen_item(item)  # the demo is usable at once; a real task queues this
    _walk(task, users, planted)
    progress = services.progress(task)
    summary.alive.append(
        f"  开放审核 open review: 任务“{TASK_NAME}” {progress['total']} 件，"
        f"已发布 {progress['published']} 件，存疑 {progress['doubts']} 件"
    )


# titles naming a person, for the records opened in part (the name withheld from the public)
TITLES = ("关于{person}同志工作调动的通知", "关于{person}等同志职务任免的通知")


def _plant(records: list[Record], rng: random.Random) -> set[int]:
    chosen = set()
    for n, record in enumerate(records[::3][:15]):
        record.remarks = _planted(rng, n)
        if n % 4 == 1:
            record.title = TITLES[n % 2].format(person=PERSONS[n % len(PERSONS)])
        record.save()
        chosen.add(record.pk)
    return chosen


def _named(title: str) -> tuple[int, int] | None:
    for person in PERSONS:
        if person in title:
            start = title.index(person)
            return start, start + len(person)
    return None


def _proposal(item: services.ReviewItem, sensitive: bool) -> Proposal:
    year = date.today().year
    if not sensitive:
        return Proposal("open", note="经审核无不宜开放内容")
    named = _named(item.record.title)
    if named is not None:  # open, withholding the person's name (partial opening)
        return Proposal(
            "open", passages=({"section": "field:title", "start": named[0], "end": named[1],
                               "category": "personal_privacy"},),
            note="题名中的人名涉及个人隐私（备注载有其健康、处分等情况），删除后开放",
        )  # fmt: skip
    secret = "秘密" in item.record.remarks
    return Proposal(
        "deferred", ground="art8-1" if secret else "art8-3",
        rule="原标密级未解密" if secret else "涉及个人隐私（健康、处分、婚姻、刑罚）",
        rereview_year=year + (5 if secret else 10), note="建议延期开放",
    )  # fmt: skip


def _walk(task: ReviewTask, users: dict[str, User], planted: set[int]) -> None:
    senior, unit = users["senior"], users["unit"]
    pair = {users["reviewer"].pk: users["reviewer2"], users["reviewer2"].pk: users["reviewer"]}
    items = list(task.items.filter(stage="first").select_related("record", "first_reviewer"))
    items.sort(key=lambda i: (-i.risk, i.record.reference_code))
    for item in items[:36]:
        assert item.first_reviewer is not None
        services.decide(item, item.first_reviewer, _proposal(item, item.record_id in planted))
    for item in items[:28]:
        item.refresh_from_db()
        if item.stage == "second":
            other = pair[item.decisions.get(stage="first").reviewer_id]
            services.decide(item, other, Proposal(item.decision, item.ground, item.rule,
                                                  item.rereview_year, tuple(item.passages)))  # fmt: skip
    for item in task.items.filter(stage="sample"):
        services.decide(item, senior, Proposal(item.decision, item.ground, item.rule,
                                               item.rereview_year, tuple(item.passages)))  # fmt: skip
    waiting = list(services.unit_items(unit).filter(task=task))
    if waiting:
        services.unit_opinion(waiting[:-1], unit, agrees=True, note="同意")
        services.unit_opinion(
            waiting[-1:], unit, agrees=False, decision="deferred", ground="art8-3",
            note="涉及在世人员个人信息，建议延期开放",
        )  # fmt: skip
    for item in task.items.filter(stage="approval"):
        services.decide(item, senior, Proposal(item.decision, item.ground, item.rule,
                                               item.rereview_year, tuple(item.passages)))  # fmt: skip
    publishing.publish(list(publishing.ready(task)), senior)
    waiting = task.items.filter(published_at__isnull=True).order_by("pk")
    for item in list(waiting.select_related("first_reviewer"))[:2]:
        services.mark_doubt(
            item,
            item.first_reviewer or senior,
            "题名涉及人员较多，是否涉及个人信息需在周例会上讨论",
        )
