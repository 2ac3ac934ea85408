"""The appraisal exchange format 1.0 (鉴定成果数据对接): documents signed with a real SM2 key go
through JSON and XML and back with the same content and a signature that still verifies; both
forms validate against the schema files in the repository; bad files give ExchangeError naming
the place and the rule.

Signing and verifying are injected, as the format module wants: here by the OpenSSL command line
(SM2 with SM3, the GB/T 35276 default user ID), so these tests need neither Django nor
lantai.core, and the signature is checked by a second implementation; tests/core/test_signing.py
does the same with the archives' own key."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from lantai.standards import appraisal_exchange as ax
from lantai.standards.appraisal_exchange import ExchangeError
from lantai.standards.sensitivity import review_data

DATA = Path(ax.__file__).parent / "data"
SECRET = "张三因患精神疾病于1997年住院治疗"  # a passage: only its SM3 may leave the archives


# SubjectPublicKeyInfo of an SM2 key up to the point: id-ecPublicKey, curve 1.2.156.10197.1.301
SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
_DISTID = ["-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]


def _openssl(*args: str, data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)


class OpenSSLKey:
    """An SM2 key held and used by the OpenSSL command line."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "sm2.key"
        made = _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2",
                        "-out", str(self.path))  # fmt: skip
        assert made.returncode == 0, made.stderr
        spki = _openssl("pkey", "-in", str(self.path), "-pubout", "-outform", "DER").stdout
        assert spki[:-65] == SM2_SPKI_PREFIX
        self.public_key_hex = spki[-65:].hex()
        self.fingerprint = ax.key_fingerprint(self.public_key_hex)

    def sign(self, data: bytes) -> bytes:
        signed = _openssl("pkeyutl", "-sign", "-inkey", str(self.path), *_DISTID, data=data)
        assert signed.returncode == 0, signed.stderr
        return bytes(signed.stdout)


