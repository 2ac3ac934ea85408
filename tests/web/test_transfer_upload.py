"""Resumable chunked upload of a transfer package: a session per file, chunks appended strictly in
order (409 with the expected offset otherwise), the offset asked for after a break, the form then
posting only the token. Jobs run inline in tests, as in test_transfers."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lantai.catalog import services as catalog
from lantai.core import accounts
from lantai.core.sm3 import sm3_hex
from lantai.ingest import uploads
from lantai.ingest.models import Transfer

from .conftest import PASSWORD
from .test_transfers import as_user, own_fonds, package_zip, text, unit_choice

pytestmark = pytest.mark.django_db

FORM = {
    "title": "2020年文书档案移交（分块上传）",
    "opening_opinion": "到期全部开放",
    "disclosure_status": "",
    "classification_changes": "",
}


def form(**fields: str) -> dict[str, str]:
    """The transfer form with the unit's own fonds as 移交单位 (chosen from its scope)."""
    return {**FORM, "unit": unit_choice(), **fields}


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture
def unit(db: None) -> Any:
    user = accounts.create_user("unit_a", role="filing_unit", password=PASSWORD)
    own_fonds(user)
    return user


def start(client: Client, name: str, size: int) -> Any:
    return client.post(reverse("web:transfer_upload_start"), {"name": name, "size": str(size)})


def put(client: Client, token: str, data: bytes, offset: int, total: int) -> Any:
    return client.put(
        reverse("web:transfer_upload", args=[token]),
        data,
        content_type="application/octet-stream",
        headers={"content-range": f"bytes {offset}-{offset + len(data) - 1}/{total}"},
    )


def offset_of(client: Client, token: str) -> int:
    response = client.get(reverse("web:transfer_upload", args=[token]))
    assert response.status_code == 200
    return int(response.json()["offset"])


