/* agents/main.c — cluebus-agent: one process per agency, a spool directory on one side
 * and the broker on the other. Agency differences live in the config file only.
 *
 * The loop: scan in/ now and then; wait for an event; then take every event that is ready
 * at once (up to SPOOL_BATCH_MAX), staging each into the spool and releasing it, and
 * complete them together: spool_commit (their files durable, publish outcomes shown),
 * cb_client_flush (the watermark durable, one cumulative Ack), spool_show (inbound files
 * shown in out/). A batch never waits for more events: at a low rate it holds one. At
 * start, spool_finish completes a batch that a crash cut between flush and show. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cluebus/client.h"
#include "cluebus/version.h"
#include "config.h"
#include "intake.h"
#include "log.h"
#include "spool.h"
#include "util.h"

/* How far in the future a clue's occurred_at may be: the clocks of the agency's system
 * and of this host may differ a little. */
#define AGENT_CLOCK_SKEW_MS	600000

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
	fprintf(stderr, "usage: cluebus-agent [-v] [--check] -c CONFIG\n"
	    "       cluebus-agent -c CONFIG status\n"
	    "       cluebus-agent --help | --version\n");
	exit(2);
}

static void
help(void)
{
	printf("usage: cluebus-agent [-v] [--check] -c CONFIG\n"
	    "       cluebus-agent -c CONFIG status\n"
	    "\n"
	    "One agency's agent: publishes the JSON documents dropped into its spool's in/,\n"
	    "signed with the unit's key, and writes the messages routed to it into out/.\n"
	    "\n"
	    "  -c, --config FILE  the agent config (libconfig; config/agent.conf.example)\n"
	    "  -n, --check        load the config, report the first error as FILE:LINE: reason,\n"
	    "                     and exit (0: valid, 1: not)\n"
	    "  -v, --verbose      also log debug lines\n"
	    "      --help         print this help and exit\n"
	    "      --version      print the version and exit\n"
	    "\n"
	    "  status             print the agent's transparency status (SPOOL/status.json:\n"
	    "                     the broker's checkpoint it holds, the alarm) and exit 0 when\n"
	    "                     all is well, 1 when the alarm is raised (a rollback or fork\n"
	    "                     of the broker's log: docs/operations.md), 3 when there is no\n"
	    "                     status yet\n"
	    "\n"
	    "Runs until SIGTERM or SIGINT. Exit: 0 stopped cleanly, 1 error, 2 usage.\n");
}

/* A test build (CLUEBUS_TEST_HOOKS) with CLUEBUS_TEST_KILL_AFTER_FLUSH=N kills itself with
 * SIGKILL after its Nth flush of a batch holding inbound messages, before showing them:
 * the crash spool_finish completes (tests/integration/test_agent_crash_after_flush.sh). A
 * production build ignores the variable. */
static void
agent_test_crash_point(const struct spool_batch *b)
{
#ifdef CLUEBUS_TEST_HOOKS
	static unsigned long flushes, kill_at = ULONG_MAX;
	const char *v;

	if (kill_at == ULONG_MAX)
		kill_at = (v = getenv("CLUEBUS_TEST_KILL_AFTER_FLUSH")) != NULL ?
		    strtoul(v, NULL, 10) : 0;
	if (b->nsteps > 0 && ++flushes == kill_at) {
		log_warnx("test hook: kill -9 after flush %lu, %zu messages not shown", flushes,
		    b->nsteps);
		raise(SIGKILL);
	}
#else
	(void)b;
#endif
}

/* Stages `ev` and every event ready after it (up to SPOOL_BATCH_MAX), then makes them
 * durable and done together. An event that cannot be staged stays current: it is tried
 * again by the next round, after a pause. */
static void
agent_complete(cb_client_t *c, struct spool *sp, struct spool_batch *b, const cb_event_t *ev)
{
	size_t taken = 0;
	int stuck = 0;

	do {
		if (spool_stage(sp, b, ev) != 0 || cb_client_release(c, ev) != 0) {
			stuck = 1;
			break;
		}
	} while (++taken < SPOOL_BATCH_MAX && cb_client_next(c, 0, &ev) == 0);
	while (spool_commit(sp, b) != 0 || cb_client_flush(c) != 0) {
		log_warnx("could not record %zu events; retrying shortly", taken);
		if (stop_requested)
			return;	/* not flushed: they surface again at the next start */
		usleep(200 * 1000);
	}
	agent_test_crash_point(b);
	while (spool_show(sp, b) != 0) {
		log_warnx("could not show %zu messages in out/; retrying shortly", b->nsteps);
		if (stop_requested)
			return;	/* flushed: spool_finish shows them at the next start */
		usleep(200 * 1000);
	}
	log_debug("completed %zu events in one commit", taken);
	if (stuck) {
		log_warnx("could not record an event; retrying shortly");
		usleep(200 * 1000);
	}
}

