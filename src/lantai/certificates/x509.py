"""X.509 credentials for the PAdES signature on certificate PDFs.

pyHanko signs with RSA, ECDSA or EdDSA, not SM2, so the PDF signature uses ECDSA P-256 under a
provincial document-signing root; the QR payload keeps its SM2/SM3 signature (lantai.core.signing).

Layout under ``keys_dir/pades/`` (a 0700 directory, every file 0600, written whole under another
name and then linked or renamed into place, as lantai.core.signing does):

- ``root-ca.pem``: the root's private key and its certificate (ECDSA P-256, 20 years);
- ``archives-<repository code>.pem``: one archives' key and its leaf certificate (ECDSA P-256,
  2 years, digitalSignature + nonRepudiation, CN = the archives' name, O = the repository code),
  issued by the root. A leaf is issued again when it has less than a year left, names another
  archives, or was not issued by the current root.

Key and certificate share one file so that a reader never finds a key beside another key's
certificate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

__all__ = [
    "Credentials",
    "KeyFileError",
    "root_certificate_pem",
    "signing_credentials",
]

FOLDER = "pades"
ROOT_FILE = "root-ca.pem"
ROOT_NAME = "兰台档案查询证明签发根证书"
ROOT_YEARS = 20
LEAF_YEARS = 2
# a leaf signs in its first year only and stays valid for its second, so that a PDF it signed
# (validated "now", PAdES-B-B carries no time-stamp) verifies until the certificate's own expiry,
# which must therefore lie within a year of issue
RENEW_BEFORE = dt.timedelta(days=365)
_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,63}")
# id-kp-documentSigning (RFC 9336)
_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


class KeyFileError(Exception):
    """A key file cannot be used (unreadable, too open, damaged): an operator's problem."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} — {message_en}")
        self.message_zh, self.message_en = message_zh, message_en


@dataclass(frozen=True)
class Credentials:
    """What pyHanko's SimpleSigner needs (key, certificate, chain), as PEM, plus the root."""

    key_pem: bytes  # PKCS#8, unencrypted (the file's mode protects it, as for the SM2 key)
    certificate_pem: bytes
    chain_pem: bytes  # the issuing root, embedded in the signature beside the leaf
    root_pem: bytes  # the trust anchor a verifier uses (the same root)
    signer: str  # the leaf's CN: the archives' name
    not_after: dt.datetime

    def __repr__(self) -> str:
        return f"Credentials(signer={self.signer!r}, not_after={self.not_after.isoformat()})"


def signing_credentials(keys_dir: Path, repository_code: str, archives_name: str) -> Credentials:
    """The archives' PAdES signing key and certificate, made (with the root) on first use."""
    if not _CODE.fullmatch(repository_code):
        raise ValueError(
            f"档案馆代码 {repository_code!r} 不能用作密钥文件名（仅限字母、数字、_ . -，至多 64 位）"
            f" — the repository code {repository_code!r} cannot name a key file (letters, digits,"
            " _ . - only, at most 64)"
        )
    name = archives_name.strip()
    if not name or len(name) > 64:
        raise ValueError(
            f"档案馆名称须为 1 至 64 个字符（X.509 CN 上限）：{archives_name!r} — the archives' "
            f"name must have 1 to 64 characters (the X.509 CN limit): {archives_name!r}"
        )
    folder = Path(keys_dir) / FOLDER
    root_key, root_cert = _root(folder)
    path = folder / f"archives-{repository_code}.pem"
    now = _now()
    leaf = _read(path) if path.exists() else None
    if leaf is None or not _leaf_fits(leaf[1], root_cert, repository_code, name, now):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue_leaf(key, root_key, root_cert, repository_code, name, now)
        _write(folder, path, key, cert, replace=leaf is not None)
        leaf = _read(path)
    key, cert = leaf
    root_pem = root_cert.public_bytes(serialization.Encoding.PEM)
    return Credentials(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM),
        chain_pem=root_pem,
        root_pem=root_pem,
        signer=name,
        not_after=cert.not_valid_after_utc,
    )


def root_certificate_pem(keys_dir: Path) -> bytes:
    """The root certificate (PEM) that verifiers trust; the root is made when missing."""
    _key, cert = _root(Path(keys_dir) / FOLDER)
    return cert.public_bytes(serialization.Encoding.PEM)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _root(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    path = folder / ROOT_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        _write(folder, path, key, _issue_root(key, _now()), replace=False)
    return _read(path)


def _issue_root(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lantai"),
            x509.NameAttribute(NameOID.COMMON_NAME, ROOT_NAME),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * ROOT_YEARS + ROOT_YEARS // 4))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_leaf(
    key: ec.EllipticCurvePrivateKey,
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    repository_code: str,
    name: str,
    now: dt.datetime,
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, repository_code),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    public = key.public_key()
    # a leaf never outlives its root (path validation would fail after the root expires)
    not_after = min(now + dt.timedelta(days=365 * LEAF_YEARS), root_cert.not_valid_after_utc)
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([_DOCUMENT_SIGNING]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_fits(
    cert: x509.Certificate, root: x509.Certificate, code: str, name: str, now: dt.datetime
) -> bool:
    def attribute(oid: ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    try:
        cert.verify_directly_issued_by(root)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return (
        attribute(NameOID.COMMON_NAME) == name
        and attribute(NameOID.ORGANIZATION_NAME) == code
        and cert.not_valid_after_utc - RENEW_BEFORE > now
    )


def _write(
    folder: Path,
    path: Path,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    *,
    replace: bool,
) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)  # a renewal: readers see the old pair or the new one
        else:
            with contextlib.suppress(FileExistsError):  # made by another process meanwhile
                os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise KeyFileError(
                f"签名密钥文件 {path} 的权限为 {mode & 0o777:o}，他人可读；请执行 chmod 600 {path}",
                f"the signing key file {path} has mode {mode & 0o777:o} and others may read it; "
                f"run chmod 600 {path}",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(
            f"无法读取签名密钥文件 {path}：{exc}", f"cannot read the signing key file {path}: {exc}"
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
        cert = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(
            f"签名密钥文件 {path} 不含 PEM 私钥与证书：{exc}",
            f"the signing key file {path} does not hold a PEM private key and certificate: {exc}",
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise KeyFileError(
            f"签名密钥文件 {path} 中的私钥与证书不匹配（或不是 ECDSA 密钥）",
            f"the private key in {path} does not belong to its certificate (or is not ECDSA)",
        )
    return key, cert