def test_three_chunks_arrive_intact_and_the_transfer_is_registered(
    unit: Any, tmp_path: Path, settings: Any
) -> None:
    data = package_zip(tmp_path)
    client = as_user(unit)
    response = start(client, "移交包.zip", len(data))
    assert response.status_code == 201
    token = response.json()["token"]
    assert (settings.DATA_DIR / "ingest" / "uploads" / token / "meta.json").exists()
    size = -(-len(data) // 3)
    for offset in range(0, len(data), size):
        response = put(client, token, data[offset : offset + size], offset, len(data))
        assert response.status_code == 200
        assert response.json()["offset"] == min(offset + size, len(data))
    assert response.json()["complete"] is True

    response = client.post(reverse("web:transfer_create"), form(upload=token))
    transfer = Transfer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:transfer", args=[transfer.pk])
    assert transfer.title == FORM["title"] and transfer.created_by == unit
    version = transfer.versions.get()
    assert (settings.DATA_DIR / version.original).read_bytes() == data  # the very bytes sent
    assert version.original_sm3 == sm3_hex(data)
    assert version.original.endswith(".zip")
    assert not (settings.DATA_DIR / "ingest" / "uploads" / token).exists()  # session closed
    assert list(Path(settings.UPLOAD_DIR).iterdir()) == []  # the copy now lives in quarantine


def test_resume_after_a_break(unit: Any, tmp_path: Path, settings: Any) -> None:
    data = package_zip(tmp_path)
    half = len(data) // 2
    client = as_user(unit)
    token = start(client, "移交包.zip", len(data)).json()["token"]
    assert put(client, token, data[:half], 0, len(data)).status_code == 200
    # the network breaks; the page is reloaded: a new client of the same user asks how far it got
    client = as_user(unit)
    head = client.head(reverse("web:transfer_upload", args=[token]))
    assert head.status_code == 200 and head["Upload-Offset"] == str(half)
    offset = offset_of(client, token)
    assert offset == half
    assert put(client, token, data[:half], 0, len(data)).status_code == 200  # a retry: harmless
    response = client.put(  # the rest, placed by the `offset` parameter this time
        reverse("web:transfer_upload", args=[token]) + f"?offset={offset}",
        data[offset:],
        content_type="application/octet-stream",
    )
    assert response.json() == {
        "token": token,
        "offset": len(data),
        "size": len(data),
        "complete": True,
    }
    response = client.post(reverse("web:transfer_create"), form(upload=token))
    assert response.status_code == 302
    version = Transfer.objects.get().versions.get()
    assert (settings.DATA_DIR / version.original).read_bytes() == data


def test_an_out_of_order_chunk_gets_409_and_the_expected_offset(unit: Any) -> None:
    client = as_user(unit)
    token = start(client, "移交包.zip", 30).json()["token"]
    assert put(client, token, b"a" * 10, 0, 30).status_code == 200
    response = put(client, token, b"c" * 10, 20, 30)  # skips bytes 10–19
    assert response.status_code == 409
    assert response.json()["offset"] == 10 and response["Upload-Offset"] == "10"
    assert "10" in response.json()["error"]
    response = put(client, token, b"b" * 15, 10, 30)
    assert response.status_code == 200
    response = put(client, token, b"c" * 10, 25, 35)  # Content-Range total ≠ the announced size
    assert response.status_code == 400
    response = client.put(  # runs past the announced size
        reverse("web:transfer_upload", args=[token]) + "?offset=25",
        b"c" * 10,
        content_type="application/octet-stream",
    )
    assert response.status_code == 409 and response.json()["offset"] == 25
    assert offset_of(client, token) == 25


def test_another_user_cannot_see_or_feed_an_upload(unit: Any, tmp_path: Path) -> None:
    other = accounts.create_user("unit_b", role="filing_unit", password=PASSWORD)
    theirs = catalog.create_fonds("J019", "岭南省教育厅")  # the intruder's own unit
    accounts.grant(other, actor=None, fonds_ids=[theirs.pk])
    token = start(as_user(unit), "移交包.zip", 20).json()["token"]
    intruder = as_user(other)
    url = reverse("web:transfer_upload", args=[token])
    assert intruder.get(url).status_code == 404
    assert put(intruder, token, b"x" * 20, 0, 20).status_code == 404
    assert intruder.delete(url).status_code == 404
    assert offset_of(as_user(unit), token) == 0
    response = intruder.post(
        reverse("web:transfer_create"), form(unit=str(theirs.pk), upload=token)
    )
    assert response.status_code == 200 and Transfer.objects.count() == 0
    assert "上传记录不存在" in text(response)
    assert intruder.get(reverse("web:transfer_upload", args=["..%2f..%2fetc"])).status_code == 404
    reader = accounts.create_user("reader", role="reading_room", password=PASSWORD, scope_all=True)
    assert start(as_user(reader), "移交包.zip", 20).status_code == 403


def test_chunks_need_the_csrf_token(unit: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(unit)
    client.get(reverse("web:transfer_create"))
    csrf = client.cookies["csrftoken"].value
    url = reverse("web:transfer_upload_start")
    assert client.post(url, {"name": "移交包.zip", "size": "4"}).status_code == 403
    response = client.post(url, {"name": "移交包.zip", "size": "4"}, headers={"x-csrftoken": csrf})
    assert response.status_code == 201
    chunk = reverse("web:transfer_upload", args=[response.json()["token"]])
    range_ = {"content-range": "bytes 0-3/4"}
    assert client.put(chunk, b"abcd", "application/octet-stream", headers=range_).status_code == 403
    response = client.put(
        chunk, b"abcd", "application/octet-stream", headers={**range_, "x-csrftoken": csrf}
    )
    assert response.json()["complete"] is True


def test_abandoned_sessions_are_purged(unit: Any) -> None:
    old = uploads.start(unit.pk, "移交包.zip", 10)
    past = time.time() - 8 * 86400
    for path in (old.directory, old.data):
        os.utime(path, (past, past))
    fresh = uploads.start(unit.pk, "移交包.zip", 10)  # starting a session sweeps the old ones
    assert not old.directory.exists() and fresh.directory.exists()


def test_the_size_limit_is_enforced(unit: Any, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 1000
    client = as_user(unit)
    response = start(client, "移交包.zip", 1001)
    assert response.status_code == 413
    assert "超过上限" in response.json()["error"]
    assert start(client, "移交包.zip", 1000).status_code == 201
    assert start(client, "恶意.exe", 10).status_code == 400  # only .zip / .xml packages


def test_finishing_an_incomplete_upload_is_refused(unit: Any, settings: Any) -> None:
    client = as_user(unit)
    token = start(client, "移交包.zip", 100).json()["token"]
    put(client, token, b"P" * 40, 0, 100)
    response = client.post(reverse("web:transfer_create"), form(upload=token))
    assert response.status_code == 200
    assert "尚未上传完整（已收到 40 / 100 字节）" in text(response)
    assert Transfer.objects.count() == 0
    assert offset_of(client, token) == 40  # still there: the user may go on
    response = client.post(reverse("web:transfer_create"), form())  # neither file nor token
    assert response.status_code == 200 and Transfer.objects.count() == 0


def test_names_are_sanitised_like_plain_uploads(unit: Any, settings: Any) -> None:
    upload = uploads.start(unit.pk, "../../危险 名称.ZIP", 3)
    assert upload.name == "危险 名称.ZIP"
    with open(os.devnull, "rb") as empty:
        uploads.append(upload, 0, 0, empty)
    upload.data.write_bytes(b"abc")
    path = uploads.finish(upload)
    assert path.parent == Path(settings.UPLOAD_DIR) and path.suffix == ".zip"
    assert path.read_bytes() == b"abc"


# --- in a real browser --------------------------------------------------------------------------
@pytest.mark.browser
def test_chunked_upload_in_chromium(
    page: Any, live_server: Any, transactional_db: None, tmp_path: Path, settings: Any
) -> None:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    fonds = own_fonds(accounts.create_user("unit_a", role="filing_unit", password=PASSWORD))
    archive = tmp_path / "大移交包.zip"
    archive.write_bytes(package_zip(tmp_path, items=2))
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_STORED) as z:  # ~20 MiB: 3 chunks
        z.writestr("说明/填充.bin", os.urandom(20 * 1024 * 1024))
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", "unit_a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(live_server.url + reverse("web:transfer_create"))
    page.select_option("select[name=unit]", str(fonds.pk))
    page.fill("input[name=title]", "大文件分块移交")
    page.set_input_files("input[name=package]", str(archive))
    page.wait_for_selector(".upload-progress .upload-percent:has-text('100%')", timeout=60000)
    assert page.eval_on_selector(".upload-progress progress", "p => p.value") == 1
    assert page.input_value("input[name=upload]") != ""
    page.click("button:has-text('上传并检测')")
    page.wait_for_url(lambda url: "/transfers/new/" not in url, timeout=120000)
    page.wait_for_selector("#transfer-status:has-text('不通过')", timeout=120000)
    transfer = Transfer.objects.get()
    assert transfer.title == "大文件分块移交"
    version = transfer.versions.get()
    assert (Path(settings.DATA_DIR) / version.original).read_bytes() == archive.read_bytes()


def test_a_corrected_package_can_be_resubmitted_in_chunks(unit: Any, tmp_path: Path) -> None:
    client = as_user(unit)
    first = package_zip(tmp_path, name="v1")
    token = start(client, "v1.zip", len(first)).json()["token"]
    put(client, token, first, 0, len(first))
    client.post(reverse("web:transfer_create"), form(upload=token))
    transfer = Transfer.objects.get()
    assert transfer.status == "failed"  # no virus signatures in this data directory: not scanned

    second = package_zip(tmp_path, name="v2")
    token = start(client, "v2.zip", len(second)).json()["token"]
    put(client, token, second[:100], 0, len(second))
    url = reverse("web:transfer_resubmit", args=[transfer.pk])
    refused = client.post(url, {"upload": token})  # not finished yet
    assert refused.status_code == 200 and transfer.versions.count() == 1
    put(client, token, second[100:], 100, len(second))
    response = client.post(url, {"upload": token})
    assert response.status_code == 302 and transfer.versions.count() == 2
