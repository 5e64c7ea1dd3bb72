#!/usr/bin/env bash
# kill -9 of the broker, four times while 1,000 clues flow from health to psb, ato and
# ato-210302 (after 100 receipts, again during the reconnection storm that follows that
# restart, after 350 and after 600 receipts; each time with receipts or deliveries still
# outstanding), each time restarted: every clue is logged exactly once, health gets
# exactly one receipt per document, every recipient gets every message exactly once, and
# the log verifies.
. "$(dirname "$0")/lib.sh"

N=1000
RECIPIENTS="psb ato ato-210302"
deploy tcp
start_all health $RECIPIENTS

drop_clues health "$N" medical 210302
SENT=$(spool health)/sent
kills=0
# crash: kill -9 the broker while work is outstanding (receipts or deliveries missing),
# then start it again.
crash() {
	local progress="" outstanding=0 u c
	c=$(count_files "$SENT" '*.receipt.json')
	progress="health receipts $c"
	[ "$c" -ge "$N" ] || outstanding=1
	for u in $RECIPIENTS; do
		c=$(count_files "$(spool "$u")/out" '*.json')
		progress="$progress, $u $c"
		[ "$c" -ge "$N" ] || outstanding=1
	done
	[ "$outstanding" -eq 1 ] ||
	    die "everything had arrived before kill -9 number $((kills + 1)): $progress"
	kill9_broker
	kills=$((kills + 1))
	say "kill -9 broker #$kills at $progress"
	start_broker
}
for at in 100 350 600; do
	wait_for 180 "$at receipts" files_at_least "$SENT" '*.receipt.json' "$at"
	crash
	if [ "$at" -eq 100 ]; then
		sleep 0.3	# the agents are reconnecting and resending their windows
		crash
	fi
done
assert_eq 5 "$(log_count "$LOGS/broker.log" 'INFO cluebus-broker: started:')" "broker starts"

drain health "$N" 240 $RECIPIENTS
end_stream health "$N" $RECIPIENTS
finish
