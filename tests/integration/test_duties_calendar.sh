#!/usr/bin/env bash
# The calendar's report duties (seed Art 7, 38) with the real binaries and the broker's test
# clock (CLUEBUS_TEST_CLOCK_FILE; test builds only), set to fixed dates of 2030-2031 before
# the broker first starts, so the outcome does not depend on today's date:
#   2030-12-01  the first start opens the 2030 self-evaluation of each of the 32 member units
#               (due by 12-15) and the 2030 H2 situation analysis of each office (due
#               2031-01-15); health sends its self-evaluation, which goes to ato;
#   2030-12-16  the 31 others are escalated, each once: ato gets 31, psb (a reminder) its own,
#               health none; `cluebus-ctl overdue --json` lists the 31;
#   kill -9, restart, 2031-01-16: the eight offices' analyses escalate (ato's own, and the
#               seven district offices', owed to ato); once they are in, ato still holds
#               exactly 31 self-evaluation escalations: none was repeated.
. "$(dirname "$0")/lib.sh"

export CLUEBUS_TEST_CLOCK_FILE=$TEST_DIR/clock
# clock_at RFC3339: moves the broker's clock to that time (only ever forward).
clock_at() {
	"$PY" -c 'import sys, time, datetime
t = datetime.datetime.fromisoformat(sys.argv[1]).timestamp()
print(int((t - time.time()) * 1000))' "$1" >"$CLUEBUS_TEST_CLOCK_FILE.tmp"
	mv "$CLUEBUS_TEST_CLOCK_FILE.tmp" "$CLUEBUS_TEST_CLOCK_FILE"
}
if ! strings "$CLUEBUS_BIN/cluebus-broker" | grep -q 'TEST CLOCK'; then
	say "SKIP: $CLUEBUS_BIN/cluebus-broker has no test clock (production build)"
	exit 0
fi
clock_at 2030-12-01T00:00:00+08:00
deploy ipc
start_all ato health psb ato-210302
ESC=$(spool ato)/out

drop health se.json '{"kind":"report","report":{"type":"self_evaluation","title":"市卫生健康委2030年度反拐工作自评报告","text":"本年度报告线索2条。"}}'
wait_for 60 "health's self-evaluation at ato" files_at_least "$ESC" '*-report-*.json' 1

clock_at 2030-12-16T00:00:01+08:00
wait_for 60 "31 self-evaluation escalations" files_at_least "$ESC" '*-escalation-*.json' 31
wait_for 60 "psb's reminder" files_at_least "$(spool psb)/out" '*-escalation-*.json' 1
"$CLUEBUS_BIN/cluebus-ctl" -c "$D/broker.conf" --json overdue >"$TEST_DIR/overdue.json" ||
    die "cluebus-ctl overdue failed"
kill9_broker
start_broker
clock_at 2031-01-16T00:00:01+08:00
wait_for 60 "the eight offices' analysis escalations" files_at_least "$ESC" \
    '*-escalation-*.json' $((31 + 8))
wait_for 60 "ato-210302's own analysis escalation" files_at_least "$(spool ato-210302)/out" \
    '*-escalation-*.json' 1
stop_broker

"$PY" - "$ESC" "$(spool psb)/out" "$(spool health)/out" "$(spool ato-210302)/out" \
    "$TEST_DIR/overdue.json" <<'PYEOF'
import collections, json, os, sys
ato, psb, health, d302, overdue = sys.argv[1:]
def escalations(d):
    return [json.load(open(os.path.join(d, n)))
            for n in sorted(os.listdir(d)) if "-escalation-" in n]
got = collections.Counter((e["message"]["escalation"]["unit"], e["message"]["escalation"]["duty"])
                          for e in escalations(ato))
se = {u for (u, d) in got if d == "self_evaluation"}
sa = {u for (u, d) in got if d == "situation_analysis"}
assert set(got.values()) == {1}, [k for k, v in got.items() if v != 1]
assert len(se) == 31 and "health" not in se and "psb" in se, sorted(se)
assert sa == {"ato", "ato-210302", "ato-210303", "ato-210304", "ato-210311", "ato-210321",
              "ato-210323", "ato-210381"}, sorted(sa)
for e in escalations(ato):
    x = e["message"]["escalation"]
    if x["duty"] == "self_evaluation":
        assert x["period_from"] == "2029-12-31T16:00:00.000Z", x
        assert x["due_at"] == "2030-12-15T16:00:00.000Z", x
        assert sorted(e["recipients"]) == sorted(["ato", x["unit"]]), e["recipients"]
mine = [e["message"]["escalation"] for e in escalations(psb)]
assert [(x["unit"], x["duty"]) for x in mine] == [("psb", "self_evaluation")], mine
assert escalations(health) == [], "health reported in time"
own = [e["message"]["escalation"]["unit"] for e in escalations(d302)]
assert own == ["ato-210302"], own
od = json.load(open(overdue))
od_se = [o for o in od if o.get("duty") == "self_evaluation"]
assert len(od_se) == 31 and all(o["referrer"] == "ato" for o in od_se), od
print("calendar duties ok: 31 self-evaluations and 8 analyses escalated once each")
PYEOF
audit verify "$D/data" >/dev/null
finish
