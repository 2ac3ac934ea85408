"""The region end to end (issue 17, "Tests" and "Done when"), as real processes: join, the
marriage index harvested, a region-wide find at 南州, a certificate of a record 北川 holds issued by
北川 and printed at 南州, verified there offline; a paper-only record queued for 北川's staff; 北川
down mid-request and back; a replayed message; a tampered log; a key that left the list."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.marriage.conftest import OTHER, WIFE

from .conftest import Region

pytestmark = [pytest.mark.sqlite_run_only]  # the nodes pick their own databases

SELF_WIFE = ["--requester-type", "self", "--requester-name", WIFE.name, "--requester-id", str(WIFE.id_number), "--proof", "id_document=原件已核验", "--purpose", "办理房产过户"]  # fmt: skip
SELF_OTHER = ["--requester-type", "self", "--requester-name", OTHER.name, "--requester-id", str(OTHER.id_number), "--proof", "id_document=原件已核验", "--purpose", "落户"]  # fmt: skip


@pytest.fixture(scope="module")
def joined(region: Region, tmp_path_factory: pytest.TempPathFactory) -> Region:
    hub, nz, bc = region.hub, region.nz, region.bc
    key = tmp_path_factory.mktemp("key") / "regional.key"
    nz.cli("platform", "regional-key", "--create", "--json")
    nz.cli("platform", "regional-key", "--export", str(key), "--json")
    bc.cli("platform", "regional-key", "--import", str(key), "--json")
    for node in (nz, bc):
        _code, made = hub.cli("platform", "token", "--node-code", node.name, "--json")
        _code, out = node.cli("platform", "join", hub.url, "--token", made["token"], "--url", node.url, "--json")  # fmt: skip
        assert out["code"] == node.name
    for node in (nz, bc):
        _code, out = node.cli("platform", "refresh", "--json")
        assert out["member_list"] and out["anchored"], out
    return region


JOIN_TWICE = """
import json, sys, requests
from lantai.core.signing import SigningKey
from lantai.standards import platform_messages as pm
hub, token = sys.argv[1], sys.argv[2]
out = []
for _ in range(2):
    key = SigningKey.generate()
    body = {"token": token, "code": "other", "name": "某县档案馆", "url": "http://127.0.0.1:9", "public_key": key.public_key_hex,
            "region": "", "issuer_keys": [], "pades_root": "", "status_lists": []}
    r = requests.post(hub + "/platform/join", json=pm.sign_statement(body, key.public_key_hex, key.sign), timeout=60)
    out.append([r.status_code, r.json().get("error", {}).get("code")])
