"""The staff pages of the stacks: who may look and who may change, the forms' refusals shown as
messages, the room's chart (SVG with title, description, limit band and the points outside it,
and the table beside it), the census screens and the import page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.stacks import climate, lending
from lantai.stacks import services as st
from lantai.stacks.models import Box, ClimateAlert, ClimateReading, Loan, Placement, ReadingImport

from .conftest import Stacks, code

pytestmark = pytest.mark.sqlite_run_only


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def text(response: Any) -> str:
    return response.content.decode()


def test_keeper_sees_home_with_alerts_and_loans(stacks: Stacks) -> None:
    climate.enter_reading(None, stacks.room, timezone.now() - dt.timedelta(hours=1), "20", "66")
    lending.lend_box(
        None, stacks.box2, "exhibition", dt.date.today() + dt.timedelta(days=3), "展厅"
    )
    page = client_for(stacks.keeper).get(reverse("stacks:home"))
    assert page.status_code == 200
    body = text(page)
    assert "湿度过高" in body and "B-0002" in body and "K1-101" in body
    assert 'name="code"' in body and "autofocus" in body  # the 档号 lookup is ready to type into


def test_viewer_may_look_but_not_change_and_others_may_not_look(stacks: Stacks) -> None:
    viewer = client_for(stacks.cataloguer)
    assert viewer.get(reverse("stacks:box", args=[stacks.box.pk])).status_code == 200
    refused = viewer.post(reverse("stacks:box_move", args=[stacks.box.pk]), {"shelf": "A-02"})
    assert refused.status_code == 403
    assert Box.objects.get(pk=stacks.box.pk).shelf_id == stacks.shelf.pk
    assert client_for(stacks.sysadmin).get(reverse("stacks:home")).status_code == 403


def test_move_to_a_missing_shelf_shows_the_error_on_the_box_page(stacks: Stacks) -> None:
    c = client_for(stacks.keeper)
    page = c.post(reverse("stacks:box_move", args=[stacks.box.pk]), {"shelf": "Z-99"}, follow=True)
    assert "架号“Z-99”不存在" in text(page)
    assert Box.objects.get(pk=stacks.box.pk).shelf_id == stacks.shelf.pk


def test_place_lend_and_return_through_the_box_page(stacks: Stacks) -> None:
    c = client_for(stacks.keeper)
    page = c.post(
        reverse("stacks:box_place", args=[stacks.box.pk]),
        {"codes": f"{code(1)}\r\n{code(2)}\r\n"},
        follow=True,
    )
    assert "已装盒 2 件" in text(page)
    page = c.post(
        reverse("stacks:box_place", args=[stacks.box2.pk]), {"codes": code(1)}, follow=True
    )
    assert "已在盒“B-0001”中" in text(page)
    assert Placement.objects.get(record=stacks.records[code(1)]).box_id == stacks.box.pk
    due = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    c.post(
        reverse("stacks:box_lend", args=[stacks.box.pk]), {"purpose": "digitization", "due_on": due}
    )
    again = c.post(
        reverse("stacks:box_lend", args=[stacks.box.pk]),
        {"purpose": "repair", "due_on": due},
        follow=True,
    )
    assert "已借出" in text(again) and "归还后才能再次借出" in text(again)
    loan = Loan.objects.get(box=stacks.box, returned_at__isnull=True)
    c.post(reverse("stacks:loan_return", args=[loan.pk]), {"note": "完成", "box": stacks.box.pk})
    assert Box.objects.get(pk=stacks.box.pk).status == "shelved"
    where = c.get(reverse("stacks:locate"), {"code": code(2)})
    assert "B-0001" in text(where) and "A-01" in text(where)
    assert c.get(reverse("stacks:locate"), {"code": "B-0002"}).status_code == 302  # a box number


def test_room_chart_is_accessible_svg_with_band_and_breaches(stacks: Stacks) -> None:
    now = timezone.now()
    climate.enter_reading(None, stacks.room, now - dt.timedelta(days=2), "20", "50")
    climate.enter_reading(None, stacks.room, now - dt.timedelta(days=1), "20", "64")
    body = text(
        client_for(stacks.cataloguer).get(
            reverse("stacks:room", args=[stacks.room.pk]), {"days": 7}
        )
    )
    assert 'role="img"' in body and '<title id="chart-humidity-title">' in body and "<desc" in body
    assert 'class="chart-band"' in body and body.count('class="chart-breach"') == 1
    assert "<table" in body and "64.00" in body  # the table alternative
    assert "style=" not in body.split("<svg", 1)[1].split("</svg>", 1)[0]  # CSP: no inline styles


def test_reading_form_refuses_implausible_humidity(stacks: Stacks) -> None:
    c = client_for(stacks.keeper)
    page = c.post(reverse("stacks:room_reading", args=[stacks.room.pk]),
                  {"taken_at": "2026-03-01T08:00", "temperature": "20", "humidity": "140"}, follow=True)  # fmt: skip
    assert "不可能为 140" in text(page)
    assert not ClimateReading.objects.exists()
    page = c.post(reverse("stacks:room_reading", args=[stacks.room.pk]),
                  {"taken_at": "2026-03-01T08:00", "temperature": "20", "humidity": "70"}, follow=True)  # fmt: skip
    assert "已产生 1 条告警" in text(page)
    alert = ClimateAlert.objects.get()
    c.post(reverse("stacks:alert_resolve", args=[alert.pk]), {"note": "除湿"})
    assert ClimateAlert.objects.get().resolved_at is not None


def test_census_screens_report_discrepancies(stacks: Stacks) -> None:
    st.place_records(None, stacks.box, [code(1), code(2)])
    c = client_for(stacks.keeper)
    started = c.post(reverse("stacks:census_start"), {"box": stacks.box.pk})
    assert started.status_code == 302
    page = c.get(started.url)
    assert "count-codes" in text(page)
    cbox = stacks.box.pk
    from lantai.stacks.models import CensusBox

    count = CensusBox.objects.get(box_id=cbox)
    page = c.post(
        reverse("stacks:census_count", args=[count.pk]),
        {"codes": f"{code(1)}\n{code(3)}"},
        follow=True,
    )
    body = text(page)
    assert "发现 2 处差异" in body and "缺失" in body and "多出" in body and code(2) in body


def test_import_page_refuses_a_file_with_bad_rows_and_reports_them(stacks: Stacks) -> None:
    c = client_for(stacks.keeper)
    data = "时间,温度,湿度,传感器\n2026-03-01T08:00,20,140,S-1\n".encode("gb18030")
    upload = SimpleUploadedFile("读数.csv", data, content_type="text/csv")
    page = c.post(
        reverse("stacks:readings_import"), {"file": upload, "room": stacks.room.pk}, follow=True
    )
    body = text(page)
    assert "整个文件未导入" in body and "implausible" in body and "读数.csv" in body
    assert ReadingImport.objects.get().status == "rejected"
