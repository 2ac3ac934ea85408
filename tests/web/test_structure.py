"""Archival structure in the staff UI: 档案馆, 全宗, 门类 and 档号 rules, the 漏号 report,
thematic collections, volumes and their documents, deleting records, digital components and
changing one's own password."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lantai.catalog import components, importing, services, thematic
from lantai.catalog.models import (
    Category,
    CodeRuleDefinition,
    Component,
    Fonds,
    Record,
    Repository,
    YearCount,
)
from lantai.core import accounts
from lantai.core.models import AuditEntry, User
from lantai.core.sm3 import sm3_hex

from .conftest import PASSWORD, Site

pytestmark = pytest.mark.django_db

VOLUMES = "档号,责任者,案卷题名,年度,保管期限,密级\n" + "\n".join(
    f"Z109-RS·2011-Y-{n:03d},人事处,2011年干部任免材料（第{n}卷）,2011,永久,公开" for n in (1, 2)
)
DOCUMENTS = "档号,责任者,题名,日期,密级\n" + "\n".join(
    [
        "Z109-RS·2011-Y-001-001,人事处,关于张三同志任职的通知,20110301,公开",
        "Z109-RS·2011-Y-001-002,人事处,关于李四同志任职的通知,20110302,公开",
    ]
)


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode("utf-8")


def volumes(site: Site, tmp_path: Path, *, documents: bool = True) -> Category:
    """人事 (RS, arranged by volume) in Z109 with two volumes and, by default, two documents in
    the first one."""
    rs = services.create_category(site.fonds, "RS")
    (tmp_path / "v.csv").write_text(VOLUMES, encoding="utf-8")
    assert importing.import_file(tmp_path / "v.csv", rs).rows_imported == 2
    if documents:
        (tmp_path / "d.csv").write_text(DOCUMENTS, encoding="utf-8")
        assert importing.import_file(tmp_path / "d.csv", rs, level="volume_item").rows_imported == 2
    return rs


# --- 档案馆 ----------------------------------------------------------------------------------------
def test_structure_page_lists_repositories_and_rules_with_template_and_example(
    client: Client, site: Site
) -> None:
    login(client, site.users["cataloguer"])
    page = text(client.get(reverse("web:structure")))
    assert site.repository.name in page and "默认" in page
    assert "{fonds}-{category}·{year}-{retention}-{org}-{item:4}" in page  # dat22's template
    assert "Z109-WS·2011-Y-BGS-0001" in page  # and its example
    assert reverse("web:repository_create") in page


def test_structure_pages_need_the_structure_permission(client: Client, site: Site) -> None:
    login(client, site.users["reader"])
    for url in (
        reverse("web:structure"),
        reverse("web:repository_create"),
        reverse("web:fonds_create"),
        reverse("web:category_create", args=[site.fonds.pk]),
        reverse("web:code_rule_create"),
        reverse("web:collection_create"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "管理全宗和门类" in text(response)
    # and the browse pages offer no structure links to them
    assert reverse("web:fonds_create") not in text(client.get(reverse("web:browse")))
    fonds_page = text(client.get(reverse("web:fonds", args=[site.fonds.pk])))
    assert reverse("web:category_create", args=[site.fonds.pk]) not in fonds_page


def test_add_a_repository_and_make_it_the_default(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:repository_create"),
        {"code": "620100", "name": "兰州市档案馆", "level": "city", "region": "兰州市"},
    )
    assert response.status_code == 302, text(response)
    repo = Repository.objects.get(code="620100")
    assert (repo.name, repo.level, repo.region, repo.is_default) == (
        "兰州市档案馆",
        "city",
        "兰州市",
        False,
    )
    assert AuditEntry.objects.filter(
        action="create", target_type="repository", actor="zhangsan"
    ).exists()
    response = client.post(reverse("web:repository_default", args=[repo.pk]))
    assert response.status_code == 302
    assert Repository.objects.get(is_default=True) == repo
    # a duplicate code is refused on the field, in Chinese
    again = client.post(
        reverse("web:repository_create"),
        {"code": "620100", "name": "重复", "level": "city", "region": ""},
    )
    assert again.status_code == 200 and "档案馆代码“620100”已存在" in text(again)
    assert Repository.objects.filter(code="620100").count() == 1


def test_a_cataloguer_limited_to_some_archives_cannot_add_repositories(
    client: Client, site: Site
) -> None:
    user = site.users["noscope"]
    accounts.grant(user, actor=None, repository_ids=[site.repository.pk])
    login(client, user)
    response = client.get(reverse("web:repository_create"))
    assert response.status_code == 403 and "全部档案馆" in text(response)
    other = services.create_repository("620200", "嘉峪关市档案馆")
    assert client.post(reverse("web:repository_default", args=[other.pk])).status_code == 404
    with pytest.raises(services.PermissionDenied):
        services.set_default_repository(site.repository, user=user)


# --- 全宗 ------------------------------------------------------------------------------------------
def test_add_a_fonds_from_the_browse_page(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    browse = text(client.get(reverse("web:browse")))
    assert reverse("web:fonds_create") in browse and "新增全宗" in browse
    response = client.post(
        reverse("web:fonds_create"),
        {
            "repository": str(site.repository.pk),
            "code": "z110",
            "name": "兰州市财政局",
            "creator": "",
            "description": "1950 年成立。",
        },
    )
    assert response.status_code == 302, text(response)
    fonds = Fonds.objects.get(code="Z110")
    assert (fonds.creator, fonds.description) == ("兰州市财政局", "1950 年成立。")
    page = text(client.get(response["Location"]))
    assert "1950 年成立。" in page and "新增门类" in page


@pytest.mark.parametrize(
    ("code", "message"),
    [("Z109", "已有全宗号“Z109”"), ("全宗一", "1–6 位大写字母或数字")],
    ids=["duplicate", "bad-code"],
)
def test_a_bad_fonds_code_is_refused_in_chinese(
    client: Client, site: Site, code: str, message: str
) -> None:
    login(client, site.users["cataloguer"])
    before = Fonds.objects.count()
    response = client.post(
        reverse("web:fonds_create"),
        {"repository": str(site.repository.pk), "code": code, "name": "某局"},
    )
    assert response.status_code == 200
    assert message in text(response)
    assert Fonds.objects.count() == before


def test_fonds_only_in_repositories_granted_to_the_user(client: Client, site: Site) -> None:
    user = site.users["noscope"]
    login(client, user)
    assert client.get(reverse("web:fonds_create")).status_code == 403
    other = services.create_repository("620200", "嘉峪关市档案馆")
    accounts.grant(user, actor=None, repository_ids=[other.pk])
    page = text(client.get(reverse("web:fonds_create")))
    assert "嘉峪关市档案馆" in page and site.repository.name not in page
    response = client.post(
        reverse("web:fonds_create"),
        {"repository": str(site.repository.pk), "code": "Z200", "name": "某局"},
    )
    assert response.status_code == 200 and not Fonds.objects.filter(code="Z200").exists()


# --- 门类 ------------------------------------------------------------------------------------------
def test_add_a_category_with_the_default_rule(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    url = reverse("web:category_create", args=[site.fonds.pk])
    form = text(client.get(url))
    assert "人事" in form and "volume-item-ws" in form
    assert "{fonds}-{category}·{year}-{retention}-{volume:3}" in form  # templates shown
    response = client.post(url, {"code": "RS"})
    assert response.status_code == 302, text(response)
    rs = Category.objects.get(fonds=site.fonds, code="RS")
    assert (rs.arrangement, rs.code_rule, rs.volume_item_rule) == (
        "volume",
        "volume-ws",
        "volume-item-ws",
    )
    page = text(client.get(response["Location"]))
    assert "按卷" in page and "volume-ws" in page


def test_category_refusals(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    url = reverse("web:category_create", args=[site.fonds.pk])
    # already there
    response = client.post(url, {"code": "WS"})
    assert "全宗 Z109 已有门类 WS" in text(response)
    # not in the DA/T 13 list: the form offers only the list, the service names it
    response = client.post(url, {"code": "XX"})
    assert response.status_code == 200 and "XX" in text(response)
    with pytest.raises(services.CatalogError, match="不在 DA/T 13 门类代码表中"):
        services.create_category(site.fonds, "XX")
    # a volume rule for a category arranged by item
    response = client.post(url, {"code": "ZP", "code_rule": "volume-ws"})
    assert "与门类的整理方式（按件）不符" in text(response)
    assert not Category.objects.filter(fonds=site.fonds, code__in=["XX", "ZP"]).exists()


def test_define_a_custom_code_rule_and_use_it(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    url = reverse("web:code_rule_create")
    bad = client.post(
        url, {"name": "city-ws", "template": "{fonds}-{nonsense}", "arrangement": "item"}
    )
    assert bad.status_code == 200
    message = re.search(r'<p class="field-error">(.*?)</p>', text(bad))
    assert message and re.search(r"[\u4e00-\u9fff]", message.group(1)), text(bad)
    assert "nonsense" in message.group(1)
    assert not CodeRuleDefinition.objects.exists()

    good = client.post(
        url,
        {
            "name": "city-ws",
            "label": "市馆文书",
            "template": "{fonds}-{category}·{year}-{item:5}",
            "arrangement": "item",
        },
    )
    assert good.status_code == 302, text(good)
    assert "city-ws" in [c.name for c in services.code_rule_choices()]
    assert "{fonds}-{category}·{year}-{item:5}" in text(client.get(reverse("web:structure")))
    again = client.post(
        url, {"name": "dat22", "template": "{fonds}-{item:4}", "arrangement": "item"}
    )
    assert "档号规则“dat22”已存在" in text(again)

    response = client.post(
        reverse("web:category_create", args=[site.other_fonds.pk]),
        {"code": "ZP", "code_rule": "city-ws"},
    )
    assert response.status_code == 302, text(response)
    assert Category.objects.get(fonds=site.other_fonds, code="ZP").code_rule == "city-ws"


# --- 漏号 ------------------------------------------------------------------------------------------
def test_gap_report_lists_missing_numbers_and_duplicates(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    category_page = text(client.get(reverse("web:category", args=[site.category.pk])))
    url = reverse("web:category_gaps", args=[site.category.pk])
    assert url in category_page
    assert "未发现漏号" in text(client.get(url))

    services.delete_record(site.records[1])  # Z109-WS·2022-Y-BGS-0002
    page = text(client.get(url))
    assert '<td class="code">Z109-WS·2022-Y-BGS-</td><td class="gap-missing">0002</td>' in page
    assert "缺少 1 个号" in page and "未发现重号" in page
    # a legacy code written with full-width digits: 2023-0002 reads as 2023-0001 once normalised
    Record.objects.filter(pk=site.records[4].pk).update(reference_code="Z109-WS·2023-Y-BGS-０００1")
    page = text(client.get(url))
    assert "缺少 2 个号" in page
    assert '<td class="code">Z109-WS·2023-Y-BGS-0001</td><td class="num">2</td>' in page


def test_gap_report_of_a_volume_category_checks_volumes_and_documents(
    client: Client, site: Site, tmp_path: Path
) -> None:
    rs = volumes(site, tmp_path)
    Record.objects.filter(reference_code="Z109-RS·2011-Y-001-001").delete()
    login(client, site.users["cataloguer"])
    page = text(client.get(reverse("web:category_gaps", args=[rs.pk])))
    assert "volume-item-ws" in page and "Z109-RS·2011-Y-001-" in page and "001" in page


def test_gap_report_is_404_outside_the_scope(client: Client, site: Site) -> None:
    login(client, site.users["noscope"])
    assert client.get(reverse("web:category_gaps", args=[site.category.pk])).status_code == 404


# --- thematic collections -------------------------------------------------------------------------
def test_collections_list_detail_and_add_from_the_record_page(client: Client, site: Site) -> None:
    red = thematic.create_collection(site.repository, "red", "红色档案专题数据库", "革命历史档案")
    thematic.add_to_collection(red, [site.records[0].pk])
    secret = site.records[1]
    Record.objects.filter(pk=secret.pk).update(
        classification="confidential", classification_level=2
    )
    thematic.add_to_collection(red, [secret.pk])
    reader = site.users["reader"]  # clearance 0: does not see the 秘密 record
    login(client, reader)
    listing = text(client.get(reverse("web:collections")))
    assert "红色档案专题数据库" in listing
    detail = text(client.get(reverse("web:collection", args=[red.pk])))
    assert site.records[0].reference_code in detail
    assert secret.reference_code not in detail
    # the reader may not add records to it
    record_url = reverse("web:record", args=[site.records[2].pk])
    assert "加入专题" not in text(client.get(record_url))
    add_url = reverse("web:record_add_to_collection", args=[site.records[2].pk])
    assert client.post(add_url, {"collection": red.pk}).status_code == 403

    login(client, site.users["cataloguer"])
    assert "加入专题" in text(client.get(record_url))
    response = client.post(add_url, {"collection": red.pk})
    assert response.status_code == 302
    assert red.records.filter(pk=site.records[2].pk).exists()
    assert "红色档案专题数据库" in text(client.get(record_url))
    assert AuditEntry.objects.filter(action="collection_add", actor="zhangsan").exists()


def test_collection_is_invisible_outside_the_scope(client: Client, site: Site) -> None:
    red = thematic.create_collection(site.repository, "red", "红色档案专题数据库")
    login(client, site.users["noscope"])
    assert "红色档案专题数据库" not in text(client.get(reverse("web:collections")))
    assert client.get(reverse("web:collection", args=[red.pk])).status_code == 404


def test_collection_records_are_keyset_paginated(site: Site) -> None:
    red = thematic.create_collection(site.repository, "red", "红色档案专题数据库")
    thematic.add_to_collection(red, [r.pk for r in site.records])
    user = site.users["cataloguer"]
    seen: list[str] = []
    after = None
    while True:
        rows, after = thematic.collection_records(user, red, after, page_size=4)
        seen += [r.reference_code for r in rows]
        if after is None:
            break
    assert seen == sorted(r.reference_code for r in site.records)


def test_create_a_collection(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:collection_create"),
        {"repository": str(site.repository.pk), "code": "red", "name": "红色档案"},
    )
    assert response.status_code == 302, text(response)
    again = client.post(
        reverse("web:collection_create"),
        {"repository": str(site.repository.pk), "code": "red", "name": "又一个"},
    )
    assert "已有专题“red”" in text(again)


# --- volumes --------------------------------------------------------------------------------------
def test_volume_page_lists_its_documents_and_a_document_links_its_volume(
    client: Client, site: Site, tmp_path: Path
) -> None:
    volumes(site, tmp_path)
    volume = Record.objects.get(reference_code="Z109-RS·2011-Y-001")
    document = Record.objects.get(reference_code="Z109-RS·2011-Y-001-002")
    login(client, site.users["cataloguer"])
    page = text(client.get(reverse("web:record", args=[volume.pk])))
    assert "卷内文件" in page and "关于李四同志任职的通知" in page
    assert reverse("web:record", args=[document.pk]) in page
    child = text(client.get(reverse("web:record", args=[document.pk])))
    assert "所属案卷" in child and reverse("web:record", args=[volume.pk]) in child


def test_import_wizard_imports_a_volume_list_and_then_its_documents(
    client: Client, site: Site
) -> None:
    rs = services.create_category(site.fonds, "RS")
    login(client, site.users["cataloguer"])

    def run(data: str, level: str) -> str:
        response = client.post(
            reverse("web:import_upload"),
            {
                "category": str(rs.pk),
                "level": level,
                "file": SimpleUploadedFile("目录.csv", data.encode("utf-8")),
            },
        )
        assert response.status_code == 302, text(response)
        token = re.search(r"/import/([0-9a-f]{32})/mapping/", response["Location"])
        assert token
        page = text(client.get(response["Location"]))
        selected = dict(
            re.findall(r'name="(col_\d+)".*?<option value="(\w*)" selected', page, re.S)
        )
        response = client.post(reverse("web:import_mapping", args=[token.group(1)]), selected)
        preview = text(client.get(response["Location"]))
        response = client.post(reverse("web:import_run", args=[token.group(1)]))
        assert response.status_code == 302
        return preview

    upload_page = text(client.get(reverse("web:import_upload")))
    assert "卷内文件目录" in upload_page and "案卷目录" in upload_page
    assert "案卷目录" in run(VOLUMES, "volume")
    assert "卷内文件目录" in run(DOCUMENTS, "volume_item")
    volume = Record.objects.get(reference_code="Z109-RS·2011-Y-001")
    assert volume.level == "volume"
    assert sorted(volume.children.values_list("reference_code", flat=True)) == [
        "Z109-RS·2011-Y-001-001",
        "Z109-RS·2011-Y-001-002",
    ]
    assert set(volume.children.values_list("level", flat=True)) == {"volume_item"}


def test_import_wizard_refuses_a_volume_level_for_a_category_arranged_by_item(
    client: Client, site: Site
) -> None:
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:import_upload"),
        {
            "category": str(site.category.pk),
            "level": "volume_item",
            "file": SimpleUploadedFile("目录.csv", DOCUMENTS.encode("utf-8")),
        },
    )
    assert response.status_code == 200
    assert "按件整理，不能导入卷内文件目录" in text(response)


# --- deleting records -----------------------------------------------------------------------------
def test_delete_a_record_after_confirmation(client: Client, site: Site) -> None:
    record = site.records[0]
    login(client, site.users["cataloguer"])
    detail = text(client.get(reverse("web:record", args=[record.pk])))
    url = reverse("web:record_delete", args=[record.pk])
    assert url in detail
    confirm = client.get(url)
    assert confirm.status_code == 200 and "确定删除" in text(confirm)
    assert Record.objects.filter(pk=record.pk).exists()  # a GET deletes nothing
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:category", args=[site.category.pk])
    assert not Record.objects.filter(pk=record.pk).exists()
    assert YearCount.objects.get(category=site.category, year=2022).count == 2
    entry = AuditEntry.objects.filter(action="delete", target_type="record").get()
    assert entry.actor == "zhangsan" and entry.target_id == str(record.pk)


def test_a_volume_with_documents_cannot_be_deleted(
    client: Client, site: Site, tmp_path: Path
) -> None:
    volumes(site, tmp_path)
    volume = Record.objects.get(reference_code="Z109-RS·2011-Y-001")
    with pytest.raises(services.CatalogError, match="内还有 2 份卷内文件"):
        services.delete_record(volume)
    login(client, site.users["cataloguer"])
    url = reverse("web:record_delete", args=[volume.pk])
    assert "请先删除卷内文件" in text(client.get(url))
    response = client.post(url)
    assert response.status_code == 400 and "内还有 2 份卷内文件" in text(response)
    assert Record.objects.filter(pk=volume.pk).exists()
    # an empty volume goes
    empty = Record.objects.get(reference_code="Z109-RS·2011-Y-002")
    assert client.post(reverse("web:record_delete", args=[empty.pk])).status_code == 302
    assert not Record.objects.filter(pk=empty.pk).exists()


def test_delete_needs_the_edit_permission(client: Client, site: Site) -> None:
    login(client, site.users["reader"])
    url = reverse("web:record_delete", args=[site.records[0].pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert Record.objects.filter(pk=site.records[0].pk).exists()


# --- digital components ---------------------------------------------------------------------------
PDF = b"%PDF-1.4\n% Lantai test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_upload_and_download_a_component(client: Client, site: Site, settings: Any) -> None:
    record = site.records[0]
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:component_upload", args=[record.pk]),
        {"file": SimpleUploadedFile("关于档案工作的通知.pdf", PDF)},
    )
    assert response.status_code == 302
    component = Component.objects.get(record=record)
    digest = sm3_hex(PDF)
    assert (component.name, component.size, component.mime_type, component.sm3) == (
        "关于档案工作的通知.pdf",
        len(PDF),
        "application/pdf",
        digest,
    )
    stored = Path(settings.MEDIA_ROOT) / digest[:2] / digest
    assert component.path == f"{digest[:2]}/{digest}" and stored.read_bytes() == PDF
    assert AuditEntry.objects.filter(
        action="create", target_type="component", actor="zhangsan"
    ).exists()

    page = text(client.get(reverse("web:record", args=[record.pk])))
    download_url = reverse("web:component_download", args=[component.pk])
    assert "关于档案工作的通知.pdf" in page and digest in page and download_url in page

    download = client.get(download_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert f"filename*=utf-8''{quote('关于档案工作的通知.pdf')}" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/octet-stream"
    assert "sandbox" in download["Content-Security-Policy"]
    assert AuditEntry.objects.filter(action="component_download", actor="zhangsan").exists()


def test_the_same_content_twice_is_stored_once(site: Site, settings: Any) -> None:
    a = components.attach_component(site.records[0], [PDF[:10], PDF[10:]], "a.pdf", user=None)
    b = components.attach_component(site.records[1], [PDF], "b.pdf", user=None)
    assert a.path == b.path and a.sha256 == b.sha256
    files = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert len(files) == 1


def test_an_empty_upload_is_refused(client: Client, site: Site, settings: Any) -> None:
    record = site.records[0]
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:component_upload", args=[record.pk]),
        {"file": SimpleUploadedFile("空.pdf", b"")},
        follow=True,
    )
    assert "空文件" in text(response)
    assert not Component.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "name", ["../x.pdf", "..\\x.pdf", "a/b.pdf", "bad\x00name.pdf", "line\nbreak.pdf", "..", ""]
)
def test_names_with_separators_or_control_characters_are_refused(
    site: Site, settings: Any, name: str
) -> None:
    with pytest.raises(services.CatalogError) as error:
        components.attach_component(site.records[0], [PDF], name, user=None)
    assert error.value.field == "file" and re.search(r"[\u4e00-\u9fff]", error.value.message_zh)
    assert not Component.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_traversal_name_sent_by_a_browser_is_stored_inside_media_root(
    client: Client, site: Site, settings: Any
) -> None:
    login(client, site.users["cataloguer"])
    client.post(
        reverse("web:component_upload", args=[site.records[0].pk]),
        {"file": SimpleUploadedFile("../../x.pdf", PDF)},
    )
    component = Component.objects.get()
    assert "/" not in component.name and ".." not in component.name
    root = Path(settings.MEDIA_ROOT).resolve()
    assert (root / component.path).resolve().is_relative_to(root)


def test_component_download_is_404_without_scope_and_upload_needs_edit(
    client: Client, site: Site
) -> None:
    component = components.attach_component(site.records[0], [PDF], "通知.pdf", user=None)
    login(client, site.users["noscope"])
    url = reverse("web:component_download", args=[component.pk])
    assert client.get(url).status_code == 404
    assert (
        client.post(
            reverse("web:component_upload", args=[site.records[0].pk]),
            {"file": SimpleUploadedFile("x.pdf", PDF)},
        ).status_code
        == 404
    )
    login(client, site.users["reader"])  # sees the record, may not edit it
    assert client.get(url).status_code == 200
    assert "上传电子文件" not in text(client.get(reverse("web:record", args=[site.records[0].pk])))
    response = client.post(
        reverse("web:component_upload", args=[site.records[0].pk]),
        {"file": SimpleUploadedFile("x.pdf", PDF)},
    )
    assert response.status_code == 403
    assert Component.objects.count() == 1


def test_deleting_a_record_removes_its_component_rows(site: Site) -> None:
    component = components.attach_component(site.records[0], [PDF], "通知.pdf", user=None)
    services.delete_record(site.records[0])
    assert not Component.objects.filter(pk=component.pk).exists()
    assert AuditEntry.objects.filter(
        action="delete", target_type="component", target_id=str(component.pk)
    ).exists()


# --- changing one's own password ------------------------------------------------------------------
NEW_PASSWORD = "Dunhuang#Mogao1900"


def test_change_own_password(client: Client, site: Site) -> None:
    user = site.users["reader"]
    login(client, user)
    assert reverse("web:password_change") in text(client.get(reverse("web:home")))
    response = client.post(
        reverse("web:password_change"),
        {"old_password": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get(reverse("web:browse")).status_code == 200  # still signed in
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.filter(action="password_change").get()
    assert entry.actor == "wangwu" and entry.target_id == str(user.pk)
    assert Client().login(username="wangwu", password=NEW_PASSWORD)


@pytest.mark.parametrize(
    ("old", "new", "new2", "message"),
    [
        ("wrong-password", NEW_PASSWORD, NEW_PASSWORD, "原密码不正确"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "两次输入的密码不一致"),
        (
            PASSWORD,
            "abcdefghijk",
            "abcdefghijk",
            "密码须至少包含大写字母、小写字母、数字、符号中的三类",
        ),
        (PASSWORD, PASSWORD, PASSWORD, "新密码不能与原密码相同"),
    ],
    ids=["wrong-old", "mismatch", "weak", "same"],
)
def test_password_change_refusals(
    client: Client, site: Site, old: str, new: str, new2: str, message: str
) -> None:
    user = site.users["reader"]
    login(client, user)
    response = client.post(
        reverse("web:password_change"), {"old_password": old, "password": new, "password2": new2}
    )
    assert response.status_code == 200 and message in text(response)
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="password_change").exists()


def test_wrong_old_passwords_count_towards_the_lockout(site: Site, settings: Any) -> None:
    user = site.users["reader"]
    for _ in range(settings.LOGIN_MAX_FAILURES):
        with pytest.raises(accounts.AccountError):
            accounts.change_own_password(user, "wrong-password", NEW_PASSWORD)
    user.refresh_from_db()
    assert accounts.check_lockout(user)
    with pytest.raises(accounts.AccountError, match="次数过多"):
        accounts.change_own_password(user, PASSWORD, NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="password_change_failed").count() == (
        settings.LOGIN_MAX_FAILURES
    )


def test_new_pages_are_translated_to_english(client: Client, site: Site, tmp_path: Path) -> None:
    volumes(site, tmp_path)
    volume = Record.objects.get(reference_code="Z109-RS·2011-Y-001")
    login(client, site.users["cataloguer"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    structure = text(client.get(reverse("web:structure")))
    assert "Archives, fonds and categories" in structure and "New fonds" in structure
    assert "Gap check" in text(client.get(reverse("web:category", args=[site.category.pk])))
    record = text(client.get(reverse("web:record", args=[volume.pk])))
    assert "Add to collection" not in record  # no collection to offer yet
    assert "Upload a file" in record and "Delete" in record
    assert "Change password" in text(client.get(reverse("web:password_change")))
    assert "Documents in volumes" in text(client.get(reverse("web:import_upload")))
