#!/usr/bin/env bash
# Signals and files as an operator expects them (SPEC §9):
#   - --check with the broker key missing and the transport key world-readable reports
#     both problems, each naming its file and the reason, and exits 1;
#   - with log_file set, SIGHUP while 300 clues are published (each time after the log
#     was moved away, as logrotate does) reopens the file, never stops the broker, and
#     every clue is logged and delivered exactly once;
#   - SIGUSR1 logs the live counters;
#   - a second broker on the same data directory refuses to start, naming the running
#     one's pid, and the first goes on.
. "$(dirname "$0")/lib.sh"

N=300
RECIPIENTS="psb ato ato-210302"
BROKER_TUNING="log_file = \"$LOGS/broker.log\";" deploy ipc

# --- --check lists every problem of the key files ---
cp "$D/keys/broker.curve" "$D/keys/open.curve"
chmod 644 "$D/keys/open.curve"
sed -e 's#"keys/broker.key"#"keys/missing.key"#' -e 's#"keys/broker.curve"#"keys/open.curve"#' \
    "$D/broker.conf" >"$D/bad.conf"
chmod 600 "$D/bad.conf"
rc=0
out=$("$CLUEBUS_BIN/cluebus-broker" --check -c "$D/bad.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "--check exit status with two bad key files"
echo "$out" | grep -q "broker key: no such file: $D/keys/missing.key" ||
    die "--check did not name the missing key: $out"
echo "$out" | grep -q "broker transport key $D/keys/open.curve: mode 0644, must be 0600" ||
    die "--check did not name the world-readable key: $out"
echo "$out" | grep -q "2 problems found" || die "--check did not count both problems: $out"
say "--check reported: $(echo "$out" | tr '\n' '|')"

# --- SIGHUP under load, SIGUSR1 ---
start_all health $RECIPIENTS
PID=$(proc_pid broker)
drop_clues health "$N" medical 210302
SENT=$(spool health)/sent
for i in 1 2 3; do
	wait_for 120 "$((i * 60)) receipts" files_at_least "$SENT" '*.receipt.json' $((i * 60))
	mv "$LOGS/broker.log" "$LOGS/broker-rotated-$i.log"
	kill -HUP "$PID"
	wait_for 10 "the log file reopened (#$i)" log_count_gt "$LOGS/broker.log" \
	    'SIGHUP: log file .* reopened' 0
done
running broker || die "the broker stopped on SIGHUP"
kill -USR1 "$PID"
wait_for 10 "the counters line" log_count_gt "$LOGS/broker.log" \
    'INFO cluebus-broker: counters: log head [0-9]*, accepted [0-9]*' 0

# --- a second broker on the same directory ---
rc=0
out=$(timeout 30 "$CLUEBUS_BIN/cluebus-broker" -c "$D/broker.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status of a second broker"
echo "$out" | grep -q "is in use by another broker (pid $PID" ||
    die "the second broker did not name the running one (pid $PID): $out"
running broker || die "the first broker stopped when a second one tried to start"

drain health "$N" 180 $RECIPIENTS
end_stream health "$N" $RECIPIENTS
finish
