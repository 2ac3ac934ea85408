"""The hub's incremental harvest of a member's open catalogue over OAI-PMH 2.0 (oai_dc).

``harvest(member)`` asks ``{member.url}/oai?verb=ListRecords&metadataPrefix=oai_dc`` from the
cursor (the ``responseDate`` of the first request of the last complete harvest: standard practice,
so nothing changed during a harvest is missed; entries stamped at the cursor come again and are
simply rewritten). Each page is stored in one transaction together with where to go on
(``HarvestState.resumption``: JSON ``{"token": …, "until": responseDate of the first request}``),
so an interrupted harvest resumes from its saved token; a token the node no longer accepts
(``badResumptionToken``) restarts the harvest from the cursor. Deleted headers remove entries.

Mapping from oai_dc (the node's provider, interop/oai.py): dc:title → title; dc:identifier → the
档号 (the one that is not a URL) and the record's public URL (http…); dc:date → date (YYYY-MM-DD
or YYYY); dc:type → category; dc:creator → creator; dc:source → fonds ("code name");
dc:description → searched, not shown.

Failures (node down, HTTP error, malformed XML, an OAI error) end the run with
``HarvestState.error`` set and are returned, never raised; ``noRecordsMatch`` is an empty harvest.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import requests
from django.db import transaction
from django.utils import timezone
from lxml import etree

from . import hub_index, transport
from .models import HarvestState, Member

log = logging.getLogger(__name__)

FEED = "catalogue"
TIMEOUT = (5, 120)  # connect, read (a node builds a page of ~1,000 records)
MAX_PAGES = 100_000  # a guard against a node that hands out tokens forever
OAI = "http://www.openarchives.org/OAI/2.0/"
DC = "http://purl.org/dc/elements/1.1/"
_T = {name: f"{{{OAI}}}{name}" for name in (
    "responseDate", "error", "ListRecords", "record", "header", "identifier", "datestamp",
    "metadata", "resumptionToken",
)}  # fmt: skip
_DC = {name: f"{{{DC}}}{name}" for name in ("title", "identifier", "date", "type", "creator", "source", "description")}  # fmt: skip


class HarvestError(Exception):
    """Why a harvest stopped (``code``: unreachable, http, xml, oai code such as badArgument)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Page:
    """One ListRecords response: its rows, the deleted identifiers, the next token."""

    __slots__ = ("response_date", "rows", "deleted", "token", "error")

    def __init__(self) -> None:
        self.response_date = ""
        self.rows: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.token = ""
        self.error: tuple[str, str] | None = None  # (code, message) of an OAI error


def _record_row(header: Any, metadata: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "identifier": (header.findtext(_T["identifier"]) or "").strip(),
        "datestamp": (header.findtext(_T["datestamp"]) or "").strip(),
    }
    idents: list[str] = []
    descriptions: list[str] = []
    if metadata is not None:
        for el in metadata.iter():
            tag, text = el.tag, (el.text or "").strip()
            if not text or not isinstance(tag, str) or not tag.startswith(f"{{{DC}}}"):
                continue
            if tag == _DC["identifier"]:
                idents.append(text)
            elif tag == _DC["description"]:
                descriptions.append(text)
            elif tag == _DC["title"]:
                row.setdefault("title", text)
            elif tag == _DC["date"]:
                row.setdefault("date", text[:10])
            elif tag == _DC["type"]:
                row.setdefault("category", text)
            elif tag == _DC["creator"]:
                row.setdefault("creator", text)
            elif tag == _DC["source"]:
                row.setdefault("fonds", text)
    urls = [i for i in idents if i.startswith(("http://", "https://"))]
    codes = [i for i in idents if not i.startswith(("http://", "https://"))]
    row["url"] = urls[0] if urls else ""
    row["reference_code"] = codes[0] if codes else ""
    row["description"] = " ".join(descriptions)
    return row


def parse_page(content: bytes) -> Page:
    """Parse one OAI-PMH response (raises HarvestError("xml") when it is not well-formed)."""
    try:
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))  # fmt: skip
    except etree.XMLSyntaxError as exc:
        raise HarvestError("xml", f"节点返回的 XML 格式不正确：{exc}") from exc
    page = Page()
    if root.tag != f"{{{OAI}}}OAI-PMH":
        raise HarvestError("xml", f"节点返回的不是 OAI-PMH 响应（根元素 {root.tag}）")
    page.response_date = (root.findtext(_T["responseDate"]) or "").strip()
    err = root.find(_T["error"])
    if err is not None:
        page.error = (err.get("code") or "error", (err.text or "").strip())
        return page
    listing = root.find(_T["ListRecords"])
    if listing is None:
        raise HarvestError("xml", "节点的响应中没有 ListRecords")
    for rec in listing.iterchildren(_T["record"]):
        header = rec.find(_T["header"])
        if header is None:
            continue
        if header.get("status") == "deleted":
            ident = (header.findtext(_T["identifier"]) or "").strip()
            if ident:
                page.deleted.append(ident)
            continue
        row = _record_row(header, rec.find(_T["metadata"]))
        if row["identifier"]:
            page.rows.append(row)
    tok = listing.find(_T["resumptionToken"])
    page.token = (tok.text or "").strip() if tok is not None else ""
    return page


