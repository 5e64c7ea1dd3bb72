/* bench/loadgen.c — the load generator of `make bench`: signed 1 KiB clues at a broker.
 *
 *   loadgen --endpoint E --keys DIR --unit U --count N --rate max|R
 *           [--window W] [--size BYTES] [--category C] [--jurisdiction J]
 *           [--out DIR]... [--out-timeout-s S] [--broker-pid PID] [--label NAME]
 *           [--dump FILE] [--tokens K [--match-every M]] [--seal-to U1,U2,...]
 *   loadgen --keys DIR --make-seal-keys U1,U2,...
 *
 * With --seal-to every clue's summary, location and persons are sealed (lib/sealbody.c,
 * before any timing) to those units' sealing keys DIR/U.seal, as an agent seals them: the
 * broker then checks the recipient set of every message (sealing on). --make-seal-keys
 * only makes the missing DIR/U.seal files (mode 0600) and exits.
 *
 * Before any timing it builds N clues from U (category C, jurisdiction J, the summary
 * padded so that the packed, signed Message is BYTES long), signs them with DIR/U.key and
 * packs each into its Publish frame. Then it connects a DEALER with CURVE (DIR/U.curve,
 * DIR/broker.curve.pub), says a signed, publish-only Hello (as tests/tools/forge.c does)
 * and publishes with at most W publishes awaiting their answer:
 *
 *   --rate max   as fast as the window allows; reports accepted messages per second
 *                (first send to last Accepted);
 *   --rate R     R per second on a fixed schedule (open loop: latency counts from the
 *                scheduled time, so a stall is not hidden by sending later).
 *
 * With --tokens K each clue carries K blind tokens (phone, key version 1; distinct per
 * clue) and its own case reference, as an agent with a correlation key sends them; with
 * --match-every M every M-th clue's first token is the one of the clue before it, so that
 * the broker logs a match notice for it (docs/correlation.md).
 *
 * Answers are matched by message id: each id is 8 random bytes of this run followed by
 * the big-endian index of the message, so an Accepted names its message directly.
 * Publish-to-accepted latency is reported as p50/p99/p99.9. With --out DIR (repeatable:
 * the recipients' SPOOL/out/ directories, written by real cluebus-agent processes) it
 * watches the directories with inotify for files named SEQ-clue-ID.json and reports the
 * publish-to-out/ latency over every (message, recipient) pair; it waits at most
 * --out-timeout-s after the last Accepted for all of them. With --broker-pid it reads the
 * broker's CPU time (utime+stime of /proc/PID/stat) before and after, and its peak RSS
 * (VmHWM of /proc/PID/status). With --dump it writes one line per message to FILE: index,
 * scheduled/actual send time since the start, publish->accepted and the slowest
 * publish->out/ latency in ms (-1: none), tab-separated, for plots and tail analysis.
 *
 * Output: human lines on stderr, and one line on stdout for scripts:
 *   result label=L mode=max|fixed count=N accepted=A rejected=X seconds=S rate=R
 *          acc_p50_ms= acc_p99_ms= acc_p999_ms= acc_max_ms= out_seen= out_expected=
 *          out_p50_ms= out_p99_ms= out_p999_ms= out_drain_s= cpu_accept_us=
 *          cpu_total_us= sys_accept_us= sys_total_us= hwm_kb= rss_kb= anon_kb=
 *          out_complete=0|1
 * ("-" where a value was not measured; out_complete=0: some files did not appear before
 * the timeout, and the out/ percentiles count them as arriving then, so they are lower
 * bounds). cpu_accept_us is the broker's CPU per accepted message from the first send to
 * the last Accepted; cpu_total_us until the last out/ file (deliveries and their
 * acknowledgements included); sys_* are the kernel's share of them. hwm_kb is VmHWM,
 * which counts LMDB's file-backed mapped pages; anon_kb (RssAnon) is the broker's own
 * memory.
 *
 * Exit 0 when every publish was accepted (and, with --out, every file appeared); 1
 * otherwise; 2 on a usage or setup error. */
#define _GNU_SOURCE	/* ppoll: nanosecond waits for the fixed-rate schedule */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zmq.h>

#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "seal.h"
#include "sealbody.h"
#include "sealkey.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define OUT_MAX		8
#define NS_PER_MS	1000000.0

struct loadgen {
	const char	*endpoint, *keys_dir, *unit, *category, *jurisdiction, *label;
	const char	*dump_path;
	const char	*seal_to;	/* comma-separated units, or NULL: clear clues */
	const char	*out_dirs[OUT_MAX];
	size_t		 nout;
	size_t		 count, window, size;
	size_t		 tokens, match_every;	/* blind tokens per clue; a shared one every */
	double		 rate;		/* 0: max */
	int		 out_timeout_s;
	long		 broker_pid;

	cb_key_t	*key;
	uint8_t		 run_prefix[8];	/* first half of every message id of this run */

	/* The pre-packed Publish frames, back to back. */
	uint8_t		*frames;
	size_t		*frame_off, *frame_len;
	size_t		 signed_len;	/* bytes of one signed Message */

	/* Per message, monotonic nanoseconds; 0 = not yet. */
	int64_t		*sent_ns, *acc_ns, *out_ns;	/* out_ns: count * nout */
	size_t		 accepted, rejected, out_seen;
	int		 out_overflow;

