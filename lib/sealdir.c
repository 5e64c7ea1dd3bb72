/* lib/sealdir.c — the recipients and sealing keys a sending agent seals to (lib/sealdir.h).
 *
 * Invariants: (1) the recipients are computed by route_message, the broker's own routing
 * code, over the same table, then extended exactly as broker/workflow.c workflow_check,
 * broker/duties.c duties_check and broker/cases.c cases_check extend them; (2) a reload replaces the table, registry and keys together or not at all;
 * (3) at most SEALDIR_MAX_OBLIGATIONS obligations are remembered, the oldest forgotten
 * first (an answer to a forgotten referral is then refused by the broker as stale, and the
 * agency told). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libconfig.h>

#include "directory.h"
#include "registry.h"
#include "route.h"
#include "sealdir.h"
#include "sealkey.h"
#include "util.h"

#define SEALDIR_MAX_KEYS_FILE	(1 << 20)
#define SEALDIR_MAX_UNITS	4096

struct sealdir_key {
	char		 unit[CB_UNIT_ID_SIZE];
	sealkey_t	*key;
};

struct sealdir_obl {
	uint8_t		 rid[16];
	char		 unit[CB_UNIT_ID_SIZE];
	char		 referrer[CB_UNIT_ID_SIZE];
};

/* What one load reads. */
struct sealdir_inputs {
	route_t			*rt;
	registry_t		*reg;
	struct sealdir_key	*keys;
	size_t			 nkeys;
};

struct sealdir {
	const directory_t	*dir;		/* borrowed; NULL: the files */
	char			*routing_path, *registry_path, *keys_path;	/* NULL: none */
	struct sealdir_inputs	 in;
	struct sealdir_obl	*obl;		/* oldest first */
	size_t			 nobl, obl_cap;
	route_result_t		 res;		/* the last answer; rcpt borrows its ids */
	uint8_t			 orig_id[16];	/* sealdir_set_original: the message */
	route_result_t		 orig;		/* ... and its recipients (n 0: none set) */
};

static void
inputs_free(struct sealdir_inputs *in)
{
	route_free(in->rt);
	registry_free(in->reg);
	for (size_t i = 0; i < in->nkeys; i++)
		sealkey_free(in->keys[i].key);
	free(in->keys);
	memset(in, 0, sizeof(*in));
}

static int
load_routing(const char *path, route_t **rt, cb_error_t *err)
{
	const config_setting_t *routing;
	config_t cf;
	int rc;

	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		cb_error_set(err, path, "line %d: %s", config_error_line(&cf),
		    config_error_text(&cf) != NULL ? config_error_text(&cf) : "cannot read");
		config_destroy(&cf);
		return CB_ECONFIG;
	}
	if ((routing = config_lookup(&cf, "routing")) == NULL) {
		config_destroy(&cf);
		return cb_fail(err, path, CB_ECONFIG, "no `routing` group");
	}
	rc = route_from_config(routing, rt, err);
	config_destroy(&cf);
	return rc;
}

static int
load_registry(const char *path, registry_t **out, cb_error_t *err)
{
	Cluebus__Registry **recs = NULL;
	registry_t *reg;
	size_t n = 0;
	int rc;

	if ((rc = registry_parse_file(path, &recs, &n, err)) != 0)
		return rc;
	if ((reg = registry_new()) == NULL)
		rc = CB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = registry_apply(reg, recs[i], 0, err);
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	}
	free(recs);
	if (rc != 0) {
		registry_free(reg);
		return rc;
	}
	*out = reg;
	return 0;
}

static int
load_keys(const char *path, struct sealdir_inputs *in, cb_error_t *err)
{
	json_error_t jerr;
	const char *unit;
	json_t *doc, *v;
	uint8_t raw[SEALKEY_PUBLIC_LEN];
	size_t len;
	char *text;
	int rc;

	if ((rc = file_read_all(path, SEALDIR_MAX_KEYS_FILE, &text, &len)) != 0)
		return cb_fail(err, path, rc, "cannot read: %s", cb_strerror(rc));
	doc = json_loadb(text, len, 0, &jerr);
	free(text);
	if (doc == NULL || !json_is_object(doc) || json_object_size(doc) > SEALDIR_MAX_UNITS) {
		json_decref(doc);
		return cb_fail(err, path, CB_EMALFORMED,
		    "not a JSON object of unit id -> sealing public key (line %d)", jerr.line);
	}
	if ((in->keys = calloc(json_object_size(doc) + 1, sizeof(*in->keys))) == NULL) {
		json_decref(doc);
		return CB_ENOMEM;
	}
	json_object_foreach(doc, unit, v) {
		struct sealdir_key *k = &in->keys[in->nkeys];

		if (!unit_id_valid(unit) || !json_is_string(v) ||
		    strlen(json_string_value(v)) != 2 * SEALKEY_PUBLIC_LEN ||
		    hex_decode(json_string_value(v), raw, sizeof(raw)) != 0) {
			rc = cb_fail(err, path, CB_EMALFORMED, "entry '%.32s': needs a unit id "
			    "and 64 hex digits", unit);
			break;
		}
		snprintf(k->unit, sizeof(k->unit), "%s", unit);
		if ((rc = sealkey_from_public(raw, sizeof(raw), &k->key)) != 0)
			break;
		in->nkeys++;
	}
	json_decref(doc);
	return rc;
}

