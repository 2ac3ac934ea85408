"""Where each file of a scanning batch belongs: its 档号 and page number (DA/T 31 naming).

A batch folder may mix these layouts:
- a manifest (清单): one .csv or .xlsx at the top of the batch with the columns 档号, 文件 (the
  page file's path inside the batch) and 页号; the files it names are placed as it says;
- single pages named ``档号-页号.ext`` anywhere in the batch;
- a per-item folder named by its 档号 holding its pages named by page number (``0001.jpg``) or
  ``档号-页号``;
- a multipage TIFF or PDF (or a recording) named ``档号.ext``: its frames are pages 1…n.

Which reading of a name is meant (``…-0003`` may end a 件's 档号 or be a page number) is decided
with the catalogue: `read_layout` is told which of the candidate codes exist."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lantai.catalog.readers import FileUnreadable, open_table
from lantai.standards import dat31

PAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".tif", ".tiff", ".jp2", ".j2k", ".png"})
DOCUMENT_SUFFIXES = frozenset({".pdf", ".tif", ".tiff"})  # may hold several pages
MEDIA_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".mp4", ".mov", ".mxf", ".mkv"})
MANIFEST_SUFFIXES = frozenset({".csv", ".xlsx"})
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})
CODE_HEADERS = ("档号", "reference_code", "reference code")
FILE_HEADERS = ("文件", "文件名", "图像文件", "页面文件", "file", "page file", "page_file")
PAGE_HEADERS = ("页号", "页码", "page", "page number", "page_number")


@dataclass
class Placement:
    source: str  # path inside the batch (posix)
    reference_code: str  # "" when the file could not be placed
    number: int | None  # page number; None: every frame of the file, numbered from 1
    kind: str  # page | media
    how: str  # manifest | name | folder | "" (not placed)
    problem: str = ""  # the DA/T 31 check (dat31-2017.yaml) a file that cannot be placed fails
    message_zh: str = ""
    message_en: str = ""


@dataclass
class Layout:
    placements: list[Placement] = field(default_factory=list)
    manifest: str = ""  # the manifest's path inside the batch
    # manifest rows whose file is not in the batch: (row, 档号, file)
    missing: list[tuple[int, str, str]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # symbolic links, never followed nor read
    empty: list[str] = field(default_factory=list)  # folders named by a 档号 with no file in them


class LayoutError(Exception):
    """The batch as a whole cannot be read (no such folder, an unreadable manifest)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en


def batch_files(root: Path) -> tuple[list[str], list[str], list[str]]:
    """(regular files, symbolic links, folders without any file) under `root`, as sorted posix
    paths; hidden files and folders are left out, links are listed but never followed."""
    found: list[str] = []
    links: list[str] = []
    empty: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        links += [(here / d).relative_to(root).as_posix() for d in dirs if (here / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here / d).is_symlink())
        kept = 0
        for name in files:
            path = here / name
            if name.startswith(".") or name.lower() in IGNORED_NAMES:
                continue
            (links if path.is_symlink() else found).append(path.relative_to(root).as_posix())
            kept += 1
        if not kept and not dirs and here != root:
            empty.append(here.relative_to(root).as_posix())
    return sorted(found), sorted(links), sorted(empty)


def read_layout(root: Path, existing: Callable[[set[str]], set[str]]) -> Layout:
    """Place every file of the batch at `root`; `existing(codes)` answers which 档号 exist."""
    if not root.is_dir():
        raise LayoutError(f"批次文件夹“{root}”不存在或不是文件夹", f"{root} is not a folder")
    files, links, empty = batch_files(root)
    layout = Layout(links=links)
    manifests = [
        f for f in files if "/" not in f and PurePosixPath(f).suffix.lower() in MANIFEST_SUFFIXES
    ]
    if len(manifests) > 1:
        raise LayoutError(
            f"批次顶层有多个清单文件（{'、'.join(manifests)}），只能有一个",
            f"The batch has several manifests at its top ({', '.join(manifests)}): keep one",
        )
    listed: dict[str, tuple[str, int]] = {}
    if manifests:
        layout.manifest = manifests[0]
        listed = _read_manifest(root / manifests[0], set(files), layout)
    rest = [f for f in files if f != layout.manifest and f not in listed]
    folders = {PurePosixPath(f).name for f in empty}
    known = existing(_candidates(rest) | {code for code, _ in listed.values()} | folders)
    layout.empty = [f for f in empty if PurePosixPath(f).name in known]
    for source in files:
        if source == layout.manifest:
            continue
        if source in listed:
            code, number = listed[source]
            layout.placements.append(Placement(source, code, number, _kind(source), "manifest"))
        else:
            layout.placements.append(_place(source, known))
    return layout


def _kind(source: str) -> str:
    return "media" if PurePosixPath(source).suffix.lower() in MEDIA_SUFFIXES else "page"


def _candidates(sources: Iterable[str]) -> set[str]:
    """Every 档号 a name might stand for: the whole stem, the stem less its page number, and
    the name of the folder it lies in."""
    codes = set()
    for source in sources:
        path = PurePosixPath(source)
        codes.add(path.stem)
        parsed = dat31.parse_page_name(path.stem)
        if parsed:
            codes.add(parsed[0])
        if path.parent.name:
            codes.add(path.parent.name)
    return codes


