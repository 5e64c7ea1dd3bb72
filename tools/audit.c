/* tools/audit.c — cluebus-audit: verify, replay and analyse a broker's log without the broker.
 *
 *   cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only] [--json]
 *                        [--receipts DIR...]
 *       exit 0: every entry, link and signature checks out and the stored Merkle tree is
 *       the one recomputed from the entries in the same walk (its root printed with the
 *       head), and every stored checkpoint is signed by a broker key of the log and matches
 *       the tree (and, with --receipts, so do the agencies' receipts and checkpoints:
 *       lib/receipts_report.c); 1: the first bad seq is printed; 2: usage error or
 *       unreadable data directory. --json: one object (lib/audit_json.c, docs/audit.md
 *       §1.1) instead.
 *   cluebus-audit replay DATA_DIR [--json] [--from X] [--to X] [--unit U]... [--kind K]...
 *                        [--category C] [--case REF] [--tz +HH:MM]
 *       the log in order, one line per entry of clear metadata (JSON lines of schema v1
 *       with --json; lib/replay.c, docs/audit.md §2), filtered.
 *       --seal-key UNIT.seal: a content audit, what was sealed to that key printed opened,
 *       saying which key (lib/sealaudit.h).
 *   cluebus-audit check-receipt RECEIPT [CHECKPOINT] --registry FILE | --broker-key PUB
 *       offline: the receipt's proof against its signed checkpoint (lib/receipts.h).
 *   cluebus-audit case DATA_DIR CASE_REF [--json]
 *       (the old order, CASE_REF DATA_DIR, is still taken with a warning)
 *       the timeline of a case (lib/casefile.h): one line per message in log order with
 *       its recipients' ack times, and per referral each obliged unit's time to receipt and
 *       to feedback, or open / overdue. An unknown case prints an empty timeline (exit 0).
 *   cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--district CODE]
 *       [--unit UNIT] [--by log|occurred] [--json]
 *       the statistics of the log times [from, to) for the half-year analysis: clues by
 *       category and district, messages by unit and kind, and per obliged unit the median
 *       and p90 times to receipt and feedback, overdue and open counts.
 *   case and stats exit 1 when an entry does not hash, link or parse (naming it; run verify
 *   for signatures) and 2 on a usage error or an unreadable data directory.
 *   cluebus-audit matches DATA_DIR [--from RFC3339] [--to RFC3339] [--json]
 *       the match notices of the period [from, to) (lib/matchaudit.h): for each, which
 *       identifier type matched, between which logged clues (seq, id, unit, case), whom
 *       it notified, and whether the log bears it out; exit 1 when one does not.
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
#include "casestate.h"
#include "cluebus/version.h"
#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "matchaudit.h"
#include "merkle.h"
#include "sealaudit.h"
#include "replay.h"
#include "receipts_report.h"
#include "store.h"
#include "util.h"
#include "wire.h"

static int
usage(void)
{
	fprintf(stderr, "usage: cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only] "
	    "[--json]\n"
	    "                            [--receipts DIR...]\n"
	    "       cluebus-audit replay DATA_DIR [--json] [--from SEQ|RFC3339] [--to SEQ|RFC3339]\n"
	    "                            [--unit UNIT]... [--kind KIND]... [--category CATEGORY]\n"
	    "                            [--case CASE_REF] [--tz +HH:MM]\n"
	    "                            [--seal-key UNIT.seal]\n"
	    "       cluebus-audit case DATA_DIR CASE_REF [--json]\n"
	    "       cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--district CODE]\n"
	    "           [--unit UNIT] [--by log|occurred] [--json]\n"
	    "       cluebus-audit matches DATA_DIR [--from RFC3339] [--to RFC3339] [--json]\n"
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
	printf("usage: cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only] [--json]\n"
	    "                            [--receipts DIR...]\n"
	    "       cluebus-audit replay DATA_DIR [--json] [--from SEQ|RFC3339] [--to SEQ|RFC3339]\n"
	    "                            [--unit UNIT]... [--kind KIND]... [--category CATEGORY]\n"
	    "                            [--case CASE_REF] [--tz +HH:MM]\n"
	    "                            [--seal-key UNIT.seal]\n"
	    "       cluebus-audit case DATA_DIR CASE_REF [--json]\n"
	    "       cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--district CODE]\n"
	    "           [--unit UNIT] [--by log|occurred] [--json]\n"
	    "       cluebus-audit matches DATA_DIR [--from RFC3339] [--to RFC3339] [--json]\n"
	    "       cluebus-audit prove DATA_DIR SEQ [SIZE]\n"
	    "       cluebus-audit consistency DATA_DIR OLD NEW\n"
	    "       cluebus-audit check-receipt RECEIPT [CHECKPOINT] --registry FILE | "
	    "--broker-key PUB\n"
	    "\n"
	    "Verifies and reads a broker's log (DATA_DIR, or a copy of it) without the broker.\n"
	    "\n"
	    "  verify    every entry's hash, link, tree node and signature in one walk; exit 1\n"
	    "            naming the first bad seq\n"
	    "  replay    the log in order, one line of clear metadata per entry, filtered\n"
	    "  case      the timeline of case CASE_REF: its messages, acks, receipts, feedback\n"
	    "  stats     clues, messages and response times of the period [from, to)\n"
	    "  matches   the match notices of the period [from, to), explained and checked\n"
	    "  prove     the Merkle inclusion proof of entry SEQ in the tree of SIZE entries\n"
	    "  consistency  the Merkle consistency proof from tree size OLD to NEW\n"
	    "  check-receipt  offline, without the log: the receipt's inclusion proof against\n"
	    "            its signed checkpoint (the broker's key from the registry file or a\n"
	    "            public key file), and a held CHECKPOINT against it\n"
	    "\n"
	    "  --broker-key HEX   (verify) pin the broker's Ed25519 public key (64 hex digits)\n"
	    "                     that the log's broker entries must verify under\n"
	    "  --chain-only       (verify) hashes, links and the Merkle tree, no signatures\n"
	    "                     (nor checkpoints)\n"
	    "  --receipts DIR...  (verify) cross-check the agencies' receipts (*.receipt.json)\n"
	    "                     and checkpoints (*.note) under DIR... against the log, naming\n"
	    "                     the first entry removed, altered or reordered\n"
	    "  --json             JSON output (verify: one object; replay: one line per entry)\n"
	    "  --from X           (stats, matches) start of the period, included (RFC 3339);\n"
	    "                     (replay) a first seq or a first time (included)\n"
	    "  --to X             (stats, matches) end of the period, excluded (RFC 3339);\n"
	    "                     (replay) a last seq (included) or an end time (excluded)\n"
	    "  --unit UNIT        (replay) entries the unit sent, received, acked or was refused\n"
	    "                     in, registry records about it (repeatable: any of them);\n"
	    "                     (stats) only what UNIT sent or received, and its duties\n"
	    "  --kind KIND        (replay) a message kind or ack, rejection, checkpoint (repeatable)\n"
	    "  --category CAT     (replay) clues of the category and what refers to them\n"
	    "  --case CASE_REF    (replay) messages of the case and what refers to them\n"
	    "  --tz +HH:MM        (replay) show times at that offset (+08:00: Beijing time)\n"
	    "  --seal-key FILE    (replay) a content audit: open what was sealed to that unit's\n"
	    "                     sealing key UNIT.seal, and say which key\n"
	    "  --district CODE    (stats) only that district's clues, the messages and duties\n"
	    "                     that lead to them, and its district office's messages\n"
	    "  --by occurred      (stats) the period is of the incidents' times (the clues'\n"
	    "                     occurred_at); default --by log: the broker's log times\n"
	    "  --help             print this help and exit\n"
	    "  --version          print the version and exit\n"
	    "\n"
	    "Exit: 0 ok, 1 a bad entry (named), 2 usage error or unreadable data directory.\n");
	return 0;
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

static int
verify_print_json(const audit_result_t *res, int rc)
{
	json_t *o = audit_result_json(res, rc);
	int ok = o != NULL && json_dumpf(o, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF;

	json_decref(o);
	return ok ? 0 : -1;
}

/* verify --receipts DIR...: the agencies' evidence (lib/receipts_report.c). */
static const char **receipt_dirs;
static size_t n_receipt_dirs;

