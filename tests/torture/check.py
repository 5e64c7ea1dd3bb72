#!/usr/bin/env python3
"""tests/torture/check.py — measurements and checks the torture scenarios share.

    check.py latency --feed LOG --sent DIR [--phases FILE] [--max-ms MS --in PHASE,...]
        Publish-to-receipt time of every document feeder.py dropped: the mtime of
        sent/NAME.receipt.json minus the drop time. Prints count, p50, p99 and max per
        phase (PHASES: lines "NAME START_NS END_NS"; a document belongs to the phase it was
        dropped in) and overall. With --max-ms, fails when the max of a phase named by --in
        exceeds it, or when a document of such a phase has no receipt.

    check.py exactly-once --replay FILE --spools DIR [--sender UNIT:PREFIX:N ...]
                          [--publisher UNIT] [--recipient UNIT ...] [--in-order UNIT:LOG ...]
        The whole log (replay --json lines) holds only messages of the --sender streams,
        each stream's summaries "PREFIX 1".."PREFIX N" exactly once, and no message id
        twice. --publisher: that unit's spool has nothing left in in/, pending/, rejected/
        and one receipt per document, naming the message id and seq the log has.
        --recipient: the unit's out/ holds exactly the logged messages routed to it, once
        each, at their seqs. --in-order: the agent's log received them in strictly
        increasing seq order.

    check.py mem --samples FILE [--phases FILE] [--bound PHASE:MIB ...]
                 [--bound-vmrss PHASE:MIB ...]
        Peak memory of the broker per phase from lib.sh's mem_sampler_start samples
        (RssAnon: heap and ZeroMQ queues; RssFile: mostly LMDB's mapped data file). Fails
        when the peak RssAnon of a --bound phase ("all": the whole run), or the peak VmRSS
        of a --bound-vmrss phase, exceeds MIB.

    check.py log-stats --replay FILE
        Counts of entries by type and of ack entries per unit (one line of JSON).

Exit 0 when every check holds, 1 otherwise (the reason on stderr), 2 on a usage error.
"""
import argparse
import collections
import json
import os
import re
import sys


