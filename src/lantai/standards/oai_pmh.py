"""OAI-PMH 2.0 syntax that does not depend on Lantai's data: datestamps, oai-identifiers, setSpecs,
the verbs' arguments and the error codes (``data/oai-ead.yaml``). Pure Python, no Django."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape, quoteattr

from ._data import load_data

GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# the syntax OAI-PMH.xsd gives the arguments it echoes (metadataPrefixType, setSpecType)
_SYNTAX = {
    "metadataPrefix": re.compile(r"^[A-Za-z0-9\-_\.!~\*'\(\)]+$"),
    "set": re.compile(r"^[A-Za-z0-9\-_\.!~\*'\(\)]+(:[A-Za-z0-9\-_\.!~\*'\(\)]+)*$"),
}
_DOMAIN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z][A-Za-z0-9-]*)+$")


# characters XML 1.0 does not allow (C0 controls but tab, CR, LF; lone surrogates; U+FFFE/F)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` as XML character data: escaped, characters XML cannot carry dropped."""
    return escape(_NOT_XML.sub("", value))


def xml_attr(value: str) -> str:
    """`value` as a quoted XML attribute value."""
    return quoteattr(_NOT_XML.sub("", value))


@functools.cache
def data() -> dict[str, Any]:
    return load_data("oai-ead.yaml")


def namespace(prefix: str) -> str:
    return str(data()["namespaces"][prefix])


def schema_location(prefix: str) -> str:
    return str(data()["schema_locations"][prefix])


class OaiError(Exception):
    """An OAI-PMH error condition (§3.6): `code` is the protocol's error code."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in data()["errors"]:
            raise ValueError(f"unknown OAI-PMH error code {code!r}")
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)

    def message(self) -> str:
        """A bilingual message: the code's meaning, and what was wrong."""
        text = data()["errors"][self.code]
        base = f"{text['zh']} ({text['en']})"
        return f"{base}: {self.detail}" if self.detail else base


# --- datestamps ----------------------------------------------------------------------------------
def datestamp(value: datetime) -> str:
    """A UTC datestamp at second granularity (``2024-03-01T08:00:00Z``)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Bound:
    """A parsed from/until argument: the instant and whether it was given as a day."""

    at: datetime  # UTC, aware
    day: bool


def parse_bound(text: str, *, until: bool) -> Bound:
    """A from/until argument (day or second granularity, §3.3.1): BadArgument if malformed.
    A day as `until` covers the whole day (it is inclusive)."""
    try:
        if _DAY_RE.match(text):
            at = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            if until:
                at += timedelta(days=1) - timedelta(microseconds=1)
            return Bound(at, True)
        if _SECOND_RE.match(text):
            at = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if until:
                at += timedelta(seconds=1) - timedelta(microseconds=1)
            return Bound(at, False)
    except ValueError:
        pass
    raise OaiError(
        "badArgument",
        f"{'until' if until else 'from'}={text!r}: 应为 YYYY-MM-DD 或 YYYY-MM-DDThh:mm:ssZ "
        "(expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)",
    )


# --- arguments -----------------------------------------------------------------------------------
def check_arguments(args: dict[str, list[str]]) -> str:
    """The verb of a request whose arguments are `args` (name → values as sent), checked against
    §4: BadVerb for a missing, repeated or unknown verb; BadArgument for a repeated, unknown or
    missing argument, or one beside an exclusive resumptionToken."""
    verbs = data()["verbs"]
    given_verb = args.get("verb", [])
    if len(given_verb) != 1 or given_verb[0] not in verbs:
        what = "缺少 verb (missing verb)" if not given_verb else f"verb={given_verb!r}"
        raise OaiError("badVerb", what)
    verb = given_verb[0]
    spec = verbs[verb]
    names = [n for n in args if n != "verb"]
    for name in names:
        if len(args[name]) != 1:
            raise OaiError("badArgument", f"参数 {name} 重复 (repeated argument {name})")
    exclusive = spec.get("exclusive")
    if exclusive and exclusive in names:
        if len(names) != 1:
            raise OaiError(
                "badArgument",
                f"{exclusive} 不能与其他参数同用 ({exclusive} is an exclusive argument)",
            )
        return verb
    allowed = set(spec["required"]) | set(spec["optional"])
    for name in names:
        if name not in allowed:
            raise OaiError("badArgument", f"{verb} 不接受参数 {name} ({verb} does not take {name})")
    for name in spec["required"]:
        if name not in names:
            raise OaiError("badArgument", f"{verb} 缺少参数 {name} ({verb} requires {name})")
    for name, pattern in _SYNTAX.items():
        if name in args and not pattern.match(args[name][0]):
            raise OaiError("badArgument", f"{name}={args[name][0]!r}: 语法不合法 (illegal syntax)")
    return verb


# --- oai-identifier ------------------------------------------------------------------------------
def valid_namespace(name: str) -> bool:
    """The namespace-identifier of an oai-identifier is a domain-like name (oai-identifier §2.4)."""
    return bool(_DOMAIN_RE.match(name))


@functools.cache
def _local_safe() -> str:
    return str(data()["oai_identifier"]["local_safe"])


def encode_local(text: str) -> str:
    """A code as part of an oai-identifier's local part: %-encoded (UTF-8) but for letters,
    digits and the unreserved marks."""
    return quote(text, safe=_local_safe())


def oai_identifier(namespace_id: str, repository_code: str, reference_code: str) -> str:
    """``oai:{namespace}:{archives code}/{档号}``, each code %-encoded (UTF-8) where it holds a
    character the local-identifier may not carry, or a "/"."""
    return f"oai:{namespace_id}:{encode_local(repository_code)}/{encode_local(reference_code)}"


def parse_oai_identifier(namespace_id: str, identifier: str) -> tuple[str, str] | None:
    """(archives code, 档号) of an identifier this repository issued; None for any other."""
    prefix = f"oai:{namespace_id}:"
    if not identifier.startswith(prefix):
        return None
    repo, sep, code = identifier[len(prefix) :].partition("/")
    if not sep or not repo or not code or "/" in code:
        return None
    repo_code, reference_code = unquote(repo, errors="strict"), unquote(code, errors="strict")
    try:
        if oai_identifier(namespace_id, repo_code, reference_code) != identifier:
            return None  # only the canonical spelling names a record
    except UnicodeError:
        return None
    return repo_code, reference_code


# --- setSpec -------------------------------------------------------------------------------------
def _set_escape(text: str) -> str:
    safe = data()["set_spec"]["safe"]
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or (ch in safe and ch != "~")):
            out.append(ch)
        else:
            out.extend(f"~{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def _set_unescape(text: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "~":
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(text[i].encode("ascii"))
            i += 1
    return raw.decode("utf-8")


def set_spec(kind: str, code: str) -> str:
    """``fonds:{code}`` or ``category:{code}``, the code escaped to setSpec's characters."""
    if kind not in data()["set_spec"]["kinds"]:
        raise ValueError(f"unknown set kind {kind!r}")
    return f"{kind}:{_set_escape(code)}"


def parse_set_spec(spec: str) -> tuple[str, str] | None:
    """(kind, code) of a setSpec this repository issues; None for any other."""
    kind, sep, code = spec.partition(":")
    if not sep or kind not in data()["set_spec"]["kinds"] or not code:
        return None
    try:
        value = _set_unescape(code)
    except (ValueError, UnicodeError, IndexError):
        return None
    return (kind, value) if set_spec(kind, value) == spec else None


def set_kind_name(kind: str) -> tuple[str, str]:
    names = data()["set_spec"]["kinds"][kind]
    return str(names["zh"]), str(names["en"])
