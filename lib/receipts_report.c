/* lib/receipts_report.c — cluebus-audit's front ends over lib/receipts.c: `check-receipt`
 * and what `verify` adds (the stored checkpoints, `--receipts DIR...`).
 *
 * Kept apart from tools/audit.c so that the audit tool only hooks them in: output is one
 * line per finding, "FAIL seq N: what", the first entry removed, altered or reordered
 * first, as verify's own failures read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receipts.h"
#include "receipts_report.h"
#include "registry.h"
#include "util.h"

int
receipts_take_dirs(int argc, char **argv, const char ***dirs, size_t *ndirs)
{
	int out = 0;

	*dirs = NULL;
	*ndirs = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--receipts") != 0) {
			argv[out++] = argv[i];
			continue;
		}
		while (i + 1 < argc && argv[i + 1][0] != '-') {
			const char **d = realloc(*dirs, (*ndirs + 1) * sizeof(*d));

			if (d == NULL)
				break;
			*dirs = d;
			(*dirs)[(*ndirs)++] = argv[++i];
		}
		if (*ndirs == 0)
			argv[out++] = argv[i];	/* --receipts without a directory: usage */
	}
	argv[out] = NULL;
	return out;
}

static void
report_findings(FILE *out, const receipts_result_t *res)
{
	for (size_t i = 0; i < res->nfindings; i++)
		fprintf(out, "FAIL seq %llu: %s\n", (unsigned long long)res->findings[i].seq,
		    res->findings[i].what);
}

int
receipts_verify_report(store_t *s, const char *const *dirs, size_t ndirs, FILE *out,
    char *summary, size_t len)
{
	receipts_result_t stored, cross;
	int rc, bad;

	memset(&cross, 0, sizeof(cross));
	memset(&stored, 0, sizeof(stored));
	summary[0] = '\0';
	if ((rc = receipts_stored_checkpoints(s, &stored)) != 0) {
		fprintf(stderr, "cluebus-audit: stored checkpoints: %s\n", cb_strerror(rc));
		receipts_result_free(&stored);
		return 2;
	}
	if (ndirs > 0 && (rc = receipts_cross_check(s, dirs, ndirs, &cross)) != 0) {
		fprintf(stderr, "cluebus-audit: receipts: %s\n", cb_strerror(rc));
		receipts_result_free(&stored);
		receipts_result_free(&cross);
		return 2;
	}
	/* The agencies' evidence first: it names entries exactly. */
	report_findings(out, &cross);
	report_findings(out, &stored);
	bad = cross.nfindings > 0 || stored.nfindings > 0 || cross.bad_files > 0;
	if (ndirs > 0)
		snprintf(summary, len, "%zu stored checkpoints signed and matching the tree; "
		    "%zu receipts (%zu without a proof yet) and %zu checkpoints of the agencies "
		    "consistent with the log%s", stored.checkpoints, cross.receipts,
		    cross.unproven, cross.checkpoints, cross.bad_files > 0 ?
		    "; some files could not be checked (above)" : "");
	else
		snprintf(summary, len, "%zu stored checkpoints signed and matching the tree",
		    stored.checkpoints);
	receipts_result_free(&stored);
	receipts_result_free(&cross);
	return bad ? 1 : 0;
}

/* The broker keys to check with: the registry file's broker key, or a key file. */
static int
report_keys(const char *registry, const char *keyfile, cb_key_t **key)
{
	Cluebus__Registry **recs = NULL;
	registry_t *reg = NULL;
	cb_error_t err;
	size_t n = 0;
	int rc;

	if (keyfile != NULL)
		return key_load_public(keyfile, key);
	if ((rc = registry_parse_file(registry, &recs, &n, &err)) != 0) {
		fprintf(stderr, "cluebus-audit: %s: %s: %s\n", registry, err.field, err.reason);
		return rc;
	}
	rc = (reg = registry_new()) == NULL ? CB_ENOMEM : 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && registry_apply(reg, recs[i], 0, &err) != 0)
			rc = CB_EMALFORMED;
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	}
	free(recs);
	if (rc == 0) {
		const cb_key_t *k = registry_current_key(reg, REGISTRY_BROKER_UNIT);

		rc = k == NULL ? CB_ENOTFOUND : key_from_public(key_public(k), KEY_PUBLIC_LEN, key);
		if (rc == CB_ENOTFOUND)
			fprintf(stderr, "cluebus-audit: %s names no broker key\n", registry);
	}
	registry_free(reg);
	return rc;
}

