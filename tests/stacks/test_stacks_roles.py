"""Every stacks page against the roles: looking needs VIEW, every form needs STACKS (保管员).
An empty form or an unknown id is answered (a message, 404), never with an error page; every
refusal is a 403. The same table goes into tests/core/test_role_walk.py (lead)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from lantai.core import accounts
from lantai.core.roles import ROLES, STACKS, VIEW, has_permission

from .conftest import Stacks

pytestmark = pytest.mark.sqlite_run_only

PAGES = {
    "stacks:home": VIEW,
    "stacks:room": VIEW,
    "stacks:shelf": VIEW,
    "stacks:box": VIEW,
    "stacks:census_list": VIEW,
    "stacks:census": VIEW,
    "stacks:locate": VIEW,
    "stacks:readings_import_result": VIEW,
    "stacks:readings_import": STACKS,
    "stacks:building_create": STACKS,
    "stacks:room_create": STACKS,
    "stacks:room_reading": STACKS,
    "stacks:room_climate": STACKS,
    "stacks:shelf_create": STACKS,
    "stacks:alert_resolve": STACKS,
    "stacks:box_create": STACKS,
    "stacks:box_place": STACKS,
    "stacks:box_remove": STACKS,
    "stacks:box_move": STACKS,
    "stacks:box_lend": STACKS,
    "stacks:unit_lend": STACKS,
    "stacks:loan_return": STACKS,
    "stacks:census_start": STACKS,
    "stacks:census_count": STACKS,
    "stacks:discrepancy_resolve": STACKS,
}


def test_the_table_names_every_stacks_page() -> None:
    resolver = get_resolver()
    names = {
        f"stacks:{n}"
        for n in resolver.namespace_dict["stacks"][1].reverse_dict
        if isinstance(n, str)
    }
    assert names == set(PAGES)


def test_every_role_on_every_stacks_page(stacks: Stacks) -> None:
    people = {
        code: accounts.create_user(
            f"walk-{code}", role=code, password="Walk#Password2026", clearance=4, scope_all=True
        )
        for code in ROLES
    }
    wrong = []
    for name, permission in PAGES.items():
        url = reverse(name, kwargs={"pk": 1}) if name not in _NO_ID else reverse(name)
        for code, user in people.items():
            client = Client(raise_request_exception=False)
            client.force_login(user)
            response: Any = client.get(url)
            if response.status_code == 405:
                response = client.post(url)
            refused = response.status_code == 403
            if refused == has_permission(code, permission) or response.status_code >= 500:
                wrong.append(f"{name} as {code}: {response.status_code}")
        anonymous = Client().get(url)
        if anonymous.status_code != 302 or "/login/" not in anonymous["Location"]:
            wrong.append(f"{name} anonymous: {anonymous.status_code}")
    assert not wrong, "\n".join(wrong)


_NO_ID = {
    "stacks:home", "stacks:census_list", "stacks:locate", "stacks:readings_import",
    "stacks:building_create", "stacks:room_create", "stacks:census_start",
}  # fmt: skip
