#!/usr/bin/env bash
# scripts/demo.sh — the Anshan scenario (`make demo`): a broker and the agents of the units
# the story needs, on loopback, and the story told step by step in the seed's own terms
# (《鞍山市反对拐卖人口工作实施细则》, 鞍政办发〔2024〕5号), each step naming its article and
# checking its outcome, so that the demo fails loudly when the system does not do what the
# story says (tests/integration/test_demo.sh runs it).
#
#   scripts/demo.sh            play the scenario in DEMO_DIR (default demo/run)
#   scripts/demo.sh --clean    stop what a DEMO_KEEP=1 run left running, remove DEMO_DIR
#                              (`make demo-clean`)
#
# Settings: DEMO_DIR; DEMO_KEEP=1 leaves the broker and the agents running for a look;
# DEMO_PORT (the broker's TCP port; default a free one); DEMO_DUE_SECONDS (5): the one due
# time the story lets pass, shortened from the document's 8 h (production builds have no
# test clock, so the demo shortens the due time instead of moving the clock).
#
# The scenario's documents are examples/demo/*.json (synthetic people: scripts/synthid.py);
# this file is the narration, one small function per step, run in the order of STEPS below.
# A step sends documents as a unit would (send), waits for and checks what the units must
# receive (delivered, await_out), and says what happened. A new step is one more function
# and one more name in STEPS. Steps hand on ids in CASE3_* and CASE4_* variables; the audit
# steps read AUDIT_DATA (set by step5_settle: the stopped broker's data/, or a hot backup).
# What a step needs is at hand, e.g.
#   victim id:  $VIEW get "$SCENARIO/s1-health-clue.json" "clue.persons[role=victim].id_number"
#   a delivery: await_out SECONDS UNIT KIND KEY=VALUE... (then FOUND is its out/ file)
#   the log:    "$BIN/cluebus-audit" prove "$AUDIT_DATA" SEQ (after step5_settle)
#
# Everything lives under DEMO_DIR, a deployment made by scripts/deploy.sh:
#   keys/                  Ed25519 and CURVE keys of the broker and every unit, the status
#                          page's token (made once, kept)
#   registry.json  broker.conf  data/      the broker's configuration and its LMDB log
#   UNIT.agent.conf  spool/UNIT/{in,sent,out,...}  state/UNIT/
#   logs/  pids/  audit/   daemon logs, pid files, what the audit steps wrote
# Each run keeps keys/ and starts everything else afresh (a new log, empty spools); a
# non-empty DEMO_DIR that the demo did not make (no .cluebus-demo marker) is refused rather
# than wiped. Every process started here is stopped on exit (unless DEMO_KEEP=1 and the
# story succeeded), and nothing outside DEMO_DIR is written.
# shellcheck disable=SC1111  # the narration's “” are Chinese quotation marks, not shell quotes
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CLUEBUS_BIN:-$REPO/bin}
DEMO_DIR=${DEMO_DIR:-demo/run}
DEMO_KEEP=${DEMO_KEEP:-0}
DUE_SECONDS=${DEMO_DUE_SECONDS:-5}
SCENARIO=$REPO/examples/demo
# The system's python3 (demo_view.py needs only the standard library), which starts in a
# tenth of the time of a version manager's shim; python3 from PATH otherwise.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
VIEW="$PY $REPO/scripts/demo_view.py"
# The units of the story: reporters, the office, the district offices of the clues'
# jurisdictions, and every member unit the routing table sends them to.
AGENTS="health education civil-affairs airport petitions psb ato ato-210302 ato-210303
ato-210304 ato-210323 political-legal transport railway"
STEPS=(
	step0_key
	step1_medical
	step2_school step2_marriage step2_airport step2_match
	step3_vagrant step3_case step3_referrals step3_psb_answers step3_education_overdue
	step3_listed_supervision
	step4_petition
	step5_status step5_transparency step5_settle step5_verify step5_privacy step5_timeline
	step5_stats step5_received
)

