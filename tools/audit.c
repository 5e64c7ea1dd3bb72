/* tools/audit.c — cluebus-audit: verify, replay and analyse a broker's log without the broker.
 *
 *   cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only] [--receipts DIR...]
 *       exit 0: every entry, link and signature checks out, the stored Merkle tree is
 *       the one recomputed from the entries (its root printed with the head), and every
 *       stored checkpoint is signed by a broker key of the log and matches the tree (and,
 *       with --receipts, so do the agencies' receipts and checkpoints:
 *       lib/receipts_report.c); 1: the first bad seq is printed; 2: usage error or
 *       unreadable data directory.
 *   cluebus-audit check-receipt RECEIPT [CHECKPOINT] --registry FILE | --broker-key PUB
 *       offline: the receipt's proof against its signed checkpoint (lib/receipts.h).
 *   cluebus-audit replay DATA_DIR [--json]
 *       the log in order, one line per entry (JSON lines with --json).
 *   cluebus-audit case DATA_DIR CASE_REF [--json]
 *       (the old order, CASE_REF DATA_DIR, is still taken with a warning)
 *       the timeline of a case (lib/casefile.h): one line per message in log order with
 *       its recipients' ack times, and per referral each obliged unit's time to receipt and
 *       to feedback, or open / overdue. An unknown case prints an empty timeline (exit 0).
 *   cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--json]
 *       the statistics of the log times [from, to) for the half-year analysis: clues by
 *       category and district, messages by unit and kind, and per obliged unit the median
 *       and p90 times to receipt and feedback, overdue and open counts.
 *   case and stats exit 1 when an entry does not hash, link or parse (naming it; run verify
 *   for signatures) and 2 on a usage error or an unreadable data directory.
 *   cluebus-audit prove DATA_DIR SEQ [SIZE]
 *       the RFC 9162 inclusion proof of entry SEQ (leaf SEQ - 1, the packed LogEntry) in
 *       the tree of SIZE entries (default: the head) as JSON, checked before it is printed.
 *   cluebus-audit consistency DATA_DIR OLD NEW
 *       the consistency proof from tree size OLD to NEW with both roots as JSON, checked
 *       before it is printed.
 *   prove and consistency exit 1 when the stored tree does not check out (or has no
 *   nodes: a read-only copy of a log written before the tree) and 2 on a usage error.
 *
 * A thin front end over lib/audit.c and lib/casefile.c. Works on a copy of the data
 * directory (read-only; no lock file needed). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "audit.h"
#include "casefile.h"
#include "cluebus/version.h"
#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "merkle.h"
#include "receipts_report.h"
#include "store.h"
#include "util.h"
#include "wire.h"

static int
usage(void)
{
	fprintf(stderr, "usage: cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only]\n"
	    "                            [--receipts DIR...]\n"
	    "       cluebus-audit replay DATA_DIR [--json]\n"
	    "       cluebus-audit case DATA_DIR CASE_REF [--json]\n"
	    "       cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--json]\n"
	    "       cluebus-audit prove DATA_DIR SEQ [SIZE]\n"
	    "       cluebus-audit consistency DATA_DIR OLD NEW\n"
	    "       cluebus-audit check-receipt RECEIPT [CHECKPOINT] --registry FILE | "
	    "--broker-key PUB\n"
	    "(times as RFC 3339, e.g. 2026-01-01T00:00:00+08:00; the period is [from, to))\n"
	    "       cluebus-audit --help | --version\n");
	return 2;
}

static int
help(void)
{
	printf("usage: cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only]\n"
	    "                            [--receipts DIR...]\n"
	    "       cluebus-audit replay DATA_DIR [--json]\n"
	    "       cluebus-audit case DATA_DIR CASE_REF [--json]\n"
	    "       cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--json]\n"
	    "       cluebus-audit prove DATA_DIR SEQ [SIZE]\n"
	    "       cluebus-audit consistency DATA_DIR OLD NEW\n"
	    "       cluebus-audit check-receipt RECEIPT [CHECKPOINT] --registry FILE | "
	    "--broker-key PUB\n"
	    "\n"
	    "Verifies and reads a broker's log (DATA_DIR, or a copy of it) without the broker.\n"
	    "\n"
	    "  verify    every entry's hash, link and signatures; exit 1 naming the first bad seq\n"
	    "  replay    the log in order, one line per entry\n"
	    "  case      the timeline of case CASE_REF: its messages, acks, receipts, feedback\n"
	    "  stats     clues, messages and response times of the period [from, to)\n"
	    "  prove     the Merkle inclusion proof of entry SEQ in the tree of SIZE entries\n"
	    "  consistency  the Merkle consistency proof from tree size OLD to NEW\n"
	    "  check-receipt  offline, without the log: the receipt's inclusion proof against\n"
	    "            its signed checkpoint (the broker's key from the registry file or a\n"
	    "            public key file), and a held CHECKPOINT against it\n"
	    "\n"
	    "  --broker-key HEX   (verify) pin the broker's Ed25519 public key (64 hex digits)\n"
	    "                     that the log's broker entries must verify under\n"
	    "  --chain-only       (verify) hashes and links only, no signatures (nor checkpoints)\n"
	    "  --receipts DIR...  (verify) cross-check the agencies' receipts (*.receipt.json)\n"
	    "                     and checkpoints (*.note) under DIR... against the log, naming\n"
	    "                     the first entry removed, altered or reordered\n"
	    "  --json             (replay, case, stats) JSON output (replay: one line per entry)\n"
	    "  --from RFC3339     (stats) start of the period, included\n"
	    "  --to RFC3339       (stats) end of the period, excluded\n"
	    "  --help             print this help and exit\n"
	    "  --version          print the version and exit\n"
	    "\n"
	    "Exit: 0 ok, 1 a bad entry (named), 2 usage error or unreadable data directory.\n");
	return 0;
}

static const char *
entry_type_name(Cluebus__EntryType t)
{
	switch (t) {
	case CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE: return "message";
	case CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION: return "rejection";
	case CLUEBUS__ENTRY_TYPE__ENTRY_ACK: return "ack";
	case CLUEBUS__ENTRY_TYPE__ENTRY_BROKER: return "broker";
	case CLUEBUS__ENTRY_TYPE__ENTRY_CHECKPOINT: return "checkpoint";
	default: return "unknown";
	}
}

/* Whether `path` names a directory (a data directory, as opposed to a case reference). */
static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
audit_open(const char *dir, store_t **s)
{
	struct stat st;
	int rc;

	if (stat(dir, &st) != 0 && errno == ENOENT) {
		fprintf(stderr, "cluebus-audit: no such file: %s\n", dir);
		return CB_EIO;
	}
	if ((rc = store_open(dir, STORE_RDONLY, 0, s)) != 0)
		fprintf(stderr, "cluebus-audit: %s: cannot open the log (%s)\n", dir,
		    cb_strerror(rc));
	return rc;
}

