"""The catalogue records of an accepted transfer: one record per catalogue entry of the package,
with its electronic files attached (the per-item step of :func:`lantai.ingest.services.accept`).

A package that carries no catalogue (a BagIt bag without 文件目录.XML) still never becomes a
package with no records: each content file becomes one item, titled from its file name and marked
待著录 (description pending) in the record's other metadata (``metadata.extra.著录状态``) and its
remarks, so that a cataloguer finds and completes it (decision 0019).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from django.db.models import Max, Q

from lantai.catalog import components
from lantai.catalog import services as catalog
from lantai.catalog.models import Category
from lantai.core.models import User
from lantai.ingest import metadata_checks
from lantai.standards import archival_code as ac
from lantai.standards.transfer.package import ItemMetadata, Package

__all__ = ["PENDING", "STATUS_ELEMENT", "RecordsError", "create_records", "provisional_items"]

STATUS_ELEMENT = "著录状态"  # kept in the record's other metadata (metadata.extra)
PENDING = "待著录"
# a 待著录 item is kept permanently until it is appraised: nothing is lost by waiting
PENDING_RETENTION = "永久"
# the 机构(问题) part of a provisional 档号, where the category's rule has one: the code itself
# says that the description is pending
PENDING_ORG = PENDING
# bag-info.txt elements (RFC 8493 §2.2.2) that name the creating organisation; Contact-Name is
# a person (the bag's contact), never an organisation
_ORGANISATION = ("Source-Organization", "Organization")


class RecordsError(Exception):
    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


@dataclass
class _Target:
    category: Category
    rule: ac.CodeRule


def provisional_items(package: Package, unit: str, today: date | None = None) -> list[ItemMetadata]:
    """One 待著录 item per content file of a package without a catalogue: 题名 from the file
    name, 责任者 from bag-info's Source-Organization (else the transferring unit), 日期 and 年度
    from bag-info's Bagging-Date (else the file's modification date, else the day of acceptance),
    every bag-info element kept as other metadata."""
    from lantai.ingest.pipeline import content_files

    today = today or date.today()
    info = {k: v for k, v in package.register.fields.items() if v}
    author = next((info[k] for k in _ORGANISATION if k in info), "") or unit
    bagged = _date(info.get("Bagging-Date", ""), today)
    items = []
    for f in content_files(package):
        name = PurePosixPath(f.path).name
        title = PurePosixPath(name).stem.strip() or name
        when, how = (
            (bagged, "打包日期（Bagging-Date）") if bagged else _file_date(package, f.path, today)
        )
        fields = {
            "题名": title,
            "责任者": author,
            "日期": when.strftime("%Y%m%d"),
            "年度": str(when.year),
            "保管期限": PENDING_RETENTION,
            STATUS_ELEMENT: PENDING,
            "来源文件": f.path,
            "备注": (
                f"{PENDING}：信息包没有目录元数据，本条由载荷文件“{f.path}”生成，题名取自文件名，"
                f"日期与年度取自{how}，保管期限暂按{PENDING_RETENTION}，待著录后更正"
            ),
        }
        for key, value in info.items():
            fields[f"bag-info:{key}"] = value
        items.append(ItemMetadata(fields=fields, files=[f.path], source=f"载荷文件 {f.path}"))
    return items


def _date(text: str, today: date) -> date | None:
    m = re.match(r"\s*(\d{4})-?(\d{2})-?(\d{2})", text)
    if m is None:
        return None
    try:
        found = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return found if date(1900, 1, 1) <= found <= today else None


def _file_date(package: Package, rel: str, today: date) -> tuple[date, str]:
    try:
        mtime = date.fromtimestamp(package.path_of(rel).stat().st_mtime)
    except (OSError, ValueError, OverflowError):
        return today, "接收日期"
    if date(1900, 1, 1) <= mtime <= today:
        return mtime, "文件修改日期"
    return today, "接收日期"


def create_records(
    package: Package,
    *,
    unit: str,
    user: User | None = None,
    repository_code: str | None = None,
    fonds_code: str | None = None,
    category_code: str | None = None,
) -> list[int]:
    """Create the records of ``package`` (call inside the accept transaction); their ids.

    Catalogue entries go to the fonds and category their 档号 names. Without a catalogue the
    provisional items go to ``fonds_code``/``category_code``, or, when those are not given, to the
    only category of the only fonds whose 立档单位 or name is the transferring unit (or bag-info's
    Source-Organization); anything else is a clear error asking for the two codes."""
    provisional = not package.items
    items = provisional_items(package, unit) if provisional else package.items
    target = (
        _target(package, unit, repository_code, fonds_code, category_code) if provisional else None
    )
    next_number: dict[str, int] = {}
    created: list[int] = []
    for item in items:
        raw = metadata_checks.item_fields(item)
        if target is not None:
            category = target.category
            raw["reference_code"] = _provisional_code(target, raw, next_number)
            if "org" in target.rule.fields:
                raw["org_code"] = PENDING_ORG
        else:
            category = _category_of(item, raw, repository_code)
        record, issues = catalog.save_record(category, raw, user=user)
        if record is None:
            first = next(i for i in issues if i.severity == "error")
            raise RecordsError(f"{item.source}：{first.message_zh}")
        for rel in item.files:
            with package.path_of(rel).open("rb") as f:
                components.attach_component(
                    record, iter(lambda: f.read(1 << 20), b""), Path(rel).name, user=user
                )
        created.append(record.pk)
    if not created:
        raise RecordsError(
            "信息包中没有目录条目，也没有可作为条目接收的电子文件：不接收没有档案的包"
        )
    return created


def _category_of(item: ItemMetadata, raw: dict[str, Any], repository_code: str | None) -> Category:
    code = str(raw.get("reference_code", ""))
    try:
        parts = ac.parse_any(code).components
        return catalog.find_category(parts["fonds"], parts.get("category", ""), repository_code)
    except (ac.CodeError, KeyError, catalog.CatalogError) as e:
        raise RecordsError(
            f"{item.source}：无法确定档号“{code}”所属的全宗和门类（{getattr(e, 'message_zh', e)}）"
        ) from e


def _target(
    package: Package,
    unit: str,
    repository_code: str | None,
    fonds_code: str | None,
    category_code: str | None,
) -> _Target:
    need = (
        "该信息包没有目录元数据（如不含文件目录.XML 的 BagIt 包），各载荷文件将作为“待著录”条目接收"
    )
    if bool(fonds_code) != bool(category_code):
        given, missing = (
            (f"全宗号“{fonds_code}”", "门类代码")
            if fonds_code
            else (f"门类代码“{category_code}”", "全宗号")
        )
        raise RecordsError(
            f"{need}：只给出了{given}，未给出{missing}；指定接收位置须同时给出全宗号和门类代码"
        )
    if fonds_code and category_code:
        try:
            category = catalog.find_category(fonds_code, category_code, repository_code)
        except catalog.CatalogError as e:
            raise RecordsError(f"{need}：{e.message_zh}") from e
    else:
        names = {unit.strip()} | {
            v.strip() for k, v in package.register.fields.items() if k in _ORGANISATION and v
        }
        names.discard("")
        repo = catalog.get_repository(repository_code)
        fonds = list(
            catalog.visible_fonds(None).filter(
                Q(creator__in=names) | Q(name__in=names), repository=repo
            )
        )
        categories = (
            list(catalog.visible_categories(None).filter(fonds=fonds[0])) if len(fonds) == 1 else []
        )
        if len(categories) != 1:
            found = "、".join(f"{f.code}（{f.creator or f.name}）" for f in fonds) or "无"
            raise RecordsError(
                f"{need}，接收时须指定全宗号和门类代码（按移交单位“{'、'.join(sorted(names))}”"
                f"找到的全宗：{found}；须恰好一个全宗且其下恰好一个门类才能自动确定）"
            )
        category = categories[0]
    try:
        rule = catalog.get_code_rule(category.code_rule)
    except catalog.CatalogError as e:
        raise RecordsError(f"{need}：{e.message_zh}") from e
    return _Target(category=category, rule=rule)


def _provisional_code(target: _Target, raw: dict[str, Any], next_number: dict[str, int]) -> str:
    """The next free 档号 of the target category's rule for a 待著录 item."""
    category = target.category
    parts: dict[str, str | int] = {
        "fonds": category.fonds.code,
        "category": category.code,
        "year": raw["year"],
        "retention": "Y",
        "org": PENDING_ORG,
        "item": 1,
    }
    try:
        prefix = target.rule.parse(target.rule.build(parts)).sequence_prefix
    except ac.CodeError as e:
        raise RecordsError(
            f"门类“{category.code}”的档号规则 {target.rule.name}（{target.rule.template}）"
            f"无法为待著录条目编号：{e.message_zh}；请指定按件整理的门类"
        ) from e
    if prefix not in next_number:
        highest = (
            catalog.visible_records(None)
            .filter(category=category, sequence_prefix=prefix)
            .aggregate(n=Max("sequence_number"))["n"]
        )
        next_number[prefix] = (highest or 0) + 1
    parts["item"] = next_number[prefix]
    next_number[prefix] += 1
    return target.rule.build(parts)
