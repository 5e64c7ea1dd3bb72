/* tests/fault/broker_ops.c — the broker's pipeline and the auditor's walk under failing
 * allocations.
 *
 * The broker here is the real one (the objects of broker/ but main.o) around a real LMDB store in a
 * temporary directory, without sockets: a run hands a decoded Publish (or an Ack) to
 * pipeline_publish / round_ack and commits the round with round_commit, which is what
 * broker/main.c's loop does for every frame. The round hands its replies to the send
 * function given to round_commit, which records them here; fatalx is caught by wrapping it
 * (-Wl,--wrap=fatalx: the broker exits on a corrupt store, and an allocation failure must
 * never lead there). After every run:
 *   - the round is closed (no open transaction, no pending reply, no failed flag);
 *   - either the message was committed (one more entry, its Accepted reply, its counter)
 *     or nothing was (same head and hash, same counters, and the reply, if any, is the
 *     transient "unavailable" that makes the agent retry): a valid message is never
 *     refused for good because memory ran out;
 *   - the log verifies with signatures (audit_verify);
 *   - nothing leaked, counting from before the broker was set up to after it was torn
 *     down (LMDB keeps dirty pages cached until the environment closes). */
#include <execinfo.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "audit.h"
#include "broker.h"
#include "envelope.h"
#include "harness.h"
#include "intake.h"
#include "util.h"
#include "wire.h"

void	__wrap_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The replies of one run, as round_commit handed them to reply_record. */
static struct {
	unsigned	 n;
	int		 frame_case, code, duplicate;
	uint64_t	 seq;
} reply;

static void
reply_record(void *arg, const uint8_t *rid, size_t ridlen, const Cluebus__Frame *f)
{
	(void)arg;
	(void)rid;
	(void)ridlen;
	reply.n++;
	reply.frame_case = f->frame_case;
	reply.code = f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED ? (int)f->rejected->code : 0;
	reply.seq = f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED ? f->accepted->seq : 0;
	reply.duplicate = f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED ?
	    f->accepted->duplicate : 0;
}

/* Where __wrap_fatalx returns to, while a run is under way. */
static jmp_buf	 fatal_env;
static int	 fatal_armed;
static char	 fatal_text[256];

void
__wrap_fatalx(const char *fmt, ...)
{
	va_list ap;

	if (fatal_armed) {
		fatal_armed = 0;
		va_start(ap, fmt);
		vsnprintf(fatal_text, sizeof(fatal_text), fmt, ap);
		va_end(ap);
		longjmp(fatal_env, 1);
	}
	fault_disarm();
	printf("FAIL %s: allocation %llu failed: the broker would exit: ", fault_current_op,
	    (unsigned long long)fault_current_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (getenv("FAULT_DEBUG") != NULL) {
		void *frames[32];

		fflush(stdout);
		backtrace_symbols_fd(frames, backtrace(frames, 32), 1);
	}
	exit(1);
}

enum bop { BOP_PUBLISH, BOP_ACK };

struct bctx {
	enum bop	 op;
	const char	*doc;		/* examples/json file */
	const char	*sender;
	const char	*msgid;		/* hex, or NULL for a new random one */
	int		 forge;		/* flip a signature bit */
	/* per run */
	struct broker	 b;
	Cluebus__Frame	*frame;
	uint8_t		*raw;
	size_t		 rawlen;
	uint64_t	 head, backlog;
	uint8_t		 hash[CHAIN_HASH_LEN];
	struct counters	 count;
	size_t		 nreg;
	uint8_t		 id[16];
	int		 known;		/* the id was committed before this run */
	int		 fatal;		/* the run ended in fatalx (the broker would exit) */
};

static char	 confname[PATH_MAX];
static char	*conftext;
#define NUNITS	6
static cb_key_t	*broker_key, *unit_keys[NUNITS];
static const char *const unit_names[NUNITS] = { "ato", "psb", "health", "civil-affairs",
	"education", "ato-210302" };
static const char *const unit_roles[NUNITS] = { "office", "member", "member", "member",
	"member", "district_office" };
static transport_keypair_t broker_tkey;

static const cb_key_t *
key_of(const char *unit)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (strcmp(unit_names[i], unit) == 0)
			return unit_keys[i];
	fault_die("no key for %s", unit);
}

