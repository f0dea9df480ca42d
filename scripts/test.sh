#!/usr/bin/env bash
# Installs what is missing and runs every check and test: formatting, clippy
# per crate and target, unit and integration tests (SQLite always;
# PostgreSQL and Redis too when TEST_DATABASE_URL / TEST_REDIS_URL are set),
# and the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
step() { printf '\n==> %s\n' "$*"; }

scripts/install-tools.sh --test
step "building the widget"
scripts/build-widget.sh

step "cargo fmt --check"
cargo fmt --all --check

step "clippy (never ssr and hydrate in one build)"
cargo clippy -p server -p migrations --all-targets -- -D warnings
cargo clippy -p app --features ssr --all-targets -- -D warnings
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p widget-wasm --target wasm32-unknown-unknown -- -D warnings

step "server and migrations tests${TEST_DATABASE_URL:+ (with PostgreSQL)}${TEST_REDIS_URL:+ (with Redis)}"
cargo test -p server -p migrations 2>&1 | tee -a "$log"
step "app tests"
cargo test -p app --features ssr 2>&1 | tee -a "$log"

step "browser tests (cargo leptos end-to-end --release)"
e2e_dir=$(mktemp -d)
export DATABASE_URL="sqlite://$e2e_dir/e2e.db?mode=rwc"
export SECRET_KEY="end-to-end-secret-key-0123456789abcdef"
unset REDIS_URL
cargo leptos end-to-end --release 2>&1 | tee -a "$log"
rm -rf "$e2e_dir"

passed=$(grep -Eo '([0-9]+) passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '([0-9]+) failed' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "all: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
