/* cluebus/client.h — the client library for agency systems.
 *
 * What the cluebus-agent does with its spool directory, a program can do by linking this
 * library: publish a JSON document (validated, signed with the unit's key and stored
 * durably before the call returns), learn whether the broker accepted or rejected it, and
 * receive the messages routed to the unit, acknowledging each only after handling it.
 *
 * Guarantees: a publish that returned 0 survives a crash of this process and any outage of
 * the broker; it is resent with the same message id until answered, so the broker logs it
 * exactly once. Each inbound message is surfaced until the application calls
 * cb_client_done() on it (or cb_client_release() and then cb_client_flush()), and never
 * again after that (across restarts too).
 *
 * Completing events one at a time or in batches:
 *
 *   cb_client_next -> store what it says -> cb_client_done           (one at a time)
 *
 *   cb_client_next -> store it (not yet durably) -> cb_client_release
 *   cb_client_next(timeout 0) -> ... -> release        (up to N, while one is ready)
 *   make the stored results durable (e.g. one syncfs)
 *   cb_client_flush                  (the watermark durable, one cumulative Ack)
 *
 * A flush of messages alone costs one flush of a small file (the watermark); with publish
 * outcomes among them, one LMDB commit (two fsyncs); cb_client_done costs the same per
 * event. Until flushed, released events are neither acknowledged to the broker nor
 * recorded: a crash, or cb_client_close(), before cb_client_flush() makes them surface
 * again on the next open, so the application must handle a repeat idempotently (the agent
 * names its out/ files after the log sequence number).
 *
 * To show nothing twice, an application that hands messages on (the agent's out/) can
 * store them durably under names nobody reads, flush, and only then show them; at start,
 * it shows the stored ones at or below cb_client_watermark() and drops the others (they
 * surface again). A message taken away by its reader between a show and a crash cannot
 * come back that way.
 *
 * Threading: a cb_client_t is used by one thread at a time. */
#ifndef CLUEBUS_CLIENT_H
#define CLUEBUS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/err.h"
#include "cluebus/ids.h"

typedef struct cb_client cb_client_t;

typedef struct cb_client_options {
	const char	*unit;		/* this unit's id, [a-z0-9-]{1,32} */
	const char	*key_path;	/* its Ed25519 private key file (mode 0600) */
	const char	*transport_key_path;	/* its CURVE secret key file (mode 0600) */
	const char	*broker_public;	/* the broker's CURVE public key (Z85); NULL to take
					 * it from the registry file's "broker" entry */
	const char	*broker;	/* ZeroMQ endpoint, e.g. "tcp://127.0.0.1:7700" */
	const char	*state_dir;	/* directory for the client's LMDB store */
	const char	*registry_path;	/* registry JSON with public keys, to re-verify
					 * inbound signatures; NULL to skip that check */
	int64_t		 resend_ms;	/* resend an unanswered publish after (0: 5000) */
	int64_t		 heartbeat_ms;	/* (0: 1000) */
	unsigned	 window;	/* publishes in flight (0: 256) */
	int64_t		 resign_after_ms;	/* sign a waiting publish again (fresh creation
					 * time, same id) when older than this, so the
					 * broker's replay window does not refuse it after an
					 * outage (0: 300000, half the broker's default) */
	int		 publish_only;	/* 1: never receive; the unit's deliveries keep going
					 * to its receiving client (e.g. its agent) */
	const char	*correlation_key_path;	/* the city correlation key file (mode
					 * 0600): clues carry blind tokens of their
					 * identifiers under it; NULL: none (a clue naming
					 * identifiers is then refused) */
	const char	*correlation_key_previous_path;	/* the key it replaced: tokens
					 * under it too while units move over; NULL: none */
	/* Sealing (SPEC §10, docs/sealing.md §8). seal_key_path alone: deliveries are
	 * opened; with seal_keys_path and seal_routing_path (and registry_path) too,
	 * publishes are sealed to their recipients. NULL: not used. */
	const char	*seal_key_path;		/* its X25519 sealing private key (0600) */
	const char	*seal_keys_path;	/* JSON: unit id -> public sealing key, hex */
	const char	*seal_routing_path;	/* a config file with the `routing` group */
	const char *const *seal_old_key_paths;	/* the unit's earlier sealing private keys
						 * (after rotations): messages sealed to them
						 * still open */
	size_t		 n_seal_old_keys;	/* at most 8 */
} cb_client_options_t;

/* The client options of an agent config file (the file cluebus-agent reads: unit, key,
 * transport_key, broker, state_dir, registry, resend_ms, heartbeat_ms, window,
 * resign_after_ms; its spool is required but not used here), so that a program embedding
 * the library is configured like the unit's agent. Opaque; made by cb_client_config_load(),
 * released by cb_client_config_free(). */
typedef struct cb_client_config cb_client_config_t;

