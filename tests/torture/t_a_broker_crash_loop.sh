#!/usr/bin/env bash
# Scenario a — crash loop of the broker. TORTURE_ROUNDS (50) times: a random pause of 0.05
# to 1.5 s, kill -9 of the broker, restart; all the while health's agent publishes a steady
# stream (the feeder drops TORTURE_RATE = 25 clues a second into its in/) that the broker
# routes to psb, ato and ato-210302, whose agents receive it. Then the feeder stops and
# everything drains. Asserts: every document dropped has exactly one receipt in health's
# sent/, each receipt's message is in the log exactly once at the receipt's seq, every
# recipient's out/ has each message exactly once, nothing is left pending or rejected,
# cluebus-audit verify passes, and every daemon stops cleanly (no sanitizer report).
. "$(dirname "$0")/lib.sh"

RATE=${TORTURE_RATE:-25}
RECIPIENTS="psb ato ato-210302"
deploy tcp
start_all health $RECIPIENTS
feeder_start health "$RATE"
say "seed $SEED: $ROUNDS rounds of kill -9 of the broker"

started=$SECONDS
outstanding=0	# kills that hit with work outstanding: publishes unanswered or
		# deliveries not yet in a recipient's out/
for ((round = 1; round <= ROUNDS; round++)); do
	random_pause
	busy=$(count_files "$(spool health)/pending")
	receipts=$(count_files "$(spool health)/sent" '*.receipt.json')
	behind=0
	for u in $RECIPIENTS; do
		c=$(count_files "$(spool "$u")/out")
		[ $((receipts - c)) -gt "$behind" ] && behind=$((receipts - c))
	done
	[ $((busy + behind)) -gt 0 ] && outstanding=$((outstanding + 1))
	kill9_broker
	say "kill -9 broker #$round after ${PAUSE_MS} ms: $busy publishes unanswered," \
	    "$receipts receipts, deliveries up to $behind behind"
	start_broker
done
loop_secs=$((SECONDS - started))
starts=$(log_count "$LOGS/broker.log" 'INFO cluebus-broker: started:')
assert_eq $((ROUNDS + 1)) "$starts" "broker starts"

feeder_stop
N=$FED
say "the feeder dropped $N clues; draining"
drain health "$N" 240 $RECIPIENTS
end_stream health "$N" $RECIPIENTS
check latency --feed "$FEED_LOG" --sent "$(spool health)/sent" | tee "$TEST_DIR/latency"
finish

result "$ROUNDS kill -9 of the broker in ${loop_secs} s (seed $SEED; $outstanding with" \
    "publishes unanswered or deliveries outstanding), $starts broker starts"
result "$N clues fed at $RATE/s, drained ${DRAIN_SECS} s after the last kill; ${ONCE#exactly once: }"
result "publish-to-receipt $(sed -n 's/^latency all *//p' "$TEST_DIR/latency")"
result "cluebus-audit verify: $VERIFY"
