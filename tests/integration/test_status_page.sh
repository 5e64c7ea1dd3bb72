#!/usr/bin/env bash
# The status page (SPEC §9: "a status page in Chinese, tested in a real browser"), opened
# in headless Chromium: after psb's agent is stopped, the page shows psb 离线 (offline)
# and health 在线 (online), each with its unit id and Chinese name; psb's backlog is the 4
# clues published while it was away; the accepted-per-minute chart is an inline SVG with
# one bar per minute of the last hour; the log head is the log's (as of the snapshot); the
# page loads nothing from outside (no src= or href= to any URL). Without the token the page is refused.
# Skips when Chromium is not installed (scripts/deps.sh --browser installs it).
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
	say "SKIP: chromium is not installed (scripts/deps.sh --browser)"
	exit 0
fi
PORT=$(free_port)
mkdir -p "$D/keys"
(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$D/keys/http.token")
TOKEN=$(cat "$D/keys/http.token")
BROKER_TUNING="peer_timeout_ms = 3000;	# 3 heartbeats: a stopped agent is soon offline
http_listen = \"127.0.0.1:$PORT\";
http_token = \"keys/http.token\";" deploy ipc
start_all health psb ato ato-210302
drop_clues health 6 medical 210302
drain health 6 60 psb ato ato-210302
stop_agent psb
for i in 1 2 3 4; do
	drop health "late$i.json" "$(clue_json medical 210302 "while psb is away $i")"
done
wait_for 60 "4 more receipts" files_at_least "$(spool health)/sent" 'late*.json.receipt.json' 4

assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" \
    "the page without the token"
psb_offline_in_metrics() {
	curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" |
	    grep -q '^cluebus_backlog_depth{unit="psb"} 4$' &&
	    curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" |
	    grep -q '^cluebus_unit_online{unit="psb"} 0$'
}
wait_for 30 "psb offline with a backlog of 4 in the snapshot" psb_offline_in_metrics

# A browser logs in with the token as an HTTP Basic password.
PAGE="http://operator:$TOKEN@127.0.0.1:$PORT/"
browse() {
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
	    --user-data-dir="$TEST_DIR/chromium" --window-size=1280,1600 "$@" "$PAGE" \
	    2>>"$TEST_DIR/chromium.log"
}
browse --dump-dom >"$TEST_DIR/page.html" || die "chromium --dump-dom failed"
browse --screenshot="$TEST_DIR/page.png" >/dev/null || die "chromium --screenshot failed"
[ -s "$TEST_DIR/page.png" ] || die "no screenshot"
audit replay "$D/data" --json | tail -1 >"$TEST_DIR/head.json"
"$PY" - "$TEST_DIR/page.html" "$TEST_DIR/head.json" "$(spool health)/sent" <<'EOF'
import glob, json, re, sys
from html.parser import HTMLParser
dom, head = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
# The page's snapshot is at most a second old and acks still come in: its head lies
# between the last receipt health got (committed before) and the log's head now.
low = max(json.load(open(f))["seq"] for f in glob.glob(sys.argv[3] + "/*.receipt.json"))

class Rows(HTMLParser):
    """The units table as {unit: [cell texts]}, and every src/href seen."""
    def __init__(self):
        super().__init__()
        self.rows, self.unit, self.cell, self.links, self.svg_rects = {}, None, None, [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "tr" and "data-unit" in a:
            self.unit = a["data-unit"]
            self.rows[self.unit] = []
        elif tag == "td" and self.unit:
            self.cell = ""
        elif tag == "rect":
            self.svg_rects += 1
    def handle_endtag(self, tag):
        if tag == "td" and self.unit is not None and self.cell is not None:
            self.rows[self.unit].append(self.cell.strip())
            self.cell = None
        elif tag == "tr":
            self.unit = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

p = Rows()
p.feed(dom)
assert not p.links, "the page loads something: %s" % p.links
psb, health = p.rows["psb"], p.rows["health"]
assert psb[0] == "psb" and psb[1] == "市公安局" and psb[2] == "离线", psb
assert psb[4] == "4", psb
assert health[0] == "health" and health[2] == "在线", health
assert p.rows["justice"][2] == "离线" and p.rows["justice"][3] == "从未连接", p.rows["justice"]
assert "<svg" in dom and p.svg_rects == 60, p.svg_rects
m = re.search(r'id="log-head">序号 (\d+)', dom)
assert m and low <= int(m.group(1)) <= head["seq"], (low, m and m.group(1), head["seq"])
assert "正常接收新消息" in dom
m = re.search(r'id="checkpoint">树大小 (\d+)，签于 20', dom)
assert m and 0 < int(m.group(1)) <= head["seq"], (m and m.group(1), head["seq"])
print("status page: psb %s, health %s, %d units, chart of %d bars" % (psb[2], health[2], len(p.rows), p.svg_rects))
EOF
say "screenshot: $TEST_DIR/page.png"
finish
