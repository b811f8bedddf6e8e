#!/usr/bin/env python3
"""Adds "runs at" to the demo snapshot's findings (server/demo/snapshot.json.gz), for a
snapshot made before scans recorded it, without redoing the snapshot (its library histories
need the repositories' git mirrors).

The pinned packages are scanned again, as the benchmark corpus holds them
(scanner/bench/corpus.sh: every pin of the requirements file, one directory per
`name==version`), with `unthread-scan --runs-at`; each of the snapshot's findings takes the
runs-at of the finding with the same content fingerprint at the same package-relative path.
A library repository's findings match where its code at the replayed commit is its released
code; a finding with no match stays "not analysed". The snapshot's `source` says it was done.

usage: scripts/demo-snapshot-runs-at.py [corpus-dir] [unthread-scan]
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
snapshot_path = os.path.join(root, "server/demo/snapshot.json.gz")
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/unthread/bench/corpus")
scanner = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "target/release/unthread-scan")

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "findings.jsonl")
    subprocess.run([scanner, corpus, "--runs-at", "--format", "jsonl", "-o", out, "--exit-zero", "-q"], check=True)
    runs_at = {}
    with open(out) as lines:
        for line in lines:
            finding = json.loads(line)
            if "runs_at" not in finding:
                continue
            # `name==version/<package path>`: the path as a scan of the package alone names it.
            path = finding["path"].split("/", 1)[1]
            runs_at[(path, finding["content_fingerprint"])] = finding["runs_at"]

with gzip.open(snapshot_path) as f:
    snapshot = json.load(f)
matched = total = 0
for target in snapshot["targets"]:
    lists = [target.get("findings") or []] + [scan.get("findings") or [] for scan in target.get("history", [])]
    for findings in lists:
        for finding in findings:
            total += 1
            found = runs_at.get((finding["path"], finding.get("content_fingerprint")))
            if found:
                finding["runs_at"] = found
                matched += 1
note = "; runs-at added from unthread-scan --runs-at of the same pinned packages (scripts/demo-snapshot-runs-at.py)"
if note not in snapshot["source"]:
    snapshot["source"] += note
with gzip.GzipFile(snapshot_path, "wb", mtime=0) as f:
    f.write(json.dumps(snapshot, separators=(",", ":")).encode())
print(f"runs-at for {matched} of {total} snapshot findings", file=sys.stderr)
