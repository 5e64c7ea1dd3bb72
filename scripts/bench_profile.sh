# scripts/bench_profile.sh — BENCH_PROFILE=1: the broker under valgrind's callgrind instead of
# the measured phases (sourced by scripts/bench.sh, bash).
#
# Two parts, each its own profile dump: N clues at maximum rate with the recipients offline
# (the accept path alone, dump "accept"), then the agents drain that backlog and N more
# clues go through with them online (the final dump). The annotated profiles are left in
# OUT/callgrind.out*.{self,incl}.txt; a summary of the broker's own functions and the
# library entry points they call goes to stdout.
#
# Needs: bench.sh's say, loadgen, bench_start_broker, bench_start_agents, bench_stop,
# all_out, and OUT, REPO, N, RECIPIENTS, OUTS.

profile_run() {
	local f u broker_pid
	rm -f "$OUT"/callgrind.out*
	bench_start_broker "" valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out"
	broker_pid=$(proc_pid broker)
	callgrind_control -z "$broker_pid" >/dev/null 2>&1
	say "profile part 1: $N clues at maximum rate, recipients offline (accept only)"
	loadgen profile-accept --count "$N" --rate max
	callgrind_control -d accept "$broker_pid" >/dev/null 2>&1
	callgrind_control -z "$broker_pid" >/dev/null 2>&1
	say "profile part 2: the agents drain that backlog, then $N more clues, online"
	bench_start_agents
	poll_until 600 all_out "$N" ||
	    die "gave up after 600s waiting for the agents to drain the backlog"
	loadgen profile-online --count "$N" --rate max --out-timeout-s 600 "${OUTS[@]}"
	for u in $RECIPIENTS; do bench_stop "agent-$u"; done
	bench_stop broker
	for f in "$OUT"/callgrind.out*; do
		callgrind_annotate --threshold=100 "$f" >"$f.self.txt" 2>/dev/null || true
		callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$f.incl.txt" \
		    2>/dev/null || true
	done
	# The annotations name a function once by its relative and once by its absolute path.
	for f in "$OUT"/callgrind.out.1 "$OUT"/callgrind.out; do
		echo "== $(grep -m1 '^Trigger:' "$f.incl.txt") ($(grep -m1 'PROGRAM TOTALS' \
		    "$f.incl.txt" | awk '{print $1}') instructions)"
		grep -E "^ *[0-9,]+ \(.*($REPO/|EVP_Digest|mdb_txn_commit|start_thread)" \
		    "$f.incl.txt" | sed -e "s# \[.*##" -e "s#$REPO/##" | awk '!seen[$NF]++' |
		    grep -v '(below main)' | head -24
	done
	say "profiles: $(ls "$OUT"/callgrind.out*.txt | tr '\n' ' ')"
}
