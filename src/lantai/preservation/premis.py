"""PREMIS 3.0 XML (http://www.loc.gov/premis/v3) for one archival package: its files (objects), what
happened to them (events) and who or what did it (agents).

`to_xml` and `parse` are exact inverses for the dataclasses below. An empty string means "absent"
(the element is left out); a file whose format is unknown is written with the formatName
``unknown`` (PREMIS requires a format) and read back as "". Event types use the Library of Congress
preservation vocabulary (https://id.loc.gov/vocabulary/preservation/eventType).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from lantai.standards import safe_xml

__all__ = [
    "AGENT_TYPES",
    "EVENT_TYPES",
    "OUTCOMES",
    "Agent",
    "Event",
    "DIGEST_ALGORITHMS",
    "FileObject",
    "Identifier",
    "IntellectualEntity",
    "LinkingAgent",
    "PremisError",
    "parse",
    "to_xml",
]

NS = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NS} https://www.loc.gov/standards/premis/premis.xsd"
_P = f"{{{NS}}}"
UNKNOWN_FORMAT = "unknown"

# The LoC eventType terms Lantai uses: label -> code (valueURI = base + code). "repair" is not a term:
# restoring a damaged copy from a replica is "recovery"; a new copy on another location "replication".
EVENT_TYPE_URI = "http://id.loc.gov/vocabulary/preservation/eventType"
EVENT_TYPES: dict[str, str] = {
    "accession": "acc",
    "appraisal": "app",
    "creation": "cre",
    "deaccession": "dea",
    "deletion": "del",
    "digital signature generation": "dsg",
    "digital signature validation": "dig",
    "dissemination": "dis",
    "filename change": "fil",
    "fixity check": "fix",
    "format identification": "for",
    "information package creation": "ipc",
    "ingestion": "ing",
    "ingestion end": "ine",
    "ingestion start": "ins",
    "message digest calculation": "mes",
    "metadata extraction": "mee",
    "metadata modification": "mem",
    "migration": "mig",
    "modification": "mod",
    "normalization": "nor",
    "quarantine": "qua",
    "recovery": "rec",
    "redaction": "red",
    "replication": "rep",
    "transfer": "tra",
    "unpacking": "unp",
    "validation": "val",
    "virus check": "vir",
}
# messageDigestAlgorithm: label -> code of the LoC cryptographicHashFunctions vocabulary
# (https://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions). SM3 (GB/T 32905) is not in
# it: it is written as the plain local value "SM3", without authority attributes.
DIGEST_URI = "http://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions"
DIGEST_ALGORITHMS: dict[str, str] = {
    "Adler-32": "adl",
    "CRC32": "crc",
    "MD2": "md2",
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
STRUCTURAL = ("structural", "is included in")  # relationshipType / SubType (LoC vocabulary labels)
OUTCOMES = ("success", "failure", "warning")  # LoC eventOutcome labels
AGENT_TYPES = ("software", "person", "organization", "hardware")  # LoC agentType labels


class PremisError(ValueError):
    """A PREMIS document Lantai cannot read, or a value it cannot write."""


@dataclass(frozen=True)
class Identifier:
    type: str  # e.g. "UUID", "local", "OCFL logical path"
    value: str


@dataclass(frozen=True)
class LinkingAgent:
    identifier: Identifier
    roles: tuple[
        str, ...
    ] = ()  # LoC eventRelatedAgentRole, e.g. "executing program", "implementer"


@dataclass(frozen=True)
class Event:
    identifier: str  # a UUID (eventIdentifierType "UUID")
    event_type: str  # a key of EVENT_TYPES
    date_time: datetime  # timezone-aware
    detail: str = ""
    outcome: str = ""  # one of OUTCOMES
    outcome_detail: str = ""
    agents: tuple[LinkingAgent, ...] = ()
    objects: tuple[Identifier, ...] = ()


@dataclass(frozen=True)
class Agent:
    identifier: Identifier
    name: str
    agent_type: str  # one of AGENT_TYPES
    version: str = ""  # software version (PREMIS 3 agentVersion)
    note: str = ""


@dataclass(frozen=True)
class FileObject:
    identifier: Identifier
    fixity: tuple[tuple[str, str], ...] = ()  # (algorithm, hex digest): ("SHA-256", …), ("SM3", …)
    size: int | None = None
    format_name: str = ""  # e.g. a MIME type or PRONOM format name; "" = unknown
    format_version: str = ""
    format_registry_key: str = ""  # PRONOM PUID, e.g. "fmt/276"
    original_name: str = ""
    included_in: Identifier | None = None  # the intellectual entity (package) holding the file


@dataclass(frozen=True)
class IntellectualEntity:
    """The archival package as a whole (PREMIS object of xsi:type intellectualEntity)."""

    identifier: Identifier
    original_name: str = ""


# --- writing -------------------------------------------------------------------------------------


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, _P + tag)
    if text is not None:
        try:
            el.text = text
        except ValueError as e:  # control characters XML 1.0 cannot hold
            raise PremisError(f"PREMIS {tag} 含有 XML 不允许的字符：{text!r}") from e
    return el


def _identifier(parent: etree._Element, tag: str, ident: Identifier) -> etree._Element:
    el = _sub(parent, tag)
    _sub(el, f"{tag}Type", ident.type)
    _sub(el, f"{tag}Value", ident.value)
    return el


def _write_entity(root: etree._Element, obj: IntellectualEntity) -> None:
    el = _sub(root, "object")
    el.set(f"{{{XSI}}}type", "premis:intellectualEntity")
    _identifier(el, "objectIdentifier", obj.identifier)
    if obj.original_name:
        _sub(el, "originalName", obj.original_name)


def _write_object(root: etree._Element, obj: FileObject | IntellectualEntity) -> None:
    if isinstance(obj, IntellectualEntity):
        _write_entity(root, obj)
        return
    el = _sub(root, "object")
    el.set(f"{{{XSI}}}type", "premis:file")
    _identifier(el, "objectIdentifier", obj.identifier)
    chars = _sub(el, "objectCharacteristics")
    _sub(chars, "compositionLevel", "0")
    for algorithm, digest in obj.fixity:
        fixity = _sub(chars, "fixity")
        alg = _sub(fixity, "messageDigestAlgorithm", algorithm)
        if algorithm in DIGEST_ALGORITHMS:
            alg.set("authority", "cryptographicHashFunctions")
            alg.set("authorityURI", DIGEST_URI)
            alg.set("valueURI", f"{DIGEST_URI}/{DIGEST_ALGORITHMS[algorithm]}")
        _sub(fixity, "messageDigest", digest)
    if obj.size is not None:
        _sub(chars, "size", str(obj.size))
    fmt = _sub(chars, "format")
    designation = _sub(fmt, "formatDesignation")
    _sub(designation, "formatName", obj.format_name or UNKNOWN_FORMAT)
    if obj.format_version:
        _sub(designation, "formatVersion", obj.format_version)
    if obj.format_registry_key:
        registry = _sub(fmt, "formatRegistry")
        _sub(registry, "formatRegistryName", "PRONOM")
        _sub(registry, "formatRegistryKey", obj.format_registry_key)
    if obj.original_name:
        _sub(el, "originalName", obj.original_name)
    if obj.included_in is not None:
        rel = _sub(el, "relationship")
        _sub(rel, "relationshipType", STRUCTURAL[0])
        _sub(rel, "relationshipSubType", STRUCTURAL[1])
        _identifier(rel, "relatedObjectIdentifier", obj.included_in)


def _write_event(root: etree._Element, event: Event) -> None:
    if event.event_type not in EVENT_TYPES:
        raise PremisError(f"未知的 PREMIS 事件类型：{event.event_type!r}")
    if event.date_time.tzinfo is None:
        raise PremisError("PREMIS 事件时间必须带时区")
    el = _sub(root, "event")
    _identifier(el, "eventIdentifier", Identifier("UUID", event.identifier))
    etype = _sub(el, "eventType", event.event_type)
    etype.set("authority", "eventType")
    etype.set("authorityURI", EVENT_TYPE_URI)
    etype.set("valueURI", f"{EVENT_TYPE_URI}/{EVENT_TYPES[event.event_type]}")
    _sub(el, "eventDateTime", event.date_time.isoformat())
    if event.detail:
        _sub(_sub(el, "eventDetailInformation"), "eventDetail", event.detail)
    if event.outcome or event.outcome_detail:
        info = _sub(el, "eventOutcomeInformation")
        if event.outcome:
            _sub(info, "eventOutcome", event.outcome)
        if event.outcome_detail:
            _sub(_sub(info, "eventOutcomeDetail"), "eventOutcomeDetailNote", event.outcome_detail)
    for agent in event.agents:
        link = _identifier(el, "linkingAgentIdentifier", agent.identifier)
        for role in agent.roles:
            _sub(link, "linkingAgentRole", role)
    for obj in event.objects:
        _identifier(el, "linkingObjectIdentifier", obj)


def _write_agent(root: etree._Element, agent: Agent) -> None:
    el = _sub(root, "agent")
    _identifier(el, "agentIdentifier", agent.identifier)
    _sub(el, "agentName", agent.name)
    _sub(el, "agentType", agent.agent_type)
    if agent.version:
        _sub(el, "agentVersion", agent.version)
    if agent.note:
        _sub(el, "agentNote", agent.note)


def to_xml(
    events: Sequence[Event],
    agents: Sequence[Agent],
    objects: Sequence[FileObject | IntellectualEntity],
) -> bytes:
    """A PREMIS 3.0 document, UTF-8, in schema order (objects, events, agents). The schema asks
    for at least one object: `packaging.premis_xml` always writes the package's entity."""
    root = etree.Element(_P + "premis", nsmap={"premis": NS, "xsi": XSI})
    root.set("version", "3.0")
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    for obj in objects:
        _write_object(root, obj)
    for event in events:
        _write_event(root, event)
    for agent in agents:
        _write_agent(root, agent)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# --- reading -------------------------------------------------------------------------------------


