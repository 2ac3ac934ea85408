"""地名词典: place names resolved to approximate WGS84 coordinates (``data/gazetteer.yaml``).

``resolve(name)`` accepts the names people write in description fields: a place's name or an
alias ("镇南关" → 友谊关, "百色起义纪念馆" → 百色), with the province before it ("广西百色"),
with an administrative suffix ("百色市", "全州县", "融水苗族自治县"), and a place name followed
by something about it ("百色起义纪念馆", "桂林市全州县" → the more specific 全州). Unknown names
are None, never a guess.

An archives adds its own names (villages, old names, sites the shipped list lacks) in a YAML file
of the same form, named with ``use_local_file`` (settings: LANTAI_GAZETTEER_FILE); the shipped
names win where both have one. A local file that cannot be read is left out, logged and named by
``local_problem()``: the pages with maps go on with the shipped names.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ._data import DataFileError, load_data

__all__ = ["Place", "places", "resolve", "use_local_file"]

_FILE = "gazetteer.yaml"
_PROVINCE_PREFIX = re.compile(r"^(中国|广西壮族自治区|广西省|广西)")
_SUFFIX = re.compile(
    r"(各族自治县|[\u4e00-\u9fff]{1,3}族自治县|自治县|特别行政区|自治区|地区|市|县|区|镇|乡)$"
)
_JOINERS = "市县区镇乡·、，, "  # between a place and what follows it ("桂林市全州县")
_MAX_CHARS = 200
_LOCAL: list[Path] = []
_PROBLEMS: list[str] = []
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    name: str
    lon: float
    lat: float
    kind: str
    parent: str


def _clean(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def use_local_file(path: Path | None) -> None:
    """Resolve the places of the YAML file at `path` too (read when first needed; a file that is
    not there adds nothing); None: the shipped names only."""
    _LOCAL[:] = [path] if path is not None else []
    _index.cache_clear()


def local_problem() -> str:
    """Why the local file was left out ("" when it was read, or there is none)."""
    _index()
    return "; ".join(_PROBLEMS)


def _local_places(path: Path) -> Any:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise DataFileError(f"{path}: {e}") from e
    return data.get("places") if isinstance(data, dict) else None


@functools.cache
def _index() -> tuple[dict[str, Place], tuple[str, ...]]:
    """name or alias (and its suffix-less form) → Place; the keys longest first."""
    index: dict[str, Place] = {}
    _PROBLEMS.clear()
    _add(index, _FILE, load_data(_FILE)["places"])
    for path in _LOCAL:
        local: dict[str, Place] = {}
        try:
            _add(local, str(path), _local_places(path))
        except DataFileError as e:
            log.warning("the local gazetteer is left out: %s", e)
            _PROBLEMS.append(str(e))
            continue
        for key, place in local.items():
            index.setdefault(key, place)
    return index, tuple(sorted(index, key=len, reverse=True))


def _add(index: dict[str, Place], source: str, rows: Any) -> None:
    """The places of one file into `index` (a name already there keeps its place)."""
    if not isinstance(rows, dict):
        raise DataFileError(f"{source}: expected a mapping 'places:'")
    for name, row in rows.items():
        try:
            lon, lat = float(row["lon"]), float(row["lat"])
            kind = str(row.get("kind") or "site")
        except (TypeError, KeyError, ValueError) as e:
            raise DataFileError(f"{source}: {name}: lon and lat are needed") from e
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise DataFileError(f"{source}: {name}: coordinates out of range")
        place = Place(str(name), lon, lat, kind, str(row.get("parent") or ""))
        for key in (name, *(row.get("aliases") or ())):
            key = _clean(str(key))
            for form in (key, _SUFFIX.sub("", key)):
                if len(form) >= 1:
                    index.setdefault(form, place)


def places() -> list[Place]:
    """Every place of the gazetteer, once each, in the data file's order."""
    seen: dict[str, Place] = {}
    for place in _index()[0].values():
        seen.setdefault(place.name, place)
    return list(seen.values())


def resolve(name: str) -> Place | None:
    """The place `name` means, or None when the gazetteer does not know it."""
    if not isinstance(name, str):
        return None
    text = _clean(name)[:_MAX_CHARS]
    return _resolve(text, depth=0)


def _resolve(text: str, depth: int) -> Place | None:
    index, keys = _index()
    if not text or depth > 4:
        return None
    for candidate in (text, _SUFFIX.sub("", text)):
        if candidate in index:
            return index[candidate]
    stripped = _PROVINCE_PREFIX.sub("", text)
    if stripped != text:
        found = _resolve(stripped, depth + 1)
        if found is not None or not stripped:
            return found
    # a known name at the start, then something else: the more specific place named after it
    # wins ("桂林市全州县" → 全州), else the known one ("百色起义纪念馆" → 百色)
    for key in keys:
        if len(key) >= 2 and text.startswith(key):
            rest = text[len(key) :].lstrip(_JOINERS)
            inner = _resolve(rest, depth + 1) if rest else None
            return inner if inner is not None else index[key]
    return None
