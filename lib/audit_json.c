/* lib/audit_json.c — a verification's result as the JSON object of `verify --json`.
 *
 * The object is a stable interface for scripts (docs/audit.md §1.1): "version" says which
 * fields exist; fields are only ever added. Its verdict always agrees with the exit status
 * of the front end: "ok" true exactly when rc is 0. */
#include <stdio.h>

#include "audit.h"
#include "cluebus/err.h"
#include "util.h"

#define AUDIT_JSON_VERSION	1

static int
put_hex(json_t *o, const char *key, const uint8_t *b, size_t len)
{
	char hex[2 * 64 + 1];

	if (len > 64)
		return -1;
	hex_encode(b, len, hex);
	return json_object_set_new(o, key, json_string(hex));
}

static json_t *
checks_json(const audit_result_t *res)
{
	json_t *a = json_array(), *c;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < res->nchecks; i++)
		if ((c = json_pack("{s:s, s:I}", "check", res->checks[i].name, "count",
		    (json_int_t)res->checks[i].count)) == NULL ||
		    json_array_append_new(a, c) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *
audit_result_json(const audit_result_t *res, int rc)
{
	json_t *o, *bad = json_null();
	int e = 0;

	if (rc == CB_ECORRUPT)
		bad = json_pack("{s:I, s:s}", "seq", (json_int_t)res->bad_seq, "reason",
		    res->reason);
	o = json_pack("{s:i, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
	    "version", AUDIT_JSON_VERSION, "ok", rc == 0,
	    "entries", (json_int_t)res->entries, "messages", (json_int_t)res->messages,
	    "broker", (json_int_t)res->broker_entries,
	    "rejections", (json_int_t)res->rejections, "acks", (json_int_t)res->acks,
	    "first_bad", bad, "checks", checks_json(res));
	if (o == NULL)
		return NULL;
	if (rc != 0 && rc != CB_ECORRUPT)
		e |= json_object_set_new(o, "error", json_string(cb_strerror(rc)));
	if (rc == 0) {
		e |= put_hex(o, "head", res->head, CHAIN_HASH_LEN);
		e |= put_hex(o, "tree_root", res->root, MERKLE_HASH_LEN);
		e |= json_object_set_new(o, "tree_stored", json_boolean(res->tree_stored));
	}
	if (e != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
