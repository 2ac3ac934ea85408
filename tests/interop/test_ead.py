"""EAD 2002 and EAD3 finding aids of a whole fonds: CLI (`lantai export ead`) and the staff
download; valid against ead.xsd / ead3.xsd; closed records with their access restriction, never
marriage records or records with a 密级."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from lantai.interop.cli import export
from tests.interop.conftest import NS, Catalogue, assert_valid, schema


def run(*args: str) -> Any:
    return CliRunner().invoke(export, list(args), catch_exceptions=False)


def units(doc: etree._Element, ns: str) -> dict[str, etree._Element]:
    return {
        c.findtext(f"{ns}:did/{ns}:unitid", namespaces=NS): c
        for c in doc.iterfind(f".//{ns}:c", NS)
        if c.get("level") in ("item", "file")
    }


@pytest.mark.parametrize(
    ("flag", "xsd", "ns"), [((), "ead.xsd", "ead"), (("--ead3",), "ead3.xsd", "ead3")]
)
def test_cli_export_is_valid_and_complete(
    catalogue: Catalogue, tmp_path: Path, flag: tuple[str, ...], xsd: str, ns: str
) -> None:
    out = tmp_path / "Z109.xml"
    result = run("ead", "--fonds", "Z109", "--out", str(out), "--json", *flag)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["fonds"] == "Z109" and data["out"] == str(out)
    doc = etree.parse(str(out)).getroot()
    assert_valid(schema(xsd), doc)
    archdesc = doc.find(f"{ns}:archdesc", NS)
    assert archdesc.get("level") == "fonds"
    assert archdesc.findtext(f"{ns}:did/{ns}:unitid", namespaces=NS) == "Z109"
    assert archdesc.find(f"{ns}:did/{ns}:unitdate", NS).get("normal") == "1985"
    got = units(doc, ns)
    z109_open = [r for r in catalogue.open_records if r.fonds_id == catalogue.fonds.pk]
    closed, restricted = catalogue.hidden["closed"], catalogue.hidden["restricted"]
    assert set(got) == {r.reference_code for r in [*z109_open, closed, restricted]}
    assert data["records"] == len(got)
    assert (
        got[closed.reference_code].findtext(f"{ns}:accessrestrict/{ns}:p", namespaces=NS)
        == "未开放"
    )
    assert (
        got[restricted.reference_code].findtext(f"{ns}:accessrestrict/{ns}:p", namespaces=NS)
        == "控制使用"
    )
    assert got[z109_open[0].reference_code].find(f"{ns}:accessrestrict", NS) is None
    text = out.read_text(encoding="utf-8")
    assert "秘藏婚姻登记" not in text and "秘藏密件登记簿" not in text  # HY, 密级
    series = [c for c in doc.iterfind(f".//{ns}:c", NS) if c.get("level") == "series"]
    assert [c.findtext(f"{ns}:did/{ns}:unittitle", namespaces=NS) for c in series] == ["文书"]


def test_cli_errors(catalogue: Catalogue, tmp_path: Path) -> None:
    result = run("ead", "--fonds", "NOPE", "--out", str(tmp_path / "x.xml"), "--json")
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert data["ok"] is False and "NOPE" in data["error"]
    result = run("ead", "--fonds", "Z109", "--repository", "999", "--out", str(tmp_path / "x.xml"))
    assert result.exit_code == 2 and "999" in result.output
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = run("ead", "--fonds", "Z109", "--out", str(blocked / "x.xml"), "--json")
    assert result.exit_code == 2 and json.loads(result.output)["field"] == "out"


def test_staff_download(catalogue: Catalogue, client: Any) -> None:
    from lantai.core import accounts

    url = f"/interop/fonds/{catalogue.fonds.pk}/ead.xml"
    assert client.get(url).status_code == 302  # sign in first
    user = accounts.create_user("zhangsan", role="cataloguer", password="Lantai#Archive2024",
                                scope_all=True)  # fmt: skip
    client.force_login(user)
    response = client.get(url + "?version=ead3")
    assert response.status_code == 200
    assert "EAD3" in response["Content-Disposition"]
    doc = etree.fromstring(b"".join(response.streaming_content))
    assert_valid(schema("ead3.xsd"), doc)
    response = client.get(url)
    doc = etree.fromstring(b"".join(response.streaming_content))
    assert_valid(schema("ead.xsd"), doc)
    assert client.get("/interop/fonds/999999/ead.xml").status_code == 404
