#!/usr/bin/env bash
# Builds the browser side of Unthread into target/site/pkg:
#   unthread.js + unthread_bg.wasm  (frontend/, the `hydrate` build of app/, via wasm-bindgen)
#   unthread.css                    (Tailwind over app/src)
# and a .gz next to each, served pre-compressed.
#
# The wasm32 target cannot be added to the rustup toolchain on these machines, so the wasm is
# built with Debian's rustc-web/cargo-web (Rust 1.96) and -Zbuild-std over its rust-web-src.
# Set UNTHREAD_SKIP_WASM_OPT=1 to skip wasm-opt (faster local iterations).
set -euo pipefail
cd "$(dirname "$0")/.."

site=target/site/pkg
mkdir -p "$site"
stage() { printf '[build-site] %s\n' "$*" >&2; }

stage "wasm: cargo build (hydrate, wasm-release)"
start=$SECONDS
# These flags only shrink the bundle (8 % of the gzipped wasm, measured): no file/line
# locations in panics, `{:?}` formatting compiled out (the browser code never shows Debug
# output to users), panics abort without formatting, and std built for size. Leptos'
# `erase_components` is not used: with islands the bundle is small without it (145 KB gzip
# vs 148 KB with it), and on the server it made page rendering 2× slower (boxed views).
wasm_rustflags='["-Zlocation-detail=none","-Zfmt-debug=none","-Zunstable-options","-Cpanic=immediate-abort"]'
# Debian's compiler only: a wrapper from the caller (scripts/test.sh lints with rustup's
# clippy-driver) belongs to the other toolchain.
env -u RUSTC_WRAPPER -u RUSTC_WORKSPACE_WRAPPER PATH=/usr/bin:$PATH RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
  /usr/bin/cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release \
    --config "target.wasm32-unknown-unknown.rustflags=$wasm_rustflags" \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size --target-dir target/front --locked
stage "wasm: built in $((SECONDS - start))s"

lock_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
bindgen=$(command -v wasm-bindgen || true)
if [ -z "$bindgen" ] || [ "$("$bindgen" --version | awk '{print $2}')" != "$lock_version" ]; then
  echo "wasm-bindgen $lock_version is required (Cargo.lock); run scripts/setup.sh" >&2
  exit 1
fi
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-name unthread --out-dir "$site" target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm

stage "wasm after wasm-bindgen: $(stat -c %s "$site/unthread_bg.wasm") bytes"
if [ "${UNTHREAD_SKIP_WASM_OPT:-0}" != 1 ]; then
  # Only binaryen from npm: Debian's binaryen 108 emits a wasm that fails to hydrate.
  start=$SECONDS
  # -O1, not -Oz: on this bundle -Oz shrinks the raw file (1.44 → 1.21 MB) but the gzipped one
  # grows (398 → 436 KB); -O1 gives 1.38 MB / 392 KB, and gzip is what travels.
  node_modules/.bin/wasm-opt -O1 --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$site/unthread_bg.wasm" -o "$site/unthread_bg.opt.wasm"
  mv "$site/unthread_bg.opt.wasm" "$site/unthread_bg.wasm"
  stage "wasm-opt -O1 in $((SECONDS - start))s"
fi

stage "css: tailwind"
node_modules/.bin/tailwindcss --input style/main.css --output "$site/unthread.css" --minify 2>&1 \
  | grep -v -e '^≈' -e '^Done in' -e '^$' >&2 || true
[ -s "$site/unthread.css" ] || { echo "tailwind produced no CSS" >&2; exit 1; }

for f in "$site/unthread_bg.wasm" "$site/unthread.js" "$site/unthread.css"; do
  gzip -9 -k -f "$f"
done
stage "sizes (raw / gzip): $(for f in unthread_bg.wasm unthread.js unthread.css; do
  printf '%s %s/%s  ' "$f" "$(stat -c %s "$site/$f")" "$(stat -c %s "$site/$f.gz")"; done)"
# What the browser downloads to run the islands: the goal is at most 150 KB gzipped. Over it,
# the build says so (look for what grew: a new island, or a view type pulled into one — the per-island code
# below says where).
bundle=$(( $(stat -c %s "$site/unthread_bg.wasm.gz") + $(stat -c %s "$site/unthread.js.gz") ))
if [ "$bundle" -gt 150000 ]; then
  stage "bundle: $bundle bytes gzipped (wasm + js): OVER the 150000-byte budget"
else
  stage "bundle: $bundle bytes gzipped (wasm + js), within the 150000-byte budget"
fi
# Which island holds how much of it (python3 is there: the setup installs it).
python3 scripts/bundle-sizes.py target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm >&2
