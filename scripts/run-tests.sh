#!/usr/bin/env bash
# Every test, in order: lint, unit, the real lab, the notebooks, the browser, then
# the test lab driven as an inventory of real hosts. Starts a Docker engine if none
# answers, and stops it at the end only if it started it. Extra arguments go to
# pytest (e.g. -k, -x); with them, or with WORKSHOP_TESTS_SERIAL set, everything
# runs in one pytest, one test at a time (with arguments, without the inventory run).
# At the end, also after a failure or Ctrl-C, the test labs are taken down, keeping
# what makes the next run fast (the images built here and the test lab's package cache);
# WORKSHOP_KEEP_TEST_LAB=1 keeps the labs too. The exit code is the tests'.
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
# `require` neither restores nor saves snapshots in the test labs (tests that exercise
# them turn them on for their own commands, and remove what they saved), but for the
# chapters-alone run below; every test lab's snapshots go when it is taken down.
export WORKSHOP_SNAPSHOTS=0
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
mkdir -p artifacts

# The labs the tests make (name:subnet), each taken down at the end; never a lab of
# any other name, so a user's own lab stays.
test_labs=("$WORKSHOP_LAB:$WORKSHOP_SUBNET" wsalone:192.168.62 wsprov:192.168.59
  "${SWARM_LAB_NAME:-wsdash}:${SWARM_LAB_SUBNET:-192.168.61}")
alone_pid=

down_test_labs() {
  if [ "${WORKSHOP_KEEP_TEST_LAB:-0}" != 0 ]; then
    echo "=== test labs kept (WORKSHOP_KEEP_TEST_LAB): ${test_labs[*]%%:*} ==="
    return
  fi
  local entry name keep
  for entry in "${test_labs[@]}"; do
    name=${entry%%:*}
    [ -n "$(docker ps -aq --filter "label=workshop.lab=$name" --filter label=workshop.node \
      2>/dev/null)" ] || continue
    # The main test lab keeps its package cache; the others are made anew each run.
    # No lab keeps its snapshots: runs never pile them up.
    keep=(--snapshots)
    [ "$name" = "$WORKSHOP_LAB" ] && keep+=(--keep-cache)
    echo "=== taking down test lab $name ${keep[*]} ==="
    env -u WORKSHOP_INVENTORY WORKSHOP_LAB="$name" WORKSHOP_SUBNET="${entry#*:}" \
      timeout 600 "$BIN/python" -m workshop.cli down "${keep[@]}" \
      || echo "run-tests: could not take down test lab $name (\`workshop down\` with WORKSHOP_LAB=$name)"
  done
}

finish() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$alone_pid" ] && kill -0 "$alone_pid" 2>/dev/null; then
    # Interrupted: the chapters-alone run (its own process group) stops too.
    kill -TERM -- "-$alone_pid" 2>/dev/null
    wait "$alone_pid" 2>/dev/null
  fi
  down_test_labs
  scripts/engine.sh stop || true
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

scripts/engine.sh start || exit 1
rc=0
"$BIN/ruff" check workshop tests || rc=1
"$BIN/ruff" format --check workshop tests || rc=1
"$BIN/mypy" workshop || rc=1

# The chapters-alone tests (each chapter first thing on bare nodes, lab `wsalone`)
# mostly wait on the lab: they run beside the rest, on a lab of their own, once the
# images both sides use are built, and the snapshot tests follow them on that lab,
# then the graded labs (labs/, unsolved then solved; lab 09's solution changes the
# roles, and a save right after they were put back can catch Swarm half-way through
# a demotion). Their report follows the main one. The chapters use snapshots: a
# chapter whose starting state an earlier one saved (05 after 04; 07 and 09 after 08)
# gets it restored, as a learner would; the chapters that teach an installation (03
# the swarm, 05 Gluster) still run it. `down --snapshots` at the end removes them.
alone=tests/integration/test_chapters_alone.py
graded=tests/integration/test_labs.py
snapshots=tests/integration/test_snapshots.py
pytest_args=(--nbval-lax --timeout=1200 -p no:cacheprovider)
"$BIN/python" -m tests.build_images >artifacts/images.log 2>&1 || { cat artifacts/images.log; rc=1; }
if [ $rc -eq 0 ] && [ -z "${WORKSHOP_TESTS_SERIAL:-}" ] && [ $# -eq 0 ]; then
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c '
    WORKSHOP_SNAPSHOTS=1 "$@" --junitxml=artifacts/junit-alone.xml '"$alone"'; alone_rc=$?
    WORKSHOP_LAB=wsalone WORKSHOP_SUBNET=192.168.62 \
      "$@" --junitxml=artifacts/junit-labs.xml '"$snapshots $graded"'; labs_rc=$?
    [ $alone_rc -eq 0 ] && [ $labs_rc -eq 0 ]' \
    run-alone "$BIN/pytest" "${pytest_args[@]}" >artifacts/chapters-alone.log 2>&1 &
  alone_pid=$!
fi

paths=(tests/unit tests/integration)
for extra in notebooks tests/browser; do
  compgen -G "$extra/*" >/dev/null && paths+=("$extra")
done
ignore=()
[ -n "$alone_pid" ] && ignore=(--ignore="$alone" --ignore="$graded" --ignore="$snapshots")
"$BIN/pytest" "${pytest_args[@]}" --junitxml=artifacts/junit.xml "${ignore[@]}" "${paths[@]}" "$@" \
  || rc=1

# The test lab as an inventory of real SSH hosts: provision, chapters 03 and 05,
# `workshop down` (tests/inventory). It starts from what the main run left.
if [ $# -eq 0 ]; then
  started=$SECONDS
  "$BIN/pytest" -p no:cacheprovider --timeout=900 --junitxml=artifacts/junit-inventory.xml \
    tests/inventory || rc=1
  echo "=== inventory path: $((SECONDS - started)) s ==="
fi

if [ -n "$alone_pid" ]; then
  wait "$alone_pid" || rc=1
  alone_pid=
  echo "=== chapters alone, the graded labs, snapshots (artifacts/chapters-alone.log) ==="
  cat artifacts/chapters-alone.log
fi

exit $rc
