/* tests/unit/test_log.c — where the library's log lines go (cluebus/log.h).
 *
 * An embedding program that sets a handler receives every line the library writes, at the
 * level it chose, and nothing of it reaches stderr; without a handler the lines go to
 * stderr. Control characters in a line are escaped. The library's lines are provoked through the public API: cb_client_open() with
 * a registry file that does not parse logs why. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluebus/client.h"
#include "cluebus/log.h"
#include "keys.h"
#include "log.h"

struct capture {
	int		count;
	cb_log_level_t	level;
	char		text[1024];
};

struct fixture {
	char		dir[64];
	char		key[128];
	char		registry[128];
	char		errfile[128];
	int		saved_stderr;	/* while stderr goes to errfile */
	struct capture	cap;
};

static void
capture_line(void *arg, cb_log_level_t level, const char *text)
{
	struct capture *cap = arg;

	cap->count++;
	cap->level = level;
	snprintf(cap->text, sizeof(cap->text), "%s", text);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	cb_key_t *k = NULL;
	FILE *fp;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cb-test-log.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->key, sizeof(f->key), "%s/unit.key", f->dir);
	snprintf(f->registry, sizeof(f->registry), "%s/registry.json", f->dir);
	snprintf(f->errfile, sizeof(f->errfile), "%s/stderr", f->dir);
	if (key_generate(&k) != 0 || key_save_private(k, f->key) != 0)
		return -1;
	key_free(k);
	if ((fp = fopen(f->registry, "w")) == NULL)
		return -1;
	fputs("this is not a registry", fp);
	fclose(fp);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[160];

	cb_log_set_handler(NULL, NULL);
	cb_log_set_level(CB_LOG_INFO);
	unlink(f->key);
	snprintf(path, sizeof(path), "%s.pub", f->key);
	unlink(path);
	unlink(f->registry);
	unlink(f->errfile);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Sends stderr to the fixture's file, to see what the library writes there. */
