/* tests/fault/test_alloc_faults.c — fail allocation N = 1, 2, ... of each library operation.
 *
 * STYLE.md's fault injection, SQLite's way: every operation below runs once per N with its
 * Nth allocation failing (ours or any library's: OpenSSL, protobuf-c, jansson, libconfig,
 * LMDB), until a run meets no failure. After each run the operation returned an error it
 * documents (an allocation failure is CB_ENOMEM wherever the caller could otherwise take it
 * for bad input, a bad signature or a corrupt log), nothing leaked, the caller's data is
 * unchanged, and for the store the log on disk is what it was and still verifies. The
 * broker's pipeline and the auditor's walk are in broker_ops.c.
 *
 * Usage: test_alloc_faults [TMPDIR]   (run from the repository root; exits 1 on failure)
 * Built without sanitizers (they replace malloc): `make faults`. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libconfig.h>
#include <openssl/err.h>

#include "alloc.h"
#include "audit.h"
#include "cluebus/err.h"
#include "config.h"
#include "directory.h"
#include "envelope.h"
#include "harness.h"
#include "intake.h"
#include "keys.h"
#include "log.h"
#include "registry.h"
#include "seal_ops.h"
#include "store.h"
#include "util.h"
#include "wire.h"

static char	 tmpdir[PATH_MAX - 64];

static void
on_crash(int sig)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "CRASH (signal %d) in %s with allocation %llu "
	    "failing\n", sig, fault_current_op, (unsigned long long)fault_current_n);

	if (write(1, buf, (size_t)n) < 0)
		_exit(2);
	_exit(2);
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf;

	if (file_read_all(path, 4 << 20, &buf, len) != 0)
		fault_die("cannot read %s", path);
	return buf;
}

/* Packs a message into a new buffer (caller frees). */
static uint8_t *
pack_message(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	if ((buf = malloc(*len + 1)) == NULL)
		fault_die("out of memory");
	protobuf_c_message_pack(m, buf);
	return buf;
}

static int
same_packed(const ProtobufCMessage *m, const uint8_t *ref, size_t reflen)
{
	size_t len;
	uint8_t *buf = pack_message(m, &len);
	int same = len == reflen && memcmp(buf, ref, len) == 0;

	free(buf);
	return same;
}

static int
same_bytes(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* ---- envelopes -------------------------------------------------------------------------- */

struct env_ctx {
	Cluebus__Message	*msg;		/* to sign: sender, id, time set, key_id empty */
	cb_key_t		*key, *pub;
	Cluebus__Envelope	*ref;		/* the unfaulted signature */
	Cluebus__Envelope	*out;
	Cluebus__Message	*opened;
	cb_error_t		 err;
};

static int
sign_run(void *arg)
{
	struct env_ctx *c = arg;

	return envelope_sign(c->msg, c->key, &c->out);
}

static const char *
sign_check(void *arg, int rc, int hit)
{
	struct env_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0) {
		/* Ed25519 is deterministic: the same bytes and signature as unfaulted. */
		if (!same_bytes(&c->out->signed_, &c->ref->signed_) ||
		    !same_bytes(&c->out->signature, &c->ref->signature) ||
		    !same_bytes(&c->out->key_id, &c->ref->key_id) ||
		    strcmp(c->out->sender, c->ref->sender) != 0)
			why = "signed envelope differs from the unfaulted one";
		c->msg->key_id.data = NULL;	/* pointed into c->out */
		c->msg->key_id.len = 0;
		envelope_free(c->out);
		c->out = NULL;
		return why;
	}
	if (rc != CB_ENOMEM && rc != CB_ECRYPTO)
		return "unexpected error code";
	if (c->msg->key_id.len != 0 || c->msg->key_id.data != NULL)
		return "the message's key_id was left pointing into freed memory";
	return NULL;
}

static int
verify_run(void *arg)
{
	struct env_ctx *c = arg;

	return envelope_verify(c->ref, c->pub);
}

static const char *
verify_check(void *arg, int rc, int hit)
{
	(void)arg;
	(void)hit;
	if (rc == CB_EBADSIG)
		return "an allocation failure made a good signature look bad";
	return rc == 0 || rc == CB_ECRYPTO ? NULL : "unexpected error code";
}

static int
open_run(void *arg)
{
	struct env_ctx *c = arg;

	memset(&c->err, 0, sizeof(c->err));
	return envelope_open(c->ref, &c->opened, &c->err);
}

