# tests/integration/lib.sh — shared functions of the integration tests (sourced, bash).
#
# A test sources this file, calls `deploy`, starts the broker and the agents it needs,
# drops documents into spool directories and asserts on what comes out. Everything lives
# under $TEST_DIR (run.sh makes one per test; a test run on its own makes its own):
#
#   $D = $TEST_DIR/deploy   keys/ registry.json broker.conf UNIT.agent.conf data/
#                           spool/UNIT/{in,pending,sent,rejected,out,quarantine} state/UNIT
#   $TEST_DIR/logs          broker.log, agent-UNIT.log (appended across restarts)
#   $TEST_DIR/pids          one file per running daemon
#
# Rules: every wait is a bounded poll (wait_for), never a plain long sleep; every daemon
# this file starts is recorded and stopped on exit; a daemon stopped with SIGTERM must exit
# 0 (under ASan that includes "no leak"), and no log may contain a sanitizer report.

set -eu

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$REPO/scripts/common.sh"
CLUEBUS_BIN=${CLUEBUS_BIN:-$REPO/bin}
CLUEBUS_TEST_TOOLS=${CLUEBUS_TEST_TOOLS:-$REPO/build/tests/tools}
UNITS_FILE=$REPO/../shared/units.sample.json
PY=python3

if [ -z "${TEST_DIR:-}" ]; then
	TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cluebus-test.XXXXXX")
	_standalone=1
else
	_standalone=0
fi
D=$TEST_DIR/deploy
LOGS=$TEST_DIR/logs
PIDDIR=$TEST_DIR/pids
ENDPOINT=
mkdir -p "$D" "$LOGS" "$PIDDIR"

# ---- messages and assertions ----

say() { echo "[$(date +%H:%M:%S)] $*" >&2; }

die() {
	echo "ASSERTION FAILED: $*" >&2
	exit 1
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	[ "$1" = "$2" ] || die "$3: expected '$1', got '$2'"
}

# ---- waiting ----

# _poll SECONDS DESCRIPTION COMMAND [ARG...]: runs COMMAND every 0.1 s until it succeeds;
# returns 1 after SECONDS.
_poll() {
	local secs=$1 what=$2
	shift 2
	poll_until "$secs" "$@" && return 0
	echo "TIMEOUT after ${secs}s waiting for: $what" >&2
	return 1
}