static int
cmd_verify(const char *dir, const char *pin_hex, int chain_only, int as_json)
{
	uint8_t pin[KEY_PUBLIC_LEN];
	char head[2 * CHAIN_HASH_LEN + 1], root_hex[2 * MERKLE_HASH_LEN + 1];
	audit_result_t res;
	store_t *s;
	char ckpt_summary[512] = "";
	int rc, crc = 0;

	memset(&res, 0, sizeof(res));
	if (pin_hex != NULL && hex_decode(pin_hex, pin, sizeof(pin)) != 0) {
		fprintf(stderr, "cluebus-audit: --broker-key wants 64 hex digits\n");
		if (as_json)
			(void)verify_print_json(&res, CB_EINVAL);
		return 2;
	}
	if (audit_open(dir, &s) != 0) {
		if (as_json)
			(void)verify_print_json(&res, CB_EIO);
		return 2;
	}
	rc = audit_verify(s, pin_hex != NULL ? pin : NULL, !chain_only, &res);
	if (rc == 0 && !chain_only)
		crc = receipts_verify_report(s, receipt_dirs, n_receipt_dirs,
		    as_json ? stderr : stdout, ckpt_summary, sizeof(ckpt_summary));
	store_close(s);
	if (rc != 0 && rc != CB_ECORRUPT)
		fprintf(stderr, "cluebus-audit: %s: %s\n", dir, cb_strerror(rc));
	if (rc == 0 && crc != 0) {
		/* receipts_verify_report printed its FAIL lines, which name the entry (or the
		 * error), to stderr with --json; the JSON object on stdout says only that this
		 * check failed (seq 0: none named). */
		if (as_json && crc == 1)
			(void)verify_print_json(&res, audit_result_fail(&res, 0, "a stored "
			    "checkpoint or an agency's receipt disagrees with the log (see the FAIL "
			    "lines)"));
		return crc;
	}
	if (as_json) {
		if (verify_print_json(&res, rc) != 0)
			return 2;
	} else if (rc == CB_ECORRUPT) {
		printf("FAIL seq %llu: %s\n", (unsigned long long)res.bad_seq, res.reason);
	} else if (rc == 0) {
		hex_encode(res.head, CHAIN_HASH_LEN, head);
		hex_encode(res.root, MERKLE_HASH_LEN, root_hex);
		printf("OK %llu entries (%llu messages, %llu broker, %llu rejections, %llu acks)%s; "
		    "head %s; tree root %s%s\n", (unsigned long long)res.entries,
		    (unsigned long long)res.messages, (unsigned long long)res.broker_entries,
		    (unsigned long long)res.rejections, (unsigned long long)res.acks,
		    chain_only ? ", signatures and contents not checked" : "", head, root_hex,
		    res.tree_stored ? "" : " (recomputed: no tree stored)");
		if (ckpt_summary[0] != '\0')
			printf("OK %s\n", ckpt_summary);
	}
	return rc == 0 ? 0 : rc == CB_ECORRUPT ? 1 : 2;
}

