"""Editing accessions and donors, the status rules (registered → appraised → accepted /
returned), items received with their digitization status, certificates and thanks letters
(numbered, audited, made again byte for byte), the statistics figures and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lantai.catalog import services as catalog
from lantai.core import figures
from lantai.core.models import AuditEntry
from lantai.holdings import documents, donor_restrictions, received
from lantai.holdings import services as hs
from lantai.holdings.models import Accession, IssuedDocument

from .conftest import Desk

GIFT = {"kind": "捐赠", "received_on": "2026-03-05", "item_count": 12, "description": "红色家书"}


def gift(desk: Desk, **change: Any) -> Accession:
    d = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    return hs.create_accession(desk.archivist, desk.repo, d, {**GIFT, **change})


def accepted(desk: Desk, **change: Any) -> Accession:
    a = gift(desk, deed_terms="无偿捐赠，永久保存", **change)
    hs.appraise(desk.archivist, a, {"condition": "完好", "appraised_value": "800"})
    return hs.accept(desk.archivist, a)


def test_status_moves_only_along_the_rules(desk: Desk) -> None:
    a = gift(desk)
    with pytest.raises(
        hs.HoldingsError, match="处于“已登记”，不能改为“已入藏”（可改为：已鉴定、已退还）"
    ):
        hs.accept(desk.archivist, a)
    with pytest.raises(hs.HoldingsError, match="保存状况（condition）必填"):
        hs.appraise(desk.archivist, a, {"condition": " "})
    hs.appraise(desk.archivist, a, {"condition": "轻度霉斑", "appraised_value": "1200"})
    assert a.status == "appraised" and a.appraised_on == dt.date.today()
    with pytest.raises(hs.HoldingsError, match="须先填写捐赠协议条款"):
        hs.accept(desk.archivist, a)
    hs.update_accession(desk.archivist, a, {"item_count": 12, "condition": "轻度霉斑",
                                            "appraised_value": "1200", "deed_terms": "无偿捐赠"})  # fmt: skip
    hs.accept(desk.archivist, a)
    with pytest.raises(hs.HoldingsError, match="处于“已入藏”，不能改为“已退还”（可改为：无）"):
        hs.return_accession(desk.archivist, a, "误收")
    moves = [
        (e.detail["from"], e.detail["to"])
        for e in AuditEntry.objects.filter(action="holdings.accession.status").order_by("pk")
    ]
    assert moves == [("registered", "appraised"), ("appraised", "accepted")]


def test_a_purchase_needs_its_value_and_a_return_its_reason(desk: Desk) -> None:
    a = gift(desk, kind="征购")
    with pytest.raises(hs.HoldingsError, match="征购的档案须填写估值"):
        hs.appraise(desk.archivist, a, {"condition": "完好"})
    with pytest.raises(hs.HoldingsError, match="退还须填写理由"):
        hs.return_accession(desk.archivist, a, "  ")
    hs.return_accession(desk.archivist, a, "非本馆征集范围")
    assert Accession.objects.get(pk=a.pk).status == "returned"
    with pytest.raises(hs.HoldingsError, match="已退还，不能再登记接收实物"):
        received.add_item(desk.archivist, a, {"description": "信札"})


def test_a_closed_accession_keeps_its_counts(desk: Desk) -> None:
    a = accepted(desk)
    with pytest.raises(hs.HoldingsError, match="已入藏，不能再修改：item_count"):
        hs.update_accession(desk.archivist, a, {"item_count": 13, "deed_terms": "x"})
    hs.update_accession(desk.archivist, a, {"item_count": 12, "condition": "完好", "appraised_value": "800.00",
                                            "description": "红色家书十二封", "deed_terms": "无偿捐赠"})  # fmt: skip
    entry = AuditEntry.objects.filter(action="holdings.accession.update").last()
    assert entry is not None and entry.detail["changed"]["description"] == [
        "红色家书",
        "红色家书十二封",
    ]


def test_editing_a_donor_is_audited_without_the_id_number(desk: Desk) -> None:
    d = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    hs.update_donor(
        desk.archivist,
        d,
        {"kind": "person", "name": "韦氏后人", "id_document": "450102195001011234"},
    )
    d.refresh_from_db()
    assert d.name == "韦氏后人" and d.id_document_masked == "450***********1234"
    entry = AuditEntry.objects.filter(action="holdings.donor.update").get()
    assert "195001" not in json.dumps(entry.detail, ensure_ascii=False)
    with pytest.raises(hs.HoldingsError, match="无权登记征集"):
        hs.update_donor(desk.keeper, d, {"name": "x"})


def test_items_take_their_digitization_status_from_the_digitization_room(desk: Desk) -> None:
    from lantai.digitization.models import Batch, Item, Page
    from tests.search.test_services import add

    cat = catalog.create_category(catalog.create_fonds("Z201", "韦氏家族"), "WS")
    record = add(cat, 1, "家书", "未开放")
    a = gift(desk)
    with pytest.raises(hs.HoldingsError, match="本馆没有档号为“Z201-无”的档案"):
        received.add_item(desk.archivist, a, {"description": "家书", "reference_code": "Z201-无"})
    with pytest.raises(hs.HoldingsError, match="数字化状态（digitization）须为"):
        received.add_item(desk.archivist, a, {"description": "家书", "digitization": "done"})
    received.add_item(desk.archivist, a, {"description": "家书一封", "count": 1, "reference_code": record.reference_code,
                                    "digitization": "scheduled"})  # fmt: skip
    received.add_item(desk.archivist, a, {"description": "军功章", "count": 2})
    assert [(x["item"].description, x["status"]) for x in received.items_with_digitization(a)] == [
        ("家书一封", "scheduled"), ("军功章", "none")]  # fmt: skip
    assert donor_restrictions.covered_records(a) == {record.pk}
    batch = Batch.objects.create(repository=desk.repo, name="b1", status="accepted")
    item = Item.objects.create(batch=batch, record=record, reference_code=record.reference_code)
    from lantai.catalog.components import attach_component

    component = attach_component(record, [b"img"], "0001.jpg", user=None)
    Page.objects.create(batch=batch, item=item, component=component, number=1, source_name="0001.jpg", path="x", size=3, sm3="0" * 64)  # fmt: skip
    rows = received.items_with_digitization(a)
    assert [(x["status"], x["derived"], x["pages"]) for x in rows] == [
        ("digitized", True, 1),
        ("none", False, 0),
    ]


def test_certificate_and_thanks_are_numbered_audited_and_identical_again(desk: Desk) -> None:
    a = accepted(desk)
    doc, issued = documents.issue(desk.archivist, a, "certificate", on=dt.date(2026, 3, 10))
    assert issued and doc.number == "ZS-2026-0001"
    pdf = documents.pdf_of(desk.keeper, doc)
    assert pdf.startswith(b"%PDF-")
    again, issued_again = documents.issue(desk.archivist, a, "certificate")
    assert again.pk == doc.pk and not issued_again
    # the donor's name edited later: the certificate issued says what it said
    hs.update_donor(desk.archivist, a.donor, {"kind": "person", "name": "改过的名字"})
    assert documents.pdf_of(desk.archivist, IssuedDocument.objects.get(pk=doc.pk)) == pdf
    thanks, _ = documents.issue(desk.archivist, a, "thanks", on=dt.date(2026, 3, 10))
    assert thanks.number == "GX-2026-0001" and thanks.content["donor"] == "改过的名字"
    b = accepted(desk)
    assert (
        documents.issue(desk.archivist, b, "certificate", on=dt.date(2026, 4, 1))[0].number
        == "ZS-2026-0002"
    )
    actions = list(
        AuditEntry.objects.filter(action__startswith="holdings.document").values_list(
            "action", flat=True
        )
    )
    assert actions.count("holdings.document.issue") == 3 and "holdings.document.print" in actions
    # a stored document that would not come out the same is refused, not printed differently
    IssuedDocument.objects.filter(pk=doc.pk).update(content={**doc.content, "items": 13})
    with pytest.raises(hs.HoldingsError, match="无法按原样重新生成"):
        documents.pdf_of(desk.archivist, IssuedDocument.objects.get(pk=doc.pk))


def test_documents_are_refused_before_acceptance_and_certificates_for_other_kinds(
    desk: Desk,
) -> None:
    a = gift(desk)
    with pytest.raises(hs.HoldingsError, match="尚未入藏（当前：已登记），不能出具捐赠证书"):
        documents.issue(desk.archivist, a, "certificate")
    b = accepted(desk, kind="代存")
    with pytest.raises(hs.HoldingsError, match="捐赠证书只出具给捐赠"):
        documents.issue(desk.archivist, b, "certificate")
    assert documents.issue(desk.archivist, b, "thanks")[0].number.startswith("GX-")
    with pytest.raises(hs.HoldingsError, match="文书种类须为"):
        documents.issue(desk.archivist, b, "receipt")
    with pytest.raises(hs.HoldingsError, match="无权登记征集"):
        documents.issue(desk.keeper, accepted(desk), "thanks")


def test_figures_count_accessions_and_items_of_the_year(desk: Desk) -> None:
    """Accessions taken in (accepted) of the archives and year: not those registered or
    appraised only, not those returned, not another archives'."""
    from lantai.catalog import services as catalog

    providers = figures.provided()
    repo = desk.repo.pk
    accepted(desk)
    accepted(desk, item_count=30)
    accepted(desk, received_on="2025-06-01", item_count=5)
    gift(desk, item_count=7)  # registered, not yet taken in
    returned = gift(desk, item_count=100)
    hs.return_accession(desk.archivist, returned, "重复")
    other = catalog.create_repository("441900", "岭东市档案馆", level="city")
    d = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    elsewhere = hs.create_accession(desk.archivist, other, d, {**GIFT, "deed_terms": "无偿捐赠"})
    hs.appraise(desk.archivist, elsewhere, {"condition": "完好"})
    hs.accept(desk.archivist, elsewhere)
    assert providers["accessions"](2026, repo) == 2
    assert providers["accession_items"](2026, repo) == 12 + 30
    assert (
        providers["accessions"](2025, repo) == 1 and providers["accession_items"](2024, repo) == 0
    )
    assert providers["accessions"](2026, other.pk) == 1


