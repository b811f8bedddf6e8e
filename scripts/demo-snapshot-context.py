#!/usr/bin/env python3
"""Adds the lines around each finding ("context", which scans record since findings carry
it) to the demo snapshot (server/demo/snapshot.json.gz), for a snapshot made before, without
redoing the snapshot (its library histories need the repositories' git mirrors).

The pinned packages are scanned again as the benchmark corpus holds them
(scanner/bench/corpus.sh: one directory per `name==version`), and the openedx-platform files
of the snapshot's platform scan when a directory holding them is given (the one
scripts/demo-platform-files.sh fills). Each snapshot finding takes the context of the finding
with the same content fingerprint at the same package-relative path and the same first line
(the context is of those lines). A library repository's findings match where its code at the
replayed commit is its released code; a finding with no match shows its one line. The
snapshot's `source` says it was done.

usage: scripts/demo-snapshot-context.py [corpus-dir] [platform-dir] [unthread-scan]
"""
import os
import sys

import demo_snapshot

corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/unthread/bench/corpus")
platform = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
scanner = sys.argv[3] if len(sys.argv) > 3 else os.path.join(demo_snapshot.ROOT, "target/release/unthread-scan")


def contexts(findings, path_of):
    """(path, content fingerprint, first line) -> context."""
    return {(path_of(f), f["content_fingerprint"], f["start"]["line"]): f["context"] for f in findings if "context" in f}


def annotate(findings, known):
    matched = 0
    for finding in findings:
        found = known.get((finding["path"], finding.get("content_fingerprint"), finding["start_line"]))
        if found:
            finding["context"] = found
            matched += 1
    return matched


packages = contexts(demo_snapshot.scan(scanner, corpus), demo_snapshot.package_path)
platform_files = contexts(demo_snapshot.scan(scanner, platform), lambda f: f["path"]) if platform else {}
snapshot = demo_snapshot.load()
matched = total = 0
for findings in demo_snapshot.finding_lists(snapshot):
    total += len(findings)
    matched += annotate(findings, packages)
platform_findings = (snapshot.get("platform_files") or {}).get("findings") or []
total += len(platform_findings)
matched += annotate(platform_findings, platform_files)
demo_snapshot.save(
    snapshot,
    "; context lines added from unthread-scan of the same pinned packages and platform files "
    "(scripts/demo-snapshot-context.py)",
)
print(f"context for {matched} of {total} snapshot findings", file=sys.stderr)
