#!/usr/bin/env bash
# The broker under injected store failures (test builds: CLUEBUS_TEST_FAIL_WRITE / _COMMIT):
# a failing log write, then (after a restart) a failing commit, in the middle of 40 clues.
# The failed round is answered "unavailable", its messages are not logged, the agent
# retries them, and in the end every clue is logged and delivered exactly once and the log
# verifies; the broker never stops.
. "$(dirname "$0")/lib.sh"

if ! strings "$CLUEBUS_BIN/cluebus-broker" | grep -q 'CLUEBUS_TEST_FAIL_COMMIT'; then
	say "SKIP: $CLUEBUS_BIN/cluebus-broker is a production build (no fault injection)"
	exit 0
fi
deploy ipc
for u in health psb ato ato-210302; do
	agent_conf "$u"
done
# The first start writes the genesis entries; the counters start again with each process,
# and a restart appends nothing, so the Nth write or commit below falls among the clues.
start_broker
stop_broker
CLUEBUS_TEST_FAIL_WRITE=7 start_broker
for u in health psb ato ato-210302; do
	start_agent "$u"
done
wait_connected health psb ato ato-210302
drop_clues health 20 medical 210302
wait_for 120 "the first 20 receipts" files_at_least "$(spool health)/sent" '*.receipt.json' 20
log_count_gt "$LOGS/broker.log" 'append (injected)' 0 || die "no write failure was injected"
stop_broker
# The agents acknowledge in batches, so a whole phase takes only a few commits: fail the
# first one after the restart (the clues' round, or an acknowledgement round before it).
CLUEBUS_TEST_FAIL_COMMIT=1 start_broker
stage=$D/stage2
mkdir -p "$stage"
for i in $(seq 21 40); do
	clue_json medical 210302 "clue $i" >"$stage/clue-$(printf '%05d' "$i").json"
done
find "$stage" -name 'clue-*.json' -exec mv -t "$(spool health)/in/" {} +
wait_for 120 "all 40 receipts" files_at_least "$(spool health)/sent" '*.receipt.json' 40
# The failed round may be one of acknowledgements, after the receipts.
wait_for 60 "an injected commit failure" \
    log_count_gt "$LOGS/broker.log" 'commit (injected)\|commit: MDB_PANIC' 0
for u in psb ato ato-210302; do
	wait_for 120 "40 deliveries to $u" files_at_least "$(spool "$u")/out" '*.json' 40
done
stop_broker
assert_exactly_once health 40 ato psb ato-210302
audit verify "$D/data"
finish
