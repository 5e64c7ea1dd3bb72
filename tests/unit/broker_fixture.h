/* tests/unit/broker_fixture.h — a real broker without sockets, for the tests of its roles.
 *
 * The broker is the objects of broker/ but main.o around a real LMDB store in a directory of
 * the test's: six units with keys made here (ato the office, psb, health, civil-affairs,
 * education members, ato-210302 a district office), the shipped broker.conf.example's
 * routing, genesis at the first start. A test hands signed Publish frames of the example
 * documents to pipeline_publish, as the frontend does for a unit's session, and commits the
 * round with round_commit, whose replies are recorded here instead of being sent. Paths are
 * relative to the repository (tests run from its top). */
#ifndef CB_BROKER_FIXTURE_H
#define CB_BROKER_FIXTURE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "matchkey.h"
#include "sealkey.h"

#define FIXTURE_UNITS		6
#define FIXTURE_REPLIES_MAX	16

/* What a reply said (only what the tests look at). */
struct fixture_reply {
	int		 frame_case;	/* CLUEBUS__FRAME__FRAME_ACCEPTED or _REJECTED */
	int		 code;		/* Rejected: its RejectCode */
	int		 duplicate;	/* Accepted: a resend's original answer */
	uint64_t	 seq;		/* Accepted: the entry's seq */
	char		 recipients[256];	/* Accepted: its recipients, "a,b," */
	char		 field[128];	/* Rejected: the field at fault, or "" */
	char		 reason[400];	/* Rejected: why */
};

struct fixture {
	char		 dir[PATH_MAX];
	char		 confname[PATH_MAX + 16];
	char		*conftext;
	struct broker	 b;		/* valid between fixture_up and fixture_down */
	cb_key_t	*broker_key;
	cb_key_t	*unit_keys[FIXTURE_UNITS];
	sealkey_t	*seal_keys[FIXTURE_UNITS];	/* registered as the units' sealing keys */
	transport_keypair_t broker_tkey;
	struct fixture_reply reply[FIXTURE_REPLIES_MAX];
	size_t		 nreplies;	/* of the last fixture_commit */
	const void	*row;		/* a table-driven test's row (fixture_setup) */
	const matchkey_t *match_keys;	/* when set, fixture_frame gives clues blind tokens
					 * under these (an agent's correlation keys) */
	size_t		 n_match_keys;
	/* When set, called on every message fixture_frame builds, before it is signed (a
	 * test seals its body there); a non-zero return is fixture_frame's error. */
	int		(*edit)(struct fixture *fx, Cluebus__Message *m);
};

/* A signed Publish, packed (`raw`) and decoded (`f`), as the frontend receives one. */
struct fixture_frame {
	Cluebus__Frame	*f;
	uint8_t		*raw;
	size_t		 rawlen;
	uint8_t		 id[MESSAGE_ID_LEN];
};

/* Makes the keys, registry.json and broker.conf of a deployment in `dir` (which exists).
 * Returns 0 or an error. */
int	fixture_deploy(struct fixture *fx, const char *dir);
/* Starts the broker over the deployment (genesis appends the registry at the first start).
 * Returns 0 or an error. */
int	fixture_up(struct fixture *fx);
/* Stops the broker (fixture_up may follow, over the same store). Cannot fail. */
void	fixture_down(struct fixture *fx);
/* Frees the deployment's keys and text. Cannot fail. */
void	fixture_free(struct fixture *fx);

/* fixture_deploy and fixture_up in a new directory under /tmp; returns 0 or an error. */
int	fixture_start(struct fixture *fx);
/* fixture_down, fixture_free, and the directory removed. Cannot fail. */
void	fixture_stop(struct fixture *fx);

/* cmocka's setup and teardown around fixture_start and fixture_stop: *state becomes a new
 * started fixture whose `row` is what *state held (a test table's row, or NULL). */
int	fixture_setup(void **state);
int	fixture_teardown(void **state);

/* The key the fixture made for `unit`, or NULL. Borrowed from `fx`. */
const cb_key_t *fixture_key(const struct fixture *fx, const char *unit);

/* Builds a Publish of the example document `doc` (a path) from `sender` with the message id
 * `idhex` (NULL: a new random one), created at `created_ms` (0: now), signed with the
 * sender's key; `forge` flips a signature bit. Returns 0 or an error; free with
 * fixture_frame_free. */
int	fixture_frame(const struct fixture *fx, const char *doc, const char *sender,
    const char *idhex, int64_t created_ms, int forge, struct fixture_frame *out);
void	fixture_frame_free(struct fixture_frame *fr);

/* Hands `fr` to pipeline_publish as received on a session of `peer` (NULL: a connection
 * that never said hello). */
void	fixture_publish(struct fixture *fx, const char *peer, const struct fixture_frame *fr);
/* fixture_frame, fixture_publish and fixture_commit in one: returns 0, or fixture_frame's
 * error (nothing published). */
int	fixture_send(struct fixture *fx, const char *doc, const char *sender, const char *peer,
    const char *idhex, int64_t created_ms, int forge);
/* Commits the round; its replies are recorded in fx->reply (the first
 * FIXTURE_REPLIES_MAX; fx->nreplies counts them all). */
void	fixture_commit(struct fixture *fx);

/* The log entry `seq` (free with cluebus__log_entry__free_unpacked(*e, NULL)), and, when it
 * carries an envelope and `m` is not NULL, its message opened (free with
 * protobuf_c_message_free_unpacked(&(*m)->base, NULL); NULL without an envelope). Returns
 * 0 or an error. */
int	fixture_entry(struct fixture *fx, uint64_t seq, Cluebus__LogEntry **e,
    Cluebus__Message **m);
/* The committed obligation of `unit` on the referral `idhex` (free with
 * cluebus__obligation__free_unpacked(*o, NULL)). Returns 0, CB_ENOTFOUND or an error. */
int	fixture_obligation(struct fixture *fx, const char *idhex, const char *unit,
    Cluebus__Obligation **o);

#endif
