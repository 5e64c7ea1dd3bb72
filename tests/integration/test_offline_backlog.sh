#!/usr/bin/env bash
# A recipient that is offline while 200 clues are published catches up when its agent
# starts: psb's out/ gets exactly the 200 messages, once each, in log order (file names
# sort by seq, seqs strictly increase, summaries in publish order), nothing is lost or
# duplicated, and the log verifies. A temporary file a crash left in out/ is removed when
# the agent starts; the agency's own dot-files in in/ are not touched.
. "$(dirname "$0")/lib.sh"

N=200
deploy ipc
start_broker

# The documents are in place before health's agent starts, so its first scan takes them
# all, in name order: that is the publish order. psb has never connected: all of it lands
# in its backlog.
drop_clues health "$N" medical 210302
start_agent health
wait_connected health
wait_for 120 "$N receipts in health's sent/" files_at_least "$(spool health)/sent" '*.receipt.json' "$N"
assert_eq 0 "$(count_files "$(spool health)/rejected")" "health's rejected/ entries"
[ ! -d "$(spool psb)" ] || die "psb's spool exists although its agent never ran"

# What a crash of psb's agent would have left: a temporary in out/ (its own, removed at
# start) and one of the agency's in in/ (not the agent's: left alone).
mkdir -p "$(spool psb)/out" "$(spool psb)/in"
echo '{"partial":' >"$(spool psb)/out/.00000000000000000007-clue-x.json.tmp4242"
echo '{"partial":' >"$(spool psb)/in/.clue-being-written.json.tmp99"
start_agent psb
wait_connected psb
[ ! -e "$(spool psb)/out/.00000000000000000007-clue-x.json.tmp4242" ] ||
    die "the agent left a crash's temporary in out/"
[ -e "$(spool psb)/in/.clue-being-written.json.tmp99" ] ||
    die "the agent removed a temporary of the agency's in in/"
rm "$(spool psb)/in/.clue-being-written.json.tmp99"
wait_for 120 "$N messages in psb's out/" files_at_least "$(spool psb)/out" '*.json' "$N"
sleep 0.5	# a short grace period in which a duplicate or stray delivery could still land

"$PY" - "$(spool psb)/out" "$(spool health)/sent" "$N" <<'EOF'
import json, os, sys
out, sent, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(f for f in os.listdir(out) if not f.startswith("."))
assert len(names) == n, "psb has %d files, expected %d" % (len(names), n)
docs = [json.load(open(os.path.join(out, f))) for f in names]
seqs = [d["seq"] for d in docs]
assert all(a < b for a, b in zip(seqs, seqs[1:])), "seqs not strictly increasing"
for f, d in zip(names, docs):
    assert f == "%020d-clue-%s.json" % (d["seq"], d["message"]["message_id"]), f
    assert d["signature"]["agent_check"] == "verified", f
summaries = [d["message"]["clue"]["summary"] for d in docs]
assert summaries == ["clue %d" % i for i in range(1, n + 1)], summaries[:5]
# Each delivery is the message health's receipt names, at the same seq.
receipts = {}
for f in os.listdir(sent):
    if f.endswith(".receipt.json"):
        r = json.load(open(os.path.join(sent, f)))
        receipts[r["message_id"]] = r["seq"]
assert len(receipts) == n
assert {d["message"]["message_id"]: d["seq"] for d in docs} == receipts
print("psb caught up: %d messages, seqs %d..%d, in publish order" % (n, seqs[0], seqs[-1]))
EOF

stop_broker
audit verify "$D/data"
finish
