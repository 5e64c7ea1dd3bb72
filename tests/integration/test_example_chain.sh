#!/usr/bin/env bash
# The shipped examples/json/ documents are one case, and work as shipped: health's clue
# (clue-medical.json) -> the office's referral to psb and civil-affairs -> psb's receipt ->
# psb's feedback transferring to education -> the office's supervision of civil-affairs ->
# the office's report. Each is dropped, unchanged, into the spool of the unit that would
# send it; each is accepted (no refusal anywhere) and delivered to exactly the units the
# routing table and the referral state name. The relative due times become absolute times
# after the publish: the referral's receipt is due in 8 h, its feedback in 7 d.
. "$(dirname "$0")/lib.sh"

deploy ipc
UNITS="health ato psb civil-affairs education women-federation ato-210302"
start_all $UNITS
EX=$REPO/examples/json

# step SENDER FILE: drop the example as shipped and wait until it is accepted.
step() {
	drop "$1" "$2" "$(cat "$EX/$2")"
	wait_for 60 "$1's $2 to be accepted" files_at_least "$(spool "$1")/sent" \
	    "$2.receipt.json" 1
}
step health clue-medical.json
step ato referral.json
step psb receipt.json
step psb feedback.json
step ato supervision.json
step ato report.json

# expect FILE RECIPIENT...: the example's message reached exactly these units' out/.
expect() {
	local file=$1 id unit
	shift
	id=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["message_id"])' \
	    "$EX/$file")
	for unit in "$@"; do
		wait_for 60 "$file to reach $unit" files_at_least "$(spool "$unit")/out" "*-$id.json" 1
	done
	"$PY" - "$D/spool" "$id" "$@" <<'PYEOF'
import glob, json, os, sys
spools, msgid, want = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])
got = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
             for p in glob.glob(os.path.join(spools, "*", "out", "*-%s.json" % msgid)))
assert got == want, (msgid, got, want)
doc = json.load(open(glob.glob(os.path.join(spools, want[0], "out", "*-%s.json" % msgid))[0]))
assert sorted(doc["recipients"]) == want, (msgid, doc["recipients"], want)
PYEOF
}
expect clue-medical.json psb ato ato-210302
expect referral.json psb civil-affairs
expect receipt.json ato
expect feedback.json ato education
expect supervision.json civil-affairs
expect report.json psb women-federation civil-affairs

for u in $UNITS; do
	assert_eq 0 "$(count_files "$(spool "$u")/rejected")" "$u's rejected/ entries"
done

# The referral's due times count from its publishing: 8 h and 7 d after it was logged.
"$PY" - "$D/spool/psb/out" "$(spool ato)/sent/referral.json.receipt.json" <<'PYEOF'
import datetime, glob, json, sys
receipt = json.load(open(sys.argv[2]))
[path] = glob.glob(sys.argv[1] + "/*-referral-%s.json" % receipt["message_id"])
r = json.load(open(path))["message"]["referral"]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
logged = t(receipt["logged"])
assert abs(t(r["receipt_due_at"]) - logged - 8 * 3600) < 120, (r, receipt["logged"])
assert abs(t(r["feedback_due_at"]) - logged - 7 * 86400) < 120, (r, receipt["logged"])
print("due times ok:", r["receipt_due_at"], r["feedback_due_at"])
PYEOF
audit verify "$D/data"
finish
