/* agents/spool.c — files in, files out: the agency's side of the agent.
 *
 * Crash safety: a document is renamed in/ -> pending/ before it is published, and the
 * publish is durable before spool_scan moves on; after a crash, spool_recover publishes the
 * pending/ files the client store does not know. Outcomes write the receipt or error file
 * first and then move the document, so a document in sent/ always has its receipt. Inbound
 * file names are derived from the log sequence number, so rewriting one after a crash
 * replaces it instead of duplicating it.
 *
 * Events are completed in batches, and an inbound message is shown only after it is done
 * in the client (its watermark durable), so that a crash can never show it twice:
 *
 *   spool_stage    each event's files under hidden names (".NAME.tmpPID"), not synced
 *   spool_commit   one syncfs() per file system: the hidden files durable; publish
 *                  outcomes shown (receipt, then the document moved; directory fsynced)
 *   (caller)       cb_client_flush: the watermark durable (one flush), the batch acked
 *   spool_show     inbound files renamed into out/ (quarantine/), no fsync
 *   spool_finish   at start: hidden inbound files at or below the watermark renamed into
 *                  place (the crash came between flush and show), the others removed
 *                  (not done: the broker delivers them again)
 *
 * So a delivered batch costs two flushes (syncfs, watermark), and a file the agency took
 * from out/ before a crash is never written again: only hidden files are completed at
 * start, and the watermark says which. Publish outcomes are shown before the flush:
 * showing one twice is harmless (the same receipt, a document already moved), while
 * showing it after the flush would let spool_recover publish again a document still in
 * pending/ whose outbox record is gone.
 *
 * Entries of in/ that are not regular files, or whose names could not be shown safely
 * (control characters, invalid UTF-8, too long) or end like a side file, are moved to
 * rejected/ with an error file (spool_entry_check): nothing stays in in/ unexplained, and
 * no document's name is a receipt's or an error file's.
 *
 * Invariants: (1) a file appears under its visible name only with its data durable, so
 * out/ never shows a partial file, even after a power loss; (2) nothing is acknowledged
 * before its data are durable under a hidden name that spool_finish completes; (3) an
 * inbound file is shown only after its seq is at or below the durable watermark; (4) a
 * failed commit keeps the batch and writes it whole again on the next try (the data are
 * kept in memory until the batch is shown); (5) no document's name ends in
 * SPOOL_RECEIPT_SUFFIX or SPOOL_ERROR_SUFFIX, so a side file (a document's name and a
 * suffix) never takes a document's place. */
#define _GNU_SOURCE	/* syncfs */
#include <dirent.h>
#include <fcntl.h>
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


static int
spool_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	return n > 0 && n < PATH_MAX ? 0 : CB_EIO;
}

/* Whether `name` is one of our temporaries: ".NAME.tmpPID" (file_temp_path, which
 * spool_add_step and file_write_atomic use). */
static int
spool_is_temp(const char *name)
{
	const char *t = strrchr(name, '.');

	if (name[0] != '.' || t == NULL || t == name || strncmp(t, ".tmp", 4) != 0 ||
	    t[4] == '\0')
		return 0;
	for (t += 4; *t != '\0'; t++)
		if (*t < '0' || *t > '9')
			return 0;
	return 1;
}

/* Removes the temporaries a crash left in `dir` (never in in/: the agency's own
 * temporaries live there). They were never renamed into place, so nothing refers to them. */
static void
spool_sweep(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (spool_is_temp(de->d_name) && unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	closedir(d);
	if (n > 0)
		log_info("spool: removed %zu unfinished temporary file%s from %s", n,
		    n == 1 ? "" : "s", dir);
}

/* Refuses a spool root or in/ that users other than the agent's own may write to: whoever
 * can put a file into in/ (or replace in/) publishes as the unit, signed with its key.
 * Returns 0, CB_EIO or CB_EPERM (logged with the fix). */
static int
spool_check_writers(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		log_warn("spool: %s", dir);
		return CB_EIO;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warnx("spool: %s is %s-writable (mode %04o): anyone who can write there "
		    "publishes as this unit; run `chmod go-w %s` and let the agency's system "
		    "write as the agent's user", dir, (st.st_mode & S_IWOTH) ? "world" : "group",
		    (unsigned)(st.st_mode & 07777), dir);
		return CB_EPERM;
	}
	return 0;
}

