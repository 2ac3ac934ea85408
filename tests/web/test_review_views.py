"""开放审核 in the staff UI: who may open which page, the plan, the review page and its errors,
the forming unit's page, passages, and the archives' tools (real database, real pre-screen)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.web.conftest import PASSWORD, Site, make_site

ID18 = "11010519491231002X"  # a valid 18-digit ID number (check digit X)


@dataclass
class Review:
    site: Site
    due: list[Any]  # records formed more than 25 years ago
    secret: Any  # due, but its 保密期限 has not run out
    users: dict[str, Any]


def _record(category: Any, n: int, title: str, remarks: str = "", **extra: str) -> Any:
    from lantai.catalog import services

    record, issues = services.save_record(
        category,
        {
            "title": title,
            "author": "兰州市档案局",
            "date": f"19900{n}15",
            "year": "1990",
            "retention": "Y",
            "org_code": "BGS",
            "item_number": str(100 + n),
            "remarks": remarks,
            **extra,
        },
    )
    assert record is not None, issues
    return record


@pytest.fixture
def review(db: Any) -> Review:
    from lantai.core import accounts

    site = make_site(records_per_year=1)
    due = [
        _record(site.category, 1, "关于张三病休的报告", remarks=f"张三身份证号{ID18}，患有肝病。"),
        _record(site.category, 2, "关于<b>档案</b>工作的通知"),
        _record(site.category, 3, "年度工作总结"),
    ]
    secret = _record(
        site.category, 4, "关于某工程的请示", classification="机密", secrecy_period="长期"
    )

    def user(name: str, role: str) -> Any:
        return accounts.create_user(
            name, role=role, password=PASSWORD, clearance=4, scope_all=role != "filing_unit"
        )

    users = {
        "a": user("reviewer_a", "reviewer"),
        "b": user("reviewer_b", "reviewer"),
        "senior": user("senior", "senior_reviewer"),
        "unit": user("unit_z109", "filing_unit"),
        "other_unit": user("unit_j019", "filing_unit"),
        "cataloguer": site.users["cataloguer"],
    }
    users["unit"].fonds.add(site.fonds)
    users["other_unit"].fonds.add(site.other_fonds)
    return Review(site, due, secret, users)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _task(review: Review, stages: tuple[str, ...] = ("second",)) -> Any:
    """A task over the due records with reviewers A and B (in turn), screened (the queued job runs at once)."""
    from lantai.review import services
    from lantai.review.models import ReviewItem

    task = services.create_task(
        review.users["senior"], name="1990年到期档案开放审核", records=review.due,
        stages=stages, reviewers=[review.users["a"], review.users["b"]],
    )  # fmt: skip
    for item in ReviewItem.objects.filter(task=task, stage="machine"):
        services.screen_item(item)
    return task


def _item(task: Any, record: Any) -> Any:
    return task.items.get(record=record)


# --- who may open what ----------------------------------------------------------------------------
PAGES = {
    "web:review_home": ("a", "senior", "unit"),
    "web:review_plan": ("senior",),
    "web:review_queue": ("a", "senior"),
    "web:review_doubts": ("a", "senior"),
    "web:review_unit": ("unit",),
    "web:review_lexicons": ("senior",),
    "web:review_classifier": ("senior",),
    "web:review_exchange": ("senior",),
    "web:review_evaluation": ("senior",),
}


def test_each_page_opens_for_its_roles_and_is_refused_to_the_others(review: Review) -> None:
    from lantai.review import lexicons
    from lantai.review.models import Lexicon

    lexicons.ensure_defaults()
    task = _task(review)
    item = _item(task, review.due[0])
    pages = {
        **{reverse(name): who for name, who in PAGES.items()},
        reverse("web:review_task", args=[task.pk]): ("a", "senior"),
        reverse("web:review_item", args=[item.pk]): ("a", "senior"),
        reverse("web:review_lexicon", args=[Lexicon.objects.first().code]): ("senior",),
    }
    for url, allowed in pages.items():
        for who in ("a", "senior", "unit", "cataloguer"):
            response = _client(review.users[who]).get(url)
            expected = 200 if who in allowed else 403
            assert response.status_code == expected, (url, who, response.status_code)
    assert Client().get(reverse("web:review_home")).status_code == 302  # anonymous: sign in


def test_navigation_shows_review_to_reviewers_only(review: Review) -> None:
    page = _client(review.users["a"]).get(reverse("web:review_home")).content.decode()
    assert reverse("web:review_queue") in page and reverse("web:review_plan") not in page
    page = _client(review.users["cataloguer"]).get(reverse("web:home")).content.decode()
    assert reverse("web:review_home") not in page


# --- 计划 -------------------------------------------------------------------------------------------
def _plan_form(review: Review, action: str) -> dict[str, Any]:
    return {
        "action": action, "name": "1990年档案开放审核", "repository": review.site.repository.pk,
        "as_of": "2026-06-30", "fonds": [review.site.fonds.pk],
        "reviewers": [review.users["a"].pk, review.users["b"].pk],
        "stages": ["second", "unit"], "sample_percent": "5", "unassisted_percent": "0",
    }  # fmt: skip


def test_plan_preview_lists_selection_and_exclusions_then_creates_the_task(
    review: Review, django_capture_on_commit_callbacks: Any
) -> None:
    from lantai.review.models import ReviewTask

    client = _client(review.users["senior"])
    preview = client.post(reverse("web:review_plan"), _plan_form(review, "preview"))
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'id="plan-selected">3<' in page  # the three due records; the 2022/2023 ones are not due
    assert 'id="plan-excluded">1<' in page
    assert review.secret.reference_code in page and "保密期限未满" in page
    assert not ReviewTask.objects.exists()  # a preview creates nothing

    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(reverse("web:review_plan"), _plan_form(review, "create"))
    task = ReviewTask.objects.get()
    assert made.status_code == 302 and made["Location"] == reverse(
        "web:review_task", args=[task.pk]
    )
    assert task.items.count() == 3 and task.stages[:3] == ["machine", "first", "second"]
    assert set(task.items.values_list("stage", flat=True)) == {"first"}  # screened at once
    page = client.get(made["Location"]).content.decode()
    assert review.due[0].reference_code in page and "初审" in page


def test_plan_refuses_a_reviewer_and_keeps_the_form(review: Review) -> None:
    response = _client(review.users["a"]).post(
        reverse("web:review_plan"), _plan_form(review, "create")
    )
    assert response.status_code == 403


# --- the review page ------------------------------------------------------------------------------
def test_review_page_highlights_findings_and_escapes_text(review: Review) -> None:
    task = _task(review)
    item = _item(task, review.due[0])
    assert any(s["kind"] == "id18" for s in item.screening["spans"])
    page = _client(review.users["a"]).get(reverse("web:review_item", args=[item.pk]))
    html = page.content.decode()
    remarks = review.due[0].remarks
    start = remarks.index(ID18)
    assert f'<mark data-offset="{start}" data-kind="id18"' in html
    assert "18位身份证号" in html  # the reason, by kind
    other = _item(task, review.due[1])
    html = _client(review.users["a"]).get(reverse("web:review_item", args=[other.pk])).content
    assert b"&lt;b&gt;" in html and "<b>档案</b>".encode() not in html


def test_unassisted_item_shows_no_findings(review: Review) -> None:
    from lantai.review.models import ReviewItem

    task = _task(review)
    item = _item(task, review.due[0])
    ReviewItem.objects.filter(pk=item.pk).update(assisted=False)
    html = _client(review.users["a"]).get(reverse("web:review_item", args=[item.pk])).content
    text = html.decode()
    assert "无辅助对照" in text and "<mark" not in text and "18位身份证号" not in text
    queue = _client(review.users["a"]).get(reverse("web:review_queue")).content.decode()
    assert "无辅助对照" in queue


def test_deferral_without_ground_shows_the_error_and_keeps_the_input(review: Review) -> None:
    task = _task(review)
    item = _item(task, review.due[0])
    response = _client(review.users["a"]).post(
        reverse("web:review_item", args=[item.pk]),
        {"decision": "deferred", "ground": "", "rule": "涉及个人病史", "rereview_year": "2031",
         "note": "待定"},
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert "第八条的依据" in html and 'id="decide-error"' in html
    assert 'value="涉及个人病史"' in html and 'value="2031"' in html
    assert 'value="deferred" checked' in html
    item.refresh_from_db()
    assert item.stage == "first" and item.decision == "" and not item.decisions.exists()


def test_passages_are_stored_with_their_text_and_the_time_taken(review: Review) -> None:
    task = _task(review)
    record = review.due[0]
    item = _item(task, record)
    start = record.remarks.index(ID18)
    response = _client(review.users["a"]).post(
        reverse("web:review_item", args=[item.pk]),
        {"decision": "open", "passage_section": ["field:remarks"],
         "passage_start": [str(start)], "passage_end": [str(start + 18)],
         "passage_category": ["personal_info"], "seconds": "42.5"},
    )  # fmt: skip
    assert response.status_code == 302
    decision = item.decisions.get()
    assert decision.passages[0]["text"] == ID18 and decision.seconds == 42.5
    item.refresh_from_db()
    assert item.stage == "second" and item.passages[0]["end"] == start + 18


def test_reviewer_cannot_second_review_own_first_review(review: Review) -> None:
    task = _task(review)
    item = _item(task, review.due[2])
    url = reverse("web:review_item", args=[item.pk])
    a = _client(review.users["a"])
    assert a.post(url, {"decision": "open"}).status_code == 302
    response = a.post(url, {"decision": "open", "note": "再看一遍"})
    assert response.status_code == 200
    assert "不能复审本人初审的档案" in response.content.decode()
    assert item.decisions.count() == 1
    # another reviewer may: the item moves on
    assert _client(review.users["b"]).post(url, {"decision": "open"}).status_code == 302
    assert item.decisions.count() == 2


# --- 会同审核 ---------------------------------------------------------------------------------------
def _at_unit(review: Review) -> Any:
    task = _task(review, stages=("unit",))
    item = _item(task, review.due[2])
    url = reverse("web:review_item", args=[item.pk])
    assert _client(review.users["a"]).post(url, {"decision": "open"}).status_code == 302
    item.refresh_from_db()
    assert (item.stage, item.unit_state) == ("unit", "pending")
    return item


def test_unit_answering_for_another_units_record_is_refused_and_nothing_saved(
    review: Review,
) -> None:
    from lantai.review.models import UnitOpinion

    item = _at_unit(review)
    other = _client(review.users["other_unit"])
    response = other.post(reverse("web:review_unit"), {"item": [item.pk], "action": "agree"})
    html = response.content.decode()
    assert response.status_code == 200 and "不是本单位的档案" in html and "未保存任何意见" in html
    assert item.record.reference_code not in html  # the other unit's 档号 is not told
    assert not UnitOpinion.objects.exists()
    # the unit's own page lists it; agreeing moves it on to 馆审定
    own = _client(review.users["unit"])
    assert item.record.reference_code in own.get(reverse("web:review_unit")).content.decode()
    assert (
        own.post(reverse("web:review_unit"), {"item": [item.pk], "action": "agree"}).status_code
        == 302
    )
    item.refresh_from_db()
    assert item.stage == "approval" and UnitOpinion.objects.get().agrees


def test_unit_disagreement_goes_back_and_the_senior_answers_it(review: Review) -> None:
    item = _at_unit(review)
    response = _client(review.users["unit"]).post(
        reverse("web:review_unit"),
        {"item": [item.pk], "action": "disagree", "decision": "deferred", "ground": "art8-3",
         "note": "涉及职工个人病史"},
    )  # fmt: skip
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.unit_state == "disputed"
    senior = _client(review.users["senior"])
    url = reverse("web:review_item", args=[item.pk])
    assert "涉及职工个人病史" in senior.get(url).content.decode()
    assert senior.post(url, {"action": "accept_unit"}).status_code == 302
    item.refresh_from_db()
    assert (item.stage, item.decision, item.ground) == ("approval", "deferred", "art8-3")


# --- publishing and the task's files --------------------------------------------------------------
def test_publish_and_deferral_list(review: Review) -> None:
    from lantai.review import services

    task = _task(review, stages=())
    item = _item(task, review.due[0])
    a = _client(review.users["a"])
    a.post(reverse("web:review_item", args=[item.pk]),
           {"decision": "deferred", "ground": "art8-3", "rule": "个人病史", "rereview_year": "2035"})  # fmt: skip
    senior = _client(review.users["senior"])
    senior.post(reverse("web:review_item", args=[item.pk]),
                {"decision": "deferred", "ground": "art8-3", "rule": "个人病史",
                 "rereview_year": "2035"})  # fmt: skip
    item.refresh_from_db()
    assert item.stage == "published"
    response = senior.post(reverse("web:review_publish", args=[task.pk]))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.published_at is not None and item.record.open_status == "closed"
    xlsx = senior.get(reverse("web:review_deferrals", args=[task.pk, "xlsx"]))
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
    pdf = senior.get(reverse("web:review_deferrals", args=[task.pk, "pdf"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert services.visible_tasks(review.users["senior"]).filter(pk=task.pk).exists()


def test_request_review_from_the_record_page(review: Review) -> None:
    from lantai.review.models import ReviewTask

    record = review.site.records[0]
    senior = _client(review.users["senior"])
    assert "利用即时审" in senior.get(reverse("web:record", args=[record.pk])).content.decode()
    response = senior.post(reverse("web:review_request", args=[record.pk]), {"reason": "查档"})
    task = ReviewTask.objects.get(kind="request")
    assert response["Location"] == reverse("web:review_task", args=[task.pk])
    again = senior.post(reverse("web:review_request", args=[record.pk]), follow=True)
    assert "已在审核中" in again.content.decode()


# --- the archives' tools --------------------------------------------------------------------------
def test_lexicon_edit_makes_a_new_version(review: Review) -> None:
    from lantai.review.models import Lexicon

    senior = _client(review.users["senior"])
    senior.get(reverse("web:review_lexicons"))
    lexicon = Lexicon.objects.first()
    assert lexicon is not None
    url = reverse("web:review_lexicon", args=[lexicon.code])
    response = senior.post(url, {"terms": "劳动教养\n精神病\n", "note": "试用"})
    assert response.status_code == 302
    latest = lexicon.versions.order_by("-number").first()
    assert latest.number == 2 and latest.terms == ["劳动教养", "精神病"]
    assert "精神病" in senior.get(url).content.decode()


def test_training_with_too_few_decisions_says_so(review: Review) -> None:
    response = _client(review.users["senior"]).post(reverse("web:review_classifier"))
    html = response.content.decode()
    assert response.status_code == 200 and 'id="train-error"' in html and "人工审核结论不足" in html
    assert "从不作出开放或不开放的决定" in html


def test_malformed_exchange_file_is_refused_with_its_name(review: Review) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lantai.review.models import ExchangeImport

    upload = SimpleUploadedFile("results.json", b'{"format": "nonsense"')
    response = _client(review.users["senior"]).post(
        reverse("web:review_exchange"), {"file": upload}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "results.json" in html and 'id="exchange-error"' in html
    assert not ExchangeImport.objects.exists()


def test_export_then_import_preview_and_apply(review: Review) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lantai.review.models import ExchangeImport

    task = _task(review)
    item = _item(task, review.due[2])
    _client(review.users["a"]).post(
        reverse("web:review_item", args=[item.pk]), {"decision": "open"}
    )
    senior = _client(review.users["senior"])
    exported = senior.get(reverse("web:review_export", args=[task.pk, "json"]))
    data = b"".join(exported.streaming_content)
    assert exported.status_code == 200 and review.due[2].reference_code.encode() in data
    upload = SimpleUploadedFile("results.json", data)
    response = senior.post(reverse("web:review_exchange"), {"file": upload})
    row = ExchangeImport.objects.get()
    assert response["Location"] == reverse("web:review_exchange_import", args=[row.pk])
    html = senior.get(response["Location"]).content.decode()
    assert "验证通过" in html and "正在审核中" in html  # the record is in a task under way
    senior.post(response["Location"], {"action": "discard"})
    row.refresh_from_db()
    assert row.status == "discarded"


def test_doubt_list_and_evaluation(review: Review) -> None:
    task = _task(review)
    item = _item(task, review.due[1])
    a = _client(review.users["a"])
    a.post(
        reverse("web:review_item", args=[item.pk]), {"action": "doubt", "doubt_note": "文号存疑"}
    )
    assert "文号存疑" in a.get(reverse("web:review_doubts")).content.decode()
    html = _client(review.users["senior"]).get(reverse("web:review_evaluation")).content.decode()
    assert "国家秘密" in html and "无辅助对照" in html


def test_segments_cut_overlapping_findings() -> None:
    from lantai.web.review_support import segments

    spans = [
        {"start": 0, "end": 4, "kind": "person", "category": "entity", "score": 0.9,
         "rule": "ner", "version": "1"},
        {"start": 2, "end": 6, "kind": "privacy", "category": "personal_privacy", "score": 0.7,
         "rule": "lex", "version": "2"},
    ]  # fmt: skip
    cut = segments("𠀀张三丰患病了", spans)
    assert [(s.offset, s.text, s.kinds) for s in cut] == [
        (0, "𠀀张", "person"), (2, "三丰", "person privacy"), (4, "患病", "privacy"), (6, "了", ""),
    ]  # fmt: skip
    assert cut[1].kind == "privacy"  # a finding that supports a ground outranks a name


def test_classifier_page_shows_the_evaluation_with_its_intervals(review: Review) -> None:
    from lantai.review.models import ClassifierVersion

    evaluation = {
        "balanced_accuracy": 0.74, "f2": 0.6, "recall": 0.7, "precision": 0.5, "n": 40,
        "positives": 10, "bac_interval": [0.61, 0.85], "f2_interval": [0.42, 0.75],
        "threshold": 0.5,
    }  # fmt: skip
    ClassifierVersion.objects.create(
        version="tfidf-lr-test", path="review/models/none.model", sm3="0" * 64, labels=40,
        positives=10, evaluation=evaluation,
    )  # fmt: skip
    senior = _client(review.users["senior"])
    html = senior.get(reverse("web:review_classifier")).content.decode()
    assert "tfidf-lr-test" in html
    assert '平衡准确率</td><td class="num">0.740</td><td>0.610 – 0.850</td>' in html
    assert 'F2</td><td class="num">0.600</td><td>0.420 – 0.750</td>' in html
    html = senior.get(reverse("web:review_evaluation")).content.decode()
    assert "0.610 – 0.850" in html
