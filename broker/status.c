/* broker/status.c — the figures an operator reads: status, units, backlog, overdue duties.
 *
 * cluebus-ctl's queries (admin.c), the Prometheus text and the status page (http.c) show
 * the same figures, so they are computed in one place, as JSON (jansson) that each front
 * end renders. Everything here runs on the event loop's thread and reads the broker's
 * state and committed store data only; http.c never calls in here: it gets a finished
 * snapshot (status_snapshot) that the loop hands over.
 * Invariants: (1) nothing here writes to the store or changes broker state other than
 * b->fig; (2) no message body is read: the figures are ids, names from the registry,
 * counts and times, never personal data; (3) a store read that fails leaves its figure
 * out (null) rather than stopping the broker: the figures are advisory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <jansson.h>

#include "broker.h"
#include "duties.h"
#include "match.h"
#include "intake.h"
#include "unpack.h"
#include "util.h"
#include "wire.h"

const double status_commit_bounds_s[STATUS_COMMIT_BUCKETS] = { 0.0005, 0.001, 0.002, 0.005,
    0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0 };
const double status_batch_bounds[STATUS_BATCH_BUCKETS] = { 1, 2, 4, 8, 16, 32, 64, 128, 256,
    512, 1024 };

int64_t
status_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
status_init(struct broker *b)
{
	b->fig.started_ms = broker_clock_ms();
	b->fig.started_mono_ms = clock_mono_ms();
	b->fig.rate_mono_ms = b->fig.started_mono_ms;
}

void
status_observe_commit(struct broker *b, int64_t us, uint64_t batch)
{
	struct figures *f = &b->fig;
	size_t i;

	for (i = 0; i < STATUS_COMMIT_BUCKETS && (double)us / 1e6 > status_commit_bounds_s[i];
	    i++)
		;
	f->commit_us_bucket[i]++;
	f->commit_us_sum += (uint64_t)us;
	for (i = 0; i < STATUS_BATCH_BUCKETS && (double)batch > status_batch_bounds[i]; i++)
		;
	f->batch_bucket[i]++;
	f->batch_sum += batch;
}

void
status_tick(struct broker *b)
{
	struct figures *f = &b->fig;
	int64_t minute = broker_clock_ms() / 60000, now = clock_mono_ms();
	size_t slot = (size_t)(minute % STATUS_MINUTES);

	if (f->minute_of[slot] != minute) {
		f->minute_of[slot] = minute;
		f->per_minute[slot] = 0;
	}
	f->per_minute[slot] += b->count.accepted - f->accepted_seen;
	f->accepted_seen = b->count.accepted;
	if (now - f->rate_mono_ms >= 1000) {
		double secs = (double)(now - f->rate_mono_ms) / 1000.0;

		f->commit_rate = (double)(b->count.commits - f->rate_commits) / secs;
		f->accept_rate = (double)(b->count.accepted - f->rate_accepted) / secs;
		f->rate_commits = b->count.commits;
		f->rate_accepted = b->count.accepted;
		f->rate_mono_ms = now;
	}
}

/* RFC 3339 text of a wall-clock time, or JSON null for 0 (never). */
static json_t *
status_time(int64_t ms)
{
	char ts[40];

	if (ms <= 0)
		return json_null();
	clock_format_rfc3339(ms, ts, sizeof(ts));
	return json_string(ts);
}

/* Adds key -> value to `o`, taking the value's reference; a NULL value (out of memory)
 * leaves the key out. */
static void
set(json_t *o, const char *key, json_t *value)
{
	if (value != NULL)
		json_object_set_new(o, key, value);
}

static const char *
status_name(const struct broker *b, const char *unit)
{
	const reg_unit_t *u = registry_unit(b->reg, unit);

	return u != NULL && u->name != NULL ? u->name : "";
}

