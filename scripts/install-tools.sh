#!/usr/bin/env bash
# Installs what building (and, with --test, testing) DEFMIS Chat needs on a
# fresh machine, from package registries only. Each tool is skipped when the
# right version is already there, so a second run takes seconds.
#
#   scripts/install-tools.sh          build tools
#   scripts/install-tools.sh --test   build tools + Chromium + Playwright + moto
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 needs rustc >= 1.96
SASS_VERSION=1.108.2
BINARYEN_VERSION=132.0.0      # never Debian's binaryen 108: it breaks hydration
MOTO_VERSION=5.2.1           # a local S3 API for the S3 storage test
TERSER_VERSION=5.51.4         # minifies the widget's JS glue (−0.9 KB gzipped)
with_test=false
[[ "${1:-}" == "--test" ]] && with_test=true

say() { printf '\n==> %s\n' "$*"; }

# The toolchain and wasm target come from rust-toolchain.toml.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# wasm-bindgen's CLI must equal the crate version in Cargo.lock.
wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$wbg"; then
  say "installing wasm-bindgen-cli $wbg"
  # Without --locked: its lock file pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$wbg"
fi

npm_global() { # name version command
  if ! "$3" --version 2>/dev/null | grep -q "${2%%.0.0}"; then
    say "installing $1@$2 from npm"
    npm install -g --no-fund --no-audit "$1@$2"
  fi
}
npm_global sass "$SASS_VERSION" sass
npm_global binaryen "$BINARYEN_VERSION" wasm-opt
npm_global terser "$TERSER_VERSION" terser

if $with_test; then
  if [[ ! -x /usr/bin/chromium ]]; then
    say "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  fi
  if ! python3 -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    say "installing moto $MOTO_VERSION from PyPI (S3 API for the storage test)"
    python3 -m pip install -q "moto[server]==$MOTO_VERSION"
  fi
  if [[ ! -d end2end/node_modules/@playwright/test ]]; then
    say "installing Playwright (no browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-fund --no-audit)
  fi
fi
