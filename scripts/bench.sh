#!/usr/bin/env bash
# scripts/bench.sh — issue 6's benchmark (`make bench`): cluebus against its bound and
# against durable Debian peers, in one run on this machine (SPEC §11).
#
# What it does, in order (everything under build/bench/run, made afresh each time):
#   1. installs the peers' Debian packages when missing (not in BENCH_QUICK) and builds
#      bench/*.c with the project's flags and build/libcluebus.a;
#   2. bench/verifyrate: the machine's Ed25519 verifications/s on 1 and 2 threads, with
#      OpenSSL EVP and with libsodium (as the broker verifies); measured again at the end,
#      and the better of the two kept (the machine is shared: see docs/performance.md);
#   3. deploys a private cluebus: keys (cluebus-keygen units), registry, broker.conf from
#      config/broker.conf.example (every tuning knob at its default: batch_max 256,
#      window 128 ...), one agent.conf per recipient from config/agent.conf.example
#      (defaults too), a broker on a free loopback TCP port;
#   4. accept path alone (no recipient connected: deliveries wait in the backlog):
#      bench/loadgen publishes N signed 1 KiB clues from `health` (category medical,
#      jurisdiction 210302: routed to psb, ato, ato-210302) at maximum rate with 1,000
#      outstanding, then RATE/s for SECONDS s (publish->accepted latency);
#   5. right after, the peers, with an fsync before every acknowledgement, one client,
#      1 KiB, 1,000 outstanding: Redis 7 streams (XADD; appendonly yes, appendfsync
#      always) driven by bench/redisload (hiredis), RabbitMQ 3.10 (durable quorum queue,
#      then durable classic queue; persistent messages, publisher confirms) driven by
#      bench/amqpload (librabbitmq), each on a private port and directory;
#   6. the whole path: a fresh log, the three recipients' cluebus-agent processes
#      connected; N_ON clues at maximum rate, then RATE/s for SECONDS s, each time waiting
#      (inotify) for every file in the agents' out/ (publish->out/ latency); then stops
#      the agents and the broker (SIGTERM; each must exit 0);
#   6b. scale (BENCH_SCALE clues, default 1,000,000): a fresh log filled at maximum rate
#      with the recipients offline, the broker killed (SIGKILL) and restarted (time from
#      exec to ready), then psb's agent draining its backlog while the broker's memory is
#      read (SPEC §11: RSS < 64 MiB, restart < 1 s); then times cluebus-audit verify over
#      the last log (the scale log, or the online phases' with BENCH_SCALE=0), with
#      signatures and --chain-only;
#   7. prints one markdown table with the ratios, and exits 0.
#
# Environment:
#   CLUEBUS_BIN          the binaries (default bin/)
#   BENCH_QUICK=1        a smoke run: a few hundred messages, peers skipped (< 1 min)
#   BENCH_COUNT          N of the maximum-rate accept phase (default 20000)
#   BENCH_COUNT_ONLINE   N_ON of the maximum-rate phase with recipients (default 5000)
#   BENCH_RATE, BENCH_SECONDS   the fixed-rate phases (default 1000/s for 10 s)
#   BENCH_PEERS=0        skip the Redis and RabbitMQ peers (cluebus alone)
#   BENCH_SCALE          clues of the scale phase (default 1000000; 0 skips it)
#   BENCH_AGENT_DIR      put the agents' spools and stores in a directory there (e.g.
#                        /dev/shm, where their flushes cost nothing): not durable, only to
#                        measure what the agents' own disk flushes cost
#   BENCH_PROFILE=1      instead of all that: the broker under valgrind's callgrind,
#                        BENCH_COUNT (2000) clues with recipients offline (profile part
#                        "accept"), then the agents drain them and BENCH_COUNT more clues
#                        go through with the agents online (the final part); annotated
#                        profiles in build/bench/callgrind.out*.{self,incl}.txt
#
# Every process it starts is recorded and stopped on exit (trap EXIT), also on failure.
# Timings are measured and printed, never asserted: the exit status says only whether the
# run itself worked.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/common.sh"
cd "$REPO"
CLUEBUS_BIN=$(cd "${CLUEBUS_BIN:-$REPO/bin}" && pwd)
UNITS_FILE=$REPO/../shared/units.sample.json
OUT=$REPO/build/bench
RUN=$OUT/run
LOGS=$RUN/logs
QUICK=${BENCH_QUICK:-0}
PROFILE=${BENCH_PROFILE:-0}
SENDER=health
RECIPIENTS="psb ato ato-210302"
WINDOW=1000
SIZE=1024

SCALE_N=${BENCH_SCALE:-0}; SCALE_DRAIN_S=10
if [ "$QUICK" = 1 ]; then
	N=${BENCH_COUNT:-300}; N_ON=$N; RATE=${BENCH_RATE:-200}; SECS=${BENCH_SECONDS:-2}
	SCALE_N=${BENCH_SCALE:-500}; SCALE_DRAIN_S=1
	OUT_WAIT=30; VERIFY_SECS=0.3; PEERS=0
elif [ "$PROFILE" = 1 ]; then
	N=${BENCH_COUNT:-2000}; N_ON=$N; RATE=1; SECS=0; OUT_WAIT=0; VERIFY_SECS=0; PEERS=0
