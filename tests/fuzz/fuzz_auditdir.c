/* tests/fuzz/fuzz_auditdir.c — libFuzzer target for the audit reader over a corrupted data
 * directory: audit_verify() (lib/audit.c), the case/statistics index (lib/casefile.c) and
 * the case records (lib/casestate.c)
 * reading a log they cannot trust, through the real LMDB store (lib/store.c).
 *
 * Why not mutate data.mdb itself: LMDB trusts its own page structure (a bad page pointer
 * is a wild read inside liblmdb, which cluebus cannot fix), while the log's values are
 * what an attacker with write access to a copy shapes freely and what our decoders parse.
 * So the input is a log: a first byte of flags, then records of a 2-byte little-endian
 * length and that many bytes, the stored value of log[1], log[2], ... (hash || packed
 * LogEntry). Flags bit 0..3, when not 0, is a seq left out (a gap); bit 4 adds an extra
 * "msgid" index record pointing past the end. The records are written into a fresh LMDB
 * environment in a private directory under $TMPDIR, which is then opened read-only as
 * cluebus-audit does. The seed corpus holds logs of real runs (demo, workflow tests).
 *
 * Must hold: no crash, hang or leak; verify and the index build return only their
 * documented codes; a refusal names its first bad entry (a seq in 1..last+1, with a
 * reason); verify with signatures refuses whatever chain-only verify refuses; the index
 * builds whenever chain-only verify passes; timelines and statistics of a built index
 * print and serialize; the replay (lib/replay.c) renders every entry that decodes as a
 * JSON line and as text, following a category thread. FUZZ_AUDITDIR_VERBOSE=1 prints each
 * input's verdicts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "audit.h"
#include "casefile.h"
#include "casestate.h"
#include "chain.h"
#include "envelope.h"
#include "replay.h"
#include "cluebus/err.h"
#include "envelope.h"
#include "store.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#define MAX_RECORDS	512
#define MAX_CASES	4

static char	dir[256];
static char	data_path[300], lock_path[300];
static FILE	*devnull;

static void
cleanup(void)
{
	unlink(data_path);
	unlink(lock_path);
	rmdir(dir);
	if (devnull != NULL)
		fclose(devnull);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/cluebus-fuzz-auditdir.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(data_path, sizeof(data_path), "%s/data.mdb", dir);
	snprintf(lock_path, sizeof(lock_path), "%s/lock.mdb", dir);
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	atexit(cleanup);
	return 0;
}

/* Writes the records as the log of a new environment in `dir`. Returns the number of
 * records, or -1 when the input has none or LMDB failed (nothing to audit). */