	void		*zctx, *sock;
	int		 zfd;		/* the socket's ZMQ_FD */
	int		 ino;
	int		 wd[OUT_MAX];
};

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen --endpoint E --keys DIR --unit U --count N "
	    "--rate max|R\n"
	    "               [--window W] [--size BYTES] [--category C] [--jurisdiction J]\n"
	    "               [--out DIR]... [--out-timeout-s S] [--broker-pid PID] "
	    "[--label NAME] [--dump FILE]\n"
	    "               [--tokens K [--match-every M]] [--seal-to U1,U2,...]\n"
	    "       loadgen --keys DIR --make-seal-keys U1,U2,...\n");
	exit(2);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the broker process ---- */

/* utime + stime of a process in microseconds, or -1; its stime alone in *sys_us. */
static long long
proc_cpu_us(long pid, long long *sys_us)
{
	char path[64], buf[2048], *p;
	unsigned long long utime, stime;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	*sys_us = -1;
	if (pid <= 0 || tck <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which is in parentheses and may hold spaces. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &utime, &stime) != 2)
		return -1;
	*sys_us = (long long)(stime * 1000000ULL / (unsigned long long)tck);
	return (long long)((utime + stime) * 1000000ULL / (unsigned long long)tck);
}

/* A "Vm...:  N kB" line of /proc/PID/status, or -1. */
static long long
proc_status_kb(long pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long long kb = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			kb = atoll(line + flen + 1);
			break;
		}
	fclose(f);
	return kb;
}

/* ---- building and signing the clues (before any timing) ---- */

static void
message_id_for(const struct loadgen *lg, size_t i, uint8_t id[MESSAGE_ID_LEN])
{
	memcpy(id, lg->run_prefix, 8);
	be64_put(id + 8, (uint64_t)i);
}

/* The index named by a message id of this run, or -1. */
static long long
message_index(const struct loadgen *lg, const uint8_t *id, size_t len)
{
	uint64_t i;

	if (len != MESSAGE_ID_LEN || memcmp(id, lg->run_prefix, 8) != 0)
		return -1;
	i = be64_get(id + 8);
	return i < lg->count ? (long long)i : -1;
}

/* A clue document whose summary is `pad` ASCII letters. Returns a new string or NULL. */
static char *
clue_json(const struct loadgen *lg, size_t pad)
{
	static const char head[] = "{\"kind\":\"clue\",\"priority\":\"routine\",\"clue\":{"
	    "\"category\":\"%s\",\"jurisdiction\":\"%s\","
	    "\"occurred_at\":\"2026-03-01T08:30:00+08:00\",\"location\":\"bench\","
	    "\"summary\":\"";
	static const char tail[] = "\",\"handling\":{\"code\":\"h0\"},"
	    "\"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2}}}";
	size_t cap = sizeof(head) + strlen(lg->category) + strlen(lg->jurisdiction) + pad +
	    sizeof(tail) + 1;
	char *s = malloc(cap);
	int n;

	if (s == NULL)
		return NULL;
	n = snprintf(s, cap, head, lg->category, lg->jurisdiction);
	memset(s + n, 'x', pad);
	memcpy(s + n + pad, tail, sizeof(tail));
	return s;
}

/* Gives the clue `lg->tokens` blind tokens and a case reference (filled per clue by
 * clue_tokens_fill). Returns 0 or -1. */
static int
clue_tokens_add(const struct loadgen *lg, Cluebus__Message *m)
{
	Cluebus__Clue *c = m->clue;

	if (lg->tokens == 0)
		return 0;
	free(m->case_ref != protobuf_c_empty_string ? m->case_ref : NULL);
	if ((m->case_ref = strdup("bench-00000000")) == NULL ||
	    (c->match_tokens = calloc(lg->tokens, sizeof(*c->match_tokens))) == NULL)
		return -1;
	for (size_t j = 0; j < lg->tokens; j++) {
		Cluebus__MatchToken *t = malloc(sizeof(*t));

		if (t == NULL)
			return -1;
		cluebus__match_token__init(t);
		c->match_tokens[c->n_match_tokens++] = t;
		t->type = CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_PHONE;
		t->key_version = 1;
		if ((t->token.data = calloc(1, 32)) == NULL)
			return -1;
		t->token.len = 32;
	}
	return 0;
}

/* The tokens and case reference of clue i: token j is SHA-256(run prefix, j, i), except
 * that every match_every-th clue's first token is its predecessor's. */
static void
clue_tokens_fill(const struct loadgen *lg, Cluebus__Message *m, size_t i)
{
	uint8_t in[24];

	if (lg->tokens == 0)
		return;
	snprintf(m->case_ref, 15, "bench-%08zu", i % 100000000);
	for (size_t j = 0; j < lg->tokens; j++) {
		size_t v = j == 0 && lg->match_every > 0 && i > 0 && i % lg->match_every == 0 ?
		    i - 1 : i;

		memcpy(in, lg->run_prefix, 8);
		be64_put(in + 8, (uint64_t)j);
		be64_put(in + 16, (uint64_t)v);
		EVP_Digest(in, sizeof(in), m->clue->match_tokens[j]->token.data, NULL,
		    EVP_sha256(), NULL);
	}
}

