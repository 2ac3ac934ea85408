"""Stable public record addresses (/public/archives/{archives code}/{档号}/), the canonical link,
the IIIF manifest link and the viewer on the record page.

The odd 档号 below (Chinese, "·", "/", spaces) are what older catalogues and harvested records
hold; the code-rule check of `save_record` would refuse them, so the test writes them straight
into the record as an import of legacy data would leave them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from lantai.catalog.models import Record

from .conftest import Portal

pytestmark = pytest.mark.django_db

ODD_CODES = [
    "红色档案·第1卷",
    "Z109/WS/1985/0001",
    "J 001 · 甲 2",
    "广西 革命档案/百色起义·0007",
]


def recode(record: Any, code: str) -> Any:
    Record.objects.filter(pk=record.pk).update(reference_code=code)
    record.refresh_from_db()
    return record


def stable(record: Any) -> str:
    return f"/public/archives/{quote(record.repository.code)}/{quote(record.reference_code)}/"


def main(response: Any) -> str:
    """The page's main content (the language switch around it names the page's own path)."""
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def canonical(html: str) -> str:
    found = re.search(r'<link rel="canonical" href="([^"]+)">', html)
    assert found, "no canonical link"
    return found.group(1)


@pytest.mark.parametrize("code", ODD_CODES)
def test_stable_url_serves_the_record_and_both_addresses_name_it_canonical(
    portal: Portal, code: str
) -> None:
    record = recode(portal.open_records[0], code)
    client = Client()
    response = client.get(stable(record))
    assert response.status_code == 200
    html = response.content.decode()
    assert record.title in html and code in html
    assert canonical(html) == "http://testserver" + stable(record)
    by_id = client.get(f"/public/records/{record.pk}/").content.decode()
    assert canonical(by_id) == "http://testserver" + stable(record)


def test_unknown_archives_code_or_closed_record_is_the_same_404(portal: Portal) -> None:
    client = Client()
    opened = portal.open_records[0]
    absent = client.get(f"/public/archives/999999/{quote(opened.reference_code)}/")
    assert absent.status_code == 404
    unknown = client.get(f"/public/archives/{opened.repository.code}/不存在·0001/")
    assert unknown.status_code == 404
    for closed in portal.closed_records:
        response = client.get(stable(closed))
        assert response.status_code == 404, closed.open_status
        assert main(response) == main(unknown)  # no word on whether it exists
    assert client.get(stable(opened)).status_code == 200


def test_a_record_closed_after_a_visit_is_gone_at_once(portal: Portal) -> None:
    record = recode(portal.open_records[1], "红色档案/第 3 卷·0012")
    client = Client()
    assert client.get(stable(record)).status_code == 200
    Record.objects.filter(pk=record.pk).update(open_status="closed")
    assert client.get(stable(record)).status_code == 404


def test_search_results_link_to_the_stable_url(portal: Portal) -> None:
    html = Client().get("/public/search/", {"q": "婚姻"}).content.decode()
    links = re.findall(r'<h3 class="hit-title"><a href="([^"]+)"', html)
    assert len(links) == 2
    assert all(link.startswith("/public/archives/") for link in links)
    expected = {stable(r) for r in portal.open_records[:2]}
    assert set(links) == expected
    for link in links:
        assert Client().get(link).status_code == 200


def test_manifest_link_only_with_public_page_images(portal: Portal) -> None:
    from lantai.catalog.models import Component

    record = recode(portal.open_records[0], "红色档案·第1卷")
    html = Client().get(stable(record)).content.decode()
    manifest = re.search(
        r'<link rel="alternate" type="application/ld\+json;profile=&quot;'
        r'http://iiif.io/api/presentation/3/context.json&quot;" href="([^"]+)">',
        html,
    )
    assert manifest, "no manifest link"
    assert manifest.group(1) == (
        f"http://testserver/iiif/manifest/{record.repository.code}/{quote(record.reference_code)}"
    )
    Component.objects.filter(pk=portal.images[record.pk].pk).delete()  # only its PDF is left
    html = Client().get(stable(record)).content.decode()
    assert 'rel="alternate"' not in html
    assert "data-iiif-viewer" not in html and "document.pdf" in html


def test_viewer_names_the_iiif_image_service_and_search_only_with_text(
    portal: Portal, settings: Any
) -> None:
    record = portal.open_records[0]
    image = portal.images[record.pk]
    html = Client().get(stable(record)).content.decode()
    assert f'data-info="/iiif/3/c{image.pk}/info.json"' in html
    assert 'data-search=""' in html  # no OCR text: no content search
    make_ocr_page(record, image, [["关于婚姻登记工作的通知", [60, 60, 700, 110], 0.97]])
    html = Client().get(stable(record)).content.decode()
    assert f'data-search="/iiif/search/{record.repository.code}/' in html
    assert "在页面文字中查找" in html


def test_without_openseadragon_the_page_shows_plain_images_and_says_so(
    portal: Portal, settings: Any
) -> None:
    record = portal.open_records[0]
    image = portal.images[record.pk]
    settings.IIIF_VIEWER_SCRIPT = "vendor/absent/openseadragon.min.js"
    html = Client().get(stable(record)).content.decode()
    assert "缩放查看器未安装" in html and "scripts/setup.sh" in html
    fallback = f'<img src="/iiif/3/c{image.pk}/full/!1200,1200/0/default.jpg"'
    assert fallback in html
    assert "openseadragon.min.js" not in html and "iiif-viewer.js" not in html
    assert "style=" not in html.split("<main")[1]  # CSP: no inline styles


def make_ocr_page(record: Any, component: Any, lines: list[Any]) -> Any:
    """A digitization page with OCR lines for `component` (as an accepted batch leaves it)."""
    from lantai.digitization.models import Batch, Item, Page

    batch = Batch.objects.create(repository=record.repository, name="OCR", status="accepted")
    item = Item.objects.create(batch=batch, record=record, reference_code=record.reference_code)
    return Page.objects.create(
        batch=batch,
        item=item,
        number=1,
        source_name=component.name,
        path=component.path,
        sm3=component.sm3,
        sha256=component.sha256,
        size=component.size,
        component=component,
        ocr_status="done",
        ocr_lines=lines,
    )


def test_the_record_page_has_its_citation_qr_code_and_print_stylesheet(portal: Portal) -> None:
    record = recode(portal.open_records[0], "Z109/WS/1985/0001")
    html = Client().get(stable(record)).content.decode()
    cited = re.search(r'<p id="share-citation-text" class="citation-text">([^<]+)</p>', html)
    assert cited, "no citation on the record page"
    text = cited.group(1).replace("&#x27;", "'")
    assert "[A/OL]" in text and record.repository.name in text
    assert "Z109/WS/1985/0001" in text
    assert canonical(html) in text  # the stable address, not the internal id
    assert '<svg role="img"' in html and "share-qr" in html  # the QR code, drawn on the server
    assert "web/print.css" in html and "<script>" not in html
