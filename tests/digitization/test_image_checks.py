"""DA/T 31 page checks on generated scans: skew, blank pages, colour, resolution, duplicates, files
that are truncated, in the wrong format or badly compressed, and the item-level findings."""

from __future__ import annotations

import functools
import io
import random
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lantai.digitization import file_facts as fc
from lantai.digitization import image_checks as ic
from lantai.standards import dat31

FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
CODE = "0001-WS·2024-Y-BGS-0001"
TEXT = (
    "关于进一步加强纸质档案数字化工作的通知各区县档案局市直各单位为贯彻落实档案法有关规定"
    "提高档案信息化水平现将有关事项通知如下一要高度重视二要严格执行标准三要加强质量检查"
    "确保数字化成果真实完整可用安全请各单位于本年底前报送工作情况特此通知"
)
PAPER = 248
W, H = 850, 1200  # A4 at about 100 dpi: big enough to measure, small enough to be fast


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size, index=2)  # the SC face of the collection


def text_page(
    seed: int = 0, *, vertical: bool = False, mode: str = "L", seal: bool = False
) -> Image.Image:
    """A plausible official document: red or black heading, 26 lines of body text, page number."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (W, H), (PAPER, PAPER, 245))
    d = ImageDraw.Draw(im)
    heading = (190, 20, 20) if seal else (0, 0, 0)
    d.text((150, 90), "关于加强档案数字化工作的通知", font=font(34), fill=heading)
    body = font(22)
    if vertical:  # columns read right to left
        for col in range(20):
            x = W - 110 - col * 32
            for row in range(rnd.randint(18, 30)):
                d.text((x, 190 + row * 30), rnd.choice(TEXT), font=body, fill=(25, 25, 25))
    else:
        for line in range(26):
            n = 28 if rnd.random() > 0.25 else rnd.randint(8, 27)
            indent = 44 if line % 6 == 0 else 0
            chars = "".join(rnd.choice(TEXT) for _ in range(n))
            d.text((90 + indent, 190 + line * 34), chars, font=body, fill=(25, 25, 25))
    d.text((W // 2 - 20, H - 70), f"- {seed + 1} -", font=font(16), fill=(25, 25, 25))
    if seal:
        d.ellipse((520, 960, 680, 1120), outline=(210, 30, 30), width=5)
    return im if mode == "RGB" else im.convert(mode)


def rotated(im: Image.Image, degrees: float) -> Image.Image:
    fill = PAPER if im.mode == "L" else (PAPER, PAPER, 245)
    return im.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def noisy(im: Image.Image, sigma: float = 10.0, seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    a = np.asarray(im).astype(np.float32) + rng.normal(0, sigma, (im.height, im.width))
    specks = rng.random(a.shape) < 0.0005  # dust: single dark pixels
    a[specks] = 30
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def analyse(
    im: Image.Image, dpi: tuple[float, float] | None = (300, 300), **kw: object
) -> ic.PageFacts:
    args: dict[str, object] = {"file_format": "PNG", "compression": "deflate", "dpi": dpi}
    args.update(kw)
    return ic.analyse(im, **args)  # type: ignore[arg-type]


def finding(findings: list[dat31.Finding], code: str) -> dat31.Finding:
    (found,) = [f for f in findings if f.code == code]
    assert "{" not in found.message_zh + found.message_en, found  # every template filled
    return found


@functools.cache
def base_page() -> Image.Image:
    return text_page(1)


# --------------------------------------------------------------------------------------- skew


@pytest.mark.parametrize("angle", [-6.5, -2.0, 0.0, 1.2, 2.9, 4.0])
def test_skew_is_measured_to_two_tenths_of_a_degree(angle: float) -> None:
    facts = analyse(rotated(text_page(int(angle * 10) % 7), angle))
    assert facts.skew_degrees is not None
    assert abs(facts.skew_degrees - angle) <= 0.2, facts.skew_degrees
    skew = finding(ic.evaluate_page(facts), "skew")
    assert skew.result == ("pass" if abs(angle) <= 3 else "fail")
    assert skew.evidence["degrees"] == facts.skew_degrees and skew.evidence["max_degrees"] == 3.0


def test_skew_of_a_noisy_scan_and_of_vertical_text() -> None:
    assert abs((analyse(noisy(rotated(base_page(), -3.4))).skew_degrees or 99) + 3.4) <= 0.25
    vertical = analyse(rotated(text_page(2, vertical=True), 2.5))
    assert vertical.skew_degrees is not None and abs(vertical.skew_degrees - 2.5) <= 0.25


def test_a_photograph_has_no_skew_to_report() -> None:
    rng = np.random.default_rng(0)
    blobs = cv2.GaussianBlur(rng.integers(0, 255, (H, W)).astype(np.uint8), (0, 0), 25)
    photo = Image.fromarray(cv2.normalize(blobs, None, 0, 255, cv2.NORM_MINMAX))
    facts = analyse(photo)
    assert facts.skew_degrees is None and not facts.blank
    skew = finding(ic.evaluate_page(facts), "skew")
    assert skew.result == "na" and skew.evidence["reason"] == "no text lines found"


# ------------------------------------------------------------------------------ blank, colour


def test_blank_page_with_scanner_noise_is_blank_and_skew_is_not_measured() -> None:
    facts = analyse(noisy(Image.new("L", (W, H), 240)))
    assert facts.blank and facts.ink_ratio < 0.00001 and facts.skew_degrees is None
    findings = ic.evaluate_page(facts)
    assert finding(findings, "blank_page").result == "warn"
    skew = finding(findings, "skew")
    assert skew.result == "na" and skew.evidence["reason"] == "blank page"


def test_a_page_number_alone_or_a_faint_seal_alone_is_not_blank() -> None:
    number = Image.new("L", (W, H), PAPER)
    # 10.5 pt at 100 dpi is about 15 px: the smallest page number a scan will show
    ImageDraw.Draw(number).text((W // 2, H - 70), "1", font=font(15), fill=60)
    seal = Image.new("RGB", (W, H), (PAPER, PAPER, 245))
    ImageDraw.Draw(seal).ellipse((500, 700, 660, 860), outline=(235, 160, 160), width=3)
    for im in (noisy(number), seal):
        facts = analyse(im)
        assert not facts.blank, facts.ink_ratio
        assert finding(ic.evaluate_page(facts), "blank_page").result == "pass"
    assert analyse(seal).colour_present


def test_colour_mode_stored_versus_what_the_pixels_hold() -> None:
    black_on_white_rgb = analyse(text_page(3, mode="RGB"))
    assert black_on_white_rgb.stored_mode == "colour" and black_on_white_rgb.mode == "grey"
    assert not black_on_white_rgb.colour_present
    sealed = analyse(text_page(3, mode="RGB", seal=True))
    assert sealed.colour_present and sealed.mode == "colour" and sealed.colour_ratio > 0.0005
    bitonal = analyse(text_page(3).point(lambda v: 255 if v > 140 else 0).convert("1"))
    assert bitonal.stored_mode == bitonal.mode == "bitonal"

    assert finding(ic.evaluate_page(bitonal, "general"), "colour_mode").result == "warn"
    grey = analyse(text_page(3))
    assert grey.stored_mode == "grey"
    fail = finding(ic.evaluate_page(grey, "facsimile"), "colour_mode")
    assert fail.result == "fail" and "彩色" in fail.message_zh
    assert finding(ic.evaluate_page(sealed, "facsimile"), "colour_mode").result == "pass"


def test_every_page_finding_is_filled_in_both_languages_for_every_purpose() -> None:
    pages = [
        analyse(text_page(4, mode="RGB", seal=True)),
        analyse(Image.new("L", (W, H), 240), None, file_format="TIFF", compression="lzw"),
        analyse(Image.new("1", (W, H), 1), file_format="BMP", compression="none"),
    ]
    for purpose in (p.key for p in dat31.purposes()):
        for facts in pages:
            findings = ic.evaluate_page(facts, purpose)
            assert [f.code for f in findings] == [
                "resolution",
                "colour_mode",
                "skew",
                "blank_page",
                "compression",
            ]
            for f in findings:
                finding(findings, f.code)
                assert re.search(r"[\u4e00-\u9fff]", f.message_zh), f
                assert not re.search(r"[\u4e00-\u9fff]", f.message_en), f


# --------------------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("dpi", "purpose", "result"),
    [
        ((150, 150), "general", "fail"),
        ((200, 200), "general", "pass"),
        ((299.9994, 299.9994), "ocr", "pass"),  # what scanners write for 300
        ((300, 200), "ocr", "fail"),  # the lower axis counts
        ((300, 300), "facsimile", "fail"),
        ((600, 600), "facsimile", "pass"),
        ((300, 300), "photo", "fail"),
    ],
)
def test_resolution_against_the_purpose(
    dpi: tuple[float, float], purpose: str, result: str
) -> None:
    found = finding(ic.evaluate_page(analyse(base_page(), dpi), purpose), "resolution")
    assert found.result == result
    assert found.evidence["min_dpi"] == dat31.min_dpi(purpose)


def test_missing_resolution_is_a_finding_with_the_a4_estimate() -> None:
    found = finding(ic.evaluate_page(analyse(base_page(), None), "ocr"), "resolution")
    assert found.result == "warn" and found.evidence["dpi"] is None
    assert found.evidence["implied_dpi_if_a4"] == round(H / (297 / 25.4))
    assert "未记录分辨率" in found.message_zh


# --------------------------------------------------------------------------------- duplicates


def test_same_page_rescanned_is_near_and_a_different_page_is_far() -> None:
    page = base_page()
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=60)
    reencoded = Image.open(io.BytesIO(buffer.getvalue()))
    shifted = page.transform(
        page.size, Image.Transform.AFFINE, (1, 0, -12, 0, 1, -9), fillcolor=PAPER
    )
    turned = rotated(page, 1.0)
    h = analyse(page).phash
    assert re.fullmatch(r"[0-9a-f]{16}", h)
    limit = dat31.threshold("duplicate_page", "max_distance")
    for same in (reencoded, shifted, turned):
        assert ic.hamming(h, analyse(same).phash) <= limit
    for other in (text_page(2), text_page(5), text_page(1, vertical=True)):
        assert ic.hamming(h, analyse(other).phash) > limit


def test_near_duplicates_buckets_find_what_all_pairs_find() -> None:
    rng = random.Random(7)
    hashes = [(n, f"{rng.getrandbits(64):016x}") for n in range(2000)]
    for n in range(0, 2000, 100):  # plant near copies 0..8 bits away
        value = int(hashes[n][1], 16)
        for bit in rng.sample(range(64), n % 9):
            value ^= 1 << bit
        hashes.append((10000 + n, f"{value:016x}"))
    # six flipped bits spread so that each lands in a different sixth of the 64: only a split
    # into seven chunks (pigeonhole: distance + 1) still has one chunk in common
    spread = sum(1 << b for b in (0, 11, 22, 33, 44, 55))
    hashes += [(20000, "0123456789abcdef"), (20001, f"{0x0123456789ABCDEF ^ spread:016x}")]
    found = ic.near_duplicates(hashes, 6)
    brute = [
        (a, b, ic.hamming(ha, hb))
        for i, (a, ha) in enumerate(hashes)
        for b, hb in hashes[i + 1 :]
        if ic.hamming(ha, hb) <= 6
    ]
    assert found == brute and len(found) >= 15 and (20000, 20001, 6) in found
    assert ic.near_duplicates([(1, "0" * 16), (2, "0" * 15 + "f")], 3) == []
    assert ic.near_duplicates([(1, "0" * 16), (2, "0" * 15 + "f")], 4) == [(1, 2, 4)]


# ------------------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("scans")
    page = base_page()
    bitonal = page.point(lambda v: 255 if v > 140 else 0).convert("1")
    bitonal.save(d / "g4.tif", compression="group4", dpi=(300, 300))
    bitonal.save(d / "bw-lzw.tif", compression="tiff_lzw", dpi=(300, 300))
    page.save(d / "lzw.tif", compression="tiff_lzw", dpi=(300, 300))
    page.save(d / "q90.jpg", quality=90, dpi=(300, 300))
    page.save(d / "q40.jpg", quality=40, dpi=(300, 300))
    page.save(d / "page.png")
    page.save(d / "page.bmp")
    page.save(d / "png-named.jpg", format="PNG")
    page.save(d / "three.tif", save_all=True, append_images=[page, page], compression="tiff_lzw")
    page.convert("RGB").save(d / "two.pdf", save_all=True, append_images=[page.convert("RGB")])
    for name in ("lzw.tif", "g4.tif", "q90.jpg", "page.png", "two.pdf"):
        data = (d / name).read_bytes()
        (d / f"cut-{name}").write_bytes(data[: len(data) * 2 // 3])
    (d / "empty.tif").write_bytes(b"")
    return d


def test_tiff_compression_g4_for_bitonal_lzw_for_grey(files: Path) -> None:
    g4, bw_lzw, lzw = (fc.file_facts(files / n) for n in ("g4.tif", "bw-lzw.tif", "lzw.tif"))
    assert (g4.compression, bw_lzw.compression, lzw.compression) == ("group4", "lzw", "lzw")
    assert g4.readable and g4.dpi == (300.0, 300.0) and g4.pillow_mode == "1"

    def compression(ff: fc.FileFacts) -> dat31.Finding:
        with Image.open(ff.path) as im:
            facts = analyse(im, ff.dpi, file_format=ff.format, compression=ff.compression)
        return finding(ic.evaluate_page(facts), "compression")

    assert compression(g4).result == "pass"
    warn = compression(bw_lzw)
    assert warn.result == "warn" and "group4" in warn.message_zh
    assert compression(lzw).result == "pass"


def test_truncated_and_empty_files_fail_integrity(files: Path) -> None:
    for name in (
        "cut-lzw.tif",
        "cut-g4.tif",
        "cut-q90.jpg",
        "cut-page.png",
        "cut-two.pdf",
        "empty.tif",
    ):
        ff = fc.file_facts(files / name)
        assert not ff.readable and ff.truncated and ff.error, name
        integrity = finding(fc.evaluate_file(ff), "file_integrity")
        assert integrity.result == "fail" and integrity.evidence["truncated"], name
        assert "损坏或截断" in integrity.message_zh


def test_whole_files_decode_and_count_their_frames(files: Path) -> None:
    three, pdf, jp = (fc.file_facts(files / n) for n in ("three.tif", "two.pdf", "q90.jpg"))
    assert (three.frames, pdf.frames, jp.frames) == (3, 2, 1)
    assert pdf.format == "PDF" and pdf.compression == "jpeg"
    for ff in (three, pdf, jp):
        integrity, fmt = fc.evaluate_file(ff)
        assert integrity.result == "pass" and integrity.evidence["frames"] == ff.frames
        assert fmt.result == "pass"


def test_format_from_content_not_suffix(files: Path) -> None:
    bmp = fc.evaluate_file(fc.file_facts(files / "page.bmp"))
    assert finding(bmp, "file_format").result == "fail"
    assert "BMP" in finding(bmp, "file_format").message_en
    disguised = fc.file_facts(files / "png-named.jpg")
    assert disguised.format == "PNG"
    found = finding(fc.evaluate_file(disguised), "file_format")
    assert found.result == "warn" and found.evidence["suffix"] == ".jpg"


def test_jpeg_quality_is_estimated_and_very_low_quality_warns(files: Path) -> None:
    q90, q40 = fc.file_facts(files / "q90.jpg"), fc.file_facts(files / "q40.jpg")
    assert (q90.jpeg_quality, q40.jpeg_quality) == (90, 40)
    results = []
    for ff in (q90, q40):
        facts = analyse(
            base_page(), file_format="JPEG", compression="jpeg", jpeg_quality=ff.jpeg_quality
        )
        results.append(finding(ic.evaluate_page(facts), "compression").result)
    assert results == ["pass", "warn"]


# -------------------------------------------------------------------------------------- items


def hashes_for(pages: list[Image.Image]) -> list[tuple[int, str | None]]:
    out: list[tuple[int, str | None]] = []
    for n, im in enumerate(pages, 1):
        f = analyse(im)
        out.append((n, None if f.blank else f.phash))
    return out


def test_a_complete_item_passes_with_evidence() -> None:
    pages = [text_page(i) for i in range(3)] + [Image.new("L", (W, H), 240)] * 2
    findings = ic.evaluate_item(
        CODE,
        [1, 2, 3, 4, 5],
        5,
        page_names=[f"{CODE}-{n:04d}" for n in range(1, 6)],
        phashes=hashes_for(pages),  # two blank backs are not a rescan
    )
    assert {f.code: f.result for f in findings} == {
        "naming": "pass",
        "page_sequence": "pass",
        "page_count": "pass",
        "duplicate_page": "pass",
    }
    assert finding(findings, "duplicate_page").evidence["examined"] == 3


def test_missing_page_and_a_page_scanned_twice() -> None:
    missed = ic.evaluate_item(CODE, [1, 2, 4], 4)
    assert (
        finding(missed, "page_count").result == "fail"
        and "漏扫 1 页" in finding(missed, "page_count").message_zh
    )
    assert finding(missed, "page_sequence").evidence["missing"] == [3]
    assert (
        finding(missed, "naming").result == "na"
        and finding(missed, "duplicate_page").result == "na"
    )

    page = base_page()
    rescanned = rotated(page, 0.6)
    twice = ic.evaluate_item(
        CODE, [1, 2, 3, 3], 3, phashes=hashes_for([text_page(0), page, rescanned, text_page(4)])
    )
    count = finding(twice, "page_count")
    assert (
        count.result == "fail" and count.evidence["extra_pages"] == 1 and "重扫" in count.message_zh
    )
    assert finding(twice, "page_sequence").evidence["repeated"] == [3]
    dup = finding(twice, "duplicate_page")  # turned a little: near, for a person to confirm
    assert dup.result == "warn" and [p[:2] for p in dup.evidence["pairs"]] == [[2, 3]]
    same = ic.evaluate_item(
        CODE, [1, 2, 3], 3, phashes=hashes_for([text_page(0), page, page.copy()])
    )
    dup = finding(same, "duplicate_page")  # the same sheet again
    assert dup.result == "fail" and [p[:2] for p in dup.evidence["pairs"]] == [[2, 3]]


def test_bad_names_unknown_page_count_and_gaps() -> None:
    names = [f"{CODE}-0001", f"{CODE}-0002", "扫描件3", "0001-WS·2024-Y-BGS-0009-0004"]
    found = ic.evaluate_item(CODE, [1, 2, 5], None, page_names=names)
    naming = finding(found, "naming")
    assert naming.result == "fail" and naming.evidence["count"] == 2
    assert [b["name"] for b in naming.evidence["bad"]] == names[2:]
    assert finding(found, "page_count").result == "na"
    assert finding(found, "page_sequence").evidence["missing"] == [3, 4]
    assert "缺页号 3-4" in finding(found, "page_sequence").message_zh
    empty = ic.evaluate_item(CODE, [], 2, page_names=[])
    assert [f.result for f in empty] == ["na", "na", "fail", "na"]


def test_batch_duplicates_across_items_only_warn() -> None:
    h1, h2 = analyse(text_page(0)).phash, analyse(text_page(6)).phash
    same = analyse(rotated(text_page(0), 0.4)).phash
    found = ic.evaluate_batch_duplicates([("A-0001", h1), ("B-0001", h2), ("C-0003", same)])
    assert found.result == "warn" and [p[:2] for p in found.evidence["pairs"]] == [
        ["A-0001", "C-0003"]
    ]


def test_sample_inspection() -> None:
    assert ic.evaluate_sample(100, 5, [True] * 40).result == "pass"
    small = ic.evaluate_sample(100, 4, [True] * 30)
    assert small.result == "fail" and "5" in small.message_zh
    bad = ic.evaluate_sample(100, 5, [True] * 39 + [False])
    assert bad.result == "fail" and bad.evidence["failed"] == 1
    assert ic.evaluate_sample(100, 5, []).result == "na"
