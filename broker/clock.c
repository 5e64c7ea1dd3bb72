/* broker/clock.c — the broker's notion of time.
 *
 * Log times, key validity and deadlines all read broker_clock_ms(). Deadline tests must run
 * in seconds, never by sleeping, so a test build (compiled with CLUEBUS_TEST_HOOKS, as
 * `make test` does) lets CLUEBUS_TEST_CLOCK_FILE name a file holding an offset in
 * milliseconds that is added to the real clock; the file is re-read every 100 ms so a test
 * can move time forward while the broker runs. A production build refuses to start when
 * the variable is set, so the hook cannot be turned on by accident. The offset may only
 * grow: time never runs backwards in the log. */
#include <stdio.h>
#include <stdlib.h>

#include "broker.h"
#include "log.h"
#include "util.h"

static int64_t	clock_offset_ms;
#ifdef CLUEBUS_TEST_HOOKS
static int64_t	clock_read_at;	/* monotonic time of the last read of the file */
#endif

void
broker_clock_init(void)
{
	const char *path = getenv("CLUEBUS_TEST_CLOCK_FILE");

	if (path == NULL)
		return;
#ifndef CLUEBUS_TEST_HOOKS
	fatalx("CLUEBUS_TEST_CLOCK_FILE is set, but this is a production build: refusing to "
	    "run with a test clock");
#else
	log_warnx("TEST CLOCK: offsets from %s are added to the real time", path);
#endif
}

void
broker_clock_reload(void)
{
#ifdef CLUEBUS_TEST_HOOKS
	clock_read_at = clock_mono_ms() - 1000;
#endif
}

int64_t
broker_clock_ms(void)
{
#ifdef CLUEBUS_TEST_HOOKS
	const char *path = getenv("CLUEBUS_TEST_CLOCK_FILE");
	int64_t mono = clock_mono_ms();

	if (path != NULL && mono - clock_read_at >= 100) {
		FILE *f = fopen(path, "re");
		long long off;

		clock_read_at = mono;
		if (f != NULL) {
			if (fscanf(f, "%lld", &off) == 1 && off > clock_offset_ms)
				clock_offset_ms = off;
			fclose(f);
		}
	}
#endif
	return clock_now_ms() + clock_offset_ms;
}
