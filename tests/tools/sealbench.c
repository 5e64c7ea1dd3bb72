/* tests/tools/sealbench.c — seals and opens per second on this machine (lib/seal.c).
 *
 * A measurement, never a test: it prints rates and asserts nothing about them (SPEC §11).
 * Seals a plaintext of the given size to N recipients, then opens it as one of them, each
 * for about the given number of seconds, on one thread.
 *
 * Usage: sealbench [RECIPIENTS [BYTES [SECONDS]]]     defaults: 3 2048 2 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus.pb-c.h"
#include "seal.h"
#include "sealkey.h"
#include "util.h"

#define MAX_N	SEAL_MAX_RECIPIENTS

int
main(int argc, char **argv)
{
	size_t	 n = argc > 1 ? strtoul(argv[1], NULL, 10) : 3;
	size_t	 len = argc > 2 ? strtoul(argv[2], NULL, 10) : 2048;
	double	 seconds = argc > 3 ? atof(argv[3]) : 2.0;
	char	 units[MAX_N][16];
	sealkey_t *keys[MAX_N];
	seal_recipient_t rcpt[MAX_N];
	uint8_t	 mid[SEAL_MESSAGE_ID_LEN] = { 1 }, *plain, *opened;
	seal_binding_t b = { mid, "health" };
	Cluebus__Sealed *s = NULL;
	int64_t	 start, elapsed;
	size_t	 count, olen;

	if (n == 0 || n > MAX_N || len > SEAL_MAX_PLAINTEXT || seconds <= 0) {
		fprintf(stderr, "usage: sealbench [RECIPIENTS 1..%d [BYTES [SECONDS]]]\n", MAX_N);
		return 2;
	}
	if ((plain = calloc(1, len + 1)) == NULL)
		return 1;
	memset(plain, 'x', len);
	for (size_t i = 0; i < n; i++) {
		snprintf(units[i], sizeof(units[i]), "unit-%02zu", i);
		if (sealkey_generate(&keys[i]) != 0)
			return 1;
		rcpt[i].unit = units[i];
		rcpt[i].key = keys[i];
	}

	start = clock_mono_ms();
	for (count = 0; (elapsed = clock_mono_ms() - start) < seconds * 1000; count++) {
		seal_free(s);
		if (seal_encrypt(&b, rcpt, n, plain, len, &s, NULL) != 0)
			return 1;
	}
	printf("seal to %zu recipients, %zu bytes: %.0f/s (%zu in %lld ms)\n", n, len,
	    count * 1000.0 / (double)elapsed, count, (long long)elapsed);

	start = clock_mono_ms();
	for (count = 0; (elapsed = clock_mono_ms() - start) < seconds * 1000; count++) {
		if (seal_open(s, &b, units[n - 1], keys[n - 1], &opened, &olen, NULL) != 0)
			return 1;
		seal_plain_free(opened, olen);
	}
	printf("open as 1 of %zu recipients, %zu bytes: %.0f/s (%zu in %lld ms)\n", n, len,
	    count * 1000.0 / (double)elapsed, count, (long long)elapsed);

	seal_free(s);
	for (size_t i = 0; i < n; i++)
		sealkey_free(keys[i]);
	free(plain);
	return 0;
}
