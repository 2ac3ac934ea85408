"""`lantai user …` (bootstrap accounts, passwords, second factors, API tokens) and `lantai audit
verify`. Day-to-day user work happens in the UI under 三员分立. Exit codes (cli_common): 0 done;
1 refused; 2 no such user."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from lantai.cli_common import (
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    cli_actor,
    django_setup,
    echo_json,
    fail,
)

if TYPE_CHECKING:
    from lantai.core.models import User


# --- users ---------------------------------------------------------------------------------------
@click.group()
def user() -> None:
    """用户 users (bootstrap; day-to-day user work happens in the UI under 三员分立)."""


def _password(given: str | None) -> str:
    """The password given as an option, else asked for (twice, hidden) — only once every other
    check has passed, so nobody types a password for a command that cannot succeed."""
    if given is not None:
        return given
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _existing_user(username: str, as_json: bool = False) -> User:
    """The user of that name; none ends the command with exit 2."""
    from lantai.core import accounts

    found = accounts.user_by_name(username)
    if found is None:
        fail(f"用户“{username}”不存在", EXIT_UNREADABLE, as_json)
    return found


@user.command("add")
@click.argument("username")
@click.option("--role", required=True)
@click.option("--password", default=None, help="(asked for when not given)")
@click.option("--clearance", default=0, show_default=True)
@click.option("--all-repositories", is_flag=True)
def user_add(
    username: str, role: str, password: str | None, clearance: int, all_repositories: bool
) -> None:
    """Create a user. Exit 0 created, 1 refused (an unknown role, a name in use, a weak password)."""
    django_setup()
    from lantai.core import accounts
    from lantai.core.audit import acting_as
    from lantai.core.roles import ROLES

    if role not in ROLES:
        fail(f"未知角色“{role}”，可选：{', '.join(ROLES)}", EXIT_REFUSED, False)
    if accounts.user_by_name(username) is not None:
        fail(
            f"用户名“{username}”已存在：重设密码用 `lantai user passwd {username}`",
            EXIT_REFUSED,
            False,
        )
    with acting_as(cli_actor()):
        try:
            accounts.create_user(
                username,
                role=role,
                password=_password(password),
                clearance=clearance,
                scope_all=all_repositories,
            )
        except accounts.AccountError as e:
            raise click.ClickException(e.message_zh) from e
    click.echo(f"已创建用户 {username}")


@user.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="catalog:read (GET) or catalog:write (changes, includes read); repeatable. "
    "Default: catalog:read.",
)
@click.option(
    "--days",
    type=int,
    default=None,
    help="Days the token is valid (LANTAI_API_TOKEN_DAYS; max LANTAI_API_TOKEN_MAX_DAYS).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the token, its scopes and expiry as JSON."
)
def user_token(
    username: str, name: str, scopes: tuple[str, ...], days: int | None, as_json: bool
) -> None:
    """Issue a REST API bearer token: printed once on stdout (only its SM3 digest is stored); its
    scopes and expiry go to stderr. Exit 0 issued, 1 refused (an unknown scope, too many days,
    a disabled user), 2 no such user."""
    django_setup()
    from django.utils import timezone

    from lantai.core.accounts import AccountError
    from lantai.core.api_auth import issue
    from lantai.core.audit import acting_as

    target = _existing_user(username, as_json)
    with acting_as(cli_actor()):
        try:
            made = issue(target, name, scopes=list(scopes) or ["catalog:read"], days=days)
        except AccountError as e:
            fail(e.message_zh, EXIT_REFUSED, as_json)
    expires = timezone.localtime(made.row.expires_at).isoformat(timespec="seconds")
    if as_json:
        echo_json(
            {"ok": True, "token": made.token, "name": made.row.name,
             "scopes": made.row.scope_list, "expires_at": expires}
        )  # fmt: skip
        return
    click.echo(made.token)
    click.echo(f"权限范围 scopes: {made.row.scopes}；有效期至 expires: {expires}", err=True)


@user.command("passwd")
@click.argument("username")
@click.option("--password", default=None, help="(asked for when not given)")
def user_passwd(username: str, password: str | None) -> None:
    """Reset a user's password from the console (operator recovery); unlocks the account."""
    django_setup()
    from lantai.core import accounts
    from lantai.core.audit import acting_as

    target = _existing_user(username)
    with acting_as(cli_actor()):
        try:
            accounts.reset_password(target, _password(password), actor=None)
        except accounts.AccountError as e:
            raise click.ClickException(e.message_zh) from e
    click.echo(f"已重设用户 {username} 的密码")


@user.command("reset-2fa")
@click.argument("username")
def user_reset_2fa(username: str) -> None:
    """Remove a user's second factor (authenticator and recovery codes), e.g. after a lost phone;
    a user who must use one enrolls again at the next sign-in. The operator at the console acts
    alone and is logged. Exit 0 reset, 1 nothing to reset, 2 no such user."""
    django_setup()
    from lantai.core import accounts
    from lantai.core.audit import acting_as

    target = _existing_user(username)
    with acting_as(cli_actor()):
        try:
            accounts.reset_second_factor(target, actor=None)
        except accounts.AccountError as e:
            fail(e.message_zh, EXIT_REFUSED, False)
    from lantai.core import two_factor

    if two_factor.has_any(target):  # checked, not assumed
        fail(f"重置后用户 {username} 仍有双因素绑定", EXIT_REFUSED, False)
    click.echo(
        f"已重置用户 {username} 的双因素认证 second factor reset: {username} "
        "（下次登录时须重新绑定 enrolls again at the next sign-in）"
    )


@user.command("revoke-tokens")
@click.argument("username")
def user_revoke_tokens(username: str) -> None:
    """Revoke every REST API token of a user."""
    django_setup()
    from lantai.core.api_auth import revoke_tokens
    from lantai.core.audit import acting_as

    target = _existing_user(username)
    with acting_as(cli_actor()):
        n = revoke_tokens(target)
    click.echo(f"已吊销 {n} 个令牌")


# --- audit ---------------------------------------------------------------------------------------
@click.group()
def audit() -> None:
    """审计日志 audit log."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True)
def audit_verify(as_json: bool) -> None:
    """Verify the SM3 hash chain. Exit 0 intact, 1 broken (first broken entry printed)."""
    django_setup()
    from lantai.core.audit import verify

    r = verify()
    if as_json:
        echo_json({
            "ok": r.ok, "checked": r.checked, "broken_seq": r.broken_seq, "reason": r.reason,
            "head_hash": r.head_hash,
        })  # fmt: skip
    elif r.ok:
        click.echo(f"审计日志完整：已校验 {r.checked} 条 audit chain intact ({r.checked} entries)")
        click.echo(f"链头 SM3 head hash: {r.head_hash}")
    else:
        click.echo(f"审计日志链断裂：第一处在第 {r.broken_seq} 条 — {r.reason}")
    sys.exit(0 if r.ok else 1)
