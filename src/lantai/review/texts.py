"""What of a record the open review reads: its SECTIONS — the catalogue fields, the OCR text of
each digitized page, and the text of each born-digital file. Machine findings, marked passages
and redactions all point into a section by its key and character offsets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from lantai.catalog.models import Component, ComponentText, Record
from lantai.digitization import reading
from lantai.search.text import extract_text

# catalogue fields the review reads; of them the public sees PUBLIC_FIELDS (search.query's public
# fields), never 备注, so an open copy carries those and the files' text only
FIELDS = ("title", "author", "document_number", "remarks")
PUBLIC_FIELDS = ("title", "author", "document_number")


@dataclass(frozen=True)
class Section:
    key: str  # field:<name> | page:<digitization Page id> | component:<Component id>
    label: str
    text: str


def _lines(text: str) -> str:
    """Line ends as a browser sends them back (\n), so offsets marked on the page are right."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def field_label(name: str) -> str:
    return str(getattr(Record._meta.get_field(name), "verbose_name", name))


def sections(record: Record) -> list[Section]:
    """The record's sections in reading order: fields, then each file (pages of a digitized
    file one by one, so that a passage can be found on its page image)."""
    out = [
        Section(f"field:{name}", field_label(name), _lines(str(getattr(record, name) or "")))
        for name in FIELDS
        if getattr(record, name)
    ]
    paged: dict[int, list[Section]] = {}
    for page in reading.record_pages(record):
        text = reading.page_text(page)
        label = _("第 %(n)s 页") % {"n": page.number}
        paged.setdefault(page.component_id or 0, []).append(Section(f"page:{page.pk}", label, text))
    made = dict(
        ComponentText.objects.filter(component__record=record).values_list("component_id", "text")
    )
    root = Path(settings.MEDIA_ROOT).resolve()
    for component in Component.objects.filter(record=record).order_by("pk"):
        if component.pk in paged:
            out.extend(paged[component.pk])
            continue
        if component.pk in made:
            text = made[component.pk]
        else:
            path = (root / component.path).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                continue
            text = extract_text(path, component.name, sm3=component.sm3)
        if text:
            out.append(Section(f"component:{component.pk}", component.name, _lines(text)))
    return out


def section_map(record: Record) -> dict[str, Section]:
    return {s.key: s for s in sections(record)}


def is_public(section: Section) -> bool:
    """Whether the public reads this section of an opened record (a catalogue field the portal
    does not show, such as 备注, is not)."""
    kind, _, name = section.key.partition(":")
    return kind != "field" or name in PUBLIC_FIELDS