/* The tree recomputed from the entries: its frontier, and every node in the order appends
 * complete them (merkle_node_seq order) with the seq of the entry that completed it. */
struct tree_walk {
	merkle_frontier_t	 f;
	uint8_t			(*hash)[MERKLE_HASH_LEN];
	uint64_t		*seq;
	size_t			 n, cap;
	size_t			 next;		/* the stored walk: the node it expects */
	uint64_t		 bad;		/* first entry whose node disagrees */
};

static int
tree_walk_entry(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct tree_walk *w = arg;
	merkle_node_t nodes[MERKLE_LEVELS];
	uint8_t leaf[MERKLE_HASH_LEN];
	size_t count;
	int rc;

	if (len < CHAIN_HASH_LEN || seq != w->f.size + 1)
		return CB_ECORRUPT;
	if ((rc = merkle_leaf_hash(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN, leaf)) != 0 ||
	    (rc = merkle_append_nodes(&w->f, leaf, nodes, &count)) != 0)
		return rc;
	if (w->n + count > w->cap) {
		size_t cap = (w->cap + count) * 2;
		void *h = realloc(w->hash, cap * MERKLE_HASH_LEN), *q;

		if (h == NULL)
			return CB_ENOMEM;
		w->hash = h;
		if ((q = realloc(w->seq, cap * sizeof(*w->seq))) == NULL)
			return CB_ENOMEM;
		w->seq = q;
		w->cap = cap;
	}
	for (size_t i = 0; i < count; i++, w->n++) {
		memcpy(w->hash[w->n], nodes[i].hash, MERKLE_HASH_LEN);
		w->seq[w->n] = seq;
	}
	merkle_frontier_advance(&w->f, nodes, count);
	return 0;
}

