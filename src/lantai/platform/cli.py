"""`lantai platform …`: the region-wide platform (docs/operator-guide.md, "全区平台").

On the hub:   token --node-code C | remove-member C --reason R | harvest [--node C] [--full]
On any node:  join HUB_URL --token T [--url URL] | refresh | deliver | status
              search QUERY | marriage-find (--id N | --name N [--year Y]) --requester-type T …
              request --record NODE:档号 --requester-type T … --out FILE.pdf
              log verify | regional-key (--create | --export FILE | --import FILE)
Every command takes --json. Exit codes: 0 done; 1 refused (by the rules, the peer, or a failed
check: `log verify` exits 1 on any altered, removed or inserted message); 2 bad input; 3 a peer
or the hub cannot be reached (request: the request waits in the outbox, exit 3 with "queued");
4 the request was accepted and queued for the holding archives' staff (no certificate yet)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import (  # fmt: skip
    EXIT_FAULT,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    cli_actor,
    django_setup,
    echo_json,
    fail,
)
from lantai.marriage.cli import acting_user, build_request, requester_options

EXIT_QUEUED = 4


@click.group()
def platform() -> None:
    """全区平台: nodes, hub, harvest, region-wide search and requests across archives."""


def _done(data: dict[str, Any], as_json: bool, text: str, code: int = EXIT_OK) -> None:
    if as_json:
        echo_json(data)
    else:
        click.echo(text)
    sys.exit(code)


@platform.command("token")
@click.option("--node-code", required=True)
@click.option("--days", type=click.IntRange(1, 90), default=7)
@click.option("--json", "as_json", is_flag=True)
def token_command(node_code: str, days: int, as_json: bool) -> None:
    """On the hub: a one-time token for the node NODE_CODE to join (shown once)."""
    django_setup()
    from . import members

    try:
        token = members.issue_token(node_code, actor=cli_actor(), days=days)
    except members.JoinError as e:
        fail(
            e.message_zh,
            EXIT_UNREADABLE if e.code == "code" else EXIT_REFUSED,
            as_json,
            reason=e.code,
        )
    _done({"node_code": node_code, "token": token, "days": days}, as_json,
          f"节点 {node_code} 的加入令牌（{days} 天内有效，只显示这一次）：\n{token}")  # fmt: skip


@platform.command("join")
@click.argument("hub_url")
@click.option("--token", required=True)
@click.option("--url", default="", help="this node's address as the others reach it")
@click.option("--json", "as_json", is_flag=True)
def join_command(hub_url: str, token: str, url: str, as_json: bool) -> None:
    """Join the platform whose hub is at HUB_URL."""
    django_setup()
    from django.conf import settings

    from . import members

    url = url or getattr(settings, "PUBLIC_URL", "")
    if not url:
        fail("请用 --url 写明本节点的地址（其他档案馆访问本馆所用的地址）", EXIT_UNREADABLE, as_json, field="url")  # fmt: skip
    try:
        m = members.join(hub_url, token, url=url, actor=cli_actor())
    except members.JoinError as e:
        code = {2: EXIT_UNREADABLE, 3: EXIT_FAULT}.get(e.status, EXIT_REFUSED)
        fail(e.message_zh, code, as_json, reason=e.code)
    count = len(m.member_list.get("members", []))
    _done({"ok": True, "code": m.code, "hub": m.hub_url, "members": count}, as_json,
          f"已作为节点 {m.code} 加入 {m.hub_url}（成员 {count} 个）")  # fmt: skip


@platform.command("remove-member")
@click.argument("code")
@click.option("--reason", required=True)
@click.option("--json", "as_json", is_flag=True)
def remove_member_command(code: str, reason: str, as_json: bool) -> None:
    """On the hub: take a node off the member list (its key is refused from now on)."""
    django_setup()
    from . import members, peers, trust

    if not peers.is_hub():
        fail("这里不是平台中心：只有平台中心可以移出节点", EXIT_REFUSED, as_json, reason="not_hub")
    try:
        members.remove_member(code, actor=cli_actor(), reason=reason)
    except members.JoinError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, reason=e.code)
    trust.republish()
    _done({"ok": True, "removed": code}, as_json, f"节点 {code} 已移出平台成员名单")


@platform.command("refresh")
@click.option("--json", "as_json", is_flag=True)
def refresh_command(as_json: bool) -> None:
    """Fetch the member list, send this node's keys and lists, time-stamp the log head."""
    django_setup()
    from . import members, peers

    try:
        out = members.refresh()
    except peers.NotJoined as e:
        fail(str(e), EXIT_REFUSED, as_json, reason="not_joined")
    ok = out["member_list"] and out["anchored"]
    _done({"ok": ok, **out}, as_json, "已更新" if ok else f"未完成：{out.get('error', '')}", EXIT_OK if ok else EXIT_FAULT)  # fmt: skip


