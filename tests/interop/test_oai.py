"""The OAI-PMH provider at /oai: every verb and error, resumption tokens, from/until, sets,
tombstones, and that nothing but the open catalogue is ever published. Every response is
validated against OAI-PMH.xsd with oai_dc / EAD 2002 / oai-identifier for its strict parts."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from django.core import signing
from lxml import etree

from tests.interop.conftest import IDENTIFIER_RE, NS, Catalogue, assert_valid, oai_schema

BASE = "/oai"


@pytest.fixture
def harvest(client: Any, tmp_path: Any) -> Any:
    """GET (or POST) /oai with these arguments: the parsed response, validated."""

    def get(method: str = "get", **args: str) -> etree._Element:
        response = getattr(client, method)(BASE, args)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        doc = etree.fromstring(response.content)
        assert_valid(oai_schema(str(tmp_path.parent)), doc)
        for ident in doc.iterfind(".//oai:header/oai:identifier", NS):
            assert IDENTIFIER_RE.match(ident.text), ident.text
        return doc

    return get


def error_code(doc: etree._Element) -> str | None:
    err = doc.find("oai:error", NS)
    return None if err is None else err.get("code")


def identifiers(doc: etree._Element, deleted: bool | None = None) -> list[str]:
    out = []
    for h in doc.iterfind(".//oai:header", NS):
        if deleted is None or (h.get("status") == "deleted") == deleted:
            out.append(h.findtext("oai:identifier", namespaces=NS))
    return out


def ident(record: Any) -> str:
    return f"oai:archives.example.cn:{record.repository.code}/{quote(record.reference_code, safe='-_.!~*()' + chr(39))}"


def token_of(doc: etree._Element) -> str | None:
    el = doc.find(".//oai:resumptionToken", NS)
    return el.text if el is not None else None


def test_identify(catalogue: Catalogue, harvest: Any) -> None:
    doc = harvest(verb="Identify")
    node = doc.find("oai:Identify", NS)
    assert node.findtext("oai:repositoryName", namespaces=NS) == catalogue.repository.name
    assert node.findtext("oai:baseURL", namespaces=NS) == "http://testserver/oai"
    assert node.findtext("oai:deletedRecord", namespaces=NS) == "persistent"
    assert node.findtext("oai:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert node.findtext(".//id:repositoryIdentifier", namespaces=NS) == "archives.example.cn"
    assert doc.find("oai:request", NS).get("verb") == "Identify"


def test_list_records_only_open_catalogue(catalogue: Catalogue, harvest: Any) -> None:
    doc = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    got = identifiers(doc)
    assert sorted(got) == sorted(ident(r) for r in catalogue.open_records)
    text = etree.tostring(doc, encoding="unicode")
    assert "秘藏" not in text
    for r in catalogue.hidden.values():
        assert r.reference_code not in text


def test_oai_dc_mapping(catalogue: Catalogue, harvest: Any) -> None:
    record = catalogue.open_records[0]
    doc = harvest(verb="GetRecord", identifier=ident(record), metadataPrefix="oai_dc")
    dc = doc.find(".//oai_dc:dc", NS)
    values = [(etree.QName(e).localname, e.text) for e in dc]
    assert values == [
        ("title", record.title),
        ("creator", "兰州市民政局"),
        ("type", "文书"),
        ("publisher", catalogue.repository.name),
        ("date", record.date.isoformat()),
        ("identifier", record.reference_code),
        ("identifier", f"http://testserver/public/records/{record.pk}/"),
        ("source", "Z109 兰州市民政局"),
        ("language", "zh"),
        ("rights", "开放"),
        ("relation", "fonds:Z109"),
        ("description", "备注1"),
    ]
    sets = [s.text for s in doc.iterfind(".//oai:header/oai:setSpec", NS)]
    assert sets == ["fonds:Z109", "category:WS"]


def test_post_is_answered_like_get(catalogue: Catalogue, harvest: Any) -> None:
    doc = harvest("post", verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert len(identifiers(doc)) == len(catalogue.open_records)


def test_list_metadata_formats(catalogue: Catalogue, harvest: Any) -> None:
    doc = harvest(verb="ListMetadataFormats")
    prefixes = [e.text for e in doc.iterfind(".//oai:metadataPrefix", NS)]
    assert prefixes == ["oai_dc", "ead"]
    doc = harvest(verb="ListMetadataFormats", identifier=ident(catalogue.open_records[0]))
    assert error_code(doc) is None
    doc = harvest(verb="ListMetadataFormats", identifier="oai:archives.example.cn:X/none")
    assert error_code(doc) == "idDoesNotExist"


def test_list_sets(catalogue: Catalogue, harvest: Any) -> None:
    doc = harvest(verb="ListSets")
    sets = {
        s.findtext("oai:setSpec", namespaces=NS): s.findtext("oai:setName", namespaces=NS)
        for s in doc.iterfind(".//oai:set", NS)
    }
    assert sets == {
        "fonds": "全宗 (fonds)",
        "category": "门类 (category)",
        "fonds:Z109": "全宗 Z109 兰州市民政局",
        "fonds:Z110": "全宗 Z110 兰州市教育局 & <附属>",
        "category:WS": "门类 WS 文书",
    }  # no HY: its only record is never public


def test_sets_select_records(catalogue: Catalogue, harvest: Any) -> None:
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set="fonds:Z110")
    assert identifiers(doc) == [ident(catalogue.open_records[-1])]
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set="category:WS")
    assert len(identifiers(doc)) == len(catalogue.open_records)
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set="category:HY")
    assert error_code(doc) == "noRecordsMatch"
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set="nothing:here")
    assert error_code(doc) == "noRecordsMatch"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "Explain"}, "badVerb"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "Identify", "extra": "1"}, "badArgument"),
        ({"verb": "GetRecord", "identifier": "x"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "1985"}, "badArgument"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01",
             "until": "2020-01-02T00:00:00Z"},
            "badArgument",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({"verb": "ListRecords", "metadataPrefix": "oai dc"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "全宗"}, "badArgument"),
        ({"verb": "GetRecord", "identifier": "oai:x.y:1/2", "metadataPrefix": "oai_dc"},
         "idDoesNotExist"),
        ({"verb": "ListRecords", "resumptionToken": "forged"}, "badResumptionToken"),
        ({"verb": "ListRecords", "resumptionToken": "t", "metadataPrefix": "oai_dc"},
         "badArgument"),
        ({"verb": "ListSets", "resumptionToken": "t"}, "badResumptionToken"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "1990-01-01"},
            "noRecordsMatch",
        ),
    ],
)  # fmt: skip
def test_errors(catalogue: Catalogue, harvest: Any, args: dict[str, str], code: str) -> None:
    doc = harvest(**args)
    assert error_code(doc) == code
    request = doc.find("oai:request", NS)
    if code in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}  # §3.2: the base URL only


def test_repeated_argument_is_bad(catalogue: Catalogue, client: Any) -> None:
    response = client.get(BASE + "?verb=Identify&verb=Identify")
    assert error_code(etree.fromstring(response.content)) == "badVerb"
    response = client.get(BASE + "?verb=ListSets&resumptionToken=a&resumptionToken=b")
    assert error_code(etree.fromstring(response.content)) == "badArgument"


def test_no_set_hierarchy_when_nothing_is_open(db: Any, harvest: Any) -> None:
    assert error_code(harvest(verb="ListSets")) == "noSetHierarchy"
    assert error_code(harvest(verb="ListRecords", metadataPrefix="oai_dc")) == "noRecordsMatch"


def pages(harvest: Any, **args: str) -> tuple[list[str], list[etree._Element]]:
    docs = [harvest(**args)]
    while token := token_of(docs[-1]):
        docs.append(harvest(verb=args["verb"], resumptionToken=token))
    return [i for d in docs for i in identifiers(d)], docs


@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
def test_resumption_across_pages(
    catalogue: Catalogue, harvest: Any, settings: Any, verb: str
) -> None:
    settings.OAI_PAGE_SIZE = 2
    got, docs = pages(harvest, verb=verb, metadataPrefix="oai_dc")
    assert len(docs) == 3  # 6 records, 2 a page
    assert sorted(got) == sorted(ident(r) for r in catalogue.open_records)
    assert len(set(got)) == len(got)
    tokens = [d.find(".//oai:resumptionToken", NS) for d in docs]
    assert [t.get("cursor") for t in tokens] == ["0", "2", "4"]
    assert {t.get("completeListSize") for t in tokens} == {"6"}
    assert tokens[-1].text is None  # the last page carries an empty token
    assert all(t.get("expirationDate") for t in tokens[:-1])


def test_forged_altered_and_expired_tokens(
    catalogue: Catalogue, harvest: Any, settings: Any
) -> None:
    settings.OAI_PAGE_SIZE = 2
    token = token_of(harvest(verb="ListRecords", metadataPrefix="oai_dc"))
    assert token
    payload = signing.loads(token, salt="lantai.interop.oai.token")
    payload["a"] = None  # try to restart someone else's cursor, signed with another key
    forged = signing.dumps(payload, key="not-our-key", salt="lantai.interop.oai.token")
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (forged, altered, "oai_dc:0:100"):
        assert error_code(harvest(verb="ListRecords", resumptionToken=bad)) == "badResumptionToken"
    # a token of another verb
    assert error_code(harvest(verb="ListIdentifiers", resumptionToken=token)) == (
        "badResumptionToken"
    )
    settings.OAI_TOKEN_TTL = 1
    time.sleep(2.1)
    assert error_code(harvest(verb="ListRecords", resumptionToken=token)) == "badResumptionToken"


def _stamp(doc: etree._Element) -> str:
    return doc.findtext(".//oai:header/oai:datestamp", namespaces=NS)


def test_from_until(catalogue: Catalogue, harvest: Any) -> None:
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    stamp = _stamp(doc)
    day = stamp[:10]
    assert len(identifiers(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc",
                                   **{"from": day, "until": day}))) == 6  # fmt: skip
    assert len(identifiers(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc",
                                   **{"from": stamp, "until": stamp}))) >= 1  # fmt: skip
    later = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2999-01-01"})
    assert error_code(later) == "noRecordsMatch"


def test_closed_record_becomes_a_tombstone_at_the_next_harvest(
    catalogue: Catalogue, harvest: Any
) -> None:
    from lantai.catalog import services

    harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    time.sleep(1.1)  # datestamps have second granularity: `from` is inclusive
    since = _now().strftime("%Y-%m-%dT%H:%M:%SZ")
    record = catalogue.open_records[0]
    values = services.record_as_input(record)
    values["open_status"] = "未开放"
    saved, issues = services.save_record(record.category, values, record=record)
    assert saved is not None, issues
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": since})
    assert identifiers(doc, deleted=True) == [ident(record)]
    assert identifiers(doc, deleted=False) == []
    got = harvest(verb="GetRecord", identifier=ident(record), metadataPrefix="oai_dc")
    assert got.find(".//oai:header", NS).get("status") == "deleted"
    assert got.find(".//oai:metadata", NS) is None
    assert "秘藏" not in etree.tostring(got, encoding="unicode")


def test_deleted_and_reopened_records(catalogue: Catalogue, harvest: Any) -> None:
    from lantai.catalog.models import Record

    harvest(verb="Identify")  # the first sync
    gone, back = catalogue.open_records[1], catalogue.open_records[2]
    Record.objects.filter(pk=gone.pk).delete()
    Record.objects.filter(pk=back.pk).update(open_status="closed", updated_at=_now())
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert set(identifiers(doc, deleted=True)) == {ident(gone), ident(back)}
    Record.objects.filter(pk=back.pk).update(open_status="open", updated_at=_now())
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert identifiers(doc, deleted=True) == [ident(gone)]
    assert ident(back) in identifiers(doc, deleted=False)


def test_a_change_not_yet_synced_is_never_shown(
    catalogue: Catalogue, harvest: Any, settings: Any
) -> None:
    """Even when the sync does not run (it failed), a record closed since is not published."""
    from lantai.catalog.models import Record

    harvest(verb="Identify")
    settings.OAI_SYNC_ON_REQUEST = False
    record = catalogue.open_records[0]
    Record.objects.filter(pk=record.pk).update(open_status="closed")  # no updated_at either
    doc = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    assert ident(record) in identifiers(doc, deleted=True)
    assert record.title not in etree.tostring(doc, encoding="unicode")


def test_renumbered_record_leaves_a_tombstone(catalogue: Catalogue, harvest: Any) -> None:
    from lantai.catalog.models import Record

    harvest(verb="Identify")
    record = catalogue.open_records[0]
    Record.objects.filter(pk=record.pk).update(
        reference_code=record.reference_code + "A", updated_at=_now()
    )
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert ident(record) in identifiers(doc, deleted=True)
    record.reference_code += "A"
    assert ident(record) in identifiers(doc, deleted=False)


def test_identifier_percent_encodes_the_code(catalogue: Catalogue, harvest: Any) -> None:
    record = catalogue.open_records[0]
    assert "·" in record.reference_code
    doc = harvest(verb="GetRecord", identifier=ident(record), metadataPrefix="oai_dc")
    got = identifiers(doc)[0]
    assert "%C2%B7" in got and "·" not in got
    unencoded = f"oai:archives.example.cn:{record.repository.code}/{record.reference_code}"
    doc = harvest(verb="GetRecord", identifier=unencoded, metadataPrefix="oai_dc")
    assert error_code(doc) == "idDoesNotExist"


def test_ead_format(catalogue: Catalogue, harvest: Any) -> None:
    record = catalogue.open_records[0]
    doc = harvest(verb="GetRecord", identifier=ident(record), metadataPrefix="ead")
    ead = doc.find(".//ead:ead", NS)
    assert ead.find("ead:archdesc", NS).get("level") == "item"
    assert ead.findtext(".//ead:archdesc/ead:did/ead:unitid", namespaces=NS) == (
        record.reference_code
    )
    assert ead.findtext(".//ead:archdesc/ead:did/ead:unittitle", namespaces=NS) == record.title
    got, _ = pages(harvest, verb="ListRecords", metadataPrefix="ead")
    assert len(got) == 6


def test_open_copy_values_are_published(catalogue: Catalogue, harvest: Any) -> None:
    """A partly opened record is published with its redacted field values (信息级开放)."""
    from lantai.catalog import open_copies

    record = catalogue.open_records[0]
    open_copies.set_open_copy(record, b"%PDF-1.4", "", {"title": "关于■■工作的通知"}, {})
    doc = harvest(verb="GetRecord", identifier=ident(record), metadataPrefix="oai_dc")
    assert doc.findtext(".//dc:title", namespaces=NS) == "关于■■工作的通知"


def test_throttled_with_503_and_retry_after(
    catalogue: Catalogue, client: Any, settings: Any
) -> None:
    settings.PUBLIC_OAI_RATE = settings.PUBLIC_CONTENT_RATE = "2/min"
    codes = [client.get(BASE, {"verb": "Identify"}).status_code for _ in range(3)]
    assert codes == [200, 200, 503]
    assert int(client.get(BASE, {"verb": "Identify"})["Retry-After"]) >= 1


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
