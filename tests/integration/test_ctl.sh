#!/usr/bin/env bash
# cluebus-ctl's read-only queries against a running broker, each in text and in JSON:
#   status   the log head it reports is the log's (cluebus-audit), the counters are what
#            was sent (8 messages accepted), it says it accepts;
#   units    psb, whose agent was stopped, is offline and was seen; health is online
#            with a session; never-connected units were never seen;
#   backlog  psb's depth grows by exactly the 5 clues published while it was offline,
#            with the age of the oldest;
#   overdue  the referral's receipt that civil-affairs missed (the broker's test clock
#            moved 9 h) is listed with its referral and case ids; psb's, received in
#            time, is not;
#   registry list  every unit with its Chinese name.
# The broker's log lines for the referral, the receipt and the escalation carry the
# referral id and the case id.
# No query needs the admin key; a usage error exits 2.
. "$(dirname "$0")/lib.sh"

export CLUEBUS_TEST_CLOCK_FILE=$TEST_DIR/clock
# The broker's clock starts on 2030-03-01 (+08:00), far from the calendar's due dates
# (config/broker.conf.example `duties`: 01-15, 07-15, 12-15), so that moving it by hours
# never makes a periodic report duty fall due in this test, whatever today's date.
BASE=$("$PY" -c 'import time, datetime
print(int((datetime.datetime.fromisoformat("2030-03-01T00:00:00+08:00").timestamp() - time.time()) * 1000))')
echo "$BASE" >"$CLUEBUS_TEST_CLOCK_FILE"
if ! strings "$CLUEBUS_BIN/cluebus-broker" | grep -q 'TEST CLOCK'; then
	say "SKIP: $CLUEBUS_BIN/cluebus-broker has no test clock (production build)"
	exit 0
fi
BROKER_TUNING="peer_timeout_ms = 3000;" deploy ipc	# offline after 3 missed heartbeats
start_all health ato psb civil-affairs
ctl() { "$CLUEBUS_BIN/cluebus-ctl" -c "$D/broker.conf" "$@"; }
json() { ctl --json "$@" >"$TEST_DIR/$1.json" || die "ctl --json $* failed"; }
sent() {
	wait_for 60 "$1's $2 to be accepted" files_at_least "$(spool "$1")/sent" "$2.receipt.json" 1
}

CLUE=$(printf '%032x' 1); R1=$(printf '%032x' 11)
drop health clue.json "$("$PY" - "$REPO/examples/json/clue-medical.json" "$CLUE" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["message_id"] = sys.argv[2]
print(json.dumps(doc, ensure_ascii=False))
PYEOF
)"
sent health clue.json
drop ato r1.json "{\"kind\":\"referral\",\"message_id\":\"$R1\",\"priority\":\"urgent\",\
\"refers_to\":\"$CLUE\",\"case_ref\":\"AS-2026-7\",\"referral\":{\"to_units\":[\"psb\",\
\"civil-affairs\"],\"action\":\"rescue\",\"note\":\"请核查\"}}"
sent ato r1.json
drop psb receipt.json "{\"kind\":\"receipt\",\"refers_to\":\"$R1\",\"receipt\":{\"note\":\"已签收\"}}"
sent psb receipt.json
echo $((BASE + 9 * 3600000)) >"$CLUEBUS_TEST_CLOCK_FILE.tmp"
mv "$CLUEBUS_TEST_CLOCK_FILE.tmp" "$CLUEBUS_TEST_CLOCK_FILE"	# urgent receipt: 8 h
wait_for 60 "the escalation" files_at_least "$(spool ato)/out" '*-escalation-*.json' 1

# psb goes offline; 5 clues wait for it.
stop_agent psb
psb_offline() { ctl units | grep -Eq '^psb +offline '; }
wait_for 30 "psb shown offline" psb_offline
json backlog
BEFORE=$("$PY" -c 'import json,sys; print([u for u in json.load(open(sys.argv[1])) if u["unit"] == "psb"][0]["depth"])' "$TEST_DIR/backlog.json")
for i in 1 2 3 4 5; do
	drop health "c$i.json" "$(clue_json medical 210302 "clue $i")"
done
wait_for 60 "5 more receipts" files_at_least "$(spool health)/sent" 'c*.json.receipt.json' 5

