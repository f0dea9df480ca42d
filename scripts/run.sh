#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs DEFMIS Chat on its
# embedded defaults: SQLite under ./data, in-process bus, demo page at
# http://127.0.0.1:8000/ and the dashboard at /dashboard.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh
scripts/build-widget.sh
# --split: the dashboard's pages are lazy wasm chunks (app/src/lib.rs).
exec cargo leptos serve --release --split
