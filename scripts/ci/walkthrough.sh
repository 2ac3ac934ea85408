#!/usr/bin/env bash
# CI step: the operator guide's first chapter ("From a bare Debian server to a running installation",
# docs/operator-guide.md) followed on this machine, step by step (each block below names the guide's
# step). The only departures from the guide:
#   - /opt, /var, /etc paths are folders under one temporary directory ($T/opt/lantai, $T/var/lib/lantai,
#     $T/etc/lantai, …); no `lantai` user is made: every process runs as the user running this script;
#   - loopback ports (free ones) instead of 80, 443 and 8000; a self-signed certificate (openssl);
#   - no systemd (no PID 1 here): each unit's ExecStart is run as written in deploy/systemd/*.service
#     (paths substituted), with its Environment=, EnvironmentFile= and WorkingDirectory= applied;
#     the backup timer's service is started once by hand, as `systemctl start` would;
#   - nginx (Debian's) runs in the foreground with deploy/nginx/lantai.conf (ports, paths substituted)
#     inside a minimal nginx.conf; the error log goes to a temporary file;
#   - SQLite, or PostgreSQL with LANTAI_WALKTHROUGH_DATABASE=postgresql (127.0.0.1:5432, user postgres);
#   - the offline bundle is built here for Python 3.12 (the build machine's step) and installed with the
#     network cut off (`unshare --net`, as root; otherwise pip's --no-index only, and it says so).
# It also checks the offline bundle (manifest verified, the lock's versions,
# no test packages, SM3). Every process and temporary folder is removed on exit, also on failure.
# Python: $LANTAI_BUNDLE_PYTHON, else python3.12 (/usr/bin, pyenv). Exit 0 every check passed; 1 the
# first failed check (named).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SITE=archives.example.gov.cn
say() { printf '[walkthrough] %s\n' "$*"; }
die() { printf '[walkthrough] FAILED: %s\n' "$*" >&2; exit 1; }
SUMMARY=()
ok() { SUMMARY+=("$*"); say "ok: $*"; }
T0=$SECONDS

