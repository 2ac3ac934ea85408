"""The Library of Congress BagIt conformance suite, read from ../shared (never copied): every valid
bag reads without a failed check, every invalid one (and each linux-only case) gives at least one,
including bagit-with-invalid-whitespace that the bagit library alone accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lantai.standards.transfer import bagit_reader
from lantai.standards.transfer.detect import read_package

from .conftest import failed, read_only_snapshot

SUITE = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "bagit-conformance-suite"
if not SUITE.is_dir():
    SUITE = Path("/work/shared/corpora/bagit-conformance-suite")

assert SUITE.is_dir(), f"the LoC BagIt conformance suite belongs at {SUITE} (../shared/corpora)"


def _cases(*kinds: str) -> list[Path]:
    return sorted(p for k in kinds for p in SUITE.glob(f"v*/{k}/*") if p.is_dir())


def _id(p: Path) -> str:
    return str(p.relative_to(SUITE))


def test_suite_is_where_we_expect() -> None:
    assert len(_cases("valid")) >= 27
    assert len(_cases("invalid")) >= 15


@pytest.mark.parametrize("bag", _cases("valid"), ids=_id)
def test_valid_bags_pass(bag: Path, tmp_path: Path) -> None:
    before = read_only_snapshot(bag)
    pkg = read_package(bag, tmp_path)
    assert pkg.kind == "bagit"
    assert failed(pkg) == [], [r.evidence for r in failed(pkg)]
    assert pkg.declared, "manifest entries become declared digests"
    assert read_only_snapshot(bag) == before


@pytest.mark.parametrize("bag", _cases("invalid", "linux-only"), ids=_id)
def test_invalid_bags_fail(bag: Path, tmp_path: Path) -> None:
    pkg = read_package(bag, tmp_path)
    assert failed(pkg), f"{_id(bag)} read as valid"


@pytest.mark.parametrize("bag", _cases("warning"), ids=_id)
def test_warning_bags_are_read(bag: Path, tmp_path: Path) -> None:
    pkg = read_package(bag, tmp_path)
    assert pkg.kind == "bagit" and pkg.declared


def test_invalid_whitespace_fails_on_bagit_txt(tmp_path: Path) -> None:
    import bagit

    bag = SUITE / "v1.0" / "invalid" / "bagit-with-invalid-whitespace"
    assert bagit.Bag(str(bag)).is_valid(), "the library accepts it (dependencies.md §5)"
    pkg = bagit_reader.read(bag)
    structure = [r for r in failed(pkg, "1-5") if r.object == "bagit.txt"]
    assert structure and "冒号" in structure[0].evidence["reason"]


def test_corrupt_payload_names_the_file(tmp_path: Path) -> None:
    pkg = read_package(SUITE / "v0.97" / "invalid" / "corrupt-data-file", tmp_path)
    assert [r.object for r in failed(pkg, "1-1")] == ["data/bare-filename"]
    # without payload verification the pipeline's fixity stage does the comparing
    pkg = read_package(
        SUITE / "v0.97" / "invalid" / "corrupt-data-file", tmp_path, verify_bag_payload=False
    )
    assert failed(pkg, "1-1") == []
    assert {d.path for d in pkg.declared if d.path.startswith("data/")} == {
        "data/bare-filename",
        "data/text-file.txt",
    }


def test_extra_file_is_package_completeness(tmp_path: Path) -> None:
    pkg = read_package(SUITE / "v1.0" / "invalid" / "notAllManifestsListAllFiles", tmp_path)
    assert [r.object for r in failed(pkg, "2-4")] == ["data/missingFromManifest.txt"]


def test_bag_info_becomes_register(tmp_path: Path) -> None:
    pkg = read_package(SUITE / "v0.97" / "valid" / "basic-bag", tmp_path)
    oxum = pkg.register.fields["Payload-Oxum"]
    assert f"{pkg.register.byte_count}.{pkg.register.item_count}" == oxum
    algorithms = {d.algorithm for d in pkg.declared}
    assert algorithms <= {"sha256", "sha512", "md5", "sha1"} and algorithms