static int
inputs_load(const sealdir_t *d, struct sealdir_inputs *in, cb_error_t *err)
{
	int rc;

	memset(in, 0, sizeof(*in));
	if ((rc = load_routing(d->routing_path, &in->rt, err)) != 0 ||
	    (rc = load_registry(d->registry_path, &in->reg, err)) != 0 ||
	    (rc = load_keys(d->keys_path, in, err)) != 0)
		inputs_free(in);
	return rc;
}

int
sealdir_new(sealdir_t **out)
{
	return (*out = calloc(1, sizeof(**out))) != NULL ? 0 : CB_ENOMEM;
}

void
sealdir_use_directory(sealdir_t *d, const struct directory *dir)
{
	d->dir = dir;
}

int
sealdir_load(const char *routing_path, const char *registry_path, const char *keys_path,
    sealdir_t **out, cb_error_t *err)
{
	sealdir_t *d;
	int rc;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CB_ENOMEM;
	if ((d->routing_path = strdup(routing_path)) == NULL ||
	    (d->registry_path = strdup(registry_path)) == NULL ||
	    (d->keys_path = strdup(keys_path)) == NULL) {
		sealdir_free(d);
		return CB_ENOMEM;
	}
	if ((rc = inputs_load(d, &d->in, err)) != 0) {
		sealdir_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int
sealdir_reload(sealdir_t *d, cb_error_t *err)
{
	struct sealdir_inputs in;
	int rc;

	if (d->routing_path == NULL)
		return 0;
	if ((rc = inputs_load(d, &in, err)) != 0)
		return rc;
	inputs_free(&d->in);
	d->in = in;
	return 0;
}

static const sealkey_t *
key_of(const sealdir_t *d, const char *unit)
{
	if (d->dir != NULL)
		return directory_seal_key(d->dir, unit);
	for (size_t i = 0; i < d->in.nkeys; i++)
		if (strcmp(d->in.keys[i].unit, unit) == 0)
			return d->in.keys[i].key;
	return NULL;
}

/* What broker/cases.c adds: an open case's task force hears of every message carrying its
 * case_ref (route_case_members). Only the directory lists open cases. */
static void
add_case_members(const sealdir_t *d, const Cluebus__Message *m, route_result_t *res)
{
	char *const *units;
	size_t n;

	if (d->dir == NULL || m->case_ref == NULL ||
	    directory_case_members(d->dir, m->case_ref, &units, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		route_add(res, units[i], m->sender);
}

/* What broker/duties.c adds for a follow-up report: the unit its follow-ups on the
 * referral are owed to, which is the referrer of the sender's obligation on it. Without a
 * known obligation the sender owes no follow-up there as far as it knows: it seals to the
 * routed units alone and the broker's answer says why (no such duty: refused; else stale). */
static void
add_follow_up(sealdir_t *d, const Cluebus__Message *m)
{
	if (m->refers_to.len != sizeof(d->obl[0].rid))
		return;
	for (size_t i = 0; i < d->nobl; i++) {
		const struct sealdir_obl *o = &d->obl[i];

		if (memcmp(o->rid, m->refers_to.data, sizeof(o->rid)) == 0 &&
		    strcmp(o->unit, m->sender) == 0) {
			route_add(&d->res, o->referrer, m->sender);
			return;
		}
	}
}

/* What broker/duties.c adds for a report (duties_check). */
static void
add_report(sealdir_t *d, const route_t *rt, const registry_t *reg, const Cluebus__Message *m)
{
	if (m->report->type == CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP)
		add_follow_up(d, m);
	else
		route_add_report_office(rt, reg, m, &d->res);
}

/* What broker/workflow.c adds for an answer or a supervision. */
static int
add_workflow(sealdir_t *d, const Cluebus__Message *m, cb_error_t *err)
{
	int found = 0;

	if (m->refers_to.len != sizeof(d->obl[0].rid))
		return 0;
	for (size_t i = 0; i < d->nobl; i++) {
		const struct sealdir_obl *o = &d->obl[i];

		if (memcmp(o->rid, m->refers_to.data, sizeof(o->rid)) != 0)
			continue;
		if (m->body_case == CLUEBUS__MESSAGE__BODY_SUPERVISION) {
			found = 1;
			route_add(&d->res, o->referrer, m->sender);
			if (m->supervision->n_units == 0)
				route_add(&d->res, o->unit, m->sender);
		} else if (strcmp(o->unit, m->sender) == 0) {
			found = 1;
			route_add(&d->res, o->referrer, m->sender);
		}
	}
	if (!found)
		return cb_fail(err, "refers_to", CB_ENOTFOUND, "no obligation known on that "
		    "referral: it was not delivered to this unit (or was too long ago)");
	if (m->body_case == CLUEBUS__MESSAGE__BODY_FEEDBACK)
		for (size_t i = 0; i < m->feedback->n_transferred_to; i++)
			route_add(&d->res, m->feedback->transferred_to[i], m->sender);
	return 0;
}

/* Every unit the body names is in the registry, as the broker checks (workflow_check_units):
 * else CB_EMALFORMED naming the first unknown one and its place ("referral.to_units[1]"). */
static int
named_units_known(const registry_t *reg, const Cluebus__Message *m, cb_error_t *err)
{
	const char *field = NULL;
	char *const *units = NULL;
	size_t n = 0;

	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		field = "referral.to_units", units = m->referral->to_units;
		n = m->referral->n_to_units;
		break;
	case CLUEBUS__MESSAGE__BODY_REPORT:
		field = "report.to_units", units = m->report->to_units, n = m->report->n_to_units;
		break;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		field = "supervision.units", units = m->supervision->units;
		n = m->supervision->n_units;
		break;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		field = "feedback.transferred_to", units = m->feedback->transferred_to;
		n = m->feedback->n_transferred_to;
		break;
	case CLUEBUS__MESSAGE__BODY_CORRELATION_KEY:
		field = "correlation_key.to_units", units = m->correlation_key->to_units;
		n = m->correlation_key->n_to_units;
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64];

		if (registry_unit(reg, units[i]) != NULL)
			continue;
		snprintf(path, sizeof(path), "%s[%zu]", field, i);
		return cb_fail(err, path, CB_EMALFORMED, "unit '%s' is not registered",
		    units[i]);
	}
	return 0;
}

/* A correction goes where its original went (the broker routes it so): the recipients
 * sealdir_set_original gave for the message it refers to. */
static int
add_original(sealdir_t *d, const Cluebus__Message *m, cb_error_t *err)
{
	if (d->orig.n == 0 || m->refers_to.len != sizeof(d->orig_id) ||
	    memcmp(m->refers_to.data, d->orig_id, sizeof(d->orig_id)) != 0)
		return cb_fail(err, "correction.clue", CB_EMALFORMED, "this agent does not know "
		    "whom the corrected clue was sent to (it was not accepted through this agent "
		    "since it seals corrections): withdraw it and send a new one, or correct it "
		    "with a note");
	for (size_t i = 0; i < d->orig.n; i++)
		route_add(&d->res, d->orig.units[i], m->sender);
	return 0;
}

int
sealdir_set_original(sealdir_t *d, const uint8_t *msgid, char *const *units, size_t n)
{
	if (n > ROUTE_MAX)
		return CB_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!unit_id_valid(units[i]))
			return CB_EINVAL;
	memcpy(d->orig_id, msgid, sizeof(d->orig_id));
	d->orig.n = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(d->orig.units[d->orig.n++], sizeof(d->orig.units[0]), "%s", units[i]);
	return 0;
}

int
sealdir_recipients(sealdir_t *d, const Cluebus__Message *m, seal_recipient_t *rcpt,
    size_t *n, cb_error_t *err)
{
	const route_t *rt = d->dir != NULL ? directory_route(d->dir) : d->in.rt;
	const registry_t *reg = d->dir != NULL ? directory_registry(d->dir) : d->in.reg;
	int rc;

	if (rt == NULL || reg == NULL)
		return cb_fail(err, "sealing", CB_EAGAIN,
		    "no directory from the broker yet: sealed once it arrives");
	if ((rc = named_units_known(reg, m, err)) != 0)
		return rc;
	if (route_message(rt, reg, m, &d->res) != 0)
		return cb_fail(err, "kind", CB_EMALFORMED, "this kind is not routed");
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		if ((rc = add_workflow(d, m, err)) != 0)
			return rc;
		break;
	case CLUEBUS__MESSAGE__BODY_REPORT:
		add_report(d, rt, reg, m);
		break;
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		if ((rc = add_original(d, m, err)) != 0)
			return rc;
		break;
	default:
		break;
	}
	add_case_members(d, m, &d->res);
	if (d->res.n == 0 || d->res.n > SEAL_MAX_RECIPIENTS)
		return cb_fail(err, "kind", CB_EINVAL, "routed to %zu units", d->res.n);
	/* A routed unit without a valid sealing key (none registered, or revoked) still gets
	 * the message, but not its content, as the broker checks (publish_check_sealed). */
	*n = 0;
	for (size_t i = 0; i < d->res.n; i++) {
		rcpt[*n].unit = d->res.units[i];
		if ((rcpt[*n].key = key_of(d, d->res.units[i])) != NULL)
			(*n)++;
	}
	if (*n == 0)
		return cb_fail(err, "sealing", CB_ENOTFOUND,
		    "none of the %zu recipients has a valid sealing key in the directory",
		    d->res.n);
	return 0;
}

