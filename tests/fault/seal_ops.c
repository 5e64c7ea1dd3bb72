/* tests/fault/seal_ops.c — sealing with the Nth allocation failing (lib/seal.c).
 *
 * A failed allocation, ours or OpenSSL's or protobuf-c's, must come back as a local failure
 * (CB_ENOMEM or CB_ECRYPTO) with nothing returned and nothing leaked: never as a statement
 * about the message (CB_EBADSIG, CB_ENOTFOUND, CB_EMALFORMED, CB_EKEY), which an agent would
 * turn into an error file for a message that is fine. A seal made in spite of a failure
 * opens for every recipient. The same holds one level up (lib/sealbody.c): a body sealed
 * under a failure opens to the same fields, a failed seal or open leaves the message as it
 * was, and a failed open is never reported as a damaged or misrouted seal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "harness.h"
#include "intake.h"
#include "seal.h"
#include "seal_ops.h"
#include "sealbody.h"
#include "sealkey.h"

#define NRCPT	3

struct seal_ctx {
	const char		*units[NRCPT];
	sealkey_t		*keys[NRCPT];
	seal_recipient_t	 rcpt[NRCPT];
	uint8_t			 message_id[SEAL_MESSAGE_ID_LEN];
	seal_binding_t		 binding;
	uint8_t			 plain[600];
	Cluebus__Sealed		*ref;	/* an unfaulted seal, as a receiver unpacks it */
	Cluebus__Sealed		*out;
	uint8_t			*opened;
	size_t			 opened_len;
	sealkey_t		*pub;
	cb_error_t		 err;
	Cluebus__Message	*msg;	/* sealbody: a clue, clear or sealed */
};

static const char clue_doc[] = "{\"kind\":\"clue\",\"priority\":\"urgent\",\"clue\":{"
    "\"category\":\"school\",\"jurisdiction\":\"210302\",\"occurred_at\":"
    "\"2026-03-01T08:00:00Z\",\"location\":\"铁东区\",\"summary\":\"测试戊缺课\","
    "\"handling\":{\"code\":\"h0\"},\"evaluation\":{\"source_reliability\":\"b\","
    "\"accuracy\":2},\"persons\":[{\"role\":\"victim\",\"name\":\"测试戊\","
    "\"id_number\":\"210302201503040020\"}]}}";

static int
local_failure(int rc)
{
	return rc == CB_ENOMEM || rc == CB_ECRYPTO;
}

/* Whether every recipient opens `s` to the plaintext (run unarmed). */
static int
opens_for_all(struct seal_ctx *c, const Cluebus__Sealed *s)
{
	uint8_t *plain;
	size_t len;

	for (size_t i = 0; i < NRCPT; i++) {
		if (seal_open(s, &c->binding, c->units[i], c->keys[i], &plain, &len, NULL) != 0)
			return 0;
		int same = len == sizeof(c->plain) && memcmp(plain, c->plain, len) == 0;
		seal_plain_free(plain, len);
		if (!same)
			return 0;
	}
	return 1;
}

static int
encrypt_run(void *arg)
{
	struct seal_ctx *c = arg;

	return seal_encrypt(&c->binding, c->rcpt, NRCPT, c->plain, sizeof(c->plain), &c->out,
	    &c->err);
}

static const char *
encrypt_check(void *arg, int rc, int hit)
{
	struct seal_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0) {
		if (c->out == NULL || !opens_for_all(c, c->out))
			why = "a seal made under an allocation failure does not open";
		seal_free(c->out);
		c->out = NULL;
		return why;
	}
	if (!local_failure(rc))
		return "an allocation failure reported as something else";
	return c->out != NULL ? "a Sealed returned with an error" : NULL;
}

static int
open_run(void *arg)
{
	struct seal_ctx *c = arg;

	memset(&c->err, 0, sizeof(c->err));
	return seal_open(c->ref, &c->binding, c->units[1], c->keys[1], &c->opened,
	    &c->opened_len, &c->err);
}

static const char *
open_check(void *arg, int rc, int hit)
{
	struct seal_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0) {
		if (c->opened == NULL || c->opened_len != sizeof(c->plain) ||
		    memcmp(c->opened, c->plain, sizeof(c->plain)) != 0)
			why = "opened bytes differ from what was sealed";
		seal_plain_free(c->opened, c->opened_len);
		c->opened = NULL;
		return why;
	}
	if (!local_failure(rc))
		return "an allocation failure reported as a bad or misrouted seal (the agent "
		    "would write an error file for a good message)";
	if (c->opened != NULL)
		return "plaintext returned with an error";
	return c->err.reason[0] == '\0' ? "err not set" : NULL;
}

static int
public_run(void *arg)
{
	struct seal_ctx *c = arg;

	return sealkey_from_public(sealkey_public(c->keys[0]), SEALKEY_PUBLIC_LEN, &c->pub);
}

static const char *
public_check(void *arg, int rc, int hit)
{
	struct seal_ctx *c = arg;
	const char *why = NULL;

	(void)hit;
	if (rc == 0) {
		if (memcmp(sealkey_id(c->pub), sealkey_id(c->keys[0]), SEALKEY_ID_LEN) != 0)
			why = "key id differs";
		sealkey_free(c->pub);
		c->pub = NULL;
		return why;
	}
	return local_failure(rc) ? NULL : "an allocation failure reported as a bad key";
}