/* The options of replay, as given; applied (and refused, naming the option) by
 * replay_options. */
struct replay_args {
	const char	*from, *to, *category, *case_ref, *tz;
	const char	*seal_key;	/* --seal-key: a content audit with this key (NULL: none) */
	const char	*units[REPLAY_MAX_VALUES + 1], *kinds[REPLAY_MAX_VALUES + 1];
	size_t		 nunits, nkinds;
};

static int
replay_refuse(const char *option, const char *value, const char *why)
{
	char safe[128];

	str_sanitize(value, strlen(value), safe, sizeof(safe));
	fprintf(stderr, "cluebus-audit: %s %s: %s\n", option, safe, why);
	return 2;
}

/* Applies the options to `r`. Returns 0, or 2 after saying which option is wrong. */
static int
replay_options(replay_t *r, const struct replay_args *a)
{
	const char *why = NULL;

	if (a->from != NULL && replay_set_from(r, a->from, &why) != 0)
		return replay_refuse("--from", a->from, why);
	if (a->to != NULL && replay_set_to(r, a->to, &why) != 0)
		return replay_refuse("--to", a->to, why);
	for (size_t i = 0; i < a->nunits; i++)
		if (replay_add_unit(r, a->units[i], &why) != 0)
			return replay_refuse("--unit", a->units[i], why);
	for (size_t i = 0; i < a->nkinds; i++)
		if (replay_add_kind(r, a->kinds[i], &why) != 0)
			return replay_refuse("--kind", a->kinds[i], why);
	if (a->category != NULL && replay_set_category(r, a->category, &why) != 0)
		return replay_refuse("--category", a->category, why);
	if (a->case_ref != NULL && replay_set_case(r, a->case_ref, &why) != 0)
		return replay_refuse("--case", a->case_ref, why);
	if (a->tz != NULL && replay_set_tz(r, a->tz, &why) != 0)
		return replay_refuse("--tz", a->tz, why);
	if (replay_check(r, &why) != 0) {
		fprintf(stderr, "cluebus-audit: %s\n", why);
		return 2;
	}
	return 0;
}

