/* tests/fuzz/fuzz_directory.c — libFuzzer target for the directory decoder (lib/directory.c).
 *
 * Feeds arbitrary bytes to directory_parse() (a serialized Directory) and to
 * directory_open() (a SignedDirectory, with a trust registry holding one broker key, so the
 * signature check runs and fails). An accepted directory must answer every lookup an agent
 * makes without crashing: each listed unit is found with its name, its current keys (if
 * any) are valid now, and a clue of every category from every unit routes to units the
 * directory lists; every open case's task force is found by its case_ref, within the bounds,
 * of listed units. A refusal must name the field and the reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "directory.h"
#include "registry.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's scanner leaks the string a token carries when a syntax error follows it
 * (tests/fuzz/fuzz_config.c says more; corpus file libconfig-leak-string-token.bin here:
 * a routing text with an unterminated string). Only the scanner's own allocations are
 * suppressed: a table route_from_text forgot to destroy would still be reported. The
 * directory is signed by the broker, so only the broker could make an agent leak so. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static void
check_routes(const directory_t *d)
{
	const registry_t *reg = directory_registry(d);
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Clue clue = CLUEBUS__CLUE__INIT;
	route_result_t res;

	m.kind = CLUEBUS__KIND__KIND_CLUE;
	m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	m.clue = &clue;
	clue.jurisdiction = "210302";
	for (size_t i = 0; i < registry_count(reg) && i < 8; i++) {
		m.sender = (char *)registry_at(reg, i)->id;
		for (int c = 1; c <= CLUEBUS__CATEGORY__CATEGORY_OTHER; c++) {
			clue.category = (Cluebus__Category)c;
			if (directory_recipients(d, &m, &res) != 0)
				abort();
			for (size_t j = 0; j < res.n; j++)
				if (directory_unit_name(d, res.units[j]) == NULL)
					abort();
		}
	}
}

static void
check_cases(const directory_t *d)
{
	if (directory_case_count(d) > DIRECTORY_MAX_TASK_FORCES)
		abort();
	for (size_t i = 0; i < directory_case_count(d); i++) {
		directory_task_force_t t = directory_case_at(d, i);
		char *const *units;
		size_t n;

		if (directory_case_members(d, t.case_ref, &units, &n) != 0 || units != t.units ||
		    n != t.n || n == 0 || n > DIRECTORY_MAX_CASE_MEMBERS)
			abort();
		for (size_t j = 0; j < n; j++)
			if (directory_unit_name(d, units[j]) == NULL)
				abort();
	}
}

static void
check_directory(const directory_t *d)
{
	const registry_t *reg = directory_registry(d);

	for (size_t i = 0; i < registry_count(reg); i++) {
		const reg_unit_t *u = registry_at(reg, i);
		const cb_key_t *cur = registry_current_key(reg, u->id), *k;

		if (directory_unit_name(d, u->id) == NULL)
			abort();
		if (cur != NULL && directory_signing_key_at(d, u->id, key_id(cur), KEY_ID_LEN,
		    INT64_MAX, &k) != REG_KEY_OK)
			abort();
		if (directory_seal_key(d, u->id) != NULL &&
		    directory_seal_key_at(d, u->id, INT64_MAX) != directory_seal_key(d, u->id))
			abort();
	}
	check_routes(d);
	check_cases(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static registry_t *trust;
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	static uint8_t pub[32] = { 7 };
	directory_t *d = NULL;
	cb_error_t err;

	if (trust == NULL) {
		if ((trust = registry_new()) == NULL)
			abort();
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY;
		rec.unit = "broker";
		rec.role = "broker";
		rec.sign_public.data = pub;
		rec.sign_public.len = sizeof(pub);
		if (registry_apply(trust, &rec, 0, &err) != 0)
			abort();
	}
	if (directory_parse(data, size, &d, &err) == 0) {
		check_directory(d);
		directory_free(d);
	} else if (err.field[0] == '\0' || err.reason[0] == '\0') {
		abort();
	}
	d = NULL;
	if (directory_open(data, size, trust, &d, &err) == 0)
		abort();	/* nobody holds the private half of pub */
	if (err.field[0] == '\0' || err.reason[0] == '\0')
		abort();
	return 0;
}
