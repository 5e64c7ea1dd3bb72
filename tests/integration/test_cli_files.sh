#!/usr/bin/env bash
# A missing file is reported as "no such file: PATH" by cluebus-keygen (units file),
# cluebus-audit (data directory, every subcommand), cluebus-broker and cluebus-agent (config
# file; the broker also a key file its config names) and cluebus-agent and cluebus-ctl (a
# key file). cluebus-audit takes DATA_DIR first
# in every subcommand; `case CASE_REF DATA_DIR`, the old order, still works with a warning.
. "$(dirname "$0")/lib.sh"

NOPE=$TEST_DIR/nonexistent
# expect_missing PATH CMD...: CMD fails and says "no such file: PATH" on stderr.
expect_missing() {
	local path=$1 rc=0
	shift
	"$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || rc=$?
	[ "$rc" -ne 0 ] || die "$* succeeded"
	grep -qF "no such file: $path" "$TEST_DIR/err" ||
	    die "$* did not say 'no such file: $path': $(cat "$TEST_DIR/err")"
}
expect_missing "$NOPE.json" "$CLUEBUS_BIN/cluebus-keygen" units "$NOPE.json" "$TEST_DIR/keys"
expect_missing "$NOPE.json" "$CLUEBUS_BIN/cluebus-keygen" registry "$NOPE.json" "$TEST_DIR/keys"
for sub in verify replay stats; do
	expect_missing "$NOPE" "$CLUEBUS_BIN/cluebus-audit" "$sub" "$NOPE"
done
expect_missing "$NOPE" "$CLUEBUS_BIN/cluebus-audit" case "$NOPE" AS-1
expect_missing "$NOPE.conf" "$CLUEBUS_BIN/cluebus-broker" -c "$NOPE.conf"
expect_missing "$NOPE.conf" "$CLUEBUS_BIN/cluebus-broker" --check -c "$NOPE.conf"
expect_missing "$NOPE.conf" "$CLUEBUS_BIN/cluebus-agent" -c "$NOPE.conf"

deploy ipc
agent_conf health
sed "s#keys/health.key#keys/gone.key#" "$D/health.agent.conf" >"$D/gone.agent.conf"
expect_missing "$D/keys/gone.key" "$CLUEBUS_BIN/cluebus-agent" -c "$D/gone.agent.conf"
sed "s#keys/broker.key#keys/gone.key#" "$D/broker.conf" >"$D/gone.broker.conf"
expect_missing "$D/keys/gone.key" "$CLUEBUS_BIN/cluebus-broker" --check -c "$D/gone.broker.conf"
expect_missing "$D/keys/gone.key" "$CLUEBUS_BIN/cluebus-broker" -c "$D/gone.broker.conf"
expect_missing "$D/keys/gone.key" "$CLUEBUS_BIN/cluebus-ctl" -e "ipc://$D/admin.sock" \
    -k "$D/keys/gone.key" registry liaison psb --liaison x

start_all health
drop health clue.json "$(clue_json medical 210302 "线索" | sed 's/"kind":"clue",/"kind":"clue","case_ref":"AS-9",/')"
wait_for 60 "the clue to be accepted" files_at_least "$(spool health)/sent" 'clue.json.receipt.json' 1
stop_broker

audit case "$D/data" AS-9 --json >"$TEST_DIR/new.json" 2>"$TEST_DIR/new.err"
[ ! -s "$TEST_DIR/new.err" ] || die "case DATA_DIR CASE_REF warned: $(cat "$TEST_DIR/new.err")"
audit case AS-9 "$D/data" --json >"$TEST_DIR/old.json" 2>"$TEST_DIR/old.err"
grep -q "warning: 'case CASE_REF DATA_DIR' is the old order" "$TEST_DIR/old.err" ||
    die "the old order gave no warning: $(cat "$TEST_DIR/old.err")"
cmp -s "$TEST_DIR/new.json" "$TEST_DIR/old.json" || die "the two orders print different timelines"
grep -q '"AS-9"' "$TEST_DIR/new.json" || die "the timeline is not of AS-9: $(head -5 "$TEST_DIR/new.json")"
finish
