# scripts/procs.sh — the background processes of a script: start with a log and a pid file,
# wait until ready, stop with SIGTERM, kill -9, and clean up whatever is left (sourced, bash).
#
# The demo, the bench, the integration tests and the torture scenarios start brokers, agents
# and helpers and must leave nothing running however they end. Each process is known by a
# NAME; its pid is in $PROC_DIR/NAME, so that a runner outside the script (tests/runner.sh)
# can kill what a script that timed out left behind.
#
# Invariants: (1) a pid file exists exactly while its process was started here and not yet
# stopped, killed or forgotten; (2) every process is a child of the shell that sourced this
# file, so its exit status can be collected (call these functions outside $(...));
# (3) proc_stop_all and proc_cleanup stop in the reverse order of the starts (agents before
# the broker they talk to, a node before the port mapper it registered with).
#
# Needs: PROC_DIR set (proc_init makes it). Every poll uses shell builtins only: the polls
# run on machines busy with the processes they watch.

PROC_DIR=${PROC_DIR:-}
PROC_ORDER=()

# proc_init DIR: the directory of the pid files (made when missing).
proc_init() {
	PROC_DIR=$1
	mkdir -p "$PROC_DIR"
}

# proc_alive PID: the process exists and is not a zombie.
proc_alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ -n "$stat" ] && [ "${stat:0:1}" != Z ]
}

proc_gone() { ! proc_alive "$1"; }

# proc_pid NAME: prints NAME's pid; fails when NAME is not recorded.
proc_pid() {
	local pid
	[ -f "$PROC_DIR/$1" ] && read -r pid <"$PROC_DIR/$1" && echo "$pid"
}

# proc_running NAME: NAME is recorded and alive.
proc_running() {
	local pid
	[ -f "$PROC_DIR/$1" ] && read -r pid <"$PROC_DIR/$1" && proc_alive "$pid"
}

# proc_start NAME LOG COMMAND [ARG...]: runs COMMAND in the background, stdout and stderr
# appended to LOG after a line "=== TIME start: COMMAND", and records it as NAME. Fails
# when NAME is already running.
proc_start() {
	local name=$1 log=$2
	shift 2
	if proc_running "$name"; then
		echo "proc_start: $name is already running" >&2
		return 1
	fi
	printf '=== %(%H:%M:%S)T start: %s\n' -1 "$*" >>"$log"
	"$@" >>"$log" 2>&1 &
	echo $! >"$PROC_DIR/$name"
	PROC_ORDER+=("$name")
}

# proc_log_count LOG PATTERN: lines of LOG matching PATTERN (0 when LOG is missing).
proc_log_count() {
	local n
	n=$(grep -c -- "$2" "$1" 2>/dev/null || true)
	echo "${n:-0}"
}

# proc_await NAME LOG PATTERN AFTER SECONDS: waits until LOG holds more than AFTER lines
# matching PATTERN (AFTER: proc_log_count before the start). Fails with a message when
# NAME exits first or after SECONDS.
proc_await() {
	local name=$1 log=$2 pattern=$3 after=$4 secs=$5 start=$SECONDS
	until [ "$(proc_log_count "$log" "$pattern")" -gt "$after" ]; do
		if ! proc_running "$name"; then
			echo "$name exited before its log said '$pattern' (see $log)" >&2
			return 1
		fi
		if [ $((SECONDS - start)) -ge "$secs" ]; then
			echo "gave up after ${secs}s waiting for $name to log '$pattern' (see $log)" >&2
			return 1
		fi
		sleep 0.1
	done
}

# proc_start_ready NAME LOG PATTERN SECONDS COMMAND [ARG...]: proc_start, then proc_await
# the next line of LOG matching PATTERN.
proc_start_ready() {
	local name=$1 log=$2 pattern=$3 secs=$4 after
	shift 4
	after=$(proc_log_count "$log" "$pattern")
	proc_start "$name" "$log" "$@" || return 1
	proc_await "$name" "$log" "$pattern" "$after" "$secs"
}

