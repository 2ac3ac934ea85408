"""GET /metrics: Prometheus text format.

Two kinds of series:
- counters and histograms recorded as things happen (requests, search latency, certificate issue
  attempts: lantai.core.telemetry). Under `lantai serve` each gunicorn worker writes them to files
  in PROMETHEUS_MULTIPROC_DIR and the scrape sums the files (prometheus_client multiprocess
  mode), so counts are right whichever worker answers the scrape;
- gauges read from the database and the job queue when scraped (:class:`StateCollector`): queue
  depth and the wait of the job next in line, worker heartbeat age, fixity audit progress and last
  damage, storage free space, certificates by kind and state.

Access: loopback, LANTAI_METRICS_ALLOWED, or a bearer LANTAI_METRICS_TOKEN; else 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from lantai.core.client_address import client_address, is_trusted_proxy

log = logging.getLogger(__name__)

__all__ = ["StateCollector", "allowed", "metrics_view", "render"]


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def allowed(request: HttpRequest) -> bool:
    """Loopback, a listed address or network, or the bearer token."""
    token = str(settings.METRICS_TOKEN or "")
    auth = str(request.META.get("HTTP_AUTHORIZATION", ""))
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip(), token):
        return True
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    forwarded = any(request.META.get(h) for h in ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP"))
    if forwarded and not is_trusted_proxy(remote):
        # came through a proxy Lantai does not know (an nginx on this machine that is not in
        # LANTAI_TRUSTED_PROXIES): its loopback address says nothing about the real client
        return False
    address = client_address(request)
    if _loopback(address):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse(
            "403 禁止访问 forbidden: /metrics 只对本机、LANTAI_METRICS_ALLOWED 中的地址或持有 "
            "LANTAI_METRICS_TOKEN 的请求开放 (loopback, LANTAI_METRICS_ALLOWED or the bearer "
            "token only)\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(StateCollector())
        return generate_latest(registry)
    registry = CollectorRegistry()
    registry.register(_Default())
    registry.register(StateCollector())
    return generate_latest(registry)


class _Default(Collector):
    """This process's own recorded series (no multiprocess directory: runserver, tests)."""

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from REGISTRY.collect()


def _gauge(name: str, doc: str, value: float | None, **labels: str) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=list(labels))
    if value is not None:
        g.add_metric(list(labels.values()), value)
    return g


