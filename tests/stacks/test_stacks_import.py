"""CSV import of sensor readings (`lantai stacks import-readings`) and `lantai stacks locate`:
bad rows reported with row number and rule, nothing half-imported unless asked, GB18030 files,
JSON output on every outcome, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lantai.stacks import importing
from lantai.stacks import services as st
from lantai.stacks.models import ClimateAlert, ClimateReading, ReadingImport, Sensor

from .conftest import Stacks, code

GOOD = "传感器,时间,温度,湿度\nS-1,2026-03-01T08:00:00+08:00,20.1,55\nS-1,2026-03-01T09:00:00+08:00,20.3,56\n"


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "readings.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(*args: str) -> Any:
    from lantai.cli import main
    from lantai.stacks.cli import stacks

    if "stacks" not in main.commands:  # until the lead registers the group
        main.add_command(stacks)
    return CliRunner().invoke(main, ["stacks", *args], catch_exceptions=False)


def test_good_file_is_imported_and_a_sensor_registered_for_the_room(
    stacks: Stacks, tmp_path: Path
) -> None:
    batch = importing.import_readings(stacks.keeper, write(tmp_path, GOOD), room=stacks.room)
    assert (batch.status, batch.rows_imported, batch.rows_rejected) == ("imported", 2, 0)
    assert Sensor.objects.get(code="S-1").room_id == stacks.room.pk
    assert set(ClimateReading.objects.values_list("sensor", "source")) == {("S-1", "csv")}
    again = importing.import_readings(
        stacks.keeper, write(tmp_path, GOOD)
    )  # the sensor is known now
    assert (again.status, again.rows_imported, again.rows_duplicate) == ("imported", 0, 2)
    assert ClimateReading.objects.count() == 2


def test_gb18030_file_with_english_headers_is_read(stacks: Stacks, tmp_path: Path) -> None:
    text = "room,timestamp,temperature,humidity\nK1-101,2026-03-01 08:00,20,50\nK1-101,2026-03-01 09:00,21℃,51％\n"
    batch = importing.import_readings(None, write(tmp_path, text, "gb18030"))
    assert (batch.status, batch.encoding, batch.rows_imported) == ("imported", "gb18030", 2)
    assert ClimateReading.objects.filter(sensor="").count() == 2  # the room's own code: no sensor


def test_bad_rows_refuse_the_whole_file_each_named_by_row_and_rule(
    stacks: Stacks, tmp_path: Path
) -> None:
    other = st.create_room(None, stacks.building, "K1-102", "音像磁带库", "av_tape")
    Sensor.objects.create(room=other, code="S-9")
    text = (
        "传感器编号,时间,温度(°C),相对湿度(%)\n"
        "S-1,2026-03-01T08:00,20,55\n"      # 2 good
        "S-1,2026-03-01T09:00,20,140\n"     # 3 RH 140 %
        "S-1,昨天,20,50\n"                   # 4 not ISO 8601
        "S-1,2026-03-01T10:00,abc,50\n"     # 5 not a number
        "S-9,2026-03-01T11:00,20,50\n"      # 6 another room's sensor
        "S-1,2026-03-01T08:00,20,55\n"      # 7 same as row 2
        "S-1,2099-01-01T00:00,20,50\n"      # 8 in the future
        ",,,\n"                              # blank: skipped
        "S-1,2026-03-01T12:00,,50\n"        # 10 no temperature
    )  # fmt: skip
    batch = importing.import_readings(stacks.keeper, write(tmp_path, text), room=stacks.room)
    assert batch.status == "rejected"
    assert [(e["row"], e["rule"]) for e in batch.errors] == [
        (3, "implausible"), (4, "not_iso8601"), (5, "not_a_number"), (6, "other_room"),
        (7, "duplicate_row"), (8, "future"), (10, "required"),
    ]  # fmt: skip
    assert (
        batch.errors[0]["message"]
        == "第3行 相对湿度：相对湿度（%）不可能为 140：有效范围 0 至 100（录入或传感器错误）"
    )
    assert (batch.rows_total, batch.rows_rejected, batch.rows_imported) == (8, 7, 0)
    assert not ClimateReading.objects.exists() and not Sensor.objects.filter(code="S-1").exists()
    kept = importing.import_readings(
        stacks.keeper, write(tmp_path, text), room=stacks.room, valid_rows_only=True
    )
    assert (kept.status, kept.rows_imported, kept.rows_rejected) == ("imported", 1, 7)
    assert ClimateReading.objects.count() == 1


def test_imported_humidity_out_of_range_opens_one_alert(stacks: Stacks, tmp_path: Path) -> None:
    rows = "".join(f"K1-101,2026-03-05T{h:02d}:00,20,{62 + h % 2}\n" for h in range(8, 14))
    batch = importing.import_readings(None, write(tmp_path, "库房,时间,温度,湿度\n" + rows))
    assert batch.alerts_opened == 1
    alert = ClimateAlert.objects.get()
    assert (alert.kind, alert.readings, str(alert.worst)) == ("humidity_high", 6, "63.00")


def test_unknown_sensor_without_a_room_and_unreadable_files(stacks: Stacks, tmp_path: Path) -> None:
    batch = importing.import_readings(None, write(tmp_path, GOOD))
    assert batch.status == "rejected" and batch.errors[0]["rule"] == "unknown"
    with pytest.raises(importing.FileProblem, match="没有读数行"):
        importing.import_readings(None, write(tmp_path, "传感器,时间,温度,湿度\n"))
    with pytest.raises(importing.FileProblem, match="不支持的文件类型"):
        importing.import_readings(None, write(tmp_path, GOOD, name="r.xlsx"))
    with pytest.raises(importing.FileProblem, match="表头缺少列：相对湿度"):
        importing.import_readings(
            None, write(tmp_path, "传感器,时间,温度\nS-1,2026-03-01T08:00,20\n")
        )
    bad = tmp_path / "mixed.csv"
    bad.write_bytes(b"\x80" * 30)
    with pytest.raises(importing.FileProblem, match="字符编码无法识别"):
        importing.import_readings(None, bad)


# --- the command line -------------------------------------------------------------------------
def test_cli_import_json_outcomes_and_exit_codes(stacks: Stacks, tmp_path: Path) -> None:
    ok = run("import-readings", str(write(tmp_path, GOOD)), "--room", "K1-101", "--json")
    assert ok.exit_code == 0, ok.output
    got = json.loads(ok.output)
    assert (got["ok"], got["imported"], got["status"]) == (True, 2, "imported")

    bad = run(
        "import-readings",
        str(write(tmp_path, GOOD.replace("55", "140"), name="b.csv")),
        "--room",
        "K1-101",
        "--json",
    )
    assert bad.exit_code == 1
    got = json.loads(bad.output)
    assert got["ok"] is False and "整个文件未导入" in got["error"]
    assert got["errors"][0]["row"] == 2 and got["errors"][0]["rule"] == "implausible"

    missing = run("import-readings", str(tmp_path / "none.csv"), "--room", "K1-101", "--json")
    assert missing.exit_code == 2 and json.loads(missing.output)["ok"] is False
    no_room = run("import-readings", str(write(tmp_path, GOOD)), "--room", "K9", "--json")
    assert no_room.exit_code == 2 and "库房编号“K9”不存在" in json.loads(no_room.output)["error"]
    usage = run("import-readings", "--json")
    assert usage.exit_code == 2 and json.loads(usage.output)["ok"] is False
    assert ReadingImport.objects.filter(status="rejected").count() == 1


def test_cli_locate(stacks: Stacks) -> None:
    st.place_records(None, stacks.box, [code(1)])
    result = run("locate", code(1), "--json")
    assert result.exit_code == 0, result.output
    [unit] = json.loads(result.output)["units"]
    assert (unit["building"], unit["room"], unit["shelf"], unit["box"]) == (
        "K1",
        "K1-101",
        "A-01",
        "B-0001",
    )
    text = run("locate", code(1))
    assert "B-0001" in text.output
    missing = run("locate", "Z109-NOPE-1", "--json")
    assert missing.exit_code == 2
    assert json.loads(missing.output) == {"ok": False, "error": "档号“Z109-NOPE-1”不存在或无权查看"}
    alerts = run("alerts", "--json")
    assert alerts.exit_code == 0 and json.loads(alerts.output) == {"ok": True, "alerts": []}
