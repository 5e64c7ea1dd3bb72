/* broker/main.c — cluebus-broker: configuration, startup, the event loop, SIGTERM.
 *
 * The loop: wait for frames (at most 50 ms), take up to batch_max of them off the socket,
 * commit the round in one LMDB transaction (a round of acks alone waits up to
 * ACK_LINGER_MS for company), send its replies, feed deliveries, run timers.
 * SIGTERM or SIGINT stop the loop after the current round committed. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zmq.h>

#include "broker.h"
#include "log.h"
#include "util.h"
#include "workflow.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: cluebus-broker [-v] [--check] -c CONFIG\n");
	exit(2);
}

static void
broker_run(struct broker *b)
{
	zmq_pollitem_t items[] = {
		{ b->sock, 0, ZMQ_POLLIN, 0 },
		{ b->zap, 0, ZMQ_POLLIN, 0 },
		{ b->admin, 0, ZMQ_POLLIN, 0 },
	};
	int64_t last_timers = clock_mono_ms();
	unsigned ticks = 0;

	while (!stop_requested) {
		int64_t now;
		int rc;

		if (zmq_poll(items, b->admin != NULL ? 3 : 2, b->acks_since_ms != 0 ?
		    ACK_LINGER_MS : 50) < 0 && errno != EINTR)
			fatalx("poll: %s", zmq_strerror(errno));
		zap_handle(b);
		admin_handle(b);
		frontend_drain(b, b->cfg.batch_max);
		if (round_due(b))
			frontend_commit(b);
		delivery_pump(b);
		if ((now = clock_mono_ms()) - last_timers >= 100) {
			delivery_timers(b, now);
			units_expire(b, now);
			if ((rc = workflow_tick(b)) != 0)
				round_store_error(b, rc);
			frontend_commit(b);
			if (++ticks % 10 == 0)
				store_trim(b->store);	/* keep the log out of our RSS */
			last_timers = now;
		}
	}
	if (b->acks_since_ms != 0)
		frontend_commit(b);	/* the acks still waiting */
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct broker b;
	struct sigaction sa;
	const char *config = NULL;
	char errbuf[512];
	int ch, check = 0, verbose = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (config == NULL || optind != argc)
		usage();
	log_init("cluebus-broker", verbose);
	memset(&b, 0, sizeof(b));
	if (config_broker_load(config, &b.cfg, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	if (check) {
		Cluebus__Registry **recs;
		registry_t *reg = registry_new();
		cb_error_t err;
		size_t n;

		rc = registry_parse_file(b.cfg.registry_path, &recs, &n, &err);
		if (rc != 0) {
			fprintf(stderr, "%s: %s: %s\n", b.cfg.registry_path, err.field, err.reason);
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			if (rc == 0 && reg != NULL)
				rc = registry_apply(reg, recs[i], 0, &err);
			protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
		}
		free(recs);
		if (rc == 0 && reg != NULL && (rc = route_check(b.cfg.route, reg, &err)) != 0)
			fprintf(stderr, "%s: %s: %s\n", config, err.field, err.reason);
		registry_free(reg);
		config_broker_free(&b.cfg);
		if (rc == 0)
			printf("%s: configuration OK\n", config);
		return rc == 0 ? 0 : 1;
	}

	broker_clock_init();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((rc = key_load_private(b.cfg.key_path, &b.key)) != 0)
		fatalx("broker key %s: %s", b.cfg.key_path, cb_strerror(rc));
	if ((rc = transport_load_secret(b.cfg.transport_key_path, &b.tkey)) != 0)
		fatalx("broker transport key %s: %s", b.cfg.transport_key_path, cb_strerror(rc));
	if ((rc = store_open(b.cfg.data_dir, 0, b.cfg.map_size, &b.store)) != 0)
		fatalx("store %s: %s", b.cfg.data_dir, cb_strerror(rc));
	if ((rc = genesis_sync(&b)) != 0)
		fatalx("registry: %s", cb_strerror(rc));
	{
		cb_error_t err;

		if (route_check(b.cfg.route, b.reg, &err) != 0)
			fatalx("%s: %s: %s", config, err.field, err.reason);
	}
	if (units_init(&b) != 0)
		fatalx("out of memory");
	if ((rc = verifypool_new(b.cfg.verify_threads >= 0 ? (unsigned)b.cfg.verify_threads :
	    verifypool_default_threads(), &b.verifier)) != 0)
		fatalx("cannot start the verification threads: %s", cb_strerror(rc));
	if (frontend_open(&b) != 0)
		fatalx("cannot open %s", b.cfg.endpoint);
	if (admin_open(&b) != 0)
		fatalx("cannot open the admin endpoint %s", b.cfg.admin_endpoint);
	log_info("started: log head %llu, %zu units, %u verification threads",
	    (unsigned long long)store_head_seq(b.store), b.nunits,
	    verifypool_threads(b.verifier));

	broker_run(&b);

	log_info("stopping: accepted %llu, duplicates %llu, rejected %llu, refused keys %llu, "
	    "delivered %llu, acked %llu, commits %llu", (unsigned long long)b.count.accepted,
	    (unsigned long long)b.count.duplicates, (unsigned long long)b.count.rejected,
	    (unsigned long long)b.count.refused_keys, (unsigned long long)b.count.delivered,
	    (unsigned long long)b.count.acked, (unsigned long long)b.count.commits);
	admin_close(&b);
	frontend_close(&b);
	verifypool_free(b.verifier);
	store_close(b.store);
	registry_free(b.reg);
	key_free(b.key);
	OPENSSL_cleanse(&b.tkey, sizeof(b.tkey));
	units_free(&b);
	free(b.pending);
	config_broker_free(&b.cfg);
	return 0;
}
