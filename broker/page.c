/* broker/page.c — the status page (HTML, in Chinese) of a status snapshot.
 *
 * What the 反拐办's duty officer looks at: is the broker accepting, which units are online
 * and since when they are silent, what waits for whom, which duties are overdue, and the
 * traffic of the last hour. A pure function of status_snapshot's JSON, run on http.c's
 * thread under its mutex.
 * Invariants: (1) the page is one self-contained document: inline CSS and an inline SVG
 * chart, no script, no external asset (it works on an isolated network, and a strict
 * Content-Security-Policy costs nothing); (2) every text from the registry (names) or the
 * log (case references) is HTML-escaped; (3) it shows ids, names, counts and times only,
 * never message content. */
#include <stdio.h>
#include <string.h>

#include "broker.h"

static void
esc(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* An RFC 3339 UTC time as "2026-03-01 08:30:00" (the headers say UTC). */
static void
utc(FILE *f, const char *rfc3339)
{
	size_t n = strcspn(rfc3339, ".Z");

	for (size_t i = 0; i < n; i++)
		fputc(rfc3339[i] == 'T' ? ' ' : rfc3339[i], f);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

static long long
num(const json_t *o, const char *key)
{
	return (long long)json_number_value(json_object_get(o, key));
}

/* "35 秒", "12 分钟", "3 小时 5 分", "2 天 4 小时" */
static void
ago(FILE *f, long long s)
{
	if (s < 120)
		fprintf(f, "%lld 秒", s);
	else if (s < 7200)
		fprintf(f, "%lld 分钟", s / 60);
	else if (s < 172800)
		fprintf(f, "%lld 小时 %lld 分", s / 3600, s / 60 % 60);
	else
		fprintf(f, "%lld 天 %lld 小时", s / 86400, s / 3600 % 24);
}

/* The latest signed checkpoint (docs/audit.md §7): tree size, when, entries after it. */
static void
page_checkpoint(FILE *f, const json_t *c)
{
	fputs("<tr><td>签名检查点</td><td id=\"checkpoint\">", f);
	if (num(c, "tree_size") == 0) {
		fputs("尚无</td></tr>", f);
		return;
	}
	fprintf(f, "树大小 %lld，签于 ", num(c, "tree_size"));
	utc(f, str(c, "signed_at"));
	fprintf(f, "（UTC）；其后 %lld 条尚未签入</td></tr>", num(c, "entries_after"));
}

static const json_t *
find_unit(const json_t *arr, const char *unit)
{
	const json_t *u;
	size_t i;

	json_array_foreach(arr, i, u)
		if (strcmp(str(u, "unit"), unit) == 0)
			return u;
	return NULL;
}

static void
page_head(FILE *f, const json_t *st)
{
	const json_t *map = json_object_get(st, "map");

	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'\">"
	    "<title>cluebus 线索交换总线 运行状态</title><style>"
	    "body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;"
	    "margin:24px;color:#1a1a1a;font-size:15px}"
	    "h1{font-size:22px;margin:0 0 12px}h2{font-size:18px;margin:24px 0 8px;"
	    "border-bottom:2px solid #345;padding-bottom:4px}"
	    "table{border-collapse:collapse;width:100%}"
	    "th,td{border:1px solid #ccd;padding:4px 8px;text-align:left;white-space:nowrap}"
	    "td.name{white-space:normal}"
	    "th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	    "td.online{color:#0a6b2d;font-weight:bold}td.offline{color:#b3261e;font-weight:bold}"
	    "tr.offline td{color:#666}tr.offline td.offline{color:#b3261e}"
	    "tr.waiting td.n{color:#b3261e;font-weight:bold}"
	    "tr:nth-child(even){background:#fafbfc}"
	    ".bad{background:#fde7e4;color:#b3261e;font-weight:bold;padding:8px}"
	    ".good{background:#e5f4ea;color:#0a6b2d;padding:8px}"
	    "code{font-size:13px}.kv td:first-child{width:160px;background:#f6f7f9}"
	    "</style></head><body>\n", f);
	fputs("<h1>cluebus 线索交换总线 运行状态</h1>\n", f);
	if (json_is_true(json_object_get(st, "accepting")))
		fputs("<p class=\"good\" id=\"accepting\">正常接收新消息</p>\n", f);
	else {
		fputs("<p class=\"bad\" id=\"accepting\">拒绝新消息（投递照常）：", f);
		esc(f, str(st, "unavailable_reason"));
		fputs("</p>\n", f);
	}
	fputs("<table class=\"kv\">", f);
	fprintf(f, "<tr><td>日志头</td><td id=\"log-head\">序号 %lld，哈希 <code>", num(st,
	    "log_head_seq"));
	esc(f, str(st, "log_head_hash"));
	fputs("</code></td></tr><tr><td>启动时间（UTC）</td><td>", f);
	utc(f, str(st, "started_at"));
	fputs("（已运行 ", f);
	ago(f, num(st, "uptime_s"));
	fprintf(f, "）</td></tr><tr><td>在线单位</td><td>%lld / %lld</td></tr>",
	    num(st, "units_online"), num(st, "units_registered"));
	page_checkpoint(f, json_object_get(st, "checkpoint"));
	fprintf(f, "<tr><td>存储</td><td>已用 %.1f MiB，上限 %.0f MiB；日志文件 %.1f MiB；"
	    "磁盘剩余 %.1f MiB</td></tr></table>\n",
	    (double)num(map, "used_bytes") / 1048576.0, (double)num(map, "max_bytes") / 1048576.0,
	    (double)num(st, "log_size_bytes") / 1048576.0,
	    (double)num(json_object_get(st, "disk"), "free_bytes") / 1048576.0);
}

static void
page_unit_row(FILE *f, const json_t *u, const json_t *b)
{
	int online = json_is_true(json_object_get(u, "online"));
	const json_t *seen = json_object_get(u, "last_seen");

	fputs("<tr data-unit=\"", f);
	esc(f, str(u, "unit"));
	fprintf(f, "\" class=\"%s%s\"><td><code>", online ? "online" : "offline",
	    b != NULL && num(b, "depth") > 0 ? " waiting" : "");
	esc(f, str(u, "unit"));
	fputs("</code></td><td class=\"name\">", f);
	esc(f, str(u, "name"));
	fprintf(f, "</td><td class=\"%s\">%s</td><td>", online ? "online" : "offline",
	    online ? "在线" : "离线");
	if (seen == NULL || json_is_null(seen))
		fputs("从未连接", f);
	else {
		utc(f, str(u, "last_seen"));
		fputs("（", f);
		ago(f, num(u, "last_seen_ago_s"));
		fputs("前）", f);
	}
	fprintf(f, "</td><td class=\"n\">%lld</td><td>", b != NULL ? num(b, "depth") : 0);
	if (b != NULL && json_object_get(b, "oldest_age_s") != NULL &&
	    !json_is_null(json_object_get(b, "oldest_age_s")))
		ago(f, num(b, "oldest_age_s"));
	else
		fputs("—", f);
	fputs("</td></tr>\n", f);
}

/* Units online or with a backlog first (what needs watching), then the others; each
 * group in registry order. */
static void
page_units(FILE *f, const json_t *units, const json_t *backlog)
{
	const json_t *u, *b;
	size_t i;

	fputs("<h2>各单位连接与积压</h2>\n<table id=\"units\"><tr><th>单位</th><th>名称</th>"
	    "<th>状态</th><th>最后活动（UTC）</th><th>积压（未确认）</th><th>最早一条已等待</th>"
	    "</tr>\n", f);
	for (int pass = 0; pass < 2; pass++) {
		json_array_foreach(units, i, u) {
			int busy;

			b = find_unit(backlog, str(u, "unit"));
			busy = json_is_true(json_object_get(u, "online")) ||
			    (b != NULL && num(b, "depth") > 0);
			if (busy == (pass == 0))
				page_unit_row(f, u, b);
		}
	}
	fputs("</table>\n", f);
}

/* The Chinese name of a duty: a referral's step, or the report owed (broker/duties.c). */
static const char *
page_duty_name(const char *duty)
{
	static const char *const names[][2] = { { "receipt", "签收" },
	    { "feedback", "办理反馈" }, { "follow_up", "回访报告" },
	    { "situation_analysis", "半年研判" }, { "self_evaluation", "年度自评" } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(duty, names[i][0]) == 0)
			return names[i][1];
	return duty;
}

static void
page_overdue(FILE *f, const json_t *overdue)
{
	const json_t *d;
	size_t i;

	fprintf(f, "<h2>逾期未办职责（%zu）</h2>\n", json_array_size(overdue));
	if (json_array_size(overdue) == 0) {
		fputs("<p id=\"overdue\">无逾期职责。</p>\n", f);
		return;
	}
	fputs("<table id=\"overdue\"><tr><th>转办编号</th><th>案件编号</th><th>单位</th>"
	    "<th>名称</th><th>职责</th><th>应完成时间（UTC）</th><th>已逾期</th></tr>\n", f);
	json_array_foreach(overdue, i, d) {
		fputs("<tr><td><code>", f);
		esc(f, str(d, "referral_id"));
		fputs("</code></td><td>", f);
		esc(f, str(d, "case_ref"));
		fputs("</td><td><code>", f);
		esc(f, str(d, "unit"));
		fputs("</code></td><td class=\"name\">", f);
		esc(f, str(d, "name"));
		fprintf(f, "</td><td>%s</td><td>", page_duty_name(str(d, "duty")));
		utc(f, str(d, "due"));
		fputs("</td><td>", f);
		ago(f, num(d, "overdue_s"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* Accepted per minute over the last hour, as bars; the scale's top is the busiest minute. */
static void
page_chart(FILE *f, const json_t *per_minute)
{
	const double w = 1180, h = 220, left = 60, top = 16, plot_h = 170;
	size_t n = json_array_size(per_minute), i;
	long long max = 1, total = 0;
	double bw;

	for (i = 0; i < n; i++) {
		long long v = (long long)json_integer_value(json_array_get(per_minute, i));

		total += v;
		if (v > max)
			max = v;
	}
	bw = n > 0 ? (w - left - 10) / (double)n : 1;
	fprintf(f, "<h2>近一小时每分钟接收消息数（共 %lld 条）</h2>\n", total);
	fprintf(f, "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" role=\"img\" aria-label=\"近一小时每分钟接收消息数\">", w, h);
	fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>",
	    left, top + plot_h, w - 10, top + plot_h);
	fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>",
	    left, top, left, top + plot_h);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"end\">%lld</text>",
	    left - 6, top + 10, max);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"end\">0</text>",
	    left - 6, top + plot_h);
	for (i = 0; i < n; i++) {
		long long v = (long long)json_integer_value(json_array_get(per_minute, i));
		double bh = plot_h * (double)v / (double)max;

		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		    "fill=\"#2f6db5\"><title>%zu 分钟前：%lld 条</title></rect>",
		    left + (double)i * bw + 1, top + plot_h - bh, bw > 2 ? bw - 2 : bw, bh,
		    n - 1 - i, v);
	}
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">60 分钟前</text>", left,
	    top + plot_h + 20);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"end\">现在</text>",
	    w - 10, top + plot_h + 20);
	fputs("</svg>\n", f);
}

