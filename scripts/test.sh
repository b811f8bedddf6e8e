#!/usr/bin/env bash
# Runs every test: formatting, module cycles and lints (rustfmt, clippy with warnings denied),
# unit and integration tests (against throw-away PostgreSQL clusters), the linter's packaging,
# then the Playwright end-to-end suite in headless Chromium. Prints how long each stage took
# against its budget (the whole run should stay within 15 minutes on a new 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true CARGO_TERM_COLOR=never
# One compilation lints and builds the tests: clippy-driver (rustc with clippy's lints)
# compiles the workspace's own crates, with warnings denied. `cargo clippy` would compile
# every dependency a second time, in check mode, before the test build (3–4 minutes on a new
# machine). Every cargo command below runs with the same wrapper and flags, so none of them
# rebuilds what another built.
command -v clippy-driver >/dev/null || { echo "clippy-driver not found: rustup component add clippy" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
rustflags="-D warnings"
# Debian's lld links the large test binaries in a fraction of GNU ld's time. Only here (not in
# .cargo/config.toml): a contributor's own `cargo build` or `pip install .` must not need it.
if command -v ld.lld >/dev/null; then
  rustflags="-C link-arg=-fuse-ld=lld $rustflags"
fi
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="$rustflags"

# A build from nothing (a fresh clone, CI) gains nothing from incremental compilation and
# pays for writing its caches; a contributor's later runs keep it.
if [ ! -d target/debug ]; then
  export CARGO_INCREMENTAL=0
fi

timings=()
# stage NAME BUDGET_SECONDS COMMAND...: runs COMMAND, records its time, says when it took longer
# than its budget (the run goes on: a slow stage is news, not a failure).
stage() {
  local name=$1 budget=$2; shift 2
  local start=$SECONDS
  printf '\n=== %s\n' "$name" >&2
  "$@"
  local took=$((SECONDS - start)) note=""
  if [ "$took" -gt "$budget" ]; then note="  OVER BUDGET (${budget}s)"; fi
  timings+=("$(printf '%-28s %4ss%s' "$name" "$took" "$note")")
}
bundle=""
report() {
  # A failed stage leaves no bundle build running behind it.
  if [ -n "$bundle" ]; then kill "$bundle" 2>/dev/null || true; fi
  printf '\n=== stage timings\n' >&2
  printf '%s\n' "${timings[@]}" >&2
}
trap report EXIT

stage "setup" 240 bash scripts/setup.sh
stage "format" 10 cargo fmt --all --check
stage "module cycles" 5 python3 scripts/check-module-cycles.py
# One compilation checks the queries against a migrated PostgreSQL, runs clippy (the wrapper
# above) and builds the tests — also target/debug/unthread (the server's integration tests
# need it), which the end-to-end suite runs.
stage "build: tests, clippy, sqlx" 420 bash scripts/sqlx-prepare.sh --check --tests
# The browser bundle is built while the tests run: they wait on PostgreSQL and processes much
# of the time, and the bundle's compiler (Debian's cargo-web) shares nothing with theirs.
bundle_log=$(mktemp)
bash scripts/build-site.sh >"$bundle_log" 2>&1 &
bundle=$!
bundle_start=$SECONDS
# In parallel (the harness's default, one thread per core): the 30 s stall that made this run
# serial was a request polled while another test built a router (the route list's generation
# suppressed resource loading process-wide, leptos#4773); the route list is generated once per
# process now (server/src/router.rs, tests/it/concurrent_routers.rs).
stage "cargo test: run" 150 cargo test --workspace --locked
# The wheel, the pre-commit hook and the GitHub Action's install step (reuses the build above).
# The hook runs twice now: from source (no wheel on the index) and from the wheel.
stage "linter packaging" 120 bash scripts/test-packaging.sh
wait_bundle() {
  local status=0
  wait "$bundle" || status=$?
  bundle=""
  cat "$bundle_log" >&2
  printf '(browser bundle built in %ss, alongside the tests)\n' $((SECONDS - bundle_start)) >&2
  return "$status"
}
stage "browser bundle (wait)" 120 wait_bundle
stage "end-to-end (chromium)" 180 bash -c 'cd end2end && UNTHREAD_BIN=../target/debug/unthread npm test'
