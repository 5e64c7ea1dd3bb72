/* lib/sealaudit.c — a content audit with one unit's sealing key (lib/sealaudit.h). */
#include <stdlib.h>
#include <string.h>

#include "seal.h"
#include "sealaudit.h"
#include "sealbody.h"
#include "util.h"

struct sealaudit {
	sealkey_t	*key;
	char		 unit[CB_UNIT_ID_SIZE];
	char		 kid[2 * SEALKEY_ID_LEN + 1];
};

int
sealaudit_open(const char *path, sealaudit_t **out)
{
	const char *base = strrchr(path, '/');
	sealaudit_t *sa;
	size_t len;
	int rc;

	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len <= 5 || strcmp(base + len - 5, ".seal") != 0 || len - 5 >= CB_UNIT_ID_SIZE)
		return CB_EINVAL;
	if ((sa = calloc(1, sizeof(*sa))) == NULL)
		return CB_ENOMEM;
	memcpy(sa->unit, base, len - 5);
	if (!unit_id_valid(sa->unit)) {
		free(sa);
		return CB_EINVAL;
	}
	if ((rc = sealkey_load_private(path, &sa->key)) != 0) {
		free(sa);
		return rc;
	}
	hex_encode(sealkey_id(sa->key), SEALKEY_ID_LEN, sa->kid);
	*out = sa;
	return 0;
}

const char *
sealaudit_unit(const sealaudit_t *sa)
{
	return sa->unit;
}

const char *
sealaudit_key_id(const sealaudit_t *sa)
{
	return sa->kid;
}

json_t *
sealaudit_apply(const sealaudit_t *sa, Cluebus__Message *m)
{
	const Cluebus__Sealed *s = sealbody_sealed(m);
	int mine = 0, rc;
	cb_error_t err;
	json_t *o;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->n_keys; i++)
		if (s->keys[i] != NULL && strcmp(s->keys[i]->unit, sa->unit) == 0)
			mine = 1;
	if (!mine)
		return NULL;
	rc = sealbody_open(m, sa->unit, sa->key, &err);
	if ((o = json_pack("{s:s, s:s}", "unit", sa->unit, "key_id", sa->kid)) == NULL)
		return NULL;
	if (rc != 0)
		json_object_set_new(o, "error", json_string(err.reason));
	return o;
}

void
sealaudit_free(sealaudit_t *sa)
{
	if (sa == NULL)
		return;
	sealkey_free(sa->key);
	free(sa);
}
