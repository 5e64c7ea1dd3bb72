#!/usr/bin/env bash
# The log's room (broker/limits.c), with a map of 1 MiB that may grow to 2 MiB while
# health publishes 1 KiB clues to psb, ato and ato-210302, all three offline:
#   - the map grows to the ceiling ("map grown to 2 MiB");
#   - near the ceiling the broker refuses new messages with REJECT_UNAVAILABLE and a reason
#     naming the ceiling; the agent keeps them pending (nothing in rejected/), and the
#     broker says so in `cluebus-ctl status` (exit 3), /metrics (cluebus_accepting 0, the
#     refusals counted as reason="unavailable") and the status page;
#   - delivery goes on: psb's agent, started then, receives every accepted clue and its
#     acks are logged in the reserve; the log verifies;
#   - on a disk with less free space than disk_min_free_mb (a value above the disk's
#     free space stands in for a full disk) a broker refuses new messages from its start,
#     saying so.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
mkdir -p "$D/keys"
(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$D/keys/http.token")
TOKEN=$(cat "$D/keys/http.token")
BROKER_TUNING="map_size_mb = 1;
map_max_mb = 2;
http_listen = \"127.0.0.1:$PORT\";
http_token = \"keys/http.token\";" deploy ipc
start_broker
start_agent health
wait_connected health
ctl() { "$CLUEBUS_BIN/cluebus-ctl" -c "$D/broker.conf" "$@"; }

PAD=$(printf '%01000d' 0)
stage=$D/stage
mkdir -p "$stage"
for ((i = 1; i <= 1500; i++)); do
	clue_json medical 210302 "clue $i $PAD" >"$stage/$(printf 'clue-%05d.json' "$i")"
done
find "$stage" -maxdepth 1 -name 'clue-*.json' -exec mv -t "$(spool health)/in/" {} +
wait_for 120 "the broker to refuse at the ceiling" log_count_gt "$LOGS/broker.log" \
    'refusing new messages: log at its size ceiling (map_max_mb 2,' 0
grep -q 'store: map grown to 2 MiB' "$LOGS/broker.log" || die "the map did not grow"

rc=0; ctl status >"$TEST_DIR/status.txt" || rc=$?
assert_eq 3 "$rc" "ctl status exit status at the ceiling"
grep -q '^accepting      NO: log at its size ceiling' "$TEST_DIR/status.txt" ||
    die "ctl status: $(cat "$TEST_DIR/status.txt")"
ACCEPTED=$(ctl --json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"]["accepted"])') || true
[ "$ACCEPTED" -gt 100 ] && [ "$ACCEPTED" -lt 1500 ] || die "accepted $ACCEPTED clues"
metrics_refusing() {
	curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" \
	    >"$TEST_DIR/metrics.txt" && grep -q '^cluebus_accepting 0$' "$TEST_DIR/metrics.txt" &&
	    grep -Eq '^cluebus_messages_rejected_total\{reason="unavailable"\} [1-9]' \
	    "$TEST_DIR/metrics.txt"
}
wait_for 30 "the metrics to say it refuses" metrics_refusing
curl -sf -u "op:$TOKEN" "http://127.0.0.1:$PORT/" | grep -q '拒绝新消息（投递照常）：log at its size ceiling' ||
    die "the status page does not say it refuses"
assert_eq 0 "$(count_files "$(spool health)/rejected")" "health's rejected/ (unavailable is retried)"
wait_for 30 "health's $ACCEPTED receipts" files_at_least "$(spool health)/sent" '*.receipt.json' "$ACCEPTED"
# The agent moves files from in/ to pending/ as it goes: poll until the two counts agree.
refused_waiting() {
	[ "$(( $(count_files "$(spool health)/in" '*.json') +
	    $(count_files "$(spool health)/pending" '*.json') ))" -eq "$((1500 - ACCEPTED))" ]
}
wait_for 30 "the $((1500 - ACCEPTED)) refused clues to wait in in/ and pending/" refused_waiting

# Delivery goes on at the ceiling.
start_agent psb
wait_connected psb
wait_for 120 "psb to receive the $ACCEPTED accepted clues" files_at_least "$(spool psb)/out" \
    '*-clue-*.json' "$ACCEPTED"
psb_drained() {
	ctl --json backlog | "$PY" -c 'import json,sys
print([u for u in json.load(sys.stdin) if u["unit"] == "psb"][0]["depth"])' | grep -qx 0
}
wait_for 60 "psb's acks to be logged (its backlog empty)" psb_drained
say "at the ceiling: $ACCEPTED accepted, psb drained; $(grep 'refusing new' "$LOGS/broker.log" | head -1 | cut -d' ' -f4-)"
stop_agent psb
stop_agent health
stop_broker
audit verify "$D/data"

# --- a full disk: free space below disk_min_free_mb ---
sed -e 's#data_dir = "data"#data_dir = "data-disk"#' \
    -e 's#^\(  map_size_mb = 1;\)#\1\n  disk_min_free_mb = 1073741824;#' "$D/broker.conf" >"$D/disk.conf"
chmod 600 "$D/disk.conf"
grep -q 'disk_min_free_mb' "$D/disk.conf" || die "disk.conf"
proc_start_ready broker "$LOGS/broker.log" 'cluebus-broker: started:' 60 \
    "$CLUEBUS_BIN/cluebus-broker" -c "$D/disk.conf" || die "the broker did not start"
rc=0; "$CLUEBUS_BIN/cluebus-ctl" -c "$D/disk.conf" status >"$TEST_DIR/disk.txt" || rc=$?
assert_eq 3 "$rc" "ctl status exit status on a full disk"
grep -q '^accepting      NO: disk almost full' "$TEST_DIR/disk.txt" ||
    die "ctl status: $(cat "$TEST_DIR/disk.txt")"
grep -q 'refusing new messages: disk almost full' "$LOGS/broker.log" || die "no log line"
finish
