#!/usr/bin/env bash
# Load test of the dashboard (loopback only, bounded): 100,000 findings over 300 targets in a
# throw-away PostgreSQL, a release `unthread serve`, and wrk at 32 connections against the
# busiest pages and against claim POSTs. Prints p50/p99 per URL.
#   bash scripts/load.sh [seconds per URL, default 15]
#   CONNECTIONS=4 ONLY='q=' bash scripts/load.sh   (fewer connections; only the URLs whose label matches)
#   WINDOWS=6 ONLY='q=' bash scripts/load.sh 5      (each URL as 6 back-to-back runs of 5 s: the
#                                                     first holds the cold answers, the rest not)
# Needs: wrk (apt-get install wrk), PostgreSQL server programs, a built site (scripts/build-site.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}
connections=${CONNECTIONS:-32}
only=${ONLY:-}
windows=${WINDOWS:-1}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
bindir=${UNTHREAD_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}

cargo build --release -p unthread-server --quiet

tmp=$(mktemp -d)
chmod 755 "$tmp"
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres: "$tmp"; as_pg=(runuser -u postgres --); fi
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  "${as_pg[@]}" "$bindir/pg_ctl" stop -D "$tmp/data" -m fast -s >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${as_pg[@]}" "$bindir/initdb" -D "$tmp/data" -U unthread -A trust --no-sync -E UTF8 --locale C.UTF-8 >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" start -D "$tmp/data" -l "$tmp/pg.log" -w -s \
  -o "-c listen_addresses='' -c unix_socket_directories='$tmp' -c max_connections=200 -c shared_buffers=256MB"
export DATABASE_URL="postgres://unthread@localhost/postgres?host=$tmp"
target/release/unthread migrate

echo "seeding 100,000 findings over 300 targets..."
psql -q -v ON_ERROR_STOP=1 -h "$tmp" -U unthread -d postgres <<'SQL'
INSERT INTO targets (kind, name)
SELECT CASE WHEN i <= 30 THEN 'library' ELSE 'dependency' END,
       CASE WHEN i <= 30 THEN 'openedx/lib-' || i ELSE 'dep-' || i END
FROM generate_series(1, 300) AS i;
INSERT INTO scans (target_id, revision, tool, status, started_at, finished_at, files_scanned)
SELECT id, '1.0', 'load', 'complete', now() - interval '1 day', now() - interval '1 day', 100 FROM targets;
INSERT INTO findings (target_id, fingerprint, rule, path, start_line, end_line, symbol, message, snippet,
                      first_seen_scan, last_seen_scan)
SELECT s.target_id, md5(i::text), (ARRAY['UT001','UT002','UT003','UT003','UT005','UT006','UT010','UT010','UT010','UT011','UT012','UT100'])[1 + i % 12],
       'pkg/mod_' || (i % 40) || '.py', 1 + i % 500, 1 + i % 500, 'pkg.mod.f' || (i % 7),
       CASE WHEN i % 12 = 9
            THEN '`dep_' || (31 + i % 270) || '.api` is backed by thread-local `dep_' || (31 + i % 270) || '._local` in dep-' || (31 + i % 270)
            ELSE 'finding ' || i END,
       '_locals = threading.local()  # ' || i, s.id, s.id