int
spool_open(struct spool *sp, const char *root)
{
	static const char *const sub[] = { "in", "pending", "sent", "rejected", "out",
	    "quarantine" };
	char *dst[] = { sp->in, sp->pending, sp->sent, sp->rejected, sp->out, sp->quarantine };

	snprintf(sp->root, sizeof(sp->root), "%s", root);
	sp->pid = (long)getpid();
	sp->rules = NULL;
	for (size_t i = 0; i < 6; i++) {
		if (spool_path(dst[i], root, sub[i]) != 0 || file_mkdirs(dst[i], 0750) != 0) {
			log_warn("spool: %s/%s", root, sub[i]);
			return CB_EIO;
		}
		/* Not in/ (the agency's), not out/ and quarantine/ (spool_finish's). */
		if (i >= 1 && i <= 3)
			spool_sweep(dst[i]);
	}
	if (spool_check_writers(root) != 0 || spool_check_writers(sp->in) != 0)
		return CB_EPERM;
	return 0;
}

/* The log sequence number of a hidden inbound file ".SEQ-KIND-ID.json.tmpPID" (see
 * spool_stage_inbound), or 0 when `name` is not one. */
static uint64_t
spool_temp_seq(const char *name)
{
	char digits[21];
	uint64_t seq;

	if (!spool_is_temp(name))
		return 0;
	for (int i = 1; i <= 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	if (name[21] != '-')
		return 0;
	memcpy(digits, name + 1, 20);
	digits[20] = '\0';
	errno = 0;
	seq = strtoull(digits, NULL, 10);
	return errno == 0 ? seq : 0;
}

/* spool_finish for one directory. */
static int
spool_finish_dir(const char *dir, uint64_t watermark)
{
	size_t shown = 0, dropped = 0;
	struct dirent *de;
	int rc = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		log_warn("spool: open %s", dir);
		return CB_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t seq = spool_temp_seq(de->d_name);
		char name[NAME_MAX + 1];

		if (!spool_is_temp(de->d_name))
			continue;
		if (seq == 0 || seq > watermark) {
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				dropped++;
			continue;
		}
		/* ".NAME.tmpPID" -> "NAME" */
		snprintf(name, sizeof(name), "%.*s", (int)(strrchr(de->d_name, '.') -
		    de->d_name - 1), de->d_name + 1);
		if (renameat(dirfd(d), de->d_name, dirfd(d), name) != 0) {
			log_warn("spool: show %s/%s", dir, name);
			rc = CB_EIO;
			break;
		}
		shown++;
	}
	closedir(d);
	if (rc == 0 && shown > 0 && (rc = file_sync_dir(dir)) != 0)
		log_warn("spool: fsync %s", dir);
	if (shown > 0 || dropped > 0)
		log_info("spool: %s: showed %zu message%s done before a crash, removed %zu "
		    "unfinished file%s", dir, shown, shown == 1 ? "" : "s", dropped,
		    dropped == 1 ? "" : "s");
	return rc;
}

int
spool_finish(struct spool *sp, uint64_t watermark)
{
	int rc;

	if ((rc = spool_finish_dir(sp->out, watermark)) != 0)
		return rc;
	return spool_finish_dir(sp->quarantine, watermark);
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

/* Rejects a document the agent itself refused (invalid JSON, schema, size). The error file
 * has every problem in `errors` (`problems`, or `err` alone when NULL; consumed), the first
 * also as `field` and `reason`. */
static int
spool_reject_local(struct spool *sp, const char *name, const cb_error_t *err, int code,
    json_t *problems)
{
	char src[PATH_MAX], dst[PATH_MAX], errpath[PATH_MAX + 16];
	json_t *doc;
	int rc;

	if (problems == NULL)
		problems = json_pack("[{s:s, s:s}]", "field", err->field, "reason", err->reason);
	if (problems == NULL)
		return CB_ENOMEM;
	if (spool_path(src, sp->pending, name) != 0 || spool_settle(sp, sp->rejected, name,
	    "local", dst) != 0) {
		json_decref(problems);
		return CB_EIO;
	}
	snprintf(errpath, sizeof(errpath), "%s%s", dst, SPOOL_ERROR_SUFFIX);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:o}", "file", name, "error",
	    code == CB_ETOOBIG ? "too_large" : "invalid_document", "field", err->field,
	    "reason", err->reason, "errors", problems);
	if (doc == NULL)
		return CB_ENOMEM;
	rc = spool_write_json(errpath, doc);
	log_warnx("spool: %s rejected: %s: %s (%zu problem%s)", name, err->field, err->reason,
	    json_array_size(json_object_get(doc, "errors")),
	    json_array_size(json_object_get(doc, "errors")) == 1 ? "" : "s");
	json_decref(doc);
	if (rc == 0)
		rc = spool_move(src, dst, sp->rejected);
	return rc;
}

