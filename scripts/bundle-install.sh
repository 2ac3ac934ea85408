#!/usr/bin/env bash
# Install Lantai from this offline bundle (made by scripts/bundle.sh) into a new virtual environment.
# No network: pip reads only ./wheels (--no-index --find-links) and checks every wheel's SHA-256
# against requirements/bundle.txt (--require-hashes).
#   ./install.sh VENV [--python /usr/bin/python3.X] [--static DIR]
#     VENV      a new folder, e.g. /opt/lantai/venv (an existing one is refused: install a new
#               release next to the old one and switch over, see the operator guide)
#     --python  the interpreter (default: python@PYVER@ from PATH); must be the bundle's Python
#     --static  collect the static files (hashed names, for nginx) into DIR, e.g. /var/www/lantai/static
# Exit codes: 0 installed and checked, 1 a check or the install failed, 2 bad arguments.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYVER="@PYVER@"
say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] error: %s\n' "$*" >&2; exit "${2:-1}"; }

VENV=""
PY=""
STATIC=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --python) PY="${2:-}"; shift ;;
    --static) STATIC="${2:-}"; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) die "未知参数 unknown argument: $1" 2 ;;
    *) [ -z "$VENV" ] || die "只能有一个目标目录 only one venv folder: $1" 2; VENV="$1" ;;
  esac
  shift
done
[ -n "$VENV" ] || die "缺少目标目录 missing venv folder: ./install.sh VENV [--python PY] [--static DIR]" 2
[ -e "$VENV" ] && die "目标目录已存在 venv folder already exists: $VENV" 2
PY="${PY:-$(command -v "python$PYVER" || true)}"
[ -n "$PY" ] && [ -x "$PY" ] || die "找不到 Python $PYVER interpreter not found (install python$PYVER or pass --python)" 2
got="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[ "$got" = "$PYVER" ] || die "本安装包适用于 Python $PYVER this bundle is for Python $PYVER, $PY is $got" 2
machine="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["machine"])' "$HERE/manifest.json")"
[ "$machine" = "$(uname -m)" ] || die "本安装包适用于 $machine this bundle is for $machine, this machine is $(uname -m)" 2

# 1. the bundle is whole: every file's SHA-256 (coreutils) and SM3 (openssl, where it has SM3)
files="$(wc -l <"$HERE/MANIFEST.sha256")"
(cd "$HERE" && sha256sum --quiet -c MANIFEST.sha256) || die "SHA-256 不符 SHA-256 mismatch in $HERE (MANIFEST.sha256)"
if openssl dgst -sm3 /dev/null >/dev/null 2>&1; then
  (cd "$HERE" && cut -d' ' -f3- MANIFEST.sm3 | xargs -d '\n' openssl dgst -sm3 -r -- | sed 's/ \*/  /' \
    | cmp -s - MANIFEST.sm3) || die "SM3 不符 SM3 mismatch in $HERE (MANIFEST.sm3)"
  say "bundle checked: $files files, SHA-256 and SM3 equal to the manifests"
else
  say "bundle checked: $files files, SHA-256 equal to MANIFEST.sha256 (SM3 not checked: openssl without SM3)"
fi

# 2. the venv, from the bundle's wheels only, every wheel's hash checked
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip --isolated --disable-pip-version-check -q install --no-index \
  --find-links "$HERE/wheels" --only-binary :all: --require-hashes -r "$HERE/requirements/bundle.txt"
"$VENV/bin/python" -m pip --isolated --disable-pip-version-check check >/dev/null \
  || die "依赖不完整 broken dependencies: $VENV/bin/python -m pip check"

# 3. what is installed is the bundle, nothing more (no test tools), and lantai runs
"$VENV/bin/python" - "$HERE/requirements/bundle.txt" <<'EOF'
import importlib.metadata as md, re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
want = {norm(l.split("==")[0]): l.split("==")[1].split()[0]
        for l in open(sys.argv[1]) if "==" in l and not l.startswith("#")}
have = {norm(d.metadata["Name"]): d.version for d in md.distributions()}
extra = sorted(set(have) - set(want) - {"pip"})
wrong = sorted(n for n in want if have.get(n) != want[n])
if extra or wrong:
    sys.exit(f"[install] error: installed packages differ from bundle.txt: extra {extra}, missing/other {wrong}")
print(f"[install] {len(want)} packages installed, equal to requirements/bundle.txt")
EOF
"$VENV/bin/lantai" --help >/dev/null || die "lantai --help 失败 failed"
"$VENV/bin/python" -c 'from lantai.core import sm3; print("[install] SM3:", sm3.backend_details())'

# 4. static files with hashed names for nginx (settings read from a throwaway data dir)
if [ -n "$STATIC" ]; then
  tmp="$(mktemp -d -t lantai-install-XXXXXX)"
  LANTAI_DATA_DIR="$tmp" LANTAI_SECRET_KEY=collectstatic LANTAI_STATIC_ROOT="$STATIC" LANTAI_STATIC_MANIFEST=1 \
    "$VENV/bin/python" -m django collectstatic --noinput -v 0 --settings=lantai.settings
  rm -rf "$tmp"
  say "static files collected into $STATIC ($(find "$STATIC" -type f | wc -l) files)"
fi
say "installed: $VENV ($("$VENV/bin/lantai" --version))"