static const char *
open_check(void *arg, int rc, int hit)
{
	struct env_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0) {
		if (!same_packed(&c->opened->base, c->ref->signed_.data, c->ref->signed_.len))
			why = "opened message differs from what was signed";
		protobuf_c_message_free_unpacked(&c->opened->base, NULL);
		c->opened = NULL;
		return why;
	}
	if (rc != CB_ENOMEM)
		return "out of memory reported as bad input (the broker would refuse a valid "
		    "message for good)";
	if (c->err.reason[0] == '\0')
		return "err not set";
	return NULL;
}

/* ---- wire frames ------------------------------------------------------------------------ */

struct wire_ctx {
	uint8_t		*raw;
	size_t		 len;
	Cluebus__Frame	*f;
};

static int
decode_run(void *arg)
{
	struct wire_ctx *c = arg;

	return wire_decode(c->raw, c->len, &c->f);
}

static const char *
decode_check(void *arg, int rc, int hit)
{
	struct wire_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0) {
		if (!same_packed(&c->f->base, c->raw, c->len))
			why = "decoded frame differs";
		wire_free(c->f);
		c->f = NULL;
		return why;
	}
	return rc == CB_ENOMEM ? NULL : "out of memory reported as a malformed frame";
}

/* ---- JSON intake ------------------------------------------------------------------------ */

struct intake_ctx {
	char			 path[PATH_MAX];
	char			*json;
	size_t			 len;
	uint8_t			*ref;		/* packed unfaulted result */
	size_t			 reflen;
	char			*refdump;	/* intake_to_json of it, dumped */
	Cluebus__Message	*msg;
	json_t			*rendered;
	cb_error_t		 err;
};

/* A fixed publishing time: relative due times ("receipt_due_in") parse the same each run. */
static const intake_rules_t intake_fixed_clock = { .now_ms = INT64_C(1767225600000) };

static int
intake_run(void *arg)
{
	struct intake_ctx *c = arg;

	memset(&c->err, 0, sizeof(c->err));
	return intake_parse(c->json, c->len, &intake_fixed_clock, &c->msg, &c->err, NULL);
}

static const char *
intake_check(void *arg, int rc, int hit)
{
	struct intake_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0) {
		if (c->ref != NULL && !same_packed(&c->msg->base, c->ref, c->reflen) &&
		    hit && fault_hit_in((const void *)json_loadb)) {
			/* jansson 2.14's lexer ignores a failed append to its token buffer
			 * (lex_save): the string comes out with bytes missing. */
			fault_known("LIBRARY jansson 2.14: json_loadb drops bytes of a string "
			    "when an allocation of its lexer fails, and succeeds");
		} else if (c->ref != NULL && !same_packed(&c->msg->base, c->ref, c->reflen)) {
			why = "parsed message differs from the unfaulted one";
			if (getenv("FAULT_DEBUG") != NULL) {
				json_t *j = intake_to_json(c->msg);
				char *d = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);

				printf("got: %s\n", d);
				free(d);
				json_decref(j);
			}
		}
		protobuf_c_message_free_unpacked(&c->msg->base, NULL);
		c->msg = NULL;
		return why;
	}
	/* jansson 2.14's lexer turns some of its own allocation failures into syntax errors
	 * ("invalid token", "string or '}' expected"): nothing the caller can tell apart. */
	if (rc == CB_EMALFORMED && fault_hit_in((const void *)json_loadb)) {
		fault_excused++;
		return NULL;
	}
	if (rc != CB_ENOMEM) {
		static char why_buf[512];

		snprintf(why_buf, sizeof(why_buf), "out of memory reported as a bad document (the "
		    "agent would move a valid document to rejected/): %s: %s", c->err.field,
		    c->err.reason);
		return why_buf;
	}
	return c->err.reason[0] == '\0' ? "err not set" : NULL;
}

static int
render_run(void *arg)
{
	struct intake_ctx *c = arg;

	c->rendered = intake_to_json(c->msg);
	return c->rendered != NULL ? 0 : CB_ENOMEM;
}

