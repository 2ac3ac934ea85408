"""standards.stacks: the JGJ 25 limits of stack rooms as data, whether a reading is outside them
and which limit it breaks, the daily fluctuation, and the plausible values of a sensor."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from lantai.standards import stacks as std


def test_paper_stack_limits_are_those_of_jgj_25() -> None:
    paper = std.room_kind("paper")
    assert paper is not None and paper.label_zh == "纸质档案库"
    assert paper.limits == std.Limits(D(14), D(24), D(45), D(60))
    assert std.default_kind() == "paper"
    codes = [k.code for k in std.room_kinds()]
    assert {"special", "av_tape", "film_copy", "film_master"} <= set(codes)
    for kind in std.room_kinds():  # every band is a band, and its origin is named
        assert (
            kind.limits.temp_min < kind.limits.temp_max and kind.limits.rh_min < kind.limits.rh_max
        )
        assert kind.source in {"jgj25-recalled", "jgj25"}


@pytest.mark.parametrize(
    ("temperature", "humidity", "kinds"),
    [
        ("20", "50", []),
        ("14", "60", []),  # on the limits: within
        ("13.9", "50", ["temperature_low"]),
        ("24.1", "50", ["temperature_high"]),
        ("20", "44.9", ["humidity_low"]),
        ("25", "72", ["temperature_high", "humidity_high"]),
    ],
)
def test_which_limits_a_reading_breaks(temperature: str, humidity: str, kinds: list[str]) -> None:
    limits = std.limits_for("paper")
    found = std.breaches(limits, D(temperature), D(humidity))
    assert [b.kind for b in found] == kinds
    assert std.is_outside(limits, D(temperature), D(humidity)) is bool(kinds)


def test_a_breach_names_the_limit_broken() -> None:
    [b] = std.breaches(std.limits_for("film_master"), D("14"), D("50"))
    assert (b.kind, b.quantity, b.value, b.limit) == ("humidity_high", "humidity", D("50"), D("45"))


def test_room_overrides_replace_single_limits() -> None:
    limits = std.limits_for("paper", rh_max=D("55"))
    assert (limits.rh_min, limits.rh_max, limits.temp_max) == (D(45), D(55), D(24))
    assert std.limits_for("no-such-kind") == std.limits_for("paper")


def test_daily_fluctuation() -> None:
    assert std.fluctuation_breach("temperature", [D("18"), D("22")]) is None  # ±2: within
    b = std.fluctuation_breach("temperature", [D("18"), D("22.2"), D("20")])
    assert b is not None and (b.kind, b.value, b.limit) == (
        "temperature_fluctuation",
        D("2.1"),
        D(2),
    )
    assert std.fluctuation_breach("humidity", [D("45"), D("56")]) is not None  # ±5.5 %
    assert std.fluctuation_breach("humidity", [D("50")]) is None


@pytest.mark.parametrize(
    ("quantity", "text", "value"),
    [("humidity", "55", D("55.00")), ("humidity", "５５％", D("55.00")), ("temperature", "21.5℃", D("21.50")),
     ("temperature", "-3", D("-3.00"))],
)  # fmt: skip
def test_values_are_read_from_typed_text(quantity: str, text: str, value: D) -> None:
    assert std.parse_value(quantity, text) == value


@pytest.mark.parametrize(
    ("quantity", "text", "rule"),
    [("humidity", "140", "implausible"), ("humidity", "-1", "implausible"), ("temperature", "95", "implausible"),
     ("temperature", "abc", "not_a_number"), ("temperature", "NaN", "not_a_number"), ("humidity", "", "required"),
     ("humidity", "Infinity", "not_a_number")],
)  # fmt: skip
def test_implausible_and_non_numeric_values_are_refused(
    quantity: str, text: str, rule: str
) -> None:
    with pytest.raises(std.ValueProblem) as e:
        std.parse_value(quantity, text)
    assert e.value.rule == rule


def test_box_thicknesses_of_da_t_22() -> None:
    assert std.box_thicknesses() == [20, 30, 40, 50]
    assert std.default_box_thickness() in std.box_thicknesses()
