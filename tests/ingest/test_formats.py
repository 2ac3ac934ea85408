"""Format identification (fido + libmagic) and validation (DA/T 70 3-2 / 3-4) on real files.

Reads ../shared/corpora/format-corpus in place (never copied); broken files are made at test time by
cutting real ones.
"""

from __future__ import annotations

import io
import os
import wave
import zipfile
from pathlib import Path

import pikepdf
import pytest

from lantai.formats import checks as format_checks
from lantai.formats.checks import validate
from lantai.formats.identify import Identification, identify

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "format-corpus"
if not CORPUS.is_dir():  # a checkout elsewhere: the shared folder named by the environment
    CORPUS = Path(os.environ.get("LANTAI_SHARED", "/work/shared")) / "corpora" / "format-corpus"

assert CORPUS.is_dir(), f"the format corpus belongs at {CORPUS} (../shared/corpora)"

# what fido 1.6.1 with PRONOM v109 reports for these corpus files (method in brackets)
KNOWN = {
    "variations/variations/application/pdf/lorem-ipsum.pdf": ("fmt/17", "signature"),  # PDF 1.3
    "variations/variations/application/pdf/lorem-ipsum.oo3.2.export.pdf": ("fmt/18", "signature"),
    "office-examples/OpenOffice.org 3.2.0 OSX/pdf-features/simple-PDFA-1a.pdf": (
        "fmt/95",  # PDF/A-1a
        "signature",
    ),
    "jp2k-formats/balloon.jp2": ("x-fmt/392", "signature"),  # JP2 (JPEG 2000 part 1)
    "jp2k-formats/balloon.jpf": ("fmt/151", "signature"),  # JPX
    "jp2k-formats/Speedway.mj2": ("fmt/337", "signature"),  # Motion JPEG 2000
    "tiff-examples/old-style-jpeg-compression/old-style-jpeg-compression.tif": (
        "fmt/353",
        "signature",
    ),
    "variations/variations/image/jpeg/lorem-ipsum.im.jpg": ("fmt/43", "signature"),
    "variations/variations/image/png/lorem-ipsum.im.png": ("fmt/12", "signature"),
    # Siegfried's newer PRONOM (ODF 1.3 has its own PUID since 2023; fido v109: fmt/290)
    "office-examples/LibreOffice7-ODF-1.3/LibreOfficeWriter_odt_1.3.odt": ("fmt/1756", "container"),
    "office/spreadsheet/xls/valid.xls": ("fmt/61", "container"),
    "office/wordprocessing/rtf/testRTF.rtf": ("fmt/45", "signature"),
    "tiff-examples/old-style-jpeg-compression/old-style-jpeg-compression.xml": (
        "fmt/875",  # RDF/XML (rdf:RDF root) by Siegfried; fido v109: fmt/101 (XML)
        "signature",
    ),
}


def only(results: list, code: str):  # type: ignore[no-untyped-def]
    found = [r for r in results if r.content_code == code]
    assert len(found) == 1, results
    return found[0]


def check(path: Path) -> list:  # type: ignore[type-arg]
    return validate(path, identify([path])[path], object_name=path.name)


def test_pronom_ids_of_known_corpus_files() -> None:
    paths = [CORPUS / rel for rel in KNOWN]
    result = identify(paths)
    got = {str(p.relative_to(CORPUS)): (result[p].puid, result[p].method) for p in paths}
    assert got == KNOWN
    pdf = result[CORPUS / "variations/variations/application/pdf/lorem-ipsum.oo3.2.export.pdf"]
    assert pdf.mime == "application/pdf"
    assert pdf.format_version == "1.4"
    assert pdf.tool_versions["pronom_signatures"] == "v109"
    assert pdf.tool_versions["fido"] == "1.6.1"
    assert result[CORPUS / "jp2k-formats/balloon.jp2"].mime == "image/jp2"


def test_whole_corpus_identifies_and_validates_without_crashing() -> None:
    paths = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    result = identify(paths)
    assert set(result) == set(paths)
    statuses = {}
    for p in paths:
        for r in validate(p, result[p]):
            assert r.status in {"pass", "fail", "warn", "na"}
            statuses[(r.content_code, r.status)] = statuses.get((r.content_code, r.status), 0) + 1
    # the PDF "cabinet of horrors" and hand-built corpus hold many broken PDFs
    assert statuses[("3-2", "fail")] > 50
    assert statuses[("3-2", "pass")] > 50


