#!/usr/bin/env bash
# Sealing with the broker's signed directory (docs/sealing.md §7, §8): agents configured
# with their sealing key only (`seal_key`, the file cluebus-keygen made) take the routing
# table and the units' sealing keys from the directory the broker signs and serves. health's
# `school` clue naming a victim is sealed to the units the directory routes it to; they
# open it (the document names the key), a unit outside the route gets nothing, and neither
# the broker's data directory nor its log holds the victim's name or id number.
. "$(dirname "$0")/lib.sh"

deploy tcp
ROUTED="education psb ato ato-210302"
UNITS="health $ROUTED civil-affairs"
for u in $UNITS; do
	[ -f "$D/keys/$u.seal" ] || die "cluebus-keygen made no sealing key for $u"
	agent_conf "$u" "seal_key = \"keys/$u.seal\";"
done
start_all $UNITS
wait_connected $UNITS

NAME=测试目录甲
ID=$("$PY" -c '
body = "21030220150304003"
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(body + "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11])')
drop health clue.json "{\"kind\":\"clue\",\"priority\":\"routine\",\"clue\":{
  \"category\":\"school\",\"jurisdiction\":\"210302\",\"occurred_at\":\"2026-03-01T08:30:00+08:00\",
  \"summary\":\"学生$NAME连续缺课\",\"handling\":{\"code\":\"h1\"},
  \"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2},
  \"persons\":[{\"role\":\"victim\",\"name\":\"$NAME\",\"id_number\":\"$ID\"}]}}"
wait_for 60 "health's receipt" files_at_least "$(spool health)/sent" 'clue.json.receipt.json' 1
for u in $ROUTED; do
	wait_for 60 "delivery to $u" files_at_least "$(spool "$u")/out" '*.json' 1
	"$PY" - "$(spool "$u")/out" "$u" "$NAME" "$ID" <<'EOF2'
import glob, json, sys
out, unit, name, idn = sys.argv[1:]
doc = json.load(open(glob.glob(out + "/*.json")[0]))
s = doc["sealing"]
assert s["status"] == "opened" and s["unit"] == unit and len(s["key_id"]) == 16, s
assert sorted(s["recipients"]) == sorted(doc["recipients"]), (s, doc["recipients"])
clue = doc["message"]["clue"]
assert clue["persons"][0]["name"] == name and clue["persons"][0]["id_number"] == idn, clue
assert clue["handling"]["code"] == "h1", clue["handling"]
EOF2
done
assert_eq 0 "$(count_files "$(spool civil-affairs)/out")" "files in civil-affairs' out/"
stop_all
for secret in "$NAME" "$ID"; do
	for place in "$D/data" "$DEPLOY_LOGS/broker.log"; do
		if grep -rqa -- "$secret" "$place"; then
			die "'$secret' found in $place"
		fi
	done
done
audit verify "$D/data" >/dev/null || die "audit verify failed"
say "sealed with the signed directory: routed units opened it, nothing in the broker's data"
finish
