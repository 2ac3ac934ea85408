"""The systemd units in deploy/systemd/ (issue 20, point 6), checked by systemd itself.

`systemd-analyze verify` loads each unit as systemd would (unknown keys, bad values, a missing
ExecStart binary, a timer without its service all fail it); the paths of the installed release
(/opt/lantai/venv/bin/…) are replaced by this checkout's so that the binaries exist. A broken
copy of a unit must fail the same check, so the check itself is known to work.
`systemd-analyze security --offline` scores the hardening; the directives the operator guide
promises are read from the files.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
INSTALLED = "/opt/lantai/venv/bin/"
SERVICES = (
    "lantai-web.service",
    "lantai-worker.service",
    "lantai-backup.service",
    "lantai-alerts.service",
)
ALL_UNITS = (*SERVICES, "lantai-backup.timer", "lantai-alerts.timer")

pytestmark = pytest.mark.skipif(
    not Path(ANALYZE).exists(), reason="systemd-analyze missing (Debian package systemd)"
)


def _copy_units(folder: Path, broken: dict[str, tuple[str, str]] | None = None) -> list[Path]:
    """The units with this checkout's venv for /opt/lantai/venv; `broken` replaces text in one."""
    venv_bin = str(Path(sys.executable).parent) + "/"
    out = []
    for name in ALL_UNITS:
        text = (UNITS / name).read_text(encoding="utf-8")
        assert text.count(INSTALLED) == (1 if name in SERVICES else 0), name
        text = text.replace(INSTALLED, venv_bin)
        if broken and name in broken:
            old, new = broken[name]
            assert old in text
            text = text.replace(old, new)
        (folder / name).write_text(text, encoding="utf-8")
        out.append(folder / name)
    return out


def _verify(units: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", *map(str, units)],
        capture_output=True, text=True, timeout=120, cwd=units[0].parent,
    )  # fmt: skip


def test_units_verify_clean(tmp_path: Path) -> None:
    done = _verify(_copy_units(tmp_path))
    assert done.returncode == 0, done.stderr
    # systemd also warns, without failing, about keys it ignores (a misspelt hardening option)
    assert done.stderr.strip() == "", done.stderr


@pytest.mark.parametrize(
    ("unit", "old", "new", "says"),
    [
        ("lantai-web.service", "/lantai serve", "/lantai-missing serve", "is not executable"),
        ("lantai-worker.service", "ExecStart=", "ExecStrat=", "Unknown key"),
        ("lantai-backup.service", "Type=oneshot", "Type=oneshto", "Failed to parse"),
        ("lantai-backup.timer", "02:30:00", "25:30:00", "Failed to parse calendar"),
        ("lantai-web.service", "ProtectSystem=strict", "ProtectSystem=strikt", "Failed to parse"),
    ],
)
def test_a_broken_unit_fails_the_check(
    tmp_path: Path, unit: str, old: str, new: str, says: str
) -> None:
    """Each fault is one test_units_verify_clean would see: a failed check or a warning."""
    done = _verify(_copy_units(tmp_path, {unit: (old, new)}))
    assert says in done.stderr, done.stderr


def _service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text(encoding="utf-8"))
    return parser["Service"]


@pytest.mark.parametrize("name", SERVICES)
def test_services_run_hardened_as_lantai(tmp_path: Path, name: str) -> None:
    service = _service(name)
    assert service["User"] == "lantai"
    assert service["EnvironmentFile"] == "/etc/lantai/lantai.env"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert service["NoNewPrivileges"] == "yes"
    assert "/var/lib/lantai" in service["ReadWritePaths"].split()
    assert service["CapabilityBoundingSet"] == ""
    # systemd's own score: 0 (tight) to 10 (exposed); a unit without these options scores ~9
    (unit,) = [u for u in _copy_units(tmp_path) if u.name == name]
    done = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--threshold=25", str(unit)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr


def test_web_and_worker_commands() -> None:
    assert _service("lantai-web.service")["ExecStart"].startswith(
        f"{INSTALLED}lantai serve --no-worker --bind 127.0.0.1:8000"
    )
    assert _service("lantai-worker.service")["ExecStart"] == f"{INSTALLED}lantai worker"
    assert "lantai backup create" in _service("lantai-backup.service")["ExecStart"]
    assert (
        _service("lantai-alerts.service")["ExecStart"] == f"{INSTALLED}lantai alerts deliver --json"
    )
