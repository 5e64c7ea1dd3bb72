# scripts/deploy.sh — a cluebus deployment in one directory, and its broker and agents
# started and awaited (sourced, bash; sources scripts/common.sh and scripts/procs.sh).
#
# The demo, the bench, the integration tests and the torture scenarios all run a private
# cluebus on loopback. They make it here, by one set of rules, so that what the tests
# check is what the demo shows and what the bench measures:
#
#   $DEPLOY_DIR/keys/            Ed25519 and CURVE keys of the broker, the administrator and
#                                every unit of the units file (cluebus-keygen units; existing
#                                keys are kept)
#   $DEPLOY_DIR/registry.json    cluebus-keygen registry
#   $DEPLOY_DIR/broker.conf      config/broker.conf.example with this deployment's endpoint
#                                and the given tuning lines; data/ beside it is the log
#   $DEPLOY_DIR/UNIT.agent.conf  config/agent.conf.example with UNIT for `health`, the
#                                endpoint and the given tuning lines
#   $DEPLOY_DIR/spool/UNIT/      the agent's spool (in/ and out/ made here, the rest by it)
#   $DEPLOY_DIR/state/UNIT/      the agent's own store
#
# Invariants: (1) every path in the configuration files is the example's, relative to
# DEPLOY_DIR, so a deployment can be moved or inspected as it is; (2) every generated
# configuration is mode 0600 and passes the daemon's --check before it is used; (3) the
# example's routing table and defaults are used unchanged: a caller states every change as a
# tuning line.
#
# What callers choose: the endpoint (deploy_endpoint: ipc, or tcp on a free or given port),
# tuning lines for the broker and each agent, which units get an agent, where the agents'
# spools and stores live (DEPLOY_AGENT_DIR), and how long to wait for a daemon to be ready.
#
# Settings (set them before deploy_init): DEPLOY_DIR, DEPLOY_BIN (the cluebus binaries),
# DEPLOY_LOGS (daemon logs, default $DEPLOY_DIR/logs), DEPLOY_AGENT_DIR (optional: spool/
# and state/ become links into it). Needs PROC_DIR (scripts/procs.sh) for the daemons.

_DEPLOY_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_DEPLOY_HERE/common.sh"
. "$_DEPLOY_HERE/procs.sh"

DEPLOY_REPO=$(cd "$_DEPLOY_HERE/.." && pwd)
DEPLOY_UNITS_FILE=${DEPLOY_UNITS_FILE:-$DEPLOY_REPO/../shared/units.sample.json}
DEPLOY_EXAMPLE_ENDPOINT="tcp://127.0.0.1:7700"
DEPLOY_ENDPOINT=

# deploy_endpoint ipc|tcp [PORT]: prints an endpoint for DEPLOY_DIR's broker: a socket file
# in DEPLOY_DIR, or loopback TCP on PORT (default: a free port, scripts/common.sh).
deploy_endpoint() {
	case $1 in
	ipc) echo "ipc://$DEPLOY_DIR/broker.ipc" ;;
	tcp) echo "tcp://127.0.0.1:${2:-$(free_port)}" ;;
	*) echo "deploy_endpoint: unknown transport '$1'" >&2; return 1 ;;
	esac
}

# _deploy_conf EXAMPLE OUT TUNING [SED_ARG...]: EXAMPLE with the extra sed expressions
# applied, then the example's endpoint replaced by DEPLOY_ENDPOINT (which the expressions
# therefore never touch) and TUNING (lines, may be empty) added after the endpoint's line;
# mode 0600. A TUNING line `NAME = VALUE;` replaces the example's own setting NAME; a line
# `!NAME` only removes it (e.g. `!seal_key`: an agent that does not seal).
_deploy_conf() {
	local example=$1 out=$2 tuning=$3 after
	shift 3
	after=$(printf '%s' "$DEPLOY_EXAMPLE_ENDPOINT" | sed 's/[.]/\\./g')
	(umask 077 && sed "$@" -e "s#\"$after\"#\"$DEPLOY_ENDPOINT\"#" "$example" >"$out.tmp")
	if [ -n "$tuning" ]; then
		TUNING=$tuning awk -v ep="\"$DEPLOY_ENDPOINT\"" '
			BEGIN { n = split(ENVIRON["TUNING"], t, "\n")
				for (i = 1; i <= n; i++)
					if (match(t[i], /^[ \t]*!?[a-z_]+/)) {
						name = substr(t[i], RSTART, RLENGTH)
						gsub(/[ \t!]/, "", name)
						set[name] = 1
					} }
			match($0, /^[ \t]*[a-z_]+[ \t]*=/) {
				name = substr($0, RSTART, RLENGTH); gsub(/[ \t=]/, "", name)
				if (name in set && !index($0, ep)) next }
			{ print }
			index($0, ep) && !done { for (i = 1; i <= n; i++)
					if (t[i] !~ /^[ \t]*!/) print "  " t[i]
				done = 1 }' \
		    "$out.tmp" >"$out.tmp2" && mv "$out.tmp2" "$out.tmp"
	fi
	chmod 600 "$out.tmp"
	grep -q "\"$DEPLOY_ENDPOINT\"" "$out.tmp" || {
		echo "deploy: the endpoint is not set in $out" >&2
		return 1
	}
	mv "$out.tmp" "$out"
}

