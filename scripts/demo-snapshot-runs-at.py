#!/usr/bin/env python3
"""Adds "runs at" to the demo snapshot's findings (server/demo/snapshot.json.gz), and their
messages as the scanner now words them, for a snapshot made before scans recorded them,
without redoing the snapshot (its library histories need the repositories' git mirrors).

The pinned packages are scanned again, as the benchmark corpus holds them
(scanner/bench/corpus.sh: every pin of the requirements file, one directory per
`name==version`), with `unthread-scan --runs-at`; each of the snapshot's findings takes the
runs-at of the finding with the same content fingerprint at the same package-relative path.
A library repository's findings match where its code at the replayed commit is its released
code; a finding with no match stays "not analysed". The snapshot's `source` says it was done.

usage: scripts/demo-snapshot-runs-at.py [corpus-dir] [unthread-scan]
"""
import os
import sys

import demo_snapshot

corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/unthread/bench/corpus")
scanner = sys.argv[2] if len(sys.argv) > 2 else os.path.join(demo_snapshot.ROOT, "target/release/unthread-scan")

# Rules whose messages the scanner words otherwise since the snapshot was made.
REWORDED = {"UT010", "UT013"}

runs_at = {
    (demo_snapshot.package_path(f), f["content_fingerprint"]): (f["runs_at"], f["message"])
    for f in demo_snapshot.scan(scanner, corpus, "--runs-at")
    if "runs_at" in f
}
snapshot = demo_snapshot.load()
matched = total = 0
for findings in demo_snapshot.finding_lists(snapshot):
    for finding in findings:
        total += 1
        if finding["rule"] in REWORDED:
            # Unmatched findings (a library's code at an older commit) get the same wording.
            finding["message"] = finding["message"].replace(" is changed at request time by ", " is changed in functions, by ")
        found = runs_at.get((finding["path"], finding.get("content_fingerprint")))
        if found:
            finding["runs_at"], message = found
            # Only the wording of these rules changed; another rule's message may name a
            # chain the snapshot's own scan found through its dependencies' indexes.
            if finding["rule"] in REWORDED:
                finding["message"] = message
            matched += 1
demo_snapshot.save(
    snapshot, "; runs-at added from unthread-scan --runs-at of the same pinned packages (scripts/demo-snapshot-runs-at.py)"
)
print(f"runs-at for {matched} of {total} snapshot findings", file=sys.stderr)
