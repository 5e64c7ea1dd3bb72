/* tests/unit/test_config.c — broker and agent configuration files.
 *
 * Every refusal says where, as "file:line: reason" (the `--check` contract): the table
 * bad_configs[] gives a config text, the "name:LINE:" prefix expected and a piece of the
 * reason; each row runs as its own named test. Accepted configs get their defaults, and
 * relative paths resolve against the config file's own directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "config.h"

/* A valid broker config; a row's one extra line is line 7, the routing group lines 9-13. */
#define B_HEAD								\
	"broker:\n"							\
	"{\n"								\
	"  endpoint = \"tcp://127.0.0.1:7700\";\n"			\
	"  data_dir = \"data\";\n"					\
	"  key = \"keys/broker.key\"; transport_key = \"keys/broker.curve\";\n"				\
	"  registry = \"registry.json\";\n"
#define B_ROUTING							\
	"routing:\n"							\
	"{\n"								\
	"  office = \"ato\";\n"						\
	"  categories: { medical = [ \"psb\" ]; };\n"			\
	"};\n"
#define BROKER(line)		B_HEAD line "};\n" B_ROUTING
#define BROKER_ROUTING(cats)						\
	B_HEAD "\n};\nrouting:\n{\n  office = \"ato\";\n  categories: { " cats " };\n};\n"

/* A valid agent config; a row's one extra line is line 9. */
#define A_HEAD								\
	"agent:\n"							\
	"{\n"								\
	"  unit = \"health\";\n"					\
	"  key = \"keys/health.key\"; transport_key = \"keys/health.curve\";\n"				\
	"  broker = \"tcp://127.0.0.1:7700\";\n"			\
	"  spool = \"spool/health\";\n"					\
	"  state_dir = \"state/health\";\n"				\
	"  registry = \"registry.json\";\n"
#define AGENT(line)		A_HEAD line "};\n"

#define BNAME	"etc/broker.conf"
#define ANAME	"etc/agent.conf"

struct bad_config {
	const char	*name;		/* the test's name, a sentence */
	int		 agent;		/* an agent config, else a broker config */
	const char	*text;
	const char	*where;		/* "name:LINE:", the start of the message */
	const char	*reason;	/* a piece of the message after it */
};

