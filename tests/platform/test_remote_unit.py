"""Requests across archives in-process (platform/remote.py) and what they rest on: locators, the
holding side's decision for an unknown and a paper-only record, malformed requests from a member,
sealing of the ID numbers (sealing.py), the regional key (regional.py) and the deadlines
(sla.py). The exchanges between real processes are in test_region.py."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from lantai.catalog.models import Record
from lantai.core import signing
from lantai.core.key_files import KeyFileError
from lantai.platform import log, regional, remote, sealing, sla, transport
from lantai.platform.models import Membership, RemoteRequest
from lantai.standards import platform_messages as pm
from tests.marriage import conftest as marriage
from tests.marriage.conftest import HUSBAND

PEER = signing.SigningKey.generate()  # node B02, the receiving archives
fonds, couple = marriage.fonds, marriage.couple  # the marriage tests' fixtures, used here


@pytest.fixture
def node(db: Any) -> Membership:
    return Membership.objects.create(
        code="A01", name="甲市档案馆", url="http://a01.invalid", hub_url="http://hub.invalid",
        hub_public_key="00", member_list={"members": [
            {"code": "B02", "name": "乙县档案馆", "url": "http://b02.invalid", "public_key": PEER.public_key_hex}]},
        member_list_at=timezone.now(),
    )  # fmt: skip


def request_message(locator: str, *, secret: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:  # fmt: skip
    """A request from B02 as transport hands it to the handler (form and signature checked).
    Sealing is symmetric: A01 sealing to B02's key gives what B02 sealing to A01 gives."""
    secret = secret if secret is not None else {"requester_id": HUSBAND.id_number, "proofs": {"id_document": "原件已核验"}}  # fmt: skip
    content = {"locator": locator, "channel": "counter", "purpose": "办理房产过户",
               "requester": {"type": "self", "name": HUSBAND.name, "id_masked": "450103********111X"},
               "sealed": sealing.seal(secret, PEER.public_key_hex, locator), **body}  # fmt: skip
    return pm.make_message(sender="B02", to="A01", kind="request", sent=log.now_iso(), body=content,
                           signer_key=PEER.public_key_hex, sign=PEER.sign)  # fmt: skip


def weekdays_after(start: dt.date, n: int) -> dt.date:
    day = start
    while n:
        day += dt.timedelta(days=1)
        n -= day.weekday() < 5
    return day


# ------------------------------------------------------------------------------- locators


@pytest.mark.parametrize("bad", ["", "A01", ":MZHY-1", "A01:", "A01MZHY"])
def test_a_malformed_locator_is_refused(bad: str) -> None:
    with pytest.raises(remote.RequestError) as caught:
        remote.holder_of(bad)
    assert not caught.value.refused and caught.value.message_en


def test_a_locator_names_the_holder_and_the_reference() -> None:
    assert remote.holder_of("A01:MZHY-2010-0001:x") == ("A01", "MZHY-2010-0001:x")


# ---------------------------------------------------------------------------- holding side


def test_a_request_for_an_unknown_record_is_refused_and_kept(node: Membership, couple: dict[str, int]) -> None:  # fmt: skip
    message = request_message("A01:NO-SUCH-RECORD")
    answer = remote._received(message)
    assert answer["status"] == "refused" and answer["request_id"] == message["id"]
    row = RemoteRequest.objects.get(role="received")
    assert row.status == "refused" and row.answered_at is not None and row.record is None


def test_a_request_for_a_record_held_elsewhere_is_refused(node: Membership, couple: dict[str, int]) -> None:  # fmt: skip
    code = Record.objects.get(pk=couple["marriage"]).reference_code
    assert remote._received(request_message(f"C03:{code}"))["status"] == "refused"


def test_a_paper_only_record_is_queued_with_the_answer_due_in_4_working_days(node: Membership, couple: dict[str, int]) -> None:  # fmt: skip
    code = Record.objects.get(pk=couple["marriage"]).reference_code
    message = request_message(f"A01:{code}")
    answer = remote._received(message)
    due = weekdays_after(timezone.localdate(), 4)
    assert answer["status"] == "queued" and answer["answer_due"] == due.isoformat()
    row = RemoteRequest.objects.get(role="received")
    assert (row.status, row.answer_due, row.record_id, row.receiving_node) == ("queued", due, couple["marriage"], "B02")  # fmt: skip
    assert HUSBAND.id_number not in row.sealed and HUSBAND.id_number not in str(answer)
    assert sealing.unseal(row.sealed, PEER.public_key_hex, row.locator)["requester_id"] == HUSBAND.id_number  # fmt: skip
    assert sla.overdue(row) == ""
    assert sla.overdue(row, today=due) == ""
    assert sla.overdue(row, today=due + dt.timedelta(days=1)) == "answer"


