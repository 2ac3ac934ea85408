#!/usr/bin/env bash
# CI step: the air-gapped install works. Builds an offline bundle for Python 3.12 (scripts/bundle.sh),
# installs it into a new venv with the network cut off (`unshare --net`, as root; otherwise only
# pip's --no-index, and it says so), then runs `lantai --help`, `lantai init` on a fresh data
# directory and an SM3 smoke (the lanes built, GB/T 32905's example) in the same network-less
# namespace, and compares what is installed with requirements/runtime.lock (no test packages).
# Python: $LANTAI_BUNDLE_PYTHON, else python3.12 on PATH, else pyenv's 3.12. Slow when pip's cache
# (~/.cache/pip) is cold: ~300 MB of wheels. Exit code: 0 all checks passed, 1 a check failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
say() { printf '[offline-bundle] %s\n' "$*"; }
die() { printf '[offline-bundle] FAILED: %s\n' "$*" >&2; exit 1; }

PY="${LANTAI_BUNDLE_PYTHON:-}"
if [ -z "$PY" ]; then  # a pyenv shim on PATH may name a version that is not selected: try it
  for cand in /usr/bin/python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 "$(command -v python3.12 || true)"; do
    if [ -x "$cand" ] && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      PY="$cand"
      break
    fi
  done
fi
[ -n "$PY" ] && [ -x "$PY" ] || die "no Python 3.12 found (set LANTAI_BUNDLE_PYTHON)"

tmp="$(mktemp -d -t lantai-offline-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
scripts/bundle.sh "$tmp/bundle" --python "$PY" || die "scripts/bundle.sh"
t_bundle=$((SECONDS - t0))

NET=(unshare --net --)
if [ "$(id -u)" -ne 0 ]; then
  NET=()
  say "not root: the network stays on; the install reads only the bundle (pip --no-index)"
fi

# Everything below runs with no network interface but loopback's (down).
t1=$SECONDS
"${NET[@]}" env -i PATH=/usr/bin:/bin HOME="$tmp" LANG=C.UTF-8 \
  TMP="$tmp" BUNDLE="$tmp/bundle" VENV="$tmp/venv" PY="$PY" LOCK="$ROOT/requirements/runtime.lock" \
  bash -euo pipefail -c '
  if [ -r /proc/net/route ] && [ "$(wc -l </proc/net/route)" -gt 1 ]; then
    echo "[offline-bundle] network: routes present (not isolated)"
  else
    echo "[offline-bundle] network: none (no routes)"
  fi
  "$BUNDLE/install.sh" "$VENV" --python "$PY"
  "$VENV/bin/lantai" --help >/dev/null
  LANTAI_DATA_DIR="$TMP/data" LANTAI_SECRET_KEY=offline-bundle "$VENV/bin/lantai" init
  test -f "$TMP/data/lantai.sqlite3" || { echo "lantai init made no database" >&2; exit 1; }
  "$VENV/bin/python" - "$LOCK" <<"EOF"
import importlib.metadata as md, re, sys
from packaging.requirements import Requirement
from lantai.core import sm3

# SM3: the lanes are built (gcc here) and agree with GB/T 32905 and the library SM3
assert sm3.backend() == "lanes", sm3.backend_details()
abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
msgs = [b"abc", b"", b"x" * 64, b"y" * 1_000_000]
assert sm3.sm3_many(msgs) == [sm3.sm3_hex(m) for m in msgs] and sm3.sm3_many(msgs)[0] == abc
print(f"[offline-bundle] SM3: {sm3.backend_details()}, GB/T 32905 example ok")

norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
locked = {}
for line in open(sys.argv[1]):
    if line[:1].isalnum():
        req = Requirement(line.split(" \\")[0].strip())
        if req.marker is None or req.marker.evaluate():
            locked[norm(req.name)] = str(req.specifier).removeprefix("==")
have = {norm(d.metadata["Name"]): d.version for d in md.distributions()}
extra = sorted(set(have) - set(locked) - {"lantai", "pip"})
missing = sorted(n for n in locked if n not in have)
other = sorted(f"{n} {have[n]}!={v}" for n, v in locked.items() if n in have and have[n] != v)
test_tools = sorted({"pytest", "pytest-django", "playwright", "moto", "ruff", "mypy", "django-stubs",
                     "aiosmtpd", "pygfried", "ocfl-py", "sickle", "iiif", "boto3-stubs"} & set(have))
py = ".".join(map(str, sys.version_info[:3]))
print(f"[offline-bundle] Python {py}: {len(have)} installed, {len(locked)} in runtime.lock for it; "
      f"extra {extra or 0}, missing {missing or 0}, other versions {other or 0}, test tools {test_tools or 0}")
if extra or missing or other or test_tools:
    sys.exit(1)
EOF
' || die "install or checks in the network-less namespace"
t_install=$((SECONDS - t1))
wheels="$(find "$tmp/bundle/wheels" -name '*.whl' | wc -l)"
say "ok: $wheels wheels, $(du -sh "$tmp/bundle" | cut -f1), $("$PY" -V 2>&1); bundle ${t_bundle}s, offline install and checks ${t_install}s"