def verify(public_key_hex: str, data: bytes, signature: bytes) -> bool:
    """``signing.verify`` done by OpenSSL: the key as an SPKI DER built from the point."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "key.der").write_bytes(SM2_SPKI_PREFIX + bytes.fromhex(public_key_hex))
        (folder / "sig").write_bytes(signature)
        checked = _openssl(
            "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", str(folder / "key.der"),
            *_DISTID, "-sigfile", str(folder / "sig"), data=data,
        )  # fmt: skip
        return checked.returncode == 0


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> OpenSSLKey:
    return OpenSSLKey(tmp_path_factory.mktemp("sm2"))


def _results() -> list[dict[str, Any]]:
    return [
        {
            "fonds_code": "Z109",
            "reference_code": "Z109-WS·1998-Y-BGS-0007",
            "title": "关于1998年防汛工作的通知 & <附件> “一”",
            "year": 1998,
            "decision": "deferred",
            "ground": "art8-3",
            "rule": "privacy/illness@3",
            "rereview_year": 2030,
            "passages": [
                {
                    "section": "text",
                    "start": 12,
                    "end": 12 + len(SECRET),
                    "text_sm3": ax.passage_sm3(SECRET),
                    "category": "personal_privacy",
                }
            ],
            "reviewer": "李审核",
            "reviewer_unit": "岭南省档案馆开放审核组",
            "decided_at": "2024-05-01T09:30:00+08:00",
            "stage": "approval",
            "opinion": " 第一行\r\n第二行\t缩进；𠀀 ",  # CR LF, tab, a non-BMP character, spaces
            "source": "archives",
        },
        {
            "fonds_code": "Z109",
            "reference_code": "Z109-WS·1998-Y-BGS-0008",
            "title": "",
            "year": None,
            "decision": "open",
            "reviewer": "王复审",
            "decided_at": "2024-05-02T10:00:00Z",
            "stage": "unit",
            "source": "unit",
        },
    ]


def _exporter(key: OpenSSLKey) -> dict[str, str]:
    return {
        "archives_code": "441000",
        "archives_name": "岭南省档案馆",
        "public_key": key.public_key_hex,
    }


@pytest.fixture
def doc(key: OpenSSLKey) -> dict[str, Any]:
    unsigned = ax.build(_exporter(key), _results(), exported_at="2024-06-01T08:00:00+08:00")
    signed: dict[str, Any] = ax.sign(unsigned, key.sign)
    return signed


def _error(data: bytes) -> ExchangeError:
    with pytest.raises(ExchangeError) as caught:
        ax.parse(data)
    return caught.value


def _line_of(xml: bytes, needle: str) -> int:
    lines = xml.decode().splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


# --- round trips --------------------------------------------------------------------------------
def test_json_round_trip_keeps_content_and_signature(doc: dict[str, Any]) -> None:
    again = ax.parse(ax.to_json(doc))
    assert again == doc
    assert ax.verify_signature(again, verify)


def test_xml_round_trip_keeps_content_and_signature(doc: dict[str, Any]) -> None:
    xml = ax.to_xml(doc).replace(b"<version>", b"<!-- a comment --><?pi x?><version>", 1)
    again = ax.parse(xml)
    assert again == doc
    assert again["results"][0]["opinion"] == " 第一行\r\n第二行\t缩进；𠀀 "
    assert again["results"][1]["year"] is None and again["results"][1]["rereview_year"] is None
    assert ax.verify_signature(again, verify)


def test_a_document_converted_xml_to_json_keeps_a_valid_signature(doc: dict[str, Any]) -> None:
    from_xml = ax.parse(ax.to_xml(doc))
    as_json = ax.to_json(from_xml)
    assert ax.verify_signature(ax.parse(as_json), verify)
    assert ax.verify_signature(ax.parse(ax.to_xml(ax.parse(as_json))), verify)


def test_the_passage_text_never_leaves_only_its_sm3(doc: dict[str, Any]) -> None:
    for data in (ax.to_json(doc), ax.to_xml(doc)):
        assert SECRET not in data.decode() and "精神疾病" not in data.decode()
    # GB/T 32905 example A.1: SM3("abc")
    assert ax.passage_sm3("abc") == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


# --- the schema files ---------------------------------------------------------------------------
def test_json_form_validates_against_the_json_schema_file(doc: dict[str, Any]) -> None:
    schema = json.loads((DATA / "appraisal-exchange-1.0.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(json.loads(ax.to_json(doc)))
    broken = json.loads(ax.to_json(doc))
    broken["results"][0]["ground"] = ""
    assert not validator.is_valid(broken)  # the file itself says deferred needs a ground


def test_xml_form_validates_against_the_xsd_file(doc: dict[str, Any]) -> None:
    schema = etree.XMLSchema(etree.parse(str(DATA / "appraisal-exchange-1.0.xsd")))
    tree = etree.fromstring(ax.to_xml(doc))
    schema.assertValid(tree)
    assert tree.nsmap[None] == "urn:lantai:appraisal-exchange:1.0"
    tree.find(".//{urn:lantai:appraisal-exchange:1.0}decision").text = "closed"
    assert not schema.validate(tree)


def test_schema_lists_agree_with_open_review_data() -> None:
    data = review_data()
    schema = json.loads((DATA / "appraisal-exchange-1.0.schema.json").read_text("utf-8"))
    defs, result = schema["$defs"], schema["$defs"]["result"]["properties"]
    xsd = etree.parse(str(DATA / "appraisal-exchange-1.0.xsd"))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}

    def xsd_enum(name: str) -> list[str]:
        path = f"//xs:simpleType[@name='{name}']//xs:enumeration/@value"
        return [str(v) for v in xsd.xpath(path, namespaces=ns)]

    expected = {
        "decision": [d["code"] for d in data["decisions"]],
        "ground": ["", *(g["code"] for g in data["grounds"])],
        "stage": [s["code"] for s in data["stages"]],
    }
    for field, codes in expected.items():
        assert result[field]["enum"] == codes
        assert xsd_enum(field.capitalize()) == codes
    categories = [c["code"] for c in data["categories"]]
    assert defs["passage"]["properties"]["category"]["enum"] == categories
    assert xsd_enum("Category") == categories


# --- signatures ---------------------------------------------------------------------------------
def test_a_value_tampered_after_signing_fails_verification(doc: dict[str, Any]) -> None:
    text = ax.to_json(doc).decode()
    tampered = ax.parse(text.replace('"deferred"', '"restricted_use"', 1).encode())
    assert not ax.verify_signature(tampered, verify)
    xml = ax.to_xml(doc).replace(b"<rereview_year>2030<", b"<rereview_year>2031<")
    assert not ax.verify_signature(ax.parse(xml), verify)


def test_a_document_re_signed_under_another_key_name_fails(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    other = OpenSSLKey(tmp_path)
    swapped = json.loads(ax.to_json(doc))
    swapped["exporter"]["public_key"] = other.public_key_hex
    swapped["exporter"]["key_fingerprint"] = other.fingerprint
    assert not ax.verify_signature(ax.parse(json.dumps(swapped).encode()), verify)
    swapped["signature"]["algorithm"] = "SM2"
    assert not ax.verify_signature(swapped, verify)


# --- bad files ----------------------------------------------------------------------------------
def test_bad_json_names_line_and_column() -> None:
    err = _error(b'{\n  "format": "lantai-appraisal-exchange",\n  "version": \n}')
    assert err.place == "line 4, column 1"
    assert err.message_zh.startswith("第4行第1列") and "JSON" in err.message_zh


def test_wrong_version_is_named(doc: dict[str, Any]) -> None:
    data = json.loads(ax.to_json(doc))
    data["version"] = "2.0"
    err = _error(json.dumps(data).encode())
    assert err.place == "#/version"
    assert "版本" in err.message_zh and '"2.0"' in err.message_zh and "1.0" in err.message_en


@pytest.mark.parametrize("decision", ["deferred", "restricted_use"])
def test_a_decision_without_a_ground_is_refused(doc: dict[str, Any], decision: str) -> None:
    data = json.loads(ax.to_json(doc))
    data["results"][0].update(decision=decision, ground="")
    err = _error(json.dumps(data).encode())
    assert err.place == "#/results/0/ground"
    assert "依据" in err.message_zh and "ground-required" in err.message_en


def test_a_missing_ground_in_xml_names_the_line(doc: dict[str, Any]) -> None:
    xml = ax.to_xml(doc).replace(b"<ground>art8-3</ground>", b"<ground></ground>")
    err = _error(xml)
    line = _line_of(xml, "<ground></ground>")
    assert err.place == f"line {line} #/results/0/ground"
    assert err.message_zh.startswith(f"第{line}行") and "第八条" in err.message_zh


def test_deferred_needs_a_rereview_year(doc: dict[str, Any]) -> None:
    data = json.loads(ax.to_json(doc))
    data["results"][0]["rereview_year"] = None
    err = _error(json.dumps(data).encode())
    assert err.place == "#/results/0/rereview_year" and "复审年度" in err.message_zh


def test_build_refuses_what_parse_would_refuse(key: OpenSSLKey) -> None:
    results = _results()
    results[1]["decision"] = "restricted_use"
    with pytest.raises(ExchangeError) as caught:
        ax.build(_exporter(key), results)
    assert caught.value.place == "#/results/1/ground"
    results = _results()
    results[0]["reviewr"] = "typo"
    with pytest.raises(ExchangeError, match="reviewr"):
        ax.build(_exporter(key), results)


@pytest.mark.parametrize(
    "payload",
    [
        # billion laughs
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
        b'<appraisal_exchange xmlns="urn:lantai:appraisal-exchange:1.0">&lol3;</appraisal_exchange>',
        # an external entity reading a local file
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
        b'<appraisal_exchange xmlns="urn:lantai:appraisal-exchange:1.0">&secret;</appraisal_exchange>',
    ],
    ids=["entity-bomb", "external-entity"],
)
def test_xml_with_a_dtd_is_refused(payload: bytes) -> None:
    err = _error(payload)
    assert "DTD" in err.message_zh and err.place.startswith("line")
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    assert not hostname or hostname not in err.message_en


def test_wrong_namespace_is_named(doc: dict[str, Any]) -> None:
    xml = ax.to_xml(doc).replace(
        b"urn:lantai:appraisal-exchange:1.0", b"urn:lantai:appraisal-exchange:2.0"
    )
    err = _error(xml)
    assert err.place == "line 2"
    assert "命名空间" in err.message_zh and "urn:lantai:appraisal-exchange:1.0" in err.message_en


def test_a_duplicate_record_is_refused_in_both_forms(doc: dict[str, Any]) -> None:
    data = json.loads(ax.to_json(doc))
    data["results"][1]["reference_code"] = data["results"][0]["reference_code"]
    err = _error(json.dumps(data).encode())
    assert err.place == "#/results/1/reference_code" and "duplicate-record" in err.message_en
    xml = ax.to_xml(doc).replace(b"BGS-0008", b"BGS-0007")
    err = _error(xml)
    assert err.place.startswith("line ") and "unique" in err.message_en.lower()


def test_a_key_given_twice_in_json_is_refused(doc: dict[str, Any]) -> None:
    text = (
        ax.to_json(doc).decode().replace('"ground": "art8-3"', '"ground": "art8-3", "ground": ""')
    )
    err = _error(text.encode())
    assert "ground" in err.message_zh and "两次" in err.message_zh


@pytest.mark.parametrize(
    "change, place, words",
    [
        (("year", 1998.0), "", "整数"),
        (("decided_at", "2024-02-30T09:00:00+08:00"), "#/results/0/decided_at", "datetime"),
        (("decided_at", "2024-02-01 09:00"), "#/results/0/decided_at", "时区"),
        (("opinion", "响铃\u0007"), "#/results/0/opinion", "xml-char"),
        (("stage", "final"), "#/results/0/stage", "final"),
        (("fonds_code", " Z109"), "#/results/0/fonds_code", "首尾不得为空白"),
    ],
)
def test_bad_values_name_their_place(
    doc: dict[str, Any], change: tuple[str, Any], place: str, words: str
) -> None:
    data = json.loads(ax.to_json(doc))
    data["results"][0][change[0]] = change[1]
    err = _error(json.dumps(data, ensure_ascii=False).encode())
    assert err.place == place
    assert words in err.message_zh + err.message_en


def test_a_passage_ending_before_it_starts_is_refused(doc: dict[str, Any]) -> None:
    data = json.loads(ax.to_json(doc))
    data["results"][0]["passages"][0]["end"] = 12
    err = _error(json.dumps(data).encode())
    assert err.place == "#/results/0/passages/0/end" and "passage-range" in err.message_en


def test_a_fingerprint_not_of_the_key_is_refused(doc: dict[str, Any]) -> None:
    data = json.loads(ax.to_json(doc))
    data["exporter"]["key_fingerprint"] = "0" * 64
    err = _error(json.dumps(data).encode())
    assert err.place == "#/exporter/key_fingerprint"


def test_limits_and_unknown_input() -> None:
    err = _error(b" " * (ax.MAX_BYTES + 1))
    assert "50" not in err.place and str(ax.MAX_BYTES) in err.message_en
    result = _results()[1]
    too_many = {"results": [result] * (ax.MAX_RESULTS + 1)}
    with pytest.raises(ExchangeError) as caught:
        ax.validate(too_many)
    assert caught.value.place == "#/results" and "too-many" in caught.value.message_en
    assert _error(b"%PDF-1.7").place == "byte 0"
    err = _error(b'{"title": "\xb9\xd8\xd3\xda"}')  # GBK bytes in a JSON file
    assert err.place == "byte 11" and "UTF-8" in err.message_zh


def test_an_unsigned_document_is_refused_by_parse(key: OpenSSLKey) -> None:
    unsigned = ax.build(_exporter(key), _results())
    text = json.dumps(unsigned, ensure_ascii=False).encode()
    err = _error(text)
    assert err.place == "#" and "signature" in err.message_zh
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", unsigned["exported_at"])


def test_to_xml_refuses_a_document_it_cannot_write_validly(doc: dict[str, Any]) -> None:
    broken = {**doc, "results": [{**doc["results"][0], "decision": "closed"}]}
    with pytest.raises(ExchangeError, match="validate"):
        ax.to_xml(broken)
    del broken["results"][0]["title"]
    with pytest.raises(ExchangeError, match="title"):
        ax.to_xml(broken)


def test_the_examples_in_the_format_document_are_valid_and_signed() -> None:
    text = (Path(__file__).parents[2] / "docs" / "formats" / "appraisal-exchange-1.0.md").read_text(
        "utf-8"
    )
    blocks = dict(re.findall(r"```(json|xml)\n(.*?)\n```", text, re.S))
    from_json, from_xml = ax.parse(blocks["json"].encode()), ax.parse(blocks["xml"].encode())
    assert from_json == from_xml
    assert ax.verify_signature(from_json, verify) and ax.verify_signature(from_xml, verify)
