"""`lantai certificate …`: issue, revoke and verify certificates; the signed lists and the keys.

lantai certificate issue (--record ID... | --none-found [--subject-name N --subject-id X])
    [requester options of `lantai marriage find`] --purpose P --out FILE.pdf [--json]
    → {"number", "payload", "pdf", "qr_version"}; exit 0 issued, 1 refused, 2 bad input
lantai certificate revoke NUMBER --reason R [--user U] [--json]
    the first person asks, a second one confirms with the same command; exit 0, 1 refused
    (e.g. the same person twice), 2 no such certificate
lantai certificate trust-list --out FILE      the signed trust list (JSON)
lantai certificate status-list --out FILE [--repository CODE]   signed status list(s)
lantai certificate verify (FILE.pdf | IMAGE | --payload TEXT) [--trust-list FILE]
    [--status-list FILE]... [--root-key HEX]... [--json]
    → {"valid", "reason", "number", "issuer", "issued", "expires", "status_list_age_s"};
    exit 0 valid, 1 invalid, 2 unreadable. With both list files it needs no database.
lantai certificate keys [--json] | rotate-key [--repository CODE] |
    withdraw-key KEY_ID --reason R [--compromised-since ISO-TIME]"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    django_setup,
    echo_json,
    fail,
)
from lantai.marriage.cli import acting_user, build_request, requester_options


@click.group()
def certificate() -> None:
    """出证: certificates of marriage records, their verification, trust and status lists."""


@certificate.command("issue")
@click.option("--record", "record_ids", type=int, multiple=True)
@click.option("--none-found", is_flag=True)
@click.option("--subject-name", default="")
@click.option("--subject-id", default="")
@click.option(
    "--repository", default=None, help="--none-found: the archives searched (default: this one)"
)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@click.option(
    "--ofd",
    "ofd_out",
    type=click.Path(path_type=Path),
    default=None,
    help="also write the OFD rendition (GB/T 33190; no 电子签章)",
)
@requester_options
@click.option("--json", "as_json", is_flag=True)
def issue_command(
    record_ids: tuple[int, ...], none_found: bool, subject_name: str, subject_id: str,
    repository: str | None, out: Path, ofd_out: Path | None, as_json: bool, **params: Any,
) -> None:  # fmt: skip
    """Issue a 婚姻登记记录证明 for records, or a 无婚姻登记记录证明 (--none-found)."""
    django_setup()
    from lantai.catalog.services import CatalogError, get_repository
    from lantai.certificates import issuing
    from lantai.core.audit import acting_as
    from lantai.core.roles import MARRIAGE
    from lantai.marriage import certify, finding

    if bool(record_ids) == none_found:
        fail("请给出 --record ID（可多次）或 --none-found 之一", EXIT_UNREADABLE, as_json, field="record")  # fmt: skip
    if not params["purpose"].strip():
        fail("请用 --purpose 写明用途", EXIT_UNREADABLE, as_json, field="purpose")
    user, actor = acting_user(params["username"], MARRIAGE, as_json)
    request = build_request(params, as_json)
    if out.is_dir() or not out.parent.is_dir():  # checked before anything is issued
        fail(f"无法写入“{out}”：目录不存在或它本身是目录", EXIT_UNREADABLE, as_json, field="out")
    if ofd_out is not None and (ofd_out.is_dir() or not ofd_out.parent.is_dir()):
        fail(
            f"无法写入“{ofd_out}”：目录不存在或它本身是目录", EXIT_UNREADABLE, as_json, field="ofd"
        )
    try:
        with acting_as(actor):
            if none_found:
                repo = get_repository(repository) if repository else None
                cert = certify.certify_none_found(
                    request, subject_name=subject_name or request.requester_name,
                    subject_id=subject_id or request.requester_id, purpose=params["purpose"],
                    actor=actor, user=user, channel="cli", repository=repo,
                )  # fmt: skip
            else:
                cert = certify.certify_records(list(record_ids), request, purpose=params["purpose"],
                                               actor=actor, user=user, channel="cli")  # fmt: skip
    except CatalogError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field="repository")
    except finding.FindError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field=e.field)
    except certify.CertifyError as e:
        fail(e.message_zh, EXIT_REFUSED if e.refused else EXIT_UNREADABLE, as_json)
    except issuing.IssueError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json)
    try:
        out.write_bytes(issuing.pdf_bytes(cert))
        if ofd_out is not None:
            ofd_out.write_bytes(issuing.ofd_bytes(cert))
    except OSError as e:
        fail(f"证明 {cert.number} 已出具，但无法写入“{out}”：{e}", EXIT_UNREADABLE, as_json,
             number=cert.number)  # fmt: skip
    if as_json:
        echo_json({"number": cert.number, "payload": cert.payload, "pdf": str(out),
                   "qr_version": cert.qr_version,
                   **({"ofd": str(ofd_out)} if ofd_out is not None else {})})  # fmt: skip
    else:
        click.echo(f"已出具证明 {cert.number} → {out}（二维码版本 {cert.qr_version}）")
    sys.exit(EXIT_OK)


@certificate.command("revoke")
@click.argument("number")
@click.option("--reason", default="")
@click.option("--user", "username", default=None)
@click.option("--json", "as_json", is_flag=True)
def revoke_command(number: str, reason: str, username: str | None, as_json: bool) -> None:
    """Ask for (first person) or confirm (second person) the revocation of a certificate."""
    django_setup()
    from lantai.certificates import revocation
    from lantai.core.roles import MARRIAGE, MARRIAGE_MANAGE

    # asking needs the counter's permission; confirming, the marriage archivist's
    needed = MARRIAGE_MANAGE if revocation.pending(number) else MARRIAGE
    _user, actor = acting_user(username, needed, as_json)
    try:
        cert, revoked = revocation.revoke(number, reason, actor=actor)
    except revocation.RevocationError as e:
        fail(e.message_zh, EXIT_UNREADABLE if e.missing else EXIT_REFUSED, as_json)
    state = "revoked" if revoked else "pending"
    if as_json:
        echo_json({"ok": True, "number": cert.number, "state": state,
                   "requested_by": cert.revoke_requested_by, "revoked_by": cert.revoked_by})  # fmt: skip
    else:
        click.echo(f"证明 {cert.number} 已撤销" if revoked else
                   f"已申请撤销证明 {cert.number}，须另一人以同一命令确认")  # fmt: skip
    sys.exit(EXIT_OK)


def _write_json(out: Path, data: Any, as_json: bool) -> None:
    try:
        out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as e:
        fail(f"无法写入“{out}”：{e}", EXIT_UNREADABLE, as_json, field="out")


@certificate.command("trust-list")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--json", "as_json", is_flag=True)
def trust_list_command(out: Path, as_json: bool) -> None:
    """Write the signed trust list (every issuer key of the province)."""
    django_setup()
    from lantai.certificates import lists

    _write_json(out, lists.current()[0], as_json)
    if as_json:
        echo_json({"ok": True, "out": str(out)})
    sys.exit(EXIT_OK)


@certificate.command("status-list")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--repository", default=None, help="one archives (default: every issuing archives)")
@click.option("--json", "as_json", is_flag=True)
def status_list_command(out: Path, repository: str | None, as_json: bool) -> None:
    """Write the signed status list(s): one envelope, or a JSON list of them."""
    django_setup()
    from lantai.catalog.services import CatalogError, get_repository
    from lantai.certificates import lists

    if repository:
        try:
            data: Any = lists.status_list(get_repository(repository))
        except CatalogError as e:
            fail(e.message_zh, EXIT_UNREADABLE, as_json, field="repository")
    else:
        data = lists.current()[1]
    _write_json(out, data, as_json)
    if as_json:
        echo_json({"ok": True, "out": str(out)})
    sys.exit(EXIT_OK)


def _read_json(path: Path, as_json: bool, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        fail(f"无法读取{what}“{path}”：{e}", EXIT_UNREADABLE, as_json, valid=False, reason="unreadable")  # fmt: skip


@certificate.command("verify")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--payload", default=None, help="the QR text (LTC1:…)")
@click.option("--trust-list", "trust_file", type=click.Path(path_type=Path), default=None)
@click.option("--status-list", "status_files", type=click.Path(path_type=Path), multiple=True)
@click.option("--root-key", "root_keys", multiple=True, help="a pinned provincial root key (04…)")
@click.option("--json", "as_json", is_flag=True)
def verify_command(
    file: Path | None, payload: str | None, trust_file: Path | None,
    status_files: tuple[Path, ...], root_keys: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """Verify a certificate offline: signature, issuer on the trust list, validity, revocation
    and, for a PDF, its signature and content. Exit 0 valid, 1 invalid, 2 unreadable."""
    offline = trust_file is not None  # a verifier's own files: no database is asked
    django_setup(database=not offline)
    from django.utils import timezone

    from lantai.certificates import keys, lists, verifying

    if (file is None) == (payload is None):
        fail("请给出证明文件（PDF 或图像）或 --payload 之一", EXIT_UNREADABLE, as_json, valid=False, reason="unreadable")  # fmt: skip
    statuses: list[Any] = []
    for path in status_files:
        data = _read_json(path, as_json, "状态列表")
        statuses.extend(data if isinstance(data, list) else [data])
    # this installation's own lists for what no file gives (status lists first: lists.current)
    own_trust, own_statuses = lists.current() if not offline else ({}, [])
    statuses = statuses or own_statuses
    trust = _read_json(trust_file, as_json, "信任列表") if trust_file else own_trust
    roots = keys.pinned_roots() | {k.strip().lower() for k in root_keys}
    pdf = ofd = image = None
    if file is not None:
        try:
            data_bytes = file.read_bytes()
        except OSError as e:
            fail(f"无法读取“{file}”：{e}", EXIT_UNREADABLE, as_json, valid=False, reason="unreadable")  # fmt: skip
        if data_bytes.startswith(b"%PDF-"):
            pdf = data_bytes
        elif data_bytes.startswith(b"PK\x03\x04"):  # a ZIP: the OFD rendition
            ofd = data_bytes
        else:
            image = data_bytes
    try:
        outcome = verifying.verify(pdf=pdf, ofd=ofd, image=image, payload=payload, trust_list=trust,
                                   status_lists=statuses, roots=roots, now=timezone.now())  # fmt: skip
    except verifying.Unreadable as e:
        fail(str(e), EXIT_UNREADABLE, as_json, valid=False, reason="unreadable")
    result = outcome.as_dict()
    if as_json:
        echo_json(result)
    else:
        mark = "有效" if result["valid"] else "无效"
        click.echo(f"{mark}：{result['message']}（{result['reason']}）")
        for key in ("number", "issuer", "issued", "expires", "status_list_age_s"):
            click.echo(f"  {key}: {result[key]}")
    sys.exit(EXIT_OK if result["valid"] else EXIT_REFUSED)


@certificate.command("keys")
@click.option("--json", "as_json", is_flag=True)
def keys_command(as_json: bool) -> None:
    """The issuer keys: archives, signing period, validity, withdrawal."""
    django_setup()
    from lantai.certificates.models import IssuerKey

    rows = [
        {"key_id": k.key_id, "repository": k.repository.code, "not_before": k.not_before.isoformat(),
         "not_after": k.not_after.isoformat(), "valid_until": k.valid_until.isoformat(),
         "withdrawn_at": k.withdrawn_at.isoformat() if k.withdrawn_at else None,
         "compromised_since": k.compromised_since.isoformat() if k.compromised_since else None}
        for k in IssuerKey.objects.select_related("repository")
    ]  # fmt: skip
    if as_json:
        echo_json({"keys": rows})
    else:
        for r in rows:
            click.echo(" ".join(f"{k}={v}" for k, v in r.items()))
    sys.exit(EXIT_OK)


@certificate.command("rotate-key")
@click.option("--repository", default=None)
@click.option("--user", "username", default=None)
@click.option("--json", "as_json", is_flag=True)
def rotate_command(repository: str | None, username: str | None, as_json: bool) -> None:
    """End the archives' current issuer key now and start a new one (yearly, or at will)."""
    django_setup()
    from lantai.catalog.services import CatalogError, get_repository
    from lantai.certificates import keys
    from lantai.core.roles import MARRIAGE_MANAGE

    _user, actor = acting_user(username, MARRIAGE_MANAGE, as_json)
    try:
        repo = get_repository(repository)
    except CatalogError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field="repository")
    key = keys.rotate(repo, actor=actor)
    if as_json:
        echo_json({"ok": True, "key_id": key.key_id, "not_after": key.not_after.isoformat()})
    else:
        click.echo(f"新出证密钥 {key.key_id}，签发至 {key.not_after:%Y-%m-%d}")
    sys.exit(EXIT_OK)


