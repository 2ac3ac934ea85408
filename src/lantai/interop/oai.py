"""The OAI-PMH 2.0 provider of the open catalogue: the six verbs, their errors, resumption tokens.

Lists are keyset pages of `Published` over (datestamp, id), `page_size()` records each (default
1,000, LANTAI_OAI_PAGE_SIZE): one query per page, the record fields joined in, the XML written as
escaped string pieces (no tree per record). A resumption token is opaque: the verb, format, set,
from and until of the first request (until frozen at its time, so records changed during a
harvest move to the next harvest instead of appearing twice), the cursor (datestamp, id) of the
last record sent, the count sent and the list size, signed with the site's key (django.core.signing)
and valid for LANTAI_OAI_TOKEN_TTL seconds (default 3600): a forged, altered or expired token is
badResumptionToken."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.utils import timezone

from lantai.catalog import holds
from lantai.catalog.models import Fonds, Repository
from lantai.catalog.open_copies import REDACTABLE_FIELDS
from lantai.interop import publishing
from lantai.interop.models import Published
from lantai.standards import categories as std_categories
from lantai.standards import ead as std_ead
from lantai.standards import oai_dc, oai_pmh
from lantai.standards.oai_pmh import OaiError, xml_attr, xml_text

TOKEN_SALT = "lantai.interop.oai.token"
FORMATS = ("oai_dc", "ead")


def page_size() -> int:
    return int(getattr(settings, "OAI_PAGE_SIZE", 1000))


def token_ttl() -> int:
    return int(getattr(settings, "OAI_TOKEN_TTL", 3600))


def namespace_identifier() -> str:
    name = str(getattr(settings, "OAI_REPOSITORY_IDENTIFIER", "lantai.local"))
    if not oai_pmh.valid_namespace(name):
        raise ValueError(
            f"LANTAI_OAI_REPOSITORY_IDENTIFIER={name!r}: 应为域名形式，如 archives.example.cn "
            "(must be a domain-like name, oai-identifier §2.4)"
        )
    return name


_EMAIL_RE = re.compile(r"[^\s<>@]+@(?:[^\s<>@.]+\.)+[^\s<>@.]+")


def admin_email() -> str:
    """LANTAI_OAI_ADMIN_EMAIL; else the address of DEFAULT_FROM_EMAIL when it is a real one
    (Django's default webmaster@localhost is not: OAI-PMH wants user@domain.tld)."""
    for value in (getattr(settings, "OAI_ADMIN_EMAIL", ""), settings.DEFAULT_FROM_EMAIL):
        found = _EMAIL_RE.search(str(value or ""))
        if found:
            return found.group(0)
    return "archives@example.invalid"


@dataclass(frozen=True)
class Request:
    """One OAI-PMH request: its arguments (name → values as sent), the base URL and a function
    that makes a record's absolute public URL from its id."""

    args: dict[str, list[str]]
    base_url: str
    record_url: Callable[[int], str]


# --- the response envelope -----------------------------------------------------------------------
def _envelope(req: Request, body: str, echo: bool) -> str:
    ns = oai_pmh.namespace("oai")
    attrs = ""
    if echo:
        attrs = "".join(f" {k}={xml_attr(v[0])}" for k, v in sorted(req.args.items()) if v)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{ns}" xmlns:xsi="{oai_pmh.namespace("xsi")}" '
        f'xsi:schemaLocation="{ns} {oai_pmh.schema_location("oai")}">'
        f"<responseDate>{oai_pmh.datestamp(timezone.now())}</responseDate>"
        f"<request{attrs}>{xml_text(req.base_url)}</request>{body}</OAI-PMH>\n"
    )


def respond(req: Request) -> str:
    """The XML answer to `req` (errors included: OAI-PMH answers them with HTTP 200)."""
    try:
        verb = oai_pmh.check_arguments(req.args)
    except OaiError as e:  # badVerb / badArgument: the request element carries no attributes
        return _envelope(req, _error(e), echo=False)
    try:
        body = VERBS[verb](req)
    except OaiError as e:
        return _envelope(req, _error(e), echo=e.code not in ("badVerb", "badArgument"))
    return _envelope(req, body, echo=True)