@platform.command("deliver")
@click.option("--json", "as_json", is_flag=True)
def deliver_command(as_json: bool) -> None:
    """Deliver the messages waiting in the outbox now."""
    django_setup()
    from . import transport

    out = transport.deliver_due(now=True)
    _done(
        out, as_json, f"送达 {out['delivered']}，仍在等待 {out['waiting']}，被拒 {out['refused']}"
    )


@platform.command("harvest")
@click.option("--node", "node_code", default=None)
@click.option("--full", is_flag=True, help="start over and remove what a node no longer holds")
@click.option("--feed", type=click.Choice(["all", "catalogue", "marriage"]), default="all")
@click.option("--json", "as_json", is_flag=True)
def harvest_command(node_code: str | None, full: bool, feed: str, as_json: bool) -> None:
    """On the hub: harvest every node (or one) now."""
    django_setup()
    from . import harvesting

    try:
        runs = harvesting.harvest(node_code, full=full, feed=feed)
    except harvesting.HarvestError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, reason=e.code)
    ok = all(r["ok"] for r in runs)
    lines = [f"{r['node']} {r['feed']}: {'完成' if r['ok'] else '失败'} {r.get('records', 0)} 条 {r.get('error', '')}" for r in runs]  # fmt: skip
    _done(
        {"ok": ok, "runs": runs},
        as_json,
        "\n".join(lines) or "没有成员",
        EXIT_OK if ok else EXIT_FAULT,
    )


@platform.command("search")
@click.argument("query")
@click.option("--archives", multiple=True, help="only these node codes")
@click.option("--page", type=click.IntRange(1, 1000), default=1)
@click.option("--json", "as_json", is_flag=True)
def search_command(query: str, archives: tuple[str, ...], page: int, as_json: bool) -> None:
    """Search the open catalogues of all archives (on the hub's index)."""
    django_setup()
    from . import harvesting

    try:
        out = harvesting.public_search(query, list(archives), page)
    except harvesting.HarvestError as e:
        fail(e.message_zh, EXIT_FAULT if e.code == "unreachable" else EXIT_UNREADABLE, as_json, reason=e.code)  # fmt: skip
    lines = [f"共 {out.get('total')} 条"] + [f"  {h.get('archives')} {h.get('reference_code')} {h.get('title')}" for h in out.get("hits", [])]  # fmt: skip
    _done(out, as_json, "\n".join(lines))


@platform.command("marriage-find")
@click.option("--id", "id_number", default="")
@click.option("--id-type", default="居民身份证")
@click.option("--name", "names", multiple=True)
@click.option("--year", type=int, default=None)
@click.option("--years", type=int, default=2)
@requester_options
@click.option("--json", "as_json", is_flag=True)
def marriage_find_command(id_number: str, id_type: str, names: tuple[str, ...], year: int | None, years: int, as_json: bool, **params: Any) -> None:  # fmt: skip
    """Find marriage records region-wide (the ID number only as its regional hash)."""
    django_setup()
    from lantai.core.key_files import KeyFileError
    from lantai.core.roles import MARRIAGE
    from lantai.marriage import finding

    from . import peers, transport, window

    user, actor = acting_user(params["username"], MARRIAGE, as_json)
    request = build_request(params, as_json)
    criteria = finding.Criteria(id_number=id_number, id_type=id_type, names=names, year=year, years=years)  # fmt: skip
    try:
        out = window.find(criteria, request, actor=actor, user=user)
    except finding.FindError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field=e.field)
    except (peers.NotJoined, KeyFileError) as e:
        fail(str(e), EXIT_REFUSED, as_json, reason="not_ready")
    except transport.Unreachable as e:
        fail(f"无法连接平台中心：{e}", EXIT_FAULT, as_json, reason="unreachable")
    except transport.Refused as e:
        fail(e.message_zh, EXIT_REFUSED, as_json, reason=e.code)
    if not out["ok"]:
        _done({**out, "error": out["refused"][0]["message"]}, as_json, out["refused"][0]["message"], EXIT_REFUSED)  # fmt: skip
    lines = [f"全区查到 {len(out['results'])} 条"] + [
        f"  {r['locator']} {r.get('archives', '')} {r['kind']} {r['date']} {r['office']} "
        + "、".join(p["name"] for p in r.get("parties", []))
        for r in out["results"]
    ]  # fmt: skip
    _done(out, as_json, "\n".join(lines))


