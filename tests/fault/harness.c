/* tests/fault/harness.c — the loop: fail allocation N, check, count leaks, N + 1.
 *
 * SQLite's test_malloc.c in "transient" mode: exactly one allocation fails per run. A run
 * that fails an allocation may still succeed (a library may tolerate it); `check` then
 * sees hit = 1 and rc = 0 and must find the result as correct as an unfaulted one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "alloc.h"
#include "harness.h"

#define FAULT_MAX_N	200000

const char *fault_current_op = "-";
unsigned fault_excused;

#define KNOWN_MAX	8
static const char *known_what[KNOWN_MAX];
static unsigned known_runs[KNOWN_MAX];
static int	 known_now;

void
fault_known(const char *what)
{
	size_t i;

	known_now = 1;
	for (i = 0; i < KNOWN_MAX && known_what[i] != NULL; i++)
		if (strcmp(known_what[i], what) == 0)
			break;
	if (i == KNOWN_MAX)
		return;
	known_what[i] = what;
	known_runs[i]++;
}

void
fault_known_report(void)
{
	for (size_t i = 0; i < KNOWN_MAX && known_what[i] != NULL; i++)
		printf("KNOWN BUG (not fixed here, see docs/reliability.md), %u runs: %s\n",
		    known_runs[i], known_what[i]);
}
uint64_t fault_current_n;

void
fault_die(const char *fmt, ...)
{
	va_list ap;

	fault_disarm();
	printf("FAIL setup of %s: ", fault_current_op);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

int
fault_run(const struct fault_op *op)
{
	unsigned errors = 0, tolerated = 0, failures = 0, known = 0;
	uint64_t n;
	const char *why, *only = getenv("FAULT_ONLY");
	int rc;

	if (only != NULL && strstr(op->name, only) == NULL)
		return 0;
	fault_current_op = op->name;
	fault_current_n = 0;
	/* One unfaulted run: it must succeed, and it warms up what libraries cache forever
	 * (OpenSSL's fetched algorithms, per-thread error state, jansson's hash seed). */
	if (op->setup != NULL)
		op->setup(op->ctx);
	rc = op->run(op->ctx);
	if ((why = op->check(op->ctx, rc, 0)) != NULL) {
		printf("FAIL %s: without faults: %s (rc %d)\n", op->name, why, rc);
		return 1;
	}
	if (op->teardown != NULL)
		op->teardown(op->ctx);
	ERR_clear_error();

	fault_excused = 0;
	for (n = 1; n <= FAULT_MAX_N; n++) {
		int64_t base = fault_live(), leaked;
		int hit;

		fault_current_n = n;
		known_now = 0;
		if (op->setup != NULL)
			op->setup(op->ctx);
		ERR_clear_error();
		fault_arm(n);
		rc = op->run(op->ctx);
		hit = fault_disarm();
		why = op->check(op->ctx, rc, hit);
		if (op->teardown != NULL)
			op->teardown(op->ctx);
		ERR_clear_error();	/* OpenSSL's queue keeps error data until cleared */
		leaked = fault_live() - base;
		if (known_now) {
			known++;
			why = NULL;
			leaked = 0;
		}
		if (why != NULL || leaked != 0) {
			if (failures++ < 10)
				printf("FAIL %s: allocation %llu failed%s: rc %d: %s%s%lld blocks "
				    "leaked\n", op->name, (unsigned long long)n,
				    hit ? "" : " (not reached)", rc, why != NULL ? why : "",
				    why != NULL ? "; " : "", (long long)leaked);
		}
		if (!hit) {
			if (rc != 0 && failures++ < 10)
				printf("FAIL %s: failed (rc %d) without an injected failure\n",
				    op->name, rc);
			break;
		}
		if (rc == 0)
			tolerated++;
		else
			errors++;
	}
	if (n > FAULT_MAX_N) {
		printf("FAIL %s: still failing after %d allocations\n", op->name, FAULT_MAX_N);
		failures++;
	}
	if (n - 1 < op->min_allocs) {
		printf("FAIL %s: only %llu allocations (at least %u expected): the test would "
		    "prove nothing\n", op->name, (unsigned long long)(n - 1), op->min_allocs);
		failures++;
	}
	printf("%s %s: N = 1..%llu failed (%u errors returned, %u tolerated", failures ? "FAIL" :
	    "ok  ", op->name, (unsigned long long)(n - 1), errors, tolerated);
	if (fault_excused != 0)
		printf(", %u of the errors excused as the library's", fault_excused);
	if (known != 0)
		printf(", %u hit a known bug", known);
	printf("), N = %llu succeeded\n", (unsigned long long)n);
	fflush(stdout);
	return failures != 0;
}
