/* tests/unit/test_spool.c — the agent's spool: inbound files shown only after the flush,
 * and what a crash between flush and show leaves is completed at start, never twice.
 *
 * Each test drives agents/spool.c directly, the way agents/main.c does (stage, commit,
 * flush, show), with cb_event_t values made by hand; a "crash" is the batch dropped
 * between two of those steps, followed by spool_open + spool_finish as at a start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cluebus/client.h"
#include "../../agents/spool.h"
#include "util.h"

struct fixture {
	char		 root[64];
	struct spool	 sp;
	struct spool_batch b;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	snprintf(fx->root, sizeof(fx->root), "/tmp/cb-spool-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	assert_int_equal(spool_open(&fx->sp, fx->root), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	spool_batch_free(&fx->b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Stages an inbound message with log sequence number `seq`. */
static void
stage_message(struct fixture *fx, uint64_t seq)
{
	cb_event_t ev;
	char json[64];

	memset(&ev, 0, sizeof(ev));
	ev.type = CB_EVENT_MESSAGE;
	ev.seq = seq;
	snprintf(ev.message_id, sizeof(ev.message_id), "%032llx", (unsigned long long)seq);
	snprintf(ev.sender, sizeof(ev.sender), "psb");
	snprintf(ev.kind, sizeof(ev.kind), "clue");
	ev.sigcheck = CB_SIG_VERIFIED;
	snprintf(json, sizeof(json), "{\"seq\": %llu}", (unsigned long long)seq);
	ev.json = json;
	assert_int_equal(spool_stage(&fx->sp, &fx->b, &ev), 0);
}

/* The visible name of message `seq` in out/. */
static void
out_path(struct fixture *fx, uint64_t seq, char *path, size_t len)
{
	snprintf(path, len, "%s/%020llu-clue-%032llx.json", fx->sp.out,
	    (unsigned long long)seq, (unsigned long long)seq);
}

