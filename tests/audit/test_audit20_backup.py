"""Audit of issue 20 (back up and restore): defects found from outside, each written as a failing
test before it was fixed and kept as a regression test."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest


def _truncated_tar(path: Path) -> None:
    """A backup .tar cut short (a copy interrupted, a full disk): tarfile still recognises it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        manifest = json.dumps({"format": "lantai-backup/1", "files": []}).encode()
        info = tarfile.TarInfo("backup/manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        payload = os.urandom(256 * 1024)
        info = tarfile.TarInfo("backup/database/lantai.sqlite3")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    path.write_bytes(buf.getvalue()[:100_000])


def _absolute_link_tar(path: Path) -> None:
    """A tar holding a link to an absolute path, which tarfile's "data" filter refuses."""
    with tarfile.open(path, mode="w") as tar:
        info = tarfile.TarInfo("backup/passwd")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)


# AUDIT20-7 (fixed): a truncated .tar backup made `lantai backup verify|restore --json` end in a
# traceback (tarfile.ReadError from backup_manifest.Opened, then ImproperlyConfigured in the
# error handler): no JSON, exit 1 instead of the documented 2 'SRC unreadable'.
@pytest.mark.parametrize("command", ["verify", "restore"])
@pytest.mark.parametrize("make", [_truncated_tar, _absolute_link_tar])
def test_a_truncated_backup_tar_is_a_json_error_with_exit_2(
    tmp_path: Path, command: str, make: Callable[[Path], None]
) -> None:
    src = tmp_path / "cut.tar"
    make(src)
    assert tarfile.is_tarfile(src)
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LANTAI_DATABASE_URL"}
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY="audit20")
    lantai = Path(sys.executable).with_name("lantai")
    done = subprocess.run(
        [str(lantai), "backup", command, "--json", str(src)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    body = json.loads(done.stdout)
    assert body.get("ok") is False and str(src) in json.dumps(body, ensure_ascii=False)
    assert done.returncode == 2
    assert ("截断" if make is _truncated_tar else "不安全") in body["error"]
