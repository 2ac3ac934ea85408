"""DA/T 48-2009 EEPs built by hand with lxml, independently of Lantai's own writer
(lantai.demo.transfer), and signed with keys made here: RSA through ``cryptography``, SM2 through
the OpenSSL command line (another implementation than the verifier's)."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, q(name))
    if text is not None:
        el.text = text
    return el


@dataclass
class Entity:
    title: str
    item: int
    files: list[tuple[str, bytes]]
    fonds: str = "Z109"
    catalogue: str = "WS"  # 目录号 holding the 门类代码
    year: int = 2019
    retention: str = "永久"
    org: str = "BGS"
    author: str = "岭南省人民政府办公厅"
    date: str = "20190315"


def build(entities: list[Entity]) -> etree._Element:
    """An unsigned EEP (the 电子签名块 is added by :func:`sign_rsa` / :func:`sign_sm2`)."""
    root = etree.Element(q("电子文件封装包"), nsmap={None: NS})
    sub(
        root,
        "封装包格式描述",
        "本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成",
    )
    sub(root, "版本", "2009")
    signed = sub(root, "被签名对象")
    signed.set("eep版本", "2009")
    sub(signed, "封装包类型", "原始型")
    sub(signed, "封装包类型描述", "本封装包包含电子文件数据及其元数据，原始封装")
    sub(signed, "封装包创建时间", "2019-12-30T10:00:00")
    sub(signed, "封装包创建单位", "岭南省人民政府办公厅")
    content = sub(signed, "封装内容")
    block = sub(content, "文件实体块")
    for e in entities:
        ent = sub(block, "文件实体")
        sub(ent, "聚合层次", "文件")
        src = sub(ent, "来源")
        sub(src, "档案馆名称", "岭南省档案馆")
        sub(src, "立档单位名称", e.author)
        sub(ent, "电子文件号", f"DZ-{e.fonds}-{e.year}-{e.item:05d}")
        code = sub(ent, "档号")
        sub(code, "全宗号", e.fonds)
        sub(code, "目录号", e.catalogue)
        sub(code, "年度", str(e.year))
        sub(code, "保管期限", e.retention)
        sub(code, "机构或问题", e.org)
        sub(code, "室编件号", str(e.item))
        desc = sub(ent, "内容描述")
        sub(desc, "题名", e.title)
        sub(desc, "责任者", e.author)
        sub(desc, "日期", e.date)
        sub(desc, "密级", "公开")
        form = sub(ent, "形式特征")
        sub(form, "文件组合类型", "单件" if len(e.files) == 1 else "组合文件")
        sub(sub(ent, "存储位置"), "脱机载体编号", "在线")
        data = sub(ent, "文件数据")
        for n, (name, body) in enumerate(e.files, 1):
            doc = sub(data, "文档")
            sub(doc, "文档标识符", f"{e.item}-{n}")
            doc_data = sub(doc, "文档数据")
            doc_data.set("文档数据ID", f"D{e.item}-{n}")
            coding = sub(doc_data, "编码")
            coding.set("编码ID", f"E{e.item}-{n}")
            attrs = sub(coding, "电子属性")
            sub(attrs, "格式信息", name.rsplit(".", 1)[-1].upper())
            sub(attrs, "计算机文件名", name)
            sub(attrs, "计算机文件大小", str(len(body)))
            sub(coding, "编码描述", "Base64")
            sub(coding, "反编码关键字", "base64")
            sub(coding, "编码数据", base64.b64encode(body).decode("ascii"))
    sub(sub(sub(content, "业务实体块"), "业务实体"), "业务标识符", "B1")
    person = sub(sub(content, "机构人员实体块"), "机构人员实体")
    sub(person, "机构人员标识符", "P1")
    sub(person, "机构人员名称", "岭南省人民政府办公厅")
    return root


def signed_bytes(root: etree._Element) -> bytes:
    """What DA/T 48 signs: the 被签名对象 element, in canonical XML (C14N 1.0, no comments)."""
    return etree.tostring(root.find(q("被签名对象")), method="c14n", with_comments=False)


def add_signature(root: etree._Element, signature: bytes, cert_der: bytes, algorithm: str) -> None:
    block = sub(root, "电子签名块")
    sig = sub(block, "电子签名")
    sub(sig, "签名标识符", "S1")
    sub(sig, "签名规则", "对<被签名对象>的规范化 XML（C14N）签名")
    sub(sig, "签名时间", "2019-12-30T10:05:00")
    sub(sig, "签名人", "岭南省人民政府办公厅")
    sub(sig, "签名结果", base64.b64encode(signature).decode("ascii"))
    certs = sub(sig, "证书块")
    sub(certs, "证书", base64.b64encode(cert_der).decode("ascii"))
    sub(sig, "签名算法标识", algorithm)


def rsa_identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "岭南省人民政府办公厅"),
            x509.NameAttribute(NameOID.COMMON_NAME, "移交签名"),
        ]
    )
    now = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1A2B)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def sign_rsa(root: etree._Element, identity: tuple[rsa.RSAPrivateKey, bytes]) -> None:
    key, cert = identity
    signature = key.sign(signed_bytes(root), padding.PKCS1v15(), hashes.SHA256())
    add_signature(root, signature, cert, "SHA256withRSA")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def sm2_identity(folder: Path) -> tuple[Path, bytes]:
    """An SM2 key and a self-signed SM2-with-SM3 certificate made by OpenSSL."""
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "sm2.key", folder / "sm2.crt"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(key))
    _openssl(
        "req", "-new", "-x509", "-key", str(key), "-sm3", "-sigopt", "distid:1234567812345678",
        "-subj", "/O=Lingnan/CN=SM2 signer", "-days", "3650", "-outform", "DER", "-out", str(cert),
    )  # fmt: skip
    return key, cert.read_bytes()


def sign_sm2(
    root: etree._Element, identity: tuple[Path, bytes], message: bytes | None = None
) -> None:
    """SM2 with SM3 and the default user ID 1234567812345678 (GB/T 35276), by OpenSSL."""
    key, cert = identity
    data, out = key.with_name("message.bin"), key.with_name("signature.der")
    data.write_bytes(signed_bytes(root) if message is None else message)
    _openssl(
        "pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-digest", "sm3",
        "-pkeyopt", "distid:1234567812345678", "-in", str(data), "-out", str(out),
    )  # fmt: skip
    add_signature(root, out.read_bytes(), cert, "SM3withSM2")


def write(root: etree._Element, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


def png(label: str) -> bytes:
    """A small real PNG made with Pillow (a format of the archival list)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (64, 32), "white")
    ImageDraw.Draw(image).text((2, 10), label, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
