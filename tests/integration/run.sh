#!/usr/bin/env bash
# tests/integration/run.sh — runs every tests/integration/test_*.sh (or the names given as
# arguments, e.g. `run.sh test_route_medical`), in name order, each in its own temporary
# directory and process group, with a time limit of TEST_TIMEOUT seconds (300).
#
#   CLUEBUS_BIN          cluebus-broker, cluebus-agent, cluebus-keygen, cluebus-audit,
#                        example-* (default: bin/)
#   CLUEBUS_TEST_TOOLS   forge, tamper (default: build/tests/tools/)
#
# Prints "PASS name (SECONDSs)" or "FAIL name (SECONDSs)" per test (with the tail of the
# test's output and of its daemons' logs after a failure), then "N passed, M failed"; exits
# 1 when any failed.
# A failed test's directory is kept and named; a passed one is removed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../runner.sh"
runner_init cluebus-it forge tamper
TEST_TIMEOUT=${TEST_TIMEOUT:-300}

if [ $# -gt 0 ]; then
	tests=()
	for name in "$@"; do
		tests+=("$HERE/${name%.sh}.sh")
	done
else
	tests=("$HERE"/test_*.sh)
fi

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	if [ ! -f "$t" ]; then
		runner_missing "$name" "no such test: $t"
		continue
	fi
	runner_run "$name" "$t" "$TEST_TIMEOUT"
	runner_verdict "$name" "$TEST_TIMEOUT" 25
done
runner_summary
