from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from lantai.core.roles import AUDIT, GRANTS, IMPORT, USERS, VIEW


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "can": {
            "view": user.has_perm_code(VIEW),
            "import": user.has_perm_code(IMPORT),
            "audit": user.has_perm_code(AUDIT),
            "users": user.has_perm_code(USERS),
            "grants": user.has_perm_code(GRANTS),
        }
    }
