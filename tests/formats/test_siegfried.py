"""Identification uses PRONOM signatures newer than opf-fido's (PRONOM v109, containers 2020-01-21).

Siegfried (pygfried) answers first; its answer stands when it is sure (a byte, container, XML or
text match), fido's fast matcher answers the rest. These tests fail when the signatures in use are
fido's old set: they ask for PUIDs that PRONOM added after it, found in the format corpus.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fido import fido as fido_mod

from lantai.formats import identify as formats
from lantai.formats import siegfried as sf
from lantai.formats.checks import validate
from lantai.formats.identify import identify
from tests.ingest.test_formats import CORPUS

FIDO_FORMATS = Path(fido_mod.CONFIG_DIR) / "formats-v109.xml"
ODT_13 = CORPUS / "office-examples/LibreOffice7-ODF-1.3/LibreOfficeWriter_odt_1.3.odt"
J2C = CORPUS / "jp2k-formats/balloon.j2c"
DOCX = (
    CORPUS / "variations/variations/application"
    "/vnd.openxmlformats-officedocument.wordprocessingml.document/lorem-ipsum.docx"
)
BROKEN_PDF = CORPUS / "pdf-handbuilt-test-corpus/T04_002_EOF-missing.pdf"

FIDO_CONTAINERS = Path(fido_mod.CONFIG_DIR) / "container-signature-20200121.xml"
# PRONOM after fido's set: the JPEG 2000 codestream has a PUID newer than any of PRONOM v109
# (fmt/1793 is its last); ODF 1.3 has a PUID in v109 but no container signature before 2023
NEWER = {J2C: ("fmt/1794", "signature"), ODT_13: ("fmt/1756", "container")}


def fido_puids() -> set[str]:
    return set(re.findall(r"<puid>([^<]+)</puid>", FIDO_FORMATS.read_text(encoding="utf-8")))


def fido_container_puids() -> set[str]:
    text = FIDO_CONTAINERS.read_text(encoding="utf-8")
    return set(re.findall(r'Puid="([^"]+)"', text))


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


REFERENCE = """
import json, sys
import pygfried
paths = json.loads(sys.stdin.read())
found = pygfried.identify_many(paths)
print(json.dumps({"version": pygfried.version(),
                  "files": {f["filename"]: f["matches"][0] for f in found["files"]}}))
