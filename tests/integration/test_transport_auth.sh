#!/usr/bin/env bash
# Authenticated transport (CURVE + the broker's ZAP handler):
#   - an agent whose CURVE key is not in the registry cannot connect: the broker refuses the
#     handshake and logs it, the agent says so plainly and backs off, and nothing it sends
#     reaches the audit log; its stored clue is not lost and goes through once the right key
#     is back;
#   - an agent that presents another unit's (registered) key while saying hello as health is
#     refused (the hello names a unit other than the key's) and nothing reaches the log.
. "$(dirname "$0")/lib.sh"

deploy ipc
start_all psb
K=$D/keys
entries() { audit replay "$D/data" | wc -l; }
BASE=$(entries)

# 1. An unregistered transport key.
mv "$K/health.curve" "$K/health.curve.real"
mkdir -p "$TEST_DIR/rogue"
"$CLUEBUS_BIN/cluebus-keygen" key health "$TEST_DIR/rogue" >/dev/null
cp "$TEST_DIR/rogue/health.curve" "$K/health.curve"
start_agent health
drop health c1.json "$(clue_json medical 210302 "kept while refused")"
wait_for 60 "the agent to report the refused key" log_count_gt "$LOGS/agent-health.log" \
    "refused this unit's transport key" 0
wait_for 60 "the broker to log the refused handshake" log_count_gt "$LOGS/broker.log" \
    "refused a connection" 0
wait_for 60 "the clue to be stored" files_at_least "$(spool health)/pending" 'c1.json' 1
sleep 2	# room for a second attempt: it must back off, not spin
[ "$(log_count "$LOGS/agent-health.log" "refused this unit's transport key")" -le 3 ] ||
    die "the agent retried without backing off"
assert_eq 0 "$(log_count "$LOGS/broker.log" "unit health connected")" "health sessions"
assert_eq "$BASE" "$(entries)" "log entries after the refused connection"
stop_agent health

# 2. The right key again: the stored clue goes through, once.
mv "$K/health.curve.real" "$K/health.curve"
start_agent health
wait_connected health
wait_for 60 "the kept clue to be accepted" files_at_least "$(spool health)/sent" \
    'c1.json.receipt.json' 1
wait_for 60 "the kept clue at psb" files_at_least "$(spool psb)/out" '*.json' 1
stop_agent health
BASE=$(entries)

# 3. Another unit's registered key, hello as health: admitted as education by ZAP, so the
#    hello for health is refused.
cp "$K/health.curve" "$K/health.curve.real"
cp "$K/education.curve" "$K/health.curve"
start_agent health
wait_for 60 "the broker to refuse the hello" log_count_gt "$LOGS/broker.log" \
    "hello as 'health' on a connection authenticated as education refused" 0
wait_for 60 "the agent to report the refused hello" log_count_gt "$LOGS/agent-health.log" \
    "broker refused this unit's hello" 0
drop health c2.json "$(clue_json medical 210302 "never under education's key")"
wait_for 60 "the clue to be stored" files_at_least "$(spool health)/pending" 'c2.json' 1
sleep 1
assert_eq "$BASE" "$(entries)" "log entries after the mismatched hello"
stop_agent health
mv "$K/health.curve.real" "$K/health.curve"
audit verify "$D/data"
finish
