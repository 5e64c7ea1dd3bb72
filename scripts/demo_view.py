#!/usr/bin/python3
"""scripts/demo_view.py — what scripts/demo.sh shows and checks, in the operator's terms.

The demo's narration lives in demo.sh; this file reads the files the agents and the audit
tool write (spool/UNIT/out/*.json, sent/*.receipt.json, `cluebus-audit case|stats --json`)
and renders them for a Chinese-speaking operator: units by their Chinese names, times in
local time (+08:00), categories with their seed article. Each check exits 1 with a sentence
saying what is wrong, so that the demo fails loudly instead of printing a happy story.

    demo_view.py names UNITS_FILE                 bash: declare -A UNIT_NAME=(...)
    demo_view.py kind KIND                        a kind's Chinese name, "线索(clue)"
    demo_view.py get FILE KEY...                  the values at KEYs, one a line (dotted:
                                                  events[seq=5].duties[unit=psb].receipt.state)
    demo_view.py doc FILE [DUE_SECONDS]           the document; with DUE_SECONDS its relative
                                                  receipt due time becomes now + DUE_SECONDS
    demo_view.py delivered SPOOLS UNITS_FILE KIND ID UNIT...
                                                  each UNIT's out/ holds the message, verified,
                                                  and its recipients are exactly the UNITs
    demo_view.py find SPOOLS UNIT KIND KEY=VALUE...
                                                  the first out/ file of UNIT and KIND whose
                                                  message has those (dotted) values
    demo_view.py timeline UNITS_FILE CASE_JSON    cluebus-audit case --json, rendered
    demo_view.py stats UNITS_FILE STATS_JSON      cluebus-audit stats --json, rendered
    demo_view.py received SPOOLS UNITS_FILE UNIT...  what each unit received, by kind

Standard library only.
"""
import datetime
import glob
import json
import os
import shlex
import sys
import unicodedata

LOCAL = datetime.timezone(datetime.timedelta(hours=8))
CATEGORY = {
    "school": "学校 第八条", "medical": "医疗 第九条", "marriage": "婚姻登记 第十条",
    "labor": "用工 第十一条", "online": "网络 第十二条", "vagrant": "流浪乞讨 第十三条",
    "vulnerable_group": "特殊群体 第十四条", "foreign_national": "涉外人员 第十五条",
    "public_tip": "群众举报 第十六条", "dna": "DNA 第十九条",
    "entertainment_venue": "娱乐场所 第二十条", "fake_paternity": "虚假亲子鉴定 第二十二条",
    "petition": "信访 第二十三条", "transport": "交通运输 第四条",
    "cross_border": "跨国跨境 第三十五至三十七条", "other": "其他",
}
KIND = {
    "clue": "线索", "referral": "移送", "receipt": "签收", "feedback": "办理反馈",
    "supervision": "督办", "report": "报告", "escalation": "逾期升级", "registry": "登记",
    "match": "关联", "case": "案件", "correction": "更正", "permission": "许可",
    "correlation_key": "比对密钥",
}
STATUS = {
    "accepted": "已受理", "in_progress": "办理中", "resolved": "已办结", "rejected": "退回",
    "transferred": "已转办",
}
MISSED = {"receipt": "签收", "feedback": "反馈"}
DISTRICT = {
    "210300": "鞍山市", "210302": "铁东区", "210303": "铁西区", "210304": "立山区",
    "210311": "千山区", "210321": "台安县", "210323": "岫岩满族自治县", "210381": "海城市",
}


def die(msg):
    print("demo: FAILED: %s" % msg, file=sys.stderr)
    sys.exit(1)


def unit_names(units_file):
    """Unit id -> its short Chinese name ("市反拐办" for the office's long name)."""
    out = {"broker": "中转服务器"}
    for u in json.load(open(units_file, encoding="utf-8"))["units"]:
        name = u["name"]
        if "(" in name:
            name = name.split("(", 1)[1].split(",")[0].rstrip(")")
        out[u["id"]] = name
    return out


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def pad(s, n):
    return s + " " * max(0, n - width(s))


def cut(s, n):
    s = s.split("\n")[0]
    if width(s) <= n:
        return s
    while width(s) > n - 2:
        s = s[:-1]
    return s + "……"


def local(t):
    """An RFC 3339 time as local time, "12-04 22:41:03"."""
    if t is None:
        return "—"
    d = datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return d.astimezone(LOCAL).strftime("%m-%d %H:%M:%S")


def span(ms):
    if ms is None:
        return "—"
    s = ms / 1000
    if s < 60:
        return "%.1f 秒" % s
    if s < 3600:
        return "%.1f 分钟" % (s / 60)
    if s < 86400:
        return "%.1f 小时" % (s / 3600)
    return "%.1f 天" % (s / 86400)


