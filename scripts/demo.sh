#!/usr/bin/env bash
# Install what is needed, seed the demo archives and serve it on http://127.0.0.1:8000
# (embedded defaults: SQLite and files under ./lantai-data). Arguments go to `lantai demo`.
# The demo archives is alive: records with electronic files (卷内文件 in a few 案卷), an accepted
# transfer with its 四性检测 report, packages preserved on two locations (the second one,
# demo-replica, under the data directory: for the demo only) and audited, an answered access request.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
exec .venv/bin/lantai demo "$@"
