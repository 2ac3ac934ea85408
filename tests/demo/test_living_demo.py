"""The demo shows a living archives (issue 13, point 5), on a small demo: electronic files (PDFs
and page images of drawn Chinese documents) on a share of the records, 卷内文件 inside 案卷 among
them; an accepted transfer with its 四性检测 report; every package preserved on two locations
under the production two-copy policy, with a completed fixity audit; an answered access request.
All of it made by the real services (a real clamd checks the transfer); a second run adds nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image

from lantai.access.models import AccessRequest, Provision
from lantai.catalog.models import Component, OpenCopy, Record
from lantai.demo import documents
from lantai.demo.seed import seed_demo
from lantai.ingest.models import CheckRecord, Transfer
from lantai.preservation import packaging
from lantai.preservation.models import AuditRun, Package, Replica, StorageLocation
from lantai.review.models import ReviewItem, ReviewTask

# the transfer is checked by a real clamd (skipped without Debian's clamd, failed under CI=true)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.clamd]


@pytest.fixture(autouse=True)
def _policy(settings: Any) -> None:  # each test's own data directory: tests/demo/conftest.py
    settings.PRESERVATION_MIN_COPIES = 2  # the production policy: two verified copies


def _content(c: Component) -> bytes:
    return (Path(settings.MEDIA_ROOT) / c.path).read_bytes()


def test_the_demo_is_a_living_archives() -> None:
    summary = seed_demo(records=1000, seed=11)
    assert summary.problems == [], summary.problems

    # electronic files: PDFs and page images of drawn documents, on a share of the records
    comps = list(Component.objects.select_related("record"))
    pdfs = [c for c in comps if c.mime_type == "application/pdf"]
    images = [c for c in comps if c.mime_type == "image/jpeg"]
    assert pdfs and images
    assert _content(pdfs[0]).startswith(b"%PDF-")
    sizes = {Image.open(io.BytesIO(_content(c))).size for c in images}
    assert (documents.WIDTH, documents.HEIGHT) in sizes  # drawn documents, A4 at 100 dpi
    with_files = Record.objects.filter(components__isnull=False).distinct().count()
    assert 12 <= with_files < Record.objects.count() // 2
    # 卷内文件 inside 案卷, with their page images
    items = Record.objects.filter(level="volume_item", components__isnull=False).distinct()
    assert items.exists()
    assert all(r.parent is not None and r.parent.level == "volume" for r in items)

    # an accepted transfer, checked by the real pipeline, its report in its package
    transfer = Transfer.objects.get()
    assert transfer.status == "accepted"
    version = transfer.versions.get()
    assert version.result == "pass"
    checks = CheckRecord.objects.filter(version=version)
    assert checks.filter(property="security", status="pass").exists()  # scanned by clamd
    assert not checks.filter(status="fail").exists()
    transfer_package = Package.objects.get(kind="transfer", source_id=transfer.pk)
    assert packaging.stored_report(transfer_package) is not None

    # every package preserved on both locations, and a completed audit
    names = set(StorageLocation.objects.filter(required=True).values_list("name", flat=True))
    assert names == {"local", "demo-replica"}
    assert Package.objects.exclude(status="preserved").count() == 0
    for package in Package.objects.all():
        held = Replica.objects.filter(package=package, version=package.version, damaged=False)
        assert set(held.values_list("location__name", flat=True)) == names, package.label
    run = AuditRun.objects.exclude(finished_at=None).latest("finished_at")
    assert run.files > 0 and run.problems == 0
    assert Replica.objects.filter(audited_at=None).count() == 0

    # an answered access request, with its use registered
    request = AccessRequest.objects.get()
    assert request.status == "provided"
    assert request.approved_by != request.accepted_by
    assert Provision.objects.filter(request=request).exists()

    # an open review at mid-course: published in part, records opened in part, deferrals
    task = ReviewTask.objects.get(name__contains="演示")
    published = ReviewItem.objects.filter(task=task, published_at__isnull=False)
    assert published.filter(decision="deferred").exists()
    assert ReviewItem.objects.filter(task=task, published_at__isnull=True).exists()
    copies = OpenCopy.objects.filter(record__in=published.values("record_id"))
    assert copies.exists()
    for copy in copies:
        assert "■■■" in copy.fields["title"] and copy.evidence["ok"] is True
    assert ReviewItem.objects.filter(task=task, doubt=True).count() == 2

    # marriage records of the city archives, and the counter's certificates: one of records, one
    # of no record, one revoked by two people; all verify as they should
    from lantai.certificates import keys, lists, verifying
    from lantai.certificates.models import Certificate
    from lantai.marriage.models import Registration

    assert Registration.objects.count() >= 1500
    assert set(Registration.objects.values_list("kind", flat=True)) >= {"marriage", "divorce"}
    certificates = {c.kind: c for c in Certificate.objects.filter(revoked_at__isnull=True)}
    assert set(certificates) == {"record", "none_found"}
    revoked = Certificate.objects.get(revoked_at__isnull=False)
    assert revoked.revoked_by != revoked.revoke_requested_by
    trust, statuses = lists.current()
    for cert, valid in ((certificates["record"], True), (revoked, False)):
        verdict = verifying.verify(payload=cert.payload, trust_list=trust, status_lists=statuses,
                                   roots=keys.pinned_roots(), now=timezone.now()).verdict  # fmt: skip
        assert verdict.valid is valid and (valid or verdict.reason == "revoked")

    # the red archives database, published and described, and the online exhibition hall
    from lantai.exhibits import database_browse, exhibitions
    from lantai.exhibits.models import ConservationAction, Database, Exhibition

    database = Database.objects.get(status="published", kind="red")
    rows = database_browse.public_rows(database)
    assert rows and all(row.entry.values.get("period") for row in rows)
    assert database_browse.timeline(rows) and ConservationAction.objects.exists()
    current, past = exhibitions.hall()
    assert len(current) >= 2 and len(past) >= 1
    assert all(e.published is not None and e.published.approved_by != e.created_by for e in current)
    for shown in current:  # every exhibition shows page images of open records
        assert Client().get(f"/public/exhibitions/{shown.slug}/").status_code == 200

    text = "\n".join(summary.lines())
    assert "demo-replica" in text and "S3" in text  # says a real second copy belongs elsewhere
    assert "婚姻档案示例" in text and "出证" in text

    # a second run finds everything and makes nothing twice
    counts = (Component.objects.count(), Transfer.objects.count(), Package.objects.count(),
              Database.objects.count(), Exhibition.objects.count())  # fmt: skip
    again = seed_demo(records=1000, seed=11)
    assert again.problems == []
    assert (Component.objects.count(), Transfer.objects.count(), Package.objects.count(),
            Database.objects.count(), Exhibition.objects.count()) == counts  # fmt: skip
    assert AccessRequest.objects.count() == 1
    assert Certificate.objects.count() == 3 and Registration.objects.count() >= 1500