static const char *
render_check(void *arg, int rc, int hit)
{
	struct intake_ctx *c = arg;
	const char *why = NULL;
	char *dump;

	(void)hit;
	if (rc != 0)
		return NULL;
	if ((dump = json_dumps(c->rendered, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
		fault_die("json_dumps");
	if (c->refdump != NULL && strcmp(dump, c->refdump) != 0) {
		why = "rendered document differs from the unfaulted one (a member was dropped)";
		if (getenv("FAULT_DEBUG") != NULL)
			printf("got:  %s\nwant: %s\n", dump, c->refdump);
	}
	free(dump);
	json_decref(c->rendered);
	c->rendered = NULL;
	return why;
}

/* ---- registry --------------------------------------------------------------------------- */

struct reg_ctx {
	char		*json;
	size_t		 len, units;
	registry_t	*reg;
	cb_error_t	 err;
};

static int
registry_run(void *arg)
{
	struct reg_ctx *c = arg;
	Cluebus__Registry **recs = NULL;
	size_t n = 0;
	int rc;

	memset(&c->err, 0, sizeof(c->err));
	if ((rc = registry_parse_json(c->json, c->len, &recs, &n, &c->err)) != 0)
		return rc;
	if ((c->reg = registry_new()) == NULL)
		rc = CB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = registry_apply(c->reg, recs[i], 1000, &c->err);
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	}
	free(recs);
	return rc;
}

static const char *
registry_check(void *arg, int rc, int hit)
{
	struct reg_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0 && registry_count(c->reg) != c->units)
		why = "registry lost units";
	else if (rc == 0 && registry_current_key(c->reg, "psb") == NULL)
		why = "registry lost a key";
	else if (rc == CB_EMALFORMED && fault_hit_in((const void *)json_loadb))
		fault_excused++;	/* jansson's lexer: see intake_check */
	else if (rc != 0 && rc != CB_ENOMEM) {
		static char why_buf[512];

		snprintf(why_buf, sizeof(why_buf), "out of memory reported as a bad registry file: "
		    "%s: %s", c->err.field, c->err.reason);
		why = why_buf;
	}
	registry_free(c->reg);
	c->reg = NULL;
	return why;
}

/* ---- the signed directory ---------------------------------------------------------------- */

/* The directory's operation runs a whole build, signature and parse per allocation, about
 * 2,000 allocations with the 41 units: over these 6 units and a routing table naming only
 * them it runs the same code in a fraction of the time (the registry's operation above
 * takes all 41). */
static const char *const dir_units[] = { "ato", "psb", "health", "education",
    "civil-affairs", "ato-210302" };
static const char dir_routing[] = "routing = { office = \"ato\"; "
    "divisions = [ \"210302 铁东区\" ]; immediate = [ \"psb\" ]; "
    "case_openers = [ \"psb\" ]; categories = { school = [ \"psb\", \"education\" ]; "
    "medical = [ \"psb\", \"health\" ]; vagrant = [ \"psb\", \"civil-affairs\" ]; }; };";

/* The registry document `root` with only the units of dir_units (and the broker). */
static char *
dir_registry_json(const json_t *root)
{
	json_t *copy = json_deep_copy(root), *units;
	char *text;

	if (copy == NULL || (units = json_object_get(copy, "units")) == NULL)
		fault_die("json_deep_copy");
	for (size_t i = json_array_size(units); i-- > 0;) {
		const char *id = json_string_value(json_object_get(json_array_get(units, i),
		    "id"));
		int keep = 0;

		for (size_t j = 0; j < sizeof(dir_units) / sizeof(dir_units[0]); j++)
			keep |= id != NULL && strcmp(id, dir_units[j]) == 0;
		if (!keep)
			json_array_remove(units, i);
	}
	if (json_array_size(units) != sizeof(dir_units) / sizeof(dir_units[0]) ||
	    (text = json_dumps(copy, 0)) == NULL)
		fault_die("the directory's registry");
	json_decref(copy);
	return text;
}

struct dir_ctx {
	const registry_t *reg;		/* the broker's, with its key as "broker" */
	const char	*routing;
	const cb_key_t	*key;
	directory_t	*d;
	cb_error_t	 err;
};

static int
directory_run(void *arg)
{
	struct dir_ctx *c = arg;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(&c->err, 0, sizeof(c->err));
	if ((rc = directory_build(c->reg, c->routing, 9, 5000, c->key, &buf, &len)) != 0)
		return rc;
	rc = directory_open(buf, len, c->reg, &c->d, &c->err);
	free(buf);
	return rc;
}

static const char *
directory_check(void *arg, int rc, int hit)
{
	struct dir_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0 && (directory_version(c->d) != 9 ||
	    registry_count(directory_registry(c->d)) != registry_count(c->reg)))
		why = "the directory lost units";
	else if (rc != 0 && rc != CB_ENOMEM && rc != CB_ECRYPTO) {
		static char why_buf[512];

		snprintf(why_buf, sizeof(why_buf), "out of memory reported as a bad directory: "
		    "%s: %s (%s)", c->err.field, c->err.reason, cb_strerror(rc));
		why = why_buf;
	}
	directory_free(c->d);
	c->d = NULL;
	return why;
}

