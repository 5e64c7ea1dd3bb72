#!/usr/bin/env bash
# cluebus-audit replay and verify --json over a real log holding every kind a deployment
# writes without a test clock: clues of two categories, a referral in a case, a receipt, a
# transfer feedback, a listed supervision, a report, registry records (genesis and a
# revocation with its reason), a forged publish's rejection, and the agents' acks.
# With a test build's broker (a test clock), the clock is then moved past the referral's
# due times so that the broker logs escalations, which must show their fields too.
#   - replay --json: schema v1 (docs/audit.md §2), seq 1..head in order, each entry's hash
#     equal to the one in the sender's receipt, every kind's clear fields, the units'
#     Chinese names from the log's registry records, and no free text at all (every
#     summary, note, location, title and text carries a marker that must never appear, in
#     JSON or text); the example lines of docs/audit.md parse, and every field a real line
#     carries is one the example of its kind documents; every body is sealed (agents seal by
#     default) to exactly the entry's recipients;
#   - filters: --kind, --unit, --category and --case (threads followed by refers_to, with
#     their acks), --from/--to as seqs and as times, --tz +08:00 (same instants), text and
#     JSON select the same entries; bad values exit 2 naming the option;
#   - verify --json: ok with its checks on the clean log; on a copy with a flipped tree
#     node, ok false naming the seq (exit 1, with and without --chain-only); a missing
#     directory exits 2 with an error.
. "$(dirname "$0")/lib.sh"
set -o pipefail

MARK="机密MARK"
K=$D/keys
ADMIN_EP="ipc://$D/admin.sock"
id() { printf '%032x' "$1"; }
CLUE=$(id 1); CLUE2=$(id 2); REF=$(id 3)

# A test build's broker has a test clock (CLUEBUS_TEST_CLOCK_FILE); a production build
# refuses to start with one, so the escalations are checked only with the former.
CLOCK=0
if strings "$CLUEBUS_BIN/cluebus-broker" | grep 'TEST CLOCK' >/dev/null; then
	CLOCK=1
	export CLUEBUS_TEST_CLOCK_FILE=$TEST_DIR/clock
	echo 0 >"$CLUEBUS_TEST_CLOCK_FILE"
fi
deploy ipc
start_all health education ato psb civil-affairs

sent() {
	wait_for 60 "$1's $2 to be accepted" files_at_least "$(spool "$1")/sent" "$2.receipt.json" 1
}
clue_doc() {	# clue_doc ID CATEGORY
	printf '{"kind":"clue","message_id":"%s","clue":{"category":"%s","jurisdiction":"210302",' "$1" "$2"
	printf '"occurred_at":"2026-03-01T08:30:00+08:00","location":"%s 铁东区","summary":"%s 线索",' "$MARK" "$MARK"
	printf '"persons":[{"role":"victim","name":"%s 张","id_number":"210302201001011238"}],' "$MARK"
	printf '"handling":{"code":"h1"},"evaluation":{"source_reliability":"b","accuracy":2}}}'
}
drop health clue1.json "$(clue_doc "$CLUE" medical)"
sent health clue1.json
drop education clue2.json "$(clue_doc "$CLUE2" school)"
sent education clue2.json
drop ato referral.json "{\"kind\":\"referral\",\"message_id\":\"$REF\",\"priority\":\"urgent\",
  \"refers_to\":\"$CLUE\",\"case_ref\":\"AS-1\",\"referral\":{\"to_units\":[\"psb\",\"civil-affairs\"],
  \"action\":\"rescue\",\"receipt_due_in\":\"8h\",\"feedback_due_in\":\"7d\",\"note\":\"$MARK 转办\"}}"
