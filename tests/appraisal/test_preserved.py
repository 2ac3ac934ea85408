"""A preserved record is disposed of only through the preservation deaccession path: executing
the disposal asks for the deaccession (one officer), the record stays until a second officer
approves it, and only then is the disposal complete; a rejected request shows as rejected."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from lantai.appraisal import disposals
from lantai.appraisal import services as ap
from lantai.catalog.models import Record
from lantai.preservation import deletion, locations, packaging, replication
from lantai.preservation.models import DeletionRequest, Event

from .conftest import Group, make_record

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"


def _preserved(group: Group, tmp_path: Path, *numbers: int) -> tuple[Any, list[Any]]:
    from lantai.catalog.components import attach_component

    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    records = []
    for n in numbers:
        r = make_record(group.category, n)
        attach_component(r, [f"正文 {n} ".encode() * 50], f"正文{n}.pdf", user=None)
        records.append(r)
    package = packaging.new_package("transfer", "移交 1", None, [r.pk for r in records])
    assert replication.preserve(package.pk) == "preserved"
    package.refresh_from_db()
    return package, records


def _approved(group: Group, *records: Any) -> Any:
    task = ap.create_task(group.carol, kind="expiry", name="到期鉴定", select="codes",
                          codes=[r.reference_code for r in records])  # fmt: skip
    made = ap.propose(group.carol, task, list(task.items.values_list("pk", flat=True)),
                      outcome="destroy", reason="期满，无保存价值")  # fmt: skip
    ap.decide(group.bob, task, [p.pk for p in made], reason="同意销毁")
    disposal = disposals.prepare_disposal(
        group.carol, [r.reference_code for r in records], reason="期满销毁"
    )
    return disposals.approve_disposal(group.bob, disposal)


def test_preserved_record_goes_only_through_deaccession(
    group: Group, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    package, (doomed, stays) = _preserved(group, tmp_path, 1, 2)
    paper = make_record(group.category, 3)
    disposal = _approved(group, doomed, paper)
    assert [i.package_object_id for i in disposal.items.order_by("number")] == [
        package.object_id,
        "",
    ]
    # a reviewer (no PRESERVE) cannot carry out a disposal with preserved records
    with pytest.raises(ap.AppraisalError, match="须由保管员执行"):
        disposals.execute_disposal(group.carol, disposal, executed_on=DAY, method="碎纸及删除",
                            place="本馆", executors="甲、乙")  # fmt: skip
    done = disposals.execute_disposal(group.alice, disposal, executed_on=DAY, method="碎纸及删除",
                               place="本馆", executors="甲、乙")  # fmt: skip
    # the paper record is gone, the preserved one waits for the second officer
    assert done.status == "executing"
    assert not Record.objects.filter(pk=paper.pk).exists()
    assert Record.objects.filter(pk=doomed.pk).exists()
    req = DeletionRequest.objects.get(package=package)
    assert req.records == [doomed.pk] and req.requested_by == group.alice
    assert "XH-" in req.reason
    states = dict(done.items.values_list("reference_code", "state"))
    assert states == {
        doomed.reference_code: "deaccession_requested",
        paper.reference_code: "removed",
    }
    assert disposals.sync_disposal(done).status == "executing"
    web = Client()
    web.force_login(group.alice)
    page = web.get(f"/appraisal/disposals/{done.pk}/").content.decode()
    assert "1 条已进入长期保存的档案正等待注销审批" in page and "待长期保存注销审批" in page
    assert f"注销申请 #{DeletionRequest.objects.get().pk}" in page
    # the requester cannot approve it; a second officer does, through preservation
    with pytest.raises(deletion.DeletionError, match="另一人"):
        deletion.decide(req, True, user=group.alice)
    with django_capture_on_commit_callbacks(execute=True):
        deletion.decide(req, True, user=group.bob)
    assert not Record.objects.filter(pk=doomed.pk).exists()
    assert Record.objects.filter(pk=stays.pk).exists()
    done = disposals.sync_disposal(done)
    assert done.status == "completed" and done.completed_at is not None
    assert set(done.items.values_list("state", flat=True)) == {"deaccessioned", "removed"}
    deaccession = Event.objects.get(package=package, event_type="deaccession")
    assert (
        deaccession.outcome_detail["records"] == 1 and "XH-" in deaccession.outcome_detail["reason"]
    )
    report = disposals.report_context(done)
    assert report["requests"][0]["decided_by"] == "bob"


def test_a_rejected_deaccession_keeps_the_disposal_open(group: Group, tmp_path: Path) -> None:
    package, (doomed,) = _preserved(group, tmp_path, 1)
    disposal = _approved(group, doomed)
    done = disposals.execute_disposal(group.alice, disposal, executed_on=DAY, method="删除",
                               place="本馆", executors="甲")  # fmt: skip
    req = DeletionRequest.objects.get(package=package)
    deletion.decide(req, False, user=group.bob, note="依据不足")
    done = disposals.sync_disposal(done)
    assert done.status == "executing"
    assert done.items.get().state == "deaccession_rejected"
    assert Record.objects.filter(pk=doomed.pk).exists()
    made = disposals.request_again(group.alice, done)
    assert DeletionRequest.objects.get(pk=made[0]).status == "requested"
    assert done.items.get().state == "deaccession_requested"
