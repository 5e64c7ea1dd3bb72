/* broker/main.c — cluebus-broker: configuration, startup, the event loop, signals.
 *
 * The loop: wait for frames (at most 50 ms), take up to batch_max of them off the socket,
 * commit the round in one LMDB transaction (a round of acks alone waits up to
 * ACK_LINGER_MS for company), send its replies, feed deliveries, run timers.
 * Signals only set flags that the loop reads between rounds: SIGTERM or SIGINT stop the
 * loop after the current round committed; SIGHUP reopens the log file (logrotate) and
 * never stops the broker; SIGUSR1 logs the live counters. `--check` runs the start's own
 * steps up to the first write (broker_prepare), reports every problem and exits.
 * Invariant: one broker per data directory: a start holds an exclusive flock(2) on
 * DATA_DIR/lock (holding its pid) for its whole life, and refuses to start without it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zmq.h>

#include "broker.h"
#include "match.h"
#include "cluebus/version.h"
#include "log.h"
#include "util.h"
#include "duties.h"
#include "workflow.h"

static volatile sig_atomic_t stop_requested, reopen_requested, counters_requested;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_requested = 1;
	else if (sig == SIGUSR1)
		counters_requested = 1;
	else
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
	    "Runs until SIGTERM or SIGINT (the current commit finishes). SIGHUP reopens the\n"
	    "log_file; SIGUSR1 logs the counters. Exit: 0 stopped cleanly, 1 error, 2 usage.\n");
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

/* Takes DATA_DIR/lock (made with the directory when missing) for the broker's life: the
 * descriptor stays open, close-on-exec, and the kernel drops the lock when the process
 * ends, however it ends. Exits when another process holds it, naming its pid. */
static void
broker_lock(struct broker *b)
{
	char path[PATH_MAX], pid[32];
	ssize_t n;
	int fd;

	if (file_mkdirs(b->cfg.data_dir, 0700) != 0)
		fatal("data directory %s", b->cfg.data_dir);
	if (snprintf(path, sizeof(path), "%s/lock", b->cfg.data_dir) >= (int)sizeof(path))
		fatalx("data directory %s: path too long", b->cfg.data_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		fatal("lock file %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK)
			fatal("lock file %s", path);
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fatalx("data directory %s is in use by another broker (pid %s, holding %s); "
		    "refusing to start a second one", b->cfg.data_dir, pid[0] != '\0' ? pid :
		    "unknown", path);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		fatal("lock file %s", path);
	b->lock_fd = fd;
}

/* --check on a directory a broker holds: not a problem, but worth saying. */
static void
broker_check_lock(struct broker *b)
{
	char path[PATH_MAX], pid[32];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/lock", b->cfg.data_dir) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_info("a broker (pid %s) is running on %s; checked its committed state",
		    pid[0] != '\0' ? pid : "unknown", b->cfg.data_dir);
	}
	close(fd);
}

/* What a start does before it writes anything, shared by --check: the key files (every
 * problem reported), the log, the registry the log and the file make (genesis_sync as a
 * dry run: nothing appended; the start appends once its endpoints are bound), the routes
 * over it. A start exits (fatalx) at the first
 * step that fails; --check goes on with every step whose inputs it has, and returns the
 * number of problems found. */
static int
broker_prepare(struct broker *b, const char *config, int check, const char *rotate_from)
{
	cb_error_t err;
	int rc, problems;

	if ((problems = check_keys(&b->cfg)) != 0 && !check)
		fatalx("%d problem%s with the key files (see above)", problems,
		    problems > 1 ? "s" : "");
	if (problems == 0) {
		if ((rc = key_load_private(b->cfg.key_path, &b->key)) != 0)
			fatalx("broker key %s: %s", b->cfg.key_path, cb_strerror(rc));
		if (rotate_from != NULL &&
		    (rc = key_load_private(rotate_from, &b->rotate_from)) != 0)
			fatalx("--rotate-key %s: %s", rotate_from, cb_strerror(rc));
		if ((rc = transport_load_secret(b->cfg.transport_key_path, &b->tkey)) != 0)
			fatalx("broker transport key %s: %s", b->cfg.transport_key_path,
			    cb_strerror(rc));
	}
	if ((rc = broker_store_open(b, check)) != 0) {
		if (!check)
			fatalx("store %s: %s", b->cfg.data_dir, cb_strerror(rc));
		log_warnx("store %s: %s", b->cfg.data_dir, cb_strerror(rc));
		return problems + 1;
	}
	if (b->key == NULL) {
		log_warnx("registry: not checked (it needs the broker key)");
		return problems;
	}
	if ((rc = genesis_sync(b, 1)) != 0) {
		if (!check)
			fatalx("registry: %s", cb_strerror(rc));
		log_warnx("registry: %s", cb_strerror(rc));
		return problems + 1;
	}
	if (route_check(b->cfg.route, b->reg, &err) != 0) {
		if (!check)
			fatalx("%s: %s: %s", config, err.field, err.reason);
		log_warnx("%s: %s: %s", config, err.field, err.reason);
		return problems + 1;
	}
	return problems;
}

