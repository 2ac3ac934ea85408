"""Format identification (Siegfried, then opf-fido, + libmagic); validation is in
:mod:`lantai.formats.checks`.

Plain Python, no Django: paths in, results out.

- :func:`identify` asks Siegfried (pygfried, PRONOM signatures compiled in, newer than fido's;
  run in a helper process, see :mod:`~lantai.formats.siegfried`) first. Its answer stands when it is positive (a byte, container, XML or text match). Otherwise
  one in-process fido instance (PRONOM v109 bundled with opf-fido, matched fast by
  :mod:`~lantai.formats.fido_index`) answers as before, extension guesses included. libmagic gives
  the MIME type. Each answer names its tool and signature set (:meth:`Identification.agent`).
  Building fido's tables costs about half a second, so both are built once per process.
"""

from __future__ import annotations

import functools
import threading
import zipfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

from lantai.formats import fido_index
from lantai.formats import siegfried as sf
from lantai.formats.pool import pool_context

__all__ = ["Identification", "identify", "tool_versions"]

CONTAINER_ENTRY_MAX_BYTES = 16 * 1024 * 1024  # fido reads container members whole

# --------------------------------------------------------------------------------------------------
# identification


@dataclass(frozen=True)
class Identification:
    """What a file is: PRONOM id (Siegfried or fido), MIME (libmagic), and how the id was reached.
    `tool` names the identifier whose answer `puid` is; `basis` is Siegfried's reason;
    `cross_check` the other identifier's word where it was asked (Siegfried's, when fido answered)."""

    puid: str | None  # e.g. "fmt/18"; None when fido matched nothing
    format_name: str | None  # PRONOM format name, e.g. "Acrobat PDF 1.4 - Portable Document Format"
    mime: str | None  # libmagic MIME type, e.g. "application/pdf"
    method: str  # "signature" | "container" | "extension" | "none" | "empty" | "error"
    tool_versions: dict[str, str] = field(default_factory=dict)
    format_version: str | None = None  # PRONOM version, e.g. "1.4"
    pronom_mime: str | None = None  # the MIME type PRONOM records for the puid
    candidates: tuple[str, ...] = ()  # every puid fido reported (first = chosen)
    magic_description: str | None = None  # libmagic's text description
    error: str | None = None
    tool: str = "fido"  # "siegfried" | "fido": whose answer puid is
    basis: str | None = None  # Siegfried's basis, e.g. "byte match at 0, 8"
    cross_check: dict[str, str] | None = None  # {"tool", "puid", "warning"} of the other tool

    def agent(self) -> tuple[str, str]:
        """(tool, version with its signature set) for check results and PREMIS agents."""
        tv = self.tool_versions
        if self.tool == "siegfried":
            sigs = tv.get("siegfried_signatures", "")
            return "siegfried", f"{tv.get('siegfried', '')} ({sigs})" if sigs else ""
        fido = tv.get("fido", "")
        sigs = tv.get("pronom_signatures", "")
        cont = tv.get("container_signatures", "")
        return "fido", f"{fido} (PRONOM {sigs}; {cont})" if sigs else fido

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "basis": self.basis,
            "cross_check": dict(self.cross_check) if self.cross_check else None,
            "puid": self.puid,
            "format_name": self.format_name,
            "format_version": self.format_version,
            "mime": self.mime,
            "pronom_mime": self.pronom_mime,
            "method": self.method,
            "candidates": list(self.candidates),
            "magic_description": self.magic_description,
            "tool_versions": dict(self.tool_versions),
            "error": self.error,
        }


@functools.cache  # read from the installed metadata once per process, not once per file
def _pkg_version(name: str) -> str:
    try:
        return _dist_version(name)
    except PackageNotFoundError:
        return "unknown"


