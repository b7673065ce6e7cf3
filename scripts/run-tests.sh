#!/usr/bin/env bash
# Every test, in order: lint, unit, the real lab, the notebooks, the browser.
# Starts a Docker engine if none answers, and stops it at the end only if it
# started it. Extra arguments go to pytest (e.g. -k, -x); with them, or with
# WORKSHOP_TESTS_SERIAL set, everything runs in one pytest, one test at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

# The test labs have names and subnets of their own, so a lab a user keeps running
# in this folder is never touched by the tests.
export WORKSHOP_LAB=${WORKSHOP_TEST_LAB:-wstest}
export WORKSHOP_SUBNET=${WORKSHOP_TEST_SUBNET:-192.168.57}
# The test labs are throwaway: `up` may replace their leftovers (never a user's lab:
# those have other names).
export WORKSHOP_REPLACE=1
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
mkdir -p artifacts

scripts/engine.sh start || exit 1
rc=0
"$BIN/ruff" check workshop tests || rc=1
"$BIN/ruff" format --check workshop tests || rc=1
"$BIN/mypy" workshop || rc=1

# The chapters-alone tests (each chapter first thing on bare nodes, lab `wsalone`)
# mostly wait on the lab: they run beside the rest, on a lab of their own, once the
# images both sides use are built. Their report follows the main one.
alone=tests/integration/test_chapters_alone.py
pytest_args=(--nbval-lax --timeout=1200 -p no:cacheprovider)
"$BIN/python" -m tests.build_images >artifacts/images.log 2>&1 || { cat artifacts/images.log; rc=1; }
alone_pid=
if [ $rc -eq 0 ] && [ -z "${WORKSHOP_TESTS_SERIAL:-}" ] && [ $# -eq 0 ]; then
  "$BIN/pytest" "${pytest_args[@]}" --junitxml=artifacts/junit-alone.xml "$alone" \
    >artifacts/chapters-alone.log 2>&1 &
  alone_pid=$!
fi

paths=(tests/unit tests/integration)
for extra in notebooks labs/solutions tests/browser; do
  compgen -G "$extra/*" >/dev/null && paths+=("$extra")
done
ignore=()
[ -n "$alone_pid" ] && ignore=(--ignore="$alone")
"$BIN/pytest" "${pytest_args[@]}" --junitxml=artifacts/junit.xml "${ignore[@]}" "${paths[@]}" "$@" \
  || rc=1

if [ -n "$alone_pid" ]; then
  wait "$alone_pid" || rc=1
  echo "=== chapters alone on bare nodes (artifacts/chapters-alone.log) ==="
  cat artifacts/chapters-alone.log
fi

scripts/engine.sh stop || true
exit $rc