static void
stderr_to_file(struct fixture *f)
{
	int fd;

	fflush(stderr);
	assert_true((f->saved_stderr = dup(STDERR_FILENO)) >= 0);
	assert_true((fd = open(f->errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* Restores stderr (before any assertion, so that cmocka's reports are seen) and returns
 * how many bytes reached the file. */
static long
stderr_restore(struct fixture *f)
{
	struct stat st;

	fflush(stderr);
	dup2(f->saved_stderr, STDERR_FILENO);
	close(f->saved_stderr);
	return stat(f->errfile, &st) == 0 ? (long)st.st_size : -1;
}

/* cb_client_open() with the fixture's unparsable registry file: it fails and logs why. */
static void
open_with_bad_registry(const struct fixture *f)
{
	cb_client_options_t opt;
	cb_client_t *c = NULL;
	char state[160];

	snprintf(state, sizeof(state), "%s/state", f->dir);
	memset(&opt, 0, sizeof(opt));
	opt.unit = "health";
	opt.key_path = f->key;
	opt.transport_key_path = f->key;
	opt.broker = "ipc:///nonexistent";
	opt.state_dir = state;
	opt.registry_path = f->registry;
	assert_int_not_equal(cb_client_open(&opt, &c), 0);
	assert_null(c);
}

static void
a_handler_receives_the_library_lines_and_stderr_none(void **state)
{
	struct fixture *f = *state;

	long written;

	cb_log_set_handler(capture_line, &f->cap);
	stderr_to_file(f);
	open_with_bad_registry(f);
	written = stderr_restore(f);
	assert_true(f->cap.count >= 1);
	assert_int_equal(f->cap.level, CB_LOG_WARN);
	assert_non_null(strstr(f->cap.text, f->registry));
	assert_null(strchr(f->cap.text, '\n'));
	assert_int_equal(written, 0);
}

static void
without_a_handler_the_lines_go_to_stderr(void **state)
{
	struct fixture *f = *state;
	char buf[2048] = "";
	FILE *fp;
	long written;

	cb_log_set_handler(capture_line, &f->cap);
	cb_log_set_handler(NULL, NULL);
	stderr_to_file(f);
	open_with_bad_registry(f);
	written = stderr_restore(f);
	assert_int_equal(f->cap.count, 0);
	assert_true(written > 0);
	assert_non_null(fp = fopen(f->errfile, "r"));
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_non_null(strstr(buf, " WARN "));
	assert_non_null(strstr(buf, f->registry));
}

static void
lines_below_the_level_set_reach_no_handler(void **state)
{
	struct fixture *f = *state;

	cb_log_set_handler(capture_line, &f->cap);
	cb_log_set_level(CB_LOG_WARN);
	log_info("an info line for unit %s", "health");
	log_debug("a debug line");
	assert_int_equal(f->cap.count, 0);
	log_warnx("a warning for unit %s", "health");
	assert_int_equal(f->cap.count, 1);
	assert_string_equal(f->cap.text, "a warning for unit health");
	cb_log_set_level(CB_LOG_DEBUG);
	log_debug("a debug line");
	assert_int_equal(f->cap.count, 2);
	assert_int_equal(f->cap.level, CB_LOG_DEBUG);
}

static void
a_warning_with_errno_ends_with_its_text(void **state)
{
	struct fixture *f = *state;
	char want[256];

	cb_log_set_handler(capture_line, &f->cap);
	errno = ENOENT;
	log_warn("open %s", "spool/in");
	snprintf(want, sizeof(want), "open spool/in: %s", strerror(ENOENT));
	assert_string_equal(f->cap.text, want);
	assert_int_equal(errno, ENOENT);
}

static void
control_characters_from_outside_cannot_split_a_line_and_utf8_passes(void **state)
{
	struct fixture *f = *state;

	cb_log_set_handler(capture_line, &f->cap);
	log_warnx("spool: %s refused", "evil\nWARN forged\r\x1b[2J.json 铁东区");
	assert_string_equal(f->cap.text,
	    "spool: evil\\x0aWARN forged\\x0d\\x1b[2J.json 铁东区 refused");
	assert_null(strchr(f->cap.text, '\n'));
}

static int
file_contains(const char *path, const char *text)
{
	char buf[4096];
	size_t n;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

static void
after_a_rotation_reopening_writes_to_a_new_file_at_the_path(void **state)
{
	struct fixture *f = *state;
	char path[160], moved[160];
	int saved = dup(STDERR_FILENO);

	assert_true(saved >= 0);
	cb_log_set_handler(NULL, NULL);
	cb_log_set_level(CB_LOG_INFO);
	snprintf(path, sizeof(path), "%s/broker.log", f->dir);
	snprintf(moved, sizeof(moved), "%s/broker.log.1", f->dir);
	assert_null(log_file_path());
	assert_int_equal(log_reopen(), 0);	/* no file: nothing to do */
	assert_int_equal(log_open_file(path), 0);
	assert_string_equal(log_file_path(), path);
	log_info("before the rotation");
	assert_int_equal(rename(path, moved), 0);
	log_info("moved, not reopened yet");
	assert_int_equal(log_reopen(), 0);
	log_info("after the rotation");
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	assert_true(file_contains(moved, "before the rotation"));
	assert_true(file_contains(moved, "moved, not reopened yet"));
	assert_false(file_contains(moved, "after the rotation"));
	assert_true(file_contains(path, "INFO"));
	assert_true(file_contains(path, "after the rotation"));
	unlink(path);
	unlink(moved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_handler_receives_the_library_lines_and_stderr_none,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(without_a_handler_the_lines_go_to_stderr, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(lines_below_the_level_set_reach_no_handler, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(a_warning_with_errno_ends_with_its_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    control_characters_from_outside_cannot_split_a_line_and_utf8_passes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    after_a_rotation_reopening_writes_to_a_new_file_at_the_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
