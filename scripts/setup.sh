#!/usr/bin/env bash
# Install what Lantai needs on Debian 12/13 (idempotent, fast when done).
#   scripts/setup.sh                development and CI: everything below, .venv with the test lock
#   scripts/setup.sh --production [--bundle DIR] [--venv PATH] [--static DIR]
#                   a server: only the runtime Debian packages (no browser, compiler, test servers,
#                   node), then the offline bundle DIR (scripts/bundle.sh; built here first when
#                   DIR is not given, which needs this script's development setup) installed into
#                   PATH (default /opt/lantai/venv) with hash checks, static files collected into
#                   DIR (default /var/www/lantai/static). Exit codes: 0 done, 1 failed, 2 bad arguments.
# Development setup:
#   system: gettext (compilemessages), chromium + chromium-driver (browser tests), fonts-noto-cjk,
#           clamav + clamav-daemon (clamd, sigtool; Lantai runs its own clamd under the data directory),
#           clamav-testfiles (harmless samples for the scanner tests), libmagic1 (python-magic),
#           qpdf (PDF structure), ffmpeg (ffprobe for audio/video), pango (WeasyPrint report PDFs),
#           nodejs + npm when no node is present (s3rver, the second S3 server of the storage tests),
#           gcc + python3-dev (the SM3 lanes extension, src/lantai/core/_sm3lanes.c),
#           redis-server (the tests of the scale-out configuration: huey and the state store on Redis),
#           nginx (the documented proxy; tests/deploy run it on a loopback port)
#   python: .venv with python3.11: requirements/build.lock, requirements/test.lock (hashed, pip
#           --require-hashes; scripts/lock.sh refreshes them), then lantai itself `-e` with --no-deps,
#           compiled translations
#   node:   `npm ci` in scripts/s3rver (s3rver 3.7.1, pinned by its package-lock.json)
#           `npm ci` in scripts/viewer (openseadragon 6.1.1, the IIIF zoom viewer), its build copied
#           to src/lantai/web/static/vendor/openseadragon/ (served as Lantai's own static files)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit "${2:-1}"; }
# This machine's pip.conf names local wheel folders that may be absent; drop pip's warnings about them.
quiet_pip() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
t0=$SECONDS

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PRODUCTION=0
BUNDLE=""
PROD_VENV=/opt/lantai/venv
PROD_STATIC=/var/www/lantai/static
while [ "$#" -gt 0 ]; do
  case "$1" in
    --production) PRODUCTION=1 ;;
    --bundle) BUNDLE="${2:?--bundle DIR}"; shift ;;
    --venv) PROD_VENV="${2:?--venv PATH}"; shift ;;
    --static) PROD_STATIC="${2:?--static DIR}"; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "未知参数 unknown argument: $1" 2 ;;
  esac
  shift
done
if [ "$PRODUCTION" -eq 0 ] && [ -n "$BUNDLE" ]; then die "--bundle 只用于 --production (only with --production)" 2; fi

# --- system packages ---------------------------------------------------------------------------
# What a server needs to run Lantai: fonts (reports), clamd and sigtool, libmagic, qpdf, ffmpeg
# (ffprobe), poppler-utils (PDF text and pages), pango (WeasyPrint), pg_dump (backups on
# PostgreSQL), python3-venv, nginx (the documented proxy). No gettext: the bundle carries .mo files.
RUNTIME_APT=(fonts-noto-cjk clamav clamav-daemon libmagic1 qpdf ffmpeg poppler-utils
  libpango-1.0-0 libpangoft2-1.0-0 postgresql-client python3-venv nginx)
if [ "$PRODUCTION" -eq 1 ]; then
  APT_PACKAGES=("${RUNTIME_APT[@]}")
else
  APT_PACKAGES=(gettext chromium chromium-driver fonts-noto-cjk
    clamav clamav-daemon clamav-testfiles libmagic1 qpdf ffmpeg poppler-utils libpango-1.0-0 libpangoft2-1.0-0
    wrk gcc python3-dev redis-server tesseract-ocr tesseract-ocr-chi-sim nginx postgresql-client jq curl openssl)
  # node and npm for s3rver; a node from elsewhere (NodeSource bundles npm) is used as it is.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    APT_PACKAGES+=(nodejs npm)
  fi
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "system packages present: ${APT_PACKAGES[*]}"
else
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the package lists are older than a day (or absent).
  if find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null | grep -q .; then
    say "apt lists are fresh; skipping apt-get update"
  else
    say "apt-get update"
    $SUDO apt-get update -qq
  fi
  say "apt-get install ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

# --- production: the bundle into its own venv, nothing else ---------------------------------------
if [ "$PRODUCTION" -eq 1 ]; then
  if [ -z "$BUNDLE" ]; then
    BUNDLE="$(mktemp -d -t lantai-bundle-XXXXXX)"
    trap 'rm -rf "$BUNDLE"' EXIT
    say "no --bundle: building one here (scripts/bundle.sh)"
    PY3="$(command -v python3.11 || command -v python3)"
    scripts/bundle.sh "$BUNDLE" --python "$PY3"
  fi
  [ -x "$BUNDLE/install.sh" ] || die "不是安装包 not a bundle (no install.sh): $BUNDLE" 2
  STAMP="$PROD_VENV/.lantai-bundle"
  want="$(sha256sum "$BUNDLE/requirements/bundle.txt" | cut -d' ' -f1)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$PROD_VENV/bin/lantai" --version >/dev/null 2>&1; then
    say "$PROD_VENV already has this bundle ($("$PROD_VENV/bin/lantai" --version))"
  else
    [ -e "$PROD_VENV" ] && die "$PROD_VENV 已存在且不是本安装包 exists with another bundle: install into a new --venv and switch (docs/upgrading.md)" 2
    pyver="$(sed -n 's/.*"python": "\([0-9.]*\)".*/\1/p' "$BUNDLE/manifest.json")"
    "$BUNDLE/install.sh" "$PROD_VENV" --python "$(command -v "python$pyver" || echo "python$pyver")" --static "$PROD_STATIC"
    echo "$want" >"$STAMP"
  fi
  say "production install done in $((SECONDS - t0))s: $PROD_VENV, static files in $PROD_STATIC"
  exit 0