static int
tree_walk_node(void *arg, uint64_t node_seq, const uint8_t *hash, size_t len)
{
	struct tree_walk *w = arg;

	if (node_seq != w->next || w->next >= w->n) {	/* a missing or an extra node */
		w->bad = w->n == 0 ? 1 : w->seq[w->next < w->n ? w->next : w->n - 1];
		return CB_ECORRUPT;
	}
	if (len != MERKLE_HASH_LEN || memcmp(hash, w->hash[w->next], MERKLE_HASH_LEN) != 0) {
		w->bad = w->seq[w->next];
		return CB_ECORRUPT;
	}
	w->next++;
	return 0;
}

/* Recomputes the Merkle tree over every entry of `s` into `root` and compares every stored
 * node with the recomputed one, naming in *bad the entry that completed the first node
 * that disagrees or is missing. Returns 0; CB_ECORRUPT (*bad set); CB_ENOTFOUND (the store
 * has no tree: a read-only copy of a log written before it; `root` is still the recomputed
 * one); or an error that prevented the check. */
static int
tree_verify(store_t *s, uint8_t root[MERKLE_HASH_LEN], uint64_t *bad)
{
	struct tree_walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	merkle_frontier_init(&w.f);
	if ((rc = store_walk(s, 1, tree_walk_entry, &w)) != 0 ||
	    (rc = merkle_frontier_root(&w.f, root)) != 0)
		goto out;
	if (store_tree_size(s) == 0 && w.f.size > 0) {
		rc = CB_ENOTFOUND;
		goto out;
	}
	rc = store_walk_tree(s, tree_walk_node, &w);
	if (rc == 0 && w.next != w.n) {
		w.bad = w.seq[w.next];
		rc = CB_ECORRUPT;
	}
	if (rc == CB_ECORRUPT && w.bad == 0)	/* a malformed key, no entry to name */
		rc = CB_ESTORE;
	if (rc == CB_ECORRUPT)
		*bad = w.bad;
out:
	free(w.hash);
	free(w.seq);
	return rc;
}

/* verify --receipts DIR...: the agencies' evidence (lib/receipts_report.c). */
static const char **receipt_dirs;
static size_t n_receipt_dirs;

static int
cmd_verify(const char *dir, const char *pin_hex, int chain_only)
{
	uint8_t pin[KEY_PUBLIC_LEN];
	char head[2 * CHAIN_HASH_LEN + 1], root_hex[2 * MERKLE_HASH_LEN + 1];
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t tree_bad = 0;
	audit_result_t res;
	store_t *s;
	char ckpt_summary[512] = "";
	int rc, trc = 0, crc = 0;

	if (pin_hex != NULL && hex_decode(pin_hex, pin, sizeof(pin)) != 0) {
		fprintf(stderr, "cluebus-audit: --broker-key wants 64 hex digits\n");
		return 2;
	}
	if (audit_open(dir, &s) != 0)
		return 2;
	rc = audit_verify(s, pin_hex != NULL ? pin : NULL, !chain_only, &res);
	if (rc == 0)
		trc = tree_verify(s, root, &tree_bad);
	if (rc == 0 && (trc == 0 || trc == CB_ENOTFOUND) && !chain_only)
		crc = receipts_verify_report(s, receipt_dirs, n_receipt_dirs, ckpt_summary,
		    sizeof(ckpt_summary));
	store_close(s);
	if (rc == CB_ECORRUPT) {
		printf("FAIL seq %llu: %s\n", (unsigned long long)res.bad_seq, res.reason);
		return 1;
	}
	if (rc != 0 || (trc != 0 && trc != CB_ECORRUPT && trc != CB_ENOTFOUND)) {
		fprintf(stderr, "cluebus-audit: %s: %s\n", dir, cb_strerror(rc != 0 ? rc : trc));
		return 2;
	}
	if (trc == CB_ECORRUPT) {
		printf("FAIL seq %llu: the stored Merkle tree does not match the entries\n",
		    (unsigned long long)tree_bad);
		return 1;
	}
	if (crc != 0)
		return crc;
	hex_encode(res.head, CHAIN_HASH_LEN, head);
	hex_encode(root, MERKLE_HASH_LEN, root_hex);
	printf("OK %llu entries (%llu messages, %llu broker, %llu rejections, %llu acks)%s; "
	    "head %s; tree root %s%s\n", (unsigned long long)res.entries, (unsigned long long)res.messages,
	    (unsigned long long)res.broker_entries, (unsigned long long)res.rejections,
	    (unsigned long long)res.acks, chain_only ? ", signatures and contents not checked" : "", head,
	    root_hex, trc == CB_ENOTFOUND ? " (recomputed: no tree stored)" : "");
	if (ckpt_summary[0] != '\0')
		printf("OK %s\n", ckpt_summary);
	return 0;
}

