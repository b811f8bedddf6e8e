#!/usr/bin/env bash
# Installs everything Unthread needs to build, serve and test on Debian 12. Idempotent: each
# step checks first, so a second run takes seconds. Uses sudo for apt when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[setup] %s\n' "$*" >&2; }

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi

command -v cargo >/dev/null || {
  say "cargo not found: Unthread builds its server with a rustup toolchain (stable, x86_64)"
  exit 1
}

# On a new machine apt and npm wait on the network and dpkg while the compiler waits on the
# CPU, so the Rust side starts first, in the background: the crates of Cargo.lock are fetched
# (the first build then compiles at once) and wasm-bindgen's CLI, which must match the
# wasm-bindgen crate in Cargo.lock exactly, is built. Their output goes to a log shown only
# when they fail.
background=()
logs=$(mktemp -d)
# A failed step leaves nothing running behind it.
trap 'for job in "${background[@]}"; do kill "${job%%:*}" 2>/dev/null || true; done; rm -rf "$logs"' EXIT
in_background() {
  local name=$1; shift
  say "$name (in the background)"
  ( "$@" >"$logs/$name.log" 2>&1 ) &
  background+=("$!:$name")
}
in_background "cargo fetch" cargo fetch --locked --quiet
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  # Not --locked: one of its locked dependencies is no longer on the index. Only the
  # `wasm-bindgen` binary, unoptimised: it runs for half a second on the bundle and writes the
  # same bytes, and builds in 52 s instead of 2 minutes on 2 cores.
  in_background "cargo install wasm-bindgen-cli $want" env CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=64 \
    cargo install --quiet wasm-bindgen-cli --version "$want" --bin wasm-bindgen
fi

# Debian packages: PostgreSQL (embedded and test clusters), the wasm toolchain (the wasm32
# target cannot be added to rustup here), Chromium for the end-to-end tests, and Python with
# venv for the linter packaging tests (the wheel, the pre-commit hook, the GitHub Action).
apt_packages=(postgresql rustc-web cargo-web rust-web-src lld chromium ca-certificates curl git python3 python3-venv)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  start=$SECONDS
  say "apt-get install ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "apt-get: $((SECONDS - start))s"
fi

# Tailwind v4's CLI needs Node >= 20; Debian 12's own nodejs is 18. If that is what we have,
# fetch Node 20 from the npm registry into a private directory.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  node_home="${XDG_CACHE_HOME:-$HOME/.cache}/unthread/node20"
  if [ ! -x "$node_home/node_modules/node/bin/node" ]; then
    say "Node $node_major is too old for Tailwind v4; installing Node 20 from the npm registry"
    npm install --silent --prefix "$node_home" node@20 >/dev/null
  fi
  say "using Node 20 from $node_home (prepend $node_home/node_modules/node/bin to PATH)"
  export PATH="$node_home/node_modules/node/bin:$PATH"
fi

# Front-end build tools (Tailwind, binaryen) and the end-to-end test driver (playwright-core).
for dir in . end2end; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm install in $dir"
    # Not `npm ci`: npm 11 rejects lock files that omit other platforms' optional packages
    # (Tailwind's native binaries). `npm install` still installs the locked versions.
    (cd "$dir" && npm install --no-audit --no-fund --silent)
  fi
done
failed=0
for job in "${background[@]}"; do
  pid=${job%%:*} name=${job#*:}
  if ! wait "$pid"; then
    say "$name failed:"
    cat "$logs/$name.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1
say "ready"
