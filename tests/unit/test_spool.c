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
#include <unistd.h>

#include <cmocka.h>

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
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
