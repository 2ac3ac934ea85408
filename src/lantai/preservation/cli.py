"""`lantai storage …`: locations, audits, object verification and rebuilding the catalogue."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lantai.cli_common import EXIT_UNREADABLE, cli_actor, django_setup, echo_json, fail


@click.group()
def storage() -> None:
    """存 preservation storage: locations, fixity audits, recovery."""


@storage.command("location")
@click.argument("action", type=click.Choice(["add", "list"]))
@click.argument("name", required=False)
@click.option("--path", "path", default="", help="本地目录")
@click.option("--s3-url", default="", help="S3 endpoint, e.g. https://s3.example.cn")
@click.option("--bucket", default="")
@click.option("--prefix", default="", help="key prefix inside the bucket")
@click.option("--access-key", default="", envvar="LANTAI_S3_ACCESS_KEY")
@click.option("--secret-key", default="", envvar="LANTAI_S3_SECRET_KEY")
@click.option("--required", is_flag=True, help="Every package gets a replica here.")
def location(
    action: str, name: str | None, path: str, s3_url: str, bucket: str, prefix: str,
    access_key: str, secret_key: str, required: bool,
) -> None:  # fmt: skip
    """`location add NAME (--path DIR | --s3-url URL --bucket B) [--required]`, `location list`."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.preservation import locations
    from lantai.preservation.models import StorageLocation

    if action == "list":
        locations.ensure_primary()
        locations.sync_from_settings()
        for loc in StorageLocation.objects.all():
            where = loc.path or f"{loc.s3_url}/{loc.bucket}/{loc.prefix}".rstrip("/")
            flags = ("主" if loc.is_primary else "") + ("必需" if loc.required else "可选")
            state = "在线" if loc.online else f"离线（{loc.last_error}）"
            click.echo(f"{loc.name}\t{loc.kind}\t{flags}\t{state}\t{where}\t标识 {loc.identity}")
        return
    if not name:
        raise click.UsageError("location add 需要名称 NAME")
    with acting_as(cli_actor()):
        try:
            loc = locations.add_location(
                name, path=path, s3_url=s3_url, bucket=bucket, access_key=access_key,
                secret=secret_key, prefix=prefix, required=required,
            )  # fmt: skip
        except locations.LocationError as e:
            raise click.ClickException(e.message_zh) from e
    click.echo(f"已添加存储位置“{loc.name}”（{'必需' if loc.required else '可选'}）")


