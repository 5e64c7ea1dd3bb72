/* examples/receive.c — receive the messages routed to a unit and acknowledge each.
 *
 * Shows an agency system taking its unit's messages from the cluebus client library instead
 * of the agent's out/ directory:
 *
 *   example-receive -c AGENT.conf [-n COUNT] [-t SECONDS]
 *
 * reads the agent config for the unit, key, broker and a state directory, connects as the
 * unit's receiving client (the unit's own agent must not run meanwhile: the broker delivers
 * to one receiving connection per unit) and, for each message, prints
 * "message SEQ KIND MSGID from SENDER" and only then acknowledges it (cb_client_done): a
 * message is acknowledged after the application has what it needs, never before. Stops
 * after COUNT messages (default 1) or when SECONDS (default 60) pass without reaching it.
 * Exit: 0 when COUNT messages were received, 1 on timeout or error, 2 usage.
 *
 * It uses only the installed public headers and links only libcluebus:
 *
 *   cc receive.c $(pkg-config --cflags --libs cluebus) -o receive */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cluebus/client.h>
#include <cluebus/log.h>

/* The library's log lines, in this program's own format (an agency system would send them
 * to its own log). */
static void
on_library_log(void *arg, cb_log_level_t level, const char *text)
{
	(void)arg;
	fprintf(stderr, "example-receive: cluebus%s: %s\n", level <= CB_LOG_WARN ? " warning" : "",
	    text);
}

static int
usage(void)
{
	fprintf(stderr, "usage: example-receive -c AGENT.conf [-n COUNT] [-t SECONDS]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	cb_client_options_t opt;
	const cb_event_t *ev;
	cb_client_config_t *cfg;
	cb_client_t *c;
	const char *conf = NULL;
	char errbuf[512], state[PATH_MAX + 16];
	long count = 1, seconds = 60, received = 0;
	int ch, is_message, rc;

	while ((ch = getopt(argc, argv, "c:n:t:")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 't': seconds = strtol(optarg, NULL, 10); break;
		default: return usage();
		}
	}
	if (conf == NULL || optind != argc || count < 1 || seconds < 1)
		return usage();
	cb_log_set_handler(on_library_log, NULL);
	if ((rc = cb_client_config_load(conf, &cfg, errbuf, sizeof(errbuf))) != 0) {
		fprintf(stderr, "%s\n", rc == CB_ECONFIG ? errbuf : cb_strerror(rc));
		return 1;
	}
	/* A client store of its own, beside the agent's. */
	opt = *cb_client_config_options(cfg);
	snprintf(state, sizeof(state), "%s-receive", opt.state_dir);
	opt.state_dir = state;
	if ((rc = cb_client_open(&opt, &c)) != 0) {
		fprintf(stderr, "cannot open the client: %s\n", cb_strerror(rc));
		cb_client_config_free(cfg);
		return 1;
	}
	for (long waited_ms = 0; received < count && waited_ms < seconds * 1000;) {
		if ((rc = cb_client_next(c, 100, &ev)) == CB_ETIMEOUT) {
			waited_ms += 100;
			continue;
		}
		if (rc != 0) {
			fprintf(stderr, "receive: %s\n", cb_strerror(rc));
			break;
		}
		is_message = ev->type == CB_EVENT_MESSAGE;
		if (is_message) {
			printf("message %llu %s %s from %s\n", (unsigned long long)ev->seq, ev->kind,
			    ev->message_id, ev->sender);
			/* What the application keeps must be durable before the ack. */
			if (fflush(stdout) != 0)
				break;
		}
		if ((rc = cb_client_done(c, ev)) != 0) {
			fprintf(stderr, "ack: %s\n", cb_strerror(rc));
			break;
		}
		if (is_message)	/* ev is invalid after cb_client_done() */
			received++;
	}
	cb_client_close(c);
	cb_client_config_free(cfg);
	return received == count ? 0 : 1;
}
