#!/usr/bin/env python3
"""Adds rule UT013's findings (attributes of shared objects written in functions) to the demo
snapshot (server/demo/snapshot.json.gz), made while the rule was not yet run by Unthread's
scans, as those scans now record them: with the call graph, keeping the writes made at
request or worker time and those whose time their own package cannot tell (other targets'
calls may place them), never those made only at start-up or in tests.

- A pinned package is scanned as the benchmark corpus holds it (scanner/bench/corpus.sh: one
  directory per `name==version`), for its one scan.
- A library repository replayed from its git history is scanned at each replayed commit and
  at its latest, from its git mirror (`git archive`, the layout of the tool library's
  `fetch`: $MIRRORS/<owner>+<repo>/repo): its writes are those of its code at that commit
  (a commit that changed no Python file keeps recording none: it has the findings of the one
  before).
  A library whose mirror or commit is missing is left without UT013 findings, and said so.

Findings of UT013 already in a scan are replaced (the script can run again). The snapshot's
`source` says it was done.

usage: MIRRORS=/work/.mirror scripts/demo-snapshot-ut013.py [corpus-dir] [unthread-scan]
"""
import io
import os
import subprocess
import sys
import tarfile
import tempfile

import demo_snapshot

corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/unthread/bench/corpus")
scanner = sys.argv[2] if len(sys.argv) > 2 else os.path.join(demo_snapshot.ROOT, "target/release/unthread-scan")
mirrors = os.environ.get("MIRRORS", "/work/.mirror")

# The call graph, UT013 only, and the writes whose time is unknown (`--preview`), as
# Unthread's own scans keep them (server::ingest::scan::recorded_scan_options).
OPTIONS = ("--runs-at", "--preview", "--select", "UT013", "--include-tests")


def normalised(name):
    return name.lower().replace("_", "-").replace(".", "-")


def as_recorded(finding):
    """A finding of `unthread-scan --format jsonl` as a scan records it (db::ingest's
    IncomingFinding)."""
    recorded = {
        "fingerprint": finding["fingerprint"],
        "content_fingerprint": finding.get("content_fingerprint"),
        "rule": finding["rule"],
        "path": finding["path"],
        "start_line": finding["start"]["line"],
        "start_column": finding["start"]["column"],
        "end_line": finding["end"]["line"],
        "end_column": finding["end"]["column"],
        "symbol": finding.get("symbol"),
        "message": finding["message"],
        "snippet": finding.get("line_text"),
        "conditional": bool(finding.get("conditional", False)),
    }
    for key in ("runs_at", "context"):
        if key in finding:
            recorded[key] = finding[key]
    return recorded


def replace_ut013(findings, found):
    kept = [f for f in findings if f["rule"] != "UT013"]
    return kept + [as_recorded(f) for f in found]


def scan_commit(git_dir, commit):
    """UT013's findings in the tree of `commit`, paths relative to the repository's root."""
    archive = subprocess.run(["git", "--git-dir", git_dir, "archive", "--format=tar", commit], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        return demo_snapshot.scan(scanner, tmp, *OPTIONS)


directories = {}
for entry in os.listdir(corpus):
    name, _, version = entry.partition("==")
    directories[(normalised(name), version)] = entry

snapshot = demo_snapshot.load()
added = 0
missing = []
for target in snapshot["targets"]:
    if target.get("history"):
        git_dir = os.path.join(mirrors, target["name"].replace("/", "+"), "repo")
        scans = [(past["commit"], past) for past in target["history"]] + [(target["revision"], target)]
        if not os.path.isdir(git_dir):
            missing.append(target["name"])
            continue
        for commit, scan in scans:
            # A replayed commit that changed no Python file records no findings: it has
            # those of the scan before it.
            if "findings" not in scan:
                continue
            found = scan_commit(git_dir, commit)
            scan["findings"] = replace_ut013(scan.get("findings") or [], found)
            added += len(found)
        continue
    entry = directories.get((normalised(target["package"]), target.get("revision")))
    if entry is None:
        continue
    found = demo_snapshot.scan(scanner, os.path.join(corpus, entry), *OPTIONS)
    for finding in found:
        finding["path"] = demo_snapshot.package_path(finding) if finding["path"].startswith(entry + "/") else finding["path"]
    target["findings"] = replace_ut013(target.get("findings") or [], found)
    added += len(found)
demo_snapshot.save(
    snapshot,
    "; rule UT013 added from unthread-scan --runs-at of the same pinned packages and of the libraries' "
    "replayed commits (scripts/demo-snapshot-ut013.py)",
)
print(f"{added} UT013 findings added; libraries without a mirror: {missing or 'none'}", file=sys.stderr)
