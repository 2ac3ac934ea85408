"""Issue 12, nothing leaks through search, on both backends (tantivy; PostgreSQL when the catalogue
runs on PostgreSQL):

1. a fonds is (archives, 全宗号) everywhere: two archives that both hold a J014 are two fonds in
   facets, filters and labels, staff and public, and a wholly closed J014 never lends its name
   or counts to another archives' open J014;
2. the index lagging the catalogue never leaks: a change that narrows a record's visibility
   leaves public totals, facets, hits and suggestions at once, whether or not the worker has
   run its queued job, and even while another writer holds the index; what the index still
   returns is re-checked against the catalogue (suggestions too).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.core import accounts
from lantai.search import services, tasks
from lantai.search.query import Query
from tests.search.test_services import (  # noqa: F401 - fixtures
    PASSWORD,
    World,
    add,
    find,
    ids,
    index,
    world,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The portal's cached counts of another test never show here."""
    from django.core.cache import cache

    cache.clear()


# --- 1. a fonds is (archives, 全宗号) -------------------------------------------------------------
@dataclass
class TwoArchives:
    here: Any  # 岭南省档案馆's J014, open records
    there: Any  # 岭东市档案馆's J014, closed records only
    open_ids: set[int]
    closed_ids: set[int]
    staff: Any


@pytest.fixture
def two_archives(index: str, django_capture_on_commit_callbacks: Any) -> TwoArchives:  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        other = catalog.create_repository("441900", "岭东市档案馆", level="city")
        here = catalog.create_category(catalog.create_fonds("J014", "岭南省农业厅"), "WS")
        there = catalog.create_category(
            catalog.create_fonds("J014", "岭东市秘藏机关", repository=other), "WS"
        )
        opened = [add(here, n, f"关于春耕生产的通知{n}", "开放") for n in (1, 2)]
        closed = [add(there, n, f"关于春耕生产的请示{n}", "未开放") for n in (3, 4, 5)]
        staff = accounts.create_user(
            "wang", role="cataloguer", password=PASSWORD, clearance=1, scope_all=True
        )
    return TwoArchives(
        here.fonds, there.fonds, {r.pk for r in opened}, {r.pk for r in closed}, staff
    )


def key(fonds: Any) -> str:
    """How the API and the search pages name a fonds: archives code / 全宗号."""
    return f"{fonds.repository.code}/{fonds.code}"


def test_two_archives_with_the_same_fonds_code_are_two_fonds(two_archives: TwoArchives) -> None:
    w = two_archives
    staff = find(w.staff, "春耕", facets=("fonds",))
    assert staff.facets["fonds"] == {key(w.here): 2, key(w.there): 3}
    public = find(None, "春耕", facets=("fonds",))
    assert public.facets["fonds"] == {key(w.here): 2}
    # a filter names one archives' fonds, never both
    assert ids(find(w.staff, "春耕", filters={"fonds": (key(w.there),)})) == w.closed_ids
    assert ids(find(w.staff, "春耕", filters={"fonds": (key(w.here),)})) == w.open_ids
    assert find(None, "春耕", filters={"fonds": (key(w.there),)}).total == 0


def test_public_api_names_each_fonds_with_its_archives(two_archives: TwoArchives) -> None:
    w = two_archives
    client = Client()
    data = client.get("/api/public/search", {"q": "春耕", "facets": ["fonds"]}).json()
    assert data["facets"]["fonds"] == {key(w.here): 2}
    assert {h["record"]["fonds"] for h in data["hits"]} == {key(w.here)}
    there = client.get("/api/public/search", {"q": "春耕", "fonds": key(w.there)}).json()
    assert there["total"] == 0 and there["facets"] == {}
    record = client.get(f"/api/public/records/{min(w.open_ids)}").json()
    assert record["fonds"] == key(w.here)


def test_staff_search_labels_each_fonds_by_its_own_archives(two_archives: TwoArchives) -> None:
    w = two_archives
    client = Client()
    client.force_login(w.staff)
    html = client.get("/search/", {"q": "春耕"}).content.decode()
    assert f'name="fonds" value="{key(w.here)}"' in html
    assert f'name="fonds" value="{key(w.there)}"' in html
    assert "J014 岭南省农业厅（岭南省档案馆）" in html or "J014 岭南省农业厅" in html
    assert "J014 岭东市秘藏机关（岭东市档案馆）" in html
    # ticking one archives' J014 finds only its records
    html = client.get("/search/", {"q": "春耕", "fonds": key(w.there)}).content.decode()
    assert f'name="fonds" value="{key(w.there)}" checked' in html
    assert f'name="fonds" value="{key(w.here)}" checked' not in html


def test_public_portal_never_shows_a_closed_fonds_name(two_archives: TwoArchives) -> None:
    """Before: the portal labelled 全宗号 J014 with the newest fonds of that code, the wholly
    closed one of the other archives."""
    w = two_archives
    client = Client()
    for params in ({"q": "春耕"}, {"fonds": key(w.here)}, {"q": "春耕", "fonds": key(w.there)}):
        html = client.get("/public/search/", params).content.decode()
        assert "岭东市秘藏机关" not in html, params
        if "fonds" not in params:  # (a filter the visitor typed is echoed in the form)
            assert key(w.there) not in html, params
    html = client.get("/public/search/", {"q": "春耕"}).content.decode()
    assert "J014 岭南省农业厅" in html
    home = client.get("/public/").content.decode()
    assert "岭东市秘藏机关" not in home and "岭东市档案馆" not in home
    assert f"fonds={key(w.here)}" in home