/* A clear clue with the header a signer sets (unarmed). */
static Cluebus__Message *
clue_new(struct seal_ctx *c)
{
	Cluebus__Message *m = NULL;

	if (intake_from_json(clue_doc, strlen(clue_doc), &m, NULL) != 0 ||
	    (m->message_id.data = malloc(SEAL_MESSAGE_ID_LEN)) == NULL ||
	    (m->sender = strdup("health")) == NULL)
		fault_die("clue setup");
	memcpy(m->message_id.data, c->message_id, SEAL_MESSAGE_ID_LEN);
	m->message_id.len = SEAL_MESSAGE_ID_LEN;
	return m;
}

static int
clear_as_before(const Cluebus__Message *m)
{
	return sealbody_sealed(m) == NULL && strcmp(m->clue->summary, "测试戊缺课") == 0 &&
	    strcmp(m->clue->location, "铁东区") == 0 && m->clue->n_persons == 1 &&
	    strcmp(m->clue->persons[0]->id_number, "210302201503040020") == 0;
}

static void
body_free(void *arg)
{
	struct seal_ctx *c = arg;

	if (c->msg != NULL)
		protobuf_c_message_free_unpacked(&c->msg->base, NULL);
	c->msg = NULL;
}

static void
body_seal_setup(void *arg)
{
	struct seal_ctx *c = arg;

	c->msg = clue_new(c);
}

static int
body_seal_run(void *arg)
{
	struct seal_ctx *c = arg;

	return sealbody_seal(c->msg, c->rcpt, NRCPT, &c->err);
}

static const char *
body_seal_check(void *arg, int rc, int hit)
{
	struct seal_ctx *c = arg;

	(void)hit;
	if (rc == 0) {
		for (size_t i = 0; i < NRCPT; i++) {
			Cluebus__Message *m;
			uint8_t *buf;
			size_t len = cluebus__message__get_packed_size(c->msg);
			int ok;

			if ((buf = malloc(len)) == NULL)
				fault_die("malloc");
			cluebus__message__pack(c->msg, buf);
			m = cluebus__message__unpack(NULL, len, buf);
			free(buf);
			ok = m != NULL && sealbody_open(m, c->units[i], c->keys[i], NULL) == 0 &&
			    clear_as_before(m);
			if (m != NULL)
				protobuf_c_message_free_unpacked(&m->base, NULL);
			if (!ok)
				return "a body sealed under an allocation failure does not open";
		}
		return NULL;
	}
	if (!local_failure(rc))
		return "an allocation failure reported as something else";
	return clear_as_before(c->msg) ? NULL : "a failed seal changed the message";
}

static void
body_open_setup(void *arg)
{
	struct seal_ctx *c = arg;

	c->msg = clue_new(c);
	if (sealbody_seal(c->msg, c->rcpt, NRCPT, NULL) != 0)
		fault_die("sealbody_seal");
}

static int
body_open_run(void *arg)
{
	struct seal_ctx *c = arg;

	memset(&c->err, 0, sizeof(c->err));
	return sealbody_open(c->msg, c->units[2], c->keys[2], &c->err);
}

static const char *
body_open_check(void *arg, int rc, int hit)
{
	struct seal_ctx *c = arg;

	(void)hit;
	if (rc == 0)
		return clear_as_before(c->msg) ? NULL : "opened fields differ";
	if (!local_failure(rc))
		return "an allocation failure reported as a bad or misrouted seal (the agent "
		    "would write an error file for a good message)";
	if (sealbody_sealed(c->msg) == NULL || c->msg->clue->n_persons != 0)
		return "a failed open changed the message";
	return NULL;
}

int
seal_faults(void)
{
	static struct seal_ctx c = { .units = { "ato", "civil-affairs", "psb" } };
	Cluebus__Sealed *made = NULL;
	uint8_t *packed;
	size_t len;
	int failed = 0;

	fault_current_op = "seal setup";
	for (size_t i = 0; i < NRCPT; i++) {
		if (sealkey_generate(&c.keys[i]) != 0)
			fault_die("sealkey_generate");
		c.rcpt[i].unit = c.units[i];
		c.rcpt[i].key = c.keys[i];
	}
	memset(c.message_id, 0x5a, sizeof(c.message_id));
	c.binding.message_id = c.message_id;
	c.binding.sender = "health";
	memset(c.plain, 'p', sizeof(c.plain));
	if (seal_encrypt(&c.binding, c.rcpt, NRCPT, c.plain, sizeof(c.plain), &made, NULL) != 0)
		fault_die("seal_encrypt");
	len = cluebus__sealed__get_packed_size(made);
	if ((packed = malloc(len)) == NULL)
		fault_die("malloc");
	cluebus__sealed__pack(made, packed);
	if ((c.ref = cluebus__sealed__unpack(NULL, len, packed)) == NULL)
		fault_die("unpack");
	free(packed);
	seal_free(made);

	failed += fault_run(&(struct fault_op){ "seal_encrypt (3 recipients)", NULL, encrypt_run,
	    encrypt_check, NULL, &c, 10 });
	failed += fault_run(&(struct fault_op){ "seal_open (recipient 2 of 3)", NULL, open_run,
	    open_check, NULL, &c, 3 });
	failed += fault_run(&(struct fault_op){ "sealkey_from_public", NULL, public_run,
	    public_check, NULL, &c, 1 });
	failed += fault_run(&(struct fault_op){ "sealbody_seal (a clue, 3 recipients)",
	    body_seal_setup, body_seal_run, body_seal_check, body_free, &c, 10 });
	failed += fault_run(&(struct fault_op){ "sealbody_open (recipient 3 of 3)",
	    body_open_setup, body_open_run, body_open_check, body_free, &c, 5 });

	seal_free(c.ref);
	for (size_t i = 0; i < NRCPT; i++)
		sealkey_free(c.keys[i]);
	return failed;
}
