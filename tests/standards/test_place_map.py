"""The schematic place map: an accessible SVG that parses as XML, every point a link."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from lantai.standards.place_map import MapPoint, svg

NS = "{http://www.w3.org/2000/svg}"


def _parse(text: str) -> ET.Element:
    assert "style=" not in text  # the CSP allows no inline styles
    return ET.fromstring(text)


def test_points_are_links_with_label_and_count() -> None:
    points = [
        MapPoint("百色", 106.62, 23.90, "/db/?place=百色", 5),
        MapPoint("龙州", 106.85, 22.34, "/db/?place=龙州", 2),
        MapPoint("全州", 111.07, 25.93, "/db/?place=全州&x=1", 1),
    ]
    root = _parse(svg(points, title="红色档案地点"))
    assert root.get("role") == "img"
    assert root.find(f"{NS}title").text == "红色档案地点"
    assert "示意图" in root.find(f"{NS}desc").text
    links = root.findall(f".//{NS}a")
    assert [(a.get("href"), a.get("aria-label")) for a in links] == [
        ("/db/?place=百色", "百色（5）"), ("/db/?place=龙州", "龙州（2）"), ("/db/?place=全州&x=1", "全州（1）"),
    ]  # fmt: skip
    labels = [t.text for t in root.iter(f"{NS}text")]
    assert any(label and label.endswith("°E") for label in labels)
    assert any(label and label.endswith("°N") for label in labels)


def test_the_frame_fits_the_points_with_padding() -> None:
    points = [MapPoint("a", 106.0, 22.0, "/a", 1), MapPoint("b", 111.0, 26.0, "/b", 1)]
    root = _parse(svg(points, title="t"))
    circles = root.findall(f".//{NS}circle")
    width = float(root.get("viewBox").split()[2])
    height = float(root.get("viewBox").split()[3])
    for c in circles:
        x, y = float(c.get("cx")), float(c.get("cy"))
        assert 0.1 * width < x < 0.9 * width and 0.1 * height < y < 0.9 * height
    west, east = sorted(circles, key=lambda c: float(c.get("cx")))
    assert float(west.get("cy")) > float(east.get("cy"))  # 22°N drawn below 26°N


def test_no_points_is_a_valid_svg_that_says_so() -> None:
    root = _parse(svg([], title="空"))
    assert root.get("role") == "img" and not root.findall(f".//{NS}a")
    assert "没有可在地图上标出的地点" in "".join(root.itertext())


def test_one_point_gets_a_frame_and_a_graticule() -> None:
    root = _parse(svg([MapPoint("百色", 106.62, 23.9, "/x", 1)], title="一"))
    assert len(root.findall(f".//{NS}a")) == 1
    assert len(root.findall(f".//{NS}line")) >= 2


def test_points_at_the_same_place_stay_apart_and_linked() -> None:
    points = [MapPoint(f"地{n}", 108.0, 23.0, f"/p{n}", 1) for n in range(3)]
    root = _parse(svg(points, title="同"))
    spots = {(c.get("cx"), c.get("cy")) for c in root.findall(f".//{NS}circle")}
    assert len(spots) == 3
    assert [a.get("href") for a in root.findall(f".//{NS}a")] == ["/p0", "/p1", "/p2"]


def test_hostile_labels_and_links_are_neutralised() -> None:
    points = [
        MapPoint('<script>alert("x")</script>', 108.0, 23.0, "javascript:alert(1)", 1),
        MapPoint("ok", 109.0, 24.0, 'data:text/html,<b>"', 1),
        MapPoint("nan", math.nan, 24.0, "/nan", 1),
        MapPoint("far", 200.0, 24.0, "/far", 1),
    ]
    text = svg(points, title='<title>"&')
    root = _parse(text)
    assert "<script>" not in text
    assert [a.get("href") for a in root.findall(f".//{NS}a")] == ["#", "#"]


def test_two_maps_have_distinct_ids() -> None:
    a = _parse(svg([MapPoint("a", 1, 1, "/a")], title="A"))
    b = _parse(svg([MapPoint("b", 2, 2, "/b")], title="B"))
    assert a.get("aria-labelledby") != b.get("aria-labelledby")
