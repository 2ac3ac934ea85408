"""Audit of issue 19 (stacks): defects found from outside, kept as regression tests (each was a
failing xfail-strict test until it was fixed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client

from lantai.stacks import censuses, importing
from lantai.stacks import services as st
from lantai.stacks.models import ClimateReading, ReadingImport
from tests.stacks.conftest import Stacks, code, stacks  # noqa: F401 - fixture


def signed_in(user: Any, **headers: Any) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def test_a_sensor_row_with_a_year_one_time_is_a_bad_row(stacks: Stacks, tmp_path: Path) -> None:  # noqa: F811
    csv = tmp_path / "readings.csv"
    csv.write_text(
        "库房,时间,温度,湿度\n"
        f"{stacks.room.code},2026-03-01T08:00:00+08:00,18.0,50\n"
        f"{stacks.room.code},0001-01-01T00:00,18.0,50\n",
        encoding="gb18030",
    )
    batch = importing.import_readings(stacks.keeper, csv)
    assert batch.status == "rejected" and batch.rows_rejected == 1
    assert [e["row"] for e in batch.errors] == [3]
    assert not ClimateReading.objects.exists() and ReadingImport.objects.count() == 1


def test_a_typed_reading_of_year_one_is_refused_clearly(stacks: Stacks) -> None:  # noqa: F811
    page = signed_in(stacks.keeper).post(
        f"/stacks/rooms/{stacks.room.pk}/readings/",
        {"taken_at": "0001-01-01T00:00", "temperature": "18", "humidity": "50"},
    )
    assert page.status_code == 302
    assert not ClimateReading.objects.exists()


def test_a_mistyped_count_of_a_one_box_census_can_be_recounted(stacks: Stacks) -> None:  # noqa: F811
    st.place_records(stacks.keeper, stacks.box, [code(1), code(2)])
    census = censuses.start_census(stacks.keeper, box=stacks.box)
    cbox = census.boxes.get()
    found = censuses.enter_count(stacks.keeper, cbox, [code(1), "Z109-WS·2019-Y-00002"])  # typo
    assert {d.kind for d in found} == {"missing", "unexpected"}
    cbox.refresh_from_db()
    assert censuses.enter_count(stacks.keeper, cbox, [code(1), code(2)]) == []


def test_the_box_page_does_not_name_units_above_the_viewers_clearance(stacks: Stacks) -> None:  # noqa: F811
    secret = "Z109-WS·2019-Y-0200"
    st.place_records(None, stacks.box, [code(1), secret])  # the operator at the command line
    body = signed_in(stacks.keeper).get(f"/stacks/boxes/{stacks.box.pk}/").content.decode()
    assert code(1) in body
    assert secret not in body


def test_the_english_stacks_page_names_room_kinds_in_english(stacks: Stacks) -> None:  # noqa: F811
    body = signed_in(stacks.keeper, HTTP_ACCEPT_LANGUAGE="en").get("/stacks/").content.decode()
    assert 'lang="en"' in body
    assert "Paper records stack" in body
    assert "纸质档案库（14" not in body and "音像磁带库" not in body


def test_a_keeper_of_another_archives_cannot_lend_this_archives_boxes(stacks: Stacks) -> None:  # noqa: F811
    from lantai.catalog import services as catalog
    from lantai.core import accounts
    from lantai.stacks.models import Loan

    county = catalog.create_repository("451021", "临江县档案馆", level="county")
    outsider = accounts.create_user(
        "county_keeper", role="preservation_officer", password="Pw-12345678x"
    )
    accounts.grant(outsider, actor=None, repository_ids=[county.pk])
    client = signed_in(outsider)
    assert client.get(f"/stacks/boxes/{stacks.box.pk}/").status_code == 404
    client.post(
        f"/stacks/boxes/{stacks.box.pk}/lend/", {"purpose": "exhibition", "due_on": "2099-01-01"}
    )
    assert not Loan.objects.exists()
