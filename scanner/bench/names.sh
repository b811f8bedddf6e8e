#!/usr/bin/env bash
# How the scan grows with the number of names in one file: one module of N thread-local
# globals (and a function reading some of them), N = 20k, 40k, 80k, 160k, scanned as the
# server scans a repository (API index written). Near-linear is the goal: each doubling of
# N should about double the time. Prints N, file size, wall seconds and peak memory.
#
# usage: scanner/bench/names.sh [N ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
(cd "$root" && cargo build --release --locked -p scanner --bin unthread-scan --quiet)
scan="$root/target/release/unthread-scan"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ $# -gt 0 ] || set -- 20000 40000 80000 160000
printf '%8s %8s %9s %9s\n' names MB seconds peak_MB
for n in "$@"; do
  mkdir -p "$work/p$n/pkg"
  : >"$work/p$n/pkg/__init__.py"
  python3 - "$n" >"$work/p$n/pkg/state.py" <<'PY'
import sys
n = int(sys.argv[1])
print("import threading")
for i in range(n):
    print(f"_state_{i} = threading.local()")
print("def get():")
for i in range(0, n, max(1, n // 100)):
    print(f"    return _state_{i}.value")
PY
  size=$(du -m "$work/p$n/pkg/state.py" | cut -f1)
  /usr/bin/time -o "$work/time" -f '%e %M' "$scan" "$work/p$n" --format summary --exit-zero \
    --write-api-index "$work/index.json" >/dev/null 2>&1
  out=$(tail -n1 "$work/time")
  printf '%8s %8s %9s %9s\n' "$n" "$size" "${out% *}" "$(( ${out#* } / 1024 ))"
done
