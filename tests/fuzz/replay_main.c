/* tests/fuzz/replay_main.c — runs any libFuzzer target over files, without libFuzzer.
 *
 * `make test` links every tests/fuzz/fuzz_<decoder>.c with this main() and replays the
 * committed corpus under ASan and UBSan (SQLite's test/fuzzcheck.c idea), so an input that
 * crashed once stays fixed. Arguments are files or directories; a directory is read one
 * level deep, in name order, skipping names that start with '.'. Each input is copied into
 * a buffer of exactly its size, so a read past the end trips ASan as it would under
 * libFuzzer. Exits 1 when an argument is missing or unreadable, or a directory holds no
 * input; 2 on bad usage. With -v, names each input on stderr before running it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT	(64 * 1024 * 1024)	/* bytes; corpus files are far smaller */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static int	verbose;

/* Reads `path` and runs the target on it. Returns 0, or -1 after saying why. */
static int
replay_file(const char *path, size_t *count)
{
	FILE	*f;
	uint8_t	*buf = NULL, *exact = NULL, *bigger;
	size_t	 len = 0, cap = 0, got;
	int	 rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap == 0 ? 4096 : 2 * cap;
			if (cap > REPLAY_MAX_INPUT) {
				fprintf(stderr, "replay: %s: larger than %d bytes\n", path,
				    REPLAY_MAX_INPUT);
				goto out;
			}
			if ((bigger = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				goto out;
			}
			buf = bigger;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	if ((exact = malloc(len > 0 ? len : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	if (len > 0)
		memcpy(exact, buf, len);
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(exact, len);
	(*count)++;
	rc = 0;
out:
	free(exact);
	free(buf);
	fclose(f);
	return rc;
}

static int
skip_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Replays every regular file in `dir`. Returns 0, or -1 (also when there was none). */
static int
replay_dir(const char *dir, size_t *count)
{
	struct dirent	**names = NULL;
	struct stat	  st;
	size_t		  before = *count;
	char		 *path = NULL;
	int		  n, rc = 0;

	if ((n = scandir(dir, &names, skip_hidden, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;

		if (rc == 0 && (path = malloc(len)) == NULL)
			rc = -1;
		if (rc == 0) {
			snprintf(path, len, "%s/%s", dir, names[i]->d_name);
			if (stat(path, &st) != 0) {
				fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
				rc = -1;
			} else if (S_ISREG(st.st_mode)) {
				rc = replay_file(path, count);
			}
		}
		free(path);
		path = NULL;
		free(names[i]);
	}
	free(names);
	if (rc == 0 && *count == before) {
		fprintf(stderr, "replay: %s: no inputs\n", dir);
		rc = -1;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat	st;
	size_t		count = 0;
	int		first = 1;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: %s [-v] corpus-dir-or-file ...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = first; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) != 0 :
		    replay_file(argv[i], &count) != 0)
			return 1;
	}
	printf("%zu inputs replayed\n", count);
	return 0;
}
