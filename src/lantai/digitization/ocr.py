"""Chinese OCR of page images: rapidocr (PP-OCR models bundled in its wheel, onnxruntime) and
Tesseract chi_sim as the peer / optional engine.

Why not call ``RapidOCR()(image)`` as it comes (measured in bench/ocr_bench.py):
- the onnxruntime sessions are made once per process (`get_engine`) and pinned to this worker's
  share of the cores (intra-op = `threads`, inter-op = 1): two workers on two cores do not fight;
- the detector sees the page downscaled to `DET_MAX_SIDE` (text on a 300 dpi page is far larger
  than the detector needs) while the recognition crops are cut from the original pixels, so the
  recogniser reads sharp lines and the boxes stay in original coordinates;
- recognition batches are sized by measurement (`REC_BATCH`; rapidocr's default is 6);
- the 0/180° angle classifier is skipped: archival page images come upright (a page scanned upside
  down is a DA/T 31 finding, not something to guess per line).
Nothing is downloaded: the models are the three ``.onnx`` files inside the rapidocr wheel.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
from PIL import Image

# Measured with `bench/ocr_bench.py --ablation` (generated A4 pages at 300 dpi, clean + degraded,
# 2-core machine shared with other work; pages per CPU-minute, same CER within ±0.1%):
#   this engine 22.3 · detector input 2000 px (rapidocr's default) 11.1 · recognition batches of
#   6 (rapidocr's default) 17.0 · 2 onnxruntime threads 12.9 · naive RapidOCR() 7.6.
# Body text of a 300 dpi page stays ≥ 15 px high for the detector at 1024 px; batches of one
# avoid padding every crop to the widest of its batch and halve the peak RSS (490 vs 800 MiB).
DET_MAX_SIDE = 1024  # longest side of the detector's input (an A4 page at 300 dpi is 3508)
REC_BATCH = 1  # recognition crops per onnxruntime call (see above: 1 is fastest on a pinned core)
TEXT_SCORE = 0.5  # lines recognised with less confidence are dropped (rapidocr's default)
VERTICAL_RATIO = 1.5  # a box this many times taller than wide is a vertical line


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of the original image
    confidence: float


@dataclass
class OcrPage:
    lines: list[OcrLine]
    width: int
    height: int
    seconds: float
    engine: str
    vertical: bool = False

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def mean_confidence(self) -> float:
        """Character-weighted mean confidence (0 for a page without text)."""
        total = sum(len(line.text) for line in self.lines)
        if not total:
            return 0.0
        return sum(line.confidence * len(line.text) for line in self.lines) / total


def threads_for_worker(workers: int, cores: int | None = None) -> int:
    """onnxruntime threads for one of `workers` OCR processes on a machine with `cores` cores."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return max(1, cores // max(1, workers))


def _to_bgr(image: Image.Image) -> np.ndarray:
    if image.mode not in ("RGB", "L"):
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            # 16-bit greyscale scans: scale to 8 bits instead of clipping to white
            arr = np.asarray(image, dtype=np.float32)
            top = float(arr.max()) or 1.0
            image = Image.fromarray((arr * (255.0 / top)).astype(np.uint8), "L")
        elif image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, image).convert("RGB")
        else:
            image = image.convert("RGB")
    arr = np.asarray(image)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    return np.ascontiguousarray(arr[:, :, ::-1])


def order_lines(lines: list[OcrLine]) -> tuple[list[OcrLine], bool]:
    """Reading order and whether the page is vertical (most boxes tall and narrow): horizontal
    pages row by row top to bottom, a row left to right; vertical pages column by column right to
    left, a column top to bottom."""
    if not lines:
        return [], False
    tall = sum(
        1 for ln in lines if (ln.box[3] - ln.box[1]) >= VERTICAL_RATIO * (ln.box[2] - ln.box[0])
    )
    vertical = tall * 2 > len(lines)
    # across = the axis along which rows (columns) follow each other
    if vertical:

        def across(ln: OcrLine) -> tuple[float, float]:
            return -(ln.box[0] + ln.box[2]) / 2, float(ln.box[2] - ln.box[0])

        def along(ln: OcrLine) -> float:
            return float(ln.box[1])
    else:

        def across(ln: OcrLine) -> tuple[float, float]:
            return (ln.box[1] + ln.box[3]) / 2, float(ln.box[3] - ln.box[1])

        def along(ln: OcrLine) -> float:
            return float(ln.box[0])

    pending = sorted(lines, key=lambda ln: across(ln)[0])
    groups: list[list[OcrLine]] = []
    centre = extent = 0.0
    for ln in pending:
        c, e = across(ln)
        # same row when the centres are closer than half the smaller line's extent
        if groups and abs(c - centre) < min(e, extent) / 2:
            groups[-1].append(ln)
            n = len(groups[-1])
            centre += (c - centre) / n
            extent = max(extent, e)
        else:
            groups.append([ln])
            centre, extent = c, e
    ordered = [ln for g in groups for ln in sorted(g, key=along)]
    return ordered, vertical


