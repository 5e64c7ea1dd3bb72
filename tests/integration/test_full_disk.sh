#!/usr/bin/env bash
# A really full disk: the broker's data directory on a 3 MiB tmpfs (disk_min_free_mb = 1,
# a map ceiling far above the disk), health publishing 1,500 clues of 1 KiB to psb, ato and
# ato-210302, all offline. Before the disk is full the broker refuses new messages with
# REJECT_UNAVAILABLE and says why ("disk almost full") in its log and `cluebus-ctl status`
# (exit 3); the refused clues wait in health's pending/, none in rejected/; psb's agent,
# started then, receives every accepted clue and its acks are logged; the log verifies.
# Skips where a tmpfs cannot be mounted (not root, or no CAP_SYS_ADMIN).
. "$(dirname "$0")/lib.sh"

SMALL=$TEST_DIR/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=3m,mode=0700 tmpfs "$SMALL" 2>/dev/null; then
	say "SKIP: cannot mount a tmpfs here"
	exit 0
fi
_full_disk_cleanup() {
	local rc=$?
	proc_cleanup 10
	umount -l "$SMALL" 2>/dev/null || true
	(exit "$rc")
	_cleanup
}
trap _full_disk_cleanup EXIT

BROKER_TUNING="map_size_mb = 1;
map_max_mb = 64;
disk_min_free_mb = 1;" deploy ipc
sed -i "s#data_dir = \"data\"#data_dir = \"$SMALL/data\"#" "$D/broker.conf"
grep -q "data_dir = \"$SMALL/data\"" "$D/broker.conf" || die "data_dir not moved to the tmpfs"
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
wait_for 120 "the broker to refuse on the full disk" log_count_gt "$LOGS/broker.log" \
    'refusing new messages: disk almost full' 0
rc=0; ctl status >"$TEST_DIR/status.txt" || rc=$?
assert_eq 3 "$rc" "ctl status exit status on a full disk"
grep -q '^accepting      NO: disk almost full' "$TEST_DIR/status.txt" ||
    die "ctl status: $(cat "$TEST_DIR/status.txt")"
ACCEPTED=$(ctl --json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"]["accepted"])')
assert_eq 0 "$(count_files "$(spool health)/rejected")" "health's rejected/"
wait_for 30 "health's $ACCEPTED receipts" files_at_least "$(spool health)/sent" '*.receipt.json' "$ACCEPTED"
# The agent moves files from in/ to pending/ as it goes: poll until the two counts agree.
refused_waiting() {
	[ "$(( $(count_files "$(spool health)/in" '*.json') +
	    $(count_files "$(spool health)/pending" '*.json') ))" -eq "$((1500 - ACCEPTED))" ]
}
wait_for 30 "the $((1500 - ACCEPTED)) refused clues to wait in in/ and pending/" refused_waiting
say "full disk: $ACCEPTED accepted; $(df -k "$SMALL" | tail -1 | awk '{print $4}') KiB left"

start_agent psb
wait_connected psb
wait_for 120 "psb to receive the $ACCEPTED accepted clues" files_at_least "$(spool psb)/out" \
    '*-clue-*.json' "$ACCEPTED"
psb_drained() {
	ctl --json backlog | "$PY" -c 'import json,sys
print([u for u in json.load(sys.stdin) if u["unit"] == "psb"][0]["depth"])' | grep -qx 0
}
wait_for 60 "psb's acks to be logged" psb_drained
stop_agent psb
stop_agent health
stop_broker
audit verify "$SMALL/data"
finish