static json_t *
status_counters(const struct broker *b)
{
	json_t *o = json_object(), *kinds = json_object(), *codes = json_object();

	set(o, "accepted", json_integer((json_int_t)b->count.accepted));
	set(o, "duplicates", json_integer((json_int_t)b->count.duplicates));
	set(o, "rejected", json_integer((json_int_t)b->count.rejected));
	set(o, "delivered", json_integer((json_int_t)b->count.delivered));
	set(o, "acked", json_integer((json_int_t)b->count.acked));
	set(o, "commits", json_integer((json_int_t)b->count.commits));
	set(o, "refused_keys", json_integer((json_int_t)b->count.refused_keys));
	set(o, "requests_dropped", json_integer((json_int_t)b->count.requests_dropped));
	for (int k = 0; k < KINDS_COUNTED; k++)
		if (b->count.accepted_by_kind[k] != 0)
			set(kinds, intake_kind_name((Cluebus__Kind)k),
			    json_integer((json_int_t)b->count.accepted_by_kind[k]));
	for (int c = 0; c < REJECT_CODES; c++)
		if (b->count.rejected_by_code[c] != 0)
			set(codes, wire_reject_name(c),
			    json_integer((json_int_t)b->count.rejected_by_code[c]));
	set(o, "accepted_by_kind", kinds);
	set(o, "rejected_by_code", codes);
	return o;
}

static size_t
status_sessions(const struct broker *b, const struct unitq *uq)
{
	size_t n = 0;

	for (size_t i = 0; i < b->nsessions; i++)
		n += b->sessions[i].uq == uq;
	return n;
}

/* Correlation's figures (broker/match.c), null on a store error. */
static json_t *
status_matches(struct broker *b)
{
	json_t *m = match_status(b);

	return m != NULL ? m : json_null();
}

/* The latest signed checkpoint: its tree size, when, and the entries logged after it (a
 * number that keeps growing means checkpoints are not being made). */
static json_t *
status_checkpoint(const struct broker *b)
{
	json_t *o = json_object();
	uint64_t size = ckpt_size(b), head = store_head_seq(b->store);

	set(o, "tree_size", json_integer((json_int_t)size));
	set(o, "signed_at", status_time(ckpt_signed_ms(b)));
	set(o, "entries_after", json_integer((json_int_t)(head > size ? head - size : 0)));
	return o;
}

static json_t *
status_state(struct broker *b)
{
	json_t *o = json_object(), *map = json_object(), *disk = json_object();
	char hash[CHAIN_HASH_LEN * 2 + 1], path[PATH_MAX + 16];
	struct store_usage u;
	struct statvfs vfs;
	struct stat st;
	size_t online = 0;

	for (size_t i = 0; i < b->nunits; i++)
		online += b->units[i].online != 0;
	hex_encode(store_head_hash(b->store), CHAIN_HASH_LEN, hash);
	store_usage(b->store, &u);
	set(o, "started_at", status_time(b->fig.started_ms));
	set(o, "uptime_s", json_integer((clock_mono_ms() - b->fig.started_mono_ms) / 1000));
	set(o, "log_head_seq", json_integer((json_int_t)store_head_seq(b->store)));
	set(o, "log_head_hash", json_string(hash));
	set(o, "commit_rate_per_s", json_real(b->fig.commit_rate));
	set(o, "accept_rate_per_s", json_real(b->fig.accept_rate));
	set(o, "units_registered", json_integer((json_int_t)b->nunits));
	set(o, "units_online", json_integer((json_int_t)online));
	set(o, "accepting", json_boolean(b->fig.unavailable[0] == '\0'));
	set(o, "unavailable_reason", b->fig.unavailable[0] != '\0' ?
	    json_string(b->fig.unavailable) : json_null());
	set(map, "size_bytes", json_integer((json_int_t)u.map_size));
	set(map, "max_bytes", json_integer((json_int_t)b->cfg.map_max));
	set(map, "used_bytes", json_integer((json_int_t)u.used_bytes));
	set(map, "used_ratio", json_real(b->cfg.map_max != 0 ?
	    (double)u.used_bytes / (double)b->cfg.map_max : 0));
	set(o, "map", map);
	snprintf(path, sizeof(path), "%s/data.mdb", b->cfg.data_dir);
	set(o, "log_size_bytes", stat(path, &st) == 0 ? json_integer((json_int_t)st.st_size) :
	    json_null());
	set(disk, "path", json_string(b->cfg.data_dir));
	set(disk, "free_bytes", statvfs(b->cfg.data_dir, &vfs) == 0 ?
	    json_integer((json_int_t)((uint64_t)vfs.f_bavail * vfs.f_frsize)) : json_null());
	set(o, "disk", disk);
	set(o, "counters", status_counters(b));
	set(o, "matches", status_matches(b));
	set(o, "checkpoint", status_checkpoint(b));
	return o;
}