# --- temporary root, processes, clean-up ---------------------------------------------------------------
T="$(mktemp -d -t lantai-walk-XXXXXX)"
chmod 755 "$T"
PIDS=()
PG_DBS=()
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    for f in "$T"/logs/*.log "$T"/var/log/nginx/*.log; do
      [ -s "$f" ] && { echo "----- $f (last 30 lines)"; tail -n 30 "$f"; }
    done >&2 2>/dev/null || true
  fi
  for db in "${PG_DBS[@]}"; do dropdb -h 127.0.0.1 -U postgres --if-exists "$db" 2>/dev/null || true; done
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$T/logs"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WEB_PORT="$(free_port)" HTTP_PORT="$(free_port)" HTTPS_PORT="$(free_port)" HOOK_PORT="$(free_port)"

# The guide's paths, each replaced by a folder under $T (and the ports by free loopback ones).
OPT="$T/opt/lantai" ETC="$T/etc/lantai" DATA="$T/var/lib/lantai" WWW="$T/var/www/lantai"
BACKUPS="$T/var/backups/lantai" SSL="$T/etc/ssl/lantai" NGINX_LOG="$T/var/log/nginx"
SUBST=(
  -e "s#/opt/lantai#$OPT#g" -e "s#/etc/lantai#$ETC#g" -e "s#/var/lib/lantai#$DATA#g"
  -e "s#/var/www/lantai#$WWW#g" -e "s#/var/backups/lantai#$BACKUPS#g" -e "s#/etc/ssl/lantai#$SSL#g"
  -e "s#/var/log/nginx#$NGINX_LOG#g" -e "s#=/var/tmp#=$T/var/tmp#g"
  -e "s#127\.0\.0\.1:8000#127.0.0.1:$WEB_PORT#g"
)
CURL=(curl -sS --max-time 60 --cacert "$SSL/fullchain.pem" --resolve "$SITE:$HTTPS_PORT:127.0.0.1"
  --resolve "$SITE:$HTTP_PORT:127.0.0.1")
BASE="https://$SITE:$HTTPS_PORT"

# `lantai …` as the guide's wrapper (/usr/local/bin/lantai) runs it: the environment file sourced,
# in the data directory.
lantai_cmd() {
  env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$DATA" LANG=C.UTF-8 ENVFILE="${ENVFILE:-$ETC/lantai.env}" \
    /bin/sh -c 'set -a; . "$ENVFILE"; set +a; cd "$LANTAI_DATA_DIR"; exec "$0" "$@"' "$OPT/venv/bin/lantai" "$@"
}
lantai_manage() {  # python -m django … the same way
  env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$DATA" LANG=C.UTF-8 ENVFILE="$ETC/lantai.env" \
    /bin/sh -c 'set -a; . "$ENVFILE"; set +a; cd "$LANTAI_DATA_DIR"; exec "$0" -m django "$@" --settings=lantai.settings' \
    "$OPT/venv/bin/python" "$@"
}

# A unit's service, as systemd would start it: EnvironmentFile= (parsed as systemd does, overriding
# Environment=), WorkingDirectory=, ExecStart= (systemd's quoting, %% and $VAR/${VAR}).
# Prints NUL-separated: the directory, then KEY=VALUE…, then "--", then the command line.
unit_command() {
  sed "${SUBST[@]}" "$1" | python3 -c '
import os, re, shlex, sys
svc, env, envfile = {}, {}, {}
section = None
for raw in sys.stdin.read().replace("\\\n", " ").splitlines():
    line = raw.strip()
    if not line or line[0] in "#;":
        continue
    if line.startswith("["):
        section = line
        continue
    key, _, value = line.partition("=")
    if section != "[Service]":
        continue
    if key == "Environment":
        for word in shlex.split(value):
            k, _, v = word.partition("=")
            env[k] = v
    elif key == "EnvironmentFile":
        path = value.lstrip("-")
        for l in open(path, encoding="utf-8"):
            l = l.strip()
            if l and l[0] not in "#;" and "=" in l:
                k, _, v = l.partition("=")
                v = v.strip()
                envfile[k.strip()] = shlex.split(v)[0] if v[:1] in "\"\x27" else v
    else:
        svc[key] = value
env.update(envfile)  # systemd: EnvironmentFile= settings override Environment=
def expand(word):
    word = word.replace("%%", "%")
    word = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word)
    return re.sub(r"^\$(\w+)$", lambda m: env.get(m.group(1), ""), word).replace("$$", "$")
argv = [expand(w) for w in shlex.split(svc["ExecStart"].lstrip("-@+!:"))]
out = [svc.get("WorkingDirectory", "/")] + [f"{k}={v}" for k, v in env.items()] + ["--"] + argv
sys.stdout.write("\0".join(out) + "\0")
'
}
run_unit() {  # run_unit UNIT LOG [background]: the unit's ExecStart in its environment
  local parts=() dir envs=() i
  mapfile -d '' parts < <(unit_command "$ROOT/deploy/systemd/$1")
  [ "${#parts[@]}" -gt 2 ] || die "systemd unit $1: no ExecStart parsed"
  dir="${parts[0]}"
  for ((i = 1; i < ${#parts[@]}; i++)); do [ "${parts[$i]}" = "--" ] && break; envs+=("${parts[$i]}"); done
  local cmd=("${parts[@]:$((i + 1))}")
  say "  $1: ExecStart=${cmd[*]}"
  if [ "${3:-}" = background ]; then
    (cd "$dir" && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      HOME="$DATA" "${envs[@]}" "${cmd[@]}") >"$2" 2>&1 &
    PIDS+=($!)
  else
    (cd "$dir" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      HOME="$DATA" "${envs[@]}" "${cmd[@]}") >"$2" 2>"$2.err"
  fi
}
# set_env FILE KEY VALUE: the operator's edit of the environment file (a commented line is replaced)
set_env() {
  if grep -Eq "^#? ?$2=" "$1"; then
    sed -i -E "s#^\#? ?$2=.*#$2=$3#" "$1"
  else
    printf '%s=%s\n' "$2" "$3" >>"$1"
  fi
}
wait_for() {  # wait_for NAME SECONDS PID CMD…: until CMD succeeds, while PID lives
  local name=$1 secs=$2 pid=$3 end=$((SECONDS + $2))
  shift 3
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "$name: the process ended"
    [ "$SECONDS" -lt "$end" ] || die "$name: not ready after ${secs}s"
    sleep 0.3
  done
}

# === Step 1. Prerequisites: Debian 12 or 13, root ======================================================
. /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
  debian:12 | debian:13) ok "1 prerequisites: $PRETTY_NAME, $(uname -m)" ;;
  *) say "1 prerequisites: not Debian 12/13 ($PRETTY_NAME): going on" ;;
esac
NET=(unshare --net --)
if [ "$(id -u)" -ne 0 ]; then
  NET=()
  say "1 not root: the network stays on for the install; it reads only the bundle (pip --no-index)"
fi

# === Step 2. System packages (present here: CI installs them with scripts/setup.sh) ====================
PKGS=(nginx openssl python3-venv fonts-noto-cjk clamav-daemon libmagic1 qpdf ffmpeg poppler-utils libpango-1.0-0)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || die "2 system package missing: $p"
done
command -v pg_dump >/dev/null || die "2 pg_dump missing (postgresql-client)"
ok "2 system packages present: ${PKGS[*]}, $(pg_dump --version | head -n 1); nginx $(/usr/sbin/nginx -v 2>&1 | sed 's#.*/##')"

