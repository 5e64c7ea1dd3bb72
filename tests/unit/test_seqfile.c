/* tests/unit/test_seqfile.c — the watermark file: values survive reopening, a torn write
 * falls back to the value before it, and files that are not whole are refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "seqfile.h"
#include "util.h"

struct fixture {
	char	dir[64];
	char	path[96];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cb-seqfile-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/watermark", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void
file_image(const char *path, uint8_t image[SEQFILE_SIZE])
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, image, SEQFILE_SIZE, 0), SEQFILE_SIZE);
	close(fd);
}

static void
file_put(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(file_write_all(fd, data, len), 0);
	close(fd);
}

static uint64_t
reopen_value(const char *path)
{
	seqfile_t *sf;
	uint64_t v;

	assert_int_equal(seqfile_open(path, &sf, &v), 0);
	seqfile_free(sf);
	return v;
}

static void
test_new_file_reads_zero_and_keeps_each_value(void **state)
{
	struct fixture *fx = *state;
	seqfile_t *sf;
	uint64_t v = 99;

	assert_int_equal(seqfile_open(fx->path, &sf, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(reopen_value(fx->path), 0);
	for (uint64_t i = 1; i <= 5; i++) {
		assert_int_equal(seqfile_set(sf, i * 1000), 0);
		assert_int_equal(reopen_value(fx->path), i * 1000);
	}
	seqfile_free(sf);
	/* Reopened, it goes on from the newest slot. */
	assert_int_equal(seqfile_open(fx->path, &sf, &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(seqfile_set(sf, UINT64_MAX), 0);
	seqfile_free(sf);
	assert_int_equal(reopen_value(fx->path), UINT64_MAX);
}

static void
test_update_leaves_the_other_slot_whole(void **state)
{
	struct fixture *fx = *state;
	uint8_t before[SEQFILE_SIZE], after[SEQFILE_SIZE];
	seqfile_t *sf;
	uint64_t v;

	assert_int_equal(seqfile_open(fx->path, &sf, &v), 0);
	assert_int_equal(seqfile_set(sf, 7), 0);
	file_image(fx->path, before);
	assert_int_equal(seqfile_set(sf, 8), 0);
	file_image(fx->path, after);
	seqfile_free(sf);
	/* Exactly one 512-byte half changed, and the value 7 is still whole in the other. */
	assert_true((memcmp(before, after, 512) == 0) !=
	    (memcmp(before + 512, after + 512, 512) == 0));
	assert_int_equal(be64_get(memcmp(before, after, 512) == 0 ? after + 8 : after + 520),
	    7);
}

static void
test_torn_newer_slot_falls_back_to_the_value_before(void **state)
{
	struct fixture *fx = *state;
	uint8_t image[SEQFILE_SIZE];
	seqfile_t *sf;
	uint64_t v;

	assert_int_equal(seqfile_open(fx->path, &sf, &v), 0);
	assert_int_equal(seqfile_set(sf, 41), 0);
	assert_int_equal(seqfile_set(sf, 42), 0);
	seqfile_free(sf);
	file_image(fx->path, image);
	/* Tear the slot that holds 42: its digest no longer matches. */
	for (int i = 0; i < 2; i++)
		if (be64_get(image + i * 512 + 8) == 42)
			image[i * 512 + 8 + 7] ^= 0x55;
	file_put(fx->path, image, sizeof(image));
	assert_int_equal(seqfile_open(fx->path, &sf, &v), 0);
	assert_int_equal(v, 41);
	/* And the next update overwrites the torn slot, not the good one. */
	assert_int_equal(seqfile_set(sf, 43), 0);
	seqfile_free(sf);
	assert_int_equal(reopen_value(fx->path), 43);
}

/* A file that is not whole: each is refused with CB_ECORRUPT, never read as 0. */
static void
test_files_that_are_not_whole_are_refused(void **state)
{
	struct fixture *fx = *state;
	uint8_t good[SEQFILE_SIZE], bad[SEQFILE_SIZE + 1];
	seqfile_t *sf;
	uint64_t v;
	struct {
		const char	*what;
		size_t		 len;
	} cases[] = {
		{ "empty", 0 },
		{ "one byte short", SEQFILE_SIZE - 1 },
		{ "one byte long", SEQFILE_SIZE + 1 },
	};

	assert_int_equal(seqfile_open(fx->path, &sf, &v), 0);
	assert_int_equal(seqfile_set(sf, 5), 0);
	seqfile_free(sf);
	file_image(fx->path, good);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(bad, 0, sizeof(bad));
		memcpy(bad, good, cases[i].len < SEQFILE_SIZE ? cases[i].len : SEQFILE_SIZE);
		file_put(fx->path, bad, cases[i].len);
		print_message("case: %s\n", cases[i].what);
		assert_int_equal(seqfile_open(fx->path, &sf, &v), CB_ECORRUPT);
		assert_null(sf);
	}
	/* Bad magic in both slots. */
	memcpy(bad, good, SEQFILE_SIZE);
	bad[0] = 'x', bad[512] = 'x';
	file_put(fx->path, bad, SEQFILE_SIZE);
	assert_int_equal(seqfile_open(fx->path, &sf, &v), CB_ECORRUPT);
	/* Bad digests in both slots. */
	memcpy(bad, good, SEQFILE_SIZE);
	bad[24] ^= 1, bad[512 + 24] ^= 1;
	file_put(fx->path, bad, SEQFILE_SIZE);
	assert_int_equal(seqfile_open(fx->path, &sf, &v), CB_ECORRUPT);
	/* Both slots whole but each in the other's place (generation parity). */
	memcpy(bad, good + 512, 512);
	memcpy(bad + 512, good, 512);
	file_put(fx->path, bad, SEQFILE_SIZE);
	assert_int_equal(seqfile_open(fx->path, &sf, &v), CB_ECORRUPT);
	/* Zeros. */
	memset(bad, 0, SEQFILE_SIZE);
	file_put(fx->path, bad, SEQFILE_SIZE);
	assert_int_equal(seqfile_open(fx->path, &sf, &v), CB_ECORRUPT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_file_reads_zero_and_keeps_each_value,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_leaves_the_other_slot_whole, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_torn_newer_slot_falls_back_to_the_value_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_that_are_not_whole_are_refused,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
