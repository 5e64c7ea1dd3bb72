/* broker/broker.h — the broker's state, shared by its roles.
 *
 *   frontend.c  the ROUTER socket: frames in, sessions (hello), replies out
 *   pipeline.c  verify -> dedup -> route -> append, one group commit per round
 *   delivery.c  per-unit delivery windows fed from the LMDB backlog
 *   genesis.c   the registry rebuilt from the log, file changes appended to it
 *   main.c      configuration, startup, the event loop, SIGTERM
 *
 * One loop owns every structure here, so nothing is locked; the only other threads are
 * lib/verifypool.c's workers, which see nothing but a round's envelopes and keys. */
#ifndef CB_BROKER_H
#define CB_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus.pb-c.h"
#include "config.h"
#include "keys.h"
#include "registry.h"
#include "store.h"
#include "transport.h"
#include "verifypool.h"

#define RID_MAX	256	/* ZeroMQ routing ids are at most 255 bytes */

/* Delivery state of one registered unit.
 *
 *   offline --hello--> online(sent_upto=0) --pump--> deliveries in flight --ack--> ...
 *      ^                                                   |
 *      +------------- no frame for peer_timeout_ms --------+
 */
struct unitq {
	char		 unit[33];
	int		 online;
	uint8_t		 rid[RID_MAX];
	size_t		 ridlen;
	uint64_t	 sent_upto;	/* highest seq delivered in this session */
	unsigned	 inflight;	/* delivered, not yet acked */
	int		 has_more;	/* backlog may hold undelivered items */
	int64_t		 last_seen_ms;	/* monotonic */
	int64_t		 progress_ms;	/* monotonic time of the last send or ack */
	unsigned	 resends;	/* windows resent since the last ack or hello */
	uint64_t	 ack_upto;	/* highest ack not logged yet (0: none) */
	unsigned	 acked_round;	/* acks taken this round, applied after commit */
};

/* An authenticated connection (a routing id bound to a unit by a signed Hello). A unit
 * may have several publishing connections; deliveries go to the newest receiving one. */
struct session {
	uint8_t		 rid[RID_MAX];
	size_t		 ridlen;
	struct unitq	*uq;
	int		 receives;	/* 0: publish-only (the hello said so) */
	int64_t		 last_seen_ms;	/* monotonic */
};

#define SESSIONS_MAX	1024
#define SESSIONS_PER_UNIT 16	/* a unit's agent, its publish-only clients, reconnects */
#define ACK_LINGER_MS	10	/* acks alone wait this long for a round to ride along */

/* One frame's worth of work waiting for the round's commit. */
struct pending {
	uint8_t		 rid[RID_MAX];
	size_t		 ridlen;
	Cluebus__Frame	*reply;		/* built before commit, sent after */
	int		 accepted;	/* reply is an Accepted that depends on the commit */
	uint8_t		 msgid[16];
};

struct counters {
	uint64_t	 accepted, duplicates, rejected, delivered, acked, commits;
	uint64_t	 rejected_by_code[16];
	uint64_t	 refused_keys;	/* handshakes refused by ZAP */
};

struct broker {
	broker_config_t	 cfg;
	cb_key_t	*key;		/* the broker's signing key */
	transport_keypair_t tkey;	/* the broker's CURVE key pair */
	store_t		*store;
	registry_t	*reg;
	void		*zctx, *sock, *zap, *admin;

	struct unitq	*units;		/* one per registered unit (room for
					 * REGISTRY_MAX_UNITS: sessions point in) */
	size_t		 nunits;
	struct session	 sessions[SESSIONS_MAX];
	size_t		 nsessions;

	struct inbox	*inbox;		/* the round's frames (frontend.c) */
	verifypool_t	*verifier;	/* a round's signature checks on every core */

	store_txn_t	*txn;		/* open during a round with writes */
	int64_t		 acks_since_ms;	/* monotonic time of the oldest ack not logged
					 * yet (0: none) */
	int		 round_failed;	/* a store error: the round is aborted */
	struct pending	*pending;
	size_t		 npending, cappending;

	struct counters	 count;
	struct counters	 round;		/* this round's accepted/duplicates/acked, added to
					 * `count` only when the round commits */
};