def test_valid_corpus_files_pass() -> None:
    for rel, tool in [
        ("variations/variations/application/pdf/lorem-ipsum.oo3.2.export.pdf", "pikepdf"),
        ("jp2k-formats/balloon.jp2", "jpylyzer"),
        ("variations/variations/image/jpeg/lorem-ipsum.im.jpg", "Pillow"),
        ("tiff-examples/old-style-jpeg-compression/old-style-jpeg-compression.tif", "Pillow"),
        ("tiff-examples/old-style-jpeg-compression/old-style-jpeg-compression.xml", "lxml"),
    ]:
        r = only(check(CORPUS / rel), "3-2")
        assert (r.status, r.tool) == ("pass", tool), (rel, r)
        assert r.tool_version


def test_truncated_pdf_fails_usability(tmp_path: Path) -> None:
    src = CORPUS / "variations/variations/application/pdf/lorem-ipsum.oo3.2.export.pdf"
    data = src.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    r = only(check(cut), "3-2")
    assert (r.property, r.status, r.tool) == ("usability", "fail", "pikepdf")
    assert r.evidence["reason"].startswith("PDF")
    assert r.evidence.get("errors") or r.evidence.get("error")


def test_truncated_jpeg_fails_usability(tmp_path: Path) -> None:
    data = (CORPUS / "variations/variations/image/jpeg/lorem-ipsum.im.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) * 6 // 10])
    [r] = check(cut)
    assert (r.content_code, r.status, r.tool) == ("3-2", "fail", "Pillow")
    assert "truncated" in r.evidence["error"]


def test_truncated_jp2_fails(tmp_path: Path) -> None:
    data = (CORPUS / "jp2k-formats/balloon.jp2").read_bytes()
    cut = tmp_path / "cut.jp2"
    cut.write_bytes(data[: len(data) // 2])
    [r] = check(cut)
    assert (r.status, r.tool, r.evidence["isValid"]) == ("fail", "jpylyzer", "False")


def _pdf(path: Path, **save: object) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(path, **save)  # type: ignore[arg-type]
    return path


def test_pdf_encrypted_with_open_password_fails_3_4(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "enc.pdf", encryption=pikepdf.Encryption(user="u", owner="o"))
    results = check(path)
    assert only(results, "3-4").status == "fail"
    assert "加密" in only(results, "3-4").evidence["reason"]
    assert only(results, "3-2").status == "fail"  # cannot be opened without the password


def test_pdf_with_permissions_password_fails_3_4_but_opens(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "perm.pdf", encryption=pikepdf.Encryption(user="", owner="o"))
    results = check(path)
    assert only(results, "3-4").status == "fail"
    assert only(results, "3-2").status == "pass"


def test_plain_pdf_passes_both(tmp_path: Path) -> None:
    results = check(_pdf(tmp_path / "ok.pdf"))
    assert [(r.content_code, r.status) for r in results] == [("3-4", "pass"), ("3-2", "pass")]


def test_zero_byte_file_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.touch()
    ident = identify([empty])[empty]
    assert ident.method == "empty"
    [r] = validate(empty, ident)
    assert (r.content_code, r.status) == ("3-2", "fail")
    assert r.evidence["reason"] == "0 KB 文件视为无效"


def test_malformed_xml_fails(tmp_path: Path) -> None:
    bad = tmp_path / "文件目录.XML"
    bad.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<文件目录><文件>\n', encoding="utf-8")
    [r] = check(bad)
    assert (r.status, r.tool) == ("fail", "lxml")
    assert r.evidence["line"] >= 2


def test_xml_declaring_wrong_encoding_fails(tmp_path: Path) -> None:
    bad = tmp_path / "wrong.xml"
    bad.write_bytes('<?xml version="1.0" encoding="UTF-8"?><题名>档案</题名>'.encode("gb18030"))
    [r] = check(bad)
    assert r.status == "fail" and r.evidence["declared_encoding"] == "UTF-8"
    assert "UTF-8" in r.evidence["reason"]
    good = tmp_path / "gb.xml"
    good.write_bytes('<?xml version="1.0" encoding="GB18030"?><题名>档案</题名>'.encode("gb18030"))
    [r] = check(good)
    assert r.status == "pass" and r.evidence["encoding"] == "GB18030"


def test_xml_entity_bomb_does_not_expand(tmp_path: Path) -> None:
    lol = tmp_path / "lol.xml"
    ents = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    lol.write_text(
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{ents}]><r>&l9;</r>',
        encoding="utf-8",
    )
    [r] = check(lol)
    assert r.status in {"warn", "fail"}


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x13\x37LANTAI-unknown" + bytes(range(256)) * 4,  # libmagic: octet-stream
        bytes(range(256)) * 7 + b"\x00\xff\x13\x37",  # libmagic guesses a Targa image
    ],
)
def test_unknown_blob_warns(tmp_path: Path, data: bytes) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    ident = identify([blob])[blob]
    assert ident.puid is None and ident.method == "none"
    [r] = validate(blob, ident)
    assert (r.content_code, r.status) == ("3-2", "warn")
    assert r.evidence["reason"] == "未能识别文件格式"


