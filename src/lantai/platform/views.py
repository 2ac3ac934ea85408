"""The platform's machine endpoints: the inbox every node and the hub answer on, joining, and
the signed member list. Signed messages authenticate themselves; these views take no session."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import members, peers, transport


def _error(code: str, zh: str, en: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": zh, "message_en": en}}, status=status,
                        json_dumps_params={"ensure_ascii": False})  # fmt: skip


@csrf_exempt
@require_POST
def inbox(request: HttpRequest) -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        return _error("too_large", "消息过大", "the message is too large", 413)
    raw = request.read(limit + 1)  # a chunked body has no length to check first
    if len(raw) > limit:
        return _error("too_large", "消息过大", "the message is too large", 413)
    try:
        answer = transport.receive(raw)
    except transport.Refused as exc:
        return _error(exc.code, exc.message_zh, exc.message_en, exc.status)
    except peers.NotJoined as exc:
        return _error("not_joined", str(exc), "this installation has not joined the platform", 409)
    return JsonResponse(answer, json_dumps_params={"ensure_ascii": False})


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None


@csrf_exempt
@require_POST
def join(request: HttpRequest) -> JsonResponse:
    if not peers.is_hub():
        return _error("not_hub", "这里不是平台中心", "this installation is not the hub", 404)
    try:
        answer = members.accept_join(_body(request))
    except members.JoinError as exc:
        return _error(exc.code, exc.message_zh, exc.message_en, exc.status if exc.status >= 400 else 400)  # fmt: skip
    return JsonResponse(answer, json_dumps_params={"ensure_ascii": False})


@require_GET
def member_list(request: HttpRequest) -> JsonResponse:
    if not peers.is_hub():
        return _error("not_hub", "这里不是平台中心", "this installation is not the hub", 404)
    return JsonResponse({"member_list": members.member_list()}, json_dumps_params={"ensure_ascii": False})  # fmt: skip
