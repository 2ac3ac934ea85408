# ruff: noqa: F811  (the fixtures of conftest_databases are imported, then requested by name)
"""专题数据库 services: creating, adding by selection / search / rule, describing, permissions,
conservation, publishing; every change audited."""

from __future__ import annotations

import pytest

from lantai.catalog.services import PermissionDenied
from lantai.exhibits import conservation
from lantai.exhibits import databases as service
from lantai.exhibits.databases import DatabaseError
from lantai.exhibits.models import Entry

from .conftest_databases import Archive, _database_settings, archive, red_database  # noqa: F401


def _actions() -> list[str]:
    from lantai.core.models import AuditEntry

    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


def test_a_red_database_starts_with_its_kinds_fields(archive: Archive) -> None:
    database = service.create_database(
        archive.users["curator"], repository=archive.repository, code="HS01",
        name="红色档案专题数据库", slug="red", kind="red",
    )  # fmt: skip
    labels = [f["label"] for f in database.fields]
    assert labels == ["历史时期", "革命事件", "人物", "地点", "载体与保护状况"]
    assert "抗日战争时期" in database.fields[0]["choices"]
    assert database.collection.name == "红色档案专题数据库"
    assert "database_create" in _actions()


def test_a_thematic_collection_becomes_a_database_with_its_records(archive: Archive) -> None:
    from lantai.catalog import thematic

    collection = thematic.create_collection(archive.repository, "FY", "非遗档案")
    thematic.add_to_collection(collection, [archive.records["baise"].pk])
    database = service.create_database(
        archive.users["curator"], repository=archive.repository, code="", name="",
        slug="ich", kind="intangible", collection=collection,
    )  # fmt: skip
    assert [e.record_id for e in database.entries.all()] == [archive.records["baise"].pk]
    assert [f["label"] for f in database.fields][:2] == ["项目名称", "级别"]
    with pytest.raises(DatabaseError, match="已经是专题数据库"):
        service.create_database(
            archive.users["curator"], repository=archive.repository, code="", name="",
            slug="ich2", kind="intangible", collection=collection,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("slug", "kind", "message"),
    [("Red Archives", "red", "网址名"), ("-red", "red", "网址名"), ("red", "nope", "类型")],
)
def test_bad_slug_or_kind_is_refused_in_chinese(
    archive: Archive, slug: str, kind: str, message: str
) -> None:
    with pytest.raises(DatabaseError, match=message):
        service.create_database(
            archive.users["curator"], repository=archive.repository, code="X", name="X",
            slug=slug, kind=kind,
        )  # fmt: skip


def test_slug_is_unique_within_an_archives(archive: Archive) -> None:
    red_database(archive)
    with pytest.raises(DatabaseError, match="已有网址名为“red”"):
        service.create_database(
            archive.users["curator"], repository=archive.repository, code="HS02", name="又一个",
            slug="red", kind="red",
        )  # fmt: skip


def test_who_may_build_and_publish(archive: Archive) -> None:
    reader, cataloguer, outsider = (archive.users[k] for k in ("reader", "cataloguer", "outsider"))
    with pytest.raises(PermissionDenied):
        service.create_database(
            reader, repository=archive.repository, code="A", name="A", slug="a", kind="red"
        )
    with pytest.raises(PermissionDenied):  # granted another 档案馆 only
        service.create_database(
            outsider, repository=archive.repository, code="A", name="A", slug="a", kind="red"
        )
    database = service.create_database(
        cataloguer, repository=archive.repository, code="A", name="A", slug="a", kind="red"
    )
    service.add_records(cataloguer, database, [archive.records["baise"].pk])
    with pytest.raises(PermissionDenied):  # the cataloguer builds but may not publish
        service.publish(cataloguer, database)
    with pytest.raises(PermissionDenied):
        service.add_records(outsider, database, [archive.records["longzhou"].pk])
    service.publish(archive.users["curator"], database)
    database.refresh_from_db()
    assert database.status == "published"


def test_records_the_user_may_not_see_are_refused(archive: Archive) -> None:
    from lantai.core import accounts

    low = accounts.create_user(
        "sunqi", role="cataloguer", password="Lantai#Archive2024", scope_all=True
    )
    database = service.create_database(
        low, repository=archive.repository, code="A", name="A", slug="a", kind="red"
    )
    assert low.clearance < archive.records["classified"].classification_level
    with pytest.raises(PermissionDenied, match="无权"):
        service.add_records(low, database, [archive.records["classified"].pk])
    assert not Entry.objects.filter(database=database).exists()


def test_add_by_search_adds_the_hits(archive: Archive) -> None:
    curator = archive.users["curator"]
    database = service.create_database(
        curator, repository=archive.repository, code="A", name="A", slug="a", kind="red"
    )
    added = service.add_by_search(curator, database, "起义")
    assert added == 2
    assert {e.record.title for e in database.entries.all()} == {"百色起义宣言", "龙州起义布告"}
    assert set(database.collection.records.values_list("pk", flat=True)) == {
        archive.records["baise"].pk, archive.records["longzhou"].pk,
    }  # fmt: skip
    assert {e.how for e in database.entries.all()} == {"search"}
    with pytest.raises(DatabaseError, match="检索词不能为空"):
        service.add_by_search(curator, database, "   ")


