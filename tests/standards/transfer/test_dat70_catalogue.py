"""The versioned DA/T 70-2018 catalogue: stages, properties, item codes, Lantai's checks."""

from __future__ import annotations

import pytest

from lantai.standards.dat70 import PROPERTIES, CheckResult, load_catalogue


def test_every_stage_has_the_standards_contents() -> None:
    cat = load_catalogue()
    assert cat.version == "DA/T 70-2018"
    codes = {s: [c.code for c in cat.contents(s)] for s in ("gd", "yj", "bc")}
    base = [f"{p}-{n}" for p, ns in ((1, 5), (2, 4), (3, 4), (4, 3)) for n in range(1, ns + 1)]
    assert codes["gd"] == base
    assert codes["yj"] == base
    assert codes["bc"] == [*base, "4-4"]  # 载体保管环境安全性 only in 长期保存
    yj21 = cat.content("yj", "2-1")
    assert yj21.property == "integrity"
    assert "附件 3" in yj21.method_zh and "字节数" in yj21.method_zh
    assert cat.content("bc", "3-4").title_zh == "备份数据可恢复性检测"
    assert cat.content("yj", "1-5").title_zh == "移交信息包真实性检测"
    with pytest.raises(KeyError):
        cat.contents("xx")


def test_item_codes_confirmed_and_inferred() -> None:
    cat = load_catalogue()
    assert cat.item("YJ-1-6").title_zh == "元数据项数据包含特殊字符检测"
    assert cat.item("YJ-1-6").status == "confirmed"
    assert cat.item("YJ-1-8").status == "confirmed"
    assert cat.item("GD-2-6").status == "confirmed"
    assert cat.item("YJ-1-7").status == "inferred"
    assert cat.item("GD-1-9").status == "unresolved"


def test_lantai_checks_map_onto_the_yj_stage() -> None:
    cat = load_catalogue()
    fixity = cat.check("fixity")
    assert (fixity.property, fixity.content_code) == ("authenticity", "1-1")
    assert fixity.method_zh == cat.content("yj", "1-1").method_zh
    assert cat.check("metadata_special_chars").item_code == "YJ-1-6"
    assert cat.check("metadata_duplicates").item_code == "YJ-1-8"
    assert cat.check("metadata_duplicates").item_code_inferred is False
    assert cat.check("archival_code_rule").item_code_inferred is True
    assert cat.check("register_byte_count").content_code == "2-1"
    assert cat.check("virus_scan").property == "security"
    # every yj content except the carrier-free ones is covered by at least one Lantai check
    covered = {c.content_code for c in cat.checks.values() if c.stage == "yj"}
    assert covered == {c.code for c in cat.contents("yj")}
    # 长期保存: every content a system can check (not carriers, rooms or software audits)
    bc = {c.content_code for c in cat.checks.values() if c.stage == "bc"}
    assert bc == {"1-1", "1-5", "2-1", "2-2", "2-4", "3-2", "3-4", "4-1"}
    assert cat.check("bc_backup_recoverable").method_zh == cat.content("bc", "3-4").method_zh
    assert [c.key for c in cat.checks_for("4-1", "bc")] == ["bc_virus_scan"]
    with pytest.raises(KeyError, match="unknown check key"):
        cat.check("no_such_check")


def test_check_result_from_spec() -> None:
    r = CheckResult.from_spec(
        "metadata_duplicates",
        "fail",
        object="文件目录.XML",
        evidence={"found": ["Z109-WS·2020-Y-BGS-0001"]},
    )
    assert (r.property, r.content_code, r.item_code) == ("authenticity", "1-2", "YJ-1-8")
    assert r.title == "元数据项数据重复性检测"
    assert r.as_dict()["evidence"] == {"found": ["Z109-WS·2020-Y-BGS-0001"]}
    spec = load_catalogue().check("environment")
    na = CheckResult.for_check(spec, "na", evidence={"reason": "未声明软硬件环境"})
    assert na.property in PROPERTIES and na.content_code == "3-3" and na.object == "package"
    with pytest.raises(ValueError):
        CheckResult.from_spec(spec, "ok")