# proc_forget NAME: drops NAME's record (a process whose end the caller expects or handles).
proc_forget() {
	rm -f "${PROC_DIR:?}/$1"
}

# proc_stop NAME [SECONDS]: SIGTERM and a bounded wait (30 s), then SIGKILL. Returns 0
# when NAME exited with status 0 within SECONDS; otherwise says why on stderr and returns 1.
# NAME is forgotten either way.
proc_stop() {
	local name=$1 secs=${2:-30} pid rc=0 start=$SECONDS
	pid=$(proc_pid "$name") || { echo "proc_stop: $name was not started" >&2; return 1; }
	kill -TERM "$pid" 2>/dev/null || true
	while proc_alive "$pid" && [ $((SECONDS - start)) -lt "$secs" ]; do
		sleep 0.1
	done
	if proc_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		proc_forget "$name"
		echo "$name (pid $pid) did not exit within ${secs}s of SIGTERM: killed" >&2
		return 1
	fi
	wait "$pid" 2>/dev/null || rc=$?
	proc_forget "$name"
	[ "$rc" -eq 0 ] && return 0
	echo "$name (pid $pid) exited with status $rc after SIGTERM" >&2
	return 1
}

# proc_kill9 NAME: SIGKILL, reaped and forgotten.
proc_kill9() {
	local pid
	pid=$(proc_pid "$1") || return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	proc_forget "$1"
}

# _proc_recorded_newest_first: the recorded names, the latest start first.
_proc_recorded_newest_first() {
	local i name seen=" " f
	for ((i = ${#PROC_ORDER[@]} - 1; i >= 0; i--)); do
		name=${PROC_ORDER[i]}
		[[ $seen == *" $name "* ]] && continue
		seen+="$name "
		[ -f "$PROC_DIR/$name" ] && echo "$name"
	done
	for f in "$PROC_DIR"/*; do
		[ -f "$f" ] || continue
		[[ $seen == *" ${f##*/} "* ]] || echo "${f##*/}"
	done
}

# proc_stop_all [SECONDS]: proc_stop of every recorded process, the latest start first.
# Returns 1 when any of them failed to exit 0 (after stopping all).
proc_stop_all() {
	local name rc=0
	for name in $(_proc_recorded_newest_first); do
		proc_stop "$name" "${1:-30}" || rc=1
	done
	return "$rc"
}

# proc_dead: the first recorded process that is no longer alive: says so with its exit
# status on stderr, forgets it and returns 1; returns 0 when all are alive.
proc_dead() {
	local f pid rc
	for f in "$PROC_DIR"/*; do
		[ -f "$f" ] || continue
		read -r pid <"$f"
		proc_alive "$pid" && continue
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		rm -f "$f"
		echo "${f##*/} (pid $pid) exited unexpectedly with status $rc (see its log)" >&2
		return 1
	done
}

# proc_cleanup [SECONDS]: for an EXIT trap: SIGTERM to every recorded process, the latest
# start first, a bounded wait each (10 s), then SIGKILL; exit statuses are not looked at.
proc_cleanup() {
	local name
	[ -n "$PROC_DIR" ] && [ -d "$PROC_DIR" ] || return 0
	for name in $(_proc_recorded_newest_first); do
		proc_stop "$name" "${1:-10}" 2>/dev/null || true
	done
}

# proc_kill_leftovers GROUP DIR: for a runner: SIGKILL to the process group GROUP (a test
# run with setsid or as a job) and to every process recorded in DIR, the test's PROC_DIR.
proc_kill_leftovers() {
	local group=$1 dir=$2 f pid
	kill -KILL -- "-$group" 2>/dev/null || true
	for f in "$dir"/*; do
		[ -f "$f" ] && read -r pid <"$f" && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}
