#!/usr/bin/env bash
# docs/protocol.md cannot rot: its test vectors are exactly what tests/tools/vectors prints
# (which checks each vector the way the broker does before printing it), and every reject
# code and frame type the proto defines is named in the document.
. "$(dirname "$0")/lib.sh"

DOC=$REPO/docs/protocol.md
VECTORS=$CLUEBUS_TEST_TOOLS/vectors
[ -x "$VECTORS" ] || die "$VECTORS is missing (make tests-built)"

"$VECTORS" >"$TEST_DIR/vectors.md" || die "tests/tools/vectors failed"
sed -n '/^<!-- vectors: begin/,/^<!-- vectors: end -->$/p' "$DOC" | sed '1,2d;$d' \
    >"$TEST_DIR/doc-vectors.md"
[ -s "$TEST_DIR/doc-vectors.md" ] || die "docs/protocol.md has no vectors block"
diff -u "$TEST_DIR/doc-vectors.md" "$TEST_DIR/vectors.md" >"$TEST_DIR/vectors.diff" ||
    die "docs/protocol.md's vectors differ from tests/tools/vectors (regenerate the block): $(head -40 "$TEST_DIR/vectors.diff")"

# Every RejectCode and every Frame type of the proto is described.
sed -n '/^enum RejectCode {/,/^}/s/^ *REJECT_\([A-Z_]*\) = [1-9][0-9]*;.*/\1/p' \
    "$REPO/proto/cluebus.proto" >"$TEST_DIR/codes"
[ "$(wc -l <"$TEST_DIR/codes")" -ge 13 ] || die "could not read RejectCode from the proto"
while read -r code; do
	grep -q "\`$code\`" "$DOC" || die "docs/protocol.md does not describe reject code $code"
done <"$TEST_DIR/codes"
for frame in Hello Welcome Publish Accepted Rejected Deliver Ack Heartbeat CheckpointNote \
    CheckpointRequest; do
	grep -q "\b$frame\b" "$DOC" || die "docs/protocol.md does not describe the $frame frame"
done
finish