def test_a_rule_is_saved_and_reapplied_on_demand_and_by_the_system(archive: Archive) -> None:
    from lantai.catalog import services
    from lantai.search import services as search

    curator = archive.users["curator"]
    database = service.create_database(
        curator, repository=archive.repository, code="A", name="A", slug="a", kind="red"
    )
    service.set_rule(curator, database, "起义")
    assert service.apply_rule(curator, database) == 2
    new, issues = services.save_record(
        archive.category,
        {"title": "恩隆起义报告", "author": "右江苏维埃", "date": "19291220", "year": "1929",
         "retention": "Y", "item_number": "9", "org_code": "BGS", "classification": "公开", "open_status": "开放"},
    )  # fmt: skip
    assert new is not None, issues
    search.index_records([new.pk])
    from lantai.exhibits.tasks import apply_database_rules

    # the nightly job (its body, run here without the queue)
    assert apply_database_rules.call_local() == {f"{archive.repository.code}/a": 1}
    assert Entry.objects.get(database=database, record=new).how == "rule"
    assert service.apply_rule(curator, database) == 0  # nothing new
    assert "database_rule_apply" in _actions()


def test_describe_validates_against_the_fields(archive: Archive) -> None:
    database = red_database(archive)
    curator = archive.users["curator"]
    entry = service.entry_for(curator, database, archive.records["baise"].pk)
    assert entry is not None and entry.values["people"] == ["邓小平", "张云逸"]
    with pytest.raises(DatabaseError) as refused:
        service.describe(curator, entry, {"period": "唐朝", "carrier": "石头", "nope": "x"})
    problems = refused.value.problems
    assert "“历史时期”：“唐朝”不在可选项中" in problems
    assert any("载体与保护状况" in p for p in problems)
    assert "“nope”不是本数据库的著录项" in problems
    entry.refresh_from_db()
    assert entry.values["period"] == "土地革命战争时期"  # nothing saved


def test_fields_are_editable_and_checked(archive: Archive) -> None:
    database = red_database(archive)
    curator = archive.users["curator"]
    fields = [*database.fields, {"key": "level", "label": "级别", "type": "choice", "choices": []}]
    with pytest.raises(DatabaseError) as refused:
        service.set_fields(curator, database, fields)
    assert any("级别" in p and "至少要有一个选项" in p for p in refused.value.problems)
    fields[-1]["choices"] = ["一级", "二级"]
    service.set_fields(curator, database, fields)
    database.refresh_from_db()
    assert database.fields[-1]["choices"] == ["一级", "二级"]


def test_remove_takes_the_record_out_of_database_and_collection(archive: Archive) -> None:
    database = red_database(archive)
    pk = archive.records["baise"].pk
    assert service.remove_records(archive.users["curator"], database, [pk]) == 1
    assert not Entry.objects.filter(database=database, record_id=pk).exists()
    assert not database.collection.records.filter(pk=pk).exists()
    assert "database_remove" in _actions()


def test_conservation_is_recorded_and_checked(archive: Archive) -> None:
    import datetime as dt

    curator = archive.users["curator"]
    pk = archive.records["baise"].pk
    with pytest.raises(DatabaseError) as refused:
        conservation.add_condition(curator, pk, carrier="纸质", grade="有点破", damage=["霉变", "外星"],
                                   assessed_on="2024-13-01")  # fmt: skip
    problems = refused.value.problems
    assert any("破损等级" in p and "DA/T 64.1-2017" in p for p in problems)
    assert any("外星" in p for p in problems)
    assert any("评估日期" in p for p in problems)
    conservation.add_condition(curator, pk, carrier="纸质", grade="严重破损", damage=["霉变", "酸化"],
                               note="库房三号柜，待修", assessed_on="2024-05-01")  # fmt: skip
    conservation.add_action(
        curator, pk, kind="修裱", done_on=dt.date(2024, 6, 1), done_by="修复室 李工"
    )
    shown = conservation.public_condition(pk)
    assert shown is not None
    assert (shown.carrier, shown.grade, shown.actions) == ("纸质", "严重破损", [("修裱", 2024)])
    assert not hasattr(shown, "note")
    with pytest.raises(PermissionDenied):
        conservation.add_action(
            archive.users["reader"], pk, kind="修裱", done_on="2024-06-01", done_by="x"
        )
    assert {"carrier_condition_add", "conservation_action_add"} <= set(_actions())


def test_every_change_is_audited(archive: Archive) -> None:
    database = red_database(archive)
    service.unpublish(archive.users["curator"], database)
    actions = set(_actions())
    assert {"database_create", "database_add", "entry_describe", "database_publish",
            "database_unpublish"} <= actions  # fmt: skip


def test_a_selection_over_the_limit_is_refused(archive: Archive) -> None:
    database = red_database(archive)
    with pytest.raises(DatabaseError, match="一次最多"):
        service.add_records(archive.users["curator"], database, range(1, service.MAX_SELECTION + 2))
