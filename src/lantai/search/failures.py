"""Documents a backend could not index.

A backend indexes every document of a batch it can and raises `DocumentsFailed` at the end,
naming the ones it could not (id -> why): one bad document never fails its batch, a catch-up or
a rebuild. `lantai.search.services` records them (`PendingChange`), `lantai search status` shows
them and the catch-up job retries them."""

from __future__ import annotations

from collections.abc import Mapping


class DocumentsFailed(Exception):
    """Raised after the other documents were indexed: `failures` maps the id of each document
    left out to the reason, `done` counts the documents indexed."""

    def __init__(self, failures: Mapping[int, str], done: int) -> None:
        self.failures = dict(failures)
        self.done = done
        shown = ", ".join(f"{i}: {why}" for i, why in list(self.failures.items())[:3])
        more = f" (+{len(self.failures) - 3})" if len(self.failures) > 3 else ""
        super().__init__(f"{len(self.failures)} documents not indexed: {shown}{more}")