class _FidoRunner:
    """One fido instance, its signature versions, and a lock (fido keeps per-file state)."""

    def __init__(self) -> None:
        from fido import fido as fido_mod
        from fido.versions import get_local_versions

        conf_dir = fido_mod.CONFIG_DIR
        versions = get_local_versions(conf_dir)
        self.pronom_version = str(versions.pronom_version)
        self.container_file = str(versions.pronom_container_signature)
        format_files = [
            str(versions.pronom_signature),
            str(versions.fido_extension_signature),
        ]
        self.results: dict[str, tuple[str, list[tuple[Any, str]]]] = {}
        runner = self

        class _Fido(fido_mod.Fido):  # type: ignore[misc]
            """fido with cached container signatures, a size guard on container members and
            signature matching through fido_index."""

            _container_cache: dict[str, Any] = {}

            def match_container(
                self, signature_type: str, klass: Any, file: str, signature_file: Any
            ) -> list[tuple[Any, str]]:
                if signature_type == "ZIP" and not _zip_members_small(file):
                    return []
                sigs = self._container_cache.get(signature_type)
                if sigs is None:
                    sigs = self.extract_signatures(signature_file, signature_type=signature_type)
                    self._container_cache[signature_type] = sigs
                try:
                    puids = klass(file, sigs).detect_formats()
                except Exception:  # a malformed OLE/zip container: no container match
                    return []
                return [
                    (self.puid_format_map[p], self.puid_format_map[p].findtext("name"))
                    for p in puids
                    if p in self.puid_format_map
                ]

            _matcher: fido_index.Matcher | None = None

            def match_formats(self, bofbuffer: bytes, eofbuffer: bytes) -> list[tuple[Any, str]]:
                """fido's match_formats, skipping only the regexes whose outcome is certain
                (fido_index): the same matches in the same order, ~7x faster than fido's."""
                if self._matcher is None:
                    self._matcher = fido_index.Matcher(
                        [
                            (fmt, self.get_puid(fmt), [
                                (sig.findtext("name"), [
                                    (self.get_pos(pat), self.get_regex(pat))
                                    for pat in self.get_patterns(sig)
                                ])
                                for sig in self.get_signatures(fmt)
                            ])
                            for fmt in self.formats
                        ],
                        self.puid_has_priority_over_map,
                    )  # fmt: skip
                self.current_count += 1
                return self._matcher.match(bofbuffer, eofbuffer)

        def handle(fullname: str, matches: list[tuple[Any, str]], _dt: float, mt: str = "") -> None:
            runner.results[fullname] = (mt, list(matches))

        # fido reads the container signature file name from its module defaults, not from the
        # constructor; set it to the version the bundled versions.xml names.
        fido_mod.defaults["containersignature_file"] = self.container_file
        self.fido = _Fido(
            quiet=True,
            handle_matches=handle,
            conf_dir=conf_dir,
            format_files=format_files,
            nocontainer=False,
        )
        # fido parses the container signature XML for every zip/OLE file it meets; give fido's
        # module a view of ElementTree whose parse() returns the tree parsed once here
        from types import SimpleNamespace
        from xml.etree import ElementTree as ET

        cfile = str((Path(conf_dir) / self.container_file).resolve())
        container_tree = ET.parse(cfile)

        def cached_parse(source: Any, parser: Any = None) -> Any:
            if parser is None and isinstance(source, str) and str(Path(source).resolve()) == cfile:
                return container_tree
            return ET.parse(source, parser)

        fido_mod.ET = SimpleNamespace(
            parse=cached_parse, XML=ET.XML, ParseError=ET.ParseError, Element=ET.Element
        )
        self.lock = threading.Lock()
        self.version = _pkg_version("opf-fido")

    def run(self, path: Path) -> tuple[str, list[tuple[Any, str]]] | None:
        key = str(path)
        self.results.pop(key, None)
        self.fido.identify_file(key)
        return self.results.pop(key, None)


def _zip_members_small(file: str) -> bool:
    try:
        with zipfile.ZipFile(file) as zf:
            return all(i.file_size <= CONTAINER_ENTRY_MAX_BYTES for i in zf.infolist())
    except Exception:
        return False


_fido_runner: _FidoRunner | None = None
_fido_lock = threading.Lock()
_magic: Any = None


def _get_fido() -> _FidoRunner:
    global _fido_runner
    with _fido_lock:
        if _fido_runner is None:
            _fido_runner = _FidoRunner()
        return _fido_runner


def _get_magic() -> tuple[Any, Any]:
    global _magic
    import magic

    with _fido_lock:
        if _magic is None:
            _magic = (magic.Magic(mime=True), magic.Magic())
    return _magic  # type: ignore[no-any-return]


def _libmagic_version() -> str:
    try:
        import magic

        v = int(magic.version())  # type: ignore[no-untyped-call]
        return f"{v // 100}.{v % 100:02d}"
    except Exception:
        return "unknown"


def tool_versions() -> dict[str, str]:
    """Versions of the identification tools and signature sets (for PREMIS events and reports):
    fido's (``pronom_signatures`` is fido's PRONOM release), Siegfried's when installed."""
    runner = _get_fido()
    siegfried = sf.get()
    return {
        "fido": runner.version,
        "pronom_signatures": f"v{runner.pronom_version}",
        "container_signatures": runner.container_file,
        **(siegfried.versions() if siegfried is not None else {}),
        "libmagic": _libmagic_version(),
        "python-magic": _pkg_version("python-magic"),
    }


