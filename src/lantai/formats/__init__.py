"""Format identification and validation shared by 移交与接收 (ingest) and 长期保存 (preservation).

A room below both stages (see docs/decisions/0017-honest-check-results.md): plain Python, no Django,
imports only :mod:`lantai.standards`. ``identify`` (opf-fido + libmagic), ``fido_index`` (fido's
signatures, fast), ``checks`` (per-format validators), ``stage`` (both in worker processes),
``policy`` (the accepted-formats policy), ``pool`` (how workers start).
"""
