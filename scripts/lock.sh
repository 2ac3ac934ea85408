#!/usr/bin/env bash
# Refresh the hashed lock files in requirements/ from pyproject.toml (uv pip compile, universal: one
# lock for Python 3.11-3.13 on x86_64 and aarch64 Linux; pip reads them with --require-hashes).
#   requirements/test.lock     runtime + test dependencies (scripts/setup.sh, CI)
#   requirements/runtime.lock  runtime only (scripts/setup.sh --production, scripts/bundle.sh); every
#                              version in it equals the test lock's (compiled with it as constraints)
#   requirements/build.lock    setuptools, wheel, pip: what building the lantai wheel needs
# Usage: scripts/lock.sh                    keep locked versions, add/drop what pyproject.toml changed
#        scripts/lock.sh --upgrade          newest versions pyproject.toml allows
#        scripts/lock.sh --upgrade-package django [--upgrade-package …]
#        scripts/lock.sh --check            no writing: fail when a lock is stale against pyproject.toml
# After any refresh it checks that every locked version has a wheel for CPython 3.11, 3.12 and 3.13 on
# x86_64 and aarch64 (manylinux, glibc 2.36 = Debian 12), except the pure-Python packages that PyPI
# carries only as source (SDIST_ONLY below; scripts/bundle.sh builds their wheels). Needs PyPI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV="${UV:-$ROOT/.venv/bin/uv}"
[ -x "$UV" ] || UV="$(command -v uv)" || { echo "[lock] uv not found (.venv/bin/uv)" >&2; exit 1; }

# Pure-Python packages without wheels on PyPI (checked: pip wheel builds them anywhere).
SDIST_ONLY=(bagit pyvips pairtree)

check=0
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --upgrade) args+=(--upgrade) ;;
    --upgrade-package) args+=(--upgrade-package "$2"); shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "[lock] unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

tmp="$(mktemp -d -t lantai-lock-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
constraints="$tmp/pins.txt"
out=requirements
if [ "$check" -eq 1 ]; then  # compile copies (the locked versions stay preferred) and compare
  out="$tmp"
  cp requirements/*.lock "$out/"
fi

compile() {  # compile OUTPUT INPUT ARGS...
  local output="$1"
  shift
  "$UV" pip compile -q --universal --generate-hashes --python-version 3.11 \
    --custom-compile-command "scripts/lock.sh" --no-emit-index-url "${args[@]}" -o "$output" "$@"
}

pins() {  # the name==version lines of a lock (markers kept), for use as constraints
  grep -E '^[A-Za-z0-9]' "$1" | sed 's/ *\\$//'
}

compile "$out/test.lock" pyproject.toml --extra test
pins "$out/test.lock" >"$constraints"
compile "$out/runtime.lock" pyproject.toml -c "$constraints"
compile "$out/build.lock" requirements/build.in -c "$constraints"
# the constraints were a temporary file: name their source in the locks' "via" comments
sed -i "s|-c $constraints|-c requirements/test.lock|" "$out/runtime.lock" "$out/build.lock"

if [ "$check" -eq 1 ]; then
  stale=0
  for f in test runtime build; do
    if ! diff -u <(pins "requirements/$f.lock") <(pins "$out/$f.lock"); then
      echo "[lock] requirements/$f.lock is stale: run scripts/lock.sh" >&2
      stale=1
    fi
  done
  [ "$stale" -eq 0 ] && echo "[lock] locks match pyproject.toml ($(pins requirements/test.lock | wc -l) test pins)"
  exit "$stale"
fi

# Every locked version has a wheel for each target (resolution with the lock as constraints and
# building from source refused would fail otherwise).
binary="$(pins requirements/test.lock | sed 's/[ =;].*//' | tr 'A-Z' 'a-z' \
  | grep -v -x -F -f <(printf '%s\n' "${SDIST_ONLY[@]}") | paste -sd,)"
failed=0
for py in 3.11 3.12 3.13; do
  for plat in x86_64-manylinux_2_36 aarch64-manylinux_2_36; do
    if "$UV" pip compile -q --no-header --python-version "$py" --python-platform "$plat" \
      --only-binary "$binary" -c "$constraints" -o /dev/null pyproject.toml --extra test; then
      echo "[lock] wheels for every locked package: CPython $py $plat"
    else
      echo "[lock] error: some locked package has no wheel for CPython $py $plat (see above)" >&2
      failed=1
    fi
  done
done
echo "[lock] $(pins requirements/test.lock | wc -l) test, $(pins requirements/runtime.lock | wc -l) runtime, $(pins requirements/build.lock | wc -l) build pins written; source-only: ${SDIST_ONLY[*]}"
exit "$failed"
