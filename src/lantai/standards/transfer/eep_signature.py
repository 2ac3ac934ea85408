"""The 电子签名 of a DA/T 48-2009 EEP, verified (DA/T 70 1-1 固化信息有效性).

DA/T 48 signs the ``被签名对象`` element: the package type, creation time and unit, and the whole
封装内容 with the embedded files. A signature (an element holding ``签名结果``, inside
``电子签名块``) is verified over the canonical form of that element (inclusive C14N 1.0, without
comments) and, failing that, over its bytes exactly as they stand in the file; the evidence says
which form verified (decision 0019). The certificate (``证书块/证书``, base64 DER or PEM) is read
for the public key and shown (subject, issuer, serial, validity); trust in its issuer is not
decided here. Algorithms (``签名算法标识``) come from ``data/signature-algorithms.yaml``: SM2 with
SM3 (GB/T 32918, the GB/T 35276 default user ID) through Lantai's own curve arithmetic (standards/sm2.py) with
Lantai's own Z and SM3, RSA PKCS#1 v1.5 through ``cryptography``.

A ``锁定签名`` is reported as present and not verified. An EEP without any signature gives a
failed result saying so (``signatures: 0``); the check's policy may turn it into a warning.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from .._data import load_data
from ..dat70 import CheckResult
from ._common import local, text_of

__all__ = ["Algorithm", "algorithm_of", "verify_eep"]

KEY = "signature"  # the DA/T 70 catalogue check (data/dat70-2018.yaml)
SIGNED = "被签名对象"
RESULT = "签名结果"
LOCK = "锁定签名"


@dataclass(frozen=True)
class Algorithm:
    name: str  # e.g. "sm2-sm3"
    key: str  # sm2 | rsa
    digest: str  # sm3 | sha256 | …


@functools.cache
def _table() -> tuple[dict[str, Algorithm], bytes]:
    data = load_data("signature-algorithms.yaml")
    out: dict[str, Algorithm] = {}
    for name, spec in data["algorithms"].items():
        alg = Algorithm(name=name, key=spec["key"], digest=spec["digest"])
        for alias in spec["names"]:
            out[_norm(str(alias))] = alg
    return out, str(data["sm2_default_user_id"]).encode("ascii")


def _norm(name: str) -> str:
    return re.sub(r"[\s\-_/]", "", name).lower()


def algorithm_of(identifier: str) -> Algorithm | None:
    """The algorithm a 签名算法标识 names (a name or an OID), or None when unknown."""
    return _table()[0].get(_norm(identifier))


# --- DER, just enough to find a certificate's public key and a signature's (r, s) ---------------
def _tlv(data: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``i``."""
    if i + 2 > len(data):
        raise ValueError("DER 数据被截断")
    tag, length = data[i], data[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or i + n > len(data):
            raise ValueError("DER 长度无效")
        length = int.from_bytes(data[i : i + n], "big")
        i += n
    if i + length > len(data):
        raise ValueError("DER 数据被截断")
    return tag, i, i + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        tag, s, e = _tlv(data, start)
        out.append((tag, s, e))
        start = e
    return out


def _spki_point(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey bits (an uncompressed EC point 04||x||y for SM2) of ``cert``."""
    tbs = cert.tbs_certificate_bytes
    _tag, s, e = _tlv(tbs, 0)
    seqs = [c for c in _children(tbs, s, e) if c[0] == 0x30]
    # tbsCertificate: signature, issuer, validity, subject, subjectPublicKeyInfo (SEQUENCEs)
    _tag, s, e = seqs[4]
    parts = _children(tbs, s, e)
    tag, bs, be = parts[1]
    if tag != 0x03:
        raise ValueError("证书公钥不是 BIT STRING")
    return tbs[bs + 1 : be]


def _sm2_rs(signature: bytes) -> tuple[int, int]:
    """(r, s) from a DER SEQUENCE of two INTEGERs (GB/T 35276) or 64 raw bytes r||s."""
    if len(signature) == 64:
        return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    tag, s, e = _tlv(signature, 0)
    ints = _children(signature, s, e)
    if tag != 0x30 or len(ints) != 2 or any(t != 0x02 for t, _s, _e in ints):
        raise ValueError("SM2 签名值既不是 DER 编码的 (r, s)，也不是 64 字节的 r||s")
    return tuple(int.from_bytes(signature[a:b], "big") for _t, a, b in ints)  # type: ignore[return-value]


def _verify_sm2(point: bytes, signature: bytes, message: bytes) -> bool:
    from .. import sm2

    if len(point) != 65 or point[0] != 4:
        raise ValueError("证书中的 SM2 公钥不是未压缩的曲线点")
    r, s = _sm2_rs(signature)
    return sm2.verify_rs(point, r, s, message)


def _verify_rsa(key: Any, digest: str, signature: bytes, message: bytes) -> bool:
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("证书公钥不是 RSA 公钥，与签名算法不符")
    algorithm = {
        "sha1": hashes.SHA1(),
        "sha256": hashes.SHA256(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
        "sm3": hashes.SM3(),
    }[digest]
    try:
        key.verify(signature, message, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


# --- the EEP ------------------------------------------------------------------------------------
class _Forms:
    """The byte strings a signature over 被签名对象 may have been made on: its C14N form and,
    read only when needed (an EEP embeds its files and can be large), the element exactly as it
    stands in the file."""

    def __init__(self, signed: Any, path: Path, encoding: str) -> None:
        self.signed, self.path, self.encoding = signed, path, encoding

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        yield "C14N", etree.tostring(self.signed, method="c14n", with_comments=False)
        raw = self._as_written()
        if raw is not None:
            yield "原文字节", raw

    def _as_written(self) -> bytes | None:
        codec = {"UTF-8": "utf-8", "GB18030": "gb18030"}.get(self.encoding, "utf-8")
        try:
            name = re.escape(SIGNED.encode(codec))
            data = self.path.read_bytes()
        except (UnicodeError, OSError):
            return None
        start = re.search(rb"<(?:[\w.\-]+:)?" + name + rb"[\s>]", data)
        ends = list(re.finditer(rb"</(?:[\w.\-]+:)?" + name + rb"\s*>", data))
        if start is None or not ends or ends[-1].end() <= start.start():
            return None
        return data[start.start() : ends[-1].end()]


def _certificate(block: Any) -> tuple[x509.Certificate | None, str]:
    cert_el = next((el for el in block.iter() if local(el) == "证书"), None)
    text = text_of(cert_el) if cert_el is not None else ""
    if not text:
        return None, "签名未附证书（证书块/证书），无法取得公钥"
    try:
        if "-----BEGIN" in text:
            return x509.load_pem_x509_certificate(text.encode("ascii")), ""
        return x509.load_der_x509_certificate(base64.b64decode(re.sub(r"\s+", "", text))), ""
    except (ValueError, binascii.Error, UnicodeError) as exc:
        return None, f"证书无法读取：{exc}"


def _describe(cert: x509.Certificate) -> dict[str, str]:
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": f"{cert.serial_number:x}",
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def verify_eep(root: Any, path: Path, encoding: str, rel: str) -> list[CheckResult]:
    """The 1-1 results of the signatures of one parsed EEP (``path``: its file)."""
    signed = next((el for el in root if local(el) == SIGNED), None)
    # signatures of the package: outside 被签名对象 (whose 文件实体 may carry DA/T 46 M57-M64
    # signatures of the original files) and outside 锁定签名
    blocks = [
        el
        for el in root.iter()
        if any(local(c) == RESULT for c in el)
        and not any(local(a) in (LOCK, SIGNED) for a in [el, *el.iterancestors()])
    ]
    locks = [el for el in root.iter() if local(el) == LOCK]
    out: list[CheckResult] = []
    if not blocks:
        reason = "EEP 未包含电子签名（电子签名块），固化信息无从验证"
        out.append(_result("fail", rel, {"reason": reason, "signatures": 0}))
        return out
    forms = _Forms(signed, path, encoding) if signed is not None else None
    for n, block in enumerate(blocks, 1):
        out.append(_verify_one(block, n, forms, rel))
    if locks:
        out.append(
            _result(
                "warn",
                rel,
                {"reason": "EEP 含锁定签名，其覆盖范围未验证（仅验证了电子签名块中的签名）"},
            )
        )
    return out


def _result(status: str, obj: str, evidence: dict[str, Any]) -> CheckResult:
    return CheckResult.from_spec(KEY, status, object=obj, evidence=evidence)


def _verify_one(block: Any, n: int, forms: _Forms | None, rel: str) -> CheckResult:
    fields = {local(c): text_of(c) for c in block if not len(c)}
    where = f"第{n}个电子签名"
    evidence: dict[str, Any] = {
        "signature": n,
        "signer": fields.get("签名人", ""),
        "signed_at": fields.get("签名时间", ""),
        "algorithm": fields.get("签名算法标识", ""),
    }

    def fail(reason: str) -> CheckResult:
        return _result("fail", rel, {**evidence, "reason": f"{where}：{reason}"})

    if forms is None:
        return fail(f"EEP 中没有 <{SIGNED}>，签名无所依附")
    alg = algorithm_of(evidence["algorithm"])
    if alg is None:
        return fail(f"不支持的签名算法标识“{evidence['algorithm']}”")
    cert, problem = _certificate(block)
    if cert is None:
        return fail(problem)
    evidence["certificate"] = _describe(cert)
    try:
        signature = base64.b64decode(re.sub(r"\s+", "", fields.get(RESULT, "")), validate=True)
    except (binascii.Error, ValueError):
        return fail("签名结果不是有效的 base64")
    if not signature:
        return fail("签名结果为空")
    try:
        for form, message in forms:
            if alg.key == "sm2":
                ok = _verify_sm2(_spki_point(cert), signature, message)
            else:
                ok = _verify_rsa(cert.public_key(), alg.digest, signature, message)
            if ok:
                return _result(
                    "pass",
                    rel,
                    {
                        **evidence,
                        "checked": 1,
                        "compared": f"签名结果与<{SIGNED}>（{form}）以证书公钥按 {alg.name} 验证",
                        "signed_form": form,
                    },
                )
    except (ValueError, TypeError) as exc:
        return fail(f"无法验证：{exc}")
    except Exception as exc:  # noqa: BLE001 - an unreadable key must be a failed check, not a crash
        return fail(f"无法验证：{type(exc).__name__}: {exc}")
    return fail(f"签名与<{SIGNED}>的内容不符（内容被改动或签名不属于该证书）")
