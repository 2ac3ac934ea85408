"""The search service layer on real catalogue records and a real backend (tantivy; PostgreSQL as
well when the catalogue runs on PostgreSQL, as in CI's second run): documents with full text,
scope from users, incremental updates through the job queue, the catch-up job, reindex, the
`lantai search` command and the public JSON API. A record that is not open never reaches the
public: not in hits, totals, facets, snippets, suggestions, the CLI or /api/public/."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.db import connection
from django.test import Client

from lantai.catalog import importing
from lantai.catalog import services as catalog
from lantai.catalog.components import attach_component
from lantai.catalog.models import Category, Record
from lantai.cli import main
from lantai.core import accounts
from lantai.core.models import User
from lantai.search import services, tasks
from lantai.search.backend import DOCUMENT_FIELDS
from lantai.search.documents import build_documents
from lantai.search.models import PendingChange
from lantai.search.query import FACETS, PUBLIC_FIELDS, Query, Scope, TextCondition
from tests.search.test_text import pdf_with_text

PASSWORD = "Lantai-Test-2024!x"


def _backends() -> list[str]:
    names = ["tantivy"]
    if connection.vendor == "postgresql":
        names.append("postgresql")
    return names


@pytest.fixture(params=["tantivy", "postgresql"])
def index(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty index of the backend under test, used by the services for this test."""
    if request.param not in _backends():
        pytest.skip("the PostgreSQL backend is tested when the catalogue runs on PostgreSQL")
    settings.SEARCH_BACKEND = request.param
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    settings.SEARCH_TEXT_CACHE_DIR = tmp_path / "text"
    settings.SEARCH_TABLE_PREFIX = f"s{uuid.uuid4().hex[:12]}"
    services.reset_backends()
    yield request.param
    for b in list(services._backends.values()):
        drop = getattr(b, "drop", None)
        if callable(drop):
            drop()
    services.reset_backends()


@dataclass
class World:
    z109: Category
    j019: Category
    c001: Category
    open: Record  # 开放, with a GB18030 .txt and an .xml component
    pdf: Record  # 开放, with a PDF whose text layer holds 兰台秘录全文检索
    closed: Record  # 未开放, its full text holds 闭卷全文
    restricted: Record  # 控制使用
    secret: Record  # 未开放, 限制 (level 1)
    other_fonds: Record  # J019, 开放
    repo_b: Record  # C001 in another repository, 开放
    users: dict[str, User]

    @property
    def marriage_open(self) -> set[int]:
        return {self.open.pk, self.other_fonds.pk, self.repo_b.pk}


def add(
    cat: Category, n: int, title: str, status: str, classification: str = "公开", **extra: Any
) -> Record:
    record, issues = catalog.save_record(
        cat,
        {
            "reference_code": f"{cat.fonds.code}-WS·2011-Y-BGS-{n:04d}",
            "title": title,
            "author": "岭南省民政厅",
            "date": f"2011-03-{n:02d}",
            "year": 2011,
            "retention": "永久",
            "classification": classification,
            "open_status": status,
            **extra,
        },
    )
    assert record is not None, issues
    return record


def attach(record: Record, name: str, data: bytes) -> None:
    attach_component(record, [data], name, user=None)


