/* agents/spool.c — files in, files out: the agency's side of the agent.
 *
 * Crash safety: a document is renamed in/ -> pending/ before it is published, and the
 * publish is durable before spool_scan moves on; after a crash, spool_recover publishes the
 * pending/ files the client store does not know. Outcomes write the receipt or error file
 * first and then move the document, so a document in sent/ always has its receipt. Inbound
 * file names are derived from the log sequence number, so rewriting one after a crash
 * replaces it instead of duplicating it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "intake.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define SPOOL_NAME_MAX	200

static int
spool_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	return n > 0 && n < PATH_MAX ? 0 : CB_EIO;
}

int
spool_open(struct spool *sp, const char *root)
{
	static const char *const sub[] = { "in", "pending", "sent", "rejected", "out",
	    "quarantine" };
	char *dst[] = { sp->in, sp->pending, sp->sent, sp->rejected, sp->out, sp->quarantine };

	snprintf(sp->root, sizeof(sp->root), "%s", root);
	for (size_t i = 0; i < 6; i++) {
		if (spool_path(dst[i], root, sub[i]) != 0 || file_mkdirs(dst[i], 0750) != 0) {
			log_warn("spool: %s/%s", root, sub[i]);
			return CB_EIO;
		}
	}
	return 0;
}

static int
spool_write_json(const char *path, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));
	int rc;

	if (text == NULL)
		return CB_ENOMEM;
	rc = file_write_atomic(path, text, strlen(text), 0640);
	free(text);
	if (rc != 0)
		log_warn("spool: write %s", path);
	return rc;
}

/* Moves pending/NAME to DIR/NAME, or DIR/ID-NAME when DIR/NAME is taken. Writes the chosen
 * path to `target`. A missing source (already moved before a crash) is not an error. */
static int
spool_settle(struct spool *sp, const char *dir, const char *name, const char *id,
    char *target)
{
	char src[PATH_MAX], alt[PATH_MAX];

	char byid[PATH_MAX];

	snprintf(alt, sizeof(alt), "%s-%s", id, name);
	if (spool_path(src, sp->pending, name) != 0 || spool_path(target, dir, name) != 0 ||
	    spool_path(byid, dir, alt) != 0)
		return CB_EIO;
	if (access(src, F_OK) != 0) {
		/* Moved before a crash: it is under whichever name it got then. */
		if (access(byid, F_OK) == 0)
			memcpy(target, byid, PATH_MAX);
		return 0;
	}
	if (access(target, F_OK) == 0)
		memcpy(target, byid, PATH_MAX);
	return 0;
}

static int
spool_move(const char *src, const char *dst, const char *dir)
{
	if (rename(src, dst) != 0 && errno != ENOENT) {
		log_warn("spool: rename %s", src);
		return CB_EIO;
	}
	return file_sync_dir(dir);
}

/* Rejects a document the agent itself refused (invalid JSON, schema, size). */
static int
spool_reject_local(struct spool *sp, const char *name, const cb_error_t *err, int code)
{
	char src[PATH_MAX], dst[PATH_MAX], errpath[PATH_MAX + 16];
	json_t *doc;
	int rc;

	if (spool_path(src, sp->pending, name) != 0 || spool_settle(sp, sp->rejected, name,
	    "local", dst) != 0)
		return CB_EIO;
	snprintf(errpath, sizeof(errpath), "%s.error.json", dst);
	doc = json_pack("{s:s, s:s, s:s, s:s}", "file", name, "error",
	    code == CB_ETOOBIG ? "too_large" : "invalid_document", "field", err->field,
	    "reason", err->reason);
	if (doc == NULL)
		return CB_ENOMEM;
	rc = spool_write_json(errpath, doc);
	json_decref(doc);
	if (rc == 0)
		rc = spool_move(src, dst, sp->rejected);
	log_warnx("spool: %s rejected: %s: %s", name, err->field, err->reason);
	return rc;
}

/* Reads and publishes pending/NAME. */
static int
spool_publish(struct spool *sp, cb_client_t *c, const char *name)
{
	char path[PATH_MAX], id[33];
	cb_error_t err;
	size_t len;
	char *buf;
	int rc;

	memset(&err, 0, sizeof(err));
	if (spool_path(path, sp->pending, name) != 0)
		return CB_EIO;
	rc = file_read_all(path, INTAKE_MAX_DOC, &buf, &len);
	if (rc == CB_ETOOBIG) {
		cb_error_set(&err, "(document)", "larger than %d bytes", INTAKE_MAX_DOC);
		return spool_reject_local(sp, name, &err, rc);
	}
	if (rc != 0) {
		log_warn("spool: read %s", path);
		return rc;
	}
	rc = cb_client_publish_json(c, buf, len, name, id, &err);
	free(buf);
	if (rc == CB_EMALFORMED || rc == CB_ETOOBIG)
		return spool_reject_local(sp, name, &err, rc);
	if (rc != 0) {
		log_warnx("spool: %s not stored (%s); will retry", name, cb_strerror(rc));
		return rc;
	}
	log_info("spool: %s stored as message %s", name, id);
	return 0;
}

static int
spool_wanted(const struct dirent *d)
{
	return d->d_name[0] != '.' && strlen(d->d_name) <= SPOOL_NAME_MAX;
}