/* Parses the document with `pad` summary bytes into *m, with sender, id and time set the
 * way envelope_sign will pack them; returns the packed size of the Message (key id
 * included) or 0. */
static size_t
clue_message(const struct loadgen *lg, size_t pad, uint8_t id[MESSAGE_ID_LEN],
    Cluebus__Message **out)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;
	char *json = clue_json(lg, pad);
	uint8_t fake_key_id[KEY_ID_LEN] = { 0 };
	size_t len;
	int rc;

	if (json == NULL)
		return 0;
	rc = intake_from_json(json, strlen(json), &m, &err);
	free(json);
	if (rc != 0) {
		fprintf(stderr, "loadgen: clue: %s: %s\n", err.field, err.reason);
		return 0;
	}
	if ((m->sender = strdup(lg->unit)) == NULL || clue_tokens_add(lg, m) != 0) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return 0;
	}
	m->message_id.data = id;	/* borrowed: reset before freeing */
	m->message_id.len = MESSAGE_ID_LEN;
	m->created_ms = clock_now_ms();
	m->key_id.data = fake_key_id;
	m->key_id.len = KEY_ID_LEN;
	len = protobuf_c_message_get_packed_size(&m->base);
	m->key_id.data = NULL;
	m->key_id.len = 0;
	*out = m;
	return len;
}