static void
broker_up(struct broker *b)
{
	char errbuf[512];
	int rc;

	memset(b, 0, sizeof(*b));
	if (config_broker_parse(confname, conftext, &b->cfg, errbuf, sizeof(errbuf)) != 0)
		fault_die("%s", errbuf);
	b->key = broker_key;
	b->tkey = broker_tkey;
	if ((rc = store_open(b->cfg.data_dir, 0, b->cfg.map_size, &b->store)) != 0 ||
	    (rc = genesis_sync(b, 0)) != 0)
		fault_die("broker start: %s", cb_strerror(rc));
	if (units_init(b) != 0)
		fault_die("out of memory");
}

static void
broker_down(struct broker *b)
{
	store_close(b->store);
	registry_free(b->reg);
	units_free(b);
	free(b->pending);
	config_broker_free(&b->cfg);
	memset(b, 0, sizeof(*b));
}

/* A signed Publish frame of an example document, packed. */
static void
make_publish(struct bctx *c)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Publish pub = CLUEBUS__PUBLISH__INIT;
	Cluebus__Envelope *env;
	Cluebus__Message *m;
	cb_error_t err;
	size_t len;
	char *json;

	if (file_read_all(c->doc, 1 << 20, &json, &len) != 0 ||
	    intake_from_json(json, len, &m, &err) != 0)
		fault_die("%s", c->doc);
	free(json);
	if (c->msgid != NULL) {
		if (hex_decode(c->msgid, c->id, 16) != 0)
			fault_die("id");
	} else if (rand_bytes(c->id, 16) != 0) {
		fault_die("rand");
	}
	free(m->message_id.data);
	if ((m->message_id.data = malloc(16)) == NULL)
		fault_die("out of memory");
	memcpy(m->message_id.data, c->id, 16);
	m->message_id.len = 16;
	m->sender = strdup(c->sender);
	m->created_ms = clock_now_ms();
	if (envelope_sign(m, key_of(c->sender), &env) != 0)
		fault_die("sign");
	m->key_id.data = NULL;
	m->key_id.len = 0;
	protobuf_c_message_free_unpacked(&m->base, NULL);
	if (c->forge)
		env->signature.data[7] ^= 0x10;
	pub.envelope = env;
	pub.message_id.data = c->id;
	pub.message_id.len = 16;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &pub;
	c->rawlen = cluebus__frame__get_packed_size(&f);
	if ((c->raw = malloc(c->rawlen)) == NULL)
		fault_die("out of memory");
	cluebus__frame__pack(&f, c->raw);
	envelope_free(env);
	if (wire_decode(c->raw, c->rawlen, &c->frame) != 0)
		fault_die("decode");
}

static char	 data_file[PATH_MAX], snap_file[PATH_MAX];

static void
copy_file(const char *from, const char *to)
{
	size_t len;
	char *buf;

	if (file_read_all(from, 1 << 28, &buf, &len) != 0 ||
	    file_write_atomic(to, buf, len, 0600) != 0)
		fault_die("copy %s to %s", from, to);
	free(buf);
}

/* Every run starts from the log as it was before the operation's first run: a run that
 * committed (a tolerated failure) must not turn the next ones into duplicates. */
static void
bop_setup(void *arg)
{
	struct bctx *c = arg;
	uint64_t seq;

	copy_file(snap_file, data_file);
	broker_up(&c->b);
	c->head = store_head_seq(c->b.store);
	memcpy(c->hash, store_head_hash(c->b.store), CHAIN_HASH_LEN);
	c->count = c->b.count;
	c->nreg = registry_count(c->b.reg);
	memset(&reply, 0, sizeof(reply));
	if (c->op == BOP_PUBLISH) {
		make_publish(c);
		c->known = store_msgid_get(c->b.store, c->id, &seq) == 0;
	} else {
		struct unitq *uq = units_find(&c->b, "psb");

		/* A new clue for psb, committed unfaulted, so that there is something to
		 * acknowledge in every run. */
		c->doc = "examples/json/clue-medical.json";
		c->sender = "health";
		make_publish(c);
		pipeline_publish(&c->b, units_find(&c->b, c->sender), (const uint8_t *)"rid",
		    3, c->frame, NULL, c->raw, c->rawlen);
		round_commit(&c->b, reply_record, NULL);
		c->head = store_head_seq(c->b.store);
		memcpy(c->hash, store_head_hash(c->b.store), CHAIN_HASH_LEN);
		c->count = c->b.count;
		memset(&reply, 0, sizeof(reply));
		/* psb's agent got everything up to the head and acknowledges it. */
		uq->online = 1;
		uq->sent_upto = c->head;
		uq->inflight = 1;
		if (store_backlog_depth(c->b.store, "psb", &c->backlog) != 0)
			fault_die("backlog");
	}
}

