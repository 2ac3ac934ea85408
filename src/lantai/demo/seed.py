"""`lantai demo`: seed the demo regional archives (idempotent).

Structure goes through lantai.catalog.services, catalogue rows through the real import path (one
CSV per category, ``importing.import_file``), users through lantai.core.accounts, all inside
``audit.acting_as("demo-seed")``. Running it again finds every repository, fonds, category and user
by its code or name and imports nothing twice: a category that already holds its rows is skipped,
and a partly seeded one is re-imported, where held rows count as unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from lantai.catalog import services, thematic
from lantai.catalog.importing import import_file
from lantai.catalog.models import Category, Fonds, Record, Repository, ThematicCollection
from lantai.core import accounts, audit
from lantai.core.models import User
from lantai.demo.generator import (
    RED,
    CategorySpec,
    DemoArchive,
    FondsSpec,
    build_archive,
    write_csv,
)
from lantai.demo.living import make_alive

DEMO_PASSWORD = "Lantai@2024demo"
ACTOR = "demo-seed"

# username, role, display name, clearance, scope ("all", "province" = the provincial archives,
# "fonds" = the education fonds of the provincial archives, "" = none).
DEMO_USERS: tuple[tuple[str, str, str, int, str], ...] = (
    ("admin", "system_admin", "系统管理员（演示）", 0, ""),
    ("secadmin", "security_admin", "安全保密管理员（演示）", 0, ""),
    ("auditor", "audit_admin", "安全审计员（演示）", 0, ""),
    ("archivist", "cataloguer", "整理著录员（演示）", 2, "all"),
    ("receiver", "receiving_archivist", "接收员（演示）", 1, "all"),
    ("keeper", "preservation_officer", "保管员（演示）", 1, "all"),
    ("reviewer", "reviewer", "开放审核员（演示）", 3, "all"),
    ("reviewer2", "reviewer", "开放审核员二（复审，演示）", 3, "all"),
    ("senior", "senior_reviewer", "审核组长（演示）", 3, "all"),
    ("reader", "reading_room", "利用服务人员（演示）", 0, "province"),
    ("reader2", "reading_room", "利用服务人员（审批，演示）", 0, "province"),
    ("counter", "reading_room", "查档窗口（南州市档案馆，演示）", 0, "city"),
    ("marriage", "marriage_archivist", "婚姻档案管理员（演示）", 0, "all"),
    ("unit", "filing_unit", "立档单位用户（演示）", 1, "fonds"),
    ("vendor", "scanning_vendor", "数字化服务商（演示）", 0, "province"),
    ("curator", "curator", "编研展览人员（演示）", 0, "province"),
    ("curator2", "curator", "编研展览人员二（审核发布，演示）", 0, "province"),
)
UNIT_BODY = "教育厅"


@dataclass
class Summary:
    records: int
    seed: int
    repositories: list[tuple[str, str]] = field(default_factory=list)  # code, name
    created: dict[str, int] = field(default_factory=dict)  # what -> count created now
    existing: dict[str, int] = field(default_factory=dict)  # what -> count found
    rows_imported: int = 0
    rows_unchanged: int = 0
    categories_skipped: int = 0
    red_records: int = 0
    users: list[tuple[str, str]] = field(default_factory=list)  # username, role label
    password: str = DEMO_PASSWORD
    problems: list[str] = field(default_factory=list)
    alive: list[str] = field(default_factory=list)  # files, transfer, preservation, access
    seconds: float = 0.0

    def count(self, what: str, created: bool) -> None:
        target = self.created if created else self.existing
        target[what] = target.get(what, 0) + 1

    def lines(self) -> list[str]:
        def n(what: str) -> str:
            return f"{self.created.get(what, 0)} 新建 / {self.existing.get(what, 0)} 已有"

        out = [
            f"兰台演示数据（岭南省，记录 {self.records:,} 条，随机种子 {self.seed}）"
            f" Lantai demo data: {self.records:,} records, seed {self.seed}",
            f"  档案馆 repositories: {n('repository')}",
        ]
        out += [f"    {code} {name}" for code, name in self.repositories]
        out += [
            f"  全宗 fonds: {n('fonds')}",
            f"  门类 categories: {n('category')}",
            f"  档案 records: 新增 {self.rows_imported:,}，未变 {self.rows_unchanged:,}，"
            f"已完整跳过的门类 {self.categories_skipped}"
            f" (imported {self.rows_imported:,}, unchanged {self.rows_unchanged:,})",
            f"  专题数据库 红色档案专题数据库: {self.red_records} 条 records",
            f"  演示账号 demo accounts (密码 password: {self.password}):",
        ]
        out += [f"    {username:<10} {label}" for username, label in self.users]
        out += self.alive
        out += [f"  ！{p}" for p in self.problems]
        out.append(f"  用时 {self.seconds:.1f} 秒 (seconds)")
        return out


def seed_demo(records: int = 20000, seed: int = 2024, *, alive: bool = True) -> Summary:
    """Seed the demo archives with ``records`` catalogue rows; safe to run again. With ``alive``
    (what `lantai demo` does) it also holds electronic files, an accepted transfer, preserved
    and audited packages and an answered access request (``living``)."""
    started = time.perf_counter()
    archive = build_archive(records, seed)
    summary = Summary(records, seed)
    with audit.acting_as(ACTOR):
        repos = _repositories(archive, summary)
        fonds = _fonds(archive, repos, summary)
        red_codes = _records(archive, fonds, summary)
        _collection(archive, repos, red_codes, summary)
        _users(archive, repos, fonds, summary)
        _storage(summary)
        if alive:
            make_alive(archive, fonds, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _storage(summary: Summary) -> None:
    """A second required storage location, so the demo meets the two-copy policy. In production
    it must be another disk in another building (异地备份), not a folder of the data directory."""
    from django.conf import settings

    from lantai.preservation import locations
    from lantai.preservation.models import StorageLocation

    locations.ensure_primary()
    exists = StorageLocation.objects.filter(name="demo-replica").exists()
    if not exists:
        path = Path(settings.DATA_DIR) / "replica"
        # a demo seeded again into a fresh database finds its replica folder with its marker
        locations.add_location("demo-replica", path=str(path), required=True, reattach=True)
    summary.count("storage location", not exists)
    where = StorageLocation.objects.get(name="demo-replica").path
    summary.alive.append(
        f"  第二存储位置 second storage location: demo-replica（{where}）。仅供演示：同一块磁盘上的"
        "第二份副本防不住磁盘损坏；正式使用请把第二份副本放在另一块磁盘或 S3 对象存储上："
        "`lantai storage location add 名称 --path 目录 --required` 或 --s3-url … --bucket …"
        " (demo only: a real second copy belongs on another disk or in S3)"
    )


# --- structure ----------------------------------------------------------------------------------
def _repositories(archive: DemoArchive, summary: Summary) -> dict[str, Repository]:
    out: dict[str, Repository] = {}
    for spec in archive.repositories:
        try:
            repo = services.get_repository(spec.code)
            summary.count("repository", False)
        except services.CatalogError:
            repo = services.create_repository(
                spec.code, spec.name, level=spec.level, region=spec.region
            )
            summary.count("repository", True)
        out[spec.code] = repo
        summary.repositories.append((repo.code, repo.name))
    services.set_default_repository(out[archive.repositories[0].code])
    return out


def _fonds(
    archive: DemoArchive, repos: dict[str, Repository], summary: Summary
) -> dict[tuple[str, str], Fonds]:
    held = {
        (f.repository.code, f.code): f
        for f in services.visible_fonds(None).filter(repository__in=repos.values())
    }
    out: dict[tuple[str, str], Fonds] = {}
    for spec in archive.fonds:
        key = (spec.repository.code, spec.code)
        fonds = held.get(key)
        if fonds is None:
            fonds = services.create_fonds(
                spec.code,
                spec.name,
                creator=spec.creator,
                description=spec.description,
                repository=repos[key[0]],
            )
            summary.count("fonds", True)
        else:
            summary.count("fonds", False)
            if fonds.name != spec.name:
                summary.problems.append(
                    f"{fonds.repository.name}的全宗 {fonds.code} 名为“{fonds.name}”，与演示数据“{spec.name}”不同"
                )
        out[key] = fonds
    return out


def _category(spec: CategorySpec, fonds: Fonds, summary: Summary) -> Category:
    try:
        category = services.find_category(fonds.code, spec.code, fonds.repository.code)
        summary.count("category", False)
    except services.CatalogError:
        category = services.create_category(
            fonds, spec.code, arrangement=spec.arrangement, code_rule=spec.code_rule
        )
        summary.count("category", True)
    return category


# --- records ------------------------------------------------------------------------------------
def _records(
    archive: DemoArchive, fonds: dict[tuple[str, str], Fonds], summary: Summary
) -> dict[str, list[str]]:
    """Import every category; returns the red-collection codes per repository code."""
    folder = Path(settings.UPLOAD_DIR) / "demo" / f"seed{archive.seed}-{archive.records}"
    folder.mkdir(parents=True, exist_ok=True)
    red: dict[str, list[str]] = {}
    destroyed = _destroyed()
    for spec in archive.categories:
        repo_code = spec.fonds.repository.code
        category = _category(spec, fonds[(repo_code, spec.fonds.code)], summary)
        codes = red.setdefault(repo_code, [])
        rows = [r for r in spec.rows() if r["reference_code"] not in destroyed]
        held = sum(count for _, count in services.year_counts(category))
        if held == len(rows):
            summary.categories_skipped += 1
            codes.extend(r["reference_code"] for r in rows if r.get("collection") == RED)
            continue
        path = folder / f"{spec.key}.csv"
        write_csv(path, _collect_red(rows, codes))
        result = import_file(path, category)
        summary.rows_imported += result.rows_imported
        summary.rows_unchanged += result.rows_unchanged
        if result.status != "imported":
            first = result.errors[0] if result.errors else None
            where = f"如第 {first.row} 行[{first.column}]：{first.message}" if first else ""
            summary.problems.append(
                f"{spec.key} 导入被拒绝：{result.rows_rejected} 行有误，{where}"
                "（若库中已有其他 --records/--seed 生成的演示数据，请换用新的数据目录）"
            )
    return red


def _destroyed() -> set[str]:
    """档号 of records the demo's disposal destroyed: a second run does not bring them back."""
    from lantai.appraisal.models import DisposalItem

    return set(
        DisposalItem.objects.filter(disposal__status="completed").values_list(
            "reference_code", flat=True
        )
    )


