#!/usr/bin/env bash
# scripts/bench_match_ab.sh — what matching costs the broker, two builds compared: the
# workloads of `make bench` phase 4a, run alternately for build A and build B.
#
#   scripts/bench_match_ab.sh A_BIN B_BIN [ROUNDS]
#
# A shared machine disturbs timings more than the difference between two builds: one run
# of each proves nothing, and runs far apart in time meet different neighbours. So each
# round runs, for A then B, the three workloads of phase 4a (bench/loadgen, N signed 1 KiB
# clues from `health` at maximum rate, recipients offline, each on a fresh log): no tokens
# ("none"), MATCH_TOKENS tokens none of which is shared ("index": the index alone), and a
# shared one every 20th clue ("tokens": a match notice each). Per run it prints the broker's
# CPU µs per clue (of which kernel), the commits (LMDB transactions) and the bytes the
# broker wrote per clue (/proc/PID/io wchar: LMDB writes every dirty page); at the end the
# means and each build's ratios to its own "none". Decide on instruction counts
# (BENCH_PROFILE=match), which the machine does not disturb; this says what the time does.
#
# Environment: BENCH_COUNT (N, default 20000), BENCH_MATCH_TOKENS (3), CLUEBUS_BIN (the
# build whose libcluebus.a makes the load generator: this checkout's build/). Everything
# goes under build/bench/ab (made afresh); every process is stopped on exit.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
. scripts/deploy.sh
[ $# -ge 2 ] || { echo "usage: $0 A_BIN B_BIN [ROUNDS]" >&2; exit 2; }
A_BIN=$(cd "$1" && pwd)
B_BIN=$(cd "$2" && pwd)
ROUNDS=${3:-5}
N=${BENCH_COUNT:-20000}
TOKENS=${BENCH_MATCH_TOKENS:-3}
OUT=$REPO/build/bench/ab
RESULTS=$OUT/results.txt

say() { echo "[ab $(date +%H:%M:%S)] $*" >&2; }
die() { echo "bench_match_ab: $*" >&2; exit 1; }
field() {
	local kv
	for kv in $1; do
		[ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }
	done
	echo "-"
}

for b in "$A_BIN" "$B_BIN"; do
	[ -x "$b/cluebus-broker" ] || die "$b/cluebus-broker is missing"
done
[ -f build/libcluebus.a ] || die "build/libcluebus.a is missing; run make first"
rm -rf "$OUT"
mkdir -p "$OUT/logs"
proc_init "$OUT/pids"
trap 'proc_cleanup 10' EXIT
trap 'exit 130' INT TERM
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Ibuild -Iinclude -Ilib \
    bench/loadgen.c build/libcluebus.a $(pkg-config --cflags --libs libzmq libprotobuf-c lmdb \
    libcrypto jansson libconfig libsodium) -lpthread -o "$OUT/loadgen"
DEPLOY_DIR=$OUT/cluebus
# shellcheck disable=SC2034	# read by scripts/deploy.sh
DEPLOY_LOGS=$OUT/logs
DEPLOY_BIN=$A_BIN
deploy_init "$(deploy_endpoint tcp)" >/dev/null

# The broker's LMDB transactions so far (the environment's last transaction id).
txns() { mdb_stat -e "$DEPLOY_DIR/data" | awk '/Last transaction ID/ { print $NF }'; }
wchar() { awk '$1 == "wchar:" { print $2 }' "/proc/$1/io"; }

# one BUILD_NAME BIN WORKLOAD: one run on a fresh log; appends its line to RESULTS.
one() {
	local name=$1 bin=$2 work=$3 pid t0 t1 w0 w1 r args=()
	case $work in
	index) args=(--tokens "$TOKENS") ;;
	tokens) args=(--tokens "$TOKENS" --match-every 20) ;;
	esac
	rm -rf "$DEPLOY_DIR/data"
	# shellcheck disable=SC2034	# read by deploy_start_broker
	DEPLOY_BIN=$bin
	deploy_start_broker 120 || die "the broker did not start (see $OUT/logs)"
	pid=$(proc_pid broker)
	t0=$(txns); w0=$(wchar "$pid")
	r=$("$OUT/loadgen" --endpoint "$DEPLOY_ENDPOINT" --keys "$DEPLOY_DIR/keys" --unit health \
	    --category medical --jurisdiction 210302 --window 1000 --size 1024 \
	    --broker-pid "$pid" --label "$name-$work" --count "$N" --rate max "${args[@]}" \
	    2>>"$OUT/logs/loadgen.log") || die "loadgen failed (see $OUT/logs)"
	t1=$(txns); w1=$(wchar "$pid")
	proc_stop broker 30 || die "the broker exited badly (see $OUT/logs)"
	echo "$name $work cpu_us=$(field "$r" cpu_accept_us) sys_us=$(field "$r" sys_accept_us)" \
	    "rate=$(field "$r" rate) commits=$((t1 - t0)) wchar_per_clue=$(((w1 - w0) / N))" \
	    "load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$RESULTS"
}

say "A = $A_BIN, B = $B_BIN; $ROUNDS rounds of $N clues per run; load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
	for ab in "A $A_BIN" "B $B_BIN"; do
		for work in none index tokens; do
			# shellcheck disable=SC2086
			one $ab "$work"
		done
	done
done
say "load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{ k = $1 " " $2; split($3, c, "="); split($4, s, "="); split($7, w, "=")
	n[k]++; cpu[k] += c[2]; sys[k] += s[2]; wc[k] += w[2] }
	END { for (b = 1; b <= 2; b++) { x = b == 1 ? "A" : "B"
		for (i = 1; i <= 3; i++) { y = i == 1 ? "none" : i == 2 ? "index" : "tokens"
			k = x " " y
			printf "%s %-6s mean of %d: %.1f µs CPU per clue (kernel %.1f), %.0f bytes" \
			    " written per clue", x, y, n[k], cpu[k] / n[k], sys[k] / n[k], wc[k] / n[k]
			if (y != "none") printf "; ratio %.3f",
			    (cpu[k] / n[k]) / (cpu[x " none"] / n[x " none"])
			printf "\n" } } }' "$RESULTS"