"""


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """pygfried's own module-level batch call (not Lantai's helper), in its own interpreter so
    that no Go runtime is loaded into this test process (tests after these fork)."""
    files = [str(p) for p in corpus_files() if p.stat().st_size > 0]
    proc = subprocess.run([sys.executable, "-c", REFERENCE], input=json.dumps(files),
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    return dict(json.loads(proc.stdout))


def test_formats_added_after_fidos_set_are_identified() -> None:
    old, old_containers = fido_puids(), fido_container_puids()
    assert len(old) > 1500 and len(old_containers) > 50  # fido's own files, as bundled
    assert "fmt/1794" not in old and "fmt/1756" not in old_containers  # fido cannot say these
    got = identify(list(NEWER))
    for path, (puid, method) in NEWER.items():
        ident = got[path]
        assert (ident.puid, ident.method, ident.tool) == (puid, method, "siegfried"), path
    assert got[ODT_13].format_version == "1.3"


def test_the_signature_set_in_use_is_newer_and_recorded(reference: dict[str, Any]) -> None:
    versions = formats.tool_versions()
    sigs = versions["siegfried_signatures"]
    droid = re.search(r"DROID_SignatureFile_V(\d+)\.xml", sigs)
    container = re.search(r"container-signature-(\d{8})\.xml", sigs)
    assert droid and int(droid.group(1)) > 109, sigs  # fido: v109
    assert container and container.group(1) > "20200121", sigs  # fido: 20200121
    assert versions["pronom_signatures"] == "v109"  # fido's, still the fallback
    scanner = sf.get()
    assert scanner is not None and scanner.pronom_version == int(droid.group(1))
    assert versions["siegfried"] == reference["version"]
    # every identification names its tool and signature set; checks and PREMIS agents carry it
    ident = identify([ODT_13])[ODT_13]
    tool, version = ident.agent()
    assert tool == "siegfried" and sigs in version and version.startswith(reference["version"])
    results = validate(ODT_13, ident, "a.odt")
    na = [r for r in results if r.status == "na"]
    assert na and na[0].tool == "siegfried" and sigs in na[0].tool_version
    assert all(r.evidence["identified_by"] == f"siegfried {version}" for r in results)


def test_lantai_gives_siegfrieds_answer_where_it_is_sure_and_fidos_elsewhere(
    reference: dict[str, Any],
) -> None:
    """The reference for every corpus file: pygfried's own module-level scanner where it is sure,
    opf-fido (whose fast matcher tests/ingest/test_fido_index.py holds equal to plain fido)
    elsewhere. Counts pin the split so a silent fall back to fido fails."""
    files = [p for p in corpus_files() if p.stat().st_size > 0]
    got = identify(files)
    runner, (mime, text) = formats._get_fido(), formats._get_magic()
    by_tool = {"siegfried": 0, "fido": 0}
    for p in files:
        detail = reference["files"][str(p)]
        sure = detail["id"] != "UNKNOWN" and not detail["warning"].startswith(sf.EXTENSION_ONLY)
        ident = got[p]
        by_tool[ident.tool] += 1
        if sure:
            assert (ident.tool, ident.puid, ident.basis) == (
                "siegfried", detail["id"], detail["basis"]
            ), p  # fmt: skip
        else:
            fido_only = formats._identify_one(runner, mime, text, p, {}, None)
            assert ident.tool == "fido" and ident.puid == fido_only.puid, p
            assert ident.candidates == fido_only.candidates, p
            assert ident.cross_check and ident.cross_check["tool"] == "siegfried", p
    assert by_tool["siegfried"] > 200 and by_tool["fido"] > 50, by_tool


def test_docx_and_word_get_their_own_puids_not_fidos_generic_ones() -> None:
    """fido's 2020 container set names a .docx `fido-fmt/189.word` (no PRONOM id) and a Word 97
    file `fmt/111` (any OLE2 file); the accepted-formats policy lists fmt/412 for DOCX."""
    word = CORPUS / "variations/variations/application/msword/lorem-ipsum.doc"
    got = identify([DOCX, word])
    assert (got[DOCX].puid, got[DOCX].method) == ("fmt/412", "container")
    assert got[word].puid == "fmt/40"


def test_fido_answers_where_siegfried_is_unsure_with_siegfrieds_word_kept() -> None:
    ident = identify([BROKEN_PDF])[BROKEN_PDF]
    assert (ident.tool, ident.method) == ("fido", "extension")  # as before: fido's guess by name
    assert ident.cross_check is not None
    assert ident.cross_check["tool"] == "siegfried" and ident.cross_check["puid"] == ""
    assert ident.cross_check["warning"].startswith("no match")
    assert ident.as_dict()["cross_check"] == ident.cross_check
    tool, version = ident.agent()
    assert tool == "fido" and "PRONOM v109" in version


def test_empty_file_is_not_sent_to_siegfried(tmp_path: Path) -> None:
    empty = tmp_path / "e.pdf"
    empty.write_bytes(b"")
    ident = identify([empty])[empty]
    assert ident.method == "empty" and ident.puid is None


def test_siegfried_stays_out_of_lantais_processes_so_forking_is_safe(tmp_path: Path) -> None:
    """pygfried is a Go runtime: a process that loaded it hangs in a forked child's first call
    (a forked transfer check did). Lantai asks a helper interpreter instead, so a process that
    identified can fork (pools, crash tests) and the child identifies with Siegfried too.
    Run in a fresh interpreter, bounded by a timeout."""
    for i in range(formats.PARALLEL_MIN_FILES):
        (tmp_path / f"f{i}.xml").write_text(f"<?xml version='1.0'?><a n='{i}'/>")
    script = textwrap.dedent(f"""
        import json, multiprocessing, os, sys
        from pathlib import Path
        from lantai.formats.identify import identify
        from lantai.formats.pool import pool_context
        files = sorted(Path({str(tmp_path)!r}).glob("*.xml"))
        first = identify(files[:1])[files[0]]
        assert first.tool == "siegfried" and "pygfried" not in sys.modules
        def child():
            ident = identify(files[1:2])[files[1]]
            os._exit(0 if ident.tool == "siegfried" and ident.puid == "fmt/101" else 3)
        proc = multiprocessing.get_context("fork").Process(target=child)
        proc.start()
        proc.join(60)
        out = identify(files, processes=2)
        print(json.dumps([proc.exitcode, pool_context().get_start_method(),
                          sorted({{(i.tool, i.puid) for i in out.values()}}), len(out),
                          "pygfried" in sys.modules]))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=150
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    exitcode, method, answers, count, loaded = __import__("json").loads(
        proc.stdout.strip().splitlines()[-1]
    )
    assert exitcode == 0  # the forked child got Siegfried's answer (it hung in-process)
    assert method == "fork" and not loaded  # workers fork as they did before 0.20
    assert answers == [["siegfried", "fmt/101"]] and count == formats.PARALLEL_MIN_FILES


def test_a_dead_helper_is_started_again(tmp_path: Path) -> None:
    scanner = sf.get()
    assert scanner is not None
    x = tmp_path / "a.xml"
    x.write_text("<?xml version='1.0'?><a/>")
    assert scanner.identify(x).puid == "fmt/101"
    assert scanner._proc is not None
    scanner._proc.kill()  # a Go panic on a hostile file ends the helper the same way
    scanner._proc.wait()
    assert scanner.identify(x).puid == "fmt/101"  # started again


def test_pygfried_is_not_loaded_into_this_process() -> None:
    assert "pygfried" not in sys.modules  # the tests after these fork (tests/ingest/test_resume)
