#!/usr/bin/env bash
# kill -9 of a receiving agent between its flush (the watermark durable, the batch acked)
# and showing the batch in out/ (a test build's CLUEBUS_TEST_KILL_AFTER_FLUSH): the files
# it had made durable under hidden names are shown at its next start, and every message
# reaches out/ exactly once; a message the agency took out of out/ before the crash does
# not come back; no hidden file is left.
. "$(dirname "$0")/lib.sh"

N=200
RECIPIENTS="psb ato ato-210302"
deploy ipc
start_broker
for u in health ato ato-210302; do
	start_agent "$u"
done
CLUEBUS_TEST_KILL_AFTER_FLUSH=2 start_agent psb
wait_connected health $RECIPIENTS
OUT=$(spool psb)/out

drop_clues health "$N" medical 210302
PSB_PID=$(proc_pid agent-psb)
proc_forget agent-psb	# its death is expected: not a daemon that died
wait_for 120 "psb's agent to kill itself after its second flush" proc_gone "$PSB_PID" ||
    die "psb's agent did not reach the test hook"
wait "$PSB_PID" 2>/dev/null || true
log_count_gt "$LOGS/agent-psb.log" 'test hook: kill -9 after flush 2' 0 ||
    die "psb's agent died, but not at the test hook"
hidden=$(find "$OUT" -maxdepth 1 -name '.0*.json.tmp*' | wc -l)
[ "$hidden" -gt 0 ] || die "no hidden file in psb's out/ after the kill"
# The agency takes the oldest visible file away before the restart: it must not return.
taken=$(find "$OUT" -maxdepth 1 -name '0*.json' | sort | head -1)
[ -n "$taken" ] || die "nothing shown in psb's out/ before the kill"
mv "$taken" "$TEST_DIR/"
say "killed with $hidden hidden files in out/; took $(basename "$taken") away"
start_agent psb
log_count_gt "$LOGS/agent-psb.log" "showed $hidden message" 0 ||
    die "the restarted agent did not show the $hidden hidden files"

for u in $RECIPIENTS; do
	want=$N
	[ "$u" != psb ] || want=$((N - 1))
	wait_for 120 "$want messages in $u's out/" files_at_least "$(spool "$u")/out" '*.json' \
	    "$want"
done
sleep 0.5	# a short grace period in which a duplicate could still land
[ "$(find "$OUT" -maxdepth 1 -name '.*.tmp*' | wc -l)" -eq 0 ] ||
    die "hidden files left in psb's out/"
[ ! -e "$OUT/$(basename "$taken")" ] || die "the file the agency took came back"
mv "$TEST_DIR/$(basename "$taken")" "$OUT/"	# for the exactly-once count

stop_broker
assert_exactly_once health "$N" $RECIPIENTS
audit verify "$D/data"
finish
