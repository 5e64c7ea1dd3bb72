/* broker/metrics.c — the Prometheus text exposition (format 0.0.4) of a status snapshot.
 *
 * A pure function of status_snapshot's JSON, run on http.c's thread under its mutex.
 * Names follow Prometheus conventions: a cluebus_ prefix, base units (seconds, bytes),
 * _total for counters, one HELP and TYPE line per family, each family's samples together.
 * Invariants: (1) every family's HELP and TYPE lines are written, also while it has no
 * sample yet (no rejection so far); (2) label values are
 * escaped as the format says (backslash, quote, newline), although unit ids, kind names
 * and reason codes never need it. */
#include <stdio.h>
#include <string.h>

#include "broker.h"

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
static void
scalar(FILE *f, const char *name, const char *type, const char *help, double v)
{
	family(f, name, type, help);
	fprintf(f, "%s %.0f\n", name, v);
}

static void
label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static double
num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* One sample per member of `o` (name -> count), labelled `label`. */
static void
by_label(FILE *f, const char *name, const char *label, const json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		fprintf(f, "%s{%s=\"", name, label);
		label_value(f, k);
		fprintf(f, "\"} %.0f\n", json_number_value(v));
	}
}

/* One sample per unit of `units` (an array of objects with "unit"), the value of `key`
 * (null: left out). */
static void
per_unit(FILE *f, const char *name, const json_t *units, const char *key)
{
	const json_t *u, *v;
	size_t i;

	json_array_foreach(units, i, u) {
		if ((v = json_object_get(u, key)) == NULL || json_is_null(v))
			continue;
		fprintf(f, "%s{unit=\"", name);
		label_value(f, json_string_value(json_object_get(u, "unit")));
		fprintf(f, "\"} %.0f\n", json_is_boolean(v) ? (json_is_true(v) ? 1.0 : 0.0) :
		    json_number_value(v));
	}
}

static void
histogram(FILE *f, const char *name, const json_t *h)
{
	const json_t *le = json_object_get(h, "le"), *cum = json_object_get(h, "cumulative");
	size_t i;

	for (i = 0; i < json_array_size(le); i++)
		fprintf(f, "%s_bucket{le=\"%g\"} %.0f\n", name,
		    json_number_value(json_array_get(le, i)),
		    json_number_value(json_array_get(cum, i)));
	fprintf(f, "%s_bucket{le=\"+Inf\"} %.0f\n", name, num(h, "count"));
	fprintf(f, "%s_sum %.6f\n%s_count %.0f\n", name, num(h, "sum"), name, num(h, "count"));
}

/* Correlation (docs/correlation.md): counts only, never a token. */
static void
metrics_matches(FILE *f, const json_t *m)
{
	scalar(f, "cluebus_match_notices_total", "counter",
	    "Match notices logged: pairs of clues of different units or cases sharing an "
	    "identifier token.", num(m, "notices"));
	scalar(f, "cluebus_match_bundles_total", "counter",
	    "Bundling suggestions logged: clues with the same tokens and category.",
	    num(m, "bundles"));
	scalar(f, "cluebus_match_tokens", "gauge", "Distinct identifier tokens indexed.",
	    num(m, "tokens"));
	scalar(f, "cluebus_match_entries", "gauge", "Entries of the tokens' posting lists.",
	    num(m, "entries"));
	scalar(f, "cluebus_match_hot_tokens", "gauge",
	    "Tokens past their list bound (match_list_max): no longer indexed or matched.",
	    num(m, "hot_tokens"));
}

