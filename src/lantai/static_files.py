"""Static files with hashed names for production (LANTAI_STATIC_MANIFEST=1).

After `collectstatic`, every file is kept under its own name and under a name carrying a hash of
its content (``lantai.3f2a9c1e7b40.css``); pages link the hashed names, so nginx may let
browsers keep them for a year (deploy/nginx/lantai.conf). A gzip copy is written beside each
(nginx's gzip_static serves it; so does WhiteNoise when gunicorn is asked directly).
"""

from __future__ import annotations

from typing import Any

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

_SOURCE_MAP = "sourceMappingURL"


class HashedStaticFiles(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # untyped
    """Django's manifest storage without source-map rewriting: vendored minified scripts
    (OpenSeadragon) name source maps they do not ship, and Django would end collectstatic on
    the first such reference. A source map is fetched only by a browser's developer tools; it
    keeps its plain name. Every other reference (CSS ``url()``, ``@import``) must still exist.

    No Brotli copies: Debian's nginx has no module to serve them, and making them took most of
    collectstatic's time (about 30 s of CPU, nine tenths of it)."""

    patterns = tuple(
        (glob, tuple(p for p in rules if _SOURCE_MAP not in (p[0] if isinstance(p, tuple) else p)))
        for glob, rules in CompressedManifestStaticFilesStorage.patterns
    )

    def create_compressor(self, **kwargs: Any) -> Compressor:
        return Compressor(**{**kwargs, "use_brotli": False})
