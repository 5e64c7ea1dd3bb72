/* tests/unit/test_client_batch.c — batched completion in the client library: release, flush.
 *
 * A fake broker (a CURVE ROUTER on an ipc:// endpoint in a temporary directory) welcomes
 * the client, delivers signed clues with seq 1..N from just above the highest Ack it
 * received (as the real broker does for a new session), answers publishes, and counts the
 * Ack frames. The test drives both sides from one thread: each wait pumps the fake broker,
 * then the client. Checked: released messages are not acknowledged until cb_client_flush,
 * which sends one cumulative Ack; a close without flush makes them surface again; after a
 * flush they never surface again, even when the broker delivers them again; a redelivery
 * of a released message is dropped; cb_client_done flushes earlier releases; released
 * publish outcomes stay in the outbox until the flush. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <zmq.h>

#include "cluebus/client.h"
#include "cluebus/err.h"
#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define MAX_SEQ	16

static const char clue_json[] =
    "{\"kind\": \"clue\", \"priority\": \"urgent\", \"case_ref\": \"t-1\", \"clue\": {"
    "\"category\": \"school\", \"jurisdiction\": \"210303\","
    "\"occurred_at\": \"2026-03-09T16:40:00+08:00\", \"location\": \"school gate\","
    "\"summary\": \"a stranger tried to collect a pupil\","
    "\"handling\": {\"code\": \"h2\"},"
    "\"evaluation\": {\"source_reliability\": \"a\", \"accuracy\": 1}}}";

struct fake_broker {
	void		*zctx, *sock;
	uint8_t		 rid[256];
	size_t		 ridlen;
	int		 have_peer;
	uint64_t	 ndeliver;	/* messages in the "log" for this unit: 1..ndeliver */
	uint64_t	 acked;		/* highest Ack received */
	unsigned	 nacks;		/* Ack frames received */
	unsigned	 nhellos;
	uint64_t	 next_seq;	/* of answers to publishes */
	Cluebus__Envelope *env[MAX_SEQ + 1];
};

struct fixture {
	char		 dir[64];
	char		 endpoint[128];
	char		 key_path[128], curve_path[128], state_dir[128];
	char		 broker_public[TRANSPORT_Z85_LEN + 1];
	struct fake_broker fb;
	cb_client_t	*c;
};

static void
fb_send(struct fake_broker *fb, const Cluebus__Frame *f)
{
	assert_true(fb->have_peer);
	assert_int_equal(wire_send(fb->sock, fb->rid, fb->ridlen, f), 0);
}

/* Delivers seq from..ndeliver. */
static void
fb_deliver_from(struct fake_broker *fb, uint64_t from)
{
	static char *recips[] = { "psb" };
	uint8_t hash[32];

	for (uint64_t seq = from; seq <= fb->ndeliver; seq++) {
		Cluebus__Deliver d = CLUEBUS__DELIVER__INIT;
		Cluebus__Frame f = CLUEBUS__FRAME__INIT;

		memset(hash, (int)seq, sizeof(hash));
		d.seq = seq;
		d.entry_hash.data = hash;
		d.entry_hash.len = sizeof(hash);
		d.logged_ms = clock_now_ms();
		d.envelope = fb->env[seq];
		d.recipients = recips;
		d.n_recipients = 1;
		f.frame_case = CLUEBUS__FRAME__FRAME_DELIVER;
		f.deliver = &d;
		fb_send(fb, &f);
	}
}

static void
fb_on_publish(struct fake_broker *fb, const Cluebus__Publish *p)
{
	Cluebus__Accepted a = CLUEBUS__ACCEPTED__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	uint8_t hash[32];

	memset(hash, 0xee, sizeof(hash));
	a.message_id = p->message_id;
	a.seq = 1000 + fb->next_seq++;
	a.entry_hash.data = hash;
	a.entry_hash.len = sizeof(hash);
	a.time_ms = clock_now_ms();
	f.frame_case = CLUEBUS__FRAME__FRAME_ACCEPTED;
	f.accepted = &a;
	fb_send(fb, &f);
}

