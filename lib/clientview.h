/* lib/clientview.h — the client library's side of the broker's checkpoints: its log view
 * (lib/logview.h) and the inclusion proofs of its accepted messages.
 *
 * Every accepted publish whose outcome the application marked done gets a record in the
 * client store's `proofs` database (be64 seq -> entry hash (32) || message id (16) || tag),
 * written in the transaction that forgets the outcome. The client asks the broker for the
 * latest checkpoint (CheckpointRequest: the held size and up to CLIENTVIEW_ASK_MAX of
 * those seqs) when it is welcomed, when new records were stored or a pushed newer
 * checkpoint covers a seq waiting for its proof (at most every CLIENTVIEW_PROMPT_MS), and
 * again every CLIENTVIEW_RETRY_MS while some are missing. A proof that checks against a
 * checkpoint the view accepted is queued for the application (cb_client_proof_next); once
 * it stored it, cb_client_proof_done dequeues it and the next commit (cb_client_flush)
 * deletes the record: a crash in between only fetches the proof again. A proof whose entry is not the
 * receipt's raises the alarm ("entry"). */
#ifndef CB_CLIENTVIEW_H
#define CB_CLIENTVIEW_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "cluebus/client.h"
#include "cluebus.pb-c.h"
#include "logview.h"

#define CLIENTVIEW_ASK_MAX	64
#define CLIENTVIEW_RETRY_MS	5000	/* ask again while proofs are missing */
#define CLIENTVIEW_PROMPT_MS	1000	/* a newer checkpoint: ask for proofs at once,
					 * at most this often */

struct clientview_proof {
	cb_proof_t	 p;
	char		*json;
	char		*note;		/* the checkpoint it was checked against */
};

struct clientview_new {
	uint64_t	 seq;
	uint8_t		 hash[32];
	uint8_t		 msgid[16];
	char		 tag[256];
};

typedef struct clientview {
	MDB_env		*env;		/* borrowed: the client's store */
	MDB_dbi		 proofs;
	logview_t	*view;
	struct clientview_new *fresh;	/* outcomes done in memory, not yet stored */
	size_t		 nfresh, capfresh;
	struct clientview_proof *queue;	/* checked proofs for the application */
	size_t		 nqueue, capqueue, qhead;
	uint64_t	*done;		/* seqs whose proofs the application stored */
	size_t		 ndone, capdone;
	int64_t		 asked_ms;	/* monotonic time of the last request (0: none) */
	uint64_t	 asked_size;	/* the checkpoint size it answered with */
	int64_t		 unverified_ms;	/* when an unverified checkpoint was last logged */
	int		 want_ask;	/* records were stored since the last request */
} clientview_t;

/* Opens the `proofs` database in `txn` (the client's opening transaction) and the log view
 * in `dir`, checked with `broker_key` (borrowed; NULL: none). Returns 0, CB_ESTORE or
 * logview_open's errors. */
int	clientview_open(clientview_t *cv, MDB_env *env, MDB_txn *txn, const char *dir,
    const cb_key_t *broker_key) __attribute__((warn_unused_result));
void	clientview_close(clientview_t *cv);

/* Remembers an accepted outcome being marked done (stored by clientview_store). Returns 0
 * or CB_ENOMEM. */
int	clientview_accepted(clientview_t *cv, const cb_event_t *ev)
    __attribute__((warn_unused_result));
/* Whether clientview_store has something to write. */
int	clientview_dirty(const clientview_t *cv);
/* Writes the remembered records into `txn`. Returns 0 or an LMDB error code. */
int	clientview_store(clientview_t *cv, MDB_txn *txn);
/* After the commit of that transaction: forgets the remembered records. */
void	clientview_stored(clientview_t *cv);

/* Fills and sends (with `send(arg, frame)`) a CheckpointRequest. */
typedef int clientview_send_fn(void *arg, const Cluebus__Frame *f);
void	clientview_ask(clientview_t *cv, int64_t now, clientview_send_fn *send, void *arg);
/* Handles a CheckpointNote: judges it, asks again when its proof is from another size,
 * checks and queues its inclusion proofs. */
void	clientview_on_note(clientview_t *cv, const Cluebus__CheckpointNote *n, int64_t now,
    clientview_send_fn *send, void *arg);
/* Asks again when proofs are missing and the last request is CLIENTVIEW_RETRY_MS old. */
void	clientview_timer(clientview_t *cv, int64_t now, clientview_send_fn *send, void *arg);

/* The oldest checked proof not yet done (borrowed until clientview_proof_done), or NULL. */
const cb_proof_t *clientview_proof_next(clientview_t *cv);
/* Dequeues the proof; its record is deleted by the next clientview_store (until then a
 * crash only makes it fetched again). Returns 0, CB_EINVAL (not the oldest) or
 * CB_ENOMEM. */
int	clientview_proof_done(clientview_t *cv, const cb_proof_t *p)
    __attribute__((warn_unused_result));

#endif
