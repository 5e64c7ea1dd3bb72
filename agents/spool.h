/* agents/spool.h — the spool directory of SPEC §5, on top of the client library.
 *
 *   in/          the agency drops JSON documents here (atomically; ".name" ignored)
 *   pending/     taken by the agent: validated, signed, stored, waiting for the broker
 *   sent/        accepted: the document and NAME.receipt.json (message id, seq, hash)
 *   rejected/    refused: the document and NAME.error.json (field, reason, or reject code)
 *   out/         inbound messages, SEQ-KIND-ID.json, each written atomically and durable
 *                before it is acknowledged, shown once (batched: see spool.c)
 *   status.json  the agent's transparency status: its held checkpoint, and the alarm
 *   quarantine/  inbound messages whose signature the agent could not verify with a key
 *                it holds for the sender: never shown as genuine
 */
#ifndef CB_SPOOL_H
#define CB_SPOOL_H

#include <limits.h>
#include <stdint.h>

#include "cluebus/client.h"

struct intake_rules;

struct spool {
	char	root[PATH_MAX];
	char	in[PATH_MAX], pending[PATH_MAX], sent[PATH_MAX], rejected[PATH_MAX];
	char	out[PATH_MAX], quarantine[PATH_MAX];
	long	pid;		/* in our temporaries' names (getpid is a system call) */
	const struct intake_rules *rules;	/* intake's checks beyond the schema (divisions,
					 * times); NULL: none. Borrowed, set after spool_open */
};

#define SPOOL_NAME_MAX	200	/* bytes of a document's name in in/ */
#define SPOOL_RECEIPT_SUFFIX ".receipt.json"	/* sent/NAME.receipt.json */
#define SPOOL_ERROR_SUFFIX ".error.json"	/* rejected/NAME.error.json */
#define SPOOL_REFUSED_SUFFIX ".refused"	/* added to a refused name that ends like one */
#define SPOOL_SCAN_MAX	64	/* documents taken per scan */
#define SPOOL_BATCH_MAX	64	/* events staged before one commit (the broker keeps up to
				 * `window` = 128 deliveries in flight: half of it lets the
				 * next batch arrive while this one is synced) */

/* One step of a batch: write `data` (when not NULL) to the hidden file `from`, then rename
 * `from` to `to`. Owned by the batch. */
struct spool_step {
	char	*from, *to;
	char	*data;
	size_t	 len;
	unsigned dir;		/* SPOOL_DIR_* of `to` */
};

/* Events staged but not yet durable: their files are written under hidden names, the
 * renames that show them wait for spool_commit. Zero-initialize; spool_batch_free. */
struct spool_batch {
	struct spool_step *steps;
	size_t		 nsteps, cap;
	unsigned	 dirs;		/* SPOOL_DIR_* bits of the directories written */
	int		 rewrite;	/* a commit failed: write the files again first */
	int		 durable;	/* committed: what is left are inbound files to show */
};

/* Creates the directories and removes the temporaries a crash left in pending/, sent/ and
 * rejected/. Returns 0, CB_EIO, or CB_EPERM when the spool root or in/ is group- or
 * world-writable (anyone able to write there could publish as the unit). */
int	spool_open(struct spool *sp, const char *root);
/* Completes what a crash interrupted in out/ and quarantine/: a hidden inbound file whose
 * seq is at or below `watermark` (cb_client_watermark: done in the client, so never
 * delivered again) is renamed into place; any other hidden file of ours is removed (its
 * message surfaces again). Call it after cb_client_open and before taking events. Returns
 * 0 or CB_EIO. */
int	spool_finish(struct spool *sp, uint64_t watermark) __attribute__((warn_unused_result));
/* Publishes files left in pending/ by a crash before they were stored. Returns 0 or an
 * error from the client store. */
int	spool_recover(struct spool *sp, cb_client_t *c);
/* Takes up to SPOOL_SCAN_MAX documents from in/ (in name order): moves each to pending/,
 * publishes it or rejects it with an error file. Returns the number taken. */
int	spool_scan(struct spool *sp, cb_client_t *c);
/* Writes what an event means into the spool under hidden names, not yet durably, and
 * records in `b` how to show it (the event's own file names are derived from it, so
 * staging the same event again after a crash replaces rather than duplicates). Borrows
 * `ev` for the call. Returns 0 when the event may be released, or CB_EIO / CB_ENOMEM with
 * nothing recorded for it (retry later). */
int	spool_stage(struct spool *sp, struct spool_batch *b, const cb_event_t *ev)
    __attribute__((warn_unused_result));
/* Makes every staged event durable: one syncfs() per file system for the files' data; then
 * shows the publish outcomes (renames in staging order, a receipt before its document; one
 * fsync per directory). What stays in `b` are the inbound files, durable under hidden
 * names, to be shown by spool_show once the client is flushed. Returns 0 (also when `b`
 * was empty or committed already), or CB_EIO with `b` kept: call again (the files are
 * written again first). */
int	spool_commit(struct spool *sp, struct spool_batch *b)
    __attribute__((warn_unused_result));
/* Shows the committed inbound files (renames in staging order, no fsync: a crash before
 * the renames reach the disk is completed by spool_finish). Call it only after
 * cb_client_flush succeeded for the batch. Returns 0 with `b` empty, or CB_EIO with the
 * files not yet shown kept in `b`: call again. */
int	spool_show(struct spool *sp, struct spool_batch *b) __attribute__((warn_unused_result));
#define SPOOL_STATUS_FILE	"status.json"	/* SPOOL/status.json: the alarm, if any */

/* Adds the inclusion proof `p` and its checkpoint to its document's receipt in sent/
 * ("proof", "checkpoint": docs/formats.md), rewritten atomically and durably. A receipt
 * that is not there (not a spool publish, removed by the agency) is logged and skipped.
 * Returns 0, CB_EIO or CB_ENOMEM (retry later). */
int	spool_receipt_proof(struct spool *sp, const cb_proof_t *p)
    __attribute__((warn_unused_result));
/* Writes SPOOL/status.json (docs/formats.md) atomically: the unit, "ok" (false while the
 * alarm is raised), "alarm" (why), the held checkpoint. Returns 0, CB_EIO or CB_ENOMEM. */
int	spool_write_status(struct spool *sp, const char *unit, const cb_transparency_t *t)
    __attribute__((warn_unused_result));

/* Frees what `b` holds (its hidden files stay; they are ignored, and replaced when the
 * events surface again). Accepts an empty batch. */
void	spool_batch_free(struct spool_batch *b);

#endif
