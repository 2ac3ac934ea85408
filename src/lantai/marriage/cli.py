"""`lantai marriage …`: marriage registration archives from the console.

    lantai marriage import FILE [--fonds F [--repository R]] [--valid-rows-only] [--user U] [--json]
        import a civil-affairs export (.xlsx/.csv, GB18030 included); without --fonds, into the
        one fonds holding marriage records; exit 0 ok, 1 rows rejected, 2 unreadable file, no
        such fonds or a refusal
    lantai marriage find (--id NUMBER | --name NAME [--name NAME2] [--year Y] | --cert-number N)
        --requester-type self|proxy|court|procuratorate|police|state_security|lawyer|other
        [requester options] [--json]
        what this requester may see; exit 0 searched (found or not), 1 refused by the rights
        rules, 2 a malformed search
    lantai marriage rules [--set FILE --note TEXT] [--json]
        the rights rules in force; --set keeps FILE as the next version (exit 1 if invalid)

Requester options (also for `lantai certificate issue`): --requester-name, --requester-id,
--proof KIND=REFERENCE (repeatable, e.g. unit_letter=公函〔2026〕12号), --principal-id,
--case-party-id (repeatable), --purpose, --approved-by, --user (act as this user: their scope)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lantai.cli_common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    cli_actor,
    django_setup,
    echo_json,
    fail,
)

F = TypeVar("F", bound=Callable[..., Any])

REQUESTER_TYPES = ["self", "proxy", "court", "procuratorate", "police", "state_security",
                   "lawyer", "other"]  # fmt: skip


def requester_options(command: F) -> F:
    """The options that describe who asks, shared with `lantai certificate issue`."""
    options = [
        click.option("--requester-type", type=click.Choice(REQUESTER_TYPES), required=True),
        click.option("--requester-name", default=""),
        click.option("--requester-id", default="", help="the requester's identity number"),
        click.option("--proof", "proofs", multiple=True, metavar="KIND=REFERENCE"),
        click.option("--principal-id", default="", help="proxy: the principal's identity number"),
        click.option("--case-party-id", "case_party_ids", multiple=True,
                     help="lawyer: an identity number named on the court's case certificate"),
        click.option("--purpose", default=""),
        click.option("--approved-by", default="", help="other: the approving leader"),
        click.option("--user", "username", default=None),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def build_request(params: dict[str, Any], as_json: bool) -> Any:
    from lantai.marriage import rules
    from lantai.standards import marriage_rights

    known = rules.current()[1].proof_kinds
    proofs: dict[str, str] = {}
    for item in params["proofs"]:
        kind, sep, reference = item.partition("=")
        if not sep or not kind.strip():
            fail(f"--proof 应写作 KIND=REFERENCE，而不是“{item}”", EXIT_UNREADABLE, as_json,
                 field="proof")  # fmt: skip
        if kind.strip() not in known:
            fail(f"--proof 的证明材料“{kind.strip()}”不在查档规则中，应为：{'、'.join(known)}",
                 EXIT_UNREADABLE, as_json, field="proof")  # fmt: skip
        proofs[kind.strip()] = reference.strip()
    return marriage_rights.Request(
        requester_type=params["requester_type"], requester_name=params["requester_name"],
        requester_id=params["requester_id"], proofs=proofs, principal_id=params["principal_id"],
        case_party_ids=tuple(params["case_party_ids"]), purpose=params["purpose"],
        approved_by=params["approved_by"],
    )  # fmt: skip


def acting_user(username: str | None, permission: str, as_json: bool) -> tuple[Any, str]:
    """(user or None, the actor's name) for --user; the user must exist, be active and hold
    ``permission``."""
    if username is None:
        return None, cli_actor()
    from lantai.core.models import User

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        fail(f"用户“{username}”不存在或已停用", EXIT_UNREADABLE, as_json, field="user")
    if not user.has_perm_code(permission):
        fail(f"用户“{username}”无此权限（{permission}）", EXIT_REFUSED, as_json, field="user")
    return user, username


@click.group()
def marriage() -> None:
    """婚姻档案: import, find by requester, rights rules."""


@marriage.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--fonds",
    "fonds_code",
    default=None,
    help="the fonds (default: the one fonds that holds marriage records)",
)
@click.option("--repository", default=None)
@click.option("--valid-rows-only", is_flag=True)
@click.option("--user", "username", default=None)
@click.option("--json", "as_json", is_flag=True)
def import_command(
    file: Path, fonds_code: str | None, repository: str | None, valid_rows_only: bool,
    username: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Import a civil-affairs export of marriage registrations (category HY of the fonds)."""
    django_setup()
    from lantai.catalog.services import can_see_fonds
    from lantai.core.audit import acting_as
    from lantai.core.roles import MARRIAGE_MANAGE
    from lantai.marriage import importing

    user, actor = acting_user(username, MARRIAGE_MANAGE, as_json)
    fonds = _import_fonds(fonds_code, repository, as_json)
    if user is not None and not can_see_fonds(user, fonds):
        fail(f"用户 {actor} 无权向全宗 {fonds.code} 导入", EXIT_UNREADABLE, as_json, field="fonds")
    with acting_as(actor):
        try:
            result = importing.import_file(file, fonds, actor=actor, user=user,
                                           valid_rows_only=valid_rows_only)  # fmt: skip
        except importing.FileUnreadable as e:
            fail(e.message_zh, EXIT_UNREADABLE, as_json, status="unreadable")
    if as_json:
        echo_json({"ok": result.status == "imported", **result.as_dict()})
    else:
        for line in result.summary_lines():
            click.echo(line)
    sys.exit(EXIT_OK if result.status == "imported" and not result.rows_rejected else EXIT_REFUSED)


def _import_fonds(code: str | None, repository: str | None, as_json: bool) -> Any:
    """The fonds to import into: --fonds (in --repository, else wherever that code is unique),
    or without it the one fonds that already holds marriage records."""
    from lantai.catalog.models import Fonds
    from lantai.catalog.services import CatalogError, get_repository
    from lantai.standards.categories import MARRIAGE

    qs = Fonds.objects.select_related("repository")
    if repository is not None:
        try:
            qs = qs.filter(repository=get_repository(repository))
        except CatalogError as e:
            fail(e.message_zh, EXIT_UNREADABLE, as_json, field="repository")
    if code is not None:
        qs = qs.filter(code=code.strip().upper())
    else:
        qs = qs.filter(categories__code=MARRIAGE)
    found = list(qs.order_by("repository__code", "code")[:20])
    if len(found) == 1:
        return found[0]
    if not found:
        what = f"全宗“{code}”" if code else "存有婚姻登记档案（门类 HY）的全宗"
        fail(f"没有{what}：请用 --fonds 指定婚姻登记机关的全宗（可先运行 lantai fonds add）",
             EXIT_UNREADABLE, as_json, field="fonds")  # fmt: skip
    choices = "、".join(f"{f.code}（{f.repository.code} {f.repository.name}）" for f in found)
    fail(f"有多个可选的全宗：{choices}；请用 --fonds 和 --repository 指定", EXIT_UNREADABLE,
         as_json, field="fonds")  # fmt: skip


@marriage.command("find")
@click.option("--id", "id_number", default="")
@click.option("--id-type", default="居民身份证", help="居民身份证 (default), 护照, …")
@click.option("--name", "names", multiple=True)
@click.option("--year", type=int, default=None)
@click.option("--years", type=int, default=2, help="the year is approximate: ± this many")
@click.option("--cert-number", default="")
@requester_options
@click.option("--json", "as_json", is_flag=True)
def find_command(
    id_number: str, id_type: str, names: tuple[str, ...], year: int | None, years: int,
    cert_number: str, as_json: bool, **params: Any,
) -> None:  # fmt: skip
    """Find marriage records for a requester (the rights rules apply; every query is logged)."""
    django_setup()
    from lantai.core.roles import MARRIAGE
    from lantai.marriage import finding

    user, actor = acting_user(params["username"], MARRIAGE, as_json)
    request = build_request(params, as_json)
    criteria = finding.Criteria(id_number=id_number, id_type=id_type, names=names, year=year,
                                years=years, cert_number=cert_number)  # fmt: skip
    try:
        outcome = finding.find(criteria, request, channel="cli", actor=actor, user=user)
    except finding.FindError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field=e.field)
    data = outcome.as_dict()
    if as_json:
        echo_json(data if not outcome.refused else {**data, "error": outcome.refused[0]["message"]})
    elif outcome.refused:
        for r in outcome.refused:
            click.echo(r["message"], err=True)
    else:
        click.echo(f"查到 {len(outcome.hits)} 条（另有 {outcome.withheld} 条该查询人无权查看）")
        for h in outcome.hits:
            people = "、".join(f"{p['name']}（{p['id_masked']}）" for p in h.parties)
            click.echo(f"  [{h.record_id}] {h.reference_code} {h.kind_label} {h.date} {h.office} "
                       f"{h.certificate_number} {people}")  # fmt: skip
    sys.exit(EXIT_REFUSED if outcome.refused else EXIT_OK)