class StateCollector(Collector):
    """Gauges computed at scrape time from the database, the queue and the heartbeat. A part
    that fails (the database is down) is logged and left out; lantai_scrape_error says which."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        errors = GaugeMetricFamily(
            "lantai_scrape_error",
            "1 when this part of the scrape could not be read.",
            labels=["part"],
        )
        for part, fn in (
            ("jobs", self._jobs),
            ("fixity", self._fixity),
            ("storage", self._storage),
            ("certificates", self._certificates),
            ("alerts", self._alerts),
        ):
            try:
                yield from fn()
                errors.add_metric([part], 0)
            except Exception:
                log.exception("metrics: %s not read", part)
                errors.add_metric([part], 1)
        yield errors

    def _jobs(self) -> Iterator[GaugeMetricFamily]:
        from lantai.jobs import huey, worker_status
        from lantai.ops.tasks import head_wait_seconds

        status = worker_status()
        yield _gauge("lantai_jobs_queue_depth", "Jobs waiting in the queue.", huey.pending_count())
        yield _gauge(
            "lantai_jobs_head_wait_seconds",
            "How long the job next in line has waited since it was queued (0: queue empty).",
            head_wait_seconds(),
        )
        yield _gauge(
            "lantai_worker_up",
            "1 when a job worker beat within the last minute (or jobs run inline).",
            1.0 if status.seen else 0.0,
        )
        age = None if status.last_seen is None else max(0.0, time.time() - status.last_seen)
        yield _gauge(
            "lantai_worker_heartbeat_age_seconds",
            "Seconds since the last worker heartbeat (absent: no worker ever beat).",
            age,
        )

    def _fixity(self) -> Iterator[GaugeMetricFamily]:
        from lantai.preservation.models import AuditRun, Replica

        cycle_start = timezone.now() - timedelta(days=settings.AUDIT_CYCLE_DAYS)
        stored = Replica.objects.filter(version__gt=0)
        total = stored.aggregate(n=Sum("package__files"))["n"] or 0
        done = stored.filter(audited_at__gte=cycle_start).aggregate(n=Sum("package__files"))["n"]
        partial = (
            stored.exclude(audited_at__gte=cycle_start).aggregate(n=Sum("audit_cursor"))["n"] or 0
        )
        yield _gauge("lantai_fixity_files", "Files on all replicas to verify each cycle.", total)
        yield _gauge(
            "lantai_fixity_files_verified_cycle",
            "Files verified within the current audit cycle (LANTAI_AUDIT_CYCLE_DAYS).",
            (done or 0) + partial,
        )
        yield _gauge(
            "lantai_fixity_cycle_days", "Length of the audit cycle.", settings.AUDIT_CYCLE_DAYS
        )
        yield _gauge(
            "lantai_fixity_damaged_replicas",
            "Replicas with damage that could not be repaired.",
            Replica.objects.filter(damaged=True).count(),
        )
        last_run = AuditRun.objects.filter(finished_at__isnull=False).aggregate(
            t=Max("finished_at")
        )
        if last_run["t"] is not None:
            yield _gauge(
                "lantai_fixity_last_run_timestamp_seconds",
                "When the last audit run finished.",
                last_run["t"].timestamp(),
            )
        damage = AuditRun.objects.filter(problems__gt=0).order_by("-started_at").first()
        yield _gauge(
            "lantai_fixity_last_damage_timestamp_seconds",
            "When the last audit run that found problems started (0: never).",
            damage.started_at.timestamp() if damage else 0.0,
        )
        yield _gauge(
            "lantai_fixity_last_damage_problems",
            "Problems that run found (repaired ones included).",
            damage.problems if damage else 0,
        )

    def _storage(self) -> Iterator[GaugeMetricFamily]:
        from lantai.preservation.models import StorageLocation

        free = GaugeMetricFamily(
            "lantai_storage_free_bytes",
            "Free bytes at the location, as its last health check found (local disks).",
            labels=["location"],
        )
        used = GaugeMetricFamily(
            "lantai_storage_used_bytes", "Bytes of verified package versions.", labels=["location"]
        )
        online = GaugeMetricFamily(
            "lantai_storage_online",
            "1 when the location was online at its last check.",
            labels=["location", "required"],
        )
        for loc in StorageLocation.objects.order_by("name"):
            if loc.free_bytes is not None:
                free.add_metric([loc.name], loc.free_bytes)
            if loc.used_bytes is not None:
                used.add_metric([loc.name], loc.used_bytes)
            online.add_metric([loc.name, str(loc.required).lower()], 1.0 if loc.online else 0.0)
        yield from (free, used, online)

    def _certificates(self) -> Iterator[GaugeMetricFamily]:
        from lantai.certificates.models import Certificate

        g = GaugeMetricFamily(
            "lantai_certificates",
            "Certificates issued, by kind and state (valid|revoked).",
            labels=["kind", "state"],
        )
        rows = (
            Certificate.objects.values("kind")
            .annotate(
                valid=Count("id", filter=Q(revoked_at__isnull=True)),
                revoked=Count("id", filter=Q(revoked_at__isnull=False)),
            )
            .order_by("kind")
        )
        for row in rows:
            g.add_metric([row["kind"], "valid"], row["valid"])
            g.add_metric([row["kind"], "revoked"], row["revoked"])
        yield g

    def _alerts(self) -> Iterator[GaugeMetricFamily]:
        from lantai.ops import alerts

        counts = alerts.delivery_counts()
        g = GaugeMetricFamily(
            "lantai_alert_deliveries",
            "Alert deliveries by channel and status (pending|sent|failed).",
            labels=["channel", "status"],
        )
        for (channel, status), n in sorted(counts.items()):
            g.add_metric([channel, status], n)
        yield g
        yield _gauge("lantai_alerts_open", "Alerts open now (all sources).", alerts.open_count())


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """For `lantai serve`, before gunicorn starts: the folder where every process writes its
    counters (PROMETHEUS_MULTIPROC_DIR if the environment sets one, else <data>/metrics),
    emptied of the files of an earlier run, and exported for the children."""
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    folder = Path(chosen) if chosen else Path(data_dir) / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder
