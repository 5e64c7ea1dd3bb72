# scripts/bench_profile.sh — BENCH_PROFILE=1 and BENCH_PROFILE=match: the broker under
# valgrind's callgrind instead of the measured phases (sourced by scripts/bench.sh, bash).
#
# Two parts, each its own profile dump: N clues at maximum rate with the recipients offline
# (the accept path alone, dump "accept"), then the agents drain that backlog and N more
# clues go through with them online (the final dump). The annotated profiles are left in
# OUT/callgrind.out*.{self,incl}.txt; a summary of the broker's own functions and the
# library entry points they call goes to stdout.
#
# BENCH_PROFILE=match profiles phase 4a's three runs instead (profile_match_run): fresh logs,
# N clues at maximum rate, recipients offline, without tokens, with MATCH_TOKENS tokens none
# of which is shared, and with one shared every MATCH_EVERY-th clue. Instruction counts do
# not depend on what else the machine runs, so they tell what matching costs where timings
# cannot; they leave out the kernel's time and cache misses (the timed phase 4a has them).
# The instructions per clue, their ratios and the broker's matching functions go to
# stdout; the annotated profiles are OUT/match-LABEL.incl.txt.
#
# Needs: bench.sh's say, loadgen, bench_start_broker, bench_start_agents, bench_stop,
# all_out, and OUT, REPO, N, RECIPIENTS, OUTS (MATCH_TOKENS, MATCH_EVERY for the match
# profile).

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

# profile_match_one LABEL [LOADGEN_ARG...]: one run under callgrind; prints the broker's
# instructions during it.
profile_match_one() {
	local label=$1 pid
	shift
	bench_start_broker fresh valgrind --tool=callgrind \
	    --callgrind-out-file="$OUT/match-$label.out"
	pid=$(proc_pid broker)
	callgrind_control -z "$pid" >/dev/null 2>&1
	loadgen "profile-$label" --count "$N" --rate max "$@" >/dev/null
	callgrind_control -d "$label" "$pid" >/dev/null 2>&1
	bench_stop broker
	callgrind_annotate --inclusive=yes --threshold=100 "$OUT/match-$label.out.1" \
	    >"$OUT/match-$label.incl.txt" 2>/dev/null
	rm -f "$OUT/match-$label.out"*
}

profile_match_run() {
	local label total base=
	for label in none index tokens; do
		say "profile match-$label: $N clues at maximum rate, recipients offline"
		case $label in
		none) profile_match_one none ;;
		index) profile_match_one index --tokens "$MATCH_TOKENS" ;;
		tokens) profile_match_one tokens --tokens "$MATCH_TOKENS" \
		    --match-every "$MATCH_EVERY" ;;
		esac
		total=$(grep -m1 'PROGRAM TOTALS' "$OUT/match-$label.incl.txt" | awk '{print $1}' |
		    tr -d ,)
		[ -n "$base" ] || base=$total
		awk -v l="$label" -v t="$total" -v b="$base" -v n="$N" 'BEGIN {
			printf "match-%s: %.0f broker instructions per clue, %.3f of match-none\n",
			    l, t / n, t / b }'
		grep -E "^ *[0-9,]+ \(.*(match\.c:|round_append_own|key_sign|store_txn_aux)" \
		    "$OUT/match-$label.incl.txt" | sed -e "s# \[.*##" -e "s#$REPO/##" |
		    awk '!seen[$NF]++' | awk -v n="$N" '{ x = $1; gsub(",", "", x)
			printf "  %9.0f per clue  %s\n", x / n, $NF }' | head -8
	done
	say "profiles: $(ls "$OUT"/match-*.incl.txt | tr '\n' ' ')"
}