static json_t *
status_units(struct broker *b)
{
	json_t *a = json_array();
	int64_t now_ms = broker_clock_ms(), now_mono = clock_mono_ms();

	for (size_t i = 0; i < b->nunits; i++) {
		const struct unitq *uq = &b->units[i];
		const reg_unit_t *ru = registry_unit(b->reg, uq->unit);
		const cb_key_t *k = registry_current_key(b->reg, uq->unit);
		const uint8_t *tr = registry_current_transport(b->reg, uq->unit);
		char kid[KEY_ID_LEN * 2 + 1], tid[17];
		json_t *o = json_object();

		set(o, "unit", json_string(uq->unit));
		set(o, "name", json_string(status_name(b, uq->unit)));
		set(o, "role", json_string(ru != NULL ? ru->role : ""));
		set(o, "online", json_boolean(uq->online));
		set(o, "last_seen", status_time(uq->last_seen_ms != 0 ?
		    now_ms - (now_mono - uq->last_seen_ms) : 0));
		set(o, "last_seen_ago_s", uq->last_seen_ms != 0 ?
		    json_integer((now_mono - uq->last_seen_ms) / 1000) : json_null());
		if (k != NULL)
			hex_encode(key_id(k), KEY_ID_LEN, kid);
		set(o, "sign_key_id", k != NULL ? json_string(kid) : json_null());
		if (tr != NULL)
			hex_encode(tr, 8, tid);
		set(o, "transport_key_id", tr != NULL ? json_string(tid) : json_null());
		set(o, "sessions", json_integer((json_int_t)status_sessions(b, uq)));
		set(o, "inflight", json_integer(uq->inflight));
		json_array_append_new(a, o);
	}
	return a;
}

/* The log time of the first backlog entry a walk meets. */
static int
status_oldest(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	Cluebus__LogEntry *e;

	(void)seq;
	if (len < CHAIN_HASH_LEN || (e = cluebus__log_entry__unpack(NULL, len - CHAIN_HASH_LEN,
	    val + CHAIN_HASH_LEN)) == NULL)
		return 1;
	*(int64_t *)arg = e->time_ms;
	cluebus__log_entry__free_unpacked(e, NULL);
	return 1;
}

static json_t *
status_backlog(struct broker *b)
{
	json_t *a = json_array();
	int64_t now = broker_clock_ms();

	for (size_t i = 0; i < b->nunits; i++) {
		const char *unit = b->units[i].unit;
		json_t *o = json_object();
		int64_t oldest = 0;
		uint64_t depth;

		set(o, "unit", json_string(unit));
		set(o, "name", json_string(status_name(b, unit)));
		if (store_backlog_depth(b->store, unit, &depth) != 0) {
			set(o, "depth", json_null());
			set(o, "oldest_age_s", json_null());
		} else {
			if (depth > 0)
				(void)store_walk_backlog(b->store, unit, 0, 1, status_oldest,
				    &oldest);
			set(o, "depth", json_integer((json_int_t)depth));
			set(o, "oldest_age_s", oldest > 0 ? json_integer((now - oldest) / 1000) :
			    json_null());
		}
		json_array_append_new(a, o);
	}
	return a;
}

struct overdue_walk {
	struct broker	*b;
	json_t		*list;
	int64_t		 now;
};

