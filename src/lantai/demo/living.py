"""The living part of the demo archives (issue 13, point 5): what a digital archives holds after
it has been at work for a while.

- 卷内文件 inside a few 案卷, imported as a 卷内文件目录 (``import_file(level="volume_item")``);
- electronic files on a share of the records: a scanned PDF of each chosen 文书 item (some with
  their page images too) and page images of every 卷内文件, drawn by ``documents``;
- one transfer from the 人民政府办公厅, received, checked by the real 四性检测 pipeline (its
  own clamd) and accepted, so its report is there to read;
- the transfer's package and the records with electronic files packaged and preserved on both
  locations (the data directory's own and the demo's second one) by the preservation service, then
  a complete fixity audit (the other records are preserved by the worker of `lantai serve`);
- an access request submitted through the portal's service, accepted, approved by a second
  member of staff and answered (利用登记).
- scanned pages and recordings brought in through the digitization services
  (``lantai.demo.digitized``, issue 14), before preservation packages the records' files.

Everything goes through the real services; nothing is written into result tables by hand. Each
step finds what an earlier run made and does not make it twice.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from lantai.catalog import components
from lantai.catalog.importing import import_file
from lantai.catalog.models import Category, Component, Fonds, ImportBatch, Record
from lantai.core.models import User
from lantai.demo import documents
from lantai.demo.generator import CategorySpec, DemoArchive, write_csv
from lantai.demo.words import words
from lantai.ingest.services import IngestError
from lantai.ingest.virus import ScannerError, SignatureImportError

if TYPE_CHECKING:
    from lantai.demo.seed import Summary

VOLUMES = 6  # 案卷 that get 卷内文件
FILES_PER_HUNDRED = 1  # records with electronic files per hundred records (at least MIN_FILES)
MIN_FILES, MAX_FILES = 12, 240
IMAGES_EVERY = 4  # every 4th 文书 item with a PDF also gets its page images
TRANSFER_YEAR = 2025  # after the generated years: the transfer's 档号 cannot clash with them
TRANSFER_ITEMS = 6
TRANSFER_TITLE = "2025年度文书档案移交（演示）"
APPLICANT = ("陈晓明", "44010319850715001X", "13800138000")
# A one-line ClamAV signature for the EICAR test file: a fresh demo data directory has no virus
# signatures, and a transfer check without any fails honestly ("未扫描").
DEMO_SIGNATURE = "Demo.EICAR.Body:0:*:" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE".hex() + "\n"


def make_alive(archive: DemoArchive, fonds: dict[tuple[str, str], Fonds], summary: Summary) -> None:
    """Every step above, in order (the second location exists already: ``seed._storage``)."""
    home = archive.repositories[0].code
    lines = summary.alive
    problem = documents.fonts_available()
    if problem:
        summary.problems.append(problem)
    else:
        items = _volume_items(archive, fonds, summary)
        chosen = _chosen_items(archive, home)
        files = _attach(chosen, items)
        with_files = Record.objects.filter(components__isnull=False).distinct().count()
        lines.append(
            f"  电子文件 electronic files: {Component.objects.count():,} 个，"
            f"附于 {with_files:,} 条档案（本次新增 {files:,} 个；含卷内文件 {len(items)} 件）"
        )
    try:
        _transfer(archive, fonds, summary, drawn=problem is None)
    except (IngestError, ScannerError, SignatureImportError) as e:  # e.g. clamd not installed
        summary.problems.append(f"演示移交未完成：{e}（请先运行 scripts/setup.sh）")
    # scanned pages and recordings (issue 14): before preservation, which packages them
    from lantai.demo.digitized import make_digitized

    make_digitized(archive, summary)
    # the red archives database and the online exhibitions (issue 18): their page images too
    from lantai.demo.exhibits import make_exhibits

    make_exhibits(archive, summary)
    _preserve_and_audit(summary)
    _access_request(summary)
    # open review (issue 15): a task at mid-course, part of it published
    from lantai.demo.review import make_review

    make_review(summary)
    # marriage records and certificates (issue 16)
    from lantai.demo.marriage import make_marriage

    make_marriage(summary.records, summary)
    # accessions, appraisal and disposal, stacks, transfer quality, statistics (issue 19)
    from lantai.demo.collecting import make_collecting

    make_collecting(archive, summary)


# --- 卷内文件 ----------------------------------------------------------------------------------
def _volume_spec(archive: DemoArchive, home: str) -> CategorySpec | None:
    """The 会计 (else 人事) volumes of the home repository, else of the largest other one."""
    specs = [c for c in archive.categories if c.code in ("KU", "RS")]
    return min(
        specs,
        key=lambda c: (c.fonds.repository.code != home, c.code != "KU", -c.count),
        default=None,
    )


def _volume_items(
    archive: DemoArchive, fonds: dict[tuple[str, str], Fonds], summary: Summary
) -> list[Record]:
    """卷内文件 of the newest open-classification 案卷 of one volume category (KU or RS)."""
    spec = _volume_spec(archive, archive.repositories[0].code)
    if spec is None:
        return []
    key = (spec.fonds.repository.code, spec.fonds.code)
    category = Category.objects.get(fonds=fonds[key], code=spec.code)
    held = list(Record.objects.filter(category=category, level="volume_item"))
    if held:
        return held
    volumes = [r for r in spec.rows() if r["classification"] == "公开"]
    volumes.sort(key=lambda r: (r["year"], r["reference_code"]))
    rng = random.Random(f"lantai-demo:{archive.seed}:volume-items")
    titles = words()["volume_items"][spec.code]
    rows: list[dict[str, Any]] = []
    for volume in volumes[-VOLUMES:]:
        start = 1
        for n in range(1, rng.randint(3, 5) + 1):
            pages = rng.randint(2, 30)
            title = titles[(n - 1) % len(titles)].format(a=start, b=start + pages - 1)
            start += pages
            rows.append(
                {**volume, "reference_code": f"{volume['reference_code']}-{n:03d}",
                 "title": title, "pages": pages}
            )  # fmt: skip
    folder = Path(settings.UPLOAD_DIR) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.key}-卷内文件目录.csv"
    write_csv(path, rows)
    result = import_file(path, category, level="volume_item")
    if result.status != "imported":
        first = result.errors[0] if result.errors else None
        summary.problems.append(
            f"卷内文件目录导入被拒绝：{first.message if first else result.status}"
        )
    return list(Record.objects.filter(category=category, level="volume_item"))


# --- electronic files --------------------------------------------------------------------------
def _chosen_items(archive: DemoArchive, home: str) -> list[Record]:
    """A share of the home repository's 文书 items: half of them open (the portal shows their
    files), half the newest."""
    n = max(MIN_FILES, min(MAX_FILES, archive.records * FILES_PER_HUNDRED // 100))
    items = Record.objects.filter(
        repository__code=home, category__code="WS", level="item"
    ).order_by("-date", "reference_code")
    # records the demo's open review opened are left out: a second run chooses as the first did
    from lantai.review.models import ReviewItem

    reviewed = ReviewItem.objects.filter(published_at__isnull=False).values("record_id")
    open_ = list(items.filter(open_status="open").exclude(pk__in=reviewed)[: n // 2])
    newest = list(items.exclude(pk__in=[r.pk for r in open_])[: n - len(open_)])
    return open_ + newest


def _document(record: Record) -> documents.Document:
    return documents.Document(
        issuer=record.author or record.fonds.creator,
        title=record.title,
        date=record.date.isoformat() if record.date else f"{record.year or 2000}-01-01",
        number=record.document_number,
    )


def _attach(chosen: Iterable[Record], items: Iterable[Record]) -> int:
    """Draw and attach the files of every chosen record that has none yet; returns the count."""
    made = 0
    held = set(Component.objects.values_list("record_id", flat=True).distinct())
    for i, record in enumerate(r for r in chosen if r.pk not in held):
        pages = documents.render_pages(_document(record), pages=1 + i % 2, seed=record.pk)
        files = [(f"{record.reference_code}.pdf", documents.pdf_bytes(pages, record.title))]
        if i % IMAGES_EVERY == 0:
            files += [
                (f"{record.reference_code}-{n:03d}.jpg", documents.jpeg_bytes(page))
                for n, page in enumerate(pages, 1)
            ]
        made += _store(record, files)
    for record in (r for r in items if r.pk not in held):
        pages = documents.render_pages(
            _document(record), pages=1 + record.pk % 2, red_header=False, seed=record.pk
        )
        files = [
            (f"{record.reference_code}-{n:03d}.jpg", documents.jpeg_bytes(page))
            for n, page in enumerate(pages, 1)
        ]
        made += _store(record, files)
    return made


def _store(record: Record, files: list[tuple[str, bytes]]) -> int:
    for name, data in files:
        components.attach_component(record, [data], name, user=None)
    return len(files)


# --- a transfer, checked and accepted ------------------------------------------------------------
def _office_fonds(archive: DemoArchive, fonds: dict[tuple[str, str], Fonds]) -> Fonds:
    home = archive.repositories[0].code
    spec = next(
        f for f in archive.fonds if f.repository.code == home and f.body == "人民政府办公厅"
    )
    return fonds[(home, spec.code)]


def _renderer(issuer: str) -> Callable[[str, str, str, str, str], bytes]:
    def render(kind: str, code: str, title: str, author: str, date: str) -> bytes:
        doc = documents.Document(issuer=author or issuer, title=title, date=date)
        pages = documents.render_pages(doc, seed=len(code))
        if kind == "pdf":
            return documents.pdf_bytes(pages, title)
        return documents.jpeg_bytes(pages[0])

    return render


def _signatures() -> str:
    """Load the demo's one test signature when the data directory has none (a real archives
    imports ClamAV's signatures with `lantai clamav import-signatures`)."""
    from lantai.ingest.virus import Scanner

    scanner = Scanner(Path(settings.DATA_DIR))
    if scanner.signature_count() > 0:
        return ""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "lantai-demo.ndb").write_text(DEMO_SIGNATURE, encoding="ascii")
        scanner.import_signatures(Path(tmp))
    return (
        "  病毒特征库 virus signatures: 已导入演示用测试特征库（1 条，只识别 EICAR 测试文件）；"
        "正式使用请用 `lantai clamav import-signatures 目录` 导入 ClamAV 特征库"
    )


