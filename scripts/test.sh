#!/usr/bin/env bash
# Runs every test: formatting and lints (rustfmt, clippy with warnings denied), unit and
# integration tests (against throw-away PostgreSQL clusters), then the Playwright end-to-end
# suite in headless Chromium. Prints how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true CARGO_TERM_COLOR=never

timings=()
stage() {
  local name=$1; shift
  local start=$SECONDS
  printf '\n=== %s\n' "$name" >&2
  "$@"
  timings+=("$(printf '%-28s %4ss' "$name" $((SECONDS - start)))")
}
report() { printf '\n=== stage timings\n' >&2; printf '%s\n' "${timings[@]}" >&2; }
trap report EXIT

stage "setup" bash scripts/setup.sh
stage "format" cargo fmt --all --check
stage "module cycles" python3 scripts/check-module-cycles.py
# One compilation checks the queries against a migrated PostgreSQL and runs clippy.
stage "clippy, sqlx metadata" bash scripts/sqlx-prepare.sh --check --lint
# Also builds target/debug/unthread (the server's integration tests need it), which the
# end-to-end suite runs.
# One test at a time: the server's suite shares one PostgreSQL cluster and process, and two
# of its page tests have been seen to answer 503 (rarely, only beside other tests, never
# alone) — until that interference is found, the tests do not overlap.
stage "cargo test" env RUST_TEST_THREADS=1 cargo test --workspace --locked
# The wheel, the pre-commit hook and the GitHub Action's install step (reuses the build above).
stage "linter packaging" bash scripts/test-packaging.sh
stage "browser bundle" bash scripts/build-site.sh
stage "end-to-end (chromium)" bash -c 'cd end2end && UNTHREAD_BIN=../target/debug/unthread npm test'