# _daemons_ok: every recorded daemon still runs; one that died is reported with its exit
# status at once (rather than as a timeout later).
_daemons_ok() {
	local f pid rc
	for f in "$PIDDIR"/*; do
		[ -f "$f" ] || continue
		read -r pid <"$f"
		_alive "$pid" && continue
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		rm -f "$f"
		die "$(basename "$f") (pid $pid) exited unexpectedly with status $rc (see its log)"
	done
}

_daemons_ok_and() {
	_daemons_ok
	"$@"
}

# wait_for SECONDS DESCRIPTION COMMAND [ARG...]: polls COMMAND every 0.1 s until it
# succeeds; fails (returns 1, which ends a `set -e` test) after SECONDS, or at once when a
# daemon died meanwhile.
wait_for() {
	local secs=$1 what=$2
	shift 2
	_poll "$secs" "$what" _daemons_ok_and "$@"
}

# count_files DIR [GLOB]: regular files in DIR (not temporaries, which start with '.').
count_files() {
	find "$1" -maxdepth 1 -type f -name "${2:-*}" ! -name '.*' 2>/dev/null | wc -l
}

# files_at_least DIR GLOB N
files_at_least() {
	[ "$(count_files "$1" "$2")" -ge "$3" ]
}

# log_count FILE PATTERN: lines of FILE matching PATTERN (0 when FILE is missing).
log_count() {
	local n
	n=$(grep -c -- "$2" "$1" 2>/dev/null || true)
	echo "${n:-0}"
}

log_count_gt() {
	[ "$(log_count "$1" "$2")" -gt "$3" ]
}

# ---- processes ----

# _alive PID: the process exists and is not a zombie (shell builtins only: this runs in
# every poll, on a machine busy with the daemons).
_alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ -n "$stat" ] && [ "${stat:0:1}" != Z ]
}

_not_alive() { ! _alive "$1"; }

# _start NAME LOGFILE COMMAND [ARG...]: starts a daemon in the background, records it.
_start() {
	local name=$1 logfile=$2
	shift 2
	if [ -f "$PIDDIR/$name" ] && _alive "$(cat "$PIDDIR/$name")"; then
		die "$name is already running"
	fi
	echo "=== $(date +%H:%M:%S.%N) start: $*" >>"$logfile"
	"$@" >>"$logfile" 2>&1 &
	echo $! >"$PIDDIR/$name"
}

running() {
	local pid
	[ -f "$PIDDIR/$1" ] && read -r pid <"$PIDDIR/$1" && _alive "$pid"
}

# stop NAME: SIGTERM, bounded wait, and the exit status must be 0.
stop() {
	local name=$1 pid rc=0
	[ -f "$PIDDIR/$name" ] || die "stop $name: not started"
	pid=$(cat "$PIDDIR/$name")
	kill -TERM "$pid" 2>/dev/null || true
	if ! _poll 30 "$name (pid $pid) to exit after SIGTERM" _not_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$PIDDIR/$name"
		die "$name did not exit within 30 s of SIGTERM"
	fi
	wait "$pid" 2>/dev/null || rc=$?
	rm -f "$PIDDIR/$name"
	[ "$rc" -eq 0 ] || die "$name exited with status $rc after SIGTERM (see its log)"
}

# kill9 NAME: SIGKILL, reaped.
kill9() {
	local name=$1 pid
	pid=$(cat "$PIDDIR/$name")
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$PIDDIR/$name"
}

_broker_started() {
	running broker || die "the broker exited during startup (see $LOGS/broker.log)"
	log_count_gt "$LOGS/broker.log" 'INFO cluebus-broker: started:' "$1"
}

start_broker() {
	local n
	n=$(log_count "$LOGS/broker.log" 'INFO cluebus-broker: started:')
	_start broker "$LOGS/broker.log" "$CLUEBUS_BIN/cluebus-broker" -c "$D/broker.conf"
	wait_for 60 "the broker to start" _broker_started "$n"
}

stop_broker() { stop broker; }
kill9_broker() { kill9 broker; }

_agent_started() {
	running "agent-$1" || die "the agent of $1 exited during startup (see $LOGS/agent-$1.log)"
	log_count_gt "$LOGS/agent-$1.log" "agent for $1 started" "$2"
}

# start_agent UNIT: starts the agent and waits until it runs (not until it is connected:
# see wait_connected).
start_agent() {
	local unit=$1 n
	[ -f "$D/$unit.agent.conf" ] || agent_conf "$unit"
	n=$(log_count "$LOGS/agent-$unit.log" "agent for $unit started")
	log_count "$LOGS/agent-$unit.log" "connected to" >"$PIDDIR/.agent-$unit.connected"
	_start "agent-$unit" "$LOGS/agent-$unit.log" "$CLUEBUS_BIN/cluebus-agent" \
	    -c "$D/$unit.agent.conf"
	wait_for 60 "the agent of $unit to start" _agent_started "$unit" "$n"
}

# wait_connected UNIT...: each agent has been welcomed by the broker since it started.
wait_connected() {
	local unit
	for unit in "$@"; do
		wait_for 60 "the agent of $unit to connect" log_count_gt \
		    "$LOGS/agent-$unit.log" "connected to" "$(cat "$PIDDIR/.agent-$unit.connected")"
	done
}

stop_agent() { stop "agent-$1"; }
kill9_agent() { kill9 "agent-$1"; }

# stop_all: stops every recorded daemon with SIGTERM; fails if one of them fails to.
stop_all() {
	local f
	for f in "$PIDDIR"/*; do
		[ -f "$f" ] || continue
		stop "$(basename "$f")"
	done
}

# check_logs: no sanitizer report and no fatal error in any log.
check_logs() {
	local bad
	bad=$(grep -l -E 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|FATAL' \
	    "$LOGS"/*.log 2>/dev/null || true)
	[ -z "$bad" ] || die "sanitizer or fatal report in: $bad"
}

# finish: the last line of every test: stops every daemon (each must exit 0 on SIGTERM)
# and checks the logs.
finish() {
	stop_all
	check_logs
	say "ok"
}

_cleanup() {
	local rc=$? f pid
	trap - EXIT
	# Whatever is still running (a failed test): TERM, a bounded wait, then KILL.
	for f in "$PIDDIR"/*; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null || true
		_poll 10 "pid $pid to exit" _not_alive "$pid" 2>/dev/null ||
		    kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$f"
	done
	if [ "$_standalone" -eq 1 ]; then
		if [ "$rc" -eq 0 ]; then
			rm -rf "$TEST_DIR"
		else
			for f in "$LOGS"/*.log; do
				[ -f "$f" ] || continue
				echo "--- $f (last 30 lines)" >&2
				tail -n 30 "$f" >&2
			done
			echo "test directory kept: $TEST_DIR" >&2
		fi
	fi
	exit "$rc"
}
trap _cleanup EXIT

# ---- deployment ----


# _keys: a key pair for the broker and for every unit of the units file, in $D/keys.
_keys() {
	"$CLUEBUS_BIN/cluebus-keygen" units "$UNITS_FILE" "$D/keys" >/dev/null
}

# deploy [ipc|tcp]: keys, registry.json and broker.conf (the shipped example, with its
# routing table, and this deployment's endpoint) under $D. BROKER_TUNING, when set, is
# inserted into the broker group (e.g. "redeliver_ms = 2000;").
deploy() {
	local transport=${1:-ipc}
	[ -f "$UNITS_FILE" ] || die "units file not found: $UNITS_FILE (shared/ must be beside the repo)"
	case $transport in
	ipc) ENDPOINT="ipc://$TEST_DIR/broker.ipc" ;;
	tcp) ENDPOINT="tcp://127.0.0.1:$(free_port)" ;;
	*) die "deploy: unknown transport $transport" ;;
	esac
	_keys
	"$CLUEBUS_BIN/cluebus-keygen" registry "$UNITS_FILE" "$D/keys" >"$D/registry.json"
	sed -e "s#endpoint = \"tcp://127.0.0.1:7700\";#endpoint = \"$ENDPOINT\";\n  ${BROKER_TUNING:-}#" \
	    "$REPO/config/broker.conf.example" >"$D/broker.conf"
	chmod 600 "$D/broker.conf"
	grep -q "\"$ENDPOINT\"" "$D/broker.conf" || die "deploy: endpoint not set in broker.conf"
	"$CLUEBUS_BIN/cluebus-broker" --check -c "$D/broker.conf" >/dev/null
}

# agent_conf UNIT: $D/UNIT.agent.conf from the shipped example.
agent_conf() {
	local unit=$1
	sed -e "s#tcp://127.0.0.1:7700#$ENDPOINT#" -e "s#health#$unit#g" \
	    "$REPO/config/agent.conf.example" >"$D/$unit.agent.conf"
	chmod 600 "$D/$unit.agent.conf"
	"$CLUEBUS_BIN/cluebus-agent" --check -c "$D/$unit.agent.conf" >/dev/null
}

spool() { echo "$D/spool/$1"; }

# ---- documents ----

# clue_json CATEGORY JURISDICTION SUMMARY [PRIORITY]: a minimal valid clue (no message id:
# the agent draws a fresh one).
clue_json() {
	printf '{"kind":"clue","priority":"%s","clue":{"category":"%s","jurisdiction":"%s",' \
	    "${4:-routine}" "$1" "$2"
	printf '"occurred_at":"2026-03-01T08:30:00+08:00","location":"鞍山市铁东区",'
	printf '"summary":"%s","handling":{"code":"h0"},' "$3"
	printf '"evaluation":{"source_reliability":"b","accuracy":2}}}\n'
}

# drop UNIT NAME TEXT: writes TEXT into UNIT's in/ atomically (temporary, then rename).
drop() {
	local in
	in=$(spool "$1")/in
	mkdir -p "$in"
	printf '%s' "$3" >"$in/.$2.tmp"
	mv "$in/.$2.tmp" "$in/$2"
}

# drop_clues UNIT COUNT CATEGORY JURISDICTION: COUNT clues named clue-NNNNN.json with
# summaries "clue N", staged beside the spool and renamed into in/ by one mv (each rename
# is atomic). A running agent may take them in several scans, so its publish order is the
# name order only when the agent starts after the drop.
drop_clues() {
	local unit=$1 count=$2 cat=$3 jur=$4 stage i
	stage=$D/stage-$unit
	mkdir -p "$stage" "$(spool "$unit")/in"
	for ((i = 1; i <= count; i++)); do
		clue_json "$cat" "$jur" "clue $i" >"$stage/$(printf 'clue-%05d.json' "$i")"
	done
	find "$stage" -maxdepth 1 -name 'clue-*.json' -exec mv -t "$(spool "$unit")/in/" {} +
	rmdir "$stage"
}

# ---- the audit log ----

audit() { "$CLUEBUS_BIN/cluebus-audit" "$@"; }

# replay_json FILE: the broker's log as JSON lines (the broker may be running: LMDB readers
# do not block the writer).
replay_json() {
	audit replay "$D/data" --json >"$1"
}

# assert_exactly_once SENDER N RECIPIENT...: after a run of N clues "clue 1".."clue N" from
# SENDER's spool (the broker stopped), checks that
#   - the log holds exactly N clue messages from SENDER, with N distinct message ids and
#     the summaries "clue 1".."clue N" once each;
#   - SENDER's sent/ has the N documents and their N receipts, each naming the message id
#     and seq the log has; nothing is left in in/, pending/ or rejected/;
#   - every RECIPIENT's out/ has exactly N files, one per logged message, at its seq.
assert_exactly_once() {
	local sender=$1 n=$2
	shift 2
	replay_json "$TEST_DIR/replay.jsonl"
	"$PY" - "$TEST_DIR/replay.jsonl" "$D/spool" "$sender" "$n" "$@" <<'EOF'
import collections, json, os, sys
replay, spools, sender, n, recipients = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
entries = [json.loads(l) for l in open(replay)]
msgs = [e for e in entries if e["type"] == "message"]
assert all(m["kind"] == "clue" and m["sender"] == sender for m in msgs), "unexpected messages"
ids = [m["message_id"] for m in msgs]
dups = [i for i, c in collections.Counter(ids).items() if c > 1]
assert not dups, "message ids logged more than once: %s" % dups[:5]
assert len(msgs) == n, "log has %d messages, expected %d" % (len(msgs), n)
summaries = collections.Counter(m["body"]["clue"]["summary"] for m in msgs)
assert summaries == collections.Counter("clue %d" % i for i in range(1, n + 1)), \
    "summaries differ: missing %s, extra %s" % (
        sorted(set("clue %d" % i for i in range(1, n + 1)) - set(summaries))[:5],
        [s for s, c in summaries.items() if c > 1][:5])
seq_of = {m["message_id"]: m["seq"] for m in msgs}
for m in msgs:
    assert sorted(m["recipients"]) == sorted(recipients), m["recipients"]

sp = os.path.join(spools, sender)
for sub in ("in", "pending", "rejected"):
    left = [f for f in os.listdir(os.path.join(sp, sub)) if not f.startswith(".")]
    assert not left, "%s/%s/ is not empty: %s" % (sender, sub, left[:5])
sent = [f for f in os.listdir(os.path.join(sp, "sent")) if not f.startswith(".")]
docs = [f for f in sent if not f.endswith(".receipt.json")]
receipts = [json.load(open(os.path.join(sp, "sent", f))) for f in sent if f.endswith(".receipt.json")]
assert len(docs) == n and len(receipts) == n, (len(docs), len(receipts))
assert sorted(r["file"] for r in receipts) == sorted(docs)
assert {r["message_id"]: r["seq"] for r in receipts} == seq_of, "receipts differ from the log"

for unit in recipients:
    out = os.path.join(spools, unit, "out")
    files = [f for f in os.listdir(out) if not f.startswith(".")]
    got = {}
    for f in files:
        seq, kind, mid = f[:-len(".json")].split("-", 2)
        assert kind == "clue" and mid not in got, (unit, f)
        got[mid] = int(seq)
    assert len(files) == n, "%s's out/ has %d files, expected %d" % (unit, len(files), n)
    assert got == seq_of, "%s's out/ differs from the log" % unit
dup_receipts = sum(1 for r in receipts if r["duplicate"])
print("exactly once: %d messages, %d receipts (%d answered from the dedup index), "
      "%d files in each of %s" % (n, n, dup_receipts, n, ", ".join(recipients)))
EOF
}
