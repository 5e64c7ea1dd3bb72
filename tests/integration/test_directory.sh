#!/usr/bin/env bash
# The signed directory (SPEC §3): the broker serves it, agents fetch it, keep it and use it.
#   - at start every agent fetches the broker's directory and keeps it in its state
#     directory (STATE/directory.pb), verified with the broker key of its registry file;
#   - a unit added with cluebus-ctl after the agents started (so absent from their registry
#     file) sends a clue: the recipient's out/ file says the signature was verified by the
#     agent (not "unchecked") and carries the new unit's display name;
#   - a sealing-key rotation reaches the agents' kept directory at once (the broker pushes
#     the new version): the old key's validity ends where the new one's begins;
#   - an agent restarted while the broker is down starts from its kept directory.
. "$(dirname "$0")/lib.sh"

deploy ipc
start_all health ato
K=$D/keys
ADMIN_EP="ipc://$D/admin.sock"
ctl() { "$CLUEBUS_BIN/cluebus-ctl" -e "$ADMIN_EP" -k "$K/admin.key" "$@"; }
dump() { "$CLUEBUS_TEST_TOOLS/dirdump" "$D/registry.json" "$D/state/$1/directory.pb"; }
version() { dump "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
kept() { [ -f "$D/state/$1/directory.pb" ]; }

wait_for 60 "ato's kept directory" kept ato
wait_for 60 "health's kept directory" kept health
V1=$(version ato)
[ "$V1" -gt 0 ] || die "directory version $V1"
grep -q "directory version $V1" "$LOGS/broker.log" || die "the broker did not log version $V1"
grep -q "recording the routing table" "$LOGS/broker.log" || die "routing was not logged"

# --- a unit added after the agents started ---
grep -q '"newunit"' "$D/registry.json" && die "the registry file already lists newunit"
"$CLUEBUS_BIN/cluebus-keygen" key newunit "$K" >/dev/null
ctl registry add newunit --name 新设单位 --role member --keys "$K" |
    grep -q '^accepted seq ' || die "addition"
newer() { [ "$(version "$1")" -gt "$2" ]; }
wait_for 60 "ato's directory to follow the addition" newer ato "$V1"
start_agent newunit
wait_connected newunit
drop newunit late.json "$(clue_json medical 210302 "from a unit added at run time")"
from_newunit() { grep -l '"sender": "newunit"' "$(spool ato)"/out/*.json 2>/dev/null | head -1; }
has_from_newunit() { [ -n "$(from_newunit)" ]; }
wait_for 60 "newunit's clue at ato" has_from_newunit
"$PY" - "$(from_newunit)" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["signature"]["agent_check"] == "verified", d["signature"]
assert d["sender_name"] == "新设单位", d.get("sender_name")
print("newunit's clue: verified by the agent, sender 新设单位")
PYEOF

# --- a sealing-key rotation ---
V2=$(version ato)
mkdir -p "$TEST_DIR/new"
"$CLUEBUS_BIN/cluebus-keygen" key health "$TEST_DIR/new" >/dev/null
ctl registry seal-rotate health --keys "$TEST_DIR/new" | grep -q '^accepted seq ' ||
    die "sealing key rotation"
wait_for 60 "ato's directory to follow the rotation" newer ato "$V2"
dump ato | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
h = [u for u in d["units"] if u["id"] == "health"][0]
old, new = h["seal_keys"]
assert old["valid_until_ms"] != 0 and old["valid_until_ms"] == new["valid_from_ms"], h
assert new["valid_until_ms"] == 0, h
assert old["key_id"] != new["key_id"], h
print("health: sealing key %s ended, %s valid from %d" % (old["key_id"], new["key_id"],
      new["valid_from_ms"]))
'
V3=$(version ato)

# --- a restart from the kept directory ---
stop_broker
stop_agent ato
start_agent ato
wait_for 60 "ato to start from its kept directory" log_count_gt "$LOGS/agent-ato.log" \
    "directory version $V3 kept from the last run" 0
start_broker
wait_connected ato health newunit
drop newunit again.json "$(clue_json medical 210302 "after the restart")"
two_from_newunit() {
	[ "$(grep -l '"sender": "newunit"' "$(spool ato)"/out/*.json 2>/dev/null | wc -l)" -ge 2 ]
}
wait_for 60 "the second clue at ato" two_from_newunit
for f in $(grep -l '"sender": "newunit"' "$(spool ato)"/out/*.json); do
	grep -q '"agent_check": "verified"' "$f" || die "$f: not verified by the agent"
done
stop_broker
audit verify "$D/data" >/dev/null || die "the log does not verify"
finish