static const struct bad_config bad_configs[] = {
	/* syntax */
	{ "A broker config with a syntax error is refused at its line", 0,
	    BROKER("  window = ;\n"), BNAME ":7:", "syntax error" },
	{ "An agent config with a syntax error is refused at its line", 1,
	    AGENT("  resend_ms = = 5;\n"), ANAME ":9:", "syntax error" },
	{ "A setting given twice is refused at the second one", 0,
	    BROKER("  key = \"other.key\";\n"), BNAME ":7:", "duplicate setting name" },
	/* operating */
	{ "A map ceiling below the map's starting size is refused", 0,
	    BROKER("  map_size_mb = 64; map_max_mb = 32;\n"), BNAME ":7:",
	    "'map_max_mb' must not be below 'map_size_mb'" },
	{ "An http address without a token file is refused", 0,
	    BROKER("  http_listen = \"127.0.0.1:9464\";\n"), BNAME ":",
	    "'http_listen' and 'http_token' go together" },
	/* unknown settings */
	{ "A misspelt broker setting is refused rather than ignored", 0,
	    BROKER("  windw = 4;\n"), BNAME ":7:", "unknown setting 'windw'" },
	{ "An unknown top-level group in a broker config is refused", 0,
	    BROKER("\n") "logging: { level = 1; };\n", BNAME ":14:",
	    "unknown setting 'logging'" },
	{ "An agent setting named like the broker's is refused", 1,
	    AGENT("  spool_dir = \"x\";\n"), ANAME ":9:", "unknown setting 'spool_dir'" },
	{ "A broker group in an agent config is refused", 1,
	    AGENT("\n") "broker: { };\n", ANAME ":11:", "unknown setting 'broker'" },
	/* wrong types */
	{ "A window given as a string is refused", 0,
	    BROKER("  window = \"4\";\n"), BNAME ":7:", "'window' must be an integer" },
	{ "A window given as a float is refused", 0,
	    BROKER("  window = 4.0;\n"), BNAME ":7:", "'window' must be an integer" },
	{ "Sealing required given as a number is refused", 0,
	    BROKER("  require_sealed = 1;\n"), BNAME ":7:", "'require_sealed' must be true or false" },
	{ "Sealing required given as a string is refused", 0,
	    BROKER("  require_sealed = \"yes\";\n"), BNAME ":7:",
	    "'require_sealed' must be true or false" },
	{ "A poll interval given as a float is refused", 1,
	    AGENT("  poll_ms = 1.5;\n"), ANAME ":9:", "'poll_ms' must be an integer" },
	{ "An endpoint given as a number is refused", 0,
	    "broker:\n{\n  endpoint = 7700;\n  data_dir = \"d\";\n  key = \"k\"; transport_key = \"t\";\n"
	    "  registry = \"r\";\n};\n" B_ROUTING, BNAME ":3:", "'endpoint' must be a string" },
	{ "A registry path given as a boolean is refused", 1,
	    "agent:\n{\n  unit = \"health\";\n  key = \"k\"; transport_key = \"t\";\n  broker = \"b\";\n"
	    "  spool = \"s\";\n  state_dir = \"d\";\n  registry = true;\n};\n", ANAME ":8:",
	    "'registry' must be a string" },
	{ "A broker setting that is not a group is refused", 0,
	    "broker = 5;\n" B_ROUTING, BNAME ":0:", "group 'broker' is required" },
	{ "An agent setting that is not a group is refused", 1,
	    "agent = [ 1 ];\n", ANAME ":0:", "group 'agent' is required" },
	/* out of range */
	{ "A batch of more than 4096 messages is refused", 0,
	    BROKER("  batch_max = 5000;\n"), BNAME ":7:", "'batch_max' must be in 1..4096" },
	{ "A map size of zero is refused", 0,
	    BROKER("  map_size_mb = 0;\n"), BNAME ":7:", "'map_size_mb' must be in 1..1048576" },
	{ "A negative number of verification threads is refused", 0,
	    BROKER("  verify_threads = -1;\n"), BNAME ":7:", "'verify_threads' must be in 0..64" },
	{ "More than 64 verification threads are refused", 0,
	    BROKER("  verify_threads = 65;\n"), BNAME ":7:", "'verify_threads' must be in 0..64" },
	{ "A clock skew under one second is refused", 0,
	    BROKER("  clock_skew_ms = 999;\n"), BNAME ":7:",
	    "'clock_skew_ms' must be in 1000..86400000" },
	{ "A 64-bit redelivery interval beyond an hour is refused", 0,
	    BROKER("  redeliver_ms = 10000000000L;\n"), BNAME ":7:",
	    "'redeliver_ms' must be in 100..3600000" },
	{ "A negative peer timeout is refused", 0,
	    BROKER("  peer_timeout_ms = -1;\n"), BNAME ":7:",
	    "'peer_timeout_ms' must be in 100..3600000" },
	{ "A heartbeat over a minute is refused", 1,
	    AGENT("  heartbeat_ms = 60001;\n"), ANAME ":9:",
	    "'heartbeat_ms' must be in 100..60000" },
	{ "An agent window of zero is refused", 1,
	    AGENT("  window = 0;\n"), ANAME ":9:", "'window' must be in 1..4096" },
	{ "An agent division without a 6-digit code is refused", 1,
	    AGENT("  divisions = [ \"210302 铁东区\", \"21030 x\" ];\n"), ANAME ":9:",
	    "'divisions' entry 1 is not \"CODE NAME\"" },
	{ "Agent divisions given as one string are refused", 1,
	    AGENT("  divisions = \"210302\";\n"), ANAME ":9:", "'divisions' must be a list" },
	{ "Sealing keys without a routing table are refused", 1,
	    AGENT("  seal_key = \"k.seal\";\n  seal_keys = \"keys.json\";\n"), ANAME ":",
	    "sealing needs 'seal_key', 'seal_keys', 'seal_routing' and 'registry' together" },
	{ "Earlier sealing keys without a current one are refused", 1,
	    AGENT("  seal_old_keys = [ \"old.seal\" ];\n"), ANAME ":",
	    "'seal_old_keys' needs 'seal_key'" },
	{ "Earlier sealing keys given as one string are refused", 1,
	    AGENT("  seal_key = \"k.seal\";\n  seal_old_keys = \"old.seal\";\n"), ANAME ":",
	    "'seal_old_keys' must be a list" },
	/* missing or empty */
	{ "A broker config without a key is refused at its group", 0,
	    "broker:\n{\n  endpoint = \"e\";\n  data_dir = \"d\";\n  registry = \"r\";\n};\n"
	    B_ROUTING, BNAME ":1:", "'key' is required" },
	{ "A broker config without a broker group is refused", 0,
	    B_ROUTING, BNAME ":0:", "group 'broker' is required" },
	{ "An agent config without a spool is refused at its group", 1,
	    "\nagent: {\n  unit = \"health\";\n  key = \"k\"; transport_key = \"t\";\n  broker = \"b\";\n"
	    "  state_dir = \"d\";\n  registry = \"r\";\n};\n", ANAME ":2:", "'spool' is required" },
	{ "An empty endpoint is refused", 0,
	    "broker:\n{\n  endpoint = \"\";\n  data_dir = \"d\";\n  key = \"k\"; transport_key = \"t\";\n"
	    "  registry = \"r\";\n};\n" B_ROUTING, BNAME ":3:",
	    "'endpoint' must be 1 to 255 bytes" },
	{ "An empty config is refused", 1, "", ANAME ":0:", "group 'agent' is required" },
	/* unit ids */
	{ "An agent unit id with capitals is refused", 1,
	    "agent:\n{\n  unit = \"Health\";\n  key = \"k\"; transport_key = \"t\";\n  broker = \"b\";\n"
	    "  spool = \"s\";\n  state_dir = \"d\";\n  registry = \"r\";\n};\n", ANAME ":3:",
	    "'unit' must match [a-z0-9-]{1,32}" },
	{ "An agent unit id of 33 characters is refused", 1,
	    "agent:\n{\n  unit = \"abcdefghijklmnopqrstuvwxyz0123456\";\n  key = \"k\"; transport_key = \"t\";\n"
	    "  broker = \"b\";\n  spool = \"s\";\n  state_dir = \"d\";\n  registry = \"r\";\n};\n",
	    ANAME ":3:", "'unit' must be 1 to 32 bytes" },
	/* routing */
	{ "An unknown category in the routing table is refused at its line", 0,
	    BROKER_ROUTING("medicine = [ \"psb\" ];"), BNAME ":12:",
	    "routing.categories.medicine: not a clue category" },
	{ "A routing entry that is not a unit id is refused at its line", 0,
	    BROKER_ROUTING("medical = [ \"psb\", \"PSB\" ];"), BNAME ":12:",
	    "routing.categories.medical: entry 1 is not a unit id" },
	{ "A broker config without a routing table is refused", 0,
	    B_HEAD "};\n", BNAME ":0:", "routing: missing group" },
	{ "A routing table without an office is refused at its line", 0,
	    B_HEAD "};\n\nrouting:\n{\n  categories: { };\n};\n", BNAME ":9:",
	    "routing.office: required unit id" },
};

