#!/usr/bin/env bash
# Forged publishes (tampered, wrong key, foreign key id, sender not the peer, no hello,
# garbage, and replays outside the time window) are refused with the right reason code; each refusal on an authenticated
# connection is logged as a "rejection" entry with that code, the peer and the forged
# message id (a publish before any Hello is answered not_authenticated but, by design of
# broker/pipeline.c, not logged: anyone who can reach the port could fill the log); no
# forged message is logged as a message or delivered, and the log still verifies. A valid publish through the same
# tool (the control) is accepted and delivered, and a resent one is answered from the
# dedup index with its original seq.
. "$(dirname "$0")/lib.sh"

deploy ipc
start_all psb

clue_json medical 210302 "forge test" >"$TEST_DIR/clue.json"
K=$D/keys

# forge NAME MODE [ARGS...]: runs the tool as health; its answer lines go to NAME.out and
# the message id it used to NAME.id.
forge() {
	local name=$1 mode=$2
	shift 2
	"$CLUEBUS_TEST_TOOLS/forge" --endpoint "$ENDPOINT" --unit health --key "$K/health.key" \
	    --mode "$mode" --clue "$TEST_DIR/clue.json" "$@" \
	    >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.err" ||
	    die "forge $mode failed: $(cat "$TEST_DIR/$name.out" "$TEST_DIR/$name.err")"
	sed -n 's/^forge: message id //p' "$TEST_DIR/$name.err" >"$TEST_DIR/$name.id"
	say "forge $mode: $(tr '\n' '|' <"$TEST_DIR/$name.out")"
}

# expect_answer NAME REGEX: the tool printed exactly one line and it matches.
expect_answer() {
	[ "$(wc -l <"$TEST_DIR/$1.out")" -eq 1 ] || die "$1: expected one answer: $(cat "$TEST_DIR/$1.out")"
	grep -Eq "$2" "$TEST_DIR/$1.out" || die "$1: expected /$2/, got: $(cat "$TEST_DIR/$1.out")"
}

forge valid valid
expect_answer valid '^accepted [0-9]+$'
forge dup duplicate
[ "$(sed -n 1p "$TEST_DIR/dup.out")" = "accepted $(sed -n 's/^accepted \([0-9]*\) duplicate$/\1/p' "$TEST_DIR/dup.out")" ] ||
    die "a resent publish must get its original seq, flagged duplicate: $(cat "$TEST_DIR/dup.out")"

forge tamper tamper
expect_answer tamper '^rejected bad_signature: '
forge wrongkey wrong-key --other-key "$K/education.key"
expect_answer wrongkey '^rejected (bad_signature|unknown_key): '
forge foreignid foreign-key-id --other-key "$K/education.key"
expect_answer foreignid '^rejected unknown_key: '
forge mismatch sender-mismatch --other-unit education --other-key "$K/education.key"
expect_answer mismatch '^rejected sender_mismatch: '
forge nohello no-hello
expect_answer nohello '^rejected not_authenticated: '
forge garbage garbage
expect_answer garbage '^rejected malformed: '
# Replay protection: correctly signed, but created 20 minutes ago or ahead (the window is
# 10 minutes either way).
forge stale stale
expect_answer stale '^rejected clock_skew: .*past'
forge future future
expect_answer future '^rejected clock_skew: .*future'

# The control got through: psb has exactly the two valid messages.
wait_for 60 "the valid messages at psb" files_at_least "$(spool psb)/out" '*.json' 2
sleep 0.5	# a short grace period in which a wrongly routed forgery could still land
[ "$(count_files "$(spool psb)/out")" -eq 2 ] || die "psb must have exactly 2 messages: $(ls "$(spool psb)/out")"
for name in valid dup; do
	files_at_least "$(spool psb)/out" "*-clue-$(cat "$TEST_DIR/$name.id").json" 1 ||
	    die "psb did not receive the $name message"
done

stop_broker
replay_json "$TEST_DIR/replay.jsonl"
"$PY" - "$TEST_DIR" <<'EOF'
import json, os, sys
d = sys.argv[1]
entries = [json.loads(l) for l in open(os.path.join(d, "replay.jsonl"))]
ident = lambda n: open(os.path.join(d, n + ".id")).read().strip()
msgs = [e for e in entries if e["type"] == "message"]
rejs = [e for e in entries if e["type"] == "rejection"]

# Only the two valid messages were logged, once each, at the seqs the broker answered.
valid_seq = int(open(os.path.join(d, "valid.out")).read().split()[1])
dup_seq = int(open(os.path.join(d, "dup.out")).readline().split()[1])
assert sorted((m["seq"], m["message_id"]) for m in msgs) == \
    sorted([(valid_seq, ident("valid")), (dup_seq, ident("dup"))]), msgs

# One rejection per forgery, with its code (RejectCode in proto/cluebus.proto, by name),
# its message id where it had one, the authenticated peer and the claimed sender. An id is
# "message_id" only when its signature verified; a forgery's is only "claimed_message_id".
expect = [  # name, codes, peer, claimed sender, id verified
    ("tamper", {"bad_signature"}, "health", "health", False),
    ("wrongkey", {"bad_signature", "unknown_key"}, "health", "health", False),
    ("foreignid", {"unknown_key"}, "health", "health", False),
    ("mismatch", {"sender_mismatch"}, "health", "education", False),
    ("stale", {"clock_skew"}, "health", "health", True),
    ("future", {"clock_skew"}, "health", "health", True),
]
assert len(rejs) == len(expect) + 1, rejs  # + garbage
forged_ids = set()
for name, codes, peer, claimed, verified in expect:
    mid = ident(name)
    forged_ids.add(mid)
    key, other = ("message_id", "claimed_message_id") if verified else \
        ("claimed_message_id", "message_id")
    found = [r for r in rejs if r.get(key) == mid]
    assert len(found) == 1, (name, found)
    r = found[0]
    assert other not in r, (name, r)
    assert r["code"] in codes, (name, r)
    assert r["peer"] == peer and r["claimed_sender"] == claimed, (name, r)
    assert r["recipients"] == [], (name, r)
garbage = [r for r in rejs if "message_id" not in r and "claimed_message_id" not in r]
assert len(garbage) == 1 and garbage[0]["code"] == "malformed" and \
    garbage[0]["peer"] == "health", garbage
# The unauthenticated publish left no trace in the log at all.
nohello = ident("nohello")
assert not [e for e in entries if e.get("message_id") == nohello], "no-hello publish logged"
forged_ids.add(nohello)
assert not forged_ids & {m["message_id"] for m in msgs}, "a forged message was logged"
assert len(forged_ids) == len(expect) + 1
print("log ok: 2 messages,", len(rejs), "rejections with codes",
      sorted(r["code"] for r in rejs))
EOF
audit verify "$D/data"
finish
