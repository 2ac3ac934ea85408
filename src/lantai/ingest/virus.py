"""Virus scanning with ClamAV's clamd (DA/T 70 4-1 移交信息包病毒).

Plain Python, no Django. :class:`Scanner` runs its own clamd on a unix socket under
``<data_dir>/clamav/`` (no service setup asked of the user), or talks to an external clamd socket.
Files are streamed with clamd's ``INSTREAM`` command by a small client in this module; clamd
unpacks archives itself, so a virus inside a zip inside a zip is found.

Signatures never download at run time: an administrator imports CVD/CLD/CUD files (verified with
``sigtool --info``) or plain signature files (.hdb/.hsb/.ndb/.ldb/.yar) with
:meth:`Scanner.import_signatures` (the ``lantai clamav import-signatures DIR`` command).
With zero signatures loaded nothing is scanned and every file gets a failed check that says so:
"not scanned" is never reported as clean.

Our own clamd does not outlive its purpose (one per data directory; see
:mod:`lantai.ingest.clamd_watchdog`): a ``lantai worker`` (:func:`set_process_role`) owns the clamd
it starts, or finds started by a CLI command (:func:`adopt_clamd`), and stops it when it exits
(:func:`stop_owned_clamd`); one started by a CLI command is otherwise stopped by its watchdog after
an idle period; a clamd whose data directory is gone stops too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.ingest import clamd_watchdog as life
from lantai.standards.dat70 import CheckResult

__all__ = [
    "NOT_SCANNED_REASON",
    "SIGNATURE_SUFFIXES",
    "Scanner",
    "ScannerError",
    "SignatureImportError",
    "SignatureInfo",
    "adopt_clamd",
    "import_signatures_cli",
    "set_process_role",
    "stop_owned_clamd",
]

CLAMD_BIN = "/usr/sbin/clamd"
SIGTOOL_BIN = "sigtool"
SIGNATURE_SUFFIXES = (".cvd", ".cld", ".cud", ".hdb", ".hsb", ".ndb", ".ldb", ".yar", ".yara")
CONTAINER_SUFFIXES = (".cvd", ".cld", ".cud")
NOT_SCANNED_REASON = "未加载病毒特征库，未扫描"


CHUNK = 1024 * 1024
# limits written into our own clamd.conf (bytes); clamd's defaults (25M stream, 100M file) would
# leave large scans unscanned, and AlertExceedsMax turns "over a limit" into a finding, not "OK"
STREAM_MAX_LENGTH = 1000 * 1024 * 1024
MAX_FILE_SIZE = 1000 * 1024 * 1024
MAX_SCAN_SIZE = 4000 * 1024 * 1024
CLAMD_DEFAULT_STREAM_MAX = 25 * 1024 * 1024
_SOCK_PATH_MAX = 100  # sun_path is 108 bytes on Linux

STOP_WAIT_SECONDS = 30.0  # a worker stopping waits this long for scans in flight to end
_process_role = "cli"  # who a clamd started by this process belongs to (see set_process_role)


def set_process_role(role: str) -> None:
    """Declare this process long-running ("worker" or "serve"): a clamd it starts lives as long as
    the process (stop it with :func:`stop_owned_clamd`), instead of stopping after an idle period."""
    global _process_role
    _process_role = role


def adopt_clamd(data_dir: Path) -> bool:
    """In a long-running process (the worker, at its start and whenever it finds clamd running):
    take over the running clamd of `data_dir` that a CLI command started, so that it is not
    stopped for idleness while this process runs and is stopped when it exits, as one it started
    itself. The shared scan lock keeps the watchdog from stopping it meanwhile (the watchdog reads
    the owner again under the exclusive lock). Returns whether it was adopted."""
    if _process_role not in life.LONG_RUNNING:
        return False
    base = Path(data_dir) / "clamav"
    with life.use_lock(base) as taken:
        owner = life.read_owner(base)
        if not taken or owner is None or owner.started_by in life.LONG_RUNNING:
            return False  # none, or one a worker owns (it stops that one when it exits)
        if not life.is_our_clamd(owner.clamd_pid, base / life.CONF_FILE):
            return False
        mine = dataclasses.replace(owner, started_by=_process_role, owner_pid=os.getpid())
        life.write_owner(base, mine)
        return True


def stop_owned_clamd(data_dir: Path) -> bool:
    """At the exit of a long-running process: stop the clamd it started, once the scans in flight
    (of any process) have ended; should they last longer than STOP_WAIT_SECONDS, clamd is handed
    to the idle rule instead. Returns whether it was stopped."""
    base = Path(data_dir) / "clamav"
    owner = life.read_owner(base)
    if owner is None or owner.owner_pid != os.getpid() or owner.started_by == "cli":
        return False
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while True:
        with life.use_lock(base, exclusive=True, wait=False) as taken:
            if taken:
                life.terminate(owner.clamd_pid, base / life.CONF_FILE)
                life.remove_owner(base)
                return True
        if time.monotonic() > deadline:
            life.write_owner(base, dataclasses.replace(owner, started_by="cli"))
            return False
        time.sleep(0.2)


class ScannerError(RuntimeError):
    """clamd could not be started or reached."""


class SignatureImportError(ValueError):
    """A signature file failed verification; nothing was imported."""


@dataclass(frozen=True)
class SignatureInfo:
    count: int  # signatures in the database directory
    version: str  # e.g. "daily:27400 main:62" for CVDs, "local-<sha256[:12]>" for plain files
    files: list[str] = field(default_factory=list)  # database files (names in the DB directory)

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "version": self.version, "files": list(self.files)}


# --------------------------------------------------------------------------------------------------
# signature database inspection


def _cvd_info(path: Path, sigtool: str) -> dict[str, str]:
    """``sigtool --info`` fields of a CVD/CLD/CUD; raises SignatureImportError when it fails."""
    try:
        proc = subprocess.run(
            [sigtool, f"--info={path}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SignatureImportError(f"{path.name}: sigtool failed: {exc}") from exc
    info: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    text = (proc.stdout + proc.stderr).strip()
    verified = "Verification OK" in proc.stdout
    if proc.returncode != 0 or (path.suffix.lower() == ".cvd" and not verified):
        raise SignatureImportError(f"{path.name}: 特征库校验失败 (sigtool --info): {text[-500:]}")
    return info


_YARA_RULE = re.compile(rb"^\s*(?:(?:private|global)\s+)*rule\s+\w+", re.MULTILINE)


def _count_plain(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if path.suffix.lower() in (".yar", ".yara"):
        return len(_YARA_RULE.findall(data))
    return sum(1 for line in data.splitlines() if line.strip() and not line.startswith(b"#"))


def _db_files(db_dir: Path) -> list[Path]:
    if not db_dir.is_dir():
        return []
    return sorted(
        p for p in db_dir.iterdir() if p.is_file() and p.suffix.lower() in SIGNATURE_SUFFIXES
    )


# --------------------------------------------------------------------------------------------------
# the scanner


class Scanner:
    """clamd-backed scanner. Own clamd under ``data_dir/clamav`` unless ``socket_path`` is given.

    ``socket_path``: an external clamd's unix socket (then nothing is started or written).
    ``stream_max_length``: the clamd StreamMaxLength in bytes (known for our own clamd; for an
    external one pass its configured value; clamd's default is 25 MiB).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        socket_path: Path | None = None,
        clamd_bin: str = CLAMD_BIN,
        sigtool_bin: str = SIGTOOL_BIN,
        stream_max_length: int | None = None,
        start_timeout: float = 120.0,
        scan_timeout: float = 300.0,
        workers: int = 4,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.base = self.data_dir / "clamav"
        self.db_dir = self.base / "db"
        self.conf_path = self.base / "clamd.conf"
        self.pid_path = self.base / "clamd.pid"
        self.log_path = self.base / "clamd.log"
        self.tmp_dir = self.base / "tmp"
        self.external = socket_path is not None
        if socket_path is not None:
            self.socket_path = Path(socket_path)
        else:
            self.socket_path = self._own_socket_path()
        self.clamd_bin = clamd_bin
        self.sigtool_bin = shutil.which(sigtool_bin) or sigtool_bin
        if stream_max_length is None:
            stream_max_length = CLAMD_DEFAULT_STREAM_MAX if self.external else STREAM_MAX_LENGTH
        self.stream_max_length = stream_max_length
        self.start_timeout = start_timeout
        self.scan_timeout = scan_timeout
        self.workers = max(1, workers)
        self._proc: subprocess.Popen[bytes] | None = None
        self._sig_cache: tuple[tuple[tuple[str, int, int], ...], SignatureInfo] | None = None

    # --- paths and config -------------------------------------------------------------------------

    def _own_socket_path(self) -> Path:
        sock = self.base / "clamd.sock"
        if len(os.fsencode(str(sock.resolve()))) <= _SOCK_PATH_MAX:
            return sock
        # a deep data directory: keep the socket short, named by the data directory
        digest = hashlib.sha256(os.fsencode(str(self.base.resolve()))).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"lantai-clamd-{os.getuid()}-{digest}.sock"

    def _write_conf(self) -> None:
        for d in (self.base, self.db_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o700)
        lines = [
            "# written by Lantai; regenerated on every start",
            f"LocalSocket {self.socket_path}",
            "LocalSocketMode 600",
            "FixStaleSocket yes",
            f"PidFile {self.pid_path}",
            f"DatabaseDirectory {self.db_dir}",
            f"TemporaryDirectory {self.tmp_dir}",
            f"LogFile {self.log_path}",
            "LogTime yes",
            "LogFileMaxSize 10M",
            "LogRotate yes",
            "Foreground yes",
            "ConcurrentDatabaseReload no",
            "SelfCheck 600",
            f"StreamMaxLength {self.stream_max_length // (1024 * 1024)}M",
            f"MaxFileSize {MAX_FILE_SIZE // (1024 * 1024)}M",
            f"MaxScanSize {MAX_SCAN_SIZE // (1024 * 1024)}M",
            "AlertExceedsMax yes",
            # an encrypted archive or document cannot be looked into: a finding
            # (Heuristics.Encrypted.*), never "OK" for content nobody scanned
            "AlertEncrypted yes",
            "ScanArchive yes",
            "MaxThreads 8",
            "IdleTimeout 1",  # a blocking RELOAD waits for idle worker threads to exit
            "ReadTimeout 300",
            "CommandReadTimeout 30",
            "Bytecode no",
        ]
        self.conf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # --- signatures -------------------------------------------------------------------------------

    def signature_info(self) -> SignatureInfo:
        """Count and version of the signatures in the database directory (external: unknown)."""
        files = _db_files(self.db_dir)
        key = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())
        if self._sig_cache is not None and self._sig_cache[0] == key:
            return self._sig_cache[1]
        count = 0
        cvd_versions: list[str] = []
        digest = hashlib.sha256()
        plain = False
        for p in files:
            if p.suffix.lower() in CONTAINER_SUFFIXES:
                try:
                    info = _cvd_info(p, self.sigtool_bin)
                except SignatureImportError:
                    continue
                count += int(info.get("Signatures", "0") or 0)
                cvd_versions.append(f"{p.stem}:{info.get('Version', '?')}")
            else:
                n = _count_plain(p)
                count += n
                if n:
                    plain = True
                    digest.update(p.name.encode() + b"\0")
                    digest.update(p.read_bytes())
        parts = sorted(cvd_versions)
        if plain:
            parts.append(f"local-{digest.hexdigest()[:12]}")
        result = SignatureInfo(count=count, version=" ".join(parts), files=[p.name for p in files])
        self._sig_cache = (key, result)
        return result

    def signature_count(self) -> int:
        if self.external:
            return -1  # unknown: an external clamd manages its own database
        return self.signature_info().count

    def import_signatures(self, src_dir: Path) -> SignatureInfo:
        """Copy signature files from ``src_dir`` into the database and reload clamd.

        CVD/CLD/CUD files are verified with ``sigtool --info`` first; one that fails aborts the
        import before anything is copied (SignatureImportError).
        """
        if self.external:
            raise ScannerError("external clamd: import signatures into its own DatabaseDirectory")
        src = Path(src_dir)
        if not src.is_dir():
            raise SignatureImportError(f"{src}: not a directory")
        candidates = sorted(
            p for p in src.iterdir() if p.is_file() and p.suffix.lower() in SIGNATURE_SUFFIXES
        )
        if not candidates:
            raise SignatureImportError(
                f"{src}: no signature files ({', '.join(SIGNATURE_SUFFIXES)})"
            )
        for p in candidates:
            if p.suffix.lower() in CONTAINER_SUFFIXES:
                _cvd_info(p, self.sigtool_bin)
        self.db_dir.mkdir(parents=True, exist_ok=True)
        for p in candidates:
            stem = p.stem
            # a CVD replaces its CLD twin (and the reverse): clamd refuses to load both
            for suffix in CONTAINER_SUFFIXES:
                twin = self.db_dir / f"{stem}{suffix}"
                if p.suffix.lower() in CONTAINER_SUFFIXES and twin.exists() and twin.name != p.name:
                    twin.unlink()
            tmp = self.db_dir / f".{p.name}.importing"
            shutil.copyfile(p, tmp)
            os.replace(tmp, self.db_dir / p.name)
        self._sig_cache = None
        info = self.signature_info()
        if info.count > 0:
            if self.ping():
                self.reload()
            else:
                self.ensure_running()
        return info

    # --- clamd process ----------------------------------------------------------------------------

    def ping(self) -> bool:
        try:
            return self._command(b"PING", timeout=5.0) == "PONG"
        except (OSError, ScannerError):
            return False

    def ensure_running(self) -> None:
        """Start our clamd unless one already answers on the socket. Raises ScannerError."""
        life.reap_orphans()
        if self.ping():
            if not self.external:
                self._ensure_watchdog()
                adopt_clamd(self.data_dir)
            return
        if self.external:
            raise ScannerError(f"clamd 未响应: {self.socket_path}")
        if not Path(self.clamd_bin).exists() and shutil.which(self.clamd_bin) is None:
            raise ScannerError(
                f"未安装 clamd ({self.clamd_bin})：请安装 Debian 软件包 clamav-daemon"
            )
        if self.signature_info().count == 0:
            raise ScannerError(NOT_SCANNED_REASON)
        self.base.mkdir(parents=True, exist_ok=True)
        with self._start_lock():
            if self.ping() or self._wait_for_starting_clamd():
                # another process started it while we waited for the lock
                self._ensure_watchdog()
                adopt_clamd(self.data_dir)
                return
            self._write_conf()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
            try:
                self._proc = subprocess.Popen(
                    [self.clamd_bin, "-c", str(self.conf_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # outlives this process; reused by the next one
                    close_fds=True,
                )
            except OSError as exc:
                raise ScannerError(f"无法启动 clamd: {exc}") from exc
            finally:
                log.close()
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise ScannerError(
                        f"clamd 启动失败 (exit {self._proc.returncode}): {self._log_tail()}"
                    )
                if self.ping():
                    self._record_owner(self._proc.pid)
                    return
                time.sleep(0.1)
            self._terminate_proc()
            raise ScannerError(f"clamd 在 {self.start_timeout:.0f} 秒内未就绪: {self._log_tail()}")

    def _record_owner(self, clamd_pid: int) -> None:
        owner = life.Owner(
            clamd_pid=clamd_pid,
            started_by=_process_role,
            owner_pid=os.getpid(),
            started_at=time.time(),
            idle_seconds=life.idle_limit_from_env(),
        )
        life.write_owner(self.base, owner)
        life.touch_used(self.base)
        self._ensure_watchdog()

    def _wait_for_starting_clamd(self) -> bool:
        """Our clamd of this directory is alive but not answering yet (still loading its
        signatures): wait for it rather than start a second one."""
        owner = life.read_owner(self.base)
        if owner is None or not life.is_our_clamd(owner.clamd_pid, self.conf_path):
            return False
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and life.is_our_clamd(owner.clamd_pid, self.conf_path):
            if self.ping():
                return True
            time.sleep(0.1)
        return False

    def _ensure_watchdog(self) -> None:
        """One watchdog per data directory beside a running clamd (started again should one have
        been killed; a clamd from before watchdogs existed is adopted as started by a CLI)."""
        if life.watchdog_running(self.base):
            return
        if life.read_owner(self.base) is None:
            try:
                pid = int(self.pid_path.read_text().strip())
            except (OSError, ValueError):
                return
            if not life.is_our_clamd(pid, self.conf_path):
                return
            life.write_owner(
                self.base,
                life.Owner(pid, "cli", 0, time.time(), life.idle_limit_from_env()),
            )
        subprocess.Popen(
            [sys.executable, "-m", "lantai.ingest.clamd_watchdog", str(self.base)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a CLI command, like its clamd
            close_fds=True,
        )

    def status(self) -> dict[str, Any]:
        """What `lantai clamav status` shows: is clamd running, its pid and socket, the
        signatures, who started it and since when it has been idle."""
        life.reap_orphans()
        running = self.ping()
        out: dict[str, Any] = {
            "running": running,
            "external": self.external,
            "socket": str(self.socket_path),
        }
        if self.external:
            return out
        sigs = self.signature_info()
        owner = life.read_owner(self.base)
        alive = owner is not None and life.is_our_clamd(owner.clamd_pid, self.conf_path)
        used = life.last_used(self.base)
        out.update(
            pid=owner.clamd_pid if owner and alive else None,
            signatures=sigs.count,
            signature_version=sigs.version,
            database=str(self.db_dir),
            started_by=owner.started_by if owner and alive else None,
            owner_pid=owner.owner_pid if owner and alive and owner.owner_pid else None,
            started_at=_iso(owner.started_at) if owner and alive else None,
            idle_since=_iso(used) if alive and used else None,
            idle_limit_seconds=owner.idle_seconds if owner and alive else None,
            watchdog=life.watchdog_running(self.base),
        )
        return out

    @contextlib.contextmanager
    def _start_lock(self) -> Iterator[None]:
        with open(self.base / "start.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _log_tail(self, n: int = 1500) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-n:].strip()
        except OSError:
            return ""

    def _terminate_proc(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop our own clamd (never an external one)."""
        if self.external:
            return
        if self._proc is not None:
            self._terminate_proc()
            self._proc = None
        else:
            try:
                pid = int(self.pid_path.read_text().strip())
            except (OSError, ValueError):
                pid = 0
            if pid > 0 and self.ping():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and self.ping():
                    time.sleep(0.1)
        life.remove_owner(self.base)
        # clamd removes its own socket on exit; FixStaleSocket handles one left by a crash

    def reload(self) -> None:
        """Ask clamd to reload its database; returns when it answers again."""
        reply = self._command(b"RELOAD", timeout=30.0)
        if reply != "RELOADING":
            raise ScannerError(f"clamd RELOAD: {reply}")
        # ConcurrentDatabaseReload no: clamd reloads in its main loop before taking new commands
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.ping():
                return
        raise ScannerError(f"clamd 重新加载特征库超时: {self._log_tail()}")

    def engine_version(self) -> str:
        """E.g. "ClamAV 1.4.6" (from the running clamd, else from ``clamd --version``)."""
        try:
            reply = self._command(b"VERSION", timeout=5.0)
            return reply.split("/")[0].strip()
        except (OSError, ScannerError):
            pass
        try:
            out = subprocess.run(
                [self.clamd_bin, "--version"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                stdin=subprocess.DEVNULL,
            ).stdout
            return out.split("/")[0].strip() or "ClamAV (unknown)"
        except (OSError, subprocess.TimeoutExpired):
            return "ClamAV (not installed)"

    # --- protocol ---------------------------------------------------------------------------------

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        return sock

    @staticmethod
    def _read_reply(sock: socket.socket) -> str:
        buf = bytearray()
        while True:
            data = sock.recv(4096)
            if not data:
                break
            buf += data
            if buf.endswith(b"\0"):
                break
        return buf.rstrip(b"\0").decode("utf-8", "replace").strip()

    def _command(self, cmd: bytes, timeout: float) -> str:
        try:
            sock = self._connect(timeout)
        except OSError as exc:
            raise ScannerError(f"无法连接 clamd ({self.socket_path}): {exc}") from exc
        with sock:
            sock.sendall(b"z" + cmd + b"\0")
            return self._read_reply(sock)

    def instream(self, path: Path) -> str:
        """Stream one file with zINSTREAM; returns clamd's reply, e.g. "stream: OK"."""
        with self._connect(self.scan_timeout) as sock, open(path, "rb") as fh:
            sock.sendall(b"zINSTREAM\0")
            try:
                while True:
                    chunk = fh.read(CHUNK)
                    if not chunk:
                        break
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                sock.sendall(struct.pack(">I", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd closed early (e.g. size limit); its reply says why
            return self._read_reply(sock)

    # --- scanning ---------------------------------------------------------------------------------

    def _evidence(self, engine: str, sigs: SignatureInfo | None) -> dict[str, Any]:
        ev: dict[str, Any] = {"engine": engine, "socket": str(self.socket_path)}
        if sigs is not None:
            ev.update(signatures=sigs.count, signature_version=sigs.version)
        else:
            ev.update(signatures="external", signature_version="external")
        return ev

    def scan(
        self,
        paths: Sequence[Path],
        objects: Sequence[str] | None = None,
        on_result: Callable[[CheckResult], None] | None = None,
    ) -> list[CheckResult]:
        """One CheckResult (security 4-1) per path, in order. Never raises for a bad file.
        ``on_result`` is called with each result as soon as it is made (from worker threads)."""
        names = list(objects) if objects is not None else [str(p) for p in paths]
        if len(names) != len(paths):
            raise ValueError("objects must name every path")

        def report(result: CheckResult) -> CheckResult:
            if on_result is not None:
                on_result(result)
            return result

        sigs = None if self.external else self.signature_info()
        if sigs is not None and sigs.count == 0:
            ev = {"reason": NOT_SCANNED_REASON, "signatures": 0, "db": str(self.db_dir)}
            return [report(self._result("fail", n, dict(ev), "")) for n in names]
        with self._in_use():
            return self._scan_running(paths, names, sigs, report)

    @contextlib.contextmanager
    def _in_use(self) -> Iterator[None]:
        """While scanning, our clamd is not stopped for being idle, and counts as used."""
        if self.external:
            yield
            return
        self.base.mkdir(parents=True, exist_ok=True)
        with life.use_lock(self.base):
            life.touch_used(self.base)
            try:
                yield
            finally:
                life.touch_used(self.base)

    def _scan_running(
        self,
        paths: Sequence[Path],
        names: list[str],
        sigs: SignatureInfo | None,
        report: Callable[[CheckResult], CheckResult],
    ) -> list[CheckResult]:
        try:
            self.ensure_running()
        except ScannerError as exc:
            ev = {"reason": f"病毒扫描引擎不可用，未扫描: {exc}"}
            return [report(self._result("fail", n, dict(ev), "")) for n in names]
        engine = self.engine_version()
        version = engine.removeprefix("ClamAV").strip()
        base_ev = self._evidence(engine, sigs)

        def one(item: tuple[Path, str]) -> CheckResult:
            path, name = item
            return report(self._scan_one(Path(path), name, base_ev, version))

        items = list(zip(paths, names, strict=True))
        if self.workers == 1 or len(items) < 4:
            return [one(i) for i in items]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(one, items))

    def _scan_one(
        self, path: Path, name: str, base_ev: dict[str, Any], version: str
    ) -> CheckResult:
        ev = dict(base_ev)
        try:
            size = path.stat().st_size
        except OSError as exc:
            ev["reason"] = f"无法读取文件，未扫描: {exc}"
            return self._result("fail", name, ev, version)
        if size > self.stream_max_length:
            ev["reason"] = (
                f"文件大小 {size} 字节超过 clamd StreamMaxLength {self.stream_max_length}，未扫描"
            )
            return self._result("fail", name, ev, version)
        try:
            reply = self.instream(path)
        except OSError as exc:
            ev["reason"] = f"扫描出错，未扫描: {exc}"
            return self._result("fail", name, ev, version)
        ev["clamd"] = reply
        body = reply.split(":", 1)[1].strip() if ":" in reply else reply
        if body == "OK":
            return self._result("pass", name, ev, version)
        if body.endswith(" FOUND"):
            sig = body[: -len(" FOUND")].strip()
            ev["signature"] = sig
            if sig.startswith("Heuristics.Limits.Exceeded"):
                ev["reason"] = f"超出扫描上限，未完整扫描 ({sig})"
            elif sig.startswith("Heuristics.Encrypted"):
                ev["reason"] = f"文件已加密，扫描引擎无法读取其内容，未扫描 ({sig})"
            else:
                ev["reason"] = f"发现病毒: {sig}"
            return self._result("fail", name, ev, version)
        ev["reason"] = f"扫描出错，未扫描: {body}"
        return self._result("fail", name, ev, version)

    @staticmethod
    def _result(status: str, name: str, ev: dict[str, Any], version: str) -> CheckResult:
        return CheckResult.from_spec(
            "virus_scan", status, object=name, evidence=ev, tool="ClamAV", tool_version=version
        )


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def import_signatures_cli(src: Path, data_dir: Path) -> dict[str, Any]:
    """``lantai clamav import-signatures DIR``: import, reload, and report count + version."""
    scanner = Scanner(data_dir)
    info = scanner.import_signatures(src)
    return {
        "count": info.count,
        "version": info.version,
        "files": info.files,
        "database": str(scanner.db_dir),
        "engine": scanner.engine_version(),
        "running": scanner.ping(),
    }
