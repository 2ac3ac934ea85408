"""移交预警 (实施条例 art 20): which years of a filing unit's records are due for transfer and not
in the catalogue, for a provincial archives (20 years) and a county archives (10 years); the
reminders, the nightly job, the pages and `lantai transfer due`."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Category
from lantai.cli import main
from lantai.core import accounts
from lantai.core.models import AuditEntry, User
from lantai.ingest import services, warning, warning_tasks
from lantai.ingest.quality_models import TransferReminder
from lantai.standards import transfer_quality as rule

PASSWORD = "Lantai#Archive2024"
TODAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def add_records(category: Category, years: list[int]) -> None:
    """One real catalogue record per year (catalog.save_record keeps the per-year counters)."""
    for n, year in enumerate(years, start=1):
        record, issues = catalog.save_record(
            category,
            {
                "title": f"{year}年工作总结", "author": "办公室", "date": f"{year}0315",
                "year": str(year), "retention": "永久", "org_code": "BGS", "item_number": str(n),
                "classification": "公开",
            },
        )  # fmt: skip
        assert record is not None, issues


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    province = catalog.default_repository()
    province.level = "provincial"
    province.save()
    county = catalog.create_repository("451021", "临江县档案馆", level="county")
    prov_unit = catalog.create_fonds("Z109", "岭南省人民政府办公厅")
    county_unit = catalog.create_fonds("X001", "临江县人民政府办公室", repository=county)
    quiet = catalog.create_fonds("J019", "岭南省教育厅")  # no records, no profile: unknown
    prov_ws = catalog.create_category(prov_unit, "WS")
    county_ws = catalog.create_category(county_unit, "WS")
    # both transferred 2000–2003 and 2006 already; both units form records since 2000
    add_records(prov_ws, [2000, 2001, 2002, 2003, 2006])
    add_records(county_ws, [2000, 2001, 2002, 2003, 2006])
    unit = accounts.create_user("unit_a", role="filing_unit", password=PASSWORD)
    accounts.grant(unit, actor=None, fonds_ids=[prov_unit.pk])
    county_user = accounts.create_user("unit_x", role="filing_unit", password=PASSWORD)
    accounts.grant(county_user, actor=None, fonds_ids=[county_unit.pk])
    receiver = accounts.create_user(
        "receiver", role="receiving_archivist", password=PASSWORD, clearance=4, scope_all=True
    )
    return {
        "prov": prov_unit, "county": county_unit, "quiet": quiet,
        "unit": User.objects.get(pk=unit.pk), "county_user": User.objects.get(pk=county_user.pk),
        "receiver": User.objects.get(pk=receiver.pk),
    }  # fmt: skip


def by_code(units: list[warning.UnitDue]) -> dict[str, warning.UnitDue]:
    return {u.fonds.code: u for u in units}


def test_the_rule_county_ten_years_provincial_twenty() -> None:
    assert (rule.transfer_age("provincial"), rule.transfer_age("city")) == (20, 20)
    assert rule.transfer_age("county") == 10
    prov = rule.due_years("provincial", TODAY, first_year=2000, transferred=[2001])
    assert prov.due == (2000, 2002, 2003, 2004, 2005, 2006) and prov.overdue[-1] == 2005
    county = rule.due_years("county", TODAY, first_year=2010, exempt=[2012])
    assert county.due == (2010, 2011, 2013, 2014, 2015, 2016)
    assert county.overdue == (2010, 2011, 2013, 2014, 2015)
    # on 1 January the next year falls due, and the year before becomes overdue
    assert rule.due_years("county", date(2027, 1, 1), first_year=2016).due == (2016, 2017)
    assert rule.due_years("county", date(2027, 1, 1), first_year=2016).overdue == (2016,)
    assert rule.due_years("provincial", TODAY, first_year=2007).due == ()
    assert rule.year_ranges([2005, 2001, 2002, 2003]) == "2001–2003、2005"


def test_due_list_county_ten_years_versus_provincial_twenty(world: dict[str, Any]) -> None:
    units = by_code(warning.due_list(None, TODAY))
    prov, county = units["Z109"], units["X001"]
    # same records, same first year (the earliest in the catalogue): only the level differs
    assert (prov.age, county.age) == (20, 10)
    assert prov.first_year_source == "catalogue" and prov.first_year == 2000
    assert prov.due == (2004, 2005) and prov.overdue == (2004, 2005)
    assert county.due == (2004, 2005, *range(2007, 2017))
    assert county.overdue == (2004, 2005, *range(2007, 2016))
    assert units["J019"].status == "unknown" and units["J019"].due == ()
    assert [u.fonds.code for u in warning.due_list(None, TODAY)][:2] == ["X001", "Z109"]
    # one more year in the catalogue (an accepted transfer, an import) is no longer due
    add_records(Category.objects.get(fonds=world["prov"]), [2004])
    assert by_code(warning.due_list(None, TODAY))["Z109"].due == (2005,)


def test_profile_years_and_exemptions(world: dict[str, Any]) -> None:
    with pytest.raises(services.IngestError, match="终止年度 1995 早于起始年度 1998"):
        warning.set_profile(world["prov"], first_year=1998, last_year=1995, user=world["receiver"])
    with pytest.raises(services.IngestError, match="年度“20x1”不合规则"):
        warning.parse_years("2001, 20x1")
    with pytest.raises(catalog.PermissionDenied):
        warning.set_profile(world["prov"], first_year=1998, user=world["unit"])
    warning.set_profile(
        world["prov"], first_year=1998, exempt_years=warning.parse_years("1999、2004-2005"),
        user=world["receiver"], today=TODAY,
    )  # fmt: skip
    prov = warning.unit_due(world["prov"], TODAY)
    assert prov.first_year_source == "profile" and prov.due == (1998,)
    assert AuditEntry.objects.filter(action="transfer_profile_set").count() == 1


def test_filing_units_see_only_their_units(world: dict[str, Any]) -> None:
    assert [u.fonds.code for u in warning.due_list(world["unit"], TODAY)] == ["Z109"]
    assert [u.fonds.code for u in warning.due_list(world["county_user"], TODAY)] == ["X001"]
    assert len(warning.due_list(world["receiver"], TODAY)) == 3
    # the reminder shown on a filing unit's pages: its own due units; none for the receiver
    assert [u.fonds.code for u in warning.banner_units(world["county_user"])] == ["X001"]
    assert warning.banner_units(world["receiver"]) == []


def test_reminders_recorded_resent_and_refreshed_nightly(world: dict[str, Any]) -> None:
    result = warning.refresh_reminders(TODAY)
    assert result == {"sent": 2, "skipped": 0}
    county = TransferReminder.objects.get(fonds=world["county"])
    assert county.recipients == ["unit_x"] and county.kind == "nightly"
    assert county.due_years[0] == 2004 and county.sent_by is None
    # the next night nothing new is due: no second reminder
    assert warning.refresh_reminders(TODAY) == {"sent": 0, "skipped": 2}
    # a year falls due on 1 January: that unit is reminded at once
    assert warning.refresh_reminders(date(2027, 1, 1)) == {"sent": 2, "skipped": 0}
    # a month later the reminders are repeated
    TransferReminder.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert warning.refresh_reminders(date(2027, 1, 2))["sent"] == 2
    # sent again by hand by the receiving archivist; a filing unit may not
    unit = warning.unit_due(world["prov"], TODAY)
    with pytest.raises(catalog.PermissionDenied):
        warning.remind(unit, user=world["unit"])
    r = warning.remind(unit, user=world["receiver"])
    assert (r.kind, r.sent_by, r.recipients) == ("manual", world["receiver"], ["unit_a"])
    entry = AuditEntry.objects.filter(action="transfer_reminder").last()
    assert entry is not None and entry.detail["kind"] == "manual"
    assert entry.target_type == "fonds" and entry.detail["due_years"] == "2004–2005"
    # nothing due: refused
    add_records(Category.objects.get(fonds=world["prov"]), [2004, 2005])
    with pytest.raises(services.IngestError, match="没有到期未移交的档案"):
        warning.remind(warning.unit_due(world["prov"], TODAY), user=world["receiver"])


def test_the_nightly_job_is_a_periodic_task(world: dict[str, Any]) -> None:
    task = warning_tasks.refresh_transfer_reminders
    nightly, noon = datetime(2026, 12, 7, 2, 40), datetime(2026, 12, 7, 12, 0)
    check = task.task_class.validate_datetime  # a periodic task: runs at 02:40 each night
    assert check(None, nightly) and not check(None, noon)
    assert task.call_local()["sent"] >= 1
    assert TransferReminder.objects.exists()


def test_pages_reminder_for_the_unit_and_list_for_the_receiver(world: dict[str, Any]) -> None:
    warning.refresh_reminders()
    unit = Client()
    unit.force_login(world["unit"])
    page = unit.get("/transfers/quality/").content.decode()
    assert "应向档案馆移交" in page and "岭南省人民政府办公厅" in page
    assert "临江县" not in page  # another unit's reminder is not shown
    due = unit.get("/transfers/quality/due/").content.decode()
    assert "Z109" in due and "X001" not in due
    assert unit.post(f"/transfers/quality/units/{world['prov'].pk}/remind/").status_code == 403

    receiver = Client()
    receiver.force_login(world["receiver"])
    listing = receiver.get("/transfers/quality/due/").content.decode()
    assert listing.index("X001") < listing.index("Z109")  # the most overdue first
    before = TransferReminder.objects.filter(fonds=world["county"]).count()
    sent = receiver.post(f"/transfers/quality/units/{world['county'].pk}/remind/", {"back": "due"})
    assert sent.status_code == 302 and sent["Location"].endswith("/transfers/quality/due/")
    assert TransferReminder.objects.filter(fonds=world["county"]).count() == before + 1
    detail = receiver.get(f"/transfers/quality/units/{world['county'].pk}/").content.decode()
    assert "unit_x" in detail and "2004" in detail
    saved = receiver.post(
        f"/transfers/quality/units/{world['prov'].pk}/profile/",
        {"first_year": "2004", "last_year": "", "exempt_years": "2005", "note": ""},
    )
    assert saved.status_code == 302
    assert warning.unit_due(world["prov"]).first_year == 2004


def test_cli_due_json_and_errors(world: dict[str, Any]) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["transfer", "due", "--date", "2026-12-07", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["date"] == "2026-12-07" and data["counts"]["overdue"] == 2
    units = {u["fonds"]: u for u in data["units"]}
    assert units["X001"]["transfer_age"] == 10 and units["Z109"]["transfer_age"] == 20
    assert units["Z109"]["due_years"] == [2004, 2005] and units["Z109"]["users"] == ["unit_a"]
    bad = runner.invoke(main, ["transfer", "due", "--date", "2026-13-45", "--json"])
    assert bad.exit_code == 2
    error = json.loads(bad.output)
    assert error["ok"] is False and "YYYY-MM-DD" in error["error"]
    text = runner.invoke(main, ["transfer", "due", "--date", "2026-12-07"])
    assert "[逾期] 451021/X001" in text.output
