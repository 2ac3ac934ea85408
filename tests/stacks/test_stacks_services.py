"""The stacks services: boxes on shelves, units in boxes, loans, censuses, climate readings and
alerts, and the shelving figure; each bad input gives a clear refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from lantai.core.models import AuditEntry
from lantai.stacks import censuses, climate, lending
from lantai.stacks import services as st
from lantai.stacks.models import Box, ClimateAlert, ClimateReading, Loan, Movement, Placement

from .conftest import Stacks, code, make_record

TOMORROW = (dt.date.today() + dt.timedelta(days=7)).isoformat()


def local(text: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(text))


# --- boxes and shelves -----------------------------------------------------------------------
def test_box_moved_to_a_shelf_that_does_not_exist_is_refused_by_name(stacks: Stacks) -> None:
    with pytest.raises(st.NotFound, match="架号“Z-99”不存在"):
        st.move_box(stacks.keeper, stacks.box, "Z-99", "调架")
    stacks.box.refresh_from_db()
    assert stacks.box.shelf_id == stacks.shelf.pk
    assert not Movement.objects.filter(kind="move").exists()


def test_box_moves_to_another_shelf_and_the_move_is_logged(stacks: Stacks) -> None:
    big = st.create_shelf(None, stacks.room, "A-03", "2")
    st.move_box(stacks.keeper, stacks.box, "A-03", "腾架")
    stacks.box.refresh_from_db()
    assert stacks.box.shelf_id == big.pk
    move = Movement.objects.get(kind="move")
    assert (move.from_place, move.to_place, move.reason, move.actor) == (
        "K1/K1-101/A-01", "K1/K1-101/A-03", "腾架", "zhaoyan",
    )  # fmt: skip
    entry = AuditEntry.objects.filter(action="stacks.box.move").get()
    assert entry.detail["to"] == "K1/K1-101/A-03" and entry.actor == "zhaoyan"


def test_shelf_over_its_box_positions_is_refused(stacks: Stacks) -> None:
    st.create_box(None, "A-01", "B-0003", 20)  # the third of 3 positions
    with pytest.raises(st.StacksError, match="架“A-01”已满：3个盒位"):
        st.create_box(None, "A-01", "B-0004", 20)
    assert not Box.objects.filter(code="B-0004").exists()


def test_shelf_over_its_length_is_refused(stacks: Stacks) -> None:
    st.create_box(None, "A-02", "B-0010", 50)
    st.create_box(None, "A-02", "B-0011", 50)  # 100 mm of 100 mm
    with pytest.raises(st.StacksError, match="架“A-02”长度不足：共 0.10 米，已用 0.10 米"):
        st.move_box(None, stacks.box, "A-02")


def test_bad_box_inputs_are_refused(stacks: Stacks) -> None:
    with pytest.raises(st.StacksError, match="盒脊厚度（thickness_mm）须为 20 / 30 / 40 / 50"):
        st.create_box(None, "A-01", "B-0005", 45)
    with pytest.raises(st.StacksError, match="盒号（code）“B-0001”已存在"):
        st.create_box(None, "A-01", "B-0001")
    with pytest.raises(st.NotFound, match="架号“NOPE”不存在"):
        st.create_box(None, "NOPE", "B-0006")
    with pytest.raises(st.StacksError, match="长度（米）（length_m）须为数字"):
        st.create_shelf(None, stacks.room, "A-09", "一米")


def test_changes_need_the_stacks_permission(stacks: Stacks) -> None:
    with pytest.raises(st.Forbidden, match="库房管理权限"):
        st.move_box(stacks.cataloguer, stacks.box, "A-02")
    with pytest.raises(st.Forbidden, match="档案查看权限"):
        st.locate(stacks.sysadmin, code(1))
    assert st.locate(stacks.cataloguer, code(1))[0]["located"] is False


# --- units in boxes ----------------------------------------------------------------------------
def test_units_are_placed_and_located_a_volume_item_follows_its_volume(stacks: Stacks) -> None:
    st.place_records(
        stacks.keeper, stacks.box, f"{code(1)}\n{code(2)}\n\n{code(1)}\nZ109-WS·2019-Y-0100"
    )
    assert Placement.objects.filter(box=stacks.box).count() == 3
    [where] = st.locate(stacks.keeper, code(2))
    assert (where["building"], where["room"], where["shelf"], where["box"]) == (
        "K1",
        "K1-101",
        "A-01",
        "B-0001",
    )
    [inner] = st.locate(stacks.keeper, "Z109-WS·2019-Y-0100-0001")
    assert inner["box"] == "B-0001" and inner["follows_volume"] == "Z109-WS·2019-Y-0100"


def test_a_record_is_never_in_two_boxes(stacks: Stacks) -> None:
    st.place_records(stacks.keeper, stacks.box, [code(1)])
    with pytest.raises(st.StacksError) as e:
        st.place_records(stacks.keeper, stacks.box2, [code(3), code(1)])
    assert e.value.problems == [
        f"第2行：“{code(1)}”已在盒“B-0001”中（一件档案只能在一个盒中）：如确已移到本盒，请勾选“从原盒移入”"
    ]
    assert not Placement.objects.filter(box=stacks.box2).exists()  # all or nothing
    st.place_records(stacks.keeper, stacks.box2, [code(1)], relocate=True)
    assert Placement.objects.get(record=stacks.records[code(1)]).box_id == stacks.box2.pk
    assert Movement.objects.filter(
        kind="place", reference_code=code(1), from_place="B-0001"
    ).exists()


def test_placing_refuses_volume_items_unknown_and_hidden_codes(stacks: Stacks) -> None:
    with pytest.raises(st.StacksError) as e:
        st.place_records(stacks.keeper, stacks.box, ["Z109-WS·2019-Y-0100-0001", "Z109-WS·2019-Y-9999",
                                                     "Z109-WS·2019-Y-0200"])  # fmt: skip
    assert e.value.problems == [
        "第1行：“Z109-WS·2019-Y-0100-0001”是卷内文件，随所属案卷存放：请放置其案卷",
        "第2行：档号“Z109-WS·2019-Y-9999”不存在或无权查看",
        "第3行：档号“Z109-WS·2019-Y-0200”不存在或无权查看",  # above the keeper's clearance
    ]


# --- loans -------------------------------------------------------------------------------------
def test_lending_an_already_lent_box_is_refused_and_it_cannot_move(stacks: Stacks) -> None:
    loan = lending.lend_box(
        stacks.keeper, stacks.box, "digitization", TOMORROW, "数字化加工中心", "2019年文书扫描"
    )
    stacks.box.refresh_from_db()
    assert stacks.box.status == "out"
    with pytest.raises(st.StacksError, match="盒“B-0001”已借出（.*应还 .*）：归还后才能再次借出"):
        lending.lend_box(stacks.keeper, stacks.box, "exhibition", TOMORROW)
    with pytest.raises(st.StacksError, match="已借出，归还后才能移架"):
        st.move_box(stacks.keeper, stacks.box, "A-02")
    assert Loan.objects.filter(box=stacks.box).count() == 1
    lending.return_loan(stacks.keeper, loan, "扫描完成")
    stacks.box.refresh_from_db()
    assert stacks.box.status == "shelved"
    with pytest.raises(st.StacksError, match="该借出已归还"):
        lending.return_loan(stacks.keeper, loan)
    assert [m.kind for m in Movement.objects.filter(box=stacks.box).order_by("at", "pk")] == [
        "shelve",
        "lend",
        "return",
    ]


def test_a_unit_is_lent_alone_and_shows_as_out(stacks: Stacks) -> None:
    st.place_records(None, stacks.box, [code(1), code(2)])
    rec = stacks.records[code(1)]
    with pytest.raises(st.StacksError, match="用途（purpose）须为"):
        lending.lend_record(stacks.keeper, rec, "sale", TOMORROW)
    with pytest.raises(st.StacksError, match="应还日期（due_on）不得早于今天"):
        lending.lend_record(stacks.keeper, rec, "repair", "2001-01-01")
    with pytest.raises(st.StacksError, match="事由（reason）必填"):
        lending.lend_record(stacks.keeper, rec, "other", TOMORROW)
    lending.lend_record(stacks.keeper, rec, "repair", TOMORROW, "修复室")
    with pytest.raises(st.StacksError, match="已借出：归还后才能再次借出"):
        lending.lend_record(stacks.keeper, rec, "repair", TOMORROW)
    [where] = st.locate(stacks.keeper, code(1))
    assert where["on_loan"]["purpose"] == "repair" and where["on_loan"]["with_box"] is False
    with pytest.raises(st.StacksError, match="未上架"):
        lending.lend_record(stacks.keeper, stacks.records[code(5)], "repair", TOMORROW)
    lending.lend_box(stacks.keeper, stacks.box, "exhibition", TOMORROW)
    with pytest.raises(st.StacksError, match="随盒“B-0001”借出中"):
        lending.lend_record(stacks.keeper, stacks.records[code(2)], "repair", TOMORROW)


# --- census ------------------------------------------------------------------------------------
def test_census_reports_missing_unexpected_and_misplaced_units(stacks: Stacks) -> None:
    st.place_records(None, stacks.box, [code(1), code(2), code(3)])
    st.place_records(None, stacks.box2, [code(4)])
    census = censuses.start_census(stacks.keeper, box=stacks.box)
    [cbox] = census.boxes.all()
    found = censuses.enter_count(
        stacks.keeper, cbox, f"{code(1)}\n{code(3)}\n{code(4)}\n{code(5)}\nZ109-X-0001\n{code(1)}"
    )
    kinds = sorted((d.kind, d.reference_code) for d in found)
    assert kinds == [
        ("misplaced", code(4)), ("missing", code(2)), ("unexpected", code(5)), ("unexpected", "Z109-X-0001"),
    ]  # fmt: skip
    misplaced = next(d for d in found if d.kind == "misplaced")
    assert misplaced.recorded_box_id == stacks.box2.pk
    census.refresh_from_db()
    assert census.status == "completed"
    report = censuses.census_report(census)
    assert (report.expected, report.counted, report.unresolved) == (3, 5, 4)
    with pytest.raises(st.StacksError, match="处理说明（note）必填"):
        censuses.resolve_discrepancy(stacks.keeper, misplaced, " ")
    censuses.resolve_discrepancy(stacks.keeper, misplaced, "实物在本盒，更正登记", relocate=True)
    assert Placement.objects.get(record=stacks.records[code(4)]).box_id == stacks.box.pk
    missing = next(d for d in found if d.kind == "missing")
    with pytest.raises(st.StacksError, match="只有错放或多出的"):
        censuses.resolve_discrepancy(stacks.keeper, missing, "找到", relocate=True)
    censuses.resolve_discrepancy(stacks.keeper, missing, "在修复室，已登记")
    assert censuses.census_report(census).unresolved == 2
    with pytest.raises(st.StacksError, match="该清点已完成"):
        censuses.enter_count(stacks.keeper, cbox, code(1))


def test_census_of_a_shelf_counts_each_shelved_box(stacks: Stacks) -> None:
    st.place_records(None, stacks.box, [code(1)])
    st.place_records(None, stacks.box2, [code(2)])
    census = censuses.start_census(stacks.keeper, shelf=stacks.shelf)
    boxes = {b.box.code: b for b in census.boxes.select_related("box")}
    assert sorted(boxes) == ["B-0001", "B-0002"]
    assert censuses.enter_count(None, boxes["B-0001"], code(1)) == []
    census.refresh_from_db()
    assert census.status == "open"
    assert censuses.enter_count(None, boxes["B-0002"], code(2)) == []
    census.refresh_from_db()
    assert census.status == "completed"
    lending.lend_box(None, stacks.box, "repair", TOMORROW)
    with pytest.raises(st.StacksError, match="已借出，归还后才能清点"):
        censuses.start_census(None, box=stacks.box)


# --- climate -----------------------------------------------------------------------------------
def test_humidity_out_of_range_raises_an_alert_that_is_resolved_with_a_note(stacks: Stacks) -> None:
    _reading, alerts = climate.enter_reading(
        stacks.keeper, stacks.room, "2026-03-01T08:00", "20", "58"
    )
    assert alerts == []
    _reading, alerts = climate.enter_reading(
        stacks.keeper, stacks.room, "2026-03-01T09:00", "20", "62.5"
    )
    [alert] = alerts
    assert (alert.kind, alert.worst, alert.limit) == (
        "humidity_high",
        Decimal("62.50"),
        Decimal("60"),
    )
    climate.enter_reading(stacks.keeper, stacks.room, "2026-03-01T10:00", "20.5", "65")
    alert.refresh_from_db()
    assert (alert.readings, alert.worst) == (2, Decimal("65.00"))  # extended, not a second alert
    assert climate.open_alerts(stacks.room).count() == 1  # within the daily fluctuation: ±3.5 %
    with pytest.raises(st.StacksError, match="处理说明（note）必填"):
        climate.resolve_alert(stacks.keeper, alert, "")
    climate.resolve_alert(stacks.keeper, alert, "已开启除湿机")
    assert AuditEntry.objects.filter(
        action="stacks.alert.resolve", detail__note="已开启除湿机"
    ).exists()
    _r, again = climate.enter_reading(stacks.keeper, stacks.room, "2026-03-01T11:00", "20", "61")
    assert [a.kind for a in again] == ["humidity_high"]  # a new breach after acknowledging


def test_daily_fluctuation_beyond_the_standard_raises_an_alert(stacks: Stacks) -> None:
    climate.enter_reading(None, stacks.room, "2026-03-02T06:00", "15", "50")
    _r, alerts = climate.enter_reading(None, stacks.room, "2026-03-02T15:00", "20", "52")  # ±2.5 °C
    assert [(a.kind, a.worst, a.day) for a in alerts] == [
        ("temperature_fluctuation", Decimal("2.50"), dt.date(2026, 3, 2))
    ]


def test_implausible_and_non_numeric_readings_are_refused_not_stored(stacks: Stacks) -> None:
    with pytest.raises(st.StacksError, match="相对湿度（%）不可能为 140"):
        climate.enter_reading(None, stacks.room, "2026-03-01T08:00", "20", "140")
    with pytest.raises(st.StacksError, match="温度（°C）须为数字：二十"):
        climate.enter_reading(None, stacks.room, "2026-03-01T08:00", "二十", "50")
    with pytest.raises(st.StacksError, match="ISO 8601"):
        climate.enter_reading(None, stacks.room, "03/01/2026 8:00", "20", "50")
    assert not ClimateReading.objects.exists() and not ClimateAlert.objects.exists()


def test_room_limits_override_the_kind(stacks: Stacks) -> None:
    st.set_room_climate(stacks.keeper, stacks.room, "paper", {"rh_max": "55"})
    _r, alerts = climate.enter_reading(None, stacks.room, "2026-03-03T08:00", "20", "57")
    assert [(a.kind, a.limit) for a in alerts] == [("humidity_high", Decimal("55.00"))]
    with pytest.raises(st.StacksError, match="最低温度（temp_min 25）须低于最高温度"):
        st.set_room_climate(stacks.keeper, stacks.room, "paper", {"temp_min": "25"})
    with pytest.raises(st.StacksError, match="库房类型（kind）须为"):
        st.set_room_climate(stacks.keeper, stacks.room, "cellar", {})


# --- figures -----------------------------------------------------------------------------------
def test_shelving_metres_is_the_spine_thickness_of_the_boxes_on_shelves(stacks: Stacks) -> None:
    from lantai.core import figures

    year = timezone.localdate().year
    st.create_box(None, "A-02", "B-0020", 30)
    from lantai.catalog import services as catalog

    provided = figures.provided()["shelving_metres"]
    assert provided(year, stacks.repo.pk) == pytest.approx(0.11)  # 40 + 40 + 30 mm
    other = catalog.create_repository("451021", "临江县档案馆", level="county")
    assert provided(year, other.pk) == 0  # the boxes of this archives only
    assert st.shelving_metres(year - 1) == 0
    Box.objects.filter(code="B-0020").update(created_at=local(f"{year - 1}-12-31T23:00"))
    assert st.shelving_metres(year - 1) == pytest.approx(0.03)


def test_a_deleted_record_leaves_its_box(stacks: Stacks) -> None:
    rec = make_record(stacks.records[code(1)].category, "Z109-WS·2019-Y-0300")
    st.place_records(None, stacks.box, [rec.reference_code])
    rec.delete()
    assert not Placement.objects.filter(box=stacks.box).exists()


def test_units_of_a_lent_box_or_lent_alone_stay_where_they_are(stacks: Stacks) -> None:
    st.place_records(None, stacks.box, [code(1), code(2)])
    lending.lend_record(None, stacks.records[code(2)], "repair", TOMORROW)
    with pytest.raises(st.StacksError, match="已单独借出，归还后才能出盒"):
        st.remove_record(stacks.keeper, stacks.records[code(2)])
    lending.lend_box(None, stacks.box, "exhibition", TOMORROW)
    with pytest.raises(st.StacksError) as e:
        st.place_records(stacks.keeper, stacks.box2, [code(1)], relocate=True)
    assert e.value.problems == [f"第1行：“{code(1)}”所在的盒“B-0001”已借出，归还后才能移出"]
    with pytest.raises(st.StacksError, match="已借出，归还后才能出盒"):
        st.remove_record(stacks.keeper, stacks.records[code(1)])


def test_demo_stacks_are_built_once(db: object) -> None:
    from lantai.catalog import services as catalog
    from lantai.stacks import demo
    from lantai.stacks.models import Discrepancy

    repo = catalog.default_repository()
    ws = catalog.create_category(catalog.create_fonds("Z001", "示例全宗", creator="示例单位"), "WS")
    for n in range(1, 21):
        make_record(ws, f"Z001-WS·2020-Y-{n:04d}")
    got = demo.build(repo)
    assert (got["boxes"], got["units_located"], got["boxes_out"], got["readings"]) == (
        12,
        20,
        1,
        1440,
    )
    assert got["shelving_metres"] == pytest.approx(0.52)  # 8 boxes of 40 mm, 4 of 50 mm
    assert ClimateAlert.objects.filter(kind="humidity_high", room__code="K1-201").count() == 1
    assert not ClimateAlert.objects.filter(room__code="K1-202").exists()
    assert sorted(Discrepancy.objects.values_list("kind", flat=True)) == ["misplaced", "missing"]
    assert demo.build(repo) == got