def _place(source: str, known: set[str]) -> Placement:
    path = PurePosixPath(source)
    suffix = path.suffix.lower()
    if suffix in MEDIA_SUFFIXES:
        if path.stem in known:
            return Placement(source, path.stem, None, "media", "name")
        return _unplaced(
            source,
            "catalogue_link",
            f"录音录像文件“{source}”应以其档号命名，目录中没有档号“{path.stem}”",
            f"The recording {source!r} should be named by its 档号; the catalogue has no {path.stem!r}",
        )
    if suffix not in PAGE_SUFFIXES | DOCUMENT_SUFFIXES:
        return _unplaced(
            source,
            "file_format",
            f"“{source}”不是数字化图像（JPEG、TIFF、JPEG 2000、PNG、PDF）或录音录像文件",
            f"{source!r} is not a page image (JPEG, TIFF, JPEG 2000, PNG, PDF) or a recording",
        )
    folder = path.parent.name
    if path.stem in known and folder not in known:
        return Placement(source, path.stem, None, "page", "name")  # the whole item in one file
    parsed = dat31.parse_page_name(path.stem)
    if folder and folder in known:
        if path.stem.isdigit():
            return Placement(source, folder, int(path.stem), "page", "folder")
        if parsed and parsed[0] == folder:
            return Placement(source, folder, parsed[1], "page", "folder")
        return _unplaced(
            source,
            "naming",
            f"“{source}”在档号文件夹“{folder}”中，但文件名既不是页号也不是“{folder}-页号”",
            f"{source!r} lies in the item folder {folder!r} but is named neither by a page number "
            f"nor {folder}-<page>",
        )
    if parsed:
        return Placement(source, parsed[0], parsed[1], "page", "name")
    return _unplaced(
        source,
        "naming",
        f"“{source}”的文件名不符合“档号-页号”（DA/T 31），也不在以档号命名的文件夹中或清单里",
        f"{source!r} is not named 档号-页号 (DA/T 31), nor in a folder named by a 档号, nor in "
        "the manifest",
    )


def _unplaced(source: str, code: str, zh: str, en: str) -> Placement:
    return Placement(source, "", None, _kind(source), "", code, zh, en)


def _pick(headers: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in headers]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _is_manifest_header(cells: list[str]) -> bool:
    return _pick(cells, CODE_HEADERS) is not None and _pick(cells, FILE_HEADERS) is not None


def _read_manifest(path: Path, files: set[str], layout: Layout) -> dict[str, tuple[str, int]]:
    """file -> (档号, page) from the manifest; rows naming absent files go to `layout.missing`."""
    try:
        table = open_table(path, is_header=_is_manifest_header)
    except FileUnreadable as e:
        raise LayoutError(
            f"清单“{path.name}”无法读取：{e.message_zh}（清单应有“档号”“文件”“页号”列）",
            f"The manifest {path.name!r} cannot be read: {e.message_en} (it needs the columns "
            "档号, 文件 and 页号)",
        ) from e
    code_at = _pick(table.headers, CODE_HEADERS)
    file_at = _pick(table.headers, FILE_HEADERS)
    page_at = _pick(table.headers, PAGE_HEADERS)
    assert code_at is not None and file_at is not None
    listed: dict[str, tuple[str, int]] = {}
    per_code: dict[str, int] = {}
    try:
        for row, cells in table.rows():
            cell = [("" if c is None else str(c).strip()) for c in cells]
            cell += [""] * (len(table.headers) - len(cell))
            code, name = cell[code_at], cell[file_at].replace("\\", "/").lstrip("./")
            raw_page = cell[page_at] if page_at is not None else ""
            if not code or not name:
                raise LayoutError(
                    f"清单“{path.name}”第 {row} 行缺少档号或文件",
                    f"Row {row} of the manifest {path.name!r} lacks the 档号 or the file",
                )
            per_code[code] = per_code.get(code, 0) + 1
            try:
                number = int(float(raw_page)) if raw_page else per_code[code]
            except ValueError:
                raise LayoutError(
                    f"清单“{path.name}”第 {row} 行的页号“{raw_page}”不是数字",
                    f"Row {row} of the manifest {path.name!r}: the page {raw_page!r} is not a number",
                ) from None
            if number < 1:
                raise LayoutError(
                    f"清单“{path.name}”第 {row} 行的页号 {number} 不是从 1 起的页号",
                    f"Row {row} of the manifest {path.name!r}: page {number} is not a page number",
                )
            if name not in files:
                layout.missing.append((row, code, name))
            elif name in listed:
                raise LayoutError(
                    f"清单“{path.name}”第 {row} 行：文件“{name}”已在前面的行中列出",
                    f"Row {row} of the manifest {path.name!r}: {name!r} is listed twice",
                )
            else:
                listed[name] = (code, number)
    except FileUnreadable as e:
        raise LayoutError(e.message_zh, e.message_en) from e
    return listed