sent ato referral.json
drop psb receipt.json "{\"kind\":\"receipt\",\"refers_to\":\"$REF\",\"receipt\":{\"note\":\"$MARK 签收\"}}"
sent psb receipt.json
drop civil-affairs feedback.json "{\"kind\":\"feedback\",\"refers_to\":\"$REF\",\"feedback\":
  {\"status\":\"transferred\",\"transferred_to\":[\"education\"],\"note\":\"$MARK 转教育局\"}}"
sent civil-affairs feedback.json
drop ato supervision.json "{\"kind\":\"supervision\",\"refers_to\":\"$REF\",\"case_ref\":\"AS-1\",
  \"supervision\":{\"level\":\"listed\",\"units\":[\"civil-affairs\"],\"feedback_due_in\":\"3d\",
  \"note\":\"$MARK 挂牌\"}}"
sent ato supervision.json
drop ato report.json "{\"kind\":\"report\",\"refers_to\":\"$REF\",\"report\":{\"type\":\"situation_analysis\",
  \"period_from\":\"2026-01-01T00:00:00+08:00\",\"period_to\":\"2026-06-30T23:59:59+08:00\",
  \"title\":\"$MARK 研判\",\"text\":\"$MARK 正文\",\"to_units\":[\"psb\"]}}"
sent ato report.json
clue_json medical 210302 "$MARK forged" >"$TEST_DIR/forged.json"
"$CLUEBUS_TEST_TOOLS/forge" --endpoint "$ENDPOINT" --unit health --key "$K/health.key" \
    --mode tamper --clue "$TEST_DIR/forged.json" >"$TEST_DIR/forge.out" 2>&1 ||
    die "forge: $(cat "$TEST_DIR/forge.out")"
grep -q '^rejected bad_signature' "$TEST_DIR/forge.out" || die "forge: $(cat "$TEST_DIR/forge.out")"
wait_for 60 "the report at psb" files_at_least "$(spool psb)/out" '*-report-*.json' 1
if [ "$CLOCK" = 1 ]; then
	echo $((200 * 3600000)) >"$CLUEBUS_TEST_CLOCK_FILE.tmp"
	mv "$CLUEBUS_TEST_CLOCK_FILE.tmp" "$CLUEBUS_TEST_CLOCK_FILE"
	wait_for 60 "an escalation at ato" files_at_least "$(spool ato)/out" '*-escalation-*.json' 1
fi
"$CLUEBUS_BIN/cluebus-ctl" -e "$ADMIN_EP" -k "$K/admin.key" registry revoke education \
    --reason "撤销测试 revoked for the test" | grep -q '^accepted seq ' || die "revocation"
sleep 1	# the last acks
stop_all

DATA=$D/data
R=$TEST_DIR/replay.jsonl
audit replay "$DATA" --json >"$R" || die "replay --json failed"
audit replay "$DATA" >"$TEST_DIR/replay.txt" || die "replay failed"
if grep -q "$MARK" "$R" "$TEST_DIR/replay.txt"; then
	die "free text in the replay: $(grep -h "$MARK" "$R" "$TEST_DIR/replay.txt" | head -3)"
fi
grep -q ' from health(市卫生健康委) -> ' "$TEST_DIR/replay.txt" ||
    die "the text replay names no unit: $(sed -n 40p "$TEST_DIR/replay.txt")"

# The schema, the documented examples and every kind's clear fields.
sed -n '/<!-- replay-example -->/,/^```$/p' "$REPO/docs/audit.md" | grep '^{' >"$TEST_DIR/doc.jsonl"
"$PY" - "$R" "$TEST_DIR/doc.jsonl" "$D/spool" "$CLOCK" <<'PY' || die "the replay's JSON is wrong"
import glob, json, os, re, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
docs = [json.loads(l) for l in open(sys.argv[2])]
assert len(docs) >= 9, "docs/audit.md documents %d example lines" % len(docs)
def key(e):
    return e.get("kind") or e["type"]
documented = {}
for d in docs:
    assert d["v"] == 1, d
    documented.setdefault(key(d), set()).update(d)
assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
for e in lines:
    assert e["v"] == 1 and re.fullmatch("[0-9a-f]{64}", e["hash"]), e
    assert key(e) in documented, "kind %s has no example in docs/audit.md" % key(e)
    extra = set(e) - documented[key(e)]
    assert not extra, "undocumented fields of %s: %s" % (key(e), extra)
    assert e["time"].endswith("Z"), e["time"]
    for sub in ("clue", "referral", "feedback", "supervision", "report", "registry", "escalation"):
        if sub in e:
            doc = set().union(*(d[sub] for d in docs if sub in d))
            assert set(e[sub]) <= doc, "undocumented %s fields: %s" % (sub, set(e[sub]) - doc)
# receipts: the sender's record of seq and entry hash
by_seq = {e["seq"]: e for e in lines}
receipts = glob.glob(os.path.join(sys.argv[3], "*", "sent", "*.receipt.json"))
assert len(receipts) == 7, receipts
for p in receipts:
    r = json.load(open(p))
    e = by_seq[r["seq"]]
    assert e["hash"] == r["entry_hash"] and e["message_id"] == r["message_id"], (r, e)
kinds = {}
for e in lines:
    kinds.setdefault(key(e), []).append(e)
need = ["clue", "referral", "receipt", "feedback", "supervision", "report", "registry", "ack",
        "rejection"]
assert all(k in kinds for k in need), sorted(kinds)
def sealed(e):	# the agents seal (the default): the body's seal names exactly the recipients
    body = e[e["kind"]]
    so = body.pop("sealed")
    assert so["suite"] == 1 and so["bytes"] > 0, so
    assert sorted(so["recipients"]) == sorted(e["recipients"]), (so, e["recipients"])
    return body
c = [e for e in kinds["clue"] if e["message_id"] == "%032x" % 1][0]
assert c["sender"] == "health" and c["names"]["health"] == "市卫生健康委", c
assert c["clue"]["category"] == "medical" and c["clue"]["jurisdiction"] == "210302", c
assert sealed(c)["persons"] == 0 and c["clue"]["handling"] == {"code": "h1"}, c
assert c["clue"]["evaluation"] == {"source_reliability": "b", "accuracy": 2}, c
assert c["clue"]["occurred_at"] == "2026-03-01T00:30:00.000Z", c
assert "psb" in c["recipients"] and c["names"]["psb"] == "市公安局", c
ref = kinds["referral"][0]
assert ref["case_ref"] == "AS-1" and ref["refers_to"] == "%032x" % 1 and ref["priority"] == "urgent"
assert sealed(ref)["action"] == "rescue" and ref["referral"]["to_units"] == ["psb", "civil-affairs"]
assert ref["referral"]["receipt_due_at"] < ref["referral"]["feedback_due_at"], ref
assert kinds["receipt"][0]["sender"] == "psb" and sealed(kinds["receipt"][0]) == {}
fb = sealed(kinds["feedback"][0])
assert fb == {"status": "transferred", "transferred_to": ["education"]}, fb
sups = [e for e in kinds["supervision"] if e["sender"] == "ato"]
assert sups[0]["supervision"]["level"] == "listed" and sups[0]["supervision"]["units"] == ["civil-affairs"]
assert "feedback_due_at" in sups[0]["supervision"], sups[0]
rep = sealed(kinds["report"][0])
assert rep == {"type": "situation_analysis", "period_from": "2025-12-31T16:00:00.000Z",
               "period_to": "2026-06-30T15:59:59.000Z", "to_units": ["psb"]}, rep
regs = kinds["registry"]
assert regs[0]["registry"]["op"] == "broker_key" and regs[0]["seq"] == 1
rev = regs[-1]
assert rev["sender"] == "admin" and rev["registry"]["op"] == "revoke_key", rev
assert rev["registry"]["unit"] == "education" and rev["registry"]["reason"] == "撤销测试 revoked for the test"
assert rev["names"]["education"] == "市教育局", rev
rej = kinds["rejection"][0]
assert rej["code"] == "bad_signature" and rej["peer"] == "health" and rej["frame_size"] > 0, rej
ack = kinds["ack"][0]
assert ack["unit"] and ack["acked"] and ack["type"] == "ack", ack
if sys.argv[4] == "1":
    esc = kinds["escalation"][0]
    assert esc["type"] == "broker" and esc["sender"] == "broker", esc
    assert esc["escalation"]["referral_id"] == "%032x" % 3, esc
    assert esc["escalation"]["missed"] in ("receipt", "feedback") and esc["escalation"]["due_at"], esc
    assert esc["escalation"]["unit"] in ("psb", "civil-affairs", "education"), esc
else:
    print("escalations not checked: a production broker has no test clock")
print("%d entries; kinds %s" % (len(lines), ", ".join("%s %d" % (k, len(v)) for k, v in sorted(kinds.items()))))
PY

# filter F...: the JSON lines `replay --json F...` selects, as "seq seq ..."; the text
# replay with the same filters must select the same seqs.
filter() {
	local js tx
	js=$(audit replay "$DATA" --json "$@" | "$PY" -c 'import json, sys
print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))') || die "replay --json $*"
	tx=$(audit replay "$DATA" "$@" | awk '{printf "%s%s", (NR > 1 ? " " : ""), $1}') || die "replay $*"
	[ "$js" = "$tx" ] || die "replay $*: JSON selects '$js', text '$tx'"
	echo "$js"
}
# expect_seqs WHAT PYTHON-PREDICATE-ON-e F...: the filter selects exactly the entries of the
# full replay the predicate holds for (`e` an entry, `thread` the seqs of the thread).
expect_seqs() {
	local what=$1 pred=$2 got want
	shift 2
	got=$(filter "$@")
	want=$("$PY" - "$R" "$pred" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
def thread(start):
    ids, seqs = set(), set()
    for e in lines:
        if "message_id" in e and e.get("type") in ("message", "broker") and (
                start(e) or e.get("refers_to") in ids):
            ids.add(e["message_id"]); seqs.add(e["seq"])
        elif e["type"] == "ack" and seqs & set(e["acked"]):
            seqs.add(e["seq"])
    return seqs
medical = thread(lambda e: e.get("clue", {}).get("category") == "medical")
case = thread(lambda e: e.get("case_ref") == "AS-1")
def units(e):
    u = set(e["recipients"]) | {e.get("sender"), e.get("unit"), e.get("peer"), e.get("claimed_sender")}
    return u | {e.get("registry", {}).get("unit")}
pred = eval("lambda e: " + sys.argv[2])
print(" ".join(str(e["seq"]) for e in lines if pred(e)))
PY
)
	[ -n "$want" ] || die "$what: the predicate selects nothing"
	[ "$got" = "$want" ] || die "$what: replay $* selects '$got', expected '$want'"
	say "$what: $(echo "$got" | wc -w) entries"
}
expect_seqs "referrals" 'e.get("kind") == "referral"' --kind referral
expect_seqs "acks and rejections" 'e["type"] in ("ack", "rejection")' --kind ack --kind rejection
expect_seqs "civil-affairs" '"civil-affairs" in units(e)' --unit civil-affairs
expect_seqs "medical" 'e["seq"] in medical' --category medical
expect_seqs "case AS-1" 'e["seq"] in case' --case AS-1
expect_seqs "case AS-1 receipts from psb" 'e["seq"] in case and e.get("kind") == "receipt" and "psb" in units(e)' \
    --case AS-1 --kind receipt --unit psb
