"""The public pages for open records: home, search (facets, paging, 递进检索, snippets), the
record page, watermarked page images, PDFs in the browser, the language switch."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from lantai.access import delivery
from lantai.access.views import safe_snippet

from .conftest import Portal

pytestmark = pytest.mark.django_db


def test_home_links_each_fonds_to_its_search(portal: Portal) -> None:
    client = Client()
    html = client.get("/public/").content.decode()
    assert '<main id="main"' in html and 'class="skip-link"' in html
    assert 'class="sidenav"' not in html  # no staff navigation on the public site
    link = re.search(r'href="(/public/search/\?repository=[^"]+fonds=000001/Z109)"', html)
    assert link is not None
    results = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert "共 2 条结果" in results


def test_search_within_results_and_sort(portal: Portal) -> None:
    client = Client()
    response = client.get("/public/search/", {"q": "关于", "q2": "婚姻"})
    assert response.status_code == 302
    narrowed = client.get(response["Location"]).content.decode()
    assert "共 2 条结果" in narrowed and 'class="chip">关于' in narrowed
    everything = client.get("/public/search/", {"q": "关于"}).content.decode()
    assert "共 3 条结果" in everything
    by_code = client.get("/public/search/", {"q": "关于", "sort": "reference_code"}).content
    links = re.findall(r'<h3 class="hit-title"><a href="([^"]+)"', by_code.decode())
    assert all(link.startswith("/public/archives/") for link in links)  # the stable URLs
    codes = [Client().get(link).status_code for link in links]
    assert codes == [200, 200, 200]


def test_search_pages(portal: Portal, settings: Any) -> None:
    import lantai.access.views as views

    old = views.PAGE_SIZE
    views.PAGE_SIZE = 1
    try:
        html = Client().get("/public/search/", {"q": "关于"}).content.decode()
        assert "第 1 / 3 页" in html and 'rel="next"' in html
        html = Client().get("/public/search/", {"q": "关于", "page": "3"}).content.decode()
        assert 'rel="prev"' in html and 'rel="next"' not in html
    finally:
        views.PAGE_SIZE = old


def test_advanced_fields_and_filters(portal: Portal) -> None:
    client = Client()
    html = client.get("/public/search/", {"document_number": "兰发〔1985〕3号"}).content.decode()
    assert "共 1 条结果" in html and "校舍" in html
    html = client.get(
        "/public/search/", {"year_from": "1985", "fonds": "000001/Z109"}
    ).content.decode()
    assert "共 2 条结果" in html
    html = client.get("/public/search/", {"date_from": "1985-03-02", "date_to": "1985-03-03"})
    assert "共 2 条结果" in html.content.decode()


def test_snippets_are_marked_safe_only_when_clean() -> None:
    assert safe_snippet("关于<mark>婚姻</mark>登记") == "关于<mark>婚姻</mark>登记"
    assert safe_snippet("a &lt;b&gt; <mark>c</mark>") == "a &lt;b&gt; <mark>c</mark>"
    assert "<script>" not in safe_snippet("<mark>x</mark><script>alert(1)</script>")
    assert "<mark>" not in safe_snippet("<mark>x<mark>y</mark></mark>")
    assert "&amp;" in safe_snippet("a & b <mark>c</mark>")


def test_record_page_shows_public_fields_and_content(portal: Portal) -> None:
    record = portal.open_records[0]
    record.remarks = "内部备注不公开"
    record.save(update_fields=["remarks"])
    html = Client().get(f"/public/records/{record.pk}/").content.decode()
    assert record.title in html and record.reference_code in html and "兰发〔1985〕1号" in html
    assert "内部备注不公开" not in html and "密级" not in html
    image = portal.images[record.pk]
    assert f'data-info="/iiif/3/c{image.pk}/info.json"' in html  # the IIIF viewer
    assert re.search(r'<img [^>]*alt="《[^"]+》第 1 页', html)  # its plain image without JS
    assert f'src="/public/content/{portal.pdfs[record.pk].pk}/document.pdf"' in html
    assert html.count('class="banner') >= 2  # around the viewer and the PDF
    assert f"/public/request/?record={record.pk}" in html


def test_delivered_images_are_watermarked_copies(portal: Portal) -> None:
    record = portal.open_records[0]
    component = portal.images[record.pk]
    client = Client()
    response = client.get(f"/public/content/{component.pk}/page.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    delivered = b"".join(response.streaming_content)
    original = (Path(settings.MEDIA_ROOT) / component.path).read_bytes()
    assert delivered != original
    page = Image.open(io.BytesIO(delivered)).convert("RGB")
    source = Image.open(io.BytesIO(original)).convert("RGB")
    assert page.width == source.width and page.height > source.height  # the footer band
    # the diagonal text darkens some of the blank paper
    blank = source.getpixel((400, 600))
    changed = sum(
        1
        for x in range(0, page.width, 8)
        for y in range(200, source.height, 8)
        if sum(abs(a - b) for a, b in zip(page.getpixel((x, y)), blank, strict=True)) > 40
    )
    assert changed > 50
    # rendered once and cached
    cached = delivery.watermarked_image(component)
    assert cached.read_bytes() == delivered
    text = delivery.watermark_text(component)
    assert "公众查档" in text and portal.repository.name in text and "GK" in text


def test_pdf_is_shown_inline_for_open_records(portal: Portal) -> None:
    record = portal.open_records[0]
    component = portal.pdfs[record.pk]
    response = Client().get(f"/public/content/{component.pk}/document.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_language_switch_turns_the_portal_english(portal: Portal) -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/public/"})
    html = client.get("/public/").content.decode()
    assert 'lang="en"' in html and "Open records catalogue" in html
