#!/usr/bin/env bash
# Sealed personal data end to end (SPEC §10, docs/sealing.md §8). health publishes a
# `medical` clue naming two victims with synthetic 18-digit resident id numbers (valid check
# digits) and an h3 restriction; its agent seals the summary, place and persons to the
# recipients routing gives (psb, ato, ato-210302). Then:
#   - each routed unit's out/ has the names and id numbers, opened with its own key (the
#     document says which key), and the clear handling code and restriction;
#   - grep over the broker's data directory, the broker's log, cluebus-audit replay (text
#     and JSON) and the out/ of units outside the route (education, ato-210303) finds none
#     of them; `cluebus-audit verify` passes without any key;
#   - health's agent started with a stale routing table (`medical` to education, not psb):
#     the clue is refused by the broker as a stale directory, the agent reloads, seals
#     again and the clue is accepted — health's spool shows only a normal receipt;
#   - the office refers the clue to justice (never on the clue's route), re-sealing the
#     first victim's name and id number for justice: justice's out/ has them, its
#     delivery context carries no clue summary;
#   - justice's agent restarts and receipts the referral: the receipt is sealed to the
#     referrer (ato), known from the stored delivery context, and ato opens it;
#   - `cluebus-audit replay --seal-key keys/psb.seal` opens what psb could read and says
#     with which key; with education's key nothing opens; replay shows the h3 restriction;
#   - a unit outside the seal that is sent a delivery anyway cannot exist here (the broker
#     routes by the same table), so the wrong-recipient case is covered by test_sealbody.
. "$(dirname "$0")/lib.sh"

deploy tcp
ROUTED="psb ato ato-210302"
OTHERS="education ato-210303"
UNITS="health $ROUTED $OTHERS justice"
"$CLUEBUS_TEST_TOOLS/sealkeys" "$D/keys" $UNITS >"$D/seal-keys.json" ||
    die "cannot make sealing keys"
# health's routing starts stale: the medical category goes to education, not psb.
"$PY" - "$D/broker.conf" "$D/health-routing.conf" <<'EOF2'
import re, sys
text = open(sys.argv[1]).read()
new = re.sub(r'medical(\s*)=\s*\[ "psb"[^\]]*\];', r'medical\1= [ "education" ];', text, count=1)
assert new != text, "no medical route with psb in broker.conf"
open(sys.argv[2], "w").write(new)
EOF2
for u in $UNITS; do
	routing=broker.conf
	[ "$u" = health ] && routing=health-routing.conf
	agent_conf "$u" "seal_key = \"keys/$u.seal\";
seal_keys = \"seal-keys.json\";
seal_routing = \"$routing\";"
done
start_all $UNITS

# Two synthetic victims: names and resident id numbers with valid GB 11643 check digits.
"$PY" - >"$TEST_DIR/people.json" <<'EOF2'
import json
def check(body):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11]
people = []
for name, body in (("测试封甲", "21030220150304002"), ("测试封乙", "21030320120611004")):
    people.append({"name": name, "id_number": body + check(body)})
print(json.dumps(people, ensure_ascii=False))
EOF2
clue_doc() {
	"$PY" - "$TEST_DIR/people.json" "$1" <<'EOF2'
import json, sys
people = json.load(open(sys.argv[1]))
doc = {"kind": "clue", "priority": "urgent", "clue": {
    "category": "medical", "jurisdiction": "210302",
    "occurred_at": "2026-03-01T08:30:00+08:00", "location": "鞍山市铁东区封存路1号",
    "summary": "%s: 患儿%s由非亲属陪同就诊" % (sys.argv[2], people[0]["name"]),
    "handling": {"code": "h3", "text": "仅用于救助"},
    "evaluation": {"source_reliability": "b", "accuracy": 2},
    "persons": [{"role": "victim", "name": p["name"], "id_number": p["id_number"],
                 "age": 11, "gender": "female"} for p in people]}}
print(json.dumps(doc, ensure_ascii=False))
EOF2
}

# The clue: the stale table gives education, ato and ato-210302; the broker routes to psb
# instead, refuses it as a stale directory, and the agent reloads its (now current) table.
cp "$D/broker.conf" "$D/health-routing.conf.current"
mv "$D/health-routing.conf.current" "$D/health-routing.conf"
drop health clue-a.json "$(clue_doc a)"
SENT=$(spool health)/sent
wait_for 60 "health's receipt" files_at_least "$SENT" 'clue-a.json.receipt.json' 1
for u in $ROUTED; do
	wait_for 60 "delivery to $u" files_at_least "$(spool "$u")/out" '*.json' 1
