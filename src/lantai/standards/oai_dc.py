"""The oai_dc mapping of an open catalogue record (the hub harvester reads exactly these elements).

| dc element     | value                                                   |
|----------------|---------------------------------------------------------|
| dc:title       | 题名                                                     |
| dc:creator     | 责任者 (left out when empty)                              |
| dc:type        | the 门类 name (Chinese)                                   |
| dc:publisher   | the archives' (Repository) name                          |
| dc:date        | 日期 as YYYY-MM-DD, else the 年度 (YYYY); left out if none  |
| dc:identifier  | the 档号, then the record's absolute public URL            |
| dc:source      | 全宗 "{fonds code} {fonds name}"                           |
| dc:language    | zh                                                       |
| dc:rights      | 开放                                                      |
| dc:relation    | the fonds setSpec                                        |
| dc:description | 备注, when there is one                                   |

Pure Python (no Django): the XML is built from escaped string pieces, one record in a few
microseconds, because a harvest writes thousands of records per second."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from .oai_pmh import data, namespace, schema_location, xml_text


@dataclass(frozen=True, slots=True)
class DcRecord:
    title: str
    reference_code: str
    url: str  # absolute public URL of the record
    type_name: str  # 门类 name
    publisher: str  # archives name
    fonds_code: str
    fonds_name: str
    fonds_set: str  # setSpec of the fonds
    creator: str = ""
    date: date | None = None
    year: int | None = None
    remarks: str = ""


def dc_date(day: date | None, year: int | None) -> str:
    if day is not None:
        return day.isoformat()
    if year:
        return f"{year:04d}"
    return ""


def elements(rec: DcRecord) -> Iterator[tuple[str, str]]:
    """(dc element name, value) in the order written; empty values are left out."""
    fixed = data()["oai_dc"]
    yield "title", rec.title
    if rec.creator:
        yield "creator", rec.creator
    yield "type", rec.type_name
    yield "publisher", rec.publisher
    when = dc_date(rec.date, rec.year)
    if when:
        yield "date", when
    yield "identifier", rec.reference_code
    yield "identifier", rec.url
    yield "source", f"{rec.fonds_code} {rec.fonds_name}".strip()
    yield "language", str(fixed["language"])
    yield "rights", str(fixed["rights"]["zh"])
    yield "relation", rec.fonds_set
    if rec.remarks:
        yield "description", rec.remarks


class Writer:
    """Writes <oai_dc:dc> elements in the order of `elements`, fast: the values that repeat
    across a page (type, publisher, source, relation) are escaped once."""

    def __init__(self) -> None:
        fixed = data()["oai_dc"]
        self._open = (
            f'<oai_dc:dc xmlns:oai_dc="{namespace("oai_dc")}" xmlns:dc="{namespace("dc")}" '
            f'xmlns:xsi="{namespace("xsi")}" '
            f'xsi:schemaLocation="{namespace("oai_dc")} {schema_location("oai_dc")}">'
        )
        self._fixed = (
            f"<dc:language>{xml_text(str(fixed['language']))}</dc:language>"
            f"<dc:rights>{xml_text(str(fixed['rights']['zh']))}</dc:rights>"
        )
        self._cache: dict[str, str] = {}

    def _repeated(self, value: str) -> str:
        found = self._cache.get(value)
        if found is None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            found = self._cache[value] = xml_text(value)
        return found

    def xml(
        self, *, title: str, reference_code: str, url: str, type_name: str, publisher: str,
        source: str, relation: str, creator: str = "", day: date | None = None,
        year: int | None = None, remarks: str = "",
    ) -> str:  # fmt: skip
        rep = self._repeated
        parts = [self._open, "<dc:title>", xml_text(title), "</dc:title>"]
        if creator:
            parts += ("<dc:creator>", rep(creator), "</dc:creator>")
        parts += ("<dc:type>", rep(type_name), "</dc:type><dc:publisher>", rep(publisher))
        parts.append("</dc:publisher>")
        when = dc_date(day, year)
        if when:
            parts += ("<dc:date>", when, "</dc:date>")
        parts += ("<dc:identifier>", xml_text(reference_code), "</dc:identifier><dc:identifier>")
        parts += (xml_text(url), "</dc:identifier><dc:source>", rep(source.strip()))
        parts += ("</dc:source>", self._fixed, "<dc:relation>", rep(relation), "</dc:relation>")
        if remarks:
            parts += ("<dc:description>", xml_text(remarks), "</dc:description>")
        parts.append("</oai_dc:dc>")
        return "".join(parts)


def to_xml(rec: DcRecord) -> str:
    """The <oai_dc:dc> element of a record (no XML declaration), for inside <metadata>."""
    return Writer().xml(
        title=rec.title, reference_code=rec.reference_code, url=rec.url,
        type_name=rec.type_name, publisher=rec.publisher,
        source=f"{rec.fonds_code} {rec.fonds_name}", relation=rec.fonds_set,
        creator=rec.creator, day=rec.date, year=rec.year, remarks=rec.remarks,
    )  # fmt: skip
