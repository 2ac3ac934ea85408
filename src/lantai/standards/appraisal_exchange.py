"""鉴定成果数据对接: the appraisal exchange format 1.0, in which an archives exchanges open-review
results with the units that formed or transferred the records and with other archives.

One document, two forms carrying the same content: JSON (``data/appraisal-exchange-1.0.schema.json``)
and XML (``data/appraisal-exchange-1.0.xsd``, namespace :data:`NAMESPACE`, element names = the JSON
keys). The exporting archives signs :func:`canonical_bytes` (the document without ``signature`` as
JSON with sorted keys, no spaces, UTF-8), so a document converted between the forms keeps a valid
signature. The format is described in docs/formats/appraisal-exchange-1.0.md.

Pure: no Django and nothing else of Lantai. Signing and verifying are injected by the caller
(``lantai.core.signing``): :func:`sign` takes ``SigningKey.sign``, :func:`verify_signature` takes
``signing.verify``. A valid signature says the document is what the holder of the public key in it
signed; whether that key is the archives it claims to be (its fingerprint) is the caller's question.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any

import jsonschema
from cryptography.hazmat.primitives import hashes
from lxml import etree

from .safe_xml import parser as safe_parser

__all__ = [
    "ALGORITHM",
    "FORMAT",
    "MAX_BYTES",
    "MAX_RESULTS",
    "NAMESPACE",
    "VERSION",
    "ExchangeError",
    "build",
    "canonical_bytes",
    "key_fingerprint",
    "parse",
    "passage_sm3",
    "sign",
    "to_json",
    "to_xml",
    "validate",
    "verify_signature",
]

FORMAT = "lantai-appraisal-exchange"
VERSION = "1.0"
NAMESPACE = f"urn:lantai:appraisal-exchange:{VERSION}"
ALGORITHM = "SM2-with-SM3"
ROOT = "appraisal_exchange"
MAX_BYTES = 50 * 1024 * 1024
MAX_RESULTS = 100_000
SCHEMA_JSON = "appraisal-exchange-1.0.schema.json"
SCHEMA_XSD = "appraisal-exchange-1.0.xsd"

# field order of each object, in both forms; "int?" is an integer or null (XML: element left out)
EXPORTER = (("archives_code", "str"), ("archives_name", "str"), ("key_fingerprint", "str"),
            ("public_key", "str"))  # fmt: skip
PASSAGE = (("section", "str"), ("start", "int"), ("end", "int"), ("text_sm3", "str"),
           ("category", "str"))  # fmt: skip
RESULT = (
    ("fonds_code", "str"), ("reference_code", "str"), ("title", "str"), ("year", "int?"),
    ("decision", "str"), ("ground", "str"), ("rule", "str"), ("rereview_year", "int?"),
    ("passages", "passages"), ("reviewer", "str"), ("reviewer_unit", "str"),
    ("decided_at", "str"), ("stage", "str"), ("opinion", "str"), ("source", "str"),
)  # fmt: skip
SIGNATURE = (("algorithm", "str"), ("value", "str"))
# what build() fills in when a result leaves it out
RESULT_DEFAULTS: dict[str, Any] = {
    "ground": "", "rule": "", "rereview_year": None, "passages": [], "reviewer_unit": "",
    "opinion": "", "source": "archives",
}  # fmt: skip

Locator = Callable[[str], int | None]  # JSON pointer -> XML source line

# characters XML 1.0 cannot carry (so a JSON document holding them could not become XML), and lone
# surrogates (not UTF-8)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# messages of the named rules (the x-rule keywords of the JSON Schema and the checks below)
RULES: dict[str, tuple[str, str]] = {
    "ground-required": (
        "延期开放和控制使用须写明依据（ground：art8-1 至 art8-4，《国家档案馆档案开放办法》第八条）",
        "a deferred or restricted-use decision needs a ground (art8-1 to art8-4, article 8 of the "
        "2022 Measures on opening archives)",
    ),
    "rereview-year-required": (
        "延期开放须写明复审年度（rereview_year，办法第十七条定期评估）",
        "a deferred decision needs a re-review year (rereview_year; article 17, periodic review)",
    ),
    "duplicate-record": (
        "同一全宗号与档号的鉴定结果出现两次",
        "the same fonds code and reference code appear in two results",
    ),
    "passage-range": (
        "段落的结束位置须大于起始位置（end > start）",
        "a passage must end after it starts (end > start)",
    ),
    "fingerprint": (
        "key_fingerprint 与 public_key 的 SM3 摘要不符",
        "key_fingerprint is not the SM3 digest of public_key",
    ),
    "datetime": (
        "不是有效的日期时间（ISO 8601，须带时区，如 2024-05-01T09:30:00+08:00）",
        "not a valid date and time (ISO 8601 with a time zone, e.g. 2024-05-01T09:30:00+08:00)",
    ),
    "xml-char": (
        "含有 XML 无法承载的控制字符或无效字符",
        "holds a control or invalid character that XML cannot carry",
    ),
    "identifier": (
        "须为 1 至 128 个字符的标识，首尾不得为空白，不得含制表符或换行",
        "must be an identifier of 1 to 128 characters, no white space at either end, no tab or "
        "line break",
    ),
    "optional-identifier": (
        "须为空，或为不超过 200 个字符的标识（首尾不得为空白，不得含制表符或换行）",
        "must be empty or an identifier of at most 200 characters (no white space at either end, "
        "no tab or line break)",
    ),
    "name": (
        "须为 1 至 200 个字符的名称，首尾不得为空白，不得含制表符或换行",
        "must be a name of 1 to 200 characters, no white space at either end, no tab or line break",
    ),
    "sm3-hex": (
        "须为 SM3 摘要：64 位小写十六进制数字",
        "must be an SM3 digest: 64 lower-case hexadecimal digits",
    ),
    "public-key": (
        "须为未压缩的 SM2 公钥：04 开头的 130 位小写十六进制数字",
        "must be an uncompressed SM2 public key: 130 lower-case hexadecimal digits starting 04",
    ),
    "too-many": (
        f"鉴定结果超过 {MAX_RESULTS} 条，请分多个文件交换",
        f"more than {MAX_RESULTS} results; split the exchange into several files",
    ),
}


class ExchangeError(ValueError):
    """A document that is not a valid appraisal exchange 1.0: where (``place``: a JSON pointer
    such as ``#/results/3/ground``, or ``line 12`` / ``line 3, column 5``) and which rule."""

    def __init__(self, message_zh: str, message_en: str, place: str = "") -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en, self.place = message_zh, message_en, place


# --- small pieces -------------------------------------------------------------------------------
def _sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def passage_sm3(text: str) -> str:
    """``text_sm3`` of a passage: SM3 of its characters in UTF-8 (the text itself is never sent)."""
    return _sm3_hex(text.encode("utf-8"))


def key_fingerprint(public_key_hex: str) -> str:
    """SM3 of the uncompressed public key point (65 bytes), 64 lower-case hex digits."""
    return _sm3_hex(bytes.fromhex(public_key_hex))


def canonical_bytes(doc: Mapping[str, Any]) -> bytes:
    """What the signature covers: the document without its top-level ``signature``, as JSON with
    keys sorted, no white space, non-ASCII characters as themselves, in UTF-8 (for the values this
    format allows, integers and strings, the same bytes as RFC 8785 JCS)."""
    content = {k: v for k, v in doc.items() if k != "signature"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ExchangeError(
            "文档含有无效字符（孤立的代理码位），无法编码为 UTF-8",
            "the document holds an invalid character (a lone surrogate) and cannot be UTF-8",
        ) from exc


# --- schemas ------------------------------------------------------------------------------------
def _data_file(name: str) -> bytes:
    return resources.files(__package__ or "lantai.standards").joinpath("data", name).read_bytes()


@functools.cache
def json_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(_data_file(SCHEMA_JSON))
    return schema


@functools.cache
def _json_validator() -> jsonschema.Draft202012Validator:
    # the same schema with each {"$ref": "#/$defs/…"} replaced by its definition: resolving
    # references per value costs about a third of the validation time
    defs = json_schema()["$defs"]

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return inline(defs[node["$ref"].removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return jsonschema.Draft202012Validator(inline(json_schema()))


@functools.cache
def xml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(_data_file(SCHEMA_XSD), safe_parser()))


# --- build, sign, verify ------------------------------------------------------------------------
def build(
    exporter: Mapping[str, Any],
    results: Iterable[Mapping[str, Any]],
    *,
    exported_at: str | None = None,
) -> dict[str, Any]:
    """An unsigned document (give it to :func:`sign`). ``exporter``: archives_code,
    archives_name, public_key (the fingerprint is computed when left out); each result: the fields
    of the format, where ground, rule, rereview_year, passages, reviewer_unit, opinion and source
    may be left out (defaults in ``RESULT_DEFAULTS``). ExchangeError when a field is wrong."""
    who = dict(exporter)
    if "key_fingerprint" not in who and isinstance(who.get("public_key"), str):
        with contextlib.suppress(ValueError):  # not hex: the schema names the bad public key
            who["key_fingerprint"] = key_fingerprint(who["public_key"])
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": exported_at or dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "exporter": _ordered(who, EXPORTER),
        "results": [_ordered({**RESULT_DEFAULTS, **r}, RESULT) for r in results],
    }
    validate(doc, signed=False)
    return doc


def _ordered(obj: Mapping[str, Any], fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``obj`` with the format's fields first in the format's order (unknown keys kept after them,
    for the schema to name)."""
    out = {name: obj[name] for name, _kind in fields if name in obj}
    if "passages" in out and isinstance(out["passages"], list):
        out["passages"] = [
            _ordered(p, PASSAGE) if isinstance(p, Mapping) else p for p in out["passages"]
        ]
    out.update((k, v) for k, v in obj.items() if k not in out)
    return out


def sign(doc: Mapping[str, Any], sign_fn: Callable[[bytes], bytes]) -> dict[str, Any]:
    """``doc`` with its ``signature``: ``sign_fn`` (e.g. ``archive_key().sign``) applied to the
    canonical bytes; the value is the DER signature in base64. ``doc`` is one that :func:`build`
    or :func:`parse` returned (not validated again: that costs more than signing)."""
    value = base64.b64encode(sign_fn(canonical_bytes(doc))).decode("ascii")
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k != "signature"}
    out["signature"] = {"algorithm": ALGORITHM, "value": value}
    return out


def verify_signature(
    doc: Mapping[str, Any], verify_fn: Callable[[str, bytes, bytes], bool]
) -> bool:
    """Whether the document's signature is valid for its exporter's public key.
    ``verify_fn(public_key_hex, data, signature)`` is ``lantai.core.signing.verify``."""
    try:
        sig = doc["signature"]
        if sig["algorithm"] != ALGORITHM:
            return False
        value = base64.b64decode(sig["value"], validate=True)
        public_key = doc["exporter"]["public_key"]
        data = canonical_bytes(doc)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return False
    return bool(value) and bool(verify_fn(public_key, data, value))


# --- validation ---------------------------------------------------------------------------------
def validate(doc: Mapping[str, Any], *, signed: bool = True, locate: Locator | None = None) -> None:
    """ExchangeError for the first thing wrong with ``doc`` (in document order). ``signed=False``
    accepts a document without ``signature``; ``locate`` gives the XML source line of a JSON pointer."""
    subject: Any = doc
    if not signed and isinstance(doc, Mapping) and "signature" not in doc:
        subject = {**doc, "signature": {"algorithm": ALGORITHM, "value": "AA=="}}
    results = subject.get("results") if isinstance(subject, Mapping) else None
    if isinstance(results, list) and len(results) > MAX_RESULTS:
        _fail("too-many", "/results", locate)
    errors = sorted(_json_validator().iter_errors(subject), key=_error_order)
    if errors:
        _schema_failure(errors[0], locate)
    _check_strings(subject, "", locate)
    _check_semantics(subject, locate)


def _error_order(error: jsonschema.ValidationError) -> list[tuple[int, int | str]]:
    return [(0, p) if isinstance(p, int) else (1, p) for p in error.absolute_path]


def _pointer(parts: Iterable[int | str]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _place(pointer: str, locate: Locator | None) -> str:
    line = locate(pointer) if locate is not None else None
    if line:
        return f"line {line} #{pointer}"
    return f"#{pointer}"


def _where_zh(place: str) -> str:
    m = re.match(r"line (\d+) (.*)", place)
    return f"第{m.group(1)}行（{m.group(2)}）" if m else place


def _raise(zh: str, en: str, pointer: str, locate: Locator | None) -> None:
    place = _place(pointer, locate)
    raise ExchangeError(f"{_where_zh(place)}：{zh}", f"{place}: {en}", place)


def _fail(rule: str, pointer: str, locate: Locator | None) -> None:
    zh, en = RULES[rule]
    _raise(f"{zh}（规则 {rule}）", f"{en} (rule {rule})", pointer, locate)


def _schema_failure(error: jsonschema.ValidationError, locate: Locator | None) -> None:
    pointer = _pointer(error.absolute_path)
    rule = error.schema.get("x-rule") if isinstance(error.schema, dict) else None
    if rule in RULES:
        _fail(str(rule), pointer, locate)
    v, expected, value = error.validator, error.validator_value, error.instance
    shown = json.dumps(value, ensure_ascii=False)[:80]
    if v == "required":
        missing = next((k for k in expected if k not in value), "?")
        zh, en = f"缺少必填字段“{missing}”", f"the required field '{missing}' is missing"
    elif v == "additionalProperties":
        extra = sorted(k for k in value if k not in error.schema.get("properties", {}))
        zh, en = f"有格式未定义的字段 {extra}", f"fields the format does not define: {extra}"
    elif v == "const" and error.absolute_path and error.absolute_path[-1] in ("format", "version"):
        zh = f"不支持的格式或版本 {shown}；本系统读取 {FORMAT} {VERSION}"
        en = f"unsupported format or version {shown}; this system reads {FORMAT} {VERSION}"
    elif v in ("enum", "const"):
        allowed = "、".join(
            json.dumps(x, ensure_ascii=False) for x in (expected if v == "enum" else [expected])
        )
        zh, en = f"取值 {shown} 不在允许的取值 {allowed} 之中", f"{shown} is not one of {allowed}"
    elif v in ("type", "anyOf"):
        zh, en = f"取值 {shown} 的类型不对", f"{shown} has the wrong type"
    elif v == "pattern":
        zh, en = (
            f"取值 {shown} 不符合规定的写法（{expected}）",
            f"{shown} does not match {expected}",
        )
    elif v in ("maxLength", "maxItems"):
        zh, en = f"超过长度上限 {expected}", f"longer than the limit {expected}"
    elif v in ("minLength", "minItems"):
        zh, en = "不得为空", "must not be empty"
    elif v in ("minimum", "maximum"):
        zh, en = f"取值 {shown} 超出允许范围", f"{shown} is out of range"
    else:
        zh, en = f"不符合格式：{error.message}", f"does not conform: {error.message}"
    _raise(f"{zh}（{SCHEMA_JSON}）", f"{en} ({SCHEMA_JSON})", pointer, locate)


def _check_strings(value: Any, pointer: str, locate: Locator | None) -> None:
    if isinstance(value, str):
        if _NOT_XML.search(value):
            _fail("xml-char", pointer, locate)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(v, f"{pointer}/{k}", locate)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(v, f"{pointer}/{i}", locate)


def _check_semantics(doc: Mapping[str, Any], locate: Locator | None) -> None:
    exporter = doc["exporter"]
    if key_fingerprint(exporter["public_key"]) != exporter["key_fingerprint"]:
        _fail("fingerprint", "/exporter/key_fingerprint", locate)
    _check_datetime(doc["exported_at"], "/exported_at", locate)
    seen: set[tuple[str, str]] = set()
    for i, result in enumerate(doc["results"]):
        identity = (result["fonds_code"], result["reference_code"])
        if identity in seen:
            _fail("duplicate-record", f"/results/{i}/reference_code", locate)
        seen.add(identity)
        _check_datetime(result["decided_at"], f"/results/{i}/decided_at", locate)
        for j, passage in enumerate(result["passages"]):
            if passage["end"] <= passage["start"]:
                _fail("passage-range", f"/results/{i}/passages/{j}/end", locate)


def _check_datetime(text: str, pointer: str, locate: Locator | None) -> None:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        _fail("datetime", pointer, locate)


# --- JSON ---------------------------------------------------------------------------------------
def to_json(doc: Mapping[str, Any]) -> bytes:
    """The JSON form (UTF-8, indented; the signature does not depend on the layout) of a signed
    document from :func:`sign` or :func:`parse` (call :func:`validate` first for any other)."""
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


class _Refused(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            # two values for one key: a reader could take either, the signature covers one
            raise _Refused(
                f"键“{key}”在同一对象中出现两次|the key '{key}' appears twice in one object"
            )
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise _Refused(f"数值 {text} 不是整数|the number {text} is not an integer")


def _parse_json(data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        place = f"byte {exc.start}"
        raise ExchangeError(
            f"{place}：JSON 文件须为 UTF-8 编码", f"{place}: a JSON file must be UTF-8", place
        ) from exc
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno}, column {exc.colno}"
        raise ExchangeError(
            f"第{exc.lineno}行第{exc.colno}列：不是有效的 JSON（{exc.msg}）",
            f"{place}: not valid JSON ({exc.msg})",
            place,
        ) from exc
    except _Refused as exc:
        zh, en = str(exc).split("|")
        raise ExchangeError(zh, en, "") from exc
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, deep nesting
        raise ExchangeError(f"JSON 无法读取：{exc}", f"cannot read the JSON: {exc}", "") from exc
    if not isinstance(doc, dict):
        raise ExchangeError("JSON 顶层须为对象", "the top level of the JSON must be an object", "#")
    validate(doc)
    return doc


# --- XML ----------------------------------------------------------------------------------------
def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def to_xml(doc: Mapping[str, Any]) -> bytes:
    """The XML form (UTF-8) of a signed document from :func:`sign` or :func:`parse`, with the same
    content and signature; checked against the XSD (ExchangeError if it does not conform)."""
    root = etree.Element(_q(ROOT), nsmap={None: NAMESPACE})
    schema = xml_schema()
    try:
        for name in ("format", "version", "exported_at"):
            etree.SubElement(root, _q(name)).text = doc[name]
        _fields(etree.SubElement(root, _q("exporter")), doc["exporter"], EXPORTER)
        results = etree.SubElement(root, _q("results"))
        for result in doc["results"]:
            _fields(etree.SubElement(results, _q("result")), result, RESULT)
        _fields(etree.SubElement(root, _q("signature")), doc["signature"], SIGNATURE)
        if not schema.validate(root):
            raise ValueError(schema.error_log[0].message)
    except (KeyError, TypeError, ValueError) as exc:  # a document that did not come from build
        raise ExchangeError(
            f"文档无法写成符合 {SCHEMA_XSD} 的 XML（{exc}）；请先用 validate() 检查",
            f"the document cannot be written as XML conforming to {SCHEMA_XSD} ({exc}); "
            "validate() it first",
            "",
        ) from exc
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def _fields(
    parent: etree._Element, obj: Mapping[str, Any], fields: tuple[tuple[str, str], ...]
) -> None:
    for name, kind in fields:
        value = obj[name]
        if kind == "passages":
            holder = etree.SubElement(parent, _q(name))
            for passage in value:
                _fields(etree.SubElement(holder, _q("passage")), passage, PASSAGE)
        elif value is not None:  # a null integer is an element left out
            etree.SubElement(parent, _q(name)).text = str(value)


def _parse_xml(data: bytes) -> dict[str, Any]:
    try:
        tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        raise ExchangeError(
            f"第{line}行：不是格式良好的 XML（{exc.msg}）",
            f"line {line}: not well-formed XML ({exc.msg})",
            f"line {line}",
        ) from exc
    root = tree.getroot()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        # never needed by this format, and the way to entity bombs and external entities
        raise ExchangeError(
            "第1行：不接受含文档类型声明（DOCTYPE/DTD）的 XML",
            "line 1: XML with a document type declaration (DOCTYPE/DTD) is not accepted",
            "line 1",
        )
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != ROOT or namespace != NAMESPACE:
        place = f"line {root.sourceline}"
        raise ExchangeError(
            f"第{root.sourceline}行：根元素须为命名空间 {NAMESPACE} 中的 <{ROOT}>，"
            f"而不是 {root.tag}（其他版本的命名空间本系统不读取）",
            f"{place}: the root must be <{ROOT}> in the namespace {NAMESPACE}, not {root.tag} "
            "(other versions' namespaces are not read)",
            place,
        )
    schema = xml_schema()
    if not schema.validate(tree):
        entry = schema.error_log[0]
        place = f"line {entry.line}"
        raise ExchangeError(
            f"第{entry.line}行：XML 不符合 {SCHEMA_XSD}（{entry.message}）",
            f"{place}: the XML does not conform to {SCHEMA_XSD} ({entry.message})",
            place,
        )
    doc: dict[str, Any] = {}
    for child in _elements(root):
        name = etree.QName(child).localname
        if name in ("exporter", "signature"):
            doc[name] = _read(child, EXPORTER if name == "exporter" else SIGNATURE)
        elif name == "results":
            doc[name] = [_read(r, RESULT) for r in _elements(child)]
        else:
            doc[name] = child.text or ""
    validate(doc, locate=_locator(root))
    return doc


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]  # not comments or PIs


def _read(el: etree._Element, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    found = {etree.QName(c).localname: c for c in _elements(el)}
    out: dict[str, Any] = {}
    for name, kind in fields:
        child = found.get(name)
        if kind == "passages":
            items = _elements(child) if child is not None else []
            out[name] = [_read(p, PASSAGE) for p in items]
        elif kind == "str":
            out[name] = (child.text or "") if child is not None else ""
        else:  # int, int? (the XSD has checked the lexical form)
            out[name] = int((child.text or "").strip()) if child is not None else None
    return out


def _locator(root: etree._Element) -> Locator:
    """The source line of the element a JSON pointer names (or of its nearest ancestor found)."""

    def locate(pointer: str) -> int | None:
        element, line = root, root.sourceline
        for part in pointer.split("/")[1:]:
            children = _elements(element)
            found: etree._Element | None
            if part.isdigit():
                found = children[int(part)] if int(part) < len(children) else None
            else:
                found = next((c for c in children if etree.QName(c).localname == part), None)
            if found is None:
                break
            element, line = found, found.sourceline
        return line if isinstance(line, int) else None

    return locate


# --- either form --------------------------------------------------------------------------------
def parse(data: bytes) -> dict[str, Any]:
    """A document from its JSON or XML form, validated (ExchangeError otherwise). The signature is
    not checked here: see :func:`verify_signature`."""
    if len(data) > MAX_BYTES:
        raise ExchangeError(
            f"文件大小 {len(data)} 字节，超过上限 {MAX_BYTES} 字节；请分多个文件交换",
            f"the file has {len(data)} bytes, over the limit of {MAX_BYTES}; split the exchange",
            "",
        )
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _parse_json(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    if head.startswith(b"<"):
        return _parse_xml(data)
    raise ExchangeError(
        "文件既不是 JSON 也不是 XML（应以 { 或 < 开头）",
        "the file is neither JSON nor XML (it should start with { or <)",
        "byte 0",
    )