/* Correlation: how many notices, and the hot tokens (by a hash prefix: never the token). */
static void
page_matches(FILE *f, const json_t *m)
{
	const json_t *hot = json_object_get(m, "hot"), *h;
	size_t i;

	fprintf(f, "<h2>线索关联</h2>\n<p id=\"matches\">关联通知 %lld 条，合并建议 %lld 条；"
	    "已索引标识 %lld 个（%lld 条记录），高频标识 %lld 个。</p>\n", num(m, "notices"),
	    num(m, "bundles"), num(m, "tokens"), num(m, "entries"), num(m, "hot_tokens"));
	if (json_array_size(hot) == 0)
		return;
	fputs("<table id=\"hot\"><tr><th>高频标识（摘要）</th><th>类型</th><th>密钥版本</th>"
	    "<th>自</th></tr>\n", f);
	json_array_foreach(hot, i, h) {
		fputs("<tr><td>", f);
		esc(f, str(h, "token_hash"));
		fputs("</td><td>", f);
		esc(f, str(h, "type"));
		fprintf(f, "</td><td>%lld</td><td>", num(h, "key_version"));
		utc(f, str(h, "since"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

void
page_render(const json_t *snap, FILE *f)
{
	page_head(f, json_object_get(snap, "status"));
	page_overdue(f, json_object_get(snap, "overdue"));
	page_matches(f, json_object_get(json_object_get(snap, "status"), "matches"));
	page_chart(f, json_object_get(snap, "accepted_per_minute"));
	page_units(f, json_object_get(snap, "units"), json_object_get(snap, "backlog"));
	fputs("<p style=\"color:#666;font-size:12px\">本页每次打开时生成（数据约每秒更新）；"
	    "只显示编号、名称、数量和时间，不含线索内容。</p></body></html>\n", f);
}