static json_t *
replay_json(uint64_t seq, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	char when[40], id[CB_MESSAGE_ID_HEX_SIZE];
	json_t *o = json_object(), *r = json_array();

	clock_format_rfc3339(e->time_ms, when, sizeof(when));
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "type", json_string(entry_type_name(e->type)));
	for (size_t i = 0; i < e->n_recipients; i++)
		json_array_append_new(r, json_string(e->recipients[i]));
	if (m != NULL) {
		hex_encode(m->message_id.data, MESSAGE_ID_LEN, id);
		json_object_set_new(o, "kind", json_string(intake_kind_name(m->kind)));
		json_object_set_new(o, "sender", json_string(m->sender));
		json_object_set_new(o, "message_id", json_string(id));
		if (m->body_case == CLUEBUS__MESSAGE__BODY_CLUE)
			json_object_set_new(o, "body", intake_to_json(m));
	}
	json_object_set_new(o, "recipients", r);
	if (e->rejection != NULL) {
		json_object_set_new(o, "claimed_sender", json_string(e->rejection->claimed_sender));
		json_object_set_new(o, "peer", json_string(e->rejection->peer_unit));
		json_object_set_new(o, "code",
		    json_string(wire_reject_name(e->rejection->code)));
		json_object_set_new(o, "reason", json_string(e->rejection->reason));
		if (e->rejection->message_id.len == MESSAGE_ID_LEN) {
			hex_encode(e->rejection->message_id.data, MESSAGE_ID_LEN, id);
			json_object_set_new(o, "message_id", json_string(id));
		}
		if (e->rejection->claimed_message_id.len == MESSAGE_ID_LEN) {
			hex_encode(e->rejection->claimed_message_id.data, MESSAGE_ID_LEN, id);
			json_object_set_new(o, "claimed_message_id", json_string(id));
		}
		if (e->rejection->unlogged_before > 0) {
			clock_format_rfc3339(e->rejection->unlogged_since_ms, when, sizeof(when));
			json_object_set_new(o, "unlogged_before",
			    json_integer((json_int_t)e->rejection->unlogged_before));
			json_object_set_new(o, "unlogged_since", json_string(when));
		}
	}
	if (e->ack != NULL) {
		json_t *seqs = json_array();

		for (size_t i = 0; i < e->ack->n_seqs; i++)
			json_array_append_new(seqs, json_integer((json_int_t)e->ack->seqs[i]));
		json_object_set_new(o, "unit", json_string(e->ack->unit));
		json_object_set_new(o, "acked", seqs);
	}
	return o;
}

static void
replay_text(uint64_t seq, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	char when[40], id[CB_MESSAGE_ID_HEX_SIZE] = "-";

	clock_format_rfc3339(e->time_ms, when, sizeof(when));
	printf("%llu %s %-9s", (unsigned long long)seq, when, entry_type_name(e->type));
	if (m != NULL) {
		hex_encode(m->message_id.data, MESSAGE_ID_LEN, id);
		printf(" %s %s from %s ->", intake_kind_name(m->kind), id, m->sender);
		for (size_t i = 0; i < e->n_recipients; i++)
			printf(" %s", e->recipients[i]);
		if (e->n_recipients == 0)
			printf(" (none)");
	} else if (e->rejection != NULL) {
		printf(" %s peer %s: %s", wire_reject_name(e->rejection->code),
		    e->rejection->peer_unit[0] ? e->rejection->peer_unit : "-",
		    e->rejection->reason);
	} else if (e->ack != NULL) {
		printf(" %s acked %zu deliver%s", e->ack->unit, e->ack->n_seqs,
		    e->ack->n_seqs == 1 ? "y" : "ies");
		if (e->ack->n_seqs > 0)
			printf(" (seq %llu..%llu)", (unsigned long long)e->ack->seqs[0],
			    (unsigned long long)e->ack->seqs[e->ack->n_seqs - 1]);
	}
	putchar('\n');
}

