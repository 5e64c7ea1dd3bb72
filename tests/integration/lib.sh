# tests/integration/lib.sh — shared functions of the integration tests (sourced, bash).
#
# A test sources this file, calls `deploy`, starts the broker and the agents it needs,
# drops documents into spool directories and asserts on what comes out. The deployment is
# scripts/deploy.sh's and the daemons are scripts/procs.sh's; this file adds the test's
# rules. Everything lives under $TEST_DIR (run.sh makes one per test; a test run on its
# own makes its own):
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
. "$REPO/scripts/deploy.sh"
CLUEBUS_BIN=${CLUEBUS_BIN:-$REPO/bin}
CLUEBUS_TEST_TOOLS=${CLUEBUS_TEST_TOOLS:-$REPO/build/tests/tools}
PY=$PYTHON

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
DEPLOY_DIR=$D
DEPLOY_LOGS=$LOGS
DEPLOY_BIN=$CLUEBUS_BIN
mkdir -p "$D" "$LOGS"
proc_init "$PIDDIR"

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

_daemons_ok_and() {
	proc_dead || die "a daemon died"
	"$@"
}

# wait_for SECONDS DESCRIPTION COMMAND [ARG...]: polls COMMAND every 0.1 s until it
# succeeds; fails (returns 1, which ends a `set -e` test) after SECONDS, or at once when a
# daemon died meanwhile.
wait_for() {
	local secs=$1 what=$2
	shift 2
	poll_until "$secs" _daemons_ok_and "$@" && return 0
	echo "TIMEOUT after ${secs}s waiting for: $what" >&2
	return 1
}

# log_count FILE PATTERN: lines of FILE matching PATTERN (0 when FILE is missing).
log_count() { proc_log_count "$@"; }

log_count_gt() {
	[ "$(log_count "$1" "$2")" -gt "$3" ]
}

# ---- processes (scripts/procs.sh; names "broker", "agent-UNIT" and the test's own) ----

running() { proc_running "$1"; }

# stop NAME: SIGTERM, bounded wait, and the exit status must be 0.
stop() { proc_stop "$1" 30 || die "stop $1 failed (see its log)"; }

kill9() { proc_kill9 "$1"; }

start_broker() {
	deploy_start_broker 60 || die "the broker did not start"
}

stop_broker() { stop broker; }
kill9_broker() { kill9 broker; }

# start_agent UNIT: starts the agent and waits until it runs (not until it is connected:
# see wait_connected).
start_agent() {
	deploy_start_agent "$1" 60 || die "the agent of $1 did not start"
}

# wait_connected UNIT...: each agent has been welcomed by the broker since it started.
wait_connected() {
	deploy_await_connected 60 "$@" || die "an agent did not connect"
}

# start_all UNIT...: the broker, then UNIT's agents, each welcomed by the broker.
start_all() {
	local unit
	start_broker
	for unit in "$@"; do
		start_agent "$unit"
	done
	wait_connected "$@"
}

stop_agent() { stop "agent-$1"; }
kill9_agent() { kill9 "agent-$1"; }

# stop_all: stops every recorded daemon with SIGTERM; fails if one of them fails to.
stop_all() {
	proc_stop_all 30 || die "a daemon did not exit 0 on SIGTERM (see the logs)"
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
	local rc=$? f
	trap - EXIT
	proc_cleanup 10
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

# ---- deployment (scripts/deploy.sh) ----

# deploy [ipc|tcp]: keys, registry.json and broker.conf (the shipped example, with its
# routing table, and this deployment's endpoint) under $D. BROKER_TUNING, when set, is
# added to the broker group (e.g. "redeliver_ms = 2000;").
deploy() {
	ENDPOINT=$(deploy_endpoint "${1:-ipc}") || die "deploy: unknown transport $1"
	deploy_init "$ENDPOINT" "${BROKER_TUNING:-}" || die "deploy failed"
}

# agent_conf UNIT [TUNING]: $D/UNIT.agent.conf from the shipped example; TUNING is added
# to the agent group (e.g. "resign_after_ms = 1000;").
agent_conf() {
	deploy_agent "$1" "${2:-}" || die "agent_conf $1 failed"
}

spool() { deploy_spool "$1"; }

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
# The replay prints no free text (summaries are personal data): the summaries are those of
# the documents the receipts name.
summaries = collections.Counter(json.load(open(os.path.join(sp, "sent", r["file"])))["clue"]["summary"]
                                for r in receipts)
assert summaries == collections.Counter("clue %d" % i for i in range(1, n + 1)), \
    "summaries differ: missing %s, extra %s" % (
        sorted(set("clue %d" % i for i in range(1, n + 1)) - set(summaries))[:5],
        [s for s, c in summaries.items() if c > 1][:5])

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

# ---- a stream's end ----
#
# These functions set variables rather than print only: run in $(...), a subshell could not
# wait for (or stop) the daemons this shell started.

# drain SENDER N SECONDS RECIPIENT...: N receipts in SENDER's sent/ and N files in each
# RECIPIENT's out/ within SECONDS, then a short grace period in which a duplicate could
# still land; sets DRAIN_SECS to how long the files took.
drain() {
	local sender=$1 n=$2 secs=$3 start=$SECONDS unit
	shift 3
	wait_for "$secs" "$n receipts at $sender" files_at_least "$(spool "$sender")/sent" \
	    '*.receipt.json' "$n"
	for unit in "$@"; do
		wait_for "$secs" "$n messages in $unit's out/" files_at_least "$(spool "$unit")/out" \
		    '*.json' "$n"
	done
	DRAIN_SECS=$((SECONDS - start))
	sleep 0.5
}

# end_stream SENDER N RECIPIENT...: after drain: the broker stopped, assert_exactly_once
# and cluebus-audit verify; prints both and sets ONCE and VERIFY to their lines.
end_stream() {
	local sender=$1 n=$2
	shift 2
	stop_broker
	ONCE=$(assert_exactly_once "$sender" "$n" "$@")
	echo "$ONCE"
	VERIFY=$(audit verify "$D/data")
	echo "$VERIFY"
}