/* store_walk_registry's callback: the units' names from the log's registry records. A
 * record that does not open is skipped (verify names it). */
static int
replay_name_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;
	int rc = 0;

	(void)seq;
	if (chain_decode(val, len, &hash, &e) != 0)
		return 0;
	if (e->envelope != NULL && envelope_open(e->envelope, &m, &err) == 0 &&
	    m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY)
		rc = replay_names_add(arg, m->registry);
	chain_entry_free(e, m);
	return rc;
}

/* store_walk's callback before the replay: which messages later corrections corrected or
 * withdrew, so that their lines show their latest state. */
static int
replay_amend_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;
	int rc = 0;

	if (chain_decode(val, len, &hash, &e) != 0)
		return 0;	/* the replay itself names it */
	if (e->envelope != NULL && envelope_open(e->envelope, &m, &err) == 0)
		rc = replay_amended_add(arg, m, seq);
	chain_entry_free(e, m);
	return rc;
}

struct replay_walk {
	replay_t		*r;
	int			 as_json;
	const sealaudit_t	*seal;	/* a content audit's key, or NULL */
};

/* A content audit: what `m` held for the audit key's unit, opened (lib/sealaudit.h): added
 * to the entry's JSON object `o` as `opened_with` and `body`, or (o NULL) printed below the
 * entry's line of text. Returns 0, or CB_EIO / CB_ENOMEM. */
static int
replay_opened(const struct replay_walk *rw, Cluebus__Message *m, json_t *o)
{
	json_t *opened, *body = NULL;
	int rc = 0;

	if (rw->seal == NULL || m == NULL || (opened = sealaudit_apply(rw->seal, m)) == NULL)
		return 0;
	if (json_object_get(opened, "error") == NULL && (body = intake_to_json(m)) == NULL)
		rc = CB_ENOMEM;
	if (o != NULL) {
		if (json_object_set(o, "opened_with", opened) != 0 ||
		    (body != NULL && json_object_set(o, "body", body) != 0))
			rc = CB_ENOMEM;
	} else if (rc == 0) {
		printf("    opened as %s with sealing key %s%s%s",
		    json_string_value(json_object_get(opened, "unit")),
		    json_string_value(json_object_get(opened, "key_id")),
		    body == NULL ? ", failed: " : ": ",
		    body == NULL ? json_string_value(json_object_get(opened, "error")) : "");
		if (body != NULL)
			json_dumpf(body, stdout, JSON_COMPACT);
		rc = putchar('\n') != EOF ? 0 : CB_EIO;
	}
	json_decref(body);
	json_decref(opened);
	return rc;
}

static int
replay_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct replay_walk *rw = arg;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;
	int rc, selected;

	if (chain_decode(val, len, &hash, &e) != 0) {
		fprintf(stderr, "cluebus-audit: entry %llu does not decode\n",
		    (unsigned long long)seq);
		return CB_ECORRUPT;
	}
	if (e->envelope != NULL && envelope_open(e->envelope, &m, &err) != 0)
		m = NULL;
	if ((rc = replay_select(rw->r, seq, e, m, &selected)) == 0 && selected) {
		if (rw->as_json) {
			json_t *o = replay_entry_json(rw->r, seq, hash, e, m);

			if (o == NULL || (rc = replay_opened(rw, m, o)) != 0)
				rc = rc != 0 ? rc : CB_ENOMEM;
			else if (json_dumpf(o, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF)
				rc = CB_EIO;
			json_decref(o);
		} else if ((rc = replay_entry_text(rw->r, seq, hash, e, m, stdout)) == 0) {
			rc = replay_opened(rw, m, NULL);
		}
	}
	chain_entry_free(e, m);
	return rc;
}

