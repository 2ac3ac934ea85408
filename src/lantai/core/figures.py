"""Providers of annual statistics figures (统计) held by rooms on the statistics room's own floor.

stats may not import access, exhibits or the other rooms beside it; each of them registers here,
in its AppConfig.ready(), a function (year, repository_id) -> number for the figure codes of
standards/data/statistics-report.yaml it can answer: the figure of that one archives (catalog
Repository) in that year, since the annual report is made per archives. A code nobody registered is reported as
"not available", never as 0."""

from __future__ import annotations

from collections.abc import Callable

Provider = Callable[[int, int], float | int]

_providers: dict[str, Provider] = {}


def register(code: str, fn: Provider) -> None:
    """Make `fn(year, repository_id)` the provider of figure `code` (registering again replaces it: ready() may
    run more than once in tests)."""
    _providers[code] = fn


def provided() -> dict[str, Provider]:
    """The registered providers by figure code (a copy)."""
    return dict(_providers)
