"""`lantai bench ocr`: Chinese OCR of generated A4 pages (300 dpi) with known text.

Pages: plausible official documents (通知/报告/批复/函: 发文机关, 文号, title, 主送, body
paragraphs, 落款 and date) rendered with the Noto Serif/Sans CJK fonts; each page once clean
(PNG) and once degraded (turned by up to ±1.5°, blurred, grain noise, saved as JPEG quality 45).

Contenders, each in its own child process (own peak RSS = ru_maxrss, own CPU time), on the same
page files, in the same run:
  lantai     Lantai's OcrEngine, one worker pinned to 1 onnxruntime thread
  naive      ``RapidOCR()`` with its default settings, made once, called once per page
  tesseract  Debian tesseract chi_sim --psm 6 (OMP_THREAD_LIMIT=1), one process per page
The engines are made and warmed on one page before the clock starts.

CER = Levenshtein distance between the recognised and the reference text, both without
whitespace, divided by the reference length (summed over the pages of a kind).
Pages per minute per core = pages / CPU minutes of the child (user + system, its subprocesses
included): a contender that spreads over several cores pays for each of them.
Targets: lantai CER ≤ 0.5% clean, ≤ 2% degraded; lantai pages/min/core ≥ 2× naive.
``--ablation`` adds Lantai's engine with one choice undone at a time (detector input 2000 px as
rapidocr's default, recognition batches of 6, 2 onnxruntime threads): what each choice buys.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FONTS = Path("/usr/share/fonts/opentype/noto")
A4_300 = (2480, 3508)
CONTENDERS = ("lantai", "naive", "tesseract")
# Lantai's engine with one choice undone: rapidocr's detector size, its batch of 6, 2 threads
ABLATIONS = ("lantai:det=2000", "lantai:batch=6", "lantai:threads=2")

ORGANS = [
    "某市档案局",
    "某省人民政府办公厅",
    "某县财政局",
    "某市教育委员会",
    "某区卫生健康委员会",
    "某市自然资源和规划局",
    "某省文化和旅游厅",
    "某市交通运输局",
]
KINDS = ["通知", "报告", "批复", "函", "意见", "通报"]
SUBJECTS = [
    "做好二〇二四年度档案移交工作",
    "加强文书档案规范化管理",
    "开展数字化成果质量检查",
    "调整城市道路养护经费",
    "推进政务信息资源共享",
    "组织开展安全生产大检查",
    "申请建设档案馆新馆",
    "做好防汛抗旱准备工作",
    "表彰先进集体和个人",
    "开展重点档案抢救保护",
]
RECIPIENTS = [
    "各区县人民政府，市政府各委、办、局：",
    "各直属单位：",
    "市人民政府：",
    "各有关单位：",
    "局机关各处室，各下属单位：",
]
SENTENCES = [
    "为贯彻落实国家有关档案工作的法律法规，进一步提高档案管理水平，现就有关事项通知如下。",
    "各单位要高度重视，明确分管领导和具体责任人，确保各项工作按时完成。",
    "经研究，同意你单位提出的实施方案，请按照批准的范围和标准组织实施。",
    "请于本年十二月三十一日前将工作总结报送市档案局业务指导处。",
    "档案移交时应当编制移交清单，一式三份，交接双方签字盖章后各执一份。",
    "数字化成果应当符合有关标准的要求，图像清晰完整，元数据准确齐全。",
    "对检查中发现的问题，要认真分析原因，制定整改措施，限期整改到位。",
    "本年度共接收档案一万二千三百四十五卷，其中永久保管五千六百七十八卷。",
    "所需经费从年度部门预算中列支，严格执行财务管理制度，专款专用。",
    "各地要结合实际，创新工作方法，总结推广好的经验和做法。",
    "如有疑问，请与市档案局办公室联系，联系电话八八六六五五四四。",
    "会议听取了工作情况汇报，研究部署了下一阶段的重点任务。",
    "涉及国家秘密的档案，必须按照保密规定进行管理，严防失泄密。",
    "二〇二三年全市新建标准化档案室四十二个，馆藏条件明显改善。",
    "请各单位认真组织学习，切实把思想和行动统一到会议精神上来。",
    "项目总投资三千二百万元，建设期限为两年，建成后可容纳档案八十万卷。",
]

Render = tuple[Any, list[str]]


def _font(name: str, size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(FONTS / name), size, index=2)  # index 2: the SC face


def _wrap(text: str, per_line: int, indent: bool) -> list[str]:
    text = ("\u3000\u3000" if indent else "") + text
    return [text[i : i + per_line] for i in range(0, len(text), per_line)]


def make_page(seed: int, size: tuple[int, int] = A4_300, dpi: int = 300) -> tuple[Any, str]:
    """One generated document page and its reference text (lines joined by newlines)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    scale = size[0] / A4_300[0]
    serif = rng.random() < 0.6
    body_face = "NotoSerifCJK-Regular.ttc" if serif else "NotoSansCJK-Regular.ttc"
    px = lambda v: max(8, round(v * scale))  # noqa: E731
    img = Image.new("L", size, 255)
    draw = ImageDraw.Draw(img)
    margin_x, y = px(300), px(280)
    width = size[0] - 2 * margin_x
    ref: list[str] = []

    def put(
        text: str, font: Any, *, center: bool = False, right: bool = False, fill: int = 0
    ) -> None:
        nonlocal y
        w = draw.textlength(text, font=font)
        x = margin_x + (width - w) / 2 if center else (margin_x + width - w if right else margin_x)
        draw.text((x, y), text, font=font, fill=fill)
        ref.append(text)
        y += round(font.size * 1.6)

    organ, kind, subject = rng.choice(ORGANS), rng.choice(KINDS), rng.choice(SUBJECTS)
    year = rng.randint(2015, 2024)
    put(f"{organ}文件", _font("NotoSerifCJK-Bold.ttc", px(96)), center=True, fill=30)
    number = f"{organ[-3:-1] if len(organ) > 3 else organ}发〔{year}〕{rng.randint(1, 199)}号"
    put(number, _font(body_face, px(50)), center=True)
    y += px(40)
    put(f"关于{subject}的{kind}", _font("NotoSansCJK-Bold.ttc", px(66)), center=True)
    body = _font(body_face, px(56))
    per_line = int(width // body.size)
    put(rng.choice(RECIPIENTS), body)
    limit = size[1] - px(520)
    while y < limit:
        para = "".join(rng.sample(SENTENCES, rng.randint(2, 3)))
        for line in _wrap(para, per_line, True):
            if y >= limit:
                break
            put(line, body)
    y += px(30)
    put(organ, body, right=True)
    put(f"{year}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日", body, right=True)
    img.info["dpi"] = (dpi, dpi)
    return img, "\n".join(ref)


def degrade(img: Any, seed: int) -> Any:
    """A worse scan: slight turn, blur, grain noise (the JPEG compression is applied on saving)."""
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    angle = rng.uniform(0.5, 1.5) * rng.choice((-1, 1))
    out = img.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.3)))
    arr = np.asarray(out, dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0, 14, arr.shape)
    out = Image.fromarray(np.clip(arr + noise + 6, 0, 255).astype(np.uint8), "L")
    out.info["dpi"] = img.info.get("dpi", (300, 300))
    return out


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute = 1), one numpy row at a time: the row's
    left-to-right dependency is a running minimum of (value - index)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    idx = np.arange(len(b) + 1, dtype=np.int64)
    prev = idx.copy()
    for i, ch in enumerate(a, 1):
        cost = (bb != ord(ch)).astype(np.int64)
        tmp = np.empty_like(prev)
        tmp[0] = i
        tmp[1:] = np.minimum(prev[1:] + 1, prev[:-1] + cost)
        prev = np.minimum.accumulate(tmp - idx) + idx
    return int(prev[-1])


