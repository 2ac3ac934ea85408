"""Audit of issue 19 (donor restrictions in the reading room): defects found from outside, each
written as a failing test before it was fixed and kept as a regression test."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lantai.access import services
from lantai.catalog.models import RecordHold
from tests.access.conftest import Portal, _portal_settings, make_portal, resident_id  # noqa: F401


@pytest.fixture
def portal(db: Any) -> Portal:
    return make_portal()


@pytest.mark.parametrize("method", ["copy", "electronic"])
def test_no_copy_of_a_record_under_a_donors_access_restriction(portal: Portal, method: str) -> None:
    held = portal.open_records[0]
    RecordHold.objects.create(
        record=held, source="donor", source_key="audit:1", scope="access",
        starts_on=dt.date.today(), until=None, reason="捐赠者生前不对外公开", reference="ZJ-2026-0001",
    )  # fmt: skip
    with pytest.raises(services.AccessError):
        services.register_provision(
            portal.users["reader"], user_name="王强", id_type="resident_id",
            id_number=resident_id(), purpose="research", method=method, records=[held],
        )  # fmt: skip
