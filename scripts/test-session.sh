#!/usr/bin/env bash
# Runs the test suite the way CI does: a virtual X display with a tray host, a real Secret Service keyring
# (gnome-keyring in its own D-Bus session), the node runtime from FARNODE_RUNTIME_DIR.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts
if [ -z "${FARNODE_IN_SESSION:-}" ]; then
  export FARNODE_IN_SESSION=1
  # a throwaway HOME keeps the test keyring apart from the user's own
  export FARNODE_TEST_REAL_HOME="$HOME"
  export HOME="$(mktemp -d)"
  # a 1366x768 laptop screen: the windows are checked to fit it (tests/ui_tray/test_walkthrough.py)
  exec xvfb-run -a -s "-screen 0 1366x768x24" dbus-run-session -- bash "$0" "$@"
fi
printf 'farnode-test' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
# pip's cache and config for a runtime install inside the tests come from the real home
export FARNODE_REQUIRE_KEYRING=1
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$FARNODE_TEST_REAL_HOME/.cache/pip}"
trayer --edge top --align right --widthtype request --height 24 >/dev/null 2>&1 &
tray=$!
trap 'kill $tray 2>/dev/null' EXIT
sleep 1
status=0
out=artifacts/test-output.txt
# Everything but the real-tray tests, offscreen Qt. A whole run (no arguments) runs the slow tests (real nodes,
# builds: mostly waiting on child processes) in a second pytest beside the quick ones, each with its own HOME; the
# slow pass prints when it ends. FARNODE_TEST_SERIAL=1 runs them one after the other.
if [ $# -eq 0 ] && [ -z "${FARNODE_TEST_SERIAL:-}" ]; then
  slow_out=artifacts/test-output-slow.txt
  HOME="$(mktemp -d)" .venv/bin/pytest -m "(runtime or slow) and not tray" -p no:cacheprovider --durations=15 \
    --basetemp "$(mktemp -d)/slow" >"$slow_out" 2>&1 &
  slow_pid=$!
  .venv/bin/pytest -m "not runtime and not slow and not tray" -p no:cacheprovider --durations=10 \
    --basetemp "$(mktemp -d)/quick" 2>&1 | tee "$out"
  quick_status=${PIPESTATUS[0]}
  wait $slow_pid
  slow_status=$?
  echo "---- the slow pass (real nodes, builds), run beside the quick one ----"
  cat "$slow_out" | tee -a "$out"
  main_status=$quick_status
  [ $main_status -eq 0 ] && main_status=$slow_status
else
  .venv/bin/pytest -m "not tray" -p no:cacheprovider --durations=15 "$@" 2>&1 | tee "$out"
  main_status=${PIPESTATUS[0]}
fi
# The tray tests need the X display with the tray host.
FARNODE_TEST_DISPLAY=1 .venv/bin/pytest -m tray -p no:cacheprovider "$@" 2>&1 | tee -a "$out"
tray_status=${PIPESTATUS[0]}
# pytest exits 5 when no test matched: the tray suite must exist and run
[ $main_status -ne 0 ] && status=$main_status
[ $tray_status -ne 0 ] && status=$tray_status
count() { grep -E '^=+ .* in [0-9.]+s' "$out" | grep -oE "[0-9]+ $1" | awk '{n += $1} END {print n + 0}'; }
echo "total: $(count passed) passed, $(( $(count failed) + $(count error) )) failed"
exit $status