def _error(e: OaiError) -> str:
    return f'<error code="{e.code}">{xml_text(e.message())}</error>'


def _arg(req: Request, name: str) -> str | None:
    values = req.args.get(name)
    return values[0] if values else None


# --- Identify, ListMetadataFormats, ListSets -----------------------------------------------------
def identify(req: Request) -> str:
    repo = Repository.objects.filter(is_default=True).first() or Repository.objects.first()
    name = repo.name if repo is not None else "兰台 Lantai"
    earliest = publishing.earliest_datestamp() or timezone.now()
    space = namespace_identifier()
    sample = oai_pmh.oai_identifier(space, repo.code if repo else "0", "Z109-WS·1985-Y-0001")
    ns = oai_pmh.namespace("oai_identifier")
    return (
        "<Identify>"
        f"<repositoryName>{xml_text(name)}</repositoryName>"
        f"<baseURL>{xml_text(req.base_url)}</baseURL>"
        "<protocolVersion>2.0</protocolVersion>"
        f"<adminEmail>{xml_text(admin_email())}</adminEmail>"
        f"<earliestDatestamp>{oai_pmh.datestamp(earliest)}</earliestDatestamp>"
        "<deletedRecord>persistent</deletedRecord>"
        f"<granularity>{oai_pmh.GRANULARITY}</granularity>"
        f'<description><oai-identifier xmlns="{ns}" '
        f'xmlns:xsi="{oai_pmh.namespace("xsi")}" '
        f'xsi:schemaLocation="{ns} {oai_pmh.schema_location("oai_identifier")}">'
        "<scheme>oai</scheme>"
        f"<repositoryIdentifier>{xml_text(space)}</repositoryIdentifier>"
        "<delimiter>:</delimiter>"
        f"<sampleIdentifier>{xml_text(sample)}</sampleIdentifier>"
        "</oai-identifier></description>"
        "</Identify>"
    )


def _format_xml(prefix: str) -> str:
    ns = {"oai_dc": oai_pmh.namespace("oai_dc"), "ead": oai_pmh.namespace("ead")}[prefix]
    return (
        f"<metadataFormat><metadataPrefix>{prefix}</metadataPrefix>"
        f"<schema>{oai_pmh.schema_location(prefix)}</schema>"
        f"<metadataNamespace>{ns}</metadataNamespace></metadataFormat>"
    )


def list_metadata_formats(req: Request) -> str:
    identifier = _arg(req, "identifier")
    if identifier is not None:
        _published_row(identifier)  # idDoesNotExist for one we never issued
    return (
        "<ListMetadataFormats>"
        + "".join(_format_xml(p) for p in FORMATS)
        + ("</ListMetadataFormats>")
    )


def list_sets(req: Request) -> str:
    if _arg(req, "resumptionToken") is not None:  # ListSets is never split into pages
        raise OaiError("badResumptionToken", "ListSets 不分页 (ListSets has no further pages)")
    live = Published.objects.filter(deleted=False)
    fonds_specs = set(live.order_by().values_list("fonds_set", flat=True).distinct())
    category_specs = set(live.order_by().values_list("category_set", flat=True).distinct())
    if not fonds_specs and not category_specs:
        raise OaiError("noSetHierarchy", "开放目录为空 (the open catalogue is empty)")
    parts = ["<ListSets>"]
    for kind in ("fonds", "category"):
        zh, en = oai_pmh.set_kind_name(kind)
        parts.append(_set_xml(kind, f"{zh} ({en})"))
    for spec, name in sorted(_fonds_names(fonds_specs).items()):
        parts.append(_set_xml(spec, f"全宗 {name}"))
    for spec in sorted(category_specs):
        parsed = oai_pmh.parse_set_spec(spec)
        code = parsed[1] if parsed else spec
        cat = std_categories.load_categories().get(code)
        parts.append(_set_xml(spec, f"门类 {code} {cat.name_zh if cat else ''}".strip()))
    parts.append("</ListSets>")
    return "".join(parts)


