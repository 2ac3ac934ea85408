"""`lantai digitization …` (issue 14, "checked from outside"): exit 0 all pages placed and no
check failed, 1 check failures or unplaced files, 2 the batch cannot be read; one JSON object
under --json, errors included."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from lantai.catalog.models import Component, Record
from lantai.cli import main
from lantai.digitization.models import Batch

pytestmark = pytest.mark.django_db(transaction=True)


def run_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, [*args, "--json"])
    return result.exit_code, json.loads(result.output)


def test_import_check_inspect_accept_from_the_console(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=1)
    write_page(tmp_path / f"{a.reference_code}-0001.jpg", "关于加强档案数字化工作的通知")
    code, data = run_json("digitization", "import", str(tmp_path))
    assert code == 0, data
    assert data["ok"] and data["status"] == "checked" and data["summary"]["pages"] == 1
    assert data["items"] == [
        {"档号": a.reference_code, "pages": 1, "declared_pages": 1, "sampled": True}
    ]
    assert data["summary"]["checks"]["resolution"]["passed"] == 1
    batch = data["batch"]
    code, refused = run_json("digitization", "accept", str(batch))
    assert code == 1 and not refused["ok"] and "抽检" in refused["error"]
    page = Batch.objects.get(pk=batch).pages.get()
    code, done = run_json("digitization", "inspect", str(batch), str(page.pk), "pass")
    assert code == 0 and done["inspection"] == "pass"
    code, accepted = run_json("digitization", "accept", str(batch))
    assert code == 0 and accepted["pages"] == 1
    assert Component.objects.filter(record=a).count() == 1
    code, status = run_json("digitization", "ocr-status", str(batch))
    assert code == 0 and status["done"] == 1 and status["pending"] == 0  # jobs run at once here
    code, listed = run_json("digitization", "list")
    assert code == 0 and listed["batches"][0]["status"] == "accepted"


def test_failures_exit_1_and_are_listed(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=2)
    write_page(tmp_path / f"{a.reference_code}-0001.jpg", "关于加强档案数字化工作的通知", dpi=100)
    write_page(tmp_path / "Z109-WS·2011-Y-BGS-0404-0001.jpg", "不存在的档号")
    code, data = run_json("digitization", "import", str(tmp_path))
    assert code == 1 and not data["ok"] and data["result"] == "fail"
    found = {(f["code"], f["subject"]) for f in data["findings"] if f["result"] == "fail"}
    assert ("catalogue_link", "Z109-WS·2011-Y-BGS-0404-0001.jpg") in found
    assert ("resolution", f"{a.reference_code}-0001.jpg") in found
    assert ("page_count", a.reference_code) in found
    code, again = run_json("digitization", "check", str(data["batch"]))
    assert code == 1 and again["findings"] == data["findings"]  # a checked batch: its report
    code, back = run_json("digitization", "return", str(data["batch"]), "--reason", "重扫第1页")
    assert code == 0 and back["status"] == "returned"


@pytest.mark.parametrize("what", ["no folder", "bad manifest", "no batch"])
def test_what_cannot_be_read_exits_2(tmp_path: Path, ws: object, what: str) -> None:
    if what == "no folder":
        code, data = run_json("digitization", "import", str(tmp_path / "nope"))
    elif what == "bad manifest":
        (tmp_path / "清单.xlsx").write_bytes(b"not a spreadsheet")
        code, data = run_json("digitization", "import", str(tmp_path))
    else:
        code, data = run_json("digitization", "check", "4040")
    assert code == 2, data
    assert data["ok"] is False and data["error"]


def test_the_report_lists_the_sample_and_bad_options_are_usage_errors(
    tmp_path: Path, make_record: Callable[..., Record], write_page: Callable[..., Path]
) -> None:
    a = make_record(1, pages=1)
    write_page(tmp_path / f"{a.reference_code}-0001.jpg", "关于加强档案数字化工作的通知")
    for bad in (["--purpose", "bogus"], ["--sample-ratio", "2"]):
        code, data = run_json("digitization", "import", str(tmp_path), *bad)
        assert code == 2 and data["ok"] is False, data
    code, data = run_json("digitization", "import", str(tmp_path))
    assert code == 0
    [sampled] = data["sample"]
    assert (sampled["档号"], sampled["页号"], sampled["inspection"]) == (a.reference_code, 1, "")
    code, done = run_json(
        "digitization", "inspect", str(data["batch"]), str(sampled["page"]), "pass"
    )
    assert code == 0
