"""One XML document per catalogue record, in DA/T 46-2009 terms, stored in the package's OCFL object.

Layout (UTF-8, declared)::

    <档案元数据 xmlns="urn:lantai:record-metadata:1" 规范="DA/T 46-2009" 格式版本="1">
      <文件实体>            DA/T 46 elements named as in the standard, nested in their containers
        <档号 值="A1-WS·2020-Y-0001"><全宗号>A1</全宗号><年度 类型="整数">2020</年度>…</档号>
        <内容描述><题名>…</题名>…</内容描述>
        …
      </文件实体>
      <兰台扩展>            what DA/T 46 does not have: one <字段 名="key"> per record field
        <字段 名="level" 说明="聚合层次">item</字段>
        <字段 名="metadata" 类型="对象"><字段 名="…">…</字段></字段>
        <字段 名="components" 类型="列表"><项 类型="对象">…</项></字段>
      </兰台扩展>
    </档案元数据>

Each key of the record dict appears in exactly one place, so ``parse(to_xml(d)) == d``. Values are
strings unless the 类型 attribute says otherwise (整数, 小数, 布尔, 空值 for None, 对象, 列表). Control
characters that XML 1.0 cannot hold are rejected with the field named (the catalogue's validation
rejects them too); &, < and the like are escaped by the serializer; tab, LF and CR round-trip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from lantai.standards import safe_xml
from lantai.standards.metadata_profile import Element, Profile, load_profile

__all__ = ["RecordXMLError", "metadata_file_name", "parse", "to_xml"]

NS = "urn:lantai:record-metadata:1"
_N = f"{{{NS}}}"
FORMAT_VERSION = "1"
ROOT, DAT46, LANTAI, FIELD, ITEM = "档案元数据", "文件实体", "兰台扩展", "字段", "项"
TYPE, NAME, LABEL, VALUE = "类型", "名", "说明", "值"

# Human labels for the Lantai-only fields, written as 说明 (ignored when reading).
LANTAI_LABELS = {
    "level": "聚合层次",
    "sequence_prefix": "档号前缀",
    "sequence_number": "件号（序号）",
    "retention_legacy": "原保管期限",
    "classification_level": "密级等级",
    "open_due_date": "到期开放日期",
    "metadata": "其他元数据",
    "components": "电子文件",
    "name": "计算机文件名",
    "size": "计算机文件大小",
    "mime_type": "格式信息",
    "path": "逻辑路径",
}

Record = dict[str, Any]


class RecordXMLError(ValueError):
    """A record that cannot be written as XML, or a document that is not a record."""


# --- values --------------------------------------------------------------------------------------


def _set_text(el: etree._Element, text: str, where: str) -> None:
    try:
        el.text = text
    except ValueError as e:
        raise RecordXMLError(f"{where} 含有 XML 不允许的控制字符：{text!r}") from e


def _write_value(el: etree._Element, value: object, where: str) -> None:
    """Write `value` into `el` (text or children) and mark its type."""
    if value is None:
        el.set(TYPE, "空值")
    elif isinstance(value, bool):  # before int: bool is an int
        el.set(TYPE, "布尔")
        el.text = "true" if value else "false"
    elif isinstance(value, int):
        el.set(TYPE, "整数")
        el.text = str(value)
    elif isinstance(value, float):
        el.set(TYPE, "小数")
        el.text = repr(value)
    elif isinstance(value, str):
        if value:
            _set_text(el, value, where)
    elif isinstance(value, Mapping):
        el.set(TYPE, "对象")
        _write_fields(el, value, where)
    elif isinstance(value, list):
        el.set(TYPE, "列表")
        for i, item in enumerate(value):
            _write_value(etree.SubElement(el, _N + ITEM), item, f"{where}[{i}]")
    else:
        raise RecordXMLError(
            f"{where} 的值类型不受支持：{type(value).__name__}（日期请用 ISO 字符串）"
        )


def _write_fields(parent: etree._Element, values: Mapping[str, object], where: str) -> None:
    for key, value in values.items():
        if not isinstance(key, str):
            raise RecordXMLError(f"{where} 的键必须是字符串：{key!r}")
        el = etree.SubElement(parent, _N + FIELD)
        _set_text_attr(el, NAME, key, where)
        if key in LANTAI_LABELS:
            el.set(LABEL, LANTAI_LABELS[key])
        _write_value(el, value, f"{where}.{key}" if where else key)


def _set_text_attr(el: etree._Element, attr: str, text: str, where: str) -> None:
    try:
        el.set(attr, text)
    except ValueError as e:
        raise RecordXMLError(f"{where} 的键含有 XML 不允许的字符：{text!r}") from e


def _read_value(el: etree._Element) -> object:
    kind = el.get(TYPE)
    text = el.text or ""
    if kind is None:
        return text
    readers: dict[str, Callable[[], object]] = {
        "空值": lambda: None,
        "布尔": lambda: text == "true",
        "整数": lambda: int(text),
        "小数": lambda: float(text),
        "对象": lambda: _read_fields(el),
        "列表": lambda: [_read_value(item) for item in el.iterchildren(_N + ITEM)],
    }
    if kind not in readers:
        raise RecordXMLError(f"未知的值类型：{kind}")
    return readers[kind]()


def _read_fields(parent: etree._Element) -> dict[str, object]:
    return {str(f.get(NAME)): _read_value(f) for f in parent.iterchildren(_N + FIELD)}


# --- the DA/T 46 part ----------------------------------------------------------------------------


def _dat46_keys(profile: Profile, record: Mapping[str, object]) -> dict[str, Element]:
    """Record keys written as DA/T 46 elements. A container element's own value (档号) is an
    attribute, so only a string fits there; anything else goes to the Lantai part."""
    out = {}
    for key, value in record.items():
        try:
            element = profile.by_field(key)
        except KeyError:
            continue
        if not element.container or isinstance(value, str):
            out[key] = element
    return out


def _write_dat46(
    parent: etree._Element, profile: Profile, record: Mapping[str, object]
) -> set[str]:
    keys = _dat46_keys(profile, record)
    by_number = {e.number: (key, e) for key, e in keys.items()}
    wanted = set(by_number)
    for number in list(wanted):  # every container on the way up
        parent_no = profile.by_number(number).parent
        while parent_no is not None:
            wanted.add(parent_no)
            parent_no = profile.by_number(parent_no).parent
    made: dict[int, etree._Element] = {}
    for e in profile.elements:  # profile order = the standard's order
        if e.number not in wanted:
            continue
        holder = made[e.parent] if e.parent is not None else parent
        el = made[e.number] = etree.SubElement(holder, _N + e.name_zh)
        if e.number in by_number:
            key = by_number[e.number][0]
            if e.container:
                _set_text_attr(el, VALUE, str(record[key]), key)
            else:
                _write_value(el, record[key], key)
    return set(keys)


def _read_dat46(parent: etree._Element, profile: Profile, out: Record) -> None:
    for el in parent.iterchildren(etree.Element):
        name = etree.QName(el).localname
        try:
            element = profile.by_name(name)
        except KeyError:
            raise RecordXMLError(f"不是 DA/T 46 元素：{name}") from None
        if element.container:
            if element.field and el.get(VALUE) is not None:
                out[element.field] = el.get(VALUE)
            _read_dat46(el, profile, out)
        elif element.field:
            out[element.field] = _read_value(el)
        else:
            raise RecordXMLError(f"DA/T 46 元素 {name} 没有对应的兰台字段")


# --- documents -----------------------------------------------------------------------------------


def to_xml(record: Mapping[str, object], profile: Profile | None = None) -> bytes:
    """The record (plain dict of field values) as a UTF-8 XML document."""
    profile = profile or load_profile()
    root = etree.Element(_N + ROOT, nsmap={None: NS})
    root.set("规范", profile.version)
    root.set("格式版本", FORMAT_VERSION)
    written = _write_dat46(etree.SubElement(root, _N + DAT46), profile, record)
    rest = {k: v for k, v in record.items() if k not in written}
    _write_fields(etree.SubElement(root, _N + LANTAI), rest, "")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def parse(xml: bytes, profile: Profile | None = None) -> Record:
    """The record dict back from `to_xml`'s output. No DTDs, entities or network access."""
    profile = profile or load_profile()
    parser = safe_xml.parser()
    try:
        tree = etree.fromstring(xml, parser).getroottree()
    except etree.XMLSyntaxError as e:
        raise RecordXMLError(f"档案元数据不是合法的 XML：{e}") from e
    root = tree.getroot()
    if tree.docinfo.doctype or root.tag != _N + ROOT:
        raise RecordXMLError(f"不是兰台档案元数据文档：{root.tag}")
    if root.get("格式版本") != FORMAT_VERSION:
        raise RecordXMLError(f"不支持的格式版本：{root.get('格式版本')}")
    out: Record = {}
    dat46 = root.find(_N + DAT46)
    if dat46 is not None:
        _read_dat46(dat46, profile, out)
    lantai = root.find(_N + LANTAI)
    if lantai is not None:
        out.update(_read_fields(lantai))
    return out


# File names: keep Chinese, letters, digits and ·-_.; percent-encode the rest (and %) so that the
# mapping from 档号 to file name is reversible and two codes never share a file.
_UNSAFE = re.compile(r"[^\w\u00b7.\-]|^\.", re.UNICODE)


def metadata_file_name(reference_code: str) -> str:
    """E.g. "A1-WS·2020-Y-0001" -> "A1-WS·2020-Y-0001.xml"; "A1/2020" -> "A1%2F2020.xml"."""
    if not reference_code:
        raise RecordXMLError("档号为空，无法命名元数据文件")
    encoded = _UNSAFE.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), reference_code
    )
    return f"{encoded}.xml"
