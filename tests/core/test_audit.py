"""The audit log is a hash chain: any altered, removed or truncated entry is found."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.db import connection

from lantai.catalog import services
from lantai.cli import main
from lantai.core import audit
from lantai.core.models import AuditEntry

TABLE = AuditEntry._meta.db_table


@pytest.fixture
def chain(db: None) -> list[AuditEntry]:
    with audit.acting_as("archivist"):
        fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
        services.create_category(fonds, "WS")
        fonds.name = "岭南省人民政府办公厅（改）"
        fonds.save()
    return list(AuditEntry.objects.order_by("seq"))


def test_changes_are_logged_with_actor_and_diff(chain: list[AuditEntry]) -> None:
    actions = [(e.action, e.target_type) for e in chain]
    assert ("create", "fonds") in actions and ("create", "category") in actions
    update = next(e for e in chain if e.action == "update")
    assert update.actor == "archivist"
    assert update.detail["changes"]["name"] == [
        "岭南省人民政府办公厅",
        "岭南省人民政府办公厅（改）",
    ]
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert all(e.prev_hash == p.hash for p, e in zip(chain, chain[1:], strict=False))


def test_intact_chain_verifies(chain: list[AuditEntry]) -> None:
    result = audit.verify()
    assert result.ok and result.checked == len(chain)
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 0


def test_altered_entry_is_found(chain: list[AuditEntry]) -> None:
    target = chain[1]
    with connection.cursor() as c:
        c.execute(f"UPDATE {TABLE} SET actor = %s WHERE seq = %s", ["intruder", target.seq])
    result = audit.verify()
    assert not result.ok and result.broken_seq == target.seq
    run = CliRunner().invoke(main, ["audit", "verify"])
    assert run.exit_code == 1 and f"第 {target.seq} 条" in run.output


def test_altered_detail_is_found(chain: list[AuditEntry]) -> None:
    target = chain[-1]
    AuditEntry.objects.filter(pk=target.pk).update(detail={"changes": {}})
    assert audit.verify().broken_seq == target.seq


def test_deleted_entry_is_found(chain: list[AuditEntry]) -> None:
    with connection.cursor() as c:
        c.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [2])
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2


def test_truncated_tail_is_found(chain: list[AuditEntry]) -> None:
    with connection.cursor() as c:
        c.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [chain[-1].seq])
    result = audit.verify()
    assert not result.ok and result.broken_seq == chain[-1].seq


def test_rehashed_forgery_without_the_head_is_found(chain: list[AuditEntry]) -> None:
    """Rewriting an entry and recomputing its own hash still breaks the next link."""
    e = chain[0]
    forged = audit._digest(
        e.seq,
        e.at.isoformat(),
        "intruder",
        e.action,
        e.target_type,
        e.target_id,
        e.detail,
        e.prev_hash,
    )
    AuditEntry.objects.filter(pk=e.pk).update(actor="intruder", hash=forged)
    assert audit.verify().broken_seq == 2


def test_missing_head_with_entries_is_found(chain: list[AuditEntry]) -> None:
    from lantai.core.models import AuditHead

    AuditHead.objects.all().delete()
    with connection.cursor() as c:
        c.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [chain[-1].seq])
    assert not audit.verify().ok


def test_verify_json_reports_the_head_hash(chain: list[AuditEntry]) -> None:
    import json

    run = CliRunner().invoke(main, ["audit", "verify", "--json"])
    data = json.loads(run.output)
    assert data["ok"] and data["head_hash"] == chain[-1].hash
