/* broker/genesis.c — the registry rebuilt from the log; the first start's bootstrap.
 *
 * The log is the registry's history (SPEC §3): at start the broker replays every registry
 * entry (through the regidx index, not the whole log). On the first start (no unit in the
 * log yet) it appends, signed by the broker key, its own keys, the administrator's key and
 * one ADD_UNIT per unit of the registry file. After that the file is only compared: every
 * change is a record signed by the administrator's key (broker/admin.c, cluebus-ctl), so
 * the broker operator cannot change who is who without it showing in the log. The broker's
 * and the administrator's keys come from the broker's config and must be the registered
 * ones: a new broker key enters by an explicit rotation signed by the old key, a new
 * administrator's key by an explicit replacement (both options of cluebus-broker). */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "envelope.h"
#include "log.h"
#include "util.h"

static int
genesis_replay_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	registry_t *reg = arg;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;
	int rc = CB_ECORRUPT;

	if (chain_decode(val, len, &hash, &e) != 0 || e->envelope == NULL ||
	    envelope_open(e->envelope, &m, &err) != 0 ||
	    m->body_case != CLUEBUS__MESSAGE__BODY_REGISTRY) {
		log_warnx("registry entry %llu is unreadable", (unsigned long long)seq);
		goto out;
	}
	if ((rc = registry_apply(reg, m->registry, e->time_ms, &err)) != 0)
		log_warnx("registry entry %llu: %s: %s", (unsigned long long)seq, err.field,
		    err.reason);
out:
	chain_entry_free(e, m);
	return rc;
}

/* Appends one registry record, signed by the broker, and applies it in memory (only
 * applies it when b is a dry run: --check). */
static int
genesis_append(struct broker *b, Cluebus__Registry *rec, int dry_run)
{
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	cb_error_t err;
	int rc;

	m.kind = CLUEBUS__KIND__KIND_REGISTRY;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	m.body_case = CLUEBUS__MESSAGE__BODY_REGISTRY;
	m.registry = rec;
	if (!dry_run && (rc = round_append_own(b, &m, NULL, 0, 1)) != 0)
		return rc;
	if ((rc = registry_apply(b->reg, rec, broker_clock_ms(), &err)) != 0)
		log_warnx("registry: %s: %s", err.field, err.reason);
	return rc;
}

/* The hex key id of `k` into `out` (2 * KEY_ID_LEN + 1 bytes). Cannot fail. */
static const char *
genesis_key_id(const cb_key_t *k, char *out)
{
	hex_encode(key_id(k), KEY_ID_LEN, out);
	return out;
}

/* The broker's keys in its config are the ones the log registered (its first start
 * records them, self-signed). Any other key is refused, naming both ids: a typo or a
 * restored backup must not rewrite who the broker is. A new key enters only by the
 * explicit rotation (b->rotate_from, `--rotate-key OLD_KEY`): a record of the new keys
 * signed by the registered old one, which an auditor verifies with the key valid then. */
