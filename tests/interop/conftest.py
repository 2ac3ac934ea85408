"""Data and validators for the OAI-PMH and EAD tests.

The responses are validated against the schemas in shared/corpora/schemas (OAI-PMH 2.0, oai_dc,
EAD 2002, EAD3) through a driver schema that imports them by local path, so nothing is fetched
from the network; the oai-identifier description uses tests/interop/schemas/oai-identifier.xsd."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "corpora" / "schemas"
LOCAL = Path(__file__).resolve().parent / "schemas"
OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {
    "oai": OAI,
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ead": "urn:isbn:1-931666-22-9",
    "ead3": "http://ead3.archivists.org/schema/",
    "id": "http://www.openarchives.org/OAI/2.0/oai-identifier",
}
# oai-identifier syntax (OAI-PMH 2.0 guidelines §2.4)
IDENTIFIER_RE = re.compile(
    r"^oai:[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+:[a-zA-Z0-9\-_\.!~\*'\(\);/\?:@&=\+$,%]+$"
)


@functools.cache
def oai_schema(tmp: str) -> etree.XMLSchema:
    """OAI-PMH with every namespace our responses carry (metadata and description are strict)."""
    imports = [
        (OAI, SCHEMAS / "OAI-PMH.xsd"),
        (NS["oai_dc"], SCHEMAS / "oai_dc.xsd"),
        (NS["ead"], SCHEMAS / "ead.xsd"),
        (NS["id"], LOCAL / "oai-identifier.xsd"),
    ]
    driver = Path(tmp) / "oai-driver.xsd"
    driver.write_text(
        '<schema xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:lantai:driver">'
        + "".join(f'<import namespace="{ns}" schemaLocation="{p.as_uri()}"/>' for ns, p in imports)
        + "</schema>",
        encoding="utf-8",
    )
    return etree.XMLSchema(etree.parse(str(driver)))


@functools.cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def assert_valid(schema_: etree.XMLSchema, doc: etree._Element) -> None:
    if not schema_.validate(doc):
        raise AssertionError(f"not valid: {schema_.error_log}")


@dataclass
class Catalogue:
    repository: Any
    fonds: Any
    other_fonds: Any
    open_records: list[Any]
    hidden: dict[str, Any]  # why → record (closed, restricted, classified, marriage)
    categories: dict[str, Any] = field(default_factory=dict)


def make_catalogue(n_open: int = 5) -> Catalogue:
    """Open records in two fonds, and records the public must never see: closed (未开放),
    控制使用, open but with a 密级, and an open-status marriage record (门类 HY)."""
    from lantai.catalog import services

    repo = services.default_repository()
    fonds = services.create_fonds("Z109", "兰州市民政局", creator="兰州市民政局")
    other = services.create_fonds("Z110", "兰州市教育局 & <附属>", creator="兰州市教育局")
    ws = services.create_category(fonds, "WS")
    ws2 = services.create_category(other, "WS")
    hy = services.create_category(fonds, "HY")

    def add(category: Any, n: int, title: str, status: str, classification: str = "公开") -> Any:
        values = {
            "title": title, "author": category.fonds.name, "document_number": f"兰发〔1985〕{n}号",
            "date": f"198503{n % 28 + 1:02d}", "year": "1985", "retention": "Y",
            "item_number": str(n), "org_code": "BGS", "classification": classification,
            "open_status": status, "remarks": f"备注{n}" if n % 2 else "",
        }  # fmt: skip
        record, issues = services.save_record(category, values)
        assert record is not None, issues
        return record

    opened = [add(ws, i + 1, f"关于婚姻登记工作的通知（{i + 1}）", "开放") for i in range(n_open)]
    opened.append(add(ws2, 1, "关于中小学校舍建设的请示 <甲> & “乙”", "开放"))
    hidden = {
        "closed": add(ws, 101, "秘藏未开放文件", "未开放"),
        "restricted": add(ws, 102, "秘藏控制使用目录", "控制使用"),
        "classified": add(ws, 103, "秘藏密件登记簿", "开放", classification="秘密"),
    }
    hidden["marriage"] = _marriage_record(hy)
    return Catalogue(repo, fonds, other, opened, hidden, {"WS": ws, "WS2": ws2, "HY": hy})


def _marriage_record(hy: Any) -> Any:
    """A marriage record marked open (as a careless import could): still never public."""
    from lantai.catalog.models import Record

    return Record.objects.create(
        repository=hy.fonds.repository, fonds=hy.fonds, category=hy, level="item",
        reference_code="Z109-HY·1985-Y-0001", sequence_prefix="Z109-HY·1985-Y-", sequence_number=1,
        year=1985, retention="Y", title="秘藏婚姻登记", open_status="open",
        classification="public", classification_level=0,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _oai_settings(settings: Any) -> None:
    from django.core.cache import cache

    for name in ("PUBLIC_RATE", "PUBLIC_CONTENT_RATE"):
        setattr(settings, name, "100000/min")
    settings.PUBLIC_OAI_RATE = "100000/min"
    settings.OAI_REPOSITORY_IDENTIFIER = "archives.example.cn"
    settings.OAI_SYNC_INTERVAL = 0  # every request syncs (the tests change and harvest at once)
    cache.clear()


@pytest.fixture
def catalogue(db: Any) -> Catalogue:
    return make_catalogue()
