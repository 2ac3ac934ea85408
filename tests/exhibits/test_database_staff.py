# ruff: noqa: F811  (the fixtures of conftest_databases are imported, then requested by name)
"""Staff pages of the 专题数据库: a curator builds a database through the pages (create, fields,
add by 档号 and by search, describe, condition, publish); who may not is refused in Chinese."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from lantai.exhibits.models import CarrierCondition, Database, Entry

from .conftest_databases import Archive, _database_settings, archive, red_database  # noqa: F401

STAFF = "/exhibits/databases/"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_curator_builds_and_publishes_a_database_through_the_pages(archive: Archive) -> None:
    client = _client(archive.users["curator"])
    response = client.post(
        STAFF + "new/",
        {"repository": archive.repository.pk, "code": "HS01", "name": "红色档案专题数据库",
         "slug": "red", "kind": "red", "description": "革命历史档案"},
    )  # fmt: skip
    database = Database.objects.get(slug="red")
    assert response.status_code == 302 and response["Location"] == f"{STAFF}{database.pk}/"
    baise, longzhou = archive.records["baise"], archive.records["longzhou"]
    client.post(f"{STAFF}{database.pk}/add/", {"records": f"{baise.reference_code}\nNO-SUCH\n"})
    html = client.get(f"{STAFF}{database.pk}/").content.decode()
    assert "“NO-SUCH”：没有这件档案，或您无权查阅" in html and "已加入 1 件档案" in html
    client.post(f"{STAFF}{database.pk}/search/", {"q": "龙州"})
    assert set(Entry.objects.filter(database=database).values_list("record_id", flat=True)) == {
        baise.pk, longzhou.pk,
    }  # fmt: skip
    response = client.post(
        f"{STAFF}{database.pk}/records/{baise.pk}/",
        {"v_period": "土地革命战争时期", "v_people": "邓小平、张云逸", "v_places": "百色", "v_event": ""},
    )  # fmt: skip
    assert response.status_code == 302
    assert Entry.objects.get(database=database, record=baise).values["people"] == [
        "邓小平",
        "张云逸",
    ]
    client.post(
        f"{STAFF}{database.pk}/records/{baise.pk}/condition/",
        {"carrier": "纸质", "grade": "轻度破损", "damage": ["霉变"], "assessed_on": "2024-05-01"},
    )
    assert CarrierCondition.objects.get(record=baise).grade == "轻度破损"
    client.post(f"{STAFF}{database.pk}/publish/", {"action": "publish"})
    database.refresh_from_db()
    assert database.status == "published"
    public = Client().get(f"/public/databases/{archive.repository.code}/red/").content.decode()
    assert "百色起义宣言" in public and "龙州起义布告" in public


def test_a_bad_value_is_shown_in_chinese_and_nothing_is_lost(archive: Archive) -> None:
    database = red_database(archive)
    client = _client(archive.users["curator"])
    pk = archive.records["baise"].pk
    response = client.post(
        f"{STAFF}{database.pk}/records/{pk}/", {"v_period": "唐朝", "v_people": "韦拔群"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "“历史时期”：“唐朝”不在可选项中" in html
    assert 'value="韦拔群"' in html  # what the curator typed is still there
    assert Entry.objects.get(database=database, record_id=pk).values["period"] == "土地革命战争时期"


def test_field_editor_saves_and_refuses_bad_rows(archive: Archive) -> None:
    database = red_database(archive)
    client = _client(archive.users["curator"])
    post: dict[str, Any] = {"rows": "2", "key_0": "period", "label_0": "历史时期", "type_0": "choice",
                            "choices_0": "甲\n乙", "facet_0": "on", "key_1": "Bad Key", "label_1": "坏",
                            "type_1": "text"}  # fmt: skip
    html = client.post(f"{STAFF}{database.pk}/fields/", post).content.decode()
    assert "代码应以小写字母开头" in html
    post["key_1"] = "note"
    assert client.post(f"{STAFF}{database.pk}/fields/", post).status_code == 302
    database.refresh_from_db()
    assert [f["key"] for f in database.fields] == ["period", "note"]
    assert database.fields[0]["choices"] == ["甲", "乙"]


@pytest.mark.parametrize("who", ["reader"])
def test_without_curate_the_pages_are_refused(archive: Archive, who: str) -> None:
    database = red_database(archive)
    client = _client(archive.users[who])
    for url in (STAFF, f"{STAFF}new/", f"{STAFF}{database.pk}/"):
        response = client.get(url)
        assert response.status_code == 403
        assert "没有" in response.content.decode()
    assert client.post(f"{STAFF}{database.pk}/publish/", {"action": "unpublish"}).status_code == 403
    database.refresh_from_db()
    assert database.status == "published"


def test_a_cataloguer_may_not_publish(archive: Archive) -> None:
    database = red_database(archive)
    client = _client(archive.users["cataloguer"])
    html = client.get(f"{STAFF}{database.pk}/").content.decode()
    assert "停止发布" not in html
    assert client.post(f"{STAFF}{database.pk}/publish/", {"action": "unpublish"}).status_code == 403
    database.refresh_from_db()
    assert database.status == "published"


def test_anonymous_is_sent_to_sign_in(archive: Archive) -> None:
    response = Client().get(STAFF)
    assert response.status_code == 302 and "login" in response["Location"]


def test_forms_need_csrf(archive: Archive) -> None:
    database = red_database(archive)
    client = Client(enforce_csrf_checks=True)
    client.force_login(archive.users["curator"])
    assert client.post(f"{STAFF}{database.pk}/publish/", {"action": "unpublish"}).status_code == 403
    database.refresh_from_db()
    assert database.status == "published"


def test_unknown_database_or_record_is_404(archive: Archive) -> None:
    database = red_database(archive)
    client = _client(archive.users["curator"])
    assert client.get(f"{STAFF}999999/").status_code == 404
    assert client.get(f"{STAFF}{database.pk}/records/99999999/").status_code == 404
    assert client.get(f"{STAFF}{database.pk}/?page=99999999999999999999").status_code == 200


def test_a_thematic_collection_is_turned_into_a_database_from_the_list(archive: Archive) -> None:
    from lantai.catalog import thematic

    collection = thematic.create_collection(archive.repository, "FY01", "壮族三月三档案")
    thematic.add_to_collection(collection, [archive.records["donglan"].pk])
    client = _client(archive.users["curator"])
    html = client.get(STAFF).content.decode()
    assert f"new/?collection={collection.pk}" in html and "壮族三月三档案" in html
    form = client.get(f"{STAFF}new/?collection={collection.pk}").content.decode()
    assert "以专题“壮族三月三档案”及其档案建立数据库。" in form
    response = client.post(
        f"{STAFF}new/", {"collection": collection.pk, "slug": "sanyuesan", "kind": "intangible"}
    )
    database = Database.objects.get(collection=collection)
    assert response.status_code == 302 and database.kind == "intangible"
    assert [e.record_id for e in database.entries.all()] == [archive.records["donglan"].pk]
    assert f"new/?collection={collection.pk}" not in client.get(STAFF).content.decode()
