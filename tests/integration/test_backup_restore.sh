#!/usr/bin/env bash
# Hot backup and restore (docs/operations.md): `cluebus-ctl backup DIR` while 400 clues
# are being published writes a compacted copy that cluebus-audit verifies on its own,
# and the publishing goes on to the end with every clue exactly once. The restore
# procedure (stop, put the copy's data.mdb in place of the data directory, start) gives
# a broker whose log head is the backup's, whose log verifies, that accepts health's new
# clue and delivers it to a recipient whose agent had not seen seqs beyond the backup
# (education), and to one that had (psb: its watermark is above the restored head, whose
# seqs now go to new messages; it lowers its watermark and receives the new clue, its
# earlier files untouched). What a restore loses is in docs/operations.md.
. "$(dirname "$0")/lib.sh"

N=400
RECIPIENTS="psb ato ato-210302"
deploy ipc
start_all health $RECIPIENTS
ctl() { "$CLUEBUS_BIN/cluebus-ctl" -c "$D/broker.conf" "$@"; }

drop_clues health "$N" medical 210302
SENT=$(spool health)/sent
wait_for 120 "50 receipts" files_at_least "$SENT" '*.receipt.json' 50
ctl backup "$TEST_DIR/backup" >"$TEST_DIR/backup.out" || die "backup failed"
AT=$(count_files "$SENT" '*.receipt.json')
say "$(cat "$TEST_DIR/backup.out") (health had $AT receipts when it ended)"
[ "$AT" -lt "$N" ] || say "note: every clue was in before the backup ended (fast machine)"
BSEQ=$(sed -n 's/^backup of log head seq \([0-9]*\) .*/\1/p' "$TEST_DIR/backup.out")
[ -n "$BSEQ" ] || die "backup output: $(cat "$TEST_DIR/backup.out")"
[ "$(stat -c %a "$TEST_DIR/backup")" = 700 ] || die "the backup directory is not 0700"
rc=0; ctl backup "$TEST_DIR/backup" >/dev/null 2>&1 || rc=$?
assert_eq 1 "$rc" "a second backup into the same directory"
audit verify "$TEST_DIR/backup" | tee "$TEST_DIR/verify-backup.txt"
grep -q "^OK " "$TEST_DIR/verify-backup.txt" || die "the backup does not verify"

drain health "$N" 180 $RECIPIENTS
end_stream health "$N" $RECIPIENTS	# stops the broker: publishing was not disturbed

# --- restore: the documented procedure ---
stop_all
mv "$D/data" "$D/data.before-restore"
mkdir -m 700 "$D/data"
cp "$TEST_DIR/backup/data.mdb" "$D/data/data.mdb"
chmod 600 "$D/data/data.mdb"
start_broker
grep "started: log head" "$LOGS/broker.log" | tail -1 | grep -q "started: log head $BSEQ," ||
    die "the restored broker's head is not the backup's ($BSEQ): $(grep 'started:' "$LOGS/broker.log" | tail -1)"
(cd "$(spool psb)/out" && ls) >"$TEST_DIR/psb-before"
start_agent health
start_agent education
start_agent psb
wait_connected health education psb
wait_for 30 "psb to lower its watermark" log_count_gt "$LOGS/agent-psb.log" \
    "watermark lowered to seq $BSEQ" 0
drop health after-restore.json "$(clue_json school 210302 "after the restore")"
wait_for 60 "the clue after the restore to be accepted" files_at_least "$SENT" \
    'after-restore.json.receipt.json' 1
ASEQ=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' \
    "$SENT/after-restore.json.receipt.json")
[ "$ASEQ" -gt "$BSEQ" ] && [ "$ASEQ" -le $((BSEQ + 3)) ] ||
    die "the clue after the restore got seq $ASEQ, not just after the backup's $BSEQ"
wait_for 60 "education to receive it" files_at_least "$(spool education)/out" \
    "$(printf '%020d' "$ASEQ")-clue-*.json" 1
drop health after-restore-psb.json "$(clue_json medical 210302 "for psb after the restore")"
wait_for 60 "the clue for psb to be accepted" files_at_least "$SENT" \
    'after-restore-psb.json.receipt.json' 1
PSB_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["message_id"])' \
    "$SENT/after-restore-psb.json.receipt.json")
wait_for 60 "psb to receive the clue sent after the restore" files_at_least \
    "$(spool psb)/out" "*-clue-$PSB_ID.json" 1
(cd "$(spool psb)/out" && ls) >"$TEST_DIR/psb-after"
[ -z "$(comm -23 "$TEST_DIR/psb-before" "$TEST_DIR/psb-after")" ] ||
    die "psb's files from before the restore are gone: $(comm -23 "$TEST_DIR/psb-before" "$TEST_DIR/psb-after")"
stop_broker
audit verify "$D/data"
finish
