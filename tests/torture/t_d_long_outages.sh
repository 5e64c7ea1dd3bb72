#!/usr/bin/env bash
# Scenario d — long outages.
#
# 1. The broker is stopped while TORTURE_OUTAGE = 3,000 clues are dropped into health's
#    in/: its agent takes every one into its outbox (pending/) and keeps trying a broker
#    that is not there for TORTURE_OUTAGE_SECONDS (10) more. The broker comes back:
#    every clue is logged exactly once, health has exactly one receipt each, and psb, ato
#    and ato-210302 each get every one exactly once.
# 2. psb and ato go offline (their agents stopped) while TORTURE_BACKLOG = 100,000 messages
#    from education (a fast, valid burst: category "other" in 210300, routed to psb and
#    ato) accumulate in their backlogs. psb's agent starts and catches up completely: its
#    out/ holds every message the log routes to it exactly once, received in strictly
#    increasing seq order; ato's backlog stays on disk. The log verifies.
. "$(dirname "$0")/lib.sh"

OUTAGE=${TORTURE_OUTAGE:-3000}
OUTAGE_SECONDS=${TORTURE_OUTAGE_SECONDS:-10}
BACKLOG=${TORTURE_BACKLOG:-100000}
RECIPIENTS="psb ato ato-210302"

deploy tcp
start_all health $RECIPIENTS

# ---- 1. the broker is down while 3,000 clues queue up ----
stop_broker
down=$SECONDS
fast_drop health "$OUTAGE"
taken() {
	[ "$(count_files "$(spool health)/in")" -eq 0 ] &&
	    [ "$(count_files "$(spool health)/pending")" -ge "$OUTAGE" ]
}
wait_for 300 "health to take all $OUTAGE clues into its outbox" taken
queued_after=$((SECONDS - down))
sleep "$OUTAGE_SECONDS"
assert_eq 0 "$(count_files "$(spool health)/sent" '*.receipt.json')" "receipts while the broker is down"
outage=$((SECONDS - down))
start_broker
drain health "$OUTAGE" 300 $RECIPIENTS
once=$(assert_exactly_once health "$OUTAGE" $RECIPIENTS)
echo "$once"
result "broker down ${outage} s while $OUTAGE clues queued (all in health's outbox after" \
    "${queued_after} s); after the restart drained in ${DRAIN_SECS} s: ${once#exactly once: }"

# ---- 2. psb and ato offline while 20,000 messages accumulate ----
stop_agent psb
stop_agent ato
burst=$("$HOSTILE" --endpoint "$ENDPOINT" --key "$D/keys/education.key" --mode burst \
    --count "$BACKLOG" --category other --jurisdiction 210300 --prefix backlog \
    --timeout-ms 30000)
echo "$burst"
result "psb and ato offline; $BACKLOG messages accumulated in their backlogs: $burst"
before=$(count_files "$(spool psb)/out")
start=$SECONDS
start_agent psb
wait_for 600 "psb to catch up on $BACKLOG messages" files_at_least "$(spool psb)/out" '*.json' \
    $((before + BACKLOG))
catchup=$((SECONDS - start))
sleep 0.5	# a short grace period in which a duplicate could still land
stop_broker

replay_json "$TEST_DIR/replay.jsonl"
check exactly-once --replay "$TEST_DIR/replay.jsonl" --spools "$D/spool" \
    --sender "health:clue:$OUTAGE" --sender "education:backlog:$BACKLOG" --publisher health \
    --recipient psb --recipient ato-210302 --in-order "psb:$LOGS/agent-psb.log" |
    tee "$TEST_DIR/once"
verify=$(audit verify "$D/data")
echo "$verify"
finish

result "psb caught up on $BACKLOG messages in ${catchup} s" \
    "($((BACKLOG / (catchup > 0 ? catchup : 1))) per second), $(head -1 "$TEST_DIR/once")"
result "$(tail -1 "$TEST_DIR/once")"
result "cluebus-audit verify: $verify"
