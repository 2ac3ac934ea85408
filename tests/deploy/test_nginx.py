"""nginx in front of gunicorn, as deploy/nginx/lantai.conf sets it up (issue 20, point 6).

Real servers on loopback: Debian's nginx (a non-daemon master started by the test) with a config
made from deploy/nginx/lantai.conf (loopback ports, a self-signed certificate made here, temporary
paths; every substitution must find its text), in front of `lantai serve --no-worker` (gunicorn)
with the production environment of deploy/lantai.env and the static files collected with hashed
names. nginx listens on 127.0.0.2 and the client connects from 127.0.0.5, so the address Lantai
records is told apart from nginx's own (127.0.0.1, the trusted proxy).
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "lantai.conf"
ENV_FILE = ROOT / "deploy" / "lantai.env"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SERVER_NAME = "archives.example.gov.cn"  # the placeholder in the site file, kept as it is
NGINX_ADDR = "127.0.0.2"
CLIENT_ADDR = "127.0.0.5"
LANTAI = [sys.executable, "-m", "lantai.cli"]
HASHED = re.compile(r"/static/[\w./-]+?\.[0-9a-f]{12}\.(?:css|js)")

pytestmark = pytest.mark.sqlite_run_only


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _env_file() -> dict[str, str]:
    """deploy/lantai.env's settings, as systemd's EnvironmentFile= reads them."""
    values: dict[str, str] = {}
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"')
    return values


def test_production_env_matches_the_proxy() -> None:
    values = _env_file()
    # hashed static names, or nginx's year-long cache would keep old files after an upgrade
    assert values.get("LANTAI_STATIC_MANIFEST") == "1"
    assert values.get("LANTAI_STATIC_ROOT") == "/var/www/lantai/static"
    assert "root /var/www/lantai;" in SITE.read_text()
    # nginx on the same machine connects from 127.0.0.1
    assert values.get("LANTAI_TRUSTED_PROXIES") == "127.0.0.1"


def _production_env(data: Path, static_root: str, https_port: int) -> dict[str, str]:
    """deploy/lantai.env with this machine's paths and the test's origin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTAI_")}
    env.update(_env_file())
    env["LANTAI_STATIC_MANIFEST"] = "1"  # (test_production_env_matches_the_proxy checks the file)
    env.pop("LANTAI_DATABASE_URL", None)  # SQLite under the data directory
    env.pop("LANTAI_SECRET_KEY_FILE", None)
    env.update(
        LANTAI_DATA_DIR=str(data),
        LANTAI_SECRET_KEY="test-secret",
        LANTAI_STATIC_ROOT=static_root,
        LANTAI_ALLOWED_HOSTS=SERVER_NAME,
        LANTAI_CSRF_TRUSTED_ORIGINS=f"https://{SERVER_NAME}:{https_port}",
    )
    return env


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for SERVER_NAME and NGINX_ADDR."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(SERVER_NAME), x509.IPAddress(ipaddress.ip_address(NGINX_ADDR))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _substitute(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx/lantai.conf no longer contains {old!r}"
    return text.replace(old, new)


def _nginx_config(tmp: Path, *, http: int, https: int, upstream: int, www: Path) -> Path:
    cert, key = _certificate(tmp)
    site = SITE.read_text(encoding="utf-8")
    for old, new in [
        ("listen [::]:80;", ""),
        ("listen [::]:443 ssl;", ""),
        ("listen 80;", f"listen {NGINX_ADDR}:{http};"),
        ("listen 443 ssl;", f"listen {NGINX_ADDR}:{https} ssl;"),
        ("/etc/ssl/lantai/fullchain.pem", str(cert)),
        ("/etc/ssl/lantai/privkey.pem", str(key)),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
        ("root /var/www/lantai;", f"root {www};"),
        ("/var/log/nginx/", f"{tmp}/"),
    ]:
        site = _substitute(site, old, new)
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # a root master hands its workers to an unprivileged user; the test's files must stay theirs
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{user}\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {tmp / 'default.access.log'};\n{temp}\n{site}\n}}\n",
        encoding="utf-8",
    )
    return conf


