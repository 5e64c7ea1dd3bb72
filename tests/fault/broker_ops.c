/* tests/fault/broker_ops.c — the broker's pipeline and the auditor's walk under failing
 * allocations.
 *
 * The broker here is the real one (the objects of broker/ but main.o) around a real LMDB
 * store in a temporary directory, without sockets, started by the unit tests' fixture
 * (tests/unit/broker_fixture.h): a run hands a decoded Publish (or an Ack) to
 * pipeline_publish / round_ack and commits the round with round_commit, which is what
 * broker/main.c's loop does for every frame; the fixture records the replies the round
 * hands over. fatalx is caught by wrapping it (-Wl,--wrap=fatalx: the broker exits on a
 * corrupt store, and an allocation failure must never lead there). After every run:
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
#include "broker_fixture.h"
#include "harness.h"
#include "util.h"

void	__wrap_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

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
	struct fixture	*fx;		/* the deployment; fx->b is the broker of the run */
	struct fixture_frame fr;
	uint64_t	 head, backlog;
	uint8_t		 hash[CHAIN_HASH_LEN];
	struct counters	 count;
	size_t		 nreg;
	int		 known;		/* the id was committed before this run */
	int		 fatal;		/* the run ended in fatalx (the broker would exit) */
};

static struct fixture fixture;

/* The last reply of the run (frame_case 0: none). */
static struct fixture_reply
last_reply(const struct bctx *c)
{
	struct fixture_reply none = { 0, 0, 0, 0 };
	size_t n = c->fx->nreplies;

	return n == 0 || n > FIXTURE_REPLIES_MAX ? none : c->fx->reply[n - 1];
}

static void
make_publish(struct bctx *c)
{
	if (fixture_frame(c->fx, c->doc, c->sender, c->msgid, 0, c->forge, &c->fr) != 0)
		fault_die("%s from %s", c->doc, c->sender);
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
	if (fixture_up(c->fx) != 0)
		fault_die("broker start");
	c->head = store_head_seq(c->fx->b.store);
	memcpy(c->hash, store_head_hash(c->fx->b.store), CHAIN_HASH_LEN);
	c->count = c->fx->b.count;
	c->nreg = registry_count(c->fx->b.reg);
	if (c->op == BOP_PUBLISH) {
		make_publish(c);
		c->known = store_msgid_get(c->fx->b.store, c->fr.id, &seq) == 0;
	} else {
		struct unitq *uq = units_find(&c->fx->b, "psb");

		/* A new clue for psb, committed unfaulted, so that there is something to
		 * acknowledge in every run. */
		c->doc = "examples/json/clue-medical.json";
		c->sender = "health";
		make_publish(c);
		fixture_publish(c->fx, c->sender, &c->fr);
		fixture_commit(c->fx);
		c->head = store_head_seq(c->fx->b.store);
		memcpy(c->hash, store_head_hash(c->fx->b.store), CHAIN_HASH_LEN);
		c->count = c->fx->b.count;
			/* psb's agent got everything up to the head and acknowledges it. */
		uq->online = 1;
		uq->sent_upto = c->head;
		uq->inflight = 1;
		if (store_backlog_depth(c->fx->b.store, "psb", &c->backlog) != 0)
			fault_die("backlog");
	}
}

/* The outcome the operation is after happened: an entry was committed, or the sender got
 * its answer (Accepted for a resend, the refusal of a forgery). */
static int
bop_outcome(struct bctx *c)
{
	struct fixture_reply reply = last_reply(c);

	if (store_head_seq(c->fx->b.store) != c->head)
		return 0;
	if (c->fx->nreplies == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
		return 0;
	if (c->fx->nreplies == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
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
		struct broker *b = &c->fx->b;

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
		fixture_publish(c->fx, c->sender, &c->fr);
	else
		round_ack(&c->fx->b, units_find(&c->fx->b, "psb"), c->head);
	fixture_commit(c->fx);
	fatal_armed = 0;
	return bop_outcome(c);
}

static const char *
bop_check(void *arg, int rc, int hit)
{
	struct bctx *c = arg;
	struct broker *b = &c->fx->b;
	uint64_t head = store_head_seq(b->store), depth;
	struct fixture_reply reply = last_reply(c);
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
	else if (audit_verify(b->store, key_public(fixture.broker_key), 1, &res) != 0)
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
		if (c->fx->nreplies > 1 || (c->fx->nreplies == 1 &&
		    reply.code != CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE))
			why = "a forged message was not refused as bad_signature";
		else if (b->count.accepted != c->count.accepted)
			why = "a forged message was counted as accepted";
	} else if (head != c->head) {
		if (c->fx->nreplies != 1 || reply.frame_case != CLUEBUS__FRAME__FRAME_ACCEPTED ||
		    reply.seq != head || reply.duplicate)
			why = "committed, but the sender was not told Accepted with its seq";
		if (why != NULL && getenv("FAULT_DEBUG") != NULL)
			printf("replies %zu, last case %d code %d seq %llu (head %llu)\n", c->fx->nreplies,
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
		else if (c->fx->nreplies > 1)
			why = "more than one reply";
		else if (c->fx->nreplies == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED &&
		    (!c->known || !reply.duplicate))
			why = "Accepted, but nothing was committed";
		else if (c->fx->nreplies == 1 && reply.frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
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

	fixture_frame_free(&c->fr);
	fixture_down(c->fx);
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
	rc = audit_verify(s, key_public(fixture.broker_key), 1, &c->res);
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
		{ "pipeline: a referral asking for follow-ups (opens report duties)",
		    "tests/unit/data/duties-referral-follow-up.json", "health",
		    "9a8b7c6d5e4f40318d2e1f0a9b8c7d6e", 0 },
		{ "pipeline: a follow-up report (meets civil-affairs' first period)",
		    "tests/unit/data/duties-follow-up-report.json", "civil-affairs", NULL, 0 },
	};
	static struct bctx c;
	static struct audit_ctx ac;
	char data[PATH_MAX + 8];
	int failed = 0;

	(void)repo;	/* the fixture reads the example files from the working directory */
	fault_current_op = "broker setup";
	if (fixture_deploy(&fixture, tmpdir) != 0)
		fault_die("deployment in %s", tmpdir);
	snprintf(data_file, sizeof(data_file), "%s/data/data.mdb", tmpdir);
	snprintf(snap_file, sizeof(snap_file), "%s/data.snapshot", tmpdir);
	/* The first start: genesis appends the registry. */
	if (fixture_up(&fixture) != 0)
		fault_die("broker start");
	fixture_down(&fixture);
	for (size_t i = 0; i < sizeof(pubs) / sizeof(pubs[0]); i++) {
		copy_file(data_file, snap_file);
		memset(&c, 0, sizeof(c));
		c.fx = &fixture;
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
	c.fx = &fixture;
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

	fixture_free(&fixture);
	return failed;
}
