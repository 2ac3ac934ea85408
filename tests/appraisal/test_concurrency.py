"""Three people click "execute" on one approved disposal at the same moment (PostgreSQL: real
row locks across connections): it is carried out once (AUDIT19-5)."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from django.db import connection, connections

from lantai.appraisal import disposals
from lantai.appraisal import services as ap
from lantai.appraisal.models import Disposal
from lantai.core.models import AuditEntry

from .conftest import Group, make_record


def test_three_simultaneous_executions_run_once(transactional_db: Any, group: Group) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL")
    g = group  # committed: the three threads' connections see it
    a = make_record(g.category, 1, pages=4)
    task = ap.create_task(g.alice, kind="expiry", name="到期鉴定", select="codes",
                          codes=[a.reference_code])  # fmt: skip
    made = ap.propose(g.alice, task, list(task.items.values_list("pk", flat=True)),
                      outcome="destroy", reason="期满")  # fmt: skip
    ap.decide(g.bob, task, [p.pk for p in made], reason="同意销毁")
    disposal = disposals.prepare_disposal(g.alice, [a.reference_code], reason="期满销毁")
    disposals.approve_disposal(g.carol, disposal, note="同意")
    tabs = [Disposal.objects.get(pk=disposal.pk) for _ in range(3)]
    start = threading.Barrier(3)
    outcomes: list[str] = []

    def click(tab: Disposal, who: str) -> None:
        try:
            start.wait()
            disposals.execute_disposal(g.alice, tab, executed_on=date(2026, 12, 1), method=who,
                                place="本馆", executors=who)  # fmt: skip
            outcomes.append("done")
        except ap.AppraisalError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(t, f"tab{n}")) for n, t in enumerate(tabs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["done", "refused", "refused"]
    assert AuditEntry.objects.filter(action="disposal_execute").count() == 1
    assert Disposal.objects.get(pk=disposal.pk).status == "completed"
