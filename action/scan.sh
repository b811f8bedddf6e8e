#!/usr/bin/env bash
# The Action's scan step (inputs arrive as UNTHREAD_* variables, see action.yml). Writes the
# SARIF log of every finding, prints a GitHub annotation for each new one, uploads the log to
# the Unthread server when configured (on the events of `upload-on`), and exits 1 when new
# findings are reported and `fail-on-new` is true (2 on a usage or configuration error).
set -euo pipefail
tmp=${RUNNER_TEMP:?RUNNER_TEMP is not set: run this as a GitHub Action step}
sarif=${UNTHREAD_SARIF:-$tmp/unthread.sarif}
server=${UNTHREAD_SERVER_URL:-}
server=${server%/}
# `paths`: one per line (a line is one path, spaces and all). `args`: one or more arguments
# per line, split as a shell would (quotes keep spaces: --exclude "my dir/*").
mapfile -t paths < <(printf '%s\n' "${UNTHREAD_PATHS:-.}" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d')
[ "${#paths[@]}" -gt 0 ] || paths=(.)
mapfile -t extra < <(python3 -c 'import shlex, sys; [print(a) for line in sys.argv[1].splitlines() for a in shlex.split(line)]' "${UNTHREAD_ARGS:-}")
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# The token goes to curl in a header file, never on its command line (the process list
# shows command lines to every user of the runner).
auth=()
if [ -n "${UNTHREAD_TOKEN:-}" ]; then
  (umask 077 && printf 'Authorization: Bearer %s\n' "$UNTHREAD_TOKEN" >"$tmp/unthread-auth-header")
  auth=(-H "@$tmp/unthread-auth-header")
fi

options=(--cache "$tmp/unthread-cache")
if [ -n "${UNTHREAD_BASELINE:-}" ]; then
  options+=(--baseline "$UNTHREAD_BASELINE")
elif [ -n "$server" ] && [ -n "${UNTHREAD_TARGET:-}" ]; then
  # What the server knows of the target (every finding not fixed, triaged or not) is the
  # baseline, over the configuration's: it follows the default branch as it is scanned.
  # A server that cannot be reached leaves the configuration's baseline (if any) in charge.
  if curl --fail --silent --show-error --max-time 60 --get "${auth[@]}" --data-urlencode "target=$UNTHREAD_TARGET" \
    --output "$tmp/unthread-baseline.sarif" "$server/api/v1/baseline" 2>"$tmp/unthread-curl-error"; then
    options+=(--baseline "$tmp/unthread-baseline.sarif")
  else
    echo "::warning title=unthread-scan::the baseline could not be fetched from $server ($(tr -d '\n' <"$tmp/unthread-curl-error")): using the configuration's baseline, if any"
  fi
fi
[ -n "${UNTHREAD_DIFF_BASE:-}" ] && options+=(--diff-base "$UNTHREAD_DIFF_BASE")

# The whole log first (every finding, with baselineState), then the gate itself: the second
# run reads every unchanged file's result from the cache the first one wrote.
unthread-scan "${paths[@]}" "${options[@]}" "${extra[@]}" --format sarif --output "$sarif" --exit-zero
status=0
unthread-scan "${paths[@]}" "${options[@]}" "${extra[@]}" --format github >"$tmp/unthread-annotations" || status=$?
cat "$tmp/unthread-annotations"
[ "$status" -le 1 ] || exit "$status"
# Only what fails the gate counts as new: errors and warnings. Notes (`::notice`) are
# information, such as a context variable already in place (UT100).
new=$(grep -c -E '^::(error|warning) ' "$tmp/unthread-annotations" || true)
{
  echo "sarif-file=$sarif"
  echo "new-findings=$new"
} >>"${GITHUB_OUTPUT:?}"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo '### unthread-scan'
    echo
    echo '```text'
    unthread-scan "${paths[@]}" "${options[@]}" "${extra[@]}" --format summary --exit-zero
    echo '```'
  } >>"$GITHUB_STEP_SUMMARY"
fi

if [ -n "$server" ] && [ -n "${UNTHREAD_TOKEN:-}" ] && [ -n "${UNTHREAD_TARGET:-}" ]; then
  if [[ " ${UNTHREAD_UPLOAD_ON:-push} " == *" ${GITHUB_EVENT_NAME:-} "* ]]; then
    curl --fail --silent --show-error -X POST \
      "${auth[@]}" -H "Content-Type: application/sarif+json" \
      --data-binary "@$sarif" \
      "$server/api/v1/scans?target=$(urlencode "$UNTHREAD_TARGET")&revision=$(urlencode "${GITHUB_SHA:-}")"
    echo
  else
    echo "not uploading the scan of a ${GITHUB_EVENT_NAME:-local} event to $server (upload-on: ${UNTHREAD_UPLOAD_ON:-push})"
  fi
fi

if [ "$status" -eq 1 ] && [ "${UNTHREAD_FAIL_ON_NEW:-true}" = true ]; then
  echo "::error title=unthread-scan::$new new async-unsafe finding(s): fix them, or mark a reviewed one with '# unthread: ignore[RULE] -- reason'"
  exit 1
fi