# === Step 3. The lantai user and the directories (no user made here; modes as the guide) ===============
install -d -m 0755 "$OPT" "$WWW" "$T/var/tmp"
install -d -m 0750 "$DATA" "$ETC"
install -d -m 0700 "$BACKUPS"
install -d -m 0755 "$SSL" "$NGINX_LOG" "$T/etc/nginx/sites-available"

# === Step 4. Install the release from the offline bundle ==============================================
# 4a (build machine): the bundle for the server's Python.
PY="${LANTAI_BUNDLE_PYTHON:-}"
if [ -z "$PY" ]; then  # a pyenv shim on PATH may name a version that is not selected: try it
  for cand in /usr/bin/python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 "$(command -v python3.12 || true)"; do
    if [ -x "$cand" ] && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      PY="$cand"
      break
    fi
  done
fi
[ -n "$PY" ] && [ -x "$PY" ] || die "4 no Python 3.12 found (set LANTAI_BUNDLE_PYTHON)"
t=$SECONDS
BUNDLE="$T/lantai-0.20.0-py312"
scripts/bundle.sh "$BUNDLE" --python "$PY" >"$T/logs/bundle.log" 2>&1 || { cat "$T/logs/bundle.log"; die "4 scripts/bundle.sh"; }
ok "4 bundle built in $((SECONDS - t))s: $(tail -n 1 "$T/logs/bundle.log" | sed 's/^\[bundle\] built [^ ]* in [0-9]*s: //')"

# 4b: a bundle altered after it was made is refused (one file's content changed, hard links elsewhere)
cp -al "$BUNDLE" "$T/altered"
rm "$T/altered/manifest.json" && { cat "$BUNDLE/manifest.json"; echo; } >"$T/altered/manifest.json"
if "${NET[@]}" "$T/altered/install.sh" "$T/altered-venv" --python "$PY" >"$T/logs/altered.log" 2>&1; then
  die "4 install.sh accepted a bundle whose manifest.json differs from MANIFEST.sha256"
fi
grep -q "SHA-256 mismatch" "$T/logs/altered.log" || die "4 install.sh refused the altered bundle without naming the mismatch: $(cat "$T/logs/altered.log")"
rm -rf "$T/altered" "$T/altered-venv"
ok "4 an altered bundle is refused: $(grep -o 'SHA-256 mismatch.*' "$T/logs/altered.log" | sed "s#$T#\$T#")"

# 4c (server, network off): sudo ./install.sh /opt/lantai/venv-0.20.0 --static /var/www/lantai/static
t=$SECONDS
"${NET[@]}" env -i PATH=/usr/bin:/bin HOME="$T" LANG=C.UTF-8 TMPDIR="$T/var/tmp" \
  BUNDLE="$BUNDLE" VENV="$OPT/venv-0.20.0" STATIC="$WWW/static" PY="$PY" LOCK="$ROOT/requirements/runtime.lock" \
  bash -euo pipefail -c '
  if [ -r /proc/net/route ] && [ "$(wc -l </proc/net/route)" -gt 1 ]; then
    echo "[walkthrough] network: routes present (not isolated)"
  else
    echo "[walkthrough] network: none (no routes)"
  fi
  "$BUNDLE/install.sh" "$VENV" --python "$PY" --static "$STATIC"
  "$VENV/bin/python" - "$LOCK" <<"EOF"
import importlib.metadata as md, re, sys
from packaging.requirements import Requirement
from lantai.core import sm3

# SM3: the lanes are built (gcc here) and agree with GB/T 32905 and the library SM3
assert sm3.backend() == "lanes", sm3.backend_details()
abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
msgs = [b"abc", b"", b"x" * 64, b"y" * 1_000_000]
assert sm3.sm3_many(msgs) == [sm3.sm3_hex(m) for m in msgs] and sm3.sm3_many(msgs)[0] == abc
print(f"[walkthrough] SM3: {sm3.backend_details()}, GB/T 32905 example ok")

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
                     "aiosmtpd", "ocfl-py", "sickle", "iiif", "boto3-stubs"} & set(have))
