"""证明核验 (/verify/): the public page verifies QR texts in the browser with nothing but what it
was loaded with (every later request is blocked), and checks an uploaded PDF or photo on the
server; the signed lists are served for verifiers that keep their own copies."""

from __future__ import annotations

import io
import json
import os
import re
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.catalog.models import Repository
from lantai.certificates import issuing, keys, public_views, revocation
from lantai.certificates.models import Certificate
from lantai.standards import certificate_lists, certificate_payload, certificate_verify

from .test_end_to_end import appended_update, archives, at_the_counter, draft, resigned

T = TypeVar("T")
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here


def issued() -> tuple[Certificate, Certificate]:
    """A genuine certificate from the counter and a revoked one (two people) of the same archives."""
    nanshan = archives("440305", "深圳市南山区档案馆")
    genuine = at_the_counter(nanshan.code)
    revoked = issuing.issue(draft(nanshan, "赵六"), actor="counter-clerk")
    revocation.request(revoked.number, "出证对象有误", actor="clerk-a")
    revocation.confirm(revoked.number, actor="clerk-b")
    return genuine, revoked


def signed_names(certificate: Certificate) -> str:
    """The masked names the certificate's QR code signs, as the page lists them."""
    return "、".join(certificate_payload.decode(certificate.payload).payload.names)


def local_minute(at: Any) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def verdict(page: Any, text: str) -> dict[str, Any]:
    """Type (or scan: the text and Enter) ``text`` into the field and read the shown result."""
    page.fill("#payload", text)
    page.press("#payload", "Enter")
    return shown(page)


def shown(page: Any) -> dict[str, Any]:
    page.wait_for_selector("#result[data-reason]:not([aria-busy])")
    result = page.locator("#result")
    fields = {
        key: page.inner_text(f"#result [data-field={key}]")
        for key in (
            "number",
            "issuer",
            "issued",
            "expires",
            "status_age",
            "kind",
            "names",
            "events",
            "compare",
        )
        if page.locator(f"#result [data-field={key}]").count()
    }
    data = {
        "valid": result.get_attribute("data-valid"),
        "reason": result.get_attribute("data-reason"),
        "text": result.inner_text(),
        **fields,
    }
    page.evaluate("document.getElementById('result').removeAttribute('data-reason')")
    return data


@pytest.mark.browser
def test_the_page_verifies_offline_after_loading(
    page: Any, live_server: Any, transactional_db: Any
) -> None:
    genuine, revoked = issued()
    page.goto(live_server.url + "/verify/")
    page.wait_for_selector("#offline-form:not([hidden])")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.route("**/*", lambda route: route.abort())  # the server is gone from here on

    ok = verdict(page, genuine.payload)
    assert (ok["valid"], ok["reason"]) == ("true", "valid")
    assert "有效" in ok["text"] and "证明有效" in ok["text"]
    assert ok["number"] == genuine.number and ok["issuer"] == "深圳市南山区档案馆"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", ok["issued"]) and ok["expires"] > ok["issued"]
    assert ok["status_age"]  # how old the embedded status list is
    # what the QR code signs, for the reader to compare with the paper (an altered printout)
    assert "婚姻登记记录证明" in ok["kind"] and "marriage registration records" in ok["kind"]
    assert "无" not in ok["kind"]
    assert ok["names"] == signed_names(genuine) and "*" in ok["names"]
    assert "结婚" in ok["events"] and "marriage" in ok["events"] and "2010-05-20" in ok["events"]
    assert "核对" in ok["compare"]
    gone = verdict(page, revoked.payload)  # invalid, yet its signed facts are shown
    assert gone["reason"] == "revoked" and "无婚姻登记记录证明" in gone["kind"]
    assert gone["names"] == signed_names(revoked) and "events" not in gone
    assert not {"kind", "names", "events", "compare"} & verdict(page, genuine.payload[:-7]).keys()

    for text, reason, message in (
        (revoked.payload, "revoked", "证明已被撤销"),
        (resigned(genuine.payload, expires=genuine.expires_at + timedelta(days=3650)),
         "bad_signature", "签名验证失败"),
        (genuine.payload[:-7], "malformed", "不是有效的证明载荷"),
        (genuine.payload + "\n", "valid", "证明有效"),  # a scanner's Enter is not part of it
    ):  # fmt: skip
        got = verdict(page, text)
        assert (got["reason"], got["valid"]) == (reason, str(reason == "valid").lower()), got
        assert message in got["text"]
        assert ("无效" in got["text"]) == (reason != "valid")
    assert verdict(page, revoked.payload)["number"] == revoked.number

    # a link to the page with the payload in its #fragment (never sent to the server)
    page.evaluate("text => { location.hash = encodeURIComponent(text); }", genuine.payload)
    assert shown(page)["number"] == genuine.number
    assert page.input_value("#payload") == genuine.payload

    assert re.fullmatch(r"刚刚|\d+ 分钟前", page.inner_text("#status-issued"))  # kept current
    verdict(page, "   ")
    assert page.inner_text("#result") == public_views._labels()["empty"]
    assert requests == []


