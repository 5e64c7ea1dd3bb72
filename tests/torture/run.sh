#!/usr/bin/env bash
# tests/torture/run.sh — long crash loops, hostile peers, outages, a full disk and a
# bounded fuzz run (`make torture`), within a total time budget.
#
#   run.sh [SCENARIO...]      a b c d e f x, or file names (t_c_hostile_peers); default
#                             $TORTURE_SCENARIOS, or all of them
#
# Scenarios (tests/torture/t_*.sh, each sourcing tests/integration/lib.sh via lib.sh):
#   a  kill -9 of the broker at random moments, TORTURE_ROUNDS times, under a steady stream
#   b  kill -9 of agents (sender and recipients alternately), TORTURE_ROUNDS times
#   c  hostile peers (tests/tools/hostile.c) while a well-behaved agent publishes: the broker
#      stays up, its memory bounded, the honest unit's publish-to-receipt time bounded
#   d  long outages: 3,000 clues queued while the broker is down; a recipient offline while
#      20,000 messages accumulate, then catching up in order
#   e  full disk: a 1 MiB LMDB map fills up; nothing accepted is lost, nothing pending is
#      lost, everything goes through after a restart with a bigger map
#   f  libFuzzer on every tests/fuzz target (`make fuzz`), a crash fails it
#   x  a heartbeating receiver that never reads, for a minute: the broker resends its window
#      at most 3 times, then holds it; its memory stays flat
#
# Environment (defaults in brackets; smaller values scale a run down):
#   CLUEBUS_BIN          the binaries (bin/; `make torture` passes the ASan build)
#   CLUEBUS_TEST_TOOLS   forge, tamper, hostile (build/tests/tools/)
#   TORTURE_ROUNDS       kill -9 rounds of a and b [50]
#   TORTURE_SECONDS      timed phases: fuzzing per target in f (unless FUZZ_SECONDS is
#                        set), the steady phases of c are a third of it [30]
#   TORTURE_BUDGET       total seconds for the whole run [900]; a scenario gets its own
#                        limit or what is left of the budget, whichever is smaller
#   TORTURE_OUTAGE       clues queued during the broker outage of d [3000]
#   TORTURE_BACKLOG      messages accumulated for the offline recipient of d [100000]
#   TORTURE_NOREAD       messages routed to the non-reading peer of c [5000]
#   TORTURE_FLOOD        garbage frames of the flood in c [100000]
#   TORTURE_FULL_DOCS    clues offered to the 1 MiB map of e [3000]
#   TORTURE_RATE         clues per second of the steady feeder [a, b: 25; c: 10]
#   TORTURE_RSS_MB, TORTURE_LATENCY_MS   bounds asserted in c (see t_c_hostile_peers.sh)
#   TORTURE_SEED         seed of the random pauses of a and b [the scenario's pid]
#   TORTURE_SCENARIOS    scenarios to run when none is named ["a b c d e f x"]; CI leaves
#                        out f because it runs `make fuzz` as a step of its own
#
# Prints "PASS name (SECONDSs)" or "FAIL name (SECONDSs)" per scenario with its RESULT
# lines (the measured outcome), the tail of its output and logs after a failure, then
# "N passed, M failed". Exits 1 when any failed. A failed scenario's directory is kept and
# named.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../runner.sh"
runner_init cluebus-torture hostile
BUDGET=${TORTURE_BUDGET:-900}

# Each scenario's own time limit (seconds); the budget may cut it shorter.
declare -A LIMIT=(
	[t_a_broker_crash_loop]=300 [t_b_agent_crash_loop]=300 [t_c_hostile_peers]=300
	[t_d_long_outages]=360 [t_e_full_disk]=240 [t_f_fuzz]=420 [t_x_noread_redelivery]=180
)

scenarios=()
if [ $# -eq 0 ] && [ -n "${TORTURE_SCENARIOS:-}" ]; then
	# shellcheck disable=SC2086
	set -- $TORTURE_SCENARIOS
fi
if [ $# -gt 0 ]; then
	for name in "$@"; do
		case $name in
		[a-z]) scenarios+=("$(basename "$(ls "$HERE"/t_"$name"_*.sh 2>/dev/null | head -1)" .sh)") ;;
		*) scenarios+=("${name%.sh}") ;;
		esac
	done
else
	for t in "$HERE"/t_[a-fx]_*.sh; do
		scenarios+=("$(basename "$t" .sh)")
	done
fi

echo "torture: $(date -u +%FT%TZ), binaries $CLUEBUS_BIN, budget ${BUDGET}s," \
    "rounds ${TORTURE_ROUNDS:-50}, seconds ${TORTURE_SECONDS:-30}"
begin=$SECONDS
for name in "${scenarios[@]}"; do
	t=$HERE/$name.sh
	if [ -z "$name" ] || [ ! -f "$t" ]; then
		runner_missing "${name:-?}" "no such scenario: $t"
		continue
	fi
	left=$((BUDGET - (SECONDS - begin)))
	limit=${LIMIT[$name]:-300}
	[ "$left" -lt "$limit" ] && limit=$left
	if [ "$limit" -le 10 ]; then
		runner_missing "$name" "not run: the time budget of ${BUDGET}s is used up"
		continue
	fi
	runner_run "$name" "$t" "$limit"
	runner_verdict "$name" "$limit" 15 sed -n 's/^RESULT: /    /p' "$dir/output.log"
done
runner_summary "total $((SECONDS - begin))s"
