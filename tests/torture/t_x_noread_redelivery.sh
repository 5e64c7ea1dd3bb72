#!/usr/bin/env bash
# Scenario x — a receiving connection that keeps sending heartbeats but never reads. The
# broker resends the window (128 deliveries) of a unit that does not acknowledge every
# redeliver_ms; nothing tells it whether the earlier copies left its ZeroMQ queue, so
# resending without end would grow that queue and the broker's memory by a window every
# redeliver_ms (docs/reliability.md, finding 1). It resends at most RESENDS_MAX (3) times
# in a row and then holds the unit's deliveries until an ack or a new hello.
#
# Here: redeliver_ms = 200, TORTURE_NOREAD = 5,000 messages routed to ato, whose
# receiving connection is tests/tools/hostile --mode noread --heartbeat, for
# TORTURE_SECONDS x 2 s. Asserts: the broker said it holds ato's deliveries, resent no
# window from the 10th second to the end, and its RssAnon grew by less than 4 MiB meanwhile.
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
proc_start noread "$LOGS/noread.log" "$HOSTILE" --endpoint "$ENDPOINT" --key "$K/ato.key" \
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
log_count_gt "$LOGS/broker.log" 'unit ato: .* holding them' 0 ||
    die "the broker never held ato's deliveries"
[ "$((r1 - r0))" -eq 0 ] || die "the broker resent ato's window $((r1 - r0)) times after holding it"
[ "$growth" -lt $((4 * 1024)) ] ||
    die "the broker grew by $((growth / 1024)) MiB while resending to a peer that does not read"
