"""PREMIS 3 documents: exact round trip, vocabulary, safe parsing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from lantai.preservation import premis
from lantai.preservation.premis import Agent, Event, FileObject, Identifier, LinkingAgent

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
