#!/usr/bin/env python3
"""tests/torture/feeder.py — a steady stream of clues into an agent's in/ directory.

    feeder.py --dir IN --rate R --log FILE --stop FILE [--max N] [--first K]
              [--category C] [--jurisdiction J]

Writes clue-NNNNNN.json (N = K, K+1, ...) with the summary "clue N", the document
tests/integration/lib.sh's clue_json makes, atomically (a dot-file, then rename), R per
second on a fixed schedule (a late write does not shift the ones after it). Each drop is
logged as "N DROP_TIME_NS" (CLOCK_REALTIME, the clock file mtimes use) and flushed, so
that the receipt's mtime minus the drop time is the document's publish-to-receipt time.
Stops when the --stop file exists, after --max documents, or on SIGTERM, and then writes
the number of the last document to FILE.count.

Usage: --drop N writes N documents at once (no pacing) and exits; used to queue a burst.
"""
import argparse
import os
import signal
import sys
import time

CLUE = ('{"kind":"clue","priority":"routine","clue":{"category":"%s","jurisdiction":"%s",'
        '"occurred_at":"2026-03-01T08:30:00+08:00","location":"鞍山市铁东区",'
        '"summary":"clue %d","handling":{"code":"h0"},'
        '"evaluation":{"source_reliability":"b","accuracy":2}}}\n')

stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


def drop(indir, n, category, jurisdiction):
    name = "clue-%06d.json" % n
    tmp = os.path.join(indir, "." + name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(CLUE % (category, jurisdiction, n))
    t = time.time_ns()
    os.rename(tmp, os.path.join(indir, name))
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--log")
    ap.add_argument("--stop")
    ap.add_argument("--max", type=int, default=0)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--drop", type=int, default=0)
    ap.add_argument("--category", default="medical")
    ap.add_argument("--jurisdiction", default="210302")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    signal.signal(signal.SIGTERM, on_term)
    log = open(a.log, "a", buffering=1) if a.log else None
    if a.drop > 0:
        for n in range(a.first, a.first + a.drop):
            t = drop(a.dir, n, a.category, a.jurisdiction)
            if log:
                log.write("%d %d\n" % (n, t))
        return 0
    n = a.first - 1
    start = time.monotonic()
    while not stopping:
        if a.stop and os.path.exists(a.stop):
            break
        if a.max and n - a.first + 1 >= a.max:
            break
        due = start + (n - a.first + 1) / a.rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 0.05))
            continue
        t = drop(a.dir, n + 1, a.category, a.jurisdiction)
        n += 1
        if log:
            log.write("%d %d\n" % (n, t))
    if a.log:
        with open(a.log + ".count", "w") as f:
            f.write("%d\n" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