def _set_xml(spec: str, name: str) -> str:
    return f"<set><setSpec>{xml_text(spec)}</setSpec><setName>{xml_text(name)}</setName></set>"


def _fonds_names(specs: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for f in Fonds.objects.select_related("repository"):
        spec = publishing.fonds_set(f.repository.code, f.code, f.repository.is_default)
        if spec in specs:
            suffix = "" if f.repository.is_default else f"（{f.repository.name}）"
            names[spec] = f"{f.code} {f.name}{suffix}"
    return {s: names.get(s, s) for s in specs}


# --- GetRecord, ListIdentifiers, ListRecords -----------------------------------------------------
_ROW_FIELDS = (
    "id", "record_id", "repository_code", "reference_code", "fonds_set", "category_set",
    "datestamp", "deleted", "record__open_status", "record__classification_level",
    "record__category__code", "record__title", "record__author", "record__date", "record__year",
    "record__remarks", "record__level", "record__fonds__code",
    "record__fonds__name", "record__fonds__creator", "record__repository__name",
    "record__open_copy__fields",
)  # fmt: skip
_HEADER_FIELDS = _ROW_FIELDS[:11]


def _published_row(identifier: str, fields: tuple[str, ...] = _HEADER_FIELDS) -> dict[str, Any]:
    parsed = oai_pmh.parse_oai_identifier(namespace_identifier(), identifier)
    row: dict[str, Any] | None = None
    if parsed is not None:
        row = (
            Published.objects.filter(repository_code=parsed[0], reference_code=parsed[1])
            .values(*fields)
            .first()
        )
    if row is None:
        raise OaiError("idDoesNotExist", identifier)
    return row


def _check_prefix(prefix: str | None) -> str:
    if prefix not in FORMATS:
        raise OaiError(
            "cannotDisseminateFormat",
            f"metadataPrefix={prefix!r}; 可用 (available): {', '.join(FORMATS)}",
        )
    return prefix


def get_record(req: Request) -> str:
    prefix = _check_prefix(_arg(req, "metadataPrefix"))
    row = _published_row(_arg(req, "identifier") or "", _ROW_FIELDS)
    return f"<GetRecord>{_record_xml(row, prefix, _Page(req, [row]))}</GetRecord>"


def list_identifiers(req: Request) -> str:
    return _list(req, records=False)


def list_records(req: Request) -> str:
    return _list(req, records=True)


@dataclass
class _Query:
    verb: str
    prefix: str
    set: str | None
    start: datetime | None
    until: datetime
    after: tuple[datetime, int] | None = None  # the cursor: last (datestamp, id) sent
    sent: int = 0
    size: int | None = None  # completeListSize, counted once for the first page

    def token(self) -> str:
        return signing.dumps(
            {
                "v": self.verb, "p": self.prefix, "s": self.set,
                "f": self.start.isoformat() if self.start else None,
                "u": self.until.isoformat(),
                "a": [self.after[0].isoformat(), self.after[1]] if self.after else None,
                "n": self.sent, "c": self.size,
            },
            salt=TOKEN_SALT, compress=True,
        )  # fmt: skip

    @classmethod
    def from_token(cls, verb: str, token: str) -> _Query:
        try:
            d = signing.loads(token, salt=TOKEN_SALT, max_age=token_ttl())
            if d["v"] != verb:
                raise ValueError("token of another verb")
            after = d["a"]
            return cls(
                verb=verb, prefix=d["p"], set=d["s"],
                start=datetime.fromisoformat(d["f"]) if d["f"] else None,
                until=datetime.fromisoformat(d["u"]),
                after=(datetime.fromisoformat(after[0]), int(after[1])) if after else None,
                sent=int(d["n"]), size=d["c"],
            )  # fmt: skip
        except signing.SignatureExpired as e:
            raise OaiError("badResumptionToken", "令牌已过期 (the token has expired)") from e
        except (signing.BadSignature, ValueError, KeyError, TypeError, IndexError) as e:
            raise OaiError("badResumptionToken", "令牌无效 (not a token of this repository)") from e


def _query(req: Request, verb: str) -> _Query:
    token = _arg(req, "resumptionToken")
    if token is not None:
        return _Query.from_token(verb, token)
    prefix = _check_prefix(_arg(req, "metadataPrefix"))
    start_text, until_text = _arg(req, "from"), _arg(req, "until")
    start = oai_pmh.parse_bound(start_text, until=False) if start_text else None
    until = oai_pmh.parse_bound(until_text, until=True) if until_text else None
    if start and until and start.day != until.day:
        raise OaiError(
            "badArgument", "from 与 until 的粒度不同 (from and until differ in granularity)"
        )
    if start and until and start.at > until.at:
        raise OaiError("badArgument", "from 晚于 until (from is after until)")
    set_spec = _arg(req, "set")
    if set_spec in ("fonds", "category"):  # the top of a hierarchy holds every record
        set_spec = None
    elif set_spec is not None and oai_pmh.parse_set_spec(set_spec) is None:
        raise OaiError("noRecordsMatch", f"set={set_spec!r}: 无此集合 (no such set)")
    now = timezone.now()
    frozen = min(until.at, now) if until else now
    return _Query(verb, prefix, set_spec, start.at if start else None, frozen)


def _filtered(q: _Query) -> Any:
    qs = Published.objects.filter(datestamp__lte=q.until)
    if q.start is not None:
        qs = qs.filter(datestamp__gte=q.start)
    if q.set is not None:
        kind = q.set.split(":", 1)[0]
        qs = qs.filter(**{f"{kind}_set": q.set})
    return qs


def _list(req: Request, *, records: bool) -> str:
    verb = "ListRecords" if records else "ListIdentifiers"
    q = _query(req, verb)
    qs = _filtered(q)
    first = q.after is None and q.sent == 0
    page = qs
    if q.after is not None:
        at, pk = q.after
        # the range condition alone first: the pages walk the (…, datestamp, id) indexes
        page = qs.filter(datestamp__gte=at).filter(Q(datestamp__gt=at) | Q(id__gt=pk))
    size = page_size()
    rows = list(
        page.order_by("datestamp", "id").values(*(_ROW_FIELDS if records else _HEADER_FIELDS))[
            : size + 1
        ]
    )
    if not rows:
        raise OaiError("noRecordsMatch", "没有符合条件的记录 (nothing in this range)")
    more = len(rows) > size
    rows = rows[:size]
    if first:
        q.size = qs.count() if more else len(rows)
    ctx = _Page(req, rows)
    parts = [f"<{verb}>"]
    if records:
        parts.extend(_record_xml(r, q.prefix, ctx) for r in rows)
    else:
        parts.extend(_header_xml(r, ctx) for r in rows)
    cursor = q.sent
    q.sent += len(rows)
    if more:
        q.after = (rows[-1]["datestamp"], rows[-1]["id"])
        expires = oai_pmh.datestamp(timezone.now() + timedelta(seconds=token_ttl()))
        parts.append(
            f'<resumptionToken expirationDate="{expires}" completeListSize="{q.size}" '
            f'cursor="{cursor}">{xml_text(q.token())}</resumptionToken>'
        )
    elif not first:  # the last page of a list split into pages: an empty token
        parts.append(f'<resumptionToken completeListSize="{q.size}" cursor="{cursor}"/>')
    parts.append(f"</{verb}>")
    return "".join(parts)


# --- records -------------------------------------------------------------------------------------
def _live(row: dict[str, Any], page: _Page) -> bool:
    """A row published and its record still public now (a change since the sync, or a sync
    that failed, never shows a record the public may not see: it reads as deleted; so does one
    under an access hold in force today, see `lantai.catalog.holds`)."""
    return (
        not row["deleted"]
        and row["record_id"] not in page.held
        and row["record__open_status"] == "open"
        and row["record__classification_level"] == 0
        and row["record__category__code"] != std_categories.MARRIAGE
    )


class _Page:
    """What the records of one response share, worked out once: the identifier prefix, category
    names, the escaped values that repeat (sets, archives, fonds), the oai_dc writer and the
    records of the page under an access hold in force now (one query)."""

    def __init__(self, req: Request, rows: list[dict[str, Any]]) -> None:
        self.req = req
        live = [r["record_id"] for r in rows if not r["deleted"] and r["record_id"] is not None]
        self.held = holds.held_ids("access", live) if live else set()
        self.prefix = f"oai:{namespace_identifier()}:"
        self.categories = std_categories.load_categories()
        self.dc = oai_dc.Writer()
        self._repos: dict[str, str] = {}
        self._text: dict[str, str] = {}

    def category(self, code: str | None) -> str:
        cat = self.categories.get(code or "")
        return cat.name_zh if cat else (code or "")

    def text(self, value: str) -> str:
        found = self._text.get(value)
        if found is None:
            found = self._text[value] = xml_text(value)
        return found

    def identifier(self, row: dict[str, Any]) -> str:
        repo = self._repos.get(row["repository_code"])
        if repo is None:
            code = oai_pmh.encode_local(row["repository_code"])
            repo = self._repos[row["repository_code"]] = f"{code}/"
        return f"{self.prefix}{repo}{oai_pmh.encode_local(row['reference_code'])}"

    def header(self, row: dict[str, Any], live: bool) -> str:
        status = "" if live else ' status="deleted"'
        stamp = row["datestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")  # UTC from the database
        return (
            f"<header{status}><identifier>{xml_text(self.identifier(row))}</identifier>"
            f"<datestamp>{stamp}</datestamp>"
            f"<setSpec>{self.text(row['fonds_set'])}</setSpec>"
            f"<setSpec>{self.text(row['category_set'])}</setSpec></header>"
        )


def _header_xml(row: dict[str, Any], page: _Page) -> str:
    return page.header(row, _live(row, page))


def _public_value(row: dict[str, Any], field: str) -> Any:
    """A field as the public sees it: the open copy's redacted value where it has one."""
    copy = row["record__open_copy__fields"]
    if copy and field in REDACTABLE_FIELDS and field in copy:
        return copy[field]
    return row[f"record__{field}"]


def _record_xml(row: dict[str, Any], prefix: str, page: _Page) -> str:
    live = _live(row, page)
    header = page.header(row, live)
    if not live:
        return f"<record>{header}</record>"
    if prefix == "oai_dc":
        metadata = page.dc.xml(
            title=_public_value(row, "title"),
            reference_code=row["reference_code"],
            url=page.req.record_url(row["record_id"]),
            type_name=page.category(row["record__category__code"]),
            publisher=row["record__repository__name"] or "",
            source=f"{row['record__fonds__code'] or ''} {row['record__fonds__name'] or ''}",
            relation=row["fonds_set"],
            creator=_public_value(row, "author") or "",
            day=row["record__date"],
            year=row["record__year"],
            remarks=_public_value(row, "remarks") or "",
        )
    else:
        metadata = std_ead.record_ead(
            std_ead.FindingAid(
                repository_code=row["repository_code"],
                repository_name=row["record__repository__name"] or "",
                fonds_code=row["record__fonds__code"] or "",
                fonds_name=row["record__fonds__name"] or "",
                creator=row["record__fonds__creator"] or "",
                created=row["datestamp"],
            ),
            std_ead.Unit(
                id=row["record_id"],
                parent_id=None,
                level=row["record__level"],
                category_code=row["record__category__code"] or "",
                category_name=page.category(row["record__category__code"]),
                year=row["record__year"],
                reference_code=row["reference_code"],
                title=_public_value(row, "title"),
                author=_public_value(row, "author") or "",
                date=row["record__date"],
            ),
        )
    return f"<record>{header}<metadata>{metadata}</metadata></record>"


VERBS: dict[str, Callable[[Request], str]] = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
    "ListIdentifiers": list_identifiers,
    "ListRecords": list_records,
}
