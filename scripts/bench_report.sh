# scripts/bench_report.sh — the bench's report: one markdown table of every figure with its
# SPEC §11 target and the ratios, then the notes of skipped peers and the `raw:` lines
# (sourced by scripts/bench.sh, bash).
#
# The report only formats: every figure is measured by the phases before it, and a figure
# that was not measured prints as "-". Its lines and their order are what later runs are
# compared by, line by line.
#
# Needs: bench.sh's field, and the results of every phase (R_OFF, R_FIXOFF, R_ON, R_FIX,
# V_BEFORE, V_AFTER, the peers' rates, the scale and audit figures ...).

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

# notice_us: the broker's CPU per match notice, from the two runs with tokens.
notice_us() {
	awk -v a="$(field "$R_MATCH" cpu_accept_us)" -v b="$(field "$R_MATCH_INDEX" cpu_accept_us)" \
	    -v n="$N" -v k="${MATCH_NOTICES:-0}" 'BEGIN { if (a == "-" || b == "-" || a == "" ||
		b == "" || k + 0 == 0) print "-"; else printf "%.0f", (a - b) * n / k }'
}

# vrate LIB THREADS: the better of the two verification measurements (the other one was
# disturbed).
vrate() {
	printf '%s\n%s\n' "$V_BEFORE" "$V_AFTER" | grep "lib=$1 threads=$2 " |
	    sed 's/.*rate=//' | sort -g | tail -1
}
vrange() {
	printf '%s\n%s\n' "$V_BEFORE" "$V_AFTER" | grep "lib=$1 threads=$2 " |
	    sed 's/.*rate=//' | sort -g | tr '\n' ' ' | awk '{printf "%s–%s", $1, $NF}'
}

# report_print: the report on stdout.
report_print() {
	local V_SSL1 V_SSL2 V_NA1 V_NA2 OFF_RATE ON_RATE DRAIN_S DRAIN_RATE BEST_PEER LOAD1 r
	V_SSL1=$(vrate openssl 1); V_SSL2=$(vrate openssl 2)
	V_NA1=$(vrate libsodium 1); V_NA2=$(vrate libsodium 2)
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
| correlation: accepted/s at max rate, no tokens / $MATCH_TOKENS blind tokens per clue, none shared / a match every $MATCH_EVERY ($N each, fresh logs) | $(num "$(field "$R_MATCH0" rate)") / $(num "$(field "$R_MATCH_INDEX" rate)") / $(num "$(field "$R_MATCH" rate)") | |
| correlation: broker CPU µs per accepted message, no tokens / tokens, none shared / tokens, a match every $MATCH_EVERY (match notices logged: ${MATCH_NOTICES:--}); ratios | $(field "$R_MATCH0" cpu_accept_us) / $(field "$R_MATCH_INDEX" cpu_accept_us) / $(field "$R_MATCH" cpu_accept_us); **$(ratio "$(field "$R_MATCH_INDEX" cpu_accept_us)" "$(field "$R_MATCH0" cpu_accept_us)")** / **$(ratio "$(field "$R_MATCH" cpu_accept_us)" "$(field "$R_MATCH0" cpu_accept_us)")** | ≤ 1.10 |
| correlation: broker CPU µs per match notice, (with matches − none shared) × $N / notices: a signed broker message each, reported apart from the index | $(notice_us) | |
| correlation: rounds that merge the staging tier, from the merge's start to its commit (of the last run) | ${MATCH_MERGES:--} | |
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
| cluebus-audit verify (chain, tree, signatures, indexes): signatures/s over the whole log ($AUDIT_ENTRIES entries); / 2-core verify rate | $AUDIT_SIG_RATE; $(ratio "$AUDIT_SIG_RATE" "$V_NA2") | ≥ 0.8 |
| cluebus-audit verify --chain-only (chain and tree, $AUDIT_TREE_NODES stored nodes compared), entries/s | $AUDIT_CHAIN_RATE | ≥ 500,000 |
| **cluebus / best durable peer** | **$(ratio "$OFF_RATE" "$BEST_PEER")** | ≥ 1.0 |
| cluebus / Redis; / RabbitMQ quorum; / RabbitMQ classic | $(ratio "$OFF_RATE" "$REDIS_RATE"); $(ratio "$OFF_RATE" "$RABBIT_Q_RATE"); $(ratio "$OFF_RATE" "$RABBIT_C_RATE") | |
EOF
	[ "$PEERS" = 0 ] || [ -z "$REDIS_NOTE" ] || echo "redis: skipped ($REDIS_NOTE)"
	[ "$PEERS" = 0 ] || [ -z "$RABBIT_NOTE" ] || echo "rabbitmq: skipped ($RABBIT_NOTE)"
	echo
	for r in "$R_OFF" "$R_FIXOFF" "$R_ON" "$R_FIX" "${R_MATCH0:-match-none -}" \
	    "${R_MATCH_INDEX:-match-index -}" "${R_MATCH:-match-tokens -}"; do
		echo "raw: $r"
	done
	printf '%s\n%s\n' "$V_BEFORE" "$V_AFTER" | sed 's/^/raw: /'
	[ "$PEERS" = 0 ] || printf 'raw: %s\n' "${R_REDIS:-redis -}"
}
