/* bench/verifyrate.c — the machine's Ed25519 verification rate, the bound of SPEC §11.
 *
 *   verifyrate [--seconds S] [--size BYTES]
 *
 * Makes 1,024 messages of BYTES (default 1024) signed by 16 keys before timing, then
 * verifies them round-robin for S seconds (default 2) on 1 and on 2 threads, twice:
 * with OpenSSL EVP (a fresh EVP_MD_CTX, EVP_DigestVerifyInit, EVP_DigestVerify per
 * signature: how the broker verified until libsodium measured faster) and with the
 * broker's own path, lib/keys.c key_verify (libsodium's crypto_sign_verify_detached), over
 * the same keys and signatures. A wrong answer (a valid signature refused) aborts the run.
 *
 * Output: one line per measurement on stdout,
 *   verify lib=openssl|libsodium threads=T rate=R
 * and the summary on stderr. Exit 0, or 2 on a setup error. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "keys.h"
#include "util.h"

#define NKEYS	16
#define NMSGS	1024

struct corpus {
	cb_key_t	*pub[NKEYS];		/* public-only, as the broker's registry holds */
	EVP_PKEY	*evp[NKEYS];		/* the same keys for OpenSSL */
	uint8_t		*msg;			/* NMSGS * size */
	uint8_t		 sig[NMSGS][KEY_SIG_LEN];
	size_t		 size;
};

enum which { V_OPENSSL, V_SODIUM };

struct worker {
	const struct corpus *c;
	enum which	 which;
	size_t		 first;
	unsigned long long done;
	int		 failed;
	pthread_t	 thread;
};

static atomic_int stop;

static int
evp_verify(EVP_PKEY *pkey, const uint8_t *m, size_t len, const uint8_t *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
		ok = EVP_DigestVerify(ctx, sig, KEY_SIG_LEN, m, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	const struct corpus *c = w->c;
	size_t i = w->first;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		/* 64 between looks at the flag: the look is free, but keep it out of the way. */
		for (int j = 0; j < 64; j++, i = (i + 1) % NMSGS) {
			const uint8_t *m = c->msg + i * c->size;
			int ok;

			if (w->which == V_OPENSSL)
				ok = evp_verify(c->evp[i % NKEYS], m, c->size, c->sig[i]);
			else
				ok = key_verify(c->pub[i % NKEYS], m, c->size, c->sig[i],
				    KEY_SIG_LEN) == 0;
			if (!ok) {
				w->failed = 1;
				return NULL;
			}
			w->done++;
		}
	}
	return NULL;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifies for `seconds` on `threads` threads; returns verifications per second, or -1. */
static double
measure(const struct corpus *c, enum which which, int threads, double seconds)
{
	struct worker w[2];
	struct timespec nap = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) *
	    1e9) };
	unsigned long long total = 0;
	double t0, t1;
	int failed = 0;

	atomic_store(&stop, 0);
	t0 = now_s();
	for (int t = 0; t < threads; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].c = c;
		w[t].which = which;
		w[t].first = (size_t)t * (NMSGS / 2);
		if (pthread_create(&w[t].thread, NULL, worker_run, &w[t]) != 0)
			return -1;
	}
	nanosleep(&nap, NULL);
	atomic_store(&stop, 1);
	for (int t = 0; t < threads; t++) {
		pthread_join(w[t].thread, NULL);
		total += w[t].done;
		failed |= w[t].failed;
	}
	t1 = now_s();
	if (failed) {
		fprintf(stderr, "verifyrate: a valid signature was refused\n");
		return -1;
	}
	return (double)total / (t1 - t0);
}

static int
corpus_make(struct corpus *c)
{
	cb_key_t *priv[NKEYS] = { NULL };
	int rc = 2;

	if ((c->msg = malloc(NMSGS * c->size)) == NULL ||
	    rand_bytes(c->msg, NMSGS * c->size) != 0)
		goto out;
	for (int k = 0; k < NKEYS; k++) {
		if (key_generate(&priv[k]) != 0)
			goto out;
		if (key_from_public(key_public(priv[k]), KEY_PUBLIC_LEN, &c->pub[k]) != 0 ||
		    (c->evp[k] = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    key_public(priv[k]), KEY_PUBLIC_LEN)) == NULL)
			goto out;
	}
	for (size_t i = 0; i < NMSGS; i++)
		if (key_sign(priv[i % NKEYS], c->msg + i * c->size, c->size, c->sig[i]) != 0)
			goto out;
	rc = 0;
out:
	for (int k = 0; k < NKEYS; k++)
		key_free(priv[k]);
	if (rc != 0)
		fprintf(stderr, "verifyrate: cannot make the signatures\n");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { enum which which; const char *name; } libs[] = {
		{ V_OPENSSL, "openssl" }, { V_SODIUM, "libsodium" },
	};
	struct corpus c;
	double seconds = 2;
	int ch, rc = 0;

	memset(&c, 0, sizeof(c));
	c.size = 1024;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': seconds = atof(optarg); break;
		case 'b': c.size = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: verifyrate [--seconds S] [--size BYTES]\n");
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 60 || c.size == 0 || c.size > 1024 * 1024 ||
	    optind != argc) {
		fprintf(stderr, "usage: verifyrate [--seconds S] [--size BYTES]\n");
		return 2;
	}
	if (sodium_init() < 0 || corpus_make(&c) != 0) {
		rc = 2;
		goto out;
	}
	for (size_t l = 0; l < sizeof(libs) / sizeof(libs[0]); l++)
		for (int threads = 1; threads <= 2; threads++) {
			double r = measure(&c, libs[l].which, threads, seconds);

			if (r < 0) {
				rc = 2;
				goto out;
			}
			printf("verify lib=%s threads=%d rate=%.0f\n", libs[l].name, threads, r);
			fprintf(stderr, "verifyrate: %-9s %d thread%s: %8.0f verifies/s "
			    "(%zu-byte messages)\n", libs[l].name, threads, threads > 1 ? "s" : "",
			    r, c.size);
			fflush(stdout);
		}
out:
	for (int k = 0; k < NKEYS; k++) {
		key_free(c.pub[k]);
		EVP_PKEY_free(c.evp[k]);
	}
	free(c.msg);
	return rc;
}
