/* tests/unit/broker_fixture.c — a real broker without sockets (see broker_fixture.h).
 *
 * Shared by the unit tests of the broker's roles and the allocation-failure harness
 * (tests/fault/broker_ops.c), so that both drive the broker the same way. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "broker_fixture.h"
#include "match.h"
#include "envelope.h"
#include "intake.h"
#include "util.h"
#include "wire.h"

static const char *const unit_names[FIXTURE_UNITS] = { "ato", "psb", "health",
	"civil-affairs", "education", "ato-210302" };
static const char *const unit_roles[FIXTURE_UNITS] = { "office", "member", "member",
	"member", "member", "district_office" };

const cb_key_t *
fixture_key(const struct fixture *fx, const char *unit)
{
	for (size_t i = 0; i < FIXTURE_UNITS; i++)
		if (strcmp(unit_names[i], unit) == 0)
			return fx->unit_keys[i];
	return NULL;
}

static int
fixture_registry(struct fixture *fx)
{
	char path[PATH_MAX + 32], hex[2 * KEY_PUBLIC_LEN + 1], shex[2 * SEALKEY_PUBLIC_LEN + 1];
	char *text = NULL;
	json_t *root = json_object(), *units = json_array();
	int rc = CB_ENOMEM;

	if (root == NULL || units == NULL || json_object_set(root, "units", units) != 0)
		goto out;
	for (size_t i = 0; i < FIXTURE_UNITS; i++) {
		json_t *u;

		if ((rc = key_generate(&fx->unit_keys[i])) != 0)
			goto out;
		if ((rc = sealkey_generate(&fx->seal_keys[i])) != 0)
			goto out;
		hex_encode(key_public(fx->unit_keys[i]), KEY_PUBLIC_LEN, hex);
		hex_encode(sealkey_public(fx->seal_keys[i]), SEALKEY_PUBLIC_LEN, shex);
		rc = CB_ENOMEM;
		if ((u = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", unit_names[i], "name", "单位",
		    "role", unit_roles[i], "sign_public", hex, "seal_public", shex)) == NULL ||
		    json_array_append_new(units, u) != 0)
			goto out;
		if (strcmp(unit_roles[i], "district_office") == 0 &&
		    json_object_set_new(u, "division_code", json_string("210302")) != 0)
			goto out;
	}
	snprintf(path, sizeof(path), "%s/registry.json", fx->dir);
	if ((text = json_dumps(root, JSON_INDENT(1))) == NULL)
		goto out;
	rc = file_write_atomic(path, text, strlen(text), 0644);
out:
	free(text);
	json_decref(units);
	json_decref(root);
	return rc;
}

/* The shipped broker.conf.example's routing, with paths into the deployment and no admin
 * socket. */
static int
fixture_config(struct fixture *fx)
{
	const char *routing;
	char *example;
	size_t len, cap;
	int rc;

	if ((rc = file_read_all("config/broker.conf.example", 1 << 20, &example, &len)) != 0)
		return rc;
	if ((routing = strstr(example, "routing:")) == NULL) {
		free(example);
		return CB_ECONFIG;
	}
	cap = strlen(routing) + 512;
	if ((fx->conftext = malloc(cap)) == NULL) {
		free(example);
		return CB_ENOMEM;
	}
	snprintf(fx->conftext, cap, "broker:\n{\n  endpoint = \"tcp://127.0.0.1:1\";\n"
	    "  data_dir = \"data\";\n  key = \"broker.key\";\n"
	    "  transport_key = \"broker.curve\";\n  registry = \"registry.json\";\n"
	    "  map_size_mb = 64;\n};\n%s", routing);
	free(example);
	snprintf(fx->confname, sizeof(fx->confname), "%s/broker.conf", fx->dir);
	return 0;
}

