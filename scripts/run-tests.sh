#!/usr/bin/env bash
# Every test, in order: lint, unit, the real lab, the notebooks, the browser.
# Starts a Docker engine if none answers, and stops it at the end only if it
# started it. Extra arguments go to pytest (e.g. -k, -x).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

# The test labs have names and subnets of their own, so a lab a user keeps running
# in this folder is never touched by the tests.
export WORKSHOP_LAB=${WORKSHOP_TEST_LAB:-wstest}
export WORKSHOP_SUBNET=${WORKSHOP_TEST_SUBNET:-192.168.57}
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
mkdir -p artifacts

scripts/engine.sh start || exit 1
rc=0
"$BIN/ruff" check workshop tests || rc=1
"$BIN/ruff" format --check workshop tests || rc=1
"$BIN/mypy" workshop || rc=1

paths=(tests/unit tests/integration)
for extra in notebooks labs/solutions tests/browser; do
  compgen -G "$extra/*" >/dev/null && paths+=("$extra")
done
"$BIN/pytest" --nbval-lax --timeout=1200 -p no:cacheprovider "${paths[@]}" "$@" || rc=1

scripts/engine.sh stop || true
exit $rc
