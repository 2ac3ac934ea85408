"""Per-record DA/T 46 XML: exact round trip of a plain record dict, Chinese element names."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from lantai.preservation import record_xml

NS = {"r": record_xml.NS}


def record() -> dict[str, Any]:
    return {
        "reference_code": "A1-WS·2020-Y-0001",
        "fonds_code": "A1",
        "year": 2020,
        "retention": "Y",
        "org_code": "办公室",
        "category_code": "WS",
        "item_number": "0001",
        "title": "关于印发《档案工作规定》的通知 & <附件> \"引号\" '单引号'",
        "keywords": "档案；规定",
        "document_number": "X政办发〔2020〕1号",
        "author": "某某省人民政府办公厅",
        "date": "2020-01-02",
        "classification": "",
        "secrecy_period": None,
        "pages": 12,
        "open_status": "closed",
        "remarks": "第一行\n第二行\r\n\t缩进  ",
        "level": "item",
        "sequence_prefix": "A1-WS·2020-Y-",
        "sequence_number": 1,
        "retention_legacy": "",
        "classification_level": 0,
        "open_due_date": None,
        "metadata": {
            "主题词": ["档案", "规定"],
            "nested": {"a": 1, "b": None, "c": True, "d": 1.5, "e": [], "f": {}},
            "key with spaces & <odd> chars": "v",
        },
        "components": [
            {
                "name": "正文.pdf",
                "size": 123456,
                "mime_type": "application/pdf",
                "sm3": "cd" * 32,
                "sha256": "ab" * 32,
                "path": "content/文书/正文.pdf",
            },
            {"name": "附件.ofd", "size": 0, "mime_type": "", "sm3": "", "sha256": "", "path": "x"},
        ],
    }


def test_round_trip_is_exact() -> None:
    d = record()
    assert record_xml.parse(record_xml.to_xml(d)) == d


@pytest.mark.parametrize(
    "d",
    [
        {},
        {"title": ""},
        {"title": None},
        {"title": "  "},
        {"reference_code": ""},
        {"year": "2020"},  # a string stays a string
        {"title": "长" * 100_000},
        {"metadata": {"emoji": "𠀀𪚥😀"}},
        {"components": []},
    ],
)
def test_edge_cases_round_trip(d: dict[str, Any]) -> None:
    assert record_xml.parse(record_xml.to_xml(d)) == d


def test_dat46_elements_carry_the_standard_names() -> None:
    xml = record_xml.to_xml(record())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    doc = etree.fromstring(xml)
    assert doc.get("规范") == "DA/T 46-2009"
    code = doc.find("r:文件实体/r:档号", NS)
    assert code is not None and code.get("值") == "A1-WS·2020-Y-0001"
    assert doc.findtext("r:文件实体/r:档号/r:年度", namespaces=NS) == "2020"
    assert doc.findtext("r:文件实体/r:内容描述/r:题名", namespaces=NS) == record()["title"]
    assert doc.findtext("r:文件实体/r:权限管理/r:控制标识", namespaces=NS) == "closed"
    assert doc.findtext("r:文件实体/r:形式特征/r:页数", namespaces=NS) == "12"
    # DA/T 46 order: 档号 (M8) before 内容描述 (M21) before 附注 (M75)
    top = [etree.QName(e).localname for e in doc.find("r:文件实体", NS)]  # type: ignore[union-attr]
    assert top == ["档号", "内容描述", "形式特征", "权限管理", "附注"]
    lantai = {f.get("名") for f in doc.findall("r:兰台扩展/r:字段", NS)}
    assert "level" in lantai and "title" not in lantai and "components" in lantai


def test_control_characters_are_refused_with_the_field_named() -> None:
    with pytest.raises(record_xml.RecordXMLError, match="title"):
        record_xml.to_xml({"title": "a\x00b"})
    with pytest.raises(record_xml.RecordXMLError, match="metadata.x"):
        record_xml.to_xml({"metadata": {"x": "\x1b[31m"}})


def test_values_that_would_not_round_trip_are_refused() -> None:
    import datetime

    with pytest.raises(record_xml.RecordXMLError, match="ISO"):
        record_xml.to_xml({"date": datetime.date(2020, 1, 2)})


def test_parser_refuses_entities_and_unknown_elements() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "boom">]>'
        b'<\xe6\xa1\xa3\xe6\xa1\x88\xe5\x85\x83\xe6\x95\xb0\xe6\x8d\xae xmlns="urn:lantai:record-metadata:1" '
        b'\xe6\xa0\xbc\xe5\xbc\x8f\xe7\x89\x88\xe6\x9c\xac="1"/>'
    )
    with pytest.raises(record_xml.RecordXMLError):
        record_xml.parse(evil)
    bad = record_xml.to_xml({"title": "x"}).replace("题名".encode(), "非标准".encode())
    with pytest.raises(record_xml.RecordXMLError, match="非标准"):
        record_xml.parse(bad)


def test_metadata_file_names_are_safe_and_distinct() -> None:
    assert record_xml.metadata_file_name("A1-WS·2020-Y-0001") == "A1-WS·2020-Y-0001.xml"
    names = {
        record_xml.metadata_file_name(c) for c in ("A1/2020", "A1_2020", "A1%2F2020", "A1 2020")
    }
    assert len(names) == 4
    for name in names | {
        record_xml.metadata_file_name("../x"),
        record_xml.metadata_file_name(".x"),
    }:
        assert "/" not in name and not name.startswith(".") and " " not in name