@dataclass
class Site:
    https_port: int
    http_port: int
    cafile: Path
    data: Path
    logs: Path
    gunicorn_log: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        source: str = CLIENT_ADDR,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        tls: bool = True,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn: http.client.HTTPConnection
        if tls:
            ctx = ssl.create_default_context(cafile=str(self.cafile))
            conn = http.client.HTTPSConnection(
                NGINX_ADDR, self.https_port, context=ctx, source_address=(source, 0), timeout=60
            )
            host = f"{SERVER_NAME}:{self.https_port}"
        else:
            conn = http.client.HTTPConnection(
                NGINX_ADDR, self.http_port, source_address=(source, 0), timeout=60
            )
            host = SERVER_NAME
        try:
            conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not Path(NGINX).exists():
        message = f"nginx is missing ({NGINX}): apt-get install nginx (scripts/setup.sh)"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("nginx")
    data, www = tmp / "lantai-data", tmp / "www"
    data.mkdir()
    upstream, http_port, https_port = (
        _free_port("127.0.0.1"),
        _free_port(NGINX_ADDR),
        _free_port(NGINX_ADDR),
    )
    env = _production_env(data, str(www / "static"), https_port)

    # as docs/operator-guide.md: init, collectstatic (hashed names), then the service
    for argv in (
        [*LANTAI, "init"],
        [
            sys.executable,
            "-m",
            "django",
            "collectstatic",
            "--noinput",
            "--settings=lantai.settings",
        ],
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (www / "static" / "staticfiles.json").is_file()

    gunicorn_log = tmp / "gunicorn.log"
    with open(gunicorn_log, "wb") as log:
        web = subprocess.Popen(
            [*LANTAI, "serve", "--no-worker", "--bind", f"127.0.0.1:{upstream}", "--workers", "1"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    conf = _nginx_config(tmp, http=http_port, https=https_port, upstream=upstream, www=www)
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp), "-c", str(conf)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, checked.stderr
    with open(tmp / "nginx.stderr", "wb") as log:
        proxy = subprocess.Popen(
            [NGINX, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    result = Site(https_port, http_port, tmp / "fullchain.pem", data, tmp, gunicorn_log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert web.poll() is None, gunicorn_log.read_text(errors="replace")
            assert proxy.poll() is None, (tmp / "error.log").read_text(errors="replace")
            try:
                if result.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, gunicorn_log.read_text(errors="replace")
            time.sleep(0.3)
        yield result
    finally:
        _stop(proxy)
        _stop(web)


def test_plain_http_redirects_to_https(site: Site) -> None:
    status, headers, _ = site.request("GET", "/public/?q=x", tls=False)
    assert status == 301
    assert headers["Location"] == f"https://{SERVER_NAME}/public/?q=x"


def _access_log_line(site: Site, needle: str) -> str:
    """The access log line holding `needle`: nginx writes it after the answer has gone out, so a
    client can read the answer before the line is there."""
    log = site.logs / "lantai.access.log"
    for _ in range(100):
        found = [x for x in log.read_text().splitlines() if needle in x]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no line with {needle} in nginx's access log:\n{log.read_text()[-2000:]}")


def test_healthz_through_nginx_carries_nginx_request_id(site: Site) -> None:
    status, headers, body = site.request("GET", "/healthz")
    assert status == 200, body
    # nginx's $request_id reached Lantai (trusted proxy) and came back; nginx logged the same id
    request_id = headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    line = _access_log_line(site, f"id={request_id}")
    assert '"GET /healthz HTTP/1.1" 200' in line and line.startswith(CLIENT_ADDR)


def test_pages_link_hashed_static_files_served_by_nginx_for_a_year(site: Site) -> None:
    status, _, body = site.request("GET", "/login/")
    assert status == 200
    names = HASHED.findall(body.decode())
    assert names, "the sign-in page links no static file by a hashed name"
    for name in names:
        status, headers, content = site.request("GET", name, headers={"Accept-Encoding": "gzip"})
        assert status == 200, name
        # nginx's header (WhiteNoise would say max-age=315360000), from the .gz copy
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", name
        assert headers["Content-Encoding"] == "gzip", name
        assert content
    plain = re.sub(r"\.[0-9a-f]{12}\.", ".", names[0])
    status, headers, _ = site.request("GET", plain)
    assert status == 200, plain
    assert headers["Cache-Control"] == "public, max-age=3600"
    status, _, _ = site.request("GET", "/static/lantai/no-such-file.css")
    assert status == 404
    # gunicorn saw none of these static requests
    assert "/static/" not in site.gunicorn_log.read_text(errors="replace")


def test_sign_in_over_https_secure_cookies_and_the_client_address(site: Site) -> None:
    status, headers, body = site.request("GET", "/login/")
    assert status == 200
    cookies = headers.get_all("Set-Cookie") or []
    csrf_cookie = next(c for c in cookies if c.startswith("csrftoken="))
    assert "Secure" in csrf_cookie and "SameSite" in csrf_cookie
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token
    origin = f"https://{SERVER_NAME}:{site.https_port}"
    form = f"csrfmiddlewaretoken={token.group(1).decode()}&username=nobody&password=wrong-Password1"
    status, _, body = site.request(
        "POST",
        "/login/",
        body=form.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": csrf_cookie.split(";", 1)[0],
            "Origin": origin,
            "Referer": f"{origin}/login/",
            # a client may claim any address: Lantai must believe only what nginx appended
            "X-Forwarded-For": "203.0.113.9",
            "X-Real-IP": "203.0.113.10",
        },
    )
    assert status == 200, body[:500]  # the form again with its error: not 403 (CSRF over https)
    db = sqlite3.connect(f"file:{site.data / 'lantai.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT address FROM core_loginfailure WHERE username = 'nobody'"
        ).fetchall()
    finally:
        db.close()
    assert rows == [(CLIENT_ADDR,)]


def test_metrics_only_from_the_allowed_networks(site: Site) -> None:
    status, _, body = site.request("GET", "/metrics")
    assert status == 403 and b"nginx" in body  # refused by nginx, not by Lantai
    status, _, body = site.request("GET", "/metrics", source="127.0.0.1")
    assert status == 200, body[:300]
    assert b"# TYPE" in body


def test_too_large_upload_refused_by_nginx_before_the_body(site: Site) -> None:
    from django.conf import settings

    limit = re.search(r"client_max_body_size (\d+)g;", SITE.read_text())
    assert limit, "client_max_body_size in gibibytes"
    # the documented default of LANTAI_FORM_UPLOAD_MAX_BYTES (settings.FORM_UPLOAD_MAX_BYTES)
    assert int(limit.group(1)) * 1024**3 == 2 * 1024**3 == settings.FORM_UPLOAD_MAX_BYTES
    ctx = ssl.create_default_context(cafile=str(site.cafile))
    with (
        socket.create_connection(
            (NGINX_ADDR, site.https_port), timeout=30, source_address=(CLIENT_ADDR, 0)
        ) as raw,
        ctx.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
    ):
        tls.sendall(
            f"POST /transfers/upload/ HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {2 * 1024**3 + 1}\r\n\r\n".encode()
        )
        answer = tls.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"nginx" in answer
    assert "/transfers/upload/" not in site.gunicorn_log.read_text(errors="replace")