# Acks still come in: the log head may move while we ask, never backwards.
audit replay "$D/data" --json | tail -1 >"$TEST_DIR/head0.json"
json status; json units; json backlog; json overdue; json registry list
audit replay "$D/data" --json | tail -1 >"$TEST_DIR/head.json"
"$PY" - "$TEST_DIR" "$BEFORE" "$R1" <<'EOF'
import json, sys
d, before, r1 = sys.argv[1], int(sys.argv[2]), sys.argv[3]
load = lambda n: json.load(open("%s/%s.json" % (d, n)))
st, units, backlog, overdue, reg = (load(n) for n in ("status", "units", "backlog", "overdue", "registry"))
head0, head = load("head0"), load("head")
assert head0["seq"] <= st["log_head_seq"] <= head["seq"], (head0["seq"], st["log_head_seq"], head["seq"])
assert len(st["log_head_hash"]) == 64 and st["accepting"] is True, st
ck = st["checkpoint"]
assert 0 < ck["tree_size"] <= st["log_head_seq"] and ck["signed_at"], ck
assert ck["entries_after"] == st["log_head_seq"] - ck["tree_size"], (ck, st["log_head_seq"])
c = st["counters"]
assert c["accepted"] == 8, c		# clue, referral, receipt, 5 clues
assert c["accepted_by_kind"] == {"clue": 6, "referral": 1, "receipt": 1}, c["accepted_by_kind"]
assert st["map"]["used_bytes"] > 0 and st["disk"]["free_bytes"] > 0, st
u = {x["unit"]: x for x in units}
assert u["psb"]["online"] is False and u["psb"]["last_seen"] is not None, u["psb"]
assert u["psb"]["name"] == "市公安局", u["psb"]
assert u["health"]["online"] is True and u["health"]["sessions"] >= 1, u["health"]
assert len(u["health"]["sign_key_id"]) == 16, u["health"]
r = {x["unit"]: x for x in reg}
assert len(r["health"]["seal_key_id"]) == 16, r["health"]	# from the registry file
assert r["broker"]["seal_key_id"] is None, r["broker"]		# the broker seals nothing
assert u["justice"]["online"] is False and u["justice"]["last_seen"] is None, u["justice"]
b = {x["unit"]: x for x in backlog}
assert b["psb"]["depth"] == before + 5, (before, b["psb"])
assert b["psb"]["oldest_age_s"] is not None and b["psb"]["oldest_age_s"] >= 0, b["psb"]
assert b["health"]["depth"] == 0, b["health"]
assert [(o["unit"], o["duty"], o["referral_id"], o["case_ref"]) for o in overdue] == \
    [("civil-affairs", "receipt", r1, "AS-2026-7")], overdue
assert overdue[0]["overdue_s"] >= 3600 - 60, overdue
r = {x["unit"]: x for x in reg}
assert r["psb"]["name"] == "市公安局" and r["ato-210302"]["division_code"] == "210302", r
print("ctl JSON: head %d, psb backlog %d, %d overdue" % (st["log_head_seq"], b["psb"]["depth"], len(overdue)))
EOF

# The same in text: tables with the Chinese names.
ctl status >"$TEST_DIR/status.txt" || die "ctl status failed"
grep -q "^log head       seq [0-9]*, hash [0-9a-f]\{64\}$" "$TEST_DIR/status.txt" ||
    die "ctl status: $(cat "$TEST_DIR/status.txt")"
grep -q '^accepting      yes' "$TEST_DIR/status.txt" || die "ctl status: not accepting?"
grep -q '^checkpoint     tree size [1-9][0-9]*, signed 20[0-9-]*T' "$TEST_DIR/status.txt" ||
    die "ctl status: no checkpoint line: $(cat "$TEST_DIR/status.txt")"
ctl units | grep -Eq '^psb +offline .*市公安局$' || die "ctl units: psb not offline"
ctl units | grep -Eq '^health +online ' || die "ctl units: health not online"
ctl backlog | grep -Eq "^psb +$((BEFORE + 5)) .*市公安局$" || die "ctl backlog: $(ctl backlog)"
ctl overdue | grep -Eq "^$R1 +AS-2026-7 +civil-affairs +receipt " || die "ctl overdue: $(ctl overdue)"
ctl overdue | grep -q '(1 overdue)' || die "ctl overdue lists more than one duty"
ctl registry list | grep -Eq '^ato-210302 +district_office +210302 +[0-9a-f]{16} +[0-9a-f]{16} ' ||
    die "ctl registry list: $(ctl registry list)"
for pattern in "INFO cluebus-broker: referral $R1 (case AS-2026-7): civil-affairs owes receipt" \
    "INFO cluebus-broker: receipt [0-9a-f]\{32\}: psb took charge of referral $R1 (case AS-2026-7)" \
    "WARN cluebus-broker: escalation: referral $R1 (case AS-2026-7): civil-affairs missed the receipt due (referrer ato)"; do
	grep -q "$pattern" "$LOGS/broker.log" || die "no log line /$pattern/"
done
rc=0; ctl bogus >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "exit status of an unknown command"
say "ctl text: $(head -2 "$TEST_DIR/status.txt" | tr '\n' '|')"
finish