py = ".".join(map(str, sys.version_info[:3]))
print(f"[walkthrough] Python {py}: {len(have)} installed, {len(locked)} in runtime.lock for it; "
      f"extra {extra or 0}, missing {missing or 0}, other versions {other or 0}, test tools {test_tools or 0}")
if extra or missing or other or test_tools:
    sys.exit(1)
EOF
' >"$T/logs/install.log" 2>&1 || { cat "$T/logs/install.log"; die "4 offline install or its checks (network-less namespace)"; }
grep -q "SHA-256 and SM3 equal to the manifests" "$T/logs/install.log" || die "4 install.sh did not check the manifests"
ln -sfn venv-0.20.0 "$OPT/venv"
[ -f "$WWW/static/staticfiles.json" ] || die "4 install.sh --static wrote no staticfiles.json"
"$OPT/venv/bin/lantai" --version | grep -q "0.20.0" || die "4 lantai --version"
ok "4 offline install in $((SECONDS - t))s: $(grep -h '^\[walkthrough\] \(network\|Python\|SM3\)' "$T/logs/install.log" | sed 's/^\[walkthrough\] //' | paste -sd';' -)"
ok "4 $(grep -o 'bundle checked: .*' "$T/logs/install.log"); $(grep -o '[0-9]* packages installed, equal.*' "$T/logs/install.log"); $(grep -o 'static files collected.*' "$T/logs/install.log" | sed "s#$T#\$T#")"
# nothing of the development or test set-up came with it
if find "$OPT/venv/" -path '*/site-packages/tests/*' -print -quit | grep -q .; then die "4 test files in the venv"; fi
if [ -e "$OPT/venv/bin/pytest" ] || [ -e "$OPT/venv/bin/playwright" ]; then die "4 test tools in the venv"; fi

# === Step 5. The environment file ======================================================================
install -m 0640 deploy/lantai.env "$ETC/lantai.env"
sed -i "${SUBST[@]}" "$ETC/lantai.env"
E="$ETC/lantai.env"
set_env "$E" LANTAI_ALLOWED_HOSTS "$SITE"
set_env "$E" LANTAI_CSRF_TRUSTED_ORIGINS "https://$SITE:$HTTPS_PORT"   # the port: a departure
HOOK_SECRET="$(openssl rand -hex 32)"
set_env "$E" LANTAI_ALERT_WEBHOOK_URL "http://127.0.0.1:$HOOK_PORT/lantai"
set_env "$E" LANTAI_ALERT_WEBHOOK_SECRET "$HOOK_SECRET"
for key in LANTAI_DATA_DIR LANTAI_STATIC_ROOT LANTAI_STATIC_MANIFEST LANTAI_TRUSTED_PROXIES LANTAI_BEHIND_TLS_PROXY LANTAI_SECURE_COOKIES; do
  grep -q "^$key=" "$E" || die "5 deploy/lantai.env lacks $key"
done
[ "$(sed -n 's/^LANTAI_DATA_DIR=//p' "$E")" = "$DATA" ] || die "5 LANTAI_DATA_DIR is not the data directory of the units"

# === Step 6. The database: SQLite (default) or PostgreSQL ==============================================
DB="${LANTAI_WALKTHROUGH_DATABASE:-sqlite}"
if [ "$DB" = postgresql ]; then
  PGDB="lantai_walk_$$"
  createdb -h 127.0.0.1 -U postgres -T template0 -E UTF8 "$PGDB" && PG_DBS+=("$PGDB")
  set_env "$E" LANTAI_DATABASE_URL "postgresql://postgres@127.0.0.1:5432/$PGDB"
else
  sed -i '/^LANTAI_DATABASE_URL=/d' "$E"  # SQLite under the data directory
fi
ok "5-6 environment file from deploy/lantai.env: $(grep -c '^LANTAI_' "$E") settings; database $DB"