/* Reads and publishes pending/NAME: intake with the spool's rules first (every problem of
 * a refused document goes to its error file), then the client signs and stores it. */
static int
spool_publish(struct spool *sp, cb_client_t *c, const char *name)
{
	char path[PATH_MAX], id[CB_MESSAGE_ID_HEX_SIZE];
	Cluebus__Message *m = NULL;
	json_t *problems = NULL;
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
		return spool_reject_local(sp, name, &err, rc, NULL);
	}
	if (rc != 0) {
		log_warn("spool: read %s", path);
		return rc;
	}
	if ((rc = intake_parse(buf, len, sp->rules, &m, &err, &problems)) == 0) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		rc = cb_client_publish_json(c, buf, len, name, id, &err);
	}
	free(buf);
	if (rc == CB_EMALFORMED || rc == CB_ETOOBIG)
		return spool_reject_local(sp, name, &err, rc, problems);
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
	return d->d_name[0] != '.';
}

static int
spool_ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n >= m && strcmp(name + n - m, suffix) == 0;
}

static const char *
spool_type_name(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a device";
}

/* Whether the agent takes the entry NAME of in/ as a document. Returns 0, or
 * CB_EMALFORMED with `err` saying why not: only regular files whose names are valid
 * UTF-8 without control characters, at most SPOOL_NAME_MAX bytes, and not ending like the
 * agent's own side files (NAME.receipt.json in sent/, NAME.error.json in rejected/), so
 * that no document can take or overwrite a side file's name. */
static int
spool_entry_check(const char *name, mode_t mode, cb_error_t *err)
{
	size_t len = strlen(name);
	json_t *utf8;

	if (!S_ISREG(mode))
		return cb_error_set(err, "(file type)", "%s, not a regular file: only regular "
		    "files are taken", spool_type_name(mode)), CB_EMALFORMED;
	if (len > SPOOL_NAME_MAX)
		return cb_error_set(err, "(file name)", "%zu bytes long, at most %d", len,
		    SPOOL_NAME_MAX), CB_EMALFORMED;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return cb_error_set(err, "(file name)", "control character 0x%02x at "
			    "byte %zu", (unsigned char)name[i], i), CB_EMALFORMED;
	if ((utf8 = json_string(name)) == NULL)
		return cb_error_set(err, "(file name)", "not valid UTF-8"), CB_EMALFORMED;
	json_decref(utf8);
	if (spool_ends_with(name, SPOOL_RECEIPT_SUFFIX) ||
	    spool_ends_with(name, SPOOL_ERROR_SUFFIX))
		return cb_error_set(err, "(file name)", "names ending in %s or %s are the "
		    "agent's receipts and error files", SPOOL_RECEIPT_SUFFIX,
		    SPOOL_ERROR_SUFFIX), CB_EMALFORMED;
	return 0;
}

/* The name under which a refused entry goes to rejected/: control characters and the bytes
 * of an invalid UTF-8 name become '_', a long name is cut (at a character boundary) and a
 * side file's ending gets SPOOL_REFUSED_SUFFIX, so the name is one spool_entry_check takes
 * (but for the entry's type). `out` has room for SPOOL_NAME_MAX + 1 bytes. */