int
sealdir_note_context(sealdir_t *d, const Cluebus__Context *ctx)
{
	size_t keep = 0;

	if (ctx == NULL || ctx->referral_id.len != sizeof(d->obl[0].rid))
		return 0;
	if (d->nobl + ctx->n_obligations > d->obl_cap) {
		size_t cap = d->obl_cap ? d->obl_cap * 2 : 64;
		struct sealdir_obl *p;

		while (cap < d->nobl + ctx->n_obligations)
			cap *= 2;
		if ((p = realloc(d->obl, cap * sizeof(*p))) == NULL)
			return CB_ENOMEM;
		d->obl = p;
		d->obl_cap = cap;
	}
	for (size_t i = 0; i < d->nobl; i++)
		if (memcmp(d->obl[i].rid, ctx->referral_id.data, sizeof(d->obl[i].rid)) != 0)
			d->obl[keep++] = d->obl[i];
	d->nobl = keep;
	for (size_t i = 0; i < ctx->n_obligations; i++) {
		const Cluebus__Obligation *o = ctx->obligations[i];
		struct sealdir_obl *x = &d->obl[d->nobl];

		if (o == NULL || !unit_id_valid(o->unit) || !unit_id_valid(o->referrer))
			continue;
		memcpy(x->rid, ctx->referral_id.data, sizeof(x->rid));
		snprintf(x->unit, sizeof(x->unit), "%s", o->unit);
		snprintf(x->referrer, sizeof(x->referrer), "%s", o->referrer);
		d->nobl++;
	}
	if (d->nobl > SEALDIR_MAX_OBLIGATIONS) {
		size_t drop = d->nobl - SEALDIR_MAX_OBLIGATIONS;

		memmove(d->obl, d->obl + drop, SEALDIR_MAX_OBLIGATIONS * sizeof(*d->obl));
		d->nobl = SEALDIR_MAX_OBLIGATIONS;
	}
	return 0;
}

