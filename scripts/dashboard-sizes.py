#!/usr/bin/env python3
"""Prints what each dashboard page downloads on a first visit: the main
module plus every chunk `__wasm_split_manifest.json` lists for the page's
lazy split, each gzipped at level 9 (as a server's static gzip would).

    cargo leptos build --release --split
    scripts/dashboard-sizes.py [target/site/pkg]
"""
import gzip
import json
import sys
from pathlib import Path

pkg = Path(sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg")
manifest = json.loads((pkg / "__wasm_split_manifest.json").read_text())


def gz(name: str) -> int:
    return len(gzip.compress((pkg / name).read_bytes(), 9))


main = gz("defmis-chat.wasm")
glue = gz("defmis-chat.js")
print(f"main module {main / 1000:.1f} KB gzipped (JS glue {glue / 1000:.1f} KB)")
print("first load per lazy split (main module + its chunks):")
for split, chunks in sorted(manifest.items()):
    total = main + sum(gz(f"{c}.wasm") for c in chunks)
    name = split.rsplit("_", 1)[0]
    print(f"  {name:20} {total / 1000:6.1f} KB gzipped in {len(chunks) + 1} wasm files")