else
	N=${BENCH_COUNT:-20000}; N_ON=${BENCH_COUNT_ONLINE:-5000}
	RATE=${BENCH_RATE:-1000}; SECS=${BENCH_SECONDS:-10}
	OUT_WAIT=90; VERIFY_SECS=1; PEERS=${BENCH_PEERS:-1}; SCALE_N=${BENCH_SCALE:-1000000}
fi
N_FIXED=$((RATE * SECS))

say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

for b in cluebus-broker cluebus-agent cluebus-keygen; do
	[ -x "$CLUEBUS_BIN/$b" ] || die "$CLUEBUS_BIN/$b is missing; run make first"
done
[ -f "$UNITS_FILE" ] || die "$UNITS_FILE not found (shared/ must be beside the repo)"
[ -f build/libcluebus.a ] || die "build/libcluebus.a is missing; run make first"

# ---- processes: every one recorded, all stopped on exit ----

PIDS=()		# "name:pid"
EPMD_PORT=

_alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ -n "$stat" ] && [ "${stat:0:1}" != Z ]
}

# stop_pid PID [SECONDS]: SIGTERM, a bounded wait, then SIGKILL. Returns the exit status
# when the process is our child (0 otherwise).
stop_pid() {
	local pid=$1 secs=${2:-20} i rc=0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		_alive "$pid" || break
		sleep 0.1
	done
	if _alive "$pid"; then
		say "pid $pid did not exit within ${secs}s of SIGTERM: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

forget_pid() {
	local keep=() e
	for e in "${PIDS[@]}"; do
		[ "${e#*:}" = "$1" ] || keep+=("$e")
	done
	PIDS=("${keep[@]}")
}

cleanup() {
	local rc=$? e i
	trap - EXIT
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		e=${PIDS[i]}
		stop_pid "${e#*:}" 10 || true
	done
	if [ -n "$EPMD_PORT" ]; then
		epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
	fi
	[ -z "${AGENT_DIR:-}" ] || rm -rf "$AGENT_DIR"
	[ "$rc" -eq 0 ] || echo "bench: failed (status $rc); logs in $LOGS" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME LOG COMMAND...: starts a process in the background and records it.
start() {
	local name=$1 log=$2
	shift 2
	"$@" >>"$log" 2>&1 &
	PIDS+=("$name:$!")
	eval "PID_${name//-/_}=$!"
}

pid_of() { local v="PID_${1//-/_}"; echo "${!v}"; }

# stop NAME: SIGTERM; the process must exit 0.
stop() {
	local pid rc=0
	pid=$(pid_of "$1")
	stop_pid "$pid" 30 || rc=$?
	forget_pid "$pid"
	[ "$rc" -eq 0 ] || die "$1 exited with status $rc after SIGTERM (see $LOGS)"
}

wait_for() {
	local secs=$1 what=$2
	shift 2
	poll_until "$secs" "$@" || die "gave up after ${secs}s waiting for $what"
}

# field LINE KEY: the value of KEY=VALUE in a result line.
field() {
	local kv
	for kv in $1; do
		[ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }
	done
	echo "-"
}

# ---- 1. packages and build ----

install_missing() {
	local p missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing:$missing"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# A peer that cannot be installed or built is skipped with its reason, never fatal.
REDIS_NOTE=""; RABBIT_NOTE=""
if [ "$PEERS" = 1 ]; then
	install_missing redis-server redis-tools libhiredis-dev ||
	    REDIS_NOTE="apt-get could not install redis-server redis-tools libhiredis-dev"
	install_missing rabbitmq-server librabbitmq-dev ||
	    RABBIT_NOTE="apt-get could not install rabbitmq-server librabbitmq-dev"
fi

# The previous run is moved aside, not deleted: this machine's root file system is ext4
# without a journal, and there creating a file checks every inode freed in the last five
# minutes near it (fs/ext4/ialloc.c, recently_deleted). Measured: right after deleting
# 50,000 files a create cost 449 us instead of 16 us, and still 120 us a minute later;
# the agents create one file per message, so a run started after deleting the last one's
# 45,000 out/ files measured that, not cluebus. Its LMDB files go now (one inode each);
# the small files stay in build/bench/old/ until `make clean`.
if [ -d "$RUN" ]; then
	mkdir -p "$OUT/old"
	OLD_RUN=$OUT/old/run.$(date +%Y%m%dT%H%M%S).$$
	mv "$RUN" "$OLD_RUN"
	find "$OLD_RUN" -name '*.mdb' -delete
	say "moved the previous run to $OLD_RUN"
	# (du may race with someone removing old runs: a note, never a failure)
	OLD_KB=$( (du -sk "$OUT/old" 2>/dev/null || true) | cut -f1)
	[ "${OLD_KB:-0}" -lt $((2 * 1024 * 1024)) ] || say "note: $OUT/old holds" \
	    "$((OLD_KB / 1024 / 1024)) GiB of earlier runs; remove it (make clean) minutes before" \
	    "a run, not right before one"
fi
mkdir -p "$RUN" "$LOGS"

CFLAGS_BENCH="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror
    -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
    -Ibuild -Iinclude -Ilib"
# shellcheck disable=SC2046,SC2086
build_tool() {
	local name=$1
	shift
	${CC:-cc} $CFLAGS_BENCH "bench/$name.c" build/libcluebus.a \
	    $(pkg-config --cflags --libs libzmq libprotobuf-c lmdb libcrypto jansson libconfig \
	    libsodium) "$@" -lpthread -o "$OUT/$name"
}
say "building bench tools"
build_tool loadgen
build_tool verifyrate
if [ "$PEERS" = 1 ] && [ -z "$REDIS_NOTE" ]; then
	# shellcheck disable=SC2046
	pkg-config --exists hiredis && build_tool redisload $(pkg-config --cflags --libs hiredis) ||
	    REDIS_NOTE="cannot build bench/redisload against hiredis"
fi
if [ "$PEERS" = 1 ] && [ -z "$RABBIT_NOTE" ]; then
	# shellcheck disable=SC2046
	pkg-config --exists librabbitmq &&
	    build_tool amqpload $(pkg-config --cflags --libs librabbitmq) ||
	    RABBIT_NOTE="cannot build bench/amqpload against librabbitmq"
fi

# ---- 2. a private cluebus deployment ----

D=$RUN/cluebus
mkdir -p "$D"
PORT=$(free_port)
ENDPOINT="tcp://127.0.0.1:$PORT"
"$CLUEBUS_BIN/cluebus-keygen" units "$UNITS_FILE" "$D/keys" >/dev/null
"$CLUEBUS_BIN/cluebus-keygen" registry "$UNITS_FILE" "$D/keys" >"$D/registry.json"
sed -e "s#tcp://127.0.0.1:7700#$ENDPOINT#" config/broker.conf.example >"$D/broker.conf"
chmod 600 "$D/broker.conf"
"$CLUEBUS_BIN/cluebus-broker" --check -c "$D/broker.conf" >/dev/null
if [ -n "${BENCH_AGENT_DIR:-}" ]; then
	# The agents' spools and stores elsewhere (e.g. /dev/shm: flushes cost nothing there),
	# to tell what their own disk flushes cost the whole path.
	AGENT_DIR=$BENCH_AGENT_DIR/cluebus-bench.$$
	rm -rf "$AGENT_DIR"
	mkdir -p "$AGENT_DIR/spool" "$AGENT_DIR/state"
	ln -sfn "$AGENT_DIR/spool" "$D/spool"
	ln -sfn "$AGENT_DIR/state" "$D/state"
fi
for u in $RECIPIENTS; do
	sed -e "s#tcp://127.0.0.1:7700#$ENDPOINT#" -e "s#health#$u#g" \
	    config/agent.conf.example >"$D/$u.agent.conf"
	chmod 600 "$D/$u.agent.conf"
	"$CLUEBUS_BIN/cluebus-agent" --check -c "$D/$u.agent.conf" >/dev/null
	mkdir -p "$D/spool/$u/out"
done

agent_connected() { grep -q 'connected to' "$LOGS/agent-$1.log" 2>/dev/null; }

BROKER_PID=
# start_broker [fresh]: starts the broker (under callgrind in BENCH_PROFILE); "fresh"
# first removes its data directory, so the log starts empty again.
start_broker() {
	local cmd=("$CLUEBUS_BIN/cluebus-broker" -c "$D/broker.conf") n
	[ "${1:-}" != fresh ] || rm -rf "$D/data"
	if [ "$PROFILE" = 1 ]; then
		cmd=(valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out"
		    "${cmd[@]}")
	fi
	n=$(grep -c 'cluebus-broker: started:' "$LOGS/broker.log" 2>/dev/null || true)
	say "starting the broker on $ENDPOINT"
	start broker "$LOGS/broker.log" "${cmd[@]}"
	broker_started() {
		[ "$(grep -c 'cluebus-broker: started:' "$LOGS/broker.log")" -gt "${n:-0}" ]
	}
	wait_for 120 "the broker to start" broker_started
	BROKER_PID=$(pid_of broker)
}

start_agents() {
	local u
	for u in $RECIPIENTS; do
		start "agent-$u" "$LOGS/agent-$u.log" "$CLUEBUS_BIN/cluebus-agent" \
		    -c "$D/$u.agent.conf"
	done
	for u in $RECIPIENTS; do
		wait_for 60 "the agent of $u to connect" agent_connected "$u"
	done
}

out_count() { find "$D/spool/$1/out" -maxdepth 1 -name '*.json' ! -name '.*' | wc -l; }
all_out() {
	local u
	for u in $RECIPIENTS; do
		[ "$(out_count "$u")" -ge "$1" ] || return 1
	done
}

OUTS=()
for u in $RECIPIENTS; do
	OUTS+=(--out "$D/spool/$u/out")
done

# loadgen LABEL ARG...: one phase; per-message latencies go to logs/latency-LABEL.tsv.
loadgen() {
	local label=$1
	shift
	"$OUT/loadgen" --endpoint "$ENDPOINT" --keys "$D/keys" --unit "$SENDER" \
	    --category medical --jurisdiction 210302 --window "$WINDOW" --size "$SIZE" \
	    --broker-pid "$BROKER_PID" --label "$label" --dump "$LOGS/latency-$label.tsv" \
	    "$@" 2>>"$LOGS/loadgen.log"
}

# ---- BENCH_PROFILE: the broker under callgrind, two parts ----

if [ "$PROFILE" = 1 ]; then
	rm -f "$OUT"/callgrind.out*
	start_broker
	callgrind_control -z "$BROKER_PID" >/dev/null 2>&1
	say "profile part 1: $N clues at maximum rate, recipients offline (accept only)"
	loadgen profile-accept --count "$N" --rate max
	callgrind_control -d accept "$BROKER_PID" >/dev/null 2>&1
	callgrind_control -z "$BROKER_PID" >/dev/null 2>&1
	say "profile part 2: the agents drain that backlog, then $N more clues, online"
	start_agents
	wait_for 600 "the agents to drain the backlog" all_out "$N"
	loadgen profile-online --count "$N" --rate max --out-timeout-s 600 "${OUTS[@]}"
	for u in $RECIPIENTS; do stop "agent-$u"; done
	stop broker
	for f in "$OUT"/callgrind.out*; do
		callgrind_annotate --threshold=100 "$f" >"$f.self.txt" 2>/dev/null || true
		callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$f.incl.txt" \
		    2>/dev/null || true
	done
	# The broker's own functions and the library entry points they call, inclusive (the
	# annotations name a function once by its relative and once by its absolute path).
	for f in "$OUT"/callgrind.out.1 "$OUT"/callgrind.out; do
		echo "== $(grep -m1 '^Trigger:' "$f.incl.txt") ($(grep -m1 'PROGRAM TOTALS' \
		    "$f.incl.txt" | awk '{print $1}') instructions)"
		grep -E "^ *[0-9,]+ \(.*($REPO/|EVP_Digest|mdb_txn_commit|start_thread)" \
		    "$f.incl.txt" | sed -e "s# \[.*##" -e "s#$REPO/##" | awk '!seen[$NF]++' |
		    grep -v '(below main)' | head -24
	done
	say "profiles: $(ls "$OUT"/callgrind.out*.txt | tr '\n' ' ')"
	exit 0
fi

# ---- 3. the verification bound, and the accept path ----

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD0%% *}" 'BEGIN { exit !(l > 1.0) }'; then
	say "warning: load average $LOAD0 at the start: if other work is running, numbers will be low"
fi
verify_rates() {
	"$OUT/verifyrate" --seconds "$VERIFY_SECS" --size "$SIZE" 2>>"$LOGS/verifyrate.log"
}
# fdatasync of a 4 KiB page on the disk under build/: what one durable commit waits for.
fsync_ms() {
	python3 - "$RUN" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
ts = []
for i in range(200):
    os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
    t = time.perf_counter()
    os.fdatasync(fd)
    ts.append(time.perf_counter() - t)
os.close(fd)
os.unlink(path)
ts.sort()
print("%.2f / %.2f" % (ts[len(ts) // 2] * 1e3, ts[int(len(ts) * 0.99)] * 1e3))
PY
}
# The write counters of the block device under build/ (fields 5 and 7 of
# /sys/class/block/NAME/stat: writes completed, 512-byte sectors written), so that each run
# shows what the disk did in the fixed-rate phases: the whole device, other work included.
# "-" when the run directory is on no block device of its own (tmpfs, overlay).
DISK_STAT=/sys/class/block/$( (df --output=source "$RUN" 2>/dev/null || true) | tail -1 | sed 's|^/dev/||')/stat
[ -r "$DISK_STAT" ] || DISK_STAT=
disk_mark() {
	local _r1 _r2 _r3 _r4 w _w2 s _rest
	if [ -z "$DISK_STAT" ]; then echo -; return; fi
	read -r _r1 _r2 _r3 _r4 w _w2 s _rest <"$DISK_STAT"
	echo "$w $s $(date +%s.%N)"
}
# disk_rate MARK MARK: write I/Os per second / MB written per second between the marks.
disk_rate() {
	if [ "$1" = - ] || [ "$2" = - ]; then echo -; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[3] - x[3]
	    printf "%.0f / %.1f", (y[1] - x[1]) / t, (y[2] - x[2]) * 512 / 1e6 / t }'
}
say "Ed25519 verification rate before the run (OpenSSL EVP; libsodium, as the broker)"
V_BEFORE=$(verify_rates)
FSYNC_BEFORE=$(fsync_ms)

# Accept path alone: no recipient connected, deliveries wait in the backlog.
start_broker
say "phase accept-max: $N clues at maximum rate, recipients offline"
R_OFF=$(loadgen accept-max --count "$N" --rate max)
say "$R_OFF"
say "phase accept-fixed: $RATE clues/s for ${SECS}s, recipients offline"
DISK0=$(disk_mark)
R_FIXOFF=$(loadgen accept-fixed --count "$N_FIXED" --rate "$RATE")
DISK_OFF=$(disk_rate "$DISK0" "$(disk_mark)")
say "$R_FIXOFF"
stop broker
ACCEPT_DB_MB=$(du -m "$D/data" | tail -1 | cut -f1)

# ---- 4. peers, right after the accept path (the machine is shared: keep them close) ----

REDIS_RATE="-"; RABBIT_Q_RATE="-"; RABBIT_C_RATE="-"
if [ "$PEERS" = 1 ] && [ -n "$REDIS_NOTE" ]; then
	echo "redis: skipped ($REDIS_NOTE)"
elif [ "$PEERS" = 1 ]; then
	# Redis 7 streams, an fsync before every reply (appendfsync always).
	RD=$RUN/redis
	mkdir -p "$RD"
	RPORT=$(free_port)
	say "redis: XADD, appendonly yes, appendfsync always, port $RPORT"
	start redis "$LOGS/redis.log" redis-server --port "$RPORT" --bind 127.0.0.1 \
	    --appendonly yes --appendfsync always --save '' --dir "$RD" --daemonize no \
	    --protected-mode yes
	redis_up() { redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG; }
	t0=$SECONDS
	until redis_up || [ $((SECONDS - t0)) -ge 30 ]; do sleep 0.1; done
	if ! redis_up; then
		REDIS_NOTE="redis-server did not start within 30 s (see $LOGS/redis.log)"
	elif ! R_REDIS=$("$OUT/redisload" --port "$RPORT" --count "$N" --window "$WINDOW" \
	    --size "$SIZE" 2>>"$LOGS/redisload.log"); then
		REDIS_NOTE="redisload failed (see $LOGS/redisload.log)"
	else
		REDIS_RATE=$(field "$R_REDIS" rate)
		say "$R_REDIS"
	fi
	stop redis
	[ -z "$REDIS_NOTE" ] || echo "redis: skipped ($REDIS_NOTE)"
fi

if [ "$PEERS" = 1 ] && [ -z "$RABBIT_NOTE" ]; then
	# RabbitMQ, a private node: its own HOME (Erlang cookie), Mnesia and log directories,
	# ports, and its own epmd (in the foreground, so that it is ours to stop).
	say "rabbitmq: durable queues, persistent messages, publisher confirms"
	if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
		RABBIT_NOTE="/usr/lib/rabbitmq/bin/rabbitmq-server is not installed"
	elif ! command -v epmd >/dev/null; then
		RABBIT_NOTE="epmd is not installed"
	else
		RQ=$RUN/rabbitmq
		mkdir -p "$RQ/home" "$RQ/mnesia" "$RQ/log"
		head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RQ/home/.erlang.cookie"
		chmod 400 "$RQ/home/.erlang.cookie"
		echo "[]." >"$RQ/enabled_plugins"
		: >"$RQ/rabbitmq.conf"
		QPORT=$(free_port 10000 12000)
		EPMD_PORT=$(free_port 12000 13000)
		NODE="cluebusbench@localhost"
		rabbit_env=(env HOME="$RQ/home" RABBITMQ_MNESIA_BASE="$RQ/mnesia"
		    RABBITMQ_LOG_BASE="$RQ/log" RABBITMQ_NODENAME="$NODE"
		    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$QPORT"
		    RABBITMQ_DIST_PORT=$((QPORT + 20000)) ERL_EPMD_PORT="$EPMD_PORT"
		    RABBITMQ_ENABLED_PLUGINS_FILE="$RQ/enabled_plugins"
		    RABBITMQ_CONFIG_FILE="$RQ/rabbitmq.conf" RABBITMQ_CONF_ENV_FILE=/dev/null)
		start epmd "$LOGS/epmd.log" epmd -port "$EPMD_PORT" -address 127.0.0.1
		start rabbitmq "$LOGS/rabbitmq.log" "${rabbit_env[@]}" \
		    /usr/lib/rabbitmq/bin/rabbitmq-server
		rabbit_up() {
			_alive "$(pid_of rabbitmq)" &&
			    "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$NODE" \
			    await_startup --timeout 5 >/dev/null 2>&1
		}
		t0=$SECONDS
		until rabbit_up || [ $((SECONDS - t0)) -ge 120 ] || ! _alive "$(pid_of rabbitmq)"; do
			sleep 0.5
		done
		if rabbit_up; then
			say "rabbitmq: node $NODE up on port $QPORT after $((SECONDS - t0))s"
			for qt in quorum classic; do
				if ! r=$("$OUT/amqpload" --port "$QPORT" --count "$N" --window "$WINDOW" \
				    --size "$SIZE" --queue-type "$qt" 2>>"$LOGS/amqpload.log"); then
					RABBIT_NOTE="amqpload $qt failed (see $LOGS/amqpload.log)"
					break
				fi
				say "$r"
				if [ "$qt" = quorum ]; then
					RABBIT_Q_RATE=$(field "$r" rate)
				else
					RABBIT_C_RATE=$(field "$r" rate)
				fi
			done
		else
			RABBIT_NOTE="the node did not start within 120 s (see $LOGS/rabbitmq.log)"
		fi
		# SIGTERM to beam.smp (the start script's child), as SPEC §11 says; the script
		# then exits too.
		RPID=$(pid_of rabbitmq)
		for st in /proc/[0-9]*/stat; do
			read -r line <"$st" 2>/dev/null || continue
			comm=${line#* (}; comm=${comm%%)*}
			rest=${line##*) }; set -- $rest
			if [ "$comm" = beam.smp ] && [ "$2" = "$RPID" ]; then
				kill -TERM "${st//[^0-9]/}" 2>/dev/null || true
			fi
		done
		stop_pid "$RPID" 60 || true
		forget_pid "$RPID"
		RPID=$(pid_of epmd)
		stop_pid "$RPID" 10 || true	# epmd has no clean exit on SIGTERM
		forget_pid "$RPID"
		EPMD_PORT=
	fi
fi
[ "$PEERS" = 0 ] || [ -z "$RABBIT_NOTE" ] || echo "rabbitmq: skipped ($RABBIT_NOTE)"

# ---- 5. the whole path: a fresh log, the three recipients' agents connected ----
start_broker fresh
start_agents
say "phase online-max: $N_ON clues at maximum rate, recipients online"
R_ON=$(loadgen online-max --count "$N_ON" --rate max --out-timeout-s 180 \
    "${OUTS[@]}") || true
say "$R_ON"
say "phase online-fixed: $RATE clues/s for ${SECS}s, recipients online"
DISK0=$(disk_mark)
R_FIX=$(loadgen online-fixed --count "$N_FIXED" --rate "$RATE" \
    --out-timeout-s "$OUT_WAIT" "${OUTS[@]}") || true
DISK_ON=$(disk_rate "$DISK0" "$(disk_mark)")
say "$R_FIX"
# The agents' own cost: CPU (and kernel share) per message written to out/, averaged.
AGENT_CPU=$(for u in $RECIPIENTS; do
	stat=$(cat "/proc/$(pid_of "agent-$u")/stat"); stat=${stat##*) }; echo "$stat"
done | awk -v n="$((N_ON + N_FIXED))" -v tck="$(getconf CLK_TCK)" '
	{ u += $12; s += $13; k++ }
	END { printf "%.0f (%.0f)", (u + s) * 1e6 / tck / (n * k), s * 1e6 / tck / (n * k) }')
HWM_KB=$(awk '/^VmHWM/ {print $2}' "/proc/$BROKER_PID/status")
ANON_KB=$(awk '/^RssAnon/ {print $2}' "/proc/$BROKER_PID/status")
for u in $RECIPIENTS; do stop "agent-$u"; done
stop broker
stopping_line=$(grep 'cluebus-broker: stopping:' "$LOGS/broker.log" | tail -1)
COMMITS=$(echo "$stopping_line" | grep -o 'commits [0-9]*' | awk '{print $2}')
ACKED=$(echo "$stopping_line" | grep -o 'acked [0-9]*' | awk '{print $2}')
ACCEPTED=$(echo "$stopping_line" | grep -o 'accepted [0-9]*' | awk '{print $2}')
DB_MB=$(du -m "$D/data" | tail -1 | cut -f1)

# ---- 5b. scale: a long log, a kill -9 and a restart, one unit catching up ----
# SCALE_N clues into a fresh log with the recipients offline (so each of the three keeps a
# SCALE_N backlog: more than SPEC §11's 100,000 for one unit), the broker killed with
# SIGKILL, the time from exec to "started" of the next broker, then psb's agent draining
# its backlog for SCALE_DRAIN_S seconds while the broker's memory is read.
SCALE_RSS="-"; SCALE_ANON="-"; SCALE_RESTART_MS="-"; SCALE_ENTRIES="-"; SCALE_DB_MB="-"
SCALE_RATE="-"; SCALE_DRAINED="-"; SCALE_FILL_HWM="-"
if [ "$SCALE_N" -gt 0 ]; then
	start_broker fresh
	say "phase scale: $SCALE_N clues into a fresh log, recipients offline"
	R_SCALE=$(loadgen scale-fill --count "$SCALE_N" --rate max) || die "scale fill failed"
	SCALE_RATE=$(field "$R_SCALE" rate)
	SCALE_FILL_HWM=$(field "$R_SCALE" hwm_kb)
	say "$R_SCALE"
	kill -KILL "$BROKER_PID"
	wait "$BROKER_PID" 2>/dev/null || true
	forget_pid "$BROKER_PID"
	SCALE_DB_MB=$(du -m "$D/data" | tail -1 | cut -f1)
	n=$(grep -c 'cluebus-broker: started:' "$LOGS/broker.log" || true)
	t0=$(date +%s%N)
	start broker "$LOGS/broker.log" "$CLUEBUS_BIN/cluebus-broker" -c "$D/broker.conf"
	until [ "$(grep -c 'cluebus-broker: started:' "$LOGS/broker.log")" -gt "$n" ]; do
		_alive "$(pid_of broker)" || die "the broker did not restart (see $LOGS)"
		sleep 0.005
	done
	t1=$(date +%s%N)
	BROKER_PID=$(pid_of broker)
	SCALE_RESTART_MS=$(( (t1 - t0) / 1000000 ))
	SCALE_ENTRIES=$(grep 'cluebus-broker: started:' "$LOGS/broker.log" | tail -1 |
	    grep -o 'log head [0-9]*' | awk '{print $3}')
	say "scale: restart after kill -9 with $SCALE_ENTRIES entries: $SCALE_RESTART_MS ms"
	rm -rf "$D/spool/psb/out" "$D/state/psb"
	mkdir -p "$D/spool/psb/out"
	start agent-psb "$LOGS/agent-psb.log" "$CLUEBUS_BIN/cluebus-agent" -c "$D/psb.agent.conf"
	sleep "$SCALE_DRAIN_S"
	SCALE_RSS=$(awk '/^VmHWM/ {print $2}' "/proc/$BROKER_PID/status")
	SCALE_ANON=$(awk '/^RssAnon/ {print $2}' "/proc/$BROKER_PID/status")
	SCALE_DRAINED=$(out_count psb)
	stop agent-psb
	stop broker
	say "scale: broker VmHWM $SCALE_RSS kB, RssAnon $SCALE_ANON kB; psb drained $SCALE_DRAINED"
fi

# The auditor's side (SPEC §11): cluebus-audit over the last log (the scale phase's
# 1,000,000 entries unless BENCH_SCALE=0), with every signature, then the chain alone.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
t0=$(date +%s.%N)
AUDIT_OUT=$("$CLUEBUS_BIN/cluebus-audit" verify "$D/data")
t1=$(date +%s.%N)
"$CLUEBUS_BIN/cluebus-audit" verify "$D/data" --chain-only >/dev/null
t2=$(date +%s.%N)
AUDIT_ENTRIES=$(echo "$AUDIT_OUT" | awk '/^OK/ {print $2}')
AUDIT_SIGS=$(echo "$AUDIT_OUT" | grep -o '[0-9]* messages' | awk '{print $1}')
AUDIT_SIG_RATE=$(awk -v n="$AUDIT_SIGS" -v t="$(elapsed "$t0" "$t1")" \
    'BEGIN { printf "%.0f", n / t }')
AUDIT_CHAIN_RATE=$(awk -v n="$AUDIT_ENTRIES" -v t="$(elapsed "$t1" "$t2")" \
    'BEGIN { printf "%.0f", n / t }')
say "audit: $AUDIT_OUT; chain only in $(elapsed "$t1" "$t2") s"

# ---- 6. the verification bound, again ----

say "Ed25519 verification rate after the run"
V_AFTER=$(verify_rates)
FSYNC_AFTER=$(fsync_ms)
# vrate LIB THREADS: the better of the two measurements (the other one was disturbed).
vrate() {
	printf '%s\n%s\n' "$V_BEFORE" "$V_AFTER" | grep "lib=$1 threads=$2 " |
	    sed 's/.*rate=//' | sort -g | tail -1
}
vrange() {
	printf '%s\n%s\n' "$V_BEFORE" "$V_AFTER" | grep "lib=$1 threads=$2 " |
	    sed 's/.*rate=//' | sort -g | tr '\n' ' ' | awk '{printf "%s–%s", $1, $NF}'
}
V_SSL1=$(vrate openssl 1); V_SSL2=$(vrate openssl 2)
V_NA1=$(vrate libsodium 1); V_NA2=$(vrate libsodium 2)

# ---- 7. the table ----

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" ||
	b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "-" || k == "") print "-"; else
	printf "%.1f", k / 1024 }'; }
num() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.0f", x }'; }
# outlat RESULT KEY: an out/ percentile, marked "≥" when files were still missing.
outlat() {
	local v
	v=$(field "$1" "$2")
	if [ "$(field "$1" out_complete)" = 0 ] && [ "$v" != "-" ]; then
		echo "≥ $v"
	else
		echo "$v"
	fi
}

OFF_RATE=$(field "$R_OFF" rate)
ON_RATE=$(field "$R_ON" rate)
DRAIN_S=$(field "$R_ON" out_drain_s)
DRAIN_RATE=$(ratio "$N_ON" "$DRAIN_S")
BEST_PEER=$(printf '%s\n' "$REDIS_RATE" "$RABBIT_Q_RATE" "$RABBIT_C_RATE" | grep -v '^-$' |
    sort -g | tail -1 || true)
[ -n "$BEST_PEER" ] || BEST_PEER="-"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

cat <<EOF

## cluebus bench — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load average $LOAD0 at start, $LOAD1 at end
$( [ "$QUICK" = 1 ] && echo "(BENCH_QUICK=1: a smoke run; these numbers mean nothing)" )

| measure | value | SPEC §11 target |
| --- | ---: | --- |
| cluebus accepted/s, max rate, recipients offline ($N × 1 KiB, 1,000 outstanding) | **$(num "$OFF_RATE")** | ≥ 10,000 |
| cluebus accepted/s, max rate, 3 recipients online ($N_ON × 1 KiB) | $(num "$ON_RATE") | |
| publish→accepted p50 / p99 / p99.9 ms at $RATE/s, recipients offline | $(field "$R_FIXOFF" acc_p50_ms) / **$(field "$R_FIXOFF" acc_p99_ms)** / $(field "$R_FIXOFF" acc_p999_ms) | p99 < 5 |
| publish→accepted p50 / p99 / p99.9 ms at $RATE/s, recipients online | $(field "$R_FIX" acc_p50_ms) / $(field "$R_FIX" acc_p99_ms) / $(field "$R_FIX" acc_p999_ms) | p99 < 5 |
| publish→out/ p50 / p99 ms at $RATE/s (3 cluebus-agent processes) | $(outlat "$R_FIX" out_p50_ms) / **$(outlat "$R_FIX" out_p99_ms)** | p99 < 20 |
| publish→out/ p50 / p99 ms at max rate ($N_ON clues) | $(outlat "$R_ON" out_p50_ms) / $(outlat "$R_ON" out_p99_ms) | |
| the disk's writes at ${RATE}/s, recipients offline; online: I/Os per s / MB per s | $DISK_OFF; $DISK_ON | |
| delivery into out/, messages/s per agent (3 agents at once) | $(num "$DRAIN_RATE") | |
| cluebus-agent CPU µs per message received (of which kernel) | $AGENT_CPU | |
| broker CPU µs per message (of which kernel): accept only / with delivery to 3 and their acks | $(field "$R_OFF" cpu_accept_us) ($(field "$R_OFF" sys_accept_us)) / $(field "$R_ON" cpu_total_us) ($(field "$R_ON" sys_total_us)) | |
| broker peak RSS (VmHWM, with LMDB's mapped file) / own memory (RssAnon), MiB | $(mib "$HWM_KB") / $(mib "$ANON_KB") | < 64 |
| broker log after the accept phases ($((N + N_FIXED)) messages, 3 backlog items each), MiB | $ACCEPT_DB_MB | |
| broker log after the online phases: messages / delivery acks / commits / MiB | $ACCEPTED / $ACKED / $COMMITS / $DB_MB | |
| scale: accepted/s filling a fresh log with $SCALE_N clues (recipients offline); broker peak RSS (VmHWM) meanwhile, MiB | $(num "$SCALE_RATE"); $(mib "$SCALE_FILL_HWM") | |
| scale: restart after kill -9, exec to ready, with $SCALE_ENTRIES entries ($SCALE_DB_MB MiB) and a $SCALE_N backlog for each of 3 units, ms | **$SCALE_RESTART_MS** | < 1000 |
| scale: broker peak RSS (VmHWM) / own memory (RssAnon) after that restart, psb draining its backlog for ${SCALE_DRAIN_S}s ($SCALE_DRAINED delivered), MiB | **$(mib "$SCALE_RSS")** / $(mib "$SCALE_ANON") | < 64 |
| Ed25519 verify/s, libsodium (the broker's), 1 / 2 threads (2 threads before–after: $(vrange libsodium 2)) | $(num "$V_NA1") / $(num "$V_NA2") | |
| Ed25519 verify/s, OpenSSL EVP, 1 / 2 threads (2 threads before–after: $(vrange openssl 2)) | $(num "$V_SSL1") / $(num "$V_SSL2") | |
| fdatasync of 4 KiB p50 / p99 ms, before the run; after | $FSYNC_BEFORE; $FSYNC_AFTER | |
| Redis 7 XADD, appendfsync always, accepted/s | $(num "$REDIS_RATE") | |
| RabbitMQ 3.10 quorum queue, confirms, accepted/s | $(num "$RABBIT_Q_RATE") | |
| RabbitMQ 3.10 classic durable queue, confirms, accepted/s | $(num "$RABBIT_C_RATE") | |
| **cluebus / 2-core verify rate (libsodium, the broker's library)** | **$(ratio "$OFF_RATE" "$V_NA2")** | ≥ 0.8 |
| cluebus / 2-core verify rate of OpenSSL EVP | $(ratio "$OFF_RATE" "$V_SSL2") | |
| cluebus-audit verify: signed messages/s over the whole log ($AUDIT_ENTRIES entries); / 2-core verify rate | $AUDIT_SIG_RATE; $(ratio "$AUDIT_SIG_RATE" "$V_NA2") | ≥ 0.8 |
| cluebus-audit verify --chain-only, entries/s | $AUDIT_CHAIN_RATE | ≥ 500,000 |
| **cluebus / best durable peer** | **$(ratio "$OFF_RATE" "$BEST_PEER")** | ≥ 1.0 |
| cluebus / Redis; / RabbitMQ quorum; / RabbitMQ classic | $(ratio "$OFF_RATE" "$REDIS_RATE"); $(ratio "$OFF_RATE" "$RABBIT_Q_RATE"); $(ratio "$OFF_RATE" "$RABBIT_C_RATE") | |
EOF
[ "$PEERS" = 0 ] || [ -z "$REDIS_NOTE" ] || echo "redis: skipped ($REDIS_NOTE)"
[ "$PEERS" = 0 ] || [ -z "$RABBIT_NOTE" ] || echo "rabbitmq: skipped ($RABBIT_NOTE)"
echo
for r in "$R_OFF" "$R_FIXOFF" "$R_ON" "$R_FIX"; do
	echo "raw: $r"
done
printf '%s\n%s\n' "$V_BEFORE" "$V_AFTER" | sed 's/^/raw: /'
[ "$PEERS" = 0 ] || printf 'raw: %s\n' "${R_REDIS:-redis -}"
exit 0
