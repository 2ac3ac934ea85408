"""The static export of a published exhibition (`lantai exhibition export SLUG --out DIR`): an
HTML package for another web site or a USB stick in a kiosk.

index.html (cover and contents) and one file per page, drawn with the public templates from the
PUBLISHED version; relative links only; the stylesheet; every image a watermarked JPEG fetched
through the public URL stack in-process (`/iiif/3/…`, so the public rule and the watermark apply
exactly as for a visitor; never the stored original); deep-zoom images as static IIIF level-0
tiles with an info.json (and info.js, which OpenSeadragon reads from file:// where XHR is
blocked) when OpenSeadragon is installed under web/static/vendor/openseadragon; manifest.json
lists every file with its size, SHA-256 and SM3.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.utils import timezone

from lantai.core import audit
from lantai.core.sm3 import sm3_hex
from lantai.exhibits import exhibition_render as er
from lantai.exhibits import exhibitions
from lantai.exhibits.models import Exhibition

TILE = 512
PATIENCE_S = 600.0  # how long to wait for derivatives the worker is still building
EXPORT_BASE = "exhibits/exhibition_export_base.html"
# the operator exports the whole exhibition at once: the visitor rate limits do not apply
GENEROUS = {"PUBLIC_CONTENT_RATE": "1000000/min", "PUBLIC_TILE_RATE": "1000000/min"}


class ExportRefused(Exception):
    """The exhibition cannot be exported (not published, withdrawn, …), in Chinese."""


class _ExportLinker(er.Linker):
    """Relative file names; records which files the pages need."""

    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.images: dict[str, tuple[int, int]] = {}  # file -> (component, box)
        self.zooms: set[int] = set()
        self.media_files: dict[str, str] = {}  # file -> public URL

    def cover(self) -> str:
        return "index.html"

    def page(self, page_slug: str) -> str:
        return f"{page_slug}.html"

    def image(self, component: int, box: int) -> str:
        name = f"images/c{component}-{box}.jpg"
        self.images[name] = (component, box)
        return name

    def info(self, component: int) -> str:
        self.zooms.add(component)
        return f"tiles/c{component}/info.json"

    def record(self, record: int, archives: str = "", code: str = "") -> str:
        return ""  # the package stands alone: no links back into the portal

    def media(self, recording: int) -> str:
        name = f"media/r{recording}"
        self.media_files[name] = f"/public/recordings/{recording}/media"
        return name

    def poster(self, recording: int) -> str:
        name = f"media/r{recording}-poster.jpg"
        self.media_files[name] = f"/public/recordings/{recording}/poster.jpg"
        return name


def exportable(slug: str) -> Exhibition:
    exhibition = Exhibition.objects.filter(slug=slug).select_related("published").first()
    if exhibition is None:
        raise ExportRefused(f"没有网址名为“{slug}”的展览")
    if exhibition.published is None:
        raise ExportRefused(f"展览“{exhibition.title}”尚未发布，不能导出（只导出已发布的版本）")
    if exhibition.status == "withdrawn":
        raise ExportRefused(f"展览“{exhibition.title}”已撤展，不能导出")
    if not exhibitions.is_visible(exhibition):
        raise ExportRefused(
            f"展览“{exhibition.title}”不在展期内（定时发布未到或已过撤展时间），不能导出"
        )
    return exhibition


def _osd_dir() -> Path | None:
    found = finders.find("vendor/openseadragon/openseadragon.min.js")
    return Path(str(found)).parent if found else None


def export(slug: str, out: Path, lang: str = "zh-hans") -> dict[str, Any]:
    """Write the package; returns a summary. ExportRefused for an exhibition that is not public
    now or a target directory that is not empty."""
    exhibition = exportable(slug)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportRefused(f"目标目录 {out} 已存在且不为空：请指定一个新的或空的目录")
    version = exhibition.published
    assert version is not None
    linker = _ExportLinker(slug)
    shown = er.render(version.snapshot, slug, linker, lang, version.number)
    osd = _osd_dir()
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file in the way, no permission, a read-only disk
        raise ExportRefused(f"无法建立目标目录 {out}：{e.strerror or e}") from e
    written: list[Path] = []
    try:
        summary = _write(exhibition, shown, linker, out, osd, lang, written)
        audit.record("exhibition_export", "exhibition", exhibition.pk,
                     {"version": summary["version"], "out": str(out), "files": summary["files"]})  # fmt: skip
        return summary
    except BaseException:
        for path in written:  # leave no half package behind; nothing else is touched
            path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _write(
    exhibition: Exhibition, shown: er.Rendered, linker: _ExportLinker, out: Path,
    osd: Path | None, lang: str, written: list[Path],
) -> dict[str, Any]:  # fmt: skip
    version = exhibition.published
    assert version is not None
    slug = exhibition.slug
    scripts = ["vendor/openseadragon/openseadragon.min.js", "exhibition-export.js"] if osd else []
    context: dict[str, Any] = {
        "base_template": EXPORT_BASE, "exhibition": shown, "share": None,
        "export": {"css": "exhibition.css", "lang": lang, "scripts": scripts,
                   "footer": f"{exhibition.repository.name} · {shown.title} · 第{version.number}版"},
    }  # fmt: skip

    def write(name: str, data: bytes) -> None:
        path = (out / name).resolve()
        if not path.is_relative_to(out.resolve()):
            raise ExportRefused(f"文件名越出目标目录：{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    write("index.html", render_to_string("exhibits/exhibition_cover.html", context).encode())
    for page in shown.pages:
        _, before, after = shown.page(page.slug)
        page_context = {**context, "page": page, "before": before, "after": after}
        for block in page.blocks:
            if block.kind == "deepzoom" and osd:
                for item in block.items:
                    item.tiles = f"c{item.component}"
        if osd:
            page_context["export"] = {**context["export"], "scripts": [
                *[f"tiles/c{i.component}/info.js" for b in page.blocks if b.kind == "deepzoom" for i in b.items],
                *scripts]}  # fmt: skip
        write(page.href, render_to_string("exhibits/exhibition_page.html", page_context).encode())
    with override_settings(**GENEROUS):
        client = Client(HTTP_HOST=_host())
        for name, (component, box) in sorted(linker.images.items()):
            write(name, _fetch(client, f"/iiif/3/c{component}/full/!{box},{box}/0/default.jpg"))
        zooms = {
            i.component
            for p in shown.pages
            for b in p.blocks
            if b.kind == "deepzoom"
            for i in b.items
        }
        for component in sorted(zooms) if osd else []:
            full = _fetch(client, f"/iiif/3/c{component}/full/max/0/default.jpg")
            for name, data in _tiles(full, f"tiles/c{component}"):
                write(name, data)
        for name, url in sorted(linker.media_files.items()):
            response = client.get(url)
            if response.status_code == 200:
                write(name, _body(response))
    write("exhibition.css", Path(str(finders.find("exhibits/exhibition.css"))).read_bytes())
    if osd:
        write(
            "exhibition-export.js",
            Path(str(finders.find("exhibits/exhibition-export.js"))).read_bytes(),
        )
        for path in sorted(osd.rglob("*")):
            if path.is_file() and (path.name == "openseadragon.min.js" or "images" in path.parts):
                write(f"vendor/openseadragon/{path.relative_to(osd).as_posix()}", path.read_bytes())
    manifest = _manifest(out, written, exhibition, version.number)
    write("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode())
    return {
        "ok": True, "slug": slug, "version": version.number, "out": str(out),
        "pages": len(shown.pages), "images": len(linker.images), "deep_zoom": sum(1 for p in shown.pages for b in p.blocks if b.kind == "deepzoom") if osd else 0,
        "files": len(manifest["files"]) + 1,
    }  # fmt: skip


def _body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _host() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")]
    return hosts[0] if hosts else "localhost"


def _fetch(client: Client, url: str, patience_s: float = PATIENCE_S) -> bytes:
    """An image through the public image service; while its derivative is being built (503 with
    Retry-After, by the worker) wait and ask again, up to `patience_s`."""
    deadline = time.monotonic() + patience_s
    while True:
        response = client.get(url)
        if response.status_code == 200:
            return _body(response)
        retry = response.headers.get("Retry-After", "")
        if response.status_code == 503 and retry.isdigit() and time.monotonic() < deadline:
            time.sleep(min(int(retry), 5))
            continue
        if response.status_code == 503:
            raise ExportRefused(
                f"图像 {url} 的派生图像仍在生成（HTTP 503）：请确认后台任务进程在运行，稍后再导出"
            )
        if response.status_code == 422:  # the image service cannot read the stored file
            raise ExportRefused(
                f"图像 {url} 的文件已损坏或无法读取（HTTP 422）：请在展览中换一幅图像，或修复该档案的电子文件"
            )
        raise ExportRefused(
            f"图像 {url} 无法取得（HTTP {response.status_code}）：该档案可能刚被关闭，请重新检查展览"
        )


def _tiles(full_jpeg: bytes, base: str) -> list[tuple[str, bytes]]:
    """Static IIIF Image API 3.0 level-0 tiles of a (watermarked) JPEG, with info.json and
    info.js, named as OpenSeadragon asks for them."""
    from PIL import Image

    with Image.open(io.BytesIO(full_jpeg)) as opened:
        page = opened.convert("RGB")
    width, height = page.size
    factors = [1]
    while max(width, height) / factors[-1] > TILE:
        factors.append(factors[-1] * 2)
    files: list[tuple[str, bytes]] = []

    def jpeg(image: Any) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        return buffer.getvalue()

    for factor in factors:
        level_w, level_h = math.ceil(width / factor), math.ceil(height / factor)
        if level_w <= TILE and level_h <= TILE:
            size = "max" if factor == 1 else f"{level_w},{level_h}"
            files.append(
                (f"{base}/full/{size}/0/default.jpg", jpeg(page.resize((level_w, level_h))))
            )
            continue
        step = TILE * factor
        for y in range(0, height, step):
            for x in range(0, width, step):
                w, h = min(step, width - x), min(step, height - y)
                sw, sh = math.ceil(w / factor), math.ceil(h / factor)
                tile = page.crop((x, y, x + w, y + h)).resize((sw, sh))
                files.append((f"{base}/{x},{y},{w},{h}/{sw},{sh}/0/default.jpg", jpeg(tile)))
    info = {
        "@context": "http://iiif.io/api/image/3/context.json", "id": base, "type": "ImageService3",
        "protocol": "http://iiif.io/api/image", "profile": "level0", "width": width, "height": height,
        "tiles": [{"width": TILE, "scaleFactors": factors}],
    }  # fmt: skip
    text = json.dumps(info, ensure_ascii=False)
    files.append((f"{base}/info.json", text.encode()))
    key = base.rsplit("/", 1)[-1]
    files.append(
        (
            f"{base}/info.js",
            f"(window.LANTAI_TILES=window.LANTAI_TILES||{{}})[{json.dumps(key)}]={text};\n".encode(),
        )
    )
    return files


def _manifest(
    out: Path, written: list[Path], exhibition: Exhibition, number: int
) -> dict[str, Any]:
    files = []
    for path in sorted(set(written)):
        data = path.read_bytes()
        files.append({
            "path": path.relative_to(out.resolve()).as_posix(), "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "sm3": sm3_hex(data),
        })  # fmt: skip
    return {
        "exhibition": exhibition.slug, "title": exhibition.title, "version": number,
        "repository": exhibition.repository.name, "exported_at": timezone.now().isoformat(),
        "files": files,
    }  # fmt: skip
