"""Open a search backend by name: the one place that knows which classes implement
`lantai.search.backend.SearchBackend`. Backends are imported lazily, so the embedded default never
needs a PostgreSQL driver and the PostgreSQL backend never needs tantivy.

    open_backend("tantivy", path=data_dir / "search")              # the worker (the one writer)
    open_backend("tantivy", path=data_dir / "search", read_only=True)  # web processes
    open_backend("postgresql", dsn="postgresql://…/lantai", table_prefix="search_")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lantai.search.backend import SearchBackend

BACKENDS = ("tantivy", "postgresql")


def open_backend(name: str, **options: Any) -> SearchBackend:
    if name == "tantivy":
        from lantai.search.tantivy_backend import TantivyBackend

        return TantivyBackend(Path(options["path"]), read_only=bool(options.get("read_only")))
    if name == "postgresql":
        from lantai.search.postgres_backend import PostgresBackend  # type: ignore[import-not-found,unused-ignore]

        extra = {k: options[k] for k in ("bitmap_min_df",) if k in options}
        backend: SearchBackend = PostgresBackend(
            options["dsn"], table_prefix=options.get("table_prefix", "search_"), **extra
        )
        return backend
    raise ValueError(f"unknown search backend {name!r} (one of {', '.join(BACKENDS)})")
