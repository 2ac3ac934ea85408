#!/usr/bin/env bash
# Install what is needed, seed the demo archives and serve it on http://127.0.0.1:8000
# (embedded defaults: SQLite and files under ./lantai-data). Arguments go to `lantai demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
exec .venv/bin/lantai demo "$@"
