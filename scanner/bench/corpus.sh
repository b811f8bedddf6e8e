#!/usr/bin/env bash
# Builds the scanner's benchmark corpus: every `name==version` pin of a pip-compile
# requirements file, downloaded from PyPI with `pip download --no-deps` (cached), and its
# .py files unpacked to CORPUS/<name>/. Pins that cannot be fetched (git references,
# packages withdrawn from PyPI) are listed and skipped.
#
# usage: scanner/bench/corpus.sh [requirements.txt] [cache-dir] [corpus-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
requirements=${1:-$here/../../../shared/fixtures/requirements/openedx-platform-base.txt}
cache=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/unthread/bench/downloads}
corpus=${3:-${XDG_CACHE_HOME:-$HOME/.cache}/unthread/bench/corpus}
mkdir -p "$cache" "$corpus"

# `name==version` with extras and markers stripped; git references cannot be pinned on PyPI.
pins=$(grep -E '^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^]]*\])?==' "$requirements" | sed -E 's/\[[^]]*\]//; s/[ ;].*$//')
echo "$(wc -l <<<"$pins") pins in $requirements" >&2

fetch() {
  local pin=$1 name=${1%%==*}
  local marker="$cache/.done-$pin"
  [ -e "$marker" ] && return 0
  # A wheel when there is one; otherwise the sdist straight from PyPI's JSON API (pip would
  # try to build the sdist's metadata, which fails for packages needing C headers).
  if pip download --quiet --no-deps --disable-pip-version-check \
       --python-version 3.12 --only-binary=:all: -d "$cache/$pin" "$pin" >/dev/null 2>&1 \
     || python3 "$here/fetch_sdist.py" "$pin" "$cache/$pin" >/dev/null 2>&1; then
    touch "$marker"
  else
    echo "skipped: $pin (not downloadable)" >&2
  fi
}
export -f fetch
export cache here
xargs -P 6 -I{} bash -c 'fetch "$@"' _ {} <<<"$pins"

# Unpack only the Python sources, each distribution into its own directory.
for dir in "$cache"/*==*/; do
  pin=$(basename "$dir")
  dest="$corpus/$pin"
  [ -e "$dest/.unpacked" ] && continue
  mkdir -p "$dest"
  for archive in "$dir"*; do
    case "$archive" in
      *.whl|*.zip) unzip -qo "$archive" '*.py' -d "$dest" 2>/dev/null || true ;;
      *.tar.gz|*.tgz) tar xzf "$archive" -C "$dest" --wildcards '*.py' 2>/dev/null || true ;;
    esac
  done
  touch "$dest/.unpacked"
done
files=$(find "$corpus" -name '*.py' | wc -l)
lines=$(find "$corpus" -name '*.py' -print0 | xargs -0 cat | wc -l)
echo "corpus: $corpus ($files .py files, $lines lines)" >&2
echo "$corpus"
