#!/usr/bin/env bash
# Lighthouse performance of a plain page with and without the embeddable chat
# widget, in Debian's Chromium. Bounded and self-stopping: every wait has a
# timeout and the EXIT trap kills what this script started (by pid).
#
#   end2end/load/lighthouse.sh            # uses /tmp/lh (see below)
#
# Needs, in $LH_DIR (default /tmp/lh):
#   defmis-chat   a copy of target/release/defmis-chat
#   site/         a copy of target/site
#   node_modules/ with lighthouse (cd $LH_DIR && npm install lighthouse)
# and /usr/bin/chromium. Nothing is downloaded; all traffic is loopback.
# Env: RUNS (3), API_PORT (8300), PAGE_PORT (8301), LH_TIMEOUT (120 s/run).
set -euo pipefail

LH_DIR=${LH_DIR:-/tmp/lh}
RUNS=${RUNS:-3}
API_PORT=${API_PORT:-8300}
PAGE_PORT=${PAGE_PORT:-8301}
LH_TIMEOUT=${LH_TIMEOUT:-120}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
LH="$LH_DIR/node_modules/.bin/lighthouse"

for f in "$LH_DIR/defmis-chat" "$LH_DIR/site/static/js/chat-widget.js" "$LH" "$CHROME_PATH"; do
  [[ -e "$f" ]] || { echo "missing: $f" >&2; exit 2; }
done

work=$(mktemp -d "$LH_DIR/run.XXXXXX")
pages="$work/pages"
out="$work/reports"
mkdir -p "$pages" "$out"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  sleep 0.5
  for p in "${pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url, seconds
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "timed out waiting for $1" >&2
  return 1
}

# --- the chat server (copied release build) --------------------------------
(
  cd "$work"
  exec env LEPTOS_SITE_ROOT="$LH_DIR/site" LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_OUTPUT_NAME=defmis-chat LEPTOS_SITE_ADDR="127.0.0.1:$API_PORT" \
    DATABASE_URL="sqlite://$work/lh.db?mode=rwc" \
    SECRET_KEY="some-32-char-secret-0123456789abcdef" \
    RUST_LOG=warn \
    "$LH_DIR/defmis-chat"
) >"$work/server.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$API_PORT/static/js/chat-widget.js" 30 || {
  cat "$work/server.log" >&2
  exit 1
}

# --- the two static pages ---------------------------------------------------
body='<h1>Acme Widgets</h1>
<p>Acme makes small, dependable widgets for homes and offices. Our catalogue
covers fasteners, brackets, hinges and a range of spare parts, all shipped
within two working days.</p>
<h2>About us</h2>
<p>Founded in 1998, we are a family business of twelve people. We answer every
question ourselves, usually within the hour during office time.</p>
<p>Questions about an order? Use the chat button, or write to
<a href="mailto:help@example.com">help@example.com</a>.</p>'
page() { # title, extra-before-</body>
  cat <<EOF
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="A typical small page used to measure the chat widget.">
<title>$1</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}</style>
</head>
<body>
$body
$2
</body>
</html>
EOF
}
page "Acme Widgets" "" >"$pages/plain.html"
page "Acme Widgets" "<script>window.DEFMISChat={apiUrl:'http://127.0.0.1:$API_PORT'}</script><script src=\"http://127.0.0.1:$API_PORT/static/js/chat-widget.js\" async></script>" >"$pages/widget.html"

python3 -m http.server "$PAGE_PORT" --bind 127.0.0.1 --directory "$pages" >"$work/http.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$PAGE_PORT/plain.html" 15

# --- lighthouse -------------------------------------------------------------
echo "lighthouse $("$LH" --version), $("$CHROME_PATH" --version 2>/dev/null)"
echo "reports in $out"
for preset in mobile desktop; do
  extra=()
  [[ $preset == desktop ]] && extra=(--preset=desktop)
  for pg in plain widget; do
    for ((r = 1; r <= RUNS; r++)); do
      json="$out/$preset-$pg-$r.json"
      timeout -k 10 "$LH_TIMEOUT" "$LH" "http://127.0.0.1:$PAGE_PORT/$pg.html" \
        --only-categories=performance "${extra[@]}" \
        --chrome-flags="--headless --no-sandbox --disable-gpu" \
        --output=json --output-path="$json" --quiet \
        || echo "run $preset/$pg/$r failed (rc $?)" >&2
    done
  done
done

# --- summary: median of the runs --------------------------------------------
python3 - "$out" "$RUNS" <<'EOF'
import json, glob, os, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def num(a, k): return a["audits"][k].get("numericValue")
rows = []
print(f"\nmedian of {runs} runs (time in ms, bytes = total transfer)")
print(f"{'preset':8} {'page':7} {'score':>5} {'FCP':>7} {'LCP':>7} {'TBT':>6} {'CLS':>6} {'SI':>7} {'TTI':>7} {'bytes':>7} {'reqs':>4}  per-run scores")
for preset in ("mobile", "desktop"):
    for pg in ("plain", "widget"):
        reps = []
        for f in sorted(glob.glob(f"{out}/{preset}-{pg}-*.json")):
            try: reps.append(json.load(open(f)))
            except Exception: pass
        if not reps:
            print(f"{preset:8} {pg:7} no reports"); continue
        med = lambda fn: statistics.median(fn(r) for r in reps)
        score = med(lambda r: (r["categories"]["performance"]["score"] or 0) * 100)
        items = lambda r: r["audits"]["network-requests"]["details"]["items"]
        print(f"{preset:8} {pg:7} {score:5.0f} "
              f"{med(lambda r: num(r,'first-contentful-paint')):7.0f} "
              f"{med(lambda r: num(r,'largest-contentful-paint')):7.0f} "
              f"{med(lambda r: num(r,'total-blocking-time')):6.0f} "
              f"{med(lambda r: num(r,'cumulative-layout-shift')):6.3f} "
              f"{med(lambda r: num(r,'speed-index')):7.0f} "
              f"{med(lambda r: num(r,'interactive') or 0):7.0f} "
              f"{med(lambda r: num(r,'total-byte-weight')):7.0f} "
              f"{med(lambda r: len(items(r))):4.0f}  "
              + ",".join(str(round((r['categories']['performance']['score'] or 0)*100)) for r in reps))
# TBT per run shows the spread that the median hides
for preset in ("mobile", "desktop"):
    for pg in ("plain", "widget"):
        fs = sorted(glob.glob(f"{out}/{preset}-{pg}-*.json"))
        tbt = [round(json.load(open(f))["audits"]["total-blocking-time"]["numericValue"]) for f in fs]
        print(f"TBT per run {preset}/{pg}: {tbt}")
# what the widget page fetched, from the last mobile and desktop runs
for preset in ("mobile", "desktop"):
    fs = sorted(glob.glob(f"{out}/{preset}-widget-*.json"))
    if not fs: continue
    r = json.load(open(fs[-1]))
    print(f"\nrequests on widget.html ({preset}, {os.path.basename(fs[-1])}):")
    for it in r["audits"]["network-requests"]["details"]["items"]:
        print(f"  {it.get('networkRequestTime',0):6.0f}-{it.get('networkEndTime',0):6.0f} ms {it.get('transferSize',0):7} B  {it.get('resourceType','?'):6} {it['url']}")
    for t in r["audits"].get("long-tasks", {}).get("details", {}).get("items", []):
        print(f"  long task at {t.get('startTime',0):6.0f} ms, {t.get('duration',0):5.0f} ms: {t.get('url')}")
    warns = r.get("runWarnings") or []
    for w in warns: print("  warning:", w)
EOF