def _text(el: etree._Element | None, tag: str) -> str:
    child = None if el is None else el.find(_P + tag)
    return "" if child is None else (child.text or "")


def _read_identifier(el: etree._Element | None, tag: str) -> Identifier:
    return Identifier(_text(el, f"{tag}Type"), _text(el, f"{tag}Value"))


def _read_object(el: etree._Element) -> FileObject | IntellectualEntity:
    identifier = _read_identifier(el.find(_P + "objectIdentifier"), "objectIdentifier")
    if el.get(f"{{{XSI}}}type", "").endswith("intellectualEntity"):
        return IntellectualEntity(identifier, _text(el, "originalName"))
    chars = el.find(_P + "objectCharacteristics")
    if chars is None:
        raise PremisError("PREMIS object 缺少 objectCharacteristics")
    fixity = tuple(
        (_text(f, "messageDigestAlgorithm"), _text(f, "messageDigest"))
        for f in chars.findall(_P + "fixity")
    )
    size = _text(chars, "size")
    fmt = chars.find(_P + "format")
    designation = fmt.find(_P + "formatDesignation") if fmt is not None else None
    registry = fmt.find(_P + "formatRegistry") if fmt is not None else None
    name = _text(designation, "formatName")
    rel = el.find(_P + "relationship")
    return FileObject(
        identifier=identifier,
        fixity=fixity,
        size=int(size) if size else None,
        format_name="" if name == UNKNOWN_FORMAT else name,
        format_version=_text(designation, "formatVersion"),
        format_registry_key=_text(registry, "formatRegistryKey"),
        original_name=_text(el, "originalName"),
        included_in=(
            None
            if rel is None
            else _read_identifier(
                rel.find(_P + "relatedObjectIdentifier"), "relatedObjectIdentifier"
            )
        ),
    )


