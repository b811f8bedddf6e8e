#!/usr/bin/env bash
# Regenerates server/demo/snapshot.json.gz, the demo's real findings: scans every pin of
# openedx-platform's requirements (downloaded from PyPI) with this checkout's scanner, in a
# throw-away data directory, then writes what was stored as the snapshot.
#   bash scripts/demo-snapshot.sh [requirements file]
# Needs network access to PyPI; takes a few minutes (with the newer releases of every
# dependency with findings, scanned for upgrade advice).
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-../shared/fixtures/requirements/openedx-platform-base.txt}
[ -f "$requirements" ] || { echo "no requirements file at $requirements" >&2; exit 1; }

cargo build --release -p unthread-server
data=$(mktemp -d)
chmod 755 "$data"
trap 'rm -rf "$data"' EXIT
env -u DATABASE_URL target/release/unthread --data-dir "$data" scan \
  --requirements "$requirements" --target openedx/openedx-platform --kind platform --check-upgrades
env -u DATABASE_URL target/release/unthread --data-dir "$data" demo \
  --write-snapshot server/demo/snapshot.json.gz --requirements "$requirements" \
  --libraries server/demo/openedx-libraries.txt