@certificate.command("withdraw-key")
@click.argument("key_id")
@click.option("--reason", required=True)
@click.option("--compromised-since", default=None, help="ISO time: payloads from then on fail")
@click.option("--user", "username", default=None)
@click.option("--json", "as_json", is_flag=True)
def withdraw_command(
    key_id: str, reason: str, compromised_since: str | None, username: str | None, as_json: bool
) -> None:
    """Withdraw an issuer key from the trust list (outright, or from a compromise date on)."""
    django_setup()
    from django.utils import timezone

    from lantai.certificates import keys
    from lantai.core.roles import MARRIAGE_MANAGE

    _user, actor = acting_user(username, MARRIAGE_MANAGE, as_json)
    since = None
    if compromised_since:
        try:
            since = datetime.fromisoformat(compromised_since)
        except ValueError:
            fail(f"--compromised-since “{compromised_since}”不是 ISO 时间", EXIT_UNREADABLE, as_json)  # fmt: skip
        if timezone.is_naive(since):
            since = timezone.make_aware(since)
    try:
        key = keys.withdraw(key_id, reason, actor=actor, compromised_since=since)
    except keys.KeyProblem as e:
        fail(e.message_zh, EXIT_UNREADABLE if e.missing else EXIT_REFUSED, as_json)
    if as_json:
        echo_json({"ok": True, "key_id": key.key_id,
                   "withdrawn_at": key.withdrawn_at.isoformat() if key.withdrawn_at else None,
                   "compromised_since": since.isoformat() if since else None})  # fmt: skip
    else:
        click.echo(f"已撤回出证密钥 {key.key_id}")
    sys.exit(EXIT_OK)
