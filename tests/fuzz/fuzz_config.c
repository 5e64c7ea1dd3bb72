/* tests/fuzz/fuzz_config.c — libFuzzer target for the broker and agent config parsers
 * (lib/config.c, and lib/route.c behind the broker's routing group).
 *
 * The first byte picks the parser (even: broker, odd: agent); the rest, copied and
 * NUL-terminated as a file's text would be, is the config. Promises checked: a refusal is
 * CB_ECONFIG with a message that starts "name:LINE:" (the --check contract); an accepted
 * broker config has a routing table with an office, and its numbers are in range. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/err.h"
#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's parser leaks the string a scanner token carries when a syntax error
 * follows it (the text `""` alone is enough; corpus file libconfig-leak-string-token).
 * That is libconfig's, and costs a daemon a few bytes once before it exits on the error.
 * Suppress only allocations made by the scanner itself: if cluebus forgot config_destroy(),
 * the settings the parser built would still be reported. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

#define NAME	"fuzz/cluebus.conf"

/* Whether `msg` starts with NAME ":" digits ":". */
static int
located(const char *msg)
{
	size_t n = strlen(NAME), digits;

	if (strncmp(msg, NAME ":", n + 1) != 0)
		return 0;
	digits = strspn(msg + n + 1, "0123456789");
	return digits > 0 && msg[n + 1 + digits] == ':';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	broker_config_t bc;
	agent_config_t ac;
	char errbuf[512], *text;
	int rc;

	if (size == 0 || size > CONFIG_MAX_FILE)
		return 0;
	if ((text = malloc(size)) == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	errbuf[0] = '\0';
	if (data[0] % 2 == 0) {
		rc = config_broker_parse(NAME, text, &bc, errbuf, sizeof(errbuf));
		if (rc == 0) {
			if (bc.route == NULL || route_office(bc.route)[0] == '\0' ||
			    bc.batch_max < 1 || bc.batch_max > 4096 || bc.map_size == 0 ||
			    bc.endpoint[0] == '\0' || bc.data_dir[0] == '\0')
				abort();
			config_broker_free(&bc);
			if (bc.route != NULL)
				abort();
		} else if (bc.route != NULL) {
			abort();
		}
	} else {
		rc = config_agent_parse(NAME, text, &ac, errbuf, sizeof(errbuf));
		if (rc == 0 && (ac.unit[0] == '\0' || ac.spool_dir[0] == '\0' ||
		    ac.window < 1 || ac.window > 4096))
			abort();
	}
	if (rc != 0 && (rc != CB_ECONFIG || !located(errbuf))) {
		fprintf(stderr, "refusal without a location: %s\n", errbuf);
		abort();
	}
	free(text);
	return 0;
}