static void
clue_message_free(Cluebus__Message *m)
{
	if (m == NULL)
		return;
	m->message_id.data = NULL;
	m->message_id.len = 0;
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* The sealing keys of the comma-separated `units` from DIR/U.seal, made when missing
 * (`make` 1) or refused when missing (0). Fills keys/rcpt (room for SEAL_MAX_RECIPIENTS);
 * the unit ids are copied into `names`. Returns the count, or 0 on an error (said). */
static size_t
seal_keys(const char *dir, const char *units, int make, sealkey_t **keys,
    seal_recipient_t *rcpt, char names[][CB_UNIT_ID_SIZE])
{
	char path[4096], list[1024], *save = NULL, *u;
	size_t n = 0;

	snprintf(list, sizeof(list), "%s", units);
	for (u = strtok_r(list, ",", &save); u != NULL && n < SEAL_MAX_RECIPIENTS;
	    u = strtok_r(NULL, ",", &save)) {
		snprintf(names[n], CB_UNIT_ID_SIZE, "%s", u);
		snprintf(path, sizeof(path), "%s/%s.seal", dir, u);
		if (sealkey_load_private(path, &keys[n]) != 0 && (!make ||
		    sealkey_generate(&keys[n]) != 0 || sealkey_save_private(keys[n], path) != 0)) {
			fprintf(stderr, "loadgen: sealing key %s missing or unusable\n", path);
			return 0;
		}
		rcpt[n].unit = names[n];
		rcpt[n].key = keys[n];
		n++;
	}
	return n;
}

/* Seals a copy of `m`'s body with id `id` to `rcpt`, signs it, and returns the envelope
 * (NULL on error). */
static Cluebus__Envelope *
seal_and_sign(const struct loadgen *lg, const Cluebus__Message *m, const seal_recipient_t *rcpt,
    size_t n)
{
	Cluebus__Envelope *env = NULL;
	Cluebus__Message *copy;
	uint8_t *buf;
	size_t len = cluebus__message__get_packed_size(m);

	if ((buf = malloc(len)) == NULL)
		return NULL;
	cluebus__message__pack(m, buf);
	copy = cluebus__message__unpack(NULL, len, buf);
	free(buf);
	if (copy == NULL)
		return NULL;
	if (sealbody_seal(copy, rcpt, n, NULL) != 0 || envelope_sign(copy, lg->key, &env) != 0)
		env = NULL;
	copy->key_id.data = NULL;	/* borrowed from env */
	copy->key_id.len = 0;
	protobuf_c_message_free_unpacked(&copy->base, NULL);
	return env;
}

/* Signs every clue and packs its Publish frame. Returns 0 or 2. */
static int
loadgen_prepare(struct loadgen *lg)
{
	Cluebus__Message *m = NULL;
	uint8_t id[MESSAGE_ID_LEN];
	size_t pad = lg->size > 300 ? lg->size - 300 : 1, len = 0, total = 0, cap;
	int64_t t0 = now_ns();
	sealkey_t *skeys[SEAL_MAX_RECIPIENTS] = { NULL };
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	char names[SEAL_MAX_RECIPIENTS][CB_UNIT_ID_SIZE];
	size_t nseal = 0;

	if (rand_bytes(lg->run_prefix, sizeof(lg->run_prefix)) != 0)
		return 2;
	if (lg->seal_to != NULL &&
	    (nseal = seal_keys(lg->keys_dir, lg->seal_to, 0, skeys, rcpt, names)) == 0)
		return 2;
	message_id_for(lg, 0, id);
	/* Find the summary length that makes the packed Message exactly `size` bytes (a
	 * varint length may jump by one: a few rounds settle it). */
	for (int round = 0; round < 8; round++) {
		clue_message_free(m);
		m = NULL;
		if ((len = clue_message(lg, pad, id, &m)) == 0)
			return 2;
		if (len == lg->size)
			break;
		if (len > lg->size && pad <= len - lg->size) {
			fprintf(stderr, "loadgen: --size %zu is too small for a clue\n", lg->size);
			clue_message_free(m);
			return 2;
		}
		pad = pad + lg->size - len;	/* unsigned wrap-around cancels out */
	}
	lg->frame_off = calloc(lg->count, sizeof(size_t));
	lg->frame_len = calloc(lg->count, sizeof(size_t));
	cap = lg->count * (len + 256 + 128 * nseal);	/* a seal: ~100 bytes a recipient */
	lg->frames = malloc(cap);
	if (lg->frame_off == NULL || lg->frame_len == NULL || lg->frames == NULL) {
		clue_message_free(m);
		return 2;
	}
	for (size_t i = 0; i < lg->count; i++) {
		Cluebus__Envelope *env = NULL;
		Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
		Cluebus__Frame f = CLUEBUS__FRAME__INIT;
		size_t flen;

		message_id_for(lg, i, id);
		clue_tokens_fill(lg, m, i);
		m->created_ms = clock_now_ms();
		if (nseal > 0)
			env = seal_and_sign(lg, m, rcpt, nseal);
		else if (envelope_sign(m, lg->key, &env) != 0)
			env = NULL;
		m->key_id.data = NULL;	/* borrowed from env */
		m->key_id.len = 0;
		if (env == NULL) {
			fprintf(stderr, "loadgen: cannot seal or sign clue %zu\n", i);
			clue_message_free(m);
			return 2;
		}
		p.envelope = env;
		p.message_id.data = id;
		p.message_id.len = MESSAGE_ID_LEN;
		f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
		f.publish = &p;
		flen = cluebus__frame__get_packed_size(&f);
		if (total + flen > cap) {
			fprintf(stderr, "loadgen: frame %zu of %zu bytes over the buffer\n", i,
			    flen);
			envelope_free(env);
			clue_message_free(m);
			return 2;
		}
		cluebus__frame__pack(&f, lg->frames + total);
		lg->frame_off[i] = total;
		lg->frame_len[i] = flen;
		lg->signed_len = env->signed_.len;
		total += flen;
		envelope_free(env);
	}
	clue_message_free(m);
	for (size_t i = 0; i < nseal; i++)
		sealkey_free(skeys[i]);
	fprintf(stderr, "loadgen: %s %zu clues (%zu-byte signed message, %zu-byte frame) "
	    "in %.2f s\n", nseal > 0 ? "sealed and signed" : "signed", lg->count, lg->signed_len, lg->frame_len[0],
	    (double)(now_ns() - t0) / 1e9);
	return 0;
}

/* ---- the connection ---- */

static int
loadgen_connect(struct loadgen *lg)
{
	transport_keypair_t tk;
	char server[TRANSPORT_Z85_LEN + 1], path[4096];
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *reply = NULL;
	struct wire_hello wh;
	int linger = 0, hwm = 1000000, rc;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s.curve", lg->keys_dir, lg->unit);
	if (transport_load_secret(path, &tk) != 0) {
		fprintf(stderr, "loadgen: cannot load %s\n", path);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/broker.curve.pub", lg->keys_dir);
	if (transport_load_public(path, server) != 0) {
		fprintf(stderr, "loadgen: cannot load %s\n", path);
		OPENSSL_cleanse(&tk, sizeof(tk));
		return 2;
	}
	rc = (lg->zctx = zmq_ctx_new()) == NULL ||
	    (lg->sock = zmq_socket(lg->zctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(lg->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(lg->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(lg->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(lg->sock, ZMQ_CURVE_SERVERKEY, server, TRANSPORT_Z85_LEN) != 0 ||
	    zmq_setsockopt(lg->sock, ZMQ_CURVE_PUBLICKEY, tk.public_z85, TRANSPORT_Z85_LEN) ||
	    zmq_setsockopt(lg->sock, ZMQ_CURVE_SECRETKEY, tk.secret_z85, TRANSPORT_Z85_LEN) ||
	    zmq_connect(lg->sock, lg->endpoint) != 0;
	OPENSSL_cleanse(&tk, sizeof(tk));
	if (rc) {
		fprintf(stderr, "loadgen: connect %s: %s\n", lg->endpoint, zmq_strerror(errno));
		return 2;
	}
	/* Publish only: the unit's agent, if any, keeps its deliveries. */
	if (wire_hello_sign(&wh, lg->unit, lg->key, clock_now_ms(), 16, 1) != 0)
		return 2;
	f.frame_case = CLUEBUS__FRAME__FRAME_HELLO;
	f.hello = &wh.hello;
	/* The socket may not be connected yet: DONTWAIT would drop nothing on a DEALER (it
	 * queues), but retry EAGAIN to be safe. */
	for (int tries = 0; (rc = wire_send(lg->sock, NULL, 0, &f)) == CB_EAGAIN &&
	    tries < 100; tries++)
		usleep(10000);
	if (rc != 0) {
		fprintf(stderr, "loadgen: hello: %s\n", cb_strerror(rc));
		return 2;
	}
	if (wire_recv(lg->sock, clock_mono_ms() + 20000, WIRE_ANSWERS, &reply, NULL) != 0) {
		fprintf(stderr, "loadgen: no answer to hello\n");
		return 2;
	}
	if (reply->frame_case != CLUEBUS__FRAME__FRAME_WELCOME) {
		fprintf(stderr, "loadgen: hello refused\n");
		wire_free(reply);
		return 2;
	}
	wire_free(reply);
	len = sizeof(lg->zfd);
	if (zmq_getsockopt(lg->sock, ZMQ_FD, &lg->zfd, &len) != 0) {
		fprintf(stderr, "loadgen: ZMQ_FD: %s\n", zmq_strerror(errno));
		return 2;
	}
	return 0;
}

/* ---- the recipients' out/ directories ---- */

static int
loadgen_watch(struct loadgen *lg)
{
	if (lg->nout == 0) {
		lg->ino = -1;
		return 0;
	}
	if ((lg->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		perror("loadgen: inotify_init1");
		return 2;
	}
	for (size_t k = 0; k < lg->nout; k++)
		if ((lg->wd[k] = inotify_add_watch(lg->ino, lg->out_dirs[k],
		    IN_MOVED_TO | IN_CLOSE_WRITE)) < 0) {
			fprintf(stderr, "loadgen: watch %s: %s\n", lg->out_dirs[k],
			    strerror(errno));
			return 2;
		}
	return 0;
}

/* A file name "SEQ-clue-ID.json": records the arrival of message ID at recipient k. */
static void
out_arrived(struct loadgen *lg, size_t k, const char *name, int64_t t)
{
	const size_t digits = CB_MESSAGE_ID_HEX_SIZE - 1, suffix = strlen(".json");
	size_t n = strlen(name);
	char hex[CB_MESSAGE_ID_HEX_SIZE];
	uint8_t id[MESSAGE_ID_LEN];
	long long i;

	if (name[0] == '.' || n < digits + suffix || strcmp(name + n - suffix, ".json") != 0)
		return;
	memcpy(hex, name + n - suffix - digits, digits);
	hex[digits] = '\0';
	if (hex_decode(hex, id, sizeof(id)) != 0 ||
	    (i = message_index(lg, id, sizeof(id))) < 0)
		return;
	if (lg->out_ns[(size_t)i * lg->nout + k] == 0) {
		lg->out_ns[(size_t)i * lg->nout + k] = t;
		lg->out_seen++;
	}
}

static void
loadgen_read_inotify(struct loadgen *lg)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(lg->ino, buf, sizeof(buf))) > 0) {
		int64_t t = now_ns();

		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				lg->out_overflow = 1;
			else if (ev->len > 0)
				for (size_t k = 0; k < lg->nout; k++)
					if (ev->wd == lg->wd[k])
						out_arrived(lg, k, ev->name, t);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* ---- publishing ---- */

static void
loadgen_answer(struct loadgen *lg, const Cluebus__Frame *f, int64_t t)
{
	const ProtobufCBinaryData *id = f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED ?
	    &f->accepted->message_id : &f->rejected->message_id;
	long long i = message_index(lg, id->data, id->len);

	if (i < 0 || lg->acc_ns[i] != 0)
		return;
	if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED) {
		lg->acc_ns[i] = t;
		lg->accepted++;
	} else {
		lg->acc_ns[i] = -1;
		if (lg->rejected++ < 5)
			fprintf(stderr, "loadgen: clue %lld rejected: %s: %.200s\n", i,
			    wire_reject_name(f->rejected->code), f->rejected->reason);
	}
}

/* Reads every frame waiting on the socket. */
static void
loadgen_read_socket(struct loadgen *lg)
{
	for (;;) {
		Cluebus__Frame *f;
		zmq_msg_t msg;
		int64_t t;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, lg->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		t = now_ns();
		if (wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &f) == 0) {
			if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED ||
			    f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED)
				loadgen_answer(lg, f, t);
			wire_free(f);
		}
		zmq_msg_close(&msg);
	}
}

/* Waits for socket or inotify input for at most timeout_ns, then reads it. zmq_poll counts
 * in milliseconds, which would make a 1,000/s schedule spin or oversleep; so this polls the
 * socket's ZMQ_FD with ppoll (nanoseconds). That descriptor only says "look at
 * ZMQ_EVENTS", so ZMQ_EVENTS is checked first and the socket is read until EAGAIN. */
static void
loadgen_poll(struct loadgen *lg, int64_t timeout_ns)
{
	struct pollfd fds[2] = {
		{ lg->zfd, POLLIN, 0 },
		{ lg->ino, POLLIN, 0 },
	};
	struct timespec ts;
	size_t len = sizeof(int);
	int events = 0;

	if (zmq_getsockopt(lg->sock, ZMQ_EVENTS, &events, &len) == 0 &&
	    (events & ZMQ_POLLIN))
		timeout_ns = 0;
	if (timeout_ns < 0)
		timeout_ns = 0;
	ts.tv_sec = (time_t)(timeout_ns / 1000000000);
	ts.tv_nsec = (long)(timeout_ns % 1000000000);
	if (ppoll(fds, lg->ino >= 0 ? 2 : 1, &ts, NULL) < 0 && errno != EINTR)
		return;
	loadgen_read_socket(lg);
	if (lg->ino >= 0)
		loadgen_read_inotify(lg);
}

/* Publishes every clue. Returns the time of the first send. */
static int64_t
loadgen_publish(struct loadgen *lg)
{
	int64_t start = now_ns(), interval = lg->rate > 0 ? (int64_t)(1e9 / lg->rate) : 0;
	size_t next = 0;
	int64_t deadline;

	while (next < lg->count) {
		int64_t now = now_ns(), due = start + (int64_t)next * interval;
		size_t outstanding = next - lg->accepted - lg->rejected;

		if (outstanding >= lg->window || (interval > 0 && now < due)) {
			loadgen_poll(lg, outstanding >= lg->window ? 1000000 : due - now);
			continue;
		}
		if (zmq_send(lg->sock, lg->frames + lg->frame_off[next], lg->frame_len[next],
		    ZMQ_DONTWAIT) < 0) {
			loadgen_poll(lg, 1000000);
			continue;
		}
		lg->sent_ns[next] = interval > 0 ? due : now;
		next++;
		if (next % 64 == 0)
			loadgen_poll(lg, 0);
	}
	deadline = now_ns() + 60 * 1000000000LL;
	while (lg->accepted + lg->rejected < lg->count && now_ns() < deadline)
		loadgen_poll(lg, 10000000);
	return start;
}

/* Waits until every recipient file appeared or the timeout passed. */
static void
loadgen_wait_out(struct loadgen *lg)
{
	int64_t deadline = now_ns() + (int64_t)lg->out_timeout_s * 1000000000LL;
	size_t expected = lg->accepted * lg->nout;

	while (lg->out_seen < expected && !lg->out_overflow && now_ns() < deadline)
		loadgen_poll(lg, 10000000);
	if (lg->out_overflow)
		fprintf(stderr, "loadgen: inotify queue overflowed: out/ latencies are "
		    "incomplete\n");
}

/* ---- statistics ---- */

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Sorted latencies (ns) of the pairs with both times set. Returns the count. */
static size_t
latencies(const struct loadgen *lg, const int64_t *at, size_t per, int64_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < lg->count; i++)
		for (size_t k = 0; k < per; k++)
			if (lg->sent_ns[i] > 0 && at[i * per + k] > 0)
				out[n++] = at[i * per + k] - lg->sent_ns[i];
			else if (lg->sent_ns[i] > 0 && at[i * per + k] < -1)
				out[n++] = -at[i * per + k] - lg->sent_ns[i];	/* unseen */
	qsort(out, n, sizeof(*out), cmp_i64);
	return n;
}

static double
pct_ms(const int64_t *sorted, size_t n, double p)
{
	size_t idx;

	if (n == 0)
		return -1;
	idx = (size_t)(p * (double)n);
	if (idx >= n)
		idx = n - 1;
	return (double)sorted[idx] / NS_PER_MS;
}

static void
fmt_ms(char *out, size_t cap, double v)
{
	if (v < 0)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.3f", v);
}

static void
fmt_ll(char *out, size_t cap, long long v)
{
	if (v < 0)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%lld", v);
}

static void
loadgen_dump(const struct loadgen *lg, int64_t start)
{
	FILE *f = fopen(lg->dump_path, "w");

	if (f == NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", lg->dump_path, strerror(errno));
		return;
	}
	fprintf(f, "index\tsent_ms\taccepted_ms\tout_max_ms\n");
	for (size_t i = 0; i < lg->count; i++) {
		double acc = lg->acc_ns[i] > 0 ? (double)(lg->acc_ns[i] - lg->sent_ns[i]) /
		    NS_PER_MS : -1, out = -1;

		for (size_t k = 0; k < lg->nout; k++) {
			int64_t t = lg->out_ns[i * lg->nout + k];
			double ms = t > 0 ? (double)(t - lg->sent_ns[i]) / NS_PER_MS : -1;

			if (t <= 0) {
				out = -1;
				break;
			}
			if (ms > out)
				out = ms;
		}
		fprintf(f, "%zu\t%.3f\t%.3f\t%.3f\n", i,
		    (double)(lg->sent_ns[i] - start) / NS_PER_MS, acc, out);
	}
	fclose(f);
}

static int
loadgen_run(struct loadgen *lg)
{
	int64_t start, last_acc = 0, last_out = 0, *lat;
	long long cpu0, cpu_acc, cpu_end, sys0, sys_acc, sys_end, hwm, rss, anon;
	char a50[32], a99[32], a999[32], amax[32], o50[32], o99[32], o999[32], drain[32];
	char cacc[32], ctot[32], sacc[32], stot[32], shwm[32], srss[32], sanon[32], oseen[32], oexp[32];
	double seconds, rate;
	size_t n;
	int rc;

	if ((rc = loadgen_prepare(lg)) != 0)
		return rc;
	lg->sent_ns = calloc(lg->count, sizeof(int64_t));
	lg->acc_ns = calloc(lg->count, sizeof(int64_t));
	lg->out_ns = calloc(lg->count * (lg->nout ? lg->nout : 1), sizeof(int64_t));
	lat = calloc(lg->count * (lg->nout ? lg->nout : 1), sizeof(int64_t));
	if (lg->sent_ns == NULL || lg->acc_ns == NULL || lg->out_ns == NULL || lat == NULL) {
		free(lat);
		return 2;
	}
	if ((rc = loadgen_connect(lg)) != 0 || (rc = loadgen_watch(lg)) != 0) {
		free(lat);
		return rc;
	}

	cpu0 = proc_cpu_us(lg->broker_pid, &sys0);
	start = loadgen_publish(lg);
	for (size_t i = 0; i < lg->count; i++)
		if (lg->acc_ns[i] > last_acc)
			last_acc = lg->acc_ns[i];
	cpu_acc = proc_cpu_us(lg->broker_pid, &sys_acc);
	if (lg->nout > 0)
		loadgen_wait_out(lg);
	cpu_end = proc_cpu_us(lg->broker_pid, &sys_end);
	hwm = proc_status_kb(lg->broker_pid, "VmHWM");
	rss = proc_status_kb(lg->broker_pid, "VmRSS");
	anon = proc_status_kb(lg->broker_pid, "RssAnon");

	seconds = last_acc > start ? (double)(last_acc - start) / 1e9 : 0;
	rate = seconds > 0 ? (double)lg->accepted / seconds : 0;
	n = latencies(lg, lg->acc_ns, 1, lat);
	fmt_ms(a50, sizeof(a50), pct_ms(lat, n, 0.50));
	fmt_ms(a99, sizeof(a99), pct_ms(lat, n, 0.99));
	fmt_ms(a999, sizeof(a999), pct_ms(lat, n, 0.999));
	fmt_ms(amax, sizeof(amax), n > 0 ? (double)lat[n - 1] / NS_PER_MS : -1);
	if (lg->nout > 0) {
		/* Files that did not appear in time count as arriving now: the percentiles
		 * are then lower bounds (out_complete=0). */
		int64_t end = now_ns();

		for (size_t i = 0; i < lg->count; i++)
			for (size_t k = 0; k < lg->nout; k++)
				if (lg->acc_ns[i] > 0 && lg->out_ns[i * lg->nout + k] == 0)
					lg->out_ns[i * lg->nout + k] = -end;
		n = latencies(lg, lg->out_ns, lg->nout, lat);
		fmt_ms(o50, sizeof(o50), pct_ms(lat, n, 0.50));
		fmt_ms(o99, sizeof(o99), pct_ms(lat, n, 0.99));
		fmt_ms(o999, sizeof(o999), pct_ms(lat, n, 0.999));
		for (size_t i = 0; i < lg->count * lg->nout; i++)
			if (lg->out_ns[i] > last_out)
				last_out = lg->out_ns[i];
		if (last_out > 0 && lg->out_seen == lg->accepted * lg->nout)
			snprintf(drain, sizeof(drain), "%.2f", (double)(last_out - start) / 1e9);
		else
			snprintf(drain, sizeof(drain), "-");
		snprintf(oseen, sizeof(oseen), "%zu", lg->out_seen);
		snprintf(oexp, sizeof(oexp), "%zu", lg->accepted * lg->nout);
	} else {
		strcpy(o50, "-"), strcpy(o99, "-"), strcpy(o999, "-"), strcpy(drain, "-");
		strcpy(oseen, "-"), strcpy(oexp, "-");
	}
	fmt_ms(cacc, sizeof(cacc), cpu0 >= 0 && cpu_acc >= 0 && lg->accepted > 0 ?
	    (double)(cpu_acc - cpu0) / (double)lg->accepted : -1);
	fmt_ms(ctot, sizeof(ctot), cpu0 >= 0 && cpu_end >= 0 && lg->accepted > 0 ?
	    (double)(cpu_end - cpu0) / (double)lg->accepted : -1);
	fmt_ms(sacc, sizeof(sacc), sys0 >= 0 && sys_acc >= 0 && lg->accepted > 0 ?
	    (double)(sys_acc - sys0) / (double)lg->accepted : -1);
	fmt_ms(stot, sizeof(stot), sys0 >= 0 && sys_end >= 0 && lg->accepted > 0 ?
	    (double)(sys_end - sys0) / (double)lg->accepted : -1);
	fmt_ll(shwm, sizeof(shwm), hwm);
	fmt_ll(srss, sizeof(srss), rss);
	fmt_ll(sanon, sizeof(sanon), anon);

	fprintf(stderr, "loadgen: %s: %zu accepted, %zu rejected in %.2f s = %.0f/s; "
	    "publish->accepted p50 %s p99 %s p99.9 %s max %s ms; out/ %s of %s, p50 %s "
	    "p99 %s p99.9 %s ms; broker CPU %s us/msg (%s with delivery); VmHWM %s kB\n",
	    lg->rate > 0 ? "fixed rate" : "max rate", lg->accepted, lg->rejected, seconds,
	    rate, a50, a99, a999, amax, oseen, oexp, o50, o99, o999, cacc, ctot, shwm);
	printf("result label=%s mode=%s count=%zu accepted=%zu rejected=%zu seconds=%.3f "
	    "rate=%.1f acc_p50_ms=%s acc_p99_ms=%s acc_p999_ms=%s acc_max_ms=%s out_seen=%s "
	    "out_expected=%s out_p50_ms=%s out_p99_ms=%s out_p999_ms=%s out_drain_s=%s "
	    "cpu_accept_us=%s cpu_total_us=%s sys_accept_us=%s sys_total_us=%s hwm_kb=%s "
	    "rss_kb=%s anon_kb=%s out_complete=%d\n",
	    lg->label, lg->rate > 0 ? "fixed" : "max", lg->count, lg->accepted, lg->rejected,
	    seconds, rate, a50, a99, a999, amax, oseen, oexp, o50, o99, o999, drain, cacc, ctot,
	    sacc, stot, shwm, srss, sanon,
	    lg->nout == 0 || lg->out_seen == lg->accepted * lg->nout);
	fflush(stdout);
	if (lg->dump_path != NULL)
		loadgen_dump(lg, start);
	free(lat);
	if (lg->accepted != lg->count)
		return 1;
	if (lg->nout > 0 && lg->out_seen != lg->accepted * lg->nout)
		return 1;
	return 0;
}

static void
loadgen_free(struct loadgen *lg)
{
	if (lg->ino >= 0)
		close(lg->ino);
	if (lg->sock != NULL)
		zmq_close(lg->sock);
	if (lg->zctx != NULL)
		zmq_ctx_term(lg->zctx);
	key_free(lg->key);
	free(lg->frames);
	free(lg->frame_off);
	free(lg->frame_len);
	free(lg->sent_ns);
	free(lg->acc_ns);
	free(lg->out_ns);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "keys", required_argument, NULL, 'k' },
		{ "unit", required_argument, NULL, 'u' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 's' },
		{ "category", required_argument, NULL, 'C' },
		{ "jurisdiction", required_argument, NULL, 'J' },
		{ "out", required_argument, NULL, 'o' },
		{ "out-timeout-s", required_argument, NULL, 'T' },
		{ "broker-pid", required_argument, NULL, 'p' },
		{ "label", required_argument, NULL, 'l' },
		{ "dump", required_argument, NULL, 'd' },
		{ "tokens", required_argument, NULL, 'K' },
		{ "match-every", required_argument, NULL, 'M' },
		{ "seal-to", required_argument, NULL, 'S' },
		{ "make-seal-keys", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	struct loadgen lg;
	const char *rate = NULL, *make_seal = NULL;
	char path[4096];
	int ch, rc;

	memset(&lg, 0, sizeof(lg));
	lg.ino = -1;
	lg.unit = "health";
	lg.category = "medical";
	lg.jurisdiction = "210302";
	lg.label = "cluebus";
	lg.window = 1000;
	lg.size = 1024;
	lg.out_timeout_s = 120;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': lg.endpoint = optarg; break;
		case 'k': lg.keys_dir = optarg; break;
		case 'u': lg.unit = optarg; break;
		case 'n': lg.count = strtoul(optarg, NULL, 10); break;
		case 'r': rate = optarg; break;
		case 'w': lg.window = strtoul(optarg, NULL, 10); break;
		case 's': lg.size = strtoul(optarg, NULL, 10); break;
		case 'C': lg.category = optarg; break;
		case 'J': lg.jurisdiction = optarg; break;
		case 'o':
			if (lg.nout == OUT_MAX)
				usage();
			lg.out_dirs[lg.nout++] = optarg;
			break;
		case 'T': lg.out_timeout_s = atoi(optarg); break;
		case 'p': lg.broker_pid = atol(optarg); break;
		case 'l': lg.label = optarg; break;
		case 'd': lg.dump_path = optarg; break;
		case 'K': lg.tokens = strtoul(optarg, NULL, 10); break;
		case 'M': lg.match_every = strtoul(optarg, NULL, 10); break;
		case 'S': lg.seal_to = optarg; break;
		case 'G': make_seal = optarg; break;
		default: usage();
		}
	}
	if (make_seal != NULL) {
		sealkey_t *k[SEAL_MAX_RECIPIENTS] = { NULL };
		seal_recipient_t r[SEAL_MAX_RECIPIENTS];
		char nm[SEAL_MAX_RECIPIENTS][CB_UNIT_ID_SIZE];
		size_t n;

		if (lg.keys_dir == NULL)
			usage();
		n = seal_keys(lg.keys_dir, make_seal, 1, k, r, nm);
		for (size_t i = 0; i < n; i++)
			sealkey_free(k[i]);
		return n > 0 ? 0 : 1;
	}
	if (optind != argc || lg.endpoint == NULL || lg.keys_dir == NULL || rate == NULL ||
	    lg.count == 0 || lg.count > 10000000 || lg.window == 0 || lg.size < 64 ||
	    lg.size > 256 * 1024 || lg.out_timeout_s < 0 || lg.tokens > 64)
		usage();
	if (strcmp(rate, "max") == 0)
		lg.rate = 0;
	else if ((lg.rate = atof(rate)) <= 0 || lg.rate > 1e7)
		usage();
	snprintf(path, sizeof(path), "%s/%s.key", lg.keys_dir, lg.unit);
	if ((rc = key_load_private(path, &lg.key)) != 0) {
		fprintf(stderr, "loadgen: key %s: %s\n", path, cb_strerror(rc));
		return 2;
	}
	rc = loadgen_run(&lg);
	loadgen_free(&lg);
	return rc;
}
