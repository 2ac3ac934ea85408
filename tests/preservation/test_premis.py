"""PREMIS 3 documents: exact round trip, vocabulary, safe parsing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from lantai import __version__
from lantai.preservation import ocfl, premis
from lantai.preservation.premis import Agent, Event, FileObject, Identifier, LinkingAgent
from lantai.preservation.storage import LocalLocation
from tests.preservation.conftest import make_records

LANTAI = Agent(Identifier("local", "lantai"), "兰台 Lantai", "software", version="0.1.0")
CLAMAV = Agent(
    Identifier("local", "clamav"), "ClamAV", "software", version="1.4.2", note="签名库 27500"
)
PERSON = Agent(Identifier("local", "user:7"), "张三（接收员）", "person")
PDF = Identifier("OCFL logical path", "content/文书/关于<会议>&纪要.pdf")
CST = timezone(timedelta(hours=8))


def sample() -> tuple[list[Event], list[Agent], list[FileObject]]:
    objects = [
        FileObject(
            PDF,
            fixity=(("SHA-256", "ab" * 32), ("SM3", "cd" * 32), ("SHA-512", "ef" * 64)),
            size=123456,
            format_name="Acrobat PDF 1.7 - Portable Document Format",
            format_version="1.7",
            format_registry_key="fmt/276",
            original_name="关于<会议>&纪要.pdf",
        ),
        FileObject(Identifier("OCFL logical path", "content/未知.bin")),  # format unknown
    ]
    events = [
        Event(
            str(uuid.uuid4()),
            "virus check",
            datetime(2025, 3, 1, 9, 30, 5, 123456, tzinfo=CST),
            detail="clamd 扫描",
            outcome="success",
            outcome_detail="未发现病毒\n第二行",
            agents=(
                LinkingAgent(CLAMAV.identifier, ("executing program",)),
                LinkingAgent(PERSON.identifier, ("implementer", "authorizer")),
            ),
            objects=(PDF,),
        ),
        Event(str(uuid.uuid4()), "ingestion", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        Event(
            str(uuid.uuid4()),
            "metadata modification",
            datetime(2025, 4, 1, tzinfo=UTC),
            outcome="failure",
        ),
    ]
    return events, [LANTAI, CLAMAV, PERSON], objects


def test_round_trip_is_exact() -> None:
    events, agents, objects = sample()
    assert premis.parse(premis.to_xml(events, agents, objects)) == (events, agents, objects)


def test_empty_document_round_trips() -> None:
    assert premis.parse(premis.to_xml([], [], [])) == ([], [], [])


def test_document_is_premis_3_with_loc_event_types() -> None:
    events, agents, objects = sample()
    doc = etree.fromstring(premis.to_xml(events, agents, objects))
    ns = {"p": premis.NS}
    assert doc.tag == f"{{{premis.NS}}}premis" and doc.get("version") == "3.0"
    assert [etree.QName(c).localname for c in doc] == ["object"] * 2 + ["event"] * 3 + ["agent"] * 3
    vir = doc.find("p:event/p:eventType", ns)
    assert vir is not None and vir.text == "virus check"
    assert vir.get("valueURI") == "http://id.loc.gov/vocabulary/preservation/eventType/vir"
    assert doc.findtext("p:event/p:eventIdentifier/p:eventIdentifierType", namespaces=ns) == "UUID"
    assert doc.findtext("p:agent/p:agentVersion", namespaces=ns) == "0.1.0"
    unknown = doc.findall("p:object", ns)[1]
    assert unknown.findtext(".//p:formatName", namespaces=ns) == "unknown"


def test_every_listed_event_type_is_the_loc_term() -> None:
    # Spot checks against https://id.loc.gov/vocabulary/preservation/eventType
    assert premis.EVENT_TYPES["fixity check"] == "fix"
    assert premis.EVENT_TYPES["message digest calculation"] == "mes"
    assert premis.EVENT_TYPES["format identification"] == "for"
    assert premis.EVENT_TYPES["replication"] == "rep"
    assert premis.EVENT_TYPES["deaccession"] == "dea"
    assert "repair" not in premis.EVENT_TYPES  # not a LoC term: use "recovery"


def test_unknown_event_type_and_naive_time_are_refused() -> None:
    with pytest.raises(premis.PremisError):
        premis.to_xml([Event("x", "repair", datetime.now(UTC))], [], [])
    with pytest.raises(premis.PremisError):
        premis.to_xml([Event("x", "ingestion", datetime(2025, 1, 1))], [], [])


def test_control_characters_are_refused_not_mangled() -> None:
    with pytest.raises(premis.PremisError, match="eventDetail"):
        premis.to_xml([Event("x", "ingestion", datetime.now(UTC), detail="a\x01b")], [], [])


def test_parser_refuses_entities_and_foreign_documents() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<premis xmlns="http://www.loc.gov/premis/v3" version="3.0">&x;</premis>'
    )
    with pytest.raises(premis.PremisError):
        premis.parse(evil)
    with pytest.raises(premis.PremisError):
        premis.parse(b"<other/>")
    with pytest.raises(premis.PremisError):
        premis.parse(b"not xml")


# --- the premis.xml of real packages against the PREMIS 3.0 schema -------------------------------

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "schemas"
P = {"p": premis.NS}


@pytest.fixture(scope="module")
def premis_schema() -> etree.XMLSchema:
    # premis.xsd imports nothing (PREMIS 3.0 dropped its xlink import): it compiles offline, and
    # no_network makes sure of it.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "premis.xsd"), parser))


def _stored_premis(package: Any) -> etree._Element:
    from django.conf import settings

    backend = LocalLocation("local", Path(settings.PRESERVATION_ROOT))
    xml = ocfl.read_logical(backend, package.object_id, "premis/premis.xml")
    return etree.fromstring(xml)


def _assert_valid(schema: etree.XMLSchema, doc: etree._Element) -> None:
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


def test_schema_compiles_offline(premis_schema: etree.XMLSchema) -> None:
    events, agents, objects = sample()
    _assert_valid(premis_schema, etree.fromstring(premis.to_xml(events, agents, objects)))
    bad = etree.fromstring(premis.to_xml(events, agents, []))  # PREMIS needs one object at least
    assert not premis_schema.validate(bad)


@pytest.mark.django_db(transaction=True)
def test_catalogued_and_preserved_package_premis_validates(
    premis_schema: etree.XMLSchema, tmp_path: Path, settings: Any
) -> None:
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Component
    from lantai.core.audit import acting_as
    from lantai.preservation import packaging, replication

    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    ids = [r.pk for r in make_records(category, (1, 2), content=b"%PDF-1.4 test " * 50)]
    with acting_as("cli:张三"):
        package = packaging.new_package("record", "单件著录", None, ids)
        assert replication.preserve(package.pk) == "preserved"
    doc = _stored_premis(package)
    _assert_valid(premis_schema, doc)
    # the package as an entity, one file object per electronic file with SHA-256 and SM3
    entity = doc.findall("p:object", P)[0]
    assert entity.get(f"{{{premis.XSI}}}type") == "premis:intellectualEntity"
    assert entity.findtext(".//p:objectIdentifierValue", namespaces=P) == package.object_id
    files = {
        o.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=P): o
        for o in doc.findall("p:object", P)[1:]
    }
    comp = Component.objects.get(name="正文1.pdf")
    f = files["records/Z109-WS·2020-Y-BGS-0001/正文1.pdf"]
    digests = {
        a.text: (a.getnext().text, a.get("valueURI"))
        for a in f.iterfind(".//p:messageDigestAlgorithm", P)
    }
    assert digests == {
        "SHA-256": (
            comp.sha256,
            "http://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions/sha256",
        ),
        "SM3": (comp.sm3, None),  # not in LoC's vocabulary: a local value
    }
    assert f.findtext(".//p:relatedObjectIdentifierValue", namespaces=P) == package.object_id
    # events name the files they concern; agents: Lantai with its version and the person
    ingestion = next(
        e
        for e in doc.findall("p:event", P)
        if e.findtext("p:eventType", namespaces=P) == "ingestion"
    )
    linked = {v.text for v in ingestion.iterfind(".//p:linkingObjectIdentifierValue", P)}
    assert set(files) | {package.object_id} <= linked
    agents = {
        a.findtext("p:agentIdentifier/p:agentIdentifierValue", namespaces=P): (
            a.findtext("p:agentType", namespaces=P),
            a.findtext("p:agentVersion", namespaces=P),
        )
        for a in doc.findall("p:agent", P)
    }
    assert agents[f"Lantai {__version__}"] == ("software", __version__)
    assert agents["cli:张三"] == ("person", None)


@pytest.mark.clamd
@pytest.mark.django_db(transaction=True)
def test_accepted_transfer_premis_validates_with_pronom_ids_and_tools(
    premis_schema: etree.XMLSchema,
    tmp_path: Path,
    settings: Any,
    clamd_scanner: tuple[Any, Any],
) -> None:
    from lantai.catalog import services as catalog
    from lantai.demo.transfer import make_transfer
    from lantai.ingest import services
    from lantai.preservation import replication
    from lantai.preservation.models import Package

    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"
    catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    t = services.receive(make_transfer(tmp_path / "pkg", 2, kinds=("pdf",)), "岭南省人民政府办公厅")
    report = services.run_check(t.versions.get(), scanner=clamd_scanner[0])
    assert report.result == "pass", [c for c in report.checks if c.status == "fail"]
    services.accept(t)
    package = Package.objects.get(kind="transfer", source_id=t.pk)
    for pk in replication.pending_packages():
        replication.preserve(pk)
    doc = _stored_premis(package)
    _assert_valid(premis_schema, doc)
    keys = [k.text for k in doc.iterfind(".//p:formatRegistryKey", P)]
    assert len(keys) == 2 and all(k and k.startswith("fmt/") for k in keys)
    tools = {a.findtext("p:agentName", namespaces=P) for a in doc.findall("p:agent", P)}
    assert {"ClamAV", "pikepdf", "兰台 Lantai"} <= tools  # the check's tools, Lantai itself
    assert not [t for t in tools if t and t.startswith("lantai.")]  # Lantai's own stages


@pytest.mark.django_db(transaction=True)
def test_a_repaired_file_is_named_by_the_events_in_premis(
    premis_schema: etree.XMLSchema, tmp_path: Path, settings: Any
) -> None:
    from lantai.catalog import services as catalog
    from lantai.catalog.components import attach_component
    from lantai.preservation import audit, locations, packaging, replication

    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"
    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    record, issues = catalog.save_record(
        category,
        {"reference_code": "Z109-WS·2020-Y-BGS-0001", "title": "通知", "date": "2020-05-06",
         "retention": "永久", "author": "岭南省人民政府办公厅"},
    )  # fmt: skip
    assert record is not None, issues
    attach_component(record, [b"%PDF-1.4 body " * 80], "正文.pdf", user=None)
    package = packaging.new_package("record", "单件著录", None, [record.pk])
    assert replication.preserve(package.pk) == "preserved"
    offsite = LocalLocation("offsite", tmp_path / "offsite")
    logical = "records/Z109-WS·2020-Y-BGS-0001/正文.pdf"
    content = ocfl.logical_state(ocfl.read_inventory(offsite, package.object_id))[logical]
    damaged = tmp_path / "offsite" / ocfl.object_path(offsite, package.object_id)
    damaged = damaged / content.content_path
    damaged.write_bytes(b"not what was preserved")
    run = audit.run_audit(100000)
    assert run.repaired >= 1
    for pk in replication.pending_packages():
        replication.preserve(pk)
    doc = _stored_premis(package)
    _assert_valid(premis_schema, doc)
    about_file = {
        e.findtext("p:eventType", namespaces=P)
        for e in doc.findall("p:event", P)
        if logical in {v.text for v in e.iterfind(".//p:linkingObjectIdentifierValue", P)}
    }
    assert {"fixity check", "recovery"} <= about_file