def who(names, unit):
    return "%s(%s)" % (names.get(unit, unit), unit)


def out_files(spools, unit, kind, mid="*"):
    return sorted(glob.glob(os.path.join(spools, unit, "out", "*-%s-%s.json" % (kind, mid))))


def dotted(doc, key):
    """doc's value at KEY: names joined by dots; NAME[K=V] picks the first item of the list
    NAME whose K is V (events[message_id=ab12...].duties[unit=psb].receipt.state)."""
    for part in key.split("."):
        sel = None
        if part.endswith("]") and "[" in part:
            part, sel = part[:-1].split("[", 1)
            sel = sel.split("=", 1)
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
        if sel is not None:
            if not isinstance(doc, list):
                return None
            doc = next((x for x in doc if isinstance(x, dict) and
                        str(x.get(sel[0])) == sel[1]), None)
    return doc


def cmd_names(units_file):
    print("declare -gA UNIT_NAME=(")
    for unit, name in unit_names(units_file).items():
        print("  [%s]=%s" % (unit, shlex.quote(name)))
    print(")")


def cmd_kind(kind):
    print("%s(%s)" % (KIND.get(kind, kind), kind))


def cmd_get(path, keys):
    doc = json.load(open(path, encoding="utf-8"))
    for k in keys:
        v = dotted(doc, k)
        print("" if v is None else v)


def cmd_doc(path, due_seconds=None):
    doc = json.load(open(path, encoding="utf-8"))
    if due_seconds is not None:
        body = doc[doc["kind"]]
        if "receipt_due_in" not in body:
            die("%s has no receipt_due_in to shorten" % path)
        del body["receipt_due_in"]
        due = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=int(due_seconds))
        body["receipt_due_at"] = due.astimezone(LOCAL).isoformat(timespec="milliseconds")
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def cmd_delivered(spools, units_file, kind, mid, units):
    names = unit_names(units_file)
    want = set(units)
    for unit in units:
        if not out_files(spools, unit, kind, mid):
            die("%s %s was not delivered to %s" % (kind, mid, who(names, unit)))
    for unit in units:
        files = out_files(spools, unit, kind, mid)
        f = json.load(open(files[0], encoding="utf-8"))
        got = set(f["recipients"])
        if got != want:
            die("%s %s went to %s, the story expects exactly %s" % (
                kind, mid, " ".join(sorted(got)), " ".join(sorted(want))))
        check = f["signature"]["agent_check"]
        if check != "verified":
            die("%s's copy of %s %s: signature %s, expected verified" % (unit, kind, mid, check))
        print("      → %s 已送达 %s/，签名核验通过" % (
            pad(who(names, unit), 30),
            os.path.relpath(os.path.dirname(files[0]), os.path.dirname(spools))))


def cmd_find(spools, unit, kind, conds):
    for path in out_files(spools, unit, kind):
        f = json.load(open(path, encoding="utf-8"))
        if all(str(dotted(f, c.split("=", 1)[0])) == c.split("=", 1)[1] for c in conds):
            print(path)
            return
    sys.exit(1)


def duty_lines(names, d):
    r, f = d["receipt"], d["feedback"]

    def step(s, what):
        if s["state"] == "done":
            text = "%s于 %s（用时 %s）" % (what, local(s["at"]), span(s["after_ms"]))
        elif s["state"] == "overdue":
            text = "%s逾期未办" % what
        else:
            text = "%s待办" % what
        if s["due"]:
            text += "，时限 %s" % local(s["due"])
        if s["escalated"]:
            text += "，%s 已逾期升级" % local(s["escalated"])
        return text

    out = ["           承办 %s：%s" % (who(names, d["unit"]), step(r, "签收"))]
    fb = step(f, "反馈")
    if f.get("last_status"):
        fb += "（%s）" % STATUS.get(f["last_status"], f["last_status"])
    out.append("                %s  %s" % (" " * width(who(names, d["unit"])), fb))
    return out


