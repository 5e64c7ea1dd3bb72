#!/usr/bin/env bash
# tests/integration/run.sh — runs every tests/integration/test_*.sh (or the names given as
# arguments, e.g. `run.sh test_route_medical`), in name order, each in its own temporary
# directory and process group, with a time limit of TEST_TIMEOUT seconds (300).
#
#   CLUEBUS_BIN          cluebus-broker, cluebus-agent, cluebus-keygen, cluebus-audit,
#                        example-* (default: bin/)
#   CLUEBUS_TEST_TOOLS   forge, tamper (default: build/tests/tools/)
#
# Prints "PASS name" or "FAIL name" per test (with the tail of the test's output and of its
# daemons' logs after a failure), then "N passed, M failed"; exits 1 when any failed.
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

pass=0
fail=0
timings=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	if [ ! -f "$t" ]; then
		echo "FAIL $name"
		echo "    no such test: $t"
		fail=$((fail + 1))
		continue
	fi
	runner_run "$name" "$t" "$TEST_TIMEOUT"
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name"
		pass=$((pass + 1))
		rm -rf "$dir"
		continue
	fi
	echo "FAIL $name"
	fail=$((fail + 1))
	[ "$rc" -eq 124 ] && echo "    timed out after ${TEST_TIMEOUT}s"
	echo "    exit status $rc after ${secs}s; directory kept: $dir"
	runner_tails "$dir" 40 25
done

[ "$fail" -eq 0 ] && rm -rf "$ROOT"
echo "timings: $(printf '%s, ' "${timings[@]}" | sed 's/, $//')"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
