#!/usr/bin/env bash
# scripts/bench.sh — the benchmark (`make bench`): cluebus against its bound and against
# durable Debian peers, in one run on this machine (SPEC §11).
#
# The phases, in this order (everything under build/bench/run, made afresh each time):
#   1. build: the peers' Debian packages when missing (scripts/deps.sh --peer; not in
#      BENCH_QUICK), the previous run moved aside, bench/*.c built with the project's flags
#      and build/libcluebus.a;
#   2. deploy: a private cluebus (scripts/deploy.sh): broker.conf and the recipients'
#      agent.conf from config/*.example with every tuning knob at its default, the broker
#      on a free loopback TCP port;
#   3. machine-before: the machine's Ed25519 verifications/s on 1 and 2 threads with
#      OpenSSL EVP and with libsodium (as the broker verifies), and fdatasync of 4 KiB
#      (scripts/bench_machine.sh);
#   4. accept: the accept path alone (no recipient connected: deliveries wait in the
#      backlog): bench/loadgen publishes N signed 1 KiB clues from `health` (category
#      medical, jurisdiction 210302: routed to psb, ato, ato-210302) at maximum rate with
#      1,000 outstanding, then RATE/s for SECONDS s (publish->accepted latency);
#   4a. match: the cost of correlation on the accept path: three fresh logs, N clues at
#      maximum rate each, recipients offline: without blind tokens; with 3 tokens per clue
#      (BENCH_MATCH_TOKENS) none of which is shared (the index alone); with 3 tokens and a
#      shared one every 20th clue (a match notice each; docs/correlation.md); and the
#      rounds that merge the staging tier (from the broker's log: from the merge's start
#      to its commit);
#      BENCH_MATCH=0 skips it;
#   5. peers: right after, Redis 7 streams and RabbitMQ 3.10 (quorum, then classic queue),
#      an fsync before every acknowledgement, one client, 1 KiB, 1,000 outstanding
#      (scripts/bench_peers.sh);
#   6. online: the whole path: a fresh log, the three recipients' cluebus-agent processes
#      connected; N_ON clues at maximum rate, then RATE/s for SECONDS s, each time waiting
#      (inotify) for every file in the agents' out/ (publish->out/ latency); the agents and
#      the broker stopped with SIGTERM, each must exit 0;
#   7. scale: BENCH_SCALE clues into a fresh log with the recipients offline, the broker
#      killed (SIGKILL) and restarted (time from exec to ready), then psb's agent draining
#      its backlog while the broker's memory is read (SPEC §11: RSS < 64 MiB, restart < 1 s);
#   8. audit: cluebus-audit verify --json over the last log (the scale log, or the online
#      phases' with BENCH_SCALE=0), with signatures (signatures/s) and --chain-only (the
#      chain and the Merkle tree in one walk: entries/s);
#   9. machine-after: phase 3 again; the report keeps the better of the two verification
#      rates (the machine is shared: see docs/performance.md);
#  10. report: one markdown table with the ratios, then `raw:` lines
#      (scripts/bench_report.sh); exit 0.
# With BENCH_PROFILE=1 the profile (scripts/bench_profile.sh) follows phase 2 instead; with
# BENCH_PROFILE=match the profile of phase 4a's three runs.
#
# Environment:
#   CLUEBUS_BIN          the binaries (default bin/)
#   BENCH_QUICK=1        a smoke run: a few hundred messages, peers skipped (< 1 min)
#   BENCH_COUNT          N of the maximum-rate accept phase (default 20000)
#   BENCH_COUNT_ONLINE   N_ON of the maximum-rate phase with recipients (default 5000)
#   BENCH_RATE, BENCH_SECONDS   the fixed-rate phases (default 1000/s for 10 s)
#   BENCH_PEERS=0        skip the Redis and RabbitMQ peers (cluebus alone)
#   BENCH_MATCH=0        skip the correlation phase (4a)
#   BENCH_MATCH_TOKENS   blind tokens per clue in it (default 3)
#   BENCH_SEALED=1       sealing on: every clue's personal data sealed to the recipients
#                        (before timing, by loadgen), the broker checks each recipient
#                        set, and the recipients' agents open each seal into out/
#   BENCH_SCALE          clues of the scale phase (default 1000000; 0 skips it)
#   BENCH_BROKER_TUNING  lines added to broker.conf's broker group, to measure what a knob
#                        costs (e.g. "checkpoint_interval_ms = 86400000;": one checkpoint a
#                        day instead of one a second while entries arrive)
#   BENCH_AGENT_DIR      put the agents' spools and stores in a directory there (e.g.
#                        /dev/shm, where their flushes cost nothing): not durable, only to
#                        measure what the agents' own disk flushes cost
#   BENCH_PROFILE=1      instead of all that: the broker under valgrind's callgrind,
#                        BENCH_COUNT (2000) clues with recipients offline (profile part
#                        "accept"), then the agents drain them and BENCH_COUNT more clues
#                        go through with the agents online (the final part); annotated
#                        profiles in build/bench/callgrind.out*.{self,incl}.txt
#   BENCH_PROFILE=match  instead of all that: phase 4a's three runs (BENCH_COUNT clues each,
#                        default 6000: one merge of the staging tier) with the broker under
#                        callgrind: instructions per clue, which a busy machine does not
#                        disturb; annotated profiles in build/bench/match-*.incl.txt
#
# Every process it starts is recorded (scripts/procs.sh) and stopped on exit, also on
# failure. Timings are measured and printed, never asserted: the exit status says only
# whether the run itself worked.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
. scripts/deploy.sh
. scripts/bench_machine.sh
. scripts/bench_peers.sh
. scripts/bench_profile.sh
. scripts/bench_report.sh
CLUEBUS_BIN=$(cd "${CLUEBUS_BIN:-$REPO/bin}" && pwd)
OUT=$REPO/build/bench
RUN=$OUT/run
LOGS=$RUN/logs
D=$RUN/cluebus
QUICK=${BENCH_QUICK:-0}
PROFILE=${BENCH_PROFILE:-0}
SENDER=health
RECIPIENTS="psb ato ato-210302"
SEALED=${BENCH_SEALED:-0}
WINDOW=1000
SIZE=1024

