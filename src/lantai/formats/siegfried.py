"""Siegfried (pygfried from PyPI) as the identifier with current PRONOM signatures.

opf-fido 1.6.1, the newest on PyPI, ships PRONOM v109 (2022) and container signatures of
2020-01-21; pygfried embeds Siegfried with a newer PRONOM set (2.2.0: DROID_SignatureFile_V125.xml,
container-signature-20260119.xml). No DROID XML newer than fido's is on PyPI, so fido cannot be
fed newer signatures offline; Siegfried's set is compiled into the extension and updated with the
pygfried version pinned by a Lantai release (see docs/formats/identification.md).

pygfried is a Go shared library, and a process that has loaded it cannot be forked: the child's
Go runtime hangs on its first call (measured: a forked transfer check hung in Siegfried). Lantai
forks (worker pools, tests that crash a check on purpose), so pygfried is never loaded into a
Lantai process: each process that identifies starts one helper interpreter (fork + exec, which is
safe) running :data:`HELPER`, and asks it one file at a time over a pipe (JSON lines, ~0.05 ms a
file). A helper that dies (a Go panic on a hostile file) answers that file with an error and is
started again for the next; a forked child starts its own.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

__all__ = ["HELPER", "Answer", "Siegfried", "SiegfriedError", "available", "get"]

EXTENSION_ONLY = "match on extension only"  # Siegfried's warning for a guess by name


@dataclass(frozen=True)
class Answer:
    """Siegfried's first match for a file. `positive`: a byte, container, XML or text match
    (not a guess from the file name, not "no match")."""

    puid: str | None
    format_name: str | None
    format_version: str | None
    mime: str | None
    basis: str
    warning: str
    positive: bool
    error: str | None = None


HELPER = r"""
import json, sys
import pygfried
scanner = pygfried.Scanner()
print(json.dumps({"version": pygfried.version(), "about": scanner.identify(sys.argv[1], True)}),
      flush=True)
for line in sys.stdin:
    path = json.loads(line)
    try:
        found = scanner.identify(path, True)["files"][0]
    except pygfried.EmptySourceError:
        found = {"empty": True}
    except Exception as exc:
        found = {"error": str(exc)[:500] or type(exc).__name__}
    print(json.dumps(found), flush=True)
"""


class SiegfriedError(RuntimeError):
    """The helper could not be started (pygfried missing or broken)."""


class Siegfried:
    """Siegfried (pygfried's default PRONOM profile) in a helper process, and what it says about
    its signature set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._pid = 0
        hello = self._start()
        self.version = str(hello.get("version", ""))
        self.package_version = _pkg_version("pygfried")
        about = dict(hello.get("about") or {})
        self.signature = str(about.get("signature", ""))  # "default.sig"
        self.created = str(about.get("created", ""))  # when the signature file was built
        details = [str(i.get("details", "")) for i in about.get("identifiers", [])]
        self.pronom = "; ".join(d for d in details if d)  # "DROID_SignatureFile_V125.xml; …"

    def _start(self) -> dict[str, Any]:
        # the helper reports its signature set by identifying a file that always exists (this
        # module's source); it needs only pygfried, not Lantai
        proc = subprocess.Popen(
            [sys.executable, "-c", HELPER, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            proc.wait()
            raise SiegfriedError("Siegfried 辅助进程无法启动 the Siegfried helper did not start")
        self._proc, self._pid = proc, os.getpid()
        return dict(json.loads(line))

    def _ask(self, path: Path) -> dict[str, Any]:
        if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
            self._start()  # first use in this process, after a fork, or after a crash
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(str(path)) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except OSError as exc:
            line, error = "", str(exc)
        else:
            error = "Siegfried 辅助进程退出 the Siegfried helper exited"
        if not line:
            proc.kill()
            proc.wait()
            self._proc = None
            return {"error": error}
        return dict(json.loads(line))

    @property
    def pronom_version(self) -> int | None:
        """The PRONOM release number of the DROID signature file (125 for V125), if named."""
        m = re.search(r"DROID_SignatureFile_V(\d+)\.xml", self.pronom, re.IGNORECASE)
        return int(m.group(1)) if m else None

    def versions(self) -> dict[str, str]:
        return {
            "siegfried": self.version,
            "pygfried": self.package_version,
            "siegfried_signatures": self.pronom,
            "siegfried_signature_created": self.created,
        }

    def identify(self, path: Path) -> Answer:
        """Siegfried's answer for one file; an error becomes an answer with `error` set."""
        with self.lock:
            first = self._ask(path)
        if first.get("empty"):
            return Answer(None, None, None, None, "", "empty source", False)
        if "error" in first:
            return Answer(None, None, None, None, "", "", False, error=str(first["error"]))
        matches: list[Any] = list(first.get("matches") or [])
        errors = str(first.get("errors") or "")
        pronom = [m for m in matches if m.get("ns") == "pronom"] or matches
        if not pronom:
            return Answer(None, None, None, None, "", errors, False, error=errors or None)
        m = pronom[0]
        puid = str(m.get("id") or "")
        warning = str(m.get("warning") or "")
        known = bool(puid) and puid.upper() != "UNKNOWN"
        positive = known and not warning.startswith(EXTENSION_ONLY)
        return Answer(
            puid=puid if known else None,
            format_name=str(m.get("format") or "") or None,
            format_version=str(m.get("version") or "") or None,
            mime=str(m.get("mime") or "") or None,
            basis=str(m.get("basis") or ""),
            warning=warning,
            positive=positive,
        )


@functools.cache
def _pkg_version(name: str) -> str:
    try:
        return _dist_version(name)
    except PackageNotFoundError:
        return "unknown"


@functools.cache
def available() -> bool:
    """Whether pygfried is installed (it is a runtime dependency; absent, fido alone answers)."""
    import importlib.util

    return importlib.util.find_spec("pygfried") is not None  # found, not loaded


_instance: Siegfried | None = None
_instance_lock = threading.Lock()


def get() -> Siegfried | None:
    """The process's Siegfried, built on first use; None when pygfried is not installed or its
    helper cannot start (fido alone answers then, and the records say so: no siegfried keys)."""
    global _instance
    if not available():
        return None
    with _instance_lock:
        if _instance is None:
            try:
                _instance = Siegfried()
            except (SiegfriedError, OSError, ValueError):
                return None
        return _instance
