"""`{{ value|figure }}`: a statistics figure with thousands separators (12,345; 60.25), "—" for
none; `{{ value|signed }}` the same with + before a rise."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def figure(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}" if isinstance(value, int) else f"{value:,.1f}"


@register.filter
def signed(value: object) -> str:
    shown = figure(value)
    return f"+{shown}" if isinstance(value, int | float) and value > 0 else shown