static int
replay_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	int as_json = *(int *)arg;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;

	if (chain_decode(val, len, &hash, &e) != 0) {
		fprintf(stderr, "cluebus-audit: entry %llu does not decode\n",
		    (unsigned long long)seq);
		return CB_ECORRUPT;
	}
	if (e->envelope != NULL && envelope_open(e->envelope, &m, &err) != 0)
		m = NULL;
	if (as_json) {
		json_t *o = replay_json(seq, e, m);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		replay_text(seq, e, m);
	}
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
	return 0;
}

static int
cmd_replay(const char *dir, int as_json)
{
	store_t *s;
	int rc;

	if (audit_open(dir, &s) != 0)
		return 2;
	rc = store_walk(s, 1, replay_one, &as_json);
	store_close(s);
	return rc == 0 ? 0 : 1;
}

/* Builds the case/stats index of the log in `dir`. Returns 0, or the exit status. */
static int
index_open(const char *dir, casefile_t **cf)
{
	casefile_error_t err;
	store_t *s;
	int rc;

	if (audit_open(dir, &s) != 0)
		return 2;
	rc = casefile_build(s, cf, &err);
	store_close(s);
	if (rc == CB_ECORRUPT) {
		fprintf(stderr, "cluebus-audit: %s: seq %llu: %s (the log is damaged; see "
		    "cluebus-audit verify)\n", dir, (unsigned long long)err.seq, err.reason);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "cluebus-audit: %s: cannot read the log (%s)\n", dir,
		    cb_strerror(rc));
		return rc == CB_ESTORE ? 2 : 1;
	}
	return 0;
}

