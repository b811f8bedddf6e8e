#!/usr/bin/env bash
# Regenerates .sqlx/ (the offline query metadata that lets the build type-check SQL without a
# database). Run it after changing a migration or a query!/query_as!/query_scalar! macro.
# It starts a throw-away PostgreSQL cluster, applies migrations/, and re-expands every macro.
# With --check it writes nothing and fails when .sqlx/ is out of date. With --lint the
# expansion runs under clippy with warnings denied: one compilation checks the queries and
# the lints. With --tests the expansion is the test build itself (`cargo test --no-run`,
# every target): run it with clippy-driver as the workspace's compiler wrapper and warnings
# denied in RUSTFLAGS, and one compilation checks the queries, lints and builds the tests
# (scripts/test.sh does this).
set -euo pipefail
check=0 lint=0 tests=0
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    --lint) lint=1 ;;
    --tests) tests=1 ;;
    *) echo "usage: $0 [--check] [--lint | --tests]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."

bindir=${UNTHREAD_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server programs not found (apt-get install postgresql)" >&2; exit 1; }

tmp=$(mktemp -d)
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres: "$tmp"; as_pg=(runuser -u postgres --); fi
cleanup() { "${as_pg[@]}" "$bindir/pg_ctl" stop -D "$tmp/data" -m immediate -s >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT

"${as_pg[@]}" "$bindir/initdb" -D "$tmp/data" -U unthread -A trust --no-sync -E UTF8 --locale C.UTF-8 >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" start -D "$tmp/data" -l "$tmp/log" -w -s \
  -o "-c listen_addresses='' -c unix_socket_directories='$tmp' -c fsync=off"
for migration in migrations/*.sql; do
  psql -q -v ON_ERROR_STOP=1 -h "$tmp" -U unthread -d postgres -f "$migration" >/dev/null
done
# The job queue's own schema (`underway`), as `db::migrate` applies it: its migrations are in
# the crate's source; each runs in one transaction with its search path, beside the table of
# applied migrations that its first one copies.
underway_dir=$(cargo metadata --format-version 1 --locked 2>/dev/null | python3 -c '
import json, sys
print(next(p["manifest_path"].rsplit("/", 1)[0] for p in json.load(sys.stdin)["packages"] if p["name"] == "underway"))')
psql -q -v ON_ERROR_STOP=1 -h "$tmp" -U unthread -d postgres >/dev/null <<'SQL'
CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
  installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL,
  execution_time BIGINT NOT NULL);
CREATE SCHEMA IF NOT EXISTS underway;
SQL
for migration in "$underway_dir"/migrations/*.sql; do
  PGOPTIONS="-c search_path=underway -c client_min_messages=warning" psql -q -1 -v ON_ERROR_STOP=1 -h "$tmp" -U unthread -d postgres -f "$migration" >/dev/null
done

out="$tmp/sqlx" && mkdir "$out"
# Touching the crates that hold queries makes cargo re-run their macros.
find db/src app/src server/src -name '*.rs' -exec touch {} +
compile=(cargo check --workspace --all-targets --locked --quiet)
[ "$lint" = 1 ] && compile=(cargo clippy --workspace --all-targets --locked --quiet -- -D warnings)
[ "$tests" = 1 ] && compile=(cargo test --workspace --all-targets --locked --no-run)
DATABASE_URL="postgres://unthread@localhost/postgres?host=$tmp" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
  "${compile[@]}"
# The queue crate's own queries were expanded too when it was built here: they are its
# metadata (it ships them), not ours.
for query in "$underway_dir"/.sqlx/*.json; do rm -f "$out/$(basename "$query")"; done
if [ "$check" = 1 ]; then
  diff -r .sqlx "$out" >/dev/null || { echo ".sqlx/ is out of date: run scripts/sqlx-prepare.sh and commit it" >&2; exit 1; }
  echo ".sqlx/ matches the queries and migrations"
else
  rm -rf .sqlx && cp -r "$out" .sqlx
  echo "wrote $(ls .sqlx | wc -l) query files to .sqlx/"
fi
