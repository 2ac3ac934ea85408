"""The Prometheus metric objects that lower rooms record into (search latency, certificate
issuance) and the operations room's request middleware observes; lantai.ops.metrics serves them.

Kept here, in `core`, so that `search` or `certificates` can count without importing `ops` (the
top floor). Under `lantai serve` every gunicorn worker writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, set by `lantai serve` before
gunicorn starts) and /metrics adds them up, so counters are right whichever worker answers.
Only counters and histograms live here: gauges are computed from the database at scrape time.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "CERTIFICATES_ISSUED",
    "REQUESTS",
    "REQUEST_SECONDS",
    "SEARCH_SECONDS",
    "count_certificate",
    "observe_search",
]

# Latency buckets from a fast page (5 ms) to a slow export (30 s).
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "lantai_http_requests",
    "HTTP requests answered, by route (URL name), method and status code.",
    ["view", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "lantai_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by route and method.",
    ["view", "method"],
    buckets=_BUCKETS,
)
SEARCH_SECONDS = Histogram(
    "lantai_search_duration_seconds",
    "Search service latency (index query plus catalogue checks), by kind (search|suggest) and "
    "scope (public|staff).",
    ["kind", "scope"],
    buckets=_BUCKETS,
)
CERTIFICATES_ISSUED = Counter(
    "lantai_certificate_issue",
    "Certificate issuance attempts, by kind (record|none_found) and outcome (issued|failed).",
    ["kind", "outcome"],
)


def observe_search(kind: str, public: bool, seconds: float) -> None:
    SEARCH_SECONDS.labels(kind=kind, scope="public" if public else "staff").observe(seconds)


def count_certificate(kind: str, outcome: str) -> None:
    CERTIFICATES_ISSUED.labels(kind=kind, outcome=outcome).inc()