int
sealdir_note_one(sealdir_t *d, const uint8_t *rid, const char *unit, const char *referrer)
{
	struct sealdir_obl *x;

	if (!unit_id_valid(unit) || !unit_id_valid(referrer))
		return CB_EINVAL;
	for (size_t i = 0; i < d->nobl; i++) {
		x = &d->obl[i];
		if (memcmp(x->rid, rid, sizeof(x->rid)) == 0 && strcmp(x->unit, unit) == 0) {
			snprintf(x->referrer, sizeof(x->referrer), "%s", referrer);
			return 0;
		}
	}
	if (d->nobl == d->obl_cap) {
		size_t cap = d->obl_cap ? d->obl_cap * 2 : 64;
		struct sealdir_obl *p;

		if ((p = realloc(d->obl, cap * sizeof(*p))) == NULL)
			return CB_ENOMEM;
		d->obl = p;
		d->obl_cap = cap;
	}
	if (d->nobl == SEALDIR_MAX_OBLIGATIONS) {
		memmove(d->obl, d->obl + 1, (d->nobl - 1) * sizeof(*d->obl));
		d->nobl--;
	}
	x = &d->obl[d->nobl++];
	memcpy(x->rid, rid, sizeof(x->rid));
	snprintf(x->unit, sizeof(x->unit), "%s", unit);
	snprintf(x->referrer, sizeof(x->referrer), "%s", referrer);
	return 0;
}

void
sealdir_free(sealdir_t *d)
{
	if (d == NULL)
		return;
	inputs_free(&d->in);
	free(d->obl);
	free(d->routing_path);
	free(d->registry_path);
	free(d->keys_path);
	free(d);
}
