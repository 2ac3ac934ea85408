"""DA/T 48-2009 electronic-record encapsulation packages (EEP, 《基于XML的电子文件封装规范》).

A transfer may hold several EEP files (``*.xml`` whose root is ``电子文件封装包`` in the
namespace ``http://www.saac.gov.cn/standards/ERM/encapsulation``; element names without the
namespace are accepted too). Each ``文件实体`` becomes one ``ItemMetadata`` with its DA/T 46
elements (档号 parts, 题名, 责任者, 日期, 密级, 保管期限 …, by their Chinese names); each
``编码数据`` (base64) is decoded into ``extract_to`` and its declared 电子属性 (计算机文件名,
计算机文件大小, 格式信息, 文档创建程序) are kept in ``Package.declared_attributes`` for the
1-3 check. The 档号 is assembled from the parts of <档号> (:func:`assemble_code`), the
电子签名 are verified (:mod:`.eep_signature`, DA/T 70 1-1), and without a 移交登记表 the EEPs'
own declarations (文件实体 count, 计算机文件大小) are the register. The package directory itself
is never modified.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path, PurePosixPath
from typing import Any

from .. import archival_code as ac
from ..categories import load_categories
from ..dat70 import CheckResult
from ..vocabularies import VocabularyError, normalize_retention
from . import cn_layout, eep_signature
from ._common import (
    decode_text,
    find_child,
    leaves,
    link_results,
    load_xml,
    local,
    text_of,
    walk,
)
from .package import ItemMetadata, Package, PackageFile

__all__ = ["EEP_NAMESPACE", "EEP_ROOT", "is_eep", "read"]

EEP_NAMESPACE = "http://www.saac.gov.cn/standards/ERM/encapsulation"
EEP_ROOT = "电子文件封装包"
REQUIRED = ("封装包格式描述", "版本", "被签名对象")
REQUIRED_SIGNED = ("封装包类型", "封装包创建时间", "封装包创建单位")
ATTRIBUTE_NAMES = ("计算机文件名", "计算机文件大小", "格式信息", "文档创建程序")
_ROOT_RE = re.compile(r"<(?:[\w.\-]+:)?电子文件封装包[\s>/]")
_SAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def is_eep(path: Path) -> bool:
    """Whether the XML file ``path`` has the EEP root element (reads only its beginning)."""
    try:
        with path.open("rb") as f:
            head = f.read(8192)
    except OSError:
        return False
    for codec in ("utf-8", "gb18030", "utf-16"):
        if _ROOT_RE.search(head.decode(codec, errors="ignore")):
            return True
    return False


def _fail(key: str, obj: str, reason: str, **evidence: Any) -> CheckResult:
    return CheckResult.from_spec(key, "fail", object=obj, evidence={"reason": reason, **evidence})


def read(root: Path, extract_to: Path) -> Package:
    """Read every EEP file under ``root``; embedded contents are decoded under ``extract_to``."""
    pkg = Package(kind="eep", root=root, content_root=extract_to)
    inv = walk(root)
    pkg.package_files = inv.files
    pkg.results.extend(link_results(inv.links))
    eeps = [f.path for f in inv.files if f.path.lower().endswith(".xml") and is_eep(root / f.path)]
    if not eeps:
        pkg.results.append(
            _fail("package_structure", "package", "信息包中没有 DA/T 48 封装包（EEP）文件")
        )
        return pkg
    pkg.notes.append(f"按 DA/T 48-2009 封装包读取 {len(eeps)} 个 EEP 文件，内容数据解码到工作目录")
    # a register in the Chinese layout may accompany the EEP files
    other = find_child(root, cn_layout.OTHER_DIR, want_dir=True)
    if other is not None and find_child(other, cn_layout.REGISTER_NAME) is not None:
        cn_layout._read_register(pkg, root, "", True)
        pkg.notes.append("同时读取 其他/移交登记表.XML（数字摘要针对信息包中的 EEP 文件）")
    desc = find_child(root, cn_layout.DESCRIPTION_NAME)
    if desc is not None:
        pkg.description, _enc = decode_text(desc.read_bytes())
        pkg.metadata_files.append(desc.name)
    extract_to.mkdir(parents=True, exist_ok=True)
    for rel in eeps:
        _read_one(pkg, rel, extract_to)
    pkg.files.sort(key=lambda f: f.path)
    if not pkg.register.source:
        _register_from_eeps(pkg)
    return pkg


def _register_from_eeps(pkg: Package) -> None:
    """Without a 移交登记表 the EEPs declare what they carry: the number of 文件实体, and the
    计算机文件大小 of each embedded file (2-1 compares these with what was decoded)."""
    pkg.register.item_count = len(pkg.items)
    sizes = [pkg.declared_attributes.get(f.path, {}).get("计算机文件大小", "") for f in pkg.files]
    if sizes and all(s.strip().isdigit() for s in sizes):
        pkg.register.byte_count = sum(int(s) for s in sizes)
    pkg.register.source = "EEP 文件实体与电子属性"
    pkg.notes.append(
        "包中没有移交登记表：登记数量取自 EEP 中<文件实体>的个数，"
        "登记数据量取自各编码<电子属性>中的计算机文件大小"
    )


def _first(el: Any, name: str) -> Any:
    for child in el.iter():
        if local(child) == name:
            return child
    return None


def _read_one(pkg: Package, rel: str, extract_to: Path) -> None:
    pkg.metadata_files.append(rel)
    loaded = load_xml(pkg.root / rel, rel, huge=True)
    pkg.results.extend(loaded.results)
    pkg.notes.extend(loaded.notes)
    root = loaded.root
    if root is None:
        return
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag.startswith("{"):
        ns = tag[1:].split("}", 1)[0]
        if ns != EEP_NAMESPACE:
            pkg.report(
                "package_structure",
                "warn",
                rel,
                {"reason": f"命名空间为 {ns}，DA/T 48-2009 规定为 {EEP_NAMESPACE}"},
            )
    else:
        pkg.notes.append(f"{rel} 未使用 DA/T 48 命名空间，按元素名读取")
    children = {local(c) for c in root}
    missing = [n for n in REQUIRED if n not in children]
    signed = _first(root, "被签名对象")
    if signed is not None:
        inner = {local(c) for c in signed}
        missing += [n for n in REQUIRED_SIGNED if n not in inner]
        if not inner & {"封装内容", "修改封装内容"}:
            missing.append("封装内容")
    if missing:
        pkg.results.append(
            _fail(
                "package_structure",
                rel,
                "EEP 缺少 DA/T 48-2009 规定的元素：" + "、".join(missing),
                missing=missing,
            )
        )
    pkg.results.extend(eep_signature.verify_eep(root, pkg.root / rel, loaded.encoding, rel))
    entities = [el for el in root.iter() if local(el) == "文件实体"]
    if not entities:
        pkg.results.append(_fail("package_structure", rel, "EEP 中没有 <文件实体>"))
        return
    stem = str(PurePosixPath(rel).with_suffix(""))
    used: set[str] = set()
    for n, entity in enumerate(entities, 1):
        source = f"{rel} 第{n}个<文件实体>"
        fields: dict[str, str] = {}
        for leaf in leaves(entity, ("文件数据",)):
            name, value = local(leaf), text_of(leaf)
            if name in fields:
                if value and value != fields[name]:
                    fields[name] = f"{fields[name]}；{value}" if fields[name] else value
            else:
                fields[name] = value
        code_el = next((el for el in entity if local(el) == "档号"), None)
        if code_el is not None and len(code_el):
            code, how = assemble_code(fields)
            if code:
                fields["档号"] = code
                pkg.notes.append(f"{source} 的档号由各组成部分拼成：{code}（{how}）")
            else:
                pkg.notes.append(f"{source} 的档号无法由各组成部分拼成：{how}")
        files: list[str] = []
        codings = [el for el in entity.iter() if local(el) == "编码"]
        if not codings:
            pkg.results.append(
                _fail("content_completeness", rel, f"{source} 没有 <编码>（无内容数据）")
            )
        for m, coding in enumerate(codings, 1):
            path = _decode(pkg, rel, source, coding, f"{stem}/{n:04d}", m, used, extract_to)
            if path is not None:
                files.append(path)
        pkg.items.append(ItemMetadata(fields=fields, files=files, source=source))


# the 档号 parts of DA/T 46 / DA/T 48 (element names) -> fields of DA/T 13 code rules
_CODE_PARTS = {
    "全宗号": "fonds",
    "年度": "year",
    "保管期限": "retention",
    "机构或问题": "org",
    "室编件号": "item",
}
_ITEM_ALTERNATIVES = ("馆编件号", "件号")
# where the 门类代码 may stand: its own element, or 目录号 / 类别号 holding a DA/T 13 category code
_CATEGORY_ELEMENTS = ("门类代码", "档案门类代码", "目录号", "类别号")


def assemble_code(fields: dict[str, str]) -> tuple[str | None, str]:
    """The 档号 built from the parts an EEP's <档号> holds (全宗号, 目录号 or 门类代码, 年度,
    保管期限, 机构或问题, 室编件号 …) with the first DA/T 13 / DA/T 22 rule (按件) that takes
    exactly those parts; the 门类 may also come from 电子文件号 when that is a 档号 whose other
    parts agree. Returns (code, how it was built) or (None, why not)."""
    parts: dict[str, str] = {}
    for element, name in _CODE_PARTS.items():
        if fields.get(element, "").strip():
            parts[name] = fields[element].strip()
    if "item" not in parts:
        for element in _ITEM_ALTERNATIVES:
            if fields.get(element, "").strip():
                parts["item"] = fields[element].strip()
                break
    if "retention" in parts:
        try:
            parts["retention"] = normalize_retention(parts["retention"]).code
        except VocabularyError:
            return None, f"保管期限“{parts['retention']}”不在保管期限代码表中"
    categories = load_categories()
    for element in _CATEGORY_ELEMENTS:
        value = fields.get(element, "").strip().upper()
        if value in categories:
            parts["category"] = value
            source = f"门类取自<{element}>"
            break
    else:
        source = ""
    missing = [n for n in ("fonds", "year", "retention", "item") if n not in parts]
    if missing:
        labels = {"fonds": "全宗号", "year": "年度", "retention": "保管期限", "item": "室编件号"}
        return None, "缺少" + "、".join(labels[m] for m in missing)
    ident = fields.get("电子文件号", "").strip()
    if "category" not in parts and ident:
        try:
            parsed = ac.parse_any(ident)
        except ac.CodeError:
            parsed = None
        if parsed is not None and parsed.components.get("category") in categories:
            agree = all(
                ac.normalize_code(str(parsed.components.get(k, v))).lstrip("0")
                == ac.normalize_code(v).lstrip("0")
                for k, v in parts.items()
            )
            if agree:
                taken = [
                    k for k in ("category", "org") if k not in parts and k in parsed.components
                ]
                for k in taken:
                    parts[k] = parsed.components[k]
                source = "门类" + ("与机构（问题）" if "org" in taken else "") + "取自电子文件号"
    if "category" not in parts:
        return None, "档号各部分中没有门类代码（门类代码、目录号或类别号），电子文件号也不能补足"
    for rule in ac.load_rules().values():
        if rule.arrangement == "item" and set(rule.fields) == set(parts):
            try:
                return rule.build(parts), f"按规则 {rule.name}，{source}"
            except ac.CodeError as exc:
                return None, exc.message_zh
    return None, "没有与这些组成部分相符的按件档号规则：" + "、".join(sorted(parts))


def _decode(
    pkg: Package,
    rel: str,
    source: str,
    coding: Any,
    folder: str,
    m: int,
    used: set[str],
    extract_to: Path,
) -> str | None:
    attrs: dict[str, str] = {}
    attr_el = _first(coding, "电子属性")
    if attr_el is not None:
        for leaf in leaves(attr_el):
            attrs[local(leaf)] = text_of(leaf)
    where = f"{source} 第{m}个<编码>"
    name = _SAFE.sub("_", PurePosixPath(attrs.get("计算机文件名", "").replace("\\", "/")).name)
    if name in ("", ".", ".."):
        name = f"编码{m}.bin"
    path = f"{folder}/{name}"
    k = 1
    while path in used:
        k += 1
        path = f"{folder}/{k}-{name}"
    used.add(path)
    keyword = _first(coding, "反编码关键字")
    keyword_text = text_of(keyword).lower().replace("-", "") if keyword is not None else "base64"
    if keyword_text != "base64":
        pkg.results.append(
            _fail(
                "content_decoding",
                rel,
                f"{where} 的反编码关键字“{text_of(keyword)}”不受支持（应为 base64）",
            )
        )
        return None
    data_el = _first(coding, "编码数据")
    if data_el is None or not (data_el.text or "").strip():
        pkg.results.append(_fail("content_completeness", rel, f"{where} 缺少编码数据"))
        return None
    raw = re.sub(r"\s+", "", data_el.text)
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        pkg.results.append(
            _fail(
                "content_decoding",
                rel,
                f"{where} 的编码数据不是有效的 base64：{exc}",
                file=attrs.get("计算机文件名", ""),
            )
        )
        return None
    target = extract_to / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    pkg.files.append(PackageFile(path=path, size=len(data)))
    pkg.declared_attributes[path] = {k: v for k, v in attrs.items() if k in ATTRIBUTE_NAMES} | {
        "source": where
    }
    return path