def _transfer(
    archive: DemoArchive, fonds: dict[tuple[str, str], Fonds], summary: Summary, *, drawn: bool
) -> None:
    """Receive, check and accept the demo transfer (its PDFs and JPEGs drawn documents when the
    fonts are there)."""
    from lantai.ingest import services as ingest
    from lantai.ingest.models import Transfer

    office = _office_fonds(archive, fonds)
    done = Transfer.objects.filter(title=TRANSFER_TITLE, fonds=office).first()
    if done is None:
        note = _signatures()
        if note:
            summary.alive.append(note)
        from lantai.demo.transfer import make_transfer

        Path(settings.UPLOAD_DIR).mkdir(parents=True, exist_ok=True)
        dest = Path(tempfile.mkdtemp(prefix="demo-transfer-", dir=settings.UPLOAD_DIR))
        make_transfer(
            dest / "package",
            TRANSFER_ITEMS,
            seed=archive.seed,
            fonds=office.code,
            year=TRANSFER_YEAR,
            kinds=("pdf", "jpg"),
            files_per_item=2,
            unit=office.creator,
            render=_renderer(office.creator) if drawn else None,
        )
        done = ingest.receive(dest / "package", fonds=office, title=TRANSFER_TITLE)
        shutil.rmtree(dest)  # received: the transfer holds its own copy
        report = ingest.run_check(done.versions.get())
        done.refresh_from_db()
        if report.result != "pass":
            failed = [c for c in report.checks if c.status == "fail"][:3]
            summary.problems.append(
                f"演示移交“{TRANSFER_TITLE}”检测未通过："
                + "；".join(f"{c.title} {c.object}：{c.evidence.get('reason', '')}" for c in failed)
            )
            return
        warned = any(c.status == "warn" for c in report.checks)
        reason = "演示：警告项已逐项核实" if warned else ""
        ingest.accept(done, reason=reason, repository_code=archive.repositories[0].code)
        done.refresh_from_db()
    version = done.versions.order_by("-number").first()
    result = version.result if version else ""
    summary.alive.append(
        f"  移交 transfer: “{done.title}”（{done.unit}），四性检测 {result or '未检测'}，"
        f"状态 {done.get_status_display()}"
    )