@storage.command("preserve")
@click.option("--json", "as_json", is_flag=True)
def preserve(as_json: bool) -> None:
    """Write every package that is due (new, changed, or missing a replica) now, and say what
    keeps packages 待保存 (too few required locations, one offline) and how to end it. Exit 0
    when every package processed is preserved, 1 otherwise."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.preservation import locations, packaging, replication
    from lantai.preservation.models import Package

    with acting_as(cli_actor()):
        packaging.package_loose_records()
        statuses = [replication.preserve(pk) for pk in replication.pending_packages()]
    waits = locations.preservation_waits()
    pending = Package.objects.filter(status="pending").count()
    ok = all(s in ("preserved", "deleted") for s in statuses)
    if as_json:
        echo_json({
            "ok": ok, "processed": len(statuses), "preserved": statuses.count("preserved"),
            "pending": pending, "waiting": [w.as_json() for w in waits],
        })  # fmt: skip
    else:
        click.echo(
            f"处理信息包 {len(statuses)} 个，其中已保存 {statuses.count('preserved')} 个；"
            f"待保存共 {pending} 个"
        )
        for w in waits:
            click.echo(f"  [尚未保存] {w.reason_text()}")
            click.echo(f"    {w.how_text()}")
    sys.exit(0 if ok else 1)


@storage.command("audit")
@click.option(
    "--limit",
    default=None,
    type=click.IntRange(min=1),
    help="Files to check at most (default: a batch).",
)
@click.option("--location", "location_name", default=None, help="Only this location.")
@click.option("--json", "as_json", is_flag=True)
def audit(limit: int | None, location_name: str | None, as_json: bool) -> None:
    """A bounded fixity-audit pass: exit 0 when it examined stored files and everything is intact
    (after the repairs it made, which it reports); 1 while any damage, offline required location
    or unrepaired problem remains (including replicas still marked damaged by earlier checks), and
    when it examined no stored file at all (result "na", with the reason: decision 0020); 2 for a
    location that does not exist."""
    django_setup()
    from dataclasses import asdict

    from lantai.core.audit import acting_as
    from lantai.preservation.audit import nothing_examined, run_audit
    from lantai.preservation.models import Replica, StorageLocation

    if location_name is not None:
        known = list(StorageLocation.objects.order_by("name").values_list("name", flat=True))
        if location_name not in known:
            names = "、".join(f"“{n}”" for n in known) or "（尚无存储位置）"
            message = (
                f"没有名为“{location_name}”的存储位置（名称区分大小写）；已有的存储位置：{names}"
            )
            fail(message, EXIT_UNREADABLE, as_json, locations=known)
    with acting_as(cli_actor()):
        run = run_audit(limit, location=location_name)
    outcome = run.outcome  # type: ignore[attr-defined]
    unrepaired = [asdict(p) for p in outcome.unrepaired]
    offline_required = [o for o in outcome.offline if o["required"]]
    damaged = Replica.objects.filter(damaged=True).select_related("package", "location")
    if location_name:
        damaged = damaged.filter(location__name=location_name)
    damaged_replicas = [
        {"object_id": r.package.object_id, "location": r.location.name, "error": r.error}
        for r in damaged.order_by("pk")
    ]
    failed = bool(unrepaired or offline_required or damaged_replicas)
    idle = nothing_examined(run, location_name)  # None when stored files were examined
    result = "fail" if failed else ("na" if idle else "pass")
    if as_json:
        echo_json({
            "ok": result == "pass", "result": result, "reason": idle or "",
            "examined": {"replicas": run.replicas, "files": run.files}, "files": run.files, "bytes": run.bytes, "replicas": run.replicas,
            "problems": run.problems, "repaired": run.repaired, "unrepaired": len(unrepaired),
            "unrepaired_problems": unrepaired, "offline": outcome.offline,
            "damaged_replicas": damaged_replicas, "republished": outcome.republished,
            "details": run.details,
        })  # fmt: skip
    else:
        click.echo(
            f"审计文件 {run.files} 个（{run.bytes / 1e6:.1f} MB，副本 {run.replicas} 个）："
            f"发现问题 {run.problems} 个，已修复 {run.repaired} 个，未修复 {len(unrepaired)} 个"
        )
        if idle:
            click.echo(f"  [未审计] {idle}")
        for d in run.details:
            action = f"已从“{d['repaired_from']}”修复" if d["repaired_from"] else "未修复"
            click.echo(f"  [{d['kind']}] {d['location']} {d['path']}：{action}")
        for o in outcome.offline:
            need = "必需" if o["required"] else "可选"
            click.echo(f"  [离线] {need}存储位置“{o['location']}”：{o['error']}")
        for r in damaged_replicas:
            click.echo(f"  [损坏] {r['location']} {r['object_id']}：{r['error'] or '尚未修复'}")
    sys.exit(0 if result == "pass" else 1)


@storage.command("verify-object")
@click.argument("object_id")
@click.option("--json", "as_json", is_flag=True)
def verify_object(object_id: str, as_json: bool) -> None:
    """Check one package (OCFL object id or package number) on every replica."""
    django_setup()
    from lantai.preservation import verification

    try:
        result = verification.verify_package(object_id)
    except verification.NotFound as e:  # exit 2: nothing to verify, not a damaged package
        fail(str(e), EXIT_UNREADABLE, as_json, intact=False)
    if as_json:
        echo_json(result)
    else:
        for name, problems in result["replicas"].items():
            click.echo(f"{name}：{'完好' if not problems else '有问题'}")
            for p in problems:
                click.echo(f"  {p}")
    sys.exit(0 if result["intact"] else 1)


@storage.command("rebuild-catalog")
@click.option("--into", "into_url", required=True, help="DATABASE_URL of an empty database")
@click.option(
    "--from-path", "from_path", default=None, type=click.Path(path_type=Path, file_okay=False),
    help="A surviving local OCFL storage root (default: the data directory's own)",
)  # fmt: skip
@click.option(
    "--from-location", "from_location", default=None,
    help="A surviving location by name: declared in LANTAI_STORAGE_LOCATIONS or added to the "
    "target database before",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Errors as JSON too (counts always are).")
def rebuild_catalog(
    into_url: str, from_path: Path | None, from_location: str | None, as_json: bool
) -> None:
    """Rebuild the catalogue, the working files and the surviving location's replicas from one
    surviving location into an empty database (then run `storage preserve` and `storage audit`
    on the rebuilt system: docs/operator-guide.md, disaster recovery)."""
    django_setup(database=False)  # a new system's data directory: its database is --into
    from lantai.preservation.rebuild import RebuildError
    from lantai.preservation.rebuild import rebuild_catalog as rebuild

    try:
        counts = rebuild(into_url, from_path=from_path, from_location=from_location)
    except RebuildError as e:
        fail(f"重建失败：{e}", EXIT_UNREADABLE, as_json)
    echo_json(counts)


@storage.command("drill")
@click.option(
    "--sample", default=None, type=click.IntRange(min=0), help="Packages to restore (default 20)."
)
@click.option("--json", "as_json", is_flag=True)
def drill(sample: int | None, as_json: bool) -> None:
    """The yearly recovery exercise: fully restore a random sample of packages from every
    replica into scratch and compare file by file with the catalogue (SM3, SHA-256, metadata).
    Exit 0 only when every sampled package restored and matched; an empty sample is not a pass."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.preservation import drill as recovery

    with acting_as(cli_actor()):
        result = recovery.run_drill(sample)
    if as_json:
        echo_json(result)
    else:
        click.echo(recovery.summary_zh(result))
        for p in result["packages"]:
            for r in p["replicas"]:
                if r["result"] != "pass":
                    click.echo(f"  {p['object_id']} @ {r['location']}：{r['reason']}")
    sys.exit(0 if result["result"] == "pass" else 1)


