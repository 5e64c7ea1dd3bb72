/* tests/tools/vectors.c — the test vectors of docs/protocol.md, made from fixed seeds.
 *
 *   vectors            prints the vectors (markdown) to stdout
 *
 * Everything is fixed: the Ed25519 seed, the CURVE secrets, the Hello's time and nonce, the
 * message id and creation time of the Publish. Ed25519 signatures are deterministic, so
 * the output is the same on every run and machine; tests/integration/test_protocol_doc.sh
 * checks that docs/protocol.md carries exactly this output. Before printing, the tool
 * checks its vectors the way the broker does: the private key file loads, the Hello's
 * signature verifies over wire_hello_bytes(), the Publish frame decodes and its envelope
 * verifies and opens. Exit: 0 printed, 1 a check failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <zmq.h>

#include "envelope.h"
#include "keys.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define HELLO_TIME_MS	1780000000000LL		/* 2026-05-28T20:26:40Z */
#define CREATED_MS	1780000001000LL

static void
fill(uint8_t *buf, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(first + i);
}

static void
print_hex(const char *label, const uint8_t *buf, size_t len)
{
	char *hex = malloc(2 * len + 1);

	if (hex == NULL)
		exit(1);
	hex_encode(buf, len, hex);
	printf("%s (%zu bytes):\n\n", label, len);
	for (size_t i = 0; i < 2 * len; i += 64)
		printf("    %.64s\n", hex + i);
	printf("\n");
	free(hex);
}

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "vectors: check failed: %s\n", what);
		exit(1);
	}
}

/* The unit's signing key from its 32-byte seed, through a PEM file as a unit has it. */
static cb_key_t *
unit_key(const uint8_t seed[32])
{
	char path[] = "/tmp/cb-vectors.XXXXXX", *pem;
	EVP_PKEY *pkey;
	cb_key_t *k = NULL;
	FILE *f = NULL;
	BIO *mem;
	long len;
	int fd = -1;

	check((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32)) != NULL,
	    "Ed25519 key from seed");
	check((mem = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) == 1, "PEM");
	len = BIO_get_mem_data(mem, &pem);
	printf("Private key file (`health.key`, PEM PKCS#8, mode 0600):\n\n```\n%.*s```\n\n",
	    (int)len, pem);
	check((fd = mkstemp(path)) >= 0 && (f = fdopen(fd, "w")) != NULL, "temporary file");
	check(fwrite(pem, 1, (size_t)len, f) == (size_t)len && fclose(f) == 0, "write PEM");
	check(key_load_private(path, &k) == 0, "key_load_private of the PEM");
	unlink(path);
	BIO_free(mem);
	EVP_PKEY_free(pkey);
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key_public(k),
	    KEY_PUBLIC_LEN);
	mem = BIO_new(BIO_s_mem());
	check(pkey != NULL && mem != NULL && PEM_write_bio_PUBKEY(mem, pkey) == 1, "public PEM");
	len = BIO_get_mem_data(mem, &pem);
	printf("Public key file (`health.pub`, PEM SubjectPublicKeyInfo):\n\n```\n%.*s```\n\n",
	    (int)len, pem);
	BIO_free(mem);
	EVP_PKEY_free(pkey);
	return k;
}

static void
curve_pair(const char *who, uint8_t first)
{
	uint8_t secret[32];
	char sz85[TRANSPORT_Z85_LEN + 1], pz85[TRANSPORT_Z85_LEN + 1];

	fill(secret, sizeof(secret), first);
	check(transport_z85_encode(secret, sizeof(secret), sz85) == 0, "z85");
	check(zmq_curve_public(pz85, sz85) == 0, "zmq_curve_public");
	printf("- %s CURVE secret key (raw bytes %02x %02x .. %02x), file `%s.curve`: `%s`\n",
	    who, secret[0], secret[1], secret[31], who, sz85);
	printf("- %s CURVE public key, file `%s.curve.pub` and registry `transport_public`: "
	    "`%s`\n", who, who, pz85);
}

static void
hello_vector(const cb_key_t *k)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *back = NULL;
	Cluebus__Hello h = CLUEBUS__HELLO__INIT;
	uint8_t nonce[16], sb[128], sig[KEY_SIG_LEN], *frame;
	size_t sblen, flen;

	fill(nonce, sizeof(nonce), 0xa0);
	sblen = wire_hello_bytes("health", HELLO_TIME_MS, nonce, sizeof(nonce), sb, sizeof(sb));
	check(sblen != 0 && key_sign(k, sb, sblen, sig) == 0, "sign the hello");
	printf("### Hello\n\n");
	printf("unit `health`, time_ms %lld, protocol %d, publish_only false, nonce "
	    "a0 a1 .. af.\n\n", HELLO_TIME_MS, WIRE_PROTOCOL);
	print_hex("Signed bytes", sb, sblen);
	print_hex("Signature", sig, sizeof(sig));
	h.unit = "health";
	h.key_id.data = (uint8_t *)key_id(k);
	h.key_id.len = KEY_ID_LEN;
	h.time_ms = HELLO_TIME_MS;
	h.nonce.data = nonce;
	h.nonce.len = sizeof(nonce);
	h.signature.data = sig;
	h.signature.len = sizeof(sig);
	h.protocol = WIRE_PROTOCOL;
	f.frame_case = CLUEBUS__FRAME__FRAME_HELLO;
	f.hello = &h;
	flen = cluebus__frame__get_packed_size(&f);
	check((frame = malloc(flen)) != NULL, "memory");
	cluebus__frame__pack(&f, frame);
	print_hex("Frame (the whole ZeroMQ message)", frame, flen);
	/* As the broker checks it. */
	check(wire_decode(frame, flen, &back) == 0 &&
	    back->frame_case == CLUEBUS__FRAME__FRAME_HELLO, "hello frame decodes");
	sblen = wire_hello_bytes(back->hello->unit, back->hello->time_ms,
	    back->hello->nonce.data, back->hello->nonce.len, sb, sizeof(sb));
	check(key_verify(k, sb, sblen, back->hello->signature.data,
	    back->hello->signature.len) == 0, "hello signature verifies");
	wire_free(back);
	free(frame);
}

