"""Template context: whether this installation is the platform's hub (the public portal then links
the region-wide search). Lazy: only pages that ask pay for the query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def platform(request: HttpRequest) -> dict[str, Any]:
    from . import peers

    return {"platform_hub": SimpleLazyObject(lambda: peers.is_hub())}
