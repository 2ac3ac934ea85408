"""The fast fido matching (formats/fido_index.py) gives exactly plain fido's answers.

The reference is opf-fido's own, unmodified ``Fido`` class with the same bundled signature files:
for every file of the format corpus and of a generated transfer like the benchmark's, the PUIDs
(in order, so the chosen one too), the signature names and the match type must be the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fido import fido as fido_mod
from fido.versions import get_local_versions

from lantai.demo.transfer import make_transfer
from lantai.formats import identify as formats
from lantai.formats.fido_index import WIDE, first_bytes, literal_runs
from tests.ingest.test_formats import CORPUS

Answer = tuple[str, list[tuple[str, str]]] | None  # match type, [(puid, signature name)]


class PlainFido:
    """opf-fido's Fido as shipped, one answer per file."""

    def __init__(self) -> None:
        formats._get_fido()  # the same container signature file as ours (set in fido's defaults)
        versions = get_local_versions(fido_mod.CONFIG_DIR)
        self.answers: dict[str, Answer] = {}
        self.fido = fido_mod.Fido(
            quiet=True,
            handle_matches=self._handle,
            conf_dir=fido_mod.CONFIG_DIR,
            format_files=[str(versions.pronom_signature), str(versions.fido_extension_signature)],
            nocontainer=False,
        )
        assert type(self.fido) is fido_mod.Fido

    def _handle(self, name: str, matches: list[Any], _dt: float, matchtype: str = "") -> None:
        self.answers[name] = (matchtype, named(self.fido, matches))

    def identify(self, path: Path) -> Answer:
        self.fido.identify_file(str(path))
        return self.answers.pop(str(path), None)


def named(fido: Any, matches: list[Any]) -> list[tuple[str, str]]:
    return [(str(fido.get_puid(fmt)), str(name)) for fmt, name in matches]


def fast(path: Path) -> Answer:
    runner = formats._get_fido()
    found = runner.run(path)
    return (found[0], named(runner.fido, found[1])) if found else None


@pytest.fixture(scope="module")
def plain() -> PlainFido:
    return PlainFido()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A transfer made like the benchmark's (PDF, JPEG, TIFF, XML of ~108 KB), smaller."""
    root = make_transfer(tmp_path_factory.mktemp("gen") / "t", 40, files_per_item=2, size_kb=108)
    return sorted(p for p in (root / "电子档案").rglob("*") if p.is_file())


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


def test_every_corpus_and_generated_file_gets_plain_fidos_answer(
    plain: PlainFido, generated: list[Path]
) -> None:
    files = corpus_files() + generated
    assert len(files) > 300
    differ = {str(p): (plain.identify(p), fast(p)) for p in files}
    differ = {name: pair for name, pair in differ.items() if pair[0] != pair[1]}
    assert differ == {}
    # identify()'s fido path (taken where Siegfried has no sure answer; here with Siegfried
    # left out) carries the same chosen PUID and candidates
    runner, (mime, text), versions = formats._get_fido(), formats._get_magic(), {}
    for p in files:
        if p.stat().st_size == 0:
            continue
        want = plain.identify(p)
        got = formats._identify_one(runner, mime, text, p, versions, None)
        assert got.puid == (want[1][0][0] if want and want[1] else None), p
        assert list(got.candidates) == [puid for puid, _ in want[1]] if want else [], p
    assert formats._get_fido().fido._matcher is not None  # the fast path was the one used


def test_same_matches_on_cut_and_spliced_buffers(plain: PlainFido) -> None:
    """match_formats directly, on buffers no file in the corpus has: each file's head alone,
    its bytes shifted by one, and its head paired with another file's tail."""
    ours = formats._get_fido().fido
    files = [p for p in corpus_files() if p.stat().st_size > 0]
    heads = [p.read_bytes()[: 64 * 1024] for p in files]
    seen: set[str] = set()
    for i, head in enumerate(heads):
        tail = heads[(i + 7) % len(heads)][-2048:]
        for bof, eof in [(head, head), (head[1:], head[1:]), (head[:600], tail), (b"", tail)]:
            want = named(plain.fido, plain.fido.match_formats(bof, eof))
            assert named(ours, ours.match_formats(bof, eof)) == want, (files[i], len(bof))
            seen.update(puid for puid, _ in want)
    assert len(seen) > 40  # the buffers reach many formats, not a handful


def test_what_the_index_knows_about_a_regex() -> None:
    assert first_bytes(rb"(?s)\A%PDF-1\.4") == frozenset(b"%")
    assert first_bytes(rb"(?s)\A(?:II\*\x00|MM\x00\*)") == frozenset(b"IM")
    assert first_bytes(rb"(?s)\A.{0,144}%PDF-1") is None  # may start with any byte
    assert first_bytes(rb"(?i)\Aabc") is None  # "A" matches as well as "a"
    assert literal_runs(rb"(?s)\A.{0,64}\!Type:.*\^") == [(b"!Type:", 70), (b"^", WIDE)]
    assert literal_runs(rb"(?s)\A(?i:abcd)") == []