def _rapidocr_params(threads: int) -> dict[str, Any]:
    return {
        "Global.log_level": "error",
        "Global.use_cls": False,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "Rec.rec_batch_num": REC_BATCH,
        # the input is already scaled to DET_MAX_SIDE: let the detector keep it as it is
        "Det.limit_type": "min",
        "Det.limit_side_len": 32,
    }


class OcrEngine:
    """rapidocr with sessions made once, pinned threads, a downscaled detector input, crops cut
    from the original image and batched recognition. Not thread-safe: one per process/thread."""

    def __init__(
        self,
        threads: int = 1,
        *,
        det_max_side: int = DET_MAX_SIDE,
        rec_batch: int = REC_BATCH,
        device: str = "cpu",
    ) -> None:
        from rapidocr import RapidOCR

        params = _rapidocr_params(threads)
        params["Rec.rec_batch_num"] = rec_batch
        if device == "cuda":  # LANTAI_OCR_DEVICE: a GPU worker (onnxruntime-gpu installed)
            import onnxruntime

            if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                # rapidocr would fall back to the CPU with a warning: say so instead
                raise RuntimeError(
                    "LANTAI_OCR_DEVICE=cuda, but this onnxruntime has no CUDA provider "
                    f"({onnxruntime.get_available_providers()}): install onnxruntime-gpu"
                )
            params["EngineConfig.onnxruntime.use_cuda"] = True
        elif device != "cpu":
            raise ValueError(f"unknown OCR device {device!r}: cpu or cuda")
        self.device = device
        self.threads = threads
        self.det_max_side = det_max_side
        self._ocr = RapidOCR(params=params)
        cfg = self._ocr.cfg
        self._det = self._ocr._load_det_model()  # type: ignore[no-untyped-call]
        self._rec = self._ocr._load_rec_model()  # type: ignore[no-untyped-call]
        self.engine = (
            f"rapidocr {version('rapidocr')} {cfg.Det.ocr_version.value} "
            f"{cfg.Det.model_type.value} det/rec (onnxruntime {version('onnxruntime')}, {device})"
        )

    def read(self, image: Image.Image) -> OcrPage:
        from rapidocr.ch_ppocr_rec import TextRecInput
        from rapidocr.utils.process_img import get_rotate_crop_image

        start = time.perf_counter()
        bgr = _to_bgr(image)
        height, width = bgr.shape[:2]
        scale = min(1.0, self.det_max_side / max(height, width))
        det_input = bgr
        if scale < 1.0:
            import cv2

            det_input = cv2.resize(
                bgr,
                (max(32, round(width * scale)), max(32, round(height * scale))),
                interpolation=cv2.INTER_AREA,
            )
        sx = width / det_input.shape[1]
        sy = height / det_input.shape[0]
        det = self._det(det_input)
        lines: list[OcrLine] = []
        if det.boxes is not None and len(det.boxes):
            quads = np.array(det.boxes, dtype=np.float32).copy()
            quads[:, :, 0] = np.clip(quads[:, :, 0] * sx, 0, width)
            quads[:, :, 1] = np.clip(quads[:, :, 1] * sy, 0, height)
            # tall crops are turned by rapidocr (rot90) so vertical lines are read too
            crops = [get_rotate_crop_image(bgr, q.copy()) for q in quads]
            keep = [i for i, c in enumerate(crops) if c.shape[0] > 1 and c.shape[1] > 1]
            rec = self._rec(TextRecInput(img=[crops[i] for i in keep]))
            for i, text, score in zip(keep, rec.txts or (), rec.scores or (), strict=False):
                text = text.strip()
                if not text or score < TEXT_SCORE:
                    continue
                q = quads[i]
                box = (
                    int(np.floor(q[:, 0].min())),
                    int(np.floor(q[:, 1].min())),
                    int(np.ceil(q[:, 0].max())),
                    int(np.ceil(q[:, 1].max())),
                )
                lines.append(OcrLine(text=text, box=box, confidence=round(float(score), 4)))
        ordered, vertical = order_lines(lines)
        return OcrPage(
            lines=ordered,
            width=width,
            height=height,
            seconds=round(time.perf_counter() - start, 4),
            engine=self.engine,
            vertical=vertical,
        )


