"""The gazetteer: place names with aliases, prefixes and suffixes resolve; unknown names do not."""

from __future__ import annotations

import pytest

from lantai.standards import gazetteer
from lantai.standards.gazetteer import resolve

GUANGXI_CITIES = ["南宁", "柳州", "桂林", "梧州", "北海", "防城港", "钦州", "贵港", "玉林", "百色",
                  "贺州", "河池", "来宾", "崇左"]  # fmt: skip


def test_all_fourteen_cities_of_guangxi_and_enough_places() -> None:
    for city in GUANGXI_CITIES:
        place = resolve(city)
        assert place is not None and place.kind == "city" and place.parent == "广西", city
    places = gazetteer.places()
    assert len(places) >= 60
    assert sum(1 for p in places if p.parent in GUANGXI_CITIES) >= 60  # counties and districts


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("百色", "百色"), ("百色市", "百色"), ("广西百色", "百色"), ("广西壮族自治区百色市", "百色"),
        ("百色起义纪念馆", "百色"), ("全州县", "全州"), ("桂林市全州县", "全州"),
        ("融水苗族自治县", "融水"), ("镇南关", "友谊关"), ("  龙州 ", "龙州"), ("ＬＯＮＧ", None),
        ("湘江战役", "湘江战役纪念园"), ("昆仑关", "昆仑关"), ("延安", "延安"), ("嘉兴南湖", "嘉兴"),
        ("北京市", "北京"), ("火星", None), ("", None), ("市", None), ("县城", None),
    ],
)  # fmt: skip
def test_resolve(written: str, name: str | None) -> None:
    place = resolve(written)
    assert (place.name if place else None) == name


def test_revolutionary_places_in_and_around_guangxi() -> None:
    for name in (
        "东兰",
        "凤山",
        "巴马",
        "田东",
        "兴安",
        "灌阳",
        "龙州",
        "瑞金",
        "井冈山",
        "遵义",
        "南昌",
        "上海",
    ):
        assert resolve(name) is not None, name


def test_coordinates_are_plausible() -> None:
    baise, nanning = resolve("百色"), resolve("南宁")
    assert baise is not None and nanning is not None
    assert 106 < baise.lon < 107.2 and 23.5 < baise.lat < 24.2
    assert baise.lon < nanning.lon  # 百色 lies west of 南宁
    for place in gazetteer.places():
        if place.parent in GUANGXI_CITIES or place.name in GUANGXI_CITIES:
            assert 104.4 < place.lon < 112.1 and 20.9 < place.lat < 26.4, place


def test_not_a_string_or_huge_input_is_none() -> None:
    assert resolve(None) is None  # type: ignore[arg-type]
    assert resolve("火" * 100_000) is None


def test_an_archives_adds_its_own_places_in_a_local_file(tmp_path) -> None:
    local = tmp_path / "gazetteer-local.yaml"
    local.write_text(
        "places:\n"
        "  南州: {kind: city, parent: 岭南, lon: 108.5, lat: 23.1, aliases: [南州府]}\n"
        "  百色: {kind: city, parent: 岭南, lon: 0.0, lat: 0.0}\n",
        encoding="utf-8",
    )
    try:
        gazetteer.use_local_file(local)
        place = gazetteer.resolve("南州市")
        assert place is not None and (place.lon, place.lat) == (108.5, 23.1)
        assert gazetteer.resolve("南州府") == place
        shipped = gazetteer.resolve("百色")  # the shipped name wins
        assert shipped is not None and shipped.lon > 100
        local.write_text("places: [1, 2]\n", encoding="utf-8")
        gazetteer.use_local_file(local)  # a broken file is left out and named, never a crash
        assert gazetteer.resolve("南州") is None
        assert gazetteer.resolve("百色") == shipped
        assert "places" in gazetteer.local_problem()
    finally:
        gazetteer.use_local_file(None)
    assert gazetteer.resolve("南州") is None
