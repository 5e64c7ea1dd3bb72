# scripts/bench_peers.sh — the durable peers cluebus is compared with: Redis 7 streams and
# RabbitMQ 3.10, each a private node on its own ports and directories (sourced by
# scripts/bench.sh, bash).
#
# Each peer acknowledges only after an fsync, as cluebus does: Redis with appendonly yes and
# appendfsync always (XADD, driven by bench/redisload over hiredis); RabbitMQ with durable
# quorum and classic queues, persistent messages and publisher confirms (bench/amqpload over
# librabbitmq). One client, the bench's message size and window.
#
# Invariants: (1) a peer that cannot be installed, built or started is skipped with its
# reason in REDIS_NOTE or RABBIT_NOTE, never fatal; (2) every process a peer needs is started
# through scripts/procs.sh, and peers_cleanup stops the one thing procs.sh cannot (the epmd
# port mapper registered under EPMD_PORT); (3) nothing outside RUN is written.
#
# Results: REDIS_RATE, RABBIT_Q_RATE, RABBIT_C_RATE ("-" when not measured) and R_REDIS
# (redisload's result line). Needs: bench.sh's say, field, build_tool, and OUT, RUN, LOGS,
# REPO, N, WINDOW, SIZE.

REDIS_NOTE=""; RABBIT_NOTE=""
REDIS_RATE="-"; RABBIT_Q_RATE="-"; RABBIT_C_RATE="-"
EPMD_PORT=
RABBIT_BIN=/usr/lib/rabbitmq/bin

# peers_install: the peers' Debian packages, when missing (scripts/deps.sh --peer).
peers_install() {
	"$REPO/scripts/deps.sh" --peer redis ||
	    REDIS_NOTE="apt-get could not install redis-server redis-tools libhiredis-dev"
	"$REPO/scripts/deps.sh" --peer rabbitmq ||
	    RABBIT_NOTE="apt-get could not install rabbitmq-server librabbitmq-dev"
}

# peers_build: bench/redisload and bench/amqpload, for the peers not skipped yet.
peers_build() {
	if [ -z "$REDIS_NOTE" ]; then
		# shellcheck disable=SC2046
		pkg-config --exists hiredis &&
		    build_tool redisload $(pkg-config --cflags --libs hiredis) ||
		    REDIS_NOTE="cannot build bench/redisload against hiredis"
	fi
	if [ -z "$RABBIT_NOTE" ]; then
		# shellcheck disable=SC2046
		pkg-config --exists librabbitmq &&
		    build_tool amqpload $(pkg-config --cflags --libs librabbitmq) ||
		    RABBIT_NOTE="cannot build bench/amqpload against librabbitmq"
	fi
}

# peers_redis: Redis 7 streams, an fsync before every reply (appendfsync always).
peers_redis() {
	local rd=$RUN/redis rport
	if [ -n "$REDIS_NOTE" ]; then
		echo "redis: skipped ($REDIS_NOTE)"
		return 0
	fi
	mkdir -p "$rd"
	rport=$(free_port)
	say "redis: XADD, appendonly yes, appendfsync always, port $rport"
	proc_start redis "$LOGS/redis.log" redis-server --port "$rport" --bind 127.0.0.1 \
	    --appendonly yes --appendfsync always --save '' --dir "$rd" --daemonize no \
	    --protected-mode yes
	_redis_up() { redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG; }
	if ! poll_until 30 _redis_up; then
		REDIS_NOTE="redis-server did not start within 30 s (see $LOGS/redis.log)"
	elif ! R_REDIS=$("$OUT/redisload" --port "$rport" --count "$N" --window "$WINDOW" \
	    --size "$SIZE" 2>>"$LOGS/redisload.log"); then
		REDIS_NOTE="redisload failed (see $LOGS/redisload.log)"
	else
		REDIS_RATE=$(field "$R_REDIS" rate)
		say "$R_REDIS"
	fi
	proc_stop redis 30 || die "redis exited badly after SIGTERM (see $LOGS)"
	[ -z "$REDIS_NOTE" ] || echo "redis: skipped ($REDIS_NOTE)"
}