/* Handles every frame waiting at the fake broker. */
static void
fb_service(struct fake_broker *fb)
{
	for (;;) {
		uint8_t rid[256];
		Cluebus__Frame *f;
		zmq_msg_t msg;
		int n;

		if ((n = zmq_recv(fb->sock, rid, sizeof(rid), ZMQ_DONTWAIT)) < 0)
			return;
		assert_true(n > 0 && (size_t)n <= sizeof(rid));
		memcpy(fb->rid, rid, (size_t)n);
		fb->ridlen = (size_t)n;
		fb->have_peer = 1;
		zmq_msg_init(&msg);
		assert_true(zmq_msg_recv(&msg, fb->sock, 0) >= 0);
		assert_int_equal(wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &f), 0);
		zmq_msg_close(&msg);
		switch (f->frame_case) {
		case CLUEBUS__FRAME__FRAME_HELLO: {
			Cluebus__Welcome w = CLUEBUS__WELCOME__INIT;
			Cluebus__Frame wf = CLUEBUS__FRAME__INIT;

			fb->nhellos++;
			w.protocol = WIRE_PROTOCOL;
			w.log_head = fb->ndeliver;	/* the "log" ends with what it delivers */
			w.window = 128;
			w.time_ms = clock_now_ms();
			wf.frame_case = CLUEBUS__FRAME__FRAME_WELCOME;
			wf.welcome = &w;
			fb_send(fb, &wf);
			fb_deliver_from(fb, fb->acked + 1);	/* a new session */
			break;
		}
		case CLUEBUS__FRAME__FRAME_ACK:
			fb->nacks++;
			if (f->ack->upto_seq > fb->acked)
				fb->acked = f->ack->upto_seq;
			break;
		case CLUEBUS__FRAME__FRAME_PUBLISH:
			fb_on_publish(fb, f->publish);
			break;
		default:
			break;
		}
		wire_free(f);
	}
}

static int
client_open(struct fixture *fx, cb_client_t **out)
{
	cb_client_options_t opt;

	memset(&opt, 0, sizeof(opt));
	opt.unit = "psb";
	opt.key_path = fx->key_path;
	opt.transport_key_path = fx->curve_path;
	opt.broker_public = fx->broker_public;
	opt.broker = fx->endpoint;
	opt.state_dir = fx->state_dir;
	opt.heartbeat_ms = 1000;
	opt.resend_ms = 200;
	return cb_client_open(&opt, out);
}

/* Pumps both sides until the client has an event, or `ms` passed (CB_ETIMEOUT). */
static int
next_event(struct fixture *fx, int ms, const cb_event_t **ev)
{
	int64_t deadline = clock_mono_ms() + ms;

	for (;;) {
		int rc;

		fb_service(&fx->fb);
		rc = cb_client_next(fx->c, 5, ev);
		if (rc != CB_ETIMEOUT)
			return rc;
		if (clock_mono_ms() >= deadline)
			return CB_ETIMEOUT;
	}
}

/* Pumps both sides for `ms` without taking events. */
static void
settle(struct fixture *fx, int ms)
{
	int64_t deadline = clock_mono_ms() + ms;
	const cb_event_t *ev;

	while (clock_mono_ms() < deadline) {
		int rc;

		fb_service(&fx->fb);
		rc = cb_client_next(fx->c, 5, &ev);
		assert_true(rc == 0 || rc == CB_ETIMEOUT);
	}
	fb_service(&fx->fb);
}

/* Takes the next event, which must be MESSAGE `seq`, and releases it. */
static void
release_expect(struct fixture *fx, uint64_t seq)
{
	const cb_event_t *ev;

	assert_int_equal(next_event(fx, 5000, &ev), 0);
	assert_int_equal(ev->type, CB_EVENT_MESSAGE);
	assert_int_equal(ev->seq, seq);
	assert_int_equal(cb_client_release(fx->c, ev), 0);
}