int
fixture_deploy(struct fixture *fx, const char *dir)
{
	char path[PATH_MAX + 8];
	uint8_t raw[TRANSPORT_KEY_LEN];
	int rc;

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s", dir);
	if ((rc = key_generate(&fx->broker_key)) != 0 ||
	    (rc = rand_bytes(raw, sizeof(raw))) != 0 ||
	    (rc = transport_z85_encode(raw, sizeof(raw), fx->broker_tkey.public_z85)) != 0 ||
	    (rc = fixture_registry(fx)) != 0 || (rc = fixture_config(fx)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/data", dir);
	return file_mkdirs(path, 0700);
}

int
fixture_up(struct fixture *fx)
{
	struct broker *b = &fx->b;
	char errbuf[512];
	int rc;

	memset(b, 0, sizeof(*b));
	if (config_broker_parse(fx->confname, fx->conftext, &b->cfg, errbuf,
	    sizeof(errbuf)) != 0)
		return CB_ECONFIG;
	b->key = fx->broker_key;
	b->tkey = fx->broker_tkey;
	if ((rc = store_open(b->cfg.data_dir, 0, b->cfg.map_size, &b->store)) != 0 ||
	    (rc = genesis_sync(b, 0)) != 0 || (rc = units_init(b)) != 0)
		fixture_down(fx);
	return rc;
}

void
fixture_down(struct fixture *fx)
{
	struct broker *b = &fx->b;

	if (b->txn != NULL)
		store_txn_abort(b->txn);
	store_close(b->store);
	registry_free(b->reg);
	units_free(b);
	match_free(b);
	dirserve_free(b);	/* a round that logged a case action built one */
	for (size_t i = 0; i < b->npending; i++)
		cluebus__frame__free_unpacked(b->pending[i].reply, NULL);
	free(b->pending);
	config_broker_free(&b->cfg);
	memset(b, 0, sizeof(*b));
}

void
fixture_free(struct fixture *fx)
{
	for (size_t i = 0; i < FIXTURE_UNITS; i++) {
		key_free(fx->unit_keys[i]);
		sealkey_free(fx->seal_keys[i]);
		fx->seal_keys[i] = NULL;
	}
	key_free(fx->broker_key);
	free(fx->conftext);
	fx->conftext = NULL;
}

int
fixture_start(struct fixture *fx)
{
	char dir[] = "/tmp/cluebus-broker-test.XXXXXX";
	int rc;

	memset(fx, 0, sizeof(*fx));
	if (mkdtemp(dir) == NULL)
		return CB_EIO;
	if ((rc = fixture_deploy(fx, dir)) != 0 || (rc = fixture_up(fx)) != 0)
		fixture_stop(fx);
	return rc;
}

int
fixture_setup(void **state)
{
	struct fixture *fx = malloc(sizeof(*fx));
	const void *row = *state;

	if (fx == NULL)
		return -1;
	if (fixture_start(fx) != 0) {
		free(fx);
		return -1;
	}
	fx->row = row;
	*state = fx;
	return 0;
}

int
fixture_teardown(void **state)
{
	fixture_stop(*state);
	free(*state);
	return 0;
}

/* Removes the files of `dir` (not its subdirectories), then `dir`. */
static void
fixture_rmdir(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (de->d_name[0] != '.' || (de->d_name[1] != '\0' &&
			    strcmp(de->d_name, "..") != 0))
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

void
fixture_stop(struct fixture *fx)
{
	char data[PATH_MAX + 8];

	fixture_down(fx);
	fixture_free(fx);
	if (fx->dir[0] == '\0')
		return;
	snprintf(data, sizeof(data), "%s/data", fx->dir);
	fixture_rmdir(data);
	fixture_rmdir(fx->dir);
}

/* The example document as a message from `sender`, with its id and creation time. */
static int
fixture_message(const struct fixture_frame *out, const char *doc, const char *sender,
    int64_t created_ms, Cluebus__Message **m)
{
	cb_error_t err;
	size_t len;
	char *json;
	int rc;

	if ((rc = file_read_all(doc, 1 << 20, &json, &len)) != 0)
		return rc;
	rc = intake_from_json(json, len, m, &err);
	free(json);
	if (rc != 0)
		return rc;
	free((*m)->message_id.data);
	if (((*m)->message_id.data = malloc(MESSAGE_ID_LEN)) == NULL ||
	    ((*m)->sender = strdup(sender)) == NULL) {
		protobuf_c_message_free_unpacked(&(*m)->base, NULL);
		return CB_ENOMEM;
	}
	memcpy((*m)->message_id.data, out->id, MESSAGE_ID_LEN);
	(*m)->message_id.len = MESSAGE_ID_LEN;
	(*m)->created_ms = created_ms != 0 ? created_ms : clock_now_ms();
	return 0;
}

int
fixture_frame(const struct fixture *fx, const char *doc, const char *sender,
    const char *idhex, int64_t created_ms, int forge, struct fixture_frame *out)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Publish pub = CLUEBUS__PUBLISH__INIT;
	Cluebus__Envelope *env = NULL;
	Cluebus__Message *m = NULL;
	const cb_key_t *key = fixture_key(fx, sender);
	int rc;

	memset(out, 0, sizeof(*out));
	if (key == NULL)
		return CB_EINVAL;
	if ((rc = idhex != NULL ? hex_decode(idhex, out->id, MESSAGE_ID_LEN) :
	    rand_bytes(out->id, MESSAGE_ID_LEN)) != 0 ||
	    (rc = fixture_message(out, doc, sender, created_ms, &m)) != 0)
		return rc;
	if (fx->n_match_keys > 0) {
		cb_error_t err;

		if ((rc = matchkey_tokenize(m, fx->match_keys, fx->n_match_keys, &err)) != 0) {
			protobuf_c_message_free_unpacked(&m->base, NULL);
			return rc;
		}
	}
	if (fx->edit != NULL && (rc = fx->edit((struct fixture *)fx, m)) != 0) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return rc;
	}
	rc = envelope_sign(m, key, &env);
	m->key_id.data = NULL;	/* the envelope's, freed with it */
	m->key_id.len = 0;
	protobuf_c_message_free_unpacked(&m->base, NULL);
	if (rc != 0)
		return rc;
	if (forge)
		env->signature.data[7] ^= 0x10;
	pub.envelope = env;
	pub.message_id.data = out->id;
	pub.message_id.len = MESSAGE_ID_LEN;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &pub;
	out->rawlen = cluebus__frame__get_packed_size(&f);
	if ((out->raw = malloc(out->rawlen)) == NULL)
		rc = CB_ENOMEM;
	else
		cluebus__frame__pack(&f, out->raw);
	envelope_free(env);
	if (rc == 0)
		rc = wire_decode(out->raw, out->rawlen, &out->f);
	if (rc != 0)
		fixture_frame_free(out);
	return rc;
}

void
fixture_frame_free(struct fixture_frame *fr)
{
	wire_free(fr->f);
	free(fr->raw);
	fr->f = NULL;
	fr->raw = NULL;
}

void
fixture_publish(struct fixture *fx, const char *peer, const struct fixture_frame *fr)
{
	struct unitq *uq = peer != NULL ? units_find(&fx->b, peer) : NULL;

	pipeline_publish(&fx->b, uq, (const uint8_t *)"rid", 3, fr->f, NULL, fr->raw,
	    fr->rawlen);
}

int
fixture_send(struct fixture *fx, const char *doc, const char *sender, const char *peer,
    const char *idhex, int64_t created_ms, int forge)
{
	struct fixture_frame fr;
	int rc;

	if ((rc = fixture_frame(fx, doc, sender, idhex, created_ms, forge, &fr)) != 0)
		return rc;
	fixture_publish(fx, peer, &fr);
	fixture_commit(fx);
	fixture_frame_free(&fr);
	return 0;
}

static void
fixture_record(void *arg, const uint8_t *rid, size_t ridlen, const Cluebus__Frame *f)
{
	struct fixture *fx = arg;
	struct fixture_reply *r;

	(void)rid;
	(void)ridlen;
	if (fx->nreplies++ >= FIXTURE_REPLIES_MAX)
		return;
	r = &fx->reply[fx->nreplies - 1];
	memset(r, 0, sizeof(*r));
	r->frame_case = f->frame_case;
	if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED) {
		r->code = f->rejected->code;
		snprintf(r->field, sizeof(r->field), "%s", f->rejected->field);
		snprintf(r->reason, sizeof(r->reason), "%s", f->rejected->reason);
	}
	if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED) {
		size_t used = 0;

		r->seq = f->accepted->seq;
		r->duplicate = f->accepted->duplicate;
		for (size_t i = 0; i < f->accepted->n_recipients && used < sizeof(r->recipients);
		    i++)
			used += (size_t)snprintf(r->recipients + used, sizeof(r->recipients) - used,
			    "%s,", f->accepted->recipients[i]);
	}
}

