"""What the demo snapshot's annotating scripts share (scripts/demo-snapshot-*.py): reading
and writing server/demo/snapshot.json.gz, and scanning a directory of packages again."""
import gzip
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAPSHOT = os.path.join(ROOT, "server/demo/snapshot.json.gz")


def scan(scanner, directory, *options):
    """The findings of `unthread-scan directory options...`, as its JSON Lines give them."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "findings.jsonl")
        command = [scanner, directory, *options, "--format", "jsonl", "-o", out, "--exit-zero", "-q"]
        subprocess.run(command, check=True)
        with open(out) as lines:
            return [json.loads(line) for line in lines]


def package_path(finding):
    """A corpus finding's path as a scan of its package alone names it (the corpus holds
    each package under `name==version/`)."""
    return finding["path"].split("/", 1)[1]


def load():
    with gzip.open(SNAPSHOT) as f:
        return json.load(f)


def finding_lists(snapshot):
    """Every list of findings in the snapshot: each target's latest scan and its history."""
    for target in snapshot["targets"]:
        yield target.get("findings") or []
        for past in target.get("history", []):
            yield past.get("findings") or []


def save(snapshot, note):
    """Writes the snapshot back (reproducibly: no time in the gzip header), its `source`
    saying `note` once."""
    if note not in snapshot["source"]:
        snapshot["source"] += note
    with gzip.GzipFile(SNAPSHOT, "wb", mtime=0) as f:
        f.write(json.dumps(snapshot, separators=(",", ":")).encode())