static void
reopen(struct fixture *fx)
{
	cb_client_close(fx->c);
	fx->c = NULL;
	assert_int_equal(client_open(fx, &fx->c), 0);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	transport_keypair_t bk;
	char path[160];
	cb_key_t *unit_key = NULL, *sender = NULL;
	int one = 1;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cb-client-batch.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->key_path, sizeof(fx->key_path), "%s/psb.key", fx->dir);
	snprintf(fx->curve_path, sizeof(fx->curve_path), "%s/psb.curve", fx->dir);
	snprintf(fx->state_dir, sizeof(fx->state_dir), "%s/state", fx->dir);
	snprintf(fx->endpoint, sizeof(fx->endpoint), "ipc://%s/broker.sock", fx->dir);
	assert_int_equal(key_generate(&unit_key), 0);
	assert_int_equal(key_save_private(unit_key, fx->key_path), 0);
	key_free(unit_key);
	assert_int_equal(transport_keygen(fx->dir, "psb"), 0);
	assert_int_equal(transport_keygen(fx->dir, "broker"), 0);
	snprintf(path, sizeof(path), "%s/broker.curve", fx->dir);
	assert_int_equal(transport_load_secret(path, &bk), 0);
	memcpy(fx->broker_public, bk.public_z85, sizeof(fx->broker_public));

	/* The messages the fake broker delivers, signed by "health". */
	assert_int_equal(key_generate(&sender), 0);
	for (uint64_t seq = 1; seq <= MAX_SEQ; seq++) {
		Cluebus__Message *m;
		cb_error_t err;

		assert_int_equal(intake_from_json(clue_json, strlen(clue_json), &m, &err), 0);
		m->message_id.data = malloc(MESSAGE_ID_LEN);
		assert_non_null(m->message_id.data);
		m->message_id.len = MESSAGE_ID_LEN;
		memset(m->message_id.data, (int)seq, MESSAGE_ID_LEN);
		m->sender = strdup("health");
		m->created_ms = clock_now_ms();
		assert_int_equal(envelope_sign(m, sender, &fx->fb.env[seq]), 0);
		m->key_id.data = NULL;	/* borrowed from the envelope */
		m->key_id.len = 0;
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	key_free(sender);

	fx->fb.zctx = zmq_ctx_new();
	assert_non_null(fx->fb.zctx);
	fx->fb.sock = zmq_socket(fx->fb.zctx, ZMQ_ROUTER);
	assert_non_null(fx->fb.sock);
	assert_int_equal(zmq_setsockopt(fx->fb.sock, ZMQ_CURVE_SERVER, &one, sizeof(one)), 0);
	assert_int_equal(zmq_setsockopt(fx->fb.sock, ZMQ_CURVE_SECRETKEY, bk.secret_z85,
	    TRANSPORT_Z85_LEN), 0);
	OPENSSL_cleanse(&bk, sizeof(bk));
	assert_int_equal(zmq_bind(fx->fb.sock, fx->endpoint), 0);
	assert_int_equal(client_open(fx, &fx->c), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];
	int linger = 0;

	cb_client_close(fx->c);
	zmq_setsockopt(fx->fb.sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_close(fx->fb.sock);
	zmq_ctx_term(fx->fb.zctx);
	for (size_t i = 0; i <= MAX_SEQ; i++)
		envelope_free(fx->fb.env[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void
released_messages_are_acknowledged_only_by_flush_with_one_cumulative_ack(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;

	fx->fb.ndeliver = 5;
	for (uint64_t seq = 1; seq <= 5; seq++)
		release_expect(fx, seq);
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);
	settle(fx, 100);
	assert_int_equal(fx->fb.nacks, 0);
	assert_int_equal(cb_client_flush(fx->c), 0);
	settle(fx, 100);
	assert_int_equal(fx->fb.nacks, 1);
	assert_int_equal(fx->fb.acked, 5);
	/* Nothing more released: a flush stores and sends nothing. */
	assert_int_equal(cb_client_flush(fx->c), 0);
	settle(fx, 100);
	assert_int_equal(fx->fb.nacks, 1);
}

static void
after_a_broker_restored_from_an_older_copy_the_seqs_above_its_head_are_new(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;

	fx->fb.ndeliver = 4;
	for (uint64_t seq = 1; seq <= 4; seq++)
		release_expect(fx, seq);
	assert_int_equal(cb_client_flush(fx->c), 0);
	settle(fx, 100);
	assert_int_equal(cb_client_watermark(fx->c), 4);
	/* The broker comes back on a copy whose log ends at 2: it says so in its Welcome. */
	fx->fb.ndeliver = 2;
	fx->fb.acked = 2;
	reopen(fx);
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);
	assert_int_equal(cb_client_watermark(fx->c), 2);
	/* Its next messages get seqs 3 and 4 again: they surface, they are new. */
	fx->fb.ndeliver = 4;
	fb_deliver_from(&fx->fb, 3);
	release_expect(fx, 3);
	release_expect(fx, 4);
	assert_int_equal(cb_client_flush(fx->c), 0);
	/* Lowered durably: a reopen keeps it, and a broker back at 4 sends nothing again. */
	reopen(fx);
	assert_int_equal(cb_client_watermark(fx->c), 4);
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);
}

static void
released_messages_surface_again_after_a_close_without_flush(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;

	fx->fb.ndeliver = 3;
	for (uint64_t seq = 1; seq <= 3; seq++)
		release_expect(fx, seq);
	reopen(fx);	/* a crash before the flush */
	for (uint64_t seq = 1; seq <= 3; seq++)
		release_expect(fx, seq);
	assert_int_equal(cb_client_flush(fx->c), 0);
	settle(fx, 100);
	assert_int_equal(fx->fb.acked, 3);
	assert_int_equal(fx->fb.nacks, 1);
	assert_int_equal(next_event(fx, 200, &ev), CB_ETIMEOUT);
}

static void
flushed_messages_never_surface_again_even_when_delivered_again(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;
	unsigned hellos;

	fx->fb.ndeliver = 4;
	for (uint64_t seq = 1; seq <= 4; seq++)
		release_expect(fx, seq);
	assert_int_equal(cb_client_flush(fx->c), 0);
	settle(fx, 100);
	assert_int_equal(fx->fb.acked, 4);
	/* The broker lost the ack (say it crashed before logging it): it delivers all four
	 * again to the next session. The client drops them and acknowledges again. */
	fx->fb.acked = 0;
	fx->fb.nacks = 0;
	hellos = fx->fb.nhellos;
	reopen(fx);
	assert_int_equal(next_event(fx, 500, &ev), CB_ETIMEOUT);
	assert_true(fx->fb.nhellos > hellos);
	assert_int_equal(fx->fb.acked, 4);
	/* And on the same session too. */
	fx->fb.ndeliver = 6;
	fb_deliver_from(&fx->fb, 1);
	release_expect(fx, 5);
	release_expect(fx, 6);
	assert_int_equal(cb_client_flush(fx->c), 0);
	settle(fx, 100);
	assert_int_equal(fx->fb.acked, 6);
}

static void
a_redelivery_of_a_released_message_is_not_surfaced_twice(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;

	fx->fb.ndeliver = 3;
	for (uint64_t seq = 1; seq <= 3; seq++)
		release_expect(fx, seq);
	fb_deliver_from(&fx->fb, 1);	/* the broker's redelivery timer */
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);
	assert_int_equal(fx->fb.nacks, 0);	/* and it is not acknowledged either */
	assert_int_equal(cb_client_flush(fx->c), 0);
	settle(fx, 100);
	assert_int_equal(fx->fb.acked, 3);
}

