# scripts/common.sh — shell helpers that the demo (scripts/demo.sh), the bench
# (scripts/bench.sh) and the integration and torture tests (tests/integration/lib.sh) share,
# through scripts/deploy.sh. Sourced; needs python3.

# PYTHON: Debian's python3 when there is one (a version manager's shim in PATH costs about
# half a second per call, and the scripts need only the standard library and Debian's
# python3 packages).
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

# free_port [LO HI]: a free loopback TCP port in [LO, HI), by default 20000..32000: below
# the kernel's ephemeral range (32768 and up on Linux), so that no outgoing connection can
# take it while a killed broker is restarting.
free_port() {
	"$PYTHON" -c 'import random, socket, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
for _ in range(200):
    port = random.randrange(lo, hi)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port")' "${1:-20000}" "${2:-32000}"
}

# poll_until SECONDS COMMAND [ARG...]: runs COMMAND every 0.1 s until it succeeds; returns 1
# (saying nothing: the caller knows what it waited for) after SECONDS.
poll_until() {
	local secs=$1 start=$SECONDS
	shift
	until "$@"; do
		[ $((SECONDS - start)) -lt "$secs" ] || return 1
		sleep 0.1
	done
}

# count_files DIR [GLOB]: regular files in DIR matching GLOB, not the temporaries (names
# starting with '.'); 0 when DIR is missing.
count_files() {
	find "$1" -maxdepth 1 -type f -name "${2:-*}" ! -name '.*' 2>/dev/null | wc -l
}

# files_at_least DIR GLOB N
files_at_least() {
	[ "$(count_files "$1" "$2")" -ge "$3" ]
}
