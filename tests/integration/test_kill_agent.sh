#!/usr/bin/env bash
# kill -9 of agents while 1,000 clues flow from health to psb, ato and ato-210302: the
# publisher (health) twice and a recipient (psb) twice, each restarted: every clue is
# logged exactly once, health gets exactly one receipt per document, every recipient gets
# every message exactly once, and the log verifies.
. "$(dirname "$0")/lib.sh"

N=1000
RECIPIENTS="psb ato ato-210302"
deploy ipc
start_all health $RECIPIENTS

drop_clues health "$N" medical 210302
SENT=$(spool health)/sent
PSB_OUT=$(spool psb)/out

# crash UNIT DIR GLOB: kill -9 UNIT's agent (while DIR holds fewer than N files matching
# GLOB, i.e. mid-stream) and start it again.
crash() {
	local unit=$1 have
	have=$(count_files "$2" "$3")
	[ "$have" -lt "$N" ] || die "the stream ended before the kill -9 of $unit"
	kill9_agent "$unit"
	say "kill -9 agent $unit at $have of $N"
	start_agent "$unit"
}
wait_for 180 "150 receipts" files_at_least "$SENT" '*.receipt.json' 150
crash health "$SENT" '*.receipt.json'
wait_for 180 "300 messages at psb" files_at_least "$PSB_OUT" '*.json' 300
crash psb "$PSB_OUT" '*.json'
wait_for 180 "550 receipts" files_at_least "$SENT" '*.receipt.json' 550
crash health "$SENT" '*.receipt.json'
wait_for 180 "750 messages at psb" files_at_least "$PSB_OUT" '*.json' 750
crash psb "$PSB_OUT" '*.json'

drain health "$N" 240 $RECIPIENTS
end_stream health "$N" $RECIPIENTS
finish
