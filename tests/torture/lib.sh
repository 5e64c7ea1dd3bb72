# tests/torture/lib.sh — helpers the torture scenarios share (sourced, bash).
#
# Sources tests/integration/lib.sh (deploy, start_all, start_agent, wait_for, kill9_*,
# drain, end_stream, finish ...) and adds what the long runs need: a steady feeder of
# clues, random pauses, memory readings of the broker, phase marks for latency, and the
# RESULT lines run.sh collects into its report. Everything started here is recorded by
# scripts/procs.sh in $PIDDIR, so a failing scenario leaves nothing running.

. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

TORTURE=$REPO/tests/torture
HOSTILE=$CLUEBUS_TEST_TOOLS/hostile
ROUNDS=${TORTURE_ROUNDS:-50}
TSECONDS=${TORTURE_SECONDS:-30}
SEED=${TORTURE_SEED:-$$}
RANDOM=$SEED
FEED_LOG=$TEST_DIR/feed.log
PHASES=$TEST_DIR/phases

# result TEXT: one line of the scenario's measured outcome (run.sh prints them).
result() {
	echo "RESULT: $*"
}

# ms_sleep MS: sleeps MS milliseconds.
ms_sleep() {
	sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"
}

# random_pause: sleeps 0.05 to 1.5 s, uniformly; sets PAUSE_MS. (Never call it in $(...):
# RANDOM would not advance in the caller.)
random_pause() {
	PAUSE_MS=$((50 + RANDOM % 1451))
	ms_sleep "$PAUSE_MS"
}

now_ns() { date +%s%N; }

# ---- the feeder ----

# feeder_start UNIT RATE [CATEGORY JURISDICTION]: drops clue-NNNNNN.json ("clue N") into
# UNIT's in/ at RATE per second until feeder_stop.
feeder_start() {
	mkdir -p "$(spool "$1")/in"
	proc_start feeder "$LOGS/feeder.log" "$PY" "$TORTURE/feeder.py" --dir "$(spool "$1")/in" \
	    --rate "$2" --log "$FEED_LOG" --category "${3:-medical}" \
	    --jurisdiction "${4:-210302}"
}

# feeder_stop: stops the feeder; sets FED to the number of documents it dropped.
feeder_stop() {
	stop feeder
	read -r FED <"$FEED_LOG.count"
}

# fast_drop UNIT COUNT [FIRST]: COUNT clues at once (no pacing), numbered from FIRST (1).
fast_drop() {
	"$PY" "$TORTURE/feeder.py" --dir "$(spool "$1")/in" --drop "$2" --first "${3:-1}" \
	    --log "$FEED_LOG"
}

# ---- memory ----

# proc_kb PID FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM), 0 when gone. The
# file is read in one go: read line by line, it is generated again at each seek and its
# lines shift when a field before the one asked for changes width.
proc_kb() {
	local status
	{ status=$(<"/proc/$1/status"); } 2>/dev/null || { echo 0; return 0; }
	if [[ $status =~ $2:[[:space:]]+([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo 0
	fi
}

broker_pid() { proc_pid broker; }

# mem_sampler_start PID: records PID's memory five times a second in $TEST_DIR/mem, one
# line "TIME_NS RSS_ANON_KB RSS_FILE_KB VM_RSS_KB" each (RssAnon is the heap and ZeroMQ's
# queues; RssFile is mostly LMDB's mapped data file, which grows with the log). Stopped
# by stop memsampler (or at exit).
mem_sampler_start() {
	proc_start memsampler "$LOGS/memsampler.log" bash -c '
		trap "exit 0" TERM
		while :; do
			if { s=$(<"/proc/$1/status"); } 2>/dev/null &&
			    [[ $s =~ RssAnon:[[:space:]]+([0-9]+) ]]; then
				a=${BASH_REMATCH[1]}
				[[ $s =~ RssFile:[[:space:]]+([0-9]+) ]] && f=${BASH_REMATCH[1]}
				[[ $s =~ VmRSS:[[:space:]]+([0-9]+) ]] && r=${BASH_REMATCH[1]}
				echo "${EPOCHREALTIME/./}000 $a $f $r" >>"$2"
			fi
			sleep 0.2 &
			wait $!
		done' memsampler "$1" "$TEST_DIR/mem"
}

# is_asan BINARY: the binary is built with AddressSanitizer.
is_asan() {
	grep -q __asan_init "$1" 2>/dev/null
}

# ---- phases (for latency by phase) ----

_phase_name=
_phase_start=

phase_begin() {
	_phase_name=$1
	_phase_start=$(now_ns)
	say "phase $1"
}

phase_end() {
	echo "$_phase_name $_phase_start $(now_ns)" >>"$PHASES"
}

# ---- checks ----

check() { "$PY" "$TORTURE/check.py" "$@"; }
