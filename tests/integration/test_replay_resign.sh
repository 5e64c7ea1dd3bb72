#!/usr/bin/env bash
# Messages that wait out a broker outage longer than the replay window are signed again by
# the agent (same message id, fresh creation time) and accepted, not refused as replays:
# the broker's window is 2 s here, the agent re-signs what is older than 1 s, and the
# broker is down for 4 s while 20 clues are stored. Every clue is then logged exactly once
# and reaches its recipients, and nothing was rejected.
. "$(dirname "$0")/lib.sh"

BROKER_TUNING="clock_skew_ms = 2000;" deploy ipc
start_broker
for u in health psb ato ato-210302; do
	agent_conf "$u" "resign_after_ms = 1000;"
	start_agent "$u"
done
wait_connected health psb ato ato-210302
stop_broker
drop_clues health 20 medical 210302
wait_for 60 "health to store the clues" files_at_least "$(spool health)/pending" '*.json' 20
sleep 4	# longer than the broker's 2 s window: the stored signatures are now too old
start_broker
wait_for 120 "20 receipts" files_at_least "$(spool health)/sent" '*.receipt.json' 20
for u in psb ato ato-210302; do
	wait_for 120 "20 deliveries to $u" files_at_least "$(spool "$u")/out" '*.json' 20
done
assert_eq 0 "$(count_files "$(spool health)/rejected")" "rejected documents"
stop_broker
assert_exactly_once health 20 ato psb ato-210302
audit verify "$D/data"
finish