/* Reads and checks the agent config file at `path` (relative paths in it are resolved
 * against its directory). Returns 0 with *out (owned by the caller), CB_ECONFIG with
 * `errbuf` (may be NULL) set to "path:line: reason", CB_EINVAL or CB_ENOMEM. */
CB_EXPORT int	cb_client_config_load(const char *path, cb_client_config_t **out, char *errbuf,
    size_t errlen) __attribute__((warn_unused_result));
/* The client options the file gives; publish_only is 0 and broker_public NULL. The result
 * and the strings it points to are owned by `cfg` and valid until cb_client_config_free();
 * copy the struct to change a field. Cannot fail. */
CB_EXPORT const cb_client_options_t *cb_client_config_options(const cb_client_config_t *cfg);
/* Releases `cfg`. Accepts NULL. */
CB_EXPORT void	cb_client_config_free(cb_client_config_t *cfg);

typedef enum cb_event_type {
	CB_EVENT_ACCEPTED = 1,	/* the broker logged a publish */
	CB_EVENT_REJECTED,	/* the broker refused a publish for good */
	CB_EVENT_MESSAGE,	/* a message routed to this unit */
} cb_event_type_t;

/* Agent-side signature check of an inbound message (the broker checked it already). */
typedef enum cb_sigcheck {
	CB_SIG_VERIFIED = 1,	/* verified with the sender's key from the registry file */
	CB_SIG_UNCHECKED,	/* no registry file, or the key is not in it */
	CB_SIG_BAD,		/* the registry's key for that id does NOT verify it */
} cb_sigcheck_t;

typedef struct cb_event {
	cb_event_type_t	 type;
	char		 message_id[CB_MESSAGE_ID_HEX_SIZE];	/* hex */
	char		 tag[256];		/* ACCEPTED/REJECTED: the tag given to publish */
	uint64_t	 seq;			/* ACCEPTED/MESSAGE: log sequence number */
	char		 entry_hash[65];	/* ACCEPTED/MESSAGE: log entry hash, hex */
	int64_t		 logged_ms;		/* ACCEPTED/MESSAGE: broker's log time */
	int		 duplicate;		/* ACCEPTED: answered from the dedup index */
	int		 reject_code;		/* REJECTED: RejectCode of the proto */
	const char	*reject_name;		/* REJECTED: e.g. "bad_signature" */
	char		 reason[512];		/* REJECTED: human-readable, UTF-8 */
	char		 reject_field[128];	/* REJECTED: the field refused, as a path
						 * ("clue.jurisdiction"), or "" */
	char		 sender[CB_UNIT_ID_SIZE];	/* MESSAGE */
	char		 kind[24];		/* MESSAGE: "clue", ... */
	cb_sigcheck_t	 sigcheck;		/* MESSAGE */
	const char	*json;			/* MESSAGE: the whole inbound document (SPEC §5),
						 * NUL-terminated */
} cb_event_t;

/* Opens the client: loads the key, opens (creating) the store, starts connecting. Returns
 * 0, CB_EINVAL, CB_EKEY / CB_EPERM (key file), CB_ESTORE, CB_ECORRUPT (STATE/watermark is
 * not whole: refused rather than read as 0, which would surface every message again),
 * CB_EIO or CB_ENOMEM. */
CB_EXPORT int	cb_client_open(const cb_client_options_t *opt, cb_client_t **out)
    __attribute__((warn_unused_result));
/* Closes the client. Stored publishes and unacknowledged messages are kept for the next
 * open; events released but not flushed are not flushed (they surface again). Accepts
 * NULL. */
CB_EXPORT void	cb_client_close(cb_client_t *c);

/* Validates `json` (SPEC §5), seals its personal data (when the client seals), signs it and
 * stores it durably. `tag` (at most 255 bytes, copied) comes back with its outcome event.
 * Writes the message id to `message_id` (may be NULL). Before the broker's first directory
 * has arrived, a sealing client stores the message in clear in its own store and seals,
 * signs and sends it once the directory is there; an answer to a referral whose delivery
 * has not arrived waits for it 10 s. If it cannot be sealed then, its outcome is a REJECTED
 * event naming the field. Returns 0; CB_EMALFORMED / CB_ETOOBIG with `err` naming the field
 * (including what the broker would refuse and a sealing client can tell first: a unit that
 * is not registered); CB_ESTORE; CB_ENOMEM. */
CB_EXPORT int	cb_client_publish_json(cb_client_t *c, const char *json, size_t len,
    const char *tag, char message_id[CB_MESSAGE_ID_HEX_SIZE], cb_error_t *err)
    __attribute__((warn_unused_result));

/* Runs the client's I/O for at most `timeout_ms` (0: only what is ready now) and yields
 * the oldest event not yet done or released. The same event is returned again until
 * cb_client_done() or cb_client_release() is called on it. *ev is owned by the client and
 * valid until cb_client_done(), cb_client_release() or cb_client_close(). Returns 0 with
 * *ev, CB_ETIMEOUT when there is none, or CB_ESTORE / CB_EIO. */