SCALE_N=${BENCH_SCALE:-0}; SCALE_DRAIN_S=10
if [ "$QUICK" = 1 ]; then
	N=${BENCH_COUNT:-300}; N_ON=$N; RATE=${BENCH_RATE:-200}; SECS=${BENCH_SECONDS:-2}
	SCALE_N=${BENCH_SCALE:-500}; SCALE_DRAIN_S=1
	OUT_WAIT=30; VERIFY_SECS=0.3; PEERS=0
elif [ "$PROFILE" = 1 ]; then
	N=${BENCH_COUNT:-2000}; N_ON=$N; RATE=1; SECS=0; OUT_WAIT=0; VERIFY_SECS=0; PEERS=0
elif [ "$PROFILE" = match ]; then
	N=${BENCH_COUNT:-6000}; N_ON=$N; RATE=1; SECS=0; OUT_WAIT=0; VERIFY_SECS=0; PEERS=0
else
	N=${BENCH_COUNT:-20000}; N_ON=${BENCH_COUNT_ONLINE:-5000}
	RATE=${BENCH_RATE:-1000}; SECS=${BENCH_SECONDS:-10}
	OUT_WAIT=90; VERIFY_SECS=1; PEERS=${BENCH_PEERS:-1}; SCALE_N=${BENCH_SCALE:-1000000}
fi
N_FIXED=$((RATE * SECS))

say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# field LINE KEY: the value of KEY=VALUE in a result line.
field() {
	local kv
	for kv in $1; do
		[ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }
	done
	echo "-"
}

for b in cluebus-broker cluebus-agent cluebus-keygen; do
	[ -x "$CLUEBUS_BIN/$b" ] || die "$CLUEBUS_BIN/$b is missing; run make first"
done
[ -f "$DEPLOY_UNITS_FILE" ] ||
    die "$DEPLOY_UNITS_FILE not found (shared/ must be beside the repo)"
[ -f build/libcluebus.a ] || die "build/libcluebus.a is missing; run make first"

