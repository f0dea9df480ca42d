#!/usr/bin/env python3
"""Prints what each dashboard page downloads on a first visit: the main
module plus every chunk `__wasm_split_manifest.json` lists for the page's
lazy split, each gzipped at level 9 (as a server's static gzip would).

    cargo leptos build --release --split
    scripts/dashboard-sizes.py [--check] [target/site/pkg]

With `--check` it exits 1 when a page's first load is over its budget
(`BUDGET_KB`), so the dashboard cannot grow past it unnoticed: 400 KB
for every page (issue 9's goal), and for the page still over that goal
(a conversation), what it loads today and a little room, until it is
brought under it. The sizes are deterministic for a given toolchain and source.
"""
import gzip
import json
import sys
from pathlib import Path

GOAL_KB = 400.0
# The pages over the goal: their first load at the last change, plus
# a few KB. Lower these as the pages shrink; never raise them silently.
BUDGET_KB = {
    "conversation_page": 448.0,  # 445.0 KB on 2026-12-08 (09595f1)
}

args = [a for a in sys.argv[1:] if a != "--check"]
check = "--check" in sys.argv[1:]
pkg = Path(args[0] if args else "target/site/pkg")
manifest = json.loads((pkg / "__wasm_split_manifest.json").read_text())


def gz(name: str) -> int:
    return len(gzip.compress((pkg / name).read_bytes(), 9))


main = gz("defmis-chat.wasm")
glue = gz("defmis-chat.js")
print(f"main module {main / 1000:.1f} KB gzipped (JS glue {glue / 1000:.1f} KB)")
print("first load per lazy split (main module + its chunks):")
over = []
for split, chunks in sorted(manifest.items()):
    total = (main + sum(gz(f"{c}.wasm") for c in chunks)) / 1000
    name = split.rsplit("_", 1)[0]
    budget = BUDGET_KB.get(name, GOAL_KB)
    mark = "" if total <= GOAL_KB else f"  (over the {GOAL_KB:.0f} KB goal; budget {budget:.0f})"
    print(f"  {name:20} {total:6.1f} KB gzipped in {len(chunks) + 1} wasm files{mark}")
    if total > budget:
        over.append(f"{name}: {total:.1f} KB > {budget:.0f} KB")
if check:
    if over:
        print("over budget:", "; ".join(over), file=sys.stderr)
        sys.exit(1)
    print("every page within its budget")
