#!/usr/bin/env bash
# The Action's first step: installs unthread-scan into a virtualenv of its own and puts the
# command on the job's PATH. With `install` (UNTHREAD_INSTALL: a pip requirement, a wheel's
# path or URL) that is installed. Otherwise the published wheel of this action's own version
# is installed when the package index has one (no compiler needed), and only when it does
# not is the action's source built: with the pinned maturin (pyproject.toml) and
# `cargo --locked`, so the build is the one this commit tested.
set -euo pipefail
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set: run this as a GitHub Action step}/unthread-venv"
source_dir=${GITHUB_ACTION_PATH:?}
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if [ -n "${UNTHREAD_INSTALL:-}" ]; then
  "${pip[@]}" install --quiet "$UNTHREAD_INSTALL"
else
  # The workspace's version is the scanner's (scanner/Cargo.toml: version.workspace).
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$source_dir/Cargo.toml" | head -n1)
  if "${pip[@]}" install --quiet --only-binary=:all: "unthread-scan==$version" 2>"$RUNNER_TEMP/unthread-pip.log"; then
    echo "installed the published wheel of unthread-scan $version"
  else
    echo "::notice title=unthread-scan::no published wheel of unthread-scan $version for this runner: building it from the action's source (a few minutes)"
    MATURIN_PEP517_ARGS="${MATURIN_PEP517_ARGS:-} --locked" "${pip[@]}" install --quiet "$source_dir"
  fi
fi
"$venv/bin/unthread-scan" --version
echo "$venv/bin" >>"${GITHUB_PATH:?}"