/* ---- configuration ---------------------------------------------------------------------- */

struct cfg_ctx {
	const char	*name;
	char		*text;
	int		 agent;
	broker_config_t	 ref, cfg;
	agent_config_t	 aref, acfg;
	char		 errbuf[512];
};

static int
config_run(void *arg)
{
	struct cfg_ctx *c = arg;

	c->errbuf[0] = '\0';
	if (c->agent)
		return config_agent_parse(c->name, c->text, &c->acfg, c->errbuf,
		    sizeof(c->errbuf));
	return config_broker_parse(c->name, c->text, &c->cfg, c->errbuf, sizeof(c->errbuf));
}

/* Field by field: bytes after a string's NUL may differ (config.c copies whole buffers). */
static int
same_broker_config(const broker_config_t *a, const broker_config_t *b)
{
	return strcmp(a->endpoint, b->endpoint) == 0 && strcmp(a->data_dir, b->data_dir) == 0 &&
	    strcmp(a->key_path, b->key_path) == 0 &&
	    strcmp(a->transport_key_path, b->transport_key_path) == 0 &&
	    strcmp(a->registry_path, b->registry_path) == 0 &&
	    strcmp(a->admin_endpoint, b->admin_endpoint) == 0 &&
	    strcmp(a->admin_key_path, b->admin_key_path) == 0 && a->map_size == b->map_size &&
	    a->batch_max == b->batch_max && a->window == b->window &&
	    a->redeliver_ms == b->redeliver_ms && a->peer_timeout_ms == b->peer_timeout_ms &&
	    a->clock_skew_ms == b->clock_skew_ms &&
	    memcmp(a->receipt_due_ms, b->receipt_due_ms, sizeof(a->receipt_due_ms)) == 0 &&
	    memcmp(a->feedback_due_ms, b->feedback_due_ms, sizeof(a->feedback_due_ms)) == 0 &&
	    strcmp(a->petition_unit, b->petition_unit) == 0 && a->route != NULL &&
	    strcmp(route_office(a->route), route_office(b->route)) == 0;
}

static int
same_agent_config(const agent_config_t *a, const agent_config_t *b)
{
	return strcmp(a->unit, b->unit) == 0 && strcmp(a->key_path, b->key_path) == 0 &&
	    strcmp(a->transport_key_path, b->transport_key_path) == 0 &&
	    strcmp(a->broker, b->broker) == 0 && strcmp(a->spool_dir, b->spool_dir) == 0 &&
	    strcmp(a->state_dir, b->state_dir) == 0 &&
	    strcmp(a->registry_path, b->registry_path) == 0 && a->resend_ms == b->resend_ms &&
	    a->heartbeat_ms == b->heartbeat_ms && a->poll_ms == b->poll_ms &&
	    a->resign_after_ms == b->resign_after_ms && a->window == b->window;
}

static const char *
config_check(void *arg, int rc, int hit)
{
	struct cfg_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0 && c->agent) {
		if (!same_agent_config(&c->acfg, &c->aref))
			why = "agent config differs from the unfaulted one";
	} else if (rc == 0) {
		if (!same_broker_config(&c->cfg, &c->ref))
			why = "broker config differs from the unfaulted one";
		config_broker_free(&c->cfg);
	} else if (rc != CB_ENOMEM) {
		why = "out of memory reported as a configuration error";
	}
	return why;
}

/* ---- the store -------------------------------------------------------------------------- */

#define STORE_BATCH	5

struct store_ctx {
	char		 dir[PATH_MAX];
	uint64_t	 head;		/* committed before the run */
	uint8_t		 hash[CHAIN_HASH_LEN];
	unsigned	 ids;		/* message ids committed */
	int		 memory_moved;	/* a failed append or commit moved the head */
};