def build_world() -> World:
    repo_b = catalog.create_repository("441900", "岭东市档案馆", level="city")
    z109 = catalog.create_category(catalog.create_fonds("Z109", "岭南省民政厅"), "WS")
    j019 = catalog.create_category(catalog.create_fonds("J019", "岭南省教育厅"), "WS")
    c001 = catalog.create_category(catalog.create_fonds("C001", "岭东市民政局", repository=repo_b), "WS")  # fmt: skip
    w_open = add(z109, 1, "关于婚姻登记工作的通知", "开放", remarks="内部备注仅工作人员可见")
    attach(w_open, "说明.txt", "本件涉及涉外婚姻登记程序".encode("gb18030"))
    attach(
        w_open, "正文.xml", "<?xml version='1.0'?><文件><正文>收养登记办法</正文></文件>".encode()
    )
    w_pdf = add(z109, 2, "年度工作总结", "开放")
    attach(w_pdf, "总结.pdf", pdf_with_text("兰台秘录全文检索测试"))
    closed = add(z109, 3, "婚姻纠纷调解记录", "未开放")
    attach(closed, "记录.txt", "闭卷全文记载调解经过".encode())
    restricted = add(z109, 4, "婚姻状况证明存根", "控制使用")
    secret = add(z109, 5, "婚姻档案专项检查报告", "未开放", classification="限制")
    other_fonds = add(j019, 6, "婚姻法宣传材料", "开放")
    in_b = add(c001, 7, "婚姻登记统计表", "开放")

    def user(name: str, role: str, *, clearance: int = 0, scope_all: bool = False) -> User:
        return accounts.create_user(
            name, role=role, password=PASSWORD, clearance=clearance, scope_all=scope_all
        )

    users = {
        "all1": user("wang", "cataloguer", clearance=1, scope_all=True),
        "all0": user("low", "cataloguer", scope_all=True),
        "j019": user("zhang", "reading_room"),
        "repo_b": user("li", "cataloguer"),
        "sysadmin": user("sysadmin", "system_admin", scope_all=True, clearance=4),
        "citizen": user("citizen", "public"),
    }
    accounts.grant(users["j019"], actor=None, fonds_ids=[j019.fonds_id])
    accounts.grant(users["repo_b"], actor=None, repository_ids=[repo_b.pk])
    users = {k: User.objects.get(pk=u.pk) for k, u in users.items()}
    return World(z109, j019, c001, w_open, w_pdf, closed, restricted, secret, other_fonds, in_b, users)  # fmt: skip


