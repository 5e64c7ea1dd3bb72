/* tests/tools/merkle_dump.c — roots and proofs of lib/merkle.c for an independent checker
 * (tests/merkle_crosscheck.py), and lib/merkle.c's verdict on proofs the checker made.
 *
 * Reads commands from stdin, one per line, builds one tree over the leaves
 * "cluebus leaf 0", "cluebus leaf 1", ... as large as the largest size named, keeping its
 * nodes in a merkle_memstore, and answers every command from that one tree (so proofs for
 * smaller sizes come from the stored nodes of a larger tree, as the broker's will):
 *
 *   root N              ->  root N HEX
 *   incl I N            ->  incl I N P1,P2,...     ("-" for an empty proof)
 *   cons M N            ->  cons M N P1,P2,...
 *   vincl I N ROOT LEAF P1,P2,...   ->  vincl I N CODE   (0: merkle_verify_inclusion holds)
 *   vcons M N OLD NEW P1,P2,...     ->  vcons M N CODE
 *
 * Hashes are lowercase hex. Every proof the tool prints it also verifies itself, and exits
 * 1 on the first that its own verifier refuses. Exit: 0, 1 (a library call failed), 2
 * (a line it cannot read). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/err.h"
#include "merkle.h"

#define LINE_MAX_LEN	8192
#define MAX_COMMANDS	4000000

static void
put_hex(const uint8_t *h)
{
	for (size_t i = 0; i < MERKLE_HASH_LEN; i++)
		printf("%02x", h[i]);
}

static void
put_proof(const merkle_proof_t *p)
{
	if (p->len == 0)
		fputs("-", stdout);
	for (size_t i = 0; i < p->len; i++) {
		if (i > 0)
			putchar(',');
		put_hex(p->hash[i]);
	}
}

static int
get_hex(const char *s, uint8_t out[MERKLE_HASH_LEN])
{
	unsigned v;

	if (strlen(s) != 2 * MERKLE_HASH_LEN)
		return -1;
	for (size_t i = 0; i < MERKLE_HASH_LEN; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* "-" or comma-separated hex hashes; at most MERKLE_MAX_PROOF + 1 of them, so that an
 * overlong proof reaches the verifier. */
static int
get_proof(char *s, merkle_proof_t *p)
{
	char *tok, *save = NULL;

	p->len = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (p->len == MERKLE_MAX_PROOF || get_hex(tok, p->hash[p->len]) != 0)
			return -1;
		p->len++;
	}
	return 0;
}

static int
leaf_of(uint64_t i, char *buf, size_t cap)
{
	return snprintf(buf, cap, "cluebus leaf %" PRIu64, i);
}

static int
grow(merkle_frontier_t *f, const merkle_store_t *s, uint64_t size)
{
	char leaf[64];
	int rc;

	while (f->size < size) {
		if ((rc = merkle_append(f, s, leaf, (size_t)leaf_of(f->size, leaf,
		    sizeof(leaf)))) != 0) {
			fprintf(stderr, "merkle_dump: append: %s\n", cb_strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* Runs one command; returns 0, 1 (library failure) or 2 (unreadable). */
static int
run(char *line, const merkle_frontier_t *f, const merkle_store_t *s)
{
	char cmd[16], a[80], b[80], *rest;
	uint64_t x, y;
	uint8_t root[MERKLE_HASH_LEN], other[MERKLE_HASH_LEN], leaf_hash[MERKLE_HASH_LEN];
	char leaf[64];
	merkle_proof_t proof;
	const char *why = "";
	int n, rc;

	if (sscanf(line, "%15s %" SCNu64 " %" SCNu64 "%n", cmd, &x, &y, &n) != 3)
		return 2;
	rest = line + n;
	if (strcmp(cmd, "root") == 0) {
		if ((rc = merkle_root(f, s, x, root)) != 0)
			goto lib;
		printf("root %" PRIu64 " ", x);
		put_hex(root);
		putchar('\n');
		return 0;
	}
	if (strcmp(cmd, "incl") == 0) {
		if ((rc = merkle_prove_inclusion(f, s, x, y, &proof)) != 0 ||
		    (rc = merkle_root(f, s, y, root)) != 0 ||
		    (rc = merkle_leaf_hash(leaf, (size_t)leaf_of(x, leaf, sizeof(leaf)),
		    leaf_hash)) != 0 ||
		    (rc = merkle_verify_inclusion(leaf_hash, x, y, &proof, root, &why)) != 0)
			goto lib;
		printf("incl %" PRIu64 " %" PRIu64 " ", x, y);
		put_proof(&proof);
		putchar('\n');
		return 0;
	}
	if (strcmp(cmd, "cons") == 0) {
		if ((rc = merkle_prove_consistency(f, s, x, y, &proof)) != 0 ||
		    (rc = merkle_root(f, s, x, other)) != 0 ||
		    (rc = merkle_root(f, s, y, root)) != 0 ||
		    (rc = merkle_verify_consistency(x, y, &proof, other, root, &why)) != 0)
			goto lib;
		printf("cons %" PRIu64 " %" PRIu64 " ", x, y);
		put_proof(&proof);
		putchar('\n');
		return 0;
	}
	if (sscanf(rest, "%79s %79s %n", a, b, &n) != 2 || get_hex(a, root) != 0 ||
	    get_hex(b, other) != 0)
		return 2;
	rest += n;
	rest[strcspn(rest, "\n")] = '\0';
	if (get_proof(rest, &proof) != 0)
		return 2;
	if (strcmp(cmd, "vincl") == 0)
		rc = merkle_verify_inclusion(other, x, y, &proof, root, &why);
	else if (strcmp(cmd, "vcons") == 0)
		rc = merkle_verify_consistency(x, y, &proof, root, other, &why);
	else
		return 2;
	printf("%s %" PRIu64 " %" PRIu64 " %d\n", cmd, x, y, rc);
	return 0;
lib:
	fprintf(stderr, "merkle_dump: %s %" PRIu64 " %" PRIu64 ": %s (%s)\n", cmd, x, y,
	    cb_strerror(rc), why);
	return 1;
}

int
main(void)
{
	merkle_memstore_t *m = NULL;
	merkle_frontier_t f;
	merkle_store_t s;
	char **lines = NULL, buf[LINE_MAX_LEN];
	size_t count = 0;
	uint64_t x, y, size = 0;
	int rc = 1;

	if ((lines = calloc(MAX_COMMANDS, sizeof(*lines))) == NULL ||
	    (m = merkle_memstore_new()) == NULL)
		goto out;
	while (fgets(buf, sizeof(buf), stdin) != NULL) {
		if (count == MAX_COMMANDS || sscanf(buf, "%*s %" SCNu64 " %" SCNu64, &x, &y) < 1 ||
		    (lines[count] = strdup(buf)) == NULL) {
			fprintf(stderr, "merkle_dump: line %zu: cannot read\n", count + 1);
			rc = 2;
			goto out;
		}
		count++;
		if (strncmp(buf, "root ", 5) == 0)
			y = x;
		if (strncmp(buf, "v", 1) != 0 && y > size)
			size = y;
	}
	merkle_memstore_backend(m, &s);
	merkle_frontier_init(&f);
	if (grow(&f, &s, size) != 0)
		goto out;
	for (size_t i = 0; i < count; i++)
		if ((rc = run(lines[i], &f, &s)) != 0) {
			if (rc == 2)
				fprintf(stderr, "merkle_dump: line %zu: cannot read\n", i + 1);
			goto out;
		}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	for (size_t i = 0; i < count; i++)
		free(lines[i]);
	free(lines);
	merkle_memstore_free(m);
	return rc;
}
