#!/usr/bin/env bash
# The Action's first step: installs unthread-scan into a virtualenv of its own and puts the
# command on the job's PATH. UNTHREAD_INSTALL is a pip requirement (default: the action's own
# source, which pip builds with maturin and the runner's Rust toolchain).
set -euo pipefail
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set: run this as a GitHub Action step}/unthread-venv"
requirement=${UNTHREAD_INSTALL:-${GITHUB_ACTION_PATH:?}}
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
"$venv/bin/unthread-scan" --version
echo "$venv/bin" >>"${GITHUB_PATH:?}"
