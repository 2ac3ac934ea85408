"""Signals 收 sends to the floors above it, which subscribe; ingest never imports them.

``transfer_accepted``: a transfer was accepted and its catalogue records created, inside the
accepting transaction. Arguments: ``transfer`` (ingest.models.Transfer), ``records`` (the new
records' ids), ``label`` (a Chinese name for the package). Preservation makes the package.
"""

from __future__ import annotations

from django.dispatch import Signal

transfer_accepted = Signal()
