"""The REST API for digital components, thematic collections, code rules, volume imports and
deleting volumes: the same permissions and refusals as the staff UI."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.api import test_api as base
from tests.api.test_api import World, client_for, send_json

from lantai.catalog import components, importing, services, thematic
from lantai.catalog.models import Component, Record
from lantai.core.models import AuditEntry
from lantai.core.sm3 import sm3_hex

# the fixtures of the API tests: a provincial (A) and a city (B) archives with their users
world = base.world
_fast_passwords = base._fast_passwords

PDF = b"%PDF-1.4\n% Lantai API test\ntrailer<<>>\n%%EOF\n"
VOLUMES = "档号,责任者,案卷题名,年度,保管期限,密级\n" + "\n".join(
    f"Z109-RS·2011-Y-{n:03d},人事处,2011年干部任免材料（第{n}卷）,2011,永久,公开" for n in (1, 2)
)
DOCUMENTS = "档号,责任者,题名,日期,密级\n" + "\n".join(
    [
        "Z109-RS·2011-Y-001-001,人事处,关于张三同志任职的通知,20110301,公开",
        "Z109-RS·2011-Y-001-002,人事处,关于李四同志任职的通知,20110302,公开",
    ]
)


def upload(client: Client, record_id: int, name: str, data: bytes) -> Any:
    return client.post(
        f"/api/records/{record_id}/components", {"file": SimpleUploadedFile(name, data)}
    )


def test_openapi_lists_the_new_endpoints(world: World) -> None:
    paths = client_for(world.zhang).get("/api/openapi.json").json()["paths"]  # staff only
    for path, methods in {
        "/api/records/{record_id}/components": {"get", "post"},
        "/api/components/{component_id}/download": {"get"},
        "/api/collections": {"get"},
        "/api/collections/{collection_id}/records": {"get"},
        "/api/code-rules": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    form = paths["/api/imports"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "level" in str(form)


# --- components -----------------------------------------------------------------------------------
def test_upload_list_and_download_a_component(world: World, settings: Any) -> None:
    zhang = client_for(world.zhang)
    response = upload(zhang, world.public.pk, "春季防火通知.pdf", PDF)
    assert response.status_code == 201, response.content
    body = response.json()
    digest = sm3_hex(PDF)
    assert (body["name"], body["size"], body["mime_type"], body["sm3"]) == (
        "春季防火通知.pdf",
        len(PDF),
        "application/pdf",
        digest,
    )
    assert (Path(settings.MEDIA_ROOT) / digest[:2] / digest).read_bytes() == PDF
    entry = AuditEntry.objects.filter(action="create", target_type="component").get()
    assert entry.actor == "zhang"

    listed = zhang.get(f"/api/records/{world.public.pk}/components").json()
    assert [c["id"] for c in listed] == [body["id"]]

    download = zhang.get(f"/api/components/{body['id']}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert f"filename*=utf-8''{quote('春季防火通知.pdf')}" in download["Content-Disposition"]
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/octet-stream"


def test_components_outside_the_scope_or_clearance_are_404(world: World) -> None:
    secret_file = components.attach_component(world.secret, [PDF], "边境.pdf", user=None)
    public_file = components.attach_component(world.public, [PDF], "通知.pdf", user=None)
    li, low = client_for(world.li), client_for(world.low)
    # another repository: neither the file nor the record exists for li
    assert li.get(f"/api/components/{public_file.pk}/download").status_code == 404
    assert li.get(f"/api/records/{world.public.pk}/components").status_code == 404
    assert upload(li, world.public.pk, "x.pdf", PDF).status_code == 404
    # clearance 0 does not reach the 秘密 record's file
    assert low.get(f"/api/components/{secret_file.pk}/download").status_code == 404
    assert low.get(f"/api/components/{public_file.pk}/download").status_code == 200
    assert client_for(world.zhang).get("/api/components/999999/download").status_code == 404
    assert Component.objects.count() == 2


def test_upload_needs_the_edit_permission(world: World) -> None:
    reader = client_for(world.reader)  # reviewer: view only
    response = upload(reader, world.public.pk, "x.pdf", PDF)
    assert response.status_code == 403 and "无此权限" in response.json()["detail"]
    assert not Component.objects.exists()


def test_empty_upload_is_422_in_chinese(world: World, settings: Any) -> None:
    response = upload(client_for(world.zhang), world.public.pk, "空文件.pdf", b"")
    assert response.status_code == 422
    assert response.json()["field"] == "file" and "空文件" in response.json()["detail"]
    assert not Component.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_traversal_file_name_never_leaves_media_root(world: World, settings: Any) -> None:
    response = upload(client_for(world.zhang), world.public.pk, "../../x.pdf", PDF)
    # Django's multipart parser keeps only the last part of the name; the service refuses
    # separators outright (tests/web/test_structure.py calls it with "../x.pdf").
    assert response.status_code == 201, response.content
    component = Component.objects.get()
    assert component.name == "x.pdf"
    root = Path(settings.MEDIA_ROOT).resolve()
    assert (root / component.path).resolve().is_relative_to(root)
    assert not (root.parent / "x.pdf").exists() and not (root.parent.parent / "x.pdf").exists()


# --- collections and code rules -------------------------------------------------------------------
def test_collections_list_only_visible_records(world: World) -> None:
    red = thematic.create_collection(world.repo_a, "red", "红色档案专题数据库")
    thematic.add_to_collection(red, [world.public.pk, world.secret.pk])
    zhang, low, li = client_for(world.zhang), client_for(world.low), client_for(world.li)
    assert [c["code"] for c in zhang.get("/api/collections").json()] == ["red"]
    assert li.get("/api/collections").json() == []
    assert li.get(f"/api/collections/{red.pk}/records").status_code == 404
    codes = [
        r["reference_code"] for r in zhang.get(f"/api/collections/{red.pk}/records").json()["items"]
    ]
    assert codes == [world.public.reference_code, world.secret.reference_code]
    low_codes = [
        r["reference_code"] for r in low.get(f"/api/collections/{red.pk}/records").json()["items"]
    ]
    assert low_codes == [world.public.reference_code]
    first = zhang.get(f"/api/collections/{red.pk}/records?limit=1").json()
    assert len(first["items"]) == 1 and first["next"] is not None
    cursor = first["next"]
    second = zhang.get(
        f"/api/collections/{red.pk}/records?limit=1"
        f"&after_code={quote(cursor['after_code'])}&after_id={cursor['after_id']}"
    ).json()
    assert [r["reference_code"] for r in second["items"]] == [world.secret.reference_code]
    assert second["next"] is None


def test_code_rules_list_templates_and_custom_rules(world: World) -> None:
    services.define_code_rule("city-ws", "{fonds}-{category}·{year}-{item:5}", "市馆文书")
    rules = {r["name"]: r for r in client_for(world.zhang).get("/api/code-rules").json()}
    assert rules["dat22"]["template"] == "{fonds}-{category}·{year}-{retention}-{org}-{item:4}"
    assert rules["dat22"]["example"] == "Z109-WS·2011-Y-BGS-0001" and not rules["dat22"]["custom"]
    assert rules["city-ws"]["custom"] and rules["city-ws"]["label"] == "市馆文书"


def test_fonds_with_description_and_duplicate_code(world: World) -> None:
    zhang = client_for(world.zhang)
    body = {"code": "Z110", "name": "岭南省财政厅", "description": "1950 年成立。"}
    response = send_json(zhang, "post", "/api/fonds", body)
    assert response.status_code == 201 and response.json()["description"] == "1950 年成立。"
    again = send_json(zhang, "post", "/api/fonds", body)
    assert again.status_code == 422 and "已有全宗号“Z110”" in again.json()["detail"]
    unknown = send_json(
        zhang, "post", f"/api/fonds/{response.json()['id']}/categories", {"code": "XX"}
    )
    assert unknown.status_code == 422 and "DA/T 13" in unknown.json()["detail"]


# --- volumes --------------------------------------------------------------------------------------
def test_import_levels_through_the_api(world: World) -> None:
    zhang = client_for(world.zhang)
    rs = services.create_category(world.ws_a.fonds, "RS")

    def post(data: str, category: int, **form: str) -> Any:
        return zhang.post(
            "/api/imports",
            {
                "file": SimpleUploadedFile("目录.csv", data.encode("utf-8")),
                "category": category,
                **form,
            },
        )

    assert post(VOLUMES, rs.pk, level="volume").status_code == 201
    response = post(DOCUMENTS, rs.pk, level="volume_item")
    assert response.status_code == 201, response.content
    assert response.json()["rows_imported"] == 2
    volume = Record.objects.get(reference_code="Z109-RS·2011-Y-001")
    assert volume.children.count() == 2
    # a level the category does not take, and one that does not exist
    refused = post(DOCUMENTS, world.ws_a.pk, level="volume_item")
    assert refused.status_code == 400 and refused.json()["field"] == "level"
    assert "按件整理" in refused.json()["detail"]
    assert post(DOCUMENTS, rs.pk, level="box").status_code == 422


def test_deleting_a_volume_with_documents_is_refused(world: World, tmp_path: Path) -> None:
    rs = services.create_category(world.ws_a.fonds, "RS")
    (tmp_path / "v.csv").write_text(VOLUMES, encoding="utf-8")
    (tmp_path / "d.csv").write_text(DOCUMENTS, encoding="utf-8")
    importing.import_file(tmp_path / "v.csv", rs)
    importing.import_file(tmp_path / "d.csv", rs, level="volume_item")
    volume = Record.objects.get(reference_code="Z109-RS·2011-Y-001")
    response = client_for(world.zhang).delete(f"/api/records/{volume.pk}")
    assert response.status_code == 400
    assert "内还有 2 份卷内文件" in response.json()["detail"]
    assert Record.objects.filter(pk=volume.pk).exists()
