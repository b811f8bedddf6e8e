#!/usr/bin/env python3
"""Regenerates the API index bundled with unthread-scan (`scanner/data/api-index.json`): the
thread-local-backed APIs of every package of the benchmark corpus (the pinned dependencies of
openedx-platform, `scanner/bench/corpus.sh`), so that UT011 finds calls of `crum`'s
`get_current_request` and the like without anyone building an index by hand.

Each package is scanned alone with `--write-api-index`, then again with the merged index of
the previous pass as input (a package's API that calls another package's API joins the chain:
edx-rbac over crum), until a pass adds nothing (at most 4). The file records the versions it
covers. Needs the corpus (the network, once) and a release build.

usage: python3 scripts/bundle-api-index.py [corpus-dir]
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCAN = os.path.join(ROOT, "target/release/unthread-scan")
OUT = os.path.join(ROOT, "scanner/data/api-index.json")
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/unthread/bench/corpus")

subprocess.run(["cargo", "build", "--release", "--locked", "-p", "scanner", "--bin", "unthread-scan", "--quiet"], cwd=ROOT, check=True)
pins = sorted(d for d in os.listdir(corpus) if "==" in d and os.path.isdir(os.path.join(corpus, d)))
if not pins:
    sys.exit(f"{corpus}: no name==version directories (build the corpus with scanner/bench/corpus.sh)")

merged = {}
with tempfile.TemporaryDirectory() as work:
    previous = os.path.join(work, "previous.json")
    for round_ in range(4):
        found = {}
        for pin in pins:
            name = pin.split("==")[0]
            # The other packages' APIs only: a package's own calls are not a dependency's
            # API (fed back, they made sympy's every function an "API").
            with open(previous, "w") as f:
                json.dump({"version": 2, "apis": {q: a for q, a in merged.items() if a["package"] != name}}, f)
            out = os.path.join(work, "index.json")
            subprocess.run(
                [SCAN, os.path.join(corpus, pin), "--package", name, "--api-index", previous, "--no-bundled-index",
                 "--write-api-index", out, "--exit-zero", "--quiet", "--format", "summary"],
                check=True, stdout=subprocess.DEVNULL,
            )
            with open(out) as f:
                for qualname, api in json.load(f)["apis"].items():
                    found.setdefault(qualname, api)
        added = len(set(found) - set(merged))
        merged = found
        print(f"pass {round_ + 1}: {len(merged)} APIs ({added} new)", file=sys.stderr)
        if added == 0:
            break

packages = sorted({api["package"] for api in merged.values()})
bundle = {"version": 2, "covers": pins, "apis": merged}
with open(OUT, "w") as f:
    json.dump(bundle, f, separators=(",", ":"), sort_keys=True)
    f.write("\n")
print(f"{OUT}: {len(merged)} APIs of {len(packages)} packages, from {len(pins)} pins", file=sys.stderr)
