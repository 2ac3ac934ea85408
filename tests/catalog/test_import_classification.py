"""密级 and scope control what an import and the catalogue write (issue 12, points 16, 17, 18):
a blank 密级 is an error unless the archivist chose a default for the file (recorded in the batch
and the audit log), legacy values are mapped, nobody imports or describes a record above their
clearance, and the audit chain covers the list of 档号 an import created."""

from __future__ import annotations

from pathlib import Path

import pytest

from lantai.catalog import importing, services
from lantai.catalog.models import Category, ImportBatch, Record
from lantai.core import accounts, audit
from lantai.core.models import AuditEntry, User

HEADER = "档号,责任者,题名,日期,密级,保管期限,年度\n"


def row(n: int, classification: str, title: str = "") -> str:
    return (
        f"Z109-WS·2011-Y-BGS-{n:04d},岭南省人民政府办公厅,{title or f'关于第{n}项工作的通知'},"
        f"2011031{n % 10},{classification},永久,2011"
    )


def write(tmp_path: Path, rows: list[str], name: str = "目录.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def cataloguer(clearance: int) -> User:
    found = User.objects.filter(username=f"c{clearance}").first()
    if found is not None:
        return found
    user = accounts.create_user(
        f"c{clearance}", role="cataloguer", password="Lantai#Archive2024", clearance=clearance,
        scope_all=True,
    )  # fmt: skip
    return User.objects.get(pk=user.pk)


# --- point 17: a blank 密级 ----------------------------------------------------------------------
def test_a_blank_classification_is_an_error(ws: Category, tmp_path: Path) -> None:
    result = importing.import_file(write(tmp_path, [row(1, "公开"), row(2, "")]), ws)
    assert result.status == "rejected" and Record.objects.count() == 0
    [error] = result.errors
    assert (error.row, error.column, error.rule) == (3, "密级", "required")
    assert "DA/T 46" in error.message and "默认密级" in error.message


def test_a_default_chosen_for_the_file_fills_blanks_and_is_recorded(
    ws: Category, tmp_path: Path
) -> None:
    path = write(tmp_path, [row(1, "公开"), row(2, "")])
    result = importing.import_file(path, ws, default_classification="限制")
    assert result.rows_imported == 2, result.as_dict()
    by_code = dict(Record.objects.values_list("reference_code", "classification"))
    assert by_code == {
        "Z109-WS·2011-Y-BGS-0001": "public",
        "Z109-WS·2011-Y-BGS-0002": "restricted",
    }
    assert ImportBatch.objects.get(pk=result.batch_id).default_classification == "restricted"
    entry = AuditEntry.objects.get(action="import")
    assert entry.detail["default_classification"] == "restricted"


def test_an_unknown_default_is_refused_before_anything_is_read(
    ws: Category, tmp_path: Path
) -> None:
    with pytest.raises(importing.FileUnreadable, match="默认密级"):
        importing.import_file(write(tmp_path, [row(1, "")]), ws, default_classification="甲等")


@pytest.mark.parametrize(
    ("given", "code"),
    [("内部", "restricted"), ("非涉密", "public"), ("秘密★10年", "confidential")],
)
def test_legacy_classification_values_are_mapped(
    ws: Category, tmp_path: Path, given: str, code: str
) -> None:
    result = importing.import_file(write(tmp_path, [row(1, given)]), ws)
    assert result.rows_imported == 1, result.as_dict()
    assert Record.objects.get().classification == code


# --- point 16: clearance ------------------------------------------------------------------------
def test_rows_above_the_importers_clearance_are_refused(ws: Category, tmp_path: Path) -> None:
    path = write(tmp_path, [row(1, "公开"), row(2, "秘密"), row(3, "限制")])
    result = importing.import_file(path, ws, user=cataloguer(1), valid_rows_only=True)
    assert (result.rows_imported, result.rows_rejected) == (2, 1)
    [error] = result.errors
    assert (error.row, error.column, error.rule) == (3, "密级", "clearance")
    assert "高于您的涉密等级" in error.message
    assert not Record.objects.filter(classification_level__gt=1).exists()


def test_an_import_does_not_confirm_a_record_above_the_users_clearance(
    ws: Category, tmp_path: Path
) -> None:
    """A row identical to a 秘密 record the user cannot see is refused for their clearance, never
    counted as "unchanged" (which would confirm the hidden record and its content)."""
    secret = [row(7, "秘密", "关于边境防务工作的报告")]
    assert importing.import_file(write(tmp_path, secret, "a.csv"), ws).rows_imported == 1
    again = importing.import_file(write(tmp_path, secret, "b.csv"), ws, user=cataloguer(1))
    assert (again.rows_unchanged, again.rows_rejected) == (0, 1)
    assert again.errors[0].rule == "clearance"
    lower = importing.import_file(
        write(tmp_path, [row(7, "公开", "关于边境防务工作的报告")], "c.csv"), ws, user=cataloguer(1)
    )
    visible = importing.import_file(
        write(tmp_path, [row(8, "公开")], "d.csv"), ws
    )  # a record the user can see, then a different row with its 档号
    assert visible.rows_imported == 1
    clash = importing.import_file(
        write(tmp_path, [row(8, "公开", "另一份文件")], "e.csv"), ws, user=cataloguer(1)
    )
    hidden_message = lower.errors[0].message.replace("0007", "0008")
    assert hidden_message == clash.errors[0].message  # the same words, seen or not
    assert "秘密" not in lower.errors[0].message and "边境" not in lower.errors[0].message


def test_save_record_refuses_creating_or_raising_above_clearance(ws: Category) -> None:
    user = cataloguer(1)
    fields = {
        "title": "关于档案工作的通知", "author": "办公厅", "date": "20110315", "year": "2011", "retention": "永久",
        "org_code": "BGS", "item_number": "1",
    }  # fmt: skip
    record, issues = services.save_record(ws, {**fields, "classification": "秘密"}, user=user)
    assert record is None and [(i.field, i.rule) for i in issues] == [
        ("classification", "clearance")
    ]
    record, _ = services.save_record(ws, {**fields, "classification": "限制"}, user=user)
    assert record is not None
    raised = {**services.record_as_input(record), "classification": "机密"}
    saved, issues = services.save_record(ws, raised, user=user, record=record)
    assert saved is None and issues[0].rule == "clearance"
    record.refresh_from_db()
    assert record.classification == "restricted"
    Record.objects.filter(pk=record.pk).update(classification="secret", classification_level=3)
    record.refresh_from_db()
    lowered = {**services.record_as_input(record), "classification": "公开"}
    with pytest.raises(services.PermissionDenied):
        services.save_record(ws, lowered, user=user, record=record)


# --- point 18: which records an import created ---------------------------------------------------
def test_the_created_codes_are_kept_with_the_batch_and_covered_by_the_chain(
    ws: Category, tmp_path: Path
) -> None:
    first = importing.import_file(
        write(tmp_path, [row(1, "公开"), row(2, "公开"), row(3, "公开"), row(7, "公开")]), ws
    )
    batch = ImportBatch.objects.get(pk=first.batch_id)
    assert batch.created_codes == [
        ["Z109-WS·2011-Y-BGS-0001", "Z109-WS·2011-Y-BGS-0003", 3],
        ["Z109-WS·2011-Y-BGS-0007", "Z109-WS·2011-Y-BGS-0007", 1],
    ]
    entry = AuditEntry.objects.get(action="import", target_id=str(batch.pk))
    assert entry.detail["created"] == batch.created_codes
    assert entry.detail["created_sm3"] == importing.codes_digest(batch.created_codes)
    assert importing.created_codes_intact(batch)
    # re-importing creates nothing: the second batch lists no codes
    again = importing.import_file(write(tmp_path, [row(1, "公开"), row(4, "公开")], "b.csv"), ws)
    assert ImportBatch.objects.get(pk=again.batch_id).created_codes == [
        ["Z109-WS·2011-Y-BGS-0004", "Z109-WS·2011-Y-BGS-0004", 1]
    ]
    assert audit.verify().ok
    # a list altered after the fact no longer matches the chained digest
    ImportBatch.objects.filter(pk=batch.pk).update(
        created_codes=[["Z109-WS·2011-Y-BGS-0001", "Z109-WS·2011-Y-BGS-0002", 2]]
    )
    batch.refresh_from_db()
    assert not importing.created_codes_intact(batch)


def test_a_rejected_import_created_nothing(ws: Category, tmp_path: Path) -> None:
    result = importing.import_file(write(tmp_path, [row(1, "公开"), row(2, "甲等")]), ws)
    assert result.status == "rejected"
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert batch.created_codes == [] and batch.created_sm3 == importing.codes_digest([])