static int
genesis_broker_key(struct broker *b, int dry_run)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	const cb_key_t *cur = registry_current_key(b->reg, REGISTRY_BROKER_UNIT);
	const uint8_t *curt = registry_current_transport(b->reg, REGISTRY_BROKER_UNIT);
	char have[2 * KEY_ID_LEN + 1], want[2 * KEY_ID_LEN + 1];
	uint8_t tpub[TRANSPORT_KEY_LEN];
	cb_key_t *signer;
	int rc;

	if (transport_z85_decode(b->tkey.public_z85, tpub) != 0)
		return CB_EKEY;
	if (cur != NULL && memcmp(key_public(cur), key_public(b->key), KEY_PUBLIC_LEN) == 0 &&
	    curt != NULL && memcmp(curt, tpub, TRANSPORT_KEY_LEN) == 0) {
		if (b->rotate_from != NULL)
			log_warnx("--rotate-key: %s is the registered broker key already; nothing "
			    "to rotate", b->cfg.key_path);
		return 0;
	}
	if (cur != NULL && b->rotate_from == NULL) {
		log_warnx("the broker keys in the config (signing %s, key id %s; transport %s) are "
		    "not the registered broker keys (key id %s): point `key` and `transport_key` "
		    "at the registered ones, or rotate them with `cluebus-broker --rotate-key "
		    "OLD_KEY_FILE -c CONFIG`", b->cfg.key_path, genesis_key_id(b->key, have),
		    b->cfg.transport_key_path, genesis_key_id(cur, want));
		return CB_EKEY;
	}
	if (cur != NULL && memcmp(key_public(cur), key_public(b->rotate_from),
	    KEY_PUBLIC_LEN) != 0) {
		log_warnx("--rotate-key: key id %s is not the registered broker key (key id %s)",
		    genesis_key_id(b->rotate_from, have), genesis_key_id(cur, want));
		return CB_EKEY;
	}
	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY;
	rec.unit = (char *)REGISTRY_BROKER_UNIT;
	rec.name = (char *)"cluebus broker";
	rec.role = (char *)"broker";
	rec.sign_public.data = (uint8_t *)key_public(b->key);
	rec.sign_public.len = KEY_PUBLIC_LEN;
	rec.transport_public.data = tpub;
	rec.transport_public.len = TRANSPORT_KEY_LEN;
	if (cur == NULL) {
		log_info("registry: recording the broker key (key id %s)",
		    genesis_key_id(b->key, have));
		return genesis_append(b, &rec, dry_run);
	}
	log_info("registry: rotating the broker key from key id %s to %s, signed by the old "
	    "key", genesis_key_id(cur, want), genesis_key_id(b->key, have));
	/* The record is signed by the old key; everything after it by the new one. */
	signer = b->key;
	b->key = b->rotate_from;
	rc = genesis_append(b, &rec, dry_run);
	b->key = signer;
	return rc;
}

static int
genesis_unit(struct broker *b, Cluebus__Registry *rec, int dry_run)
{
	const cb_key_t *cur;
	const uint8_t *curt;

	if (registry_unit(b->reg, rec->unit) == NULL) {
		log_info("registry: adding unit %s", rec->unit);
		return genesis_append(b, rec, dry_run);
	}
	cur = registry_current_key(b->reg, rec->unit);
	curt = registry_current_transport(b->reg, rec->unit);
	if (cur != NULL && memcmp(key_public(cur), rec->sign_public.data, KEY_PUBLIC_LEN) == 0 &&
	    (rec->transport_public.len == 0 ? curt == NULL : curt != NULL &&
	    memcmp(curt, rec->transport_public.data, TRANSPORT_KEY_LEN) == 0))
		return 0;
	log_info("registry: rotating the key of unit %s", rec->unit);
	rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
	return genesis_append(b, rec, dry_run);
}

/* Records the administrator's public key (config admin_key) at the first start; a
 * different one later only when the operator says so (b->replace_admin_key): the key that
 * signs registry changes is not replaced by a config edit alone. */
static int
genesis_admin_key(struct broker *b, int dry_run)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	const cb_key_t *cur = registry_current_key(b->reg, REGISTRY_ADMIN_UNIT);
	cb_key_t *admin;
	int rc;

	if (b->cfg.admin_key_path[0] == '\0')
		return 0;
	if ((rc = key_load_public(b->cfg.admin_key_path, &admin)) != 0) {
		log_warnx("admin key %s: %s", b->cfg.admin_key_path, cb_strerror(rc));
		return rc;
	}
	if (cur != NULL && memcmp(key_public(cur), key_public(admin), KEY_PUBLIC_LEN) != 0 &&
	    !b->replace_admin_key) {
		char have[2 * KEY_ID_LEN + 1], want[2 * KEY_ID_LEN + 1];

		log_warnx("the administrator's key in the config (%s, key id %s) is not the "
		    "registered one (key id %s): point `admin_key` at the registered key, or "
		    "replace it with `cluebus-broker --replace-admin-key -c CONFIG`",
		    b->cfg.admin_key_path, genesis_key_id(admin, have), genesis_key_id(cur, want));
		rc = CB_EKEY;
	} else if (cur == NULL || memcmp(key_public(cur), key_public(admin), KEY_PUBLIC_LEN)) {
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ADMIN_KEY;
		rec.unit = (char *)REGISTRY_ADMIN_UNIT;
		rec.name = (char *)"反拐办 administrator";
		rec.role = (char *)"admin";
		rec.sign_public.data = (uint8_t *)key_public(admin);
		rec.sign_public.len = KEY_PUBLIC_LEN;
		log_info("registry: %s the administrator's key", cur == NULL ? "recording" :
		    "replacing");
		rc = genesis_append(b, &rec, dry_run);
	}
	key_free(admin);
	return rc;
}