def _read_event(el: etree._Element) -> Event:
    detail = el.find(_P + "eventDetailInformation")
    outcome = el.find(_P + "eventOutcomeInformation")
    outcome_detail = outcome.find(_P + "eventOutcomeDetail") if outcome is not None else None
    return Event(
        identifier=_text(el.find(_P + "eventIdentifier"), "eventIdentifierValue"),
        event_type=_text(el, "eventType"),
        date_time=datetime.fromisoformat(_text(el, "eventDateTime")),
        detail=_text(detail, "eventDetail"),
        outcome=_text(outcome, "eventOutcome"),
        outcome_detail=_text(outcome_detail, "eventOutcomeDetailNote"),
        agents=tuple(
            LinkingAgent(
                _read_identifier(link, "linkingAgentIdentifier"),
                tuple(r.text or "" for r in link.findall(_P + "linkingAgentRole")),
            )
            for link in el.findall(_P + "linkingAgentIdentifier")
        ),
        objects=tuple(
            _read_identifier(link, "linkingObjectIdentifier")
            for link in el.findall(_P + "linkingObjectIdentifier")
        ),
    )


def _read_agent(el: etree._Element) -> Agent:
    return Agent(
        identifier=_read_identifier(el.find(_P + "agentIdentifier"), "agentIdentifier"),
        name=_text(el, "agentName"),
        agent_type=_text(el, "agentType"),
        version=_text(el, "agentVersion"),
        note=_text(el, "agentNote"),
    )


def parse(xml: bytes) -> tuple[list[Event], list[Agent], list[FileObject | IntellectualEntity]]:
    """Read a document written by `to_xml` (or any PREMIS 3 document using the same elements).
    No DTDs, entities or network access."""
    try:
        tree = etree.fromstring(xml, safe_xml.parser()).getroottree()
    except etree.XMLSyntaxError as e:
        raise PremisError(f"PREMIS 文档不是合法的 XML：{e}") from e
    if tree.docinfo.doctype:
        raise PremisError("PREMIS 文档不得含有 DOCTYPE 声明")
    root = tree.getroot()
    if root.tag != _P + "premis":
        raise PremisError(f"不是 PREMIS 3 文档：根元素为 {root.tag}")
    try:
        return (
            [_read_event(e) for e in root.findall(_P + "event")],
            [_read_agent(a) for a in root.findall(_P + "agent")],
            [_read_object(o) for o in root.findall(_P + "object")],
        )
    except (AttributeError, TypeError, ValueError) as e:
        raise PremisError(f"PREMIS 文档结构不完整：{e}") from e
