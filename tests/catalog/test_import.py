"""Catalogue import: all-or-nothing by default, row-by-row reports, encodings, idempotent re-import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from lantai.catalog import exporting, importing, services
from lantai.catalog.models import Category, ImportBatch, Record, YearCount
from lantai.core.models import AuditEntry

HEADER = "序号,档号,文号,责任者,题名,日期,密级,页数,备注,保管期限,年度\n"
GOOD = [
    "1,Z109-WS·2011-Y-BGS-0001,岭府办发〔2011〕1号,岭南省人民政府办公厅,关于印发《2011年政务公开工作要点》的通知,20110315,公开,4,,永久,2011",
    "2,Z109-WS·2011-Y-BGS-0002,岭府办发〔2011〕2号,岭南省人民政府办公厅,关于做好春季森林防火工作的通知,2011-03-20,限制,2,,永久,2011",
    "3,Z109-WS·2011-Y-BGS-0003,岭府办函〔2011〕7号,岭南省人民政府办公厅,关于同意设立岭南省档案学会的批复,2011年4月2日,公开,1,抄件,永久,2011",
]


def write(
    tmp_path: Path, lines: list[str], encoding: str = "utf-8", name: str = "目录.csv"
) -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + "\n".join(lines) + "\n").encode(encoding))
    return path


def test_good_file_imports_every_row_and_writes_one_audit_entry(
    ws: Category, tmp_path: Path
) -> None:
    result = importing.import_file(write(tmp_path, GOOD), ws)
    assert (result.status, result.rows_imported, result.rows_rejected) == ("imported", 3, 0)
    r = Record.objects.get(reference_code="Z109-WS·2011-Y-BGS-0002")
    assert r.title == "关于做好春季森林防火工作的通知"
    assert (r.date, r.year, r.retention, r.classification, r.org_code) == (
        dt.date(2011, 3, 20),
        2011,
        "Y",
        "restricted",
        "BGS",
    )
    assert r.open_due_date == dt.date(2036, 3, 20)
    assert r.sequence_number == 2
    assert YearCount.objects.get(category=ws, year=2011).count == 3
    entries = AuditEntry.objects.filter(action="import")
    assert entries.count() == 1 and entries[0].detail["imported"] == 3
    assert not AuditEntry.objects.filter(action="create", target_type="record").exists()


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig"])
def test_chinese_encodings_import_correctly(ws: Category, tmp_path: Path, encoding: str) -> None:
    result = importing.import_file(write(tmp_path, GOOD, encoding), ws)
    assert result.rows_imported == 3
    assert (
        Record.objects.get(reference_code="Z109-WS·2011-Y-BGS-0003").title
        == "关于同意设立岭南省档案学会的批复"
    )


BAD = [
    GOOD[0],
    "2,Z109-WS·2011-Q-BGS-0002,,岭南省人民政府办公厅,保管期限代码错误的文件,20110320,公开,2,,永久,2011",
    "3,Z109-WS·2011-Y-BGS-0003,,岭南省人民政府办公厅,日期不存在的文件,20110230,公开,1,,永久,2011",
    "4,Z109-WS·2011-Y-BGS-0004,,岭南省人民政府办公厅,密级无法识别的文件,20110401,甲等,1,,永久,2011",
    "5,Z109-WS·2011-Y-BGS-0005,,岭南省人民政府办公厅,,20110402,公开,1,,永久,2011",
    "6,Z109-WS·2011-Y-BGS-0006,,岭南省人民政府办公厅,页数不是数字的文件,20110403,公开,两页,,永久,2011",
    "7,Z110-WS·2011-Y-BGS-0007,,岭南省人民政府办公厅,全宗号不符的文件,20110404,公开,1,,永久,2011",
    GOOD[2],
]


def test_bad_rows_reject_the_whole_file_with_a_row_by_row_report(
    ws: Category, tmp_path: Path
) -> None:
    result = importing.import_file(write(tmp_path, BAD), ws)
    assert result.status == "rejected"
    assert (result.rows_total, result.rows_imported, result.rows_rejected) == (8, 0, 6)
    assert Record.objects.count() == 0 and not YearCount.objects.filter(count__gt=0).exists()
    by_row = {e.row: e for e in result.errors}
    assert (by_row[3].column, by_row[3].rule) == ("档号", "code_rule")
    assert "保管期限" in by_row[3].message and by_row[3].value == "Z109-WS·2011-Q-BGS-0002"
    assert (by_row[4].column, by_row[4].rule, by_row[4].value) == ("日期", "date", "20110230")
    assert (by_row[5].column, by_row[5].rule, by_row[5].value) == ("密级", "vocabulary", "甲等")
    assert (by_row[6].column, by_row[6].rule) == ("题名", "required")
    assert (by_row[7].column, by_row[7].rule) == ("页数", "datatype")
    assert by_row[8].rule == "code_mismatch" and "Z110" in by_row[8].message
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert batch.status == "rejected" and len(batch.errors) == len(result.errors)
    assert AuditEntry.objects.filter(action="import_rejected").count() == 1


def test_valid_rows_only_imports_the_good_rows_and_lists_the_bad(
    ws: Category, tmp_path: Path
) -> None:
    result = importing.import_file(write(tmp_path, BAD), ws, valid_rows_only=True)
    assert (result.status, result.rows_imported, result.rows_rejected) == ("imported", 2, 6)
    assert set(Record.objects.values_list("reference_code", flat=True)) == {
        "Z109-WS·2011-Y-BGS-0001",
        "Z109-WS·2011-Y-BGS-0003",
    }
    assert sorted({e.row for e in result.errors}) == [3, 4, 5, 6, 7, 8]


def test_reimporting_the_same_file_creates_no_duplicates(ws: Category, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    importing.import_file(path, ws)
    again = importing.import_file(path, ws)
    assert (again.status, again.rows_imported, again.rows_unchanged) == ("imported", 0, 3)
    assert Record.objects.count() == 3
    assert YearCount.objects.get(category=ws, year=2011).count == 3


def test_a_held_code_with_different_content_is_an_error(ws: Category, tmp_path: Path) -> None:
    importing.import_file(write(tmp_path, GOOD), ws)
    changed = [GOOD[0].replace("政务公开工作要点", "政务公开工作计划")]
    result = importing.import_file(write(tmp_path, changed, name="b.csv"), ws)
    assert result.status == "rejected"
    assert result.errors[0].rule == "duplicate" and "已存在" in result.errors[0].message
    assert Record.objects.get(reference_code="Z109-WS·2011-Y-BGS-0001").title.endswith(
        "工作要点》的通知"
    )


def test_duplicate_codes_inside_one_file_across_batches(ws: Category, tmp_path: Path) -> None:
    n = importing.BATCH + 500
    lines = [
        f"{i},Z109-WS·2012-D30-BGS-{i:04d},,岭南省人民政府办公厅,第{i}号文件,20120101,公开,1,,定期30年,2012"
        for i in range(1, n + 1)
    ]
    lines.append(lines[9].replace("第10号文件", "重复的第10号文件"))  # lands in the second batch
    lines.append(lines[-2])  # same batch duplicate
    result = importing.import_file(write(tmp_path, lines), ws, valid_rows_only=True)
    assert result.rows_imported == n
    assert [e.rule for e in result.errors] == ["duplicate", "duplicate"]
    assert Record.objects.count() == n


def test_code_is_built_when_the_file_has_none(ws: Category, tmp_path: Path) -> None:
    path = tmp_path / "no-codes.csv"
    path.write_text(
        "件号,责任者,题名,日期,保管期限,机构（问题）,年度,密级\n"
        "1,办公厅,关于开展档案安全检查的通知,19980105,长期,BGS,1998,秘密\n"
        "2,办公厅,关于加强机关档案工作的意见,19980320,短期,BGS,1998,公开\n",
        encoding="utf-8",
    )
    result = importing.import_file(path, ws)
    assert result.rows_imported == 2, result.as_dict()
    first = Record.objects.get(reference_code="Z109-WS·1998-D30-BGS-0001")
    assert (first.retention, first.retention_legacy, first.classification_level) == (
        "D30",
        "长期",
        2,
    )
    assert Record.objects.filter(reference_code="Z109-WS·1998-D10-BGS-0002").exists()


def test_xlsx_with_a_title_row_and_date_cells(ws: Category, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["岭南省人民政府办公厅 2011 年归档文件目录"])
    sheet.append(
        ["序号", "档号", "责任者", "题名", "日期", "密级", "页数", "保管期限", "年度", "附加说明"]
    )
    sheet.append(
        [
            1,
            "Z109-WS·2011-Y-BGS-0001",
            "办公厅",
            "关于印发工作要点的通知",
            dt.datetime(2011, 3, 15),
            "公开",
            4,
            "永久",
            2011,
            "原件存一号库",
        ]
    )
    path = tmp_path / "目录.xlsx"
    wb.save(path)
    result = importing.import_file(path, ws)
    assert result.rows_imported == 1, result.as_dict()
    r = Record.objects.get()
    assert r.date == dt.date(2011, 3, 15) and r.pages == 4
    assert r.metadata["extra"] == {"附加说明": "原件存一号库"}  # unmapped columns are kept


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0 not really", "xlsx"),
        ("broken.xlsx", b"PK\x03\x04 truncated", ".xlsx"),
        ("noheader.csv", "甲,乙,丙\n1,2,3\n".encode(), "表头"),
        ("binary.csv", b"\x81\x20\xff" * 100, "编码"),
        ("notes.pdf", b"%PDF-1.4", "不支持"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(
    ws: Category, tmp_path: Path, name: str, content: bytes, expect: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(importing.FileUnreadable) as e:
        importing.import_file(path, ws)
    assert expect in e.value.message_zh
    assert Record.objects.count() == 0


def test_missing_title_column_is_a_file_level_error(ws: Category, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("档号,日期\nZ109-WS·2011-Y-BGS-0001,20110101\n", encoding="utf-8")
    with pytest.raises(importing.FileUnreadable, match="题名"):
        importing.import_file(path, ws)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_reimport_is_unchanged(ws: Category, tmp_path: Path, suffix: str) -> None:
    importing.import_file(write(tmp_path, GOOD), ws)
    out = tmp_path / f"export{suffix}"
    assert exporting.export_file(out, ws) == 3
    again = importing.import_file(out, ws)
    assert (again.rows_imported, again.rows_unchanged, again.rows_rejected) == (0, 3, 0), (
        again.as_dict()
    )


def test_gb18030_export(ws: Category, tmp_path: Path) -> None:
    importing.import_file(write(tmp_path, GOOD), ws)
    out = tmp_path / "gbk.csv"
    exporting.export_file(out, ws, encoding="gb18030")
    text = out.read_bytes().decode("gb18030")
    assert text.splitlines()[0].startswith("序号,档号,文号,责任者,题名")
    assert "关于同意设立岭南省档案学会的批复" in text


def test_saved_mapping_is_reused(ws: Category, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "档号,责任者,文件名称,成文日期,密级\nZ109-WS·2011-Y-BGS-0001,办公厅,关于印发工作要点的通知,20110315,公开\n",
        encoding="utf-8",
    )
    table = importing.open_table(path)
    mapping = importing.mapping_for(table)
    assert mapping["文件名称"] == ""  # not a known header
    mapping["文件名称"] = "title"
    importing.save_mapping(table.headers, mapping)
    result = importing.import_file(path, ws)
    assert result.rows_imported == 1
    assert Record.objects.get().title == "关于印发工作要点的通知"


def test_gaps_are_reported(ws: Category, tmp_path: Path) -> None:
    importing.import_file(write(tmp_path, [GOOD[0], GOOD[2]]), ws)
    gaps = services.code_gaps(ws)
    assert len(gaps) == 1 and gaps[0].missing_display() in ("0002", "2")