def _collect_red(rows: Iterable[dict[str, Any]], codes: list[str]) -> Iterator[dict[str, Any]]:
    for row in rows:
        if row.get("collection") == RED:
            codes.append(row["reference_code"])
        yield row


def _collection(
    archive: DemoArchive, repos: dict[str, Repository], red: dict[str, list[str]], summary: Summary
) -> None:
    """The 红色档案 thematic collection of the provincial archives, holding the red records of the
    whole region."""
    spec = archive.collection
    home = repos[archive.repositories[0].code]
    collection = ThematicCollection.objects.filter(repository=home, code=spec["code"]).first()
    if collection is None:
        collection = thematic.create_collection(
            home, spec["code"], spec["name"], spec["description"]
        )
    ids: list[int] = []
    for repo_code, codes in red.items():
        for i in range(0, len(codes), 500):
            qs = Record.objects.filter(
                repository=repos[repo_code], reference_code__in=codes[i : i + 500]
            )
            ids.extend(qs.values_list("pk", flat=True))
    thematic.add_to_collection(collection, ids)
    summary.red_records = collection.records.count()


# --- users --------------------------------------------------------------------------------------
def _unit_fonds(archive: DemoArchive, fonds: dict[tuple[str, str], Fonds]) -> Fonds:
    home = archive.repositories[0].code
    mine: list[FondsSpec] = [
        f for f in archive.fonds if f.repository.code == home and not f.revolutionary
    ]
    spec = next((f for f in mine if f.body == UNIT_BODY), mine[0])
    return fonds[(home, spec.code)]


