"""The demo generator: deterministic, well-formed rows that follow the 档号 rules (no database)."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from lantai.catalog import columns
from lantai.catalog.readers import open_table
from lantai.demo import generator as g
from lantai.standards import archival_code as ac
from lantai.standards import vocabularies as vocab


def _digest(rows: object) -> str:
    h = hashlib.sha256()
    for row in rows:  # type: ignore[attr-defined]
        h.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def archive() -> g.DemoArchive:
    return g.build_archive(5000, seed=7)


@pytest.fixture(scope="module")
def rows_by_category(archive: g.DemoArchive) -> dict[str, list[dict]]:
    return {c.key: list(c.rows()) for c in archive.categories}


def test_same_seed_same_rows_and_other_seed_other_rows() -> None:
    a = _digest(g.build_archive(1500, seed=11).rows())
    b = _digest(g.build_archive(1500, seed=11).rows())
    c = _digest(g.build_archive(1500, seed=12).rows())
    assert a == b
    assert a != c
    one = list(itertools.islice(g.category_rows(300, seed=5), 300))
    assert one == list(g.category_rows(300, seed=5))
    assert one != list(g.category_rows(300, seed=6))


def test_archive_holds_exactly_the_requested_rows(archive: g.DemoArchive, rows_by_category) -> None:
    assert sum(len(r) for r in rows_by_category.values()) == 5000
    for spec in archive.categories:
        assert len(rows_by_category[spec.key]) == spec.count, spec.key
    levels = Counter(r.level for r in archive.repositories)
    assert levels == {"provincial": 1, "city": 4}
    for repo in archive.repositories:
        codes = [f.code for f in archive.fonds if f.repository == repo]
        assert len(codes) == len(set(codes)), repo.name
    assert {c.code for c in archive.categories} >= {"WS", "KU"}


def test_structure_scales_without_generating_rows() -> None:
    big = g.build_archive(10_000_000, seed=1)
    assert sum(c.count for c in big.categories) == 10_000_000
    assert len(big.fonds) > 100
    assert {c.code for c in big.categories} == set(g.CATEGORY_RULES)
    small = g.build_archive(1000, seed=1)
    assert 8 <= len(small.fonds) < len(big.fonds)


def test_codes_follow_the_category_rule_unique_and_gap_free(
    archive: g.DemoArchive, rows_by_category
) -> None:
    all_codes: Counter[tuple[str, str]] = Counter()
    for spec in archive.categories:
        rule = ac.get_rule(spec.code_rule)
        rows = rows_by_category[spec.key]
        codes = [r["reference_code"] for r in rows]
        for row in rows:
            parsed = rule.parse(row["reference_code"])
            comps = parsed.components
            assert comps["fonds"] == spec.fonds.code
            assert comps["category"] == spec.code
            if "year" in comps:
                assert int(comps["year"]) == row["year"]
            if "retention" in comps:
                assert comps["retention"] == vocab.normalize_retention(row["retention"]).code
            if "org" in comps:
                assert comps["org"] == row["org_code"]
        errors: list[ac.CodeError] = []
        assert ac.find_gaps(codes, rule, errors=errors) == [], spec.key
        assert errors == []
        assert ac.find_duplicates(codes) == {}
        all_codes.update((spec.fonds.repository.code, c) for c in codes)
    assert max(all_codes.values()) == 1  # unique within each repository


def test_ws_codes_parse_under_the_dat22_rule() -> None:
    rule = ac.get_rule("dat22")
    rows = list(g.category_rows(3000, seed=3))
    assert len(rows) == 3000
    for row in rows:
        assert rule.parse(row["reference_code"]).rule == "dat22"
    assert rows[0]["reference_code"].startswith("Z109-WS·1950-")
    assert ac.find_gaps((r["reference_code"] for r in rows), rule) == []


def test_values_are_valid_and_plausible(archive: g.DemoArchive, rows_by_category) -> None:
    labels = {"公开", "限制", "秘密", "机密"}
    statuses = Counter()
    classes = Counter()
    legacy = 0
    for spec in archive.categories:
        lo, hi = (1925, 1949) if spec.fonds.revolutionary else (g.FIRST_YEAR, g.LAST_YEAR)
        for row in rows_by_category[spec.key]:
            assert set(row) - {"collection"} == set(g.ROW_FIELDS)
            day = date.fromisoformat(row["date"])
            assert day.year == row["year"]
            assert lo <= row["year"] <= hi
            assert 1 <= row["pages"] <= 120
            assert row["classification"] in labels
            assert row["title"] and "{" not in row["title"] and "}" not in row["title"]
            assert "管理管理" not in row["title"]
            assert row["author"]
            retention = vocab.normalize_retention(row["retention"])
            legacy += retention.legacy is not None
            if retention.legacy:
                assert row["year"] < 2006
            if row["open_status"] == "开放":
                assert row["classification"] == "公开"
                assert vocab.open_due_date(day) <= g.AS_OF
            statuses[row["open_status"]] += 1
            classes[row["classification"]] += 1
    total = sum(statuses.values())
    assert set(statuses) == {"开放", "未开放", "控制使用"}
    assert classes["公开"] > total * 0.6
    assert classes["秘密"] and classes["机密"]
    assert legacy > 0


def test_older_records_are_more_often_classified() -> None:
    old, new = Counter(), Counter()
    for row in g.category_rows(20000, seed=9):
        bucket = old if row["year"] < 1980 else new if row["year"] >= 2000 else None
        if bucket is not None:
            bucket[row["classification"] != "公开"] += 1
    assert old[True] / sum(old.values()) > 2 * new[True] / sum(new.values())


def test_document_numbers_look_like_wenhao() -> None:
    numbers = [r["document_number"] for r in g.category_rows(5000, seed=4) if r["document_number"]]
    assert len(numbers) > 2500
    modern = [n for n in numbers if "〔" in n]
    assert modern and all(n.startswith("岭") and n.endswith("号") for n in modern)
    assert any(n.startswith("岭教发〔") for n in modern)


def test_red_collection_rows(archive: g.DemoArchive, rows_by_category) -> None:
    red = [r for rows in rows_by_category.values() for r in rows if r.get("collection") == g.RED]
    assert 50 <= len(red) <= 400
    revolutionary = [c for c in archive.categories if c.fonds.revolutionary]
    assert len(revolutionary) == 1
    assert all(r.get("collection") == g.RED for r in rows_by_category[revolutionary[0].key])
    early = [r for r in red if r["year"] <= 1979 and not r["reference_code"].startswith("G001-")]
    assert early, "red items among the early records of the government bodies"
    assert all(r["classification"] == "公开" and r["retention"] == "Y" for r in red)
    words = (
        "革命",
        "红军",
        "长征",
        "抗美援朝",
        "土地",
        "抗日",
        "解放",
        "烈士",
        "老区",
        "农民",
        "军",
    )
    assert sum(any(w in r["title"] for w in words) for r in red) > len(red) * 0.8


def test_write_csv_is_a_catalogue_the_importer_reads(tmp_path: Path) -> None:
    rows = list(g.category_rows(50, seed=2))
    for encoding in ("utf-8", "gb18030"):
        path = tmp_path / f"目录-{encoding}.csv"
        assert g.write_csv(path, rows, encoding=encoding) == 50
        table = open_table(path)
        assert table.headers == [h for h, _ in columns.export_columns()]
        mapping = columns.auto_mapping(table.headers)
        got = list(table.rows())
        assert len(got) == 50
        first = dict(zip([mapping[h] for h in table.headers], got[0][1], strict=True))
        assert first["sequence"] == "1"
        assert first["reference_code"] == rows[0]["reference_code"]
        assert first["title"] == rows[0]["title"]
        assert first["date"] == rows[0]["date"]


def test_write_xlsx(tmp_path: Path) -> None:
    rows = list(g.category_rows(20, seed=2))
    path = tmp_path / "目录.xlsx"
    assert g.write_xlsx(path, rows) == 20
    table = open_table(path)
    got = list(table.rows())
    assert len(got) == 20
    assert got[-1][1][1] == rows[-1]["reference_code"]
