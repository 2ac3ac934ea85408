"""Loading of the YAML data files under ``data/`` (each read once per process)."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


class DataFileError(ValueError):
    """A data file is missing or malformed (a packaging or editing mistake, not a user error)."""


@functools.cache
def load_data(filename: str) -> dict[str, Any]:
    """Return the parsed top-level mapping of ``data/<filename>``. Callers must not mutate it."""
    path = resources.files(__name__.rpartition(".")[0]).joinpath("data", filename)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataFileError(f"standards data file not found: {filename}") from exc
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise DataFileError(f"{filename}: top level must be a mapping")
    for key in ("version", "source"):
        if key not in data:
            raise DataFileError(f"{filename}: missing top-level key {key!r}")
    return data
