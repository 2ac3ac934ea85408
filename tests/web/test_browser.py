"""The staff UI in real Chromium against a live server: sign in, browse to a record, edit it, and
run the import wizard. Set LANTAI_UI_SCREENSHOTS=/some/dir to keep screenshots of the pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lantai.catalog.models import ImportBatch, Record

from .conftest import PASSWORD, Site

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here


def shot(page: Any, name: str) -> None:
    target = os.environ.get("LANTAI_UI_SCREENSHOTS")
    if target:
        page.screenshot(path=str(Path(target) / f"ui-{name}.png"), full_page=True)


def sign_in(page: Any, base: str, username: str = "zhangsan", secret: str = "") -> None:
    """Sign in; with `secret` (an administrator's TOTP secret) type the code at the second step."""
    page.goto(base + "/")
    assert "/login/" in page.url
    shot(page, "login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    if secret:
        import pyotp

        page.wait_for_url("**/login/verify/")
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        page.click("button:has-text('验证')")
    page.wait_for_url(lambda url: "/login/" not in url)


def enroll_administrators(site: Site) -> str:
    """The three administrators must use a second factor: enroll them with one secret."""
    import pyotp

    from lantai.core import two_factor

    secret = pyotp.random_base32()
    for role in ("system_admin", "security_admin", "audit_admin"):
        two_factor.enroll_known_secret(site.users[role], secret)
    return secret


def test_browse_and_edit_a_record(page: Any, live_server: Any, live_site: Site) -> None:
    base = live_server.url
    sign_in(page, base)
    assert page.locator(".who-name").inner_text() == "张三"
    shot(page, "home")

    page.click("nav.sidenav >> text=浏览档案")
    page.click("a:has-text('兰州市档案局')")
    page.wait_for_selector("h1:has-text('Z109')")
    shot(page, "fonds")
    page.click("td.code >> a:has-text('WS')")
    page.wait_for_selector(".year-grid")
    shot(page, "category")
    page.click(".year-grid >> a:has-text('2023')")
    page.wait_for_selector("table.records")
    rows = page.locator("table.records tbody tr")
    assert rows.count() == 3
    shot(page, "records")

    record = Record.objects.filter(year=2023).order_by("reference_code").first()
    assert record is not None
    page.click(f"a:has-text('{record.reference_code}')")
    page.wait_for_selector("h1.record-title")
    assert "2048-01-15" in page.inner_text(".fields")  # 到期开放日期
    shot(page, "record")

    page.click("a.btn:has-text('编辑')")
    page.fill("#id_date", "2023-02-30")
    page.click("button:has-text('保存')")
    page.wait_for_selector(".field-error")
    assert "2月没有30日" in page.inner_text(".has-error")
    shot(page, "record-edit-error")

    page.fill("#id_date", "2023-01-15")
    page.fill("#id_title", "关于2023年档案工作的通知（已修订）")
    page.click("button:has-text('保存')")
    page.wait_for_selector(".msg-success")
    assert "已保存档案" in page.inner_text(".messages")
    record.refresh_from_db()
    assert record.title == "关于2023年档案工作的通知（已修订）"

    # the language switch turns the UI into English and back
    page.click("button:has-text('English')")
    page.wait_for_selector("text=Browse records")
    shot(page, "record-en")
    page.click("button:has-text('简体中文')")
    page.wait_for_selector("text=浏览档案")


CSV = (
    "序号,题名,责任者,文号,日期,年度,保管期限,机构（问题）,件号,密级\n"
    "1,关于开展档案安全检查的通知,兰州市档案局,兰档发〔2021〕1号,20210301,2021,永久,BGS,1,公开\n"
    "2,关于印发工作要点的通知,兰州市档案局,兰档发〔2021〕2号,2021-03-05,2021,永久,BGS,2,公开\n"
    "3,年度工作总结,兰州市档案局,,20211220,2021,定期30年,BGS,3,\n"
)


def test_import_wizard(page: Any, live_server: Any, live_site: Site, tmp_path: Path) -> None:
    base = live_server.url
    source = tmp_path / "归档文件目录2021.csv"
    source.write_bytes(CSV.encode("gb18030"))
    sign_in(page, base)

    page.click("nav.sidenav >> text=导入目录")
    page.select_option("select[name=category]", str(live_site.category.pk))
    page.set_input_files("input[type=file]", str(source))
    shot(page, "import-upload")
    page.click("button:has-text('上传并继续')")
    page.wait_for_selector("table.mapping")
    assert page.locator("select[name=col_1]").input_value() == "title"
    # row 3 has no 密级: the archivist chooses the file's default (DA/T 46 M38 is mandatory)
    page.select_option("select[name=default_classification]", "public")
    shot(page, "import-mapping")
    page.click("button:has-text('保存映射并预览')")
    page.wait_for_selector("table.preview")
    assert page.locator("table.preview tbody tr").count() == 3
    assert "关于开展档案安全检查的通知" in page.inner_text("table.preview")
    shot(page, "import-preview")
    page.click("button:has-text('开始导入')")
    page.wait_for_selector("#rows-imported")
    assert page.inner_text("#rows-imported") == "3"
    assert page.inner_text("#batch-status") == "已导入"
    shot(page, "import-result")
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_imported, batch.file_name) == (
        "imported",
        3,
        "归档文件目录2021.csv",
    )
    assert Record.objects.filter(year=2021).count() == 3

    page.click("nav.sidenav >> text=导入记录")
    assert "归档文件目录2021.csv" in page.inner_text("table.grid")
    shot(page, "import-list")


def test_administrators_work_areas(page: Any, live_server: Any, live_site: Site) -> None:
    base = live_server.url
    secret = enroll_administrators(live_site)
    sign_in(page, base, "auditor", secret)
    assert page.url == base + "/audit/"  # the audit administrator's home is the audit log
    page.click("button:has-text('校验审计链')")
    page.wait_for_selector(".alert-ok")
    shot(page, "audit")
    page.click("button:has-text('退出登录')")
    page.wait_for_url("**/login/")

    sign_in(page, base, "secadmin", secret)
    page.goto(base + "/grants/")
    shot(page, "grants")
    page.click("tr:has-text('lisi') >> text=修改授权")
    page.select_option("select[name=clearance]", "2")
    page.check("label:has-text('Z109 兰州市档案局') >> input")
    shot(page, "grant-edit")
    page.click("button:has-text('保存授权')")
    page.wait_for_selector(".msg-success")
    lisi = live_site.users["noscope"]
    lisi.refresh_from_db()
    assert lisi.clearance == 2
    assert list(lisi.fonds.values_list("code", flat=True)) == ["Z109"]
    page.click("button:has-text('退出登录')")
    sign_in(page, base, "sysadmin", secret)
    page.goto(base + "/users/")
    shot(page, "users")
