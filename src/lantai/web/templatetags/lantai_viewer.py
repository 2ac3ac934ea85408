"""``{% load lantai_viewer %}``: what the IIIF viewer include (web/_iiif_viewer.html) needs.

Whether OpenSeadragon is installed is asked of Django's static files finders, the same lookup
that serves the file (whitenoise with finders, or collectstatic), so the page never names a
script that would answer 404. scripts/setup.sh copies the file from the npm package into
web/static/vendor/openseadragon/. A file found is remembered for the life of the process; a file
missing is looked for again after a short while, so that running setup.sh next to a running
server shows the viewer without a restart.
"""

from __future__ import annotations

import time
from typing import Any

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.translation import gettext

register = template.Library()

# The static path of OpenSeadragon's script; a setting so that a test can name a missing file.
DEFAULT_VENDOR_SCRIPT = "vendor/openseadragon/openseadragon.min.js"
MISSING_RECHECK_SECONDS = 30.0
_found: dict[str, float] = {}  # static path -> when it was found missing (0.0: found)


def vendor_script() -> str:
    return str(getattr(settings, "IIIF_VIEWER_SCRIPT", DEFAULT_VENDOR_SCRIPT))


def openseadragon_installed() -> bool:
    path = vendor_script()
    missing_since = _found.get(path)
    if missing_since == 0.0:
        return True
    now = time.monotonic()
    if missing_since is not None and now - missing_since < MISSING_RECHECK_SECONDS:
        return False
    present = bool(finders.find(path))
    _found[path] = 0.0 if present else now
    return present


@register.simple_tag
def iiif_viewer_setup() -> dict[str, Any]:
    """The script to load and whether it is there."""
    return {"installed": openseadragon_installed(), "script": vendor_script()}


@register.simple_tag
def iiif_viewer_pages(viewer: dict[str, Any]) -> list[dict[str, str]]:
    """The viewer's pages: info.json URL, label, fallback image and a small strip thumbnail."""
    sources = list(viewer.get("sources") or [])
    labels = list(viewer.get("labels") or [])
    fallback = list(viewer.get("fallback") or [])
    pages = []
    for n, info in enumerate(sources):
        base = info[: -len("/info.json")] if info.endswith("/info.json") else info
        pages.append(
            {
                "info": info,
                "label": labels[n] if n < len(labels) else gettext("第 %(n)s 页") % {"n": n + 1},
                "fallback": fallback[n] if n < len(fallback) else "",
                "thumb": f"{base}/full/,96/0/default.jpg",  # sizeByH: level 1
            }
        )
    return pages
