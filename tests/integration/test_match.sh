#!/usr/bin/env bash
# Correlation with the real binaries (docs/correlation.md):
#   1. health and psb name the same resident id number written differently (spaces and a
#      lower-case x; plain): exactly one match notice, logged right after psb's clue, to
#      ato, health and psb (education, also running and a recipient of neither identifier,
#      gets none), naming both clues by the ids of the agents' receipts;
#   2. an invalid id number is refused at intake, its error file naming the field and why;
#   3. the broker's data directory holds none of the identifiers in clear, in any spelling;
#   4. after a key rotation (correlation key version 2), new clues of two units match each
#      other, and not the clues tokenised under version 1; having the same identifiers and
#      category, they are also suggested to ato as one case (bundling);
#   5. cluebus-audit matches lists and checks the notices; cluebus-ctl status, /metrics and
#      the status page count them;
#   6. an agent without a correlation key refuses a document naming identifiers (they are
#      never sent in clear).
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
mkdir -p "$D/keys"
(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$D/keys/http.token")
BROKER_TUNING="http_listen = \"127.0.0.1:$PORT\";
http_token = \"keys/http.token\";" deploy tcp
"$CLUEBUS_BIN/cluebus-keygen" correlation-key "$D/keys/correlation-1.key" 1 >/dev/null ||
    die "keygen correlation-key failed"
[ "$(stat -c %a "$D/keys/correlation-1.key")" = 600 ] || die "the key file is not 0600"
for u in health psb education ato; do
	agent_conf "$u" 'correlation_key = "keys/correlation-1.key";'
done
agent_conf civil-affairs	# no correlation key
UNITS="health psb education ato civil-affairs"
start_all $UNITS

# clue UNIT NAME CATEGORY IDENTIFIERS_JSON [PERSONS_JSON]
clue() {
	local persons=${5:+,\"persons\":$5}
	drop "$1" "$2" "$(printf '{"kind":"clue","priority":"routine","clue":{"category":"%s",'\
'"jurisdiction":"210302","occurred_at":"2026-03-01T08:30:00+08:00","summary":"关联测试",'\
'"handling":{"code":"h0"},"evaluation":{"source_reliability":"b","accuracy":2},'\
'"identifiers":%s%s}}' "$3" "$4" "$persons")"
}
receipt_of() { wait_for 60 "$1's receipt for $2" files_at_least "$(spool "$1")/sent" \
    "$2.receipt.json" 1; }
matches_in() { count_files_named "$(spool "$1")/out" '*-match-*.json'; }
count_files_named() { find "$1" -maxdepth 1 -name "$2" 2>/dev/null | wc -l; }

# 1. One id number, two spellings, two units.
clue health a.json vagrant '[{"type":"resident_id","value":"110105 19491231 002x"},'\
'{"type":"phone","value":"+86 138-0000-0000"}]'
receipt_of health a.json
clue psb b.json school '[{"type":"resident_id","value":"11010519491231002X"}]'
receipt_of psb b.json
for u in ato health psb; do
	wait_for 60 "the match notice in $u's out/" files_at_least "$(spool "$u")/out" \
	    '*-match-*.json' 1
done

# 2. An invalid id number (wrong check digit) in a person: refused at intake with why.
drop health bad.json "$(printf '{"kind":"clue","priority":"routine","clue":{"category":'\
'"vagrant","jurisdiction":"210302","occurred_at":"2026-03-01T08:30:00+08:00","summary":"s",'\
'"handling":{"code":"h0"},"evaluation":{"source_reliability":"b","accuracy":2},'\
'"persons":[{"role":"victim","id_number":"110105194912310021"}]}}')"
wait_for 60 "the refusal of bad.json" files_at_least "$(spool health)/rejected" \
    'bad.json.error.json' 1
"$PY" - "$(spool health)/rejected/bad.json.error.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
errs = doc["errors"]
assert len(errs) == 1, errs
assert errs[0]["field"] == "clue.persons[0].id_number", errs
assert "check digit" in errs[0]["reason"] and "GB 11643" in errs[0]["reason"], errs
assert "110105194912310021" not in errs[0]["reason"], "the reason quotes the id number"
print("refused at intake:", errs[0]["field"], "-", errs[0]["reason"])
EOF

# 6. Identifiers at an agent without a key: refused locally, never sent.
clue civil-affairs nokey.json vagrant '[{"type":"phone","value":"13800000000"}]'
wait_for 60 "the refusal of nokey.json" files_at_least "$(spool civil-affairs)/rejected" \
    'nokey.json.error.json' 1
"$PY" - "$(spool civil-affairs)/rejected/nokey.json.error.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["field"] == "clue.identifiers", doc
assert "no correlation key" in doc["reason"], doc
print("no key:", doc["field"], "-", doc["reason"])
EOF

# 4. Rotation: version 2 of the key; health and psb restart with it.
"$CLUEBUS_BIN/cluebus-keygen" correlation-key "$D/keys/correlation-2.key" 2 >/dev/null ||
    die "keygen correlation-key 2 failed"
for u in health psb; do
	stop_agent "$u"
	agent_conf "$u" 'correlation_key = "keys/correlation-2.key";'
	start_agent "$u"
done
wait_connected health psb
clue health c.json labor '[{"type":"phone","value":"13800000000"}]'
receipt_of health c.json
clue psb d.json labor '[{"type":"phone","value":"0086 138 0000 0000"}]'
receipt_of psb d.json
wait_for 60 "the second notice and the suggestion in ato's out/" files_at_least \
    "$(spool ato)/out" '*-match-*.json' 3
# Give any wrong extra notice the chance to appear: the next clue's delivery comes after it.
clue education e.json other '[{"type":"passport","value":"E12345678"}]'
receipt_of education e.json
wait_for 60 "education's clue at ato" files_at_least "$(spool ato)/out" '*-clue-*.json' 5

"$PY" - "$D/spool" <<'EOF'
import glob, json, os, sys
spools = sys.argv[1]
def receipt(unit, name):
    return json.load(open(os.path.join(spools, unit, "sent", name + ".receipt.json")))
a, b = receipt("health", "a.json"), receipt("psb", "b.json")
c, d = receipt("health", "c.json"), receipt("psb", "d.json")
def notices(unit):
    out = []
    for p in sorted(glob.glob(os.path.join(spools, unit, "out", "*-match-*.json"))):
        out.append(json.load(open(p)))
    return out
everything = notices("ato")
n_ato = [n for n in everything if n["message"]["match"]["reason"] == "shared_identifier"]
bundles = [n for n in everything if n["message"]["match"]["reason"] == "bundle"]
assert len(n_ato) == 2 and len(bundles) == 1, [n["message"]["match"] for n in everything]
first, second = (n["message"]["match"] for n in n_ato)
# 1: the id number, between health's a.json and psb's b.json, under key version 1.
assert first["reason"] == "shared_identifier", first
assert first["type"] == "resident_id" and first["key_version"] == 1, first
assert first["message_ids"] == [a["message_id"], b["message_id"]], first
assert first["seqs"] == [a["seq"], b["seq"]], first
assert first["units"] == ["health", "psb"], first
assert n_ato[0]["seq"] == b["seq"] + 1, "the notice is not committed with the clue"
assert sorted(n_ato[0]["recipients"]) == ["ato", "health", "psb"], n_ato[0]["recipients"]
assert n_ato[0]["sender"] == "broker" and n_ato[0]["signature"]["agent_check"] == "verified"
# 4: the phone under version 2, between c.json and d.json only (a.json's phone token is
# version 1: no match across versions).
assert second["type"] == "phone" and second["key_version"] == 2, second
assert second["message_ids"] == [c["message_id"], d["message_id"]], second
for unit, want in (("health", 2), ("psb", 2), ("education", 0)):
    got = notices(unit)
    assert len(got) == want, (unit, len(got))
    for n in got:
        assert sorted(n["recipients"]) == ["ato", "health", "psb"], n["recipients"]
# 4: c.json and d.json (labor, the same phone) suggested to ato alone as one case.
bundle = bundles[0]["message"]["match"]
assert bundle["message_ids"] == [c["message_id"], d["message_id"]], bundle
assert bundles[0]["recipients"] == ["ato"], bundles[0]["recipients"]
print("notices: 2 at ato, health, psb; none at education; key versions 1 and 2; "
      "1 bundling suggestion at ato")
EOF

# 3. No identifier in clear in the broker's data directory, in any spelling.
stop_broker
for s in 11010519491231002X 11010519491231002x "110105 19491231" 13800000000 \
    "138-0000-0000" "138 0000 0000" E12345678; do
	if grep -rqa -- "$s" "$D/data"; then
		die "the broker's data directory holds \"$s\""
	fi
done
say "no identifier in clear in $D/data"

# 5. The audit explains and checks both notices.
audit matches "$D/data" >"$TEST_DIR/matches.txt" || die "audit matches: $(cat "$TEST_DIR/matches.txt")"
grep -q '^3 notices$' "$TEST_DIR/matches.txt" || die "audit matches: $(cat "$TEST_DIR/matches.txt")"
grep -q 'identifier  resident_id (key version 1' "$TEST_DIR/matches.txt" ||
    die "audit matches: no resident_id match explained"
audit matches "$D/data" --json >"$TEST_DIR/matches.json" || die "audit matches --json failed"
"$PY" - "$TEST_DIR/matches.json" <<'EOF'
import json, sys
ns = json.load(open(sys.argv[1]))
assert [(n["reason"], n["type"]) for n in ns] == [("shared_identifier", "resident_id"),
    ("shared_identifier", "phone"), ("bundle", "phone")], ns
assert all(n["checked"] is True for n in ns), ns
assert all([c["unit"] for c in n["clues"]] == ["health", "psb"] for n in ns), ns
assert ns[0]["clues"][0]["category"] == "vagrant" and ns[0]["clues"][1]["category"] == "school"
print("audit matches: 3 notices, each checked against the log")
EOF
audit matches "$D/data" --from 2000-01-01T00:00:00Z --to 2000-01-02T00:00:00Z \
    >"$TEST_DIR/none.txt" || die "audit matches of an empty period failed"
grep -q '^0 notices$' "$TEST_DIR/none.txt" || die "audit matches --from/--to: $(cat "$TEST_DIR/none.txt")"
audit verify "$D/data" >/dev/null || die "audit verify failed"

start_broker
"$CLUEBUS_BIN/cluebus-ctl" -c "$D/broker.conf" status >"$TEST_DIR/status.txt" ||
    die "ctl status: $(cat "$TEST_DIR/status.txt")"
grep -q '^matches        2 notices, 1 bundling suggestions' "$TEST_DIR/status.txt" ||
    die "ctl status: $(cat "$TEST_DIR/status.txt")"
TOKEN=$(cat "$D/keys/http.token")
metrics_show() {
	curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" \
	    >"$TEST_DIR/metrics.txt" &&
	    grep -q '^cluebus_match_notices_total 2$' "$TEST_DIR/metrics.txt"
}
wait_for 30 "the match figures in /metrics" metrics_show
grep -q '^cluebus_match_bundles_total 1$' "$TEST_DIR/metrics.txt" || die "metrics: bundles"
grep -q '^cluebus_match_hot_tokens 0$' "$TEST_DIR/metrics.txt" || die "metrics: hot tokens"
curl -s -u "x:$TOKEN" "http://127.0.0.1:$PORT/" >"$TEST_DIR/page.html" || die "status page"
grep -q '关联通知 2 条，合并建议 1 条' "$TEST_DIR/page.html" ||
    die "status page: no match figures"
finish