/* Logs the live counters (SIGUSR1, and at the stop). */
static void
broker_log_counters(const struct broker *b, const char *when)
{
	log_info("%s: log head %llu, accepted %llu, duplicates %llu, rejected %llu, "
	    "refused keys %llu, delivered %llu, acked %llu, commits %llu", when,
	    (unsigned long long)store_head_seq(b->store),
	    (unsigned long long)b->count.accepted, (unsigned long long)b->count.duplicates,
	    (unsigned long long)b->count.rejected, (unsigned long long)b->count.refused_keys,
	    (unsigned long long)b->count.delivered, (unsigned long long)b->count.acked,
	    (unsigned long long)b->count.commits);
}

/* What a signal asked for, done between rounds. */
static void
broker_signals(struct broker *b)
{
	if (reopen_requested) {
		reopen_requested = 0;
		if (log_file_path() == NULL)
			log_info("SIGHUP: the log goes to stderr, nothing to reopen");
		else if (log_reopen() != 0)
			log_warn("SIGHUP: cannot reopen %s, still logging to the old file",
			    log_file_path());
		else
			log_info("SIGHUP: log file %s reopened", log_file_path());
	}
	if (counters_requested) {
		counters_requested = 0;
		broker_log_counters(b, "counters");
	}
}

static void
broker_free(struct broker *b)
{
	ckpt_close(b);
	store_close(b->store);
	registry_free(b->reg);
	key_free(b->key);
	key_free(b->rotate_from);
	OPENSSL_cleanse(&b->tkey, sizeof(b->tkey));
	units_free(b);
	match_free(b);
	free(b->pending);
	config_broker_free(&b->cfg);
	if (b->lock_fd >= 0)
		close(b->lock_fd);
}

static void
broker_run(struct broker *b)
{
	zmq_pollitem_t items[] = {
		{ b->sock, 0, ZMQ_POLLIN, 0 },
		{ b->zap, 0, ZMQ_POLLIN, 0 },
		{ b->admin, 0, ZMQ_POLLIN, 0 },
	};
	int64_t last_timers = clock_mono_ms(), last_snapshot = 0;
	unsigned ticks = 0;

	while (!stop_requested) {
		int64_t now;
		int rc;

		if (zmq_poll(items, b->admin != NULL ? 3 : 2, b->acks_since_ms != 0 ?
		    ACK_LINGER_MS : 50) < 0 && errno != EINTR)
			fatalx("poll: %s", zmq_strerror(errno));
		broker_signals(b);
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
			if ((rc = workflow_tick(b)) != 0 || (rc = duties_tick(b)) != 0)
				round_store_error(b, rc);
			frontend_commit(b);
			ckpt_tick(b, now);
			limits_check(b);
			status_tick(b);
			if (b->http != NULL && now - last_snapshot >= 1000) {
				http_publish(b, status_snapshot(b));
				last_snapshot = now;
			}
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
	b.lock_fd = -1;
	if (config_broker_load(config, &b.cfg, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	broker_clock_init();
	if (check) {
		if (access(b.cfg.data_dir, F_OK) == 0)
			broker_check_lock(&b);
		rc = broker_prepare(&b, config, check, rotate_from);
		broker_free(&b);
		if (rc != 0) {
			fprintf(stderr, "%s: %d problem%s found\n", config, rc, rc > 1 ? "s" : "");
			return 1;
		}
		printf("%s: configuration OK\n", config);
		return 0;
	}
	/* Signals are caught (as flags) before anything can take time, so that a SIGHUP
	 * from logrotate during the start never kills the broker. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The lock before the log file: a second broker says why it stops on its own
	 * stderr, not in the running one's log. */
	broker_lock(&b);
	if (b.cfg.log_file[0] != '\0' && log_open_file(b.cfg.log_file) != 0)
		fatal("log file %s", b.cfg.log_file);
	(void)broker_prepare(&b, config, 0, rotate_from);

	if ((rc = verifypool_new(b.cfg.verify_threads >= 0 ? (unsigned)b.cfg.verify_threads :
	    verifypool_default_threads(), &b.verifier)) != 0)
		fatalx("cannot start the verification threads: %s", cb_strerror(rc));
	if (frontend_open(&b) != 0)
		fatalx("cannot open %s", b.cfg.endpoint);
	if (admin_open(&b) != 0)
		fatalx("cannot open the admin endpoint %s", b.cfg.admin_endpoint);
	if (http_open(&b) != 0)
		fatalx("cannot serve http on %s", b.cfg.http_listen);
	/* Every check passed and the endpoints are bound: now the registry's changes (the
	 * first start's records, a rotation) may be logged. */
	if ((rc = genesis_sync(&b, 0)) != 0)
		fatalx("registry: %s", cb_strerror(rc));
	if (units_init(&b) != 0)
		fatalx("out of memory");
	if ((rc = dirserve_update(&b, 0)) != 0)
		fatalx("directory: %s", cb_strerror(rc));
	if ((rc = ckpt_open(&b)) != 0)
		fatalx("checkpoints: %s", cb_strerror(rc));
	status_init(&b);
	limits_check(&b);
	http_publish(&b, b.http != NULL ? status_snapshot(&b) : NULL);
	log_info("started: log head %llu, %zu units, %u verification threads",
	    (unsigned long long)store_head_seq(b.store), b.nunits,
	    verifypool_threads(b.verifier));

	broker_run(&b);

	broker_log_counters(&b, "stopping");
	http_close(&b);
	admin_close(&b);
	frontend_close(&b);
	verifypool_free(b.verifier);
	dirserve_free(&b);
	broker_free(&b);
	return 0;
}