static void
test_bad_config(void **state)
{
	const struct bad_config *row = *state;
	broker_config_t bc;
	agent_config_t ac;
	char errbuf[512];
	int rc;

	memset(errbuf, 0, sizeof(errbuf));
	if (row->agent)
		rc = config_agent_parse(ANAME, row->text, &ac, errbuf, sizeof(errbuf));
	else
		rc = config_broker_parse(BNAME, row->text, &bc, errbuf, sizeof(errbuf));
	if (rc != CB_ECONFIG)
		fail_msg("got %s (\"%s\"), want invalid configuration", cb_strerror(rc), errbuf);
	if (!row->agent)
		assert_null(bc.route);
	if (strncmp(errbuf, row->where, strlen(row->where)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", errbuf, row->where);
	if (strstr(errbuf + strlen(row->where), row->reason) == NULL)
		fail_msg("message \"%s\" does not say \"%s\"", errbuf, row->reason);
}

/* ---- accepted configs ------------------------------------------------------------------- */

static void
test_a_minimal_broker_config_gets_the_documented_defaults(void **state)
{
	broker_config_t cfg;
	char errbuf[512];

	(void)state;
	if (config_broker_parse(BNAME, BROKER("\n"), &cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.endpoint, "tcp://127.0.0.1:7700");
	assert_int_equal(cfg.map_size, (size_t)16 << 30);
	assert_int_equal(cfg.batch_max, 256);
	assert_int_equal(cfg.window, 128);
	assert_int_equal(cfg.redeliver_ms, 10000);
	assert_int_equal(cfg.peer_timeout_ms, 15000);
	assert_int_equal(cfg.clock_skew_ms, 600000);
	assert_int_equal(cfg.verify_threads, -1);
	assert_int_equal(cfg.map_max, cfg.map_size);
	assert_int_equal(cfg.disk_min_free, (size_t)64 << 20);
	assert_string_equal(cfg.log_file, "");
	assert_string_equal(cfg.http_listen, "");
	assert_false(cfg.require_sealed);
	assert_non_null(cfg.route);
	assert_string_equal(route_office(cfg.route), "ato");
	config_broker_free(&cfg);
	assert_null(cfg.route);
}

static void
test_every_broker_tunable_is_read_at_its_limits(void **state)
{
	static const char text[] = B_HEAD
	    "  map_size_mb = 1048576L; batch_max = 4096; window = 1;\n"
	    "  redeliver_ms = 100; peer_timeout_ms = 3600000; clock_skew_ms = 86400000;\n"
	    "  verify_threads = 64; require_sealed = true;\n"
	    "};\n" B_ROUTING;
	broker_config_t cfg;
	char errbuf[512];

	(void)state;
	if (config_broker_parse(BNAME, text, &cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_int_equal(cfg.map_size, (size_t)1 << 40);
	assert_int_equal(cfg.batch_max, 4096);
	assert_int_equal(cfg.window, 1);
	assert_int_equal(cfg.redeliver_ms, 100);
	assert_int_equal(cfg.peer_timeout_ms, 3600000);
	assert_int_equal(cfg.clock_skew_ms, 86400000);
	assert_int_equal(cfg.verify_threads, 64);
	assert_true(cfg.require_sealed);
	config_broker_free(&cfg);
}

static void
test_relative_broker_paths_resolve_against_the_config_files_directory(void **state)
{
	static const char text[] = "broker:\n{\n  endpoint = \"tcp://127.0.0.1:7700\";\n"
	    "  data_dir = \"data\";\n  key = \"/srv/keys/broker.key\"; transport_key = \"t\";\n"
	    "  registry = \"../shared/registry.json\";\n};\n" B_ROUTING;
	broker_config_t cfg;
	char errbuf[512];

	(void)state;
	if (config_broker_parse("/etc/cluebus/broker.conf", text, &cfg, errbuf,
	    sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.data_dir, "/etc/cluebus/data");
	assert_string_equal(cfg.key_path, "/srv/keys/broker.key");	/* absolute: kept */
	assert_string_equal(cfg.registry_path, "/etc/cluebus/../shared/registry.json");
	config_broker_free(&cfg);
	/* A config named without a directory leaves relative paths relative. */
	if (config_broker_parse("broker.conf", text, &cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.data_dir, "data");
	config_broker_free(&cfg);
	/* A config in the root directory. */
	if (config_broker_parse("/broker.conf", text, &cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.data_dir, "/data");
	config_broker_free(&cfg);
}

static void
test_relative_agent_paths_resolve_and_defaults_apply(void **state)
{
	agent_config_t cfg;
	char errbuf[512];

	(void)state;
	if (config_agent_parse("/opt/health/agent.conf", AGENT("\n"), &cfg, errbuf,
	    sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.unit, "health");
	assert_string_equal(cfg.broker, "tcp://127.0.0.1:7700");	/* not a path */
	assert_string_equal(cfg.key_path, "/opt/health/keys/health.key");
	assert_string_equal(cfg.spool_dir, "/opt/health/spool/health");
	assert_string_equal(cfg.state_dir, "/opt/health/state/health");
	assert_string_equal(cfg.registry_path, "/opt/health/registry.json");
	assert_int_equal(cfg.resend_ms, 5000);
	assert_int_equal(cfg.heartbeat_ms, 1000);
	assert_int_equal(cfg.poll_ms, 100);
	assert_int_equal(cfg.window, 256);
	assert_int_equal(cfg.n_divisions, 0);
}

static void
test_agent_divisions_are_kept_as_written(void **state)
{
	agent_config_t cfg;
	char errbuf[512];

	(void)state;
	if (config_agent_parse("/opt/health/agent.conf",
	    AGENT("  divisions = [ \"210300 鞍山市\", \"210381\" ];\n"), &cfg, errbuf,
	    sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_int_equal(cfg.n_divisions, 2);
	assert_string_equal(cfg.divisions[0], "210300 鞍山市");
	assert_string_equal(cfg.divisions[1], "210381");
}

static void
test_agent_sealing_paths_resolve_against_the_config_directory(void **state)
{
	agent_config_t cfg;
	char errbuf[512];

	(void)state;
	if (config_agent_parse("/opt/health/agent.conf",
	    AGENT("  seal_key = \"keys/health.seal\";\n  seal_keys = \"seal-keys.json\";\n"
	    "  seal_routing = \"/etc/cluebus/broker.conf\";\n"
	    "  seal_old_keys = [ \"keys/health.seal.1\", \"/keep/health.seal.0\" ];\n"), &cfg,
	    errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.seal_key_path, "/opt/health/keys/health.seal");
	assert_string_equal(cfg.seal_keys_path, "/opt/health/seal-keys.json");
	assert_string_equal(cfg.seal_routing_path, "/etc/cluebus/broker.conf");
	assert_int_equal(cfg.n_seal_old_keys, 2);
	assert_string_equal(cfg.seal_old_keys[0], "/opt/health/keys/health.seal.1");
	assert_string_equal(cfg.seal_old_keys[1], "/keep/health.seal.0");
}

static void
test_a_path_that_becomes_too_long_when_resolved_is_refused(void **state)
{
	size_t n = PATH_MAX - 10, off;
	char *text = malloc(n + 256), errbuf[512];
	broker_config_t cfg;

	(void)state;
	assert_non_null(text);
	/* Line 6: a data_dir that fits alone but not after "/etc/cluebus/". */
	off = (size_t)sprintf(text, "broker:\n{\n  endpoint = \"e\";\n  key = \"k\"; transport_key = \"t\";\n"
	    "  registry = \"r\";\n  data_dir = \"");
	memset(text + off, 'd', n);
	off += n;
	sprintf(text + off, "\";\n};\n%s", B_ROUTING);
	assert_int_equal(config_broker_parse("/etc/cluebus/broker.conf", text, &cfg, errbuf,
	    sizeof(errbuf)), CB_ECONFIG);
	if (strncmp(errbuf, "/etc/cluebus/broker.conf:6:", 27) != 0 ||
	    strstr(errbuf, "'data_dir' is too long") == NULL)
		fail_msg("message \"%s\"", errbuf);
	/* The same path is fine where it needs no prefix. */
	if (config_broker_parse("broker.conf", text, &cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_int_equal(strlen(cfg.data_dir), n);
	config_broker_free(&cfg);
	free(text);
}

/* ---- files ------------------------------------------------------------------------------ */

struct tmpconf {
	char	dir[64];
	char	path[128];
};

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int
tmpconf_setup(void **state)
{
	struct tmpconf *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/cb-test-config.XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/agent.conf", t->dir);
	*state = t;
	return 0;
}

static int
tmpconf_teardown(void **state)
{
	struct tmpconf *t = *state;

	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void
test_a_config_file_loads_with_paths_relative_to_its_directory(void **state)
{
	static const char text[] = AGENT("\n");
	struct tmpconf *t = *state;
	agent_config_t cfg;
	char errbuf[512], want[192];

	write_file(t->path, text, strlen(text), 0600);
	if (config_agent_load(t->path, &cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	snprintf(want, sizeof(want), "%s/spool/health", t->dir);
	assert_string_equal(cfg.spool_dir, want);
	/* Group- or world-readable is fine for a config; writable is not. */
	assert_int_equal(chmod(t->path, 0644), 0);
	assert_int_equal(config_agent_load(t->path, &cfg, errbuf, sizeof(errbuf)), 0);
}

static void
test_a_group_or_world_writable_config_file_is_refused(void **state)
{
	static const char text[] = AGENT("\n");
	static const mode_t unsafe[] = { 0620, 0602, 0666 };
	struct tmpconf *t = *state;
	agent_config_t cfg;
	char errbuf[512];

	write_file(t->path, text, strlen(text), 0600);
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		assert_int_equal(chmod(t->path, unsafe[i]), 0);
		assert_int_equal(config_agent_load(t->path, &cfg, errbuf, sizeof(errbuf)),
		    CB_ECONFIG);
		if (strstr(errbuf, "group- or world-writable") == NULL)
			fail_msg("mode %04o: \"%s\"", (unsigned)unsafe[i], errbuf);
	}
}

static void
test_a_config_file_with_a_nul_byte_or_missing_is_refused(void **state)
{
	static const char text[] = "agent:\n{\n\0  unit = \"health\";\n};\n";
	struct tmpconf *t = *state;
	agent_config_t cfg;
	char errbuf[512], want[PATH_MAX + 32];

	assert_int_equal(config_agent_load(t->path, &cfg, errbuf, sizeof(errbuf)), CB_ECONFIG);
	snprintf(want, sizeof(want), "no such file: %s", t->path);
	assert_string_equal(errbuf, want);
	write_file(t->path, text, sizeof(text) - 1, 0600);
	assert_int_equal(config_agent_load(t->path, &cfg, errbuf, sizeof(errbuf)), CB_ECONFIG);
	assert_non_null(strstr(errbuf, "contains a NUL byte"));
}

static void
test_the_example_configs_in_the_repository_load(void **state)
{
	broker_config_t bc;
	agent_config_t ac;
	char errbuf[512];

	(void)state;
	if (config_broker_load("config/broker.conf.example", &bc, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(bc.data_dir, "config/data");
	assert_string_equal(route_office(bc.route), "ato");
	config_broker_free(&bc);
	if (config_agent_load("config/agent.conf.example", &ac, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(ac.unit, "health");
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_a_minimal_broker_config_gets_the_documented_defaults),
		cmocka_unit_test(test_every_broker_tunable_is_read_at_its_limits),
		cmocka_unit_test(
		    test_relative_broker_paths_resolve_against_the_config_files_directory),
		cmocka_unit_test(test_relative_agent_paths_resolve_and_defaults_apply),
		cmocka_unit_test(test_agent_divisions_are_kept_as_written),
		cmocka_unit_test(test_agent_sealing_paths_resolve_against_the_config_directory),
		cmocka_unit_test(test_a_path_that_becomes_too_long_when_resolved_is_refused),
		cmocka_unit_test_setup_teardown(
		    test_a_config_file_loads_with_paths_relative_to_its_directory,
		    tmpconf_setup, tmpconf_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_group_or_world_writable_config_file_is_refused,
		    tmpconf_setup, tmpconf_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_config_file_with_a_nul_byte_or_missing_is_refused,
		    tmpconf_setup, tmpconf_teardown),
		cmocka_unit_test(test_the_example_configs_in_the_repository_load),
	};
	enum { NBAD = sizeof(bad_configs) / sizeof(bad_configs[0]) };
	static struct CMUnitTest refused[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		refused[i].name = bad_configs[i].name;
		refused[i].test_func = test_bad_config;
		refused[i].initial_state = (void *)&bad_configs[i];
	}
	failed = cmocka_run_group_tests_name("config", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("config refusals", refused, NBAD, NULL, NULL);
	return failed != 0;
}