cd "$REPO"
. scripts/deploy.sh
UNITS_FILE=$DEPLOY_UNITS_FILE
T0=$SECONDS

# ---- telling and checking ----

say() { printf '%s\n' "$*"; }
fail() {
	echo "demo: FAILED: $* (logs: $DEMO_DIR/logs)" >&2
	exit 1
}
# step N ARTICLES TITLE: a step's heading.
step() { printf '\n━━ 第%s步 · %s · %s ━━\n' "$1" "$2" "$3"; }
who() { printf '%s(%s)' "${UNIT_NAME[$1]:-$1}" "$1"; }
local_time() { TZ=CST-8 date -d "$1" '+%m-%d %H:%M:%S'; }

# wait_for SECONDS WHAT COMMAND...: polls every 0.1 s, fails the demo after SECONDS.
wait_for() {
	local secs=$1 what=$2
	shift 2
	poll_until "$secs" "$@" || fail "gave up after ${secs}s waiting for $what"
}

_answered() {
	[ -f "$1/sent/$2.receipt.json" ] || [ -f "$1/rejected/$2.error.json" ]
}

# send UNIT FILE [DUE_SECONDS]: UNIT's agency drops examples/demo/FILE into its spool (with
# its receipt due time shortened to DUE_SECONDS from now when given) and the broker must
# accept it. Sets SEQ, ID and LOGGED from the agent's receipt file.
send() {
	local unit=$1 file=$2 spool kind
	spool=$(deploy_spool "$unit")
	$VIEW doc "$SCENARIO/$file" ${3:+"$3"} >"$spool/in/.$file.tmp"
	mv "$spool/in/.$file.tmp" "$spool/in/$file"
	wait_for 20 "the broker's answer to $unit's $file" _answered "$spool" "$file"
	[ -f "$spool/sent/$file.receipt.json" ] ||
	    fail "$unit's $file was refused: $(cat "$spool/rejected/$file.error.json")"
	{ read -r SEQ; read -r ID; read -r LOGGED; } < <($VIEW get \
	    "$spool/sent/$file.receipt.json" seq message_id logged)
	kind=$($VIEW kind "$($VIEW get "$SCENARIO/$file" kind)")
	say "    $(who "$unit") 签发 $kind  日志 seq $SEQ  $(local_time "$LOGGED")"
}

_all_out() {
	local kind=$1 id=$2 unit
	shift 2
	for unit in "$@"; do
		files_at_least "$(deploy_spool "$unit")/out" "*-$kind-$id.json" 1 || return 1
	done
}

# delivered KIND ID UNIT...: the message reaches exactly these units, each copy's signature
# verified by the receiving agent.
delivered() {
	local kind=$1 id=$2
	shift 2
	wait_for 20 "$kind $id to reach $*" _all_out "$kind" "$id" "$@"
	$VIEW delivered "$DEMO_DIR/spool" "$UNITS_FILE" "$kind" "$id" "$@" || exit 1
}

# await_out SECONDS UNIT KIND KEY=VALUE...: a message of KIND with those values reaches
# UNIT's out/; sets FOUND to its file.
await_out() {
	local secs=$1 unit=$2 kind=$3
	shift 3
	AWAIT_CONDS=("$@")
	_found() {
		files_at_least "$(deploy_spool "$unit")/out" "*-$kind-*.json" 1 &&
		    FOUND=$($VIEW find "$DEMO_DIR/spool" "$unit" "$kind" "${AWAIT_CONDS[@]}")
	}
	wait_for "$secs" "a $kind to $unit with $*" _found
}

# ---- the deployment ----

