"""Seeding the demo archives: rows pass the real validator, seeding is idempotent, the audit
chain holds, the red collection and the demo accounts exist."""

from __future__ import annotations

from collections import Counter

import pytest

from lantai.catalog import services
from lantai.catalog.models import (
    Category,
    Fonds,
    ImportBatch,
    Record,
    Repository,
    ThematicCollection,
)
from lantai.catalog.validation import RecordValidator
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import ROLES
from lantai.demo import generator as g
from lantai.demo.seed import DEMO_PASSWORD, seed_demo

pytestmark = pytest.mark.django_db


def test_every_generated_row_passes_the_record_validator() -> None:
    archive = g.build_archive(3000, seed=5)
    repos = {
        r.code: services.create_repository(r.code, r.name, level=r.level, region=r.region)
        for r in archive.repositories
    }
    fonds: dict[tuple[str, str], Fonds] = {}
    problems: Counter[tuple[str, str, str]] = Counter()
    examples: dict[tuple[str, str, str], str] = {}
    checked = 0
    for spec in archive.categories:
        key = (spec.fonds.repository.code, spec.fonds.code)
        if key not in fonds:
            fonds[key] = services.create_fonds(
                spec.fonds.code,
                spec.fonds.name,
                creator=spec.fonds.creator,
                repository=repos[key[0]],
            )
        category = services.create_category(
            fonds[key], spec.code, arrangement=spec.arrangement, code_rule=spec.code_rule
        )
        validator = RecordValidator(category)
        for row in spec.rows():
            checked += 1
            clean, issues = validator.validate(row)
            for issue in issues:  # warnings count too: demo data should be clean
                k = (spec.code, issue.field, issue.rule)
                problems[k] += 1
                examples.setdefault(k, f"{row['reference_code']}: {issue.message_zh}")
            if not issues:
                assert clean["reference_code"] == row["reference_code"]
                assert clean["year"] == row["year"]
    assert checked == 3000
    assert not problems, {k: (n, examples[k]) for k, n in problems.items()}


def _state() -> dict[str, object]:
    collection = ThematicCollection.objects.get(code="HSDA")
    return {
        "repositories": Repository.objects.count(),
        "fonds": Fonds.objects.count(),
        "categories": Category.objects.count(),
        "records": Record.objects.count(),
        "codes": sorted(Record.objects.values_list("repository_id", "reference_code")),
        "red": sorted(collection.records.values_list("pk", flat=True)),
        "users": sorted(User.objects.values_list("username", "role", "clearance", "scope_all")),
        "collections": ThematicCollection.objects.count(),
    }


def test_seed_demo_is_idempotent_and_keeps_the_audit_chain() -> None:
    first = seed_demo(records=1000, seed=2024, alive=False)
    assert first.problems == []
    before = _state()
    batches = ImportBatch.objects.count()
    second = seed_demo(records=1000, seed=2024, alive=False)
    assert second.problems == []
    assert _state() == before
    assert second.rows_imported == 0
    assert ImportBatch.objects.count() == batches  # complete categories are not re-imported
    assert not second.created.get("fonds") and not second.created.get("user")

    assert before["records"] == 1000
    assert before["repositories"] >= 5
    assert before["red"], "the red collection is empty"
    assert first.red_records == len(before["red"])  # type: ignore[arg-type]
    titles = Record.objects.filter(collections__code="HSDA").values_list("title", flat=True)
    assert any("革命" in t or "红军" in t or "抗" in t for t in titles)

    result = audit.verify()
    assert result.ok, result.reason
    assert audit.current_actor() == "system"
    from lantai.core.models import AuditEntry

    actors = set(AuditEntry.objects.values_list("actor", flat=True))
    assert actors == {"demo-seed"}

    text = "\n".join(second.lines())
    assert DEMO_PASSWORD in text and "admin" in text


def test_seed_demo_partly_seeded_category_is_completed() -> None:
    seed_demo(records=1000, seed=2024, alive=False)
    victim = Record.objects.filter(category__code="WS").order_by("-pk").first()
    assert victim is not None
    code = victim.reference_code
    services.delete_record(victim)
    summary = seed_demo(records=1000, seed=2024, alive=False)
    assert summary.problems == []
    assert summary.rows_imported == 1
    assert Record.objects.filter(reference_code=code).count() == 1
    assert Record.objects.count() == 1000


def test_demo_accounts_cover_every_staff_role() -> None:
    seed_demo(records=1000, seed=2024, alive=False)
    users = {u.username: u for u in User.objects.all()}
    roles = {u.role for u in users.values()}
    assert roles == set(ROLES) - {"public"}
    for user in users.values():
        assert user.check_password(DEMO_PASSWORD), user.username
        assert user.is_active
    archivist = users["archivist"]
    assert archivist.role == "cataloguer" and archivist.scope_all and archivist.clearance == 2
    unit = users["unit"]
    assert unit.role == "filing_unit" and not unit.scope_all
    assert [f.name for f in unit.fonds.all()] == ["岭南省教育厅"]
    visible = services.visible_records(unit)
    assert visible.exists()
    assert visible.count() < Record.objects.count()
    assert users["reader"].repositories.get().code == g.repositories()[0].code
    for name in ("admin", "secadmin", "auditor"):
        assert not services.visible_records(users[name]).exists()
