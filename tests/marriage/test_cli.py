"""`lantai marriage …` and `lantai certificate …` in process (click's runner): the JSON and the
exit codes of the issue's interface, on the test database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lantai.catalog.models import Fonds
from lantai.cli import main
from tests.marriage.conftest import WIFE
from tests.marriage.test_import import _csv, _rows

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_import_without_fonds_uses_the_one_fonds_holding_marriage_records(
    couple: dict[str, int], tmp_path: Path
) -> None:
    code, out = _run("marriage", "import", str(_csv(tmp_path / "e.csv", _rows(2))))
    assert code == 0 and out["ok"] and out["rows_imported"] == 2, out
    second = Fonds.objects.create(repository=Fonds.objects.get().repository, code="MZ2",
                                  name="另一民政局", creator="另一民政局")  # fmt: skip
    from lantai.marriage.records import category_of

    category_of(second)
    code, out = _run("marriage", "import", str(tmp_path / "e.csv"))
    assert code == 2 and not out["ok"] and "MZHY" in out["error"] and "MZ2" in out["error"]
    code, out = _run("marriage", "import", str(tmp_path / "e.csv"), "--fonds", "mzhy")
    assert code == 0 and out["rows_unchanged"] == 2
    code, out = _run("marriage", "import", str(tmp_path / "none.csv"), "--fonds", "MZHY")
    assert code == 2 and out["ok"] is False and out["error"]


def test_find_and_issue_as_the_issue_names_them(couple: dict[str, int], tmp_path: Path) -> None:
    number = WIFE.id_number or ""
    requester = ["--requester-type", "self", "--requester-name", WIFE.name,
                 "--requester-id", number, "--proof", "id_document=原件已核验"]  # fmt: skip
    code, out = _run("marriage", "find", "--id", number, *requester)
    assert code == 0 and [r["record_id"] for r in out["results"]] == [
        couple["marriage"],
        couple["divorce"],
    ]
    code, out = _run("marriage", "find", "--id", number, "--requester-type", "court",
                     "--requester-name", "某法官")  # fmt: skip
    assert code == 1 and out["ok"] is False and out["refused"] and out["error"]
    code, out = _run("marriage", "find", "--id", "123", *requester)
    assert code == 2 and out["ok"] is False
    pdf = tmp_path / "c.pdf"
    code, out = _run("certificate", "issue", "--record", str(couple["marriage"]), *requester,
                     "--purpose", "房产过户", "--out", str(pdf))  # fmt: skip
    assert code == 0 and set(out) == {"number", "payload", "pdf", "qr_version"}
    assert pdf.read_bytes().startswith(b"%PDF-") and out["qr_version"] <= 12
    code, verdict = _run("certificate", "verify", str(pdf))
    assert code == 0 and verdict["valid"] and verdict["number"] == out["number"]
    code, verdict = _run("certificate", "verify", "--payload", out["payload"][:-3])
    assert code == 1 and verdict["valid"] is False and verdict["reason"] == "malformed"
    code, verdict = _run("certificate", "verify", str(tmp_path / "missing.pdf"))
    assert code == 2 and verdict["valid"] is False


def test_bad_requests_stop_before_anything_is_issued(
    couple: dict[str, int], tmp_path: Path
) -> None:
    from lantai.certificates.models import Certificate

    number = WIFE.id_number or ""
    requester = [
        "--requester-type",
        "self",
        "--requester-name",
        WIFE.name,
        "--requester-id",
        number,
    ]
    code, out = _run("certificate", "issue", "--record", str(couple["marriage"]), *requester,
                     "--proof", "id_document=x", "--purpose", "p",
                     "--out", str(tmp_path / "no-such-dir" / "c.pdf"))  # fmt: skip
    assert code == 2 and out["ok"] is False and not Certificate.objects.exists()
    code, out = _run("certificate", "issue", "--record", str(couple["marriage"]), *requester,
                     "--proof", "bogus=1", "--purpose", "p", "--out", str(tmp_path / "c.pdf"))  # fmt: skip
    assert code == 2 and "bogus" in out["error"] and not Certificate.objects.exists()
    header_only = tmp_path / "h.csv"
    header_only.write_text(",".join(["登记类别", "登记日期", "登记机关", "行政区划代码", "男方姓名",
                                     "女方姓名"]) + "\n", encoding="utf-8")  # fmt: skip
    code, out = _run("marriage", "import", str(header_only))
    assert code == 1 and out["ok"] is False and out["status"] == "rejected"


def test_a_key_is_withdrawn_once(couple: dict[str, int]) -> None:
    from lantai.certificates import keys

    key = keys.signing_key(Fonds.objects.get().repository)
    assert _run("certificate", "withdraw-key", key.key_id, "--reason", "登记错误")[0] == 0
    code, out = _run("certificate", "withdraw-key", key.key_id, "--reason", "again")
    assert code == 1 and "已于" in out["error"]
    assert _run("certificate", "withdraw-key", "0" * 16, "--reason", "x")[0] == 2
