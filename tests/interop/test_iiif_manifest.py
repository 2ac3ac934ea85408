"""IIIF manifests and fonds collections served over HTTP (Django's test client): valid against the
Presentation 3.0 schema, pages in order with their real sizes, and nothing that is not public."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.access.conftest import pdf_bytes, png_bytes
from tests.interop.conftest import Catalogue, make_catalogue
from tests.interop.test_iiif_presentation import assert_iiif

SIZES = [(800, 1100), (1200, 900), (640, 480)]
PRESENTATION = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'


@dataclass
class Digitized:
    catalogue: Catalogue
    record: Any  # open, three page images, a PDF, a recording
    images: list[Any]
    pdf: Any
    recording_image: Any  # an image component that is a recording's (never a canvas)
    closed: Any  # not open, with a page image
    partly: Any  # open, read through its open copy: the master's images are not public
    page: Any  # the OCR page of images[0] (pixel size half the image's)


def jpeg_with_orientation(size: tuple[int, int]) -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, "#eeeeee")
    exif = image.getexif()
    exif[0x0112] = 6  # shown turned by a quarter
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def make_digitized() -> Digitized:
    from lantai.catalog import open_copies
    from lantai.catalog.components import attach_component
    from lantai.digitization.models import Batch, Item, Page, Recording

    cat = make_catalogue(n_open=4)
    record, partly = cat.open_records[0], cat.open_records[1]
    images = [
        attach_component(
            record, [png_bytes(size)], f"{record.reference_code}-{n:04d}.png", user=None
        )
        for n, size in enumerate(SIZES, 1)
    ]
    pdf = attach_component(record, [pdf_bytes()], f"{record.reference_code}.pdf", user=None)
    poster = attach_component(record, [png_bytes((320, 240))], "poster.png", user=None)
    Recording.objects.create(
        record=record, source_name="口述.mp4", component=poster, kind="video",
        path=poster.path, sm3=poster.sm3, sha256=poster.sha256, size=poster.size,
    )  # fmt: skip
    closed = cat.hidden["closed"]
    attach_component(closed, [png_bytes()], "closed-0001.png", user=None)
    attach_component(partly, [png_bytes()], "partly-0001.png", user=None)
    open_copies.set_open_copy(partly, b"%PDF-1.4", "", {"title": "关于■■的通知"}, {})
    batch = Batch.objects.create(repository=record.repository, name="扫描批次")
    item = Item.objects.create(batch=batch, record=record, reference_code=record.reference_code)
    page = Page.objects.create(
        batch=batch, item=item, number=1, source_name="0001.png", component=images[0],
        width=400, height=550, ocr_status="done", path=images[0].path, sm3=images[0].sm3,
        sha256=images[0].sha256, size=images[0].size,
        ocr_lines=[
            ["关于婚姻登记工作的通知", [50, 40, 350, 70], 0.98],
            ["各县区民政局：", [30, 100, 200, 125], 0.95],
            ["Marriage Registration 1985", [30, 140, 300, 160], 0.9],
        ],
    )  # fmt: skip
    return Digitized(cat, record, images, pdf, poster, closed, partly, page)


@pytest.fixture
def digitized(db: Any) -> Digitized:
    return make_digitized()


def manifest_url(record: Any) -> str:
    return reverse(
        "iiif_presentation:manifest", args=[record.repository.code, record.reference_code]
    )


def get_json(client: Client, url: str, status: int = 200, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == status, response.content[:500]
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def test_manifest_over_http_is_valid_with_pages_in_order(digitized: Digitized) -> None:
    client = Client()
    response = client.get(manifest_url(digitized.record))
    assert response.status_code == 200
    assert response["Content-Type"] == PRESENTATION
    assert response["Access-Control-Allow-Origin"] == "*"
    doc = response.json()
    assert_iiif(doc)
    assert doc["id"] == f"http://testserver{manifest_url(digitized.record)}"
    assert doc["label"]["zh-Hans"] == [digitized.record.title]
    # three page images in order, each with its real size; the recording's image is no page
    assert [(c["width"], c["height"]) for c in doc["items"]] == SIZES
    services = [c["items"][0]["items"][0]["body"]["service"][0]["id"] for c in doc["items"]]
    assert services == [f"http://testserver/iiif/3/c{c.pk}" for c in digitized.images]
    assert f"c{digitized.recording_image.pk}" not in response.content.decode()
    # the PDF is offered as a rendering, the stable record page is the homepage
    assert doc["rendering"][0]["id"].endswith(f"/public/content/{digitized.pdf.pk}/document.pdf")
    assert doc["homepage"][0]["id"].startswith("http://testserver/public/archives/")
    assert digitized.record.repository.name in doc["requiredStatement"]["value"]["zh-Hans"][0]
    assert "水印" in doc["requiredStatement"]["value"]["zh-Hans"][0]
    assert "rights" not in doc  # no licence URI applies to these records
    # OCR text: the manifest names its Content Search service
    assert doc["service"][0]["type"] == "SearchService2"
    search = get_json(client, doc["service"][0]["id"], q="婚姻")
    assert search["items"]


def test_sizes_come_from_the_cache_not_the_files(digitized: Digitized, settings: Any) -> None:
    """Once measured, a manifest opens no page file: with the files gone it keeps their sizes."""
    from lantai.catalog.models import ImageSize

    client = Client()
    get_json(client, manifest_url(digitized.record))
    assert ImageSize.objects.filter(component__in=digitized.images).count() == 3
    for component in digitized.images:
        (Path(settings.MEDIA_ROOT) / component.path).unlink()
    doc = get_json(client, manifest_url(digitized.record))
    assert [(c["width"], c["height"]) for c in doc["items"]] == SIZES


def test_exif_orientation_turns_the_canvas(digitized: Digitized) -> None:
    from lantai.catalog.components import attach_component

    record = digitized.catalogue.open_records[2]
    attach_component(record, [jpeg_with_orientation((600, 200))], "turned.jpg", user=None)
    doc = get_json(Client(), manifest_url(record))
    assert_iiif(doc)
    assert [(c["width"], c["height"]) for c in doc["items"]] == [(200, 600)]
    assert "service" not in doc  # no OCR text: no search service


def test_not_public_is_404(digitized: Digitized) -> None:
    client = Client()
    closed = get_json(client, manifest_url(digitized.closed), 404)
    assert "未开放" in closed["error"]
    # the closed master of a partly opened record: no canvases of it anywhere
    response = client.get(manifest_url(digitized.partly))
    assert response.status_code == 404
    assert "partly-0001" not in response.content.decode()
    # an open record without page images has no manifest (a Manifest needs a Canvas)
    get_json(client, manifest_url(digitized.catalogue.open_records[3]), 404)
    for hidden in digitized.catalogue.hidden.values():
        get_json(client, manifest_url(hidden), 404)


def test_record_closed_after_its_manifest_was_served(digitized: Digitized) -> None:
    from lantai.catalog import services

    client = Client()
    get_json(client, manifest_url(digitized.record))
    values = services.record_as_input(digitized.record)
    values["open_status"] = "未开放"
    saved, issues = services.save_record(digitized.record.category, values, record=digitized.record)
    assert saved is not None, issues
    get_json(client, manifest_url(digitized.record), 404)
    get_json(client, manifest_url(digitized.record).replace("manifest", "search"), 404, q="婚姻")


def test_hostile_paths_are_404(digitized: Digitized) -> None:
    client = Client()
    code = digitized.record.repository.code
    ref = digitized.record.reference_code
    for url in (
        f"/iiif/manifest/{code}/../../etc/passwd",
        f"/iiif/manifest/{code}/%2e%2e%2f%2e%2e%2fsettings.py",
        f"/iiif/manifest/{code}/{ref}%00",
        f"/iiif/manifest/{code}/{ref}/../{ref}",
        f"/iiif/manifest/NOSUCH/{ref}",
        f"/iiif/manifest/{code}/{'Z' * 5000}",
        f"/iiif/manifest/{'A' * 500}/{ref}",
        "/iiif/collection/fonds/NOSUCH/Z109",
        f"/iiif/collection/fonds/{code}/Z109%00",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("application/json"), url
        assert response.json()["error"]
    # a line break matches no route at all: Django's own 404
    assert client.get(f"/iiif/collection/fonds/{code}/Z109%0a").status_code == 404


def test_fonds_collection_lists_open_digitized_records(digitized: Digitized) -> None:
    fonds = digitized.record.fonds
    url = reverse("iiif_presentation:fonds_collection", args=[fonds.repository.code, fonds.code])
    client = Client()
    doc = get_json(client, url)
    assert_iiif(doc)
    listed = [item["id"] for item in doc["items"]]
    assert listed == [f"http://testserver{manifest_url(digitized.record)}"]  # not closed, partly
    assert doc["items"][0]["thumbnail"][0]["service"][0]["id"].endswith(
        f"/iiif/3/c{digitized.images[0].pk}"
    )
    # every listed manifest is served
    for manifest_id in listed:
        assert_iiif(get_json(client, manifest_id.removeprefix("http://testserver")))
    # a fonds with nothing public is not shown at all
    other = digitized.catalogue.other_fonds
    get_json(
        client,
        reverse("iiif_presentation:fonds_collection", args=[other.repository.code, other.code]),
        404,
    )


def test_fonds_collection_pages_into_sub_collections(
    digitized: Digitized, monkeypatch: Any
) -> None:
    from lantai.catalog.components import attach_component
    from lantai.interop import iiif

    for record in digitized.catalogue.open_records[2:4]:
        attach_component(record, [png_bytes((300, 400))], "p.png", user=None)
    monkeypatch.setattr(iiif, "COLLECTION_PAGE", 2)
    fonds = digitized.record.fonds
    url = reverse("iiif_presentation:fonds_collection", args=[fonds.repository.code, fonds.code])
    client = Client()
    top = get_json(client, url)
    assert_iiif(top)
    assert [i["type"] for i in top["items"]] == ["Collection", "Collection"]
    seen = []
    for part in top["items"]:
        doc = get_json(client, part["id"].removeprefix("http://testserver"))
        assert_iiif(doc)
        assert doc["partOf"][0]["id"] == top["id"]
        seen += [i["id"] for i in doc["items"]]
    assert len(seen) == 3 and len(set(seen)) == 3
    get_json(client, url, 404, page="3")
    get_json(client, url, 404, page="-1")