def _ofd(path: Path, with_root: bool = True) -> Path:
    ofd_xml = (
        '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
        'Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID>'
        "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if with_root:
            zf.writestr("OFD.xml", ofd_xml)
        zf.writestr("Doc_0/Document.xml", '<?xml version="1.0"?><ofd:Document/>')
    return path


def test_ofd_structure(tmp_path: Path) -> None:
    good = check(_ofd(tmp_path / "good.ofd"))
    ok = only(good, "3-2")
    assert (ok.status, ok.tool) == ("pass", "ofd")
    assert only(good, "3-4").status == "pass"  # an OFD is a zip: not encrypted
    bad = only(check(_ofd(tmp_path / "bad.ofd", with_root=False)), "3-2")
    assert bad.status == "fail" and "OFD.xml" in bad.evidence["reason"]
    cut = tmp_path / "cut.ofd"
    cut.write_bytes((tmp_path / "good.ofd").read_bytes()[:100])
    assert only(check(cut), "3-2").status == "fail"


def _wav(path: Path) -> Path:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 8000)
    path.write_bytes(buf.getvalue())
    return path


def test_audio_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wav = _wav(tmp_path / "录音.wav")
    ident = identify([wav])[wav]
    assert format_checks.validator_kind(wav, ident) == "av"
    if format_checks.shutil.which("ffprobe"):
        [r] = validate(wav, ident)
        assert (r.status, r.tool) == ("pass", "ffprobe")
        junk = tmp_path / "junk.wav"
        junk.write_bytes(wav.read_bytes()[:44] + b"\xff" * 10)  # header only, claims 16000 bytes
        [r] = validate(junk, Identification(None, None, "audio/x-wav", "signature"))
        assert r.status in {"fail", "warn", "pass"}  # never raises; ffprobe reads headers only
    monkeypatch.setattr(format_checks.shutil, "which", lambda _name: None)
    [r] = validate(wav, ident)
    assert r.status == "na" and "ffprobe" in r.evidence["reason"]


def test_unreadable_and_hostile_inputs_never_raise(tmp_path: Path) -> None:
    png_header = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    fake_pdf = b"%PDF-1.7\n" + b"\x00garbage" * 100
    cases = {"a.png": png_header, "b.pdf": fake_pdf, "c.tif": b"II*\x00" + b"\xff" * 50}
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        results = check(p)
        assert results and all(r.status == "fail" for r in results if r.content_code == "3-2")
    missing = tmp_path / "gone.pdf"
    ident = identify([missing])[missing]
    assert ident.method == "error"
    assert validate(missing, ident)[0].status == "fail"


def test_identify_in_worker_processes_matches_one_process(tmp_path: Path) -> None:
    from lantai.demo.transfer import make_transfer
    from lantai.formats.identify import PARALLEL_MIN_FILES

    pkg = make_transfer(tmp_path / "pkg", PARALLEL_MIN_FILES, kinds=("pdf", "jpg", "xml"))
    files = sorted((pkg / "电子档案").rglob("*.*"))
    assert len(files) >= PARALLEL_MIN_FILES
    one = identify(files, processes=1)
    two = identify(files, processes=2)
    assert [(p, one[p].puid, one[p].mime) for p in files] == [
        (p, two[p].puid, two[p].mime) for p in files
    ]
    assert len({one[p].puid for p in files}) >= 3  # PDF, JPEG and XML each identified


def test_the_formats_stage_in_worker_processes_matches_one_process(tmp_path: Path) -> None:
    from lantai.demo.transfer import make_transfer
    from lantai.formats.identify import PARALLEL_MIN_FILES
    from lantai.formats.stage import CHUNK, check_files

    items = max(PARALLEL_MIN_FILES, 2 * CHUNK + 1)  # more than two chunks, the last one short
    pkg = make_transfer(tmp_path / "pkg", items, kinds=("pdf", "jpg", "tif", "xml"))
    (pkg / "电子档案" / "cut.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<")  # one that fails
    files = {p.name: p for p in sorted((pkg / "电子档案").rglob("*.*"))}
    seen: list[tuple[str, str | None]] = []
    two = check_files(files, processes=2, on_done=lambda rel, ident, _: seen.append(
        (rel, ident.puid if ident else None)
    ))  # fmt: skip
    one = check_files(files, processes=1)
    assert list(two) == list(files)  # in the order given
    assert {rel: [c.as_dict() for c in cs] for rel, cs in two.items()} == {
        rel: [c.as_dict() for c in cs] for rel, cs in one.items()
    }
    assert sorted(rel for rel, _ in seen) == sorted(files)  # each file reported once
    assert {puid for _, puid in seen} >= {"fmt/18", "fmt/41", "fmt/353", "fmt/101"}
    assert [c.status for c in two["cut.pdf"] if c.content_code == "3-2"] == ["fail"]