/* Opens the store, appends a batch of entries (acks with message ids, routed to psb),
 * commits, closes: every allocation of LMDB's open, write and commit paths is reached. */
static int
store_run(void *arg)
{
	static char *recips[] = { "psb", "ato" };
	struct store_ctx *c = arg;
	uint8_t hash[CHAIN_HASH_LEN];
	store_txn_t *t = NULL;
	store_t *s = NULL;
	int rc;

	c->memory_moved = 0;
	if ((rc = store_open(c->dir, 0, 1 << 24, &s)) != 0)
		return rc;
	if ((rc = store_begin(s, &t)) != 0)
		goto out;
	for (unsigned i = 0; i < STORE_BATCH; i++) {
		Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
		Cluebus__DeliveryAck ack = CLUEBUS__DELIVERY_ACK__INIT;
		uint8_t id[16] = { 0 };
		unsigned v = c->ids + i;

		memcpy(id, &v, sizeof(v));
		ack.unit = "psb";
		e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
		e.time_ms = 1000 + v;
		e.ack = &ack;
		e.recipients = recips;
		e.n_recipients = 2;
		if ((rc = store_txn_append(t, &e, id, 0, hash)) != 0)
			goto out;
	}
	rc = store_txn_commit(t);
	t = NULL;
out:
	store_txn_abort(t);
	if (rc != 0 && (store_head_seq(s) != c->head ||
	    memcmp(store_head_hash(s), c->hash, CHAIN_HASH_LEN) != 0))
		c->memory_moved = 1;
	store_close(s);
	return rc;
}

static const char *
store_check(void *arg, int rc, int hit)
{
	struct store_ctx *c = arg;
	uint64_t head = rc == 0 ? c->head + STORE_BATCH : c->head, depth, seq;
	unsigned ids = rc == 0 ? c->ids + STORE_BATCH : c->ids;
	audit_result_t res;
	const char *why = NULL;
	store_t *s;

	(void)hit;
	if (rc != 0 && rc != CB_ENOMEM && rc != CB_ESTORE && rc != CB_ECRYPTO)
		return "unexpected error code";
	if (c->memory_moved)
		return "a failed append moved the in-memory head";
	if (store_open(c->dir, STORE_RDONLY, 1 << 24, &s) != 0)
		return "the store no longer opens";
	if (store_head_seq(s) != head)
		why = rc == 0 ? "success reported, entries missing" :
		    "failure reported, but entries were written";
	else if (rc != 0 && memcmp(store_head_hash(s), c->hash, CHAIN_HASH_LEN) != 0)
		why = "head hash changed";
	else if (store_backlog_depth(s, "ato", &depth) != 0 || depth != head)
		why = "backlog does not match the log";
	for (unsigned i = 0; why == NULL && i < c->ids + STORE_BATCH; i++) {
		uint8_t id[16] = { 0 };

		memcpy(id, &i, sizeof(i));
		if (store_msgid_get(s, id, &seq) != (i < ids ? 0 : CB_ENOTFOUND))
			why = "message id index does not match the log";
	}
	if (why == NULL && audit_verify(s, NULL, 0, &res) != 0)
		why = "the log no longer verifies";
	if (why == NULL && rc == 0) {
		c->head = head;
		memcpy(c->hash, store_head_hash(s), CHAIN_HASH_LEN);
		c->ids = ids;
	}
	store_close(s);
	return why;
}

/* ---- main ------------------------------------------------------------------------------- */

static Cluebus__Message *
load_message(const char *path, const char *sender, int64_t created)
{
	Cluebus__Message *m;
	cb_error_t err;
	size_t len;
	char *json = slurp(path, &len);

	if (intake_from_json(json, len, &m, &err) != 0)
		fault_die("%s: %s: %s", path, err.field, err.reason);
	free(json);
	m->sender = strdup(sender);
	m->created_ms = created;
	if (m->message_id.len == 0) {
		m->message_id.data = malloc(16);
		m->message_id.len = 16;
		if (m->message_id.data == NULL || rand_bytes(m->message_id.data, 16) != 0)
			fault_die("message id");
	}
	return m;
}

