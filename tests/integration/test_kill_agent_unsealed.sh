#!/usr/bin/env bash
# kill -9 of a sealing agent while its publishes wait to be sealed: health's agent starts
# with the broker down and no directory kept from an earlier run, so it stores the 60
# documents in clear in its own store (docs/sealing.md §8) and cannot seal them yet; it is
# killed there, and again right after the directory arrives, while it seals and sends.
# Started again with the broker up, it seals and sends each one: every clue is logged
# exactly once, sealed, health gets one receipt per document, every recipient gets each
# message once, opened, and the log verifies.
. "$(dirname "$0")/lib.sh"

N=60
RECIPIENTS="psb ato ato-210302"
deploy ipc
LOG=$LOGS/agent-health.log

drop_clues health "$N" medical 210302
start_agent health
stored() { [ "$(log_count "$LOG" 'message stored; sealed and sent once')" -ge "$N" ]; }
wait_for 60 "$N documents stored unsealed" stored
[ ! -e "$D/state/health/directory.pb" ] || die "health has a directory already"
assert_eq 0 "$(count_files "$(spool health)/sent")" "receipts before the broker ran"
kill9_agent health
say "kill -9 agent health with $N publishes stored unsealed"

start_broker
for u in $RECIPIENTS; do start_agent "$u"; done
wait_connected $RECIPIENTS
start_agent health
# The second kill: as soon as the directory is in (the first receipts may be on the way).
wait_for 60 "health's directory" test -s "$D/state/health/directory.pb"
kill9_agent health
say "kill -9 agent health with $(count_files "$(spool health)/sent") receipts"
start_agent health

drain health "$N" 120 $RECIPIENTS
end_stream health "$N" $RECIPIENTS
"$PY" - "$TEST_DIR/replay.jsonl" "$D/spool" $RECIPIENTS <<'EOF'
import glob, json, os, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
msgs = [m for m in msgs if m.get("type") == "message"]
assert all("sealed" in m["clue"] and "summary" not in m["clue"] for m in msgs), \
    "a clue was logged in clear"
for unit in sys.argv[3:]:
    for p in glob.glob(os.path.join(sys.argv[2], unit, "out", "*.json")):
        doc = json.load(open(p))
        assert doc["sealing"]["status"] == "opened", (unit, doc["sealing"])
        assert doc["message"]["clue"]["summary"].startswith("clue "), p
print("every clue logged sealed, and opened by each recipient")
EOF
finish