fi

# --- virtual environment -----------------------------------------------------------------------
PY="$(command -v python3.11 || command -v python3)"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "[setup] error: need Python 3.11, found $("$PY" -V 2>&1) at $PY" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  say "creating .venv with $("$PY" -V 2>&1)"
  rm -rf .venv
  "$PY" -m venv .venv
  quiet_pip .venv/bin/python -m pip install -q --upgrade pip
fi

# Reinstall only when the packaging or the C extension changed (or the install is broken).
# The locks pin and hash every package (--require-hashes); the build tools come from build.lock,
# so nothing unpinned is fetched for the source-only packages or for lantai itself.
STAMP=.venv/.lantai-installed
want="$(cat pyproject.toml setup.py requirements/build.lock requirements/test.lock src/lantai/core/_sm3lanes.c | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
  && .venv/bin/python -c 'import lantai.core._sm3lanes, django, pytest_django, playwright' 2>/dev/null; then
  say "python packages up to date (.venv)"
else
  PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
  say "pip install --require-hashes -r requirements/build.lock, requirements/test.lock"
  quiet_pip "${PIP[@]}" --require-hashes -r requirements/build.lock
  quiet_pip "${PIP[@]}" --require-hashes --no-build-isolation -r requirements/test.lock
  say "pip install --no-deps -e . (lantai, the SM3 lanes extension)"
  # a new file, never one rewritten in place under processes that have the old one loaded
  rm -f src/lantai/core/_sm3lanes.*.so
  quiet_pip "${PIP[@]}" --no-deps --no-build-isolation -e .
  echo "$want" >"$STAMP"
fi

# --- s3rver (npm), the second S3 implementation the storage tests run against --------------------
S3RVER_DIR=scripts/s3rver
if command -v npm >/dev/null; then
  want_js="$(sha256sum "$S3RVER_DIR/package-lock.json" | cut -d' ' -f1)"
  JS_STAMP="$S3RVER_DIR/node_modules/.lantai-installed"
  if [ -f "$JS_STAMP" ] && [ "$(cat "$JS_STAMP")" = "$want_js" ] \
    && [ -f "$S3RVER_DIR/node_modules/s3rver/bin/s3rver.js" ]; then
    say "s3rver up to date ($S3RVER_DIR/node_modules)"
  else
    say "npm ci ($S3RVER_DIR)"
    (cd "$S3RVER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want_js" >"$JS_STAMP"
  fi
else
  say "npm not found: the s3rver storage tests will be skipped (and fail under CI=true)"
fi

# --- OpenSeadragon (npm), the IIIF zoom viewer, served from Lantai's own static files ------------
VIEWER_DIR=scripts/viewer
VIEWER_BUILD="$VIEWER_DIR/node_modules/openseadragon/build/openseadragon"
VIEWER_STATIC=src/lantai/web/static/vendor/openseadragon
if command -v npm >/dev/null; then
  want_viewer="$(sha256sum "$VIEWER_DIR/package-lock.json" | cut -d' ' -f1)"
  VIEWER_STAMP="$VIEWER_DIR/node_modules/.lantai-installed"
  if [ -f "$VIEWER_STAMP" ] && [ "$(cat "$VIEWER_STAMP")" = "$want_viewer" ] \
    && [ -f "$VIEWER_BUILD/openseadragon.min.js" ]; then
    say "openseadragon up to date ($VIEWER_DIR/node_modules)"
  else
    say "npm ci ($VIEWER_DIR)"
    (cd "$VIEWER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want_viewer" >"$VIEWER_STAMP"
  fi
  # copied each time (0.5 MB), next to it first: it follows the lock, a half copy never shows
  rm -rf "$VIEWER_STATIC.new"
  mkdir -p "$VIEWER_STATIC.new"
  cp "$VIEWER_BUILD/openseadragon.min.js" "$VIEWER_STATIC.new/"
  cp -R "$VIEWER_BUILD/images" "$VIEWER_STATIC.new/"
  rm -rf "$VIEWER_STATIC"
  mv "$VIEWER_STATIC.new" "$VIEWER_STATIC"
  say "openseadragon copied to $VIEWER_STATIC"
else
  say "npm not found: the IIIF zoom viewer is not installed (pages show plain images and say so)"
fi

# --- translations ------------------------------------------------------------------------------
if [ -d src/lantai/locale ]; then
  say "compiling translations"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd src/lantai && LANTAI_DATA_DIR="$tmp" LANTAI_SECRET_KEY=build \
    "$ROOT/.venv/bin/django-admin" compilemessages --settings=lantai.settings -v 0)
else
  say "no src/lantai/locale yet; skipping compilemessages"
fi

say "done in $((SECONDS - t0))s"
