from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from lantai.core.roles import (
    ADMIN_TRIAD,
    APPRAISE,
    AUDIT,
    CURATE,
    DIGITIZE,
    DIGITIZE_MANAGE,
    EDIT,
    EXPORT,
    GRANTS,
    IMPORT,
    MARRIAGE,
    MARRIAGE_MANAGE,
    PRESERVE,
    RECEIVE,
    REVIEW,
    REVIEW_MANAGE,
    SERVE,
    SETTINGS,
    STACKS,
    STRUCTURE,
    SUBMIT,
    UNIT_REVIEW,
    USERS,
    VIEW,
)
from lantai.web import labels


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "can": {
            "view": user.has_perm_code(VIEW),
            "edit": user.has_perm_code(EDIT),
            "import": user.has_perm_code(IMPORT),
            "export": user.has_perm_code(EXPORT),
            "structure": user.has_perm_code(STRUCTURE),
            "audit": user.has_perm_code(AUDIT),
            "users": user.has_perm_code(USERS),
            "grants": user.has_perm_code(GRANTS),
            "transfers": user.has_perm_code(SUBMIT) or user.has_perm_code(RECEIVE),
            "preserve": user.has_perm_code(PRESERVE),
            "serve": user.has_perm_code(SERVE),
            "digitize": user.has_perm_code(DIGITIZE) or user.has_perm_code(DIGITIZE_MANAGE),
            "review": user.has_perm_code(REVIEW),
            "review_manage": user.has_perm_code(REVIEW_MANAGE),
            "unit_review": user.has_perm_code(UNIT_REVIEW),
            "marriage": user.has_perm_code(MARRIAGE),
            "marriage_manage": user.has_perm_code(MARRIAGE_MANAGE),
            "settings": user.has_perm_code(SETTINGS),
            "curate": user.has_perm_code(CURATE),
            "stacks": user.has_perm_code(STACKS),
            "appraise": user.has_perm_code(APPRAISE),
            "receive": user.has_perm_code(RECEIVE),
        },
        "user_role_label": labels.role_label(user.role),
        "is_admin_triad": user.role in ADMIN_TRIAD,
    }
