/* bench/amqpload.c — the RabbitMQ peer of `make bench`: persistent 1 KiB publishes with
 * publisher confirms.
 *
 *   amqpload --port P [--count N] [--window W] [--size BYTES] [--queue-type quorum|classic]
 *
 * One client (librabbitmq) declares a durable queue of the given type, puts its channel in
 * confirm mode and publishes N persistent messages (delivery_mode 2) of BYTES to it through
 * the default exchange, with at most W publishes not yet confirmed: the same shape as
 * bench/loadgen against the broker. A confirm means the broker took responsibility for the
 * message: for a quorum queue, after a majority (here: the only node) wrote it to its
 * fsynced log; for a classic durable queue, after it was persisted to disk. Confirms may
 * cover several publishes at once (`multiple`). A nack counts as a failure.
 *
 * Output on stdout: "result label=rabbitmq-TYPE count=N accepted=A seconds=S rate=R";
 * details on stderr. Exit 0 when every publish was confirmed; 1 otherwise; 2 on a setup
 * error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: amqpload --port P [--count N] [--window W] [--size BYTES] "
	    "[--queue-type quorum|classic]\n");
	exit(2);
}

static int
rpc_ok(amqp_connection_state_t conn, const char *what)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 1;
	fprintf(stderr, "amqpload: %s failed (reply type %d, library error %s)\n", what,
	    r.reply_type, amqp_error_string2(r.library_error));
	return 0;
}

struct confirms {
	unsigned char	*acked;		/* per delivery tag (1-based) */
	size_t		 count, confirmed, nacked;
	uint64_t	 upto;		/* every tag <= upto is settled */
};

static void
settle(struct confirms *cf, uint64_t tag, int multiple, int nack)
{
	uint64_t from = multiple ? cf->upto + 1 : tag;

	if (tag == 0 || tag > cf->count)
		return;
	for (uint64_t t = from; t <= tag; t++) {
		if (cf->acked[t])
			continue;
		cf->acked[t] = 1;
		if (nack)
			cf->nacked++;
		else
			cf->confirmed++;
	}
	while (cf->upto < cf->count && cf->acked[cf->upto + 1])
		cf->upto++;
}

/* Reads frames for at most `wait` and settles confirms. Returns 0, or -1 on a connection
 * error. */
static int
read_confirms(amqp_connection_state_t conn, struct confirms *cf, struct timeval *wait)
{
	for (;;) {
		amqp_frame_t frame;
		int rc = amqp_simple_wait_frame_noblock(conn, &frame, wait);

		if (rc == AMQP_STATUS_TIMEOUT)
			return 0;
		if (rc != AMQP_STATUS_OK) {
			fprintf(stderr, "amqpload: %s\n", amqp_error_string2(rc));
			return -1;
		}
		if (frame.frame_type == AMQP_FRAME_METHOD) {
			if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
				amqp_basic_ack_t *a = frame.payload.method.decoded;

				settle(cf, a->delivery_tag, a->multiple, 0);
			} else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
				amqp_basic_nack_t *n = frame.payload.method.decoded;

				settle(cf, n->delivery_tag, n->multiple, 1);
			} else if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
			    frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
				fprintf(stderr, "amqpload: the server closed the channel\n");
				return -1;
			}
		}
		amqp_maybe_release_buffers(conn);
		wait->tv_sec = 0;	/* after the first frame, take only what is there */
		wait->tv_usec = 0;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 's' },
		{ "queue-type", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	size_t window = 1000, size = 1024, sent = 0;
	const char *qtype = "quorum";
	char qname[64];
	struct confirms cf;
	amqp_connection_state_t conn;
	amqp_socket_t *sock;
	amqp_table_entry_t arg;
	amqp_table_t args;
	amqp_basic_properties_t props;
	amqp_bytes_t body;
	double t0, t1;
	int ch, port = 0, rc = 0;

	memset(&cf, 0, sizeof(cf));
	cf.count = 20000;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'n': cf.count = strtoul(optarg, NULL, 10); break;
		case 'w': window = strtoul(optarg, NULL, 10); break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'q': qtype = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || port <= 0 || port > 65535 || cf.count == 0 || window == 0 ||
	    size == 0 || size > 1024 * 1024 ||
	    (strcmp(qtype, "quorum") != 0 && strcmp(qtype, "classic") != 0))
		usage();
	if ((cf.acked = calloc(cf.count + 1, 1)) == NULL || (body.bytes = malloc(size)) == NULL)
		return 2;
	body.len = size;
	for (size_t i = 0; i < size; i++)
		((char *)body.bytes)[i] = (char)('a' + i % 26);

	conn = amqp_new_connection();
	if ((sock = amqp_tcp_socket_new(conn)) == NULL ||
	    amqp_socket_open(sock, "127.0.0.1", port) != AMQP_STATUS_OK) {
		fprintf(stderr, "amqpload: cannot connect to 127.0.0.1:%d\n", port);
		return 2;
	}
	if (amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest")
	    .reply_type != AMQP_RESPONSE_NORMAL) {
		fprintf(stderr, "amqpload: login refused\n");
		return 2;
	}
	amqp_channel_open(conn, 1);
	if (!rpc_ok(conn, "channel.open"))
		return 2;
	snprintf(qname, sizeof(qname), "cluebus-bench-%s", qtype);
	arg.key = amqp_cstring_bytes("x-queue-type");
	arg.value.kind = AMQP_FIELD_KIND_UTF8;
	arg.value.value.bytes = amqp_cstring_bytes(qtype);
	args.num_entries = 1;
	args.entries = &arg;
	amqp_queue_declare(conn, 1, amqp_cstring_bytes(qname), 0, 1, 0, 0, args);
	if (!rpc_ok(conn, "queue.declare"))
		return 2;
	amqp_queue_purge(conn, 1, amqp_cstring_bytes(qname));
	if (!rpc_ok(conn, "queue.purge"))
		return 2;
	amqp_confirm_select(conn, 1);
	if (!rpc_ok(conn, "confirm.select"))
		return 2;
	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	props.content_type = amqp_cstring_bytes("application/octet-stream");

	t0 = now_s();
	while (cf.confirmed + cf.nacked < cf.count) {
		struct timeval wait = { 0, 0 };

		while (sent < cf.count && sent - (cf.confirmed + cf.nacked) < window) {
			if (amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(qname),
			    0, 0, &props, body) != AMQP_STATUS_OK) {
				fprintf(stderr, "amqpload: publish failed\n");
				return 1;
			}
			sent++;
		}
		if (sent - (cf.confirmed + cf.nacked) >= window || sent == cf.count)
			wait.tv_sec = 5;	/* the window is full: block for a confirm */
		if (read_confirms(conn, &cf, &wait) != 0) {
			rc = 1;
			break;
		}
	}
	t1 = now_s();
	fprintf(stderr, "amqpload: %s queue: %zu confirmed, %zu nacked, %zu bytes, %zu "
	    "outstanding: %.2f s = %.0f/s\n", qtype, cf.confirmed, cf.nacked, size, window,
	    t1 - t0, (double)cf.confirmed / (t1 - t0));
	printf("result label=rabbitmq-%s count=%zu accepted=%zu seconds=%.3f rate=%.1f\n", qtype,
	    cf.count, cf.confirmed, t1 - t0, (double)cf.confirmed / (t1 - t0));
	if (rc == 0) {
		amqp_queue_delete(conn, 1, amqp_cstring_bytes(qname), 0, 0);
		amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
		amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(conn);
	free(cf.acked);
	free(body.bytes);
	return rc == 0 && cf.confirmed == cf.count ? 0 : 1;
}
