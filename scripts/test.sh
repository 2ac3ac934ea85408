#!/usr/bin/env bash
# The whole check, exactly as CI runs it: setup, ruff, mypy, pytest on SQLite and on PostgreSQL.
# Extra arguments go to both pytest runs, e.g. `scripts/test.sh -k harness -x`.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/setup.sh || { echo "[test] setup failed" >&2; exit 1; }

PG_URL="postgresql://postgres@127.0.0.1:5432/lantai_test_ci"
BIN="$ROOT/.venv/bin"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

results=()
failed=0
step() {  # step NAME CMD...: run, time and record one step
  local name="$1" t0=$SECONDS rc
  shift
  printf '\n[test] == %s ==\n' "$name"
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    results+=("$name: ok ($((SECONDS - t0))s)")
  else
    results+=("$name: FAILED rc=$rc ($((SECONDS - t0))s)")
    failed=1
  fi
  return 0
}

# mypy: lantai.standards plus every app's services.py (and the catalogue's service modules split
# out of it: components, thematic), the audit log, the ingest, preservation and search modules.
# (mypy takes either packages/modules or files, so files are passed as module names.)
run_mypy() {
  local args=() f m
  [ -d src/lantai/standards ] && args+=(-p lantai.standards)
  for f in src/lantai/*/services.py src/lantai/catalog/components.py src/lantai/catalog/thematic.py \
    src/lantai/core/audit.py src/lantai/core/accounts.py \
    src/lantai/catalog/importing.py src/lantai/catalog/row_stream.py src/lantai/catalog/validation.py \
    src/lantai/ingest/pipeline.py src/lantai/ingest/unpack.py src/lantai/ingest/deflate64.py src/lantai/ingest/fixity.py \
    src/lantai/formats/{identify,fido_index,stage,checks,policy,pool,siegfried}.py src/lantai/ingest/virus.py src/lantai/ingest/metadata_checks.py \
    src/lantai/ingest/package_checks.py src/lantai/ingest/uploads.py src/lantai/ingest/memo.py \
    src/lantai/ingest/summaries.py src/lantai/ingest/receipt.py \
    src/lantai/preservation/{storage,s3,ocfl,ocfl_check,premis,record_xml,locations,replication,audit}.py \
    src/lantai/preservation/{packaging,events,leases,deletion,rebuild,verification,longterm}.py \
    src/lantai/search/{query,backend,backends,tantivy_backend,postgres_backend,pg_query,pg_bitmaps,documents,text,snippets}.py \
    src/lantai/digitization/{layout,reading,recordings,av,ocr,ocr_outputs,page_images,image_checks,file_facts}.py \
    src/lantai/review/{publishing,exchange,screening,texts,lexicons,classifier_store,classifier,evaluation,ner,redaction}.py \
    src/lantai/marriage/{identity,records,importing,finding,certify,rules}.py \
    src/lantai/certificates/{keys,lists,issuing,revocation,verifying,document,qr,seal,x509}.py \
    src/lantai/platform/{transport,log,members,peers,anchors,remote,sealing,regional,feeds,sla,trust,window}.py \
    src/lantai/platform/{harvest_marriage,harvest_catalogue,harvesting,health,hub_index,hub_search,views,views_window,views_ops,staff_urls,views_hub}.py \
    src/lantai/interop/{oai,publishing,ead,views,cli,models,iiif,iiif_views}.py \
    src/lantai/access/{iiif,iiif_views,record_pages,delivery}.py src/lantai/catalog/public.py src/lantai/core/ratelimit.py \
    src/lantai/exhibits/{databases,database_browse,conservation,sharing,exhibitions,exhibition_checks,exhibition_render,exhibition_forms,export,cli,iiif_collections}.py \
    src/lantai/exhibits/{views_databases,views_public_databases,views_exhibitions,views_public_exhibitions}.py \
    src/lantai/web/templatetags/lantai_viewer.py src/lantai/cli_bench.py \
    src/lantai/stats/cli.py src/lantai/core/figures.py src/lantai/holdings/{models,cli}.py \
    src/lantai/holdings/{documents,views,tasks,donor_restrictions,received}.py src/lantai/catalog/holds.py \
    src/lantai/stacks/{importing,cli,views,charts,demo,models,censuses,climate,lending}.py src/lantai/appraisal/{views,cli,models,demo,disposals}.py \
    src/lantai/ingest/{quality,quality_models,quality_views,warning,warning_tasks}.py \
    src/lantai/stats/{counters,views,export,charts}.py src/lantai/exhibits/figures.py \
    src/lantai/catalog/open_copies.py src/lantai/core/signing.py src/lantai/core/key_files.py \
    src/lantai/ops/{health,metrics,logs,request_ids,alerts,watch_cli,models,tasks}.py src/lantai/core/telemetry.py \
    src/lantai/ops/{backup,restore,move,backup_manifest,backup_cli,run_lock}.py src/lantai/core/sm3.py src/lantai/static_files.py \
    src/lantai/core/{two_factor,password_history,api_auth,login_guard,models,cli}.py src/lantai/web/views/auth.py src/lantai/api.py \
    src/lantai/ingest/cli.py src/lantai/cli_common.py; do
    [ -f "$f" ] || continue
    m="${f#src/}"
    m="${m%.py}"
    args+=(-m "${m//\//.}")
  done
  if [ "${#args[@]}" -eq 0 ]; then
    echo "nothing to type-check yet"
    return 0
  fi
  # The django-stubs plugin, where configured, imports the settings: keep their data dir out of ./
  local data rc
  data="$(mktemp -d -t lantai-mypy-XXXXXX)"
  MYPYPATH="$ROOT/src" LANTAI_DATA_DIR="$data" LANTAI_SECRET_KEY=typecheck "$BIN/mypy" "${args[@]}"
  rc=$?
  rm -rf "$data"
  return "$rc"
}

# pytest's one-line reasons (`-ra`: "FAILED test - reason") of every run, repeated after the summary
# so that the end of the output names each failure and why.
failure_lines="$(mktemp -t lantai-test-failures-XXXXXX.txt)"

# One pytest run with its own data directory; exit code 5 (no tests collected) is a failure.
run_pytest() {
  local database_url="$1" data out rc
  shift
  data="$(mktemp -d -t lantai-test-XXXXXX)"
  out="$(mktemp -t lantai-pytest-XXXXXX.log)"
  if [ -n "$database_url" ]; then
    # on PostgreSQL only the tests that use Django's database: the others do not depend on the
    # catalogue's engine and ran in the SQLite run (tests/conftest.py, LANTAI_TESTS_DATABASE_ONLY)
    env LANTAI_DATABASE_URL="$database_url" LANTAI_DATA_DIR="$data" LANTAI_TESTS_DATABASE_ONLY=1 \
      LANTAI_SECRET_KEY=test-secret LANTAI_JOBS_IMMEDIATE=1 COLUMNS=250 "$BIN/pytest" -q --durations=40 --durations-min=8 "$@" 2>&1 | tee "$out"
  else
    env -u LANTAI_DATABASE_URL LANTAI_DATA_DIR="$data" \
      LANTAI_SECRET_KEY=test-secret LANTAI_JOBS_IMMEDIATE=1 COLUMNS=250 "$BIN/pytest" -q --durations=40 --durations-min=8 "$@" 2>&1 | tee "$out"
  fi
  rc=${PIPESTATUS[0]}
  grep -E '^(FAILED|ERROR) ' "$out" | cut -c1-600 >>"$failure_lines"
  rm -rf "$data" "$out"
  [ "$rc" -eq 5 ] && echo "[test] pytest collected no tests"
  return "$rc"
}

ensure_postgres() {
  command -v pg_isready >/dev/null || { echo "[test] pg_isready not found" >&2; return 1; }
  if ! pg_isready -q -h 127.0.0.1; then
    echo "[test] starting PostgreSQL"
    # shellcheck disable=SC2046
    $SUDO pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start || return 1
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && return 0; sleep 1; done
    echo "[test] PostgreSQL did not come up on 127.0.0.1:5432" >&2
    return 1
  fi
}

# Redis on 127.0.0.1:6379 for the scale-out tests (tests/scaleout, the Redis state stores): started when
# it does not answer (a fresh machine where the package was only just installed).
ensure_redis() {
  command -v redis-cli >/dev/null || { echo "[test] redis-cli not found (scripts/setup.sh installs redis-server)" >&2; return 1; }
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
  echo "[test] starting Redis"
  $SUDO service redis-server start >/dev/null 2>&1 \
    || redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null || return 1
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 1; done
  echo "[test] Redis did not come up on 127.0.0.1:6379" >&2
  return 1
}

# Paths whose SQLite-run tests run in the second lane, after the PostgreSQL run, instead of in the
# first (see below), so that both lanes take about as long. Measured on this 2-core machine (CPU
# seconds, pytest and its subprocesses and PostgreSQL's server): the SQLite run ~1,250 s, of which
# tests/search ~150 s; mypy with the PostgreSQL run ~900 s. Move a directory when the lanes drift
# apart (compare the two "pytest sqlite" times of the summary with "pytest postgresql").
SQLITE_LANE2_PATHS=(tests/search tests/platform tests/exhibits)

# mypy, the PostgreSQL run and (without path arguments) the SQLite run's tests under
# SQLITE_LANE2_PATHS: the second lane, in the background, beside the first (the rest of the SQLite
# run). One pytest run keeps about one core busy (its CPU time, servers included, is about its wall
# time), so one after the other left the second core idle; side by side they use both. The two
# runs share nothing: each has its own data directory, database (an in-memory SQLite one, the test
# database of PG_URL), ports (free ones) and clamd; the PostgreSQL databases and Redis databases
# that some tests use by a fixed name are used by the SQLite run alone (the scale-out tests, the
# Redis stores) or by unique tables (the search backends).
lane2() {  # lane2 PG_READY SPLIT PYTEST_ARGS...: prints its steps' summary lines to fd 3
  local pg_ready="$1" split="$2"
  shift 2
  results=()  # this subshell's own steps only
  step "mypy" run_mypy
  if [ "$pg_ready" -eq 1 ]; then
    step "pytest postgresql" run_pytest "$PG_URL" "$@"
  else
    results+=("pytest postgresql: FAILED (PostgreSQL not available)")
  fi
  if [ "$split" -eq 1 ]; then
    step "pytest sqlite (${SQLITE_LANE2_PATHS[*]})" run_pytest "" "$@" "${SQLITE_LANE2_PATHS[@]}"
    # the operator guide's first chapter on this machine: an offline bundle for Python 3.12 installed
    # with the network cut off, the systemd units' commands, nginx with TLS, probes, alerts, backups
    step "walkthrough (operator guide, chapter 1)" scripts/ci/walkthrough.sh
  fi
  printf '%s\n' "${results[@]}" >&3
}

# Every model change has its migration (a missing one would reach operators as a broken upgrade).
check_migrations() {
  local data rc
  data="$(mktemp -d -t lantai-migrations-XXXXXX)"
  env -u LANTAI_DATABASE_URL LANTAI_DATA_DIR="$data" LANTAI_SECRET_KEY=check \
    "$BIN/python" -m django makemigrations --check --dry-run --settings=lantai.settings
  rc=$?
  rm -rf "$data"
  return "$rc"
}

step "ruff check" "$BIN/ruff" check .
step "makemigrations --check" check_migrations
step "ruff format" "$BIN/ruff" format --check --output-format concise .
step "redis" ensure_redis
pg_ready=0
ensure_postgres && pg_ready=1  # the SQLite run's scale-out tests need PostgreSQL too

# The SQLite run is split only for the whole check (CI): with arguments (`-k harness`, `tests/web`)
# one part could collect no test, which would count as a failure.
split=0
lane1_args=()
if [ "$#" -eq 0 ] && [ "${#SQLITE_LANE2_PATHS[@]}" -gt 0 ]; then
  split=1
  for p in "${SQLITE_LANE2_PATHS[@]}"; do lane1_args+=("--ignore=$p"); done
fi

lane2_log="$(mktemp -t lantai-test-lane2-XXXXXX.log)"
lane2_results="$(mktemp -t lantai-test-lane2-XXXXXX.txt)"
printf '\n[test] == in the background: mypy, pytest postgresql%s (output after the SQLite run) ==\n' \
  "$([ "$split" -eq 1 ] && printf ', pytest sqlite %s' "${SQLITE_LANE2_PATHS[*]}")"
set -m  # the second lane in a process group of its own, stopped whole if this script stops early
lane2 "$pg_ready" "$split" "$@" >"$lane2_log" 2>&1 3>"$lane2_results" &
lane2_pid=$!
set +m
trap 'kill -TERM -- "-$lane2_pid" 2>/dev/null; rm -f "$lane2_log" "$lane2_results" "$failure_lines"' EXIT
trap 'exit 130' INT TERM

step "pytest sqlite" run_pytest "" "${lane1_args[@]}" "$@"

printf '\n[test] == the background lane: mypy, pytest postgresql%s ==\n' \
  "$([ "$split" -eq 1 ] && printf ', pytest sqlite %s' "${SQLITE_LANE2_PATHS[*]}")"
tail -n +1 -f --pid="$lane2_pid" "$lane2_log"
wait "$lane2_pid"
lane2_rc=$?
mapfile -t lane2_lines <"$lane2_results"
if [ "${#lane2_lines[@]}" -eq 0 ]; then
  results+=("background lane: FAILED rc=$lane2_rc (no summary)")
  failed=1
fi
for r in "${lane2_lines[@]}"; do
  results+=("$r")
  case "$r" in *FAILED*) failed=1 ;; esac
done

printf '\n[test] summary\n'
for r in "${results[@]}"; do printf '[test]   %s\n' "$r"; done
if [ -s "$failure_lines" ]; then
  printf '[test] failures\n'
  sed 's/^/[test]   /' "$failure_lines"
fi
if [ "$failed" -eq 0 ]; then
  echo "[test] ALL PASSED"
else
  echo "[test] FAILED"
fi
exit "$failed"
