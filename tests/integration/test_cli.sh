#!/usr/bin/env bash
# Every binary answers --help (usage on stdout, every long option of its source explained,
# exit 0) and --version ("NAME VERSION", VERSION from include/cluebus/version.h, exit 0);
# an unknown option is named on stderr with exit 2, and so is a call with no arguments.
. "$(dirname "$0")/lib.sh"

VERSION=$(sed -n 's/^#define CB_VERSION[[:space:]]*"\(.*\)"/\1/p' "$REPO/include/cluebus/version.h")
[ -n "$VERSION" ] || die "no CB_VERSION in include/cluebus/version.h"

check_binary() {
	local name=$1 src=$2 bin=$CLUEBUS_BIN/$1 rc opt
	[ -x "$bin" ] || die "$bin is missing"

	rc=0
	"$bin" --help >"$TEST_DIR/$name.help" 2>"$TEST_DIR/$name.err" || rc=$?
	assert_eq 0 "$rc" "$name --help exit status"
	head -1 "$TEST_DIR/$name.help" | grep -q "^usage: $name " ||
	    die "$name --help does not start with 'usage: $name': $(head -3 "$TEST_DIR/$name.help")"
	[ ! -s "$TEST_DIR/$name.err" ] || die "$name --help wrote to stderr: $(cat "$TEST_DIR/$name.err")"
	# Each long option of the source's getopt table is explained in the help.
	for opt in $(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", [a-z_]*_argument,.*/\1/p' "$REPO/$src"); do
		grep -q -- "--$opt\b" "$TEST_DIR/$name.help" || die "$name --help does not explain --$opt"
	done

	rc=0
	"$bin" --version >"$TEST_DIR/$name.version" 2>&1 || rc=$?
	assert_eq 0 "$rc" "$name --version exit status"
	assert_eq "$name $VERSION" "$(cat "$TEST_DIR/$name.version")" "$name --version"

	rc=0
	"$bin" --no-such-option >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.err" || rc=$?
	assert_eq 2 "$rc" "$name --no-such-option exit status"
	grep -q -- "no-such-option" "$TEST_DIR/$name.err" ||
	    die "$name does not name the unknown option: $(cat "$TEST_DIR/$name.err")"
	grep -q "usage:" "$TEST_DIR/$name.err" || die "$name: no usage after an unknown option"

	rc=0
	"$bin" >/dev/null 2>&1 || rc=$?
	assert_eq 2 "$rc" "$name without arguments exit status"
}

# --help after a subcommand is help too, not an operand.
"$CLUEBUS_BIN/cluebus-audit" replay --help | grep -q "^usage: cluebus-audit" ||
    die "cluebus-audit replay --help does not print the help"
"$CLUEBUS_BIN/cluebus-keygen" key --help | grep -q "^usage: cluebus-keygen" ||
    die "cluebus-keygen key --help does not print the help"

check_binary cluebus-broker broker/main.c
check_binary cluebus-agent agents/main.c
check_binary cluebus-audit tools/audit.c
check_binary cluebus-ctl tools/ctl.c
check_binary cluebus-keygen tools/keygen.c
finish