/* Writes `o` (consumed; NULL means out of memory) as indented JSON. Returns 0 or CB_EIO. */
static int
print_json(json_t *o)
{
	int rc;

	if (o == NULL)
		return CB_ENOMEM;
	rc = json_dumpf(o, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF ? 0 : CB_EIO;
	json_decref(o);
	return rc;
}

static int
cmd_case(const char *case_ref, const char *dir, int as_json)
{
	casefile_timeline_t *tl = NULL;
	casefile_t *cf = NULL;
	int rc;

	if (case_ref[0] == '\0' || strlen(case_ref) >= CASEFILE_CASE_REF_LEN) {
		fprintf(stderr, "cluebus-audit: CASE_REF must be 1 to %d bytes\n",
		    CASEFILE_CASE_REF_LEN - 1);
		return 2;
	}
	if ((rc = index_open(dir, &cf)) != 0)
		return rc;
	if ((rc = casefile_case(cf, case_ref, &tl)) == 0)
		rc = as_json ? print_json(casefile_timeline_json(tl)) :
		    casefile_timeline_print(tl, stdout);
	if (rc == 0 && fflush(stdout) != 0)
		rc = CB_EIO;
	if (rc != 0)
		fprintf(stderr, "cluebus-audit: case %s: %s\n", case_ref, cb_strerror(rc));
	casefile_timeline_free(tl);
	casefile_free(cf);
	return rc == 0 ? 0 : 1;
}

static int
cmd_stats(const char *dir, const char *from, const char *to, int as_json)
{
	int64_t from_ms = INT64_MIN, to_ms = INT64_MAX;
	casefile_stats_t *st = NULL;
	casefile_t *cf = NULL;
	int rc;

	if ((from != NULL && clock_parse_rfc3339(from, &from_ms) != 0) ||
	    (to != NULL && clock_parse_rfc3339(to, &to_ms) != 0)) {
		fprintf(stderr, "cluebus-audit: --from and --to want RFC 3339 times, e.g. "
		    "2026-01-01T00:00:00+08:00\n");
		return 2;
	}
	if (from_ms >= to_ms) {
		fprintf(stderr, "cluebus-audit: --from must be before --to\n");
		return 2;
	}
	if ((rc = index_open(dir, &cf)) != 0)
		return rc;
	if ((rc = casefile_stats(cf, from_ms, to_ms, &st)) == 0)
		rc = as_json ? print_json(casefile_stats_json(st)) :
		    casefile_stats_print(st, stdout);
	if (rc == 0 && fflush(stdout) != 0)
		rc = CB_EIO;
	if (rc != 0)
		fprintf(stderr, "cluebus-audit: stats: %s\n", cb_strerror(rc));
	casefile_stats_free(st);
	casefile_free(cf);
	return rc == 0 ? 0 : 1;
}

/* ---- Merkle proofs (store.h invariant 6, docs/audit.md §7) ---- */

/* A decimal seq or size, 0 allowed. Returns 0 or -1. */
static int
parse_count(const char *str, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (str[0] < '0' || str[0] > '9')
		return -1;
	v = strtoull(str, &end, 10);
	if (*end != '\0' || v > MERKLE_MAX_SIZE)
		return -1;
	*out = v;
	return 0;
}

/* Adds `name`: the hex of `hash` to `o`. Returns 0 or -1 (out of memory). */
static int
json_hash(json_t *o, const char *name, const uint8_t hash[MERKLE_HASH_LEN])
{
	char hex[2 * MERKLE_HASH_LEN + 1];

	hex_encode(hash, MERKLE_HASH_LEN, hex);
	return json_object_set_new(o, name, json_string(hex));
}

/* Adds "hashes": the proof's hashes in hex. */
static int
json_proof(json_t *o, const merkle_proof_t *proof)
{
	json_t *a = json_array();

	if (a == NULL || json_object_set_new(o, "hashes", a) != 0)
		return -1;
	for (size_t i = 0; i < proof->len; i++) {
		char hex[2 * MERKLE_HASH_LEN + 1];

		hex_encode(proof->hash[i], MERKLE_HASH_LEN, hex);
		if (json_array_append_new(a, json_string(hex)) != 0)
			return -1;
	}
	return 0;
}

static int
print_proof_json(json_t *o)
{
	int ok = o != NULL && json_dumpf(o, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF;

	json_decref(o);
	return ok ? 0 : 2;
}

static int
tree_fail(const char *dir, const char *what, int rc, const char *why)
{
	fprintf(stderr, "cluebus-audit: %s: %s: %s\n", dir, what, why != NULL ? why :
	    cb_strerror(rc));
	return rc == CB_EINVAL ? 2 : 1;
}

static int
cmd_prove(const char *dir, uint64_t seq, const char *size_arg)
{
	uint8_t root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN], *val = NULL;
	merkle_proof_t proof;
	const char *why = NULL;
	uint64_t size;
	size_t len;
	store_t *s;
	json_t *o;
	int rc;

	if (audit_open(dir, &s) != 0)
		return 2;
	size = store_tree_size(s);
	if (size_arg != NULL && parse_count(size_arg, &size) != 0) {
		store_close(s);
		return usage();
	}
	rc = store_prove_inclusion(s, seq, size, &proof, root);
	if (rc == 0 && (rc = store_get(s, seq, &val, &len)) == 0 && len < CHAIN_HASH_LEN)
		rc = CB_ECORRUPT;
	if (rc == 0 && (rc = merkle_leaf_hash(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN,
	    leaf)) == 0)
		rc = merkle_verify_inclusion(leaf, seq - 1, size, &proof, root, &why);
	free(val);
	store_close(s);
	if (rc != 0)
		return tree_fail(dir, "inclusion proof", rc, why);
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "seq", json_integer((json_int_t)seq)) != 0 ||
	    json_object_set_new(o, "leaf_index", json_integer((json_int_t)(seq - 1))) != 0 ||
	    json_object_set_new(o, "tree_size", json_integer((json_int_t)size)) != 0 ||
	    json_hash(o, "leaf_hash", leaf) != 0 || json_hash(o, "root", root) != 0 ||
	    json_proof(o, &proof) != 0) {
		json_decref(o);
		return 2;
	}
	return print_proof_json(o);
}

