"""`lantai review …` from the console: the pre-screen of files (checked from outside, keep stable)
in a process of its own on a data directory that was never initialised, and the plan → export →
import → deferral-list commands on the test database."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from django.utils import timezone

from lantai.cli import main
from lantai.review import publishing
from lantai.review.models import ReviewTask
from lantai.review.services import Proposal
from tests.review.conftest import ID_NUMBER, Archive, item_of, resident_id
from tests.search.test_text import pdf_with_text

ROOT = Path(__file__).resolve().parents[2]
KINDS = {
    "id18", "id15", "phone", "bankcard", "passport", "uscc", "person", "place", "org",
    "privacy", "secret-mark", "lexicon",
}  # fmt: skip
SPAN_KEYS = {"start", "end", "text", "category", "kind", "ground", "rule", "version", "score"}
OTHER_ID = resident_id("44030419800101002")
A_TEXT = f"张三因患肺结核住院治疗。\n身份证号：{ID_NUMBER}，联系电话13912345678。\n本件标注“秘密★10年”。\n"
# GB18030: 䶮 (U+4DAE) and 𠀀 (U+20000) are outside GBK; they must not shift any offset
B_TEXT = f"王䶮同志𠀀判处有期徒刑三年，身份证号{OTHER_ID}。\n"
C_TEXT = f"李四的公民身份号码为{ID_NUMBER}"


def lantai(data: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LANTAI_DATABASE_URL"}
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY="x")
    return subprocess.run(
        [sys.executable, "-m", "lantai.cli", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("screen")
    a, b, c = folder / "a.txt", folder / "b_gb18030.txt", folder / "c.pdf"
    a.write_text(A_TEXT, encoding="utf-8")
    b.write_bytes(B_TEXT.encode("gb18030"))
    c.write_bytes(pdf_with_text(C_TEXT))
    return {"a": a, "b": b, "c": c}


@pytest.fixture(scope="module")
def screened(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("never-initialised") / "data"  # does not even exist
    done = lantai(data, "review", "screen", "a.txt", "b_gb18030.txt", "c.pdf", "--json",
                  cwd=files["a"].parent)  # fmt: skip
    return done, data


def file_text(path: Path) -> str:
    from lantai.review.cli import read_text

    return str(read_text(path))


def test_screen_prints_exactly_the_documented_json(screened: Any) -> None:
    done, _ = screened
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"documents"}
    assert [d["file"] for d in out["documents"]] == ["a.txt", "b_gb18030.txt", "c.pdf"]
    for doc in out["documents"]:
        assert set(doc) == {"file", "spans", "seconds"}, doc
        assert isinstance(doc["seconds"], (int, float)) and doc["seconds"] >= 0
        for span in doc["spans"]:
            assert set(span) == SPAN_KEYS, span
            assert span["kind"] in KINDS, span
            assert isinstance(span["start"], int) and isinstance(span["end"], int)
            assert isinstance(span["score"], (int, float)) and 0 <= span["score"] <= 1


def test_every_span_points_at_its_text_in_the_file(screened: Any, files: dict[str, Path]) -> None:
    done, _ = screened
    out = json.loads(done.stdout)
    texts = {"a.txt": A_TEXT, "b_gb18030.txt": B_TEXT, "c.pdf": file_text(files["c"])}
    for doc in out["documents"]:
        text = texts[doc["file"]]
        for span in doc["spans"]:
            assert text[span["start"] : span["end"]] == span["text"], (doc["file"], span)
    by_file = {d["file"]: d["spans"] for d in out["documents"]}
    assert ID_NUMBER in {s["text"] for s in by_file["a.txt"] if s["kind"] == "id18"}
    assert "13912345678" in {s["text"] for s in by_file["a.txt"] if s["kind"] == "phone"}
    assert any(s["kind"] == "secret-mark" for s in by_file["a.txt"])
    assert any(s["kind"] == "privacy" and s["text"] == "张三" for s in by_file["a.txt"])
    assert OTHER_ID in {s["text"] for s in by_file["b_gb18030.txt"] if s["kind"] == "id18"}
    assert ID_NUMBER in {s["text"] for s in by_file["c.pdf"] if s["kind"] == "id18"}


def test_screen_registers_nothing_on_the_data_directory(screened: Any) -> None:
    done, data = screened
    assert done.returncode == 0
    made = sorted(str(p.relative_to(data)) for p in data.rglob("*")) if data.exists() else []
    assert not [p for p in made if "sqlite" in p or p.endswith(".db")], made


def test_a_missing_file_is_exit_2_with_valid_json(files: dict[str, Path], tmp_path: Path) -> None:
    done = lantai(tmp_path / "data", "review", "screen", "a.txt", "nowhere.txt", "--json",
                  cwd=files["a"].parent)  # fmt: skip
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    out = json.loads(done.stdout)
    docs = {d["file"]: d for d in out["documents"]}
    assert docs["a.txt"]["spans"] and "nowhere.txt" in docs["nowhere.txt"]["error"]


# --- on the test database (CliRunner in this process) -------------------------------------------
def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.mark.django_db
def test_plan_export_import_and_deferral_list_commands(
    archive: Archive, index: str, walk: Any, tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    due = archive.record("关于职工病退的审批报告", date="19850301")
    archive.record("2010年文书", date="20100301")
    secret = archive.record("绝密文件", date="20000301", classification="绝密")
    dry = invoke(
        ["review", "plan", "--name", "试算", "--as-of", "2026-06-01", "--dry-run", "--json"]
    )
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert planned["records"] == 1 and "task" not in planned
    assert [e["档号"] for e in planned["excluded"]] == [secret.reference_code]
    assert not ReviewTask.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        made = invoke([
            "review", "plan", "--name", "1985年到期审核", "--as-of", "2026-06-01",
            "--reviewer", "reviewer_li", "--reviewer", "reviewer_wang", "--json",
        ])  # fmt: skip
    assert made.exit_code == 0, made.output
    task = ReviewTask.objects.get(pk=json.loads(made.stdout)["task"])
    item = item_of(task, due)
    assert item.stage == "first"
    year = timezone.localdate().year + 2
    walk(item, Proposal("deferred", ground="art8-3", rule="涉及职工病史", rereview_year=year))
    publishing.publish(list(publishing.ready(task)), archive.users["senior"])
    tasks = json.loads(invoke(["review", "tasks", "--json"]).stdout)["tasks"]
    assert [(t["task"], t["total"], t["published"]) for t in tasks] == [(task.pk, 1, 1)]
    xlsx = tmp_path / "延期开放目录.xlsx"
    listed = invoke(["review", "deferral-list", "--task", str(task.pk), "--out", str(xlsx)])
    assert listed.exit_code == 0, listed.output
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes())).active
    assert [c.value for c in sheet[2]][1] == due.reference_code
    out = tmp_path / "results.xml"
    exported = invoke(["review", "export", str(task.pk), "--out", str(out), "--xml"])
    assert exported.exit_code == 0, exported.output
    preview = invoke(["review", "import", str(out), "--json"])
    assert preview.exit_code == 0, preview.output
    changes = json.loads(preview.stdout)["changes"]
    assert [(c["reference_code"], c["action"]) for c in changes] == [
        (due.reference_code, "propose")
    ]
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(out.read_bytes().replace("涉及职工病史".encode(), "无".encode()))
    refused = invoke(["review", "import", str(tampered), "--json"])
    assert refused.exit_code == 2 and "签名验证未通过" in json.loads(refused.stdout)["error"]
    bad_day = invoke(["review", "plan", "--name", "x", "--as-of", "2026-13-01", "--json"])
    assert bad_day.exit_code == 2 and "2026-13-01" in json.loads(bad_day.stdout)["error"]
