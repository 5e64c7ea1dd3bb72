#!/usr/bin/env bash
# Scenario e — a full disk, as a full LMDB map: the broker runs with map_size_mb = 1
# (BROKER_TUNING) while health's agent publishes TORTURE_FULL_DOCS = 3,000 clues (to psb,
# ato and ato-210302, whose agents stay offline until the end) until the map is full: the
# broker refuses new messages ("unavailable") once the log comes within its reserve of the
# ceiling (broker/limits.c), or a round hits MDB_MAP_FULL and is aborted.
# Asserts, once no receipt has come for 5 s: the broker still runs; it did say the log is
# at its ceiling (or hit MDB_MAP_FULL); nothing was refused for good (rejected/ is empty); every document is either
# receipted or still pending (in/ + pending/ = dropped - receipts: nothing lost); the log
# holds every receipted message at the receipt's seq, and verifies. Then a kill -9
# and a restart with the same full map: it must start again. Then a clean stop and a
# restart with map_size_mb = 64: every pending clue goes through, and the whole run is
# exactly once (one receipt per document, each message once in the log and in every
# recipient's out/) and the log verifies.
. "$(dirname "$0")/lib.sh"

N=${TORTURE_FULL_DOCS:-3000}
RECIPIENTS="psb ato ato-210302"
BROKER_TUNING="map_size_mb = 1;"
deploy tcp
start_broker
# The recipients stay offline until the map is bigger: their backlogs stay on disk while the
# map fills (acknowledged deliveries would free pages and let the log fit).
start_agent health
wait_connected health
SENT=$(spool health)/sent

fast_drop health "$N"
# Full: the map refused a write, and no receipt came for 5 s since.
last=-1
still=0
full() {
	local r
	r=$(count_files "$SENT" '*.receipt.json')
	[ "$r" -lt "$N" ] || die "all $N clues fitted in the 1 MiB map: raise TORTURE_FULL_DOCS"
	if [ "$r" -eq "$last" ]; then
		still=$((still + 1))
	else
		still=0
		last=$r
	fi
	[ "$still" -ge 50 ] && { log_count_gt "$LOGS/broker.log" "at its size ceiling" 0 ||
	    log_count_gt "$LOGS/broker.log" MDB_MAP_FULL 0; }
}
start=$SECONDS
wait_for 300 "the 1 MiB map to fill up" full
R=$(count_files "$SENT" '*.receipt.json')
fill_secs=$((SECONDS - start))
running broker || die "the broker died when its map filled up"
map_full=$(log_count "$LOGS/broker.log" MDB_MAP_FULL)
ceiling=$(log_count "$LOGS/broker.log" "at its size ceiling")
aborted=$(log_count "$LOGS/broker.log" 'the round is aborted')
left=$(($(count_files "$(spool health)/in") + $(count_files "$(spool health)/pending")))
assert_eq 0 "$(count_files "$(spool health)/rejected")" "documents refused for good"
assert_eq $((N - R)) "$left" "documents still in in/ or pending/"
replay_json "$TEST_DIR/replay-full.jsonl"
"$PY" - "$TEST_DIR/replay-full.jsonl" "$SENT" <<'EOF'
import json, os, sys
replay, sent = sys.argv[1], sys.argv[2]
msgs = {}
for line in open(replay):
    e = json.loads(line)
    if e["type"] == "message":
        assert e["message_id"] not in msgs, "message %s logged twice" % e["message_id"]
        msgs[e["message_id"]] = e["seq"]
receipts = {}
for f in os.listdir(sent):
    if f.endswith(".receipt.json"):
        r = json.load(open(os.path.join(sent, f)))
        receipts[r["message_id"]] = r["seq"]
# Every receipt names a logged message at its seq (nothing accepted was lost). A message
# logged without a receipt yet is one whose answer is still to come (it was resent into
# rounds that failed): at most a window's worth, and the final check covers it.
wrong = {m: s for m, s in receipts.items() if msgs.get(m) != s}
assert not wrong, "receipts not in the log at their seq: %s" % list(wrong.items())[:5]
unanswered = len(msgs) - len(receipts)
assert 0 <= unanswered <= 256, "%d logged messages without a receipt" % unanswered
print("full map: %d messages logged, %d receipts, each at its logged seq; %d logged "
      "messages still to be answered" % (len(msgs), len(receipts), unanswered))
EOF
verify_full=$(audit verify "$D/data")
echo "$verify_full"
size=$(stat -c %s "$D/data/data.mdb")
result "1 MiB map full after ${fill_secs} s: $R of $N clues accepted, $left pending," \
    "0 refused; data.mdb $size bytes; the ceiling said $ceiling times, MDB_MAP_FULL hit" \
    "$map_full times, $aborted rounds aborted (answered unavailable); broker still running"
result "the full log: $verify_full"

# A crash while full, and a restart with the same full map.
kill9_broker
start_broker
sleep 3
running broker || die "the broker did not survive a restart on its full map"
R2=$(count_files "$SENT" '*.receipt.json')
stop_broker
result "kill -9 and restart on the full map: started, $((R2 - R)) more accepted in 3 s," \
    "stopped cleanly"

# A bigger map: everything pending goes through, exactly once.
sed -i 's/map_size_mb = 1;/map_size_mb = 64;/' "$D/broker.conf"
grep -q 'map_size_mb = 64;' "$D/broker.conf" || die "broker.conf: map_size_mb not changed"
start_broker
for u in $RECIPIENTS; do
	start_agent "$u"
done
drain health "$N" 300 $RECIPIENTS
end_stream health "$N" $RECIPIENTS
finish

result "restart with map_size_mb = 64: the $((N - R2)) pending clues drained in ${DRAIN_SECS} s;" \
    "${ONCE#exactly once: }"
result "cluebus-audit verify: $VERIFY"