def cmd_timeline(units_file, path):
    names = unit_names(units_file)
    tl = json.load(open(path, encoding="utf-8"))
    events = tl["events"]
    if not events:
        die("case %s has no messages in the log" % tl["case_ref"])
    print("    案件 %s（截至 %s，+08:00）" % (tl["case_ref"], local(tl["as_of"])))
    rec = tl.get("record") or {}
    if rec.get("found"):
        print("    %s，%s立案，专班：%s" % (
            "办理中" if rec["state"] == "open" else "已结案", who(names, rec["opener"]),
            "、".join(names.get(u, u) for u in rec["members"])))
    print("    %5s  %-14s  %s" % ("seq", "日志时间", "发送方 → 内容"))
    for e in events:
        kind = KIND.get(e["kind"], e["kind"])
        line = "    %5d  %s  %s %s" % (e["seq"], local(e["time"]), who(names, e["sender"]), kind)
        if e.get("clue"):
            c = e["clue"]
            line += "（%s，%s）" % (CATEGORY.get(c["category"], c["category"]),
                                   DISTRICT.get(c["jurisdiction"], c["jurisdiction"]))
        if e.get("feedback"):
            line += "：%s" % STATUS.get(e["feedback"]["status"], e["feedback"]["status"])
        if e.get("escalation"):
            x = e["escalation"]
            line += "：%s 未按时%s（时限 %s）" % (
                who(names, x["unit"]), MISSED.get(x["missed"], x["missed"]), local(x["due"]))
        print(line)
        acked = ["%s %s" % (names.get(r["unit"], r["unit"]), span(r["ack_after_ms"]))
                 for r in e["recipients"] if r["acked"]]
        if acked:
            print("           送达确认：%s" % "，".join(acked))
        for d in e.get("duties") or []:
            for ln in duty_lines(names, d):
                print(ln)


def cmd_stats(units_file, path):
    names = unit_names(units_file)
    st = json.load(open(path, encoding="utf-8"))
    print("    统计期间 %s 至 %s（+08:00）：日志中的消息 %d 条，其中线索 %d 条" % (
        local(st["from"]), local(st["to"]) if st["to"] else "今", st["messages"], st["clues"]))
    print("    各单位发出：%s" % "；".join(
        "%s %s" % (names.get(u, u), "、".join("%s %d" % (KIND.get(k, k), n)
                                              for k, n in sorted(by.items(), key=kind_order)))
        for u, by in st["messages_by_sender"].items()))
    print("    线索类别：%s" % "，".join(
        "%s %d" % (CATEGORY.get(k, k), n) for k, n in sorted(st["clues_by_category"].items())))
    print("    线索地区：%s" % "，".join(
        "%s %d" % (DISTRICT.get(k, k), n) for k, n in sorted(st["clues_by_district"].items())))
    print("    各单位承办（移送/转办/信访事项）：")
    for u in st["units"]:
        r, f = u["receipt"], u["feedback"]
        print("      %s 承办 %d 件；签收 %d（中位 %s）；反馈 %d；逾期 签收 %d 反馈 %d；"
              "未办 签收 %d 反馈 %d" % (
                  pad(who(names, u["unit"]), 30), u["referrals"], r["n"], span(r["median_ms"]),
                  f["n"], u["overdue"]["receipt"], u["overdue"]["feedback"],
                  u["open"]["receipt"], u["open"]["feedback"]))


def kind_order(item):
    return (list(KIND).index(item[0]) if item[0] in KIND else len(KIND), item[0])


def counted(kinds):
    counts = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    return "、".join("%s %d" % (KIND.get(k, k), n)
                    for k, n in sorted(counts.items(), key=kind_order)) or "—"


def cmd_received(spools, units_file, units):
    names = unit_names(units_file)
    print("    %s %s  %s" % (pad("单位", 34), pad("发出", 16), "收到"))
    for unit in units:
        got = [os.path.basename(p).split("-")[1] for p in out_files(spools, unit, "*")]
        sent = [json.load(open(p[:-len(".receipt.json")], encoding="utf-8"))["kind"]
                for p in glob.glob(os.path.join(spools, unit, "sent", "*.receipt.json"))]
        print("    %s %s  %s" % (pad(who(names, unit), 34), pad(counted(sent), 16),
                                 counted(got)))


def main(a):
    try:
        if a[1:2] == ["names"] and len(a) == 3:
            return cmd_names(a[2])
        if a[1:2] == ["kind"] and len(a) == 3:
            return cmd_kind(a[2])
        if a[1:2] == ["get"] and len(a) >= 4:
            return cmd_get(a[2], a[3:])
        if a[1:2] == ["doc"] and len(a) in (3, 4):
            return cmd_doc(*a[2:])
        if a[1:2] == ["delivered"] and len(a) >= 7:
            return cmd_delivered(a[2], a[3], a[4], a[5], a[6:])
        if a[1:2] == ["find"] and len(a) >= 5:
            return cmd_find(a[2], a[3], a[4], a[5:])
        if a[1:2] == ["timeline"] and len(a) == 4:
            return cmd_timeline(a[2], a[3])
        if a[1:2] == ["stats"] and len(a) == 4:
            return cmd_stats(a[2], a[3])
        if a[1:2] == ["received"] and len(a) >= 5:
            return cmd_received(a[2], a[3], a[4:])
    except (OSError, ValueError, KeyError) as e:
        die("%s: %s" % (" ".join(a[1:3]), e))
    print(__doc__.split("\n\n")[2], file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
