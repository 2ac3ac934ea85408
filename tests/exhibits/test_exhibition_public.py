"""The public exhibition pages: the hall, the cover, pages with their blocks, language, prev/next,
images with alt and sizes; the preview drawn with the same templates; and THE LEAK TEST: closing
a record removes it from every public page at once."""

from __future__ import annotations

import re

from django.test import Client

from lantai.exhibits import exhibitions as ex

from .exhibition_fixtures import Hall, build, item, publish, set_open_status


def record_url(record: object) -> str:
    """The stable public address of a record (by archives and 档号)."""
    from django.urls import reverse

    return reverse("access:record_by_code", args=[record.repository.code, record.reference_code])  # type: ignore[attr-defined]


def pages_of(client: Client) -> dict[str, str]:
    paths = ["/public/exhibitions/", "/public/exhibitions/red-guangxi/",
             "/public/exhibitions/red-guangxi/proclamation/", "/public/exhibitions/red-guangxi/notices/"]  # fmt: skip
    out = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        out[path] = response.content.decode()
    return out


def test_hall_cover_and_pages(hall: Hall, client: Client) -> None:
    exhibition = build(hall)
    assert client.get("/public/exhibitions/red-guangxi/").status_code == 404  # not yet published
    publish(hall, exhibition)
    html = pages_of(client)
    assert "红色广西——革命历史档案史料展" in html["/public/exhibitions/"]
    cover = html["/public/exhibitions/red-guangxi/"]
    assert 'href="/public/exhibitions/red-guangxi/proclamation/"' in cover and "解放布告" in cover
    page = html["/public/exhibitions/red-guangxi/proclamation/"]
    assert "1949年12月，广西解放。" in page
    assert 'rel="next" href="/public/exhibitions/red-guangxi/notices/"' in page
    component = hall.images[hall.open_record.pk][0].pk
    img = re.search(rf'<img src="/iiif/3/c{component}/full/!1200,1200/0/default.jpg"[^>]*>', page)
    assert img, page
    assert 'alt="布告原件"' in img.group(0) and 'width="800" height="1100"' in img.group(0)
    assert "srcset=" in img.group(0) and "loading=" not in img.group(0)  # above the fold
    notices = html["/public/exhibitions/red-guangxi/notices/"]
    assert 'rel="prev"' in notices and 'loading="lazy"' not in notices.split("gallery-grid")[0]
    assert "<blockquote>" in notices and f'href="{record_url(hall.open_record)}"' in notices
    for body in html.values():  # every image has alt text
        for tag in re.findall(r"<img [^>]*>", body):
            assert re.search(r'alt="[^"]', tag) or 'alt=""' in tag and "share" in tag, tag


