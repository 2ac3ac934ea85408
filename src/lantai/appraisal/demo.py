"""The appraisal part of the demo (called by lantai.demo): one 到期鉴定 task over records whose
retention has run out, closed with its 鉴定工作报告, and a completed disposal with its 销毁清册 —
prepared by one member of the appraisal group and approved by another (监销人)."""

from __future__ import annotations

from datetime import date
from typing import Any

from lantai.appraisal import disposals, services
from lantai.core.models import User


def make_disposal(preparer: User, approver: User, *, on: date, limit: int = 6) -> dict[str, Any]:
    """Appraise up to `limit` due records that are only on paper (not preserved, not held by
    another room's work), keep one on for ten more years, destroy the rest. Returns what was
    made ({} when the holdings have fewer than two such records)."""
    due = list(services.due_records(on, preparer).values_list("pk", "reference_code")[:500])
    preserved = disposals._preserved(pk for pk, _ in due)
    held = disposals.referenced_elsewhere(pk for pk, _ in due)
    codes = [code for pk, code in due if pk not in preserved and pk not in held][:limit]
    if len(codes) < 2:
        return {}
    task = services.create_task(
        preparer, kind="expiry", name=f"{on.year}年到期档案鉴定",
        basis="《中华人民共和国档案法实施条例》第二十四条；国家档案局令第8号",
        select="codes", codes=codes,
    )  # fmt: skip
    items = dict(task.items.values_list("reference_code", "pk"))
    destroy, keep = codes[:-1], codes[-1:]
    made = services.propose(
        preparer, task, [items[c] for c in destroy], outcome="destroy",
        reason="事务性、临时性文件，保管期限已满，已无查考利用价值",
    )  # fmt: skip
    made += services.propose(
        preparer, task, [items[c] for c in keep], outcome="keep", new_retention="D10",
        reason="涉及机构沿革，仍有查考价值",
    )  # fmt: skip
    services.decide(approver, task, [p.pk for p in made], reason="鉴定小组讨论通过")
    services.close_task(
        approver, task,
        conclusion=f"鉴定到期档案 {len(codes)} 件：销毁 {len(destroy)} 件，继续保存 1 件（重新划定保管期限10年）。",
    )  # fmt: skip
    disposal = disposals.prepare_disposal(
        preparer, destroy, reason="保管期限届满，经鉴定无保存价值"
    )
    disposals.approve_disposal(approver, disposal, note="同意销毁")
    disposals.execute_disposal(
        preparer, disposal, executed_on=on, method="碎纸机粉碎", place="本馆档案销毁室",
        executors=f"{preparer.get_full_name() or preparer.get_username()}、"
                  f"{approver.get_full_name() or approver.get_username()}",
    )  # fmt: skip
    disposal.refresh_from_db()
    return {"task": task.pk, "disposal": disposal.number, "status": disposal.status,
            "destroyed": len(destroy), "kept": 1}  # fmt: skip