done
assert_eq 0 "$(count_files "$(spool health)/rejected")" "health's rejected/ entries"
[ "$(log_count "$DEPLOY_LOGS/agent-health.log" 'sealed again with the directory reloaded')" -ge 1 ] ||
    die "health's agent did not seal again after the stale-directory refusal"
grep -q "its directory version [1-9]" "$DEPLOY_LOGS/agent-health.log" ||
    die "the stale-directory refusal did not carry the broker's directory version"

"$PY" - "$TEST_DIR/people.json" "$D" $ROUTED <<'EOF2'
import json, os, sys
people = json.load(open(sys.argv[1]))
deploy, routed = sys.argv[2], sys.argv[3:]
for unit in routed:
    out = os.path.join(deploy, "spool", unit, "out")
    names = [n for n in os.listdir(out) if not n.startswith(".")]
    assert len(names) == 1, (unit, names)
    doc = json.load(open(os.path.join(out, names[0])))
    s = doc["sealing"]
    assert s["status"] == "opened" and s["unit"] == unit, s
    assert s["suite"] == "x25519-hkdf-sha256-aes256gcm", s
    assert len(s["key_id"]) == 16 and sorted(s["recipients"]) == sorted(routed), s
    clue = doc["message"]["clue"]
    assert clue["handling"] == {"code": "h3", "text": "仅用于救助"}, clue["handling"]
    assert clue["location"] == "鞍山市铁东区封存路1号", clue
    assert people[0]["name"] in clue["summary"], clue["summary"]
    got = [(p["name"], p["id_number"]) for p in clue["persons"]]
    assert got == [(p["name"], p["id_number"]) for p in people], got
    assert "sealed" not in clue, clue
print("routed units opened the seal:", " ".join(routed))
EOF2

# The office refers the clue to justice for legal aid (Art 25), re-sealing the first
# victim's name and id number for justice alone: justice was never on the clue's route.
"$PY" - "$TEST_DIR/people.json" "$SENT/clue-a.json.receipt.json" >"$TEST_DIR/referral.json" <<'EOF2'
import json, sys
people = json.load(open(sys.argv[1]))
clue_id = json.load(open(sys.argv[2]))["message_id"]
print(json.dumps({"kind": "referral", "priority": "urgent", "refers_to": clue_id,
    "case_ref": "AS-2026-SEAL", "referral": {"to_units": ["justice"], "action": "legal_aid",
    "note": "请为受害人提供法律援助", "summary": "受害人%s需要法律援助" % people[0]["name"],
    "persons": [{"role": "victim", "name": people[0]["name"],
                 "id_number": people[0]["id_number"]}]}}, ensure_ascii=False))
EOF2
drop ato referral.json "$(cat "$TEST_DIR/referral.json")"
wait_for 60 "the referral's delivery to justice" files_at_least "$(spool justice)/out" '*.json' 1
"$PY" - "$TEST_DIR/people.json" "$(spool justice)/out" <<'EOF2'
import json, os, sys
people = json.load(open(sys.argv[1]))
out = sys.argv[2]
names = [n for n in os.listdir(out) if not n.startswith(".")]
assert len(names) == 1, names
doc = json.load(open(os.path.join(out, names[0])))
assert doc["sealing"]["status"] == "opened" and doc["sealing"]["recipients"] == ["justice"], doc
ref = doc["message"]["referral"]
assert [(p["name"], p["id_number"]) for p in ref["persons"]] == \
    [(people[0]["name"], people[0]["id_number"])], ref
assert people[0]["name"] in ref["summary"], ref
assert "summary" not in doc.get("context", {}).get("clue", {}), doc["context"]
text = open(os.path.join(out, names[0])).read()
assert people[1]["name"] not in text and people[1]["id_number"] not in text, "second victim"
print("justice opened the referral's re-sealed persons; its context has no clue summary")
EOF2

# justice's agent restarts, then receipts the referral: it still knows the referrer from
# the stored context, seals the receipt's note to ato alone, and the broker agrees.
stop_agent justice
start_agent justice
wait_connected justice
REFERRAL_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["message_id"])' \
    "$(spool ato)/sent/referral.json.receipt.json")