static void
spool_refused_name(const char *name, char *out)
{
	size_t keep = SPOOL_NAME_MAX - sizeof(SPOOL_REFUSED_SUFFIX) - 32, len = 0;
	json_t *utf8 = json_string(name);
	int valid = utf8 != NULL;

	json_decref(utf8);
	for (; name[len] != '\0' && len < keep; len++) {
		unsigned char c = (unsigned char)name[len];

		out[len] = c < 0x20 || c == 0x7f || (!valid && c >= 0x80) ? '_' : (char)c;
	}
	if (valid && name[len] != '\0')	/* cut: not inside a UTF-8 sequence */
		while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
	out[len] = '\0';
	if (spool_ends_with(out, SPOOL_RECEIPT_SUFFIX) ||
	    spool_ends_with(out, SPOOL_ERROR_SUFFIX))
		strcat(out, SPOOL_REFUSED_SUFFIX);
}

/* Moves the refused entry in/NAME (any type; a symbolic link is moved, never followed) to
 * rejected/ with an error file written first, as for a refused document. Returns 0 or
 * CB_EIO / CB_ENOMEM (the entry stays in in/; the caller logs it once). */
static int
spool_refuse(struct spool *sp, const char *name, const cb_error_t *err)
{
	char safe[SPOOL_NAME_MAX + 1], alt[SPOOL_NAME_MAX + 48], shown[SPOOL_NAME_MAX * 4 + 1];
	char src[PATH_MAX], dst[PATH_MAX], errpath[PATH_MAX + 16];
	json_t *doc, *utf8;
	int rc;

	spool_refused_name(name, safe);
	if (spool_path(src, sp->in, name) != 0 || spool_path(dst, sp->rejected, safe) != 0)
		return CB_EIO;
	if (access(dst, F_OK) == 0) {
		snprintf(alt, sizeof(alt), "refused-%lld-%s", (long long)clock_now_ms(), safe);
		if (spool_path(dst, sp->rejected, alt) != 0)
			return CB_EIO;
	}
	snprintf(errpath, sizeof(errpath), "%s%s", dst, SPOOL_ERROR_SUFFIX);
	str_sanitize(name, strlen(name), shown, sizeof(shown));
	utf8 = json_string(name);
	doc = json_pack("{s:o, s:s, s:s, s:s}", "file", utf8 != NULL ? utf8 :
	    json_string(shown), "error", "refused_entry", "field", err->field, "reason",
	    err->reason);
	if (doc == NULL)
		return CB_ENOMEM;
	rc = spool_write_json(errpath, doc);
	json_decref(doc);
	if (rc == 0)
		rc = spool_move(src, dst, sp->rejected);
	if (rc == 0)
		log_warnx("spool: in/%s refused: %s: %s; moved to %s", shown, err->field,
		    err->reason, dst);
	return rc;
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

		cb_error_t err;

		if (spool_path(src, sp->in, names[i]->d_name) != 0 || lstat(src, &st) != 0)
			continue;	/* gone, or a name too long for a path */
		if (spool_entry_check(names[i]->d_name, st.st_mode, &err) != 0) {
			if (spool_refuse(sp, names[i]->d_name, &err) != 0)
				log_warn("spool: cannot move refused entry %s", src);
			taken++;
			continue;
		}
		if (spool_path(dst, sp->pending, names[i]->d_name) != 0 || access(dst, F_OK) == 0)
			continue;	/* the same name is still pending */
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

/* ---- staged, batched completion of events ---- */

enum {
	SPOOL_DIR_OUT = 1 << 0,
	SPOOL_DIR_QUARANTINE = 1 << 1,
	SPOOL_DIR_SENT = 1 << 2,
	SPOOL_DIR_REJECTED = 1 << 3,
};

static const char *
spool_dir_path(const struct spool *sp, unsigned bit)
{
	switch (bit) {
	case SPOOL_DIR_OUT: return sp->out;
	case SPOOL_DIR_QUARANTINE: return sp->quarantine;
	case SPOOL_DIR_SENT: return sp->sent;
	default: return sp->rejected;
	}
}

static void
spool_step_clear(struct spool_step *st)
{
	free(st->from);
	free(st->to);
	free(st->data);
	memset(st, 0, sizeof(*st));
}

void
spool_batch_free(struct spool_batch *b)
{
	for (size_t i = 0; i < b->nsteps; i++)
		spool_step_clear(&b->steps[i]);
	free(b->steps);
	memset(b, 0, sizeof(*b));
}

/* Appends a step. With `data`: writes it to a hidden file beside `target` now and takes a
 * copy of it; the step renames that file to `target`. Without: the step renames `src` to
 * `target` (a missing `src` is fine then: moved before a crash). */
static int
spool_add_step(const struct spool *sp, struct spool_batch *b, unsigned dir, const char *src,
    const char *target, const char *data, size_t len)
{
	struct spool_step st = { NULL, NULL, NULL, 0, dir };
	char tmp[PATH_MAX];
	int rc = CB_ENOMEM;

	if (data != NULL) {
		if (file_temp_path(target, sp->pid, tmp, sizeof(tmp)) != 0)
			return CB_EIO;
		src = tmp;
	}
	if (b->nsteps == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 2 * SPOOL_BATCH_MAX;
		struct spool_step *ns = realloc(b->steps, cap * sizeof(*ns));

		if (ns == NULL)
			return CB_ENOMEM;
		b->steps = ns;
		b->cap = cap;
	}
	if ((st.from = strdup(src)) == NULL || (st.to = strdup(target)) == NULL)
		goto fail;
	if (data != NULL) {
		if ((st.data = malloc(len + 1)) == NULL)
			goto fail;
		memcpy(st.data, data, len);
		st.len = len;
		if ((rc = file_write_new(st.from, st.data, st.len, 0640, 0)) != 0) {
			log_warn("spool: write %s", st.from);
			goto fail;
		}
	}
	b->steps[b->nsteps++] = st;
	b->dirs |= dir;
	b->durable = 0;
	return 0;
fail:
	spool_step_clear(&st);
	return rc;
}

/* Stages the receipt or error file of a publish outcome, then the move of the document. */
static int
spool_stage_outcome(struct spool *sp, struct spool_batch *b, const cb_event_t *ev)
{
	int accepted = ev->type == CB_EVENT_ACCEPTED;
	unsigned bit = accepted ? SPOOL_DIR_SENT : SPOOL_DIR_REJECTED;
	const char *dir = spool_dir_path(sp, bit);
	char src[PATH_MAX], dst[PATH_MAX], side[PATH_MAX + 24], when[40];
	size_t mark = b->nsteps;
	json_t *doc;
	char *text;
	int rc;

	if (ev->tag[0] == '\0' || strchr(ev->tag, '/') != NULL)
		return 0;	/* not a spool publish */
	if (spool_path(src, sp->pending, ev->tag) != 0 ||
	    spool_settle(sp, dir, ev->tag, ev->message_id, dst) != 0)
		return CB_EIO;
	snprintf(side, sizeof(side), "%s%s", dst, accepted ? SPOOL_RECEIPT_SUFFIX :
	    SPOOL_ERROR_SUFFIX);
	if (accepted) {
		clock_format_rfc3339(ev->logged_ms, when, sizeof(when));
		doc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b}", "file", ev->tag, "message_id",
		    ev->message_id, "seq", (json_int_t)ev->seq, "entry_hash", ev->entry_hash,
		    "logged", when, "duplicate", ev->duplicate);
	} else {
		doc = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "file", ev->tag, "message_id",
		    ev->message_id, "error", ev->reject_name, "code", ev->reject_code,
		    "field", ev->reject_field, "reason", ev->reason);
	}
	if (doc == NULL)
		return CB_ENOMEM;
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (text == NULL)
		return CB_ENOMEM;
	rc = spool_add_step(sp, b, bit, NULL, side, text, strlen(text));
	free(text);
	if (rc == 0 && (rc = spool_add_step(sp, b, bit, src, dst, NULL, 0)) != 0) {
		spool_step_clear(&b->steps[mark]);	/* all or nothing for this event */
		b->nsteps = mark;
	}
	if (rc != 0)
		return rc;
	if (accepted)
		log_info("spool: %s accepted: message %s seq %llu", ev->tag, ev->message_id,
		    (unsigned long long)ev->seq);
	else
		log_warnx("spool: %s rejected by the broker: message %s: %s: %s%s%s", ev->tag,
		    ev->message_id, ev->reject_name, ev->reject_field,
		    ev->reject_field[0] != '\0' ? ": " : "", ev->reason);
	return 0;
}

