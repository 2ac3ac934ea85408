"""Signal handlers that feed the audit log: logins, and every change of a registered model."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from lantai.core import audit
from lantai.core.client_address import client_address


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record("login", "user", user.pk, {"ip": client_address(request)}, actor=user.username)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record("logout", "user", user.pk, {}, actor=user.username)


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    name = str(credentials.get("username", ""))
    from lantai.core.accounts import note_login_failure

    address = client_address(request)
    detail: dict[str, Any] = {"ip": address}
    if not note_login_failure(name, address):
        detail["blocked"] = True  # refused by a block: no password was checked, nothing counted
    audit.record("login_failed", "user", name, detail, actor=name or "anonymous")


def _snapshot(instance: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(instance, f) for f in fields}


def audit_changes(model: type[models.Model], name: str, fields: tuple[str, ...]) -> None:
    """Write create/update/delete entries for `model`, with the changed `fields` (old → new)."""

    def before(sender: Any, instance: models.Model, raw: bool = False, **kw: Any) -> None:
        if raw or instance.pk is None:
            return
        old = sender.objects.filter(pk=instance.pk).values(*fields).first()
        instance._audit_old = old  # type: ignore[attr-defined]

    def after_save(
        sender: Any, instance: models.Model, created: bool, raw: bool = False, **kw: Any
    ) -> None:
        if raw:
            return
        new = _snapshot(instance, fields)
        if created:
            audit.record("create", name, instance.pk, new)
            return
        old = getattr(instance, "_audit_old", None) or {}
        changes = {f: [old.get(f), new[f]] for f in fields if old.get(f) != new[f]}
        if changes:
            audit.record("update", name, instance.pk, {"changes": changes})

    def after_delete(sender: Any, instance: models.Model, **kw: Any) -> None:
        audit.record("delete", name, instance.pk, _snapshot(instance, fields))

    uid = f"audit:{name}"
    pre_save.connect(before, sender=model, weak=False, dispatch_uid=uid)
    post_save.connect(after_save, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(after_delete, sender=model, weak=False, dispatch_uid=uid)