@pytest.fixture
def world(index: str, db: None, django_capture_on_commit_callbacks: Any) -> World:
    """The catalogue, indexed through the incremental path (the jobs queued on commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        w = build_world()
    return w


def ids(results: Any) -> set[int]:
    return {h.id for h in results.hits}


def find(user: Any, text: str = "", **kw: Any) -> Any:
    return services.search(user, Query(text=text, limit=100, **kw))


# --- documents ------------------------------------------------------------------------------------
def test_documents_carry_catalogue_fields_and_full_text(
    world: World, django_assert_max_num_queries: Any
) -> None:
    wanted = [world.open.pk, world.pdf.pk, world.closed.pk, world.repo_b.pk, 10**9]
    # one for the records, one for their components, one for text other rooms made of them (OCR)
    with django_assert_max_num_queries(3):
        docs = {d["id"]: d for d in build_documents(wanted)}
    assert set(docs) == set(wanted) - {10**9}
    for d in docs.values():
        assert d.keys() == DOCUMENT_FIELDS.keys()
    d = docs[world.open.pk]
    assert (d["fonds"], d["category"], d["repository"]) == ("000001/Z109", "WS", "000001")
    assert d["open_status"] == "open" and d["classification_level"] == 0
    assert "涉外婚姻登记程序" in d["full_text"]  # GB18030 text file
    assert "收养登记办法" in d["full_text"]  # XML
    assert "兰台秘录全文检索" in docs[world.pdf.pk]["full_text"]  # PDF text layer
    assert docs[world.repo_b.pk]["repository"] == "441900"


# --- the public --------------------------------------------------------------------------------------
def test_public_sees_only_open_records_in_hits_totals_facets_and_suggestions(world: World) -> None:
    r = find(None, "婚姻", facets=FACETS)
    assert ids(r) == world.marriage_open
    assert r.total == 3
    assert r.facets["open_status"] == {"open": 3}
    assert "classification" not in r.facets
    assert sum(r.facets["fonds"].values()) == 3
    for h in r.hits:
        assert set(h.fields) <= set(PUBLIC_FIELDS)
        assert "remarks" not in h.snippets
    titles = services.suggest(None, "婚姻")
    assert set(titles) == {"关于婚姻登记工作的通知", "婚姻法宣传材料", "婚姻登记统计表"}
    # the full text of a closed record is not searchable by the public; staff find it
    assert find(None, "闭卷全文").total == 0
    assert ids(find(world.users["all0"], "闭卷全文")) == {world.closed.pk}
    # nor are the staff-only remarks of an open one
    assert find(None, "内部备注").total == 0
    assert ids(find(world.users["all0"], "内部备注")) == {world.open.pk}
    # the public role sees what the public sees
    assert ids(find(world.users["citizen"], "婚姻")) == world.marriage_open
    # the public cannot filter or count on classification
    r = find(None, "婚姻", filters={"classification": ("restricted",)}, facets=("classification",))
    assert ids(r) == world.marriage_open and r.facets == {}


def test_full_text_of_open_records_is_found_by_the_public(world: World) -> None:
    assert ids(find(None, "兰台秘录")) == {world.pdf.pk}
    assert ids(find(None, "涉外婚姻")) == {world.open.pk}
    assert ids(find(None, "收养登记")) == {world.open.pk}
    r = find(None, "", conditions=(TextCondition("兰台秘录", "full_text"),))
    assert ids(r) == {world.pdf.pk}


def test_open_but_classified_record_is_not_public(world: World) -> None:
    """The catalogue shows the public open *and* unclassified records only."""
    rec = add(world.z109, 8, "婚姻档案限制级开放件", "开放", classification="限制")
    services.index_records([rec.pk])
    assert rec.pk not in ids(find(None, "婚姻"))
    r = find(None, "婚姻", facets=("open_status",))
    assert r.total == 3 and r.facets["open_status"] == {"open": 3}
    assert find(None, "限制级开放件").total == 0
    assert "婚姻档案限制级开放件" not in services.suggest(None, "限制级")
    assert ids(find(world.users["all1"], "限制级开放件")) == {rec.pk}


# --- staff ---------------------------------------------------------------------------------------------
def test_staff_scope_follows_fonds_repositories_and_clearance(world: World) -> None:
    everything = {
        world.open.pk, world.closed.pk, world.restricted.pk, world.secret.pk,
        world.other_fonds.pk, world.repo_b.pk,
    }  # fmt: skip
    u = world.users
    assert ids(find(u["all1"], "婚姻")) == everything
    assert ids(find(u["all0"], "婚姻")) == everything - {world.secret.pk}
    assert ids(find(u["j019"], "婚姻")) == {world.other_fonds.pk}
    assert ids(find(u["repo_b"], "婚姻")) == {world.repo_b.pk}
    # 三员: the system administrator may not read archival data, whatever the scope and clearance
    assert services.scope_for(u["sysadmin"]) == services.NOTHING
    r = find(u["sysadmin"], "婚姻", facets=FACETS)
    assert r.total == 0 and r.hits == [] and all(not v for v in r.facets.values())
    assert services.suggest(u["sysadmin"], "婚姻") == []
    # staff see status and classification facets within their scope only
    r = find(u["all0"], "婚姻", facets=("open_status",))
    assert r.facets["open_status"] == {"open": 3, "closed": 1, "restricted_use": 1}
    assert r.total == 5
    # the catalogue agrees with the search on what each user may see
    for user in u.values():
        visible = set(catalog.visible_records(user).filter(title__contains="婚姻").values_list("pk", flat=True))  # fmt: skip
        if user.role == "public":
            continue
        assert ids(find(user, "婚姻")) == visible, user.username


def test_scope_for_users() -> None:
    assert services.scope_for(None) == Scope.public_scope()


def test_short_queries_match_exactly_like_substring_search(world: World) -> None:
    docs = build_documents(Record.objects.values_list("pk", flat=True))
    staff = world.users["all1"]
    for q in ("婚", "婚姻", "登记", "姻登", "全文", "通知"):
        expected = {
            d["id"]
            for d in docs
            if d["classification_level"] <= 1
            and any(
                q in (d[f] or "")
                for f in ("title", "author", "document_number", "reference_code", "remarks", "full_text")
            )
        }  # fmt: skip
        r = find(staff, q)
        assert (ids(r), r.total) == (expected, len(expected)), q


# --- keeping the index current ------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_edits_and_deletes_reach_the_index_through_the_queue(index: str) -> None:
    """Real commits, jobs inline (LANTAI_JOBS_IMMEDIATE): save → searchable, edit → old text gone,
    closed → gone for the public at once, deleted → gone for everyone."""
    w = build_world()
    staff = w.users["all1"]
    assert w.open.pk in ids(find(None, "婚姻登记工作"))
    record, issues = catalog.save_record(
        w.z109, {**catalog.record_as_input(w.open), "title": "关于收养工作的通知"}, record=w.open
    )
    assert record is not None, issues
    assert find(staff, "婚姻登记工作").total == 0
    assert ids(find(None, "收养工作")) == {w.open.pk}
    # closing it hides it from the public at once
    record, issues = catalog.save_record(
        w.z109, {**catalog.record_as_input(record), "open_status": "未开放"}, record=record
    )
    assert record is not None, issues
    assert find(None, "收养工作").total == 0
    assert "关于收养工作的通知" not in services.suggest(None, "收养")
    assert ids(find(staff, "收养工作")) == {w.open.pk}
    # a new component's text is searchable
    attach(w.pdf, "补充.txt", "新增附件全文".encode())
    assert ids(find(None, "新增附件全文")) == {w.pdf.pk}
    # deleted
    catalog.delete_record(w.restricted)
    assert find(staff, "证明存根").total == 0
    assert services.backend().count() == Record.objects.count()
    assert not PendingChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_index_never_blocks_saving_and_is_caught_up(
    index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build_world()

    class Broken:
        name = "broken"

        def __getattr__(self, name: str) -> Any:
            raise OSError("index disk full")

    monkeypatch.setattr(services, "backend", lambda: Broken())
    record, issues = catalog.save_record(
        w.z109, {**catalog.record_as_input(w.pdf), "title": "年度工作总结（修订）"}, record=w.pdf
    )
    assert record is not None, issues
    assert Record.objects.get(pk=w.pdf.pk).title == "年度工作总结（修订）"
    new = add(w.z109, 9, "新建的开放档案", "开放")
    gone = w.restricted.pk
    catalog.delete_record(w.restricted)
    pending = set(PendingChange.objects.values_list("record_id", flat=True))
    assert pending == {w.pdf.pk, new.pk, gone}
    assert "index disk full" in PendingChange.objects.first().error  # type: ignore[union-attr]
    monkeypatch.undo()
    assert find(None, "修订").total == 0  # the index is behind
    tasks.catch_up_tick()
    assert ids(find(None, "修订")) == {w.pdf.pk}
    assert ids(find(None, "新建的开放档案")) == {new.pk}
    assert find(w.users["all1"], "证明存根").total == 0
    assert not PendingChange.objects.exists()


def test_catch_up_indexes_rows_written_without_signals(world: World) -> None:
    services.catch_up()  # sets the watermark
    from django.utils import timezone

    Record.objects.filter(pk=world.other_fonds.pk).update(
        title="批量改写的题名", updated_at=timezone.now()
    )
    assert find(None, "批量改写").total == 0
    assert services.catch_up() >= 1
    assert ids(find(None, "批量改写")) == {world.other_fonds.pk}
    assert services.catch_up() == 0  # nothing new since


def test_catch_up_reads_in_batches_across_equal_timestamps(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 2 (read, then written: no cursor open across the writes), every record once,
    also where a batch ends among records of the same `updated_at`."""
    services.catch_up()
    from django.utils import timezone

    monkeypatch.setattr(services, "BATCH", 2)
    indexed: list[int] = []
    real = services._index_each
    monkeypatch.setattr(services, "_index_each", lambda ids: indexed.extend(ids) or real(ids))
    same = timezone.now()
    changed = list(Record.objects.order_by("pk").values_list("pk", flat=True)[:5])
    Record.objects.filter(pk__in=changed).update(title="同一时刻改写的题名", updated_at=same)
    assert services.catch_up() == 5
    assert sorted(indexed) == changed  # each once
    assert services.catch_up() == 0  # and the watermark moved past them


