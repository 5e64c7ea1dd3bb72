#!/usr/bin/env bash
# Scenario f — a bounded fuzz run: `make fuzz` builds every tests/fuzz/fuzz_*.c target with
# libFuzzer (clang, ASan + UBSan) and runs each for FUZZ_SECONDS (TORTURE_SECONDS, 30) over
# its committed corpus. A crash, leak, timeout or out-of-memory input fails the scenario
# (make fuzz exits non-zero and shows the end of the target's log); libFuzzer leaves the
# input in the repository directory as crash-*/leak-*/timeout-*/oom-*.
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${FUZZ_SECONDS:-${TORTURE_SECONDS:-30}}
TEST_DIR=${TEST_DIR:-$(mktemp -d)}

before=$(cd "$REPO" && ls -1 crash-* leak-* timeout-* oom-* 2>/dev/null | sort || true)
rc=0
make -C "$REPO" --no-print-directory fuzz FUZZ_SECONDS="$SECS" >"$TEST_DIR/fuzz.out" 2>&1 || rc=$?
grep -v '^\(clang\|make\|ar\|protoc\)' "$TEST_DIR/fuzz.out" || true
after=$(cd "$REPO" && ls -1 crash-* leak-* timeout-* oom-* 2>/dev/null | sort || true)
new=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
if [ "$rc" -ne 0 ] || [ -n "$new" ]; then
	echo "ASSERTION FAILED: make fuzz exited with $rc; new inputs: ${new:-none}" >&2
	exit 1
fi
# make fuzz says "== fuzz NAME for Ns" per target; its log in build/fuzz/NAME.log ends with
# libFuzzer's "Done N runs in S second(s)" (and, for some, LeakSanitizer's suppressions).
targets=0
for name in $(sed -n 's/^== fuzz \([a-z_]*\) for .*/\1/p' "$TEST_DIR/fuzz.out"); do
	done_line=$(grep '^Done [0-9]* runs' "$REPO/build/fuzz/$name.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' \
	    "$REPO/build/fuzz/$name.log" | tail -1)
	[ -n "$done_line" ] || { echo "ASSERTION FAILED: $name did not finish" >&2; exit 1; }
	echo "RESULT: $name: ${done_line}, $cov, no crash"
	targets=$((targets + 1))
done
[ "$targets" -eq "$(ls "$REPO"/tests/fuzz/fuzz_*.c | wc -l)" ] ||
    { echo "ASSERTION FAILED: $targets targets fuzzed" >&2; exit 1; }
