"""Helpers shared by the `lantai` command and the command groups of the apps."""

from __future__ import annotations

import getpass
import json
import os
from typing import Any

import click


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
    import django

    django.setup()


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry (containers)
        return "cli"


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