@pytest.mark.django_db(transaction=True)
def test_catalogue_import_is_indexed_when_it_commits(index: str, tmp_path: Path) -> None:
    ws = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    path = tmp_path / "目录.csv"
    path.write_text(
        "序号,档号,责任者,题名,日期,密级,保管期限,年度,开放状态\n"
        "1,Z109-WS·2011-Y-BGS-0001,办公厅,关于导入测试婚姻档案的通知,20110315,公开,永久,2011,开放\n"
        "2,Z109-WS·2011-Y-BGS-0002,办公厅,关于导入测试未开放档案的通知,20110316,公开,永久,2011,未开放\n",
        encoding="utf-8",
    )
    result = importing.import_file(path, ws)
    assert result.rows_imported == 2, result.errors
    assert find(None, "导入测试").total == 1
    assert find(None, "导入测试").hits[0].fields["title"] == "关于导入测试婚姻档案的通知"
    staff = accounts.create_user("wang", role="cataloguer", password=PASSWORD, scope_all=True)
    assert find(staff, "导入测试").total == 2


def test_reindex_rebuilds_from_the_catalogue_and_swaps(world: World) -> None:
    # rows changed behind the index's back (no signals)
    Record.objects.filter(pk=world.repo_b.pk).update(title="重建后才可见的题名")
    assert find(None, "重建后才可见").total == 0
    seen: list[tuple[int, int]] = []
    n = services.reindex(progress=lambda done, total: seen.append((done, total)))
    assert n == Record.objects.count() == services.backend().count()
    assert seen and seen[-1] == (n, n)
    assert ids(find(None, "重建后才可见")) == {world.repo_b.pk}
    assert find(None, "婚姻登记统计表").total == 0
    # the rebuilt index keeps the scope rules
    assert ids(find(None, "婚姻")) == world.marriage_open - {world.repo_b.pk}


