"""密级 controls writes in every door (issue 12, points 16 and 17): the record form, the API, the
import wizard (with the default 密级 chosen in the mapping step) and the CLI import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lantai.catalog.models import ImportBatch, Record
from lantai.cli import main
from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.core.models import AuditEntry, User
from tests.web.conftest import PASSWORD, Site

FIELDS = {
    "title": "关于边境防务工作的报告",
    "author": "兰州市档案局",
    "date": "20240105",
    "year": "2024",
    "retention": "Y",
    "org_code": "BGS",
    "item_number": "1",
}
CSV = (
    "档号,责任者,题名,日期,密级,保管期限,年度\n"
    "Z109-WS·2024-Y-BGS-0001,兰州市档案局,关于春季防火的通知,20240105,,永久,2024\n"
    "Z109-WS·2024-Y-BGS-0002,兰州市档案局,关于边境防务工作的报告,20240106,机密,永久,2024\n"
)


def low_cataloguer() -> User:
    """A cataloguer cleared for 限制 (level 1) in every archives."""
    user = accounts.create_user(
        "zhaoliu", role="cataloguer", password=PASSWORD, clearance=1, scope_all=True
    )
    return User.objects.get(pk=user.pk)


def test_the_record_form_refuses_a_classification_above_the_users_clearance(site: Site) -> None:
    client = Client()
    client.force_login(low_cataloguer())
    url = f"/browse/category/{site.category.pk}/new/"
    page = client.get(url).content.decode()
    assert 'value="restricted"' in page and 'value="secret"' not in page
    response = client.post(url, {**FIELDS, "classification": "secret"})
    assert response.status_code == 400
    assert "高于您的涉密等级" in response.content.decode()
    assert not Record.objects.filter(title=FIELDS["title"]).exists()


def test_the_api_refuses_creating_or_raising_above_clearance(site: Site) -> None:
    user = low_cataloguer()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'test')}")
    body = {**FIELDS, "category": site.category.pk, "classification": "机密"}
    response = client.post("/api/records", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert [i["rule"] for i in response.json()["issues"]] == ["clearance"]
    record = site.records[0]
    response = client.patch(
        f"/api/records/{record.pk}",
        data=json.dumps({"classification": "秘密"}),
        content_type="application/json",
    )
    assert response.status_code == 422
    record.refresh_from_db()
    assert record.classification == "public"


def test_the_wizard_offers_defaults_up_to_the_users_clearance_and_records_the_choice(
    site: Site,
) -> None:
    client = Client()
    client.force_login(low_cataloguer())
    upload = SimpleUploadedFile("目录.csv", CSV.encode(), "text/csv")
    response = client.post("/import/", {"category": str(site.category.pk), "file": upload})
    assert response.status_code == 302, response.content.decode()
    mapping_url = response["Location"]
    page = client.get(mapping_url).content.decode()
    assert 'name="default_classification"' in page
    assert 'value="restricted"' in page and 'value="confidential"' not in page
    columns = {f"col_{i}": f for i, f in enumerate(
        ["reference_code", "author", "title", "date", "classification", "retention", "year"]
    )}  # fmt: skip
    response = client.post(mapping_url, {**columns, "default_classification": "restricted"})
    assert response.status_code == 302
    preview = client.get(response["Location"]).content.decode()
    assert "高于您的涉密等级" in preview  # the 机密 row, before anything is imported
    run_url = response["Location"].replace("/preview/", "/run/")
    response = client.post(run_url, {"valid_rows_only": "on"})
    batch = ImportBatch.objects.get()
    assert (batch.rows_imported, batch.rows_rejected) == (1, 1)
    assert batch.default_classification == "restricted"
    assert Record.objects.get(reference_code="Z109-WS·2024-Y-BGS-0001").classification == (
        "restricted"
    )
    assert not Record.objects.filter(reference_code="Z109-WS·2024-Y-BGS-0002").exists()
    entry = AuditEntry.objects.get(action="import")
    assert entry.detail["default_classification"] == "restricted"
    assert entry.detail["created"] == [["Z109-WS·2024-Y-BGS-0001", "Z109-WS·2024-Y-BGS-0001", 1]]
    result_page = client.get(f"/imports/{batch.pk}/").content.decode()
    assert "Z109-WS·2024-Y-BGS-0001" in result_page


def test_the_api_import_takes_a_default_and_refuses_rows_above_clearance(site: Site) -> None:
    user = low_cataloguer()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'test')}")
    data: dict[str, Any] = {
        "file": SimpleUploadedFile("目录.csv", CSV.encode(), "text/csv"),
        "category": site.category.pk,
    }
    first = client.post("/api/imports", data).json()
    assert first["status"] == "rejected"
    assert sorted(e["rule"] for e in first["errors"]) == ["clearance", "required"]
    data["file"] = SimpleUploadedFile("目录.csv", CSV.encode(), "text/csv")
    second = client.post(
        "/api/imports", {**data, "default_classification": "公开", "valid_rows_only": "true"}
    ).json()
    assert (second["rows_imported"], second["default_classification"]) == (1, "public")
    assert second["created"] == [["Z109-WS·2024-Y-BGS-0001", "Z109-WS·2024-Y-BGS-0001", 1]]


def test_the_cli_import_as_a_user_applies_their_clearance(site: Site, tmp_path: Path) -> None:
    low_cataloguer()
    path = tmp_path / "目录.csv"
    path.write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["catalog", "import", str(path), "--fonds", "Z109", "--category", "WS",
         "--user", "zhaoliu", "--default-classification", "公开", "--valid-rows-only", "--json"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["rows_imported"] == 1
    assert [e["rule"] for e in report["errors"]] == ["clearance"]
    refused = CliRunner().invoke(
        main,
        ["catalog", "import", str(path), "--fonds", "Z109", "--category", "WS",
         "--user", "lisi", "--json"],
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "无权" in json.loads(refused.output)["error"]


def test_a_code_clash_with_a_hidden_record_reads_alike_and_is_audited(site: Site) -> None:
    """档号 are unique, so a clash cannot be hidden; it reads as any clash does and the attempt
    (a way to probe for classified 档号) is in the audit log, without the 档号 itself."""
    hidden = site.records[0]
    Record.objects.filter(pk=hidden.pk).update(classification="secret", classification_level=3)
    user = low_cataloguer()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'test')}")
    body = {  # the fields that make the hidden record's 档号 (Z109-WS·2022-Y-BGS-0001)
        **FIELDS,
        "category": site.category.pk,
        "year": "2022",
        "date": "20220115",
        "classification": "公开",
    }
    response = client.post("/api/records", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert [i["rule"] for i in response.json()["issues"]] == ["duplicate"]
    entry = AuditEntry.objects.filter(action="access_denied", target_id=str(hidden.pk)).get()
    assert entry.actor == "zhaoliu" and hidden.reference_code not in json.dumps(entry.detail)