@marriage.command("rules")
@click.option("--set", "new_file", type=click.Path(path_type=Path), default=None)
@click.option("--note", default="")
@click.option("--user", "username", default=None)
@click.option("--json", "as_json", is_flag=True)
def rules_command(new_file: Path | None, note: str, username: str | None, as_json: bool) -> None:
    """Show the rights rules in force, or keep FILE as their next version."""
    django_setup()
    from lantai.core.roles import MARRIAGE_MANAGE
    from lantai.marriage import rules
    from lantai.standards.marriage_rights import RulesError

    if new_file is None:
        number, text = rules.current_text()
        if as_json:
            echo_json({"version": number, "text": text})
        else:
            click.echo(f"# 版本 {number}\n{text}")
        sys.exit(EXIT_OK)
    user, actor = acting_user(username, MARRIAGE_MANAGE, as_json)
    try:
        text = new_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"无法读取“{new_file}”：{e}", EXIT_UNREADABLE, as_json, field="set")
    try:
        version = rules.save_version(text, note, user=user, actor=actor)
    except RulesError as e:
        fail(str(e), EXIT_REFUSED, as_json, field="set")
    if as_json:
        echo_json({"ok": True, "version": version.number})
    else:
        click.echo(f"已保存为第 {version.number} 版")
    sys.exit(EXIT_OK)