def test_nightly_rebuild_once_many_rows_changed_since_the_last(
    world: World, index: str, settings: Any
) -> None:
    if index != "postgresql":
        pytest.skip("only the PostgreSQL backend keeps bitmaps (pg_bitmaps) to refresh")
    services.reindex()
    backend: Any = services.backend()
    assert backend.unmapped_share() == 0
    Record.objects.filter(pk=world.repo_b.pk).update(title="夜间重建前改过的题名")
    services.index_records([world.repo_b.pk])  # counted one by one until the next rebuild
    share = backend.unmapped_share()
    assert share == 1 / Record.objects.count()
    settings.SEARCH_REBUILD_UNMAPPED_SHARE = share * 2
    tasks.refresh_bitmaps_nightly.call_local()
    assert backend.unmapped_share() == share  # below the threshold: no rebuild
    settings.SEARCH_REBUILD_UNMAPPED_SHARE = share
    tasks.refresh_bitmaps_nightly.call_local()
    assert backend.unmapped_share() == 0
    assert ids(find(None, "夜间重建前")) == {world.repo_b.pk}


def test_stale_hit_is_dropped_for_the_public(world: World) -> None:
    """A record closed behind the index's back (no signal) is not shown to the public."""
    Record.objects.filter(pk=world.other_fonds.pk).update(open_status="closed")
    r = find(None, "婚姻")
    assert world.other_fonds.pk not in ids(r)
    assert r.total == 2


def test_bad_queries_are_refused_with_a_message(world: World) -> None:
    with pytest.raises(services.SearchError, match="排序"):
        services.search(None, Query(text="婚姻", sort="size"))
    with pytest.raises(services.SearchError, match="分面"):
        services.search(None, Query(text="婚姻", facets=("remarks",)))


