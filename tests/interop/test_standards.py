"""The pure OAI-PMH / EAD pieces (standards/): identifiers, setSpecs, datestamps, arguments, and
the streamed finding aid's nesting of 案卷 and 卷内文件."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from lantai.standards import ead, oai_pmh
from lantai.standards.oai_pmh import OaiError
from tests.interop.conftest import IDENTIFIER_RE, NS, assert_valid, schema

SET_SPEC_RE = re.compile(r"^([A-Za-z0-9\-_\.!~\*'\(\)])+(:[A-Za-z0-9\-_\.!~\*'\(\)]+)*$")


@pytest.mark.parametrize("code", ["Z109-WS·1985-Y-0001", "A/B 1%#", "档号（一）", "x:y;z"])
def test_identifier_round_trip(code: str) -> None:
    ident = oai_pmh.oai_identifier("archives.example.cn", "441900", code)
    assert IDENTIFIER_RE.match(ident)
    assert oai_pmh.parse_oai_identifier("archives.example.cn", ident) == ("441900", code)
    assert oai_pmh.parse_oai_identifier("other.example.cn", ident) is None


def test_namespace_must_be_domain_like() -> None:
    assert oai_pmh.valid_namespace("archives.example.cn")
    assert not oai_pmh.valid_namespace("lantai")
    assert not oai_pmh.valid_namespace("1archives.cn")


@pytest.mark.parametrize("code", ["Z109", "441900/J014", "全宗 一", "a~b"])
def test_set_spec_round_trip(code: str) -> None:
    spec = oai_pmh.set_spec("fonds", code)
    assert SET_SPEC_RE.match(spec)  # setSpecType's pattern in OAI-PMH.xsd
    assert oai_pmh.parse_set_spec(spec) == ("fonds", code)
    assert oai_pmh.parse_set_spec("fonds:~ZZ") is None
    assert oai_pmh.parse_set_spec("shelf:1") is None


def test_bounds() -> None:
    day = oai_pmh.parse_bound("2024-03-01", until=True)
    assert day.day and day.at == datetime(2024, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    second = oai_pmh.parse_bound("2024-03-01T08:00:00Z", until=False)
    assert not second.day and second.at == datetime(2024, 3, 1, 8, tzinfo=UTC)
    for bad in ("2024-3-1", "2024-02-30", "2024-03-01T08:00:00", "2024-03-01T08:00Z"):
        with pytest.raises(OaiError) as e:
            oai_pmh.parse_bound(bad, until=False)
        assert e.value.code == "badArgument"


def test_text_xml_cannot_carry_is_dropped() -> None:
    assert oai_pmh.xml_text("a\x01<b>&\x0b") == "a&lt;b&gt;&amp;"


def test_finding_aid_nests_volume_items_and_validates() -> None:
    aid = ead.FindingAid("441900", "兰州市档案馆", "Z109", "兰州市民政局", "兰州市民政局",
                         "介绍\x01", 1985, 1986, datetime(2026, 1, 2, 3, 4, 5))  # fmt: skip
    units = [
        ead.Unit(1, None, "item", "WS", "文书", 1985, "Z109-WS·1985-Y-0001", "题名<1>", "作者",
                 date(1985, 3, 1)),
        ead.Unit(2, None, "item", "WS", "文书", 1986, "Z109-WS·1986-Y-0001", "t2",
                 open_status="closed"),
        ead.Unit(3, None, "volume", "KJ", "科技", None, "Z109-KJ-0001", "案卷"),
        ead.Unit(4, 3, "volume_item", "KJ", "科技", None, "Z109-KJ-0001-01", "卷内",
                 open_status="restricted_use"),
        ead.Unit(5, None, "item", "KJ", "科技", None, "Z109-KJ-0002", "件"),
    ]  # fmt: skip
    for version, xsd, ns in ((ead.EAD2002, "ead.xsd", "ead"), (ead.EAD3, "ead3.xsd", "ead3")):
        out = io.StringIO()
        assert ead.write_finding_aid(out, aid, units, version) == 5
        doc = etree.fromstring(out.getvalue().encode())
        assert_valid(schema(xsd), doc)
        volume = next(c for c in doc.iterfind(f".//{ns}:c", NS) if c.get("level") == "file")
        inner = volume.findall(f"{ns}:c", NS)
        assert [c.findtext(f"{ns}:did/{ns}:unitid", namespaces=NS) for c in inner] == [
            "Z109-KJ-0001-01"
        ]
        years = [c.findtext(f"{ns}:did/{ns}:unittitle", namespaces=NS)
                 for c in doc.iterfind(f".//{ns}:c", NS) if c.get("level") == "subseries"]  # fmt: skip
        assert years == ["1985", "1986", "年度不详"]


def test_record_ead_is_valid() -> None:
    aid = ead.FindingAid("441900", "兰州市档案馆", "Z109", "兰州市民政局", "兰州市民政局")
    unit = ead.Unit(1, None, "volume", "WS", "文书", 1985, "Z109-WS-0001", "案卷题名")
    doc = etree.fromstring(ead.record_ead(aid, unit).encode())
    assert_valid(schema("ead.xsd"), doc)
    assert doc.find("ead:archdesc", NS).get("level") == "file"


def test_arguments() -> None:
    assert oai_pmh.check_arguments({"verb": ["Identify"]}) == "Identify"
    with pytest.raises(OaiError) as e:
        oai_pmh.check_arguments({"verb": ["ListSets"], "set": ["x"]})
    assert e.value.code == "badArgument"
