"""AUDIT-18: defects found by auditing issue 18 from outside, now fixed (IIIF Image API).

Each test proves one defect stayed fixed (the comment above it names the defect)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.test import Client

from tests.access.conftest import Portal
from tests.access.test_iiif_image import page_image, png

# the demo's scans are 2481 × 3507 (A4 at 300 dpi): pyramid levels that do not halve evenly
ODD = (2481, 3507)


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = tmp_path / "data" / "files"


@pytest.fixture
def odd_page(portal: Portal) -> Any:
    from lantai.catalog.components import attach_component

    record = portal.open_records[0]
    return attach_component(record, [png(page_image(ODD))], "page-0001.png", user=None)


# AUDIT-18 (fixed) HIGH: a region at the bottom-right corner of a page is a 500 (pyvips crop of height 0: the level's y is scaled by the width ratio)
def test_regions_at_the_far_corner_are_answered(odd_page: Any) -> None:
    client = Client()
    info = client.get(f"/iiif/3/c{odd_page.pk}/info.json").json()
    width, height = info["width"], info["height"]
    paths = [f"{width - 1},{height - 1},100,100/max/0/default.jpg",
             f"{width - 1},{height - 1},1,1/1,1/0/default.jpg"]  # fmt: skip
    for factor in info["tiles"][0]["scaleFactors"]:  # the last tile of each zoom level
        span = 512 * factor
        x, y = (width - 1) // span * span, (height - 1) // span * span
        w, h = width - x, height - y
        paths.append(f"{x},{y},{w},{h}/{math.ceil(w / factor)},/0/default.jpg")
    for path in paths:
        response = client.get(f"/iiif/3/c{odd_page.pk}/{path}")
        assert response.status_code == 200, (path, response.status_code)


# AUDIT-18 (fixed by the lead's tile bucket, b607991, while auditing): kept as a regression test
def test_a_viewer_session_is_not_throttled_by_the_default_content_rate(
    odd_page: Any, settings: Any
) -> None:
    from django.core.cache import cache

    from lantai.catalog.components import attach_component

    settings.PUBLIC_CONTENT_RATE = "120/min"  # the shipped default (settings.py)
    cache.clear()
    pages = [odd_page] + [
        attach_component(odd_page.record, [png(page_image(ODD))], f"page-{n:04d}.png", user=None)
        for n in (2, 3)
    ]
    client = Client()
    # one visitor reading a three-page record in the deep-zoom viewer, zooming each page in
    # fully once (the tiles of levels 8, 4, 2 and 1: 52 tiles a page)
    statuses = []
    for page in pages:
        for factor in (8, 4, 2, 1):
            span = 512 * factor
            for y in range(0, ODD[1], span):
                for x in range(0, ODD[0], span):
                    w, h = min(span, ODD[0] - x), min(span, ODD[1] - y)
                    path = f"{x},{y},{w},{h}/{math.ceil(w / factor)},/0/default.jpg"
                    statuses.append(client.get(f"/iiif/3/c{page.pk}/{path}").status_code)
    assert 429 not in statuses, (len(statuses), statuses.count(429))


# AUDIT-18 (fixed) LOW: a CORS preflight (OPTIONS, sent by viewers asking for info.json with the IIIF profile Accept header) is 405 without CORS headers
def test_cors_preflight_on_info_json(odd_page: Any) -> None:
    response = Client().options(
        f"/iiif/3/c{odd_page.pk}/info.json",
        HTTP_ORIGIN="https://viewer.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="accept",
    )
    assert response.status_code in (200, 204)
    assert response["Access-Control-Allow-Origin"] == "*"
