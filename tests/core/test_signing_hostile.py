"""lantai.core.signing on its own curve arithmetic (lantai.standards.sm2): OpenSSL's keys and
signatures over several keys and message sizes in both directions, and hostile input — every
mutation of a valid DER signature, crafted DER and malformed keys — giving False, never an
exception."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from Cryptodome.Util.asn1 import DerInteger, DerSequence

from lantai.core import signing
from lantai.core.signing import SigningKey, verify
from lantai.standards import sm2

MESSAGES = [b"", b"x", "鉴定结果：开放".encode(), bytes(range(256)) * 4]
DISTID = ["-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]


def _openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def test_signatures_verify_for_many_keys_and_differ_each_time() -> None:
    for _ in range(30):
        key = SigningKey.generate()
        first, second = key.sign(b"log entry"), key.sign(b"log entry")
        assert first != second  # a fresh nonce each time
        assert verify(key.public_key_hex, b"log entry", first)
        assert verify(key.public_key_hex, b"log entry", second)
        assert not verify(key.public_key_hex, b"log entry.", first)


def test_our_der_is_the_general_encoders() -> None:
    rng = random.Random(35276)
    values = [1, 0x7F, 0x80, 0xFF, 0x100, 2**247, 2**248 - 1, 2**255, sm2.N - 1]
    values += [rng.randrange(1, sm2.N) >> rng.randrange(0, 256) or 1 for _ in range(500)]
    for r in values:
        s = rng.choice(values)
        assert signing._der_rs(r, s) == bytes(DerSequence([DerInteger(r), DerInteger(s)]).encode())


@pytest.mark.parametrize("message", MESSAGES, ids=["empty", "1 byte", "chinese", "1 KiB"])
def test_openssl_and_we_verify_each_others_signatures(message: bytes, tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(message)
    made = _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2",
                    "-out", str(tmp_path / "k"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert _openssl("pkey", "-in", str(tmp_path / "k"), "-pubout",
                    "-out", str(tmp_path / "pub")).returncode == 0  # fmt: skip
    theirs = SigningKey.from_pem((tmp_path / "k").read_bytes())  # public point checked there
    signed = _openssl("pkeyutl", "-sign", "-inkey", str(tmp_path / "k"), *DISTID,
                      "-in", str(tmp_path / "m"), "-out", str(tmp_path / "their.sig"))  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert verify(theirs.public_key_hex, message, (tmp_path / "their.sig").read_bytes())
    # our signature with their key, checked by OpenSSL
    (tmp_path / "our.sig").write_bytes(theirs.sign(message))
    checked = _openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub"), *DISTID,
                       "-in", str(tmp_path / "m"), "-sigfile", str(tmp_path / "our.sig"))  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    # and OpenSSL refuses ours over other bytes: its check can fail
    (tmp_path / "m").write_bytes(message + b"!")
    refused = _openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub"), *DISTID,
                       "-in", str(tmp_path / "m"), "-sigfile", str(tmp_path / "our.sig"))  # fmt: skip
    assert refused.returncode != 0


def _mutations(good: bytes) -> list[bytes]:
    out = [good[:i] for i in range(len(good))]  # every truncation
    out += [
        good[:i] + bytes([good[i] ^ (1 << b)]) + good[i + 1 :]
        for i in range(len(good))
        for b in range(8)
    ]  # fmt: skip  (every bit flip)
    out += [good[:i] + bytes([v]) + good[i:] for i in range(len(good) + 1) for v in (0, 0x80)]
    out += [good[:i] + good[i + 1 :] for i in range(len(good))]  # every byte dropped
    return [m for m in out if m != good]


def test_every_mutation_of_a_signature_is_false(key: SigningKey) -> None:
    good = key.sign(b"entry")
    for bad in _mutations(good):
        assert verify(key.public_key_hex, b"entry", bad) is False, bad.hex()


def _der(*ints: bytes, tag: int = 0x30) -> bytes:
    body = b"".join(b"\x02" + bytes([len(i)]) + i for i in ints)
    return bytes([tag, len(body)]) + body


def test_crafted_der_is_false(key: SigningKey) -> None:
    good = key.sign(b"entry")
    pair = signing._der_items(good)
    r, s = (int(v).to_bytes(int(v).bit_length() // 8 + 1, "big") for v in pair)  # as DER has them
    assert _der(r, s) == good
    n = sm2.N.to_bytes(33, "big")
    crafted = [
        b"", b"\x30", b"\x30\x00", b"\x05\x00",
        _der(b"\x00" + r, s), _der(r, b"\x00" + s),  # a superfluous leading zero (BER, not DER)
        _der(b"\xff" + r, s), _der(r, b"\xff" + s),  # negative
        _der(r, b"\x80" + s[-31:]),  # negative, top bit set without the 0x00
        _der(b"\x00", s), _der(r, b"\x00"), _der(n, s), _der(r, n),  # 0 and n
        _der(b"\x7f" + b"\xff" * 39, s), _der(b"\xff" * 40, s),  # a huge r, and -1
        _der(r, s, b"\x01"), _der(r), _der(r, s, tag=0x31),  # three, one, a SET
        b"\x30\x81" + good[1:],  # long-form length for a short body
        b"\x30\x80" + good[2:] + b"\x00\x00",  # BER indefinite length
        good + b"\x00", good + good,
    ]  # fmt: skip
    for bad in crafted:
        assert verify(key.public_key_hex, b"entry", bad) is False, bad.hex()
    rng = random.Random(7)
    for _ in range(500):  # random bytes, some starting like a SEQUENCE of INTEGERs
        junk = rng.randbytes(rng.randrange(0, 80))
        if rng.random() < 0.5:
            junk = b"\x30" + bytes([len(junk)]) + junk
        assert verify(key.public_key_hex, b"entry", junk) is False


@pytest.mark.parametrize(
    "public",
    [
        "", "04", "0" * 130, "04" + "00" * 64, "zz" * 65, "4" * 129, "05" + "11" * 64,
        "02" + "11" * 32,  # a compressed point: not accepted
        "04" + f"{sm2.GX:064x}{sm2.GY + 1:064x}",  # off the curve
        # (0, √b) is on the curve, (p, √b) the same point with x ≥ p: not allowed
        "04" + f"{sm2.P:064x}{pow(sm2.B, (sm2.P + 1) // 4, sm2.P):064x}",
    ],
)  # fmt: skip
def test_malformed_or_foreign_keys_are_false(key: SigningKey, public: str) -> None:
    assert verify(public, b"entry", key.sign(b"entry")) is False
