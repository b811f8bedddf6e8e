#!/usr/bin/env bash
# Regenerates server/demo/snapshot.json.gz, the demo's real findings, in a throw-away data
# directory:
# - every pin of openedx-platform's requirements, downloaded from PyPI and scanned at its
#   pinned version (with the newer releases of every dependency with findings, for upgrade
#   advice);
# - each Open edX library repository of server/demo/openedx-libraries.txt that has a git
#   directory under $MIRRORS (<owner>+<repo>/repo, the layout of the tool library's
#   `fetch`, or <owner>+<repo>.git) scanned at its real first-parent commits since the
#   epic's start instead, as a push-triggered rescan would have scanned them.
# The commits used are written to server/demo/history.txt.
#   MIRRORS=/work/.mirror bash scripts/demo-snapshot.sh [requirements file]
# Then the openedx-platform files the epic's items point at (scripts/demo-platform-files.sh).
# Needs network access to PyPI and GitHub; takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-../shared/fixtures/requirements/openedx-platform-base.txt}
mirrors=${MIRRORS:-/work/.mirror}
since=${SINCE:-2026-06-01}
[ -f "$requirements" ] || { echo "no requirements file at $requirements" >&2; exit 1; }

histories=()
{
  echo "# The git histories in server/demo/snapshot.json.gz: repository, the commit its replay"
  echo "# ends at (HEAD of the snapshot used), that commit's date, first-parent commits since $since."
  grep -v '^#' server/demo/openedx-libraries.txt | while read -r _ repo; do
    [ -n "$repo" ] || continue
    for dir in "$mirrors/${repo/\//+}/repo" "$mirrors/${repo/\//+}.git"; do
      if [ -d "$dir" ]; then
        printf '%-28s %s %s %s\n' "$repo" "$(git --git-dir="$dir" rev-parse HEAD)" \
          "$(git --git-dir="$dir" log -1 --format=%cs HEAD)" \
          "$(git --git-dir="$dir" rev-list --first-parent --count --since="$since" HEAD)"
        break
      fi
    done
  done
} > server/demo/history.txt
while read -r repo _; do
  [[ "$repo" == \#* || -z "$repo" ]] && continue
  for dir in "$mirrors/${repo/\//+}/repo" "$mirrors/${repo/\//+}.git"; do
    [ -d "$dir" ] && { histories+=(--history "$repo=$dir"); break; }
  done
done < server/demo/history.txt

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p unthread-server
data=$(mktemp -d)
chmod 755 "$data"
trap 'rm -rf "$data"' EXIT
env -u DATABASE_URL target/release/unthread --data-dir "$data" scan \
  --requirements "$requirements" --target openedx/openedx-platform --kind platform --check-upgrades
env -u DATABASE_URL target/release/unthread --data-dir "$data" demo \
  --write-snapshot server/demo/snapshot.json.gz --requirements "$requirements" \
  --libraries server/demo/openedx-libraries.txt --since "$since" "${histories[@]}"
# The platform's files the epic's items point at (downloaded at the recorded commit unless
# PLATFORM_FILES holds them): the snapshot just written has none.
UNTHREAD_BIN=target/release/unthread bash scripts/demo-platform-files.sh "${PLATFORM_FILES:-$data/platform-files}"
