"""`lantai catalog import --user NAME` works as that user (issue 12, point 18): the audit log names
them for the import, and a refusal (a fonds outside their scope) is logged like any other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lantai.cli import main
from lantai.core import accounts
from lantai.core.models import AuditEntry
from tests.web.conftest import PASSWORD, Site

pytestmark = pytest.mark.django_db

CSV = (
    "档号,责任者,题名,日期,密级,保管期限,年度\n"
    "Z109-WS·2024-Y-BGS-0001,兰州市档案局,关于春季防火的通知,20240105,公开,永久,2024\n"
)


def import_as(path: Path, username: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        main,
        ["catalog", "import", str(path), "--fonds", "Z109", "--category", "WS",
         "--user", username, "--json"],
    )  # fmt: skip
    return result.exit_code, json.loads(result.output)


def test_the_import_is_logged_as_the_user(site: Site, tmp_path: Path) -> None:
    accounts.create_user("archivist", role="cataloguer", password=PASSWORD, scope_all=True)
    path = tmp_path / "目录.csv"
    path.write_text(CSV, encoding="utf-8")
    code, report = import_as(path, "archivist")
    assert code == 0, report
    entry = AuditEntry.objects.filter(action="import").latest("seq")
    assert entry.actor == "archivist"


def test_an_import_outside_the_users_scope_is_refused_and_logged(
    site: Site, tmp_path: Path
) -> None:
    user = accounts.create_user("elsewhere", role="cataloguer", password=PASSWORD)
    user.fonds.add(site.other_fonds)
    path = tmp_path / "目录.csv"
    path.write_text(CSV, encoding="utf-8")
    code, report = import_as(path, "elsewhere")
    assert code == 2 and "无权" in str(report["error"])
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == "access_denied"
    assert entry.actor == "elsewhere" and "Z109" in entry.detail["reason"]


def test_an_import_by_a_user_without_the_right_is_refused_and_logged(
    site: Site, tmp_path: Path
) -> None:
    path = tmp_path / "目录.csv"
    path.write_text(CSV, encoding="utf-8")
    code, report = import_as(path, "wangwu")  # 利用服务人员: no 导入目录
    assert code == 2 and report["error"]
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == "access_denied" and entry.actor == "wangwu"
