/* broker/main.c — cluebus-broker: configuration, startup, the event loop, SIGTERM.
 *
 * The loop: wait for frames (at most 50 ms), take up to batch_max of them off the socket,
 * commit the round in one LMDB transaction (a round of acks alone waits up to
 * ACK_LINGER_MS for company), send its replies, feed deliveries, run timers.
 * SIGTERM or SIGINT stop the loop after the current round committed. `--check` runs the
 * start's own steps up to the first write (broker_prepare) and exits. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zmq.h>

#include "broker.h"
#include "cluebus/version.h"
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
	fprintf(stderr, "usage: cluebus-broker [-v] [--check] -c CONFIG\n"
	    "       cluebus-broker --help | --version\n");
	exit(2);
}

static void
help(void)
{
	printf("usage: cluebus-broker [-v] [--check] [--rotate-key OLD_KEY] [--replace-admin-key]"
	    " -c CONFIG\n"
	    "\n"
	    "The cluebus broker: verifies, routes, logs and delivers the agencies' messages.\n"
	    "\n"
	    "  -c, --config FILE  the broker config (libconfig; config/broker.conf.example)\n"
	    "  -n, --check        do what a start does before it writes anything (the keys,\n"
	    "                     the log, the registry, the routing table), say what is\n"
	    "                     wrong, and exit (0: valid, 1: not)\n"
	    "  -v, --verbose      also log debug lines\n"
	    "      --rotate-key OLD_KEY\n"
	    "                     the config's `key` and `transport_key` are new broker keys:\n"
	    "                     log their record signed by OLD_KEY, the registered broker\n"
	    "                     key (without it, keys other than the registered ones are\n"
	    "                     refused)\n"
	    "      --replace-admin-key\n"
	    "                     the config's `admin_key` is the administrator's new key:\n"
	    "                     log the replacement (without it, another key is refused)\n"
	    "      --help         print this help and exit\n"
	    "      --version      print the version and exit\n"
	    "\n"
	    "Runs until SIGTERM or SIGINT. Exit: 0 stopped cleanly, 1 error, 2 usage.\n");
}

/* With --check, the log is read only, and only when there is one yet. */
static int
broker_store_open(struct broker *b, int check)
{
	char path[PATH_MAX];

	if (!check)
		return store_open(b->cfg.data_dir, 0, b->cfg.map_size, &b->store);
	if (snprintf(path, sizeof(path), "%s/data.mdb", b->cfg.data_dir) >= (int)sizeof(path))
		return CB_EINVAL;
	if (access(path, F_OK) != 0)
		return 0;
	return store_open(b->cfg.data_dir, STORE_RDONLY, 0, &b->store);
}

/* What a start does before it writes anything, shared by --check: the keys, the log, the
 * registry the log and the file make (genesis_sync as a dry run: nothing appended), the
 * routes over it. Exits (fatalx) on the first error, saying what it is. */
static void
broker_prepare(struct broker *b, const char *config, int check, const char *rotate_from)
{
	cb_error_t err;
	int rc;

	if ((rc = key_load_private(b->cfg.key_path, &b->key)) != 0)
		fatalx("broker key %s: %s", b->cfg.key_path, cb_strerror(rc));
	if (rotate_from != NULL && (rc = key_load_private(rotate_from, &b->rotate_from)) != 0)
		fatalx("--rotate-key %s: %s", rotate_from, cb_strerror(rc));
	if ((rc = transport_load_secret(b->cfg.transport_key_path, &b->tkey)) != 0)
		fatalx("broker transport key %s: %s", b->cfg.transport_key_path, cb_strerror(rc));
	if ((rc = broker_store_open(b, check)) != 0)
		fatalx("store %s: %s", b->cfg.data_dir, cb_strerror(rc));
	if ((rc = genesis_sync(b, 1)) != 0)
		fatalx("registry: %s", cb_strerror(rc));
	if (route_check(b->cfg.route, b->reg, &err) != 0)
		fatalx("%s: %s: %s", config, err.field, err.reason);
}

static void
broker_free(struct broker *b)
{
	store_close(b->store);
	registry_free(b->reg);
	key_free(b->key);
	key_free(b->rotate_from);
	OPENSSL_cleanse(&b->tkey, sizeof(b->tkey));
	units_free(b);
	free(b->pending);
	config_broker_free(&b->cfg);
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
			frontend_timers(b, now);
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "rotate-key", required_argument, NULL, 'R' },
		{ "replace-admin-key", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rotate_from = NULL;
	struct broker b = { 0 };
	struct sigaction sa;
	const char *config = NULL;
	char errbuf[512];
	int ch, check = 0, verbose = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose = 1; break;
		case 'h': help(); return 0;
		case 'V': printf("cluebus-broker %s\n", CB_VERSION); return 0;
		case 'R': rotate_from = optarg; break;
		case 'A': b.replace_admin_key = 1; break;
		default: usage();
		}
	}
	if (config == NULL || optind != argc)
		usage();
	log_init("cluebus-broker", verbose);
	if (config_broker_load(config, &b.cfg, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	broker_clock_init();
	broker_prepare(&b, config, check, rotate_from);
	if (check) {
		broker_free(&b);
		printf("%s: configuration OK\n", config);
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((rc = verifypool_new(b.cfg.verify_threads >= 0 ? (unsigned)b.cfg.verify_threads :
	    verifypool_default_threads(), &b.verifier)) != 0)
		fatalx("cannot start the verification threads: %s", cb_strerror(rc));
	if (frontend_open(&b) != 0)
		fatalx("cannot open %s", b.cfg.endpoint);
	if (admin_open(&b) != 0)
		fatalx("cannot open the admin endpoint %s", b.cfg.admin_endpoint);
	/* Every check passed and the endpoints are bound: now the registry's changes (the
	 * first start's records, a rotation) may be logged. */
	if ((rc = genesis_sync(&b, 0)) != 0)
		fatalx("registry: %s", cb_strerror(rc));
	if (units_init(&b) != 0)
		fatalx("out of memory");
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
	broker_free(&b);
	return 0;
}