def test_campaign_edit_and_progress_of_many(desk: Desk) -> None:
    c = hs.create_campaign(desk.archivist, desk.repo, {"name": "红色档案征集", "target_items": 10})
    gift(desk, campaign=c, item_count=15)
    hs.update_campaign(
        desk.archivist, c, {"name": "红色档案征集", "target_items": 20, "starts_on": "2026-01-01"}
    )
    assert hs.campaigns_progress([c])[c.pk] == {
        "accessions": 1,
        "items": 15,
        "percent": 75.0,
        "bar": 75,
    }
    with pytest.raises(hs.HoldingsError, match="结束日期（ends_on）不得早于开始日期"):
        hs.update_campaign(
            desk.archivist, c, {"name": "x", "starts_on": "2026-05-01", "ends_on": "2026-01-01"}
        )


def cli(*args: str) -> Any:
    from lantai.cli import main
    from lantai.holdings.cli import accession

    if "accession" not in main.commands:  # until the lead registers the group
        main.add_command(accession)
    return CliRunner().invoke(main, ["accession", *args], catch_exceptions=False)


def test_cli_certificate_writes_the_same_pdf_each_time(desk: Desk, tmp_path: Path) -> None:
    a = accepted(desk)
    first = cli("certificate", a.number, "--out", str(tmp_path / "1.pdf"), "--json")
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert out["ok"] and out["issued_now"] and out["number"].startswith("ZS-")
    second = json.loads(
        cli("certificate", a.number, "--out", str(tmp_path / "2.pdf"), "--json").output
    )
    assert not second["issued_now"] and second["number"] == out["number"]
    assert (tmp_path / "1.pdf").read_bytes() == (tmp_path / "2.pdf").read_bytes()
    shown = json.loads(cli("show", a.number, "--json").output)
    assert shown["documents"][0]["number"] == out["number"] and shown["status"] == "accepted"


def test_cli_errors_are_json_with_exit_codes(desk: Desk, tmp_path: Path) -> None:
    missing = cli("certificate", "ZJ-2026-9999", "--out", str(tmp_path / "x.pdf"), "--json")
    assert missing.exit_code == 1
    assert json.loads(missing.output) == {
        "ok": False,
        "error": "本馆没有登记号为 ZJ-2026-9999 的征集登记",
        "number": "ZJ-2026-9999",
    }
    a = gift(desk)
    refused = cli("certificate", a.number, "--out", str(tmp_path / "x.pdf"), "--json")
    assert refused.exit_code == 1 and "尚未入藏" in json.loads(refused.output)["error"]
    assert not (tmp_path / "x.pdf").exists()
    folder = cli("certificate", a.number, "--out", str(tmp_path), "--json")
    assert folder.exit_code == 2 and "--out 须为一个文件路径" in json.loads(folder.output)["error"]
    usage = cli("certificate", a.number, "--json")
    assert usage.exit_code == 2 and "--out" in json.loads(usage.output)["error"]
    listed = json.loads(cli("restrictions", "--json").output)
    assert listed == []