void
fixture_commit(struct fixture *fx)
{
	fx->nreplies = 0;
	round_commit(&fx->b, fixture_record, fx);
}

int
fixture_entry(struct fixture *fx, uint64_t seq, Cluebus__LogEntry **e, Cluebus__Message **m)
{
	const uint8_t *hash;
	uint8_t *val;
	cb_error_t err;
	size_t len;
	int rc;

	if (m != NULL)
		*m = NULL;
	if ((rc = store_get(fx->b.store, seq, &val, &len)) != 0)
		return rc;
	rc = chain_decode(val, len, &hash, e);
	free(val);
	if (rc != 0 || m == NULL || (*e)->envelope == NULL)
		return rc;
	if ((rc = envelope_open((*e)->envelope, m, &err)) != 0) {
		cluebus__log_entry__free_unpacked(*e, NULL);
		*e = NULL;
	}
	return rc;
}

struct obligation_find {
	size_t			 klen;
	Cluebus__Obligation	*o;
};

static int
fixture_obligation_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct obligation_find *of = arg;

	(void)key;
	if (klen != of->klen)
		return 0;
	of->o = cluebus__obligation__unpack(NULL, vlen, val);
	return 1;
}

int
fixture_obligation(struct fixture *fx, const char *idhex, const char *unit,
    Cluebus__Obligation **o)
{
	uint8_t key[MESSAGE_ID_LEN + CB_UNIT_ID_MAX];
	struct obligation_find of = { MESSAGE_ID_LEN + strlen(unit), NULL };
	int rc;

	if (hex_decode(idhex, key, MESSAGE_ID_LEN) != 0 || strlen(unit) > CB_UNIT_ID_MAX)
		return CB_EINVAL;
	memcpy(key + MESSAGE_ID_LEN, unit, strlen(unit));
	rc = store_aux_walk(fx->b.store, STORE_OBLIGATIONS, key, of.klen, of.klen,
	    fixture_obligation_one, &of);
	if (rc != 0 && rc != 1)
		return rc;
	if ((*o = of.o) == NULL)
		return rc == 1 ? CB_ECORRUPT : CB_ENOTFOUND;
	return 0;
}