/* Stages out/SEQ-KIND-ID.json (quarantine/ when the agent's signature check failed). */
static int
spool_stage_inbound(struct spool *sp, struct spool_batch *b, const cb_event_t *ev)
{
	unsigned bit = ev->sigcheck == CB_SIG_BAD ? SPOOL_DIR_QUARANTINE : SPOOL_DIR_OUT;
	char name[128], path[PATH_MAX];
	int rc;

	snprintf(name, sizeof(name), "%020llu-%s-%s.json", (unsigned long long)ev->seq,
	    ev->kind, ev->message_id);
	if (spool_path(path, spool_dir_path(sp, bit), name) != 0)
		return CB_EIO;
	if ((rc = spool_add_step(sp, b, bit, NULL, path, ev->json, strlen(ev->json))) != 0)
		return rc;
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
spool_stage(struct spool *sp, struct spool_batch *b, const cb_event_t *ev)
{
	if (ev->type == CB_EVENT_MESSAGE)
		return spool_stage_inbound(sp, b, ev);
	return spool_stage_outcome(sp, b, ev);
}

/* Makes the data of every file written since the last commit durable: one syncfs() per
 * file system holding a directory of the batch (normally one). */
static int
spool_sync_data(struct spool *sp, unsigned dirs)
{
	dev_t seen[4];
	size_t nseen = 0;

	for (unsigned bit = 1; bit <= SPOOL_DIR_REJECTED; bit <<= 1) {
		const char *dir = spool_dir_path(sp, bit);
		struct stat st;
		int fd, known = 0;

		if ((dirs & bit) == 0)
			continue;
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			log_warn("spool: open %s", dir);
			return CB_EIO;
		}
		if (fstat(fd, &st) != 0) {
			log_warn("spool: stat %s", dir);
			close(fd);
			return CB_EIO;
		}
		for (size_t i = 0; i < nseen; i++)
			known |= seen[i] == st.st_dev;
		if (!known && syncfs(fd) != 0) {
			log_warn("spool: syncfs %s", dir);
			close(fd);
			return CB_EIO;
		}
		if (!known)
			seen[nseen++] = st.st_dev;
		close(fd);
	}
	return 0;
}

