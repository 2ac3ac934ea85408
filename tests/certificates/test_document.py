"""The certificate document with real components: WeasyPrint renders the PDF/A-3b, pyHanko signs
and validates it, pypdfium2 renders the page, zxing-cpp reads the QR code back. One certificate
is rendered and signed per module; each forgery is made from its bytes."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from cryptography import x509 as cx509
from PIL import Image, ImageChops, ImageEnhance, ImageFilter

from lantai.certificates import document, x509
from lantai.certificates.document import CertificateContentError, inspect, render, sign
from lantai.certificates.qr import read_qr, render_page
from lantai.certificates.seal import seal_png
from lantai.standards.certificate_payload import PREFIX, b45encode

ARCHIVES = "深圳市南山区档案馆"
CODE = "440305"


def record_content(**changes: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "number": "J440305-2026-000123",
        "kind": "record",
        "title": "婚姻登记记录证明",
        "issuer": {"code": CODE, "name": ARCHIVES, "region": "440305"},
        "requester": {
            "type_label": "当事人本人",
            "name": "张三",
            "id_masked": "4403**********123X",
        },
        "records": [
            {
                "kind_label": "结婚",
                "date": "2001-05-20",
                "office": "深圳市南山区民政局",
                "region_code": "440305",
                "certificate_number": "J440305-2001-001234",
                "parties": [
                    {"name": "张三", "sex": "男", "id_masked": "4403**********123X"},
                    {"name": "李四", "sex": "女", "id_masked": "4403**********5621"},
                ],
                "holding_archives": ARCHIVES,
                "reference_code": "440305-HY·2001-Y100-0123",
            }
        ],
        "criteria": "",
        "basis": "《婚姻登记档案管理办法》",
        "purpose": "办理房产过户",
        "issued": "2026-12-06T10:20:00+08:00",
        "expires": "2027-03-06",
        "status_index": 17,
        "issuer_key_id": "a1b2c3d4e5f6a7b8",
    }
    content.update(changes)
    return content


# a payload of the largest realistic size (about 300 characters, two parties, one event)
PAYLOAD = PREFIX + b45encode(bytes(range(7, 7 + 197)))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def credentials(keys: Path) -> x509.Credentials:
    return x509.signing_credentials(keys, CODE, ARCHIVES)


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return render(record_content(), PAYLOAD, seal=seal_png(ARCHIVES))


@pytest.fixture(scope="module")
def signed(unsigned: bytes, credentials: x509.Credentials) -> bytes:
    return sign(unsigned, credentials)


@pytest.fixture(scope="module")
def page_png(signed: bytes) -> bytes:
    return render_page(signed, 0, dpi=150)


def page_text(pdf: bytes) -> str:
    """The text of every page without white space (table cells and lines wrap anywhere)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()
    return "".join(text.split())


# --- the genuine certificate ----------------------------------------------------------------


def test_signed_certificate_is_authentic_and_carries_its_content(
    signed: bytes, credentials: x509.Credentials
) -> None:
    evidence = inspect(signed, credentials.root_pem)
    assert (evidence.readable, evidence.signed, evidence.intact) == (True, True, True)
    assert evidence.trusted and evidence.whole_file and evidence.authentic
    assert evidence.signer == ARCHIVES and evidence.signer_code == CODE
    assert evidence.problem is None
    assert evidence.content_bytes == document.canonical_content(record_content())
    assert evidence.payload_text == PAYLOAD


def test_the_page_shows_what_a_reader_needs(unsigned: bytes) -> None:
    text = page_text(unsigned)
    for shown in (
        "婚姻登记记录证明",
        "J440305-2026-000123",
        ARCHIVES,
        "4403**********5621",
        "J440305-2001-001234",
        "2001年5月20日",
        "440305-HY·2001-Y100-0123",
        "《婚姻登记档案管理办法》",
        "办理房产过户",
        "2027年3月6日",
        "扫码或访问本馆网站「证明核验」页面离线核验",
        "特此证明",
    ):
        assert shown in text, shown


def test_an_unsigned_certificate_is_not_authentic(
    unsigned: bytes, credentials: x509.Credentials
) -> None:
    evidence = inspect(unsigned, credentials.root_pem)
    assert evidence.readable and not evidence.signed and not evidence.authentic
    assert "未签名" in (evidence.problem or "")