# demo_stop_leftovers: what an earlier DEMO_KEEP=1 run left running (pid files in pids/,
# checked to be cluebus daemons before they are signalled).
demo_stop_leftovers() {
	local f pid
	for f in "$DEMO_DIR"/pids/*; do
		[ -f "$f" ] || continue
		read -r pid <"$f" || continue
		if grep -qa 'cluebus-' "/proc/$pid/cmdline" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			poll_until 20 proc_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
}

demo_clean() {
	[ -d "$DEMO_DIR" ] || return 0
	[ -f "$DEMO_DIR/.cluebus-demo" ] ||
	    fail "$DEMO_DIR was not made by the demo: not removing it"
	demo_stop_leftovers
	rm -rf "$DEMO_DIR"
	say "removed $DEMO_DIR"
}

demo_setup() {
	local u http_port
	for b in cluebus-broker cluebus-agent cluebus-keygen cluebus-audit cluebus-ctl; do
		[ -x "$BIN/$b" ] || fail "$BIN/$b is missing; run make first"
	done
	[ -f "$UNITS_FILE" ] || fail "$UNITS_FILE not found"
	if [ -n "$(ls -A "$DEMO_DIR")" ] && [ ! -f "$DEMO_DIR/.cluebus-demo" ]; then
		fail "$DEMO_DIR is not empty and was not made by the demo; choose another DEMO_DIR"
	fi
	touch "$DEMO_DIR/.cluebus-demo"
	demo_stop_leftovers
	find "$DEMO_DIR" -mindepth 1 -maxdepth 1 ! -name keys ! -name .cluebus-demo \
	    -exec rm -rf {} +
	proc_init "$DEMO_DIR/pids"
	mkdir -p "$DEMO_DIR/keys" "$DEMO_DIR/audit"
	[ -s "$DEMO_DIR/keys/http.token" ] ||
	    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' \
	        >"$DEMO_DIR/keys/http.token")
	http_port=$(free_port)
	STATUS_URL="http://127.0.0.1:$http_port/"
	ENDPOINT=$(deploy_endpoint tcp "${DEMO_PORT:-}")
	mkdir -p "$DEMO_DIR/logs"
	{
		deploy_init "$ENDPOINT" "http_listen = \"127.0.0.1:$http_port\";
http_token = \"keys/http.token\";
require_sealed = true;" &&
		{ [ -f "$DEMO_DIR/keys/correlation-1.key" ] || "$BIN/cluebus-keygen" \
		    correlation-key "$DEMO_DIR/keys/correlation-1.key" >/dev/null; } &&
		for u in $AGENTS; do	# the key only in the office's config: step0_key
			deploy_agent "$u" "$([ "$u" = ato ] &&
			    echo 'correlation_key = "keys/correlation-1.key";')" || exit 1
		done
	} 2>"$DEMO_DIR/logs/setup.log" ||
	    fail "the deployment could not be made: $(tail -5 "$DEMO_DIR/logs/setup.log")"
	eval "$($VIEW names "$UNITS_FILE")"
	deploy_start_broker 20 || fail "the broker did not start"
	for u in $AGENTS; do
		deploy_start_agent "$u"
	done
	deploy_await_connected 20 $AGENTS || fail "an agent did not connect"
	say "中转服务器(broker) 监听 $ENDPOINT；$(echo $AGENTS | wc -w) 个单位的代理已连接"
	say "（本演示中的人员姓名、身份证号、电话均为合成数据，不对应任何真实人员）"
}

# ---- the story ----

step0_key() {
	local u n=0
	step 〇 第二十四条 "市反拐办分发城市比对密钥"
	say "  比对线索（第九、十三、十九、二十五条）要让不同单位关于同一人、同一号码的线索相遇，"
	say "  第二十四条又不许扩散个人信息：各单位代理把身份证号等换成城市比对密钥下的盲标记再发送。"
	say "  密钥由市反拐办生成，只在它自己代理的配置中；它把密钥加密给每个登记了加密公钥的单位："
	send ato s0-ato-correlation-key.json
	for u in $AGENTS; do
		[ "$u" = ato ] && continue
		await_out 20 "$u" correlation_key "message.message_id=$ID" \
		    correlation_key.status=installed
		[ "$(stat -c %a "$DEMO_DIR/state/$u/correlation-1.key")" = 600 ] ||
		    fail "$u's correlation key file is not 0600"
		n=$((n + 1))
	done
	say "    中转服务器按登记的加密公钥路由给 $("$PY" -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["recipients"]))' "$FOUND") 个单位，自己无法解密；"
	say "    $n 个在线单位的代理各自解密，写入 state/单位/correlation-1.key（0600）后才确认收到，"
	say "    out/ 中的通知不含密钥；其余单位上线后补收"
}

step1_medical() {
	step 一 第九条 "医疗机构：以他人名义入院分娩"
	say "  市卫生健康委报告：铁东区某医院产科发现，临产孕妇使用他人（王某华）身份证登记入院，"
	say "  产后自述被人带到海城、“孩子生下来就有人抱走”。第九条：严禁以他人名义入院检查、分娩；"
	say "  发现疑似拐卖妇女儿童的，应当及时报告公安机关。"
	send health s1-health-clue.json
	say "    medical 线索按路由表送市公安局，并送市反拐办及管辖地（210302 铁东区）反拐办："
	delivered clue "$ID" psb ato ato-210302
}

step2_school() {
	step 二 第八条 "学校：可疑的接送"
	say "  市教育局报告：立山区某小学放学时，陌生女子冒称“小姨”欲接走二年级女生，被值班教师拦下。"
	send education s2-education-clue.json
	say "    school 线索送市公安局（发送单位市教育局不重复接收）、市反拐办、立山区反拐办："
	delivered clue "$ID" psb ato ato-210304
}

step2_marriage() {
	step 二 第十条 "婚姻登记：涉外婚姻证件伪造"
	say "  市民政局婚姻登记处报告：铁西区涉外结婚登记中，女方无配偶证明系伪造，由“翻译”全程代答。"
	send civil-affairs s2-civil-affairs-clue.json
	say "    marriage 线索送市公安局、市反拐办、铁西区反拐办："
	delivered clue "$ID" psb ato ato-210303
}

step2_airport() {
	step 二 第四条 "交通运输成员单位：机场发现受控制的旅客"
	say "  鞍山机场报告：安检发现一名女子的身份证和登机牌由同行男子保管，女子称“我不想去”。"
	local sus="clue.persons[role=suspect].id_number"
	[ "$($VIEW get "$SCENARIO/s2-airport-clue.json" "$sus")" = \
	    "$($VIEW get "$SCENARIO/s1-health-clue.json" "$sus")" ] ||
	    fail "the airport's suspect is not the hospital's (their id numbers differ)"
	say "  （此男子与第一步医院报告中的陪同男子是同一人：身份证号相同。）"
	send airport s2-airport-clue.json
	say "    immediate 级 transport 线索送市公安局、市交通运输局、鞍山车务段和市反拐办："
	delivered clue "$ID" psb transport railway ato
}

step2_match() {
	say "  比对（第九条 以他人名义、第十九条 DNA 比对、第二十五条 查找亲属）：两家代理各自把身份证号"
	say "  换成城市比对密钥下的盲标记（HMAC-SHA256）再发送；中转服务器只比对标记，看不到号码："
	await_out 10 ato match message.match.type=resident_id
	local id
	id=$($VIEW get "$FOUND" message.message_id)
	say "    中转服务器签发 比对通知(match)：$(who health) 与 $(who airport) 的线索涉及同一身份证号"
	delivered match "$id" ato health airport
}

step3_vagrant() {
	step 三 第十三条 "流浪乞讨儿童：身份不明"
	say "  市民政局（救助管理站）报告：铁东区地下通道发现约7岁男童乞讨，无身份证件，"
	say "  自称父亲的男子说不出孩子生日。第十三条：对流浪乞讨人员身份全面溯源。"
	send civil-affairs s3-civil-affairs-clue.json
	CASE3_CLUE=$ID
	delivered clue "$CASE3_CLUE" psb ato ato-210302
}

# The task force of the case: every message of the case from here on also reaches its
# members, sealed to them by the sender (the broker's directory lists open cases' members).
CASE3_FORCE="psb civil-affairs education"

# force_but UNIT: the task force's members other than UNIT (a sender never receives its
# own message).
force_but() { local u; for u in $CASE3_FORCE; do [ "$u" = "$1" ] || echo "$u"; done; }

step3_case() {
	say "  市公安局立案并成立专班（第十八条）：案件 鞍反拐-2026-047，成员 $(for u in \
	    $CASE3_FORCE; do who "$u"; echo; done | join_cn)"
	send psb s3-psb-case.json
	delivered case "$ID" civil-affairs education ato
	say "    此后凡带此案件编号的消息，发送方的代理都按中转服务器签发的目录加密给专班成员"
}

step3_referrals() {
	say "  市反拐办移送（案件 鞍反拐-2026-047，专班成员同时收到）："
	say "  · 市公安局：采血检验、录入打拐DNA数据库（第十九条）；签收时限 8 小时，反馈 3 日"
	send ato s3-ato-referral-dna.json
	CASE3_DNA=$ID
	delivered referral "$CASE3_DNA" $CASE3_FORCE
	say "  · 市教育局：安排适龄儿童入学（第二十六条）；签收时限本应 8 小时，演示压缩为 ${DUE_SECONDS} 秒"
	send ato s3-ato-referral-schooling.json "$DUE_SECONDS"
	CASE3_SCHOOL=$ID
	CASE3_SCHOOL_AT=$SECONDS
	delivered referral "$CASE3_SCHOOL" $CASE3_FORCE
}

step3_psb_answers() {
	say "  市公安局签收并反馈（办理中：已采血入库比对）："
	send psb s3-psb-receipt.json
	delivered receipt "$ID" ato $(force_but psb)
	send psb s3-psb-feedback.json
	delivered feedback "$ID" ato $(force_but psb)
}

step3_education_overdue() {
	local due
	say "  市教育局未签收。时限一过，中转服务器签发逾期升级，送市反拐办（移送单位），并提醒市教育局："
	await_out $((DUE_SECONDS + 20)) ato escalation \
	    "message.escalation.referral_id=$CASE3_SCHOOL" message.escalation.unit=education \
	    message.escalation.missed=receipt
	{ read -r SEQ; read -r ID; read -r due; } < <($VIEW get "$FOUND" seq \
	    message.message_id message.escalation.due_at)
	[ "$($VIEW get "$FOUND" sender signature.agent_check)" = "broker
verified" ] || fail "the escalation is not signed by the broker and verified by ato"
	say "    中转服务器(broker) 签发 逾期升级(escalation)  日志 seq $SEQ：$(who education) 签收时限" \
	    "$(local_time "$due") 已过（移送后约 $((SECONDS - CASE3_SCHOOL_AT)) 秒）"
	delivered escalation "$ID" ato education
}

step3_listed_supervision() {
	say "  市反拐办挂牌督办（第二十三条 纳入重点督办、第三十九条 挂牌督办），重新设定时限："
	send ato s3-ato-supervision.json
	delivered supervision "$ID" $CASE3_FORCE
	await_out 5 education supervision "message.message_id=$ID" message.supervision.level=listed
	say "  市教育局在督办后签收："
	send education s3-education-receipt.json
	delivered receipt "$ID" ato $(force_but education)
}

step4_petition() {
	step 四 第二十三条 "信访事项：转交办理并纳入督办"
	say "  市信访局接访：母亲反映女儿经同乡介绍外出“打工”后失联、证件被收走。"
	say "  第二十三条：涉拐信访事项及时转交相关责任单位办理，并纳入重点督办督查范围。"
	send petitions s4-petitions-clue.json
	CASE4_CLUE=$ID
	say "    转交：petition 线索本身即是对责任单位（市公安局、市委政法委）的移送："
	delivered clue "$CASE4_CLUE" psb political-legal ato ato-210323
	say "    督办：中转服务器在同一步签发督办，送责任单位、市信访局、市反拐办和岫岩县反拐办："
	await_out 20 psb supervision "message.refers_to=$CASE4_CLUE" sender=broker
	delivered supervision "$($VIEW get "$FOUND" message.message_id)" \
	    psb political-legal petitions ato ato-210323
	say "  市公安局签收信访事项，回复送市信访局（并案至机场线索）："
	send psb s4-psb-receipt.json
	delivered receipt "$ID" petitions ato
}

# ---- what the operator and the auditor see ----

step5_status() {
	step 五 第三十九条 "运行状况、审计与统计"
	say "  cluebus-ctl status（运行中的中转服务器）："
	"$BIN/cluebus-ctl" -c "$DEMO_DIR/broker.conf" status | sed 's/^/    /' ||
	    fail "cluebus-ctl status failed"
	curl -sf -o "$DEMO_DIR/audit/status.html" -u "operator:$(cat "$DEMO_DIR/keys/http.token")" \
	    "$STATUS_URL" || fail "the status page $STATUS_URL does not answer"
	grep -q '市公安局' "$DEMO_DIR/audit/status.html" ||
	    fail "the status page does not name the units"
	say "  状态页：$STATUS_URL（用户名任意，密码为 $DEMO_DIR/keys/http.token 的内容）"
}

_proven() { grep -q '"proof"' "$1"; }

# step5_transparency: health's receipt of step 1 gains its inclusion proof against a
# checkpoint the broker signed; it is checked offline, as an agency or an auditor holding
# only the receipt and the registry file would; every agent is without alarm.
step5_transparency() {
	local r=$DEMO_DIR/spool/health/sent/s1-health-clue.json.receipt.json u
	say "  透明审计（Merkle 树，RFC 9162）：中转服务器每秒签发检查点(checkpoint)，各单位代理逐一核验"
	say "  一致性证明；市卫生健康委第一步线索的回执附上了包含证明，离线即可核验："
	wait_for 20 "the inclusion proof of health's receipt" _proven "$r"
	"$BIN/cluebus-audit" check-receipt "$r" --registry "$DEMO_DIR/registry.json" \
	    >"$DEMO_DIR/audit/check-receipt.txt" 2>&1 ||
	    fail "the receipt does not check: $(cat "$DEMO_DIR/audit/check-receipt.txt")"
	sed 's/^/    /' "$DEMO_DIR/audit/check-receipt.txt"
	for u in $AGENTS; do
		"$BIN/cluebus-agent" -c "$DEMO_DIR/$u.agent.conf" status >/dev/null 2>&1 ||
		    fail "$u's agent reports a transparency alarm (or cannot tell)"
	done
	say "    $(echo $AGENTS | wc -w) 个代理均无回滚/分叉告警（cluebus-agent status 退出码 0）"
}

# step5_settle: the audit reads a stopped broker's log, or with DEMO_KEEP=1 a hot backup.
step5_settle() {
	if [ "$DEMO_KEEP" = 1 ]; then
		"$BIN/cluebus-ctl" -c "$DEMO_DIR/broker.conf" backup "$DEMO_DIR/audit/snapshot" \
		    >/dev/null || fail "cluebus-ctl backup failed"
		AUDIT_DATA=$DEMO_DIR/audit/snapshot
	else
		proc_stop_all 30 || fail "a daemon did not stop cleanly"
		AUDIT_DATA=$DEMO_DIR/data
	fi
}

step5_verify() {
	say "  cluebus-audit verify（逐条核验哈希链、签名和 Merkle 树）："
	"$BIN/cluebus-audit" verify "$AUDIT_DATA" >"$DEMO_DIR/audit/verify.txt" ||
	    fail "the audit FAILED: $(cat "$DEMO_DIR/audit/verify.txt")"
	sed 's/^/    /' "$DEMO_DIR/audit/verify.txt"
}

# step5_privacy: the first step's people (everyone but the suspect, who reappears in the
# airport's clue) are nowhere in the broker's store, logs or replay, nor in the out/ of a unit
# outside that clue's route, and are in the routed units' out/ (SPEC §10, seed Art 24).
step5_privacy() {
	local routed="psb ato ato-210302" others="education civil-affairs airport petitions
ato-210303 ato-210304 ato-210323 political-legal transport railway" secrets s u
	say "  第二十四条 保护被拐卖受害人隐私：第一步产妇等人的姓名、身份证号由市卫生健康委的代理"
	say "  加密给路由选中的单位（X25519 + HKDF-SHA256 + AES-256-GCM），中转服务器只见元数据："
	"$BIN/cluebus-audit" replay "$AUDIT_DATA" >"$DEMO_DIR/audit/replay.txt" &&
	    "$BIN/cluebus-audit" replay "$AUDIT_DATA" --json >"$DEMO_DIR/audit/replay.jsonl" ||
	    fail "cluebus-audit replay failed"
	secrets=$("$PY" -c 'import json, sys
for p in json.load(open(sys.argv[1]))["clue"]["persons"]:
    if p["role"] != "suspect":
        for k in ("name", "id_number"):
            if p.get(k): print(p[k])' "$SCENARIO/s1-health-clue.json")
	while read -r s; do
		for f in "$AUDIT_DATA" "$DEMO_DIR/logs" "$DEMO_DIR/audit/replay.txt" \
		    "$DEMO_DIR/audit/replay.jsonl"; do
			! grep -rqaF -- "$s" "$f" || fail "$(mask "$s") is readable in $f"
		done
		for u in $others; do
			! grep -rqF -- "$s" "$(deploy_spool "$u")/out" ||
			    fail "$(mask "$s") reached $u, which is outside the clue's route"
		done
		for u in $routed; do
			grep -rqF -- "$s" "$(deploy_spool "$u")/out" ||
			    fail "$(mask "$s") did not reach routed unit $u"
		done
	done <<<"$secrets"
	# The suspect's id number was also matched (step2_match): as a token only.
	s=$($VIEW get "$SCENARIO/s1-health-clue.json" "clue.identifiers[type=resident_id].value")
	for f in "$AUDIT_DATA" "$DEMO_DIR/logs" "$DEMO_DIR/audit/replay.jsonl"; do
		! grep -rqaF -- "$s" "$f" || fail "the matched id number is readable in $f"
	done
	say "    $(echo "$secrets" | wc -l) 项个人信息（$(echo "$secrets" | while read -r s; do
	    mask "$s"; done | join_cn)）：中转服务器的 LMDB 日志、各进程日志、"
	say "    审计回放中均无；仅 $(for u in $routed; do who "$u"; echo; done | join_cn) 的 out/ 中可读；"
	say "    第二步比对所用的嫌疑人身份证号在中转服务器一侧也只以盲标记出现；"
	s=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["key"])' \
	    "$DEMO_DIR/keys/correlation-1.key")
	"$PY" - "$AUDIT_DATA" "$s" <<'EOF' || fail "the correlation key is readable in the log"
import os, sys
key = bytes.fromhex(sys.argv[2])
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        blob = open(os.path.join(root, f), "rb").read()
        assert key not in blob and sys.argv[2].encode() not in blob, f
EOF
	say "    城市比对密钥在中转服务器的数据中既无原文也无十六进制；"
	say "    中转服务器配置了 require_sealed：明文个人信息一律拒收（not_sealed），不入日志"
	# The case's task force reads what was sealed to it (the DNA referral's note).
	s=$($VIEW get "$SCENARIO/s3-ato-referral-dna.json" referral.note)
	! grep -rqaF -- "$s" "$AUDIT_DATA" || fail "the DNA referral's note is readable in the log"
	for u in $CASE3_FORCE; do
		grep -rqF -- "$s" "$(deploy_spool "$u")/out" ||
		    fail "the DNA referral's note did not reach task force member $u"
	done
	say "    第三步案件的移送说明加密给了专班全体成员（$(for u in $CASE3_FORCE; do who "$u"
	    echo; done | join_cn)），各自可读；日志中没有"
}

# mask TEXT: the first character and the length, for telling what was looked for without
# printing it.
mask() { printf '%s…(%d字)\n' "${1:0:1}" "${#1}"; }
# join_cn: the lines of stdin joined by 、.
join_cn() { awk 'NR > 1 { printf "、" } { printf "%s", $0 }'; }

step5_timeline() {
	local c=$DEMO_DIR/audit/case3.json r s
	say "  第三步案件的时间线（cluebus-audit case）："
	"$BIN/cluebus-audit" case "$AUDIT_DATA" "鞍反拐-2026-047" --json >"$c" ||
	    fail "cluebus-audit case failed"
	$VIEW timeline "$UNITS_FILE" "$c" || exit 1
	r="events[message_id=$CASE3_SCHOOL].duties[unit=education].receipt"
	s=$($VIEW get "$c" "$r.state" "$r.escalated" \
	    "events[message_id=$CASE3_DNA].duties[unit=psb].feedback.state")
	[ "$(echo "$s" | sed -n 1p)" = done ] && [ -n "$(echo "$s" | sed -n 2p)" ] &&
	    [ "$(echo "$s" | sed -n 3p)" = done ] ||
	    fail "the timeline does not show psb's feedback and education's late receipt: $s"
}

step5_stats() {
	local st=$DEMO_DIR/audit/stats.json from n
	from=$(TZ=CST-8 date -d "@$DEMO_STARTED" '+%Y-%m-%dT%H:%M:%S+08:00')
	say "  本期统计（cluebus-audit stats，演示开始至今）："
	"$BIN/cluebus-audit" stats "$AUDIT_DATA" --from "$from" --json >"$st" ||
	    fail "cluebus-audit stats failed"
	$VIEW stats "$UNITS_FILE" "$st" || exit 1
	n=$(count_files "$SCENARIO" '*-clue.json')
	[ "$($VIEW get "$st" clues "units[unit=education].overdue.receipt")" = "$n
1" ] || fail "the statistics do not count $n clues and education's overdue receipt"
}

step5_received() {
	say "  各单位收到的消息（spool/UNIT/out/）："
	$VIEW received "$DEMO_DIR/spool" "$UNITS_FILE" $AGENTS || exit 1
}

demo_finish() {
	if [ "$DEMO_KEEP" = 1 ]; then
		trap - EXIT
		say
		say "DEMO_KEEP=1：中转服务器和各单位代理继续运行。"
		say "  cluebus-ctl -c $DEMO_DIR/broker.conf status|units|backlog|overdue"
		say "  状态页 $STATUS_URL ；停止并清除：make demo-clean DEMO_DIR=$DEMO_DIR"
	fi
	say
	say "== demo finished in $((SECONDS - T0))s: the Anshan story told, every step checked, the log verified"
}

# ---- main ----

if [ "${1:-}" = --clean ]; then
	demo_clean
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: scripts/demo.sh [--clean]" >&2; exit 2; }
mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
DEPLOY_DIR=$DEMO_DIR
DEPLOY_BIN=$BIN
DEPLOY_LOGS=$DEMO_DIR/logs
DEMO_STARTED=$(date +%s)
trap 'proc_cleanup 10' EXIT
trap 'exit 130' INT TERM

say "== 鞍山市反对拐卖人口工作实施细则（鞍政办发〔2024〕5号）· cluebus 演示，目录 $DEMO_DIR"
demo_setup
for s in "${STEPS[@]}"; do
	"$s"
done
demo_finish
