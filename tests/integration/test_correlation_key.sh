#!/usr/bin/env bash
# Distributing the city correlation key (docs/correlation.md §6) with the real binaries:
#   1. only ato (the city office) holds key version 1 in its config; it sends it as a
#      correlation_key document: health, psb and education each write
#      state/UNIT/correlation-1.key (mode 0600, the same key as ato's), and their out/
#      notice says "installed" without the key; the broker's data directory holds the key
#      in no form;
#   2. health and psb, tokenising under the distributed key, name the same id number: one
#      match notice (key version 1);
#   3. rotation: ato moves to key version 2 and sends it; after kill -9 and a restart psb
#      still holds it, and new clues of health and psb match under version 2;
#   4. refusals: a unit that is not the city office (even holding a key) is refused by the
#      broker (kind: only the city office); ato sending a version it does not hold, or to a
#      unit that is not registered, is refused by its own agent naming the field;
#   5. cluebus-audit verify passes over the log holding the keys' seals, and replay shows
#      who each version was sealed to.
. "$(dirname "$0")/lib.sh"

deploy tcp
mkdir -p "$D/keys"
"$CLUEBUS_BIN/cluebus-keygen" correlation-key "$D/keys/correlation-1.key" 1 >/dev/null ||
    die "keygen correlation-key failed"
agent_conf ato 'correlation_key = "keys/correlation-1.key";'
agent_conf civil-affairs 'correlation_key = "keys/correlation-1.key";'	# out of band
for u in health psb education; do agent_conf "$u"; done
UNITS="ato health psb education civil-affairs"
start_all $UNITS

key_hex() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$1"; }
state_key() { echo "$D/state/$1/correlation-$2.key"; }
has_key() { [ -s "$(state_key "$1" "$2")" ]; }
receipt_of() { wait_for 60 "$1's receipt for $2" files_at_least "$(spool "$1")/sent" \
    "$2.receipt.json" 1; }
refused() {
	wait_for 60 "the refusal of $2" files_at_least "$(spool "$1")/rejected" \
	    "$2.error.json" 1
	"$PY" - "$(spool "$1")/rejected/$2.error.json" "$3" "$4" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["field"] == sys.argv[2] and sys.argv[3] in doc["reason"], doc
print("refused:", doc["field"], "-", doc["reason"])
EOF
}
# clue UNIT NAME IDENTIFIERS_JSON
clue() {
	drop "$1" "$2" "$(printf '{"kind":"clue","priority":"routine","clue":{"category":'\
'"vagrant","jurisdiction":"210302","occurred_at":"2026-03-01T08:30:00+08:00","summary":"s",'\
'"handling":{"code":"h0"},"evaluation":{"source_reliability":"b","accuracy":2},'\
'"identifiers":%s}}' "$3")"
}

# 1. Version 1 from ato to every unit with a sealing key.
drop ato key1.json '{"kind":"correlation_key","correlation_key":{"version":1}}'
receipt_of ato key1.json
K1=$(key_hex "$D/keys/correlation-1.key")
for u in health psb education; do
	wait_for 60 "$u's correlation-1.key" has_key "$u" 1
	[ "$(stat -c %a "$(state_key "$u" 1)")" = 600 ] || die "$u's key file is not 0600"
	[ "$(key_hex "$(state_key "$u" 1)")" = "$K1" ] || die "$u installed another key"
	wait_for 60 "$u's key notice" files_at_least "$(spool "$u")/out" \
	    '*-correlation_key-*.json' 1
	! grep -rqi -- "$K1" "$(spool "$u")/out" || die "$u's out/ holds the key"
done
"$PY" - "$(spool health)/out" "$(spool ato)/sent/key1.json.receipt.json" <<'EOF'
import glob, json, os, sys
[path] = glob.glob(os.path.join(sys.argv[1], "*-correlation_key-*.json"))
doc, receipt = json.load(open(path)), json.load(open(sys.argv[2]))
assert doc["seq"] == receipt["seq"] and doc["sender"] == "ato", doc
assert doc["signature"]["agent_check"] == "verified", doc
assert doc["correlation_key"] == {"status": "installed", "version": 1}, doc
assert "sealed" in doc["message"]["correlation_key"], doc
units = sorted(r["unit"] for r in doc["message"]["correlation_key"]["sealed"]["recipients"])
assert units == sorted(doc["recipients"]), (units, doc["recipients"])
assert "health" in units and "ato" not in units, units
print("key version 1 installed; sealed to", len(units), "units, the route")
EOF

