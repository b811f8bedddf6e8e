#!/usr/bin/env bash
# Tests unthread-scan as Python users get it: builds the wheel with maturin, installs it into
# a fresh virtualenv and runs it; runs the pre-commit hook (pre-commit from PyPI) in a
# throw-away git repository that uses this repository by local path; runs the GitHub
# Action's install step with a faked runner. Builds use the dev profile (the wheel's
# packaging is what is tested, not the optimiser) and this checkout's target directory.
# The hook is installed from the committed HEAD, as pre-commit installs a revision.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="${XDG_CACHE_HOME:-$HOME/.cache}/unthread/packaging-tools"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$root/target" PIP_DISABLE_PIP_VERSION_CHECK=1
# maturin's PEP 517 backend (pip install of the source, as pre-commit and the Action do).
export MATURIN_PEP517_ARGS="--profile dev"

say() { printf "  [%3ss] %s\n" "$SECONDS" "$*" >&2; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

# maturin as pyproject.toml pins it; zizmor checks the release workflow.
if [ ! -x "$tools/bin/pre-commit" ] || [ ! -x "$tools/bin/zizmor" ] || [ "$("$tools/bin/maturin" --version 2>/dev/null)" != "maturin 1.16.0" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet "maturin==1.16.0" "pre-commit>=3,<5" "zizmor>=1.20,<2"
fi
say "$("$tools/bin/maturin" --version), pre-commit $("$tools/bin/pre-commit" --version | awk '{print $2}')"

say "wheel: maturin build, pip install into a fresh venv"
(cd "$root" && "$tools/bin/maturin" build --quiet --profile dev --locked --out "$work/wheels" 2>&1 | tail -n 3 >&2)
wheel=$(ls "$work"/wheels/unthread_scan-*.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$wheel"
version=$("$work/venv/bin/unthread-scan" --version)
[ "$version" = "unthread-scan $(cd "$root" && cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "scanner"))')" ] \
  || fail "the installed command says: $version"
mkdir -p "$work/project/pkg"
printf 'import threading\n_state = threading.local()\n' >"$work/project/pkg/state.py"
status=0
(cd "$work/project" && "$work/venv/bin/unthread-scan" >"$work/out") || status=$?
[ "$status" = 1 ] && grep -q '^pkg/state.py:2:10: UT001 ' "$work/out" || fail "the wheel's command (exit $status): $(cat "$work/out")"
say "installed $(basename "$wheel"): $version, finds UT001, exits 1"

say "the GitHub Action's install step, with a faked runner, in its three ways"
# The package index is a local directory here: never PyPI, where anyone could own the name.
mkdir -p "$work/index-with-wheel" "$work/index-without"
cp "$wheel" "$work/index-with-wheel/"
"$tools/bin/pip" download --quiet --only-binary=:all: --dest "$work/index-without" "maturin==1.16.0" "pip>=23.1"
cp "$work"/index-without/maturin-* "$work"/index-without/pip-* "$work/index-with-wheel/"
install_step() { # <name> <find-links dir> [requirement]
  mkdir -p "$work/runner-$1"
  : >"$work/runner-$1/path"
  RUNNER_TEMP="$work/runner-$1" GITHUB_PATH="$work/runner-$1/path" UNTHREAD_INSTALL="${3:-}" GITHUB_ACTION_PATH="$root" \
    PIP_NO_INDEX=1 PIP_FIND_LINKS="$2" bash "$root/action/install.sh" >"$work/install-$1.out" 2>&1 \
    || fail "install.sh ($1): $(cat "$work/install-$1.out")"
  [ -x "$(cat "$work/runner-$1/path")/unthread-scan" ] || fail "install.sh ($1) put no unthread-scan on GITHUB_PATH"
}
install_step named "$work/index-without" "$wheel"
install_step published "$work/index-with-wheel"
grep -q "installed the published wheel of unthread-scan" "$work/install-published.out" || fail "the published wheel was not used: $(cat "$work/install-published.out")"
install_step unpublished "$work/index-without"
grep -q "building it from the action's source" "$work/install-unpublished.out" || fail "no fallback to the source: $(cat "$work/install-unpublished.out")"
say "install.sh: a named wheel, the published wheel when the index has it, else the source (pinned maturin, --locked)"

say "zizmor --offline on the release workflow and the README's workflow"
python3 - "$root/README.md" "$work/readme-workflow.yml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"A complete workflow:\n\n```yaml\n(.*?)```", text, re.S).group(1)
open(sys.argv[2], "w").write(block)
PY
"$tools/bin/zizmor" --offline --quiet "$root/.github/workflows/release.yml" "$work/readme-workflow.yml" >"$work/zizmor.out" 2>&1 \
  || fail "zizmor: $(cat "$work/zizmor.out")"
grep -E '^\s*-?\s*uses: [^ ]+@' "$root/.github/workflows/release.yml" "$work/readme-workflow.yml" | grep -vE '@[0-9a-f]{40}( |$)' \
  && fail "a uses: not pinned to a commit"

say "pre-commit hook in a throw-away repository"
repo="$work/hooked"
mkdir -p "$repo/pkg"
git -C "$repo" init -q
cat >"$repo/.pre-commit-config.yaml" <<YAML
repos:
  - repo: $root
    rev: $(git -C "$root" rev-parse HEAD)
    hooks:
      - id: unthread
YAML
cat >"$repo/pyproject.toml" <<'TOML'
[tool.unthread]
exclude = ["vendor/"]
TOML
printf 'import threading\n_state = threading.local()\n' >"$repo/pkg/state.py"
mkdir -p "$repo/vendor" && printf 'import threading\n_lock = threading.Lock()\n' >"$repo/vendor/lib.py"
printf 'x = 1\n' >"$repo/pkg/clean.py"
git -C "$repo" add -A
export PRE_COMMIT_HOME="$work/pre-commit-home"
# No wheel of this version on the (local) index: the hook's install falls back to building it
# from source. The name is never asked of PyPI, where anyone could own it.
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/index-without" XDG_CACHE_HOME="$work/cache-source"
status=0
(cd "$repo" && "$tools/bin/pre-commit" run --all-files --color never >"$work/hook.out" 2>&1) || status=$?
[ "$status" = 1 ] && grep -q 'pkg/state.py:2:10: UT001' "$work/hook.out" || fail "the hook (exit $status) on a finding: $(cat "$work/hook.out")"
grep -q 'vendor/lib.py' "$work/hook.out" && fail "the hook scanned an excluded file: $(cat "$work/hook.out")"
sed -i 's/_state = threading.local()/_state = threading.local()  # unthread: ignore[UT001] -- one per process/' "$repo/pkg/state.py"
git -C "$repo" add -A
(cd "$repo" && "$tools/bin/pre-commit" run --all-files --color never >"$work/hook.out" 2>&1) || fail "the hook on a suppressed finding: $(cat "$work/hook.out")"
say "the hook, built from source (no wheel on the index): fails on a finding, honours [tool.unthread] exclude, passes once it is suppressed"

say "pre-commit hook installed from the published wheel: no compiler"
# A local index holding the wheel; any maturin build would fail on the bad argument, so a
# hook that installs and runs proves the wheel was used as it is.
sed -i 's/  # unthread: ignore\[UT001\] -- one per process//' "$repo/pkg/state.py"
git -C "$repo" add -A
status=0
(cd "$repo" && PRE_COMMIT_HOME="$work/pre-commit-home-wheel" XDG_CACHE_HOME="$work/cache" \
  PIP_FIND_LINKS="$work/index-with-wheel" MATURIN_PEP517_ARGS="--no-such-maturin-option" \
  "$tools/bin/pre-commit" run --all-files --color never >"$work/hook-wheel.out" 2>&1) || status=$?
[ "$status" = 1 ] && grep -q 'pkg/state.py:2:10: UT001' "$work/hook-wheel.out" || fail "the hook from the wheel (exit $status): $(cat "$work/hook-wheel.out")"
ls "$work"/cache/unthread/published-wheels/*/unthread_scan-*.whl >/dev/null 2>&1 || fail "the hook did not use the published wheel"
say "the hook's install took the published wheel of this version (no maturin, no cargo)"
echo "packaging: ok" >&2