static int
status_overdue_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct overdue_walk *w = arg;
	Cluebus__Obligation *o;
	ProtobufCMessage *m;
	const char *duty = NULL;
	int64_t due = 0;
	char rid[MESSAGE_ID_LEN * 2 + 1];
	json_t *j;

	(void)key;
	(void)klen;
	if (unpack_bounded(&cluebus__obligation__descriptor, val, vlen, &m) != 0)
		return 0;
	o = (Cluebus__Obligation *)m;
	if (o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT &&
	    o->receipt_due_ms != 0 && o->receipt_due_ms < w->now) {
		duty = "receipt";
		due = o->receipt_due_ms;
	} else if ((o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT ||
	    o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_FEEDBACK ||
	    o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_IN_PROGRESS) &&
	    o->feedback_due_ms != 0 && o->feedback_due_ms < w->now) {
		duty = "feedback";
		due = o->feedback_due_ms;
	}
	if (duty != NULL && o->referral_id.len == MESSAGE_ID_LEN && (j = json_object()) != NULL) {
		hex_encode(o->referral_id.data, MESSAGE_ID_LEN, rid);
		set(j, "referral_id", json_string(rid));
		set(j, "case_ref", json_string(o->case_ref));
		set(j, "unit", json_string(o->unit));
		set(j, "name", json_string(status_name(w->b, o->unit)));
		set(j, "referrer", json_string(o->referrer));
		set(j, "duty", json_string(duty));
		set(j, "due", status_time(due));
		set(j, "overdue_s", json_integer((w->now - due) / 1000));
		json_array_append_new(w->list, j);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static json_t *
status_overdue(struct broker *b)
{
	struct overdue_walk w = { b, json_array(), broker_clock_ms() };

	(void)store_aux_walk(b->store, STORE_OBLIGATIONS, "", 0, 0, status_overdue_one, &w);
	duties_overdue(b, w.list, w.now);	/* report duties: follow-ups, the calendar's */
	return w.list;
}

static json_t *
status_registry(struct broker *b)
{
	json_t *a = json_array();

	for (size_t i = 0; i < registry_count(b->reg); i++) {
		const reg_unit_t *u = registry_at(b->reg, i);
		const cb_key_t *k = registry_current_key(b->reg, u->id);
		const sealkey_t *seal;
		char kid[KEY_ID_LEN * 2 + 1], sid[SEALKEY_ID_LEN * 2 + 1];
		json_t *o = json_object();

		set(o, "unit", json_string(u->id));
		set(o, "name", json_string(u->name != NULL ? u->name : ""));
		set(o, "role", json_string(u->role));
		set(o, "division_code", json_string(u->division_code));
		set(o, "liaison", json_string(u->liaison != NULL ? u->liaison : ""));
		if (k != NULL)
			hex_encode(key_id(k), KEY_ID_LEN, kid);
		set(o, "sign_key_id", k != NULL ? json_string(kid) : json_null());
		set(o, "revoked", json_boolean(k == NULL));
		if ((seal = registry_current_seal(b->reg, u->id)) != NULL)
			hex_encode(sealkey_id(seal), SEALKEY_ID_LEN, sid);
		set(o, "seal_key_id", seal != NULL ? json_string(sid) : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
status_query(struct broker *b, const char *what)
{
	if (strcmp(what, "status") == 0)
		return status_state(b);
	if (strcmp(what, "units") == 0)
		return status_units(b);
	if (strcmp(what, "backlog") == 0)
		return status_backlog(b);
	if (strcmp(what, "overdue") == 0)
		return status_overdue(b);
	if (strcmp(what, "registry") == 0)
		return status_registry(b);
	return NULL;
}

static json_t *
status_histogram(const uint64_t *buckets, const double *bounds, size_t n, double sum)
{
	json_t *o = json_object(), *le = json_array(), *counts = json_array();
	uint64_t total = 0;

	for (size_t i = 0; i <= n; i++) {
		total += buckets[i];
		if (i < n)
			json_array_append_new(le, json_real(bounds[i]));
		json_array_append_new(counts, json_integer((json_int_t)total));	/* cumulative */
	}
	set(o, "le", le);
	set(o, "cumulative", counts);
	set(o, "sum", json_real(sum));
	set(o, "count", json_integer((json_int_t)total));
	return o;
}

json_t *
status_snapshot(struct broker *b)
{
	const struct figures *f = &b->fig;
	json_t *o = json_object(), *hist = json_array();
	int64_t minute = broker_clock_ms() / 60000;

	set(o, "status", status_state(b));
	set(o, "units", status_units(b));
	set(o, "backlog", status_backlog(b));
	set(o, "overdue", status_overdue(b));
	set(o, "commit_seconds", status_histogram(f->commit_us_bucket, status_commit_bounds_s,
	    STATUS_COMMIT_BUCKETS, (double)f->commit_us_sum / 1e6));
	set(o, "batch_size", status_histogram(f->batch_bucket, status_batch_bounds,
	    STATUS_BATCH_BUCKETS, (double)f->batch_sum));
	/* Accepted per minute, the oldest of the last hour first, this minute last. */
	for (int64_t m = minute - STATUS_MINUTES + 1; m <= minute; m++) {
		size_t slot = (size_t)(m % STATUS_MINUTES);

		json_array_append_new(hist, json_integer(f->minute_of[slot] == m ?
		    (json_int_t)f->per_minute[slot] : 0));
	}
	set(o, "accepted_per_minute", hist);
	return o;
}
