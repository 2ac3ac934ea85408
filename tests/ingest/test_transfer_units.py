"""A transfer's 移交单位 is the submitting unit's own, chosen from its scope (issue 12, point
15), and accepting refuses records whose 档号 names a fonds outside the submitter's scope."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lantai.catalog import services as catalog
from lantai.catalog.models import Fonds, Record
from lantai.cli import main
from lantai.core import accounts
from lantai.core.models import AuditEntry, User
from lantai.demo.transfer import make_transfer
from lantai.ingest import services
from lantai.ingest.models import Transfer
from lantai.ingest.virus import Scanner

PASSWORD = "Lantai#Archive2024"
UNIT = "岭南省人民政府办公厅"


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    own = catalog.create_fonds("Z109", UNIT)
    other = catalog.create_fonds("J019", "岭南省教育厅")
    catalog.create_category(own, "WS")
    catalog.create_category(other, "WS")
    unit = accounts.create_user("unit_a", role="filing_unit", password=PASSWORD)
    accounts.grant(unit, actor=None, fonds_ids=[own.pk])
    receiver = accounts.create_user(
        "receiver", role="receiving_archivist", password=PASSWORD, clearance=4, scope_all=True
    )
    return {
        "own": own,
        "other": other,
        "unit": User.objects.get(pk=unit.pk),
        "receiver": User.objects.get(pk=receiver.pk),
    }


def test_a_person_chooses_the_unit_from_their_scope(world: dict[str, Any], tmp_path: Path) -> None:
    source = make_transfer(tmp_path / "pkg", 1, kinds=("pdf",), unit=UNIT)
    with pytest.raises(services.IngestError, match="不在您的权限范围内"):
        services.receive(source, fonds=world["other"], user=world["unit"])
    with pytest.raises(services.IngestError, match="选择移交单位"):
        services.receive(source, "随便写的单位", user=world["unit"])
    t = services.receive(source, fonds=world["own"], user=world["unit"])
    assert (t.unit, t.fonds) == (UNIT, world["own"])


def test_the_form_offers_only_the_units_in_scope(world: dict[str, Any], tmp_path: Path) -> None:
    source = make_transfer(tmp_path / "pkg", 1, kinds=("pdf",), unit=UNIT)
    data = Path(shutil.make_archive(str(tmp_path / "pkg-zip"), "zip", root_dir=source)).read_bytes()
    client = Client()
    client.force_login(world["unit"])
    page = client.get("/transfers/new/").content.decode()
    assert f'value="{world["own"].pk}"' in page and f'value="{world["other"].pk}"' not in page

    def post(unit: object) -> Any:
        package = SimpleUploadedFile("移交包.zip", data, content_type="application/zip")
        return client.post("/transfers/new/", {"unit": unit, "title": "移交", "package": package})

    for typed in (world["other"].pk, "某个自己写的单位"):
        refused = post(typed)
        assert refused.status_code == 200 and "不在您的权限范围内" in refused.content.decode()
    assert not Transfer.objects.exists()
    assert post(world["own"].pk).status_code == 302
    t = Transfer.objects.get()
    assert (t.unit, t.fonds_id, t.created_by_id) == (UNIT, world["own"].pk, world["unit"].pk)


@pytest.mark.clamd
def test_accept_refuses_records_of_a_fonds_outside_the_submitters_scope(
    world: dict[str, Any], tmp_path: Path, clamd_scanner: tuple[Scanner, Any], settings: Any
) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    scanner = clamd_scanner[0]
    foreign = make_transfer(tmp_path / "foreign", 2, kinds=("pdf",), fonds="J019", unit=UNIT)
    t = services.receive(foreign, fonds=world["own"], user=world["unit"])
    assert services.run_check(t.versions.get(), scanner=scanner).result == "pass"
    with pytest.raises(services.IngestError, match="J019-WS·2020-Y-BGS-0001"):
        services.accept(t, user=world["receiver"])
    t.refresh_from_db()
    assert t.status == "passed" and not Record.objects.exists()
    refused = AuditEntry.objects.get(action="transfer_accept_refused", target_id=str(t.pk))
    assert refused.detail["rule"] == "fonds_outside_submitter_scope"

    own = make_transfer(tmp_path / "own", 2, kinds=("pdf",), fonds="Z109", unit=UNIT)
    ok = services.receive(own, fonds=world["own"], user=world["unit"])
    assert services.run_check(ok.versions.get(), scanner=scanner).result == "pass"
    assert services.accept(ok, user=world["receiver"]) == 2
    assert set(Record.objects.values_list("fonds__code", flat=True)) == {"Z109"}
    assert Fonds.objects.count() == 2


@pytest.mark.clamd
def test_a_transfer_registered_at_the_console_takes_only_its_units_fonds(
    world: dict[str, Any], tmp_path: Path, clamd_scanner: tuple[Scanner, Any]
) -> None:
    foreign = make_transfer(tmp_path / "foreign", 1, kinds=("pdf",), fonds="J019", unit=UNIT)
    t = services.receive(foreign, fonds=services.find_unit("Z109"))
    assert services.run_check(t.versions.get(), scanner=clamd_scanner[0]).result == "pass"
    with pytest.raises(services.IngestError, match="J019-WS·2020-Y-BGS-0001"):
        services.accept(t, user=world["receiver"])
    assert not Record.objects.exists()


def test_the_cli_names_the_unit_by_an_existing_fonds(world: dict[str, Any], tmp_path: Path) -> None:
    source = make_transfer(tmp_path / "pkg", 1, kinds=("pdf",), unit=UNIT)
    typed = CliRunner().invoke(
        main, ["transfer", "receive", str(source), "--unit", "某个自己写的单位", "--json"]
    )
    assert typed.exit_code == 2 and "须恰好对应一个全宗" in json.loads(typed.output)["error"]
    assert not Transfer.objects.exists()


@pytest.mark.clamd
def test_a_transfer_is_accepted_into_its_units_own_archives(
    world: dict[str, Any], tmp_path: Path, clamd_scanner: tuple[Scanner, Any], settings: Any
) -> None:
    """A city archives' unit: its transfer's 档号 are found in that archives (where its fonds is),
    not in the default one, without naming the archives on the accept page (which has no field)."""
    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    catalog.create_repository("490101", "某市档案馆")
    city = catalog.create_fonds("J201", "某市人民政府办公室", repository_code="490101")
    catalog.create_category(city, "WS")
    source = make_transfer(tmp_path / "pkg", 2, kinds=("pdf",), fonds="J201", unit=city.creator)
    t = services.receive(source, fonds=city)
    assert services.run_check(t.versions.get(), scanner=clamd_scanner[0]).result == "pass"
    assert services.accept(t, user=world["receiver"]) == 2
    assert set(Record.objects.values_list("fonds__repository__code", flat=True)) == {"490101"}
