# tests/runner.sh — what tests/integration/run.sh and tests/torture/run.sh share, sourced by
# both: where the binaries are and that they are all there, a root directory for the runs,
# cleaning up after a test's process group, and the verdict lines.
#
#   runner_init PREFIX TOOL...   resolves and exports CLUEBUS_BIN and CLUEBUS_TEST_TOOLS
#                                (defaults bin/ and build/tests/tools/ of the repository),
#                                checks the four cluebus binaries, the named test tools,
#                                python3 and ../shared/units.sample.json (exit 2 if one is
#                                missing), makes ROOT (a PREFIX.XXXXXX directory under
#                                $TMPDIR) and traps INT/TERM to kill the test running then
#   runner_run NAME FILE LIMIT   runs FILE with bash in a new directory under ROOT (TEST_DIR,
#                                output in $dir/output.log), in its own process group,
#                                killed after LIMIT seconds; cleans up after it; sets `dir`,
#                                `rc` (124: timed out) and `secs`, adds "NAME SECSs" to the
#                                array `timings`
#   runner_tails DIR N M         prints the last N lines of DIR's output and the last M of
#                                each daemon log in DIR/logs/, indented
#   runner_verdict NAME LIMIT M [CMD...]
#                                after runner_run: "PASS NAME (SECSs)", then CMD's output
#                                (e.g. the test's result lines), and the directory removed;
#                                or "FAIL NAME (SECSs)", why, the directory kept and named,
#                                and runner_tails DIR 40 M; counts in `pass` and `fail`
#   runner_missing NAME WHY      "FAIL NAME" and WHY, counted in `fail`
#   runner_summary [NOTE]        the timings (and NOTE), "N passed, M failed"; removes ROOT
#                                when none failed; returns 1 when any failed
#
# A test's leftovers (its process group and the daemons it recorded in DIR/pids/) are
# killed with scripts/procs.sh's proc_kill_leftovers.

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/procs.sh"

runner_on_signal() {
	[ -n "${current:-}" ] && proc_kill_leftovers "$current" "$dir/pids"
	echo "run.sh: interrupted" >&2
	exit 130
}

runner_init() {
	local prefix=$1 repo bin tools b
	shift
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	bin=${CLUEBUS_BIN:-$repo/bin}
	tools=${CLUEBUS_TEST_TOOLS:-$repo/build/tests/tools}
	CLUEBUS_BIN=$(cd "$bin" 2>/dev/null && pwd) ||
	    { echo "run.sh: CLUEBUS_BIN ($bin) does not exist" >&2; exit 2; }
	CLUEBUS_TEST_TOOLS=$(cd "$tools" 2>/dev/null && pwd) ||
	    { echo "run.sh: CLUEBUS_TEST_TOOLS ($tools) does not exist (build it: make" \
	    "tests-built)" >&2; exit 2; }
	export CLUEBUS_BIN CLUEBUS_TEST_TOOLS
	for b in cluebus-broker cluebus-agent cluebus-keygen cluebus-audit; do
		[ -x "$CLUEBUS_BIN/$b" ] || { echo "run.sh: $CLUEBUS_BIN/$b is missing" >&2; exit 2; }
	done
	for b in "$@"; do
		[ -x "$CLUEBUS_TEST_TOOLS/$b" ] ||
		    { echo "run.sh: $CLUEBUS_TEST_TOOLS/$b is missing" >&2; exit 2; }
	done
	command -v python3 >/dev/null || { echo "run.sh: python3 is required" >&2; exit 2; }
	[ -f "$repo/../shared/units.sample.json" ] ||
	    { echo "run.sh: $repo/../shared/units.sample.json not found" >&2; exit 2; }
	ROOT=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
	pass=0
	fail=0
	timings=()
	current=
	trap runner_on_signal INT TERM
}

runner_run() {
	local name=$1 file=$2 limit=$3 start=$SECONDS
	dir=$(mktemp -d "$ROOT/$name.XXXXXX")
	TEST_DIR=$dir timeout -k 10 "$limit" bash "$file" >"$dir/output.log" 2>&1 </dev/null &
	current=$!
	wait "$current"
	rc=$?
	proc_kill_leftovers "$current" "$dir/pids"
	current=
	secs=$((SECONDS - start))
	timings+=("$name ${secs}s")
}

runner_tails() {
	local d=$1 log
	echo "    --- output (last $2 lines)"
	tail -n "$2" "$d/output.log" | sed 's/^/    /'
	for log in "$d"/logs/*.log; do
		[ -f "$log" ] || continue
		echo "    --- $(basename "$log") (last $3 lines)"
		tail -n "$3" "$log" | cut -c1-300 | sed 's/^/    /'
	done
}

runner_verdict() {
	local name=$1 limit=$2 log_lines=$3
	shift 3
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (${secs}s)"
		[ $# -eq 0 ] || "$@"
		pass=$((pass + 1))
		rm -rf "$dir"
		return 0
	fi
	echo "FAIL $name (${secs}s)"
	fail=$((fail + 1))
	[ "$rc" -eq 124 ] && echo "    timed out after ${limit}s"
	echo "    exit status $rc; directory kept: $dir"
	runner_tails "$dir" 40 "$log_lines"
}

runner_missing() {
	echo "FAIL $1"
	echo "    $2"
	fail=$((fail + 1))
}

runner_summary() {
	[ "$fail" -eq 0 ] && rm -rf "$ROOT"
	echo "timings: $(printf '%s, ' "${timings[@]}" | sed 's/, $//')${1:+ ($1)}"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
