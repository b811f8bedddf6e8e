#!/usr/bin/env bash
# Regenerates .sqlx/ (the offline query metadata that lets the build type-check SQL without a
# database). Run it after changing a migration or a query!/query_as!/query_scalar! macro.
# It starts a throw-away PostgreSQL cluster, applies migrations/, and re-expands every macro.
# With --check it writes nothing and fails when .sqlx/ is out of date. With --lint the
# expansion runs under clippy with warnings denied: one compilation checks the queries and
# the lints (scripts/test.sh does this).
set -euo pipefail
check=0 lint=0
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    --lint) lint=1 ;;
    *) echo "usage: $0 [--check] [--lint]" >&2; exit 2 ;;
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

out="$tmp/sqlx" && mkdir "$out"
# Touching the crates that hold queries makes cargo re-run their macros.
find db/src app/src server/src -name '*.rs' -exec touch {} +
compile=(cargo check --workspace --all-targets --locked --quiet)
[ "$lint" = 1 ] && compile=(cargo clippy --workspace --all-targets --locked --quiet -- -D warnings)
DATABASE_URL="postgres://unthread@localhost/postgres?host=$tmp" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
  "${compile[@]}"
if [ "$check" = 1 ]; then
  diff -r .sqlx "$out" >/dev/null || { echo ".sqlx/ is out of date: run scripts/sqlx-prepare.sh and commit it" >&2; exit 1; }
  echo ".sqlx/ matches the queries and migrations"
else
  rm -rf .sqlx && cp -r "$out" .sqlx
  echo "wrote $(ls .sqlx | wc -l) query files to .sqlx/"
fi
