/* lib/casefile_index.h — the casefile's index, shared by the files that build, read and
 * update it (internal to lib/casefile*.c; callers use casefile.h).
 *
 * casefile_index.c keeps its two lookup tables: the interned strings (unit ids, case refs,
 * district codes) and the map from message id to message. casefile.c fills the index in the
 * build walk and reads it for the views; casefile_duty.c derives the duties from it.
 *
 * Invariants (casefile.c's (1)..(4) apply as well):
 *   (1) An index into a table is a uint32_t below IDX_MAX; NOIDX stands for "none".
 *   (2) A strtab's slot[] and the idmap are open-addressing tables of index + 1 (0: empty),
 *       at most half full, sized as powers of two.
 *   (3) The first message logged with an id owns it in the idmap. */
#ifndef CB_CASEFILE_INDEX_H
#define CB_CASEFILE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "casefile.h"
#include "chain.h"
#include "envelope.h"

#define NOIDX		UINT32_MAX
#define IDX_MAX		(UINT32_MAX - 1)
#define ROLE_KNOWN	0x1	/* strent.flag: the log's registry gave the unit a role */
#define ROLE_MEMBER	0x2	/* ... and it is "member" */

struct strent {
	char		*s;
	uint8_t		 flag;
	char		*name;		/* units: the log's registry name (UTF-8), or NULL */
	char		 division[8];	/* units: the registry's division code, or "" */
};

/* Interned strings: ent[i] for index i; slot[] is an open-addressing table of index + 1. */
struct strtab {
	struct strent	*ent;
	size_t		 n, cap;
	uint32_t	*slot;
	size_t		 nslot;		/* 0 or a power of two > 2n */
};

struct cf_msg {
	uint64_t	seq;
	int64_t		time_ms;
	uint8_t		id[MESSAGE_ID_LEN];
	uint8_t		refers_to[MESSAGE_ID_LEN];
	uint32_t	sender;		/* units */
	uint32_t	case_ref;	/* strs, or NOIDX */
	uint32_t	rcpt, n_rcpt;	/* rcpts[rcpt .. rcpt + n_rcpt) */
	uint32_t	detail;		/* clue: clues[]; escalation: escs[]; else NOIDX */
	uint32_t	duties;		/* first duty on it (referral, petition clue) or NOIDX */
	uint8_t		kind, entry_type, has_refers_to, status;
};

struct cf_rcpt {
	uint32_t	unit;
	int64_t		acked_ms;
};

struct cf_clue {
	int64_t		occurred_ms;	/* the incident's time (0: not given) */
	uint32_t	jurisdiction;	/* strs */
	uint8_t		category;
	char		*summary;	/* sanitized UTF-8, at most CASEFILE_SUMMARY_MAX + "…" */
};

struct cf_esc {
	uint32_t	unit;
	uint8_t		missed;
	uint8_t		duty;		/* a report duty's (ReportType; missed is then 0) */
	int64_t		due_ms;
};

struct cf_duty {
	uint32_t	referral;	/* msgs */
	uint32_t	unit, from_unit;	/* from_unit: NOIDX unless it came by transfer */
	uint32_t	next;		/* next duty on the same referral, or NOIDX */
	int64_t		since_ms, receipt_due_ms, feedback_due_ms;
	int64_t		receipt_ms, feedback_ms, receipt_esc_ms, feedback_esc_ms;
	uint8_t		first_status, last_status;
	uint8_t		receipt_esc_pending, feedback_esc_pending;	/* since the due was set */
};

struct casefile {
	struct strtab	 units, strs;
	struct cf_msg	*msgs;
	size_t		 n_msgs, cap_msgs;
	struct cf_rcpt	*rcpts;
	size_t		 n_rcpts, cap_rcpts;
	struct cf_clue	*clues;
	size_t		 n_clues, cap_clues;
	struct cf_esc	*escs;
	size_t		 n_escs, cap_escs;
	struct cf_duty	*duties;
	size_t		 n_duties, cap_duties;
	uint32_t	*idmap;		/* message id -> msgs index + 1, open addressing */
	size_t		 nidmap;
	uint64_t	 entries;
	int64_t		 last_ms;
	/* the build walk */
	uint64_t	 expect;
	uint8_t		 prev[CHAIN_HASH_LEN];
	casefile_error_t *err;
};

/* Makes room for `need` elements of `size` bytes in the array *arrp of capacity *cap
 * (growing it by doubling). Returns 0, or CB_ENOMEM with the array unchanged. */
int	casefile_grow(void *arrp, size_t *cap, size_t need, size_t size)
    __attribute__((warn_unused_result));

/* The index of string `s` in `t`, or NOIDX. Cannot fail. */
uint32_t casefile_strtab_find(const struct strtab *t, const char *s);
/* Sets *out to the index of `s` in `t`, adding a copy when it is new. Returns 0, CB_ENOMEM
 * or CB_ETOOBIG (more than IDX_MAX strings). `s` is borrowed for the call. */
int	casefile_strtab_intern(struct strtab *t, const char *s, uint32_t *out)
    __attribute__((warn_unused_result));
/* Frees the strings and tables of `t` (not `t` itself). */
void	casefile_strtab_free(struct strtab *t);

/* The msgs[] index of the message with id `id` (MESSAGE_ID_LEN bytes), or NOIDX. Cannot
 * fail. */
uint32_t casefile_idmap_find(const casefile_t *cf, const uint8_t *id);
/* Indexes msgs[idx] by its id unless the id is known already (invariant 3). Returns 0 or
 * CB_ENOMEM. */
int	casefile_idmap_add(casefile_t *cf, uint32_t idx) __attribute__((warn_unused_result));
/* The msgs[] index of the message logged at `seq`, by bisection (casefile.c invariant 1),
 * or NOIDX. Cannot fail. */
uint32_t casefile_msg_by_seq(const casefile_t *cf, uint64_t seq);

#endif