cleanup() {
	local rc=$?
	trap - EXIT
	proc_cleanup 10
	peers_cleanup
	[ -z "${DEPLOY_AGENT_DIR:-}" ] || rm -rf "$DEPLOY_AGENT_DIR"
	[ "$rc" -eq 0 ] || echo "bench: failed (status $rc); logs in $LOGS" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the cluebus daemons (scripts/deploy.sh, scripts/procs.sh) ----

# bench_start_broker [fresh] [WRAPPER...]: starts the broker and waits for it; "fresh"
# first removes its data directory, so the log starts empty again. Sets BROKER_PID.
BROKER_PID=
bench_start_broker() {
	[ "${1:-}" != fresh ] || rm -rf "$D/data"
	shift || true
	say "starting the broker on $DEPLOY_ENDPOINT"
	deploy_start_broker 120 "$@" || die "the broker did not start"
	BROKER_PID=$(proc_pid broker)
}

bench_start_agents() {
	local u
	for u in $RECIPIENTS; do
		deploy_start_agent "$u"
	done
	deploy_await_connected 60 $RECIPIENTS || die "an agent did not connect"
}

# bench_stop NAME: SIGTERM; the process must exit 0.
bench_stop() {
	proc_stop "$1" 30 || die "$1 exited badly after SIGTERM (see $LOGS)"
}

# all_out N: every recipient's out/ holds N messages or more.
all_out() {
	local u
	for u in $RECIPIENTS; do
		files_at_least "$D/spool/$u/out" '*.json' "$1" || return 1
	done
}

# loadgen LABEL ARG...: one run of bench/loadgen from SENDER against the running broker;
# per-message latencies go to logs/latency-LABEL.tsv.
loadgen() {
	local label=$1
	shift
	local seal=()
	[ "$SEALED" = 1 ] && seal=(--seal-to "${RECIPIENTS// /,}")
	"$OUT/loadgen" --endpoint "$DEPLOY_ENDPOINT" --keys "$D/keys" --unit "$SENDER" \
	    --category medical --jurisdiction 210302 --window "$WINDOW" --size "$SIZE" \
	    --broker-pid "$BROKER_PID" --label "$label" --dump "$LOGS/latency-$label.tsv" \
	    "${seal[@]}" "$@" 2>>"$LOGS/loadgen.log"
}

# ---- 1. build ----

CFLAGS_BENCH="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror
    -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
    -Ibuild -Iinclude -Ilib"
# build_tool NAME [LINK_ARG...]: bench/NAME.c into OUT/NAME.
# shellcheck disable=SC2046,SC2086
build_tool() {
	local name=$1
	shift
	${CC:-cc} $CFLAGS_BENCH "bench/$name.c" build/libcluebus.a \
	    $(pkg-config --cflags --libs libzmq libprotobuf-c lmdb libcrypto jansson libconfig \
	    libsodium) "$@" -lpthread -o "$OUT/$name"
}

# The previous run is moved aside, not deleted: on ext4 without a journal, creating a file
# checks every inode freed near it in the last minutes (fs/ext4/ialloc.c, recently_deleted),
# and the agents create one file per message, so a run started right after deleting the
# last one's out/ files would measure that, not cluebus (docs/performance.md). Its LMDB
# files go now (one inode each); the small files stay in build/bench/old/ until
# `make clean`.
phase_build() {
	local old_run old_kb
	[ "$PEERS" = 1 ] && peers_install
	if [ -d "$RUN" ]; then
		mkdir -p "$OUT/old"
		old_run=$OUT/old/run.$(date +%Y%m%dT%H%M%S).$$
		mv "$RUN" "$old_run"
		find "$old_run" -name '*.mdb' -delete
		say "moved the previous run to $old_run"
		# du may race with someone removing old runs: a note, never a failure.
		old_kb=$( (du -sk "$OUT/old" 2>/dev/null || true) | cut -f1)
		[ "${old_kb:-0}" -lt $((2 * 1024 * 1024)) ] || say "note: $OUT/old holds" \
		    "$((old_kb / 1024 / 1024)) GiB of earlier runs; remove it (make clean) minutes" \
		    "before a run, not right before one"
	fi
	mkdir -p "$RUN" "$LOGS"
	proc_init "$RUN/pids"
	say "building bench tools"
	build_tool loadgen
	build_tool verifyrate
	[ "$PEERS" = 1 ] && peers_build
	return 0
}

# ---- 2. deploy ----

OUTS=()
phase_deploy() {
	local u
	DEPLOY_DIR=$D
	DEPLOY_BIN=$CLUEBUS_BIN
	DEPLOY_LOGS=$LOGS
	if [ -n "${BENCH_AGENT_DIR:-}" ]; then
		DEPLOY_AGENT_DIR=$BENCH_AGENT_DIR/cluebus-bench.$$
		rm -rf "$DEPLOY_AGENT_DIR"
	fi
	deploy_init "$(deploy_endpoint tcp)" "${BENCH_BROKER_TUNING:-}" || die "deploy failed"
	if [ "$SEALED" = 1 ]; then
		"$OUT/loadgen" --keys "$D/keys" --make-seal-keys "${RECIPIENTS// /,}" ||
		    die "cannot make the recipients' sealing keys"
	fi
	for u in $RECIPIENTS; do
		if [ "$SEALED" = 1 ]; then
			deploy_agent "$u" "seal_key = \"keys/$u.seal\";" ||
			    die "deploy of the agent of $u failed"
		else
			# Recipients that open nothing: the clues come unsealed (loadgen).
			deploy_agent "$u" "!seal_key" || die "deploy of the agent of $u failed"
		fi
		OUTS+=(--out "$D/spool/$u/out")
	done
}

# ---- 3. machine-before (and 9. machine-after) ----

phase_machine_before() {
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	if awk -v l="${LOAD0%% *}" 'BEGIN { exit !(l > 1.0) }'; then
		say "warning: load average $LOAD0 at the start: if other work is running, numbers" \
		    "will be low"
	fi
	machine_disk_init
	say "Ed25519 verification rate before the run (OpenSSL EVP; libsodium, as the broker)"
	V_BEFORE=$(machine_verify_rates)
	FSYNC_BEFORE=$(machine_fsync_ms)
}

phase_machine_after() {
	say "Ed25519 verification rate after the run"
	V_AFTER=$(machine_verify_rates)
	FSYNC_AFTER=$(machine_fsync_ms)
}

# ---- 4. accept: no recipient connected, deliveries wait in the backlog ----

phase_accept() {
	local disk0
	bench_start_broker
	say "phase accept-max: $N clues at maximum rate, recipients offline"
	R_OFF=$(loadgen accept-max --count "$N" --rate max)
	say "$R_OFF"
	say "phase accept-fixed: $RATE clues/s for ${SECS}s, recipients offline"
	disk0=$(machine_disk_mark)
	R_FIXOFF=$(loadgen accept-fixed --count "$N_FIXED" --rate "$RATE")
	DISK_OFF=$(machine_disk_rate "$disk0" "$(machine_disk_mark)")
	say "$R_FIXOFF"
	bench_stop broker
	ACCEPT_DB_MB=$(du -m "$D/data" | tail -1 | cut -f1)
}

# ---- 4a. match: the accept path with and without blind tokens, each on a fresh log ----

MATCH=${BENCH_MATCH:-1}
MATCH_TOKENS=${BENCH_MATCH_TOKENS:-3}
MATCH_EVERY=20
R_MATCH0=
R_MATCH_INDEX=
R_MATCH=
MATCH_MERGES=
MATCH_MERGES_INDEX=
# match_merges FROM: "K merges in R rounds; the slowest round M ms (puts P ms)" from the
# merge lines of the broker's log from line FROM on: each merge of the staging tier is
# spread over rounds, and a round's time counts from its first put to its commit.
match_merges() {
	local re='.*merged into their lists in \([0-9]*\) rounds*.*slowest: \([0-9]*\) ms'
	re="$re"'.*, \([0-9]*\) ms of puts.*'
	tail -n +"$1" "$LOGS/broker.log" | sed -n "s/$re/\\1 \\2 \\3/p" |
	    awk '{ n++; r += $1; if ($2 > m) m = $2; if ($3 > p) p = $3 }
		END { if (n == 0) print "none"; else
			printf "%d merges in %d rounds; the slowest round %d ms (puts %d ms)",
			    n, r, m, p }'
}
phase_match() {
	local from
	[ "$MATCH" = 1 ] || return 0
	bench_start_broker fresh
	say "phase match-none: $N clues at maximum rate without tokens (fresh log)"
	R_MATCH0=$(loadgen match-none --count "$N" --rate max)
	say "$R_MATCH0"
	bench_stop broker
	from=$(($(wc -l <"$LOGS/broker.log") + 1))
	bench_start_broker fresh
	say "phase match-index: $N clues at maximum rate, $MATCH_TOKENS tokens each, none shared" \
	    "(fresh log)"
	R_MATCH_INDEX=$(loadgen match-index --count "$N" --rate max --tokens "$MATCH_TOKENS")
	say "$R_MATCH_INDEX"
	bench_stop broker
	MATCH_MERGES_INDEX=$(match_merges "$from")
	from=$(($(wc -l <"$LOGS/broker.log") + 1))
	bench_start_broker fresh
	say "phase match-tokens: $N clues at maximum rate, $MATCH_TOKENS tokens each, one" \
	    "shared every $MATCH_EVERY (fresh log)"
	R_MATCH=$(loadgen match-tokens --count "$N" --rate max --tokens "$MATCH_TOKENS" \
	    --match-every "$MATCH_EVERY")
	say "$R_MATCH"
	bench_stop broker
	MATCH_NOTICES=$(tail -n +"$from" "$LOGS/broker.log" | grep -c 'match: clue' || true)
	MATCH_MERGES=$(match_merges "$from")
	say "merges of the staging tier: index run $MATCH_MERGES_INDEX; tokens run $MATCH_MERGES"
	rm -rf "$D/data"
}

# ---- 5. peers: right after the accept path (the machine is shared: keep them close) ----

phase_peers() {
	[ "$PEERS" = 1 ] && peers_run
	return 0
}

# ---- 6. online: a fresh log, the three recipients' agents connected ----

phase_online() {
	local disk0 u stopping_line
	bench_start_broker fresh
	bench_start_agents
	say "phase online-max: $N_ON clues at maximum rate, recipients online"
	R_ON=$(loadgen online-max --count "$N_ON" --rate max --out-timeout-s 180 \
	    "${OUTS[@]}") || true
	say "$R_ON"
	say "phase online-fixed: $RATE clues/s for ${SECS}s, recipients online"
	disk0=$(machine_disk_mark)
	R_FIX=$(loadgen online-fixed --count "$N_FIXED" --rate "$RATE" \
	    --out-timeout-s "$OUT_WAIT" "${OUTS[@]}") || true
	DISK_ON=$(machine_disk_rate "$disk0" "$(machine_disk_mark)")
	say "$R_FIX"
	# The agents' own cost: CPU (and kernel share) per message written to out/, averaged.
	AGENT_CPU=$(for u in $RECIPIENTS; do
		stat=$(cat "/proc/$(proc_pid "agent-$u")/stat"); stat=${stat##*) }; echo "$stat"
	done | awk -v n="$((N_ON + N_FIXED))" -v tck="$(getconf CLK_TCK)" '
		{ u += $12; s += $13; k++ }
		END { printf "%.0f (%.0f)", (u + s) * 1e6 / tck / (n * k), s * 1e6 / tck / (n * k) }')
	HWM_KB=$(awk '/^VmHWM/ {print $2}' "/proc/$BROKER_PID/status")
	ANON_KB=$(awk '/^RssAnon/ {print $2}' "/proc/$BROKER_PID/status")
	for u in $RECIPIENTS; do bench_stop "agent-$u"; done
	bench_stop broker
	stopping_line=$(grep 'cluebus-broker: stopping:' "$LOGS/broker.log" | tail -1)
	COMMITS=$(echo "$stopping_line" | grep -o 'commits [0-9]*' | awk '{print $2}')
	ACKED=$(echo "$stopping_line" | grep -o 'acked [0-9]*' | awk '{print $2}')
	ACCEPTED=$(echo "$stopping_line" | grep -o 'accepted [0-9]*' | awk '{print $2}')
	DB_MB=$(du -m "$D/data" | tail -1 | cut -f1)
}

# ---- 7. scale: a long log, a kill -9 and a restart, one unit catching up ----
# SCALE_N clues into a fresh log with the recipients offline (so each of the three keeps a
# SCALE_N backlog: more than SPEC §11's 100,000 for one unit), the broker killed with
# SIGKILL, the time from exec to "started" of the next broker, then psb's agent draining
# its backlog for SCALE_DRAIN_S seconds while the broker's memory is read.

SCALE_RSS="-"; SCALE_ANON="-"; SCALE_RESTART_MS="-"; SCALE_ENTRIES="-"; SCALE_DB_MB="-"
SCALE_RATE="-"; SCALE_DRAINED="-"; SCALE_FILL_HWM="-"
phase_scale() {
	local n t0 t1
	[ "$SCALE_N" -gt 0 ] || return 0
	bench_start_broker fresh
	say "phase scale: $SCALE_N clues into a fresh log, recipients offline"
	R_SCALE=$(loadgen scale-fill --count "$SCALE_N" --rate max) || die "scale fill failed"
	SCALE_RATE=$(field "$R_SCALE" rate)
	SCALE_FILL_HWM=$(field "$R_SCALE" hwm_kb)
	say "$R_SCALE"
	proc_kill9 broker
	SCALE_DB_MB=$(du -m "$D/data" | tail -1 | cut -f1)
	# Polled every 5 ms rather than through proc_await: the restart time is the figure.
	n=$(proc_log_count "$LOGS/broker.log" "$DEPLOY_BROKER_READY")
	t0=$(date +%s%N)
	proc_start broker "$LOGS/broker.log" "$CLUEBUS_BIN/cluebus-broker" -c "$D/broker.conf"
	until [ "$(grep -c "$DEPLOY_BROKER_READY" "$LOGS/broker.log")" -gt "$n" ]; do
		proc_running broker || die "the broker did not restart (see $LOGS)"
		sleep 0.005
	done
	t1=$(date +%s%N)
	BROKER_PID=$(proc_pid broker)
	SCALE_RESTART_MS=$(( (t1 - t0) / 1000000 ))
	SCALE_ENTRIES=$(grep "$DEPLOY_BROKER_READY" "$LOGS/broker.log" | tail -1 |
	    grep -o 'log head [0-9]*' | awk '{print $3}')
	say "scale: restart after kill -9 with $SCALE_ENTRIES entries: $SCALE_RESTART_MS ms"
	rm -rf "$D/spool/psb/out" "$D/state/psb"
	mkdir -p "$D/spool/psb/out"
	deploy_start_agent psb
	sleep "$SCALE_DRAIN_S"
	SCALE_RSS=$(awk '/^VmHWM/ {print $2}' "/proc/$BROKER_PID/status")
	SCALE_ANON=$(awk '/^RssAnon/ {print $2}' "/proc/$BROKER_PID/status")
	SCALE_DRAINED=$(count_files "$D/spool/psb/out" '*.json')
	bench_stop agent-psb
	bench_stop broker
	say "scale: broker VmHWM $SCALE_RSS kB, RssAnon $SCALE_ANON kB; psb drained $SCALE_DRAINED"
}

# ---- 8. audit: the auditor's side (SPEC §11) over the last log ----

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# audit_field JSON NAME: a top-level number of `verify --json`, or a check's count.
audit_field() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
c = {x["check"]: x["count"] for x in d["checks"]}
print(d[sys.argv[2]] if sys.argv[2] in d else c[sys.argv[2]])' "$1" "$2"
}
phase_audit() {
	local t0 t1 t2 full chain
	t0=$(date +%s.%N)
	full=$("$CLUEBUS_BIN/cluebus-audit" verify "$D/data" --json) ||
	    die "cluebus-audit verify failed on the bench's log: $full"
	t1=$(date +%s.%N)
	chain=$("$CLUEBUS_BIN/cluebus-audit" verify "$D/data" --chain-only --json) ||
	    die "cluebus-audit verify --chain-only failed on the bench's log: $chain"
	t2=$(date +%s.%N)
	AUDIT_ENTRIES=$(audit_field "$full" entries)
	AUDIT_SIGS=$(audit_field "$full" signatures)
	AUDIT_TREE_NODES=$(audit_field "$chain" tree)
	AUDIT_SIG_RATE=$(awk -v n="$AUDIT_SIGS" -v t="$(elapsed "$t0" "$t1")" \
	    'BEGIN { printf "%.0f", n / t }')
	AUDIT_CHAIN_RATE=$(awk -v n="$AUDIT_ENTRIES" -v t="$(elapsed "$t1" "$t2")" \
	    'BEGIN { printf "%.0f", n / t }')
	say "audit: $AUDIT_ENTRIES entries, $AUDIT_SIGS signatures in $(elapsed "$t0" "$t1") s;" \
	    "chain and tree only ($AUDIT_TREE_NODES stored nodes compared) in" \
	    "$(elapsed "$t1" "$t2") s"
}

# ---- the run ----

phase_build
phase_deploy
if [ "$PROFILE" = 1 ]; then
	profile_run
	exit 0
fi
if [ "$PROFILE" = match ]; then
	profile_match_run
	exit 0
fi
phase_machine_before
phase_accept
phase_match
phase_peers
phase_online
phase_scale
phase_audit
phase_machine_after
report_print
exit 0
