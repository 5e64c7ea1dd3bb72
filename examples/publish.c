/* examples/publish.c — publish one JSON document through the cluebus client library.
 *
 * Shows an agency system linking the library instead of using the spool directory:
 *
 *   example-publish -c AGENT.conf FILE.json
 *
 * reads the agent config for the unit, key, broker and a state directory, publishes the
 * file (durably stored before the call returns), then waits for the broker's answer and
 * prints "accepted MSGID seq N" or "rejected MSGID CODE: reason". It connects publish-only,
 * so the unit's own agent may keep running and keeps receiving the unit's messages. Exit: 0
 * accepted, 1 rejected or error, 2 usage.
 *
 * It uses only the installed public headers and links only libcluebus:
 *
 *   cc publish.c $(pkg-config --cflags --libs cluebus) -o publish */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cluebus/client.h>

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size <= (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)size, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	cb_client_options_t opt;
	const cb_event_t *ev;
	cb_client_config_t *cfg;
	cb_client_t *c;
	cb_error_t err;
	char errbuf[512], id[CB_MESSAGE_ID_HEX_SIZE], state[PATH_MAX + 16];
	size_t len;
	char *doc;
	int rc, status = 1;

	if (argc != 4 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: example-publish -c AGENT.conf FILE.json\n");
		return 2;
	}
	if ((rc = cb_client_config_load(argv[2], &cfg, errbuf, sizeof(errbuf))) != 0) {
		fprintf(stderr, "%s\n", rc == CB_ECONFIG ? errbuf : cb_strerror(rc));
		return 1;
	}
	if ((doc = read_file(argv[3], &len)) == NULL) {
		perror(argv[3]);
		cb_client_config_free(cfg);
		return 1;
	}
	/* A client store of its own: one store per running client. */
	opt = *cb_client_config_options(cfg);
	snprintf(state, sizeof(state), "%s-example", opt.state_dir);
	opt.state_dir = state;
	opt.publish_only = 1;	/* the unit's agent keeps receiving its messages */
	if ((rc = cb_client_open(&opt, &c)) != 0) {
		fprintf(stderr, "cannot open the client: %s\n", cb_strerror(rc));
		cb_client_config_free(cfg);
		free(doc);
		return 1;
	}
	if ((rc = cb_client_publish_json(c, doc, len, argv[3], id, &err)) != 0) {
		fprintf(stderr, "refused: %s: %s\n", err.field, err.reason);
		goto out;
	}
	for (int waited = 0; waited < 60000 && status != 0; waited += 100) {
		int finished = 0;

		if ((rc = cb_client_next(c, 100, &ev)) == CB_ETIMEOUT)
			continue;
		if (rc != 0)
			break;
		if (strcmp(ev->message_id, id) == 0) {
			if (ev->type == CB_EVENT_ACCEPTED)
				printf("accepted %s seq %llu\n", id, (unsigned long long)ev->seq);
			else
				printf("rejected %s %s: %s\n", id, ev->reject_name, ev->reason);
			status = ev->type == CB_EVENT_ACCEPTED ? 0 : 1;
			finished = 1;
		}
		if (cb_client_done(c, ev) != 0 || finished)
			break;
	}
out:
	cb_client_close(c);
	cb_client_config_free(cfg);
	free(doc);
	return status;
}
