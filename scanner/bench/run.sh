#!/usr/bin/env bash
# Scanner benchmark: the full pinned dependency set of openedx-platform (see corpus.sh),
# scanned by unthread-scan (cold, then a rescan through the content cache), compared with
# `ruff check --select ASYNC --no-cache` and `rg 'threading\.local'` on the same files.
# Prints wall times (hyperfine) and peak memory. Needs the network only to build the corpus.
#
# usage: scanner/bench/run.sh [requirements.txt]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools="${XDG_CACHE_HOME:-$HOME/.cache}/unthread/bench/tools"

command -v hyperfine >/dev/null && command -v rg >/dev/null || {
  sudo_cmd=(); [ "$(id -u)" != 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y -qq hyperfine ripgrep time >/dev/null
}
if [ ! -x "$tools/bin/ruff" ]; then
  python3 -m venv "$tools" && "$tools/bin/pip" install --quiet ruff
fi

corpus=$(bash "$here/corpus.sh" "${1:-$root/../shared/fixtures/requirements/openedx-platform-base.txt}" | tail -n1)
(cd "$root" && cargo build --release --locked -p scanner --bin unthread-scan --quiet)
scan="$root/target/release/unthread-scan"
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT

echo "== corpus: $(find "$corpus" -name '*.py' | wc -l) files, $(find "$corpus" -name '*.py' -print0 | xargs -0 cat | wc -l) lines, $(du -sh "$corpus" | cut -f1)"
echo "== $("$tools/bin/ruff" --version), $(rg --version | head -n1), unthread-scan $("$scan" --version | awk '{print $2}'), $(nproc) cores"
"$scan" "$corpus" --format summary --exit-zero | tail -n 18

"$scan" "$corpus" --cache "$cache" --format summary --exit-zero >/dev/null   # fill the cache
sleep 2   # let the cache's entries settle (entries written within 2 s of a file's mtime are re-read)

echo "== the prefilter changes nothing: full parse vs prefiltered, same findings and API index"
"$scan" "$corpus" --format jsonl -o "$cache/full.jsonl" --write-api-index "$cache/full.idx" --no-prefilter --exit-zero
"$scan" "$corpus" --format jsonl -o "$cache/fast.jsonl" --write-api-index "$cache/fast.idx" --exit-zero
cmp "$cache/full.jsonl" "$cache/fast.jsonl" && cmp "$cache/full.idx" "$cache/fast.idx" && echo "identical ($(wc -l <"$cache/fast.jsonl") findings)"
hyperfine --warmup 1 --runs 5 --ignore-failure --export-markdown "$cache/results.md" \
  -n "unthread-scan (cold)" "$scan $corpus --format sarif -o /dev/null --exit-zero" \
  -n "unthread-scan --write-api-index (cold)" "$scan $corpus --format sarif -o /dev/null --write-api-index $cache/cold.idx --exit-zero" \
  -n "unthread-scan --runs-at (cold)" "$scan $corpus --runs-at --format sarif -o /dev/null --exit-zero" \
  -n "unthread-scan (cached rescan)" "$scan $corpus --cache $cache --format sarif -o /dev/null --exit-zero" \
  -n "ruff --select ASYNC" "$tools/bin/ruff check --select ASYNC --no-cache --quiet --exit-zero $corpus" \
  -n "rg threading.local" "rg -c 'threading\\.local' $corpus"
cat "$cache/results.md"

echo "== peak memory"
for cmd in "$scan $corpus --format sarif -o /dev/null --exit-zero" "$tools/bin/ruff check --select ASYNC --no-cache --quiet --exit-zero $corpus"; do
  /usr/bin/time -f "%M KiB  ${cmd%% *}" $cmd >/dev/null
done