static int
write_log(const uint8_t *data, size_t size, uint64_t *last_seq)
{
	static const char *const dbs[] = {
		"log", "msgid", "backlog", "regidx", "obligations", "deadlines",
	};
	unsigned gap = data[0] & 0x0f, extra_msgid = data[0] & 0x10;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi[6];
	uint64_t seq = 0;
	size_t at = 1;
	int n = 0, rc = -1;

	unlink(data_path);
	unlink(lock_path);
	if (mdb_env_create(&env) != 0)
		return -1;
	/* A scratch copy in $TMPDIR: durability does not matter here, and an fsync per input
	 * would slow the fuzzer down a hundredfold. Never do this to a real log. */
	if (mdb_env_set_maxdbs(env, 8) != 0 || mdb_env_set_mapsize(env, 64 << 20) != 0 ||
	    mdb_env_open(env, dir, MDB_NOSYNC, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0)
		goto out;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (mdb_dbi_open(txn, dbs[i], MDB_CREATE, &dbi[i]) != 0)
			goto out;
	while (at + 2 <= size && n < MAX_RECORDS) {
		size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
		uint8_t key[8];
		MDB_val k = { sizeof(key), key }, v;

		at += 2;
		if (len > size - at)
			len = size - at;
		if (++seq == gap)
			seq++;
		be64_put(key, seq);
		v.mv_size = len;
		v.mv_data = (void *)(data + at);
		if (mdb_put(txn, dbi[0], &k, &v, 0) != 0)
			goto out;
		at += len;
		n++;
	}
	if (n == 0)
		goto out;
	if (extra_msgid) {
		uint8_t id[MESSAGE_ID_LEN] = { 0xf0 }, val[8];
		MDB_val k = { sizeof(id), id }, v = { sizeof(val), val };

		be64_put(val, seq + 7);
		if (mdb_put(txn, dbi[1], &k, &v, 0) != 0)
			goto out;
	}
	rc = mdb_txn_commit(txn) == 0 ? n : -1;
	txn = NULL;
	*last_seq = seq;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* Collects up to MAX_CASES distinct case refs of the messages in the log, to ask for their
 * timelines. */
static size_t
collect_cases(store_t *s, uint64_t last, char cases[MAX_CASES][CASEFILE_CASE_REF_LEN])
{
	size_t n = 0;

	for (uint64_t seq = 1; seq <= last && n < MAX_CASES; seq++) {
		Cluebus__LogEntry *e = NULL;
		Cluebus__Message *m = NULL;
		const uint8_t *hash;
		cb_error_t err;
		uint8_t *val;
		size_t len;

		if (store_get(s, seq, &val, &len) != 0)
			continue;
		if (chain_decode(val, len, &hash, &e) == 0 && e->envelope != NULL &&
		    envelope_open(e->envelope, &m, &err) == 0) {
			int seen = 0;

			for (size_t i = 0; i < n; i++)
				seen |= strcmp(cases[i], m->case_ref) == 0;
			if (!seen && m->case_ref[0] != '\0' &&
			    strlen(m->case_ref) < CASEFILE_CASE_REF_LEN)
				strcpy(cases[n++], m->case_ref);
			protobuf_c_message_free_unpacked(&m->base, NULL);
		}
		if (e != NULL)
			cluebus__log_entry__free_unpacked(e, NULL);
		free(val);
	}
	return n;
}

/* The case's record (lib/casestate.c) rebuilds from a log the index accepted, and prints
 * and serializes. */
static void
check_case_record(store_t *s, const char *case_ref)
{
	casestate_t *cs = NULL;
	json_t *j;
	int rc;

	if ((rc = casestate_build(s, case_ref, &cs)) != 0) {
		if (cs != NULL || (rc != CB_ECORRUPT && rc != CB_ENOMEM && rc != CB_ESTORE))
			abort();
		return;
	}
	if (casestate_print(cs, devnull) != 0 || (j = casestate_json(cs)) == NULL)
		abort();
	json_decref(j);
	casestate_free(cs);
}

static void
check_index(store_t *s, uint64_t last, int chain_ok)
{
	char cases[MAX_CASES][CASEFILE_CASE_REF_LEN];
	casefile_error_t err;
	casefile_stats_t *st = NULL;
	casefile_t *cf = NULL;
	size_t ncases;
	json_t *j;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = casefile_build(s, &cf, &err);
	if (rc != 0) {
		if (cf != NULL || (rc != CB_ECORRUPT && rc != CB_ENOMEM && rc != CB_ETOOBIG &&
		    rc != CB_ESTORE))
			abort();
		if (rc == CB_ECORRUPT && (err.reason[0] == '\0' || err.seq > last + 1))
			abort();	/* must name the entry and say why */
		if (rc == CB_ECORRUPT && chain_ok) {
			fprintf(stderr, "fuzz_auditdir: index refused a log that verifies: "
			    "seq %llu: %s\n", (unsigned long long)err.seq, err.reason);
			abort();
		}
		return;
	}
	if (casefile_stats(cf, INT64_MIN, INT64_MAX, &st) != 0)
		abort();
	if (casefile_stats_print(st, devnull) != 0 || (j = casefile_stats_json(st)) == NULL)
		abort();
	json_decref(j);
	casefile_stats_free(st);
	ncases = collect_cases(s, last, cases);
	for (size_t i = 0; i < ncases; i++) {
		casefile_timeline_t *tl = NULL;

		if (casefile_case(cf, cases[i], &tl) != 0)
			abort();
		if (casefile_timeline_print(tl, devnull) != 0 ||
		    (j = casefile_timeline_json(tl)) == NULL)
			abort();
		json_decref(j);
		casefile_timeline_free(tl);
		check_case_record(s, cases[i]);
	}
	casefile_free(cf);
}

/* store_walk's callback: every entry that decodes is selected (or not) and rendered. */
static int
replay_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;
	json_t *j;
	int selected;

	if (chain_decode(val, len, &hash, &e) != 0)
		return 0;
	if (e->envelope != NULL && envelope_open(e->envelope, &m, &err) != 0)
		m = NULL;
	if (m != NULL && m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    replay_names_add(arg, m->registry) != 0)
		abort();
	if (replay_select(arg, seq, e, m, &selected) != 0)
		abort();
	if ((j = replay_entry_json(arg, seq, hash, e, m)) == NULL)
		abort();
	json_decref(j);
	if (replay_entry_text(arg, seq, hash, e, m, devnull) != 0)
		abort();
	chain_entry_free(e, m);
	return 0;
}

static void
check_replay(store_t *s)
{
	replay_t *r = replay_new();
	const char *why;

	if (r == NULL || replay_set_category(r, "medical", &why) != 0 ||
	    replay_set_tz(r, "+08:00", &why) != 0 || store_walk(s, 1, replay_one, r) != 0)
		abort();
	replay_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	audit_result_t chain_res, full_res;
	uint64_t last = 0;
	store_t *s = NULL;
	int chain_rc, full_rc, rc;

	if (dir[0] == '\0')
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 3 || write_log(data, size, &last) < 0)
		return 0;
	if ((rc = store_open(dir, STORE_RDONLY, 0, &s)) != 0) {
		if (rc != CB_ECORRUPT && rc != CB_ESTORE && rc != CB_EIO)
			abort();
		return 0;
	}
	chain_rc = audit_verify(s, NULL, 0, &chain_res);
	full_rc = audit_verify(s, NULL, 1, &full_res);
	if ((chain_rc != 0 && chain_rc != CB_ECORRUPT) || (full_rc != 0 && full_rc != CB_ECORRUPT))
		abort();
	/* A refusal names the first bad entry and says why. */
	if (chain_rc == CB_ECORRUPT && (chain_res.bad_seq == 0 || chain_res.bad_seq > last + 1 ||
	    chain_res.reason[0] == '\0'))
		abort();
	if (full_rc == CB_ECORRUPT && (full_res.bad_seq == 0 || full_res.bad_seq > last + 1 ||
	    full_res.reason[0] == '\0'))
		abort();
	/* Signatures only add checks: what the chain walk refuses, the full walk refuses at
	 * the same entry or before. */
	if (chain_rc != 0 && (full_rc == 0 || full_res.bad_seq > chain_res.bad_seq))
		abort();
	if (chain_rc == 0 && chain_res.entries != last)
		abort();
	if (getenv("FUZZ_AUDITDIR_VERBOSE") != NULL)
		fprintf(stderr, "fuzz_auditdir: %llu entries; chain: %s (seq %llu: %s); "
		    "signatures: %s (seq %llu: %s)\n", (unsigned long long)last,
		    chain_rc == 0 ? "ok" : "refused", (unsigned long long)chain_res.bad_seq,
		    chain_res.reason, full_rc == 0 ? "ok" : "refused",
		    (unsigned long long)full_res.bad_seq, full_res.reason);
	check_index(s, last, chain_rc == 0);
	check_replay(s);
	store_close(s);
	return 0;
}
