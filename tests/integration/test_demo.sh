#!/usr/bin/env bash
# `make demo` tells the Anshan story and proves it: scripts/demo.sh, run with the binaries
# under test into this test's directory, exits 0 after checking every step itself; this test
# then checks the story from the log on its own (cluebus-audit replay): the office's
# correlation key before any clue, installed by the units; the six clues of
# steps 1, 2 and 4, the two referrals of step 3 with psb's receipt and feedback, exactly
# one broker-signed escalation naming education's missed receipt, before the office's
# listed supervision and education's late receipt, and the broker's supervision of the
# petition; every seed article of the story is named in the narration; every process the
# demo started is gone. The demo's own checks can fail: its delivery check refuses a unit
# that did not receive a message and a recipient set that differs from the story's.
# A second run with DEMO_KEEP=1 leaves the broker answering `cluebus-ctl status`, and
# `scripts/demo.sh --clean` (make demo-clean) stops it and removes the directory.
. "$(dirname "$0")/lib.sh"

DEMO=$TEST_DIR/demo
demo_clean() { DEMO_DIR=$DEMO "$REPO/scripts/demo.sh" --clean >/dev/null 2>&1 || true; }
trap 'rc=$?; demo_clean; (exit $rc); _cleanup' EXIT
export CLUEBUS_BIN

DEMO_DIR=$DEMO "$REPO/scripts/demo.sh" >"$TEST_DIR/demo-1.log" 2>&1 ||
    die "demo run 1 failed: $(tail -20 "$TEST_DIR/demo-1.log")"
grep -q '^== demo finished in [0-9]*s: the Anshan story told, every step checked' \
    "$TEST_DIR/demo-1.log" || die "demo run 1 did not finish"
grep -q '^    OK ' "$TEST_DIR/demo-1.log" || die "demo run 1: audit verify not OK"
for a in 第四条 第八条 第九条 第十条 第十三条 第十九条 第二十三条 第二十六条 第三十九条; do
	grep -q "$a" "$TEST_DIR/demo-1.log" || die "the narration does not name $a"
done
say "demo run 1 ok, in $(sed -n 's/^== demo finished in \([0-9]*\)s.*/\1/p' \
    "$TEST_DIR/demo-1.log") s"

# Nothing the demo started is left: its pid files are gone and so are those processes.
[ -z "$(ls -A "$DEMO/pids")" ] || die "pid files left: $(ls "$DEMO/pids")"
pgrep -f "$DEMO/" >/dev/null && die "a process of the demo still runs: $(pgrep -af "$DEMO/")"
LOGS=$DEMO/logs check_logs

"$CLUEBUS_BIN/cluebus-audit" replay "$DEMO/data" --json >"$TEST_DIR/replay.jsonl"
"$PY" - "$TEST_DIR/replay.jsonl" "$REPO/examples/demo" "$DEMO/spool" <<'PYEOF' ||
import glob, json, os, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
doc = lambda f: json.load(open(os.path.join(sys.argv[2], f)))
def out(unit, kind):
    return [json.load(open(f)) for f in
            sorted(glob.glob(os.path.join(sys.argv[3], unit, "out", "*-%s-*.json" % kind)))]
msgs = [e for e in entries if "kind" in e]
def of(kind, sender=None):
    return [m for m in msgs if m["kind"] == kind and (sender is None or m["sender"] == sender)]
def seq(mid):
    [m] = [m for m in msgs if m["message_id"] == mid]
    return m["seq"]