print(json.dumps(out))
"""


def test_a_token_joins_once(joined: Region) -> None:
    hub, nz = joined.hub, joined.nz
    _code, made = hub.cli("platform", "token", "--node-code", "other", "--json")
    assert nz.python(JOIN_TWICE, hub.url, made["token"]) == [[200, None], [403, "token"]]
    hub.cli("platform", "remove-member", "other", "--reason", "测试", "--json")


def test_harvest_and_find_region_wide(joined: Region) -> None:
    hub, nz, bc = joined.hub, joined.nz, joined.bc
    _code, out = hub.cli("platform", "harvest", "--feed", "marriage", "--json")
    assert out["ok"], out
    assert {r["node"]: r["records"] for r in out["runs"]} == {"bc": 2, "nz": 0}
    # the hub's index holds names and keyed hashes, never a number
    numbers = [str(WIFE.id_number), str(OTHER.id_number)]
    dump = b"".join(p.read_bytes() for p in hub.data.glob("lantai.sqlite3*"))
    assert dump and not any(n.encode() in dump for n in numbers)
    assert WIFE.name.encode() in dump  # the names are there: the index is not empty
    _code, found = nz.cli("platform", "marriage-find", "--id", str(WIFE.id_number), *SELF_WIFE, "--json")  # fmt: skip
    assert [r["locator"] for r in found["results"]] == [f"bc:{bc.facts['scanned']}"]
    _code, by_name = nz.cli("platform", "marriage-find", "--name", "陈国强", "--year", "2012", *SELF_OTHER, "--json")  # fmt: skip
    assert f"bc:{bc.facts['paper']}" in [r["locator"] for r in by_name["results"]]
    # the counter's rules hold region-wide: 陈国强 does not see 李秀英's marriage
    _code, theirs = nz.cli("platform", "marriage-find", "--id", str(WIFE.id_number), *SELF_OTHER, "--json")  # fmt: skip
    assert theirs["results"] == [] and theirs["withheld"] == 1


def test_certificate_from_the_holder_printed_here_verifies_offline(joined: Region, tmp_path: Path) -> None:  # fmt: skip
    nz, bc = joined.nz, joined.bc
    pdf = tmp_path / "cert.pdf"
    _code, out = nz.cli("platform", "request", "--record", f"bc:{bc.facts['scanned']}", *SELF_WIFE, "--out", str(pdf), "--json")  # fmt: skip
    assert out["status"] == "answered" and pdf.read_bytes().startswith(b"%PDF-")
    # 北川 decided and signed: the certificate is 北川's, in 北川's log and list of certificates
    count = bc.python("from lantai.certificates.models import Certificate; import json; print(json.dumps([c.repository.code for c in Certificate.objects.all()]))")  # fmt: skip
    assert count == ["450123"]
    code, verdict = nz.cli("certificate", "verify", str(pdf), "--json", ok=(0, 1))
    assert code == 0 and verdict["valid"], verdict
    assert verdict["issuer"] == "北川县档案馆"


def test_rules_of_the_holder_refuse(joined: Region) -> None:
    nz, bc = joined.nz, joined.bc
    # 李秀英 asks for 陈国强's marriage: refused by 北川 under its rules, nothing issued
    code, out = nz.cli("platform", "request", "--record", f"bc:{bc.facts['scanned']}", *SELF_OTHER, "--json", ok=(1,))  # fmt: skip
    assert out["status"] == "refused"


def test_paper_only_is_queued_for_the_holders_staff(joined: Region) -> None:
    nz, bc = joined.nz, joined.bc
    code, out = nz.cli("platform", "request", "--record", f"bc:{bc.facts['paper']}", *SELF_OTHER, "--json", ok=(4,))  # fmt: skip
    assert out["status"] == "queued" and out["answer_due"]
    _code, status = bc.cli("platform", "status", "--json")
    assert status["requests"]["received"]["open"] >= 1


def test_holder_down_then_back_no_loss_no_duplicate(joined: Region, tmp_path: Path) -> None:
    nz, bc = joined.nz, joined.bc
    bc.stop()
    try:
        code, out = nz.cli("platform", "request", "--record", f"bc:{bc.facts['scanned']}", *SELF_WIFE, "--json", ok=(3,))  # fmt: skip
        assert out["queued"] is True
    finally:
        bc.start()
    _code, first = nz.cli("platform", "deliver", "--json")
    _code, again = nz.cli("platform", "deliver", "--json")
    assert first["delivered"] == 1 and again["delivered"] == 0
    answered = nz.python(f"from lantai.platform.models import RemoteRequest as R; import json; print(json.dumps([r.status for r in R.objects.filter(role='sent', message_id={out['message_id']!r})]))")  # fmt: skip
    assert answered == ["answered"]


def test_the_hub_down_stops_no_node(joined: Region, tmp_path: Path) -> None:
    hub, nz, bc = joined.hub, joined.nz, joined.bc
    hub.stop()
    try:
        # requests go from node to node: the member list each node keeps is enough
        pdf = tmp_path / "cert.pdf"
        _code, out = nz.cli("platform", "request", "--record", f"bc:{bc.facts['scanned']}", *SELF_WIFE, "--out", str(pdf), "--json")  # fmt: skip
        assert out["status"] == "answered"
        code, verdict = nz.cli("certificate", "verify", str(pdf), "--json", ok=(0, 1))
        assert code == 0, verdict
        # what needs the hub says so, and the node's own counter still answers
        code, found = nz.cli("platform", "marriage-find", "--id", str(WIFE.id_number), *SELF_WIFE, "--json", ok=(3,))  # fmt: skip
        assert found["reason"] == "unreachable"
        code, local = bc.cli("marriage", "find", "--id", str(WIFE.id_number), *SELF_WIFE, "--json")
        assert len(local["results"]) == 1
    finally:
        hub.start()


def test_replayed_message_changes_nothing(joined: Region) -> None:
    nz, bc = joined.nz, joined.bc
    envelope = nz.python("from lantai.platform.models import LogEntry; print(LogEntry.objects.filter(direction='out', kind='request').order_by('seq').first().envelope)")  # fmt: skip
    before = bc.python("from lantai.certificates.models import Certificate; print(Certificate.objects.count())")  # fmt: skip
    first = requests.post(f"{bc.url}/platform/inbox", data=json.dumps(envelope, ensure_ascii=False).encode(), timeout=30)  # fmt: skip
    assert first.status_code == 200
    after = bc.python("from lantai.certificates.models import Certificate; print(Certificate.objects.count())")  # fmt: skip
    assert after == before
    forged: dict[str, Any] = {**envelope, "id": "f" * 32}  # a new id under the old signature
    second = requests.post(f"{bc.url}/platform/inbox", data=json.dumps(forged, ensure_ascii=False).encode(), timeout=30)  # fmt: skip
    assert second.status_code == 403


def test_log_verifies_and_a_tampered_log_fails(joined: Region) -> None:
    nz = joined.nz
    code, out = nz.cli("platform", "log", "verify", "--json")
    assert code == 0 and out["ok"] and out["anchors_checked"] >= 1
    db = sqlite3.connect(nz.data / "lantai.sqlite3")
    try:
        seq, text = db.execute("SELECT seq, envelope FROM platform_logentry ORDER BY seq LIMIT 1 OFFSET 2").fetchone()  # fmt: skip
        db.execute("UPDATE platform_logentry SET envelope = ? WHERE seq = ?", (text + " ", seq))
        db.commit()
        code, out = nz.cli("platform", "log", "verify", "--json", ok=(1,))
        assert any(p["problem"] == "altered" and p["seq"] == seq for p in out["problems"])
        db.execute("UPDATE platform_logentry SET envelope = ? WHERE seq = ?", (text, seq))
        db.execute("DELETE FROM platform_logentry WHERE seq = ?", (seq + 1,))
        db.commit()
        code, out = nz.cli("platform", "log", "verify", "--json", ok=(1,))
        assert any(p["problem"] == "missing" for p in out["problems"])
        # cut the log back to just before a head the hub stamped, and drop the local stamps: the
        # chain left is whole, but the hub's copies of the stamps still show the cut
        (stamped,) = db.execute("SELECT MAX(seq) FROM platform_anchor WHERE node = 'nz'").fetchone()
        db.execute("DELETE FROM platform_anchor")
        db.execute("DELETE FROM platform_logentry WHERE seq >= ?", (min(stamped, seq),))
        db.commit()
        code, out = nz.cli("platform", "log", "verify", "--json", ok=(1,))
        assert out["hub_checked"] and any(p["problem"] in ("missing", "anchor_mismatch") and p["seq"] >= min(stamped, seq) for p in out["problems"])  # fmt: skip
    finally:
        db.close()


@pytest.mark.browser
def test_in_the_browser_a_citizen_at_nz_gets_bcs_certificate(joined: Region, page: Any, tmp_path: Path) -> None:  # fmt: skip
    """Issue 17 "Done when": at 南州's window, in the browser, the certificate of a record held only at
    北川, decided and signed by 北川's Lantai, printed at 南州 and verified there with 北川 down."""
    hub, nz, bc = joined.hub, joined.nz, joined.bc
    hub.cli("platform", "harvest", "--feed", "marriage", "--json")
    page.goto(nz.url + "/login/")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "Window#Clerk2026")
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(nz.url + "/marriage/")
    page.select_option("select[name=requester_type]", "self")
    page.fill("input[name=requester_name]", WIFE.name)
    page.fill("input[name=requester_id]", str(WIFE.id_number))
    page.fill("input[name=proof_id_document]", "原件已核验")
    page.fill("[name=purpose]", "办理房产过户")
    page.click("#requester-form button[type=submit]")
    page.goto(nz.url + "/platform/staff/window/")
    page.check("input[name=mode][value=id]")
    page.fill("input[name=id_number]", str(WIFE.id_number))
    page.click("button:has-text('全区查找')")
    row = page.locator("#results tr", has_text=bc.facts["scanned"])
    assert "北川县档案馆" in row.inner_text()
    row.locator("button:has-text('向协办馆申请出证')").click()
    page.wait_for_selector("#download")
    with page.expect_download() as download:
        page.click("#download")
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    bc.stop()  # the holder is gone: the certificate verifies at 南州 with what 南州 holds
    try:
        page.goto(nz.url + "/verify/")
        page.set_input_files("#file", str(pdf))
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#result[data-source=server]")
        result = page.locator("#result")
        assert (result.get_attribute("data-valid"), result.get_attribute("data-reason")) == ("true", "valid")  # fmt: skip
        assert "北川县档案馆" in result.inner_text()
    finally:
        bc.start()


def test_a_key_that_left_the_list_is_refused(joined: Region) -> None:
    hub, nz, bc = joined.hub, joined.nz, joined.bc
    hub.cli("platform", "remove-member", "nz", "--reason", "测试：退出平台", "--json")
    bc.cli("platform", "refresh", "--json")
    code, out = nz.cli("platform", "request", "--record", f"bc:{bc.facts['scanned']}", *SELF_WIFE, "--json", ok=(1,))  # fmt: skip
    assert out["reason"] == "unknown_key"