# 2. Tokens under the distributed key match.
clue health a.json '[{"type":"resident_id","value":"110105 19491231 002x"}]'
receipt_of health a.json
clue psb b.json '[{"type":"resident_id","value":"11010519491231002X"}]'
receipt_of psb b.json
wait_for 60 "the match notice at psb" files_at_least "$(spool psb)/out" '*-match-*.json' 1

# 4. Refusals.
drop civil-affairs ca.json '{"kind":"correlation_key","correlation_key":{"version":1}}'
refused civil-affairs ca.json kind "only the city office"
drop ato key9.json '{"kind":"correlation_key","correlation_key":{"version":9}}'
refused ato key9.json correlation_key.version "no correlation key of version 9"
drop ato keyx.json \
    '{"kind":"correlation_key","correlation_key":{"version":1,"to_units":["psb","nobody"]}}'
refused ato keyx.json 'correlation_key.to_units[1]' "not registered"

# 3. Rotation to version 2; psb killed and restarted after installing it.
"$CLUEBUS_BIN/cluebus-keygen" correlation-key "$D/keys/correlation-2.key" 2 >/dev/null ||
    die "keygen correlation-key 2 failed"
stop_agent ato
agent_conf ato 'correlation_key = "keys/correlation-2.key";
correlation_key_previous = "keys/correlation-1.key";'
start_agent ato
wait_connected ato
drop ato key2.json '{"kind":"correlation_key","correlation_key":{"version":2}}'
receipt_of ato key2.json
for u in health psb education; do wait_for 60 "$u's correlation-2.key" has_key "$u" 2; done
wait_for 60 "psb's second key notice" files_at_least "$(spool psb)/out" \
    '*-correlation_key-*.json' 2
kill9 agent-psb
start_agent psb
wait_connected psb
clue health c.json '[{"type":"phone","value":"13800000000"}]'
receipt_of health c.json
clue psb d.json '[{"type":"phone","value":"+86 138 0000 0000"}]'
receipt_of psb d.json
wait_for 60 "the second match notice at psb" files_at_least "$(spool psb)/out" \
    '*-match-*.json' 2
"$PY" - "$D/spool" <<'EOF'
import glob, json, os, sys
spools = sys.argv[1]
def receipt(unit, name):
    return json.load(open(os.path.join(spools, unit, "sent", name + ".receipt.json")))
c, d = receipt("health", "c.json"), receipt("psb", "d.json")
notices = [json.load(open(p))["message"]["match"]
           for p in sorted(glob.glob(os.path.join(spools, "psb", "out", "*-match-*.json")))]
assert len(notices) == 2, notices
assert notices[0]["key_version"] == 1 and notices[0]["type"] == "resident_id", notices[0]
assert notices[1]["key_version"] == 2 and notices[1]["type"] == "phone", notices[1]
assert notices[1]["message_ids"] == [c["message_id"], d["message_id"]], notices[1]
print("after the rotation and psb's restart: matched under key version 2")
EOF

# 1, 5. The keys are nowhere in the broker's data; the log verifies.
stop_broker
K2=$(key_hex "$D/keys/correlation-2.key")
"$PY" - "$D/data" "$K1" "$K2" <<'EOF'
import os, sys
data, keys = sys.argv[1], [bytes.fromhex(k) for k in sys.argv[2:]]
for root, _, files in os.walk(data):
    for f in files:
        blob = open(os.path.join(root, f), "rb").read()
        for k in keys:
            assert k not in blob and k.hex().encode() not in blob, (f, "holds a key")
print("no correlation key in the broker's data directory")
EOF
audit verify "$D/data" >"$TEST_DIR/verify.txt" || die "audit verify: $(cat "$TEST_DIR/verify.txt")"
audit replay "$D/data" --json --kind correlation_key >"$TEST_DIR/keys.jsonl" ||
    die "audit replay of the keys failed"
"$PY" - "$TEST_DIR/keys.jsonl" <<'EOF'
import json, sys
keys = [json.loads(l) for l in open(sys.argv[1])]
assert [k["correlation_key"]["version"] for k in keys] == [1, 2], keys
for k in keys:
    assert k["sender"] == "ato", k
    assert sorted(k["correlation_key"]["sealed"]["recipients"]) == sorted(k["recipients"]), k
print("the auditor sees both key versions, sealed to their recipients")
EOF
start_broker
finish
