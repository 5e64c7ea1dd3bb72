/* tests/tools/store_proofs.c — the broker store's own Merkle proofs (lib/store.c over LMDB)
 * for an independent checker (tests/merkle_crosscheck.py --store).
 *
 *   store_proofs DIR N
 *
 * Creates a store in the empty directory DIR and appends N log entries (acks of varying
 * length, so that leaves differ in size) in commits of 1 to 7 entries, so the tree spans
 * many transactions as the broker's does; closes it, reopens it read-only (the frontier
 * loaded from the stored nodes, as a restarted broker or an auditor's copy does), then
 * answers commands from stdin, one per line:
 *
 *   leaf I              ->  leaf I HEX          (leaf I: the packed LogEntry of seq I + 1)
 *   root N              ->  root N HEX          (store_tree_root)
 *   incl I N            ->  incl I N P1,P2,...  (store_prove_inclusion of seq I + 1)
 *   cons M N            ->  cons M N P1,P2,...  (store_prove_consistency)
 *
 * "-" is an empty proof. Exit: 0, 1 (a store call failed, named on stderr), 2 (usage or a
 * line it cannot read). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/err.h"
#include "store.h"

static void
put_hex(const uint8_t *h, size_t len)
{
	for (size_t i = 0; i < len; i++)
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
		put_hex(p->hash[i], MERKLE_HASH_LEN);
	}
}

/* Appends n entries in commits of 1..7. */
static int
fill(store_t *s, uint64_t n)
{
	uint64_t done = 0, seqs[8];
	uint8_t hash[CHAIN_HASH_LEN];
	store_txn_t *t;
	int rc;

	for (unsigned batch = 1; done < n; batch = batch % 7 + 1) {
		if ((rc = store_begin(s, &t)) != 0)
			return rc;
		for (unsigned i = 0; i < batch && done < n; i++, done++) {
			Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
			Cluebus__DeliveryAck ack = CLUEBUS__DELIVERY_ACK__INIT;

			for (size_t k = 0; k <= done % 8 && k < 8; k++)
				seqs[k] = done + k;
			ack.unit = "psb";
			ack.seqs = seqs;
			ack.n_seqs = done % 8 + 1;
			e.time_ms = 1772323200000LL + (int64_t)done;
			e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
			e.ack = &ack;
			if ((rc = store_txn_append(t, &e, NULL, 0, hash)) != 0) {
				store_txn_abort(t);
				return rc;
			}
		}
		if ((rc = store_txn_commit(t)) != 0)
			return rc;
	}
	return 0;
}

static int
run(store_t *s, const char *line)
{
	char cmd[16];
	uint64_t x, y = 0;
	uint8_t root[MERKLE_HASH_LEN], other[MERKLE_HASH_LEN], *val;
	merkle_proof_t proof;
	size_t len;
	int rc, n;

	if ((n = sscanf(line, "%15s %" SCNu64 " %" SCNu64, cmd, &x, &y)) < 2)
		return 2;
	if (strcmp(cmd, "leaf") == 0 && n == 2) {
		if ((rc = store_get(s, x + 1, &val, &len)) != 0)
			goto lib;
		printf("leaf %" PRIu64 " ", x);
		put_hex(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN);
		free(val);
	} else if (strcmp(cmd, "root") == 0 && n == 2) {
		if ((rc = store_tree_root(s, x, root)) != 0)
			goto lib;
		printf("root %" PRIu64 " ", x);
		put_hex(root, MERKLE_HASH_LEN);
	} else if (strcmp(cmd, "incl") == 0 && n == 3) {
		if ((rc = store_prove_inclusion(s, x + 1, y, &proof, root)) != 0)
			goto lib;
		printf("incl %" PRIu64 " %" PRIu64 " ", x, y);
		put_proof(&proof);
	} else if (strcmp(cmd, "cons") == 0 && n == 3) {
		if ((rc = store_prove_consistency(s, x, y, &proof, other, root)) != 0)
			goto lib;
		printf("cons %" PRIu64 " %" PRIu64 " ", x, y);
		put_proof(&proof);
	} else {
		return 2;
	}
	putchar('\n');
	return 0;
lib:
	fprintf(stderr, "store_proofs: %s %" PRIu64 " %" PRIu64 ": %s\n", cmd, x, y,
	    cb_strerror(rc));
	return 1;
}

int
main(int argc, char **argv)
{
	char line[256];
	store_t *s = NULL;
	uint64_t n;
	int rc;

	if (argc != 3 || (n = strtoull(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: store_proofs DIR N\n");
		return 2;
	}
	if ((rc = store_open(argv[1], 0, 0, &s)) != 0 || (rc = fill(s, n)) != 0) {
		fprintf(stderr, "store_proofs: %s: %s\n", argv[1], cb_strerror(rc));
		store_close(s);
		return 1;
	}
	store_close(s);
	if ((rc = store_open(argv[1], STORE_RDONLY, 0, &s)) != 0) {
		fprintf(stderr, "store_proofs: reopen %s: %s\n", argv[1], cb_strerror(rc));
		return 1;
	}
	rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), stdin) != NULL)
		if ((rc = run(s, line)) == 2)
			fprintf(stderr, "store_proofs: cannot read: %s", line);
	store_close(s);
	if (rc == 0 && fflush(stdout) != 0)
		rc = 1;
	return rc;
}
