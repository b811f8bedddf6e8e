#!/usr/bin/env python3
"""Adds "calls out" to the demo snapshot's targets (server/demo/snapshot.json.gz): the names
of other packages each target's request- and worker-time code calls, as a scan with the call
graph records them (`scans.calls_out`), for a snapshot made before scans recorded them.

Each target's package is scanned alone, as the benchmark corpus holds it (one directory per
`name==version`, scanner/bench/corpus.sh), with `unthread-scan --write-calls-out`. A library
repository replayed from its git history takes the calls of its released code at the pinned
version, as scripts/demo-snapshot-runs-at.py does for runs-at. A target with no corpus
directory keeps none. The snapshot's `source` says it was done.

usage: scripts/demo-snapshot-calls-out.py [corpus-dir] [unthread-scan]
"""
import json
import os
import subprocess
import sys
import tempfile

import demo_snapshot

corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/unthread/bench/corpus")
scanner = sys.argv[2] if len(sys.argv) > 2 else os.path.join(demo_snapshot.ROOT, "target/release/unthread-scan")


def normalised(name):
    return name.lower().replace("_", "-").replace(".", "-")


directories = {}
for entry in os.listdir(corpus):
    name, _, version = entry.partition("==")
    directories[(normalised(name), version)] = entry
    directories.setdefault((normalised(name), None), entry)

snapshot = demo_snapshot.load()
with_calls = calls = 0
for target in snapshot["targets"]:
    package = normalised(target["package"])
    entry = directories.get((package, target.get("revision"))) or directories.get((package, None))
    if entry is None:
        continue
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "calls-out.json")
        command = [scanner, os.path.join(corpus, entry), "--write-calls-out", out, "--format", "summary"]
        subprocess.run(command + ["-o", os.devnull, "--exit-zero", "-q"], check=True)
        with open(out) as f:
            found = json.load(f)
    target["calls_out"] = found
    with_calls += bool(found)
    calls += len(found)
demo_snapshot.save(
    snapshot,
    "; calls out added from unthread-scan --write-calls-out of the same pinned packages (scripts/demo-snapshot-calls-out.py)",
)
print(f"{calls} calls out in {with_calls} of {len(snapshot['targets'])} targets", file=sys.stderr)
