"""The hub's thin index (platform/hub_index.py): catalogue search with exact-substring semantics
and facets by archives, and the region-wide marriage index (exact by keyed ID hash, fuzzy by
names and year). Runs on SQLite and on PostgreSQL (FTS5 / tsvector)."""

from __future__ import annotations

from typing import Any

import pytest

from lantai.platform import hub_index
from lantai.platform.models import HubMarriage, HubParty, HubRecord, Member

pytestmark = pytest.mark.django_db


def _member(code: str, name: str) -> Member:
    return Member.objects.create(
        code=code, name=name, url=f"http://{code.lower()}.example", public_key="00"
    )


def _row(ident: str, title: str, **kw: Any) -> dict[str, Any]:
    return {"identifier": f"oai:x:{ident}", "reference_code": kw.pop("ref", ident), "title": title,
            "datestamp": "2026-01-01", "date": kw.pop("date", "1998-05-04"),
            "url": f"http://n.example/r/{ident}", **kw}  # fmt: skip


@pytest.fixture
def two() -> tuple[Member, Member]:
    a, b = _member("A01", "甲市档案馆"), _member("B02", "乙县档案馆")
    hub_index.store_records(a, [
        _row("a1", "关于召开全县人民政府工作会议的通知"),
        _row("a2", "人民，政府联席会议纪要"),
        _row("a3", "民兵训练计划", ref="J001-WS·2024-Y-0001"),
        _row("a4", "粮食统计年报", description="含人民公社资料"),
    ])  # fmt: skip
    hub_index.store_records(b, [
        _row("b1", "县人民政府关于水利建设的批复"),
        _row("b2", "ＡＢＣ公司营业执照", creator="工商局"),
    ])  # fmt: skip
    return a, b


def _idents(result: dict[str, Any]) -> set[str]:
    return {h["identifier"].split(":")[-1] for h in result["hits"]}


def test_tokens() -> None:
    assert hub_index.text_tokens("人民政府 J001-WS·2024") == ["人民", "民政", "政府", "府", "j001", "ws", "2024"]  # fmt: skip
    assert hub_index.text_tokens("县") == ["县"]
    assert hub_index.query_tokens("人民政府") == (["人民", "民政", "政府"], False)
    assert hub_index.query_tokens("民") == (["民"], True)
    assert hub_index.query_tokens("人民x") == (["人民", "民", "x"], False)


def test_exact_substring_not_across_a_gap(two: tuple[Member, Member]) -> None:
    assert _idents(hub_index.search("人民政府")) == {"a1", "b1"}
    # 人民，政府 has a gap: not a match; but each side alone is
    assert "a2" not in _idents(hub_index.search("人民政府"))
    assert "a2" in _idents(hub_index.search("人民"))
    assert _idents(hub_index.search("民政")) == {"a1", "b1"}
    assert _idents(hub_index.search("政府工作")) == {"a1"}
    assert _idents(hub_index.search("府工作会")) == {"a1"}
    assert _idents(hub_index.search("召开县")) == set()  # not a substring
    # the description is searched; width and case are folded
    assert _idents(hub_index.search("人民公社")) == {"a4"}
    assert _idents(hub_index.search("abc公司")) == {"b2"}
    assert _idents(hub_index.search("工商局")) == {"b2"}
    # a reference code, whatever separates its parts
    assert _idents(hub_index.search("J001-WS·2024")) == {"a3"}
    assert _idents(hub_index.search("j001 ws 2024 y 0001")) == {"a3"}


def test_one_character(two: tuple[Member, Member]) -> None:
    # 民 anywhere, also last in a run (人民，) and first (民兵)
    assert _idents(hub_index.search("民")) == {"a1", "a2", "a3", "a4", "b1"}
    assert _idents(hub_index.search("批")) == {"b1"}
    assert _idents(hub_index.search("复")) == {"b1"}  # the last character of a text
    assert _idents(hub_index.search("鑫")) == set()
    # a Han run of the query that something follows must end a run of the text
    assert _idents(hub_index.search("纪要")) == {"a2"}