static void
done_after_releases_acknowledges_them_all_in_one_commit(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;

	fx->fb.ndeliver = 3;
	release_expect(fx, 1);
	release_expect(fx, 2);
	assert_int_equal(next_event(fx, 5000, &ev), 0);
	assert_int_equal(ev->seq, 3);
	assert_int_equal(cb_client_done(fx->c, ev), 0);
	settle(fx, 100);
	assert_int_equal(fx->fb.nacks, 1);
	assert_int_equal(fx->fb.acked, 3);
	reopen(fx);
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);
}

static void
release_and_done_refuse_an_event_that_is_not_the_current_one(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev, *first;
	cb_event_t copy;

	fx->fb.ndeliver = 2;
	assert_int_equal(next_event(fx, 5000, &first), 0);
	copy = *first;
	assert_int_equal(cb_client_release(fx->c, &copy), CB_EINVAL);
	assert_int_equal(cb_client_done(fx->c, &copy), CB_EINVAL);
	assert_int_equal(cb_client_release(fx->c, first), 0);
	assert_int_equal(next_event(fx, 5000, &ev), 0);
	assert_int_equal(ev->seq, 2);
	assert_int_equal(cb_client_release(fx->c, ev), 0);
	assert_int_equal(cb_client_release(fx->c, ev), CB_EINVAL);	/* no current event */
	assert_int_equal(cb_client_flush(fx->c), 0);
}

static void
count_pending(void *arg, const char *tag)
{
	(void)tag;
	(*(int *)arg)++;
}