def test_a_request_sealed_for_another_locator_cannot_be_read(node: Membership, couple: dict[str, int]) -> None:  # fmt: skip
    code = Record.objects.get(pk=couple["marriage"]).reference_code
    message = request_message(f"A01:{code}")
    message["body"]["sealed"] = sealing.seal(
        {"requester_id": "x"}, PEER.public_key_hex, "A01:OTHER"
    )
    with pytest.raises(transport.Refused) as caught:
        remote._received(message)
    assert caught.value.status == 400
    assert not RemoteRequest.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"requester": "self"},
        {"secret": {"proofs": ["id"]}},
        {"secret": {"case_party_ids": "450103"}},
    ],
)
def test_a_malformed_request_from_a_member_is_refused(node: Membership, couple: dict[str, int], change: dict[str, Any]) -> None:  # fmt: skip
    code = Record.objects.get(pk=couple["marriage"]).reference_code
    with pytest.raises(transport.Refused) as caught:
        remote._received(request_message(f"A01:{code}", **change))
    assert caught.value.status == 400


def test_an_answer_for_a_request_never_sent_is_refused(node: Membership) -> None:
    message = pm.make_message(sender="B02", to="A01", kind="answer", sent=log.now_iso(),
                              body={"request_id": "0" * 32, "status": "answered"},
                              signer_key=PEER.public_key_hex, sign=PEER.sign)  # fmt: skip
    with pytest.raises(transport.Refused) as caught:
        remote._answer_arrived(message)
    assert caught.value.status == 404


def test_an_answer_from_another_node_than_the_holder_is_refused(node: Membership) -> None:
    now = timezone.now()
    RemoteRequest.objects.create(role="sent", message_id="1" * 32, receiving_node="A01", holding_node="C03",
                                 locator="C03:X", requester_type="self", requester_name="王建华",
                                 requester_id_masked="x", created_at=now, answer_due=now.date())  # fmt: skip
    message = pm.make_message(sender="B02", to="A01", kind="answer", sent=log.now_iso(),
                              body={"request_id": "1" * 32, "status": "refused", "reason": "x"},
                              signer_key=PEER.public_key_hex, sign=PEER.sign)  # fmt: skip
    with pytest.raises(transport.Refused):
        remote._answer_arrived(message)
    assert RemoteRequest.objects.get().status == "sent"


# ------------------------------------------------------------------------------------- sla


def _row(role: str, **fields: Any) -> RemoteRequest:
    values: dict[str, Any] = {"role": role, "answer_due": dt.date(2026, 12, 10), "answered_at": None,
                              "inform_due": None, "informed_at": None}  # fmt: skip
    values.update(fields)
    return RemoteRequest(**values)


def test_overdue_names_the_deadline_that_passed() -> None:
    today = dt.date(2026, 12, 11)
    assert sla.overdue(_row("received"), today) == "answer"
    assert sla.overdue(_row("received"), dt.date(2026, 12, 10)) == ""
    answered = timezone.now()
    assert sla.overdue(_row("received", answered_at=answered), today) == ""
    late = _row("sent", answered_at=answered, inform_due=dt.date(2026, 12, 10))
    assert sla.overdue(late, today) == "inform"
    assert sla.overdue(_row("sent", answered_at=answered, inform_due=dt.date(2026, 12, 10), informed_at=answered), today) == ""  # fmt: skip
    assert sla.overdue(_row("received", answered_at=answered, inform_due=dt.date(2026, 12, 10)), today) == ""  # fmt: skip


def test_the_deadlines_skip_weekends_without_a_calendar(settings: Any) -> None:
    sla._loaded.cache_clear()
    try:
        settings.PLATFORM_HOLIDAYS = ""
        friday = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
        assert sla.answer_due(friday) == dt.date(2026, 12, 10)
        assert sla.inform_due(friday) == dt.date(2026, 12, 8)
    finally:
        sla._loaded.cache_clear()


# --------------------------------------------------------------------------------- sealing


@pytest.fixture
def own_key(db: Any) -> signing.SigningKey:
    from lantai.platform import peers

    return peers.own_key()


