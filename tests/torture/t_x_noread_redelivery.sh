#!/usr/bin/env bash
# Scenario x (not part of the default run: a known issue, see docs/reliability.md) — a
# receiving connection that keeps sending heartbeats but never reads. The broker resends
# its window (128 deliveries) every redeliver_ms without knowing whether the earlier ones
# left its ZeroMQ queue, so the queue to that peer, and the broker's memory, grow by a
# window every redeliver_ms until ZMQ_SNDHWM (100,000 messages) stops it.
#
# Here: redeliver_ms = 200, TORTURE_NOREAD = 5,000 messages routed to ato, whose
# receiving connection is tests/tools/hostile --mode noread --heartbeat, for
# TORTURE_SECONDS x 2 = 60 s. Asserts what should hold: the broker's RssAnon grows by less
# than 4 MiB from the 10th second to the end. It fails today (about 6 MiB a minute with a
# production build; the first few hundred kilobytes go into the kernel's socket buffers).
. "$(dirname "$0")/lib.sh"

NOREAD=${TORTURE_NOREAD:-5000}
SECS=$((TSECONDS * 2))
BROKER_TUNING="redeliver_ms = 200;"
deploy tcp
if is_asan "$CLUEBUS_BIN/cluebus-broker"; then
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" start_broker
else
	start_broker
fi
BPID=$(broker_pid)
K=$D/keys
_start noread "$LOGS/noread.log" "$HOSTILE" --endpoint "$ENDPOINT" --key "$K/ato.key" \
    --mode noread --receiving --heartbeat --duration-ms 3600000
wait_for 30 "the non-reading peer to be welcomed" log_count_gt "$LOGS/noread.log" welcomed 0
"$HOSTILE" --endpoint "$ENDPOINT" --key "$K/education.key" --mode burst --count "$NOREAD" \
    --category other --jurisdiction 210300 --prefix burst
sleep 10
anon0=$(proc_kb "$BPID" RssAnon)
r0=$(log_count "$LOGS/broker.log" 'unit ato: .* redelivering')
sleep $((SECS - 10))
anon1=$(proc_kb "$BPID" RssAnon)
r1=$(log_count "$LOGS/broker.log" 'unit ato: .* redelivering')
growth=$((anon1 - anon0))
result "RssAnon $((anon0 / 1024)) MiB -> $((anon1 / 1024)) MiB (+$((growth / 1024)) MiB) over" \
    "$((SECS - 10)) s and $((r1 - r0)) redeliveries of ato's window"
stop noread
stop_broker
finish
[ "$growth" -lt $((4 * 1024)) ] ||
    die "the broker grew by $((growth / 1024)) MiB while resending to a peer that does not read"
