"""Without the SM3 lanes extension (a build without a C compiler) `lantai.core.sm3` falls back to
the library SM3, says so, and gives the same digests as the extension (and as GB/T 32905)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from lantai.core import sm3

# GB/T 32905-2016, appendix A
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"

# empty, 1 byte, the padding boundaries around one block (55/56, 63/64/65), two blocks, 1 MB
LENGTHS = [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 1_000_000]

# Runs in a fresh interpreter in which importing the extension fails, as on a machine where it was
# never built; prints the backend and the digests as JSON.
WITHOUT_EXTENSION = textwrap.dedent(
    """
    import importlib.abc, json, random, sys

    class NoLanes(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "lantai.core._sm3lanes":
                raise ImportError("hidden: built without a C compiler")
            return None

    sys.meta_path.insert(0, NoLanes())
    from lantai.core import sm3

    rnd = random.Random(32905)
    messages = [rnd.randbytes(n) for n in json.loads(sys.argv[1])]
    messages += [b"abc", bytearray(b"abc"), memoryview(b"xabcx")[1:4]]
    refused = []
    for bad in (["abc"], None):
        try:
            sm3.sm3_many(bad)
        except TypeError:
            refused.append(True)
    print(json.dumps({"backend": sm3.backend(), "details": sm3.backend_details(),
                      "digests": sm3.sm3_many(messages), "refused": refused}))
    """
)


def _messages() -> list[bytes | bytearray | memoryview]:
    import random

    rnd = random.Random(32905)
    messages: list[bytes | bytearray | memoryview] = [rnd.randbytes(n) for n in LENGTHS]
    return [*messages, b"abc", bytearray(b"abc"), memoryview(b"xabcx")[1:4]]


@pytest.fixture(scope="module")
def without_extension() -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTENSION, json.dumps(LENGTHS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    result["stderr"] = proc.stderr
    return result


def test_fallback_says_it_is_the_library(without_extension: dict[str, object]) -> None:
    assert without_extension["backend"] == "library"
    details = without_extension["details"]
    assert isinstance(details, dict)
    assert details["backend"] == "library" and details["lanes_fast"] is False
    assert "SM3 lanes extension" in str(without_extension["stderr"])  # the warning at import


def test_fallback_digests_equal_the_extension_and_the_standard(
    without_extension: dict[str, object],
) -> None:
    messages = _messages()
    expected = [sm3.sm3_hex(bytes(m)) for m in messages]
    digests = without_extension["digests"]
    assert digests == expected
    assert isinstance(digests, list) and digests[-3:] == [SM3_ABC] * 3
    assert without_extension["refused"] == [True, True]  # not bytes: TypeError, as the lanes
    if sm3.backend() == "lanes":  # built here (scripts/setup.sh installs gcc): compare with it
        assert sm3.sm3_many(messages) == digests


def test_this_install_has_the_extension() -> None:
    """The development install (scripts/setup.sh: gcc, python3-dev) builds the lanes; a wheel
    without them would silently fall back, so the dev and CI install must show "lanes"."""
    assert sm3.backend() == "lanes"
    assert sm3.backend_details()["backend"] == "lanes"
