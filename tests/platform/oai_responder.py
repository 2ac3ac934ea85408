"""A small OAI-PMH 2.0 responder in a thread (real HTTP on a loopback port) serving oai_dc pages
in the standard format, for the hub's harvester tests and the bench."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
        'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">')  # fmt: skip


@dataclass
class Item:
    ref: str
    title: str
    datestamp: str = "2026-01-01T00:00:00Z"
    deleted: bool = False
    date: str = "1998-05-04"
    description: str = ""


@dataclass
class Feed:
    """The responder's state: the records, the page size, failures to inject."""

    items: list[Item] = field(default_factory=list)
    page_size: int = 3
    response_date: str = "2026-12-07T03:00:00Z"
    fail_on_page: int | None = None  # answer HTTP 500 for this page (1-based) ...
    fail_times: int = 0  # ... this many times
    garbage_on_page: int | None = None
    granularity: str = "YYYY-MM-DDThh:mm:ssZ"
    requests: list[dict[str, str]] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)  # tokens handed out (emptied = expired)

    def identifier(self, item: Item) -> str:
        return f"oai:test.example:A01/{item.ref}"

    def record(self, item: Item, base: str) -> str:
        status = ' status="deleted"' if item.deleted else ""
        head = (f"<header{status}><identifier>{self.identifier(item)}</identifier>"
                f"<datestamp>{item.datestamp}</datestamp><setSpec>fonds:J001</setSpec></header>")  # fmt: skip
        if item.deleted:
            return f"<record>{head}</record>"
        dc = (f"<dc:title>{escape(item.title)}</dc:title><dc:identifier>{escape(item.ref)}</dc:identifier>"
              f"<dc:identifier>{base}/records/{escape(item.ref)}</dc:identifier><dc:date>{item.date}</dc:date>"
              "<dc:type>文书档案</dc:type><dc:creator>某县人民政府办公室</dc:creator><dc:publisher>甲市档案馆</dc:publisher>"
              "<dc:source>J001 某县人民政府</dc:source><dc:relation>fonds:J001</dc:relation>"
              f"<dc:description>{escape(item.description)}</dc:description>")  # fmt: skip
        return (f'{head}<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/">' + dc + "</oai_dc:dc></metadata>").join(("<record>", "</record>"))  # fmt: skip

    def answer(self, params: dict[str, str], base: str) -> tuple[int, str]:
        self.requests.append(params)
        verb = params.get("verb")
        req = f'<responseDate>{self.response_date}</responseDate><request verb="{escape(verb or "")}">{base}/oai</request>'  # fmt: skip
        if verb == "Identify":
            return 200, (f"{HEAD}{req}<Identify><repositoryName>甲市档案馆</repositoryName><baseURL>{base}/oai</baseURL>"
                         "<protocolVersion>2.0</protocolVersion><adminEmail>a@example.org</adminEmail>"
                         "<earliestDatestamp>2000-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
                         f"<granularity>{self.granularity}</granularity></Identify></OAI-PMH>")  # fmt: skip
        if verb != "ListRecords":
            return 200, f'{HEAD}{req}<error code="badVerb">no</error></OAI-PMH>'
        if "resumptionToken" in params:
            token = params["resumptionToken"]
            if token not in self.valid_tokens:
                return 200, f'{HEAD}{req}<error code="badResumptionToken">expired</error></OAI-PMH>'
            start, since = token.split("|", 1)
            offset = int(start)
        else:
            offset, since = 0, params.get("from", "")
        chosen = [i for i in self.items if not since or i.datestamp[: len(since)] >= since]
        if not chosen:
            return 200, f'{HEAD}{req}<error code="noRecordsMatch">none</error></OAI-PMH>'
        page_no = offset // self.page_size + 1
        if self.fail_on_page == page_no and self.fail_times > 0:
            self.fail_times -= 1
            return 500, "boom"
        if self.garbage_on_page == page_no:
            return 200, f"{HEAD}{req}<ListRecords><record><header>"
        page = chosen[offset : offset + self.page_size]
        body = "".join(self.record(i, base) for i in page)
        nxt = offset + self.page_size
        if nxt < len(chosen):
            token = f"{nxt}|{since}"
            self.valid_tokens.add(token)
            body += f'<resumptionToken completeListSize="{len(chosen)}" cursor="{offset}">{token}</resumptionToken>'
        elif offset:
            body += f'<resumptionToken completeListSize="{len(chosen)}" cursor="{offset}"/>'
        return 200, f"{HEAD}{req}<ListRecords>{body}</ListRecords></OAI-PMH>"


class Responder:
    """``with Responder(feed) as base_url:`` — serves ``{base_url}/oai``."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        feed_ref = feed

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                base = f"http://{self.headers['Host']}"
                status, text = feed_ref.answer(params, base) if url.path == "/oai" else (404, "")
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