_engines: dict[int, OcrEngine] = {}
_engines_lock = threading.Lock()


def get_engine(threads: int = 1) -> OcrEngine:
    """The process's engine for `threads` (made on first use; the sessions are reused)."""
    with _engines_lock:
        engine = _engines.get(threads)
        if engine is None:
            engine = _engines[threads] = OcrEngine(threads)
        return engine


# --- Tesseract ---------------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef" or ch >= "\U00020000"


class TesseractError(RuntimeError):
    pass


@functools.lru_cache(maxsize=1)
def tesseract_version() -> str:
    exe = shutil.which("tesseract")
    if not exe:
        return ""
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else "tesseract"


class TesseractEngine:
    """Debian's tesseract with chi_sim (``--psm 6``, TSV output for the line boxes), one
    subprocess per page; OMP_THREAD_LIMIT pins its threads."""

    def __init__(self, threads: int = 1, *, lang: str = "chi_sim", timeout: float = 300) -> None:
        exe = shutil.which("tesseract")
        if not exe:
            raise TesseractError("未安装 tesseract — tesseract is not installed")
        self.exe = exe
        self.threads = threads
        self.lang = lang
        self.timeout = timeout
        self.engine = f"{tesseract_version()} {lang} psm 6"

    def read(self, image: Image.Image) -> OcrPage:
        start = time.perf_counter()
        if image.mode not in ("L", "RGB", "1"):
            image = Image.fromarray(_to_bgr(image)[:, :, ::-1])
        buf = io.BytesIO()
        dpi = image.info.get("dpi")
        image.save(buf, "PNG", dpi=dpi or (300, 300))
        env = {**os.environ, "OMP_THREAD_LIMIT": str(self.threads)}
        proc = subprocess.run(
            [self.exe, "stdin", "stdout", "-l", self.lang, "--psm", "6", "tsv"],
            input=buf.getvalue(),
            capture_output=True,
            timeout=self.timeout,
            env=env,
        )
        if proc.returncode != 0:
            raise TesseractError(proc.stderr.decode(errors="replace")[-2000:])
        lines = _tsv_lines(proc.stdout.decode("utf-8", errors="replace"))
        ordered, vertical = order_lines(lines)
        return OcrPage(
            lines=ordered,
            width=image.width,
            height=image.height,
            seconds=round(time.perf_counter() - start, 4),
            engine=self.engine,
            vertical=vertical,
        )


def _tsv_lines(tsv: str) -> list[OcrLine]:
    """Tesseract TSV words grouped into lines; CJK words are joined without the spaces that
    tesseract puts between them."""
    groups: dict[tuple[str, str, str, str], list[tuple[str, int, int, int, int, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        if not word:
            continue
        left, top, w, h = (int(c) for c in cols[6:10])
        groups.setdefault((cols[1], cols[2], cols[3], cols[4]), []).append(
            (word, left, top, left + w, top + h, max(0.0, float(cols[10])) / 100)
        )
    lines = []
    for words in groups.values():
        text = words[0][0]
        for prev, cur in zip(words, words[1:], strict=False):
            joiner = "" if _is_cjk(prev[0][-1]) or _is_cjk(cur[0][0]) else " "
            text += joiner + cur[0]
        box = (
            min(w[1] for w in words),
            min(w[2] for w in words),
            max(w[3] for w in words),
            max(w[4] for w in words),
        )
        conf = sum(w[5] * len(w[0]) for w in words) / sum(len(w[0]) for w in words)
        lines.append(OcrLine(text=text, box=box, confidence=round(conf, 4)))
    return lines
