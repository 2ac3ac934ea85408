"""Issue 16 "Done when": a citizen at the counter gets a 婚姻登记记录证明 that verifies offline from a
photo of its QR code, and every forgery of the issue's list is rejected, with its reason, by
`lantai certificate verify` run as a separate process with only the published list files (what a
bank clerk or a court holds: no database, no network).

Real components throughout: the marriage records, the rights check and the find, WeasyPrint and
pyHanko for the PDF, pypdfium2 to render it, Pillow to make a phone-photo-like JPEG, zxing-cpp to
read the QR back, SM2/SM3 for the payloads and lists."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.conf import settings
from django.utils import timezone
from PIL import Image, ImageFilter
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from lantai.catalog.models import Repository
from lantai.catalog.services import create_fonds, create_repository
from lantai.certificates import document, issuing, keys, lists, revocation, seal, x509
from lantai.certificates.models import Certificate
from lantai.certificates.qr import make_qr, read_qr, render_page
from lantai.cli import main
from lantai.core.key_files import keys_dir
from lantai.core.signing import SigningKey
from lantai.marriage import certify, finding, identity, records
from lantai.standards import certificate_payload as cp
from lantai.standards.marriage_profile import Party, Registration
from lantai.standards.marriage_rights import Request

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_run_only]

CLERK = "counter-clerk"


def resident_id(prefix17: str) -> str:
    """A resident ID number with its GB 11643 (MOD 11-2) check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]


CITIZEN = resident_id("44030519850301123")
SPOUSE = resident_id("44030519870615562")
STRANGER = resident_id("44030419900101431")


def registration(kind: str, day: date, number: str, a: tuple[str, str], b: tuple[str, str]) -> Registration:  # fmt: skip
    def party(name: str, id_number: str, sex: str) -> Party:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        return Party(name, sex, identity.RESIDENT_ID, id_number, "中国", born)

    return Registration(kind=kind, date=day, office="深圳市南山区民政局", region_code="440305",
                        certificate_number=number, retention="Y",
                        parties=(party(*a, "男"), party(*b, "女")))  # fmt: skip


def archives(code: str, name: str) -> Repository:
    repository = create_repository(code, name, level="county", region=code)
    fonds = create_fonds("MZ01", f"{name[:-3]}民政局", repository=repository)
    records.write(fonds, [
        registration("marriage", date(2010, 5, 20), f"J{code}-2010-001234", ("张三", CITIZEN), ("李四", SPOUSE)),  # fmt: skip
        registration("marriage", date(2012, 8, 8), f"J{code}-2012-000777", ("王五", STRANGER), ("赵六", SPOUSE)),  # fmt: skip
    ])  # fmt: skip
    return repository


def citizen(requester_id: str = CITIZEN, name: str = "张三") -> Request:
    return Request(requester_type="self", requester_name=name, requester_id=requester_id,
                   proofs={"id_document": "居民身份证（现场核验）"})  # fmt: skip


def at_the_counter(repository_code: str) -> Certificate:
    """Identity captured, the rights check, the find by ID number, the certificate."""
    request = citizen()
    found = finding.find(finding.Criteria(id_number=CITIZEN), request, channel="counter", actor=CLERK)  # fmt: skip
    assert found.refused == [] and found.withheld == 0
    mine = [h for h in found.hits if h.certificate_number.startswith(f"J{repository_code}-")]
    assert [h.certificate_number for h in mine] == [f"J{repository_code}-2010-001234"]
    return certify.certify_records([mine[0].record_id], request, purpose="办理房产过户", actor=CLERK)  # fmt: skip


def photo_of(pdf: bytes) -> bytes:
    """The first page as a phone photo of a printout: smaller, turned a little, soft, JPEG 60."""
    page = Image.open(io.BytesIO(render_page(pdf))).convert("RGB")
    width, height = page.size
    photo = page.resize((int(width * 0.7), int(height * 0.7)), Image.Resampling.BILINEAR)
    photo = photo.rotate(2.0, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="#808080")
    photo = photo.filter(ImageFilter.GaussianBlur(0.7))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=60)
    return out.getvalue()