/* The outcome the operation is after happened: an entry was committed, or the sender got
 * its answer (Accepted for a resend, the refusal of a forgery). */
static int
bop_outcome(struct bctx *c)
{
	if (store_head_seq(c->b.store) != c->head)
		return 0;
	if (reply.n == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
		return 0;
	if (reply.n == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
	    reply.code != CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE)
		return 0;
	return CB_ENOMEM;
}

static int
bop_run(void *arg)
{
	struct bctx *c = arg;

	c->fatal = 0;
	if (setjmp(fatal_env) != 0) {
		struct broker *b = &c->b;

		/* The broker would have exited here: an allocation failure must never
		 * stop it (chain_decode says CB_ENOMEM, not CB_ECORRUPT). */
		c->fatal = 1;
		store_txn_abort(b->txn);
		b->txn = NULL;
		for (size_t i = 0; i < b->npending; i++)
			cluebus__frame__free_unpacked(b->pending[i].reply, NULL);
		b->npending = 0;
		b->round_failed = 0;
		memset(&b->round, 0, sizeof(b->round));
		return CB_ECORRUPT;
	}
	fatal_armed = 1;
	if (c->op == BOP_PUBLISH)
		pipeline_publish(&c->b, units_find(&c->b, c->sender), (const uint8_t *)"rid",
		    3, c->frame, NULL, c->raw, c->rawlen);
	else
		round_ack(&c->b, units_find(&c->b, "psb"), c->head);
	round_commit(&c->b, reply_record, NULL);
	fatal_armed = 0;
	return bop_outcome(c);
}

static const char *
bop_check(void *arg, int rc, int hit)
{
	struct bctx *c = arg;
	struct broker *b = &c->b;
	uint64_t head = store_head_seq(b->store), depth;
	audit_result_t res;
	const char *why = NULL;

	(void)hit;
	(void)rc;
	if (c->fatal) {
		static char fatal_why[320];

		snprintf(fatal_why, sizeof(fatal_why), "the broker would have exited on an "
		    "allocation failure: %s", fatal_text);
		why = fatal_why;
	}
	else if (b->txn != NULL || b->npending != 0 || b->round_failed)
		why = "the round was left open";
	else if (registry_count(b->reg) != c->nreg)
		why = "the registry in memory changed";
	else if (audit_verify(b->store, key_public(broker_key), 1, &res) != 0)
		why = "the log no longer verifies";
	else if (head != c->head && head != c->head + 1)
		why = "more than one entry was appended";
	else if (head == c->head && memcmp(store_head_hash(b->store), c->hash, CHAIN_HASH_LEN))
		why = "the head hash changed";
	else if (head != c->head && b->count.commits != c->count.commits + 1)
		why = "commit counter is wrong";
	if (why != NULL || c->op == BOP_ACK)
		goto ack;
	if (c->forge) {
		/* Refused whatever happens; the summary is logged when the round commits. */
		if (reply.n > 1 || (reply.n == 1 &&
		    reply.code != CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE))
			why = "a forged message was not refused as bad_signature";
		else if (b->count.accepted != c->count.accepted)
			why = "a forged message was counted as accepted";
	} else if (head != c->head) {
		if (reply.n != 1 || reply.frame_case != CLUEBUS__FRAME__FRAME_ACCEPTED ||
		    reply.seq != head || reply.duplicate)
			why = "committed, but the sender was not told Accepted with its seq";
		if (why != NULL && getenv("FAULT_DEBUG") != NULL)
			printf("replies %u, last case %d code %d seq %llu (head %llu)\n", reply.n,
			    reply.frame_case, reply.code, (unsigned long long)reply.seq,
			    (unsigned long long)head);
		else if (b->count.accepted != c->count.accepted + 1)
			why = "accepted counter is wrong";
		if (why != NULL && getenv("FAULT_DEBUG") != NULL)
			printf("accepted %llu -> %llu, head %llu -> %llu\n",
			    (unsigned long long)c->count.accepted,
			    (unsigned long long)b->count.accepted, (unsigned long long)c->head,
			    (unsigned long long)head);
	} else {
		if (b->count.accepted != c->count.accepted)
			why = "nothing committed, but counted as accepted";
		else if (reply.n > 1)
			why = "more than one reply";
		else if (reply.n == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED &&
		    (!c->known || !reply.duplicate))
			why = "Accepted, but nothing was committed";
		else if (reply.n == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
		    reply.code != CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE)
			why = "a valid message was refused for good (not 'unavailable') when "
			    "memory ran out";
	}
	return why;
ack:
	if (why == NULL && c->op == BOP_ACK) {
		struct unitq *uq = units_find(b, "psb");

		if (store_backlog_depth(b->store, "psb", &depth) != 0)
			why = "backlog unreadable";
		else if (head != c->head && (depth != 0 || b->count.acked != c->count.acked +
		    c->backlog || uq->inflight != 0))
			why = "ack committed, but backlog, counter or window not updated";
		else if (head == c->head && (depth != c->backlog ||
		    b->count.acked != c->count.acked || uq->inflight != 1))
			why = "ack not committed, but backlog, counter or window changed";
	}
	return why;
}

static void
bop_teardown(void *arg)
{
	struct bctx *c = arg;

	wire_free(c->frame);
	c->frame = NULL;
	free(c->raw);
	c->raw = NULL;
	broker_down(&c->b);
}

/* ---- the auditor ------------------------------------------------------------------------ */

struct audit_ctx {
	const char	*dir;
	audit_result_t	 ref, res;
};

static int
audit_run(void *arg)
{
	struct audit_ctx *c = arg;
	store_t *s;
	int rc;

	if ((rc = store_open(c->dir, STORE_RDONLY, 0, &s)) != 0)
		return rc;
	rc = audit_verify(s, key_public(broker_key), 1, &c->res);
	store_close(s);
	return rc;
}

static const char *
audit_check(void *arg, int rc, int hit)
{
	struct audit_ctx *c = arg;

	(void)hit;
	if (rc == 0)
		return memcmp(&c->res, &c->ref, sizeof(c->res)) == 0 ? NULL :
		    "verification result differs from the unfaulted one";
	if (rc == CB_ECORRUPT)
		return "out of memory reported as a corrupt log";
	/* CB_ECRYPTO: an allocation inside OpenSSL's digest failed; OpenSSL does not say
	 * why, and the auditor reports it as an error, not as tampering. */
	return rc == CB_ENOMEM || rc == CB_ESTORE || rc == CB_ECRYPTO ? NULL :
	    "unexpected error code";
}

/* ---- setup ------------------------------------------------------------------------------ */

static void
deploy(const char *tmpdir, const char *repo)
{
	char path[PATH_MAX + 32], hex[2 * KEY_PUBLIC_LEN + 1], *ex;
	uint8_t raw[TRANSPORT_KEY_LEN];
	json_t *root, *units;
	size_t len;
	char *reg;

	if (key_generate(&broker_key) != 0 || rand_bytes(raw, sizeof(raw)) != 0 ||
	    transport_z85_encode(raw, sizeof(raw), broker_tkey.public_z85) != 0)
		fault_die("broker keys");
	root = json_object();
	units = json_array();
	for (size_t i = 0; i < NUNITS; i++) {
		json_t *u;

		if (key_generate(&unit_keys[i]) != 0)
			fault_die("keys");
		hex_encode(key_public(unit_keys[i]), KEY_PUBLIC_LEN, hex);
		u = json_pack("{s:s, s:s, s:s, s:s}", "id", unit_names[i], "name", "单位",
		    "role", unit_roles[i], "sign_public", hex);
		if (strcmp(unit_roles[i], "district_office") == 0)
			json_object_set_new(u, "division_code", json_string("210302"));
		json_array_append_new(units, u);
	}
	json_object_set_new(root, "units", units);
	snprintf(path, sizeof(path), "%s/registry.json", tmpdir);
	if ((reg = json_dumps(root, JSON_INDENT(1))) == NULL ||
	    file_write_atomic(path, reg, strlen(reg), 0644) != 0)
		fault_die("registry.json");
	free(reg);
	json_decref(root);

	/* The shipped broker.conf.example, its paths pointing into tmpdir, no admin socket. */
	snprintf(path, sizeof(path), "%s/config/broker.conf.example", repo);
	if (file_read_all(path, 1 << 20, &ex, &len) != 0)
		fault_die("%s", path);
	snprintf(confname, sizeof(confname), "%s/broker.conf", tmpdir);
	{
		const char *routing = strstr(ex, "routing:");

		if (routing == NULL || (conftext = malloc(strlen(routing) + 512)) == NULL)
			fault_die("broker.conf.example has no routing");
		snprintf(conftext, strlen(routing) + 512, "broker:\n{\n  endpoint = "
		    "\"tcp://127.0.0.1:1\";\n  data_dir = \"data\";\n  key = \"broker.key\";\n"
		    "  transport_key = \"broker.curve\";\n  registry = \"registry.json\";\n"
		    "  map_size_mb = 64;\n};\n%s", routing);
	}
	free(ex);
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	if (file_mkdirs(path, 0700) != 0)
		fault_die("mkdir");
}

int
broker_faults(const char *tmpdir, const char *repo)
{
	static const struct { const char *name, *doc, *sender, *msgid; int forge; } pubs[] = {
		{ "pipeline: a new clue (medical, urgent: psb, ato, ato-210302)",
		    "examples/json/clue-medical.json", "health",
		    "3f2a9c1e7b4d4e0f8a6b2c5d1e9f0a7b", 0 },
		{ "pipeline: the same clue resent (dedup answers the original seq)",
		    "examples/json/clue-medical.json", "health",
		    "3f2a9c1e7b4d4e0f8a6b2c5d1e9f0a7b", 0 },
		{ "pipeline: a clue with a bad signature (rejection summary logged)",
		    "examples/json/clue-school.json", "health", NULL, 1 },
		{ "pipeline: a referral (opens obligations and deadlines)",
		    "examples/json/referral.json", "health", "5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b", 0 },
		{ "pipeline: a receipt of that referral (closes psb's receipt deadline)",
		    "examples/json/receipt.json", "psb", NULL, 0 },
		{ "pipeline: a supervision of that referral (from ato)",
		    "examples/json/supervision.json", "ato", NULL, 0 },
		{ "pipeline: feedback on that referral (transferred: opens education's part)",
		    "examples/json/feedback.json", "psb", NULL, 0 },
	};
	static struct bctx c;
	static struct audit_ctx ac;
	char data[PATH_MAX + 8];
	int failed = 0;

	fault_current_op = "broker setup";
	deploy(tmpdir, repo);
	snprintf(data_file, sizeof(data_file), "%s/data/data.mdb", tmpdir);
	snprintf(snap_file, sizeof(snap_file), "%s/data.snapshot", tmpdir);
	/* The first start: genesis appends the registry. */
	memset(&c, 0, sizeof(c));
	broker_up(&c.b);
	broker_down(&c.b);
	for (size_t i = 0; i < sizeof(pubs) / sizeof(pubs[0]); i++) {
		copy_file(data_file, snap_file);
		memset(&c, 0, sizeof(c));
		c.op = BOP_PUBLISH;
		c.doc = pubs[i].doc;
		c.sender = pubs[i].sender;
		c.msgid = pubs[i].msgid;
		c.forge = pubs[i].forge;
		failed += fault_run(&(struct fault_op){ pubs[i].name, bop_setup, bop_run,
		    bop_check, bop_teardown, &c, 10 });
	}
	copy_file(data_file, snap_file);
	memset(&c, 0, sizeof(c));
	c.op = BOP_ACK;
	failed += fault_run(&(struct fault_op){ "pipeline: psb acknowledges its backlog",
	    bop_setup, bop_run, bop_check, bop_teardown, &c, 2 });

	/* The auditor over the log the runs above left. */
	snprintf(data, sizeof(data), "%s/data", tmpdir);
	ac.dir = data;
	fault_current_op = "audit setup";
	if (audit_run(&ac) != 0)
		fault_die("the log does not verify: %s", ac.res.reason);
	ac.ref = ac.res;
	failed += fault_run(&(struct fault_op){ "audit_verify with signatures (the log above)",
	    NULL, audit_run, audit_check, NULL, &ac, 50 });

	for (size_t i = 0; i < NUNITS; i++)
		key_free(unit_keys[i]);
	key_free(broker_key);
	free(conftext);
	return failed;
}
