"""查档申请 from the public: identity checks (GB 11643), the honeypot, the minimum fill time, the
rate limits (429 + Retry-After), the reference number and the status page."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from django.test import Client

from lantai.access import services
from lantai.access.forms import started_token
from lantai.access.models import AccessRequest
from lantai.core.models import AuditEntry
from lantai.core.ratelimit import parse_rate

from .conftest import Portal, resident_id

pytestmark = pytest.mark.django_db


def test_resident_id_checksum() -> None:
    assert services.resident_id_problem("11010519491231002X") is None  # GB 11643 example
    assert services.resident_id_problem("11010519491231002x") is None
    assert services.resident_id_problem(resident_id()) is None
    assert "校验位" in (services.resident_id_problem("110105194912310021") or "")
    assert "18 位" in (services.resident_id_problem("11010519491231") or "")
    assert "出生日期" in (services.resident_id_problem(resident_id("62010219850231123")) or "")
    future = resident_id("62010220990101123")
    assert "不合理" in (services.resident_id_problem(future, today=date(2026, 1, 1)) or "")
    assert services.id_number_problem("passport", "E12345678") is None
    assert services.id_number_problem("passport", "<script>") is not None


def test_phone_numbers() -> None:
    assert services.normalize_phone("138 0931 1234") == "13809311234"
    assert services.normalize_phone("+86 13809311234") == "13809311234"
    assert services.normalize_phone("0931-8812345") == "0931-8812345"
    with pytest.raises(services.AccessError):
        services.normalize_phone("12345")


def form_data(**changes: Any) -> dict[str, Any]:
    data = {
        "applicant_name": "李华",
        "id_type": "resident_id",
        "id_number": resident_id(),
        "phone": "13809311234",
        "purpose": "family",
        "purpose_detail": "",
        "records_text": "1985年兰州市城关区婚姻登记档案",
        "website": "",
        "started": started_token(time.time() - 30),
    }
    data.update(changes)
    return data


def test_submit_a_request_from_a_record_page(portal: Portal) -> None:
    record = portal.open_records[0]
    client = Client(enforce_csrf_checks=True)
    page = client.get("/public/request/", {"record": record.pk})
    html = page.content.decode()
    assert record.reference_code in html and 'name="records"' in html and "checked" in html
    token = page.cookies["csrftoken"].value
    data = form_data(records=[str(record.pk)], certified_copy="on")
    data["csrfmiddlewaretoken"] = token
    response = client.post("/public/request/", data)
    assert response.status_code == 302
    done = client.get(response["Location"]).content.decode()
    req = AccessRequest.objects.get()
    assert req.reference in done and req.reference.startswith("CD")
    assert list(req.records.all()) == [record] and req.certified_copy and req.status == "submitted"
    entry = AuditEntry.objects.get(action="access_request_submit")
    assert entry.target_id == req.reference and req.id_number not in str(entry.detail)
    # the status page, by reference and phone
    status = client.post(
        "/public/status/",
        {
            "reference": req.reference.lower(),
            "phone": "138 0931 1234",
            "csrfmiddlewaretoken": token,
        },
    ).content.decode()
    assert "已提交" in status and "李*" in status and req.id_number not in status
    wrong = client.post(
        "/public/status/",
        {"reference": req.reference, "phone": "13900000000", "csrfmiddlewaretoken": token},
    ).content.decode()
    assert "未找到与该申请编号和联系电话相符的申请" in wrong and "李*" not in wrong


def test_request_without_csrf_token_is_refused(portal: Portal) -> None:
    response = Client(enforce_csrf_checks=True).post("/public/request/", form_data())
    assert response.status_code == 403
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id_number": "110105194912310021"}, "校验位不正确"),
        ({"id_number": "1101051949"}, "应为 18 位"),
        ({"phone": "123"}, "有效的手机号码"),
        ({"purpose": "other"}, "请说明具体目的"),
        ({"records_text": ""}, "请说明需要查阅的档案"),
        ({"applicant_name": ""}, "这个字段是必填项"),
    ],
)
def test_invalid_requests_say_what_is_wrong(
    portal: Portal, changes: dict[str, str], message: str
) -> None:
    response = Client().post("/public/request/", form_data(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_honeypot_and_fill_time_stop_bots(portal: Portal, settings: Any) -> None:
    client = Client()
    response = client.post("/public/request/", form_data(website="http://spam.example"))
    assert response.status_code == 400 and "提交未成功" in response.content.decode()
    settings.PUBLIC_FORM_MIN_SECONDS = 3
    response = client.post("/public/request/", form_data(started=started_token()))
    assert response.status_code == 400 and "提交过快" in response.content.decode()
    response = client.post("/public/request/", form_data(started="forged"))
    assert response.status_code == 400 and "表单已过期" in response.content.decode()
    assert not AccessRequest.objects.exists()
    assert client.post("/public/request/", form_data()).status_code == 302


def test_form_rate_limit(portal: Portal, settings: Any) -> None:
    settings.PUBLIC_FORM_RATE = "2/10min"
    client = Client()
    assert client.post("/public/request/", form_data()).status_code == 302
    assert client.post("/public/request/", form_data()).status_code == 302
    response = client.post("/public/request/", form_data())
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "访问过于频繁" in response.content.decode()
    assert AccessRequest.objects.count() == 2
    assert client.get("/public/request/").status_code == 200  # reading the form is a page view


def test_page_and_search_rate_limits_per_client(portal: Portal, settings: Any) -> None:
    settings.PUBLIC_RATE = "3/min"
    client = Client()
    for _ in range(3):
        assert client.get("/public/").status_code == 200
    blocked = client.get("/public/")
    assert blocked.status_code == 429 and 1 <= int(blocked["Retry-After"]) <= 20
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.get("/public/").status_code == 200  # buckets are per client address
    settings.PUBLIC_RATE = "1000/min"
    settings.PUBLIC_SEARCH_RATE = "1/min"
    assert other.get("/public/search/", {"q": "婚姻"}).status_code == 200
    assert other.get("/public/search/", {"q": "婚姻"}).status_code == 429


def test_rate_parsing() -> None:
    assert parse_rate("60/min") == (60, 60.0)
    assert parse_rate("5/10min") == (5, 600.0)
    assert parse_rate("1000/h") == (1000, 3600.0)
    with pytest.raises(ValueError):
        parse_rate("lots")