# === Step 7. Initialise: lantai init, check --deploy, the secret key ===================================
lantai_cmd init >"$T/logs/init.log" 2>&1 || { cat "$T/logs/init.log"; die "7 lantai init"; }
lantai_manage check --deploy --fail-level WARNING >"$T/logs/check.log" 2>&1 || { cat "$T/logs/check.log"; die "7 check --deploy"; }
grep -q "no issues" "$T/logs/check.log" || die "7 check --deploy: $(cat "$T/logs/check.log")"
[ "$(stat -c %a "$DATA/secret_key")" = 600 ] || die "7 $DATA/secret_key is not 0600"
ok "7 lantai init; check --deploy: $(tail -n 1 "$T/logs/check.log"); secret key made, 0600"

# === Step 8. Static files: collected by install.sh --static (step 4); checked in step 11 ===============

# === Step 9. The first administrators =================================================================
PASS="Walk-$(openssl rand -hex 8)-Aa1"
for u in sysadmin:system_admin secadmin:security_admin auditor:audit_admin; do
  lantai_cmd user add "${u%%:*}" --role "${u#*:}" --password "$PASS" >>"$T/logs/users.log" 2>&1 \
    || { cat "$T/logs/users.log"; die "9 lantai user add ${u%%:*}"; }
done
ok "9 three administrators added (system_admin, security_admin, audit_admin)"

# === Step 10. systemd: lantai-web, lantai-worker (lantai-backup.timer: step 14) ========================
run_unit lantai-web.service "$T/logs/web.log" background
WEB_PID=${PIDS[-1]}
run_unit lantai-worker.service "$T/logs/worker.log" background
WORKER_PID=${PIDS[-1]}
wait_for "10 lantai-web (gunicorn on 127.0.0.1:$WEB_PORT)" 90 "$WEB_PID" curl -fsS -H "Host: $SITE" "http://127.0.0.1:$WEB_PORT/healthz"
grep -q "gunicorn" <(tr '\0' ' ' </proc/"$WEB_PID"/cmdline) || die "10 lantai-web did not become gunicorn (pid $WEB_PID)"
ok "10 lantai-web answers /healthz on 127.0.0.1:$WEB_PORT (pid $WEB_PID is gunicorn: $(pgrep -P "$WEB_PID" | wc -l) workers); lantai-worker running (pid $WORKER_PID)"

# === Step 11. nginx with TLS ============================================================================
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$SITE" -addext "subjectAltName=DNS:$SITE" \
  -keyout "$SSL/privkey.pem" -out "$SSL/fullchain.pem" 2>/dev/null
chmod 600 "$SSL/privkey.pem"
CONF="$T/etc/nginx/sites-available/lantai.conf"
cp deploy/nginx/lantai.conf "$CONF"
for pair in "listen 80;|listen 127.0.0.1:$HTTP_PORT;" "listen 443 ssl;|listen 127.0.0.1:$HTTPS_PORT ssl;" \
  "listen [::]:80;|" "listen [::]:443 ssl;|" "server 127.0.0.1:8000;|server 127.0.0.1:$WEB_PORT;"; do
  old="${pair%%|*}"
  grep -qF "$old" "$CONF" || die "11 deploy/nginx/lantai.conf no longer contains '$old'"
  python3 -c 'import sys; p,o,n=sys.argv[1:]; t=open(p).read(); open(p,"w").write(t.replace(o,n))' "$CONF" "$old" "${pair#*|}"
done
sed -i "${SUBST[@]}" "$CONF"
grep -Eq "(^|[ =])/(etc/ssl|var/www|var/log)" "$CONF" && die "11 a path of lantai.conf was not substituted: $(grep -En '(^|[ =])/(etc/ssl|var/www|var/log)' "$CONF")"
{
  [ "$(id -u)" -eq 0 ] && echo "user root;"  # a root master would hand its workers to www-data
  echo "worker_processes 1; pid $T/nginx.pid; error_log $NGINX_LOG/error.log warn;"
  echo "events { worker_connections 64; }"
  echo "http { include /etc/nginx/mime.types; default_type application/octet-stream;"
  for k in client_body proxy fastcgi uwsgi scgi; do echo "  ${k}_temp_path $T/nginx-$k;"; done
  echo "  include $CONF;"
  echo "}"
} >"$T/etc/nginx/nginx.conf"
/usr/sbin/nginx -t -p "$T" -c "$T/etc/nginx/nginx.conf" >"$T/logs/nginx-t.log" 2>&1 || { cat "$T/logs/nginx-t.log"; die "11 nginx -t"; }
/usr/sbin/nginx -p "$T" -c "$T/etc/nginx/nginx.conf" -g "daemon off;" 2>"$T/logs/nginx.log" &
PIDS+=($!)
NGINX_PID=$!
wait_for "11 nginx on 127.0.0.1:$HTTPS_PORT" 30 "$NGINX_PID" "${CURL[@]}" -f "$BASE/healthz"
ok "11 nginx -t clean; nginx serves https on 127.0.0.1:$HTTPS_PORT with deploy/nginx/lantai.conf"

