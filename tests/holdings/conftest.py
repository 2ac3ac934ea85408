"""Fixtures of the holdings tests: a repository, an archivist who may register accessions and
users who may not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Desk:
    repo: Any
    archivist: Any  # receiving_archivist: catalog EDIT
    keeper: Any  # preservation_officer: VIEW only
    sysadmin: Any  # system_admin: neither


@pytest.fixture
def desk(db: Any) -> Desk:
    from lantai.catalog import services
    from lantai.core import accounts

    return Desk(
        repo=services.default_repository(),
        archivist=accounts.create_user("liming", role="receiving_archivist", password="Pw-12345678x", scope_all=True),
        keeper=accounts.create_user("zhaoyan", role="preservation_officer", password="Pw-12345678x", scope_all=True),
        sysadmin=accounts.create_user("admin2", role="system_admin", password="Pw-12345678x"),
    )  # fmt: skip