static int
shown(struct fixture *fx, uint64_t seq)
{
	char path[PATH_MAX + 128];

	out_path(fx, seq, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/* Files in `dir` whose names start with a dot. */
static int
hidden_count(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* The start after a crash: the batch is gone, the directories stay. */
static void
restart(struct fixture *fx, uint64_t watermark)
{
	spool_batch_free(&fx->b);
	assert_int_equal(spool_open(&fx->sp, fx->root), 0);
	assert_int_equal(spool_finish(&fx->sp, watermark), 0);
}

static void
test_inbound_files_stay_hidden_until_shown(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX + 128], *text;
	size_t len;

	for (uint64_t seq = 1; seq <= 3; seq++)
		stage_message(fx, seq);
	assert_int_equal(spool_commit(&fx->sp, &fx->b), 0);
	assert_int_equal(hidden_count(fx->sp.out), 3);
	for (uint64_t seq = 1; seq <= 3; seq++)
		assert_false(shown(fx, seq));
	/* A second commit (the flush failed and is retried) writes nothing again. */
	assert_int_equal(spool_commit(&fx->sp, &fx->b), 0);
	assert_int_equal(fx->b.nsteps, 3);
	assert_int_equal(spool_show(&fx->sp, &fx->b), 0);
	assert_int_equal(fx->b.nsteps, 0);
	assert_int_equal(hidden_count(fx->sp.out), 0);
	for (uint64_t seq = 1; seq <= 3; seq++)
		assert_true(shown(fx, seq));
	out_path(fx, 2, path, sizeof(path));
	assert_int_equal(file_read_all(path, 1024, &text, &len), 0);
	assert_string_equal(text, "{\"seq\": 2}");
	free(text);
}

static void
test_crash_between_flush_and_show_is_completed_at_start(void **state)
{
	struct fixture *fx = *state;

	for (uint64_t seq = 1; seq <= 3; seq++)
		stage_message(fx, seq);
	assert_int_equal(spool_commit(&fx->sp, &fx->b), 0);
	/* Flushed up to 2 only (3 arrived in this batch but the flush that covered it did not
	 * happen): 1 and 2 are shown at start, 3 is removed and comes again from the broker. */
	restart(fx, 2);
	assert_true(shown(fx, 1));
	assert_true(shown(fx, 2));
	assert_false(shown(fx, 3));
	assert_int_equal(hidden_count(fx->sp.out), 0);
}

static void
test_crash_before_flush_shows_nothing(void **state)
{
	struct fixture *fx = *state;

	stage_message(fx, 5);
	assert_int_equal(spool_commit(&fx->sp, &fx->b), 0);
	restart(fx, 4);
	assert_false(shown(fx, 5));
	assert_int_equal(hidden_count(fx->sp.out), 0);
}

static void
test_file_taken_by_the_agency_does_not_come_back(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX + 128];

	stage_message(fx, 1);
	stage_message(fx, 2);
	assert_int_equal(spool_commit(&fx->sp, &fx->b), 0);
	assert_int_equal(spool_show(&fx->sp, &fx->b), 0);
	out_path(fx, 1, path, sizeof(path));
	assert_int_equal(unlink(path), 0);	/* the agency consumed it */
	restart(fx, 2);
	assert_false(shown(fx, 1));
	assert_true(shown(fx, 2));
}

static void
test_hidden_file_that_vanished_is_written_again(void **state)
{
	struct fixture *fx = *state;

	char path[PATH_MAX + 128], *text;
	size_t len;

	stage_message(fx, 9);
	assert_int_equal(spool_commit(&fx->sp, &fx->b), 0);
	assert_int_equal(unlink(fx->b.steps[0].from), 0);
	assert_int_equal(spool_show(&fx->sp, &fx->b), 0);
	assert_true(shown(fx, 9));
	out_path(fx, 9, path, sizeof(path));
	assert_int_equal(file_read_all(path, 1024, &text, &len), 0);
	assert_string_equal(text, "{\"seq\": 9}");	/* whole, from the batch's copy */
	free(text);
	assert_int_equal(hidden_count(fx->sp.out), 0);
}

/* What spool_finish does with each hidden name it may find in out/. */
static void
test_finish_keeps_foreign_names_and_drops_unknown_temporaries(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char	*name;
		const char	*after;	/* the name it has after the start, NULL: removed */
	} cases[] = {
		{ ".00000000000000000009-clue-ab.json.tmp77", "00000000000000000009-clue-ab.json" },
		{ ".00000000000000000011-clue-ab.json.tmp77", NULL },	/* above the watermark */
		{ ".99999999999999999999-clue-x.json.tmp1", NULL },	/* not a uint64 */
		{ ".0000000009-clue-ab.json.tmp1", NULL },		/* not 20 digits */
		{ ".garbage.tmp123", NULL },
		{ ".agency-notes", ".agency-notes" },			/* not ours */
		{ ".half.tmp", ".half.tmp" },				/* no pid: not ours */
		{ ".x.tmp12a", ".x.tmp12a" },
	};
	char path[PATH_MAX + 128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->sp.out, cases[i].name);
		assert_int_equal(file_write_atomic(path, "{}", 2, 0640), 0);
	}
	restart(fx, 10);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		snprintf(path, sizeof(path), "%s/%s", fx->sp.out, cases[i].name);
		if (cases[i].after == NULL || strcmp(cases[i].after, cases[i].name) != 0)
			assert_int_not_equal(access(path, F_OK), 0);
		if (cases[i].after != NULL) {
			snprintf(path, sizeof(path), "%s/%s", fx->sp.out, cases[i].after);
			assert_int_equal(access(path, F_OK), 0);
		}
	}
}