def signature_key() -> str:
    """What identification answers depend on, for memo keys: a new signature set re-identifies.
    From the installed metadata only (Siegfried's set is fixed per pygfried release), so the
    caller does not load pygfried's Go runtime (which would rule out forking its workers)."""
    key = f"fido-{_pkg_version('opf-fido')}"
    return f"{key}+pygfried-{_pkg_version('pygfried')}" if sf.available() else key


def _text(elem: Any, tag: str) -> str | None:
    if elem is None:
        return None
    child = elem.find(tag)
    if child is None or child.text is None:
        return None
    text = str(child.text).strip()
    return text or None


PARALLEL_MIN_FILES = 64


def identify(paths: Iterable[Path], *, processes: int = 1) -> dict[Path, Identification]:
    """Identify every file: fido (one instance per process) and libmagic for MIME. fido matches
    its signatures in Python (~1 ms a file with fido_index), so many files are spread over workers.

    Never raises for a bad file: an unreadable file gets ``method="error"`` and the error text.
    """
    paths = [Path(p) for p in paths]
    if processes > 1 and len(paths) >= PARALLEL_MIN_FILES:
        chunks = [paths[i :: processes * 4] for i in range(processes * 4)]
        out: dict[Path, Identification] = {}
        with ProcessPoolExecutor(max_workers=processes, mp_context=pool_context()) as pool:
            for part in pool.map(_identify_here, chunks):
                out.update(part)
        return {p: out[p] for p in paths}
    return _identify_here(paths)


def _identify_here(paths: list[Path]) -> dict[Path, Identification]:
    runner = _get_fido()
    siegfried = sf.get()
    versions = tool_versions()
    mime_magic, text_magic = _get_magic()
    out: dict[Path, Identification] = {}
    with runner.lock:
        for path in paths:
            out[path] = _identify_one(
                runner, mime_magic, text_magic, Path(path), versions, siegfried
            )
    return out


def _siegfried_method(basis: str) -> str:
    if "container" in basis:
        return "container"
    if "byte match" in basis:
        return "signature"
    if "xml match" in basis:
        return "xml"
    if "text match" in basis:
        return "text"
    return "signature"


def _identify_one(
    runner: _FidoRunner,
    mime_magic: Any,
    text_magic: Any,
    path: Path,
    versions: dict[str, str],
    siegfried: sf.Siegfried | None = None,
) -> Identification:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Identification(None, None, None, "error", versions, error=str(exc))
    mime: str | None = None
    desc: str | None = None
    try:
        mime = str(mime_magic.from_file(str(path)))
        desc = str(text_magic.from_file(str(path)))
    except Exception as exc:  # libmagic errors on unreadable/special files
        desc = f"libmagic error: {exc}"
    if size == 0:
        return Identification(None, None, mime, "empty", versions, magic_description=desc)
    said: sf.Answer | None = siegfried.identify(path) if siegfried is not None else None
    if said is not None and said.positive:  # the newer signatures found it: fido is not asked
        return Identification(
            puid=said.puid,
            format_name=said.format_name,
            mime=mime,
            method=_siegfried_method(said.basis),
            tool_versions=versions,
            format_version=said.format_version,
            pronom_mime=said.mime,
            candidates=(str(said.puid),),
            magic_description=desc,
            tool="siegfried",
            basis=said.basis,
        )
    cross = None
    if said is not None:  # Siegfried found nothing sure: its word is kept beside fido's
        cross = {"tool": "siegfried", "puid": said.puid or "", "warning": said.warning[:300]}
        if said.error:
            cross["error"] = said.error
    try:
        res = runner.run(path)
    except Exception as exc:
        return Identification(
            None, None, mime, "error", versions, magic_description=desc, error=repr(exc),
            cross_check=cross,
        )  # fmt: skip
    if not res or not res[1]:
        return Identification(
            None, None, mime, "none", versions, magic_description=desc, cross_check=cross
        )
    matchtype, matches = res
    fmt = matches[0][0]
    puids = tuple(str(runner.fido.get_puid(f)) for f, _ in matches)
    return Identification(
        puid=puids[0],
        format_name=_text(fmt, "name"),
        mime=mime,
        method=matchtype or "signature",
        tool_versions=versions,
        format_version=_text(fmt, "version"),
        pronom_mime=_text(fmt, "mime"),
        candidates=puids,
        magic_description=desc,
        cross_check=cross,
    )


# --------------------------------------------------------------------------------------------------
# validation
