#!/usr/bin/env bash
# `make demo` keeps working: the demo script, run twice into this test's directory with the
# binaries under test, routes, delivers and verifies every clue and exits 0 both times.
. "$(dirname "$0")/lib.sh"

for run in 1 2; do
	DEMO_DIR="$TEST_DIR/demo" "$REPO/scripts/demo.sh" >"$TEST_DIR/demo-$run.log" 2>&1 ||
	    die "demo run $run failed: $(tail -20 "$TEST_DIR/demo-$run.log")"
	grep -q '^== demo finished: every clue routed, delivered and verified' \
	    "$TEST_DIR/demo-$run.log" || die "demo run $run did not finish"
	grep -q '^OK ' "$TEST_DIR/demo-$run.log" || die "demo run $run: audit verify not OK"
done
LOGS=$TEST_DIR/demo/logs check_logs
say "ok"
