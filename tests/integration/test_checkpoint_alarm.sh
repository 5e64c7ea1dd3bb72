#!/usr/bin/env bash
# Checkpoints reach the agents, receipts carry inclusion proofs, and an agent holding a
# checkpoint detects a rollback and a fork of the broker's log (docs/audit.md §7.6):
#   - health's clue gets a receipt with "proof" and "checkpoint", which
#     `cluebus-audit check-receipt` accepts offline; `cluebus-agent status` exits 0;
#     `cluebus-ctl checkpoint` signs one of the head on demand;
#   - rollback: the broker's data directory is copied (stopped), the broker runs on (more
#     clues, checkpoints held by the agents beyond the copy), is stopped, the old copy is
#     put back and the broker restarted: health's agent, holding the bigger checkpoint,
#     raises the alarm: an ALARM log line, SPOOL/status.json "ok": false, and
#     `cluebus-agent status` exits 1;
#   - fork: psb's agent, stopped before the restore and holding the bigger checkpoint too,
#     comes back after the restored broker logged past that size (a different history):
#     the consistency proof from its checkpoint fails and it raises the fork alarm;
#   - `cluebus-audit verify --receipts` over the agencies' evidence (receipts, held
#     checkpoints, alarm.json) names the first entry the restore lost.
. "$(dirname "$0")/lib.sh"

deploy ipc "checkpoint_interval_ms = 200;"
start_all health psb
ctl() { "$CLUEBUS_BIN/cluebus-ctl" -c "$D/broker.conf" "$@"; }
agent_status() { "$CLUEBUS_BIN/cluebus-agent" -c "$D/$1.agent.conf" status; }
SENT=$(spool health)/sent
held_size() { sed -n 2p "$D/state/$1/checkpoint.note" 2>/dev/null || echo 0; }
has_proof() { grep -q '"proof"' "$SENT/$1.receipt.json" 2>/dev/null; }

drop health c1.json "$(clue_json medical 210302 "before the copy")"
wait_for 60 "c1's receipt to get its proof" has_proof c1.json
audit check-receipt "$SENT/c1.json.receipt.json" --registry "$D/registry.json" \
    >"$TEST_DIR/check1.txt" || die "check-receipt: $(cat "$TEST_DIR/check1.txt")"
say "$(cat "$TEST_DIR/check1.txt")"
agent_status health >"$TEST_DIR/status-ok.txt" || die "status: $(cat "$TEST_DIR/status-ok.txt")"
grep -q '"ok": true' "$(spool health)/status.json" || die "status.json: not ok"
ctl checkpoint >"$TEST_DIR/ckpt.txt" || die "ctl checkpoint failed"
grep -q "^checkpoint of tree size [1-9]" "$TEST_DIR/ckpt.txt" || die "ctl: $(cat "$TEST_DIR/ckpt.txt")"

# The copy, then the broker runs on.
stop_broker
cp -a "$D/data" "$D/data.old"
OLD=$(audit verify "$D/data.old" | sed -n 's/^OK \([0-9]*\) entries.*/\1/p')
[ -n "$OLD" ] || die "the copy does not verify"
start_broker
wait_connected health psb
for i in 2 3 4; do
	drop health "c$i.json" "$(clue_json medical 210302 "after the copy $i")"
done
wait_for 60 "c4's receipt to get its proof" has_proof c4.json
ctl checkpoint >/dev/null
wait_for 30 "psb to hold a checkpoint beyond the copy's $OLD entries" \
    eval '[ "$(held_size psb)" -gt "$OLD" ]'
wait_for 30 "health to hold a checkpoint beyond the copy's $OLD entries" \
    eval '[ "$(held_size health)" -gt "$OLD" ]'
HELD=$(held_size psb)
say "agents hold checkpoints of size $(held_size health) (health) and $HELD (psb); copy has $OLD"
stop_agent psb
stop_broker

# Rollback: the old copy back in place.
mv "$D/data" "$D/data.new"
cp -a "$D/data.old" "$D/data"
start_broker
wait_for 60 "health's rollback alarm" log_count_gt "$LOGS/agent-health.log" "ALARM: rollback" 0
rc=0; agent_status health >"$TEST_DIR/status-alarm.txt" || rc=$?
assert_eq 1 "$rc" "cluebus-agent status after the rollback"
grep -q "ALARM: rollback" "$TEST_DIR/status-alarm.txt" || die "status: $(cat "$TEST_DIR/status-alarm.txt")"
wait_for 10 "status.json to say not ok" grep -q '"ok": false' "$(spool health)/status.json"
grep -q '"held"' "$D/state/health/alarm.json" || die "alarm.json keeps no evidence"

# Fork: the restored broker logs past psb's checkpoint, then psb comes back.
i=10
until ctl checkpoint | grep -q "tree size \([0-9]*\)" &&
    [ "$(ctl checkpoint | sed -n 's/^checkpoint of tree size \([0-9]*\).*/\1/p')" -gt "$HELD" ]; do
	drop health "f$i.json" "$(clue_json medical 210302 "forked $i")"
	i=$((i + 1))
	[ "$i" -lt 40 ] || die "the restored broker did not log past $HELD"
	sleep 0.3
done
start_agent psb
wait_for 60 "psb's fork alarm" log_count_gt "$LOGS/agent-psb.log" "ALARM: fork" 0
rc=0; agent_status psb >"$TEST_DIR/status-psb.txt" || rc=$?
assert_eq 1 "$rc" "cluebus-agent status of psb after the fork"
say "psb: $(head -1 "$TEST_DIR/status-psb.txt")"

# The auditor: the restored broker's log against the agencies' evidence (receipts, held
# checkpoints, alarm.json) names the first entry the restore lost.
stop_all
rc=0; audit verify "$D/data" --receipts "$D/state" "$SENT" >"$TEST_DIR/audit.txt" 2>&1 || rc=$?
assert_eq 1 "$rc" "verify --receipts of the restored log"
FIRST=$(grep -m1 '^FAIL seq' "$TEST_DIR/audit.txt")
case $FIRST in
"FAIL seq $((OLD + 1)):"*) say "auditor: $FIRST" ;;
*) die "expected the first lost entry $((OLD + 1)): $(head -5 "$TEST_DIR/audit.txt")" ;;
esac
check_logs
say "ok"
