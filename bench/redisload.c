/* bench/redisload.c — the Redis peer of `make bench`: durable 1 KiB stream appends.
 *
 *   redisload --port P [--count N] [--window W] [--size BYTES]
 *
 * One client (hiredis) appends N entries of BYTES to a stream with XADD, pipelined with at
 * most W commands awaiting their reply: the same shape as bench/loadgen against the
 * broker. The server is expected to run with `appendonly yes --appendfsync always`, which
 * makes Redis fsync its append-only file before it answers the commands of an event-loop
 * round (a group commit, as the broker's); this program reads the setting back and refuses
 * to measure anything else.
 *
 * Output on stdout: "result label=redis count=N accepted=A seconds=S rate=R"; details on
 * stderr. Exit 0 when every XADD returned an id; 1 otherwise; 2 on a setup error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: redisload --port P [--count N] [--window W] [--size BYTES]\n");
	exit(2);
}

/* Whether CONFIG GET `name` answers `want`. */
static int
config_is(redisContext *c, const char *name, const char *want)
{
	redisReply *r = redisCommand(c, "CONFIG GET %s", name);
	int ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING && strcmp(r->element[1]->str, want) == 0;

	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	size_t count = 20000, window = 1000, size = 1024, sent = 0, answered = 0, ok = 0;
	redisContext *c;
	redisReply *r;
	char *payload;
	double t0, t1;
	int ch, port = 0;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'w': window = strtoul(optarg, NULL, 10); break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc || port <= 0 || port > 65535 || count == 0 || window == 0 ||
	    size == 0 || size > 1024 * 1024)
		usage();
	if ((payload = malloc(size)) == NULL)
		return 2;
	for (size_t i = 0; i < size; i++)
		payload[i] = (char)('a' + i % 26);
	c = redisConnect("127.0.0.1", port);
	if (c == NULL || c->err) {
		fprintf(stderr, "redisload: connect: %s\n", c != NULL ? c->errstr : "no memory");
		return 2;
	}
	if (!config_is(c, "appendonly", "yes") || !config_is(c, "appendfsync", "always")) {
		fprintf(stderr, "redisload: the server must run with appendonly yes and "
		    "appendfsync always\n");
		return 2;
	}
	if ((r = redisCommand(c, "DEL bench")) != NULL)
		freeReplyObject(r);

	t0 = now_s();
	while (answered < count) {
		while (sent < count && sent - answered < window) {
			if (redisAppendCommand(c, "XADD bench * f %b", payload, size) != REDIS_OK) {
				fprintf(stderr, "redisload: append: %s\n", c->errstr);
				return 2;
			}
			sent++;
		}
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			fprintf(stderr, "redisload: reply: %s\n", c->errstr);
			return 1;
		}
		if (r->type == REDIS_REPLY_STRING)
			ok++;
		else if (r->type == REDIS_REPLY_ERROR && answered - ok < 5)
			fprintf(stderr, "redisload: XADD failed: %s\n", r->str);
		freeReplyObject(r);
		answered++;
	}
	t1 = now_s();
	if ((r = redisCommand(c, "XLEN bench")) != NULL) {
		fprintf(stderr, "redisload: stream length %lld\n",
		    r->type == REDIS_REPLY_INTEGER ? r->integer : -1LL);
		freeReplyObject(r);
	}
	fprintf(stderr, "redisload: %zu XADD of %zu bytes, %zu outstanding: %.2f s = %.0f/s\n",
	    ok, size, window, t1 - t0, (double)ok / (t1 - t0));
	printf("result label=redis count=%zu accepted=%zu seconds=%.3f rate=%.1f\n", count, ok,
	    t1 - t0, (double)ok / (t1 - t0));
	redisFree(c);
	free(payload);
	return ok == count ? 0 : 1;
}
