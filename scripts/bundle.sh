#!/usr/bin/env bash
# Build an offline install bundle of Lantai for air-gapped sites (and for scripts/setup.sh --production).
#   scripts/bundle.sh OUT [--python /path/to/python3.X]
# OUT (new or empty folder) receives:
#   wheels/          every runtime wheel for that Python and this machine's CPU (x86_64 or aarch64),
#                    downloaded with requirements/runtime.lock and --require-hashes (the few pure-Python
#                    packages PyPI has only as source are built into wheels here), and the lantai wheel
#                    built for that Python: the SM3 lanes extension compiled, the translations (.mo)
#                    compiled, the OpenSeadragon viewer files inside
#   build-wheels/    setuptools, wheel, pip from requirements/build.lock (to rebuild lantai offline)
#   requirements/    the locks, and bundle.txt: every wheel in wheels/ pinned with its SHA-256
#   install.sh       installs into a new venv with --no-index --find-links wheels --require-hashes
#   MANIFEST.sha256, MANIFEST.sm3   the digest of every file (sha256sum -c / openssl dgst -sm3)
#   manifest.json    python, platform, lantai version, wheel count, whether the SM3 lanes are built
# Needs (the development setup, scripts/setup.sh, provides them): the target Python with its headers,
# gcc, msgfmt (gettext), openssl, the viewer files from npm (src/lantai/web/static/vendor/openseadragon),
# and PyPI (pip's cache makes a second run fast). Exit codes: 0 built, 1 failed, 2 bad arguments.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[bundle] %s\n' "$*"; }
die() { printf '[bundle] error: %s\n' "$*" >&2; exit "${2:-1}"; }

OUT=""
PY=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --python) PY="${2:-}"; shift ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) die "未知参数 unknown argument: $1" 2 ;;
    *) [ -z "$OUT" ] || die "只能有一个输出目录 only one output folder: $1" 2; OUT="$1" ;;
  esac
  shift
done
[ -n "$OUT" ] || die "缺少输出目录 missing output folder: scripts/bundle.sh OUT [--python PY]" 2
PY="${PY:-$(command -v python3.11 || command -v python3)}"
[ -x "$PY" ] || die "找不到 Python interpreter not found: $PY" 2
pyver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
case "$pyver" in
  3.11 | 3.12 | 3.13) ;;
  *) die "需要 Python 3.11–3.13 need Python 3.11-3.13, found $pyver at $PY" 2 ;;
esac
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then die "输出目录不为空 output folder is not empty: $OUT" 2; fi
VIEWER="$ROOT/src/lantai/web/static/vendor/openseadragon/openseadragon.min.js"
[ -f "$VIEWER" ] || die "缺少看图器文件 viewer files missing: $VIEWER (run scripts/setup.sh: npm)"
command -v msgfmt >/dev/null || die "缺少 msgfmt (gettext) msgfmt not found: apt-get install gettext"
openssl dgst -sm3 /dev/null >/dev/null 2>&1 || die "openssl 不支持 SM3 openssl without SM3"

t0=$SECONDS
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
work="$(mktemp -d -t lantai-bundle-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT/wheels" "$OUT/build-wheels" "$OUT/requirements"
cp "$ROOT"/requirements/{runtime,test,build}.lock "$ROOT/requirements/build.in" "$OUT/requirements/"

# A venv of the target Python with the locked build tools; `pip --isolated` ignores this machine's
# pip configuration (extra indexes): only PyPI, only what the hashes allow.
say "build venv: $("$PY" -V 2>&1) ($PY)"
"$PY" -m venv "$work/venv"
PIP=("$work/venv/bin/python" -m pip --isolated --disable-pip-version-check -q)
"${PIP[@]}" install --require-hashes -r "$ROOT/requirements/build.lock"
"${PIP[@]}" download --require-hashes --no-deps -d "$OUT/build-wheels" -r "$ROOT/requirements/build.lock"

# The runtime wheels (downloaded; source-only packages built with the locked setuptools).
say "runtime wheels from requirements/runtime.lock"
"${PIP[@]}" wheel --require-hashes --no-build-isolation -w "$OUT/wheels" -r "$ROOT/requirements/runtime.lock"