def test_pdfa_markers_survive_signing(unsigned: bytes, signed: bytes) -> None:
    assert signed.startswith(unsigned)  # an incremental update: the PDF/A bytes are untouched
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
        # PDF/A: the Info dictionary and the XMP metadata must agree
        assert str(pdf.docinfo["/Producer"]) == meta["pdf:Producer"]
        assert str(pdf.docinfo["/Title"]) == meta["dc:title"]
        assert "/OutputIntents" in pdf.Root
        files = {str(spec.AFRelationship) for spec in pdf.Root.AF}
        assert files == {"/Data", "/Supplement"}
        attachment = pdf.attachments[document.CONTENT_FILE].get_file()
        assert attachment.mime_type == "application/json"
        (field,) = pdf.Root.AcroForm.Fields
        assert field.T == document.FIELD_NAME and field.F & 4  # printable, as PDF/A asks
        assert field.V.SubFilter == "/ETSI.CAdES.detached"
        assert str(field.V.Reason) == "档案查询证明" and str(field.V.Location) == ARCHIVES


def test_the_qr_code_reads_back_from_the_rendered_page(page_png: bytes) -> None:
    assert read_qr(page_png) == [PAYLOAD]


def test_the_qr_code_reads_back_from_a_photo_like_copy(page_png: bytes) -> None:
    page = Image.open(io.BytesIO(page_png)).convert("RGB")
    width, height = page.size
    photo = page.resize((int(width * 0.7), int(height * 0.7)), Image.Resampling.BILINEAR)
    photo = photo.rotate(2.5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="#777")
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    # uneven light: darker towards one corner, and a little less contrast
    shade = Image.linear_gradient("L").resize(photo.size).point(lambda v: 255 - v // 3)
    photo = ImageChops.multiply(photo, Image.merge("RGB", (shade, shade, shade)))
    photo = ImageEnhance.Contrast(photo).enhance(0.8)
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=35)
    assert read_qr(out.getvalue()) == [PAYLOAD]


def test_none_found_certificate(credentials: x509.Credentials) -> None:
    content = record_content(
        kind="none_found",
        title="档案查询证明",
        number="L440305-2026-000124",
        records=[],
        criteria="姓名王五，身份证件号码4403**********0011，登记年份1995至2005年",
        # hostile text is shown as text: nothing in the content becomes markup or a fetch
        requester={"type_label": "代理人", "name": '<img src="http://example.invalid/x.png">'},
        issued="2026-12-06T23:30:00+00:00",  # 7 December in Beijing
    )
    pdf = render(content, PAYLOAD, seal=seal_png(ARCHIVES))
    text = page_text(pdf)
    assert "档案查询证明" in text and "婚姻登记记录证明" not in text
    assert "未查到" in text and "4403**********0011" in text
    assert '<imgsrc="http://example.invalid/x.png">' in text
    assert "2026年12月7日" in text
    evidence = inspect(pdf, credentials.root_pem)
    assert evidence.content_bytes == document.canonical_content(content)


def test_a_long_certificate_carries_its_qr_code_and_number_on_every_page() -> None:
    import pypdfium2

    record = record_content()["records"][0]
    records = [dict(record, kind_label=kind) for kind in ("结婚", "离婚", "结婚", "补发结婚证") * 2]
    pdf = render(record_content(records=records), PAYLOAD, seal=seal_png(ARCHIVES))
    doc = pypdfium2.PdfDocument(pdf)
    pages = len(doc)
    doc.close()
    assert pages >= 2
    for page in range(pages):
        assert read_qr(render_page(pdf, page, dpi=100)) == [PAYLOAD], page
    text = page_text(pdf)
    assert text.count("J440305-2026-000123") >= pages and f"共{pages}页" in text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"number": ""}, "number"),
        ({"kind": "other"}, "other"),
        ({"records": []}, "至少"),
        ({"records": "结婚"}, "records"),
        ({"records": [["结婚"]]}, "records"),
        ({"issuer": {"code": CODE}}, "issuer.name"),
        ({"issued": "6 Dec 2026"}, "issued"),
        ({"kind": "none_found", "records": [], "criteria": ""}, "criteria"),
    ],
)
def test_content_that_cannot_make_a_certificate_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(CertificateContentError, match=message):
        render(record_content(**changes), PAYLOAD, seal=seal_png(ARCHIVES, size_px=120))


def test_a_seal_that_is_no_png_is_refused() -> None:
    with pytest.raises(CertificateContentError, match="PNG"):
        render(record_content(), PAYLOAD, seal=b"GIF89a")


