"""The archives' SM2 key (lantai.core.signing): signatures that verify, and only for the signed
bytes and the signing key; signatures OpenSSL accepts and OpenSSL's signatures accepted (so the
user ID, Z and DER are the standard ones, not merely self-consistent); the key file on disk."""

from __future__ import annotations

import base64
import stat
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from lantai.core import signing
from lantai.core.signing import KeyFileError, SigningKey, archive_key, verify

MESSAGE = "关于1998年防汛工作的鉴定结果".encode()


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, timeout=60, check=False)


def test_a_signature_verifies_for_the_signed_bytes_and_key(key: SigningKey) -> None:
    signature = key.sign(MESSAGE)
    assert verify(key.public_key_hex, MESSAGE, signature)
    assert signature[0] == 0x30  # DER SEQUENCE of r, s


def test_a_flipped_bit_in_the_message_or_signature_fails(key: SigningKey) -> None:
    signature = key.sign(MESSAGE)
    assert not verify(key.public_key_hex, _flip(MESSAGE, 5), signature)
    assert not verify(key.public_key_hex, MESSAGE, _flip(signature, len(signature) - 3))


def test_another_key_fails(key: SigningKey) -> None:
    other = SigningKey.generate()
    assert other.public_key_hex != key.public_key_hex
    assert not verify(other.public_key_hex, MESSAGE, key.sign(MESSAGE))


@pytest.mark.parametrize(
    "public_key, signature",
    [
        ("04" + "00" * 64, None),  # not a point on the curve
        ("zz", None),  # not hex
        (None, b"\x30\x03\x02\x01\x01"),  # a SEQUENCE of one INTEGER
        (None, "raw"),  # r || s without DER: the format says DER
        (None, "trailing"),  # DER followed by a byte
    ],
)
def test_malformed_keys_and_signatures_are_false_not_errors(
    key: SigningKey, public_key: str | None, signature: bytes | str | None
) -> None:
    good = key.sign(MESSAGE)
    if signature == "raw":
        # r and s are the two INTEGERs' last 32 bytes each
        r_len = good[3]
        r = good[4 : 4 + r_len][-32:]
        s = good[4 + r_len + 2 :][-32:]
        signature = r + s
    elif signature == "trailing":
        signature = good + b"\x00"
    assert not verify(public_key or key.public_key_hex, MESSAGE, signature or good)  # type: ignore[arg-type]


def test_fingerprint_is_the_sm3_of_the_public_point(key: SigningKey) -> None:
    proc = subprocess.run(
        ["openssl", "dgst", "-sm3", "-r"],
        input=bytes.fromhex(key.public_key_hex),
        capture_output=True,
        timeout=60,
        check=True,
    )  # OpenSSL's SM3, not our own
    assert key.fingerprint == proc.stdout.split()[0].decode()
    assert len(key.fingerprint) == 64
    assert key.public_key_hex.startswith("04") and len(key.public_key_hex) == 130
    assert str(key._d) not in repr(key) and f"{key._d:x}" not in repr(key)


def test_openssl_verifies_our_signature_and_we_verify_openssls(
    key: SigningKey, tmp_path: Path
) -> None:
    ours = tmp_path / "ours.key"
    ours.write_bytes(key.to_pem())
    message = tmp_path / "message.bin"
    message.write_bytes(MESSAGE)
    public = tmp_path / "ours.pub"
    assert _openssl("pkey", "-in", str(ours), "-pubout", "-out", str(public)).returncode == 0
    sig = tmp_path / "ours.sig"
    sig.write_bytes(key.sign(MESSAGE))
    common = ["-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]
    checked = _openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", str(public), *common,
        "-in", str(message), "-sigfile", str(sig),
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr

    theirs = tmp_path / "theirs.key"
    made = _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(theirs)
    )
    assert made.returncode == 0, made.stderr
    their_sig = tmp_path / "theirs.sig"
    signed = _openssl(
        "pkeyutl", "-sign", "-inkey", str(theirs), *common,
        "-in", str(message), "-out", str(their_sig),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    their_key = SigningKey.from_pem(theirs.read_bytes())  # an operator may bring such a key
    assert verify(their_key.public_key_hex, MESSAGE, their_sig.read_bytes())
    assert not verify(key.public_key_hex, MESSAGE, their_sig.read_bytes())


def test_the_archive_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    first = archive_key(folder)
    path = folder / signing.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert archive_key(folder).fingerprint == first.fingerprint  # read back, not made anew
    assert verify(first.public_key_hex, MESSAGE, archive_key(folder).sign(MESSAGE))
    assert [p.name for p in folder.iterdir()] == [signing.KEY_FILE]  # no temporary file left


def test_the_default_key_lives_under_the_data_directory() -> None:
    key = archive_key()
    path = Path(settings.DATA_DIR) / "keys" / signing.KEY_FILE
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SigningKey.from_pem(path.read_bytes()).fingerprint == key.fingerprint


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    archive_key(tmp_path)
    (tmp_path / signing.KEY_FILE).chmod(0o644)
    with pytest.raises(KeyFileError) as caught:
        archive_key(tmp_path)
    assert "chmod 600" in caught.value.message_zh and "644" in caught.value.message_en


def test_a_damaged_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / signing.KEY_FILE
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as caught:
        archive_key(tmp_path)
    assert "SM2" in caught.value.message_zh


def test_a_key_whose_public_part_does_not_match_is_refused(key: SigningKey) -> None:
    other = SigningKey.generate()
    pem = key.to_pem()
    # the same private scalar with another key's public point written beside it
    mixed = SigningKey.from_pem(pem)
    assert mixed == key
    body = b"".join(pem.splitlines()[1:-1])
    der = base64.b64decode(body)
    der = der.replace(key._point, other._point)
    text = base64.encodebytes(der).replace(b"\n", b"")
    bad = b"-----BEGIN PRIVATE KEY-----\n" + text + b"\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ValueError, match="does not belong"):
        SigningKey.from_pem(bad)


def test_an_exchange_document_signed_with_the_archive_key_verifies(tmp_path: Path) -> None:
    from lantai.standards import appraisal_exchange as ax

    key = archive_key(tmp_path)
    exporter = {
        "archives_code": "441000",
        "archives_name": "岭南省档案馆",
        "public_key": key.public_key_hex,
    }
    result = {
        "fonds_code": "Z109", "reference_code": "Z109-WS·1998-Y-BGS-0007", "title": "通知",
        "year": 1998, "decision": "open", "reviewer": "李审核",
        "decided_at": "2024-05-01T09:30:00+08:00", "stage": "approval",
    }  # fmt: skip
    doc = ax.sign(ax.build(exporter, [result]), key.sign)
    assert doc["exporter"]["key_fingerprint"] == key.fingerprint
    again = ax.parse(ax.to_xml(doc))
    assert ax.verify_signature(again, verify)
    again["results"][0]["decision"] = "restricted_use"
    assert not ax.verify_signature(again, verify)
