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
 * cb_client_done() on it, and never again after that (across restarts too).
 *
 * Threading: a cb_client_t is used by one thread at a time. */
#ifndef CLUEBUS_CLIENT_H
#define CLUEBUS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/err.h"

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
} cb_client_options_t;

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
	char		 message_id[33];	/* hex */
	char		 tag[256];		/* ACCEPTED/REJECTED: the tag given to publish */
	uint64_t	 seq;			/* ACCEPTED/MESSAGE: log sequence number */
	char		 entry_hash[65];	/* ACCEPTED/MESSAGE: log entry hash, hex */
	int64_t		 logged_ms;		/* ACCEPTED/MESSAGE: broker's log time */
	int		 duplicate;		/* ACCEPTED: answered from the dedup index */
	int		 reject_code;		/* REJECTED: RejectCode of the proto */
	const char	*reject_name;		/* REJECTED: e.g. "bad_signature" */
	char		 reason[512];		/* REJECTED: human-readable */
	char		 sender[33];		/* MESSAGE */
	char		 kind[24];		/* MESSAGE: "clue", ... */
	cb_sigcheck_t	 sigcheck;		/* MESSAGE */
	const char	*json;			/* MESSAGE: the whole inbound document (SPEC §5),
						 * NUL-terminated */
} cb_event_t;

/* Opens the client: loads the key, opens (creating) the store, starts connecting. Returns
 * 0, CB_EINVAL, CB_EKEY / CB_EPERM (key file), CB_ESTORE, CB_EIO or CB_ENOMEM. */
int	cb_client_open(const cb_client_options_t *opt, cb_client_t **out)
    __attribute__((warn_unused_result));
/* Closes the client. Stored publishes and unacknowledged messages are kept for the next
 * open. Accepts NULL. */
void	cb_client_close(cb_client_t *c);

/* Validates `json` (SPEC §5), signs it and stores it durably. `tag` (at most 255 bytes,
 * copied) comes back with its outcome event. Writes the message id to `message_id` (may be
 * NULL). Returns 0; CB_EMALFORMED / CB_ETOOBIG with `err` naming the field; CB_ESTORE;
 * CB_ENOMEM. */
int	cb_client_publish_json(cb_client_t *c, const char *json, size_t len, const char *tag,
    char message_id[33], cb_error_t *err) __attribute__((warn_unused_result));

/* Runs the client's I/O for at most `timeout_ms` and yields the oldest event not yet done.
 * The same event is returned again until cb_client_done() is called on it. *ev is owned by
 * the client and valid until cb_client_done() or cb_client_close(). Returns 0 with *ev,
 * CB_ETIMEOUT when there is none, or CB_ESTORE / CB_EIO. */
int	cb_client_next(cb_client_t *c, int timeout_ms, const cb_event_t **ev)
    __attribute__((warn_unused_result));

/* Marks the current event handled, durably: an ACCEPTED/REJECTED publish is forgotten; a
 * MESSAGE is acknowledged to the broker (with every earlier one) and never surfaced again.
 * Call it only after the application stored what it needs. Returns 0, CB_EINVAL (not the
 * current event) or CB_ESTORE (nothing changed: call again). */
int	cb_client_done(cb_client_t *c, const cb_event_t *ev)
    __attribute__((warn_unused_result));

/* Calls fn(tag) for every stored publish not yet done, in publish order (used to reconcile
 * an application's own state after a crash). Returns 0 or CB_ESTORE. */
int	cb_client_pending(cb_client_t *c, void (*fn)(void *arg, const char *tag), void *arg);

/* Whether the broker has welcomed this client on the current connection. */
int	cb_client_connected(const cb_client_t *c);

#endif