FROM generate_series(1, 100000) AS i
JOIN scans s ON s.target_id = 1 + i % 300;
-- Reachability as computed: every target took part, half of the files are reached.
INSERT INTO reach_targets (target_id, scan_id) SELECT target_id, id FROM scans;
INSERT INTO module_reach (target_id, path, module, chain)
SELECT t.id, 'pkg/mod_' || m || '.py', 'pkg.mod_' || m, ARRAY['openedx/lib-1:lms.views', 'pkg.mod_' || m]
FROM targets t, generate_series(0, 39) AS m WHERE m % 2 = 0;
INSERT INTO events (kind, target_id, scan_id, finding_ids, at)
SELECT 'findings.new', f.target_id, f.first_seen_scan, array_agg(f.id), now() - interval '1 day'
FROM findings f GROUP BY f.target_id, f.first_seen_scan;
INSERT INTO users (login, role, dev_only)
SELECT 'user' || i, CASE WHEN i = 1 THEN 'maintainer' ELSE 'contributor' END, true FROM generate_series(1, 50) AS i;
-- A fifth of the findings already have an owner.
INSERT INTO claims (finding_id, owner_id, claimed_by)
SELECT f.id, u.id, u.id FROM findings f JOIN users u ON u.login = 'user' || (1 + f.id % 50) WHERE f.id % 5 = 0;
VACUUM ANALYZE;
SQL

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Pages only: no job workers and no sweep (the seeded scans are a day old: the sweep would
# queue a rescan of every made-up target, fetched from GitHub and PyPI, beside the load).
RUST_LOG=warn target/release/unthread serve --addr "127.0.0.1:$port" --dev-login --workers 0 --rescan-interval 0 \
  >"$tmp/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$port"

cookie=$(curl -s -o /dev/null -D - -d 'login=loadtester&role=contributor' "$base/auth/dev-login" \
  | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')

# Claims of random findings (about a fifth are taken: those answer 409, also measured).
cat >"$tmp/claim.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["Cookie"] = "$cookie"
math.randomseed(os.time())
request = function()
  return wrk.format(nil, "/api/claim", nil, "kind=finding&id=" .. math.random(1, 100000))
end
LUA

# Searches for a different text each time (no cached answer helps): a path part, a symbol,
# a snippet's number, and text found nowhere.
cat >"$tmp/search.lua" <<'LUA'
math.randomseed(os.time())
local words = {"mod_", "pkg.mod.f", "threading", "nowhere-at-all", "local", "_3"}
request = function()
  local q = words[math.random(#words)] .. (math.random(2) == 1 and tostring(math.random(1, 999)) or "")
  return wrk.format(nil, "/findings?state=all&q=" .. q)
end
LUA

# Random texts of one to four letters, digits, `_` and `.`: a tenth of those of one or two
# letters match most findings (no trigram narrows them), the longer ones mostly nothing.
cat >"$tmp/random.lua" <<'LUA'
math.randomseed(os.time())
local alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_."
request = function()
  local q = ""
  for _ = 1, math.random(1, 4) do
    local k = math.random(#alphabet)
    q = q .. alphabet:sub(k, k)
  end
  return wrk.format(nil, "/findings?state=all&q=" .. q)
end
LUA

printf '%-40s %8s %8s %10s %s\n' "URL (${connections} connections, ${duration}s)" p50 p99 req/s errors
run() {
  local label=$1; shift
  if [ -n "$only" ] && [[ "$label" != *"$only"* ]]; then return; fi
  # One request first: the first read after a change computes the aggregates (cold: up to
  # ~0.5 s for /), later ones are served from the cache until the next change.
  curl -s -o /dev/null "${@: -1}" || true
  local out window p50 p99 rps errors
  for window in $(seq 1 "$windows"); do
    out=$(wrk -t"$(( connections < 2 ? connections : 2 ))" -c"$connections" -d"${duration}s" --latency "$@")
    p50=$(awk '/Latency Distribution/{f=1} f && $1=="50%"{print $2; exit}' <<<"$out")
    p99=$(awk '/Latency Distribution/{f=1} f && $1=="99%"{print $2; exit}' <<<"$out")
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | paste -sd';' || true)
    printf '%-40s %8s %8s %10s %s\n' "$label$([ "$windows" -gt 1 ] && echo " #$window")" "$p50" "$p99" "$rps" "${errors:-none}"
  done
}
run "/findings?unowned=1&rule=UT001" "$base/findings?unowned=1&rule=UT001"
run "/repos" "$base/repos"
run "/deps" "$base/deps"
run "/deps?sort=impact" "$base/deps?sort=impact"
run "/findings?reached=yes" "$base/findings?reached=yes"
run "/deps/dep-40" "$base/deps/dep-40"
run "/" "$base/"
run "/findings?q=<varied>" -s "$tmp/search.lua" "$base"
run "/findings?q=<random>" -s "$tmp/random.lua" "$base"
run "POST /api/claim" -s "$tmp/claim.lua" "$base"
echo "claims held after the run: $(psql -At -h "$tmp" -U unthread -d postgres -c "SELECT count(*) FROM claims WHERE released_at IS NULL")"