/* frontend.c */
int	frontend_open(struct broker *b);
void	frontend_close(struct broker *b);
/* Receives and handles up to `max` frames without blocking. Returns frames handled. */
size_t	frontend_drain(struct broker *b, size_t max);
/* Queues a reply to be sent after the round's commit. Takes ownership of `reply`. */
int	frontend_defer(struct broker *b, const uint8_t *rid, size_t ridlen,
    Cluebus__Frame *reply, int accepted, const uint8_t *msgid);
/* Sends a reply now (on the agents' socket, or on `sock`). Borrows `reply`. */
void	frontend_send(struct broker *b, const uint8_t *rid, size_t ridlen,
    const Cluebus__Frame *reply);
void	frontend_send_on(void *sock, const uint8_t *rid, size_t ridlen,
    const Cluebus__Frame *reply);
/* Builds an Accepted reply (new, owned by the caller). NULL when out of memory. */
Cluebus__Frame *frontend_accepted(const uint8_t *msgid, uint64_t seq, const uint8_t *hash,
    int duplicate, int64_t time_ms);
/* Makes delivery state for a unit added at run time. Returns 0 or CB_ENOMEM (full). */
int	frontend_add_unit(struct broker *b, const char *unit);
/* Drops every session of `unit` (its keys changed or were revoked): it must connect and
 * say hello again, with keys valid now. */
void	frontend_forget_unit(struct broker *b, const char *unit);
/* Builds a Rejected reply (new, owned by the caller). NULL when out of memory. */
Cluebus__Frame *frontend_rejected(const uint8_t *msgid, size_t idlen, int code,
    const char *reason);
struct unitq *frontend_unit(struct broker *b, const char *unit);
/* Forgets sessions silent for longer than peer_timeout_ms. */
void	frontend_expire(struct broker *b, int64_t now_mono);

/* zap.c */
/* Binds the ZAP handler (before any CURVE socket accepts). Returns 0 or CB_EIO. */
int	zap_open(struct broker *b);
void	zap_close(struct broker *b);
/* Answers every waiting ZAP request without blocking. */
void	zap_handle(struct broker *b);

/* admin.c */
int	admin_open(struct broker *b);
void	admin_close(struct broker *b);
/* Handles waiting administrative requests (each committed on its own). Call between rounds. */
void	admin_handle(struct broker *b);

/* pipeline.c */
/* Handles a Publish from `uq` (NULL when unauthenticated). Borrows `f`. `pre` (may be
 * NULL) is its signature check done in advance; used only if made with the key that is
 * the sender's now. */
void	pipeline_publish(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const Cluebus__Frame *f, const struct verify_job *pre, const void *raw, size_t rawlen);
/* Logs a rejection summary and defers the Rejected reply. */
void	pipeline_reject(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const char *claimed, const uint8_t *msgid, size_t idlen, int code, const char *reason,
    const void *raw, size_t rawlen);
/* Records an Ack from `uq` (logged at the next commit). */
void	pipeline_ack(struct broker *b, struct unitq *uq, uint64_t upto);
/* Whether the round must be committed now: it wrote or owes replies, or acks have waited
 * ACK_LINGER_MS. */
int	pipeline_should_commit(const struct broker *b);
/* Commits the round (if it wrote anything) and sends every deferred reply. */
void	pipeline_commit(struct broker *b);
/* Ensures the round's transaction is open. Returns 0 or CB_ESTORE. */
int	pipeline_txn(struct broker *b);
/* Appends a broker-signed message to the open transaction. Takes `m`'s body; returns 0 or
 * an error (the round must then fail). */
int	pipeline_append_own(struct broker *b, Cluebus__Message *m, char **recipients,
    size_t nrecipients, int registry);

/* delivery.c */
void	delivery_pump(struct broker *b);
void	delivery_timers(struct broker *b, int64_t now_mono);

/* clock.c */
/* Refuses a test clock in a production build (exits). */
void	broker_clock_init(void);
/* Milliseconds since the epoch as the broker sees it (real time, plus a test offset in test
 * builds). Cannot fail. */
int64_t	broker_clock_ms(void);

/* genesis.c */
/* Rebuilds b->reg from the log, then appends what the registry file adds or changes.
 * Returns 0 or an error (startup must stop). */
int	genesis_sync(struct broker *b);

#endif