@pytest.mark.parametrize("payload", ["", PAYLOAD.lower(), PAYLOAD + "é", "LTC1:<script>"])
def test_a_payload_outside_the_qr_alphanumeric_set_is_refused(payload: str) -> None:
    with pytest.raises(CertificateContentError, match="二维码载荷"):
        render(record_content(), payload, seal=seal_png(ARCHIVES, size_px=120))


# --- forgeries --------------------------------------------------------------------------------


def _flip_in_page_content(pdf: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        contents = doc.pages[0].obj.Contents
        number = (contents[0] if isinstance(contents, pikepdf.Array) else contents).objgen[0]
    start = pdf.index(b"stream", pdf.index(b"\n%d 0 obj" % number)) + 40
    return pdf[:start] + bytes([pdf[start] ^ 0x01]) + pdf[start + 1 :]


def _incremental(pdf: bytes, change: Any) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


FORGED = document.canonical_content(record_content(purpose="出国定居"))


def _replace_embedded_json(writer: Any) -> None:
    from pyhanko.pdf_utils import generic

    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    for i in range(0, len(names), 2):
        if str(names[i]) == document.CONTENT_FILE:
            spec_ref = names.raw_get(i + 1)
            spec = spec_ref.get_object()
            stream = generic.StreamObject(
                {generic.NameObject("/Type"): generic.NameObject("/EmbeddedFile")},
                stream_data=FORGED,
            )
            spec["/EF"][generic.NameObject("/F")] = writer.add_object(stream)
            writer.mark_update(spec_ref)
            return
    raise AssertionError("no certificate.json in the name tree")


def _retitle(writer: Any) -> None:
    from pyhanko.pdf_utils import generic

    info_ref = writer.trailer.raw_get("/Info")
    info_ref.get_object()[generic.NameObject("/Title")] = generic.TextStringObject("改过的")
    writer.mark_update(info_ref)


def test_one_byte_changed_in_the_content_stream(
    signed: bytes, credentials: x509.Credentials
) -> None:
    evidence = inspect(_flip_in_page_content(signed), credentials.root_pem)
    assert evidence.readable and evidence.signed
    assert not evidence.intact and not evidence.trusted and not evidence.authentic
    assert "改动" in (evidence.problem or "")
    assert evidence.content_bytes is None  # nothing of an altered file is handed on


def test_an_appended_incremental_update(signed: bytes, credentials: x509.Credentials) -> None:
    altered = _incremental(signed, _retitle)
    evidence = inspect(altered, credentials.root_pem)
    assert evidence.intact and evidence.trusted  # the signed revision itself is unchanged
    assert not evidence.whole_file and not evidence.authentic
    assert "追加" in (evidence.problem or "")


def test_certificate_json_replaced_in_an_update_is_not_what_inspect_returns(
    signed: bytes, credentials: x509.Credentials
) -> None:
    altered = _incremental(signed, _replace_embedded_json)
    with pikepdf.open(io.BytesIO(altered)) as pdf:  # a plain reader sees the forged file
        assert pdf.attachments[document.CONTENT_FILE].get_file().read_bytes() == FORGED
    evidence = inspect(altered, credentials.root_pem)
    assert not evidence.whole_file and not evidence.authentic
    assert evidence.content_bytes == document.canonical_content(record_content())


def test_certificate_json_replaced_and_the_file_rewritten(
    signed: bytes, credentials: x509.Credentials
) -> None:
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        pdf.attachments[document.CONTENT_FILE] = pikepdf.AttachedFileSpec(
            pdf, FORGED, mime_type="application/json"
        )
        out = io.BytesIO()
        pdf.save(out)
    evidence = inspect(out.getvalue(), credentials.root_pem)
    assert not evidence.authentic
    assert not (evidence.intact and evidence.whole_file)
    assert evidence.content_bytes != FORGED


def test_signed_under_another_root(
    unsigned: bytes, credentials: x509.Credentials, tmp_path: Path
) -> None:
    impostor = x509.signing_credentials(tmp_path, CODE, ARCHIVES)  # same names, own root
    evidence = inspect(sign(unsigned, impostor), credentials.root_pem)
    assert evidence.intact and evidence.whole_file
    assert not evidence.trusted and not evidence.authentic
    assert "根证书" in (evidence.problem or "")


@pytest.mark.parametrize(
    "root", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
)
def test_an_unusable_root_trusts_nothing(signed: bytes, root: bytes) -> None:
    evidence = inspect(signed, root)
    assert evidence.intact and evidence.whole_file and not evidence.trusted
    assert "没有可用的根证书" in (evidence.problem or "")


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.999])
def test_a_truncated_pdf_is_unreadable(
    signed: bytes, credentials: x509.Credentials, cut: float
) -> None:
    evidence = inspect(signed[: int(len(signed) * cut)], credentials.root_pem)
    assert not evidence.readable and not evidence.authentic
    assert evidence.content_bytes is None and evidence.problem


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n%%EOF\n", b"\x00" * 4096])
def test_bytes_that_are_no_pdf_are_unreadable(data: bytes, credentials: x509.Credentials) -> None:
    evidence = inspect(data, credentials.root_pem)
    assert not evidence.readable and "无法解析" in (evidence.problem or "")


