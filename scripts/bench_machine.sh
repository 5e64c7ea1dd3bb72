# scripts/bench_machine.sh — what the bench measures of the machine rather than of cluebus
# (sourced by scripts/bench.sh, bash).
#
# The bench states cluebus's throughput against the machine's own bounds: the Ed25519
# verification rate (the broker verifies every signature), the time of one fdatasync (what
# a durable commit waits for) and what the disk under build/ wrote during a phase. Each
# function prints its result and changes nothing but its own temporary file.
#
# Needs: OUT (the bench tools), RUN (the run directory, on the disk measured), LOGS, SIZE,
# VERIFY_SECS.

# machine_verify_rates: bench/verifyrate's lines "verify lib=L threads=T rate=R", OpenSSL
# EVP and libsodium on 1 and 2 threads.
machine_verify_rates() {
	"$OUT/verifyrate" --seconds "$VERIFY_SECS" --size "$SIZE" 2>>"$LOGS/verifyrate.log"
}

# machine_fsync_ms: "P50 / P99" milliseconds of fdatasync of a 4 KiB page under RUN.
machine_fsync_ms() {
	python3 - "$RUN" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
ts = []
for i in range(200):
    os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
    t = time.perf_counter()
    os.fdatasync(fd)
    ts.append(time.perf_counter() - t)
os.close(fd)
os.unlink(path)
ts.sort()
print("%.2f / %.2f" % (ts[len(ts) // 2] * 1e3, ts[int(len(ts) * 0.99)] * 1e3))
PY
}

# The write counters of the block device under RUN (fields 5 and 7 of
# /sys/class/block/NAME/stat: writes completed, 512-byte sectors written): the whole
# device, other work included. Empty when RUN is on no block device of its own (tmpfs,
# overlay); the marks are then "-".
machine_disk_init() {
	MACHINE_DISK_STAT=/sys/class/block/$( (df --output=source "$RUN" 2>/dev/null || true) |
	    tail -1 | sed 's|^/dev/||')/stat
	[ -r "$MACHINE_DISK_STAT" ] || MACHINE_DISK_STAT=
}

# machine_disk_mark: "WRITES SECTORS TIME", or "-".
machine_disk_mark() {
	local _r1 _r2 _r3 _r4 w _w2 s _rest
	if [ -z "$MACHINE_DISK_STAT" ]; then echo -; return; fi
	read -r _r1 _r2 _r3 _r4 w _w2 s _rest <"$MACHINE_DISK_STAT"
	echo "$w $s $(date +%s.%N)"
}

# machine_disk_rate MARK MARK: "write I/Os per second / MB written per second" between the
# marks, or "-".
machine_disk_rate() {
	if [ "$1" = - ] || [ "$2" = - ]; then echo -; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[3] - x[3]
	    printf "%.0f / %.1f", (y[1] - x[1]) / t, (y[2] - x[2]) * 512 / 1e6 / t }'
}
