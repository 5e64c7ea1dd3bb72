#!/usr/bin/env bash
# Referral deadlines and escalation, with the broker's test clock (CLUEBUS_TEST_CLOCK_FILE;
# test builds only) moved forward instead of sleeping:
#   R1 urgent referral to psb and civil-affairs; psb's receipt before the due time means
#      only civil-affairs escalates for its receipt, exactly once;
#   R1 civil-affairs feedback "transferred" to education: education now owes the receipt,
#      and it escalates at its own due time; civil-affairs' part is closed (no feedback
#      escalation for it);
#   R2 urgent referral to justice: the due time passes while the broker is down; it
#      escalates once after the restart, and not again after a kill -9 and restart;
#   R3 routine referral (receipt due in 72 h) to market-regulation, put under supervision
#      with a receipt due in 1 h: the tighter due time fires.
# Escalations go to the office and the referrer (both ato here), and remind the overdue
# unit: ato's out/ must hold exactly the expected set. A unit not under referral cannot send a receipt.
. "$(dirname "$0")/lib.sh"

export CLUEBUS_TEST_CLOCK_FILE=$TEST_DIR/clock
# The broker's clock starts on 2030-03-01 (+08:00), far from the calendar's due dates
# (config/broker.conf.example `duties`: 01-15, 07-15, 12-15), so that moving it by hours
# never makes a periodic report duty fall due in this test, whatever today's date.
BASE=$("$PY" -c 'import time, datetime
print(int((datetime.datetime.fromisoformat("2030-03-01T00:00:00+08:00").timestamp() - time.time()) * 1000))')
echo "$BASE" >"$CLUEBUS_TEST_CLOCK_FILE"
H=3600000
OFFSET=$BASE
# advance HOURS: moves the broker's clock forward.
advance() {
	OFFSET=$((OFFSET + $1 * H))
	echo "$OFFSET" >"$CLUEBUS_TEST_CLOCK_FILE.tmp"
	mv "$CLUEBUS_TEST_CLOCK_FILE.tmp" "$CLUEBUS_TEST_CLOCK_FILE"
}
# broker_time_rfc3339 PLUS_HOURS: the broker's now (+ hours) as RFC 3339.
broker_time_rfc3339() {
	"$PY" -c 'import sys, time, datetime
t = time.time() + (int(sys.argv[1]) + int(sys.argv[2]) * 3600000) / 1000
print(datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' \
	    "$OFFSET" "$1"
}

deploy ipc
if ! "$CLUEBUS_BIN/cluebus-broker" -c "$D/broker.conf" --check >/dev/null ||
    strings "$CLUEBUS_BIN/cluebus-broker" | grep -q 'production build: refusing'; then
	# A production build refuses the test clock; this test needs `make test`'s build.
	if ! strings "$CLUEBUS_BIN/cluebus-broker" | grep -q 'TEST CLOCK'; then
		say "SKIP: $CLUEBUS_BIN/cluebus-broker has no test clock (production build)"
		exit 0
	fi
fi
# A production build (make, bin/) refuses to run with the test clock at all.
if [ -x "$REPO/bin/cluebus-broker" ] && ! strings "$REPO/bin/cluebus-broker" | grep -q 'TEST CLOCK'; then
	rc=0
	"$REPO/bin/cluebus-broker" -c "$D/broker.conf" >"$TEST_DIR/prod.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && grep -q 'production build: refusing' "$TEST_DIR/prod.log" ||
	    die "the production broker did not refuse the test clock (status $rc)"
	say "production build refuses the test clock"
fi
UNITS="health ato psb civil-affairs education justice market-regulation"
start_all $UNITS

id() { printf '%032x' "$1"; }
CLUE=$(id 1); R1=$(id 11); R2=$(id 12); R3=$(id 13)

# sent UNIT NAME: the document was accepted (its receipt is in sent/).
sent() {
	wait_for 60 "$1's $2 to be accepted" files_at_least "$(spool "$1")/sent" "$2.receipt.json" 1
}
referral() {	# NAME ID PRIORITY UNITS_JSON
	drop ato "$1" "{\"kind\":\"referral\",\"message_id\":\"$2\",\"priority\":\"$3\",\
\"refers_to\":\"$CLUE\",\"case_ref\":\"AS-2026-7\",\"referral\":{\"to_units\":$4,\
\"action\":\"rescue\",\"note\":\"请核查\"}}"
	sent ato "$1"
}

drop health clue.json "$("$PY" - "$REPO/examples/json/clue-medical.json" "$CLUE" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["message_id"] = sys.argv[2]
print(json.dumps(doc, ensure_ascii=False))
PYEOF
)"
sent health clue.json

# --- R1: receipt in time for psb; civil-affairs misses it ---
referral r1.json "$R1" urgent '["psb","civil-affairs"]'
drop psb receipt-r1.json "{\"kind\":\"receipt\",\"refers_to\":\"$R1\",\"receipt\":{\"note\":\"已签收\"}}"
sent psb receipt-r1.json
# A unit the referral does not name cannot answer it.
drop education receipt-r1.json "{\"kind\":\"receipt\",\"refers_to\":\"$R1\",\"receipt\":{}}"
wait_for 60 "education's stray receipt to be rejected" files_at_least \
    "$(spool education)/rejected" 'receipt-r1.json.error.json' 1
grep -q 'no referral to this unit' "$(spool education)/rejected/receipt-r1.json.error.json" ||
    die "the stray receipt was rejected for another reason"

# The referral as civil-affairs sees it: the clue (never its summary, which only the clue's
# own recipients may read: SPEC §10), the case, who owes what by when.
"$PY" - "$(spool civil-affairs)/out" "$R1" "$CLUE" <<'PYEOF'
import json, os, sys
out, r1, clue = sys.argv[1:]
f = [n for n in os.listdir(out) if n.endswith("-referral-%s.json" % r1)]
assert len(f) == 1, os.listdir(out)
ctx = json.load(open(os.path.join(out, f[0])))["context"]
assert ctx["referral_id"] == r1 and ctx["case_ref"] == "AS-2026-7", ctx
assert ctx["clue"]["message_id"] == clue and ctx["clue"]["category"] == "medical", ctx
assert "summary" not in ctx["clue"], ctx["clue"]
units = {o["unit"]: o for o in ctx["obligations"]}
assert set(units) == {"psb", "civil-affairs"}, units
assert all(o["receipt_due_at"] and o["feedback_due_at"] for o in units.values()), units
assert {a["unit"] for a in ctx["awaiting"]} >= {"civil-affairs"}, ctx["awaiting"]
print("referral context ok")
PYEOF

advance 9	# urgent receipt due after 8 h
ESC=$(spool ato)/out
wait_for 60 "R1's escalation" files_at_least "$ESC" '*-escalation-*.json' 1

# --- R1 transfer: civil-affairs hands its part to education ---
drop civil-affairs fb-r1.json "{\"kind\":\"feedback\",\"refers_to\":\"$R1\",\
\"feedback\":{\"status\":\"transferred\",\"transferred_to\":[\"education\"],\"note\":\"转教育局安置入学\"}}"
sent civil-affairs fb-r1.json
wait_for 60 "the transfer to reach education" files_at_least "$(spool education)/out" \
    '*-feedback-*.json' 1

# --- R2: its due time passes while the broker is down ---
referral r2.json "$R2" urgent '["justice"]'
stop_broker
advance 9
start_broker
wait_for 60 "R2's escalation after the restart" files_at_least "$ESC" '*-escalation-*.json' 3
kill9_broker
start_broker

# --- R3: a supervision tightens the receipt due time from 72 h to 1 h ---
referral r3.json "$R3" routine '["market-regulation"]'
drop ato sup-r3.json "{\"kind\":\"supervision\",\"refers_to\":\"$R3\",\"supervision\":\
{\"level\":\"listed\",\"receipt_due_at\":\"$(broker_time_rfc3339 1)\",\"note\":\"挂牌督办\"}}"
sent ato sup-r3.json
# Only the office supervises.
drop psb sup-r3.json "{\"kind\":\"supervision\",\"refers_to\":\"$R3\",\"supervision\":{\"level\":\"supervise\"}}"
wait_for 60 "psb's supervision to be refused" files_at_least "$(spool psb)/rejected" \
    'sup-r3.json.error.json' 1
advance 2
wait_for 60 "R3's escalation at the tighter due time" files_at_least "$ESC" \
    '*-escalation-*.json' 4
# Give a wrong extra escalation every chance to appear before counting.
advance 1
sleep 1
stop_broker
start_broker
sleep 1

"$PY" - "$ESC" "$R1" "$R2" "$R3" <<'PYEOF'
import collections, json, os, sys
out, r1, r2, r3 = sys.argv[1:]
got = collections.Counter()
for n in os.listdir(out):
    if "-escalation-" not in n:
        continue
    doc = json.load(open(os.path.join(out, n)))
    assert doc["sender"] == "broker" and doc["signature"]["agent_check"] == "verified", doc
    e = doc["message"]["escalation"]
    assert doc["message"]["refers_to"] == e["referral_id"], doc["message"]
    assert doc["message"]["case_ref"] == "AS-2026-7", doc["message"]
    # The office and referrer (ato), and a reminder to the overdue unit.
    assert sorted(doc["recipients"]) == sorted(["ato", e["unit"]]), doc["recipients"]
    assert e["reminder"] is True, e
    got[(e["referral_id"], e["unit"], e["missed"])] += 1
want = collections.Counter({
    (r1, "civil-affairs", "receipt"): 1,
    (r1, "education", "receipt"): 1,
    (r2, "justice", "receipt"): 1,
    (r3, "market-regulation", "receipt"): 1,
})
assert got == want, "escalations: got %s, want %s" % (dict(got), dict(want))
print("escalations ok:", len(want))
PYEOF
# The auditor's view of the same history, from the log alone: the case timeline shows the
# four escalations and psb's receipt; the period's statistics count them as overdue.
stop_broker
audit case "$D/data" AS-2026-7 --json >"$TEST_DIR/case.json"
audit stats "$D/data" --json >"$TEST_DIR/stats.json"
"$PY" - "$TEST_DIR/case.json" "$TEST_DIR/stats.json" "$R1" <<'PYEOF'
import json, sys
case = json.load(open(sys.argv[1]))
stats = json.load(open(sys.argv[2]))
r1 = sys.argv[3]
kinds = [e["kind"] for e in case["events"]]
assert kinds.count("escalation") == 4, kinds
assert kinds.count("referral") == 3 and kinds.count("supervision") == 1, kinds
ref = [e for e in case["events"] if e["kind"] == "referral" and e["message_id"] == r1][0]
duties = {d["unit"]: d for d in ref["duties"]}
assert duties["psb"]["receipt"]["state"] == "done", duties["psb"]
assert duties["civil-affairs"]["receipt"]["escalated"], duties["civil-affairs"]
assert duties["education"]["transferred_from"] == "civil-affairs", duties["education"]
text = json.dumps(stats)
assert "civil-affairs" in text and "market-regulation" in text, "stats lack the units"
print("audit case/stats ok")
PYEOF
audit verify "$D/data"
finish
