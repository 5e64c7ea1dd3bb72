/* broker/dirserve.c — the broker serves the signed directory (lib/directory.h).
 *
 * The directory is built from the registry the log made (units, keys with validity, the
 * logged routing text) and the open cases' task forces (broker/cases.c), and signed with the
 * broker's key whenever its version changes: at start, after each registry record the
 * administrator sends, and after a round that logged a case action commits. Its version is
 * the log sequence number of the last registry record or case action, whichever is later,
 * so it changes exactly when an entry that may change it is logged. An agent asks for it
 * with a DirectoryRequest frame (after a Welcome whose directory_version differs from what
 * it holds); when the version changes, every connected session is sent the new one without
 * asking. The signed form is kept unpacked (b->directory) so that each answer is one Frame
 * around it. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cases.h"
#include "directory.h"
#include "log.h"
#include "util.h"

static int
dirserve_last_seq(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	(void)val;
	(void)len;
	*(uint64_t *)arg = seq;
	return 0;
}

static void
dirserve_send(struct broker *b, const uint8_t *rid, size_t ridlen)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	f.frame_case = CLUEBUS__FRAME__FRAME_DIRECTORY;
	f.directory = b->directory;
	reply_send(b->sock, rid, ridlen, &f);
}

/* Builds and signs the directory of `version` into b->directory. */
static int
dirserve_build(struct broker *b, uint64_t version, directory_task_force_t *tf, size_t ntf)
{
	Cluebus__SignedDirectory *sd;
	const char *routing = registry_routing(b->reg);
	uint8_t *buf;
	size_t len;
	int rc;

	if (routing == NULL)
		routing = route_text(b->cfg.route);
	if ((rc = directory_build_cases(b->reg, routing, tf, ntf, version, broker_clock_ms(),
	    b->key, &buf, &len)) != 0)
		return rc;
	sd = cluebus__signed_directory__unpack(NULL, len, buf);
	free(buf);
	if (sd == NULL)
		return CB_ENOMEM;
	cluebus__signed_directory__free_unpacked(b->directory, NULL);
	b->directory = sd;
	b->directory_version = version;
	log_info("directory version %llu (%zu bytes, %zu open cases' task forces)",
	    (unsigned long long)version, len, ntf);
	return 0;
}

int
dirserve_update(struct broker *b, int push)
{
	directory_task_force_t *tf = NULL;
	uint64_t version = 0, cases_version;
	size_t ntf = 0;
	int rc;

	b->directory_dirty = 0;
	if ((rc = store_walk_registry(b->store, dirserve_last_seq, &version)) != 0)
		return rc;
	if ((rc = cases_task_forces(b->store, &tf, &ntf, &cases_version)) != 0) {
		log_warnx("directory: open cases' task forces: %s", cb_strerror(rc));
		return rc;
	}
	if (cases_version > version)
		version = cases_version;
	if (b->directory == NULL || version != b->directory_version)
		rc = dirserve_build(b, version, tf, ntf);
	else
		push = 0;
	cases_task_forces_free(tf, ntf);
	if (rc != 0) {
		log_warnx("directory version %llu: %s", (unsigned long long)version,
		    cb_strerror(rc));
		return rc;
	}
	if (push)
		for (size_t i = 0; i < b->nsessions; i++)
			dirserve_send(b, b->sessions[i].rid, b->sessions[i].ridlen);
	return 0;
}

void
dirserve_request(struct broker *b, const uint8_t *rid, size_t ridlen)
{
	if (b->directory != NULL)
		dirserve_send(b, rid, ridlen);
}

void
dirserve_free(struct broker *b)
{
	cluebus__signed_directory__free_unpacked(b->directory, NULL);
	b->directory = NULL;
}
