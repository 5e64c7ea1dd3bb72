/* tests/unit/test_metrics.c — what broker/metrics.c and broker/page.c make of a snapshot.
 *
 * Both are pure functions of status_snapshot's JSON, so they are tested on a snapshot
 * written here: the Prometheus text has one HELP and TYPE per family, cumulative
 * histogram buckets ending in +Inf equal to the count, and escaped label values; the page
 * shows an offline unit as 离线 with its name, escapes what comes from the registry and the
 * log, loads nothing from outside, and says why new messages are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker.h"

static const char snapshot[] =
    "{\"status\": {\"started_at\": \"2026-12-04T08:00:00.000Z\", \"uptime_s\": 3600,"
    " \"log_head_seq\": 1234, \"log_head_hash\": \"ab\", \"units_online\": 1,"
    " \"units_registered\": 2, \"accepting\": false,"
    " \"unavailable_reason\": \"log at its size ceiling <test>\","
    " \"map\": {\"size_bytes\": 2097152, \"max_bytes\": 2097152, \"used_bytes\": 1048576},"
    " \"log_size_bytes\": 1048576, \"disk\": {\"free_bytes\": 5000000},"
    " \"counters\": {\"accepted\": 7, \"duplicates\": 1, \"rejected\": 2, \"delivered\": 14,"
    "  \"acked\": 13, \"commits\": 3, \"refused_keys\": 0,"
    "  \"accepted_by_kind\": {\"clue\": 6, \"referral\": 1},"
    "  \"rejected_by_code\": {\"bad_signature\": 2}}},"
    " \"units\": [{\"unit\": \"psb\", \"name\": \"市公安局\", \"online\": false,"
    "   \"last_seen\": \"2026-12-04T08:59:00.000Z\", \"last_seen_ago_s\": 60},"
    "  {\"unit\": \"health\", \"name\": \"市卫生健康委<b>\", \"online\": true,"
    "   \"last_seen\": \"2026-12-04T09:00:00.000Z\", \"last_seen_ago_s\": 0}],"
    " \"backlog\": [{\"unit\": \"psb\", \"depth\": 5, \"oldest_age_s\": 60},"
    "  {\"unit\": \"health\", \"depth\": 0, \"oldest_age_s\": null}],"
    " \"overdue\": [{\"referral_id\": \"0b\", \"case_ref\": \"AS-\\\"7\\\"&\", \"unit\": \"psb\","
    "   \"name\": \"市公安局\", \"duty\": \"receipt\", \"due\": \"2026-12-04T08:00:00.000Z\","
    "   \"overdue_s\": 3600}],"
    " \"commit_seconds\": {\"le\": [0.001, 0.01], \"cumulative\": [1, 2, 3], \"sum\": 0.02,"
    "  \"count\": 3},"
    " \"batch_size\": {\"le\": [1, 2], \"cumulative\": [1, 1, 3], \"sum\": 7, \"count\": 3},"
    " \"accepted_per_minute\": [0, 0, 3, 4]}";

/* Renders `snap` with `fn` into a new string. */
static char *
render(void (*fn)(const json_t *, FILE *))
{
	json_error_t err;
	json_t *snap = json_loads(snapshot, 0, &err);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (snap == NULL)
		fail_msg("snapshot: %s", err.text);
	assert_non_null(f = open_memstream(&text, &len));
	fn(snap, f);
	assert_int_equal(fclose(f), 0);
	json_decref(snap);
	return text;
}

static size_t
count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
the_metrics_text_has_each_family_once_with_its_samples(void **state)
{
	char *t = render(metrics_render);

	(void)state;
	assert_int_equal(count(t, "# TYPE cluebus_messages_accepted_total counter\n"), 1);
	assert_int_equal(count(t, "# HELP cluebus_messages_accepted_total "), 1);
	assert_non_null(strstr(t, "\ncluebus_messages_accepted_total{kind=\"clue\"} 6\n"));
	assert_non_null(strstr(t, "\ncluebus_messages_rejected_total{reason=\"bad_signature\"} 2\n"));
	assert_non_null(strstr(t, "\ncluebus_backlog_depth{unit=\"psb\"} 5\n"));
	assert_non_null(strstr(t, "\ncluebus_unit_online{unit=\"psb\"} 0\n"));
	assert_non_null(strstr(t, "\ncluebus_unit_online{unit=\"health\"} 1\n"));
	/* a unit without a backlog has no oldest age */
	assert_null(strstr(t, "cluebus_backlog_oldest_age_seconds{unit=\"health\"}"));
	assert_non_null(strstr(t, "\ncluebus_overdue_duties 1\n"));
	assert_non_null(strstr(t, "\ncluebus_accepting 0\n"));
	assert_int_equal(count(t, "# TYPE "), count(t, "# HELP "));
	free(t);
}

static void
a_histogram_is_cumulative_and_ends_in_inf_equal_to_its_count(void **state)
{
	char *t = render(metrics_render);

	(void)state;
	assert_non_null(strstr(t, "cluebus_commit_duration_seconds_bucket{le=\"0.001\"} 1\n"
	    "cluebus_commit_duration_seconds_bucket{le=\"0.01\"} 2\n"
	    "cluebus_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"
	    "cluebus_commit_duration_seconds_sum 0.020000\n"
	    "cluebus_commit_duration_seconds_count 3\n"));
	assert_non_null(strstr(t, "cluebus_commit_batch_size_sum 7.000000\n"));
	free(t);
}

static void
the_page_shows_an_offline_unit_and_escapes_what_it_did_not_write(void **state)
{
	char *t = render(page_render);

	(void)state;
	assert_non_null(strstr(t, "<tr data-unit=\"psb\" class=\"offline waiting\">"));
	assert_non_null(strstr(t, "<td class=\"offline\">离线</td>"));
	assert_non_null(strstr(t, "<td class=\"online\">在线</td>"));
	assert_non_null(strstr(t, "市卫生健康委&lt;b&gt;"));
	assert_null(strstr(t, "市卫生健康委<b>"));
	assert_non_null(strstr(t, "AS-&quot;7&quot;&amp;"));
	assert_non_null(strstr(t, "拒绝新消息（投递照常）：log at its size ceiling &lt;test&gt;"));
	assert_non_null(strstr(t, "序号 1234"));
	assert_int_equal(count(t, "<rect "), 4);	/* one bar per minute given */
	assert_null(strstr(t, "src="));
	assert_null(strstr(t, "href="));
	assert_null(strstr(t, "<script"));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_metrics_text_has_each_family_once_with_its_samples),
		cmocka_unit_test(a_histogram_is_cumulative_and_ends_in_inf_equal_to_its_count),
		cmocka_unit_test(the_page_shows_an_offline_unit_and_escapes_what_it_did_not_write),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
