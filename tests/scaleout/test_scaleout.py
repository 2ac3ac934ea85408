"""The scale-out configuration, run as on several machines (issue 13, point 8): two web machines
and two worker machines on PostgreSQL, huey on Redis and an S3 location (conftest.py).

Each job is proven to run exactly once across both workers (huey's "Executing" line in the
workers' logs, counted after a quiet period in which both workers have scanned the leases again,
and the audit entries the job writes), its result is seen through the *other* web machine, a
transfer checked on one machine is accepted on another and its package preserved on the shared
primary location and on S3, each periodic job runs once a minute across both workers, and a
worker killed with SIGKILL in the middle of a transfer check (its package unpacked and hashed)
leaves the check to the other worker, whose result is that of a single run (lantai.job_leases).
The tests run in order on one cluster; the kill comes last.
"""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from lantai.demo.transfer import make_transfer
from tests.scaleout.conftest import (
    LOCAL,
    PASSWORD,
    SHARED,
    USERNAME,
    AnotherRun,
    Cluster,
    claim_run,
    wait_for,
)

pytestmark = pytest.mark.scaleout


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/", timeout=10)
    response = session.post(
        f"{base}/login/",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:2000]
    return session


def upload_transfer(
    cluster: Cluster, session: requests.Session, base: str, name: str, year: int = 2020
) -> int:
    """A real multipart upload of a transfer package through the web form; the transfer's id."""
    work = cluster.root / "packages" / name
    source = make_transfer(work / "src", 2, kinds=("xml",), year=year)
    archive = Path(shutil.make_archive(str(work / "pkg"), "zip", root_dir=source))
    session.get(f"{base}/transfers/new/", timeout=10)
    with archive.open("rb") as f:
        response = session.post(
            f"{base}/transfers/new/",
            data={
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "unit": str(cluster.ids["fonds"]),
                "title": f"移交 {name}",
            },
            files={"package": ("移交包.zip", f, "application/zip")},
            headers={"Referer": f"{base}/transfers/new/"},
            timeout=60,
            allow_redirects=False,
        )
    assert response.status_code == 302, response.text[:3000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def progress(session: requests.Session, base: str, transfer: int) -> dict[str, Any]:
    response = session.get(f"{base}/transfers/{transfer}/progress/", timeout=10)
    assert response.status_code == 200, response.text[:2000]
    return dict(response.json())


def audit_count(cluster: Cluster, action: str, target: int) -> int:
    rows = cluster.sql(
        "SELECT count(*) FROM core_auditentry WHERE action = %s AND target_id = %s",
        action,
        str(target),
    )
    return int(rows[0][0])


def checks_running(cluster: Cluster) -> list[dict[str, Any]]:
    return [lease for lease in cluster.leases().values() if lease["name"] == "check_version"]


def api(cluster: Cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.token}"}


def check_records(cluster: Cluster, transfer: int) -> list[tuple[Any, ...]]:
    return cluster.sql(
        "SELECT r.property, r.content_code, r.check_key, r.status, r.item_code, r.object "
        "FROM ingest_checkrecord r JOIN ingest_transferversion v ON v.id = r.version_id "
        "WHERE v.transfer_id = %s ORDER BY 1, 2, 3, 4, 5, 6",
        transfer,
    )


def preserved_on(cluster: Cluster, kind: str, source: int | None = None) -> list[str] | None:
    """The locations holding a verified copy of the package of `kind` (and `source`) once it is
    preserved; None before."""
    rows = cluster.sql(
        "SELECT p.id, p.status FROM preservation_package p WHERE p.kind = %s "
        "AND (%s::bigint IS NULL OR p.source_id = %s::bigint)",
        kind,
        source,
        source,
    )
    if len(rows) != 1 or rows[0][1] != "preserved":
        return None
    replicas = cluster.sql(
        "SELECT l.name FROM preservation_replica r JOIN preservation_storagelocation l "
        "ON l.id = r.location_id WHERE r.package_id = %s AND r.version = 1 ORDER BY l.name",
        rows[0][0],
    )
    return [name for (name,) in replicas]


def test_a_second_run_fails_at_once_while_this_one_holds_the_services(cluster: Cluster) -> None:
    with pytest.raises(AnotherRun, match="lantai_test_scaleout.*Redis databases 13/14"):
        claim_run()


def test_a_transfer_checked_once_on_one_machine_is_accepted_and_preserved_on_another(
    cluster: Cluster,
) -> None:
    web1, web2 = cluster.machines["web1"].url, cluster.machines["web2"].url
    mark = cluster.log_marks()
    transfer = cluster.ids["transfer"] = upload_transfer(cluster, signed_in(web1), web1, "a")
    other = signed_in(web2)
    done = wait_for(lambda: progress(other, web2, transfer).get("done"), "the check")
    assert done
    assert progress(other, web2, transfer)["status"] == "passed"  # scanned: the test signature
    report = other.get(f"{web2}/transfers/{transfer}/", timeout=10)
    assert report.status_code == 200 and "四性检测" in report.text
    cluster.settle()
    assert sum(cluster.executed("check_version", mark).values()) == 1
    assert audit_count(cluster, "transfer_check", transfer) == 1

    accepted = other.post(
        f"{web2}/transfers/{transfer}/accept/",
        data={"csrfmiddlewaretoken": other.cookies["csrftoken"]},
        headers={"Referer": f"{web2}/transfers/{transfer}/"},
        timeout=60,
        allow_redirects=False,
    )
    assert accepted.status_code == 302, accepted.text[:2000]
    assert cluster.sql("SELECT status FROM ingest_transfer WHERE id = %s", transfer) == [
        ("accepted",)
    ]
    where = wait_for(lambda: preserved_on(cluster, "transfer", transfer), "the package")
    assert where == ["local", "s3"]
    cluster.settle()
    assert sum(cluster.executed("preserve_package", mark).values()) == 1
    assert any(p.is_file() for p in (cluster.root / "shared" / "files").rglob("*"))


def test_an_import_submitted_on_one_web_machine_is_processed_once(cluster: Cluster) -> None:
    web1, web2 = cluster.machines["web1"].url, cluster.machines["web2"].url
    mark = cluster.log_marks()
    records = cluster.sql("SELECT count(*) FROM catalog_record")[0][0]
    rows = "".join(
        f"Z109-WS·2024-Y-BGS-{i:04d},岭南省人民政府办公厅,关于扩容测试的通知第{i}号,2024010{i},公开,永久,2024\n"
        for i in range(1, 4)
    )
    csv = "档号,责任者,题名,日期,密级,保管期限,年度\n" + rows
    response = requests.post(
        f"{web1}/api/imports",
        headers=api(cluster),
        data={"category": str(cluster.ids["category"])},
        files={"file": ("目录.csv", csv.encode(), "text/csv")},
        timeout=30,
    )
    assert response.status_code == 202, response.text  # queued: LANTAI_IMPORT_JOB_THRESHOLD=1
    batch = response.json()["id"]

    def finished() -> dict[str, Any] | None:
        out = requests.get(f"{web2}/api/imports/{batch}", headers=api(cluster), timeout=10).json()
        return out if out["status"] not in ("pending", "running") else None

    result = wait_for(finished, "the import")
    assert (result["status"], result["rows_imported"]) == ("imported", 3), result
    cluster.settle()
    assert sum(cluster.executed("run_import", mark).values()) == 1
    assert audit_count(cluster, "import", batch) == 1
    assert records + 3 == cluster.sql("SELECT count(*) FROM catalog_record")[0][0]


def test_the_preservation_tick_writes_the_imported_records_to_the_shared_primary_and_s3(
    cluster: Cluster,
) -> None:
    """What a worker writes the others need: the package lands on the primary location (shared
    `preservation/`) and on S3, and both copies are verified, whichever worker ran the tick."""
    from lantai.jobs import huey
    from lantai.preservation.tasks import preservation_tick

    mark = cluster.log_marks()
    cluster.enqueue(huey.serialize_task(preservation_tick.s()))  # as the scheduler would

    where = wait_for(lambda: preserved_on(cluster, "import"), "the imported records' package")
    assert where == ["local", "s3"]
    assert cluster.sql("SELECT kind FROM preservation_package ORDER BY kind") == [
        ("import",),
        ("transfer",),
    ]
    assert len(list((cluster.root / "shared" / "preservation").rglob("inventory.json"))) >= 2
    assert cluster.s3_keys(), "nothing was written to the S3 bucket"
    cluster.settle()
    assert sum(cluster.executed("preservation_tick", mark).values()) == 1


def test_an_edit_on_one_web_machine_is_searchable_on_the_other_once(cluster: Cluster) -> None:
    web1, web2 = cluster.machines["web1"].url, cluster.machines["web2"].url
    record = cluster.sql("SELECT min(id) FROM catalog_record")[0][0]
    word = f"扩容检索{uuid.uuid4().int % 10**6:06d}"
    mark = cluster.log_marks()
    response = requests.patch(
        f"{web2}/api/records/{record}",
        headers=api(cluster),
        json={"title": f"关于{word}的通知", "open_status": "open"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    def found() -> dict[str, Any] | None:
        out = requests.get(f"{web1}/api/public/search", params={"q": word}, timeout=10).json()
        return out if out.get("total") else None

    hits = wait_for(found, "the edit to be searchable")
    assert hits["total"] == 1 and hits["hits"][0]["id"] == record
    cluster.settle()
    assert sum(cluster.executed("sync_records", mark).values()) == 1
    assert cluster.sql("SELECT count(*) FROM search_pendingchange")[0][0] == 0


def test_a_periodic_job_runs_once_a_minute_across_both_workers(cluster: Cluster) -> None:
    """Both workers' schedulers look for due periodic jobs when they start and every minute after;
    catch_up_tick is due every minute here (LANTAI_SEARCH_CATCH_UP_MINUTES=1): it ran once for
    each minute one worker claimed, never once per worker."""
    cluster.settle()

    def once_per_claimed_minute() -> int:
        claims = cluster.periodic_claims("catch_up_tick")
        runs = sum(cluster.executed("catch_up_tick", {}).values())
        return claims if claims == runs else 0

    assert wait_for(once_per_claimed_minute, "one run of catch_up_tick per claimed minute", 10)


def test_a_worker_killed_mid_check_leaves_the_check_to_the_other(cluster: Cluster) -> None:
    web1, web2 = cluster.machines["web1"].url, cluster.machines["web2"].url
    hold = cluster.root / "hold"
    hold.touch()  # the check waits as its "formats" stage starts until the file is gone
    mark = cluster.log_marks()
    transfer = upload_transfer(cluster, signed_in(web2), web2, "d", year=2021)
    session = signed_in(web1)
    wait_for(lambda: progress(session, web1, transfer)["stage"] == "formats", "the check to hold")
    lease = checks_running(cluster)[0]  # unpacked, read and hashed under ingest/work/
    pid = int(lease["worker"].split(":")[1])
    victim = next(m for m in cluster.machines.values() if m.process.pid == pid)
    survivor = next(
        m for n, m in cluster.machines.items() if n.startswith("worker") and m is not victim
    )
    os.kill(pid, signal.SIGKILL)
    victim.process.wait(timeout=10)
    hold.unlink()
    wait_for(lambda: progress(session, web1, transfer).get("done"), "the other worker's check")
    cluster.settle()
    executed = cluster.executed("check_version", mark)
    assert (executed[victim.name], executed[survivor.name]) == (1, 1)
    assert "queued again" in survivor.log_text()
    # the result of one whole run: passed, one audit entry, the check records of a single run
    # (those of transfer "a", the same package but for its year), none twice
    assert progress(session, web1, transfer)["status"] == "passed"
    assert audit_count(cluster, "transfer_check", transfer) == 1
    retried, single = (
        check_records(cluster, transfer),
        check_records(cluster, cluster.ids["transfer"]),
    )
    assert [r[:4] for r in retried] == [r[:4] for r in single]
    assert len(set(retried)) == len(retried) == len(set(single))
    report = session.get(f"{web1}/transfers/{transfer}/", timeout=10)
    assert report.status_code == 200 and "四性检测" in report.text


def test_no_machine_keeps_a_file_that_another_one_needs(cluster: Cluster) -> None:
    """Everything a machine wrote outside the shared paths is its own cache or scratch space."""
    for name in cluster.machines:
        own = cluster.private_dir(name)
        kept = {p.name for p in own.iterdir() if p.name not in SHARED}
        assert kept <= LOCAL, (name, kept - LOCAL)
        for sub in SHARED:  # the shared paths were mounted over: nothing was written beneath
            assert not any((own / sub).iterdir()), (name, sub)
    shared = cluster.root / "shared"
    assert any((shared / "ingest").rglob("*.zip"))  # the uploaded originals, seen by the workers
    assert any((shared / "uploads").iterdir())  # the catalogue file, imported by a worker
