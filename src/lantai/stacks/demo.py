"""The stacks of the demo archives, built through the stacks services (the demo room calls
`build`): a building with a paper stack and an audio-visual tape stack, shelves, boxes holding the
first units of the catalogue, a box out for digitization, thirty days of hourly sensor readings
imported from a CSV file (with a humid spell that raises an alert, as a stack without
dehumidification has in the rainy season) and a completed census with one discrepancy. A second
run finds the building and changes nothing."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path
from typing import Any

from django.utils import timezone

from lantai.catalog.models import Record, Repository

from . import censuses, climate, importing, lending
from . import services as st
from .models import Box, Building

BUILDING = "K1"
UNITS_PER_BOX = 6
BOXES = 12


def build(repository: Repository, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Build the demo stacks in `repository` (once); returns what the closing note reports."""
    if Building.objects.filter(code=BUILDING).exists():
        return summary()
    now = now or timezone.now()
    building = st.create_building(None, repository, BUILDING, "一号库房楼", "档案馆新馆东侧")
    paper = st.create_room(None, building, "K1-201", "纸质档案库（二楼）", "paper")
    tapes = st.create_room(None, building, "K1-202", "音像磁带库", "av_tape")
    for n in range(1, 5):
        st.create_shelf(None, paper, f"K1-201-{n:02d}", "5.4", 120)
    st.create_shelf(None, tapes, "K1-202-01", "3", None)
    units = list(
        Record.objects.filter(repository=repository, level__in=st.UNIT_LEVELS)
        .order_by("fonds__code", "category__code", "reference_code")
        .values_list("reference_code", flat=True)[: UNITS_PER_BOX * BOXES]
    )
    boxes = []
    for n in range(BOXES):
        shelf = f"K1-201-{n // 4 + 1:02d}"
        box = st.create_box(None, shelf, f"HZ-{n + 1:05d}", 40 if n % 3 else 50, "")
        chunk = units[n * UNITS_PER_BOX : (n + 1) * UNITS_PER_BOX]
        if chunk:
            st.place_records(None, box, chunk)
        boxes.append(box)
    st.move_box(None, boxes[-1], "K1-201-04", "腾出K1-201-03架位")
    lending.lend_box(None, boxes[1], "digitization", (now + dt.timedelta(days=10)).date(), "数字化加工区",
                "2026年度馆藏纸质档案数字化")  # fmt: skip
    _readings(paper, now)
    _readings(tapes, now, humid=False)
    if len(units) > 2 * UNITS_PER_BOX + 2:
        census = censuses.start_census(None, box=boxes[0])
        # the first unit is missing; one of the third box was put back into the first
        counted = units[1:UNITS_PER_BOX] + [units[2 * UNITS_PER_BOX + 2]]
        censuses.enter_count(None, census.boxes.get(), counted)
    return summary()


def _readings(room: Any, now: dt.datetime, *, humid: bool = True) -> None:
    """Thirty days of hourly readings of one sensor; a humid spell of two days (day 20–21)."""
    start = timezone.localtime(now).replace(minute=0, second=0, microsecond=0) - dt.timedelta(
        days=30
    )
    lines = ["传感器编号,采集时间,温度,相对湿度"]
    for h in range(30 * 24):
        at = start + dt.timedelta(hours=h)
        daily = math.sin((at.hour - 9) / 24 * 2 * math.pi)
        temp = 19.5 + 1.2 * daily
        rh = 52 + 3 * daily
        if humid and 20 * 24 <= h < 22 * 24:
            rh += 12 - abs(h - 21 * 24) / 6  # up to 64 %
        lines.append(f"{room.code}-S1,{at.isoformat(timespec='minutes')},{temp:.1f},{rh:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{room.code}-readings.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        importing.import_readings(None, path, room=room)


def summary() -> dict[str, Any]:
    from .models import Census, ClimateReading, Loan, Placement, Room, Shelf

    year = timezone.localdate().year
    return {
        "buildings": Building.objects.count(),
        "rooms": Room.objects.count(),
        "shelves": Shelf.objects.count(),
        "boxes": Box.objects.count(),
        "units_located": Placement.objects.count(),
        "boxes_out": Loan.objects.filter(returned_at__isnull=True, box__isnull=False).count(),
        "readings": ClimateReading.objects.count(),
        "open_alerts": climate.open_alerts().count(),
        "censuses": Census.objects.count(),
        "shelving_metres": st.shelving_metres(year),
    }
