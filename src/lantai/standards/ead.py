"""EAD 2002 and EAD3 finding aids of a fonds, written as a stream (a 100,000-record fonds never
becomes one tree in memory), and the one-record EAD 2002 document of the OAI-PMH `ead` format.

Structure: archdesc level="fonds" (did: unittitle, unitid = 全宗号, unitdate range, origination =
立档单位, repository) → dsc → c level="series" per 门类 → c level="subseries" per 年度 → c per
record (level item / file for a 案卷, its 卷内文件 nested in it), with did (unitid = 档号, unittitle,
unitdate, origination = 责任者) and, for a record that is not open, accessrestrict.
Pure Python (no Django); @level values come from ``data/oai-ead.yaml``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TextIO

from .oai_pmh import data, namespace, schema_location, xml_attr, xml_text

EAD2002 = "ead2002"
EAD3 = "ead3"
AGENT = "兰台 Lantai"


@dataclass(frozen=True, slots=True)
class FindingAid:
    repository_code: str
    repository_name: str
    fonds_code: str
    fonds_name: str
    creator: str  # 立档单位
    description: str = ""
    first_year: int | None = None
    last_year: int | None = None
    created: datetime | None = None  # when the finding aid was made


@dataclass(frozen=True, slots=True)
class Unit:
    """One record of the fonds, in the order written (by 门类, 年度, 档号)."""

    id: int
    parent_id: int | None
    level: str  # item | volume | volume_item
    category_code: str
    category_name: str
    year: int | None
    reference_code: str
    title: str
    author: str = ""
    date: date | None = None
    open_status: str = "open"  # open | closed | restricted_use


def ead_level(kind: str) -> str:
    return str(data()["ead_levels"][kind])


def access_text(open_status: str) -> str:
    return str(data()["access"].get(open_status, data()["access"]["closed"])["zh"])


def _unitdate(text: str, normal: str) -> str:
    return f"<unitdate normal={xml_attr(normal)}>{xml_text(text)}</unitdate>"


def _name(v: str, tag: str, value: str) -> str:
    """A corpname (EAD3 names carry their text in <part>)."""
    inner = f"<part>{xml_text(value)}</part>" if v == EAD3 else xml_text(value)
    return f"<{tag}><corpname>{inner}</corpname></{tag}>"


def _years(first: int | None, last: int | None) -> tuple[str, str] | None:
    if first is None or last is None:
        return None
    if first == last:
        return f"{first:04d}", f"{first:04d}"
    return f"{first:04d}—{last:04d}", f"{first:04d}/{last:04d}"


def _unit_did(v: str, unit: Unit) -> str:
    parts = ["<did>", f"<unitid>{xml_text(unit.reference_code)}</unitid>"]
    parts.append(f"<unittitle>{xml_text(unit.title)}</unittitle>")
    if unit.date is not None:
        parts.append(_unitdate(unit.date.isoformat(), unit.date.isoformat()))
    elif unit.year is not None:
        parts.append(_unitdate(f"{unit.year:04d}", f"{unit.year:04d}"))
    if unit.author:
        parts.append(_name(v, "origination", unit.author))
    parts.append("</did>")
    if unit.open_status != "open":
        parts.append(f"<accessrestrict><p>{xml_text(access_text(unit.open_status))}</p>")
        parts.append("</accessrestrict>")
    return "".join(parts)


def _header(v: str, aid: FindingAid) -> str:
    created = aid.created or datetime.now()
    day = created.date().isoformat()
    title = f"{aid.fonds_code} {aid.fonds_name} 全宗目录"
    recordid = f"{aid.repository_code}-{aid.fonds_code}"
    xsi = namespace("xsi")
    if v == EAD2002:
        ns = namespace("ead")
        return (
            f'<ead xmlns="{ns}" xmlns:xlink="{namespace("xlink")}" xmlns:xsi="{xsi}" '
            f'xsi:schemaLocation="{ns} {schema_location("ead")}">'
            '<eadheader langencoding="iso639-2b" scriptencoding="iso15924" '
            'dateencoding="iso8601" countryencoding="iso3166-1" repositoryencoding="iso15511">'
            f"<eadid>{xml_text(recordid)}</eadid>"
            f"<filedesc><titlestmt><titleproper>{xml_text(title)}</titleproper></titlestmt>"
            f"<publicationstmt><publisher>{xml_text(aid.repository_name)}</publisher>"
            f"<date normal={xml_attr(day)}>{day}</date></publicationstmt></filedesc>"
            f"<profiledesc><creation>{AGENT} <date normal={xml_attr(day)}>{day}</date>"
            "</creation><langusage>"
            '<language langcode="chi" scriptcode="Hans">中文</language>'
            "</langusage></profiledesc></eadheader>"
        )
    ns = namespace("ead3")
    return (
        f'<ead xmlns="{ns}" xmlns:xsi="{xsi}" '
        f'xsi:schemaLocation="{ns} {schema_location("ead3")}">'
        f"<control><recordid>{xml_text(recordid)}</recordid>"
        f"<filedesc><titlestmt><titleproper>{xml_text(title)}</titleproper></titlestmt>"
        f"<publicationstmt><publisher>{xml_text(aid.repository_name)}</publisher>"
        "</publicationstmt></filedesc>"
        '<maintenancestatus value="derived"/>'
        f"<maintenanceagency><agencycode>{xml_text(aid.repository_code)}</agencycode>"
        f"<agencyname>{xml_text(aid.repository_name)}</agencyname></maintenanceagency>"
        '<languagedeclaration><language langcode="chi">中文</language>'
        '<script scriptcode="Hans">简体中文</script></languagedeclaration>'
        "<maintenancehistory><maintenanceevent>"
        '<eventtype value="derived"/>'
        f"<eventdatetime standarddatetime={xml_attr(created.isoformat(timespec='seconds'))}>"
        f"{xml_text(created.isoformat(sep=' ', timespec='seconds'))}</eventdatetime>"
        f'<agenttype value="machine"/><agent>{AGENT}</agent>'
        "</maintenanceevent></maintenancehistory></control>"
    )


def _archdesc_did(v: str, aid: FindingAid, level: str) -> str:
    parts = [f'<archdesc level="{level}"><did>']
    parts.append(f"<unittitle>{xml_text(aid.fonds_name)}</unittitle>")
    parts.append(f"<unitid>{xml_text(aid.fonds_code)}</unitid>")
    years = _years(aid.first_year, aid.last_year)
    if years is not None:
        parts.append(_unitdate(*years))
    if aid.creator:
        parts.append(_name(v, "origination", aid.creator))
    parts.append(_name(v, "repository", aid.repository_name))
    parts.append("</did>")
    if aid.description:
        parts.append(f"<scopecontent><p>{xml_text(aid.description)}</p></scopecontent>")
    return "".join(parts)


def write_finding_aid(out: TextIO, aid: FindingAid, units: Iterable[Unit], version: str) -> int:
    """Write the finding aid of a fonds to `out` as the units arrive (ordered by 门类, 年度, 档号;
    a 卷内文件 right after its 案卷 is nested in it). Returns how many units were written."""
    if version not in (EAD2002, EAD3):
        raise ValueError(f"unknown EAD version {version!r}")
    v = version
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(_header(v, aid))
    out.write(_archdesc_did(v, aid, ead_level("fonds")))
    series: str | None = None
    year: tuple[int | None] | None = None
    volume: int | None = None  # the open 案卷 <c>, whose 卷内文件 follow it
    count = 0
    opened_dsc = False
    for unit in units:
        if not opened_dsc:
            out.write("<dsc>")
            opened_dsc = True
        if volume is not None and unit.parent_id != volume:
            out.write("</c>")
            volume = None
        if unit.category_code != series:
            if year is not None:
                out.write("</c>")
            if series is not None:
                out.write("</c>")
            series, year = unit.category_code, None
            title = unit.category_name or unit.category_code
            out.write(
                f'<c level="{ead_level("category")}"><did>'
                f"<unittitle>{xml_text(title)}</unittitle>"
                f"<unitid>{xml_text(unit.category_code)}</unitid></did>"
            )
        if year is None or year[0] != unit.year:
            if year is not None:
                out.write("</c>")
            year = (unit.year,)
            label = f"{unit.year:04d}" if unit.year is not None else "年度不详"
            out.write(f'<c level="{ead_level("year")}"><did><unittitle>{label}</unittitle>')
            if unit.year is not None:
                out.write(_unitdate(label, label))
            out.write("</did>")
        out.write(f'<c level="{ead_level(unit.level)}">{_unit_did(v, unit)}')
        if unit.level == "volume":
            volume = unit.id
        else:
            out.write("</c>")
        count += 1
    if volume is not None:
        out.write("</c>")
    if year is not None:
        out.write("</c>")
    if series is not None:
        out.write("</c>")
    if opened_dsc:
        out.write("</dsc>")
    out.write("</archdesc></ead>\n")
    return count


def record_ead(aid: FindingAid, unit: Unit) -> str:
    """The EAD 2002 document of one record (the OAI-PMH `ead` format): the fonds' header, and an
    archdesc at the record's level (item, or file for a 案卷) that names its fonds and 门类."""
    v = EAD2002
    parts = [_header(v, aid), f'<archdesc level="{ead_level(unit.level)}">']
    did = _unit_did(v, unit)
    parts.append(did.replace("</did>", _name(v, "repository", aid.repository_name) + "</did>", 1))
    parts.append(
        f"<controlaccess><subject>{xml_text(unit.category_name or unit.category_code)}"
        f"</subject><corpname>{xml_text(aid.fonds_code + ' ' + aid.fonds_name)}</corpname>"
        "</controlaccess>"
    )
    parts.append("</archdesc></ead>")
    return "".join(parts)
