"""A region on one machine (issue 17, "Tests"): a hub and two archives' nodes as real `lantai
serve` processes on loopback ports, each with its own data directory and database — the hub and
南州 (node ``nz``) on SQLite, 北川县 (node ``bc``) on PostgreSQL — driven with the `lantai platform`
commands as their operators would. The county holds the marriage records; one of them is
digitized (a scan attached), one is paper only."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.preservation.conftest import free_port
from tests.scaleout.conftest import wait_for

LANTAI = [sys.executable, "-m", "lantai.cli"]
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "lantai_test_platform_bc"

SETUP = r"""
import datetime as dt, json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from lantai.catalog.models import Fonds, Repository
code, name, marriages = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
repo = Repository.objects.create(code=code, name=name, level="county", region="岭南省", is_default=True)
out = {}
from lantai.core import accounts
accounts.create_user("clerk", role="reading_room", password="Window#Clerk2026", clearance=4, scope_all=True)
if marriages:
    from tests.marriage.conftest import HUSBAND, WIFE, OTHER, OTHER_WIFE, registration
    from lantai.marriage import records
    from lantai.catalog import components
    fonds = Fonds.objects.create(repository=repo, code="BCHY", name="北川县民政局（婚姻登记档案）", creator="北川县民政局")
    written = records.write(fonds, [
        registration("marriage", dt.date(2010, 5, 20), HUSBAND, WIFE, 123),
        registration("marriage", dt.date(2012, 10, 1), OTHER, OTHER_WIFE, 321),
    ])
    scanned, paper = written.created
    from lantai.catalog.models import Record
    rec = Record.objects.get(pk=scanned)
    components.attach_component(rec, [open(sys.argv[4], "rb").read()], "结婚登记审查处理表.png", user=None)
    out = {"scanned": Record.objects.get(pk=scanned).reference_code, "paper": Record.objects.get(pk=paper).reference_code}
print(json.dumps(out))
"""


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (40, 60), 200).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Node:
    name: str
    data: Path
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[int, Any]:
        done = subprocess.run([*LANTAI, *args], env=self.env, capture_output=True, text=True, timeout=180)  # fmt: skip
        assert done.returncode in ok, f"{self.name} {args}: exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"  # fmt: skip
        try:
            return done.returncode, json.loads(done.stdout)
        except ValueError:
            return done.returncode, done.stdout

    def python(self, code: str, *args: str) -> Any:
        done = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code, *args], env=self.env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, f"{self.name}: {done.stdout}\n{done.stderr[-3000:]}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    def start(self) -> None:
        self.launch()
        wait_for(self.answers, f"{self.name} to answer")

    def launch(self) -> None:
        self.log = self.data.parent / f"{self.name}.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*LANTAI, "serve", "--no-worker", "--bind", f"127.0.0.1:{self.port}", "--workers", "1"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip

    def answers(self) -> bool:
        import requests

        assert self.process is not None and self.process.poll() is None, (self.log.read_text()[-3000:] if self.log else "")  # fmt: skip
        try:
            return requests.get(f"{self.url}/login/", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None


def _recreate(database: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f"CREATE DATABASE \"{database}\" ENCODING 'UTF8' TEMPLATE template0")


def _drop(database: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass
class Region:
    hub: Node
    nz: Node
    bc: Node


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Region]:
    root = tmp_path_factory.mktemp("region")
    png = root / "scan.png"
    png.write_bytes(_png())
    base = {k: v for k, v in os.environ.items() if not k.startswith("LANTAI_")}
    base.update(LANTAI_SECRET_KEY="region-test-secret", LANTAI_PUBLIC_SEARCH_RATE="10000/min",
                LANTAI_JOBS_IMMEDIATE="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))  # fmt: skip
    nodes: dict[str, Node] = {}
    for name, database in (("hub", ""), ("nz", ""), ("bc", DATABASE)):
        data = root / name / "data"
        data.mkdir(parents=True)
        env = {**base, "LANTAI_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "lantai.settings"}
        if database:
            _recreate(database)
            env["LANTAI_DATABASE_URL"] = f"{PG_SERVER}/{database}"
        nodes[name] = Node(name, data, env, free_port())
    hub, nz, bc = nodes["hub"], nodes["nz"], nodes["bc"]
    setups = {
        node.name: subprocess.Popen(
            [sys.executable, "-c", SETUP, code, name, marriages, str(png)],
            env=node.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for node, code, name, marriages in (
            (hub, "450000", "岭南省档案馆", "0"),
            (nz, "450100", "南州市档案馆", "0"),
            (bc, "450123", "北川县档案馆", "1"),
        )  # fmt: skip
    }  # the three "machines" set up side by side
    for name, process in setups.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-4000:]
        nodes[name].facts = json.loads(out.strip().splitlines()[-1])
    try:
        for node in nodes.values():
            node.launch()
        for node in nodes.values():
            wait_for(node.answers, f"{node.name} to answer")
        yield Region(hub, nz, bc)
    finally:
        for node in nodes.values():
            node.stop()
        _drop(DATABASE)