# --- the command line -------------------------------------------------------------------------------
def run_cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["search", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_cli_json_shape_and_scope(world: World) -> None:
    public = run_cli("婚姻", "--public", "--json")
    assert set(public) == {"total", "hits"}
    assert public["total"] == 3
    for hit in public["hits"]:
        assert set(hit) == {"id", "档号", "题名", "open_status", "score"}
        assert hit["open_status"] == "开放"
        assert isinstance(hit["score"], float)
    assert {h["id"] for h in public["hits"]} == world.marriage_open
    assert run_cli("婚姻", "--json") == public  # the public is the default
    staff = run_cli("婚姻", "--user", "low", "--json", "--limit", "2")
    assert staff["total"] == 5 and len(staff["hits"]) == 2
    statuses = {h["open_status"] for h in run_cli("婚姻", "--user", "low", "--json")["hits"]}
    assert statuses == {"开放", "未开放", "控制使用"}
    assert run_cli("闭卷全文", "--public", "--json") == {"total": 0, "hits": []}
    text = CliRunner().invoke(main, ["search", "婚姻", "--public"])
    assert text.exit_code == 0 and "婚姻登记统计表" in text.output and "调解" not in text.output


def test_cli_reindex(world: World) -> None:
    result = CliRunner().invoke(main, ["search", "reindex"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert services.backend().count() == Record.objects.count()
    status = CliRunner().invoke(main, ["search", "status", "--json"], catch_exceptions=False)
    data = json.loads(status.output)
    assert data["documents"] == data["records"] == Record.objects.count()


# --- the public JSON API -----------------------------------------------------------------------------
def test_public_api_search_facets_and_suggest(world: World) -> None:
    client = Client()
    r = client.get(
        "/api/public/search",
        {"q": "婚姻", "facets": ["open_status", "fonds", "classification"], "page_size": 2},
    )
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["total"] == 3 and len(data["hits"]) == 2
    assert data["facets"] == {
        "open_status": {"open": 3},
        "fonds": {"000001/Z109": 1, "000001/J019": 1, "441900/C001": 1},
    }
    page2 = client.get("/api/public/search", {"q": "婚姻", "page": 2, "page_size": 2}).json()
    got = {h["id"] for h in data["hits"]} | {h["id"] for h in page2["hits"]}
    assert got == world.marriage_open
    for hit in data["hits"] + page2["hits"]:
        assert set(hit["record"]) == set(PUBLIC_FIELDS)
        assert hit["record"]["open_status"] == "open"
    assert "调解" not in r.content.decode() and "内部备注" not in r.content.decode()
    assert client.get("/api/public/search", {"q": "闭卷全文"}).json()["total"] == 0
    assert (
        client.get("/api/public/search", {"q": "婚姻", "fonds": "000001/J019"}).json()["total"] == 1
    )
    suggestions = client.get("/api/public/suggest", {"q": "婚姻"}).json()
    assert set(suggestions) == {"关于婚姻登记工作的通知", "婚姻法宣传材料", "婚姻登记统计表"}
    # signed-in staff get the same public answers here
    client.force_login(world.users["all1"])
    assert client.get("/api/public/search", {"q": "婚姻"}).json()["total"] == 3


def test_public_api_record_detail_hides_closed_records_like_missing_ones(world: World) -> None:
    client = Client()
    r = client.get(f"/api/public/records/{world.open.pk}")
    assert r.status_code == 200
    assert set(r.json()) == {"id", *PUBLIC_FIELDS}
    assert r.json()["title"] == "关于婚姻登记工作的通知"
    missing = client.get("/api/public/records/987654321")
    assert missing.status_code == 404
    for record in (world.closed, world.restricted, world.secret):
        r = client.get(f"/api/public/records/{record.pk}")
        assert (r.status_code, r.content) == (404, missing.content)


def test_public_api_refuses_bad_parameters_without_tracebacks(world: World) -> None:
    r = Client().get("/api/public/search", {"q": "婚姻", "sort": "size"})
    assert r.status_code == 422 and "排序" in r.json()["detail"]
    r = Client().get("/api/public/search", {"q": "婚姻", "field": "remarks"})
    assert r.status_code == 422


def test_public_api_is_rate_limited_per_client(world: World, settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.PUBLIC_SEARCH_RATE = "2/min"
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert [client.get("/api/public/search", {"q": "婚姻"}).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    other = Client(REMOTE_ADDR="203.0.113.10").get("/api/public/search", {"q": "婚姻"})
    assert other.status_code == 200  # another client has its own bucket
