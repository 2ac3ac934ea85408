"""The staff editor over HTTP: create, sections, pages and blocks by plain forms (a refused form
keeps everything typed), review and publication buttons by permission (403s audited)."""

from __future__ import annotations

from django.test import Client

from lantai.core.models import AuditEntry
from lantai.exhibits.models import Exhibition

from .exhibition_fixtures import Hall

BASE = "/exhibits/exhibitions/"


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def build_by_forms(hall: Hall, client: Client) -> Exhibition:
    response = client.post(BASE, {"title": "百年征程 初心永恒", "slug": "century",
                                  "repository": hall.repository.pk})  # fmt: skip
    exhibition = Exhibition.objects.get(slug="century")
    assert response.status_code == 302 and response["Location"] == f"{BASE}{exhibition.pk}/"
    edit = f"{BASE}{exhibition.pk}/structure/"
    assert client.post(edit, {"op": "add_section", "title": "开篇"}).status_code == 302
    assert (
        client.post(edit, {"op": "add_page", "s": "1", "title": "序厅", "slug": "hall"}).status_code
        == 302
    )
    block = f"{BASE}{exhibition.pk}/sections/1/pages/1/blocks/new/"
    response = client.post(
        block, {"kind": "text", "heading": "前言", "body": "百年征程。", "action": "save"}
    )
    assert response.status_code == 302
    return exhibition


def test_build_an_exhibition_by_forms(hall: Hall) -> None:
    client = signed_in(hall.users["curator"])
    exhibition = build_by_forms(hall, client)
    block = f"{BASE}{exhibition.pk}/sections/1/pages/1/blocks/new/"
    code = hall.open_record.reference_code
    # step 1: the 档号 finds the record's public page images to pick from
    response = client.post(block, {"kind": "image", "items-0-record": code, "items-0-alt": "",
                                   "action": "refresh"})  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200
    first, second = hall.images[hall.open_record.pk]
    assert f'value="{first.pk}"' in body and f'value="{second.pk}"' in body
    # saving without alt text is refused; what was typed stays in the form
    response = client.post(block, {"kind": "image", "items-0-record": code,
                                   "items-0-component": str(second.pk), "items-0-caption": "布告第二页",
                                   "action": "save"})  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 400
    assert (
        "第1部分第1页第2块（图片）第1幅图：缺少替代文字（无障碍要求每幅图片都有替代文字）" in body
    )
    assert 'value="布告第二页"' in body and f'value="{second.pk}" checked' in body
    response = client.post(block, {"kind": "image", "items-0-record": code,
                                   "items-0-component": str(second.pk), "items-0-alt": "布告第二页原件",
                                   "action": "save"})  # fmt: skip
    assert response.status_code == 302
    exhibition.refresh_from_db()
    blocks = exhibition.content["sections"][0]["pages"][0]["blocks"]
    assert blocks[1]["items"] == [
        {"record": hall.open_record.pk, "component": second.pk, "alt": "布告第二页原件"}
    ]
    # an unknown 档号 is named
    response = client.post(
        block, {"kind": "image", "items-0-record": "X-999", "items-0-alt": "x", "action": "save"}
    )
    assert "找不到档号或编号为“X-999”的档案" in response.content.decode()
    page = client.get(f"{BASE}{exhibition.pk}/")
    assert page.status_code == 200 and "提交审核" in page.content.decode()


def test_review_buttons_by_permission(hall: Hall) -> None:
    curator = signed_in(hall.users["curator"])
    exhibition = build_by_forms(hall, curator)
    assert curator.post(f"{BASE}{exhibition.pk}/submit/").status_code == 302
    page = curator.get(f"{BASE}{exhibition.pk}/").content.decode()
    assert "批准发布" not in page and "本人提交的展览须由另一位" in page
    response = curator.post(f"{BASE}{exhibition.pk}/decide/", {"op": "approve"})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="access_denied").exists()
    cataloguer = signed_in(hall.users["cataloguer"])
    assert cataloguer.post(f"{BASE}{exhibition.pk}/decide/", {"op": "approve"}).status_code == 403
    publisher = signed_in(hall.users["publisher"])
    assert "批准发布" in publisher.get(f"{BASE}{exhibition.pk}/").content.decode()
    assert (
        publisher.post(
            f"{BASE}{exhibition.pk}/decide/", {"op": "approve", "note": "同意"}
        ).status_code
        == 302
    )
    assert Client().get("/public/exhibitions/century/hall/").status_code == 200
    assert signed_in(hall.users["reader"]).get(BASE).status_code == 403


def test_submission_problems_are_listed(hall: Hall) -> None:
    client = signed_in(hall.users["curator"])
    exhibition = build_by_forms(hall, client)
    client.post(
        f"{BASE}{exhibition.pk}/structure/",
        {"op": "add_page", "s": "1", "title": "空", "slug": "empty"},
    )
    response = client.post(f"{BASE}{exhibition.pk}/submit/")
    assert response.status_code == 400
    assert "第1部分第2页：这一页还没有内容块" in response.content.decode()


def test_timeline_by_lines_names_records_by_code(hall: Hall) -> None:
    client = signed_in(hall.users["curator"])
    exhibition = build_by_forms(hall, client)
    block = f"{BASE}{exhibition.pk}/sections/1/pages/1/blocks/new/"
    code = hall.open_record.reference_code
    lines = f"1949-12-11 | 广西全境解放 | 南宁 | {code}\n1949-13-01 | 错误日期"
    response = client.post(block, {"kind": "timeline", "lines": lines, "action": "save"})
    body = response.content.decode()
    assert response.status_code == 400 and "第2个事件：日期“1949-13-01”不是有效日期" in body
    assert "错误日期" in body  # the lines typed are kept
    response = client.post(
        block, {"kind": "timeline", "lines": lines.splitlines()[0], "action": "save"}
    )
    assert response.status_code == 302
    exhibition.refresh_from_db()
    event = exhibition.content["sections"][0]["pages"][0]["blocks"][1]["events"][0]
    assert event == {
        "date": "1949-12-11",
        "title": "广西全境解放",
        "text": "南宁",
        "record": hall.open_record.pk,
    }
    edit = client.get(f"{BASE}{exhibition.pk}/sections/1/pages/1/blocks/2/").content.decode()
    assert f"| {code}" in edit  # shown again by 档号


def test_pick_a_record_found_by_search(hall: Hall) -> None:
    client = signed_in(hall.users["curator"])
    exhibition = build_by_forms(hall, client)
    block = f"{BASE}{exhibition.pk}/sections/1/pages/1/blocks/new/"
    found = client.get(block, {"kind": "image", "q": "布告"}).content.decode()
    assert hall.open_record.reference_code in found
    assert hall.closed_record.reference_code not in found  # its title does not match
    closed = client.get(block, {"kind": "image", "q": "秘藏"}).content.decode()
    assert "未开放，不能公开展出" in closed and "pick=" not in closed
    picked = client.get(
        block, {"kind": "image", "pick": hall.open_record.reference_code}
    ).content.decode()
    assert f'value="{hall.open_record.reference_code}"' in picked
    assert (
        f'value="{hall.images[hall.open_record.pk][1].pk}"' in picked
    )  # its page images to choose