expect_seqs "seqs 5..9" '5 <= e["seq"] <= 9' --from 5 --to 9
read -r T1 T2 < <("$PY" -c 'import json, sys
l = [json.loads(x) for x in open(sys.argv[1])]
print(l[len(l) // 3]["time"], l[2 * len(l) // 3]["time"])' "$R")
expect_seqs "times [$T1, $T2)" "\"$T1\" <= e[\"time\"] < \"$T2\"" --from "$T1" --to "$T2"
expect_seqs "medical from seq 20" 'e["seq"] in medical and e["seq"] >= 20' --category medical --from 20

audit replay "$DATA" --json --tz +08:00 >"$TEST_DIR/tz.jsonl" || die "replay --tz"
"$PY" - "$R" "$TEST_DIR/tz.jsonl" <<'PY' || die "--tz +08:00 shows other instants"
import datetime, json, sys
utc = [json.loads(l) for l in open(sys.argv[1])]
cst = [json.loads(l) for l in open(sys.argv[2])]
assert len(utc) == len(cst)
for a, b in zip(utc, cst):
    assert b["time"].endswith("+08:00"), b["time"]
    t = datetime.datetime.fromisoformat(b["time"])
    assert round(t.timestamp() * 1000) == a["time_ms"] == b["time_ms"], (a["time"], b["time"])
PY
audit replay "$DATA" --tz +08:00 >"$TEST_DIR/tz.txt" || die "replay --tz"
sed -n 1p "$TEST_DIR/tz.txt" | grep -q '^1 [0-9T:.-]*+08:00 ' || die "text replay ignores --tz: $(sed -n 1p "$TEST_DIR/tz.txt")"

for bad in "--from 0:--from" "--to tomorrow:--to" "--unit PSB:--unit" "--kind clues:--kind" \
    "--category medicine:--category" "--tz +8:--tz" "--case :--case"; do
	args=${bad%%:*}
	opt=${bad##*:}
	rc=0
	# shellcheck disable=SC2086
	audit replay "$DATA" ${args% *} "${args#* }" >/dev/null 2>"$TEST_DIR/bad.err" || rc=$?
	assert_eq 2 "$rc" "exit status of replay $args"
	grep -q "^cluebus-audit: $opt " "$TEST_DIR/bad.err" || die "replay $args: $(cat "$TEST_DIR/bad.err")"
done
rc=0
audit replay "$DATA" --from 9 --to 3 >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "exit status of replay --from 9 --to 3"

# verify --json
HEAD=$(wc -l <"$R")
audit verify "$DATA" --json >"$TEST_DIR/verify.json" || die "verify --json: $(cat "$TEST_DIR/verify.json")"
cp -a "$DATA" "$TEST_DIR/node"
SEQ=$((HEAD / 2))
"$CLUEBUS_TEST_TOOLS/tamper" node "$TEST_DIR/node" "$SEQ" >/dev/null
for mode in "" --chain-only; do
	rc=0
	# shellcheck disable=SC2086
	audit verify "$TEST_DIR/node" --json $mode >"$TEST_DIR/bad$mode.json" || rc=$?
	assert_eq 1 "$rc" "exit status of verify --json $mode on a flipped tree node"
done
rc=0
audit verify "$TEST_DIR/no-such-dir" --json >"$TEST_DIR/missing.json" 2>/dev/null || rc=$?
assert_eq 2 "$rc" "exit status of verify --json on a missing directory"
sed -n '/<!-- verify-json-example -->/,/^```$/p' "$REPO/docs/audit.md" | grep '^{' >"$TEST_DIR/verify-doc.jsonl"
"$PY" - "$TEST_DIR" "$HEAD" "$SEQ" <<'PY' || die "verify --json is wrong"
import json, os, sys
d, head, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ok = json.load(open(os.path.join(d, "verify.json")))
doc_ok, doc_bad = [json.loads(l) for l in open(os.path.join(d, "verify-doc.jsonl"))]
assert set(ok) == set(doc_ok), ("the documented example differs", set(ok) ^ set(doc_ok))
assert ok["version"] == 1 and ok["ok"] is True and ok["first_bad"] is None, ok
assert ok["entries"] == head and len(ok["head"]) == 64 and len(ok["tree_root"]) == 64, ok
checks = {c["check"]: c["count"] for c in ok["checks"]}
assert list(checks) == ["chain", "tree", "signatures", "indexes"], checks
assert checks["chain"] == head and checks["tree"] > head and checks["signatures"] > 0, checks
for mode in ("", "--chain-only"):
    bad = json.load(open(os.path.join(d, "bad%s.json" % mode)))
    assert set(bad) == set(doc_bad), ("the documented example differs", set(bad) ^ set(doc_bad))
    assert bad["ok"] is False and bad["first_bad"]["seq"] == seq, (mode, bad)
    assert bad["first_bad"]["reason"].startswith("the stored Merkle tree"), bad
    names = [c["check"] for c in bad["checks"]]
    assert names == (["chain", "tree"] if mode else ["chain", "tree", "signatures", "indexes"]), names
missing = json.load(open(os.path.join(d, "missing.json")))
assert missing["ok"] is False and missing["error"] and missing["first_bad"] is None, missing
print("verify --json: ok, a bad tree node at seq %d named, a missing directory an error" % seq)
PY
finish