/* Adds the inclusion proofs the client checked to their receipts (up to SPOOL_BATCH_MAX
 * a call), then lets the client forget them (one commit). */
static void
agent_proofs(cb_client_t *c, struct spool *sp)
{
	const cb_proof_t *p;
	size_t n = 0;

	while (n < SPOOL_BATCH_MAX && cb_client_proof_next(c, &p) == 0) {
		if (spool_receipt_proof(sp, p) != 0 || cb_client_proof_done(c, p) != 0)
			break;
		n++;
	}
	if (n > 0 && cb_client_flush(c) != 0)
		log_warnx("could not record %zu receipts' proofs (they are fetched again)", n);
}

/* Writes SPOOL/status.json when the held checkpoint or the alarm changed. */
static void
agent_status(const agent_config_t *cfg, cb_client_t *c, struct spool *sp, uint64_t *version,
    int *written)
{
	cb_transparency_t t;

	cb_client_transparency(c, &t);
	if (*written && t.version == *version)
		return;
	if (t.alarm != NULL)
		log_warnx("ALARM: the broker's log contradicts what this agency holds: %s; see "
		    "%s/%s and docs/operations.md", t.alarm, cfg->spool_dir, SPOOL_STATUS_FILE);
	if (spool_write_status(sp, cfg->unit, &t) == 0) {
		*version = t.version;
		*written = 1;
	}
}

static void
agent_run(const agent_config_t *cfg, cb_client_t *c, struct spool *sp)
{
	struct spool_batch batch;
	int64_t last_scan = 0;
	int busy = 0;	/* the last scan left documents in in/: scan again soon */
	uint64_t status_version = 0;
	int status_written = 0;

	memset(&batch, 0, sizeof(batch));
	while (!stop_requested) {
		const cb_event_t *ev;
		int64_t now = clock_mono_ms();
		int rc;

		agent_proofs(c, sp);
		agent_status(cfg, c, sp, &status_version, &status_written);

		if (busy || now - last_scan >= cfg->poll_ms) {
			busy = spool_scan(sp, c) >= SPOOL_SCAN_MAX;
			last_scan = now;
		}
		rc = cb_client_next(c, busy ? 0 : (int)cfg->poll_ms, &ev);
		if (rc == CB_ETIMEOUT)
			continue;
		if (rc != 0) {
			log_warnx("client: %s", cb_strerror(rc));
			usleep(100 * 1000);
			continue;
		}
		agent_complete(c, sp, &batch, ev);
	}
	spool_batch_free(&batch);
}