@platform.command("request")
@click.option(
    "--record", "locator", required=True, help="the record's locator NODE:档号 (from marriage-find)"
)
@click.option("--out", type=click.Path(path_type=Path), default=None)
@requester_options
@click.option("--json", "as_json", is_flag=True)
def request_command(locator: str, out: Path | None, as_json: bool, **params: Any) -> None:
    """Ask the holding archives for a certificate of one of its marriage records."""
    django_setup()
    from lantai.core.roles import MARRIAGE

    from . import peers, remote, transport

    user, actor = acting_user(params["username"], MARRIAGE, as_json)
    request = build_request(params, as_json)
    if out is not None and not (out.parent.is_dir() and os.access(out.parent, os.W_OK)) or (out is not None and out.is_dir()):  # fmt: skip
        fail(
            f"无法写入“{out}”：目录不存在或不可写（请求未发出）",
            EXIT_UNREADABLE,
            as_json,
            field="out",
        )
    try:
        row = remote.send(locator, request, actor=actor, user=user, channel="cli")
    except remote.RequestError as e:
        fail(e.message_zh, EXIT_REFUSED if e.refused else EXIT_UNREADABLE, as_json, reason="refused" if e.refused else "input")  # fmt: skip
    except peers.NotJoined as e:
        fail(str(e), EXIT_REFUSED, as_json, reason="not_joined")
    except transport.Refused as e:
        fail(e.message_zh, EXIT_REFUSED, as_json, reason=e.code)
    data = remote.as_dict(row)
    if row.status == "answered" and row.certificate_pdf:
        if out is not None:
            try:
                out.write_bytes(bytes(row.certificate_pdf))
            except OSError as e:
                fail(f"无法写入“{out}”：{e}", EXIT_UNREADABLE, as_json, field="out")
            data["pdf"] = str(out)
        _done(data, as_json, f"{row.holding_node} 已出证 {row.certificate_number}" + (f"，已写入 {out}" if out else ""))  # fmt: skip
    if row.status == "refused":
        _done({**data, "error": row.reason}, as_json, f"协办馆不予出证：{row.reason}", EXIT_REFUSED)
    if row.status == "queued":
        _done(
            data,
            as_json,
            f"协办馆已受理，待其工作人员办理（应于 {row.answer_due} 前答复）",
            EXIT_QUEUED,
        )
    _done({**data, "queued": True}, as_json, f"协办馆 {row.holding_node} 暂时无法连接：请求已排队，恢复后自动送达", EXIT_FAULT)  # fmt: skip


@platform.group("log")
def log_group() -> None:
    """The signed message log."""


@log_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
def log_verify_command(as_json: bool) -> None:
    """Recompute the whole chain; exit 1 on any altered, removed or inserted message."""
    django_setup()
    from lantai.standards import platform_messages as pm

    from . import anchors, log, peers, transport

    m = peers.membership()
    stamped, hub_checked, why = {}, m is None, ""
    if m is not None:
        try:
            stamped, hub_checked = anchors.hub_stamps(), True
        except (transport.Unreachable, transport.Refused, pm.MessageError) as e:
            why = str(e)[:300]
    result = log.verify(([m.code] if m else []) + ([peers.HUB] if peers.is_hub() else []), stamped)
    data, ok = {**result.as_dict(), "hub_checked": hub_checked}, result.ok
    if ok and not hub_checked:  # the chain holds here, but the hub's copies were not compared
        _done({**data, "error": f"无法向平台中心核对其盖戳的链头：{why}"}, as_json, f"本地消息日志完整，但未能向平台中心核对链头：{why}", EXIT_FAULT)  # fmt: skip
    text = f"消息日志完整：{result.entries} 条，链头 {result.head.get('seq')}" if ok else "消息日志有问题：\n" + "\n".join(f"  第 {p['seq']} 条 {p['problem']}：{p['detail']}" for p in data["problems"])  # fmt: skip
    _done(data, as_json, text, EXIT_OK if ok else EXIT_REFUSED)


@platform.command("status")
@click.option("--json", "as_json", is_flag=True)
def status_command(as_json: bool) -> None:
    """This node's membership, outbox and log; on the hub, every member's health."""
    django_setup()
    from . import health

    data = health.status()
    _done(data, as_json, health.as_text(data))


@platform.command("regional-key")
@click.option("--create", is_flag=True)
@click.option("--export", "export_to", type=click.Path(path_type=Path), default=None)
@click.option("--import", "import_from", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True)
def regional_key_command(create: bool, export_to: Path | None, import_from: Path | None, as_json: bool) -> None:  # fmt: skip
    """The regional ID key every node holds and the hub never does."""
    django_setup(database=False)
    import os

    from lantai.core.key_files import KeyFileError

    from . import regional

    if sum(bool(x) for x in (create, export_to, import_from)) != 1:
        fail("请给出 --create、--export FILE 或 --import FILE 之一", EXIT_UNREADABLE, as_json, field="action")  # fmt: skip
    try:
        if create:
            regional.create()
        elif export_to is not None:
            fd = os.open(export_to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(regional.export())
        elif import_from is not None:
            regional.install(import_from.read_bytes())
    except (KeyFileError, OSError) as e:
        fail(str(e), EXIT_REFUSED, as_json, reason="key")
    _done(
        {"ok": True, "path": str(regional.path())}, as_json, f"全区证件号码密钥：{regional.path()}"
    )