@storage.command("check")
@click.option("--package", "package_ids", multiple=True, help="OCFL object id or package number.")
@click.option(
    "--sample",
    default=None,
    type=click.IntRange(min=1),
    help="Packages checked longest ago (default 20).",
)
@click.option("--json", "as_json", is_flag=True)
def check(package_ids: tuple[str, ...], sample: int | None, as_json: bool) -> None:
    """The DA/T 70 长期保存 checks on stored packages: exit 0 when every check passes (warnings
    allowed), 1 when any fails."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.preservation import longterm, verification

    try:
        packages = [verification.find_package(i) for i in package_ids] or None
    except verification.NotFound as e:
        fail(str(e), EXIT_UNREADABLE, as_json)
    with acting_as(cli_actor()):
        report, _stored = longterm.run(packages, sample=sample)
    if as_json:
        echo_json(report.as_json())
    else:
        click.echo(
            f"长期保存检测（{len(report.packages)} 个信息包）：{'通过' if report.result == 'pass' else '不通过'}"
        )
        for c in report.checks:
            if c.status in ("fail", "warn"):
                reason = c.evidence.get("reason") or c.evidence
                click.echo(f"  [{c.status}] {c.content_code} {c.title} · {c.object}：{reason}")
    sys.exit(1 if report.result == "fail" else 0)
