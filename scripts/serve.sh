#!/usr/bin/env bash
# Builds Unthread and serves it with demo data on http://127.0.0.1:3000, on its own embedded
# PostgreSQL under ./.unthread (or on DATABASE_URL when set). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-site.sh
SQLX_OFFLINE=true cargo build --release --locked -p unthread-server
addr="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
# The demo signs in with the development login, which only a loopback address may offer.
dev_login=()
case "$addr" in 127.*|"[::1]"*|localhost:*) dev_login=(--dev-login) ;; esac
exec target/release/unthread serve --demo "${dev_login[@]}" --addr "$addr"
