#!/usr/bin/env bash
# scripts/demo.sh — the Anshan demo (`make demo`): a broker and seven agency agents on
# loopback, five realistic clues from examples/json/ pushed through, where each one went,
# and the audit of the log.
#
# Everything lives under DEMO_DIR (default demo/run), a deployment made by scripts/deploy.sh:
#   keys/                  Ed25519 keys of the broker and of every unit (made once, kept)
#   registry.json          units and public keys
#   broker.conf  data/     the broker's configuration and its LMDB log
#   UNIT.agent.conf        spool/UNIT/{in,sent,out,...}  state/UNIT/
#   logs/                  broker.log, agent-UNIT.log; pids/
# Each run keeps keys/ and starts everything else afresh (a new log, empty spools), so
# `make demo` can be run again and again; a non-empty DEMO_DIR that the demo did not make
# (no .cluebus-demo marker) is refused rather than wiped. Every process started here is
# stopped on exit, and nothing outside DEMO_DIR is written.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CLUEBUS_BIN:-$REPO/bin}
DEMO_DIR=${DEMO_DIR:-demo/run}
AGENTS="health education psb ato ato-210302 ato-210303 railway"
# document  sender: who reports what (SPEC §4, seed Art 8, 9, 16, 23; railway station)
CLUES="clue-medical.json:health clue-school.json:education clue-transport.json:railway
clue-public-tip.json:ato clue-petition.json:ato-210303"

cd "$REPO"
. scripts/deploy.sh
UNITS_FILE=$DEPLOY_UNITS_FILE
for b in cluebus-broker cluebus-agent cluebus-keygen cluebus-audit; do
	[ -x "$BIN/$b" ] || { echo "demo: $BIN/$b is missing; run make first" >&2; exit 1; }
done
[ -f "$UNITS_FILE" ] || { echo "demo: $UNITS_FILE not found" >&2; exit 1; }
mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
DEPLOY_DIR=$DEMO_DIR
DEPLOY_BIN=$BIN
DEPLOY_LOGS=$DEMO_DIR/logs

trap 'proc_cleanup 10' EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS WHAT COMMAND...: polls every 0.1 s, gives up after SECONDS.
wait_for() {
	local secs=$1 what=$2
	shift 2
	poll_until "$secs" "$@" && return 0
	echo "demo: gave up after ${secs}s waiting for $what (logs: $DEMO_DIR/logs)" >&2
	return 1
}

echo "== cluebus demo in $DEMO_DIR"
# Start afresh, keeping the keys; only in a directory this script made (it leaves a marker).
if [ -n "$(ls -A "$DEMO_DIR")" ] && [ ! -f "$DEMO_DIR/.cluebus-demo" ]; then
	echo "demo: $DEMO_DIR is not empty and was not made by the demo; choose another DEMO_DIR" >&2
	exit 1
fi
touch "$DEMO_DIR/.cluebus-demo"
find "$DEMO_DIR" -mindepth 1 -maxdepth 1 ! -name keys ! -name .cluebus-demo -exec rm -rf {} +
proc_init "$DEMO_DIR/pids"

# A free loopback port below the ephemeral range (or DEMO_PORT).
ENDPOINT=$(deploy_endpoint tcp "${DEMO_PORT:-}")
deploy_init "$ENDPOINT"
for u in $AGENTS; do
	deploy_agent "$u"
done

deploy_start_broker 20
echo "broker listening on $ENDPOINT (log $DEMO_DIR/data)"
for u in $AGENTS; do
	deploy_start_agent "$u"
done
deploy_await_connected 20 $AGENTS
echo "agents connected: $AGENTS"

for c in $CLUES; do
	file=${c%%:*} sender=${c##*:}
	in=$(deploy_spool "$sender")/in
	cp "examples/json/$file" "$in/.$file.tmp"
	mv "$in/.$file.tmp" "$in/$file"
	echo "dropped examples/json/$file into $sender's spool"
done
for c in $CLUES; do
	file=${c%%:*} sender=${c##*:}
	wait_for 20 "the broker's answer to $file" \
	    files_at_least "$(deploy_spool "$sender")/sent" "$file.receipt.json" 1
done
# Each delivery to a running agent lands in its out/: wait for all of them.
deliveries_done() {
	"$BIN/cluebus-audit" replay "$DEMO_DIR/data" --json >"$DEMO_DIR/replay.jsonl" &&
	python3 - "$DEMO_DIR" "$AGENTS" <<'EOF'
import json, os, sys
root, running = sys.argv[1], sys.argv[2].split()
for line in open(os.path.join(root, "replay.jsonl")):
    e = json.loads(line)
    if e["type"] != "message":
        continue
    for unit in e["recipients"]:
        out = os.path.join(root, "spool", unit, "out")
        if unit in running and not os.path.exists(
                os.path.join(out, "%020d-%s-%s.json" % (e["seq"], e["kind"], e["message_id"]))):
            sys.exit(1)
EOF
}
wait_for 20 "deliveries to the running agents" deliveries_done

echo
python3 - "$DEMO_DIR" "$AGENTS" "$UNITS_FILE" <<'EOF'
import json, os, sys, unicodedata
root, running, units_file = sys.argv[1], sys.argv[2].split(), sys.argv[3]
names = {u["id"]: u["name"].split("(")[0] for u in json.load(open(units_file))["units"]}

def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

def cut(s, n):
    s = s.split("\n")[0]
    if width(s) <= n:
        return s
    while width(s) > n - 2:
        s = s[:-1]
    return s + "……"

def pad(s, n):
    return s + " " * max(0, n - width(s))

msgs = [e for e in map(json.loads, open(os.path.join(root, "replay.jsonl")))
        if e["type"] == "message"]
print("Where each clue went. Deliveries are files in DEMO_DIR/spool/UNIT/out/;")
print("units without a running agent keep theirs in the broker's backlog until they connect.")
for m in msgs:
    clue = m["body"]["clue"]
    print()
    print("seq %d  %s  %s  from %s %s  jurisdiction %s" % (
        m["seq"], clue["category"], m["body"]["priority"], m["sender"],
        names.get(m["sender"], ""), clue["jurisdiction"]))
    print("    %s" % cut(clue["summary"], 76))
    for unit in m["recipients"]:
        f = "%020d-clue-%s.json" % (m["seq"], m["message_id"])
        path = os.path.join(root, "spool", unit, "out", f)
        if os.path.exists(path):
            check = json.load(open(path))["signature"]["agent_check"]
            where = "out/%s  signature %s" % (f, check)
        elif unit in running:
            where = "NOT DELIVERED"
        else:
            where = "(no agent running: in the backlog)"
        print("    -> %s %s" % (pad("%s %s" % (unit, names.get(unit, "")), 40), where))
print()
EOF

# The auditor's view works on a stopped broker: stop everything, then verify the log.
proc_stop_all 30 ||
    { echo "demo: a daemon did not stop cleanly (logs: $DEMO_DIR/logs)" >&2; exit 1; }
echo "== cluebus-audit verify $DEMO_DIR/data"
if "$BIN/cluebus-audit" verify "$DEMO_DIR/data"; then
	echo "== demo finished: every clue routed, delivered and verified"
else
	echo "== demo: the audit FAILED" >&2
	exit 1
fi
