"""Stack climate (库房温湿度), the pure parts: the limits of each kind of stack room after
JGJ 25-2010 (``data/stack-climate.yaml``), whether a reading lies outside them and which limit it
breaks, the daily fluctuation check, the plausible range of a sensor value and the box spine
thicknesses of DA/T 22. No Django: numbers in, verdicts out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ._data import load_data

DATA_FILE = "stack-climate.yaml"
QUANTITIES = ("temperature", "humidity")


@dataclass(frozen=True)
class Limits:
    """The band a room's readings must stay in: temperature °C and relative humidity %."""

    temp_min: Decimal
    temp_max: Decimal
    rh_min: Decimal
    rh_max: Decimal

    def band(self, quantity: str) -> tuple[Decimal, Decimal]:
        if quantity == "temperature":
            return self.temp_min, self.temp_max
        return self.rh_min, self.rh_max


@dataclass(frozen=True)
class Breach:
    """One limit a reading breaks: `kind` is temperature_high/low or humidity_high/low."""

    kind: str
    quantity: str
    value: Decimal
    limit: Decimal


@dataclass(frozen=True)
class RoomKind:
    code: str
    label_zh: str
    label_en: str
    limits: Limits
    source: str


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def room_kinds() -> list[RoomKind]:
    """The kinds of stack room with their JGJ 25 limits, in the order of the data file."""
    out = []
    for k in load_data(DATA_FILE)["kinds"]:
        t, h = k["temperature"], k["humidity"]
        limits = Limits(_dec(t[0]), _dec(t[1]), _dec(h[0]), _dec(h[1]))
        out.append(RoomKind(str(k["code"]), str(k["label_zh"]), str(k["label_en"]), limits,
                            str(k["from"])))  # fmt: skip
    return out


def room_kind(code: str) -> RoomKind | None:
    return next((k for k in room_kinds() if k.code == code), None)


def default_kind() -> str:
    return room_kinds()[0].code


def limits_for(
    kind: str,
    *,
    temp_min: Decimal | None = None,
    temp_max: Decimal | None = None,
    rh_min: Decimal | None = None,
    rh_max: Decimal | None = None,
) -> Limits:
    """The limits of a room of `kind`, each replaced by the room's own value where it has one.
    An unknown kind falls back to the first (纸质档案库)."""
    base = (room_kind(kind) or room_kinds()[0]).limits
    return Limits(
        temp_min if temp_min is not None else base.temp_min,
        temp_max if temp_max is not None else base.temp_max,
        rh_min if rh_min is not None else base.rh_min,
        rh_max if rh_max is not None else base.rh_max,
    )


def breaches(limits: Limits, temperature: Decimal, humidity: Decimal) -> list[Breach]:
    """The limits a reading breaks (none: it lies within the band; values on a limit are within)."""
    out = []
    for quantity, value in (("temperature", temperature), ("humidity", humidity)):
        low, high = limits.band(quantity)
        if value < low:
            out.append(Breach(f"{quantity}_low", quantity, value, low))
        elif value > high:
            out.append(Breach(f"{quantity}_high", quantity, value, high))
    return out


def is_outside(limits: Limits, temperature: Decimal, humidity: Decimal) -> bool:
    return bool(breaches(limits, temperature, humidity))


def fluctuation_limit(quantity: str) -> Decimal:
    """The allowed daily fluctuation (±) of `quantity`."""
    return _dec(load_data(DATA_FILE)["daily_fluctuation"][quantity])


def fluctuation_breach(quantity: str, values: Iterable[Decimal]) -> Breach | None:
    """The fluctuation breach of one day's values of `quantity`: (highest − lowest) / 2 above the
    allowed ±; None when within it (or fewer than two values)."""
    vals = list(values)
    if len(vals) < 2:
        return None
    swing = (max(vals) - min(vals)) / 2
    limit = fluctuation_limit(quantity)
    if swing > limit:
        return Breach(f"{quantity}_fluctuation", quantity, swing, limit)
    return None


def plausible_range(quantity: str) -> tuple[Decimal, Decimal]:
    low, high = load_data(DATA_FILE)["plausible"][quantity]
    return _dec(low), _dec(high)


class ValueProblem(ValueError):
    """A value that is not a number or not a plausible one; `rule` names the rule broken."""

    def __init__(self, rule: str, message_zh: str) -> None:
        super().__init__(message_zh)
        self.rule = rule
        self.message_zh = message_zh


LABELS_ZH = {"temperature": "温度（°C）", "humidity": "相对湿度（%）"}


def parse_value(quantity: str, text: Any) -> Decimal:
    """A reading's value from what was typed or read from a file: a finite decimal number
    (full-width digits and a trailing unit allowed) within the plausible range."""
    label = LABELS_ZH[quantity]
    raw = str(text if text is not None else "").strip()
    cleaned = raw.translate(_FULL_WIDTH).replace("％", "%").replace("℃", "").replace("°C", "")
    cleaned = cleaned.rstrip("%").strip()
    if not cleaned:
        raise ValueProblem("required", f"{label}必填")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueProblem("not_a_number", f"{label}须为数字：{raw}") from None
    if not value.is_finite():
        raise ValueProblem("not_a_number", f"{label}须为数字：{raw}")
    low, high = plausible_range(quantity)
    if value < low or value > high:
        raise ValueProblem(
            "implausible", f"{label}不可能为 {raw}：有效范围 {low} 至 {high}（录入或传感器错误）"
        )
    return value.quantize(Decimal("0.01"))


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－＋", "0123456789.-+")


def box_thicknesses() -> list[int]:
    """The spine thicknesses (mm) of an archives box (DA/T 22-2015)."""
    return [int(t) for t in load_data(DATA_FILE)["box_thickness_mm"]]


def default_box_thickness() -> int:
    return int(load_data(DATA_FILE)["box_thickness_default_mm"])
