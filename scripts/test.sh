#!/usr/bin/env bash
# Installs what is missing and runs every check and test: formatting, clippy
# per crate and target, unit and integration tests (SQLite always;
# PostgreSQL and Redis too when TEST_DATABASE_URL / TEST_REDIS_URL are set),
# the widget's decoder against the server's golden frames, the browser
# tests in headless Chromium, and Debian's nginx with deploy/nginx.conf in
# front of the release build. Prints the time of each stage.
#
# Tests that need PostgreSQL or Redis are #[ignore]d: without the URLs they
# are reported as skipped; with them they run (--include-ignored) and one
# that runs without its URL fails. With REQUIRE_SERVICES=1 (CI) both URLs
# must be set, and nothing may be skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log=$(mktemp)
timings=$(mktemp)
trap 'rm -f "$log" "$timings"' EXIT
stage_name="" stage_start=0
step() {
  end_stage
  stage_name="$*" stage_start=$SECONDS
  printf '\n==> %s\n' "$*"
}
end_stage() {
  if [[ -n "$stage_name" ]]; then
    printf '%6ds  %s\n' $((SECONDS - stage_start)) "$stage_name" >>"$timings"
  fi
  stage_name=""
}

with_services=false
if [[ -n "${TEST_DATABASE_URL:-}" && -n "${TEST_REDIS_URL:-}" ]]; then
  with_services=true
elif [[ "${REQUIRE_SERVICES:-}" == 1 ]]; then
  echo "REQUIRE_SERVICES=1 but TEST_DATABASE_URL or TEST_REDIS_URL is unset" >&2
  exit 1
fi
include=()
$with_services && include=(--include-ignored)

step "installing tools (skipped when present)"
scripts/install-tools.sh --test
step "building the widget"
scripts/build-widget.sh

step "cargo fmt --check"
cargo fmt --all --check

# Two builds, not one per crate: the server turns on the app's `ssr` and the
# frontend its `hydrate`, and crates checked together share their
# dependencies' feature sets, so nothing is checked twice.
step "clippy (never ssr and hydrate in one build)"
cargo clippy -p server -p migrations -p defmis-load -p app -p widget-wasm --all-targets -- -D warnings
cargo clippy -p app -p frontend -p widget-wasm --target wasm32-unknown-unknown -- -D warnings

step "server, migrations and load-tool tests${TEST_DATABASE_URL:+ (with PostgreSQL)}${TEST_REDIS_URL:+ (with Redis)}"
cargo test -p server -p migrations -p defmis-load -- "${include[@]}" 2>&1 | tee -a "$log"
step "app tests and the widget's golden frames"
cargo test -p app --features ssr 2>&1 | tee -a "$log"
cargo test -p widget-wasm 2>&1 | tee -a "$log"

step "browser tests (cargo leptos end-to-end --release --split)"
e2e_dir=$(mktemp -d)
export DATABASE_URL="sqlite://$e2e_dir/e2e.db?mode=rwc"
export SECRET_KEY="end-to-end-secret-key-0123456789abcdef"
export IDENTITY_SECRET="e2e-identity-secret-0123456789"
# Every browser test starts conversations from 127.0.0.1: more than the
# default 10 a minute. The limit itself is tested by the server's tests.
export LIMIT_STARTS_PER_MINUTE=600
export ATTACHMENT_STORAGE="$e2e_dir/attachments"
unset REDIS_URL
e2e_log=$(mktemp)
cargo leptos end-to-end --release --split 2>&1 | tee "$e2e_log"
cat "$e2e_log" >>"$log"
# cargo-leptos 0.3.10 can exit 0 when the build fails: the browser tests
# count only if Playwright reported them.
if ! grep -Eq '^ *[0-9]+ passed' "$e2e_log" || grep -Eq '^ *[0-9]+ failed' "$e2e_log"; then
  echo "browser tests did not run, or failed" >&2
  rm -rf "$e2e_dir" "$e2e_log"
  exit 1
fi
rm -rf "$e2e_dir" "$e2e_log"

# The release build the browser tests ran: each page's first load must be
# within its budget (the script's BUDGET_KB; 400 KB is the goal).
step "dashboard wasm sizes against their budgets"
python3 scripts/dashboard-sizes.py --check target/site/pkg 2>&1 | tee -a "$log"

step "nginx in front of the release build (deploy/nginx.conf)"
scripts/check-nginx.sh 2>&1 | tee -a "$log"
end_stage

passed=$(grep -Eo '([0-9]+) passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '([0-9]+) failed' "$log" | awk '{s+=$1} END {print s+0}')
skipped=$(grep -Eo '([0-9]+) ignored' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "time per stage:"
cat "$timings"
printf '%6ds  total\n' "$SECONDS"
echo
echo "all: $passed passed, $failed failed, $skipped skipped (PostgreSQL/Redis tests without their URLs)"
[[ "$failed" == 0 ]]
if [[ "${REQUIRE_SERVICES:-}" == 1 && "$skipped" != 0 ]]; then
  echo "REQUIRE_SERVICES=1: $skipped tests were skipped" >&2
  exit 1
fi