static void
test_publish_outcome_is_shown_by_the_commit(void **state)
{
	struct fixture *fx = *state;
	char pending[PATH_MAX + 16], sent[PATH_MAX + 16], receipt[PATH_MAX + 32];
	cb_event_t ev;

	snprintf(pending, sizeof(pending), "%s/doc.json", fx->sp.pending);
	snprintf(sent, sizeof(sent), "%s/doc.json", fx->sp.sent);
	snprintf(receipt, sizeof(receipt), "%s/doc.json.receipt.json", fx->sp.sent);
	assert_int_equal(file_write_atomic(pending, "{}", 2, 0640), 0);
	memset(&ev, 0, sizeof(ev));
	ev.type = CB_EVENT_ACCEPTED;
	snprintf(ev.tag, sizeof(ev.tag), "doc.json");
	snprintf(ev.message_id, sizeof(ev.message_id), "%032x", 7);
	snprintf(ev.entry_hash, sizeof(ev.entry_hash), "%064x", 7);
	ev.seq = 7;
	assert_int_equal(spool_stage(&fx->sp, &fx->b, &ev), 0);
	stage_message(fx, 3);
	assert_int_equal(spool_commit(&fx->sp, &fx->b), 0);
	/* Before any flush: the outcome is shown, the inbound message is not. */
	assert_int_equal(access(pending, F_OK), -1);
	assert_int_equal(access(sent, F_OK), 0);
	assert_int_equal(access(receipt, F_OK), 0);
	assert_int_equal(fx->b.nsteps, 1);
	assert_false(shown(fx, 3));
	assert_int_equal(spool_show(&fx->sp, &fx->b), 0);
	assert_true(shown(fx, 3));
}

/* The error file rejected/NAME.error.json as JSON; fails the test if it is missing. */
static json_t *
refusal_of(struct fixture *fx, const char *name)
{
	char path[PATH_MAX + 64];
	json_error_t jerr;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s.error.json", fx->sp.rejected, name);
	doc = json_load_file(path, 0, &jerr);
	if (doc == NULL)
		fail_msg("no error file %s: %s", path, jerr.text);
	assert_string_equal(json_string_value(json_object_get(doc, "error")), "refused_entry");
	return doc;
}

static int
dir_entries(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
test_entries_that_are_not_regular_files_go_to_rejected_with_a_reason(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX + 32], target[PATH_MAX];
	struct stat st;
	json_t *doc;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/passwd.json", fx->sp.in);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/pipe.json", fx->sp.in);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/sub", fx->sp.in);
	assert_int_equal(mkdir(path, 0700), 0);
	/* Only refusals: the client is never reached. */
	assert_int_equal(spool_scan(&fx->sp, NULL), 3);
	assert_int_equal(dir_entries(fx->sp.in), 0);

	/* The link itself was moved, not what it points to. */
	snprintf(path, sizeof(path), "%s/passwd.json", fx->sp.rejected);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(path, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/etc/passwd");
	doc = refusal_of(fx, "passwd.json");
	assert_string_equal(json_string_value(json_object_get(doc, "field")), "(file type)");
	assert_non_null(strstr(json_string_value(json_object_get(doc, "reason")),
	    "symbolic link"));
	json_decref(doc);

	doc = refusal_of(fx, "pipe.json");
	assert_non_null(strstr(json_string_value(json_object_get(doc, "reason")), "FIFO"));
	json_decref(doc);
	doc = refusal_of(fx, "sub");
	assert_non_null(strstr(json_string_value(json_object_get(doc, "reason")),
	    "directory"));
	json_decref(doc);
}