def test_english_where_given(hall: Hall, client: Client) -> None:
    publish(hall, build(hall))
    client.cookies["django_language"] = "en"
    page = client.get(
        "/public/exhibitions/red-guangxi/proclamation/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Guangxi was liberated in December 1949." in page and "The proclamation" in page
    notices = client.get(
        "/public/exhibitions/red-guangxi/notices/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "军管会通告" in notices  # no English title given: the Chinese one


def test_unknown_page_and_withdrawn_exhibition_are_404(hall: Hall, client: Client) -> None:
    exhibition = build(hall)
    publish(hall, exhibition)
    assert client.get("/public/exhibitions/red-guangxi/nowhere/").status_code == 404
    ex.withdraw(hall.users["publisher"], exhibition)
    assert client.get("/public/exhibitions/red-guangxi/proclamation/").status_code == 404
    hall_page = client.get("/public/exhibitions/").content.decode()
    assert "往期展览" in hall_page and "红色广西" in hall_page.split("往期展览")[1]


def test_leak_closing_a_record_removes_it_from_every_public_page_at_once(
    hall: Hall, client: Client
) -> None:
    exhibition = build(hall)
    user = hall.users["curator"]
    ex.edit_meta(
        user, exhibition, {"title": exhibition.title, "cover": item(hall, alt="封面：布告")}
    )
    exhibition.refresh_from_db()
    publish(hall, exhibition)
    closing = hall.open_record
    marks = [f"/iiif/3/c{c.pk}/" for c in hall.images[closing.pk]] + [record_url(closing)]
    before = "".join(pages_of(client).values())
    assert all(mark in before for mark in marks)

    set_open_status(closing, "未开放")

    after = pages_of(client)
    for path, body in after.items():
        for mark in marks:
            assert mark not in body, (path, mark)
    proclamation = after["/public/exhibitions/red-guangxi/proclamation/"]
    assert "block-image" not in proclamation  # the image block lost its only image: gone
    assert "1949年12月，广西解放。" in proclamation  # the curator's text stays
    notices = after["/public/exhibitions/red-guangxi/notices/"]
    other = hall.images[hall.other_record.pk][0].pk
    assert f"/iiif/3/c{other}/" in notices  # the gallery keeps the image that is still open
    # and the IIIF image service itself refuses the closed page
    closed_tile = client.get(
        f"/iiif/3/c{hall.images[closing.pk][0].pk}/full/!400,400/0/default.jpg"
    )
    assert closed_tile.status_code in (403, 404)


def test_preview_uses_the_public_templates_and_the_public_rule(hall: Hall, client: Client) -> None:
    exhibition = build(hall)
    client.force_login(hall.users["curator"])
    ex.add_block(hall.users["curator"], exhibition, 0, 0,
                 {"kind": "image", "items": [item(hall, hall.closed_record, alt="会议记录")]})  # fmt: skip
    response = client.get(f"/exhibits/exhibitions/{exhibition.pk}/preview/proclamation/")
    body = response.content.decode()
    assert response.status_code == 200 and "preview-note" in body
    assert 'class="portal"' in body  # the portal base, as the public sees it
    assert "/public/exhibitions/red-guangxi/proclamation/" in body  # shared: the public address
    assert f"/iiif/3/c{hall.images[hall.open_record.pk][0].pk}/" in body
    assert f"/iiif/3/c{hall.images[hall.closed_record.pk][0].pk}/" not in body
    assert client.get(f"/exhibits/exhibitions/{exhibition.pk}/preview/").status_code == 200
    reader = Client()
    reader.force_login(hall.users["reader"])
    assert reader.get(f"/exhibits/exhibitions/{exhibition.pk}/preview/").status_code == 403


def test_media_block_plays_the_public_recording_only_while_its_record_is_open(
    hall: Hall, client: Client
) -> None:
    from lantai.digitization.models import Recording

    component = hall.images[hall.other_record.pk][0]
    recording = Recording.objects.create(
        record=hall.other_record, component=component, source_name="讲话.mp3", kind="audio",
        path=component.path, sm3=component.sm3, sha256=component.sha256, size=component.size, status="done",
    )  # fmt: skip
    exhibition = build(hall)
    ex.add_block(hall.users["curator"], exhibition, 0, 0,
                 {"kind": "media", "recording": recording.pk, "start": 5, "end": 20, "caption": "讲话录音"})  # fmt: skip
    publish(hall, exhibition)
    page = client.get("/public/exhibitions/red-guangxi/proclamation/").content.decode()
    assert (
        f'<audio controls preload="none" src="/public/recordings/{recording.pk}/media#t=5,20"'
        in page
    )
    set_open_status(hall.other_record, "未开放")
    page = client.get("/public/exhibitions/red-guangxi/proclamation/").content.decode()
    assert "<audio" not in page and "讲话录音" not in page


def test_every_block_kind_renders_for_the_public(hall: Hall, client: Client) -> None:
    exhibition = build(hall)
    user, other = hall.users["curator"], hall.other_record
    for block in (
        {"kind": "deepzoom", "items": [item(hall, alt="布告高清")]},
        {"kind": "compare", "items": [item(hall, alt="左"), item(hall, other, alt="右")]},
        {"kind": "timeline", "heading": "大事记", "events": [
            {"date": "1949-12-11", "title": "广西全境解放", "record": other.pk},
            {"date": "1949-10-01", "title": "开国大典", "text": "北京", "item": item(hall, other, alt="通告配图")}]},
        {"kind": "map", "heading": "解放进程", "places": [{"place": "南宁市", "label": "南宁", "record": other.pk}]},
    ):  # fmt: skip
        ex.add_block(user, exhibition, 0, 1, block)
    publish(hall, exhibition)
    body = client.get("/public/exhibitions/red-guangxi/notices/").content.decode()
    assert "data-iiif-viewer" in body  # deep zoom through the shared viewer
    assert f"/iiif/3/c{hall.images[hall.open_record.pk][0].pk}/info.json" in body
    assert body.count("compare-pair") == 1 and 'alt="右"' in body
    assert body.index("1949-10-01") < body.index("1949-12-11")  # events by date
    assert 'alt="通告配图"' in body and "<svg" in body and "南宁" in body
    set_open_status(other, "未开放")
    body = client.get("/public/exhibitions/red-guangxi/notices/").content.decode()
    assert 'alt="右"' not in body and 'alt="通告配图"' not in body
    assert record_url(other) not in body
    # an event or place tied to the closed record goes with it (decision 0030); an event that
    # only showed one of its images stays, without the image
    assert "广西全境解放" not in body and "解放进程" not in body
    assert "开国大典" in body
