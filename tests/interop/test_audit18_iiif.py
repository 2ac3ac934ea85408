"""AUDIT-18: defects found by auditing issue 18 from outside, now fixed (IIIF Presentation).

Each test proves one defect stayed fixed (the comment above it names the defect)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.interop.test_iiif_manifest import Digitized, get_json, make_digitized, manifest_url


@pytest.fixture
def digitized(db: Any) -> Digitized:
    return make_digitized()


# AUDIT-18 (fixed) MED: a canvas and its image body say W×H but the public image service serves W×(H + watermark band): viewers stretch the page, search boxes drift
def test_canvas_size_is_the_size_of_the_image_the_service_serves(
    digitized: Digitized, settings: Any, tmp_path: Any
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    client = Client()
    manifest = get_json(client, manifest_url(digitized.record))
    for canvas in manifest["items"]:
        body = canvas["items"][0]["items"][0]["body"]
        info = get_json(client, urlsplit(body["service"][0]["id"]).path + "/info.json")
        assert (body["width"], body["height"]) == (info["width"], info["height"]), canvas["id"]
        # the canvas and the served image keep one aspect ratio
        assert canvas["width"] * info["height"] == canvas["height"] * info["width"], canvas["id"]