static int
report_read(const char *path, char **text, size_t *len)
{
	int rc = file_read_all(path, RECEIPT_MAX_FILE, text, len);

	if (rc != 0)
		fprintf(stderr, "cluebus-audit: %s: %s\n", path, access(path, F_OK) != 0 ?
		    "no such file" : cb_strerror(rc));
	return rc;
}

int
receipts_cmd_check(int argc, char **argv)
{
	const char *receipt = NULL, *note = NULL, *registry = NULL, *keyfile = NULL;
	char *text = NULL, *ntext = NULL;
	checkpoint_t cp, held;
	cb_key_t *key = NULL;
	cb_error_t err;
	receipt_t r;
	size_t len, nlen;
	int rc, status = 2;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--registry") == 0 && i + 1 < argc)
			registry = argv[++i];
		else if (strcmp(argv[i], "--broker-key") == 0 && i + 1 < argc)
			keyfile = argv[++i];
		else if (argv[i][0] == '-')
			goto usage;
		else if (receipt == NULL)
			receipt = argv[i];
		else if (note == NULL)
			note = argv[i];
		else
			goto usage;
	}
	if (receipt == NULL || (registry == NULL) == (keyfile == NULL))
		goto usage;
	if (report_keys(registry, keyfile, &key) != 0)
		return 2;
	if (report_read(receipt, &text, &len) != 0 ||
	    (note != NULL && report_read(note, &ntext, &nlen) != 0))
		goto out;
	if (receipt_parse(text, len, &r, &err) != 0) {
		printf("FAIL %s: %s: %s\n", receipt, err.field, err.reason);
		status = 1;
		goto out;
	}
	if ((rc = receipt_check(&r, &key, 1, &cp, &err)) != 0) {
		printf("%s %s: %s: %s\n", rc == CB_ENOTFOUND ? "UNPROVEN" : "FAIL", receipt,
		    err.field, err.reason);
		status = 1;
		goto clear;
	}
	printf("OK %s: message %s is entry %llu, in the broker's signed tree of %llu entries "
	    "(%s)\n", receipt, r.message_id, (unsigned long long)r.seq,
	    (unsigned long long)cp.size, cp.origin);
	status = 0;
	if (note == NULL)
		goto clear;
	if (receipt_note_verify(ntext, nlen, &key, 1, &held, &err) != 0) {
		printf("FAIL %s: %s: %s\n", note, err.field, err.reason);
		status = 1;
	} else if (held.size == cp.size && memcmp(held.root, cp.root, MERKLE_HASH_LEN) != 0) {
		printf("FAIL %s: a fork: the broker signed two different roots for tree size "
		    "%llu (this checkpoint and the receipt's)\n", note, (unsigned long long)cp.size);
		status = 1;
	} else if (held.size == cp.size) {
		printf("OK %s: the same tree head as the receipt's\n", note);
	} else {
		printf("NOTE %s: tree size %llu, the receipt's is %llu: that both are one history "
		    "takes a consistency proof (cluebus-audit consistency DATA_DIR %llu %llu on "
		    "a copy of the log)\n", note, (unsigned long long)held.size,
		    (unsigned long long)cp.size,
		    (unsigned long long)(held.size < cp.size ? held.size : cp.size),
		    (unsigned long long)(held.size < cp.size ? cp.size : held.size));
	}
clear:
	receipt_clear(&r);
out:
	free(text);
	free(ntext);
	key_free(key);
	return status;
usage:
	fprintf(stderr, "usage: cluebus-audit check-receipt RECEIPT [CHECKPOINT] "
	    "--registry REGISTRY_JSON | --broker-key BROKER_PUB\n");
	return 2;
}