# === Step 12. Check it: /healthz, /readyz, /metrics, static files, the sign-in page ===================
code_loc="$("${CURL[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://$SITE:$HTTP_PORT/public/?q=x")"
[ "$code_loc" = "301 https://$SITE/public/?q=x" ] || die "12 http→https redirect: got '$code_loc'"
ok "12 http://…/public/?q=x → 301 https://$SITE/public/?q=x"

hdrs="$("${CURL[@]}" -D - -o "$T/healthz.json" -w '%{http_code}' "$BASE/healthz")"
[ "${hdrs##*$'\n'}" = 200 ] && jq -e '.status == "ok"' "$T/healthz.json" >/dev/null || die "12 /healthz: $hdrs"
rid="$(grep -i '^x-request-id:' <<<"$hdrs" | tr -d '\r' | cut -d' ' -f2)"
grep -q "id=$rid" "$NGINX_LOG/lantai.access.log" || die "12 nginx's request id $rid not in its access log"
ok "12 /healthz 200 through nginx; request id $rid in nginx's access log and the answer"

# readiness: the worker's heartbeat may take a moment after its start
end=$((SECONDS + 60))
while :; do
  rc="$("${CURL[@]}" -o "$T/readyz.json" -w '%{http_code}' "$BASE/readyz")"
  [ "$rc" = 200 ] && jq -e '.checks[] | select(.name == "worker") | .ok' "$T/readyz.json" >/dev/null && break
  [ "$SECONDS" -lt "$end" ] || die "12 /readyz: HTTP $rc, worker not seen: $(cat "$T/readyz.json")"
  sleep 1
done
jq -e '[.checks[] | select(.required and (.ok | not))] | length == 0' "$T/readyz.json" >/dev/null \
  || die "12 /readyz: a required check failed: $(cat "$T/readyz.json")"
ok "12 /readyz 200 ($(jq -r .status "$T/readyz.json")): $(jq -r '[.checks[] | "\(.name)=\(.state // (if .ok then "ok" else "fail" end))"] | join(", ")' "$T/readyz.json")"

rc="$("${CURL[@]}" -o "$T/metrics.txt" -w '%{http_code}' "$BASE/metrics")"
[ "$rc" = 200 ] || die "12 /metrics from loopback: HTTP $rc"
series="$(grep -c '^lantai_' "$T/metrics.txt" || true)"
[ "$series" -gt 0 ] || die "12 /metrics has no lantai_ series"
# as Prometheus parses it (prometheus-client's parser, from the installed release)
"$OPT/venv/bin/python" - "$T/metrics.txt" <<'EOF' >"$T/logs/scrape.log" || die "12 /metrics does not parse as Prometheus text: $(cat "$T/logs/scrape.log")"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = [f for f in text_string_to_metric_families(open(sys.argv[1]).read()) if f.name.startswith("lantai_")]
names = {f.name for f in fams}
for want in ("lantai_worker_up", "lantai_jobs_queue_depth", "lantai_http_requests"):
    assert want in names, (want, sorted(names))
print(f"{len(fams)} lantai families, e.g. {', '.join(sorted(names)[:4])}")
EOF
rc="$("${CURL[@]}" --interface 127.0.0.5 -o /dev/null -w '%{http_code}' "$BASE/metrics")"
[ "$rc" = 403 ] || die "12 /metrics from 127.0.0.5 (not an allowed network): HTTP $rc, want 403"
ok "12 /metrics 200 from loopback ($series lantai_ samples; Prometheus parser: $(cat "$T/logs/scrape.log")); 403 from 127.0.0.5"

login_hdrs="$("${CURL[@]}" -D - -o "$T/login.html" -c "$T/cookies" "$BASE/login/")"
grep -q '^HTTP/[0-9.]* 200' <<<"$login_hdrs" || die "12 sign-in page: $(head -n 1 <<<"$login_hdrs")"
grep -iq '^set-cookie: csrftoken=.*; secure' <<<"$login_hdrs" || die "12 sign-in page: no Secure csrftoken cookie"
grep -iq '^strict-transport-security: max-age=31536000' <<<"$login_hdrs" || die "12 sign-in page: no HSTS header"
asset="$(grep -oE '/static/[A-Za-z0-9_./-]+\.[0-9a-f]{12}\.(css|js)' "$T/login.html" | head -n 1)"
[ -n "$asset" ] || die "12 the sign-in page names no static file by a hashed name"
shdrs="$("${CURL[@]}" -D - -o /dev/null -H 'Accept-Encoding: gzip' "$BASE$asset")"
grep -q '^HTTP/[0-9.]* 200' <<<"$shdrs" || die "12 $asset: $(head -n 1 <<<"$shdrs")"
grep -iq '^cache-control: public, max-age=31536000, immutable' <<<"$shdrs" || die "12 $asset: no immutable year-long Cache-Control"
grep -iq '^content-encoding: gzip' <<<"$shdrs" || die "12 $asset: not served from its .gz copy"
grep -q "GET /static/" "$T/logs/web.log" && die "12 gunicorn served a static file (nginx should)"
ok "12 sign-in page 200 (Secure cookie, HSTS); $asset 200 from nginx: immutable, 1 year, gzip"

# === Step 9 (continued). The first sign-in of an administrator: second factor enrolled ===============
csrf() { grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' "$1" | head -n 1 | sed 's/.*value="//; s/"$//'; }
post() {  # post PATH FORM… → prints "status location"
  local path=$1 data=() f
  shift
  for f in "$@"; do data+=(--data-urlencode "$f"); done
  "${CURL[@]}" -b "$T/cookies" -c "$T/cookies" -o "$T/page.html" -w '%{http_code} %{redirect_url}' \
    -H "Origin: $BASE" -H "Referer: $BASE$path" "${data[@]}" "$BASE$path"
}
r="$(post /login/ "csrfmiddlewaretoken=$(csrf "$T/login.html")" username=sysadmin "password=$PASS")"
[[ "$r" == "302 $BASE/login/enroll/"* ]] || die "9 sysadmin's sign-in did not lead to 2FA enrollment: $r"
"${CURL[@]}" -b "$T/cookies" -c "$T/cookies" -o "$T/enroll.html" "$BASE/login/enroll/"
secret="$(grep -o 'class="totp-secret">[A-Z2-7]*' "$T/enroll.html" | sed 's/.*>//')"
[ -n "$secret" ] || die "9 the enrollment page shows no secret"
totp="$("$OPT/venv/bin/python" -c 'import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())' "$secret")"
r="$(post /login/enroll/ "csrfmiddlewaretoken=$(csrf "$T/enroll.html")" "code=$totp")"
codes="$(grep -o '<li><code>' "$T/page.html" | wc -l)"
[ "${r%% *}" = 200 ] && [ "$codes" -ge 1 ] || die "9 enrollment with a current TOTP code: $r, $codes recovery codes"
lantai_cmd audit verify --json >"$T/audit.json" || die "9 audit verify: $(cat "$T/audit.json")"
ok "9 sysadmin: password → /login/enroll/ → TOTP code accepted, $codes recovery codes shown; audit chain intact"

# === Step 13. Alerts: the webhook channel tried ========================================================
cat >"$T/hook.py" <<'EOF'
import http.server, json, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode()}) + "\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
EOF
python3 "$T/hook.py" "$HOOK_PORT" "$T/hook.jsonl" 2>"$T/logs/hook.log" &
PIDS+=($!)
wait_for "13 webhook receiver" 10 $! python3 -c "import socket; socket.create_connection(('127.0.0.1', $HOOK_PORT))"
lantai_cmd alerts test --json >"$T/alerts.json" 2>"$T/logs/alerts.log" || die "13 lantai alerts test: $(cat "$T/alerts.json" "$T/logs/alerts.log")"
jq -e . "$T/alerts.json" >/dev/null || die "13 alerts test --json is not JSON"
[ -s "$T/hook.jsonl" ] || die "13 the webhook receiver got nothing"
"$OPT/venv/bin/python" - "$T/hook.jsonl" "$HOOK_SECRET" <<'EOF' >"$T/logs/hook-check.log" || die "13 the webhook's request: $(cat "$T/logs/hook-check.log")"
import hashlib, hmac, json, sys
req = json.loads(open(sys.argv[1]).readline())
h = {k.lower(): v for k, v in req["headers"].items()}
ts, body = h["x-lantai-timestamp"], req["body"].encode()
want = "sha256=" + hmac.new(sys.argv[2].encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
assert hmac.compare_digest(want, h["x-lantai-signature"]), "HMAC signature differs"
payload = json.loads(body)
print(f"POST {req['path']}, signature verified, event={payload.get('event')}, site={payload.get('site')}")
EOF
ok "13 lantai alerts test: exit 0, $(jq -c '.' "$T/alerts.json" | cut -c1-160); receiver: $(cat "$T/logs/hook-check.log")"

# === Step 14. The first backup (lantai-backup.service, as its timer starts it) and a restore drill =====
run_unit lantai-backup.service "$T/backup.json" || die "14 lantai-backup.service: $(cat "$T/backup.json.err")"
BK="$(jq -r .backup "$T/backup.json")"
[ -d "$BK" ] && [[ "$BK" == "$BACKUPS"/* ]] || die "14 the backup is not a folder under $BACKUPS: $BK"
head_seq="$(jq -r .audit_head.seq "$T/backup.json")" head_hash="$(jq -r .audit_head.hash "$T/backup.json")"
ok "14 backup $(basename "$BK"): $(jq -r '"\(.files) files, \(.bytes) bytes, \(.users) users, manifest SM3 \(.manifest_sm3[0:16])…"' "$T/backup.json"), audit head #$head_seq"
lantai_cmd backup verify --json "$BK" >"$T/verify.json" || die "14 backup verify: $(cat "$T/verify.json")"
ok "14 backup verify: $(jq -r '"\(.files_checked) files, \(.bytes_checked) bytes re-hashed"' "$T/verify.json")"

# The drill: a second, empty installation (data directory, database) with the same environment file.
R="$T/restore"
install -d -m 0750 "$R/data"
cp "$E" "$R/lantai.env"
set_env "$R/lantai.env" LANTAI_DATA_DIR "$R/data"
if [ "$DB" = postgresql ]; then
  createdb -h 127.0.0.1 -U postgres -T template0 -E UTF8 "${PGDB}_restore" && PG_DBS+=("${PGDB}_restore")
  set_env "$R/lantai.env" LANTAI_DATABASE_URL "postgresql://postgres@127.0.0.1:5432/${PGDB}_restore"
fi
ENVFILE="$R/lantai.env" lantai_cmd backup restore --json "$BK" >"$T/restore.json" 2>"$T/logs/restore.log" \
  || die "14 backup restore: $(cat "$T/restore.json" "$T/logs/restore.log")"
ENVFILE="$R/lantai.env" lantai_cmd audit verify --json >"$T/audit-restored.json" \
  || die "14 audit verify on the restored copy: $(cat "$T/audit-restored.json")"
jq -e '.checks.audit.ok and (.checks | to_entries | all(.value.ok))' "$T/restore.json" >/dev/null \
  || die "14 restore: a check failed: $(cat "$T/restore.json")"
# the chain there: the backup's entries up to its head, then the restore's own entry (backup_restore)
jq -e --argjson n "$((head_seq + 1))" '.ok and .checked == $n' "$T/audit-restored.json" >/dev/null \
  || die "14 audit verify on the restored copy: want $((head_seq + 1)) entries (the backup's $head_seq and the restore's): $(cat "$T/audit-restored.json")"
ok "14 restore into an empty data directory: $(jq -r '[.checks | to_entries[] | "\(.key)=\(if (.value|type)=="object" then (.value.ok // .value) else .value end)"] | join(", ")' "$T/restore.json" | cut -c1-200); audit verify there: intact, #1…#$head_seq (${head_hash:0:16}…) + the restore's entry"

# === Step 15. What to monitor: nothing failed in the services' logs =====================================
kill -0 "$WEB_PID" && kill -0 "$WORKER_PID" && kill -0 "$NGINX_PID" || die "15 a service ended during the walk"
if grep -q '"level": "ERROR"\|Traceback' "$T/logs/web.log" "$T/logs/worker.log"; then
  die "15 errors in the services' logs: $(grep -h '"level": "ERROR"\|Traceback' "$T/logs/web.log" "$T/logs/worker.log" | head -n 3)"
fi
jq -e 'has("timestamp") and has("request_id")' < <(grep -h '"logger": "lantai.request"' "$T/logs/web.log" | head -n 1) >/dev/null \
  || die "15 lantai-web writes no JSON request line with timestamp and request id"
ok "15 web, worker and nginx still running; JSON request log lines with timestamp and request id; no ERROR"

say "summary ($DB, $((SECONDS - T0))s):"
for line in "${SUMMARY[@]}"; do printf '  - %s\n' "${line//$T/\$T}"; done
say "all steps passed"