/* Renames the steps of the directories in `dirs`, in staging order, and drops them from
 * the batch. A document already moved before a crash is fine; a file of ours that is
 * missing is not (it was written again just before). */
static int
spool_rename_steps(struct spool_batch *b, unsigned dirs)
{
	size_t kept = 0;

	for (size_t i = 0; i < b->nsteps; i++) {
		struct spool_step *st = &b->steps[i];

		if ((st->dir & dirs) == 0) {
			b->steps[kept++] = *st;
			continue;
		}
		if (rename(st->from, st->to) != 0 && (errno != ENOENT || st->data != NULL)) {
			log_warn("spool: rename %s", st->from);
			memmove(&b->steps[kept], st, (b->nsteps - i) * sizeof(*st));
			b->nsteps = kept + b->nsteps - i;
			return CB_EIO;
		}
		spool_step_clear(st);
	}
	b->nsteps = kept;
	return 0;
}

int
spool_commit(struct spool *sp, struct spool_batch *b)
{
	const unsigned outcomes = SPOOL_DIR_SENT | SPOOL_DIR_REJECTED;

	if (b->nsteps == 0 || b->durable)
		return 0;
	if (b->rewrite) {
		for (size_t i = 0; i < b->nsteps; i++) {
			struct spool_step *st = &b->steps[i];

			if (st->data != NULL && file_write_new(st->from, st->data,
			    st->len, 0640, 0) != 0) {
				log_warn("spool: write %s", st->from);
				return CB_EIO;
			}
		}
	}
	b->rewrite = 1;	/* until this commit succeeded */
	if (spool_sync_data(sp, b->dirs) != 0 || spool_rename_steps(b, outcomes) != 0)
		return CB_EIO;
	for (unsigned bit = SPOOL_DIR_SENT; bit <= SPOOL_DIR_REJECTED; bit <<= 1) {
		if ((b->dirs & bit) != 0 && file_sync_dir(spool_dir_path(sp, bit)) != 0) {
			log_warn("spool: fsync %s", spool_dir_path(sp, bit));
			return CB_EIO;
		}
	}
	b->dirs &= ~outcomes;
	b->rewrite = 0;
	b->durable = 1;
	return 0;
}

