#!/usr/bin/env bash
# Builds the embeddable chat widget into public/static/widget/ and prints the
# sizes a visitor downloads (loader, JS glue, wasm; raw and gzipped), and
# fails when a budget is exceeded: loader <= 3 KB gzipped, wasm + glue <=
# 40 KB gzipped (issue 8). Respects CARGO_TARGET_DIR.
#
# Needs: node, the wasm32-unknown-unknown target, wasm-bindgen (same version as the
# wasm-bindgen crate in Cargo.lock) and wasm-opt (binaryen >= 116, e.g. npm
# binaryen@132; Debian's binaryen 108 breaks the externref table) and terser
# (npm terser@5).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=public/static/widget
wasm=${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/widget-release/defmis_widget.wasm

cargo build -p widget-wasm --target wasm32-unknown-unknown --profile widget-release

# --omit-default-module-path: the loader always passes the .wasm URL.
wasm-bindgen --target web --no-typescript --omit-default-module-path --out-dir "$out" --out-name defmis_widget "$wasm"

# rustc's default wasm32 features (LLVM 20+): the output uses bulk memory,
# saturating float-to-int, sign extension, mutable globals, multivalue and
# reference types (wasm-bindgen's externref table); all must be enabled for
# the module to validate. --flatten --rereloop (rebuild control flow) and
# --gufa (whole-program flow analysis) before the final -Oz save ≈ 0.25 KB
# gzipped; --converge repeats -Oz while it still shrinks; the strip flags
# drop sections browsers ignore (names, producers, target features).
wasm-opt --flatten --rereloop -Oz --gufa -Oz --converge \
  --strip-debug --strip-producers --strip-target-features \
  --enable-bulk-memory \
  --enable-nontrapping-float-to-int \
  --enable-sign-ext \
  --enable-mutable-globals \
  --enable-multivalue \
  --enable-reference-types \
  "$out/defmis_widget_bg.wasm" -o "$out/defmis_widget_bg.wasm"

# Short import names in the .wasm and the glue (wasm-bindgen's carry a
# 16-hex-digit hash each that does not compress): −4 KB gzipped.
node scripts/minify-widget-imports.mjs "$out/defmis_widget.js" "$out/defmis_widget_bg.wasm"

# Then a real minifier over the glue (local names, dead branches; exports,
# and the import object's keys the wasm names, are kept): −0.9 KB gzipped.
terser "$out/defmis_widget.js" --module --compress --mangle -o "$out/defmis_widget.min.js"
mv "$out/defmis_widget.min.js" "$out/defmis_widget.js"

# Gzipped as the browser test measures it (Node's zlib, level 9: some
# 60 B more than GNU gzip -9 on these files).
gz() { node -e 'process.stdout.write(String(require("zlib").gzipSync(require("fs").readFileSync(process.argv[1]),{level:9}).length))' "$1"; }

size() {
  local f=$1 raw gz
  raw=$(wc -c <"$f")
  gz=$(gz "$f")
  printf '%-48s %8d B raw %8d B gzip\n' "$f" "$raw" "$gz"
}

echo
size public/static/js/chat-widget.js
size "$out/defmis_widget.js"
size "$out/defmis_widget_bg.wasm"
total=$(cat public/static/js/chat-widget.js "$out/defmis_widget.js" "$out/defmis_widget_bg.wasm" | wc -c)
total_gz=$(( $(gz public/static/js/chat-widget.js) + $(gz "$out/defmis_widget.js") + $(gz "$out/defmis_widget_bg.wasm") ))
printf '%-48s %8d B raw %8d B gzip\n' "total" "$total" "$total_gz"

loader_gz=$(gz public/static/js/chat-widget.js)
widget_gz=$(( $(gz "$out/defmis_widget.js") + $(gz "$out/defmis_widget_bg.wasm") ))
fail=0
if (( loader_gz > 3072 )); then
  echo "budget exceeded: loader is $loader_gz B gzipped, the budget is 3072 B" >&2
  fail=1
fi
if (( widget_gz > 40960 )); then
  echo "budget exceeded: wasm + glue are $widget_gz B gzipped, the budget is 40960 B" >&2
  fail=1
fi
(( fail == 0 )) && echo "within budget: loader $loader_gz B / 3072 B, wasm + glue $widget_gz B / 40960 B (gzipped)"
exit "$fail"
