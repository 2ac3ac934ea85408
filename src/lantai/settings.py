"""The one settings module: every knob comes from a LANTAI_* environment variable with a safe default.

Embedded defaults: SQLite (WAL) and huey-on-SQLite under LANTAI_DATA_DIR, local files, no services.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("LANTAI_DATA_DIR", "./lantai-data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)  # huey opens its SQLite queue file at import time
(DATA_DIR / "static").mkdir(exist_ok=True)  # whitenoise expects STATIC_ROOT to exist
DEBUG = _env_bool("LANTAI_DEBUG", False)


def _secret_key() -> str:
    """LANTAI_SECRET_KEY wins, then the file LANTAI_SECRET_KEY_FILE names (e.g. a systemd
    credential); otherwise a random key kept in the data directory (mode 0600)."""
    if key := os.environ.get("LANTAI_SECRET_KEY"):
        return key
    if key_file := os.environ.get("LANTAI_SECRET_KEY_FILE", "").strip():
        try:
            return Path(key_file).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"LANTAI_SECRET_KEY_FILE: 无法读取密钥文件 cannot read {key_file}: {exc}"
            ) from None
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    try:
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key
    except FileExistsError:
        return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = os.environ.get("LANTAI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("LANTAI_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",  # serves Swagger UI for /api/docs from its own static files (no CDN)
    "lantai.core",
    "lantai.catalog",
    "lantai.ingest",
    "lantai.preservation",
    "lantai.search",
    "lantai.digitization",  # 数字化: scanning batches, DA/T 31 checks, OCR, audio/video
    "lantai.access",  # 用: public portal, 查档申请, 利用登记
    "lantai.review",  # 开放审核: plans, machine pre-screen, decisions, redacted copies, exchange
    "lantai.marriage",  # 婚姻档案: registrations, parties, rights rules, the query log
    "lantai.certificates",  # 出证: certificates, issuer keys, trust and status lists
    "lantai.interop",  # OAI-PMH provider, EAD export, IIIF manifests and content search
    "lantai.exhibits",  # 专题数据库 and 网上展厅
    "lantai.holdings",  # 征集: donors, accessions, campaigns, donor restrictions
    "lantai.stacks",  # 库房管理: buildings, rooms, shelves, boxes, movements, census, climate
    "lantai.appraisal",  # 鉴定与销毁: retention and classification appraisal, disposal
    "lantai.stats",  # 统计: the annual archives statistics report
    "lantai.platform",  # 全区平台: nodes, hub, signed message log, harvest, requests across archives
    "lantai.ops",  # 运维: health, metrics, logs, alerts, backup and restore
    "lantai.web",
]

MIDDLEWARE = [
    "lantai.ops.request_ids.RequestWatchMiddleware",  # request id, metrics, access log (first)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lantai.web.middleware.FormUploadLimitMiddleware",  # 413 before a too-large form is read
    "lantai.web.middleware.AuditActorMiddleware",  # audit entries name the signed-in user
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lantai.web.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "lantai.urls"
WSGI_APPLICATION = "lantai.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "lantai.web.context.navigation",
                "lantai.platform.context.platform",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("LANTAI_DATABASE_URL", "")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=60)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # pg_trgm and collation need a UTF-8 database; tests create theirs with C.UTF-8.
        _db.setdefault("TEST", {}).update({"CHARSET": "UTF8", "TEMPLATE": "template0"})
        # A server that takes the connection and never answers fails /readyz and the request
        # after this many seconds instead of hanging them (a connect_timeout in the URL wins).
        _db.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", int(os.environ.get("LANTAI_DATABASE_CONNECT_TIMEOUT", "5"))
        )
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "lantai.sqlite3",
        "OPTIONS": {
            # IMMEDIATE: a write transaction takes the lock at BEGIN, so two writers queue on the
            # busy timeout instead of failing with "database is locked" on lock upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- jobs (huey) ------------------------------------------------------------------------------
_huey_url = os.environ.get("LANTAI_HUEY_URL", "")
HUEY: dict[str, object]
if _huey_url.startswith("redis://"):
    # priorities (Redis >= 5): the OCR of millions of pages waits behind everything else
    HUEY = {"huey_class": "huey.PriorityRedisHuey", "name": "lantai", "url": _huey_url}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "lantai",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
    }
HUEY["immediate"] = _env_bool("LANTAI_JOBS_IMMEDIATE", False)
# Nothing reads a job's return value; kept, they would pile up in the store that the job leases
# share (lantai.job_leases reads it with every heartbeat).
HUEY["results"] = False
HUEY["consumer"] = {"workers": int(os.environ.get("LANTAI_WORKERS", "2")), "worker_type": "thread"}

# --- auth and security (等保 level 3 defaults) ------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["lantai.core.backends.LockoutBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "lantai.core.passwords.CharacterClassValidator"},
    {"NAME": "lantai.core.password_history.PasswordHistoryValidator"},
]
# A new password may not equal the current one or the ones before it: this many in all (0: off).
PASSWORD_HISTORY = int(os.environ.get("LANTAI_PASSWORD_HISTORY", "5"))
# Days a password stays valid; after that the user must set a new one right after signing in
# (0: passwords never expire).
PASSWORD_MAX_AGE_DAYS = int(os.environ.get("LANTAI_PASSWORD_MAX_AGE_DAYS", "90"))
# Second factor (TOTP, core.two_factor): roles that must use it, comma-separated role codes, or
# "all" for every staff user (everyone but 公众); default the three administrators (三员).
TWO_FACTOR_REQUIRED_ROLES = [
    r.strip()
    for r in os.environ.get(
        "LANTAI_2FA_REQUIRED_ROLES", "system_admin,security_admin,audit_admin"
    ).split(",")
    if r.strip()
]
# The name authenticator apps show for this installation's accounts.
TWO_FACTOR_ISSUER = os.environ.get("LANTAI_2FA_ISSUER", "兰台 Lantai")
# API tokens (core.api_auth): days a new token is valid by default, and the most one may ask for.
API_TOKEN_DAYS = int(os.environ.get("LANTAI_API_TOKEN_DAYS", "90"))
API_TOKEN_MAX_DAYS = int(os.environ.get("LANTAI_API_TOKEN_MAX_DAYS", "365"))
if not 1 <= API_TOKEN_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("LANTAI_API_TOKEN_DAYS must be 1 to LANTAI_API_TOKEN_MAX_DAYS")
LOGIN_MAX_FAILURES = int(os.environ.get("LANTAI_LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LANTAI_LOGIN_LOCKOUT_MINUTES", "15"))
# Failures count per (account, address), per address and per account: lantai.core.login_guard.
LOGIN_ADDRESS_MAX_FAILURES = int(os.environ.get("LANTAI_LOGIN_ADDRESS_MAX_FAILURES", "20"))
LOGIN_ACCOUNT_MAX_FAILURES = int(os.environ.get("LANTAI_LOGIN_ACCOUNT_MAX_FAILURES", "50"))
# Sessions: SESSION_ENGINE is chosen with the state stores below (never a cache that evicts).
SESSION_COOKIE_AGE = int(os.environ.get("LANTAI_SESSION_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout, not an absolute one
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = _env_bool("LANTAI_SECURE_COOKIES", False)  # set behind TLS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES
# Behind the documented proxy (nginx on the same machine, terminating TLS and setting
# X-Forwarded-Proto): requests it marks https count as secure, plain http is redirected to https.
BEHIND_TLS_PROXY = _env_bool("LANTAI_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # /healthz and /readyz are asked over plain http by a local load balancer or monitor
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HTTP Strict Transport Security: seconds browsers keep to https (0: no header; set it only when
# the site is served over TLS for good). Subdomains included unless turned off; preload off.
SECURE_HSTS_SECONDS = int(os.environ.get("LANTAI_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("LANTAI_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("LANTAI_HSTS_PRELOAD", False)
# Preloading is a decision to submit the domain to the browsers' list (hard to undo), not a
# default: with it off, `check --deploy` would warn for ever, so that one warning is silenced.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# The client's address (audit log, sign-in lockout, rate limits; lantai.core.client_address):
# REMOTE_ADDR, unless it is one of these reverse proxies (addresses or networks, comma-separated,
# e.g. 10.0.0.1,10.0.0.0/24): then the right-most address in X-Forwarded-For that is not a listed
# proxy, or X-Real-IP. Empty: no proxy is trusted and those headers are ignored.
TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("LANTAI_TRUSTED_PROXIES", "").split(",") if p.strip()
]
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"LANTAI_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network"
        ) from None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # a request's fields other than its files
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploaded files are spooled to disk
# The largest multipart form post (files included; lantai.web.middleware.FormUploadLimitMiddleware
# answers 413 before reading it). Larger transfer packages go up in chunks (UPLOAD_MAX_BYTES).
FORM_UPLOAD_MAX_BYTES = int(os.environ.get("LANTAI_FORM_UPLOAD_MAX_BYTES", str(2 * 1024**3)))
FILE_UPLOAD_TEMP_DIR = None  # system temp; uploads are copied under DATA_DIR, never served raw

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("LANTAI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- files --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
# Where `collectstatic` puts the static files; in production a folder nginx reads
# (deploy/nginx/lantai.conf: /var/www/lantai/static), outside the data directory.
STATIC_ROOT = Path(os.environ.get("LANTAI_STATIC_ROOT", str(DATA_DIR / "static"))).resolve()
# Production: hashed names (lantai.3f2a9c1e7b40.css) from the manifest `collectstatic` writes, so
# the proxy may cache them for a year; pages fail loudly until collectstatic has run. Off (the demo
# and the tests): files are served by their plain names from the apps, no collectstatic needed.
STATIC_MANIFEST = _env_bool("LANTAI_STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "lantai.static_files.HashedStaticFiles"
        if STATIC_MANIFEST
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST  # serve from app dirs without collectstatic
MEDIA_ROOT = DATA_DIR / "files"
UPLOAD_DIR = DATA_DIR / "uploads"
# resumable (chunked) transfer uploads: the largest file a session may announce
UPLOAD_MAX_BYTES = int(os.environ.get("LANTAI_UPLOAD_MAX_BYTES", str(50 * 1024**3)))
# ... and, per user, how many such uploads may be open at once and their total announced size
UPLOAD_MAX_OPEN = int(os.environ.get("LANTAI_UPLOAD_MAX_OPEN", "5"))
UPLOAD_MAX_OPEN_BYTES = int(os.environ.get("LANTAI_UPLOAD_MAX_OPEN_BYTES", str(100 * 1024**3)))
IMPORT_JOB_THRESHOLD_BYTES = int(os.environ.get("LANTAI_IMPORT_JOB_THRESHOLD", str(2 * 1024**2)))
# Transfer packages an archivist registers from the server's disk (folders, .zip, EEP .xml).
TRANSFER_INBOX = Path(os.environ.get("LANTAI_TRANSFER_INBOX", str(DATA_DIR / "inbox")))
# DA/T 70 1-1: a transfer without fixity information (a register with no digest, an EEP without a
# valid signature) fails; "warn" lets the archive accept it with a written reason.
TRANSFER_NO_FIXITY = os.environ.get("LANTAI_TRANSFER_NO_FIXITY", "fail").strip().lower()
if TRANSFER_NO_FIXITY not in ("fail", "warn"):
    raise ImproperlyConfigured("LANTAI_TRANSFER_NO_FIXITY must be fail or warn")
# The archive's own accepted-formats policy (YAML, the shape of standards/data/accepted-formats.yaml);
# empty: the bundled GB/T 18894 / DA/T 47 policy.
ACCEPTED_FORMATS = os.environ.get("LANTAI_ACCEPTED_FORMATS", "").strip()
# Catalogue files at least this big are validated in a second process, alongside the writes.
IMPORT_PARALLEL_BYTES = int(os.environ.get("LANTAI_IMPORT_PARALLEL_BYTES", str(4 * 1024**2)))

# --- 数字化: scanning batches, OCR, audio/video ---------------------------------------------------
# Derivatives made from stored files (ALTO, searchable PDFs, access copies, posters, waveforms),
# keyed by the SM3 of what they were made from: rebuildable, so kept apart from MEDIA_ROOT.
DERIVATIVES_DIR = DATA_DIR / "derivatives"
# Scanning output an archivist or vendor registers from the server's disk (folders, .zip).
DIGITIZATION_INBOX = Path(
    os.environ.get("LANTAI_DIGITIZATION_INBOX", str(DATA_DIR / "digitization-inbox"))
)
# OCR jobs that run at once in one worker process; onnxruntime in each gets cores / this many
# threads, so two OCR jobs never oversubscribe the machine's cores.
OCR_WORKERS = max(1, int(os.environ.get("LANTAI_OCR_WORKERS", "1")))
OCR_THREADS = max(1, (os.cpu_count() or 1) // OCR_WORKERS)
# cpu, or cuda on a GPU worker with onnxruntime-gpu installed instead of onnxruntime
OCR_DEVICE = os.environ.get("LANTAI_OCR_DEVICE", "cpu").strip().lower()
if OCR_DEVICE not in ("cpu", "cuda"):
    raise ImproperlyConfigured("LANTAI_OCR_DEVICE must be cpu or cuda")
# Pages whose mean line confidence is below this are flagged for correction (校对).
OCR_LOW_CONFIDENCE = float(os.environ.get("LANTAI_OCR_LOW_CONFIDENCE", "0.85"))
# 鉴定成果数据对接: SM3 fingerprints of the SM2 keys of the forming units and archives whose
# appraisal-result files this archives knows (comma-separated); a file signed by another key
# verifies but its sender is shown as not confirmed
REVIEW_EXCHANGE_TRUSTED_KEYS = frozenset(
    k.strip().lower()
    for k in os.environ.get("LANTAI_EXCHANGE_TRUSTED_KEYS", "").split(",")
    if k.strip()
)
# 出证: public keys (04…, 130 hex digits) of provincial root keys whose trust lists verifiers here
# accept besides this installation's own root (comma-separated), and how long a certificate stays
# valid after issue (days)
# OAI-PMH provider (interop/): the repository identifier (a domain-like name, oai-identifier), the
# contact address Identify names (else DEFAULT_FROM_EMAIL), records per List* page, resumption token
# lifetime (s), how often a process syncs the published set, and the time one request may spend on it.
OAI_REPOSITORY_IDENTIFIER = os.environ.get("LANTAI_OAI_REPOSITORY_IDENTIFIER", "lantai.local")
OAI_ADMIN_EMAIL = os.environ.get("LANTAI_OAI_ADMIN_EMAIL", "")
OAI_PAGE_SIZE = int(os.environ.get("LANTAI_OAI_PAGE_SIZE", "1000"))
OAI_TOKEN_TTL = int(os.environ.get("LANTAI_OAI_TOKEN_TTL", "3600"))
OAI_SYNC_INTERVAL = float(os.environ.get("LANTAI_OAI_SYNC_INTERVAL", "1"))
OAI_SYNC_BUDGET = float(os.environ.get("LANTAI_OAI_SYNC_BUDGET", "2"))
PUBLIC_OAI_RATE = os.environ.get("LANTAI_PUBLIC_OAI_RATE", "600/min")
# 专题数据库 and 网上展厅: the archives' own place names besides the shipped gazetteer (same YAML form
# as standards/data/gazetteer.yaml); read once per process
GAZETTEER_FILE = os.environ.get("LANTAI_GAZETTEER_FILE", str(DATA_DIR / "gazetteer-local.yaml"))
# an archives with a single curator may let one approve one's own exhibition (each such approval
# is marked self_approved in the audit log); by default a second person approves
EXHIBITION_SELF_APPROVAL = os.environ.get("LANTAI_EXHIBITION_SELF_APPROVAL", "") == "1"
# 全区平台 (platform/): the operator's holiday calendar for the 4 + 2 working-day deadlines (YAML,
# docs/operator-guide.md); empty: weekends only. The hub harvests its members every this many hours.
PLATFORM_HOLIDAYS = os.environ.get("LANTAI_PLATFORM_HOLIDAYS", "")
PLATFORM_HARVEST_HOURS = int(os.environ.get("LANTAI_PLATFORM_HARVEST_HOURS", "24"))
# the CA bundle that signs the other nodes' TLS certificates (a 政务网 CA); empty: the system's
PLATFORM_CA_BUNDLE = os.environ.get("LANTAI_PLATFORM_CA_BUNDLE", "")
CERTIFICATE_ROOT_KEYS = frozenset(
    k.strip().lower()
    for k in os.environ.get("LANTAI_CERTIFICATE_ROOT_KEYS", "").split(",")
    if k.strip()
)
# (at most a year: the PAdES signing certificate signs in the first of its two years, and a PDF
# must verify until the certificate expires)
CERTIFICATE_VALID_DAYS = int(os.environ.get("LANTAI_CERTIFICATE_VALID_DAYS", "180"))
if not 1 <= CERTIFICATE_VALID_DAYS <= 365:
    raise ImproperlyConfigured("LANTAI_CERTIFICATE_VALID_DAYS must be 1 to 365")

# --- state shared by all processes: sessions, job progress, rate-limit buckets -----------------
# Stores that never evict at random (an entry goes only when its own timeout has passed): Redis
# when configured (LANTAI_REDIS_URL, else the job queue's Redis), otherwise SQLite files of their
# own under DATA_DIR/state, shared by every process of the machine and never blocked by a long
# import holding the catalogue database's write lock. Sessions: Redis; else the catalogue
# database when it is PostgreSQL (shared by web machines); else the SQLite session file.
REDIS_URL = os.environ.get("LANTAI_REDIS_URL", "").strip() or (
    _huey_url if _huey_url.startswith("redis://") else ""
)
if REDIS_URL:
    CACHES = {
        alias: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"lantai-{alias}",
        }
        for alias in ("default", "sessions")
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {
        alias: {
            "BACKEND": "lantai.core.state_cache.SQLiteCache",
            "LOCATION": str(DATA_DIR / "state" / f"{alias}.sqlite3"),
        }
        for alias in ("default", "sessions")
    }
    SESSION_ENGINE = (
        "django.contrib.sessions.backends.db"
        if _db["ENGINE"] == "django.db.backends.postgresql"
        else "django.contrib.sessions.backends.cache"
    )
SESSION_CACHE_ALIAS = "sessions"

# --- logs, metrics, alerts (lantai.ops: logs, request_ids, metrics, alerts) ----------------------
# LANTAI_LOG_FORMAT: json (one JSON object per line: timestamp with zone, level, logger, message,
# request_id, and per request method, path, status, duration_ms, view, user id) or text; default
# json when stderr is not a terminal (systemd, containers), text in a terminal (the demo).
# The per-request line (logger lantai.request, level INFO; path without the query string, control
# characters escaped) is the access log of `lantai serve`, which turns it on (gunicorn's is not
# written); elsewhere (commands that render pages, tests) it is off. LANTAI_REQUEST_LOG (1/0) overrides.
from lantai.ops.logs import default_format as _log_format  # noqa: E402 (no Django in it)

try:
    LOG_FORMAT = _log_format()
except ValueError as _e:
    raise ImproperlyConfigured(str(_e)) from None
LOG_LEVEL = os.environ.get("LANTAI_LOG_LEVEL", "WARNING").strip().upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lantai.ops.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "lantai.ops.logs.JsonLineFormatter"},
        "text": {"()": "lantai.ops.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "lantai.request": {
            "level": "INFO" if _env_bool("LANTAI_REQUEST_LOG", False) else "WARNING",
        },
        # the worker's consumer: through our handler only (run_huey adds a handler of its own to a
        # "huey" logger that has none, and every line came out twice, once not as JSON); INFO
        # ("Executing …") only in `lantai worker`, not in commands that run jobs immediately
        "huey": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
# /metrics (Prometheus): answered to loopback, to these addresses or networks (comma-separated;
# the client address as lantai.core.client_address resolves it), or to a request carrying
# "Authorization: Bearer <LANTAI_METRICS_TOKEN>"; everyone else gets 403.
METRICS_ALLOWED = [
    a.strip() for a in os.environ.get("LANTAI_METRICS_ALLOWED", "").split(",") if a.strip()
]
for _allowed in METRICS_ALLOWED:
    try:
        ipaddress.ip_network(_allowed, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"LANTAI_METRICS_ALLOWED: {_allowed!r} is not an IP address or network"
        ) from None
METRICS_TOKEN = os.environ.get("LANTAI_METRICS_TOKEN", "")
# /readyz: a worker heartbeat older than this makes the "worker" check fail (state degraded).
READYZ_WORKER_SECONDS = int(os.environ.get("LANTAI_READYZ_WORKER_SECONDS", "60"))
# Mail (alerts; Django's SMTP backend). Empty host: no mail is sent.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("LANTAI_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("LANTAI_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("LANTAI_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("LANTAI_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("LANTAI_EMAIL_USE_TLS", False)  # STARTTLS
EMAIL_USE_SSL = _env_bool("LANTAI_EMAIL_USE_SSL", False)  # implicit TLS (port 465)
EMAIL_TIMEOUT = int(os.environ.get("LANTAI_EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("LANTAI_DEFAULT_FROM_EMAIL", "lantai@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Alerts delivered (lantai.ops.alerts): mail to these recipients (comma-separated) and a JSON POST
# to the province's SMS/IM gateway, signed with HMAC-SHA256 under LANTAI_ALERT_WEBHOOK_SECRET.
ALERT_EMAILS = [
    a.strip() for a in os.environ.get("LANTAI_ALERT_EMAILS", "").split(",") if a.strip()
]
ALERT_WEBHOOK_URL = os.environ.get("LANTAI_ALERT_WEBHOOK_URL", "").strip()
ALERT_WEBHOOK_SECRET = os.environ.get("LANTAI_ALERT_WEBHOOK_SECRET", "")
ALERT_WEBHOOK_TIMEOUT = float(os.environ.get("LANTAI_ALERT_WEBHOOK_TIMEOUT", "10"))
# A failed delivery is tried again after 1, 2, 4 … minutes, at most this many minutes apart.
ALERT_RETRY_MAX_MINUTES = int(os.environ.get("LANTAI_ALERT_RETRY_MAX_MINUTES", "60"))
# Names this installation in alert subjects and payloads (several archives share a gateway).
ALERT_SITE_NAME = os.environ.get("LANTAI_ALERT_SITE_NAME", "兰台")

# 存: preservation. The data directory's own storage root is the primary, required location.
PRESERVATION_ROOT = Path(os.environ.get("LANTAI_PRESERVATION_ROOT", str(DATA_DIR / "preservation")))
# Further locations declared by the operator, created at start-up if missing (the UI and
# `lantai storage location add` add more), e.g.
# [{"name": "nas", "path": "/mnt/nas/lantai", "required": true},
#  {"name": "oss", "s3_url": "https://oss.example.cn", "bucket": "aip", "required": true}]
# S3 keys come from LANTAI_S3_ACCESS_KEY / LANTAI_S3_SECRET_KEY, never from this list.
STORAGE_LOCATIONS = json.loads(os.environ.get("LANTAI_STORAGE_LOCATIONS", "[]"))
# Storage policy (异地备份): a package is 已保存 only with this many verified copies on required
# locations; fewer required locations than this raise a 存储策略未满足 alert.
PRESERVATION_MIN_COPIES = int(os.environ.get("LANTAI_PRESERVATION_MIN_COPIES", "2"))
# Fixity audit: every file on every replica is re-verified at least once per cycle, in batches.
AUDIT_CYCLE_DAYS = int(os.environ.get("LANTAI_AUDIT_CYCLE_DAYS", "90"))
AUDIT_BATCH_FILES = int(os.environ.get("LANTAI_AUDIT_BATCH_FILES", "2000"))
AUDIT_MAX_MB_PER_S = float(os.environ.get("LANTAI_AUDIT_MAX_MB_PER_S", "0"))  # 0 = no I/O cap
# Records gathered into one package when they come without a transfer (Excel import, 单件著录).
PACKAGE_MAX_RECORDS = int(os.environ.get("LANTAI_PACKAGE_MAX_RECORDS", "5000"))
# 长期保存 checks (DA/T 70): packages checked per daily run, longest unchecked first.
LONGTERM_SAMPLE = int(os.environ.get("LANTAI_LONGTERM_SAMPLE", "20"))
STORAGE_LOW_SPACE_BYTES = int(os.environ.get("LANTAI_STORAGE_LOW_SPACE_BYTES", str(10 * 1024**3)))

# 用: search. The index is derived from the catalogue (`lantai search reindex` rebuilds it).
# tantivy (embedded default: an index directory) | postgresql (scale-out: tables in PostgreSQL).
SEARCH_BACKEND = os.environ.get("LANTAI_SEARCH_BACKEND", "tantivy").strip().lower()
SEARCH_INDEX_DIR = Path(
    os.environ.get("LANTAI_SEARCH_INDEX_DIR", str(DATA_DIR / "search" / "index"))
).resolve()
# The PostgreSQL backend's database; when unset, the catalogue's own database (which must then
# be PostgreSQL), reached with the same connection settings as Django's.
SEARCH_DATABASE_URL = os.environ.get("LANTAI_SEARCH_DATABASE_URL", "")
SEARCH_TABLE_PREFIX = os.environ.get("LANTAI_SEARCH_TABLE_PREFIX", "lantai_search")
# Full text extracted from electronic files, cached by the file's SM3 (reindexing never
# re-extracts), with bounds on what one file may cost.
SEARCH_TEXT_CACHE_DIR = Path(
    os.environ.get("LANTAI_SEARCH_TEXT_CACHE_DIR", str(DATA_DIR / "search" / "text"))
).resolve()
SEARCH_TEXT_MAX_FILE_BYTES = int(
    os.environ.get("LANTAI_SEARCH_TEXT_MAX_FILE_BYTES", str(512 * 1024**2))
)
SEARCH_TEXT_MAX_CHARS = int(os.environ.get("LANTAI_SEARCH_TEXT_MAX_CHARS", "1000000"))
SEARCH_TEXT_TIMEOUT_S = float(os.environ.get("LANTAI_SEARCH_TEXT_TIMEOUT_S", "120"))
# Minutes between the catch-up runs that index what the incremental jobs missed.
SEARCH_CATCH_UP_MINUTES = int(os.environ.get("LANTAI_SEARCH_CATCH_UP_MINUTES", "5"))
# PostgreSQL backend: rebuild at night when this share of the rows changed since the last rebuild
SEARCH_REBUILD_UNMAPPED_SHARE = float(
    os.environ.get("LANTAI_SEARCH_REBUILD_UNMAPPED_SHARE", "0.02")
)

# 用: the public portal (公众查档). Token buckets per client IP, "N/period" with period s, min, h
# or d (e.g. "60/min", "5/10min"); a request over the limit gets 429 with Retry-After.
PUBLIC_RATE = os.environ.get("LANTAI_PUBLIC_RATE", "60/min")  # pages
PUBLIC_SEARCH_RATE = os.environ.get("LANTAI_PUBLIC_SEARCH_RATE", "20/min")
PUBLIC_SUGGEST_RATE = os.environ.get("LANTAI_PUBLIC_SUGGEST_RATE", "120/min")  # autocomplete
PUBLIC_CONTENT_RATE = os.environ.get("LANTAI_PUBLIC_CONTENT_RATE", "120/min")  # images, PDFs
# IIIF tiles: a zooming viewer asks for dozens at a time
PUBLIC_TILE_RATE = os.environ.get("LANTAI_PUBLIC_TILE_RATE", "1200/min")
PUBLIC_FORM_RATE = os.environ.get("LANTAI_PUBLIC_FORM_RATE", "5/10min")  # 查档申请, status checks
# A 查档申请 submitted sooner than this after the form was served is taken for a bot.
PUBLIC_FORM_MIN_SECONDS = float(os.environ.get("LANTAI_PUBLIC_FORM_MIN_SECONDS", "3"))
if os.environ.get("LANTAI_PUBLIC_CLIENT_IP_HEADER", "").strip():
    raise ImproperlyConfigured(
        "LANTAI_PUBLIC_CLIENT_IP_HEADER is replaced by LANTAI_TRUSTED_PROXIES: list the reverse "
        "proxies' addresses (e.g. 10.0.0.1,10.0.0.0/24) and unset LANTAI_PUBLIC_CLIENT_IP_HEADER"
    )
# Watermarked page images: longest side in pixels (originals are never served).
PUBLIC_IMAGE_MAX_PX = int(os.environ.get("LANTAI_PUBLIC_IMAGE_MAX_PX", "2400"))
# Public page images above this many pixels, and images or PDFs above this many bytes, are
# watermarked by a queued job behind a placeholder, never inside a web request.
PUBLIC_DELIVERY_INLINE_PIXELS = int(
    os.environ.get("LANTAI_PUBLIC_DELIVERY_INLINE_PIXELS", "25000000")
)
PUBLIC_DELIVERY_INLINE_BYTES = int(
    os.environ.get("LANTAI_PUBLIC_DELIVERY_INLINE_BYTES", "20000000")
)
# One-person reading room: whoever accepts (受理) a request may also approve (审批) it; each such
# approval is written to the audit log. Off: separation of duties.
ACCESS_SINGLE_PERSON = _env_bool("LANTAI_ACCESS_SINGLE_PERSON", False)
