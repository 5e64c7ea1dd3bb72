/* agents/spool.h — the spool directory of SPEC §5, on top of the client library.
 *
 *   in/          the agency drops JSON documents here (atomically; ".name" ignored)
 *   pending/     taken by the agent: validated, signed, stored, waiting for the broker
 *   sent/        accepted: the document and NAME.receipt.json (message id, seq, hash)
 *   rejected/    refused: the document and NAME.error.json (field, reason, or reject code)
 *   out/         inbound messages, SEQ-KIND-ID.json, each written atomically
 *   quarantine/  inbound messages whose signature the agent could not verify with a key
 *                it holds for the sender: never shown as genuine
 */
#ifndef CB_SPOOL_H
#define CB_SPOOL_H

#include <limits.h>

#include "cluebus/client.h"

struct spool {
	char	root[PATH_MAX];
	char	in[PATH_MAX], pending[PATH_MAX], sent[PATH_MAX], rejected[PATH_MAX];
	char	out[PATH_MAX], quarantine[PATH_MAX];
};

#define SPOOL_SCAN_MAX	64	/* documents taken per scan */

/* Creates the directories. Returns 0 or CB_EIO. */
int	spool_open(struct spool *sp, const char *root);
/* Publishes files left in pending/ by a crash before they were stored. Returns 0 or an
 * error from the client store. */
int	spool_recover(struct spool *sp, cb_client_t *c);
/* Takes up to SPOOL_SCAN_MAX documents from in/ (in name order): moves each to pending/,
 * publishes it or rejects it with an error file. Returns the number taken. */
int	spool_scan(struct spool *sp, cb_client_t *c);
/* Writes what an event means into the spool, durably. Returns 0 when the event may be
 * marked done, or CB_EIO (retry later). */
int	spool_handle(struct spool *sp, const cb_event_t *ev);

#endif
