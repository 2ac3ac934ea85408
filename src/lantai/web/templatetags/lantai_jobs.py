"""``{% load lantai_jobs %}{% worker_status_banner %}``: the 后台任务未运行 banner."""

from __future__ import annotations

from typing import Any

from django import template

from lantai.web.worker_status import banner_context

register = template.Library()


@register.inclusion_tag("web/_worker_status.html", takes_context=True)
def worker_status_banner(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"worker_down": False}
    return banner_context(bool(context.get("waits_on_job")))
