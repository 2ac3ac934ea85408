"""Certificates of marriage records end to end through the services: the rights check, the
content and its digest, verification against the trust and status lists, revocation by two
people, key rotation, a compromised and a withdrawn key, expiry, and the no-record certificate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from lantai.certificates import issuing, keys, lists, revocation, verifying
from lantai.marriage import certify
from lantai.standards import certificate_payload as cp
from lantai.standards.marriage_rights import Request
from tests.marriage.conftest import HUSBAND, OTHER, WIFE, resident_id, self_request

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_run_only]


def _verify(**kw: Any) -> verifying.Outcome:
    now = kw.pop("now", None) or timezone.now()
    return verifying.verify(trust_list=lists.trust_list(now), status_lists=lists.all_status_lists(now),
                            roots=keys.pinned_roots(), now=now, **kw)  # fmt: skip


def _issue(ids: list[int], party: Any = WIFE, **kw: Any) -> Any:
    return certify.certify_records(ids, self_request(party), purpose="办理房产过户", actor="clerk", **kw)  # fmt: skip


def test_a_party_gets_a_certificate_that_verifies_and_others_cannot(couple: dict[str, int]) -> None:
    cert = _issue([couple["marriage"], couple["divorce"]])
    assert cert.number.startswith("ZM490101-") and cert.qr_version <= 12
    assert [r["kind_label"] for r in cert.content["records"]] == ["结婚", "离婚"]
    assert cert.content["records"][0]["parties"][1]["id_masked"].count("*") == 10
    signed = cp.decode(cert.payload)
    assert signed.payload.content_digest == cp.content_digest(cp.canonical_content(cert.content))
    assert [e.kind for e in signed.payload.events] == ["J", "L"]
    assert signed.payload.names == ("王*华", "李*英")
    pdf = issuing.pdf_bytes(cert)
    assert _verify(pdf=pdf).verdict.valid and _verify(payload=cert.payload).verdict.valid
    with pytest.raises(certify.CertifyError):  # 陈国强 is no party to these records
        _issue([couple["marriage"]], party=OTHER)
    with pytest.raises(certify.CertifyError):  # a proxy without the notarised power of attorney
        certify.certify_records([couple["marriage"]], Request(
            requester_type="proxy", requester_name="律师甲", requester_id=HUSBAND.id_number or "",
            proofs={"id_document": "核验"}, principal_id=WIFE.id_number or ""),
            purpose="x", actor="clerk")  # fmt: skip


def test_revocation_takes_two_people_and_then_fails_verification(couple: dict[str, int]) -> None:
    cert = _issue([couple["marriage"]])
    with pytest.raises(revocation.RevocationError):
        revocation.request(cert.number, "  ", actor="clerk")
    revocation.request(cert.number, "用途填写错误", actor="clerk")
    with pytest.raises(revocation.RevocationError) as same:
        revocation.confirm(cert.number, actor="clerk")
    assert "两人" in same.value.message_zh
    assert _verify(payload=cert.payload).verdict.valid  # asked, not yet revoked
    revocation.confirm(cert.number, actor="manager")
    outcome = _verify(payload=cert.payload)
    assert not outcome.verdict.valid and outcome.verdict.reason == "revoked"
    with pytest.raises(revocation.RevocationError) as missing:
        revocation.request("ZM-NONE", "x", actor="clerk")
    assert missing.value.missing


def test_rotation_keeps_old_certificates_valid_and_a_compromise_fails_later_ones(
    couple: dict[str, int], fonds: Any
) -> None:
    repo = fonds.repository
    old = _issue([couple["marriage"]])
    keys.rotate(repo, actor="manager")
    new = _issue([couple["divorce"]])
    assert new.issuer_key.key_id != old.issuer_key.key_id
    assert _verify(payload=old.payload).verdict.valid and _verify(payload=new.payload).verdict.valid
    # the new key is found compromised from a moment after the old certificate was issued
    keys.withdraw(new.issuer_key.key_id, "私钥泄露", actor="manager",
                  compromised_since=new.issued_at - timedelta(seconds=1))  # fmt: skip
    after = _verify(payload=new.payload)
    assert not after.verdict.valid and after.verdict.reason == "key_compromised"
    assert _verify(payload=old.payload).verdict.valid
    keys.withdraw(old.issuer_key.key_id, "密钥登记错误", actor="manager")
    withdrawn = _verify(payload=old.payload)
    assert not withdrawn.verdict.valid and withdrawn.verdict.reason == "key_withdrawn"
    with pytest.raises(keys.KeyProblem):
        keys.withdraw("0000000000000000", "x", actor="manager")


def test_a_certificate_expires(couple: dict[str, int]) -> None:
    cert = _issue([couple["marriage"]])
    later = cert.expires_at + timedelta(seconds=1)
    outcome = _verify(payload=cert.payload, now=later)
    assert not outcome.verdict.valid and outcome.verdict.reason == "expired"


def test_the_no_record_certificate_is_refused_while_records_exist(couple: dict[str, int]) -> None:
    with pytest.raises(certify.CertifyError) as held:
        certify.certify_none_found(self_request(WIFE), subject_name=WIFE.name,
                                   subject_id=WIFE.id_number or "", purpose="出国", actor="clerk")  # fmt: skip
    assert "2 条" in held.value.message_zh
    single = resident_id("450103", timezone.localdate().replace(year=2001), 88)
    me = Request(requester_type="self", requester_name="覃晓燕", requester_id=single,
                 proofs={"id_document": "核验"}, purpose="出国")  # fmt: skip
    cert = certify.certify_none_found(me, subject_name="覃晓燕", subject_id=single, purpose="出国",
                                      actor="clerk")  # fmt: skip
    assert cert.kind == "none_found" and "未查到" in cert.content["criteria"]
    assert cp.decode(cert.payload).payload.events == ()
    assert _verify(pdf=issuing.pdf_bytes(cert)).verdict.valid
    with pytest.raises(certify.CertifyError):  # someone else's ID: not the requester's own
        certify.certify_none_found(me, subject_name="某人", subject_id=HUSBAND.id_number or "",
                                   purpose="出国", actor="clerk")  # fmt: skip


def test_the_ofd_rendition_verifies_by_its_payload_and_content_and_a_swapped_one_fails(
    couple: dict[str, int],
) -> None:
    import io
    import zipfile

    cert = _issue([couple["marriage"]])
    ofd = issuing.ofd_bytes(cert)
    assert issuing.ofd_bytes(cert) == ofd  # kept beside the PDF
    outcome = _verify(ofd=ofd)
    assert outcome.verdict.valid and outcome.source == "ofd" and outcome.pdf is not None
    assert outcome.pdf["signed"] is False and outcome.pdf["content"]["number"] == cert.number
    other = _issue([couple["divorce"]])
    # another certificate's genuine payload put into this OFD: its digest does not match
    swapped = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(ofd)) as source, zipfile.ZipFile(swapped, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("payload.txt"):
                data = other.payload.encode()
            target.writestr(item, data)
    bad = _verify(ofd=swapped.getvalue())
    assert not bad.verdict.valid and bad.verdict.reason == "digest_mismatch"
    # both attachments of another certificate: genuine together, but not what the page prints
    both = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(ofd)) as source, zipfile.ZipFile(both, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("payload.txt"):
                data = other.payload.encode()
            elif item.filename.endswith("certificate.json"):
                data = cp.canonical_content(other.content)
            target.writestr(item, data)
    printed = _verify(ofd=both.getvalue())
    assert not printed.verdict.valid and printed.verdict.reason == "payload_mismatch"
    with pytest.raises(verifying.Unreadable):
        _verify(ofd=b"PK\x03\x04 not a zip")


def test_a_refused_certificate_is_logged_and_none_found_needs_an_archives_with_records(
    couple: dict[str, int],
) -> None:
    from lantai.catalog.models import Repository
    from lantai.marriage.models import Query

    with pytest.raises(certify.CertifyError):
        _issue([couple["marriage"]], party=OTHER)
    logged = Query.objects.get()
    assert logged.refused and logged.shown == [] and logged.criteria["mode"] == "certificate"
    empty = Repository.objects.create(code="490001", name="岭南省档案馆", level="provincial")
    single = resident_id("450103", timezone.localdate().replace(year=2001), 77)
    me = Request(requester_type="self", requester_name="覃晓燕", requester_id=single,
                 proofs={"id_document": "核验"}, purpose="出国")  # fmt: skip
    with pytest.raises(certify.CertifyError) as caught:
        certify.certify_none_found(me, subject_name="覃晓燕", subject_id=single, purpose="出国",
                                   actor="clerk", repository=empty)  # fmt: skip
    assert "没有婚姻登记档案" in caught.value.message_zh and caught.value.refused
    assert Query.objects.count() == 2


def test_a_pdf_whose_page_no_longer_renders_its_qr_is_altered_not_unreadable(
    couple: dict[str, int],
) -> None:
    import re

    pdf = issuing.pdf_bytes(_issue([couple["marriage"]]))
    # garble the page's content stream (the one whose dictionary the page's /Contents names):
    # the signature breaks and the page no longer draws its QR code
    damaged = bytearray(pdf)
    contents = re.search(rb"/Contents (\d+) 0 R", pdf)
    assert contents is not None
    obj = re.search(rb"\n" + contents.group(1) + rb" 0 obj.*?stream\r?\n", pdf, re.S)
    assert obj is not None
    damaged[obj.end() + 20 : obj.end() + 28] = b"\x00" * 8
    outcome = _verify(pdf=bytes(damaged))
    assert not outcome.verdict.valid and outcome.verdict.reason == "pdf_altered"
