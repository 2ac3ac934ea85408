"""The stacks of one 档案馆 are out of reach of a keeper of another (audit 19, point 18), times a
sensor cannot have taken (point 4), recounts (point 8), hidden 档号 in movements (point 10) and
the English labels (point 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from lantai.stacks import censuses, climate, importing, lending
from lantai.stacks import services as st
from lantai.stacks.models import Box, ClimateReading, Loan, Movement, Placement

from .conftest import Stacks, code


def signed_in(user: Any, **headers: Any) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


@pytest.fixture
def county(stacks: Stacks) -> tuple[Any, Any]:
    """A county archives with its own building, room, shelf and box, and its keeper."""
    from lantai.catalog import services as catalog
    from lantai.core import accounts

    repo = catalog.create_repository("451021", "临江县档案馆", level="county")
    keeper = accounts.create_user("county_keeper", role="preservation_officer",
                                  password="Pw-12345678x")  # fmt: skip
    accounts.grant(keeper, actor=None, repository_ids=[repo.pk])
    building = st.create_building(None, repo, "X1", "县馆库房楼")
    room = st.create_room(None, building, "X1-101", "县馆纸质库", "paper")
    st.create_shelf(None, room, "X-01", "2")
    st.create_box(None, "X-01", "XB-0001", 40)
    return repo, keeper


def test_lists_leave_out_another_archives_stacks(stacks: Stacks, county: Any) -> None:
    _repo, outsider = county
    body = signed_in(outsider).get("/stacks/").content.decode()
    assert "X1-101" in body and stacks.room.code not in body
    assert [b.code for b in st.boxes_for(outsider)] == ["XB-0001"]
    assert {b.code for b in st.boxes_for(stacks.keeper)} == {"B-0001", "B-0002", "XB-0001"}
    assert {b.code for b in st.boxes_for(None)} == {"B-0001", "B-0002", "XB-0001"}


def test_pages_of_another_archives_answer_404(stacks: Stacks, county: Any) -> None:
    _repo, outsider = county
    client = signed_in(outsider)
    for url in (f"/stacks/rooms/{stacks.room.pk}/", f"/stacks/shelves/{stacks.shelf.pk}/",
                f"/stacks/boxes/{stacks.box.pk}/"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    # a box number typed into "where is it" does not lead to the other archives' box
    assert client.get("/stacks/locate/", {"code": "B-0001"}).status_code == 200


def test_actions_on_another_archives_stacks_are_refused(stacks: Stacks, county: Any) -> None:
    _repo, outsider = county
    client = signed_in(outsider)
    client.post(f"/stacks/boxes/{stacks.box.pk}/move/", {"shelf": "A-02"})
    client.post(f"/stacks/rooms/{stacks.room.pk}/readings/",
                {"taken_at": "2026-03-01T08:00", "temperature": "18", "humidity": "50"})  # fmt: skip
    client.post("/stacks/census/new/", {"box": stacks.box.pk})
    assert Box.objects.get(pk=stacks.box.pk).shelf_id == stacks.shelf.pk
    assert not ClimateReading.objects.exists()
    assert not st.censuses_for(None).exists()
    # the services refuse too, as "not found"
    with pytest.raises(st.NotFound):
        lending.lend_box(outsider, stacks.box, "exhibition", "2099-01-01")
    with pytest.raises(st.NotFound):
        st.create_box(outsider, "A-01", "B-0099")  # a shelf of the other archives
    with pytest.raises(st.NotFound):
        st.move_box(outsider, Box.objects.get(code="XB-0001"), "A-02")  # to the other's shelf
    with pytest.raises(st.NotFound):
        censuses.start_census(outsider, box=stacks.box)
    loan = lending.lend_box(stacks.keeper, stacks.box, "exhibition", "2099-01-01")
    assert client.post(f"/stacks/loans/{loan.pk}/return/").status_code == 404
    with pytest.raises(st.NotFound):
        lending.return_loan(outsider, loan)
    assert Loan.objects.get(pk=loan.pk).returned_at is None


def test_a_time_before_1970_or_far_ahead_is_refused_with_its_rule(stacks: Stacks) -> None:
    for text, rule in (("0001-01-01T00:00", "implausible"), ("1969-12-31T23:59+08:00", "implausible"),
                       ("9999-12-31T23:59-05:00", "future"), ("2026-13-01", "not_iso8601"),
                       (" ", "required")):  # fmt: skip
        with pytest.raises(climate.TimeProblem) as got:
            climate.parse_time(text)
        assert got.value.rule == rule, text
    assert climate.parse_time("1970-01-02T00:00+00:00").year == 1970


def test_import_report_names_the_time_column_once_and_the_rule(
    stacks: Stacks, tmp_path: Path
) -> None:
    csv = tmp_path / "readings.csv"
    csv.write_text(f"库房,时间,温度,湿度\n{stacks.room.code},,18.0,50\n"
                   f"{stacks.room.code},1900-01-01T00:00,18.0,50\n", encoding="utf-8")  # fmt: skip
    batch = importing.import_readings(stacks.keeper, csv)
    assert [(e["rule"], e["column"]) for e in batch.errors] == [
        ("required", "时间"),
        ("implausible", "时间"),
    ]
    assert all("时间（" not in e["message"] for e in batch.errors)
    body = (
        signed_in(stacks.keeper, HTTP_ACCEPT_LANGUAGE="en")
        .get(f"/stacks/readings/imports/{batch.pk}/")
        .content.decode()
    )
    assert "<td>Time</td>" in body


def test_a_completed_census_is_settled_once_a_discrepancy_is_resolved(stacks: Stacks) -> None:
    st.place_records(stacks.keeper, stacks.box, [code(1), code(2)])
    census = censuses.start_census(stacks.keeper, box=stacks.box)
    cbox = census.boxes.get()
    found = censuses.enter_count(stacks.keeper, cbox, [code(1)])
    census.refresh_from_db()
    assert census.status == "completed" and censuses.recountable(census)
    page = signed_in(stacks.keeper).get(f"/stacks/census/{census.pk}/?box={cbox.pk}")
    assert f"/stacks/census/boxes/{cbox.pk}/count/" in page.content.decode()
    censuses.resolve_discrepancy(stacks.keeper, found[0], "在修复室")
    assert not censuses.recountable(census)
    with pytest.raises(st.StacksError, match="结果已确定"):
        censuses.enter_count(stacks.keeper, cbox, [code(1), code(2)])


def test_box_page_hides_only_the_code_of_a_unit_above_clearance(stacks: Stacks) -> None:
    secret = "Z109-WS·2019-Y-0200"
    st.place_records(None, stacks.box, [secret])
    assert Movement.objects.filter(reference_code=secret).exists()
    keeper = signed_in(stacks.keeper).get(f"/stacks/boxes/{stacks.box.pk}/").content.decode()
    assert secret not in keeper and "1 件（密级高于您的权限）" in keeper
    assert Placement.objects.filter(record__reference_code=secret).exists()
