#!/usr/bin/env bash
# tests/integration/run.sh — runs every tests/integration/test_*.sh (or the names given as
# arguments, e.g. `run.sh test_route_medical`), started in name order, each in its own
# temporary directory and process group, with a time limit of TEST_TIMEOUT seconds (300).
#
#   CLUEBUS_BIN          cluebus-broker, cluebus-agent, cluebus-keygen, cluebus-audit,
#                        example-* (default: bin/)
#   CLUEBUS_TEST_TOOLS   forge, tamper (default: build/tests/tools/)
#
# Prints "PASS name (SECONDSs)" or "FAIL name (SECONDSs)" per test (with the tail of the
# test's output and of its daemons' logs after a failure), then "N passed, M failed"; exits
# 1 when any failed.
# A failed test's directory is kept and named; a passed one is removed.
# TEST_JOBS (2) tests run at once: most of a test's time is waiting on its daemons, and
# each has its own directory, ports and processes. TEST_JOBS=1 runs them one by one.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../runner.sh"
runner_init cluebus-it forge tamper
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
TEST_JOBS=${TEST_JOBS:-2}

if [ $# -gt 0 ]; then
	tests=()
	for name in "$@"; do
		tests+=("$HERE/${name%.sh}.sh")
	done
else
	tests=("$HERE"/test_*.sh)
fi

# run_one NAME FILE (in a subshell of its own): the test and its verdict; in ROOT/NAME.done
# its rc and seconds for collect.
run_one() {
	runner_run "$1" "$2" "$TEST_TIMEOUT"
	runner_verdict "$1" "$TEST_TIMEOUT" 25
	echo "$rc $secs" >"$ROOT/$1.done"
}

# Reads what the finished test NAME left (parallel runs): counts and timings.
collect() {
	local r s
	read -r r s <"$ROOT/$1.done" || { r=1; s=0; }
	rm -f "$ROOT/$1.done" "$ROOT/$1.out"
	timings+=("$1 ${s}s")
	if [ "$r" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

declare -A running=()	# pid -> test name
stop_all() {
	local pid
	for pid in "${!running[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	wait
	echo "run.sh: interrupted" >&2
	exit 130
}

finish_one() {
	local pid
	wait -n -p pid "${!running[@]}"
	cat "$ROOT/${running[$pid]}.out"
	collect "${running[$pid]}"
	unset "running[$pid]"
}

[ "$TEST_JOBS" -gt 1 ] && [ ${#tests[@]} -gt 1 ] && trap stop_all INT TERM
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	if [ ! -f "$t" ]; then
		runner_missing "$name" "no such test: $t"
		continue
	fi
	if [ "$TEST_JOBS" -le 1 ] || [ ${#tests[@]} -eq 1 ]; then
		runner_run "$name" "$t" "$TEST_TIMEOUT"
		runner_verdict "$name" "$TEST_TIMEOUT" 25
		continue
	fi
	while [ ${#running[@]} -ge "$TEST_JOBS" ]; do
		finish_one
	done
	(trap runner_on_signal INT TERM; run_one "$name" "$t" >"$ROOT/$name.out" 2>&1) &
	running[$!]=$name
done
while [ ${#running[@]} -gt 0 ]; do
	finish_one
done
runner_summary
