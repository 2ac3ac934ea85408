"""/oai (public, GET and POST, text/xml) and the staff download of a fonds' EAD finding aid."""

from __future__ import annotations

import math
import os
import secrets
from typing import Any, cast

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from lantai.catalog import services
from lantai.core import audit
from lantai.core.roles import EXPORT
from lantai.interop import ead, oai, publishing
from lantai.web.views.common import permission_required

_PLACEHOLDER = 987654321


def _throttled(request: HttpRequest) -> HttpResponse | None:
    """The portal's per-client token buckets; OAI-PMH asks for flow control by 503 + Retry-After
    (OAI-PMH §3.1.2.2), which harvesters honour. The bucket is "oai" when the portal defines it
    (PUBLIC_OAI_RATE), else the content bucket."""
    from lantai.core import ratelimit
    from lantai.core.client_address import client_address

    bucket = "oai" if "oai" in ratelimit.BUCKETS else "content"
    wait = ratelimit.take(bucket, client_address(request))
    if not wait:
        return None
    seconds = max(1, math.ceil(wait))
    response = HttpResponse(
        _("请求过于频繁，请 %(s)d 秒后再试") % {"s": seconds},
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response


@csrf_exempt  # OAI-PMH allows POST (form-encoded arguments); nothing is changed by it
@require_http_methods(["GET", "POST", "HEAD"])
def oai_view(request: HttpRequest) -> HttpResponse:
    limited = _throttled(request)
    if limited is not None:
        return limited
    source = request.POST if request.method == "POST" else request.GET
    args = {k: v for k, v in source.lists()}
    base_url = request.build_absolute_uri(request.path)
    template = request.build_absolute_uri(reverse("access:record", args=[_PLACEHOLDER]))
    head, tail = template.split(str(_PLACEHOLDER), 1)

    def record_url(pk: int) -> str:
        return f"{head}{pk}{tail}"

    publishing.sync_quietly()
    body = oai.respond(oai.Request(args=args, base_url=base_url, record_url=record_url))
    return HttpResponse(body.encode("utf-8"), content_type="text/xml; charset=utf-8")


@permission_required(EXPORT)
def fonds_ead(request: HttpRequest, pk: int) -> HttpResponse:
    """The fonds' finding aid as a download: ?version=ead3 for EAD3, EAD 2002 otherwise."""
    user: Any = request.user
    fonds = services.visible_fonds_by_id(user, pk)
    if fonds is None:
        return HttpResponse(_("全宗不存在，或您无权查阅。"), status=404)
    ead3 = request.GET.get("version") == "ead3"
    out_dir = settings.DATA_DIR / "exports"
    path = out_dir / f"{secrets.token_hex(16)}.xml"
    count = ead.write_fonds(fonds, path, ead3=ead3, user=user)
    audit.record(
        "export", "fonds", fonds.pk, {"format": "ead3" if ead3 else "ead2002", "rows": count}
    )
    handle = path.open("rb")
    os.unlink(path)  # the open handle keeps the data until the response is sent
    name = f"{fonds.repository.code}-{fonds.code}-{'EAD3' if ead3 else 'EAD2002'}.xml"
    response = FileResponse(
        handle, as_attachment=True, filename=name, content_type="application/xml; charset=utf-8"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return cast(HttpResponse, response)  # a streaming response, as access/views.py serves files
