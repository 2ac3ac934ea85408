"""`lantai alerts deliver|test|list` (lantai.ops.alerts).

Exit codes: 0 done (deliver: nothing failed; test: every channel accepted the test alert);
1 a delivery failed (it stays recorded and is tried again later) or, for `test`, no channel is
configured; 2 the database cannot be used (`lantai init`); 3 an unexpected error.
"""

from __future__ import annotations

import sys

import click

from lantai.cli_common import EXIT_OK, EXIT_REFUSED, django_setup, echo_json

NO_CHANNEL = (
    "未配置告警渠道 no alert channel configured: 设置 set LANTAI_ALERT_EMAILS 与 and "
    "LANTAI_EMAIL_HOST（邮件 mail）或 or LANTAI_ALERT_WEBHOOK_URL（网关 webhook）"
)


@click.group()
def alerts() -> None:
    """告警投递 (alerts delivered by mail and webhook)."""


@alerts.command("deliver")
@click.option("--json", "as_json", is_flag=True)
def deliver_command(as_json: bool) -> None:
    """Send new alerts and their resolution once per channel, and retry failed ones that are due.
    Run it from a timer too: the worker's own job cannot report that no worker runs.
    Exit 0: nothing failed; 1: a delivery failed (kept, retried later)."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.ops import alerts as service

    with acting_as("system:alerts"):
        result = service.deliver()
    data = result.as_json()
    if not result.channels:
        data["warning"] = NO_CHANNEL
    if as_json:
        echo_json(data)
    else:
        if not result.channels:
            click.echo(NO_CHANNEL, err=True)
        click.echo(
            f"告警投递 alert delivery: 渠道 channels {', '.join(result.channels) or '—'}；"
            f"新事件 new {result.created}，已发送 sent {result.sent}，失败 failed {result.failed}，"
            f"等待重试 waiting to retry {result.waiting}"
        )
        for error in result.errors:
            click.echo(f"  发送失败 failed: {error}", err=True)
    sys.exit(EXIT_REFUSED if result.failed else EXIT_OK)


@alerts.command("test")
@click.option("--json", "as_json", is_flag=True)
def test_command(as_json: bool) -> None:
    """Send a test alert to every configured channel now and say per channel what happened.
    Exit 0: every channel accepted it; 1: one failed, or no channel is configured."""
    django_setup(database=False)
    from lantai.ops import alerts as service

    results = service.send_test()
    ok = bool(results) and all(r["ok"] for r in results)
    if as_json:
        data = {"ok": ok, "channels": results}
        if not results:
            data["error"] = NO_CHANNEL
        echo_json(data)
    else:
        if not results:
            click.echo(NO_CHANNEL, err=True)
        for r in results:
            where = ", ".join(r["to"]) if r["channel"] == "mail" else r["url"]
            if r["ok"]:
                extra = (
                    ""
                    if r["channel"] == "mail" or r["signed"]
                    else "（未签名 unsigned: set LANTAI_ALERT_WEBHOOK_SECRET）"
                )
                click.echo(f"{r['channel']}: 已送达 accepted by {where}{extra}")
            else:
                click.echo(f"{r['channel']}: 发送失败 failed ({where}): {r['error']}", err=True)
    sys.exit(EXIT_OK if ok else EXIT_REFUSED)


@alerts.command("list")
@click.option("--limit", default=50, show_default=True, help="Deliveries shown, newest first.")
@click.option("--json", "as_json", is_flag=True)
def list_command(limit: int, as_json: bool) -> None:
    """Open alerts and the recent deliveries with their state (sent, failed with the error)."""
    django_setup()
    from lantai.ops import alerts as service

    notices = service.open_notices()
    rows = service.recent(limit)
    if as_json:
        echo_json({
            "ok": True,
            "channels": service.channels(),
            "open": [n.payload("open") for n in notices],
            "deliveries": [
                {"key": r.alert_key, "event": r.event, "channel": r.channel, "status": r.status,
                 "attempts": r.attempts, "last_error": r.last_error, "title": r.payload.get("title", ""),
                 "created_at": r.created_at.isoformat(),
                 "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                 "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None}
                for r in rows
            ],
        })  # fmt: skip
        return
    click.echo(f"未解除告警 open alerts: {len(notices)}")
    for n in notices:
        click.echo(f"  {n.key}  {n.title}：{n.message}")
    click.echo(f"最近投递 recent deliveries: {len(rows)}")
    for r in rows:
        line = f"  {r.created_at:%Y-%m-%d %H:%M}  {r.alert_key}/{r.event}  {r.channel}  {r.status}"
        if r.status != "sent" and r.attempts:
            line += f"（{r.attempts} 次 attempts: {r.last_error}）"
        click.echo(line)