clues = {m["message_id"] for m in of("clue")}
want = {doc(f)["message_id"] for f in os.listdir(sys.argv[2]) if f.endswith("-clue.json")}
assert clues == want and len(want) == 6, (clues, want)
school = doc("s3-ato-referral-schooling.json")["message_id"]
dna = doc("s3-ato-referral-dna.json")["message_id"]
assert {m["message_id"] for m in of("referral", "ato")} == {school, dna}
[fb] = of("feedback", "psb")
[fb_out] = [f for f in out("ato", "feedback") if f["message"]["message_id"] == fb["message_id"]]
assert fb_out["message"]["refers_to"] == dna, fb_out
assert fb_out["message"]["feedback"]["status"] == "in_progress", fb_out
[e] = of("escalation")
assert e["sender"] == "broker" and e["type"] == "broker", e
[e_out] = out("ato", "escalation")
assert e_out["message"]["message_id"] == e["message_id"], (e, e_out)
x = e_out["message"]["escalation"]
assert (x["unit"], x["missed"], x["referral_id"]) == ("education", "receipt", school), x
listed = doc("s3-ato-supervision.json")["message_id"]
late = doc("s3-education-receipt.json")["message_id"]
assert seq(school) < e["seq"] < seq(listed) < seq(late), "escalation out of order"
petition = doc("s4-petitions-clue.json")["message_id"]
sup = [f for f in out("psb", "supervision") if f["sender"] == "broker"]
assert len(sup) == 1 and sup[0]["message"]["refers_to"] == petition, sup
assert [m["type"] for m in of("supervision", "broker")] == ["broker"], of("supervision")
# The correlation key went out from ato before the first clue, sealed to every recipient,
# and each unit shown in the story installed it.
[k] = of("correlation_key", "ato")
assert k["seq"] < min(seq(c) for c in clues), "a clue was logged before the key"
for unit in ("health", "airport", "psb", "railway"):
    [k_out] = out(unit, "correlation_key")
    assert k_out["correlation_key"]["status"] == "installed", k_out
print("the log tells the story: %d entries" % len(entries))
PYEOF
    die "the log does not tell the story"

# The demo's delivery check fails when the story is not what happened.
CLUE1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["message_id"])' \
    "$REPO/examples/demo/s1-health-clue.json")
VIEW="$PY $REPO/scripts/demo_view.py"
$VIEW delivered "$DEMO/spool" "$DEPLOY_UNITS_FILE" clue "$CLUE1" psb ato ato-210302 >/dev/null ||
    die "the delivery check refuses what happened"
out=$($VIEW delivered "$DEMO/spool" "$DEPLOY_UNITS_FILE" clue "$CLUE1" psb ato ato-210302 \
    education 2>&1) && die "the delivery check accepted a unit that got nothing"
echo "$out" | grep -q 'was not delivered to 市教育局(education)' || die "wrong refusal: $out"
out=$($VIEW delivered "$DEMO/spool" "$DEPLOY_UNITS_FILE" clue "$CLUE1" psb ato 2>&1) &&
    die "the delivery check accepted a recipient set that is not the story's"
echo "$out" | grep -q 'the story expects exactly ato psb' || die "wrong refusal: $out"

# DEMO_KEEP=1: still running afterwards, for a look; --clean stops it and removes it.
DEMO_KEEP=1 DEMO_DIR=$DEMO "$REPO/scripts/demo.sh" >"$TEST_DIR/demo-2.log" 2>&1 ||
    die "demo run 2 (DEMO_KEEP=1) failed: $(tail -20 "$TEST_DIR/demo-2.log")"
grep -q '^== demo finished' "$TEST_DIR/demo-2.log" || die "demo run 2 did not finish"
"$CLUEBUS_BIN/cluebus-ctl" -c "$DEMO/broker.conf" status >/dev/null ||
    die "DEMO_KEEP=1: the broker does not answer after the demo"
kept=$(cat "$DEMO"/pids/*)
n=$(($(count_files "$DEMO" '*.agent.conf') + 1))
[ "$(echo "$kept" | wc -w)" -eq "$n" ] || die "DEMO_KEEP=1: expected $n daemons, got: $kept"
LOGS=$DEMO/logs check_logs
DEMO_DIR=$DEMO "$REPO/scripts/demo.sh" --clean >/dev/null || die "demo --clean failed"
[ ! -e "$DEMO" ] || die "demo --clean left $DEMO"
for p in $kept; do
	proc_alive "$p" && die "demo --clean left pid $p running"
done
say "ok"