int
spool_scan(struct spool *sp, cb_client_t *c)
{
	struct dirent **names;
	int n, taken = 0;

	if ((n = scandir(sp->in, &names, spool_wanted, alphasort)) < 0) {
		log_warn("spool: scan %s", sp->in);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char src[PATH_MAX], dst[PATH_MAX];
		struct stat st;

		if (spool_path(src, sp->in, names[i]->d_name) != 0 ||
		    spool_path(dst, sp->pending, names[i]->d_name) != 0 ||
		    lstat(src, &st) != 0 || !S_ISREG(st.st_mode) || access(dst, F_OK) == 0)
			continue;	/* not a file, or the same name is still pending */
		if (rename(src, dst) != 0 || file_sync_dir(sp->pending) != 0) {
			log_warn("spool: take %s", src);
			continue;
		}
		if (spool_publish(sp, c, names[i]->d_name) != 0) {
			/* Not stored: hand it back for the next scan. */
			if (rename(dst, src) != 0)
				log_warn("spool: return %s", dst);
		}
		/* Take a bounded number per scan so that sending, receiving and heartbeats
		 * go on while a large drop is worked through. */
		if (++taken >= SPOOL_SCAN_MAX)
			break;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return taken;
}

struct tagset {
	char	**tags;
	size_t	  n, cap;
};

static void
tagset_add(void *arg, const char *tag)
{
	struct tagset *ts = arg;

	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 64;
		char **nt = realloc(ts->tags, cap * sizeof(*nt));

		if (nt == NULL)
			return;
		ts->tags = nt;
		ts->cap = cap;
	}
	if ((ts->tags[ts->n] = strdup(tag)) != NULL)
		ts->n++;
}

int
spool_recover(struct spool *sp, cb_client_t *c)
{
	struct tagset ts = { NULL, 0, 0 };
	struct dirent **names;
	int n, rc;

	if ((rc = cb_client_pending(c, tagset_add, &ts)) != 0)
		return rc;
	if ((n = scandir(sp->pending, &names, spool_wanted, alphasort)) < 0)
		n = 0;
	for (int i = 0; i < n; i++) {
		int known = 0;

		for (size_t j = 0; j < ts.n && !known; j++)
			known = strcmp(ts.tags[j], names[i]->d_name) == 0;
		if (!known) {
			log_info("spool: %s was taken but not stored before a crash; publishing",
			    names[i]->d_name);
			spool_publish(sp, c, names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	for (size_t j = 0; j < ts.n; j++)
		free(ts.tags[j]);
	free(ts.tags);
	return 0;
}

static int
spool_outcome(struct spool *sp, const cb_event_t *ev)
{
	int accepted = ev->type == CB_EVENT_ACCEPTED;
	const char *dir = accepted ? sp->sent : sp->rejected;
	char src[PATH_MAX], dst[PATH_MAX], side[PATH_MAX + 24], when[40];
	json_t *doc;
	int rc;

	if (ev->tag[0] == '\0' || strchr(ev->tag, '/') != NULL)
		return 0;	/* not a spool publish */
	if (spool_path(src, sp->pending, ev->tag) != 0 ||
	    spool_settle(sp, dir, ev->tag, ev->message_id, dst) != 0)
		return CB_EIO;
	snprintf(side, sizeof(side), "%s.%s.json", dst, accepted ? "receipt" : "error");
	if (accepted) {
		clock_format_rfc3339(ev->logged_ms, when, sizeof(when));
		doc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b}", "file", ev->tag, "message_id",
		    ev->message_id, "seq", (json_int_t)ev->seq, "entry_hash", ev->entry_hash,
		    "logged", when, "duplicate", ev->duplicate);
	} else {
		doc = json_pack("{s:s, s:s, s:s, s:i, s:s}", "file", ev->tag, "message_id",
		    ev->message_id, "error", ev->reject_name, "code", ev->reject_code,
		    "reason", ev->reason);
	}
	if (doc == NULL)
		return CB_ENOMEM;
	rc = spool_write_json(side, doc);
	json_decref(doc);
	if (rc == 0)
		rc = spool_move(src, dst, dir);
	if (rc == 0 && accepted)
		log_info("spool: %s accepted: message %s seq %llu", ev->tag, ev->message_id,
		    (unsigned long long)ev->seq);
	else if (rc == 0)
		log_warnx("spool: %s rejected by the broker: message %s: %s: %s", ev->tag,
		    ev->message_id, ev->reject_name, ev->reason);
	return rc;
}

static int
spool_inbound(struct spool *sp, const cb_event_t *ev)
{
	char name[128], path[PATH_MAX];
	const char *dir = ev->sigcheck == CB_SIG_BAD ? sp->quarantine : sp->out;
	int rc;

	snprintf(name, sizeof(name), "%020llu-%s-%s.json", (unsigned long long)ev->seq,
	    ev->kind, ev->message_id);
	if (spool_path(path, dir, name) != 0)
		return CB_EIO;
	if ((rc = file_write_atomic(path, ev->json, strlen(ev->json), 0640)) != 0) {
		log_warn("spool: write %s", path);
		return rc;
	}
	if (ev->sigcheck == CB_SIG_BAD)
		log_warnx("spool: message %s from %s (seq %llu) fails the agent's signature "
		    "check; quarantined", ev->message_id, ev->sender,
		    (unsigned long long)ev->seq);
	else
		log_info("spool: received %s %s from %s (seq %llu)", ev->kind, ev->message_id,
		    ev->sender, (unsigned long long)ev->seq);
	return 0;
}

int
spool_handle(struct spool *sp, const cb_event_t *ev)
{
	if (ev->type == CB_EVENT_MESSAGE)
		return spool_inbound(sp, ev);
	return spool_outcome(sp, ev);
}