def fail(msg):
    print("CHECK FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


def read_phases(path):
    """The (name, start_ns, end_ns) lines lib.sh's phase_end wrote; [] without a file."""
    phases = []
    if path:
        with open(path) as f:
            for line in f:
                name, start, end = line.split()
                phases.append((name, int(start), int(end)))
    return phases


def cmd_latency(a):
    drops = {}
    with open(a.feed) as f:
        for line in f:
            n, t = line.split()
            drops[int(n)] = int(t)
    phases = read_phases(a.phases)
    lat = {}
    missing = []
    for n, t in drops.items():
        p = os.path.join(a.sent, "clue-%06d.json.receipt.json" % n)
        try:
            lat[n] = (os.stat(p).st_mtime_ns - t) / 1e6
        except FileNotFoundError:
            missing.append(n)
    groups = collections.OrderedDict()
    for name, start, end in phases:
        groups[name] = [n for n, t in drops.items() if start <= t < end]
    groups["all"] = list(drops)
    bad = []
    watched = set(a.inphases.split(",")) if a.inphases else set()
    for name, ns in groups.items():
        vals = [lat[n] for n in ns if n in lat]
        miss = [n for n in ns if n not in lat]
        print("latency %-14s n=%-5d p50=%7.1f ms  p99=%7.1f ms  max=%7.1f ms%s" % (
            name, len(vals), pct(vals, 50), pct(vals, 99), max(vals) if vals else float("nan"),
            "  (%d without receipt)" % len(miss) if miss else ""))
        if a.max_ms is not None and name in watched:
            if miss:
                bad.append("%s: %d documents without a receipt" % (name, len(miss)))
            if vals and max(vals) > a.max_ms:
                bad.append("%s: max %.1f ms > bound %.1f ms" % (name, max(vals), a.max_ms))
    if bad:
        fail("; ".join(bad))
    return 0


def delivered_summaries(a):
    """message id -> clue summary, from the --recipient units' out/ files (the replay
    prints no free text: summaries are personal data, sealed to the recipients)."""
    summaries = {}
    for unit in a.recipient:
        out = os.path.join(a.spools, unit, "out")
        for f in os.listdir(out):
            if f.startswith(".") or not f.endswith(".json"):
                continue
            mid = f[:-len(".json")].split("-", 2)[2]
            doc = json.load(open(os.path.join(out, f)))
            clue = doc.get("message", {}).get("clue", {})
            if "summary" in clue:
                summaries[mid] = clue["summary"]
    return summaries


def cmd_exactly_once(a):
    entries = [json.loads(l) for l in open(a.replay)]
    msgs = [e for e in entries if e["type"] == "message"]
    ids = collections.Counter(m["message_id"] for m in msgs)
    dups = [i for i, c in ids.items() if c > 1]
    if dups:
        fail("message ids logged more than once: %s" % dups[:5])
    streams = {}
    for s in a.sender:
        unit, prefix, n = s.split(":")
        streams[unit] = (prefix, int(n))
    by_sender = collections.defaultdict(list)
    for m in msgs:
        if m["sender"] not in streams:
            fail("a message from %s (seq %d) is in the log" % (m["sender"], m["seq"]))
        by_sender[m["sender"]].append(m)
    summaries = delivered_summaries(a)
    for unit, (prefix, n) in streams.items():
        if not a.recipient:     # nothing delivered to read them from: count them
            if len(by_sender[unit]) != n:
                fail("%s: %d messages, expected %d" % (unit, len(by_sender[unit]), n))
            continue
        got = collections.Counter(summaries.get(m["message_id"], "(not delivered: seq %d)" %
                                                m["seq"]) for m in by_sender[unit])
        want = collections.Counter("%s %d" % (prefix, i) for i in range(1, n + 1))
        if got != want:
            fail("%s: %d messages, expected %d; missing %s, extra %s" % (
                unit, sum(got.values()), n, sorted(set(want) - set(got))[:5],
                [s for s, c in got.items() if c > 1 or s not in want][:5]))
    seq_of = {m["message_id"]: m["seq"] for m in msgs}
    if a.publisher:
        sp = os.path.join(a.spools, a.publisher)
        for sub in ("in", "pending", "rejected"):
            left = [f for f in os.listdir(os.path.join(sp, sub)) if not f.startswith(".")]
            if left:
                fail("%s/%s/ is not empty: %s" % (a.publisher, sub, left[:5]))
        sent = [f for f in os.listdir(os.path.join(sp, "sent")) if not f.startswith(".")]
        docs = [f for f in sent if not f.endswith(".receipt.json")]
        receipts = [json.load(open(os.path.join(sp, "sent", f))) for f in sent
                    if f.endswith(".receipt.json")]
        mine = {m["message_id"]: m["seq"] for m in by_sender[a.publisher]}
        if len(docs) != len(mine) or len(receipts) != len(mine):
            fail("%s: %d documents and %d receipts in sent/, %d messages logged" % (
                a.publisher, len(docs), len(receipts), len(mine)))
        if {r["message_id"]: r["seq"] for r in receipts} != mine:
            fail("%s: receipts differ from the log" % a.publisher)
    for unit in a.recipient:
        want = {m["message_id"]: m["seq"] for m in msgs if unit in m["recipients"]}
        out = os.path.join(a.spools, unit, "out")
        got = {}
        for f in os.listdir(out):
            if f.startswith("."):
                continue
            seq, kind, mid = f[:-len(".json")].split("-", 2)
            if mid in got:
                fail("%s: message %s twice in out/" % (unit, mid))
            got[mid] = int(seq)
        if got != want:
            fail("%s: out/ has %d files, the log routes %d to it; missing %d, extra %d" % (
                unit, len(got), len(want), len(set(want) - set(got)),
                len(set(got) - set(want))))
    for spec in a.in_order:
        unit, logpath = spec.split(":", 1)
        seqs = [int(x) for x in re.findall(r"spool: received \S+ \S+ from \S+ \(seq (\d+)\)",
                                           open(logpath, errors="replace").read())]
        back = [(x, y) for x, y in zip(seqs, seqs[1:]) if y <= x]
        if back:
            fail("%s received out of order: %s" % (unit, back[:5]))
        print("%s received %d messages in strictly increasing seq order" % (unit, len(seqs)))
    print("exactly once: %s; %d messages in the log%s" % (
        ", ".join("%s %d" % (u, n) for u, (p, n) in streams.items()), len(msgs),
        "; recipients complete: " + ", ".join(a.recipient) if a.recipient else ""))
    return 0


def cmd_mem(a):
    samples = []
    with open(a.samples) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4:
                samples.append(tuple(int(x) for x in parts))
    phases = read_phases(a.phases)
    phases.append(("all", 0, 1 << 63))
    peaks = {}
    for name, start, end in phases:
        inside = [s for s in samples if start <= s[0] <= end]
        if not inside:
            continue
        peaks[name] = tuple(max(s[i] for s in inside) // 1024 for i in (1, 2, 3))
        print("memory %-14s samples=%-4d peak RssAnon=%4d MiB  RssFile=%4d MiB  VmRSS=%4d MiB"
              % ((name, len(inside)) + peaks[name]))
    bad = []
    for field, i, specs in (("RssAnon", 0, a.bound), ("VmRSS", 2, a.bound_vmrss)):
        for spec in specs:
            name, mb = spec.split(":")
            if name not in peaks:
                bad.append("no memory samples in phase %s" % name)
            elif peaks[name][i] > int(mb):
                bad.append("%s: peak %s %d MiB > bound %s MiB" % (name, field, peaks[name][i],
                                                                  mb))
    if bad:
        fail("; ".join(bad))
    return 0


def cmd_log_stats(a):
    types = collections.Counter()
    acks = collections.Counter()
    for line in open(a.replay):
        e = json.loads(line)
        types[e["type"]] += 1
        if e["type"] == "ack":
            acks[e.get("unit", "?")] += 1
    print(json.dumps({"types": types, "ack_entries_by_unit": acks}, sort_keys=True))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("latency")
    p.add_argument("--feed", required=True)
    p.add_argument("--sent", required=True)
    p.add_argument("--phases")
    p.add_argument("--max-ms", type=float)
    p.add_argument("--in", dest="inphases")
    p = sub.add_parser("exactly-once")
    p.add_argument("--replay", required=True)
    p.add_argument("--spools", required=True)
    p.add_argument("--sender", action="append", default=[])
    p.add_argument("--publisher")
    p.add_argument("--recipient", action="append", default=[])
    p.add_argument("--in-order", action="append", default=[])
    p = sub.add_parser("mem")
    p.add_argument("--samples", required=True)
    p.add_argument("--phases")
    p.add_argument("--bound", action="append", default=[])
    p.add_argument("--bound-vmrss", action="append", default=[])
    p = sub.add_parser("log-stats")
    p.add_argument("--replay", required=True)
    a = ap.parse_args()
    return {"latency": cmd_latency, "exactly-once": cmd_exactly_once, "mem": cmd_mem,
            "log-stats": cmd_log_stats}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
