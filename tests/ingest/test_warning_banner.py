"""移交预警 on the transfer pages: a filing unit sees its own transfer reminder at the top of its
list of transfers (/transfers/), another unit's never; receiving staff, who have the due list, see
none; a unit with nothing due sees none."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.test import Client

from lantai.catalog.models import Category
from tests.ingest.test_warning import _own_data_dir, add_records, world  # noqa: F401

REMINDER = "应向档案馆移交"


def transfer_page(user: Any) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/transfers/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_filing_unit_sees_its_reminder_on_its_transfer_list(
    world: dict[str, Any],  # noqa: F811
) -> None:
    page = transfer_page(world["unit"])
    assert REMINDER in page and "岭南省人民政府办公厅" in page
    assert "临江县" not in page  # another unit's reminder is not shown
    assert page.index(REMINDER) < page.index('name="status"')  # at the top, above the list
    assert "/transfers/quality/due/" in page
    county = transfer_page(world["county_user"])
    assert REMINDER in county and "临江县人民政府办公室" in county
    assert "岭南省人民政府办公厅" not in county


def test_receiving_staff_and_units_with_nothing_due_see_no_reminder(
    world: dict[str, Any],  # noqa: F811
) -> None:
    assert REMINDER not in transfer_page(world["receiver"])
    # every year of the provincial unit up to the transfer age transferred: nothing due
    last = date.today().year - 20
    add_records(Category.objects.get(fonds=world["prov"]), list(range(2004, last + 1)))
    page = transfer_page(world["unit"])
    assert REMINDER not in page and "岭南省人民政府办公厅" not in page