@pytest.mark.browser
def test_an_uploaded_pdf_is_checked_on_the_server(
    page: Any, live_server: Any, transactional_db: Any, tmp_path: Path
) -> None:
    genuine, _revoked = issued()
    pdf = issuing.pdf_bytes(genuine)
    files = {
        "genuine.pdf": pdf,
        "altered.pdf": appended_update(pdf),
        "notes.txt": "这不是证明".encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    answers = {}
    for name in files:
        page.goto(live_server.url + "/verify/")
        page.set_input_files("#file", str(tmp_path / name))
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#result[data-source=server]")
        answers[name] = shown(page)
    assert (answers["genuine.pdf"]["valid"], answers["genuine.pdf"]["reason"]) == ("true", "valid")
    assert answers["genuine.pdf"]["number"] == genuine.number
    assert answers["genuine.pdf"]["issued"] == local_minute(genuine.issued_at)
    assert answers["genuine.pdf"]["expires"] == local_minute(genuine.expires_at)
    assert answers["genuine.pdf"]["status_age"]
    assert "婚姻登记记录证明" in answers["genuine.pdf"]["kind"]
    assert answers["genuine.pdf"]["names"] == signed_names(genuine)
    assert "结婚" in answers["genuine.pdf"]["events"] and "2010-05-20" in answers["genuine.pdf"]["events"]  # fmt: skip
    assert "有效" in answers["genuine.pdf"]["text"]
    assert (answers["altered.pdf"]["valid"], answers["altered.pdf"]["reason"]) == ("false", "pdf_altered")  # fmt: skip
    assert "签名后被追加修改" in answers["altered.pdf"]["text"]
    assert (answers["notes.txt"]["valid"], answers["notes.txt"]["reason"]) == ("false", "unreadable")  # fmt: skip
    assert (
        "不是可读取的图像" in answers["notes.txt"]["text"]
        and "无法核验" in answers["notes.txt"]["text"]
    )


# --- the page and the lists without a browser ----------------------------------------------------


def embedded(html: str, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)  # fmt: skip
    assert match, element_id
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_the_page_embeds_the_signed_lists_and_runs_no_inline_script(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        genuine, revoked = issued()
    response = Client().get("/verify/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-Hans">' in html and "证明核验" in html
    trust = embedded(html, "verify-trust-list")
    body = certificate_lists.open_envelope(trust, "lantai-trust-list/1", embedded(html, "verify-roots"))  # fmt: skip
    assert [i["key_id"] for i in body["issuers"]] == [genuine.issuer_key.key_id]
    (status,) = embedded(html, "verify-status-lists")
    signed = certificate_lists.open_envelope(status, "lantai-status-list/1", [genuine.issuer_key.public_key])  # fmt: skip
    assert certificate_lists.is_set(signed["bits"], revoked.status_index)
    assert not certificate_lists.is_set(signed["bits"], genuine.status_index)
    # the CSP allows scripts from files only: every <script> has a src or is data
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "状态列表签发于" in html


@pytest.mark.django_db(transaction=True)  # the key's on-commit republication runs as in service
def test_the_embedded_trust_list_knows_the_key_that_signed_the_status_list() -> None:
    """An archives whose key leaked gets its next key when its status list is next signed: the
    page must embed the trust list that names that key, or nothing of the archives verifies."""
    now = timezone.now().replace(microsecond=0)

    def leaked() -> Certificate:
        nanshan = archives("440305", "深圳市南山区档案馆")
        before = issuing.issue(draft(nanshan, "周九"), actor="counter-clerk", now=now - timedelta(hours=2))  # fmt: skip
        keys.withdraw(before.issuer_key.key_id, "签名服务器被入侵", actor="security-officer",
                      compromised_since=now - timedelta(hours=1))  # fmt: skip
        return before

    before = leaked()
    html = Client().get("/verify/").content.decode()
    verdict = certificate_verify.verify(
        before.payload, trust_list=embedded(html, "verify-trust-list"),
        status_lists=embedded(html, "verify-status-lists"),
        roots=frozenset(embedded(html, "verify-roots")), now=timezone.now(),
    )  # fmt: skip
    assert verdict.reason == "valid"


@pytest.mark.django_db
def test_the_signed_lists_are_served_for_five_minutes(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        genuine, _revoked = issued()
    client = Client()
    trust = client.get(reverse("verify:trust_list"))
    statuses = client.get(reverse("verify:status_lists"))
    for response in (trust, statuses):
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "public, max-age=300"
    assert trust.json()["format"] == "lantai-trust-list/1"
    assert [s["format"] for s in statuses.json()] == ["lantai-status-list/1"]
    assert client.post(reverse("verify:trust_list")).status_code == 405


@pytest.mark.django_db
def test_an_installation_that_has_issued_nothing_shows_the_page() -> None:
    assert not Repository.objects.exists()
    response = Client().get("/verify/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "尚无证明状态列表" in html and embedded(html, "verify-status-lists") == []
    assert Client().get(reverse("verify:trust_list")).json()["format"] == "lantai-trust-list/1"


@pytest.mark.django_db
def test_uploads_over_10_mb_are_refused_before_they_are_read() -> None:
    client = Client(enforce_csrf_checks=True)
    big = io.BytesIO(b"%PDF-1.7\n" + b"0" * (11 * 1024 * 1024))
    big.name = "big.pdf"
    response = client.post("/verify/", {"file": big})
    # refused for its size although it carries no CSRF token: its body was never read
    assert response.status_code == 413
    assert "文件超过 10 MB" in response.content.decode()
    small = io.BytesIO(b"%PDF-1.7\n")
    small.name = "small.pdf"
    assert client.post("/verify/", {"file": small}).status_code == 403  # CSRF still applies


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` pixels and holds one empty row: a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.django_db
def test_the_upload_result_shows_times_status_age_and_what_the_qr_code_signs(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        genuine, revoked = issued()
    answers = {}
    for certificate in (genuine, revoked):
        upload = io.BytesIO(issuing.pdf_bytes(certificate))
        upload.name = "certificate.pdf"
        answers[certificate.number] = Client().post("/verify/", {"file": upload}).content.decode()

    def field(html: str, key: str) -> str:
        match = re.search(rf'<dd[^>]*data-field="{key}"[^>]*>(.*?)</dd>', html, re.S)
        return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""

    html = answers[genuine.number]
    assert 'data-reason="valid"' in html
    assert field(html, "issued") == local_minute(genuine.issued_at)
    assert field(html, "expires") == local_minute(genuine.expires_at)
    assert re.fullmatch(r"刚刚|\d+ 分钟前", field(html, "status_age"))
    assert "婚姻登记记录证明" in field(html, "kind") and "无" not in field(html, "kind")
    assert "marriage registration records" in field(html, "kind")
    assert field(html, "names") == signed_names(genuine)
    assert re.search(r"结婚.*marriage.*2010-05-20", field(html, "events"), re.S)
    assert 'data-field="compare"' in html

    html = answers[revoked.number]  # invalid: the signed facts are shown all the same
    assert 'data-reason="revoked"' in html
    assert "无婚姻登记记录证明" in field(html, "kind")
    assert field(html, "names") == signed_names(revoked) and not field(html, "events")


@pytest.mark.django_db
def test_the_upload_result_in_english_puts_english_first(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        genuine, _revoked = issued()
    upload = io.BytesIO(issuing.pdf_bytes(genuine))
    upload.name = "certificate.pdf"
    html = Client(HTTP_ACCEPT_LANGUAGE="en").post("/verify/", {"file": upload}).content.decode()
    assert re.search(r'<span lang="en">marriage</span> <span lang="zh-Hans" class="muted">结婚</span>', html)  # fmt: skip


@pytest.mark.django_db
def test_hostile_uploads_are_answered_not_crashed() -> None:
    import pikepdf
    from PIL import Image

    client = Client()
    huge = io.BytesIO()
    Image.new("1", (9000, 9000)).save(huge, format="PNG")  # 81 megapixels, a few kB
    poster = pikepdf.new()
    poster.add_blank_page(page_size=(14400, 14400))  # 200 inches: gigabytes when rendered
    poster_pdf = io.BytesIO()
    poster.save(poster_pdf)
    cases = {
        "huge.png": (huge.getvalue(), "照片像素过多"),
        "bomb.png": (png_header(30000, 30000), "照片像素过多"),  # PIL itself refuses to open it
        "poster.pdf": (poster_pdf.getvalue(), "第一页过大"),
        "broken.pdf": (b"%PDF-1.7\n%%EOF", "PDF"),
        "empty.jpg": (b"", "既不是 PDF"),
    }
    for name, (data, message) in cases.items():
        upload = io.BytesIO(data)
        upload.name = name
        response = client.post("/verify/", {"file": upload})
        assert response.status_code == 400, name
        assert message in response.content.decode(), name
    response = client.post("/verify/", {})
    assert response.status_code == 400 and "请选择" in response.content.decode()