drop justice receipt.json "{\"kind\":\"receipt\",\"refers_to\":\"$REFERRAL_ID\",
  \"receipt\":{\"note\":\"已签收，为受害人指派法律援助律师\"}}"
wait_for 60 "justice's receipt accepted" files_at_least "$(spool justice)/sent" \
    'receipt.json.receipt.json' 1
assert_eq 0 "$(count_files "$(spool justice)/rejected")" "justice's rejected/ entries"
wait_for 60 "the receipt's delivery to ato" files_at_least "$(spool ato)/out" '*-receipt-*.json' 1
"$PY" - "$(spool ato)/out" <<'EOF2'
import glob, json, sys
doc = json.load(open(glob.glob(sys.argv[1] + "/*-receipt-*.json")[0]))
assert doc["sealing"]["status"] == "opened" and doc["sealing"]["recipients"] == ["ato"], doc
assert doc["message"]["receipt"]["note"] == "已签收，为受害人指派法律援助律师", doc["message"]
print("the receipt after justice's restart was sealed to the referrer and opened by ato")
EOF2

for u in $OTHERS; do
	assert_eq 0 "$(count_files "$(spool "$u")/out")" "files in $u's out/"
done
stop_all
audit verify "$D/data" >"$TEST_DIR/verify.txt" || die "audit verify failed"
audit replay "$D/data" >"$TEST_DIR/replay.txt"
audit replay "$D/data" --json >"$TEST_DIR/replay.jsonl"
grep -q '"sealed"' "$TEST_DIR/replay.jsonl" || die "replay does not show the seal's facts"
secrets=$("$PY" -c 'import json, sys
for p in json.load(open(sys.argv[1])):
    print(p["name"])
    print(p["id_number"])' "$TEST_DIR/people.json") || die "cannot read the people's names"
assert_eq 4 "$(echo "$secrets" | wc -l)" "names and id numbers looked for"
for secret in $secrets 封存路; do
	for place in "$D/data" "$DEPLOY_LOGS/broker.log" "$TEST_DIR/verify.txt" \
	    "$TEST_DIR/replay.txt" "$TEST_DIR/replay.jsonl" $(for u in $OTHERS; do
	    echo "$(spool "$u")/out"; done); do
		[ -e "$place" ] || die "missing $place"
		if grep -rqa -- "$secret" "$place"; then
			die "'$secret' found in $place"
		fi
	done
	for u in $ROUTED; do
		grep -rqa -- "$secret" "$(spool "$u")/out" || die "'$secret' missing in $u's out/"
	done
done
# A content audit with psb's sealing key opens what psb could read (the clue, not the
# referral to justice), and says with which key; with education's key, nothing opens.
audit replay "$D/data" --json --seal-key "$D/keys/psb.seal" >"$TEST_DIR/audit-psb.jsonl" \
    2>"$TEST_DIR/audit-psb.err" || die "content audit failed"
grep -q "content audit as psb with sealing key" "$TEST_DIR/audit-psb.err" ||
    die "the content audit does not say which key it used"
"$PY" - "$TEST_DIR/audit-psb.jsonl" "$TEST_DIR/people.json" <<'EOF2'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
people = json.load(open(sys.argv[2]))
opened = [e for e in entries if "opened_with" in e]
assert len(opened) == 1 and opened[0]["kind"] == "clue", opened
w = opened[0]["opened_with"]
assert w["unit"] == "psb" and len(w["key_id"]) == 16 and "error" not in w, w
assert [p["id_number"] for p in opened[0]["body"]["clue"]["persons"]] == \
    [p["id_number"] for p in people]
refs = [e for e in entries if e.get("kind") == "referral"]
assert refs and all("opened_with" not in e for e in refs), refs
print("content audit as psb opened the clue only")
EOF2
audit replay "$D/data" --seal-key "$D/keys/education.seal" >"$TEST_DIR/audit-education.txt" \
    2>/dev/null || die "content audit as education failed"
for secret in $("$PY" -c 'import json,sys; [print(p["id_number"]) for p in json.load(open(sys.argv[1]))]' "$TEST_DIR/people.json"); do
	if grep -q -- "$secret" "$TEST_DIR/audit-education.txt"; then
		die "education's key opened what was not sealed to it"
	fi
done
grep -q ' \[h3: 仅用于救助\]' "$TEST_DIR/replay.txt" || die "replay does not show the h3 restriction"
say "no name, id number or place outside the route"
finish
