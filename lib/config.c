/* lib/config.c — load broker and agent configuration with libconfig.
 *
 * Every setting is checked for type and range; unknown settings are errors, because a
 * misspelt setting silently falling back to a default is how durable systems lose data. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "util.h"

struct cfgctx {
	const char	*name;
	char		 base[PATH_MAX];	/* directory of the config file */
	char		*errbuf;
	size_t		 errlen;
};

static int
cfg_error(struct cfgctx *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfg_error(struct cfgctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(c->errbuf, c->errlen, "%s:%d: %s", c->name,
	    s != NULL ? config_setting_source_line(s) : 0, reason);
	return CB_ECONFIG;
}

static int
cfg_only(struct cfgctx *c, const config_setting_t *grp, const char *const *known)
{
	for (int i = 0; i < config_setting_length(grp); i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		int ok = 0;

		for (size_t k = 0; known[k] != NULL; k++)
			ok |= strcmp(config_setting_name(s), known[k]) == 0;
		if (!ok)
			return cfg_error(c, s, "unknown setting '%s'", config_setting_name(s));
	}
	return 0;
}

static int
cfg_string(struct cfgctx *c, const config_setting_t *grp, const char *name, int required,
    char *out, size_t outlen)
{
	const config_setting_t *s = config_setting_get_member(grp, name);
	const char *v;

	if (s == NULL)
		return required ? cfg_error(c, grp, "'%s' is required", name) : 0;
	if ((v = config_setting_get_string(s)) == NULL)
		return cfg_error(c, s, "'%s' must be a string", name);
	if (strlen(v) == 0 || strlen(v) >= outlen)
		return cfg_error(c, s, "'%s' must be 1 to %zu bytes", name, outlen - 1);
	snprintf(out, outlen, "%s", v);
	return 0;
}

static int
cfg_path(struct cfgctx *c, const config_setting_t *grp, const char *name, int required,
    char *out, size_t outlen)
{
	char raw[PATH_MAX];
	int rc;

	raw[0] = '\0';
	if ((rc = cfg_string(c, grp, name, required, raw, sizeof(raw))) != 0 || raw[0] == '\0')
		return rc;
	if (raw[0] == '/' || strcmp(c->base, ".") == 0)
		rc = snprintf(out, outlen, "%s", raw);
	else
		rc = snprintf(out, outlen, "%s/%s", c->base, raw);
	if (rc < 0 || (size_t)rc >= outlen)
		return cfg_error(c, config_setting_get_member(grp, name), "'%s' is too long",
		    name);
	return 0;
}

static int
cfg_int(struct cfgctx *c, const config_setting_t *grp, const char *name, long long lo,
    long long hi, long long *out)
{
	const config_setting_t *s = config_setting_get_member(grp, name);
	long long v;

	if (s == NULL)
		return 0;	/* keep the default */
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return cfg_error(c, s, "'%s' must be an integer", name);
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return cfg_error(c, s, "'%s' must be in %lld..%lld", name, lo, hi);
	*out = v;
	return 0;
}

static int
cfg_bool(struct cfgctx *c, const config_setting_t *grp, const char *name, int *out)
{
	const config_setting_t *s = config_setting_get_member(grp, name);

	if (s == NULL)
		return 0;	/* keep the default */
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_error(c, s, "'%s' must be true or false", name);
	*out = config_setting_get_bool(s);
	return 0;
}

static int
cfg_read(struct cfgctx *c, config_t *cf, const char *text)
{
	config_init(cf);
	if (config_read_string(cf, text) != CONFIG_TRUE) {
		snprintf(c->errbuf, c->errlen, "%s:%d: %s", c->name, config_error_line(cf),
		    config_error_text(cf));
		config_destroy(cf);
		return CB_ECONFIG;
	}
	return 0;
}

/* Reads `text` whose top level may hold only the settings named in `top`, and finds its
 * required group `group`. Returns 0 with *g (`cf` is the caller's to destroy), or
 * CB_ECONFIG with the error in c->errbuf and `cf` destroyed. */
static int
cfg_read_group(struct cfgctx *c, config_t *cf, const char *text, const char *const *top,
    const char *group, const config_setting_t **g)
{
	int rc;

	if ((rc = cfg_read(c, cf, text)) != 0)
		return rc;
	if ((rc = cfg_only(c, config_root_setting(cf), top)) == 0 &&
	    ((*g = config_lookup(cf, group)) == NULL || !config_setting_is_group(*g)))
		rc = cfg_error(c, NULL, "group '%s' is required", group);
	if (rc != 0)
		config_destroy(cf);
	return rc;
}

static void
cfg_ctx(struct cfgctx *c, const char *name, char *errbuf, size_t errlen)
{
	const char *slash = strrchr(name, '/');

	c->name = name;
	c->errbuf = errbuf;
	c->errlen = errlen;
	if (slash == NULL)
		snprintf(c->base, sizeof(c->base), ".");
	else
		snprintf(c->base, sizeof(c->base), "%.*s", (int)(slash - name), name);
}

/* Whether a ZeroMQ endpoint is reachable only from this host. */
int
config_endpoint_local(const char *ep)
{
	static const char *const local[] = { "ipc://", "tcp://127.0.0.1:", "tcp://[::1]:",
	    "tcp://localhost:", NULL };

	for (size_t i = 0; local[i] != NULL; i++)
		if (strncmp(ep, local[i], strlen(local[i])) == 0 && ep[strlen(local[i])] != '\0')
			return 1;
	return 0;
}

/* Due-time defaults per priority: suggested by the issue (receipt within 1 h, 8 h, 72 h);
 * feedback within 24 h, 72 h and 7 days (EU practice: 8 h urgent, 7 days otherwise). */
static int
cfg_deadlines(struct cfgctx *c, const config_setting_t *grp, broker_config_t *cfg)
{
	static const char *const prios[] = { "routine", "urgent", "immediate", NULL };
	static const char *const keys[] = { "receipt_s", "feedback_s", NULL };
	static const long long receipt_s[] = { 0, 72 * 3600, 8 * 3600, 3600 };
	static const long long feedback_s[] = { 0, 7 * 86400, 3 * 86400, 86400 };
	int rc;

	for (int p = 1; p <= 3; p++) {
		cfg->receipt_due_ms[p] = receipt_s[p] * 1000;
		cfg->feedback_due_ms[p] = feedback_s[p] * 1000;
	}
	if (grp == NULL)
		return 0;
	if (!config_setting_is_group(grp))
		return cfg_error(c, grp, "'deadlines' must be a group");
	if ((rc = cfg_only(c, grp, prios)) != 0)
		return rc;
	for (int p = 1; p <= 3; p++) {
		const config_setting_t *pg = config_setting_get_member(grp, prios[p - 1]);
		long long r = receipt_s[p], f = feedback_s[p];

		if (pg == NULL)
			continue;
		if (!config_setting_is_group(pg))
			return cfg_error(c, pg, "'%s' must be a group", prios[p - 1]);
		if ((rc = cfg_only(c, pg, keys)) != 0 ||
		    (rc = cfg_int(c, pg, "receipt_s", 1, 365LL * 86400, &r)) != 0 ||
		    (rc = cfg_int(c, pg, "feedback_s", 1, 365LL * 86400, &f)) != 0)
			return rc;
		if (f < r)
			return cfg_error(c, pg, "feedback_s must not be shorter than receipt_s");
		cfg->receipt_due_ms[p] = r * 1000;
		cfg->feedback_due_ms[p] = f * 1000;
	}
	return 0;
}

int
config_broker_parse(const char *name, const char *text, broker_config_t *cfg, char *errbuf,
    size_t errlen)
{
	static const char *const top[] = { "broker", "routing", "deadlines", "duties", NULL };
	static const char *const keys[] = { "endpoint", "data_dir", "key", "transport_key",
	    "registry", "admin_endpoint", "admin_key",
	    "map_size_mb", "batch_max", "window", "redeliver_ms", "peer_timeout_ms",
	    "clock_skew_ms", "petition_unit", "verify_threads", "map_max_mb", "log_file",
	    "http_listen", "http_token", "disk_min_free_mb", "match_list_max",
	    "match_bundle_window_s", "match_notices_max", "checkpoint_interval_ms",
	    "checkpoint_origin", "require_sealed", NULL };
	long long ckpt_ms = 1000, map_max_mb = 0, disk_min_mb = 64, map_mb = 16384, batch = 256, window = 128, redeliver = 10000, timeout = 15000,
	    skew = 600000, vthreads = -1;
	long long match_list = 100, bundle_s = 86400, match_notices = 16;
	const config_setting_t *b;
	struct cfgctx c;
	cb_error_t err;
	config_t cf;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg_ctx(&c, name, errbuf, errlen);
	if ((rc = cfg_read_group(&c, &cf, text, top, "broker", &b)) != 0)
		return rc;
	if ((rc = cfg_only(&c, b, keys)) != 0 ||
	    (rc = cfg_string(&c, b, "endpoint", 1, cfg->endpoint, sizeof(cfg->endpoint))) ||
	    (rc = cfg_path(&c, b, "data_dir", 1, cfg->data_dir, sizeof(cfg->data_dir))) ||
	    (rc = cfg_path(&c, b, "key", 1, cfg->key_path, sizeof(cfg->key_path))) ||
	    (rc = cfg_path(&c, b, "transport_key", 1, cfg->transport_key_path,
	    sizeof(cfg->transport_key_path))) ||
	    (rc = cfg_path(&c, b, "registry", 1, cfg->registry_path,
	    sizeof(cfg->registry_path))) ||
	    (rc = cfg_int(&c, b, "map_size_mb", 1, 1 << 20, &map_mb)) ||
	    (rc = cfg_int(&c, b, "batch_max", 1, 4096, &batch)) ||
	    (rc = cfg_int(&c, b, "window", 1, 4096, &window)) ||
	    (rc = cfg_int(&c, b, "redeliver_ms", 100, 3600000, &redeliver)) ||
	    (rc = cfg_int(&c, b, "peer_timeout_ms", 100, 3600000, &timeout)) ||
	    (rc = cfg_int(&c, b, "clock_skew_ms", 1000, 86400000, &skew)) ||
	    (rc = cfg_int(&c, b, "verify_threads", 0, 64, &vthreads)) ||
	    (rc = cfg_int(&c, b, "map_max_mb", 1, 1 << 20, &map_max_mb)) ||
	    (rc = cfg_int(&c, b, "disk_min_free_mb", 0, 1 << 30, &disk_min_mb)) ||
	    (rc = cfg_int(&c, b, "checkpoint_interval_ms", 100, 86400000, &ckpt_ms)) ||
	    (rc = cfg_path(&c, b, "log_file", 0, cfg->log_file, sizeof(cfg->log_file))) ||
	    (rc = cfg_string(&c, b, "http_listen", 0, cfg->http_listen,
	    sizeof(cfg->http_listen))) ||
	    (rc = cfg_path(&c, b, "http_token", 0, cfg->http_token_path,
	    sizeof(cfg->http_token_path))) ||
	    (rc = cfg_int(&c, b, "match_list_max", 2, 100000, &match_list)) ||
	    (rc = cfg_int(&c, b, "match_bundle_window_s", 0, 365LL * 86400, &bundle_s)) ||
	    (rc = cfg_int(&c, b, "match_notices_max", 1, 1000, &match_notices)) ||
	    (rc = cfg_bool(&c, b, "require_sealed", &cfg->require_sealed)))
		goto out;
	cfg->match_list_max = (unsigned)match_list;
	cfg->match_bundle_window_ms = bundle_s * 1000;
	cfg->match_notices_max = (unsigned)match_notices;
	if (map_max_mb == 0)
		map_max_mb = map_mb;
	if (map_max_mb < map_mb) {
		rc = cfg_error(&c, config_setting_get_member(b, "map_max_mb"),
		    "'map_max_mb' must not be below 'map_size_mb'");
		goto out;
	}
	if ((cfg->http_listen[0] == '\0') != (cfg->http_token_path[0] == '\0')) {
		rc = cfg_error(&c, b, "'http_listen' and 'http_token' go together");
		goto out;
	}
	if ((rc = cfg_string(&c, b, "admin_endpoint", 0, cfg->admin_endpoint,
	    sizeof(cfg->admin_endpoint))) != 0 ||
	    (rc = cfg_path(&c, b, "admin_key", 0, cfg->admin_key_path,
	    sizeof(cfg->admin_key_path))) != 0)
		goto out;
	if (strncmp(cfg->admin_endpoint, "ipc://", 6) == 0 && cfg->admin_endpoint[6] != '/' &&
	    cfg->admin_endpoint[6] != '\0' && strcmp(c.base, ".") != 0) {
		/* A relative socket path, like every path here, is the config file's. */
		char abs[sizeof(cfg->admin_endpoint)];
		int n = snprintf(abs, sizeof(abs), "ipc://%s/%s", c.base, cfg->admin_endpoint + 6);

		if (n < 0 || (size_t)n >= sizeof(abs)) {
			rc = cfg_error(&c, b, "'admin_endpoint' is too long");
			goto out;
		}
		memcpy(cfg->admin_endpoint, abs, sizeof(abs));
	}
	if (cfg->admin_endpoint[0] != '\0' && !config_endpoint_local(cfg->admin_endpoint)) {
		rc = cfg_error(&c, config_setting_get_member(b, "admin_endpoint"),
		    "'admin_endpoint' must be ipc:// or loopback (tcp://127.0.0.1, [::1], "
		    "localhost)");
		goto out;
	}
	if ((cfg->admin_endpoint[0] == '\0') != (cfg->admin_key_path[0] == '\0')) {
		rc = cfg_error(&c, b, "'admin_endpoint' and 'admin_key' go together");
		goto out;
	}
	snprintf(cfg->checkpoint_origin, sizeof(cfg->checkpoint_origin), "cluebus/log");
	if ((rc = cfg_string(&c, b, "checkpoint_origin", 0, cfg->checkpoint_origin,
	    sizeof(cfg->checkpoint_origin))) != 0)
		goto out;
	cfg->checkpoint_interval_ms = ckpt_ms;
	snprintf(cfg->petition_unit, sizeof(cfg->petition_unit), "petitions");
	if ((rc = cfg_string(&c, b, "petition_unit", 0, cfg->petition_unit,
	    sizeof(cfg->petition_unit))) != 0 ||
	    (rc = cfg_deadlines(&c, config_lookup(&cf, "deadlines"), cfg)) != 0)
		goto out;
	cfg->map_size = (size_t)map_mb << 20;
	cfg->map_max = (size_t)map_max_mb << 20;
	cfg->disk_min_free = (size_t)disk_min_mb << 20;
	cfg->batch_max = (unsigned)batch;
	cfg->window = (unsigned)window;
	cfg->redeliver_ms = redeliver;
	cfg->peer_timeout_ms = timeout;
	cfg->clock_skew_ms = skew;
	cfg->verify_threads = (int)vthreads;
	if ((rc = calendar_from_config(config_lookup(&cf, "duties"), &cfg->calendar, &err)) == 0)
		rc = route_from_config(config_lookup(&cf, "routing"), &cfg->route, &err);
	if (rc == CB_ECONFIG)
		snprintf(errbuf, errlen, "%s:%d: %s: %s", name, err.line, err.field, err.reason);
out:
	config_destroy(&cf);
	return rc;
}

void
config_broker_free(broker_config_t *cfg)
{
	route_free(cfg->route);
	cfg->route = NULL;
}

/* The agent's optional `divisions`: the jurisdictions its intake accepts, each "CODE" or
 * "CODE NAME" (six ASCII digits, then the division's name), as the broker's
 * routing.divisions. */
static int
cfg_divisions(struct cfgctx *c, const config_setting_t *grp, agent_config_t *cfg)
{
	const config_setting_t *s = config_setting_get_member(grp, "divisions");
	int n;

	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_error(c, s, "'divisions' must be a list of \"CODE NAME\" strings");
	if ((n = config_setting_length(s)) > CONFIG_MAX_DIVISIONS)
		return cfg_error(c, s, "'divisions' has more than %d entries",
		    CONFIG_MAX_DIVISIONS);
	for (int i = 0; i < n; i++) {
		const char *e = config_setting_get_string_elem(s, i);

		if (e == NULL || strspn(e, "0123456789") != 6 || (e[6] != '\0' && e[6] != ' ') ||
		    strlen(e) >= CONFIG_DIVISION_SIZE)
			return cfg_error(c, s, "'divisions' entry %d is not \"CODE NAME\" with a "
			    "6-digit code (at most %d bytes)", i, CONFIG_DIVISION_SIZE - 1);
		snprintf(cfg->divisions[cfg->n_divisions++], CONFIG_DIVISION_SIZE, "%s", e);
	}
	return 0;
}

/* The unit's earlier sealing keys (after rotations), kept to open what was sealed to them. */
static int
cfg_old_seal_keys(struct cfgctx *c, const config_setting_t *grp, agent_config_t *cfg)
{
	const config_setting_t *s = config_setting_get_member(grp, "seal_old_keys");
	int n, w;

	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_error(c, s, "'seal_old_keys' must be a list of key file paths");
	if ((n = config_setting_length(s)) > CONFIG_MAX_OLD_SEAL_KEYS)
		return cfg_error(c, s, "'seal_old_keys' has more than %d entries",
		    CONFIG_MAX_OLD_SEAL_KEYS);
	for (int i = 0; i < n; i++) {
		const char *e = config_setting_get_string_elem(s, i);
		char *out = cfg->seal_old_keys[cfg->n_seal_old_keys];

		if (e == NULL || e[0] == '\0')
			return cfg_error(c, s, "'seal_old_keys' entry %d is not a path", i);
		if (e[0] == '/' || strcmp(c->base, ".") == 0)
			w = snprintf(out, PATH_MAX, "%s", e);
		else
			w = snprintf(out, PATH_MAX, "%s/%s", c->base, e);
		if (w < 0 || w >= PATH_MAX)
			return cfg_error(c, s, "'seal_old_keys' entry %d is too long", i);
		cfg->n_seal_old_keys++;
	}
	return 0;
}

int
config_agent_parse(const char *name, const char *text, agent_config_t *cfg, char *errbuf,
    size_t errlen)
{
	static const char *const top[] = { "agent", NULL };
	static const char *const keys[] = { "unit", "key", "transport_key", "broker", "spool",
	    "state_dir",
	    "registry", "resend_ms", "heartbeat_ms", "poll_ms", "window", "resign_after_ms",
	    "divisions", "correlation_key", "correlation_key_previous", "seal_key", "seal_keys",
	    "seal_routing", "seal_old_keys", NULL };
	long long resend = 5000, heartbeat = 1000, poll = 100, window = 256,
	    resign = 300000;
	const config_setting_t *a;
	struct cfgctx c;
	config_t cf;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg_ctx(&c, name, errbuf, errlen);
	if ((rc = cfg_read_group(&c, &cf, text, top, "agent", &a)) != 0)
		return rc;
	if ((rc = cfg_only(&c, a, keys)) != 0 ||
	    (rc = cfg_string(&c, a, "unit", 1, cfg->unit, sizeof(cfg->unit))) ||
	    (rc = cfg_path(&c, a, "key", 1, cfg->key_path, sizeof(cfg->key_path))) ||
	    (rc = cfg_path(&c, a, "transport_key", 1, cfg->transport_key_path,
	    sizeof(cfg->transport_key_path))) ||
	    (rc = cfg_string(&c, a, "broker", 1, cfg->broker, sizeof(cfg->broker))) ||
	    (rc = cfg_path(&c, a, "spool", 1, cfg->spool_dir, sizeof(cfg->spool_dir))) ||
	    (rc = cfg_path(&c, a, "state_dir", 1, cfg->state_dir, sizeof(cfg->state_dir))) ||
	    (rc = cfg_path(&c, a, "registry", 1, cfg->registry_path,
	    sizeof(cfg->registry_path))) ||
	    (rc = cfg_int(&c, a, "resend_ms", 100, 3600000, &resend)) ||
	    (rc = cfg_int(&c, a, "heartbeat_ms", 100, 60000, &heartbeat)) ||
	    (rc = cfg_int(&c, a, "poll_ms", 10, 60000, &poll)) ||
	    (rc = cfg_int(&c, a, "window", 1, 4096, &window)) ||
	    (rc = cfg_int(&c, a, "resign_after_ms", 500, 86400000, &resign)) ||
	    (rc = cfg_divisions(&c, a, cfg)) ||
	    (rc = cfg_path(&c, a, "correlation_key", 0, cfg->correlation_key_path,
	    sizeof(cfg->correlation_key_path))) ||
	    (rc = cfg_path(&c, a, "correlation_key_previous", 0,
	    cfg->correlation_key_previous_path, sizeof(cfg->correlation_key_previous_path))) ||
	    (rc = cfg_path(&c, a, "seal_key", 0, cfg->seal_key_path,
	    sizeof(cfg->seal_key_path))) ||
	    (rc = cfg_path(&c, a, "seal_keys", 0, cfg->seal_keys_path,
	    sizeof(cfg->seal_keys_path))) ||
	    (rc = cfg_path(&c, a, "seal_routing", 0, cfg->seal_routing_path,
	    sizeof(cfg->seal_routing_path))) ||
	    (rc = cfg_old_seal_keys(&c, a, cfg)))
		goto out;
	if (cfg->correlation_key_path[0] == '\0' && cfg->correlation_key_previous_path[0] != '\0') {
		rc = cfg_error(&c, config_setting_get_member(a, "correlation_key_previous"),
		    "'correlation_key_previous' needs 'correlation_key'");
		goto out;
	}
	if (cfg->n_seal_old_keys > 0 && cfg->seal_key_path[0] == '\0') {
		rc = cfg_error(&c, a, "'seal_old_keys' needs 'seal_key'");
		goto out;
	}
	if ((cfg->seal_keys_path[0] != '\0') != (cfg->seal_routing_path[0] != '\0') ||
	    (cfg->seal_keys_path[0] != '\0' && (cfg->seal_key_path[0] == '\0' ||
	    cfg->registry_path[0] == '\0'))) {
		rc = cfg_error(&c, a, "sealing needs 'seal_key', 'seal_keys', 'seal_routing' "
		    "and 'registry' together");
		goto out;
	}
	if (!unit_id_valid(cfg->unit)) {
		rc = cfg_error(&c, config_setting_get_member(a, "unit"),
		    "'unit' must match [a-z0-9-]{1,32}");
		goto out;
	}
	cfg->resend_ms = resend;
	cfg->heartbeat_ms = heartbeat;
	cfg->poll_ms = poll;
	cfg->window = (unsigned)window;
	cfg->resign_after_ms = resign;
out:
	config_destroy(&cf);
	return rc;
}

/* Reads the config file at `path`: its permissions are checked on the open descriptor, so
 * the file checked is the file read. */
static int
config_slurp(const char *path, char **text, char *errbuf, size_t errlen)
{
	struct stat st;
	size_t len;
	int fd, rc = CB_ECONFIG;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) != 0) {
		if (errno == ENOENT)
			snprintf(errbuf, errlen, "no such file: %s", path);
		else
			snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_mode & 022) {
		snprintf(errbuf, errlen, "%s: refusing a group- or world-writable config", path);
		goto out;
	}
	if ((rc = file_read_fd(fd, CONFIG_MAX_FILE, text, &len)) != 0) {
		snprintf(errbuf, errlen, "%s: %s", path,
		    rc == CB_ETOOBIG ? "larger than 1 MiB" : strerror(errno));
		rc = CB_ECONFIG;
		goto out;
	}
	if (strlen(*text) != len) {
		free(*text);
		snprintf(errbuf, errlen, "%s: contains a NUL byte", path);
		rc = CB_ECONFIG;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
config_broker_load(const char *path, broker_config_t *cfg, char *errbuf, size_t errlen)
{
	char *text;
	int rc;

	if ((rc = config_slurp(path, &text, errbuf, errlen)) != 0)
		return rc;
	rc = config_broker_parse(path, text, cfg, errbuf, errlen);
	free(text);
	return rc;
}

int
config_agent_load(const char *path, agent_config_t *cfg, char *errbuf, size_t errlen)
{
	char *text;
	int rc;

	if ((rc = config_slurp(path, &text, errbuf, errlen)) != 0)
		return rc;
	rc = config_agent_parse(path, text, cfg, errbuf, errlen);
	free(text);
	return rc;
}