# --- X.509 credentials ------------------------------------------------------------------------


def test_credentials_are_made_once_with_private_files(
    keys: Path, credentials: x509.Credentials
) -> None:
    folder = keys / x509.FOLDER
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"archives-{CODE}.pem", x509.ROOT_FILE]
    for name in files:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    again = x509.signing_credentials(keys, CODE, ARCHIVES)
    assert again.certificate_pem == credentials.certificate_pem
    assert x509.root_certificate_pem(keys) == credentials.root_pem
    assert b"PRIVATE KEY" not in credentials.root_pem + credentials.certificate_pem
    assert repr(credentials).count("KEY") == 0


def test_leaf_and_root_certificates(credentials: x509.Credentials) -> None:
    leaf = cx509.load_pem_x509_certificate(credentials.certificate_pem)
    root = cx509.load_pem_x509_certificate(credentials.root_pem)
    leaf.verify_directly_issued_by(root)
    assert leaf.subject.get_attributes_for_oid(cx509.NameOID.COMMON_NAME)[0].value == ARCHIVES
    assert leaf.subject.get_attributes_for_oid(cx509.NameOID.ORGANIZATION_NAME)[0].value == CODE
    usage = leaf.extensions.get_extension_for_class(cx509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert not leaf.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca
    assert root.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca
    leaf_days = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days
    root_days = (root.not_valid_after_utc - root.not_valid_before_utc).days
    assert 729 <= leaf_days <= 731 and 20 * 365 <= root_days <= 20 * 366


def test_each_archives_has_its_own_leaf_under_the_one_root(
    keys: Path, credentials: x509.Credentials
) -> None:
    other = x509.signing_credentials(keys, "440306", "深圳市宝安区档案馆")
    assert other.root_pem == credentials.root_pem
    assert other.certificate_pem != credentials.certificate_pem
    renamed = x509.signing_credentials(keys, "440306", "深圳市宝安区档案馆（新馆）")
    assert renamed.certificate_pem != other.certificate_pem and renamed.signer.endswith("（新馆）")


def test_a_leaf_not_issued_by_the_current_root_is_issued_again(tmp_path: Path) -> None:
    first = x509.signing_credentials(tmp_path / "a", CODE, ARCHIVES)
    stray = x509.signing_credentials(tmp_path / "b", CODE, ARCHIVES)  # another root's leaf
    leaf_file = tmp_path / "a" / x509.FOLDER / f"archives-{CODE}.pem"
    leaf_file.write_bytes(stray.key_pem + stray.certificate_pem)
    again = x509.signing_credentials(tmp_path / "a", CODE, ARCHIVES)
    assert again.certificate_pem not in (first.certificate_pem, stray.certificate_pem)
    assert again.root_pem == first.root_pem


def test_a_leaf_with_less_than_a_year_left_is_issued_again(tmp_path: Path) -> None:
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric import ec

    first = x509.signing_credentials(tmp_path, CODE, ARCHIVES)
    folder = tmp_path / x509.FOLDER
    root_key, root_cert = x509._root(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    issued_400_days_ago = x509._now() - dt.timedelta(days=400)  # 330 days left
    old = x509._issue_leaf(key, root_key, root_cert, CODE, ARCHIVES, issued_400_days_ago)
    x509._write(folder, folder / f"archives-{CODE}.pem", key, old, replace=True)
    again = x509.signing_credentials(tmp_path, CODE, ARCHIVES)
    assert again.certificate_pem != first.certificate_pem
    assert again.not_after - x509._now() > dt.timedelta(days=700)


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    x509.signing_credentials(tmp_path, CODE, ARCHIVES)
    leaf_file = tmp_path / x509.FOLDER / f"archives-{CODE}.pem"
    os.chmod(leaf_file, 0o644)
    with pytest.raises(x509.KeyFileError, match="chmod 600"):
        x509.signing_credentials(tmp_path, CODE, ARCHIVES)


def test_a_damaged_key_file_is_refused(tmp_path: Path) -> None:
    x509.signing_credentials(tmp_path, CODE, ARCHIVES)
    (tmp_path / x509.FOLDER / x509.ROOT_FILE).write_bytes(b"-----BEGIN PRIVATE KEY-----\nxx")
    with pytest.raises(x509.KeyFileError, match="不含 PEM 私钥与证书"):
        x509.root_certificate_pem(tmp_path)


@pytest.mark.parametrize(
    ("code", "name"), [("../x", ARCHIVES), ("", ARCHIVES), ("a/b", ARCHIVES), (CODE, " "),
                       (CODE, "馆" * 65)],
)  # fmt: skip
def test_names_that_cannot_make_a_certificate_are_refused(
    tmp_path: Path, code: str, name: str
) -> None:
    with pytest.raises(ValueError):
        x509.signing_credentials(tmp_path, code, name)
    assert not (tmp_path / x509.FOLDER).exists()


# --- the seal image ---------------------------------------------------------------------------


def test_seal_is_a_red_round_mark_on_transparency() -> None:
    png = seal_png(ARCHIVES, size_px=300)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (300, 300)
    assert image.getpixel((5, 5))[3] == 0  # outside the ring
    red, green, blue, alpha = image.getpixel((150, 140))  # the star's centre
    assert alpha > 200 and red > 180 and green < 80 and blue < 80
    ring = [image.getpixel((150, y))[3] for y in range(0, 20)]
    assert max(ring) > 200  # the ring crosses the top edge's middle
    assert seal_png(ARCHIVES, size_px=300) is png  # cached per name and label


def test_seal_carries_the_archives_name() -> None:
    one = Image.open(io.BytesIO(seal_png(ARCHIVES, size_px=300)))
    other = Image.open(io.BytesIO(seal_png("深圳市宝安区档案馆", size_px=300)))
    assert ImageChops.difference(one, other).getbbox() is not None
    label_free = Image.open(io.BytesIO(seal_png(ARCHIVES, label="", size_px=300)))
    lower = (60, 190, 240, 240)  # the label's band under the star
    assert ImageChops.difference(one.crop(lower), label_free.crop(lower)).getbbox() is not None


@pytest.mark.parametrize(("name", "size"), [("", 600), ("  ", 600), (ARCHIVES, 50)])
def test_seal_refuses_what_it_cannot_draw(name: str, size: int) -> None:
    with pytest.raises(ValueError):
        seal_png(name, size_px=size)


def test_seal_without_a_chinese_font_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lantai.certificates import seal

    # a machine without Noto CJK cannot be made here for real: a stand-in fc-match answers as
    # fontconfig does there (a Latin fallback font); with no fc-match at all, the error says so
    fake = tmp_path / "fc-match"
    fake.write_text("#!/bin/sh\nprintf '/usr/share/fonts/DejaVuSans.ttf\\n0\\nen|fr|de'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    seal.cjk_font.cache_clear()
    try:
        with pytest.raises(seal.SealFontError, match="找不到含简体中文字形的字体"):
            seal_png("某县档案馆（无字体）")
        fake.unlink()
        with pytest.raises(seal.SealFontError, match="无法运行 fc-match"):
            seal_png("某县档案馆（无字体）")
    finally:
        seal.cjk_font.cache_clear()


def pdftotext(pdf: bytes, *options: str) -> str:
    import subprocess

    done = subprocess.run(
        ["pdftotext", *options, "-", "-"], input=pdf, capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode()


def test_numbers_in_the_records_table_stay_whole_for_text_extraction() -> None:
    content = record_content(
        issuer={"code": "490122", "name": "南州市档案馆", "region": "岭南省南州市"}
    )
    content["records"][0].update(
        certificate_number="J490122-1987-000198", reference_code="490122-HY·1987-Y100-000001"
    )
    pdf = render(content, PAYLOAD, seal=seal_png(ARCHIVES))
    for options in ((), ("-layout",), ("-raw",)):
        text = pdftotext(pdf, *options)
        assert "\ufffe" not in text and "\u00ad" not in text, options
        # each on one line, with its hyphens (a break at one makes pdftotext drop it)
        assert "J490122-1987-000198" in text.split(), options
        assert "490122-HY·1987-Y100-000001" in text.split(), options
    # a place name is no 行政区划代码
    assert "所在地区 岭南省南州市" in pdftotext(pdf) and "行政区划代码" not in pdftotext(pdf)


def test_an_issuer_region_code_is_labelled_as_one(unsigned: bytes) -> None:
    assert "行政区划代码 440305" in pdftotext(unsigned)