static void
publish_vector(const cb_key_t *k)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *back = NULL;
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT, *opened = NULL;
	Cluebus__Clue clue = CLUEBUS__CLUE__INIT;
	Cluebus__Envelope *env = NULL;
	uint8_t msgid[MESSAGE_ID_LEN], *frame;
	cb_error_t err;
	size_t flen;

	fill(msgid, sizeof(msgid), 0x10);
	m.message_id.data = msgid;
	m.message_id.len = sizeof(msgid);
	m.sender = "health";
	m.created_ms = CREATED_MS;
	m.kind = CLUEBUS__KIND__KIND_CLUE;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	m.clue = &clue;
	clue.category = CLUEBUS__CATEGORY__CATEGORY_SCHOOL;
	clue.jurisdiction = "210302";
	clue.occurred_ms = 1779900000000LL;
	clue.location = "鞍山市铁东区";
	clue.summary = "test vector";
	clue.handling = CLUEBUS__HANDLING_CODE__HANDLING_H0;
	clue.source_reliability = CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_B;
	clue.info_accuracy = 2;
	check(envelope_sign(&m, k, &env) == 0, "envelope_sign");
	printf("### Publish\n\n");
	printf("A clue from `health`: message_id 10 11 .. 1f, created_ms %lld, kind CLUE, "
	    "priority ROUTINE,\ncategory SCHOOL, jurisdiction \"210302\", occurred_ms "
	    "1779900000000, location \"鞍山市铁东区\",\nsummary \"test vector\", handling H0, "
	    "source_reliability B, info_accuracy 2.\n\n", CREATED_MS);
	print_hex("Message (`Envelope.signed`: the signed bytes, carried as they are)",
	    env->signed_.data, env->signed_.len);
	print_hex("Signature (`Envelope.signature`)", env->signature.data, env->signature.len);
	p.envelope = env;
	p.message_id.data = msgid;
	p.message_id.len = sizeof(msgid);
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	flen = cluebus__frame__get_packed_size(&f);
	check((frame = malloc(flen)) != NULL, "memory");
	cluebus__frame__pack(&f, frame);
	print_hex("Frame (the whole ZeroMQ message)", frame, flen);
	check(wire_decode(frame, flen, &back) == 0 &&
	    back->frame_case == CLUEBUS__FRAME__FRAME_PUBLISH, "publish frame decodes");
	check(envelope_verify(back->publish->envelope, k) == 0, "envelope verifies");
	check(envelope_open(back->publish->envelope, &opened, &err) == 0, "envelope opens");
	protobuf_c_message_free_unpacked(&opened->base, NULL);
	wire_free(back);
	free(frame);
	envelope_free(env);
}

static void
small_frames(void)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Ack ack = CLUEBUS__ACK__INIT;
	Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
	uint8_t buf[64];

	printf("### Ack and Heartbeat\n\n");
	ack.upto_seq = 42;
	f.frame_case = CLUEBUS__FRAME__FRAME_ACK;
	f.ack = &ack;
	print_hex("Ack, upto_seq 42", buf, cluebus__frame__pack(&f, buf));
	hb.time_ms = HELLO_TIME_MS;
	f.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
	f.heartbeat = &hb;
	print_hex("Heartbeat, time_ms 1780000000000", buf, cluebus__frame__pack(&f, buf));
}

int
main(int argc, char **argv)
{
	uint8_t seed[32];
	cb_key_t *k;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: vectors\n");
		return 2;
	}
	fill(seed, sizeof(seed), 0x00);
	printf("### Keys\n\n");
	printf("Unit `health`'s Ed25519 seed (the 32-byte private key): 00 01 02 .. 1f.\n\n");
	k = unit_key(seed);
	print_hex("Public key, raw (a registry file's `sign_public` is its hex)", key_public(k),
	    KEY_PUBLIC_LEN);
	print_hex("Key id: the first 8 bytes of SHA-256 over the raw public key", key_id(k),
	    KEY_ID_LEN);
	curve_pair("health", 0x40);
	curve_pair("broker", 0x60);
	printf("\n");
	hello_vector(k);
	publish_vector(k);
	small_frames();
	key_free(k);
	return 0;
}
