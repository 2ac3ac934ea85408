"""The staff pages: a task from the due records, bulk proposing with one reason, a decision by a
second member (one's own proposal refused), the report as HTML and PDF; a disposal prepared by one
person and refused when the same person approves it, then approved, executed and its destruction
list and report as PDFs whose text is checked."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from django.test import Client

from lantai.appraisal.models import AppraisalTask, Disposal, Proposal
from lantai.catalog.models import Record

from .conftest import Group, make_record

pytestmark = pytest.mark.sqlite_run_only  # PDF rendering: same on either engine


def pdftotext(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    done = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode("utf-8")


def client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_appraisal_and_disposal_in_the_browser_forms(group: Group) -> None:
    a = make_record(group.category, 1, pages=12)
    b = make_record(group.category, 2, pages=4)
    alice, bob = client(group.alice), client(group.bob)
    page = alice.get("/appraisal/")
    assert page.status_code == 200 and "待到期鉴定的档案 2 条" in page.content.decode()
    made = alice.post("/appraisal/", {"name": "2026年到期鉴定", "kind": "expiry", "select": "due",
                                      "on": "2026-12-07", "basis": "实施条例第二十四条", "codes": ""})  # fmt: skip
    task = AppraisalTask.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/appraisal/tasks/{task.pk}/"
    items = list(task.items.values_list("pk", flat=True))
    # bulk: both rows, one reason
    alice.post(f"/appraisal/tasks/{task.pk}/propose/",
               {"items": items, "outcome": "destroy", "reason": "期满，无查考价值"})  # fmt: skip
    proposals = list(Proposal.objects.values_list("pk", flat=True))
    assert len(proposals) == 2
    detail = alice.get(f"/appraisal/tasks/{task.pk}/").content.decode()
    assert "期满，无查考价值" in detail and "未决定 2 条" in detail
    # one's own proposals are shown but cannot be ticked
    assert f'value="{proposals[0]}" id="prop-{proposals[0]}" disabled' in detail
    assert f'value="{proposals[0]}" id="prop-{proposals[0]}" disabled' not in (
        bob.get(f"/appraisal/tasks/{task.pk}/").content.decode()
    )
    own = alice.post(f"/appraisal/tasks/{task.pk}/decide/",
                     {"proposals": proposals, "reason": "同意", "decision": "adopt"}, follow=True)  # fmt: skip
    assert "不能决定本人提出的意见" in own.content.decode()
    outside = alice.post(f"/appraisal/tasks/{task.pk}/propose/",
                         {"codes": "Z109-WS·1999-D10-BGS-0099", "outcome": "destroy", "reason": "x"},
                         follow=True)  # fmt: skip
    assert "不在鉴定任务“2026年到期鉴定”的候选档案中" in outside.content.decode()
    bob.post(f"/appraisal/tasks/{task.pk}/decide/",
             {"proposals": proposals, "reason": "鉴定小组同意销毁", "decision": "adopt"})  # fmt: skip
    bob.post(f"/appraisal/tasks/{task.pk}/close/", {"conclusion": "两件期满档案销毁"})
    html = bob.get(f"/appraisal/tasks/{task.pk}/report/").content.decode()
    assert "鉴定工作报告" in html and "鉴定小组同意销毁" in html and "两件期满档案销毁" in html
    text = pdftotext(bob.get(f"/appraisal/tasks/{task.pk}/report.pdf").content)
    assert "鉴定工作报告" in text and a.reference_code in text and "两件期满档案销毁" in text

    # disposal: prepared by alice, refused when alice approves, approved by bob
    alice.post("/appraisal/disposals/", {"record_codes": [a.reference_code, b.reference_code],
                                         "reason": "保管期限届满，经鉴定无保存价值"})  # fmt: skip
    disposal = Disposal.objects.get()
    same = alice.post(f"/appraisal/disposals/{disposal.pk}/approve/", {"note": "同意"}, follow=True)
    assert "销毁须由两人办理" in same.content.decode()
    assert Disposal.objects.get().status == "draft"
    bob.post(f"/appraisal/disposals/{disposal.pk}/approve/", {"note": "同意销毁"})
    alice.post(f"/appraisal/disposals/{disposal.pk}/execute/",
               {"executed_on": "2026-12-01", "method": "碎纸机粉碎", "place": "本馆销毁室",
                "executors": "张三、李四"})  # fmt: skip
    assert Disposal.objects.get().status == "completed"
    assert not Record.objects.filter(pk__in=[a.pk, b.pk]).exists()
    detail = alice.get(f"/appraisal/disposals/{disposal.pk}/").content.decode()
    assert "已完成" in detail and a.reference_code in detail  # the list outlives the records
    listing = "".join(
        pdftotext(alice.get(f"/appraisal/disposals/{disposal.pk}/list.pdf").content).split()
    )
    for text_ in (
        "档案销毁清册",
        disposal.number,
        a.reference_code,
        b.reference_code,
        "定期10年",
        "鉴定小组同意销毁",
        "监销人",
        "bob",
    ):
        assert text_ in listing, text_
    report = "".join(
        pdftotext(alice.get(f"/appraisal/disposals/{disposal.pk}/report.pdf").content).split()
    )
    for text_ in ("档案销毁报告", "2026-12-01", "碎纸机粉碎", "本馆销毁室", "张三、李四", "16页"):
        assert text_ in report, text_


def test_pages_need_the_appraise_permission(group: Group) -> None:
    refused = client(group.cataloguer).get("/appraisal/")
    assert refused.status_code == 403
    assert client(group.cataloguer).get("/appraisal/disposals/").status_code == 403
    assert Client().get("/appraisal/").status_code == 302  # sign in first


def test_a_member_below_the_clearance_sees_no_title(group: Group) -> None:
    from lantai.appraisal import services as ap
    from lantai.core import accounts

    low = accounts.create_user(
        "erin", role="reviewer", password="Pw-12345678x", scope_all=True, clearance=1
    )
    secret = make_record(group.category, 1, year=2000, classification="机密")
    task = ap.create_task(group.alice, kind="classification", name="密级鉴定", select="codes",
                          codes=[secret.reference_code])  # fmt: skip
    ap.propose(
        group.alice, task, [task.items.get().pk], outcome="declassify", reason="已无保密必要"
    )
    page = client(low).get(f"/appraisal/tasks/{task.pk}/").content.decode()
    assert secret.reference_code in page and secret.title not in page and "已无保密必要" not in page
    assert 'name="items"' not in page and 'name="proposals"' not in page
    assert secret.title in client(group.bob).get(f"/appraisal/tasks/{task.pk}/").content.decode()
    report = client(low).get(f"/appraisal/tasks/{task.pk}/report/").content.decode()
    assert secret.title not in report