# --- 2. the index lagging the catalogue -------------------------------------------------------------
@pytest.fixture
def lagging_worker(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The worker has not run the queued index updates yet: they are only collected."""
    queued: list[list[int]] = []
    monkeypatch.setattr(tasks, "sync_records", queued.append)
    return queued


def public_view(text: str) -> tuple[set[int], int, dict[str, int], list[str]]:
    r = services.search(None, Query(text=text, facets=("fonds", "year"), limit=100))
    return ids(r), r.total, r.facets["fonds"], services.suggest(None, text)


def home_counts() -> dict[str, str]:
    """全宗号 -> open records, as the portal's home page lists them."""
    html = Client().get("/public/").content.decode()
    return dict(re.findall(r'<td class="code">(\w+)</td>.*?<td class="num">(\d+)</td>', html, re.S))


def close(w: World, record: Record, **change: str) -> None:
    saved, issues = catalog.save_record(
        w.z109, {**catalog.record_as_input(record), **change}, record=record
    )
    assert saved is not None, issues


@pytest.mark.parametrize(
    "change", [{"open_status": "未开放"}, {"open_status": "控制使用"}, {"classification": "秘密"}]
)
def test_narrowing_leaves_public_search_at_once_before_the_worker_runs(
    world: World,  # noqa: F811
    lagging_worker: list[list[int]],
    django_capture_on_commit_callbacks: Any,
    change: dict[str, str],
) -> None:
    hits, total, fonds, titles = public_view("婚姻登记工作")
    assert world.open.pk in hits and total == 1 and "关于婚姻登记工作的通知" in titles
    assert home_counts()["Z109"] == "2"  # and now cached
    with django_capture_on_commit_callbacks(execute=True):
        close(world, world.open, **change)
    assert public_view("婚姻登记工作") == (set(), 0, {}, [])
    hits, total, fonds, _ = public_view("婚姻")
    assert world.open.pk not in hits and total == len(hits) == sum(fonds.values())
    assert home_counts()["Z109"] == "1"
    if "open_status" in change:  # staff still find what is no longer open
        assert ids(find(world.users["all1"], "婚姻登记工作")) == {world.open.pk}


def test_a_deleted_record_leaves_public_search_at_once(
    world: World,  # noqa: F811
    lagging_worker: list[list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        catalog.delete_record(world.open)
    assert public_view("婚姻登记工作") == (set(), 0, {}, [])


@pytest.fixture
def busy_writer(index: str) -> Iterator[None]:  # noqa: F811
    """Another process (the worker, in a long rebuild) holds the tantivy index's writer lock."""
    if index != "tantivy":
        pytest.skip("only tantivy has one writer")
    settings.SEARCH_INDEX_DIR.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys\n"
            "f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('locked', flush=True); sys.stdin.read()",
            str(settings.SEARCH_INDEX_DIR / "WRITER"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    yield
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)


def test_narrowing_while_another_process_writes_the_index_is_withheld(
    world: World,  # noqa: F811
    lagging_worker: list[list[int]],
    django_capture_on_commit_callbacks: Any,
    busy_writer: None,
) -> None:
    staff = world.users["all1"]
    with django_capture_on_commit_callbacks(execute=True):
        close(world, world.open, open_status="未开放")  # the request does not wait for the lock
    assert lagging_worker == [[world.open.pk]]  # left to the queued job
    assert public_view("婚姻登记工作") == (set(), 0, {}, [])
    assert home_counts()["Z109"] == "1"
    # while the update is pending the record is left out of staff searches too
    assert find(staff, "婚姻登记工作").total == 0


def test_suggestions_are_checked_against_the_catalogue(world: World) -> None:  # noqa: F811
    """A change the index never heard of (a bulk update without signals) still does not reach
    the public through suggestions."""
    assert "关于婚姻登记工作的通知" in services.suggest(None, "婚姻登记")
    Record.objects.filter(pk=world.open.pk).update(open_status="closed")
    assert "关于婚姻登记工作的通知" not in services.suggest(None, "婚姻登记")
    assert (
        "关于婚姻登记工作的通知"
        not in Client().get("/public/suggest.json", {"q": "婚姻登记"}).json()["suggestions"]
    )
    assert (
        "关于婚姻登记工作的通知"
        not in Client().get("/api/public/suggest", {"q": "婚姻登记"}).json()
    )


def test_an_index_of_an_older_version_is_a_message_not_a_server_error(world: World) -> None:  # noqa: F811
    """After an upgrade without `lantai search reindex`, the portal's search says what to do
    and its home page still opens (PostgreSQL: its table records the format it was written in)."""
    backend = services.backend()
    table = getattr(backend, "table", None)
    if table is None:
        pytest.skip("only the PostgreSQL backend records its table format")
    with backend._conn().cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(f"COMMENT ON TABLE {table} IS 'lantai-search 4'")
    backend._conn().commit()  # type: ignore[attr-defined]
    services.reset_backends()
    client = Client()
    page = client.get("/public/search/", {"q": "婚姻"})
    assert page.status_code == 200 and "lantai search reindex" in page.content.decode()
    assert client.get("/public/").status_code == 200