static int
cmd_replay(const char *dir, int as_json, const struct replay_args *a)
{
	struct replay_walk rw = { NULL, as_json, NULL };
	sealaudit_t *sa = NULL;
	store_t *s;
	int rc;

	if ((rw.r = replay_new()) == NULL) {
		fprintf(stderr, "cluebus-audit: out of memory\n");
		return 2;
	}
	if ((rc = replay_options(rw.r, a)) != 0) {
		replay_free(rw.r);
		return rc;
	}
	if (a->seal_key != NULL) {
		if ((rc = sealaudit_open(a->seal_key, &sa)) != 0) {
			fprintf(stderr, "cluebus-audit: --seal-key %s: %s\n", a->seal_key,
			    rc == CB_EINVAL ? "name the key file UNIT.seal" : cb_strerror(rc));
			replay_free(rw.r);
			return 2;
		}
		fprintf(stderr, "cluebus-audit: content audit as %s with sealing key %s: "
		    "what was sealed to that key is printed opened\n", sealaudit_unit(sa),
		    sealaudit_key_id(sa));
		rw.seal = sa;
	}
	if (audit_open(dir, &s) != 0) {
		sealaudit_free(sa);
		replay_free(rw.r);
		return 2;
	}
	if ((rc = store_walk_registry(s, replay_name_one, rw.r)) == 0 &&
	    (rc = store_walk(s, 1, replay_amend_one, rw.r)) == 0)
		rc = store_walk_range(s, replay_start_seq(rw.r), replay_last_seq(rw.r),
		    replay_one, &rw);
	if (rc == 0 && fflush(stdout) != 0)
		rc = CB_EIO;
	store_close(s);
	sealaudit_free(sa);
	replay_free(rw.r);
	if (rc != 0 && rc != CB_ECORRUPT)
		fprintf(stderr, "cluebus-audit: replay: %s\n", cb_strerror(rc));
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

/* The case's record (lib/casestate.h) from the log in `dir`. Returns 0, or the exit
 * status. */
static int
case_record(const char *dir, const char *case_ref, casestate_t **cs)
{
	store_t *s;
	int rc;

	if (audit_open(dir, &s) != 0)
		return 2;
	rc = casestate_build(s, case_ref, cs);
	store_close(s);
	if (rc != 0)
		fprintf(stderr, "cluebus-audit: %s: case %s: %s\n", dir, case_ref,
		    cb_strerror(rc));
	return rc == 0 ? 0 : 1;
}

/* The timeline's JSON (consumed) with the case's record as "record" (NULL: no memory). */
static json_t *
case_json(json_t *timeline, const casestate_t *cs)
{
	if (timeline != NULL &&
	    json_object_set_new(timeline, "record", casestate_json(cs)) != 0) {
		json_decref(timeline);
		return NULL;
	}
	return timeline;
}

static int
cmd_case(const char *case_ref, const char *dir, int as_json)
{
	casestate_t *cs = NULL;
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
	if ((rc = case_record(dir, case_ref, &cs)) != 0) {
		casefile_free(cf);
		return rc;
	}
	if ((rc = casefile_case(cf, case_ref, &tl)) == 0 && as_json)
		rc = print_json(case_json(casefile_timeline_json(tl), cs));
	else if (rc == 0 && (rc = casestate_print(cs, stdout)) == 0)
		rc = casefile_timeline_print(tl, stdout);
	if (rc == 0 && fflush(stdout) != 0)
		rc = CB_EIO;
	if (rc != 0)
		fprintf(stderr, "cluebus-audit: case %s: %s\n", case_ref, cb_strerror(rc));
	casefile_timeline_free(tl);
	casestate_free(cs);
	casefile_free(cf);
	return rc == 0 ? 0 : 1;
}

static int
cmd_stats(const char *dir, const char *from, const char *to, int as_json,
    const casefile_scope_t *limits)
{
	int64_t from_ms = INT64_MIN, to_ms = INT64_MAX;
	casefile_scope_t scope = *limits;
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
	if (scope.district != NULL && (strlen(scope.district) != 6 ||
	    strspn(scope.district, "0123456789") != 6)) {
		fprintf(stderr, "cluebus-audit: --district wants a 6-digit division code, e.g. "
		    "210302\n");
		return 2;
	}
	if (scope.unit != NULL && !unit_id_valid(scope.unit)) {
		fprintf(stderr, "cluebus-audit: --unit wants a unit id ([a-z0-9-]{1,32})\n");
		return 2;
	}
	scope.from_ms = from_ms;
	scope.to_ms = to_ms;
	if ((rc = index_open(dir, &cf)) != 0)
		return rc;
	if ((rc = casefile_stats_scoped(cf, &scope, &st)) == 0)
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

static int
cmd_matches(const char *dir, const char *from, const char *to, int as_json)
{
	int64_t from_ms = INT64_MIN, to_ms = INT64_MAX;
	json_t *list = NULL;
	uint64_t bad_seq;
	store_t *s;
	size_t bad;
	int rc;

	if ((from != NULL && clock_parse_rfc3339(from, &from_ms) != 0) ||
	    (to != NULL && clock_parse_rfc3339(to, &to_ms) != 0) || from_ms >= to_ms) {
		fprintf(stderr, "cluebus-audit: --from and --to want RFC 3339 times, from before "
		    "to, e.g. 2026-01-01T00:00:00+08:00\n");
		return 2;
	}
	if (audit_open(dir, &s) != 0)
		return 2;
	rc = matchaudit_list(s, from_ms, to_ms, &list, &bad_seq);
	store_close(s);
	if (rc != 0) {
		if (rc == CB_ECORRUPT)
			fprintf(stderr, "cluebus-audit: %s: seq %llu does not decode (see "
			    "cluebus-audit verify)\n", dir, (unsigned long long)bad_seq);
		else
			fprintf(stderr, "cluebus-audit: matches: %s\n", cb_strerror(rc));
		return 1;
	}
	bad = 0;
	for (size_t i = 0; i < json_array_size(list); i++)
		bad += !json_is_true(json_object_get(json_array_get(list, i), "checked"));
	if (as_json)
		rc = print_json(json_incref(list));
	else
		matchaudit_print(list, stdout);
	json_decref(list);
	if (fflush(stdout) != 0)
		rc = CB_EIO;
	return rc == 0 && bad == 0 ? 0 : 1;
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
		{ "district", required_argument, NULL, 'd' },
		{ "unit", required_argument, NULL, 'u' },
		{ "by", required_argument, NULL, 'b' },
		{ "seal-key", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'K' },
		{ "category", required_argument, NULL, 'C' },
		{ "case", required_argument, NULL, 'R' },
		{ "tz", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *dir, *case_ref = NULL, *pin = NULL, *from = NULL, *to = NULL;
	casefile_scope_t limits = { 0 };
	struct replay_args ra;
	int ch, as_json = 0, chain_only = 0, verify_opts, period, replay_opts = 0;
	int stats_opts = 0, unit_given = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return help();
		if (strcmp(argv[i], "--version") == 0) {
			printf("cluebus-audit %s\n", CB_VERSION);
			return 0;
		}
	}
	memset(&ra, 0, sizeof(ra));
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
		case 'd': limits.district = optarg; stats_opts = 1; break;
		case 'b':
			if (strcmp(optarg, "occurred") != 0 && strcmp(optarg, "log") != 0)
				return usage();
			limits.by_occurred = strcmp(optarg, "occurred") == 0;
			stats_opts = 1;
			break;
		case 's': ra.seal_key = optarg; replay_opts = 1; break;
		case 'u':
			if (ra.nunits == REPLAY_MAX_VALUES)
				return replay_refuse("--unit", optarg, "at most 16 of them");
			ra.units[ra.nunits++] = optarg;
			limits.unit = optarg;
			unit_given = 1;
			break;
		case 'K':
			if (ra.nkinds == REPLAY_MAX_VALUES)
				return replay_refuse("--kind", optarg, "at most 16 of them");
			ra.kinds[ra.nkinds++] = optarg;
			replay_opts = 1;
			break;
		case 'C': ra.category = optarg; replay_opts = 1; break;
		case 'R': ra.case_ref = optarg; replay_opts = 1; break;
		case 'z': ra.tz = optarg; replay_opts = 1; break;
		default: return usage();
		}
	}
	ra.from = from;
	ra.to = to;
	if (optind != argc)
		return usage();
	verify_opts = pin != NULL || chain_only;
	period = from != NULL || to != NULL;
	if (strcmp(cmd, "verify") == 0 && !period && !replay_opts && !stats_opts && !unit_given)
		return cmd_verify(dir, pin, chain_only, as_json);
	if (strcmp(cmd, "replay") == 0 && !verify_opts && !stats_opts)
		return cmd_replay(dir, as_json, &ra);
	if (strcmp(cmd, "case") == 0 && !verify_opts && !period && !replay_opts && !stats_opts &&
	    !unit_given)
		return cmd_case(case_ref, dir, as_json);
	if (strcmp(cmd, "stats") == 0 && !verify_opts && !replay_opts)
		return cmd_stats(dir, from, to, as_json, &limits);
	if (strcmp(cmd, "matches") == 0 && !verify_opts && !replay_opts && !stats_opts &&
	    !unit_given)
		return cmd_matches(dir, from, to, as_json);
	return usage();
}