# lantai itself, from a clean copy of the sources (no build/ in the repo, no stale .so or caches),
# with the translations compiled here so that the server needs no gettext.
say "lantai wheel (SM3 lanes, translations, viewer)"
mkdir -p "$work/src"
cp "$ROOT/pyproject.toml" "$ROOT/setup.py" "$ROOT/README.md" "$work/src/"
(cd "$ROOT" && tar -cf - --exclude=__pycache__ --exclude='*.so' --exclude='*.egg-info' --exclude='*.pyc' src) \
  | tar -xf - -C "$work/src"
mo=0
while IFS= read -r -d '' po; do
  msgfmt --check-format -o "${po%.po}.mo" "$po"
  mo=$((mo + 1))
done < <(find "$work/src/src/lantai" -name '*.po' -path '*/LC_MESSAGES/*' -print0)
"${PIP[@]}" wheel --no-deps --no-build-isolation -w "$OUT/wheels" "$work/src"

lantai_wheel="$(ls "$OUT"/wheels/lantai-*.whl)"
sm3_lanes="$("$work/venv/bin/python" - "$lantai_wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
missing = [w for w, ok in (
    ("translations (.mo)", any(n.endswith("LC_MESSAGES/django.mo") for n in names)),
    ("viewer", any(n.endswith("vendor/openseadragon/openseadragon.min.js") for n in names)),
) if not ok]
if missing or any(n.startswith("tests/") for n in names):
    sys.exit(f"[bundle] error: the lantai wheel lacks {missing} or carries tests")
print("true" if any("core/_sm3lanes" in n and n.endswith(".so") for n in names) else "false")
EOF
)"
if [ "$sm3_lanes" != "true" ]; then
  say "WARNING: SM3 lanes extension not built (no C compiler or Python headers for $pyver?): installs use the library SM3"
fi

# bundle.txt: every wheel pinned with the hash of the file in the bundle (the downloaded ones equal
# the lock's hashes; the ones built here have their own).
"$work/venv/bin/python" - "$OUT" <<'EOF'
import hashlib, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
lines = ["# Every wheel of this bundle, pinned and hashed (scripts/bundle.sh); install.sh uses it.\n"]
for whl in sorted((out / "wheels").glob("*.whl")):
    name, version = whl.name.split("-")[:2]
    digest = hashlib.sha256(whl.read_bytes()).hexdigest()
    lines.append(f"{re.sub(r'[-_.]+', '-', name).lower()}=={version} --hash=sha256:{digest}\n")
(out / "requirements" / "bundle.txt").write_text("".join(lines))
EOF

sed -e "s|@PYVER@|$pyver|" "$ROOT/scripts/bundle-install.sh" >"$OUT/install.sh"
chmod 755 "$OUT/install.sh"

wheels="$(find "$OUT/wheels" -name '*.whl' | wc -l)"
"$work/venv/bin/python" - "$OUT" "$pyver" "$wheels" "$sm3_lanes" "$mo" "$(basename "$lantai_wheel")" <<'EOF'
import json, platform, sys, time
out, pyver, wheels, lanes, mo, lantai = sys.argv[1:]
json.dump({
    "lantai_wheel": lantai, "python": pyver, "machine": platform.machine(),
    "libc": "-".join(platform.libc_ver()), "wheels": int(wheels), "sm3_lanes": lanes == "true",
    "translations": int(mo), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
}, open(f"{out}/manifest.json", "w"), indent=2)
EOF

# Digests of every file (relative paths; the manifests themselves excluded).
(
  cd "$OUT"
  find . -type f ! -name 'MANIFEST.*' -printf '%P\n' | LC_ALL=C sort >"$work/files"
  xargs -d '\n' sha256sum -- <"$work/files" >MANIFEST.sha256
  xargs -d '\n' openssl dgst -sm3 -r -- <"$work/files" | sed 's/ \*/  /' >MANIFEST.sm3
)
size="$(du -sh "$OUT" | cut -f1)"
say "built $OUT in $((SECONDS - t0))s: $wheels wheels for CPython $pyver $(uname -m), $size, SM3 lanes: $sm3_lanes, $mo translation(s); $(basename "$lantai_wheel")"