CB_EXPORT int	cb_client_next(cb_client_t *c, int timeout_ms, const cb_event_t **ev)
    __attribute__((warn_unused_result));

/* Marks the current event handled, durably: an ACCEPTED/REJECTED publish is forgotten; a
 * MESSAGE is acknowledged to the broker (with every earlier one) and never surfaced again.
 * Every event released before it is flushed in the same commit (as by cb_client_flush).
 * Call it only after the application stored what it needs, durably. Returns 0, CB_EINVAL
 * (not the current event) or CB_ESTORE (nothing changed: call again). */
CB_EXPORT int	cb_client_done(cb_client_t *c, const cb_event_t *ev)
    __attribute__((warn_unused_result));

/* Marks the current event handled in memory only and moves on: the next cb_client_next()
 * yields the event after it; *ev is invalid from now on. Nothing is stored and nothing is
 * acknowledged until cb_client_flush() (or a later cb_client_done()); until then a
 * redelivery of a released MESSAGE is dropped, and a crash or cb_client_close() makes the
 * event surface again on the next open (a publish outcome: answered again by the broker,
 * as a duplicate). Call it once the application has what it needs from *ev (it may still
 * be making that durable). Returns 0, CB_EINVAL (not the current event; nothing changed)
 * or CB_ENOMEM (nothing changed). */
CB_EXPORT int	cb_client_release(cb_client_t *c, const cb_event_t *ev)
    __attribute__((warn_unused_result));

/* Marks every released event done, durably, in one store transaction: the MESSAGE
 * watermark moves to the highest released seq and one cumulative Ack for it goes to the
 * broker (at the next welcome if not connected now); released publish outcomes are
 * deleted from the outbox. Call it only after what the application stored for those events
 * is durable: after it returns 0 they are never surfaced again. Returns 0 (also when
 * nothing was released) or CB_ESTORE (nothing changed: the events stay released; call
 * again, or close to have them surface again). */
CB_EXPORT int	cb_client_flush(cb_client_t *c) __attribute__((warn_unused_result));

/* Calls fn(tag) for every stored publish not yet done, in publish order (used to reconcile
 * an application's own state after a crash). Returns 0 or CB_ESTORE. */
CB_EXPORT int	cb_client_pending(cb_client_t *c, void (*fn)(void *arg, const char *tag),
    void *arg);

/* The highest log sequence number of a MESSAGE done durably (0: none yet): every message
 * at or below it is never surfaced again. Cannot fail. */
CB_EXPORT uint64_t cb_client_watermark(const cb_client_t *c);

/* Transparency (docs/audit.md §7). The client keeps, in its state directory, the latest
 * checkpoint of the broker's log that it checked (checkpoint.note) and accepts a newer one
 * only with a consistency proof from it; a rollback or a fork raises an alarm that stays
 * until an operator removes STATE/alarm.json. For each accepted publish done, it fetches
 * an inclusion proof against a checked checkpoint. */

/* An accepted message's inclusion proof, checked against `checkpoint`. */
typedef struct cb_proof {
	uint64_t	 seq;
	char		 message_id[CB_MESSAGE_ID_HEX_SIZE];	/* hex */
	char		 entry_hash[65];			/* hex */
	char		 tag[256];		/* the tag given to publish */
	const char	*json;			/* the proof: {"leaf_index", "tree_size",
						 * "entry", "hashes"} (docs/formats.md) */
	const char	*checkpoint;		/* the signed note it was checked against */
} cb_proof_t;

/* The oldest checked proof the application has not marked done: 0 with *p (owned by the
 * client, valid until cb_client_proof_done or cb_client_close), or CB_ENOTFOUND. */
CB_EXPORT int	cb_client_proof_next(cb_client_t *c, const cb_proof_t **p)
    __attribute__((warn_unused_result));
/* The application stored *p durably: it is forgotten, durably. Returns 0, CB_EINVAL (not
 * the oldest) or CB_ESTORE (call again). */
CB_EXPORT int	cb_client_proof_done(cb_client_t *c, const cb_proof_t *p)
    __attribute__((warn_unused_result));

typedef struct cb_transparency {
	uint64_t	 tree_size;	/* of the held checkpoint (0: none yet) */
	const char	*checkpoint;	/* its signed note, or NULL */
	const char	*alarm;		/* NULL, or why the broker is not to be trusted */
	uint64_t	 version;	/* moves whenever the above change */
} cb_transparency_t;

/* Fills *t; its strings are borrowed until the next cb_client_next. Cannot fail. */
CB_EXPORT void	cb_client_transparency(const cb_client_t *c, cb_transparency_t *t);

/* Whether the broker has welcomed this client on the current connection. */
CB_EXPORT int	cb_client_connected(const cb_client_t *c);

#endif