static void
test_names_ending_like_side_files_are_refused_and_kept_apart(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX + 64];
	json_t *doc;

	snprintf(path, sizeof(path), "%s/X.json.receipt.json", fx->sp.in);
	assert_int_equal(file_write_atomic(path, "{\"a\":1}", 7, 0640), 0);
	snprintf(path, sizeof(path), "%s/Y.json.error.json", fx->sp.in);
	assert_int_equal(file_write_atomic(path, "{\"b\":2}", 7, 0640), 0);
	assert_int_equal(spool_scan(&fx->sp, NULL), 2);

	/* Kept under names no side file can have, their bytes whole. */
	doc = refusal_of(fx, "X.json.receipt.json.refused");
	assert_string_equal(json_string_value(json_object_get(doc, "file")),
	    "X.json.receipt.json");
	assert_string_equal(json_string_value(json_object_get(doc, "field")), "(file name)");
	json_decref(doc);
	doc = refusal_of(fx, "Y.json.error.json.refused");
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/Y.json.error.json.refused", fx->sp.rejected);
	doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "b")), 2);
	json_decref(doc);
	/* Y.json's own error file would be rejected/Y.json.error.json: still free. */
	snprintf(path, sizeof(path), "%s/Y.json.error.json", fx->sp.rejected);
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_unsafe_names_are_refused_under_a_safe_name(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX + 256], longname[221];
	json_t *doc;

	snprintf(path, sizeof(path), "%s/evil\nWARN forged.json", fx->sp.in);
	assert_int_equal(file_write_atomic(path, "{}", 2, 0640), 0);
	snprintf(path, sizeof(path), "%s/latin1-\xe9.json", fx->sp.in);
	assert_int_equal(file_write_atomic(path, "{}", 2, 0640), 0);
	memset(longname, 'a', 220);
	longname[220] = '\0';
	snprintf(path, sizeof(path), "%s/%s", fx->sp.in, longname);
	assert_int_equal(file_write_atomic(path, "{}", 2, 0640), 0);
	assert_int_equal(spool_scan(&fx->sp, NULL), 3);
	assert_int_equal(dir_entries(fx->sp.in), 0);

	doc = refusal_of(fx, "evil_WARN forged.json");
	assert_string_equal(json_string_value(json_object_get(doc, "file")),
	    "evil\nWARN forged.json");
	assert_non_null(strstr(json_string_value(json_object_get(doc, "reason")), "0x0a"));
	json_decref(doc);
	doc = refusal_of(fx, "latin1-_.json");
	assert_non_null(strstr(json_string_value(json_object_get(doc, "reason")), "UTF-8"));
	/* The original name, shown escaped: the error file stays valid JSON. */
	assert_string_equal(json_string_value(json_object_get(doc, "file")),
	    "latin1-\\xe9.json");
	json_decref(doc);
	assert_int_equal(dir_entries(fx->sp.rejected), 6);
}

static void
test_a_long_utf8_name_is_cut_at_a_character_boundary(void **state)
{
	struct fixture *fx = *state;
	char name[256], cut[256], path[PATH_MAX + 256];
	size_t n = 0;
	json_t *doc;

	/* "a" and 80 three-byte characters: 241 bytes; the safe name keeps at most 159, and
	 * byte 159 is inside the 53rd character. */
	name[n++] = 'a';
	for (int i = 0; i < 80; i++, n += 3)
		memcpy(name + n, "\xe9\x93\x81", 3);	/* 铁 */
	name[n] = '\0';
	memcpy(cut, name, 1 + 52 * 3);
	cut[1 + 52 * 3] = '\0';
	snprintf(path, sizeof(path), "%s/%s", fx->sp.in, name);
	assert_int_equal(file_write_atomic(path, "{}", 2, 0640), 0);
	assert_int_equal(spool_scan(&fx->sp, NULL), 1);
	doc = refusal_of(fx, cut);
	assert_string_equal(json_string_value(json_object_get(doc, "file")), name);
	json_decref(doc);
}

static void
test_spool_open_refuses_a_writable_in_directory(void **state)
{
	struct fixture *fx = *state;
	struct spool again;

	assert_int_equal(chmod(fx->sp.in, 0770), 0);
	assert_int_equal(spool_open(&again, fx->root), CB_EPERM);
	assert_int_equal(chmod(fx->sp.in, 0703), 0);
	assert_int_equal(spool_open(&again, fx->root), CB_EPERM);
	assert_int_equal(chmod(fx->sp.in, 0750), 0);
	assert_int_equal(chmod(fx->root, 0777), 0);
	assert_int_equal(spool_open(&again, fx->root), CB_EPERM);
	assert_int_equal(chmod(fx->root, 0700), 0);
	assert_int_equal(spool_open(&again, fx->root), 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_inbound_files_stay_hidden_until_shown),
		T(test_crash_between_flush_and_show_is_completed_at_start),
		T(test_crash_before_flush_shows_nothing),
		T(test_file_taken_by_the_agency_does_not_come_back),
		T(test_hidden_file_that_vanished_is_written_again),
		T(test_finish_keeps_foreign_names_and_drops_unknown_temporaries),
		T(test_publish_outcome_is_shown_by_the_commit),
		T(test_entries_that_are_not_regular_files_go_to_rejected_with_a_reason),
		T(test_names_ending_like_side_files_are_refused_and_kept_apart),
		T(test_unsafe_names_are_refused_under_a_safe_name),
		T(test_a_long_utf8_name_is_cut_at_a_character_boundary),
		T(test_spool_open_refuses_a_writable_in_directory),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
