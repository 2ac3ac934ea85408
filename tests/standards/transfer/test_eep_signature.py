"""EEP 电子签名 verified (DA/T 70 1-1) and the 档号 assembled from its parts, on EEPs built by
hand (eep_by_hand.py), signed with RSA (cryptography) and SM2 (the OpenSSL command line)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lxml import etree

from lantai.standards.dat70 import CheckResult
from lantai.standards.transfer import eep
from lantai.standards.transfer.detect import read_package

from . import eep_by_hand as hand

ENTITY = hand.Entity(title="关于2019年防汛工作的通知", item=7, files=[("通知.pdf", hand.PDF)])


@pytest.fixture(scope="module")
def rsa_identity() -> tuple[object, bytes]:
    return hand.rsa_identity()


@pytest.fixture(scope="module")
def sm2_identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return hand.sm2_identity(tmp_path_factory.mktemp("sm2"))


def signatures(root: etree._Element, tmp_path: Path) -> list[CheckResult]:
    hand.write(root, tmp_path / "in" / "eep.xml")
    pkg = read_package(tmp_path / "in", tmp_path / "out")
    assert pkg.kind == "eep"
    return [r for r in pkg.results if r.check == "signature"]


def test_rsa_signature_verifies(tmp_path: Path, rsa_identity: tuple[object, bytes]) -> None:
    root = hand.build([ENTITY])
    hand.sign_rsa(root, rsa_identity)  # type: ignore[arg-type]
    [result] = signatures(root, tmp_path)
    assert result.status == "pass", result.evidence
    assert result.content_code == "1-1" and result.object == "eep.xml"
    assert result.evidence["signed_form"] == "C14N"
    assert "rsa-sha256" in result.evidence["compared"]
    assert "岭南省人民政府办公厅" in result.evidence["certificate"]["subject"]
    assert result.evidence["certificate"]["serial"] == "1a2b"


def test_sm2_signature_made_by_openssl_verifies(
    tmp_path: Path, sm2_identity: tuple[Path, bytes]
) -> None:
    root = hand.build([ENTITY])
    hand.sign_sm2(root, sm2_identity)
    [result] = signatures(root, tmp_path)
    assert result.status == "pass", result.evidence
    assert "sm2-sm3" in result.evidence["compared"]
    assert "SM2 signer" in result.evidence["certificate"]["subject"]


@pytest.mark.parametrize("algorithm", ["rsa", "sm2"])
def test_content_changed_after_signing_fails(
    tmp_path: Path,
    algorithm: str,
    rsa_identity: tuple[object, bytes],
    sm2_identity: tuple[Path, bytes],
) -> None:
    root = hand.build([ENTITY])
    if algorithm == "rsa":
        hand.sign_rsa(root, rsa_identity)  # type: ignore[arg-type]
    else:
        hand.sign_sm2(root, sm2_identity)
    title = next(root.iter(hand.q("题名")))
    title.text = "关于2019年防汛工作的通知（已改）"
    [result] = signatures(root, tmp_path)
    assert result.status == "fail"
    assert "签名与<被签名对象>的内容不符" in result.evidence["reason"]


def test_tampered_signature_value_fails(tmp_path: Path, sm2_identity: tuple[Path, bytes]) -> None:
    root = hand.build([ENTITY])
    hand.sign_sm2(root, sm2_identity)
    value = next(root.iter(hand.q("签名结果")))
    raw = bytearray(base64.b64decode(value.text or ""))
    raw[-3] ^= 0x01  # one bit of s
    value.text = base64.b64encode(bytes(raw)).decode("ascii")
    [result] = signatures(root, tmp_path)
    assert result.status == "fail" and "不符" in result.evidence["reason"]


def test_signature_over_the_bytes_as_written_verifies(
    tmp_path: Path, rsa_identity: tuple[object, bytes]
) -> None:
    """A signer that signed the element as it stands in the file (not canonicalised)."""
    key, cert = rsa_identity
    root = hand.build([ENTITY])
    text = etree.tostring(root, encoding="unicode")
    # not canonical: single quotes around the attribute
    text = text.replace('eep版本="2009"', "eep版本='2009'")
    start, end = text.index("<被签名对象"), text.index("</被签名对象>") + len("</被签名对象>")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = key.sign(text[start:end].encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]
    root = etree.fromstring(text.encode())
    hand.add_signature(root, signature, cert, "1.2.840.113549.1.1.11")
    raw = etree.tostring(root, encoding="unicode").replace('eep版本="2009"', "eep版本='2009'")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "eep.xml").write_bytes(raw.encode())
    pkg = read_package(tmp_path / "in", tmp_path / "out")
    [result] = [r for r in pkg.results if r.check == "signature"]
    assert result.status == "pass" and result.evidence["signed_form"] == "原文字节"


def test_unsigned_eep_reports_no_signature(tmp_path: Path) -> None:
    [result] = signatures(hand.build([ENTITY]), tmp_path)
    assert result.status == "fail" and result.evidence["signatures"] == 0
    assert "未包含电子签名" in result.evidence["reason"]


def test_unknown_algorithm_and_missing_certificate_fail(
    tmp_path: Path, rsa_identity: tuple[object, bytes]
) -> None:
    root = hand.build([ENTITY])
    hand.sign_rsa(root, rsa_identity)  # type: ignore[arg-type]
    next(root.iter(hand.q("签名算法标识"))).text = "MD5withRSA"
    [result] = signatures(root, tmp_path / "a")
    assert result.status == "fail" and "MD5withRSA" in result.evidence["reason"]
    root = hand.build([ENTITY])
    hand.sign_rsa(root, rsa_identity)  # type: ignore[arg-type]
    cert = next(root.iter(hand.q("证书块")))
    cert.getparent().remove(cert)
    [result] = signatures(root, tmp_path / "b")
    assert result.status == "fail" and "证书" in result.evidence["reason"]


def test_dat46_signature_of_a_record_is_not_the_package_signature(tmp_path: Path) -> None:
    """M57-M64 电子签名 inside a 文件实体 sign the original file, not the EEP."""
    root = hand.build([ENTITY])
    entity = next(root.iter(hand.q("文件实体")))
    inner = hand.sub(entity, "电子签名")
    hand.sub(inner, "签名结果", "AAAA")
    [result] = signatures(root, tmp_path)
    assert result.status == "fail" and result.evidence["signatures"] == 0


def test_archival_code_assembled_from_its_parts(tmp_path: Path) -> None:
    root = hand.build([ENTITY, hand.Entity(title="乙", item=8, files=[("b.txt", b"b")], org="")])
    hand.write(root, tmp_path / "in" / "eep.xml")
    pkg = read_package(tmp_path / "in", tmp_path / "out")
    codes = [item.fields.get("档号") for item in pkg.items]
    # 全宗号-门类代码(目录号)·年度-保管期限代码-机构或问题-件号 (DA/T 22); without 机构 DA/T 13
    assert codes == ["Z109-WS·2019-Y-BGS-0007", "Z109-WS·2019-Y-0008"]


def test_archival_code_parts_that_cannot_make_a_code() -> None:
    code, why = eep.assemble_code({"全宗号": "Z109", "年度": "2019", "保管期限": "永久"})
    assert code is None and "室编件号" in why
    code, why = eep.assemble_code(
        {"全宗号": "Z109", "年度": "2019", "保管期限": "永久", "室编件号": "3"}
    )
    assert code is None and "门类" in why
    code, _why = eep.assemble_code(
        {
            "全宗号": "Z109",
            "年度": "2020",
            "保管期限": "永久",
            "室编件号": "0002",
            "电子文件号": "Z109-WS·2020-Y-BGS-0002",
        }
    )
    assert code == "Z109-WS·2020-Y-BGS-0002"  # 门类 and 机构 taken from an agreeing 电子文件号
