"""The IIIF Presentation 3.0 Collection of an exhibition shown now: valid against the schema, one
Manifest per record in it that the public may see now, gone at once when a record is closed or
the exhibition is withdrawn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from django.test import Client

from lantai.exhibits import exhibitions as ex

from .exhibition_fixtures import Hall, build, publish, set_open_status

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "schemas" / "iiif_3_0.json"


def _collection(status: int = 200) -> dict[str, Any]:
    response = Client().get("/iiif/collection/exhibition/red-guangxi")
    assert response.status_code == status
    return json.loads(response.content)


def test_the_exhibition_collection_lists_its_public_records_and_validates(hall: Hall) -> None:
    exhibition = build(hall)
    _collection(404)  # not published yet
    publish(hall, exhibition)
    doc = _collection()
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert not list(validator.iter_errors(doc))
    assert doc["type"] == "Collection"
    assert doc["label"]["zh-Hans"] == ["红色广西——革命历史档案史料展"]
    labels = [item["label"]["zh-Hans"][0] for item in doc["items"]]
    assert sorted(labels) == ["关于广西解放的布告", "南宁市军事管制委员会通告"]
    assert all(item["type"] == "Manifest" for item in doc["items"])

    set_open_status(hall.other_record, "未开放")  # the leak test: gone at once
    labels = [item["label"]["zh-Hans"][0] for item in _collection()["items"]]
    assert labels == ["关于广西解放的布告"]

    ex.withdraw(
        hall.users["publisher"], ex.staff_exhibition(hall.users["publisher"], exhibition.pk)
    )
    _collection(404)
