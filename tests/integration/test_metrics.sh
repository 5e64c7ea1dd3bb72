#!/usr/bin/env bash
# Prometheus /metrics (SPEC §9): served on loopback by the broker's libmicrohttpd thread,
# refused (401) without the bearer token or with a wrong one; with it, the text parses with
# the Prometheus project's own parser (Debian's python3-prometheus-client) and its figures
# are what this test did: 20 clues accepted (by kind), 2 tampered publishes rejected as
# bad_signature, 60 deliveries and acks to the 3 recipients, no backlog left for them,
# psb online and a never-connected unit offline, the commit histograms counting every
# accepted message, the log head the log's.
. "$(dirname "$0")/lib.sh"

PYSYS=/usr/bin/python3	# Debian's python with python3-prometheus-client (not a pyenv)
"$PYSYS" -c 'import prometheus_client' 2>/dev/null ||
    die "python3-prometheus-client is missing (scripts/deps.sh installs it)"
N=20
RECIPIENTS="psb ato ato-210302"
PORT=$(free_port)
mkdir -p "$D/keys"
(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$D/keys/http.token")
TOKEN=$(cat "$D/keys/http.token")
BROKER_TUNING="http_listen = \"127.0.0.1:$PORT\";
http_token = \"keys/http.token\";" deploy ipc
start_all health $RECIPIENTS
URL=http://127.0.0.1:$PORT/metrics

# status URL [CURL_ARGS...]: the HTTP status code of a GET.
status() {
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' "$@" "$url"
}
assert_eq 401 "$(status "$URL")" "/metrics without a token"
assert_eq 401 "$(status "$URL" -H "Authorization: Bearer wrong-token-0123456789")" \
    "/metrics with a wrong token"
assert_eq 401 "$(status "http://127.0.0.1:$PORT/" -u "x:nope")" "/ with a wrong password"
assert_eq 200 "$(status "$URL" -H "Authorization: Bearer $TOKEN")" "/metrics with the token"

drop_clues health "$N" medical 210302
clue_json medical 210302 "forged" >"$TEST_DIR/clue.json"
for i in 1 2; do
	"$CLUEBUS_TEST_TOOLS/forge" --endpoint "$ENDPOINT" --unit health \
	    --key "$D/keys/health.key" --mode tamper --clue "$TEST_DIR/clue.json" \
	    >"$TEST_DIR/forge$i.out" 2>/dev/null || die "forge failed"
	grep -q '^rejected bad_signature' "$TEST_DIR/forge$i.out" || die "forge: $(cat "$TEST_DIR/forge$i.out")"
done
drain health "$N" 60 $RECIPIENTS

# The snapshot is published about once a second: poll until the acks are all in it.
scrape() {
	curl -sf -H "Authorization: Bearer $TOKEN" "$URL" >"$TEST_DIR/metrics.txt" &&
	    grep -q "^cluebus_acks_total $((N * 3))\$" "$TEST_DIR/metrics.txt"
}
wait_for 30 "the metrics to show $((N * 3)) acks" scrape
audit replay "$D/data" --json | tail -1 >"$TEST_DIR/head.json"
"$PYSYS" - "$TEST_DIR/metrics.txt" "$N" "$TEST_DIR/head.json" <<'EOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text, n, head = open(sys.argv[1]).read(), int(sys.argv[2]), json.load(open(sys.argv[3]))
fam = {f.name: f for f in text_string_to_metric_families(text)}
def value(name, **labels):
    got = [s.value for f in fam.values() for s in f.samples if s.name == name and s.labels == labels]
    assert len(got) == 1, (name, labels, got)
    return got[0]
assert fam["cluebus_messages_accepted"].type == "counter", fam["cluebus_messages_accepted"].type
assert value("cluebus_messages_accepted_total", kind="clue") == n
assert value("cluebus_messages_rejected_total", reason="bad_signature") == 2
assert value("cluebus_deliveries_total") == 3 * n
assert value("cluebus_acks_total") == 3 * n
for unit in ("psb", "ato", "ato-210302"):
    assert value("cluebus_backlog_depth", unit=unit) == 0, unit
    assert value("cluebus_unit_online", unit=unit) == 1, unit
assert value("cluebus_unit_online", unit="justice") == 0
assert value("cluebus_units_online") == 4
assert fam["cluebus_commit_duration_seconds"].type == "histogram"
assert value("cluebus_commit_batch_size_sum") == n
assert value("cluebus_commit_duration_seconds_count") == value("cluebus_commit_batch_size_count") > 0
assert value("cluebus_commit_duration_seconds_bucket", le="+Inf") == value("cluebus_commit_duration_seconds_count")
assert value("cluebus_log_head_seq") == head["seq"]
assert value("cluebus_map_used_bytes") > 0 and value("cluebus_log_size_bytes") > 0
assert value("cluebus_accepting") == 1 and value("cluebus_overdue_duties") == 0
assert 0 < value("cluebus_checkpoint_tree_size") <= head["seq"]
assert value("cluebus_checkpoint_entries_after") >= 0
print("metrics parse: %d families; accepted %d, rejected 2, acks %d" % (len(fam), n, 3 * n))
EOF
finish