# --- preservation on two locations, and an audit -------------------------------------------------
def _preserve_and_audit(summary: Summary) -> None:
    """Package the records that have electronic files (by import batch, as the periodic job
    packages loose records), preserve every package due on both locations, then audit every
    replica. The other catalogue records stay loose: `lantai serve`'s worker packages and
    preserves them in the background (every file is fsynced twice on each location, which on a
    slow disk takes minutes for 20,000 records)."""
    from lantai.preservation import audit, packaging, replication
    from lantai.preservation.models import Package, Replica, StorageLocation

    loose = Record.objects.filter(package_link__isnull=True, components__isnull=False).distinct()
    batches: dict[int | None, list[int]] = {}
    for pk, batch_id in loose.order_by("pk").values_list("pk", "import_batch_id"):
        batches.setdefault(batch_id, []).append(pk)
    for batch, ids in batches.items():
        found = ImportBatch.objects.filter(pk=batch) if batch else ImportBatch.objects.none()
        name = found.values_list("file_name", flat=True).first()
        label = f"目录导入 {name or batch}（附电子文件的档案）"
        packaging.new_package("import", label, batch, ids)
    for package_id in replication.pending_packages():
        replication.preserve(package_id)
    written = Replica.objects.filter(version__gt=0)
    files = sum(written.values_list("package__files", flat=True))
    run = audit.run_audit(2 * files + 10 * written.count() + 1)  # every replica, whole
    preserved = Package.objects.filter(status="preserved").count()
    names = "、".join(StorageLocation.objects.order_by("pk").values_list("name", flat=True))
    rest = Record.objects.filter(package_link__isnull=True).count()
    summary.alive.append(
        f"  长期保存 preservation: 已保存信息包 {preserved} 个（存储位置 {names}）；"
        f"固定性审计 {run.replicas} 个副本、{run.files:,} 个文件，发现问题 {run.problems} 个；"
        f"其余 {rest:,} 条档案由 `lantai serve` 的后台任务分批打包保存"
    )


# --- an answered access request --------------------------------------------------------------------
def _access_request(summary: Summary) -> None:
    from lantai.access import services as access
    from lantai.access.models import AccessRequest

    name, id_number, phone = APPLICANT
    req = AccessRequest.objects.filter(applicant_name=name, id_number=id_number).first()
    if req is None:
        record = (
            Record.objects.filter(open_status="open", components__isnull=False)
            .order_by("-date", "pk")
            .first()
        )
        req = access.submit_request(
            access.RequestInput(
                applicant_name=name,
                id_type="resident_id",
                id_number=id_number,
                phone=phone,
                purpose="family",
                record_ids=(record.pk,) if record else (),
                records_text="查阅本人父亲 1980 年代工作调动的有关文件",
            )
        )
        staff, approver = User.objects.get(username="reader"), User.objects.get(username="reader2")
        access.accept_request(req, staff, "材料齐全，予以受理")
        access.approve_request(req, approver, "同意提供电子文件")
        access.provide_request(req, staff, "electronic", "已通过电子邮件提供带水印的电子文件")
        req.refresh_from_db()
    summary.alive.append(
        f"  查档申请 access request: {req.reference}（{access.mask_name(req.applicant_name)}），"
        f"状态 {req.get_status_display()}"
    )