static int
cmd_consistency(const char *dir, uint64_t old_size, uint64_t new_size)
{
	uint8_t old_root[MERKLE_HASH_LEN], new_root[MERKLE_HASH_LEN];
	merkle_proof_t proof;
	const char *why = NULL;
	store_t *s;
	json_t *o;
	int rc;

	if (audit_open(dir, &s) != 0)
		return 2;
	rc = store_prove_consistency(s, old_size, new_size, &proof, old_root, new_root);
	store_close(s);
	if (rc == 0)
		rc = merkle_verify_consistency(old_size, new_size, &proof, old_root, new_root,
		    &why);
	if (rc != 0)
		return tree_fail(dir, "consistency proof", rc, why);
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "old_size", json_integer((json_int_t)old_size)) != 0 ||
	    json_object_set_new(o, "new_size", json_integer((json_int_t)new_size)) != 0 ||
	    json_hash(o, "old_root", old_root) != 0 || json_hash(o, "new_root", new_root) != 0 ||
	    json_proof(o, &proof) != 0) {
		json_decref(o);
		return 2;
	}
	return print_proof_json(o);
}

/* prove and consistency: positional arguments only. */
static int
cmd_tree(int argc, char **argv)
{
	uint64_t a, b;

	if (strcmp(argv[1], "prove") == 0 && (argc == 4 || argc == 5) &&
	    parse_count(argv[3], &a) == 0)
		return cmd_prove(argv[2], a, argc == 5 ? argv[4] : NULL);
	if (strcmp(argv[1], "consistency") == 0 && argc == 5 &&
	    parse_count(argv[3], &a) == 0 && parse_count(argv[4], &b) == 0)
		return cmd_consistency(argv[2], a, b);
	return usage();
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "broker-key", required_argument, NULL, 'k' },
		{ "chain-only", no_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *dir, *case_ref = NULL, *pin = NULL, *from = NULL, *to = NULL;
	int ch, as_json = 0, chain_only = 0, verify_opts, period;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return help();
		if (strcmp(argv[i], "--version") == 0) {
			printf("cluebus-audit %s\n", CB_VERSION);
			return 0;
		}
	}
	if (argc >= 2 && argv[1][0] == '-') {
		fprintf(stderr, "cluebus-audit: unknown option: %s\n", argv[1]);
		return usage();
	}
	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "prove") == 0 || strcmp(argv[1], "consistency") == 0)
		return cmd_tree(argc, argv);
	if (strcmp(argv[1], "check-receipt") == 0)
		return receipts_cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		argc = receipts_take_dirs(argc, argv, &receipt_dirs, &n_receipt_dirs);
	cmd = argv[1];
	if (strcmp(cmd, "case") == 0) {
		if (argc < 4)
			return usage();
		dir = argv[2];
		case_ref = argv[3];
		if (!is_dir(argv[2]) && is_dir(argv[3])) {
			fprintf(stderr,
			    "cluebus-audit: warning: 'case CASE_REF DATA_DIR' is the old "
			    "order; use 'cluebus-audit case %s %s'\n", argv[3], argv[2]);
			dir = argv[3];
			case_ref = argv[2];
		}
		optind = 4;
	} else {
		dir = argv[2];
		optind = 3;
	}
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': as_json = 1; break;
		case 'k': pin = optarg; break;
		case 'c': chain_only = 1; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		default: return usage();
		}
	}
	if (optind != argc)
		return usage();
	verify_opts = pin != NULL || chain_only;
	period = from != NULL || to != NULL;
	if (strcmp(cmd, "verify") == 0 && !as_json && !period)
		return cmd_verify(dir, pin, chain_only);
	if (strcmp(cmd, "replay") == 0 && !verify_opts && !period)
		return cmd_replay(dir, as_json);
	if (strcmp(cmd, "case") == 0 && !verify_opts && !period)
		return cmd_case(case_ref, dir, as_json);
	if (strcmp(cmd, "stats") == 0 && !verify_opts)
		return cmd_stats(dir, from, to, as_json);
	return usage();
}
