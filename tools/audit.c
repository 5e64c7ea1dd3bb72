/* tools/audit.c — cluebus-audit: verify, replay and analyse a broker's log without the broker.
 *
 *   cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only]
 *       exit 0: every entry, link and signature checks out; 1: the first bad seq is
 *       printed; 2: usage error or unreadable data directory.
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
#include "store.h"
#include "util.h"
#include "wire.h"

static int
usage(void)
{
	fprintf(stderr, "usage: cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only]\n"
	    "       cluebus-audit replay DATA_DIR [--json]\n"
	    "       cluebus-audit case DATA_DIR CASE_REF [--json]\n"
	    "       cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--json]\n"
	    "(times as RFC 3339, e.g. 2026-01-01T00:00:00+08:00; the period is [from, to))\n"
	    "       cluebus-audit --help | --version\n");
	return 2;
}

static int
help(void)
{
	printf("usage: cluebus-audit verify DATA_DIR [--broker-key HEX] [--chain-only]\n"
	    "       cluebus-audit replay DATA_DIR [--json]\n"
	    "       cluebus-audit case DATA_DIR CASE_REF [--json]\n"
	    "       cluebus-audit stats DATA_DIR [--from RFC3339] [--to RFC3339] [--json]\n"
	    "\n"
	    "Verifies and reads a broker's log (DATA_DIR, or a copy of it) without the broker.\n"
	    "\n"
	    "  verify    every entry's hash, link and signatures; exit 1 naming the first bad seq\n"
	    "  replay    the log in order, one line per entry\n"
	    "  case      the timeline of case CASE_REF: its messages, acks, receipts, feedback\n"
	    "  stats     clues, messages and response times of the period [from, to)\n"
	    "\n"
	    "  --broker-key HEX   (verify) pin the broker's Ed25519 public key (64 hex digits)\n"
	    "                     that the log's broker entries must verify under\n"
	    "  --chain-only       (verify) hashes and links only, no signatures\n"
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

static int
cmd_verify(const char *dir, const char *pin_hex, int chain_only)
{
	uint8_t pin[KEY_PUBLIC_LEN];
	char head[2 * CHAIN_HASH_LEN + 1];
	audit_result_t res;
	store_t *s;
	int rc;

	if (pin_hex != NULL && hex_decode(pin_hex, pin, sizeof(pin)) != 0) {
		fprintf(stderr, "cluebus-audit: --broker-key wants 64 hex digits\n");
		return 2;
	}
	if (audit_open(dir, &s) != 0)
		return 2;
	rc = audit_verify(s, pin_hex != NULL ? pin : NULL, !chain_only, &res);
	store_close(s);
	if (rc == CB_ECORRUPT) {
		printf("FAIL seq %llu: %s\n", (unsigned long long)res.bad_seq, res.reason);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "cluebus-audit: %s: %s\n", dir, cb_strerror(rc));
		return 2;
	}
	hex_encode(res.head, CHAIN_HASH_LEN, head);
	printf("OK %llu entries (%llu messages, %llu broker, %llu rejections, %llu acks)%s; "
	    "head %s\n", (unsigned long long)res.entries, (unsigned long long)res.messages,
	    (unsigned long long)res.broker_entries, (unsigned long long)res.rejections,
	    (unsigned long long)res.acks, chain_only ? ", signatures and contents not checked" : "", head);
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
