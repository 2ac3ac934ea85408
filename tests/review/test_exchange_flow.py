"""鉴定成果数据对接 end to end: the archives exports a task's results (JSON and XML, signed, valid
against the schemas in the repository); a second archives (the same database: records matched by
fonds code and 档号) previews what would change, refuses a tampered or malformed file with the
place named, and applying makes proposals in a review task — it never opens anything."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import jsonschema
import pytest
from django.utils import timezone
from lxml import etree

from lantai.catalog.models import Record
from lantai.core import signing
from lantai.review import exchange, publishing
from lantai.review.models import ExchangeImport, ReviewItem
from lantai.review.services import Proposal, ReviewError
from lantai.search import services as search
from lantai.search.query import Query, Scope
from lantai.standards import appraisal_exchange as fmt
from tests.review.conftest import Archive, item_of

pytestmark = pytest.mark.django_db

# an anonymous visitor's scope (scope_for(AnonymousUser())); importing AnonymousUser crashes
# this mypy with django-stubs, so the scope is named directly
PUBLIC = Scope.public_scope()

RULE = "涉及职工病史（本馆标准第3条）"


@pytest.fixture
def decided(archive: Archive, index: str, make_task: Any, walk: Any) -> dict[str, Any]:
    """A published task: one record opened, one deferred; and a record still closed elsewhere."""
    opened = archive.record("关于城关区救灾粮调拨的通知")
    closed = archive.record("关于职工病退的审批报告")
    task = make_task([opened, closed], stages=("second",))
    walk(item_of(task, opened), Proposal("open"))
    year = timezone.localdate().year + 3
    walk(
        item_of(task, closed), Proposal("deferred", ground="art8-3", rule=RULE, rereview_year=year)
    )
    publishing.publish(list(publishing.ready(task)), archive.users["senior"])
    search.index_records([opened.pk, closed.pk])
    items = list(task.items.select_related("record").order_by("pk"))
    return {"task": task, "items": items, "opened": opened, "closed": closed, "year": year}


def export(archive: Archive, decided: dict[str, Any], *, as_xml: bool = False) -> bytes:
    return bytes(exchange.export(archive.users["senior"], decided["items"], as_xml=as_xml))


def test_export_is_signed_and_valid_against_the_schemas(
    archive: Archive, decided: dict[str, Any]
) -> None:
    data = export(archive, decided)
    doc = json.loads(data)
    jsonschema.validate(doc, fmt.json_schema())
    by_code = {r["reference_code"]: r for r in doc["results"]}
    closed = by_code[decided["closed"].reference_code]
    assert (closed["fonds_code"], closed["decision"], closed["ground"], closed["rule"]) == (
        "Z109", "deferred", "art8-3", RULE,
    )  # fmt: skip
    assert closed["rereview_year"] == decided["year"]
    assert by_code[decided["opened"].reference_code]["decision"] == "open"
    assert doc["exporter"]["key_fingerprint"] == signing.archive_key().fingerprint
    assert fmt.verify_signature(doc, signing.verify)
    xml = export(archive, decided, as_xml=True)
    fmt.xml_schema().assertValid(etree.fromstring(xml))
    assert fmt.parse(xml)["results"] == fmt.parse(data)["results"]


@pytest.mark.parametrize("as_xml", [False, True])
def test_preview_lists_what_would_change_and_changes_nothing(
    archive: Archive, decided: dict[str, Any], as_xml: bool
) -> None:
    data = export(archive, decided, as_xml=as_xml)
    items_before = ReviewItem.objects.count()
    row = exchange.preview(
        archive.users["senior"], data, "results.xml" if as_xml else "results.json"
    )
    actions = {c["reference_code"]: c["action"] for c in row.changes}
    assert actions == {
        decided["opened"].reference_code: "already_open",
        decided["closed"].reference_code: "propose",
    }
    proposal = next(c for c in row.changes if c["action"] == "propose")
    assert (proposal["decision"], proposal["ground"], proposal["current"], proposal["same"]) == (
        "deferred", "art8-3", "deferred", True,
    )  # fmt: skip
    assert row.signature_ok and row.status == "previewed"
    assert ReviewItem.objects.count() == items_before


def test_a_record_unknown_here_is_listed_as_not_found(
    archive: Archive, decided: dict[str, Any]
) -> None:
    doc = json.loads(export(archive, decided))
    doc["results"][0]["reference_code"] = "Z109-WS·1985-Y-BGS-9999"
    key = signing.archive_key()
    resigned = fmt.sign({k: v for k, v in doc.items() if k != "signature"}, key.sign)
    row = exchange.preview(archive.users["senior"], fmt.to_json(resigned), "other.json")
    assert "not_found" in {c["action"] for c in row.changes}


@pytest.mark.parametrize("as_xml", [False, True])
def test_a_file_changed_after_signing_is_refused(
    archive: Archive, decided: dict[str, Any], as_xml: bool
) -> None:
    data = export(archive, decided, as_xml=as_xml)
    if as_xml:
        assert data.count(b">deferred<") == 1
        tampered = data.replace(b">deferred<", b">open<")
    else:
        doc = json.loads(data)
        for r in doc["results"]:
            if r["decision"] == "deferred":
                r["decision"], r["ground"], r["rule"], r["rereview_year"] = "open", "", "", None
        tampered = json.dumps(doc, ensure_ascii=False).encode()
    with pytest.raises(ReviewError) as refused:
        exchange.preview(archive.users["senior"], tampered, "tampered")
    assert "签名验证未通过" in refused.value.message_zh and "tampered" in refused.value.message_zh
    assert not ExchangeImport.objects.exists()


def test_a_malformed_file_names_the_place(archive: Archive, decided: dict[str, Any]) -> None:
    data = export(archive, decided)
    with pytest.raises(ReviewError) as truncated:
        exchange.preview(archive.users["senior"], data[: len(data) // 2], "half.json")
    assert "half.json" in truncated.value.message_zh and "行" in truncated.value.message_zh
    doc = json.loads(data)
    del doc["results"][1]["decision"]
    with pytest.raises(ReviewError) as missing:
        exchange.preview(archive.users["senior"], json.dumps(doc).encode(), "missing.json")
    assert "/results/1" in missing.value.message_zh
    xml = export(archive, decided, as_xml=True)
    with pytest.raises(ReviewError) as broken:
        exchange.preview(archive.users["senior"], xml.replace(b"</", b"<", 1), "broken.xml")
    assert "broken.xml" in broken.value.message_zh and "行" in broken.value.message_zh
    assert not ExchangeImport.objects.exists()


def test_apply_makes_proposals_for_people_and_opens_nothing(
    archive: Archive, decided: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    closed = decided["closed"]
    data = export(archive, decided)
    row = exchange.preview(archive.users["senior"], data, "results.json")
    with django_capture_on_commit_callbacks(execute=True):
        task = exchange.apply(archive.users["senior"], row)
    assert task is not None and task.status == "active"
    items = list(task.items.all())
    assert [i.record_id for i in items] == [closed.pk]
    proposal = items[0]
    assert (proposal.decision, proposal.ground, proposal.rule) == ("deferred", "art8-3", RULE)
    assert proposal.rereview_year == decided["year"]
    assert proposal.stage == "first" and proposal.published_at is None  # people decide
    assert Record.objects.get(pk=closed.pk).open_status == "closed"
    hits = search.search(None, Query(text="病退", limit=10), scope=PUBLIC).hits
    assert closed.pk not in {h.id for h in hits}
    row.refresh_from_db()
    assert row.status == "applied" and row.task_id == task.pk
    with pytest.raises(ReviewError, match="已处理"):
        exchange.apply(archive.users["senior"], row)


def test_an_exchange_proposing_open_still_opens_nothing(
    archive: Archive, decided: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """A file that says 开放 for a deferred record makes a proposal, not an opening."""
    doc = json.loads(export(archive, decided))
    for r in doc["results"]:
        r.update(decision="open", ground="", rule="", rereview_year=None)
    resigned = fmt.sign(
        {k: v for k, v in doc.items() if k != "signature"}, signing.archive_key().sign
    )
    row = exchange.preview(archive.users["senior"], fmt.to_json(resigned), "open.json")
    with django_capture_on_commit_callbacks(execute=True):
        task = exchange.apply(archive.users["senior"], row)
    assert task is not None
    assert Record.objects.get(pk=decided["closed"].pk).open_status == "closed"
    assert not publishing.ready(task).exists()


def test_only_a_senior_reads_or_writes_exchange_files(
    archive: Archive, decided: dict[str, Any]
) -> None:
    from lantai.catalog.services import PermissionDenied

    data = export(archive, decided)
    for who in ("r1", "unit109"):
        with pytest.raises(PermissionDenied):
            exchange.preview(archive.users[who], data, "x.json")
        with pytest.raises(PermissionDenied):
            exchange.export(archive.users[who], decided["items"])


def test_apply_after_the_record_went_under_review_does_not_review_it_twice(
    archive: Archive, decided: dict[str, Any], make_task: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    row = exchange.preview(archive.users["senior"], export(archive, decided), "results.json")
    assert [c["action"] for c in row.changes].count("propose") == 1
    make_task([decided["closed"]])  # meanwhile a re-review of the same record began
    # refusing is as good as skipping
    with django_capture_on_commit_callbacks(execute=True), contextlib.suppress(ReviewError):
        exchange.apply(archive.users["senior"], row)
    active = ReviewItem.objects.filter(
        record=decided["closed"], task__status="active", published_at__isnull=True
    )
    assert active.count() == 1