def _granularity_from(cursor: str, session: requests.Session, base: str) -> str:
    """The ``from`` argument in the node's granularity (Identify): a day-granular node refuses
    seconds."""
    if "T" not in cursor:
        return cursor
    try:
        r = session.get(base, params={"verb": "Identify"}, timeout=TIMEOUT)
        root = etree.fromstring(r.content)
        gran = root.findtext(f".//{{{OAI}}}granularity") or ""
    except (requests.RequestException, etree.XMLSyntaxError):
        gran = ""
    return cursor[:10] if gran == "YYYY-MM-DD" else cursor


def _fetch(session: requests.Session, base: str, params: dict[str, str]) -> Page:
    try:
        r = session.get(base, params=params, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise HarvestError("unreachable", f"无法连接节点：{exc.__class__.__name__}: {exc}") from exc
    if r.status_code != 200:
        raise HarvestError("http", f"节点返回 HTTP {r.status_code}")
    return parse_page(r.content)


def _state(member: Member) -> HarvestState:
    state, _ = HarvestState.objects.get_or_create(member=member, feed=FEED)
    return state


def harvest(member: Member, *, full: bool = False, session: requests.Session | None = None) -> dict[str, Any]:  # fmt: skip
    """Harvest one member's open catalogue (incrementally; ``full``: from the beginning, and the
    member's entries that the node no longer lists are removed). Returns
    {"node", "ok", "records", "deleted", "pages", "seconds", "records_per_s", "cursor", "error",
    "resumed"}."""
    session = session or transport.new_session()  # one per harvest: no stale pooled connection
    base = member.url.rstrip("/") + "/oai"
    state = _state(member)
    started = time.monotonic()
    state.started_at, state.error = timezone.now(), ""
    state.save(update_fields=["started_at", "error"])
    saved: dict[str, str] = {}
    if state.resumption and not full:
        try:
            saved = json.loads(state.resumption)
        except ValueError:
            saved = {}
    stored = removed = pages = 0
    seen: set[str] = set()
    until = saved.get("until", "")
    resumed = bool(saved.get("token"))
    out: dict[str, Any] = {"node": member.code, "resumed": resumed}
    try:
        params = _first_params(state, full, session, base)
        if resumed:
            params = {"verb": "ListRecords", "resumptionToken": saved["token"]}
        while True:
            page = _fetch(session, base, params)
            if page.error and page.error[0] == "badResumptionToken" and "resumptionToken" in params:
                log.info("harvest %s: token refused, starting again from the cursor", member.code)
                resumed, until = False, ""
                params = _first_params(state, full, session, base)
                continue
            if not until:
                until = page.response_date or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if page.error and page.error[0] != "noRecordsMatch":
                raise HarvestError(page.error[0], f"节点返回 OAI-PMH 错误 {page.error[0]}：{page.error[1]}")  # fmt: skip
            pages += 1
            with transaction.atomic():
                stored += hub_index.store_records(member, page.rows)
                removed += hub_index.delete_records(member, page.deleted)
                state.resumption = json.dumps({"token": page.token, "until": until}) if page.token else ""  # fmt: skip
                state.save(update_fields=["resumption"])
            if full:
                seen.update(r["identifier"] for r in page.rows)
            if not page.token or pages >= MAX_PAGES:
                break
            params = {"verb": "ListRecords", "resumptionToken": page.token}
        if full:
            removed += _drop_unlisted(member, seen)
        finished = timezone.now()
        state.cursor, state.resumption, state.records = until, "", stored + removed
        state.finished_at = state.last_success_at = finished
        state.save(update_fields=["cursor", "resumption", "records", "finished_at", "last_success_at"])  # fmt: skip
        out.update(ok=True, error="")
    except HarvestError as exc:
        message = f"[{exc.code}] {exc}"[:500]
        state.error, state.finished_at, state.records = message, timezone.now(), stored + removed
        state.save(update_fields=["error", "finished_at", "records"])
        log.warning("harvest of %s stopped: %s", member.code, message)
        out.update(ok=False, error=message)
    seconds = time.monotonic() - started
    out.update(
        records=stored, deleted=removed, pages=pages, seconds=round(seconds, 3),
        records_per_s=round((stored + removed) / seconds, 1) if seconds > 0 else None,
        cursor=state.cursor,
    )  # fmt: skip
    return out


def _first_params(state: HarvestState, full: bool, session: requests.Session, base: str) -> dict[str, str]:  # fmt: skip
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    if state.cursor and not full:
        params["from"] = _granularity_from(state.cursor, session, base)
    return params


def _drop_unlisted(member: Member, seen: set[str]) -> int:
    from .models import HubRecord

    listed = HubRecord.objects.filter(member=member).values_list("identifier", flat=True)
    return hub_index.delete_records(member, [i for i in listed.iterator() if i not in seen])


def harvest_all(*, node: str | None = None, full: bool = False) -> list[dict[str, Any]]:
    """Harvest every current member (or one): each one's outcome, failures included."""
    members = Member.objects.filter(left_at__isnull=True)
    if node:
        members = members.filter(code=node)
    session = requests.Session()
    return [harvest(m, full=full, session=session) for m in members]
