"""Pages in English show data that comes from the standards files and the database in English:
DA/T 70 titles and methods in the check report, 档号 rule labels and descriptions, and stored
import errors (issue 13, point 6)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.catalog import importing
from lantai.catalog.models import ImportBatch
from lantai.core import accounts
from lantai.ingest.models import CheckRecord, Transfer
from lantai.preservation.models import LongTermCheck
from lantai.standards import archival_code as ac
from lantai.standards.dat70 import CheckResult, load_catalogue

from .conftest import PASSWORD, Site
from .test_transfers import (  # noqa: F401 (fixtures)
    _own_data_dir,
    as_user,
    fonds,
    report_url,
    submitted,
    users,
)

pytestmark = pytest.mark.django_db


def english_page(client: Client, url: str) -> str:
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return html.unescape(client.get(url).content.decode("utf-8"))


def test_check_report_in_english_names_contents_and_checks_in_english(
    submitted: Transfer,  # noqa: F811
    users: dict[str, Any],  # noqa: F811
) -> None:
    catalogue = load_catalogue()
    version = submitted.versions.get()
    # a result stored before check keys were kept keeps its stored title
    old = CheckRecord.objects.filter(version=version, status="fail").first()
    assert old is not None
    CheckRecord.objects.filter(pk=old.pk).update(check_key="", title="旧版检测项")
    report = english_page(as_user(users["unit"]), report_url(submitted))
    assert catalogue.stage_names_en["yj"] in report and catalogue.stage_names["yj"] not in report
    for content in catalogue.contents("yj"):
        assert content.title_en in report and content.title_zh not in report
    failing = CheckRecord.objects.filter(version=version, status="fail").exclude(check_key="")
    assert failing.exists()
    for key in set(failing.values_list("check_key", flat=True)):
        spec = catalogue.check(key)
        assert spec.title_en in report and spec.title_zh not in report
        assert catalogue.content("yj", spec.content_code).method_en in report
    assert "旧版检测项" in report


def test_long_term_check_report_in_english(client: Client, site: Site) -> None:
    catalogue = load_catalogue()
    fixity = catalogue.check("bc_fixity")
    now = timezone.now()
    stored = CheckResult.from_spec(
        fixity, "fail", object="v1/content/a.pdf", evidence={"reason": "SM3 不同"}
    ).as_dict()
    old = {**stored, "check": "", "title": "旧版检测项", "object": "v1/content/b.pdf"}
    run = LongTermCheck.objects.create(
        started_at=now, finished_at=now, result="fail", checks=[stored, old]
    )
    officer = accounts.create_user(
        "keeper_a", role="preservation_officer", password=PASSWORD, scope_all=True
    )
    client.force_login(officer)
    page = english_page(client, reverse("web:storage_check_report", args=[run.pk]))
    assert catalogue.stage_names_en["bc"] in page and catalogue.stage_names["bc"] not in page
    for content in catalogue.contents("bc"):
        assert content.title_en in page and content.title_zh not in page
    assert fixity.title_en in page and fixity.title_zh not in page
    assert catalogue.content("bc", "1-1").method_en in page
    assert "旧版检测项" in page


def test_code_rules_in_english(client: Client, site: Site) -> None:
    client.force_login(site.users["cataloguer"])
    page = english_page(client, reverse("web:structure"))
    for rule in ac.load_rules().values():
        assert rule.label_en in page and rule.label_zh not in page
        assert rule.describe_en() in page and rule.describe_zh() not in page


def test_stored_import_errors_are_shown_in_english(
    client: Client, site: Site, tmp_path: Path
) -> None:
    path = tmp_path / "目录.csv"
    path.write_text(
        "档号,题名,日期,密级,保管期限,年度,页数\n"
        "Z109-WS·2011-Y-BGS-0001,关于档案工作的通知,20110315,公开,永久,2011,四页\n",
        encoding="utf-8",
    )
    result = importing.import_file(path, site.category)
    assert result.status == "rejected"
    batch = ImportBatch.objects.get(pk=result.batch_id)
    # an error stored before the English was kept (no message_en) stays readable, in Chinese
    batch.errors.append(
        {"row": 9, "column": "题名", "rule": "required", "value": "", "message": "旧版错误说明"}
    )
    batch.save(update_fields=["errors"])
    client.force_login(site.users["cataloguer"])
    page = english_page(client, reverse("web:import_result", args=[batch.pk]))
    assert "Pages must be a whole number" in page and "应为非负整数" not in page
    assert "旧版错误说明" in page
    report = client.get(reverse("web:import_errors", args=[batch.pk])).content.decode("utf-8")
    assert "Pages must be a whole number" in report


def test_a_failed_import_says_why_in_english(client: Client, site: Site, tmp_path: Path) -> None:
    path = tmp_path / "目录.csv"
    path.write_text("档号,日期,备注\nZ109-WS·2011-Y-BGS-0001,20110315,抄件\n", encoding="utf-8")
    with pytest.raises(importing.FileUnreadable):
        importing.import_file(path, site.category)
    batch = ImportBatch.objects.get(status="failed")
    old = ImportBatch.objects.create(
        category=site.category, file_name="旧.csv", file_sm3="0" * 64, status="failed",
        message="旧版失败说明",
    )  # fmt: skip
    client.force_login(site.users["cataloguer"])
    page = english_page(client, reverse("web:import_result", args=[batch.pk]))
    assert "No column of the header is mapped to" in page and "表头中没有" not in page
    progress = client.get(reverse("web:import_progress", args=[batch.pk])).json()
    assert progress["message"].startswith("No column of the header is mapped to")
    # a batch stored before the English was kept shows its Chinese message
    assert "旧版失败说明" in english_page(client, reverse("web:import_result", args=[old.pk]))