def squeeze(text: str) -> str:
    return "".join(text.split())


def cer(hypothesis: str, reference: str) -> float:
    ref = squeeze(reference)
    return levenshtein(squeeze(hypothesis), ref) / max(1, len(ref))


def write_pages(n: int, folder: Path, size: tuple[int, int] = A4_300) -> list[dict[str, Any]]:
    """`n` clean PNG pages and their degraded JPEG twins in `folder`, with the reference texts."""
    pages = []
    for i in range(n):
        img, ref = make_page(1000 + i, size)
        clean = folder / f"page-{i:03d}-clean.png"
        img.save(clean, dpi=img.info["dpi"])
        bad = folder / f"page-{i:03d}-degraded.jpg"
        degrade(img, 2000 + i).save(bad, quality=45, dpi=img.info["dpi"])
        pages.append({"clean": str(clean), "degraded": str(bad), "reference": ref})
    return pages


# --- child: one contender over the page files ----------------------------------------------------


def _cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def phase_contender(name: str, files: list[str]) -> dict[str, Any]:
    from PIL import Image

    if name.startswith("lantai"):
        from lantai.digitization import ocr as lantai_ocr

        # "lantai" or an ablation such as "lantai:det=2000,batch=6,threads=2"
        opts = dict(kv.split("=") for kv in name.partition(":")[2].split(",") if kv)
        threads = int(opts.get("threads", 1))
        det, batch = (
            int(opts.get("det", lantai_ocr.DET_MAX_SIDE)),
            int(opts.get("batch", lantai_ocr.REC_BATCH)),
        )
        engine: Any = lantai_ocr.OcrEngine(threads=threads, det_max_side=det, rec_batch=batch)
        settings = {"threads": threads, "det_max_side": det, "rec_batch": batch, "cls": False}
        label = engine.engine

        def read(img: Any) -> str:
            return str(engine.read(img).text)
    elif name == "naive":
        from importlib.metadata import version

        from rapidocr import RapidOCR

        ocr = RapidOCR(params={"Global.log_level": "error"})
        settings = {"defaults": True, "onnxruntime_threads": "default (all cores)"}
        label = f"rapidocr {version('rapidocr')} RapidOCR() defaults"

        def read(img: Any) -> str:
            arr = np.asarray(img.convert("RGB"))[:, :, ::-1]
            out = ocr(np.ascontiguousarray(arr))
            return "\n".join(out.txts or ()) if getattr(out, "txts", None) else ""
    else:
        from lantai.digitization.ocr import TesseractEngine

        tess = TesseractEngine(threads=1)
        settings = {"lang": "chi_sim", "psm": 6, "OMP_THREAD_LIMIT": 1}
        label = tess.engine

        def read(img: Any) -> str:
            return str(tess.read(img).text)

    with Image.open(files[0]) as warm:
        read(warm.copy())
    texts, seconds = [], []
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            im.load()
            t = time.perf_counter()
            texts.append(read(im))
            seconds.append(time.perf_counter() - t)
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "engine": label,
        "settings": settings,
        "texts": texts,
        "page_seconds": seconds,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "peak_rss_mib": round(common.peak_rss_mib(), 1),
        "peak_rss_children_mib": round(kids, 1),
    }


