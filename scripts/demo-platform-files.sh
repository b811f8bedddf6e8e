#!/usr/bin/env bash
# Puts the openedx-platform files the epic's items point at (server/demo/platform-files.txt)
# into the demo snapshot, scanned as the platform's own code: the demo then shows their real
# findings, their links to the epic's items and their fixes, as a scan of those files only.
#   bash scripts/demo-platform-files.sh DIR     (UNTHREAD_BIN=target/debug/unthread: no release build)
# DIR holds the files at their repository paths. Missing ones are downloaded from
# raw.githubusercontent.com at the recorded commit; every file must have the recorded git blob
# id (so the snapshot is made of exactly those files, whatever the source).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: $0 DIR}
manifest=server/demo/platform-files.txt
commit=$(awk '$1 == "commit" { print $2 }' "$manifest")
while read -r blob path; do
  [[ "$blob" == \#* || "$blob" == commit || -z "$blob" ]] && continue
  file="$dir/$path"
  if [ ! -f "$file" ]; then
    mkdir -p "$(dirname "$file")"
    curl -fsSL "https://raw.githubusercontent.com/openedx/openedx-platform/$commit/$path" -o "$file"
  fi
  have=$(git hash-object "$file")
  [ "$have" = "$blob" ] || { echo "$path: blob $have, expected $blob (not the file at $commit)" >&2; exit 1; }
done < "$manifest"
# Only the listed files are scanned.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
while read -r blob path; do
  [[ "$blob" == \#* || "$blob" == commit || -z "$blob" ]] && continue
  mkdir -p "$work/$(dirname "$path")"
  cp "$dir/$path" "$work/$path"
done < "$manifest"
# Every directory above them is a package in the repository (`lms.djangoapps.courseware`,
# `xmodule.modulestore`, ...): an empty __init__.py stands for each one that is not among the
# files, so that modules are named as in the repository. Empty, they hold no finding, and the
# scan leaves them out of the files it says it read.
find "$work" -mindepth 1 -type d | while read -r d; do
  [ -f "$d/__init__.py" ] || : >"$d/__init__.py"
done
bin=${UNTHREAD_BIN:-target/release/unthread}
[ -n "${UNTHREAD_BIN:-}" ] || cargo build --release -p unthread-server
data=$(mktemp -d)
chmod 755 "$data"
trap 'rm -rf "$work" "$data"' EXIT
env -u DATABASE_URL "$bin" --data-dir "$data" demo \
  --update-snapshot server/demo/snapshot.json.gz --platform-files "$work" --platform-commit "$commit"
