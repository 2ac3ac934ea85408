"""A real OAI-PMH client (sickle, from PyPI) harvests /oai of a live server through every page,
and each page it fetched validates against the schemas."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from tests.interop.conftest import NS, assert_valid, make_catalogue, oai_schema

sickle = pytest.importorskip("sickle")


def test_sickle_harvests_every_page(
    transactional_db: Any, live_server: Any, settings: Any, tmp_path: Any
) -> None:
    settings.OAI_PAGE_SIZE = 2
    catalogue = make_catalogue(n_open=7)  # 8 open records: 4 pages
    client = sickle.Sickle(live_server.url + "/oai", max_retries=2)
    identify = client.Identify()
    assert identify.repositoryName == catalogue.repository.name
    assert identify.deletedRecord == "persistent"
    pages: list[bytes] = []
    records = client.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False)
    got = []
    for record in records:
        got.append((record.header.identifier, record.metadata["title"][0]))
        if not pages or pages[-1] != records.oai_response.raw.encode():
            pages.append(records.oai_response.raw.encode())
    assert len(got) == 8 and len(set(got)) == 8
    assert {title for _, title in got} == {r.title for r in catalogue.open_records}
    assert len(pages) == 4
    schema = oai_schema(str(tmp_path.parent))
    for raw in pages:
        assert_valid(schema, etree.fromstring(raw))
    sets = {s.setSpec for s in client.ListSets()}
    assert {"fonds:Z109", "fonds:Z110", "category:WS"} <= sets
    headers = list(client.ListIdentifiers(metadataPrefix="ead", set="fonds:Z110"))
    assert len(headers) == 1
    record = client.GetRecord(identifier=headers[0].identifier, metadataPrefix="ead")
    ead = etree.fromstring(record.raw.encode()).find(".//ead:ead", NS)
    assert ead is not None