# _rabbit_term_beam PID: SIGTERM to the beam.smp whose parent is PID (the start script),
# as SPEC §11 says; the script then exits too.
_rabbit_term_beam() {
	local parent=$1 st line comm rest
	for st in /proc/[0-9]*/stat; do
		read -r line <"$st" 2>/dev/null || continue
		comm=${line#* (}; comm=${comm%%)*}
		rest=${line##*) }
		# shellcheck disable=SC2086
		set -- $rest
		if [ "$comm" = beam.smp ] && [ "$2" = "$parent" ]; then
			kill -TERM "${st//[^0-9]/}" 2>/dev/null || true
		fi
	done
}

# _rabbit_measure QPORT: amqpload on a quorum queue, then a classic queue.
_rabbit_measure() {
	local qt r
	for qt in quorum classic; do
		if ! r=$("$OUT/amqpload" --port "$1" --count "$N" --window "$WINDOW" \
		    --size "$SIZE" --queue-type "$qt" 2>>"$LOGS/amqpload.log"); then
			RABBIT_NOTE="amqpload $qt failed (see $LOGS/amqpload.log)"
			break
		fi
		say "$r"
		if [ "$qt" = quorum ]; then
			RABBIT_Q_RATE=$(field "$r" rate)
		else
			RABBIT_C_RATE=$(field "$r" rate)
		fi
	done
}

# peers_rabbitmq: a private node: its own HOME (Erlang cookie), Mnesia and log directories,
# ports, and its own epmd (in the foreground, so that it is ours to stop).
peers_rabbitmq() {
	local rq=$RUN/rabbitmq qport node="cluebusbench@localhost" t0 rpid
	[ -z "$RABBIT_NOTE" ] || return 0
	say "rabbitmq: durable queues, persistent messages, publisher confirms"
	if [ ! -x "$RABBIT_BIN/rabbitmq-server" ]; then
		RABBIT_NOTE="$RABBIT_BIN/rabbitmq-server is not installed"
		return 0
	fi
	if ! command -v epmd >/dev/null; then
		RABBIT_NOTE="epmd is not installed"
		return 0
	fi
	mkdir -p "$rq/home" "$rq/mnesia" "$rq/log"
	head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$rq/home/.erlang.cookie"
	chmod 400 "$rq/home/.erlang.cookie"
	echo "[]." >"$rq/enabled_plugins"
	: >"$rq/rabbitmq.conf"
	qport=$(free_port 10000 12000)
	EPMD_PORT=$(free_port 12000 13000)
	RABBIT_ENV=(env HOME="$rq/home" RABBITMQ_MNESIA_BASE="$rq/mnesia"
	    RABBITMQ_LOG_BASE="$rq/log" RABBITMQ_NODENAME="$node"
	    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$qport"
	    RABBITMQ_DIST_PORT=$((qport + 20000)) ERL_EPMD_PORT="$EPMD_PORT"
	    RABBITMQ_ENABLED_PLUGINS_FILE="$rq/enabled_plugins"
	    RABBITMQ_CONFIG_FILE="$rq/rabbitmq.conf" RABBITMQ_CONF_ENV_FILE=/dev/null)
	proc_start epmd "$LOGS/epmd.log" epmd -port "$EPMD_PORT" -address 127.0.0.1
	proc_start rabbitmq "$LOGS/rabbitmq.log" "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmq-server"
	_rabbit_up() {
		proc_running rabbitmq &&
		    "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmqctl" -n "$node" \
		    await_startup --timeout 5 >/dev/null 2>&1
	}
	t0=$SECONDS
	until _rabbit_up || [ $((SECONDS - t0)) -ge 120 ] || ! proc_running rabbitmq; do
		sleep 0.5
	done
	if _rabbit_up; then
		say "rabbitmq: node $node up on port $qport after $((SECONDS - t0))s"
		_rabbit_measure "$qport"
	else
		RABBIT_NOTE="the node did not start within 120 s (see $LOGS/rabbitmq.log)"
	fi
	rpid=$(proc_pid rabbitmq)
	_rabbit_term_beam "$rpid"
	proc_stop rabbitmq 60 2>>"$LOGS/rabbitmq.log" || true
	proc_stop epmd 10 2>>"$LOGS/epmd.log" || true	# epmd has no clean exit on SIGTERM
	EPMD_PORT=
}

# peers_run: both peers, then the note of a skipped RabbitMQ.
peers_run() {
	peers_redis
	peers_rabbitmq
	[ -z "$RABBIT_NOTE" ] || echo "rabbitmq: skipped ($RABBIT_NOTE)"
}

# peers_cleanup: for the EXIT trap, after procs.sh's cleanup.
peers_cleanup() {
	if [ -n "$EPMD_PORT" ]; then
		epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
	fi
}
