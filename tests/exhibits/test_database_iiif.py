# ruff: noqa: F401, F811  (the fixtures of conftest_databases are imported, then requested by name)
"""The IIIF Presentation 3.0 Collection of a published database: valid against the schema, one
Manifest per record the public may see now, gone at once when a record is closed."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from django.test import Client

from .conftest_databases import (
    Archive,
    _database_settings,
    archive,
    red_database,
    set_open_status,
)

SCHEMA = (
    Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "schemas" / "iiif_3_0.json"
)


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _collection(database: Any, status: int = 200) -> dict[str, Any]:
    url = f"/iiif/collection/database/{database.repository.code}/{database.slug}"
    response = Client().get(url)
    assert response.status_code == status
    return json.loads(response.content)


def test_the_collection_is_valid_and_lists_open_records_only(archive: Archive) -> None:
    database = red_database(archive)
    doc = _collection(database)
    errors = list(_validator().iter_errors(doc))
    assert not errors, errors[:3]
    labels = {item["label"]["zh-Hans"][0] for item in doc["items"]}
    assert labels == {"百色起义宣言", "龙州起义布告", "东兰农民运动讲习所章程", "湘江战役伤亡统计"}
    baise = archive.records["baise"]
    assert any(
        unquote(item["id"]).endswith(
            f"/iiif/manifest/{archive.repository.code}/{baise.reference_code}"
        )
        for item in doc["items"]
    )
    set_open_status(baise, "未开放")
    doc = _collection(database)
    assert "百色起义宣言" not in json.dumps(doc, ensure_ascii=False)
    assert not list(_validator().iter_errors(doc))


def test_an_unpublished_or_unknown_database_has_no_collection(archive: Archive) -> None:
    from lantai.exhibits import databases as service

    database = red_database(archive)
    service.unpublish(archive.users["curator"], database)
    _collection(database, 404)