int
spool_show(struct spool *sp, struct spool_batch *b)
{
	size_t done;

	(void)sp;
	for (done = 0; done < b->nsteps; done++) {
		struct spool_step *st = &b->steps[done];

		if (rename(st->from, st->to) == 0)
			continue;
		/* Our hidden file vanished (someone else's doing): write it whole again. */
		if (errno == ENOENT && file_write_atomic(st->to, st->data, st->len, 0640) == 0)
			continue;
		log_warn("spool: show %s", st->to);
		break;
	}
	for (size_t i = 0; i < done; i++)
		spool_step_clear(&b->steps[i]);
	if (done < b->nsteps) {
		memmove(b->steps, b->steps + done, (b->nsteps - done) * sizeof(*b->steps));
		b->nsteps -= done;
		return CB_EIO;	/* the rest stays: call again */
	}
	b->nsteps = 0;
	b->dirs = 0;
	b->durable = 0;
	return 0;
}

/* Reads sent/NAME.receipt.json of `p` (under its document's name, or the id-prefixed name
 * a clash gave it) when its message id is p's. Returns the document (new) and its path. */
static json_t *
spool_receipt_load(struct spool *sp, const cb_proof_t *p, char *path)
{
	char name[PATH_MAX];
	json_t *doc;

	for (int alt = 0; alt < 2; alt++) {
		int n = alt ? snprintf(name, sizeof(name), "%s-%s%s", p->message_id, p->tag,
		    SPOOL_RECEIPT_SUFFIX) : snprintf(name, sizeof(name), "%s%s", p->tag,
		    SPOOL_RECEIPT_SUFFIX);

		if (n < 0 || (size_t)n >= sizeof(name) || spool_path(path, sp->sent, name) != 0)
			return NULL;
		if ((doc = json_load_file(path, 0, NULL)) == NULL)
			continue;
		if (json_is_string(json_object_get(doc, "message_id")) &&
		    strcmp(json_string_value(json_object_get(doc, "message_id")),
		    p->message_id) == 0)
			return doc;
		json_decref(doc);
	}
	return NULL;
}

int
spool_receipt_proof(struct spool *sp, const cb_proof_t *p)
{
	char path[PATH_MAX], *text;
	json_t *doc, *proof;
	int rc;

	if (p->tag[0] == '\0' || strchr(p->tag, '/') != NULL)
		return 0;	/* not a spool publish */
	if ((doc = spool_receipt_load(sp, p, path)) == NULL) {
		log_warnx("spool: no receipt of %s (message %s) in sent/ for its inclusion proof",
		    p->tag, p->message_id);
		return 0;
	}
	if ((proof = json_loads(p->json, 0, NULL)) == NULL) {
		json_decref(doc);
		return CB_ENOMEM;
	}
	json_object_set_new(doc, "proof", proof);
	json_object_set_new(doc, "checkpoint", json_string(p->checkpoint));
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (text == NULL)
		return CB_ENOMEM;
	rc = file_write_atomic(path, text, strlen(text), 0640);
	free(text);
	if (rc != 0) {
		log_warn("spool: %s", path);
		return CB_EIO;
	}
	log_debug("spool: %s: inclusion proof of seq %llu added", p->tag,
	    (unsigned long long)p->seq);
	return 0;
}

int
spool_write_status(struct spool *sp, const char *unit, const cb_transparency_t *t)
{
	char path[PATH_MAX], when[40], *text;
	json_t *doc;
	int rc;

	clock_format_rfc3339(clock_now_ms(), when, sizeof(when));
	doc = json_pack("{s:s, s:s, s:b, s:s?, s:I, s:s?}", "unit", unit, "updated", when,
	    "ok", t->alarm == NULL, "alarm", t->alarm, "checkpoint_size",
	    (json_int_t)t->tree_size, "checkpoint", t->checkpoint);
	if (doc == NULL || (text = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		json_decref(doc);
		return CB_ENOMEM;
	}
	json_decref(doc);
	rc = spool_path(path, sp->root, SPOOL_STATUS_FILE);
	if (rc == 0 && file_write_atomic(path, text, strlen(text), 0644) != 0) {
		log_warn("spool: %s", path);
		rc = CB_EIO;
	}
	free(text);
	return rc;
}
