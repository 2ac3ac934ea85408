"""`lantai backup create|verify|restore` and `lantai database move` (lantai.ops.backup, lantai.ops.move)."""

from __future__ import annotations

import click


@click.group()
def backup() -> None:
    """备份与恢复 (back up and restore the database, keys, configuration and the audit chain)."""


@click.group()
def database() -> None:
    """数据库 (move from SQLite to PostgreSQL)."""
