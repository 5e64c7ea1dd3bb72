#!/usr/bin/env bash
# A flood of near-limit frames from one authenticated unit (market-regulation) that never
# reads its answers: the broker's memory stays within its bound in bytes (docs/security.md:
# RCV_QUEUE_MAX frames queued per connection, one round's inbox), goes back down once the
# flood is over, and another unit (health → psb) is served meanwhile and after. The flood's
# refusals are logged within the unit's limit, not one entry per frame.
#
#   FLOOD_FRAMES   frames in the flood [1000]; `make torture` runs 4,000 (scenario c)
#   FLOOD_PEAK_MB  the bound on the broker's RssAnon above its baseline during the flood
#                  [160]: 64 frames of 1 MiB queued in ZeroMQ, 8 MiB in the round, ASan's
#                  own quarantine (8 MiB here) and redzones, with room to spare
#   FLOOD_AFTER_MB the bound above the baseline once the flood is over [32]
. "$(dirname "$0")/lib.sh"

FRAMES=${FLOOD_FRAMES:-1000}
PEAK_MB=${FLOOD_PEAK_MB:-160}
AFTER_MB=${FLOOD_AFTER_MB:-32}
SIZE=$((1024 * 1024 - 100))

anon_kb() {
	local s
	{ s=$(<"/proc/$1/status"); } 2>/dev/null || { echo 0; return; }
	[[ $s =~ RssAnon:[[:space:]]+([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

deploy ipc
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" start_broker
start_agent health
start_agent psb
wait_connected health psb
BPID=$(proc_pid broker)
drop health c0.json "$(clue_json medical 210302 "before the flood")"
wait_for 60 "the first clue at psb" files_at_least "$(spool psb)/out" '*.json' 1
sleep 1
BASE=$(anon_kb "$BPID")
say "broker RssAnon before the flood: $((BASE / 1024)) MiB"

# Sample the broker's anonymous memory five times a second while the flood runs.
(
	trap 'exit 0' TERM
	while :; do anon_kb "$BPID"; sleep 0.2; done
) >"$TEST_DIR/anon.samples" &
SAMPLER=$!
FLOOD_OUT=$("$CLUEBUS_TEST_TOOLS/hostile" --endpoint "$ENDPOINT" \
    --key "$D/keys/market-regulation.key" --mode flood --count "$FRAMES" --size "$SIZE" \
    --timeout-ms 3000 2>"$TEST_DIR/hostile.err") ||
    die "the flood's hostile run failed: $FLOOD_OUT $(tail -3 "$TEST_DIR/hostile.err")"
say "flood: $FLOOD_OUT"

# Another unit is served right after the flood.
drop health c1.json "$(clue_json medical 210302 "after the flood")"
wait_for 30 "health's clue at psb after the flood" files_at_least "$(spool psb)/out" '*.json' 2
sleep 3	# quiet: the trim after a burst of large frames
kill "$SAMPLER"
wait "$SAMPLER" 2>/dev/null || true
running broker || die "the broker died"
PEAK=$(sort -n "$TEST_DIR/anon.samples" | tail -1)
AFTER=$(anon_kb "$BPID")
say "broker RssAnon: peak $((PEAK / 1024)) MiB during the flood, $((AFTER / 1024)) MiB after" \
    "(baseline $((BASE / 1024)) MiB)"
[ $((PEAK - BASE)) -le $((PEAK_MB * 1024)) ] ||
    die "RssAnon rose by $(((PEAK - BASE) / 1024)) MiB during the flood (bound $PEAK_MB MiB)"
[ $((AFTER - BASE)) -le $((AFTER_MB * 1024)) ] ||
    die "RssAnon is $(((AFTER - BASE) / 1024)) MiB above its baseline after the flood" \
        "(bound $AFTER_MB MiB)"

stop_all
audit replay "$D/data" --json >"$TEST_DIR/replay.jsonl"
"$PY" - "$TEST_DIR/replay.jsonl" "$FRAMES" <<'EOF'
import json, sys
frames = int(sys.argv[2])
rejs = [e for e in map(json.loads, open(sys.argv[1]))
        if e["type"] == "rejection" and e.get("peer") == "market-regulation"]
assert 0 < len(rejs) < frames, (len(rejs), frames)
print("flood of %d frames: %d rejection entries" % (frames, len(rejs)))
EOF
audit verify "$D/data" >/dev/null || die "the log no longer verifies"
finish
