"""The formats stage of a check: identify (:mod:`~lantai.formats.identify`) and validate
(:mod:`~lantai.formats.checks`) every file, each file start to end in one worker process.

- fido, libmagic and the file's validator read it in one place, while it is in the page cache;
- validation runs on the workers beside identification, not one file at a time in the caller;
- one pool serves the whole stage, so each worker builds fido's tables once;
- results come back chunk by chunk as the workers finish them, so a memo records them as they
  come and a crash loses at most the chunks in flight.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lantai.formats import checks as format_checks
from lantai.formats import identify as formats
from lantai.formats.identify import Identification
from lantai.formats.policy import FormatPolicy
from lantai.formats.pool import pool_context
from lantai.standards.dat70 import CheckResult

__all__ = ["CHUNK", "check_files"]

CHUNK = 50  # files per task: small enough to spread evenly, large enough to cost nothing to send

OnDone = Callable[[str, Identification | None, list[CheckResult]], None]
Done = list[tuple[str, Identification | None, list[CheckResult]]]


def check_files(
    files: dict[str, Path],
    *,
    processes: int = 1,
    on_done: OnDone | None = None,
    policy: FormatPolicy | None = None,
) -> dict[str, list[CheckResult]]:
    """The format checks of every file (report name → path), in the order given. `on_done` is
    called in this process with each file's identification and checks as they arrive. With a
    `policy`, a file of a format outside it also gets its 3-2 warning (FormatPolicy.judge)."""
    items = list(files.items())
    out: dict[str, list[CheckResult]] = {}

    def take(done: Done) -> None:
        for rel, ident, checks in done:
            out[rel] = checks
            if on_done is not None:
                on_done(rel, ident, checks)

    if processes > 1 and len(items) >= formats.PARALLEL_MIN_FILES:
        chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        with ProcessPoolExecutor(max_workers=processes, mp_context=pool_context()) as pool:
            for done in pool.map(functools.partial(_check_chunk, policy=policy), chunks):
                take(done)
    else:
        for item in items:  # one at a time, so that each file is recorded when it is done
            take(_check_chunk([item], policy))
    return {rel: out[rel] for rel, _ in items}


def _check_chunk(items: list[tuple[str, Path]], policy: FormatPolicy | None = None) -> Done:
    identified = formats.identify([path for _, path in items])
    done: Done = []
    for rel, path in items:
        ident = identified.get(path)
        checks = format_checks.validate(path, ident, rel)
        outside = policy.judge(rel, ident) if policy is not None else None
        done.append((rel, ident, [*checks, outside] if outside is not None else checks))
    return done
