/* lib/casefile_index.c — the casefile's lookup tables: interned strings and message ids.
 *
 * Unit ids, case refs and district codes repeat on every message; interning them once keeps
 * a message's index entry at a few 32-bit indexes. Message ids are looked up when a
 * refers_to is followed (duties, case timelines), acks by sequence number. The invariants
 * are casefile_index.h's. */
#include <stdlib.h>
#include <string.h>

#include "casefile_index.h"

int
casefile_grow(void *arrp, size_t *cap, size_t need, size_t size)
{
	void **arr = arrp, *p;
	size_t ncap;

	if (need <= *cap)
		return 0;
	for (ncap = *cap < 16 ? 16 : *cap; ncap < need; ncap *= 2)
		if (ncap > SIZE_MAX / 2)
			return CB_ENOMEM;
	if (ncap > SIZE_MAX / size || (p = realloc(*arr, ncap * size)) == NULL)
		return CB_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* FNV-1a: ids are random, unit ids and case refs short; a table stays under half full. */
static uint64_t
hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* ---- interned strings -------------------------------------------------------------------- */

uint32_t
casefile_strtab_find(const struct strtab *t, const char *s)
{
	size_t mask;

	if (t->nslot == 0)
		return NOIDX;
	mask = t->nslot - 1;
	for (size_t i = hash_bytes(s, strlen(s)) & mask; t->slot[i] != 0; i = (i + 1) & mask)
		if (strcmp(t->ent[t->slot[i] - 1].s, s) == 0)
			return t->slot[i] - 1;
	return NOIDX;
}

static void
strtab_put(uint32_t *slot, size_t nslot, const char *s, uint32_t idx)
{
	size_t i = hash_bytes(s, strlen(s)) & (nslot - 1);

	while (slot[i] != 0)
		i = (i + 1) & (nslot - 1);
	slot[i] = idx + 1;
}

static int
strtab_rehash(struct strtab *t, size_t nslot)
{
	uint32_t *slot;

	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		return CB_ENOMEM;
	for (size_t k = 0; k < t->n; k++)
		strtab_put(slot, nslot, t->ent[k].s, (uint32_t)k);
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	return 0;
}

int
casefile_strtab_intern(struct strtab *t, const char *s, uint32_t *out)
{
	char *copy = NULL;
	int rc;

	if ((*out = casefile_strtab_find(t, s)) != NOIDX)
		return 0;
	if (t->n >= IDX_MAX)
		return CB_ETOOBIG;
	if ((t->n + 1) * 2 >= t->nslot &&
	    (rc = strtab_rehash(t, t->nslot == 0 ? 64 : t->nslot * 2)) != 0)
		return rc;
	if ((rc = casefile_grow(&t->ent, &t->cap, t->n + 1, sizeof(*t->ent))) != 0)
		return rc;
	if ((copy = strdup(s)) == NULL)
		return CB_ENOMEM;
	memset(&t->ent[t->n], 0, sizeof(t->ent[t->n]));
	t->ent[t->n].s = copy;
	*out = (uint32_t)t->n++;
	strtab_put(t->slot, t->nslot, copy, *out);
	return 0;
}

void
casefile_strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->ent[i].s);
		free(t->ent[i].name);
	}
	free(t->ent);
	free(t->slot);
}

/* ---- the message index ------------------------------------------------------------------- */

uint32_t
casefile_idmap_find(const casefile_t *cf, const uint8_t *id)
{
	size_t mask;

	if (cf->nidmap == 0)
		return NOIDX;
	mask = cf->nidmap - 1;
	for (size_t i = hash_bytes(id, MESSAGE_ID_LEN) & mask; cf->idmap[i] != 0;
	    i = (i + 1) & mask)
		if (memcmp(cf->msgs[cf->idmap[i] - 1].id, id, MESSAGE_ID_LEN) == 0)
			return cf->idmap[i] - 1;
	return NOIDX;
}

static void
idmap_put(uint32_t *map, size_t nslot, const uint8_t *id, uint32_t idx)
{
	size_t i = hash_bytes(id, MESSAGE_ID_LEN) & (nslot - 1);

	while (map[i] != 0)
		i = (i + 1) & (nslot - 1);
	map[i] = idx + 1;
}

int
casefile_idmap_add(casefile_t *cf, uint32_t idx)
{
	uint32_t *map;
	size_t nslot;

	if (casefile_idmap_find(cf, cf->msgs[idx].id) != NOIDX)
		return 0;
	if (((size_t)idx + 1) * 2 >= cf->nidmap) {
		nslot = cf->nidmap == 0 ? 1024 : cf->nidmap * 2;
		if ((map = calloc(nslot, sizeof(*map))) == NULL)
			return CB_ENOMEM;
		for (size_t i = 0; i < cf->nidmap; i++)
			if (cf->idmap[i] != 0)
				idmap_put(map, nslot, cf->msgs[cf->idmap[i] - 1].id,
				    cf->idmap[i] - 1);
		free(cf->idmap);
		cf->idmap = map;
		cf->nidmap = nslot;
	}
	idmap_put(cf->idmap, cf->nidmap, cf->msgs[idx].id, idx);
	return 0;
}

uint32_t
casefile_msg_by_seq(const casefile_t *cf, uint64_t seq)
{
	size_t lo = 0, hi = cf->n_msgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cf->msgs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cf->n_msgs && cf->msgs[lo].seq == seq ? (uint32_t)lo : NOIDX;
}