/* `status`: SPOOL/status.json, and STATE/alarm.json even when the agent is not running. */
static int
agent_status_command(const agent_config_t *cfg)
{
	char path[PATH_MAX + 32];
	json_t *st, *alarm;
	int rc;

	snprintf(path, sizeof(path), "%s/alarm.json", cfg->state_dir);
	alarm = json_load_file(path, 0, NULL);
	snprintf(path, sizeof(path), "%s/%s", cfg->spool_dir, SPOOL_STATUS_FILE);
	st = json_load_file(path, 0, NULL);
	if (alarm != NULL || (st != NULL && !json_is_true(json_object_get(st, "ok")))) {
		const char *why = json_string_value(json_object_get(alarm != NULL ? alarm : st,
		    alarm != NULL ? "reason" : "alarm"));

		printf("%s: ALARM: %s\n", cfg->unit, why != NULL ? why : "(no reason recorded)");
		printf("evidence: %s/alarm.json; what to do: docs/operations.md\n",
		    cfg->state_dir);
		rc = 1;
	} else if (st == NULL) {
		printf("%s: no status yet (%s: the agent has not run)\n", cfg->unit, path);
		rc = 3;
	} else {
		printf("%s: ok; checkpoint of tree size %lld held (updated %s)\n", cfg->unit,
		    (long long)json_integer_value(json_object_get(st, "checkpoint_size")),
		    json_string_value(json_object_get(st, "updated")) != NULL ?
		    json_string_value(json_object_get(st, "updated")) : "?");
		rc = 0;
	}
	json_decref(alarm);
	json_decref(st);
	return rc;
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
		{ NULL, 0, NULL, 0 },
	};
	static const char *divisions[CONFIG_MAX_DIVISIONS];
	static const char *old_seal_keys[CONFIG_MAX_OLD_SEAL_KEYS];
	intake_rules_t rules = { .check_times = 1, .skew_ms = AGENT_CLOCK_SKEW_MS };
	cb_client_options_t opt;
	agent_config_t cfg;
	const char *files[5];
	struct sigaction sa;
	struct spool sp;
	cb_client_t *c;
	const char *config = NULL;
	char errbuf[512];
	int ch, check = 0, verbose = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose = 1; break;
		case 'h': help(); return 0;
		case 'V': printf("cluebus-agent %s\n", CB_VERSION); return 0;
		default: usage();
		}
	}
	if (config == NULL || (optind != argc && !(optind + 1 == argc &&
	    strcmp(argv[optind], "status") == 0)))
		usage();
	if (config_agent_load(config, &cfg, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	if (optind + 1 == argc)
		return agent_status_command(&cfg);
	if (check) {
		printf("%s: configuration OK\n", config);
		return 0;
	}
	log_init(cfg.unit, verbose);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&opt, 0, sizeof(opt));
	opt.unit = cfg.unit;
	opt.key_path = cfg.key_path;
	opt.transport_key_path = cfg.transport_key_path;
	opt.broker = cfg.broker;
	opt.state_dir = cfg.state_dir;
	opt.registry_path = cfg.registry_path;
	opt.resend_ms = cfg.resend_ms;
	opt.heartbeat_ms = cfg.heartbeat_ms;
	opt.window = cfg.window;
	opt.resign_after_ms = cfg.resign_after_ms;
	if (cfg.correlation_key_path[0] != '\0')
		opt.correlation_key_path = cfg.correlation_key_path;
	if (cfg.correlation_key_previous_path[0] != '\0')
		opt.correlation_key_previous_path = cfg.correlation_key_previous_path;
	files[3] = cfg.correlation_key_path;
	files[4] = cfg.correlation_key_previous_path;
	opt.seal_key_path = cfg.seal_key_path[0] != '\0' ? cfg.seal_key_path : NULL;
	opt.seal_keys_path = cfg.seal_keys_path[0] != '\0' ? cfg.seal_keys_path : NULL;
	opt.seal_routing_path = cfg.seal_routing_path[0] != '\0' ? cfg.seal_routing_path : NULL;
	for (size_t i = 0; i < cfg.n_seal_old_keys; i++)
		old_seal_keys[i] = cfg.seal_old_keys[i];
	opt.seal_old_key_paths = old_seal_keys;
	opt.n_seal_old_keys = cfg.n_seal_old_keys;
	files[0] = cfg.key_path;
	files[1] = cfg.transport_key_path;
	files[2] = cfg.registry_path;
	if (spool_open(&sp, cfg.spool_dir) != 0)
		fatalx("spool %s unusable", cfg.spool_dir);
	for (size_t i = 0; i < cfg.n_divisions; i++)
		divisions[i] = cfg.divisions[i];
	rules.n_divisions = cfg.n_divisions;
	rules.divisions = divisions;
	sp.rules = &rules;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i][0] != '\0' && access(files[i], F_OK) != 0 && errno == ENOENT)
			fatalx("no such file: %s", files[i]);
	if ((rc = cb_client_open(&opt, &c)) != 0)
		fatalx("cannot start: %s (key %s, state %s)", cb_strerror(rc), cfg.key_path,
		    cfg.state_dir);
	if (spool_finish(&sp, cb_client_watermark(c)) != 0)
		fatalx("spool %s: cannot complete the messages of the last run", cfg.spool_dir);
	if (spool_recover(&sp, c) != 0)
		fatalx("cannot read the client store");
	log_info("agent for %s started; spool %s, broker %s", cfg.unit, cfg.spool_dir,
	    cfg.broker);
	agent_run(&cfg, c, &sp);
	log_info("stopping");
	cb_client_close(c);
	return 0;
}