static int
lib_faults(void)
{
	static struct env_ctx env;
	static struct wire_ctx wire;
	static struct reg_ctx reg, dreg;
	static struct dir_ctx dir;
	static struct cfg_ctx bcfg;
	static struct store_ctx st;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Publish pub = CLUEBUS__PUBLISH__INIT;
	json_t *units, *u;
	char hexkey[2 * KEY_PUBLIC_LEN + 1];
	struct dirent **names;
	size_t i, len;
	int failed = 0, nfiles;

	/* Envelopes. */
	fault_current_op = "envelope setup";
	if (key_generate(&env.key) != 0 ||
	    key_from_public(key_public(env.key), KEY_PUBLIC_LEN, &env.pub) != 0)
		fault_die("keys");
	env.msg = load_message("examples/json/clue-medical.json", "health", clock_now_ms());
	if (envelope_sign(env.msg, env.key, &env.ref) != 0)
		fault_die("sign");
	env.msg->key_id.data = NULL;
	env.msg->key_id.len = 0;
	failed += fault_run(&(struct fault_op){ "envelope_sign (a medical clue)", NULL, sign_run,
	    sign_check, NULL, &env, 5 });
	/* Verification (libsodium) allocates nothing: min 0, and it must not fail. */
	failed += fault_run(&(struct fault_op){ "envelope_verify", NULL, verify_run,
	    verify_check, NULL, &env, 0 });
	failed += fault_run(&(struct fault_op){ "envelope_open (a medical clue)", NULL, open_run,
	    open_check, NULL, &env, 10 });

	/* Wire frames. */
	pub.envelope = env.ref;
	pub.message_id = env.msg->message_id;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &pub;
	wire.raw = pack_message(&f.base, &wire.len);
	failed += fault_run(&(struct fault_op){ "wire_decode (a Publish frame)", NULL, decode_run,
	    decode_check, NULL, &wire, 3 });

	/* JSON intake of every example document, and rendering it back. */
	if ((nfiles = scandir("examples/json", &names, NULL, alphasort)) < 0)
		fault_die("examples/json");
	for (int k = 0; k < nfiles; k++) {
		struct intake_ctx ic;
		char name[2][PATH_MAX + 40];

		if (strstr(names[k]->d_name, ".json") == NULL) {
			free(names[k]);
			continue;
		}
		memset(&ic, 0, sizeof(ic));
		snprintf(ic.path, sizeof(ic.path), "examples/json/%s", names[k]->d_name);
		free(names[k]);
		fault_current_op = ic.path;
		ic.json = slurp(ic.path, &ic.len);
		if (intake_run(&ic) != 0)
			fault_die("%s: %s", ic.err.field, ic.err.reason);
		ic.ref = pack_message(&ic.msg->base, &ic.reflen);
		protobuf_c_message_free_unpacked(&ic.msg->base, NULL);
		ic.msg = NULL;
		snprintf(name[0], sizeof(name[0]), "intake_from_json (%s)", ic.path);
		failed += fault_run(&(struct fault_op){ name[0], NULL, intake_run, intake_check,
		    NULL, &ic, 20 });
		if (intake_from_json(ic.json, ic.len, &ic.msg, &ic.err) != 0)
			fault_die("%s: %s", ic.err.field, ic.err.reason);
		ic.msg->sender = strdup("health");
		ic.msg->created_ms = 1767225600000;
		if ((ic.rendered = intake_to_json(ic.msg)) == NULL ||
		    (ic.refdump = json_dumps(ic.rendered, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
			fault_die("render");
		json_decref(ic.rendered);
		ic.rendered = NULL;
		snprintf(name[1], sizeof(name[1]), "intake_to_json (%s)", ic.path);
		failed += fault_run(&(struct fault_op){ name[1], NULL, render_run, render_check,
		    NULL, &ic, 10 });
		protobuf_c_message_free_unpacked(&ic.msg->base, NULL);
		free(ic.refdump);
		free(ic.ref);
		free(ic.json);
	}
	free(names);

	/* The registry: the 40 units of units.sample.json, each with a signing key. */
	fault_current_op = "registry setup";
	hex_encode(key_public(env.key), KEY_PUBLIC_LEN, hexkey);
	{
		json_error_t jerr;
		json_t *root = json_load_file("../shared/units.sample.json", 0, &jerr);

		if (root == NULL)
			root = json_load_file("/work/shared/units.sample.json", 0, &jerr);
		if (root == NULL || (units = json_object_get(root, "units")) == NULL)
			fault_die("units.sample.json: %s", jerr.text);
		json_array_foreach(units, i, u)
			json_object_set_new(u, "sign_public", json_string(hexkey));
		json_object_set_new(root, "broker", json_pack("{s:s}", "sign_public", hexkey));
		reg.units = json_array_size(units) + 1;
		if ((reg.json = json_dumps(root, 0)) == NULL)
			fault_die("json_dumps");
		reg.len = strlen(reg.json);
		dreg.json = dir_registry_json(root);
		dreg.len = strlen(dreg.json);
		json_decref(root);
	}
	failed += fault_run(&(struct fault_op){ "registry_parse_json + registry_apply (41 units)",
	    NULL, registry_run, registry_check, NULL, &reg, 100 });
	registry_free(reg.reg);
	reg.reg = NULL;
	free(reg.json);
	if (registry_run(&dreg) != 0)	/* unarmed: the directory's registry */
		fault_die("registry: %s: %s", dreg.err.field, dreg.err.reason);
	free(dreg.json);

	/* Configuration files: the shipped examples. */
	bcfg.name = "config/broker.conf.example";
	bcfg.text = slurp(bcfg.name, &len);
	if (config_broker_parse(bcfg.name, bcfg.text, &bcfg.ref, bcfg.errbuf,
	    sizeof(bcfg.errbuf)) != 0)
		fault_die("%s", bcfg.errbuf);
	/* libconfig 1.5 does not check its own allocations (config_init() dereferences a failed
	 * calloc; flex's scanner exits): only ours fail here. The agent's config is not run:
	 * all its allocations are libconfig's. */
	fault_exempt((const void *)config_init);
	failed += fault_run(&(struct fault_op){ "config_broker_parse (broker.conf.example)", NULL,
	    config_run, config_check, NULL, &bcfg, 10 });
	/* A directory of 6 units and a routing table naming them (dir_units), built, signed,
	 * verified and parsed (libconfig's own allocations are exempt, as above). */
	dir.reg = dreg.reg;
	dir.routing = dir_routing;
	dir.key = env.key;
	failed += fault_run(&(struct fault_op){ "directory_build + directory_open (6 units)",
	    NULL, directory_run, directory_check, NULL, &dir, 100 });
	registry_free(dreg.reg);
	dreg.reg = NULL;
	config_broker_free(&bcfg.ref);
	free(bcfg.text);
	fault_exempt(NULL);

	/* The store: open, append 5 entries, commit, close. */
	snprintf(st.dir, sizeof(st.dir), "%s/store", tmpdir);
	if (file_mkdirs(st.dir, 0700) != 0)
		fault_die("mkdir %s", st.dir);
	memset(st.hash, 0, sizeof(st.hash));
	failed += fault_run(&(struct fault_op){ "store open + 5 appends + commit + close", NULL,
	    store_run, store_check, NULL, &st, 20 });

	free(wire.raw);
	envelope_free(env.ref);
	protobuf_c_message_free_unpacked(&env.msg->base, NULL);
	key_free(env.pub);
	key_free(env.key);
	return failed;
}

int
main(int argc, char **argv)
{
	char cmd[PATH_MAX + 16], repo[PATH_MAX];
	int failed = 0, devnull;

	signal(SIGSEGV, on_crash);
	signal(SIGABRT, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Allocation N must be the same allocation in every run: no worker threads (the
	 * auditor's and the broker's pools would allocate in their own order). */
	setenv("CLUEBUS_VERIFY_THREADS", "0", 1);
	if (getcwd(repo, sizeof(repo)) == NULL)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "%s/cb-faults.XXXXXX", argc > 1 ? argv[1] : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* Library log lines (a failed round, a refused frame) are expected by the hundred. */
	if (getenv("FAULT_VERBOSE") == NULL && (devnull = open("/dev/null", O_WRONLY)) >= 0)
		dup2(devnull, 2);
	fault_init();
	/* Log lines format times (glibc caches the time zone on first use). */
	log_warnx("fault injection starting");
	/* OpenSSL's per-thread error state, allocated once on the first error. */
	ERR_raise(ERR_LIB_USER, 1);
	ERR_clear_error();

	failed += lib_faults();
	failed += seal_faults();
	failed += broker_faults(tmpdir, repo);
	fault_known_report();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (failed == 0 && system(cmd) != 0)
		printf("could not remove %s\n", tmpdir);
	printf("%s: %d operation(s) failed\n", failed ? "FAIL" : "PASS", failed);
	return failed ? 1 : 0;
}
