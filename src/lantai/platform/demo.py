"""The platform in the demo (tasks.demo_region): one installation as the hub and its own node."""

from __future__ import annotations

import time
from typing import Any

import requests

from lantai.catalog import components
from lantai.marriage.models import Registration
from lantai.standards import marriage_rights

from . import harvesting, members, peers, regional, remote
from .models import Membership

NODE = "demo"
WAIT_SECONDS = 120


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/login/", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def make_region(url: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while not _answers(url):
        if time.monotonic() > deadline:
            return {"ok": False, "error": f"{url} did not answer"}
        time.sleep(2)
    if Membership.objects.exists():
        return {"ok": True, "joined": False}
    token = members.issue_token(NODE, actor="demo")
    members.join(url, token, url=url, actor="demo")
    if not regional.has_key():
        regional.create()
    runs = harvesting.harvest(NODE, full=True)
    sent = _requests()
    return {"ok": True, "joined": True, "harvest": runs, "requests": sent}


def _requests() -> list[str]:
    """A certificate asked for at the window of the node itself — the path is the same as across
    archives — for one scanned record (answered) and one paper-only record (queued)."""
    regs = list(Registration.objects.filter(kind="marriage").select_related("record").prefetch_related("parties").order_by("date")[:2])  # fmt: skip
    out = []
    for i, reg in enumerate(regs):
        if i == 0 and not reg.record.components.exists():
            components.attach_component(reg.record, [_scan()], "结婚登记审查处理表.png", user=None)
        party = reg.parties.order_by("position").first()
        if party is None:
            continue
        from lantai.marriage import identity

        request = marriage_rights.Request(
            requester_type="self", requester_name=party.name,
            requester_id=identity.unseal(party.id_sealed), proofs={"id_document": "原件已核验"},
            purpose="办理房产过户（演示：全区通查、异地出证）",
        )  # fmt: skip
        row = remote.send(f"{peers.own_code()}:{reg.record.reference_code}", request, actor="demo", channel="counter")  # fmt: skip
        out.append(f"{row.locator} {row.status}")
    return out


def _scan() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (620, 880), 250)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 580, 840), outline=60, width=3)
    for y in range(120, 800, 48):
        draw.line((70, y, 550, y), fill=150, width=1)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
