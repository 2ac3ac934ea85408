"""Serving stored files (uploads, digital components) back to staff: always as a download."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse

SANDBOX_CSP = "default-src 'none'; sandbox"


def attachment_response(handle: Any, filename: str) -> FileResponse:
    """A download that browsers save rather than render: Content-Disposition attachment (the
    Chinese name in filename*), application/octet-stream, nosniff, and a sandboxing CSP in case a
    client renders it anyway. Takes ownership of the open `handle`."""
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    return response
