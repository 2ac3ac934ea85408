"""Importing the climate readings of sensors from CSV (UTF-8 or GB18030, detected as the
catalogue import does).

Columns (a header row names them, in Chinese or English; without one they are taken in this
order): sensor or room code, time (ISO 8601), temperature °C, relative humidity %.

Every bad row is reported with its row number, column and rule. By default a file with any bad
row is refused as a whole and nothing is imported (the import is kept, rejected, with its
report); with `valid_rows_only` the good rows are imported and the bad ones reported. A row
already imported (same room, time and sensor, same values) is skipped as a duplicate, so a file
can be imported again; one with other values is a bad row (rule `conflict`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max, Min

from lantai.catalog.readers import FileUnreadable, Table, detect_encoding
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import STACKS
from lantai.core.sm3 import sm3_hex
from lantai.standards import stacks as std

from .climate import TimeProblem, evaluate, parse_time
from .models import ClimateAlert, ClimateReading, ReadingImport, Room, Sensor
from .services import StacksError, _require

COLUMNS = {
    "sensor": (
        "传感器",
        "传感器编号",
        "库房",
        "库房编号",
        "sensor",
        "sensor_id",
        "room",
        "code",
        "device",
    ),
    "time": (
        "时间",
        "采集时间",
        "记录时间",
        "日期时间",
        "timestamp",
        "time",
        "datetime",
        "taken_at",
    ),
    "temperature": ("温度", "temperature", "temp", "t"),
    "humidity": ("湿度", "相对湿度", "humidity", "rh"),
}
ORDER = ("sensor", "time", "temperature", "humidity")
LABELS = {
    "sensor": "传感器/库房编号",
    "time": "时间",
    "temperature": "温度",
    "humidity": "相对湿度",
}
MAX_ERRORS = 500  # kept in the report; the count is always complete
BATCH = 1000


class FileProblem(StacksError):
    """The file as a whole cannot be read (as opposed to bad rows inside it)."""


@dataclass
class Row:
    number: int
    room: Room
    sensor: str
    taken_at: dt.datetime
    temperature: Decimal
    humidity: Decimal


def _normal(header: str) -> str:
    text = header.strip().lower().replace("（", "(")
    return text.split("(")[0].strip().replace(" ", "_")


def _header_map(cells: list[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = _normal(cell)
        for key, names in COLUMNS.items():
            if name in names and key not in found:
                found[key] = i
    if len(found) >= 2:
        return found
    return None


def _cells(path: Path) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
    if path.suffix.lower() not in (".csv", ".txt"):
        raise FileProblem(f"不支持的文件类型“{path.suffix}”：温湿度读数请导入 .csv 文件")
    if not path.exists():
        raise FileProblem(f"文件“{path}”不存在")
    try:
        encoding = detect_encoding(path)
    except FileUnreadable as e:
        raise FileProblem(e.message_zh) from None
    return encoding, Table(path, "csv", encoding=encoding).rows()


def import_readings(
    user: User | None,
    path: Path,
    *,
    room: Room | None = None,
    valid_rows_only: bool = False,
    file_name: str | None = None,
) -> ReadingImport:
    """Import the readings in the CSV file at `path` (for `room`, when given: then every row's
    code must be that room's code or a sensor of it, and an unknown code is registered as a
    sensor of it). Returns the import with its outcome and its report of bad rows."""
    _require(user, STACKS)
    name = file_name or path.name
    encoding, source = _cells(path)
    sensors = {s.code: s.room for s in Sensor.objects.select_related("room")}
    rooms = {r.code: r for r in Room.objects.all()}
    new_sensors: dict[str, Room] = {}
    errors: list[dict[str, Any]] = []
    rows: list[Row] = []
    seen: dict[tuple[int, dt.datetime, str], int] = {}
    columns: dict[str, int] | None = None
    total = 0
    try:
        for number, raw in source:
            cells = ["" if c is None else str(c).strip() for c in raw]
            if columns is None:
                columns = _header_map(cells)
                if columns is not None:
                    missing = [LABELS[k] for k in ORDER if k not in columns]
                    if missing:
                        raise FileProblem(f"“{name}”第{number}行表头缺少列：{'、'.join(missing)}")
                    continue
                columns = {k: i for i, k in enumerate(ORDER)}
            total += 1
            row = _row(number, cells, columns, room, rooms, sensors, new_sensors, errors)
            if row is None:
                continue
            key = (row.room.pk, row.taken_at, row.sensor)
            if key in seen:
                _bad(errors, number, "time", "duplicate_row", cells, columns,
                     f"与第{seen[key]}行的库房、传感器和时间相同")  # fmt: skip
                continue
            seen[key] = number
            rows.append(row)
    except FileUnreadable as e:
        raise FileProblem(e.message_zh) from None
    if total == 0:
        raise FileProblem(f"“{name}”中没有读数行")
    fresh, duplicates = _against_stored(rows, errors)
    errors.sort(key=lambda e: int(e["row"]))
    rejected_rows = len({e["row"] for e in errors})
    refused = bool(errors) and not valid_rows_only
    with transaction.atomic():
        batch = ReadingImport.objects.create(
            room=room, file_name=name[:255], file_sm3=sm3_hex(path.read_bytes()), encoding=encoding,
            valid_rows_only=valid_rows_only, status="rejected" if refused else "imported",
            rows_total=total, rows_rejected=rejected_rows, rows_duplicate=0 if refused else duplicates,
            rows_imported=0 if refused else len(fresh), errors=errors[:MAX_ERRORS],
            created_by=user.username if user is not None else audit.current_actor(),
        )  # fmt: skip
        opened: list[ClimateAlert] = []
        if not refused:
            Sensor.objects.bulk_create([Sensor(code=c, room=r) for c, r in new_sensors.items()])
            readings = [
                ClimateReading(room=r.room, taken_at=r.taken_at, temperature=r.temperature,
                               humidity=r.humidity, source="csv", sensor=r.sensor, batch=batch)
                for r in fresh
            ]  # fmt: skip
            ClimateReading.objects.bulk_create(readings, batch_size=BATCH)
            by_room: dict[int, list[ClimateReading]] = {}
            for reading in readings:
                by_room.setdefault(reading.room_id, []).append(reading)
            for items in by_room.values():
                opened += evaluate(items[0].room, items, user)
            batch.alerts_opened = len(opened)
            batch.save(update_fields=["alerts_opened"])
        audit.record("stacks.readings.import", "stacks_reading_import", batch.pk,
                     {"file": name, "sm3": batch.file_sm3, "room": room.code if room else None,
                      "status": batch.status, "rows": total, "imported": batch.rows_imported,
                      "duplicates": batch.rows_duplicate, "rejected": rejected_rows,
                      "alerts": len(opened), "sensors_registered": sorted(new_sensors) if not refused else []},
                     actor=user.username if user is not None else None)  # fmt: skip
    return batch


def _bad(
    errors: list[dict[str, Any]], number: int, key: str, rule: str, cells: list[str],
    columns: dict[str, int], message: str,
) -> None:  # fmt: skip
    index = columns.get(key, -1)
    value = cells[index] if 0 <= index < len(cells) else ""
    errors.append({"row": number, "column": LABELS[key], "rule": rule, "value": value[:100],
                   "message": f"第{number}行 {LABELS[key]}：{message}"})  # fmt: skip


def _row(
    number: int,
    cells: list[str],
    columns: dict[str, int],
    room: Room | None,
    rooms: dict[str, Room],
    sensors: dict[str, Room],
    new_sensors: dict[str, Room],
    errors: list[dict[str, Any]],
) -> Row | None:
    def cell(key: str) -> str:
        i = columns[key]
        return cells[i] if i < len(cells) else ""

    ok = True
    code = cell("sensor")
    target: Room | None = None
    if not code:
        if room is not None:
            target = room
        else:
            _bad(
                errors,
                number,
                "sensor",
                "required",
                cells,
                columns,
                "必填（未指定库房时须注明库房或传感器编号）",
            )
            ok = False
    else:
        named = rooms.get(code) or sensors.get(code) or new_sensors.get(code)
        if room is not None:
            if named is not None and named.pk != room.pk:
                _bad(errors, number, "sensor", "other_room", cells, columns,
                     f"“{code}”属于库房“{named.code}”，不是本次导入的库房“{room.code}”")  # fmt: skip
                ok = False
            else:
                target = room
                if named is None and len(code) <= 64:
                    new_sensors[code] = room
                elif named is None:
                    _bad(
                        errors,
                        number,
                        "sensor",
                        "too_long",
                        cells,
                        columns,
                        "传感器编号不得超过64个字符",
                    )
                    ok = False
        elif named is None:
            _bad(errors, number, "sensor", "unknown", cells, columns,
                 f"未知的库房或传感器编号“{code}”：请在导入时指定库房，或先登记该传感器")  # fmt: skip
            ok = False
        else:
            target = named
    try:
        taken_at = parse_time(cell("time"), None)
    except TimeProblem as e:
        _bad(errors, number, "time", e.rule, cells, columns, e.message_zh)
        ok = False
    values: dict[str, Decimal] = {}
    for quantity in ("temperature", "humidity"):
        try:
            values[quantity] = std.parse_value(quantity, cell(quantity))
        except std.ValueProblem as e:
            _bad(errors, number, quantity, e.rule, cells, columns, e.message_zh)
            ok = False
    if not ok or target is None:
        return None
    sensor = "" if code == target.code else code
    return Row(number, target, sensor, taken_at, values["temperature"], values["humidity"])


def _against_stored(rows: list[Row], errors: list[dict[str, Any]]) -> tuple[list[Row], int]:
    """Rows not stored yet, and how many were stored already with the same values (duplicates).
    One stored with other values is a bad row (conflict). One query per room."""
    fresh: list[Row] = []
    duplicates = 0
    by_room: dict[int, list[Row]] = {}
    for r in rows:
        by_room.setdefault(r.room.pk, []).append(r)
    for room_id, items in by_room.items():
        span = (min(r.taken_at for r in items), max(r.taken_at for r in items))
        stored = {
            (s.taken_at, s.sensor): (s.temperature, s.humidity)
            for s in ClimateReading.objects.filter(
                room_id=room_id, taken_at__gte=span[0], taken_at__lte=span[1]
            )
        }
        for r in items:
            got = stored.get((r.taken_at, r.sensor))
            if got is None:
                fresh.append(r)
            elif got == (r.temperature, r.humidity):
                duplicates += 1
            else:
                errors.append({"row": r.number, "column": LABELS["time"], "rule": "conflict",
                               "value": r.taken_at.isoformat(),
                               "message": f"第{r.number}行 时间：该时间已有读数（温度 {got[0]}，湿度 {got[1]}），与本行不同"})  # fmt: skip
    fresh.sort(key=lambda r: r.number)
    return fresh, duplicates


def readings_span(room: Room) -> tuple[dt.datetime | None, dt.datetime | None]:
    got = ClimateReading.objects.filter(room=room).aggregate(
        first=Min("taken_at"), last=Max("taken_at")
    )
    return got["first"], got["last"]


def visible_import(pk: int, user: User | None = None) -> ReadingImport | None:
    """One import: of a room in `user`'s scope (or of several rooms, named per row)."""
    from django.db.models import Q

    from .services import rooms_for

    return (
        ReadingImport.objects.select_related("room")
        .filter(Q(room__isnull=True) | Q(room__in=rooms_for(user).values("pk")), pk=pk)
        .first()
    )
