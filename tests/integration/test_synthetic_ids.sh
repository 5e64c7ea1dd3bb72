#!/usr/bin/env bash
# The personal data of the examples and the demo is synthetic but well-formed
# (scripts/synthid.py): every id number in examples/json/, examples/demo/, README.md and
# docs/*.md has a valid GB 11643 check character, a real date of birth not after the clue,
# an Anshan division (2103xx), a sex digit agreeing with `gender` and an age agreeing with
# the date of birth; no masked number is left; phone numbers are well-formed. The check
# character is the standard's (its own example 11010519491231002X), `make` computes it, and
# the checker refuses each kind of bad number, naming the field and why.
. "$(dirname "$0")/lib.sh"

ID=$REPO/scripts/synthid.py
out=$("$PY" "$ID" check "$REPO"/examples/json/*.json "$REPO"/examples/demo/*.json \
    "$REPO/README.md" "$REPO"/docs/*.md) || die "the shipped examples fail the check: $out"
n=$(echo "$out" | sed -n 's/^ok: \([0-9]*\) id numbers.*/\1/p')
[ "${n:-0}" -ge 13 ] || die "only ${n:-0} id numbers checked: $out"
say "$out"

"$PY" - "$REPO/scripts" <<'PYEOF' || die "the check character is not GB 11643's"
import sys
sys.path.insert(0, sys.argv[1])
import synthid
assert synthid.check_char("11010519491231002") == "X"     # the standard's own example
assert synthid.make("210302", "19980411", "012") == "210302199804110125"
assert synthid.id_problem(synthid.make("210381", "20000229", "001")) is None
PYEOF
"$PY" "$ID" make 110105 19491231 002 2>/dev/null && die "make took a division outside Anshan"
"$PY" "$ID" make 210302 19990230 002 2>/dev/null && die "make took 1999-02-30"

# bad FIELD_PATH REASON PERSON_JSON [TEXT]: a clue (occurred 2026-11-20) with that person
# (and TEXT as its summary) must be refused at FIELD_PATH with REASON.
bad() {
	local f=$TEST_DIR/bad.json out
	printf '{"kind":"clue","clue":{"category":"medical","jurisdiction":"210302",
"occurred_at":"2026-11-20T22:40:00+08:00","summary":"%s","persons":[%s]}}\n' \
	    "${4:-摘要}" "$3" >"$f"
	out=$("$PY" "$ID" check "$f") && die "accepted: $3 $4"
	echo "$out" | grep -qF -- "$f:$1: $2" || die "refused as '$out', expected $1: $2"
}
P=clue.persons[0]
bad "$P.id_number" 'check character 4, computed 5' '{"id_number":"210302199804110124"}'
bad "$P.id_number" 'date of birth 19990230 is not a date' '{"id_number":"210302199902300017"}'
bad "$P.id_number" "division 110105 is not one of Anshan's" '{"id_number":"11010519491231002X"}'
bad "$P.id_number" 'not 17 digits and a check character' '{"id_number":"4521XXXXXXXXXXXX37"}'
bad "$P.id_number" 'not 17 digits and a check character' '{"id_number":"21030219980411012x"}'
bad "$P.id_number" "born 2026-11-21, after the clue's occurred_at" \
    "{\"id_number\":\"$("$PY" "$ID" make 210302 20261121 002)\"}"
bad "$P.gender" "female, but the id number's sex digit 1 says male" \
    "{\"gender\":\"female\",\"id_number\":\"$("$PY" "$ID" make 210302 19800101 011)\"}"
bad "$P.age" '45, but born 1980-01-01 is 46 at 2026-11-20' \
    "{\"age\":45,\"id_number\":\"$("$PY" "$ID" make 210302 19800101 011)\"}"
bad clue.summary 'masked number 2103XXXXXXXXXXXX12' '{}' '身份证号2103XXXXXXXXXXXX12'
bad clue.summary 'id-like number 210302199804110124' '{}' '身份证号210302199804110124'
bad clue.summary 'mobile number 12345678901' '{}' '电话12345678901'
bad clue.summary 'landline 010-12345678 is not 0412-xxxxxxx' '{}' '电话010-12345678'
say "ok"