# --- parent ---------------------------------------------------------------------------------------


def run(
    pages: int = 10,
    out: Path | None = None,
    *,
    contenders: tuple[str, ...] = CONTENDERS,
    size: tuple[int, int] = A4_300,
    ablation: bool = False,
) -> dict[str, Any]:
    """Generate `pages` pages (each clean and degraded), run every contender on them, score and
    save. With `ablation`, Lantai's engine also runs with one optimisation undone at a time."""
    if ablation:
        contenders = (*contenders, *ABLATIONS)
    folder = Path(tempfile.mkdtemp(prefix="lantai-bench-ocr-"))
    try:
        generated = write_pages(pages, folder, size)
        files = [p["clean"] for p in generated] + [p["degraded"] for p in generated]
        listing = folder / "files.json"
        listing.write_text(json.dumps(files))
        env = dict(os.environ)
        results: dict[str, Any] = {}
        for name in contenders:
            if name == "tesseract" and not shutil.which("tesseract"):
                results[name] = {"skipped": "tesseract not installed"}
                continue
            child = common.run_child(
                Path(__file__).resolve(), ["--phase", name, "--listing", str(listing)], env
            )
            results[name] = _score(child, generated)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result: dict[str, Any] = {
        "benchmark": "ocr",
        "pages": pages,
        "page_size_px": list(size),
        "dpi": 300,
        "contenders": results,
        "machine": common.machine(),
    }
    lantai, naive = results.get("lantai"), results.get("naive")
    if lantai and "cer" in lantai:
        result["meets_target"] = {
            "lantai_cer_clean_le_0.5%": lantai["cer"]["clean"] <= 0.005,
            "lantai_cer_degraded_le_2%": lantai["cer"]["degraded"] <= 0.02,
        }
        if naive and "cer" in naive:
            ratio = lantai["pages_per_min_per_core"] / naive["pages_per_min_per_core"]
            result["speedup_per_core_vs_naive"] = round(ratio, 2)
            result["meets_target"]["per_core_ge_2x_naive"] = ratio >= 2
    result["saved_to"] = str(common.save("ocr", result, out))
    return result


def _score(child: dict[str, Any], generated: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(generated)
    texts = child["texts"]
    out: dict[str, Any] = {"engine": child["engine"], "settings": child["settings"]}
    cer_kind = {}
    per_page = []
    for kind, offset in (("clean", 0), ("degraded", n)):
        dist = total = 0
        for i, page in enumerate(generated):
            ref = squeeze(page["reference"])
            d = levenshtein(squeeze(texts[offset + i]), ref)
            dist, total = dist + d, total + len(ref)
            per_page.append({"page": i, "kind": kind, "cer": round(d / max(1, len(ref)), 5)})
        cer_kind[kind] = round(dist / max(1, total), 5)
    cpu = child["cpu_seconds"]
    out["cer"] = cer_kind
    out["cer_per_page"] = per_page
    out["pages_timed"] = 2 * n
    out["wall_seconds"] = round(child["wall_seconds"], 2)
    out["cpu_seconds"] = round(cpu, 2)
    out["cores_busy"] = round(cpu / child["wall_seconds"], 2)
    out["seconds_per_page"] = round(child["wall_seconds"] / (2 * n), 3)
    out["pages_per_min"] = round(2 * n / child["wall_seconds"] * 60, 2)
    out["pages_per_min_per_core"] = round(2 * n / cpu * 60, 2)
    out["peak_rss_mib"] = child["peak_rss_mib"]
    if child["peak_rss_children_mib"]:
        out["peak_rss_subprocess_mib"] = child["peak_rss_children_mib"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase")
    parser.add_argument("--listing", type=Path)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--ablation", action="store_true")
    args = parser.parse_args()
    if args.phase:
        files = json.loads(args.listing.read_text())
        print(json.dumps(phase_contender(args.phase, files), ensure_ascii=False))
    else:
        print(
            json.dumps(
                run(args.pages, args.out, ablation=args.ablation), ensure_ascii=False, indent=2
            )
        )


if __name__ == "__main__":
    main()
