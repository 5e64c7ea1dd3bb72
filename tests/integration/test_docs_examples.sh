#!/usr/bin/env bash
# Every ```json example in docs/formats.md and README.md goes through the agent's intake
# (tests/tools/intake_check), so a documented example that no longer parses fails the build.
# The line before an example may mark it (an HTML comment, invisible when rendered):
#   <!-- example: invalid FIELD -->  must be refused, its first problem at FIELD
#   <!-- example: output -->         a file the agent writes: must be JSON, not a document
# Unmarked examples must be accepted. The examples/json/ and examples/demo/ documents are
# checked too.
. "$(dirname "$0")/lib.sh"

CHECK=$CLUEBUS_TEST_TOOLS/intake_check
[ -x "$CHECK" ] || die "$CHECK missing (make tests-built)"
mkdir -p "$TEST_DIR/examples"

"$PY" - "$TEST_DIR/examples" "$REPO/docs/formats.md" "$REPO/README.md" <<'PYEOF'
import json, os, re, sys
out, docs = sys.argv[1], sys.argv[2:]
n = 0
for doc in docs:
    lines = open(doc, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```json":
            i += 1
            continue
        mark = lines[i - 1].strip() if i > 0 else ""
        m = re.fullmatch(r"<!-- example: (invalid (\S+)|output) -->", mark)
        start = i + 1
        end = lines.index("```", start)
        text = "\n".join(lines[start:end]) + "\n"
        n += 1
        base = os.path.join(out, "%03d" % n)
        if m and m.group(1) == "output":
            json.loads(text)        # a file the agent writes: JSON, nothing more
        else:
            open(base + ".json", "w", encoding="utf-8").write(text)
            want = m.group(2) if m else ""
            open(base + ".want", "w").write("%s:%d\n%s\n" % (os.path.basename(doc), start, want))
        i = end + 1
assert n >= 6, "only %d examples found: the extraction is broken" % n
print("examples:", n)
PYEOF

for f in "$TEST_DIR"/examples/*.json; do
	want=$(sed -n 2p "${f%.json}.want")
	where=$(sed -n 1p "${f%.json}.want")
	got=$("$CHECK" "$f") || die "intake_check failed on $where"
	"$PY" - "$got" "$want" "$where" <<'PYEOF' || die "documented example at $where is wrong"
import json, sys
got, want, where = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
if want == "":
    assert got["ok"], "%s: refused: %s: %s" % (where, got.get("field"), got.get("reason"))
else:
    assert not got["ok"], "%s: accepted, but marked invalid %s" % (where, want)
    assert got["field"] == want, "%s: refused at %s (%s), marked %s" % (
        where, got["field"], got["reason"], want)
print(where, "ok" if want == "" else "refused at %s as marked" % want)
PYEOF
done
for f in "$REPO"/examples/json/*.json "$REPO"/examples/demo/*.json; do
	"$CHECK" "$f" | "$PY" -c 'import json, sys
r = json.load(sys.stdin)
assert r["ok"], r' || die "$f is refused by intake"
done
finish