def test_sealed_data_opens_only_with_the_pair_and_the_context(own_key: signing.SigningKey) -> None:
    token = sealing.seal({"id": "450103198403011110", "名": "王"}, PEER.public_key_hex, "A01:X")
    assert "450103198403011110" not in base64.b64decode(token).decode("latin-1")
    assert sealing.unseal(token, PEER.public_key_hex, "A01:X") == {"id": "450103198403011110", "名": "王"}  # fmt: skip
    with pytest.raises(ValueError):
        sealing.unseal(token, signing.SigningKey.generate().public_key_hex, "A01:X")
    with pytest.raises(ValueError):
        sealing.unseal(token, PEER.public_key_hex, "A01:Y")
    raw = bytearray(base64.b64decode(token))
    raw[20] ^= 1
    with pytest.raises(ValueError):
        sealing.unseal(base64.b64encode(bytes(raw)).decode(), PEER.public_key_hex, "A01:X")


@pytest.mark.parametrize("bad", ["04" + "11" * 64, "04" + "ff" * 64, "03" + "11" * 64, "zz", ""])
def test_a_peer_key_off_the_curve_is_a_value_error(own_key: signing.SigningKey, bad: str) -> None:
    with pytest.raises(ValueError):
        sealing.seal({"x": 1}, bad, "c")
    token = sealing.seal({"x": 1}, PEER.public_key_hex, "c")
    with pytest.raises(ValueError):
        sealing.unseal(token, bad, "c")


@pytest.mark.parametrize("bad", ["not base64!", "", base64.b64encode(b"short").decode()])
def test_a_malformed_sealed_token_is_a_value_error(own_key: signing.SigningKey, bad: str) -> None:
    with pytest.raises(ValueError):
        sealing.unseal(bad, PEER.public_key_hex, "c")


# -------------------------------------------------------------------------------- regional


@pytest.fixture
def key_path(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """A data directory of the test's own, so the run's regional key is never touched."""
    settings.DATA_DIR = tmp_path / "data"
    yield tmp_path / "data" / "keys" / regional.KEY_FILE
    regional._load.cache_clear()


def test_install_refuses_a_different_key_and_a_wrong_length(key_path: Path) -> None:
    with pytest.raises(KeyFileError):
        regional.install(b"x" * 31)
    assert not key_path.exists()
    regional.install(b"k" * 32)
    assert key_path.stat().st_mode & 0o777 == 0o600
    regional.install(b"k" * 32)  # the same key again: nothing to do
    with pytest.raises(KeyFileError):
        regional.install(b"j" * 32)
    assert regional.export() == b"k" * 32


def test_no_key_is_a_key_file_error(key_path: Path) -> None:
    with pytest.raises(KeyFileError):
        regional.id_hash("居民身份证", HUSBAND.id_number or "")


def test_id_hash_meets_for_the_15_and_18_digit_forms(key_path: Path) -> None:
    regional.install(b"k" * 32)
    id18 = HUSBAND.id_number or ""
    id15 = id18[:6] + id18[8:17]
    h = regional.id_hash("居民身份证", id18)
    assert len(h) == 32 and h == regional.id_hash("居民身份证", id15)
    assert h == regional.id_hash("居民身份证", " " + id18.lower() + " ")
    assert h != regional.id_hash("护照", id18)  # another kind of document does not meet it


def test_another_regions_key_gives_other_hashes(
    key_path: Path, settings: Any, tmp_path: Path
) -> None:
    id18 = HUSBAND.id_number or ""
    regional.install(b"k" * 32)
    h = regional.id_hash("居民身份证", id18)
    settings.DATA_DIR = tmp_path / "other"
    regional.install(b"j" * 32)
    assert regional.id_hash("居民身份证", id18) != h


@pytest.mark.parametrize("current", ["answered", "informed"])
def test_a_late_queued_reply_does_not_undo_an_answer(node: Membership, current: str) -> None:
    now = timezone.now()
    row = RemoteRequest.objects.create(
        role="sent", message_id="2" * 32, receiving_node="A01", holding_node="B02", locator="B02:X",
        requester_type="self", requester_name="王建华", requester_id_masked="x", status=current,
        created_at=now, answer_due=now.date(), answered_at=now, inform_due=now.date(),
        informed_at=now if current == "informed" else None, certificate_number="N1",
    )  # fmt: skip
    remote._reply_delivered(
        {"body": {"request_id": "2" * 32, "status": "queued", "reason": "纸质档案"}}
    )
    row.refresh_from_db()
    assert (row.status, row.certificate_number) == (current, "N1")