static void
released_publish_outcomes_stay_stored_until_the_flush(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;
	char id[2][CB_MESSAGE_ID_HEX_SIZE];
	cb_error_t err;
	int pending;

	for (int i = 0; i < 2; i++)
		assert_int_equal(cb_client_publish_json(fx->c, clue_json, strlen(clue_json),
		    i == 0 ? "a.json" : "b.json", id[i], &err), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(next_event(fx, 5000, &ev), 0);
		assert_int_equal(ev->type, CB_EVENT_ACCEPTED);
		assert_string_equal(ev->message_id, id[i]);
		assert_int_equal(cb_client_release(fx->c, ev), 0);
	}
	pending = 0;
	assert_int_equal(cb_client_pending(fx->c, count_pending, &pending), 0);
	assert_int_equal(pending, 2);
	reopen(fx);	/* a crash before the flush: both are sent and answered again */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(next_event(fx, 5000, &ev), 0);
		assert_int_equal(ev->type, CB_EVENT_ACCEPTED);
		assert_string_equal(ev->message_id, id[i]);
		assert_int_equal(cb_client_release(fx->c, ev), 0);
	}
	assert_int_equal(cb_client_flush(fx->c), 0);
	pending = 0;
	assert_int_equal(cb_client_pending(fx->c, count_pending, &pending), 0);
	assert_int_equal(pending, 0);
	reopen(fx);
	assert_int_equal(next_event(fx, 500, &ev), CB_ETIMEOUT);
}

/* The watermark is durable in the watermark file (messages alone) or in LMDB (with
 * outcomes): whichever moved it last, a reopen starts from the higher, and nothing at or
 * below it surfaces again. */
static void
the_watermark_survives_a_reopen_from_either_store(void **state)
{
	struct fixture *fx = *state;
	const cb_event_t *ev;
	char path[256], id[CB_MESSAGE_ID_HEX_SIZE];
	cb_error_t err;
	int fd;

	fx->fb.ndeliver = 3;
	for (uint64_t seq = 1; seq <= 3; seq++)
		release_expect(fx, seq);
	assert_int_equal(cb_client_flush(fx->c), 0);	/* messages alone: the file */
	assert_int_equal(cb_client_watermark(fx->c), 3);
	reopen(fx);
	assert_int_equal(cb_client_watermark(fx->c), 3);
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);

	/* A publish outcome and message 4 in one flush: LMDB, with the outbox delete. */
	assert_int_equal(cb_client_publish_json(fx->c, clue_json, strlen(clue_json), "a.json",
	    id, &err), 0);
	assert_int_equal(next_event(fx, 5000, &ev), 0);
	assert_int_equal(ev->type, CB_EVENT_ACCEPTED);
	assert_int_equal(cb_client_release(fx->c, ev), 0);
	fx->fb.ndeliver = 4;
	fb_deliver_from(&fx->fb, 4);
	release_expect(fx, 4);
	assert_int_equal(cb_client_flush(fx->c), 0);
	reopen(fx);
	assert_int_equal(cb_client_watermark(fx->c), 4);
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);

	/* Message 5 alone: the file again, now ahead of LMDB's 4. */
	fx->fb.ndeliver = 5;
	fb_deliver_from(&fx->fb, 5);
	release_expect(fx, 5);
	assert_int_equal(cb_client_flush(fx->c), 0);
	reopen(fx);
	assert_int_equal(cb_client_watermark(fx->c), 5);
	fb_deliver_from(&fx->fb, 1);	/* everything again: all dropped */
	assert_int_equal(next_event(fx, 300, &ev), CB_ETIMEOUT);

	/* A watermark file that is not whole is refused, not read as 0 (which would show
	 * every message again). */
	cb_client_close(fx->c);
	fx->c = NULL;
	snprintf(path, sizeof(path), "%s/watermark", fx->state_dir);
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	close(fd);
	assert_int_equal(client_open(fx, &fx->c), CB_ECORRUPT);
	assert_null(fx->c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    released_messages_are_acknowledged_only_by_flush_with_one_cumulative_ack,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    released_messages_surface_again_after_a_close_without_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    flushed_messages_never_surface_again_even_when_delivered_again, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    a_redelivery_of_a_released_message_is_not_surfaced_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    done_after_releases_acknowledges_them_all_in_one_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    release_and_done_refuse_an_event_that_is_not_the_current_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    released_publish_outcomes_stay_stored_until_the_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    the_watermark_survives_a_reopen_from_either_store, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    after_a_broker_restored_from_an_older_copy_the_seqs_above_its_head_are_new,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