# deploy_init ENDPOINT [BROKER_TUNING]: in DEPLOY_DIR, the keys that are missing, then
# registry.json and broker.conf written afresh and checked with cluebus-broker --check.
# Sets DEPLOY_ENDPOINT.
# BROKER_TUNING: lines for the broker group, e.g. "redeliver_ms = 2000;".
deploy_init() {
	DEPLOY_ENDPOINT=$1
	[ -f "$DEPLOY_UNITS_FILE" ] || {
		echo "deploy: units file not found: $DEPLOY_UNITS_FILE (shared/ must be beside" \
		    "the repository)" >&2
		return 1
	}
	mkdir -p "$DEPLOY_DIR" "${DEPLOY_LOGS:=$DEPLOY_DIR/logs}"
	"$DEPLOY_BIN/cluebus-keygen" units "$DEPLOY_UNITS_FILE" "$DEPLOY_DIR/keys" >/dev/null
	"$DEPLOY_BIN/cluebus-keygen" registry "$DEPLOY_UNITS_FILE" "$DEPLOY_DIR/keys" \
	    >"$DEPLOY_DIR/registry.json"
	_deploy_conf "$DEPLOY_REPO/config/broker.conf.example" "$DEPLOY_DIR/broker.conf" \
	    "${2:-}" || return 1
	"$DEPLOY_BIN/cluebus-broker" --check -c "$DEPLOY_DIR/broker.conf" >/dev/null
	if [ -n "${DEPLOY_AGENT_DIR:-}" ]; then
		mkdir -p "$DEPLOY_AGENT_DIR/spool" "$DEPLOY_AGENT_DIR/state"
		ln -sfn "$DEPLOY_AGENT_DIR/spool" "$DEPLOY_DIR/spool"
		ln -sfn "$DEPLOY_AGENT_DIR/state" "$DEPLOY_DIR/state"
	fi
}

# deploy_agent UNIT [AGENT_TUNING]: DEPLOY_DIR/UNIT.agent.conf and UNIT's spool in/ and
# out/, checked with cluebus-agent --check. AGENT_TUNING: lines for the agent group.
deploy_agent() {
	local unit=$1
	_deploy_conf "$DEPLOY_REPO/config/agent.conf.example" "$DEPLOY_DIR/$unit.agent.conf" \
	    "${2:-}" -e "s#health#$unit#g" || return 1
	"$DEPLOY_BIN/cluebus-agent" --check -c "$DEPLOY_DIR/$unit.agent.conf" >/dev/null
	mkdir -p "$DEPLOY_DIR/spool/$unit/in" "$DEPLOY_DIR/spool/$unit/out"
}

deploy_spool() { echo "$DEPLOY_DIR/spool/$1"; }

# ---- the daemons (process names "broker" and "agent-UNIT", logs in DEPLOY_LOGS) ----

DEPLOY_BROKER_READY='cluebus-broker: started:'
DEPLOY_AGENT_CONNECTED='connected to'

# deploy_start_broker SECONDS [WRAPPER...]: starts the broker (under WRAPPER, e.g. valgrind,
# when given) and waits up to SECONDS for its "started:" line.
deploy_start_broker() {
	local secs=$1
	shift
	proc_start_ready broker "$DEPLOY_LOGS/broker.log" "$DEPLOY_BROKER_READY" "$secs" \
	    "$@" "$DEPLOY_BIN/cluebus-broker" -c "$DEPLOY_DIR/broker.conf"
}

# deploy_start_agent UNIT [SECONDS]: starts UNIT's agent (deploy_agent first when its
# configuration is missing); with SECONDS, waits that long for its "started" line.
# The number of "connected to" lines before the start is kept for deploy_await_connected.
declare -gA DEPLOY_CONNECTED_BEFORE=()
deploy_start_agent() {
	local unit=$1 secs=${2:-} log=$DEPLOY_LOGS/agent-$1.log
	[ -f "$DEPLOY_DIR/$unit.agent.conf" ] || deploy_agent "$unit" || return 1
	DEPLOY_CONNECTED_BEFORE[$unit]=$(proc_log_count "$log" "$DEPLOY_AGENT_CONNECTED")
	if [ -z "$secs" ]; then
		proc_start "agent-$unit" "$log" "$DEPLOY_BIN/cluebus-agent" \
		    -c "$DEPLOY_DIR/$unit.agent.conf"
	else
		proc_start_ready "agent-$unit" "$log" "agent for $unit started" "$secs" \
		    "$DEPLOY_BIN/cluebus-agent" -c "$DEPLOY_DIR/$unit.agent.conf"
	fi
}

# deploy_await_connected SECONDS UNIT...: each agent has been welcomed by the broker since
# its last deploy_start_agent.
deploy_await_connected() {
	local secs=$1 unit
	shift
	for unit in "$@"; do
		proc_await "agent-$unit" "$DEPLOY_LOGS/agent-$unit.log" "$DEPLOY_AGENT_CONNECTED" \
		    "${DEPLOY_CONNECTED_BEFORE[$unit]:-0}" "$secs" || return 1
	done
}
