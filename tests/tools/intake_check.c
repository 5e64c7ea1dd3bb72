/* tests/tools/intake_check.c — runs documents through the agent's intake, for tests that
 * check documentation examples (tests/integration/test_docs_examples.sh).
 *
 *   intake_check FILE...   parses each FILE as an agency document (intake_parse, with the
 *                          agent's time checks and no divisions) and prints one JSON line
 *                          per file: {"file", "ok": true} or {"file", "ok": false, "field",
 *                          "reason", "errors": [{field, reason}...]}
 *
 * Exit: 0 (every file read; accepted or not is in the output), 2 (usage, unreadable file,
 * out of memory). */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "cluebus/err.h"
#include "intake.h"
#include "util.h"

static int
check_file(const char *path)
{
	intake_rules_t rules = { .check_times = 1, .skew_ms = 600000 };
	Cluebus__Message *m = NULL;
	json_t *problems = NULL, *line;
	cb_error_t err;
	size_t len;
	char *buf, *text;
	int rc;

	if ((rc = file_read_all(path, INTAKE_MAX_DOC + 1, &buf, &len)) != 0) {
		fprintf(stderr, "intake_check: %s: %s\n", path, cb_strerror(rc));
		return 2;
	}
	rc = intake_parse(buf, len, &rules, &m, &err, &problems);
	free(buf);
	if (rc == 0) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		line = json_pack("{s:s, s:b}", "file", path, "ok", 1);
	} else if (rc == CB_EMALFORMED || rc == CB_ETOOBIG) {
		line = json_pack("{s:s, s:b, s:s, s:s, s:o}", "file", path, "ok", 0, "field",
		    err.field, "reason", err.reason, "errors", problems);
	} else {
		fprintf(stderr, "intake_check: %s: %s\n", path, cb_strerror(rc));
		return 2;
	}
	if (line == NULL || (text = json_dumps(line, JSON_COMPACT)) == NULL) {
		json_decref(line);
		return 2;
	}
	printf("%s\n", text);
	free(text);
	json_decref(line);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: intake_check FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (check_file(argv[i]) != 0)
			return 2;
	return 0;
}