def qr_photo(text: str) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(make_qr(text).png)).convert("RGB").save(out, format="JPEG", quality=80)
    return out.getvalue()


# --- the CLI as a separate process, with the published lists only -----------------------------


@dataclass
class Verifier:
    """`lantai certificate verify … --json` in its own process, with the lists as files."""

    folder: Path
    on_commit: Callable[..., Any]  # django_capture_on_commit_callbacks

    def publish(self) -> None:
        """The lists as `certificate status-list` and `trust-list` write them. The status lists
        first: an archives whose key was withdrawn gets its next key when its list is signed,
        and the trust list is republished with it."""
        with self.on_commit(execute=True):
            statuses = lists.all_status_lists()
        (self.folder / "status.json").write_text(json.dumps(statuses), encoding="utf-8")
        (self.folder / "trust.json").write_text(json.dumps(lists.trust_list()), encoding="utf-8")

    def args(self, *given: str) -> list[str]:
        return [
            sys.executable, "-c", "from lantai.cli import main; main()",
            "certificate", "verify", *given, "--json",
            "--trust-list", str(self.folder / "trust.json"),
            "--status-list", str(self.folder / "status.json"),
        ]  # fmt: skip

    def file(self, name: str, data: bytes) -> str:
        path = self.folder / name
        path.write_bytes(data)
        return str(path)

    def run_processes(self, calls: dict[str, list[str]]) -> dict[str, tuple[int, dict[str, Any]]]:
        """Each call in a process of its own (two at a time: the machine has few cores)."""
        env = {k: v for k, v in os.environ.items() if k != "LANTAI_DATABASE_URL"}
        env["LANTAI_DATA_DIR"] = str(settings.DATA_DIR)  # the pinned root key is read there

        def one(given: list[str]) -> tuple[int, dict[str, Any]]:
            done = subprocess.run(self.args(*given), env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
            assert "Traceback" not in done.stderr, done.stderr
            return done.returncode, json.loads(done.stdout)

        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(zip(calls, pool.map(one, calls.values()), strict=True))

    def run(self, calls: dict[str, list[str]]) -> dict[str, tuple[int, dict[str, Any]]]:
        """Each call through the same command in this process (starting Django in a process of
        its own takes seconds; the process itself is checked by the test above)."""
        answers = {}
        for name, given in calls.items():
            result = CliRunner().invoke(main, self.args(*given)[3:])
            assert result.exception is None or isinstance(result.exception, SystemExit), result.output  # fmt: skip
            answers[name] = (result.exit_code, json.loads(result.stdout))
        return answers


@pytest.fixture
def verifier(tmp_path: Path, django_capture_on_commit_callbacks: Callable[..., Any]) -> Verifier:
    return Verifier(tmp_path, django_capture_on_commit_callbacks)


@pytest.fixture
def nanshan() -> Iterator[Repository]:
    yield archives("440305", "深圳市南山区档案馆")


# --- Done when ---------------------------------------------------------------------------------


def test_a_citizen_at_the_counter_gets_a_certificate_that_verifies_from_a_photo(
    nanshan: Repository, verifier: Verifier, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        certificate = at_the_counter(nanshan.code)
    pdf = issuing.pdf_bytes(certificate)
    assert certificate.qr_version <= issuing.MAX_QR_VERSION
    photo = photo_of(pdf)
    assert read_qr(photo) == [certificate.payload]  # the QR reads back from the photo
    verifier.publish()
    answers = verifier.run_processes({
        "photo": [verifier.file("certificate-photo.jpg", photo)],
        "pdf": [verifier.file("certificate.pdf", pdf)],
    })  # fmt: skip
    for source, (code, answer) in answers.items():
        assert (code, answer["valid"], answer["reason"]) == (0, True, "valid"), (source, answer)
        assert answer["number"] == certificate.number
        assert answer["issuer"] == "深圳市南山区档案馆"
        assert answer["issued"] and answer["expires"] > answer["issued"]
        assert 0 <= answer["status_list_age_s"] < 3600
    # the find and the certificate were logged as queries of the citizen in person (PIPL)
    from lantai.marriage.models import Query

    assert list(Query.objects.values_list("requester_type", flat=True)) == ["self", "self"]


# --- every forgery of the issue's list ---------------------------------------------------------


def der(r: int, s: int) -> bytes:
    def integer(v: int) -> bytes:
        raw = v.to_bytes(v.bit_length() // 8 + 1, "big")
        return b"\x02" + bytes([len(raw)]) + raw

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def resigned(text: str, sign: Callable[[bytes], bytes] | None = None, **changes: Any) -> str:
    """The payload of ``text`` with ``changes``, carrying its original signature unless another
    signer is given."""
    signed = cp.decode(text)
    original = der(signed.r, signed.s)
    return cp.encode(replace(signed.payload, **changes), sign or (lambda _body: original))


def appended_update(pdf: bytes) -> bytes:
    """``pdf`` with an incremental update after its signature (a new title), as an editor saves."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = writer.trailer.raw_get("/Info")
    info.get_object()[generic.NameObject("/Title")] = generic.TextStringObject(
        "结婚登记证明（已改）"
    )
    writer.mark_update(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def edited_in_place(pdf: bytes) -> bytes:
    """``pdf`` with one byte of its signed first revision changed (same length, still parses)."""
    at = pdf.index(b"/Producer")
    return pdf[:at] + b"/Producer".replace(b"P", b"Q") + pdf[at + len(b"/Producer") :]


def draft(repository: Repository, name: str) -> issuing.Draft:
    """A 无婚姻登记记录证明 for ``name`` (issued directly: some need a date in the past)."""
    return issuing.Draft(
        repository=repository, kind="none_found",
        content={"title": certify.TITLE_NONE,
                 "issuer": {"code": repository.code, "name": repository.name, "region": repository.region},
                 "requester": {"type": "self", "type_label": "婚姻当事人本人", "name": name, "id_masked": ""},
                 "records": [], "criteria": f"未查到{name}的婚姻登记记录。", "basis": certify.BASIS,
                 "purpose": "办理出国手续"},
        names=[identity.mask_name(name)], events=[],
        requester_type="self", requester_name=name, purpose="办理出国手续",
    )  # fmt: skip


def test_every_forgery_is_rejected_with_its_reason(
    nanshan: Repository, verifier: Verifier, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    now = timezone.now().replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        genuine = at_the_counter(nanshan.code)
        other = issuing.issue(draft(nanshan, "王五"), actor=CLERK)
        revoked = issuing.issue(draft(nanshan, "赵六"), actor=CLERK)
        # a certificate of two years ago: its key stopped signing a year ago and what it signed
        # stopped verifying half a year later
        old = issuing.issue(draft(nanshan, "钱七"), actor=CLERK, now=now - timedelta(days=730))
        futian = create_repository("440304", "深圳市福田区档案馆", level="county", region="440304")
        withdrawn = issuing.issue(draft(futian, "孙八"), actor=CLERK)
        # a key that leaked an hour and a half ago: what it signed before still verifies
        baoan = create_repository("440306", "深圳市宝安区档案馆", level="county", region="440306")
        before_leak = issuing.issue(draft(baoan, "周九"), actor=CLERK, now=now - timedelta(hours=2))  # fmt: skip
        after_leak = issuing.issue(draft(baoan, "吴十"), actor=CLERK, now=now - timedelta(hours=1))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        revocation.request(revoked.number, "出证对象有误", actor="clerk-a")
    with pytest.raises(revocation.RevocationError, match="两人"):
        revocation.confirm(revoked.number, actor="clerk-a")
    with django_capture_on_commit_callbacks(execute=True):
        revocation.confirm(revoked.number, actor="clerk-b")
        keys.withdraw(withdrawn.issuer_key.key_id, "密钥文件误传到外网", actor="security-officer")
        keys.withdraw(after_leak.issuer_key.key_id, "签名服务器被入侵", actor="security-officer",
                      compromised_since=now - timedelta(minutes=90))  # fmt: skip
    verifier.publish()

    pdf = issuing.pdf_bytes(genuine)
    text = genuine.payload
    outsider = SigningKey.generate()
    genuine_key = genuine.issuer_key.key_id
    # another certificate's content under the genuine payload, signed as the archives signs
    copied = document.sign(
        document.render(other.content, text, seal=seal.seal_png(nanshan.name)),
        x509.signing_credentials(keys_dir(), nanshan.code, nanshan.name),
    )
    raw = cp.b45decode(text[len(cp.PREFIX) :])
    f = verifier.file
    cases: dict[str, tuple[list[str], str]] = {
        "genuine PDF": ([f("genuine.pdf", pdf)], "valid"),
        "payload altered (ten years more)": (
            ["--payload", resigned(text, expires=genuine.expires_at + timedelta(days=3650))],
            "bad_signature",
        ),  # fmt: skip
        "payload altered (another name)": (
            ["--payload", resigned(text, names=("王*",))],
            "bad_signature",
        ),  # fmt: skip
        "PDF altered in place": ([f("in-place.pdf", edited_in_place(pdf))], "pdf_altered"),
        "PDF altered after signing": ([f("appended.pdf", appended_update(pdf))], "pdf_altered"),
        "signed by a key not on the trust list": (
            ["--payload", resigned(text, outsider.sign, issuer_key_id=outsider.fingerprint[:16])],
            "unknown_issuer",
        ),  # fmt: skip
        "signed by another key under the genuine key id": (
            ["--payload", resigned(text, outsider.sign, issuer_key_id=genuine_key)],
            "bad_signature",
        ),  # fmt: skip
        "expired key": (["--payload", old.payload], "key_expired"),
        "withdrawn key": (
            [f("withdrawn.jpg", photo_of(issuing.pdf_bytes(withdrawn)))],
            "key_withdrawn",
        ),  # fmt: skip
        "signed before the key leaked": (["--payload", before_leak.payload], "valid"),
        "signed after the key leaked": (["--payload", after_leak.payload], "key_compromised"),
        "revoked certificate": ([f("revoked.jpg", qr_photo(revoked.payload))], "revoked"),
        "payload copied onto another certificate's PDF": (
            [f("copied.pdf", copied)],
            "digest_mismatch",
        ),  # fmt: skip
        "truncated QR text": ([f("truncated.jpg", qr_photo(text[:-7]))], "malformed"),
        "truncated payload": (["--payload", text[: len(text) // 2]], "malformed"),
        "re-encoded QR (Base64)": (
            [f("base64.jpg", qr_photo(cp.PREFIX + base64.b64encode(raw).decode()))],
            "malformed",
        ),  # fmt: skip
        "re-encoded QR (lower case)": (["--payload", text.lower()], "malformed"),
        "re-encoded QR (as a link)": (
            ["--payload", "https://example.org/v?p=" + text],
            "malformed",
        ),  # fmt: skip
    }
    answers = verifier.run({name: given for name, (given, _reason) in cases.items()})
    wrong = {}
    for name, (_given, reason) in cases.items():
        code, answer = answers[name]
        expected_code = 0 if reason == "valid" else 1
        if (code, answer.get("reason"), answer.get("valid")) != (expected_code, reason, reason == "valid"):  # fmt: skip
            wrong[name] = (code, answer)
    assert wrong == {}
    # the forgeries that name a certificate still say which one they claim to be
    assert answers["revoked certificate"][1]["number"] == revoked.number
    assert answers["expired key"][1]["issuer"] == nanshan.name


def test_an_unreadable_file_exits_2(nanshan: Repository, verifier: Verifier) -> None:
    verifier.publish()
    answers = verifier.run({
        "text named .jpg": [verifier.file("note.jpg", b"not an image at all\n")],
        "photo without a QR code": [verifier.file("blank.jpg", _blank_jpeg())],
        "PDF that is not one": [verifier.file("broken.pdf", b"%PDF-1.7\n% nothing else\n")],
        "missing file": [str(verifier.folder / "no-such.pdf")],
    })  # fmt: skip
    wrong = {
        name: (code, answer)
        for name, (code, answer) in answers.items()
        if (code, answer.get("valid"), answer.get("reason")) != (2, False, "unreadable")
    }
    assert wrong == {}


def _blank_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(out, format="JPEG")
    return out.getvalue()
