#!/usr/bin/env bash
# Scenario b — crash loop of agents. TORTURE_ROUNDS (50) times: a random pause of 0.05 to
# 1.5 s, kill -9 of an agent, restart; odd rounds kill the sender (health), even rounds a
# recipient (psb, ato, ato-210302 in turn), while the feeder drops TORTURE_RATE = 25 clues
# a second into health's in/. Then everything drains. Asserts what scenario a asserts:
# one receipt per document, each message once in the log and once in every recipient's
# out/, nothing pending or rejected, the log verifies, clean shutdown.
. "$(dirname "$0")/lib.sh"

RATE=${TORTURE_RATE:-25}
RECIPIENTS=(psb ato ato-210302)
deploy tcp
start_all health "${RECIPIENTS[@]}"
feeder_start health "$RATE"
say "seed $SEED: $ROUNDS rounds of kill -9 of an agent"

declare -A kills
started=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then
		unit=health
	else
		unit=${RECIPIENTS[$(((round / 2 - 1) % 3))]}
	fi
	random_pause
	kill9_agent "$unit"
	kills[$unit]=$((${kills[$unit]:-0} + 1))
	say "kill -9 agent $unit #${kills[$unit]} after ${PAUSE_MS} ms" \
	    "($(count_files "$(spool health)/sent" '*.receipt.json') receipts," \
	    "psb has $(count_files "$(spool psb)/out")"
	start_agent "$unit"
done
loop_secs=$((SECONDS - started))

feeder_stop
N=$FED
say "the feeder dropped $N clues; draining"
drain health "$N" 240 "${RECIPIENTS[@]}"
end_stream health "$N" "${RECIPIENTS[@]}"
check latency --feed "$FEED_LOG" --sent "$(spool health)/sent" | tee "$TEST_DIR/latency"
finish

result "$ROUNDS kill -9 of agents in ${loop_secs} s (seed $SEED): health ${kills[health]}," \
    "psb ${kills[psb]:-0}, ato ${kills[ato]:-0}, ato-210302 ${kills[ato-210302]:-0}"
result "$N clues fed at $RATE/s, drained ${DRAIN_SECS} s after the last kill; ${ONCE#exactly once: }"
result "publish-to-receipt $(sed -n 's/^latency all *//p' "$TEST_DIR/latency")"
result "cluebus-audit verify: $VERIFY"
