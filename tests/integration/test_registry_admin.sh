#!/usr/bin/env bash
# Registry changes are records signed by the administrator's key, sent with cluebus-ctl to
# the broker's local admin endpoint, logged and applied:
#   - a table of bad commands (another key, an existing unit, a bad role, a district office
#     without its code, an unknown unit, a missing reason) is refused with a clear error and
#     changes nothing;
#   - after health's keys are rotated, its old keys can no longer publish (its agent is
#     refused), with the new keys it publishes again, and the log still verifies: old
#     entries against the old key, new ones against the new;
#   - a revoked unit (psb) is cut off: its agent is refused and messages routed to it wait
#     in the backlog;
#   - a unit added at run time can connect and receive at once;
#   - sealing keys have their own records: health's is rotated, a second addition is
#     refused (rotate it instead), psb's is revoked; the log verifies with all five.
. "$(dirname "$0")/lib.sh"

deploy ipc
start_all health psb ato
K=$D/keys
ADMIN_EP="ipc://$D/admin.sock"
ctl() { "$CLUEBUS_BIN/cluebus-ctl" -e "$ADMIN_EP" -k "$K/admin.key" "$@"; }
entries() { audit replay "$D/data" | wc -l; }

# expect_refused WHAT PATTERN COMMAND...: the command exits 1 and prints PATTERN.
expect_refused() {
	local what=$1 pattern=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" -eq 1 ] || die "$what: expected exit 1, got $rc: $out"
	echo "$out" | grep -Eq "$pattern" || die "$what: expected /$pattern/, got: $out"
	say "refused as expected: $what: $out"
}

BASE=$(entries)
expect_refused "signed by a unit's key, not the admin's" '^rejected bad_signature' \
    "$CLUEBUS_BIN/cluebus-ctl" -e "$ADMIN_EP" -k "$K/health.key" registry liaison psb --liaison x
expect_refused "adding a registered unit" '^rejected invalid_body: registry.unit:.*already' \
    ctl registry add psb --name 市公安局 --role member --keys "$K"
"$CLUEBUS_BIN/cluebus-keygen" key newunit "$K" >/dev/null
"$CLUEBUS_BIN/cluebus-keygen" key nosuchunit "$K" >/dev/null
expect_refused "a role that does not exist" '^rejected invalid_body: registry.role' \
    ctl registry add newunit --name 新单位 --role boss --keys "$K"
expect_refused "a district office without its code" '^rejected invalid_body: registry.division_code' \
    ctl registry add newunit --name 新区反拐办 --role district_office --keys "$K"
expect_refused "rotating an unknown unit" '^rejected invalid_body: registry.unit:.*not registered' \
    ctl registry rotate nosuchunit --keys "$K"
expect_refused "the broker unit" '^rejected invalid_body: registry.unit' \
    ctl registry revoke broker --reason x
rc=0; ctl registry revoke psb >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "revoke without --reason (usage)"
assert_eq "$BASE" "$(entries)" "log entries after refused commands"

# --- rotation ---
drop health before.json "$(clue_json medical 210302 "signed with the old key")"
wait_for 60 "the first clue" files_at_least "$(spool health)/sent" 'before.json.receipt.json' 1
mkdir -p "$TEST_DIR/new"
"$CLUEBUS_BIN/cluebus-keygen" key health "$TEST_DIR/new" >/dev/null
ctl registry rotate health --keys "$TEST_DIR/new" | grep -q '^accepted seq ' || die "rotation"
wait_for 60 "health's agent to be refused with its old keys" log_count_gt \
    "$LOGS/agent-health.log" "refused this unit's" 0
drop health after.json "$(clue_json medical 210302 "signed with the new key")"
wait_for 60 "the second clue to be stored" files_at_least "$(spool health)/pending" 'after.json' 1
stop_agent health
for f in health.key health.pub health.curve health.curve.pub; do
	cp "$TEST_DIR/new/$f" "$K/$f"
done
start_agent health
wait_connected health
wait_for 60 "the clue signed with the new key" files_at_least "$(spool health)/sent" \
    'after.json.receipt.json' 1

# --- sealing keys: their own records, with their own history ---
ctl registry seal-rotate health --keys "$TEST_DIR/new" | grep -q '^accepted seq ' ||
    die "sealing key rotation"
rc=0; ctl registry seal-add health --keys "$TEST_DIR/new" >"$TEST_DIR/sealadd.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "has a sealing key" "$TEST_DIR/sealadd.out" ||
    die "a second sealing key addition was not refused: $(cat "$TEST_DIR/sealadd.out")"
ctl registry seal-revoke psb --reason "封存密钥泄露" | grep -q '^accepted seq ' ||
    die "sealing key revocation"

# --- run-time addition ---
ctl registry add newunit --name 新单位 --role member --liaison 王某 --keys "$K" |
    grep -q '^accepted seq ' || die "addition"
start_agent newunit
wait_connected newunit

# --- revocation ---
ctl registry revoke psb --reason "密钥泄露 (key compromised)" | grep -q '^accepted seq ' ||
    die "revocation"
wait_for 60 "psb's agent to be cut off" log_count_gt "$LOGS/agent-psb.log" "refused this unit's" 0
N=$(count_files "$(spool psb)/out")
drop health late.json "$(clue_json medical 210302 "for a revoked unit")"
wait_for 60 "the late clue at ato" files_at_least "$(spool ato)/out" '*.json' 3
wait_for 60 "the late clue's receipt" files_at_least "$(spool health)/sent" \
    'late.json.receipt.json' 1
sleep 1
assert_eq "$N" "$(count_files "$(spool psb)/out")" "deliveries to the revoked psb"
stop_agent psb

stop_broker
replay_json "$TEST_DIR/replay.jsonl"
"$PY" - "$TEST_DIR/replay.jsonl" "$(spool health)/sent/late.json.receipt.json" <<'PYEOF'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
admin = [e for e in entries if e.get("sender") == "admin"]
assert [e["kind"] for e in admin] == ["registry"] * 5, admin
late_id = json.load(open(sys.argv[2]))["message_id"]
late = [e for e in entries if e["type"] == "message" and e.get("kind") == "clue" and
        e["message_id"] == late_id]
assert len(late) == 1 and "psb" in late[0]["recipients"], late
print("log ok: 5 admin records; the revoked unit's message waits in its backlog")
PYEOF
audit verify "$D/data"
finish