def test_facets_filter_and_pages(two: tuple[Member, Member]) -> None:
    a, b = two
    r = hub_index.search("人民")
    assert r["total"] == 4 and not r["total_capped"]
    assert [(f["code"], f["count"]) for f in r["facets"]] == [("A01", 3), ("B02", 1)]
    assert r["facets"][0]["name"] == "甲市档案馆"
    r = hub_index.search("人民", archives=["B02"])
    assert _idents(r) == {"b1"} and r["total"] == 1
    assert [(f["code"], f["count"], f["selected"]) for f in r["facets"]] == [("A01", 3, False), ("B02", 1, True)]  # fmt: skip
    hit = r["hits"][0]
    assert hit["archives"] == "B02" and hit["url"] == "http://n.example/r/b1" and hit["date"] == "1998-05-04"  # fmt: skip
    p1 = hub_index.search("人民", per_page=3)
    p2 = hub_index.search("人民", per_page=3, page=2)
    assert p1["pages"] == 2 and len(p1["hits"]) == 3 and len(p2["hits"]) == 1
    assert not _idents(p1) & _idents(p2)
    with pytest.raises(hub_index.HubSearchError):
        hub_index.search("人民", archives=["NOPE"])
    assert hub_index.search("，。")["total"] == 0


def test_upsert_delete_and_cap(two: tuple[Member, Member], monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = two
    hub_index.store_records(a, [_row("a1", "档案移交清单")])  # the same identifier: replaced
    assert HubRecord.objects.filter(identifier="oai:x:a1").count() == 1
    assert "a1" not in _idents(hub_index.search("人民政府"))
    assert _idents(hub_index.search("移交清单")) == {"a1"}
    # another member cannot delete a's entry
    assert hub_index.delete_records(b, ["oai:x:a1"]) == 0
    assert hub_index.delete_records(a, ["oai:x:a1"]) == 1
    assert _idents(hub_index.search("移交清单")) == set()
    monkeypatch.setattr(hub_index, "CAP", 2)
    r = hub_index.search("民")
    assert r["total"] == 2 and r["total_capped"]
    # the chosen archives are asked for on their own when the first matches are capped
    assert _idents(hub_index.search("民", archives=["B02"])) == {"b1"}


def test_postgresql_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL the GIN index is split by id range; a search reads the newest range first
    and stops at the cap. Ranges of 5 ids here: the harvest makes their indexes as it goes."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    monkeypatch.setattr(hub_index, "PG_SHARD", 5)
    monkeypatch.setattr(hub_index, "_pg_shards_known", set())
    a = _member("A01", "甲市档案馆")
    hub_index.store_records(a, [_row(f"r{i}", f"第{i}号民兵训练计划") for i in range(23)])
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM platform_hubrecord")
        top = max(i for (i,) in cur.fetchall()) // 5
        assert set(range(top + 2)) <= hub_index._pg_shards(cur)
    assert hub_index.search("民兵训练")["total"] == 23
    monkeypatch.setattr(hub_index, "CAP", 7)
    r = hub_index.search("民兵训练")
    assert r["total"] == 7 and r["total_capped"]
    # the newest entries first
    assert [h["identifier"] for h in r["hits"][:2]] == ["oai:x:r22", "oai:x:r21"]


# ---------------------------------------------------------------- marriage

H1, H2, H3 = "a" * 32, "b" * 32, "c" * 32


def _entry(locator: str, date: str, *parties: tuple[str, str], **kw: Any) -> dict[str, Any]:
    return {"locator": locator, "kind": kw.get("kind", "marriage"), "date": date, "office": "某县民政局",
            "region_code": "450102", "digitized": kw.get("digitized", True), "stamp": "s1",
            "deleted": kw.get("deleted", False),
            "parties": [{"position": i, "name": n, "id_hash": h} for i, (n, h) in enumerate(parties, 1)]}  # fmt: skip


@pytest.fixture
def marriages() -> tuple[Member, Member]:
    a, b = _member("A01", "甲市档案馆"), _member("B02", "乙县档案馆")
    out = hub_index.store_marriage(a, [
        _entry("A01:HY-1990-1", "1990-03-01", ("张伟", H1), ("李娜", H2)),
        _entry("A01:HY-1991-7", "1991-06-01", ("张卫", ""), ("王芳", "")),
        _entry("A01:HY-2005-2", "2005-01-01", ("张伟", ""), ("赵敏", "")),
        _entry("B02:HY-1", "1990-01-01", ("冒名", H1)),  # not A01's: skipped
    ])  # fmt: skip
    assert out == {"stored": 3, "removed": 0, "skipped": 1}
    hub_index.store_marriage(b, [_entry("B02:LH-1992-3", "1992-09-09", ("欧阳明华", H3), ("李娜", H2), kind="divorce")])  # fmt: skip
    return a, b


def _locs(rows: list[dict[str, Any]]) -> list[str]:
    return [r["locator"] for r in rows]


def test_find_by_id_hash(marriages: tuple[Member, Member]) -> None:
    rows = hub_index.find_marriage(id_hash=H1)
    assert _locs(rows) == ["A01:HY-1990-1"]
    r = rows[0]
    assert r["node"] == "A01" and r["archives"] == "甲市档案馆" and r["digitized"] is True
    assert r["parties"] == [{"name": "张伟", "position": 1}, {"name": "李娜", "position": 2}]
    assert "id_hash" not in str(rows)
    assert sorted(_locs(hub_index.find_marriage(id_hash=H2.upper()))) == ["A01:HY-1990-1", "B02:LH-1992-3"]  # fmt: skip
    assert hub_index.find_marriage(id_hash="d" * 32) == []


def test_find_by_names_and_years(marriages: tuple[Member, Member]) -> None:
    rows = hub_index.find_marriage(names=["张伟"], year=1990)
    # exact first, then 同音 (张卫), the 2005 one is outside ± 2 years
    assert _locs(rows) == ["A01:HY-1990-1", "A01:HY-1991-7"]
    assert rows[0]["score"] == 1.0 and rows[1]["score"] < 1.0
    assert _locs(hub_index.find_marriage(names=["张伟"], year=2003)) == ["A01:HY-2005-2"]
    assert "A01:HY-2005-2" in _locs(hub_index.find_marriage(names=["张伟"]))
    # both names: only the registrations that have both
    assert _locs(hub_index.find_marriage(names=["张伟", "李娜"], year=1990)) == ["A01:HY-1990-1"]
    # a left-out middle character (欧阳华 → 欧阳明华)
    assert _locs(hub_index.find_marriage(names=["欧阳华"], year=1992)) == ["B02:LH-1992-3"]
    for bad in ({"names": ["张"]}, {}, {"names": ["张伟"], "id_hash": H1}, {"id_hash": "xyz"},
                {"names": ["张伟"], "years": 11}, {"names": ["张伟"], "year": 1800}):  # fmt: skip
        with pytest.raises(hub_index.HubSearchError):
            hub_index.find_marriage(**bad)


def test_marriage_upsert_and_tombstone(marriages: tuple[Member, Member]) -> None:
    a, _b = marriages
    hub_index.store_marriage(a, [_entry("A01:HY-1990-1", "1990-03-01", ("张伟", H1), ("刘洋", ""))])
    entry = HubMarriage.objects.get(locator="A01:HY-1990-1")
    assert sorted(entry.parties.values_list("name", flat=True)) == ["刘洋", "张伟"]
    assert _locs(hub_index.find_marriage(names=["刘洋"])) == ["A01:HY-1990-1"]
    out = hub_index.store_marriage(a, [{"locator": "A01:HY-1990-1", "deleted": True}])
    assert out["removed"] == 1
    assert hub_index.find_marriage(id_hash=H1) == []
    assert not HubParty.objects.filter(entry_id=entry.pk).exists()