def _users(
    archive: DemoArchive,
    repos: dict[str, Repository],
    fonds: dict[tuple[str, str], Fonds],
    summary: Summary,
) -> None:
    from lantai.core.roles import ROLES

    for username, role, display, clearance, scope in DEMO_USERS:
        summary.users.append((username, ROLES[role].label_zh))
        if User.objects.filter(username=username).exists():
            summary.count("user", False)
            continue
        user = accounts.create_user(
            username,
            role=role,
            password=DEMO_PASSWORD,
            clearance=clearance,
            scope_all=scope == "all",
            actor=None,
            display_name=display,
        )
        if scope == "province":
            accounts.grant(
                user, actor=None, repository_ids=[repos[archive.repositories[0].code].pk]
            )
        elif scope == "city":  # the first city archives: its marriage records (demo/marriage.py)
            accounts.grant(
                user, actor=None, repository_ids=[repos[archive.repositories[1].code].pk]
            )
        elif scope == "fonds":
            accounts.grant(user, actor=None, fonds_ids=[_unit_fonds(archive, fonds).pk])
        summary.count("user", True)
    _administrators_second_factor(summary)


def _administrators_second_factor(summary: Summary) -> None:
    """The three administrators must sign in with a second factor (core.two_factor): the demo
    enrolls them with one TOTP secret it prints, so whoever tries the demo adds it to an
    authenticator app (or computes codes with pyotp) and signs in as an administrator."""
    import pyotp

    from lantai.core import two_factor
    from lantai.core.roles import ADMIN_TRIAD

    admins = [u for u in User.objects.filter(role__in=ADMIN_TRIAD).order_by("username")]
    secret = next((s for u in admins if (s := two_factor.stored_secret(u))), None)
    secret = secret or pyotp.random_base32()
    for admin in admins:
        if not two_factor.is_enrolled(admin):
            two_factor.enroll_known_secret(admin, secret)
    if admins:
        summary.alive += [
            "  三员管理员须使用双因素认证 (the three administrators sign in with a TOTP code):",
            f"    认证器密钥 authenticator secret: {secret}",
            f'    当前验证码 current code: .venv/bin/python -c "import pyotp; '
            f"print(pyotp.TOTP('{secret}').now())\"",
        ]