/* The routing table of the config is the one the log recorded last; a new one (the first
 * start, or a changed config) is logged as a REGISTRY_ROUTING record signed by the broker,
 * so the directory's version changes with it and an auditor sees which table routed
 * when. */
static int
genesis_routing(struct broker *b, int dry_run)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	const char *logged = registry_routing(b->reg), *text;

	if (b->cfg.route == NULL || (text = route_text(b->cfg.route)) == NULL)
		return 0;
	if (logged != NULL && strcmp(logged, text) == 0)
		return 0;
	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROUTING;
	rec.unit = (char *)REGISTRY_BROKER_UNIT;
	rec.routing = (char *)text;
	log_info("registry: %s the routing table", logged == NULL ? "recording" :
	    "recording a change of");
	return genesis_append(b, &rec, dry_run);
}

/* After the first start the file is no longer applied: registry changes are signed admin
 * records (cluebus-ctl). Differences are reported so an operator notices them. */
static void
genesis_compare(struct broker *b, const Cluebus__Registry *rec)
{
	const cb_key_t *cur = registry_current_key(b->reg, rec->unit);

	if (registry_unit(b->reg, rec->unit) == NULL)
		log_warnx("registry file lists %s, which the log does not: add it with "
		    "cluebus-ctl registry add", rec->unit);
	else if (cur == NULL || memcmp(key_public(cur), rec->sign_public.data, KEY_PUBLIC_LEN))
		log_warnx("registry file's key for %s differs from the log's: rotate it with "
		    "cluebus-ctl registry rotate", rec->unit);
}

int
genesis_sync(struct broker *b, int dry_run)
{
	Cluebus__Registry **recs = NULL;
	size_t n = 0;
	cb_error_t err;
	int rc, bootstrap;

	registry_free(b->reg);	/* a dry run's, before the start's own */
	if ((b->reg = registry_new()) == NULL)
		return CB_ENOMEM;
	if (b->store != NULL &&
	    (rc = store_walk_registry(b->store, genesis_replay_one, b->reg)) != 0)
		return rc;
	if ((rc = registry_parse_file(b->cfg.registry_path, &recs, &n, &err)) != 0) {
		log_warnx("%s: %s: %s", b->cfg.registry_path, err.field, err.reason);
		return rc;
	}
	bootstrap = registry_count(b->reg) == 0;
	if ((rc = genesis_broker_key(b, dry_run)) != 0 ||
	    (rc = genesis_admin_key(b, dry_run)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* The broker's own key file is authoritative for its key. */
		if (recs[i]->op == CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY) {
			if (memcmp(recs[i]->sign_public.data, key_public(b->key), KEY_PUBLIC_LEN))
				log_warnx("%s: the broker key listed differs from %s; agents "
				    "using this file cannot verify escalations",
				    b->cfg.registry_path, b->cfg.key_path);
			continue;
		}
		if (bootstrap)
			rc = genesis_unit(b, recs[i], dry_run);
		else
			genesis_compare(b, recs[i]);
		if (rc != 0)
			goto out;
	}
	if ((rc = genesis_routing(b, dry_run)) != 0)
		goto out;
	if (b->txn != NULL) {
		rc = store_txn_commit(b->txn);
		b->txn = NULL;
	}
out:
	if (rc != 0) {
		store_txn_abort(b->txn);
		b->txn = NULL;
	}
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	free(recs);
	return rc;
}
