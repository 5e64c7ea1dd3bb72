/* lib/logview.h — an agency's view of the broker's log: the latest checkpoint it checked,
 * and the alarm it raises when the broker shows it a history that contradicts it.
 *
 * The view lives in two files of the client's state directory: `checkpoint.note`, the
 * signed note of the latest checkpoint it accepted (written atomically: a new one only after
 * its consistency with the held one was proven), and `alarm.json`, written once when the
 * broker contradicts itself (kept until an operator removes it; its notes are the evidence,
 * signed by the broker):
 *
 *   {"alarm": "rollback" | "fork" | "entry", "reason": TEXT, "since": RFC 3339,
 *    "held": NOTE, "offered": NOTE}
 *
 * A checkpoint offered by the broker is, against the held one (size m, root r):
 *   - refused and ignored (LOGVIEW_UNVERIFIED) when its signature or syntax does not check
 *     with the broker's key, or its origin is not the held one's;
 *   - a rollback (alarm) when its size is below m;
 *   - a fork (alarm) when its size is m and its root is not r, or when the consistency
 *     proof from m does not lead from r to its root;
 *   - LOGVIEW_ASK when its proof runs from another size than m (ask again from m);
 *   - accepted (LOGVIEW_NEWER, stored) or LOGVIEW_SAME otherwise. The first one is accepted
 *     on its signature alone.
 * Invariant: the held checkpoint only grows, and only along proven consistency. A held
 * note that no longer verifies at start (the broker's key was rotated and the registry
 * file replaced) is kept, with a warning: it was verified when it was stored. */
#ifndef CB_LOGVIEW_H
#define CB_LOGVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "cluebus.pb-c.h"
#include "keys.h"

#define LOGVIEW_NOTE_FILE	"checkpoint.note"
#define LOGVIEW_ALARM_FILE	"alarm.json"

typedef struct logview logview_t;

enum logview_verdict {
	LOGVIEW_NEWER = 1,	/* accepted and stored */
	LOGVIEW_SAME,		/* the held one again */
	LOGVIEW_ASK,		/* its proof is from another size: ask from ours */
	LOGVIEW_UNVERIFIED,	/* not signed by the broker's key (ignored, logged) */
	LOGVIEW_ALARM,		/* a rollback or a fork: the alarm is raised */
};

/* Opens the view kept in `dir` (created when missing). `broker_key` (borrowed for the
 * view's life; NULL: no key, every checkpoint is unverified) checks the notes. Returns 0,
 * CB_EIO, CB_ECORRUPT (a held note that does not parse), CB_ENOMEM. */
int	logview_open(const char *dir, const cb_key_t *broker_key, logview_t **out)
    __attribute__((warn_unused_result));
/* Frees the view. Accepts NULL. */
void	logview_free(logview_t *v);

/* The held checkpoint (NULL: none yet; borrowed until the next offer) and its note. */
const checkpoint_t *logview_checkpoint(const logview_t *v);
const char *logview_note(const logview_t *v);
/* The alarm's reason (NULL: none). Borrowed. */
const char *logview_alarm(const logview_t *v);
/* A counter that moves whenever the held checkpoint or the alarm changes. */
uint64_t logview_version(const logview_t *v);

/* Judges a checkpoint the broker sent (see above). Writes to `offered` the parsed
 * checkpoint (valid when the verdict is NEWER or SAME). Returns 0 with *verdict, or CB_EIO
 * (the new checkpoint or the alarm could not be stored: try again), CB_ENOMEM,
 * CB_ECRYPTO. `why` gets a line saying what happened for UNVERIFIED, ASK and ALARM. */
int	logview_offer(logview_t *v, const Cluebus__CheckpointNote *n, checkpoint_t *offered,
    enum logview_verdict *verdict, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* Checks an inclusion proof against `cp` (a checkpoint the view accepted): the entry's
 * hash must be `entry_hash` (the receipt's), the proof must lead from its leaf to cp's
 * root. Returns 0; CB_ECORRUPT with `why` set (the entry or the proof contradicts the
 * receipt: raise the alarm); CB_EMALFORMED (a proof that cannot be one); CB_ENOMEM or
 * CB_ECRYPTO. */
int	logview_check_inclusion(const checkpoint_t *cp, const Cluebus__CheckpointInclusion *incl,
    const uint8_t entry_hash[32], char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* Raises the alarm of kind `kind` ("rollback", "fork", "entry") with `reason` (which
 * starts with the kind: "fork: ...") and the
 * offending note (may be NULL), durably, unless one is raised already (the first is kept).
 * Returns 0 or CB_EIO / CB_ENOMEM. */
int	logview_raise(logview_t *v, const char *kind, const char *reason, const char *offered)
    __attribute__((warn_unused_result));

#endif