void
metrics_render(const json_t *snap, FILE *f)
{
	const json_t *st = json_object_get(snap, "status");
	const json_t *c = json_object_get(st, "counters");
	const json_t *map = json_object_get(st, "map"), *disk = json_object_get(st, "disk");
	const json_t *units = json_object_get(snap, "units");
	const json_t *backlog = json_object_get(snap, "backlog");

	family(f, "cluebus_messages_accepted_total", "counter",
	    "Messages accepted and logged, by kind.");
	by_label(f, "cluebus_messages_accepted_total", "kind",
	    json_object_get(c, "accepted_by_kind"));
	family(f, "cluebus_messages_rejected_total", "counter",
	    "Frames refused, by reason code (the Rejected code sent back).");
	by_label(f, "cluebus_messages_rejected_total", "reason",
	    json_object_get(c, "rejected_by_code"));
	scalar(f, "cluebus_messages_duplicate_total", "counter",
	    "Publishes answered from the dedup index (logged before).",
	    num(c, "duplicates"));
	scalar(f, "cluebus_deliveries_total", "counter", "Messages sent to recipients.",
	    num(c, "delivered"));
	scalar(f, "cluebus_acks_total", "counter", "Deliveries acknowledged by recipients.",
	    num(c, "acked"));
	scalar(f, "cluebus_commits_total", "counter", "LMDB commits of the log.",
	    num(c, "commits"));
	scalar(f, "cluebus_refused_connections_total", "counter",
	    "Handshakes refused: transport key not registered or revoked.",
	    num(c, "refused_keys"));
	scalar(f, "cluebus_requests_dropped_total", "counter",
	    "Directory and checkpoint requests dropped: a unit asked more often than "
	    "5 a second after a burst of 20.", num(c, "requests_dropped"));
	family(f, "cluebus_commit_duration_seconds", "histogram",
	    "Time of one commit round (LMDB commit with fsync).");
	histogram(f, "cluebus_commit_duration_seconds", json_object_get(snap, "commit_seconds"));
	family(f, "cluebus_commit_batch_size", "histogram", "Messages accepted per commit.");
	histogram(f, "cluebus_commit_batch_size", json_object_get(snap, "batch_size"));
	family(f, "cluebus_backlog_depth", "gauge",
	    "Messages logged for a unit and not acknowledged by it yet.");
	per_unit(f, "cluebus_backlog_depth", backlog, "depth");
	family(f, "cluebus_backlog_oldest_age_seconds", "gauge",
	    "Age of a unit's oldest unacknowledged message (units with a backlog).");
	per_unit(f, "cluebus_backlog_oldest_age_seconds", backlog, "oldest_age_s");
	family(f, "cluebus_unit_online", "gauge", "1 when the unit's agent is connected.");
	per_unit(f, "cluebus_unit_online", units, "online");
	scalar(f, "cluebus_units_online", "gauge", "Units connected.",
	    num(st, "units_online"));
	scalar(f, "cluebus_units_registered", "gauge", "Units in the registry.",
	    num(st, "units_registered"));
	scalar(f, "cluebus_overdue_duties", "gauge",
	    "Open duties (a referral's receipt or feedback, a report owed) past their due time.",
	    (double)json_array_size(json_object_get(snap, "overdue")));
	scalar(f, "cluebus_log_head_seq", "gauge", "Sequence number of the last log entry.",
	    num(st, "log_head_seq"));
	scalar(f, "cluebus_log_size_bytes", "gauge", "Size of DATA_DIR/data.mdb.",
	    num(st, "log_size_bytes"));
	scalar(f, "cluebus_map_used_bytes", "gauge", "LMDB pages in use.",
	    num(map, "used_bytes"));
	scalar(f, "cluebus_map_size_bytes", "gauge", "LMDB map size now.",
	    num(map, "size_bytes"));
	scalar(f, "cluebus_map_max_bytes", "gauge", "The map's configured ceiling (map_max_mb).",
	    num(map, "max_bytes"));
	scalar(f, "cluebus_disk_free_bytes", "gauge", "Free space for the data directory.",
	    num(disk, "free_bytes"));
	scalar(f, "cluebus_accepting", "gauge",
	    "1 when new messages are accepted; 0 at the map ceiling or on a full disk.",
	    (double)json_is_true(json_object_get(st, "accepting")));
	scalar(f, "cluebus_uptime_seconds", "gauge", "Seconds since the broker started.",
	    num(st, "uptime_s"));
	metrics_matches(f, json_object_get(st, "matches"));
	scalar(f, "cluebus_checkpoint_tree_size", "gauge",
	    "Tree size of the latest signed checkpoint (0: none yet).",
	    num(json_object_get(st, "checkpoint"), "tree_size"));
	scalar(f, "cluebus_checkpoint_entries_after", "gauge",
	    "Log entries after the latest signed checkpoint.",
	    num(json_object_get(st, "checkpoint"), "entries_after"));
}
