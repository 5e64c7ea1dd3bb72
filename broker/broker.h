/* broker/broker.h — the broker's state, shared by its roles, and the roles' interfaces.
 *
 * Every file of broker/, from the top down; a file calls only the files below it (and
 * lib/), never one above, so each can be read, and tested, without those above it:
 *
 *   main.c      configuration, --check, the data directory's lock, startup, the event
 *               loop, signals (SIGTERM, SIGHUP, SIGUSR1)
 *   http.c      libmicrohttpd: /metrics and the status page, from a published snapshot
 *   metrics.c   the Prometheus text of a snapshot
 *   page.c      the status page (HTML, Chinese) of a snapshot
 *   admin.c     the administrative endpoint: registry changes signed by the 反拐办, and
 *               cluebus-ctl's read-only queries
 *   frontend.c  the ROUTER socket: frames in, hello, the round's replies out
 *   zap.c       the ZAP handler: which transport keys may connect at all
 *   delivery.c  per-unit delivery windows fed from the LMDB backlog
 *   pipeline.c  a publish: authenticate, verify, open, dedup, route, check, append
 *   workflow.c  referral obligations, deadlines, escalations (workflow.h)
 *   cases.c     cases and task forces, two-level supervision, corrections (cases.h)
 *   genesis.c   the registry rebuilt from the log, file changes appended to it
 *   ckpt.c      signed checkpoints: made, stored, served, pushed with proofs
 *   round.c     the commit round: its transaction, deferred replies, acks, commit
 *   status.c    the figures: status, units, backlog, overdue duties, histograms
 *   units.c     the table of registered units and their authenticated sessions
 *   reply.c     Accepted and Rejected frames, and sending one on a socket
 *   clock.c     the broker's time (with a test offset in test builds)
 *   check.c     the key and token files a start needs, every problem reported
 *   limits.c    the map's growth and ceiling, the disk's free space: when to refuse
 *   broker.h    this file: the state every role shares, and the roles' interfaces
 *   workflow.h  workflow.c's interface
 *
 * That is: main -> admin -> frontend -> {zap, pipeline} -> cases -> workflow -> round ->
 * {units, reply}; main, admin, frontend -> ckpt -> {store, reply}; delivery -> {workflow,
 * cases}; genesis -> round; admin -> status and round ->
 * status (a commit's time); main -> http -> {metrics, page}; main -> limits; check
 * (main, http) and clock are used by all. http.c, metrics.c and page.c see only the JSON snapshot that main
 * hands over (from status_snapshot), never broker state.
 *
 * One loop owns every structure here, so nothing is locked; the only other threads are
 * lib/verifypool.c's workers, which see nothing but a round's envelopes and keys, and
 * libmicrohttpd's (http.c), which see nothing but the snapshot the loop published under
 * http.c's mutex. */
#ifndef CB_BROKER_H
#define CB_BROKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cluebus.pb-c.h"
#include "cluebus/ids.h"
#include "config.h"
#include "envelope.h"
#include "keys.h"
#include "registry.h"
#include "ratelimit.h"
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
	char		 unit[CB_UNIT_ID_SIZE];
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
	struct ratelimit refusals;	/* how many of its refusals are logged (pipeline.c) */
	struct ratelimit requests;	/* its directory and checkpoint requests answered */
	uint64_t	 ckpt_size;	/* tree size its agent holds or was last sent (ckpt.c) */
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
	uint8_t		 msgid[MESSAGE_ID_LEN];
};

/* Why a frame is refused: a RejectCode (0: it is not) and the reason sent back, room for
 * a cb_error_t's "field: reason". */
struct verdict {
	int		 code;
	char		 field[sizeof(((cb_error_t *)0)->field)];	/* "" when none */
	char		 reason[sizeof(cb_error_t) + 4];
	uint64_t	 directory_version;	/* STALE_DIRECTORY: the broker's, sent back */
};

#define REJECT_CODES	24	/* RejectCode values counted apart (the proto's are below) */
#define KINDS_COUNTED	16	/* Kind values counted apart (the proto's are below) */

struct counters {
	uint64_t	 accepted, duplicates, rejected, delivered, acked, commits;
	uint64_t	 accepted_by_kind[KINDS_COUNTED];
	uint64_t	 rejected_by_code[REJECT_CODES];
	uint64_t	 refused_keys;	/* handshakes refused by ZAP */
	uint64_t	 requests_dropped;	/* directory and checkpoint requests over a
						 * unit's rate (frontend.c) */
	uint64_t	 unlogged;	/* refusals answered, not logged one by one */
	uint64_t	 dropped;	/* frames dropped unread from units cut off */
	uint64_t	 cutoffs;	/* times a unit was cut off */
	uint64_t	 disconnects;	/* connections closed (by peers, or by ZeroMQ for an
					 * oversized frame) */
};

#define STATUS_COMMIT_BUCKETS	11	/* commit latency bounds (status.c), +Inf apart */
#define STATUS_BATCH_BUCKETS	11	/* messages per commit bounds, +Inf apart */
#define STATUS_MINUTES		60	/* accepted per minute, over the last hour */

/* What status.c measures beside the counters (all on the loop's thread). */
struct figures {
	int64_t		 started_ms, started_mono_ms;
	uint64_t	 commit_us_bucket[STATUS_COMMIT_BUCKETS + 1], commit_us_sum;
	uint64_t	 batch_bucket[STATUS_BATCH_BUCKETS + 1], batch_sum;
	uint64_t	 per_minute[STATUS_MINUTES];	/* accepted in minute_of[i] */
	int64_t		 minute_of[STATUS_MINUTES];	/* wall-clock minute of a slot */
	uint64_t	 accepted_seen;
	double		 commit_rate, accept_rate;	/* per second, over the last second */
	uint64_t	 rate_commits, rate_accepted;
	int64_t		 rate_mono_ms;
	char		 unavailable[160];	/* why new messages are refused ("": they
						 * are not) */
};

struct broker {
	broker_config_t	 cfg;
	cb_key_t	*key;		/* the broker's signing key */
	cb_key_t	*rotate_from;	/* --rotate-key: the registered key it replaces */
	int		 replace_admin_key; /* --replace-admin-key */
	transport_keypair_t tkey;	/* the broker's CURVE key pair */
	store_t		*store;
	registry_t	*reg;
	void		*zctx, *sock, *zap, *admin;
	void		*monitor;	/* the agents' socket's events (frontend.c) */

	Cluebus__SignedDirectory *directory;	/* served (dirserve.c); NULL before start */
	uint64_t	 directory_version;

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
	int		 directory_dirty; /* a case action this round: rebuild after commit */
	struct pending	*pending;
	size_t		 npending, cappending;
	struct match_stage *match_stage; /* match.c: the staged postings' hash (NULL: not
					 * loaded yet) */

	struct ratelimit anon_refusals;	/* log lines of unauthenticated peers' refusals */
	int64_t		 cut_until_ms;	/* monotonic: some unit may be cut off before this */
	struct ratelimit disconnect_lines; /* log lines about closed connections */
	size_t		 inbox_peak_bytes; /* largest round since memory was last trimmed */
	int64_t		 inbox_busy_ms;	/* monotonic time of the last round with frames */

	int		 lock_fd;	/* DATA_DIR/lock, flock'ed (main.c; -1: none) */

	struct figures	 fig;
	struct http	*http;		/* http.c: /metrics and the status page (NULL:
					 * off) */

	struct ckpt	*ckpt;		/* the latest signed checkpoint (ckpt.c) */

	struct counters	 count;
	struct counters	 round;		/* this round's accepted/duplicates/acked, added to
					 * `count` only when the round commits */
};

/* admin.c */
/* Binds the admin endpoint when the config names one (after frontend_open: it shares the
 * ZeroMQ context). Returns 0 or CB_EIO. admin_close accepts a broker without one. */
int	admin_open(struct broker *b);
void	admin_close(struct broker *b);
/* Handles waiting administrative requests (each committed on its own). Call between rounds. */
void	admin_handle(struct broker *b);

/* dirserve.c */
/* Rebuilds and signs the directory when the log's last registry record is newer than the
 * served one; with `push`, sends it to every connected session. Returns 0 or an error
 * (the served directory is unchanged). */
int	dirserve_update(struct broker *b, int push);
/* Answers a DirectoryRequest on the agents' socket. Cannot fail. */
void	dirserve_request(struct broker *b, const uint8_t *rid, size_t ridlen);
void	dirserve_free(struct broker *b);

/* http.c */
/* Starts libmicrohttpd's thread on cfg.http_listen when set (loads the token file).
 * Returns 0, CB_ECONFIG (the address), CB_EPERM (the token file: logged), CB_ENOMEM or
 * CB_EIO (cannot listen). */
int	http_open(struct broker *b);
/* Replaces the snapshot the server shows; takes ownership of `snap` (freed here when the
 * server is off). Cannot fail. */
void	http_publish(struct broker *b, json_t *snap);
/* Stops the server thread and frees everything. Accepts a broker without one. */
void	http_close(struct broker *b);

/* metrics.c */
/* Writes the Prometheus text of `snap` (status_snapshot's JSON, borrowed) to `f`. */
void	metrics_render(const json_t *snap, FILE *f);

/* page.c */
/* Writes the status page of `snap` (borrowed) to `f`. */
void	page_render(const json_t *snap, FILE *f);

/* status.c */
/* Starts the clock of uptime and rates. Cannot fail. */
void	status_init(struct broker *b);
/* Records one LMDB commit that took `us` microseconds for `batch` accepted messages
 * (round.c). Cannot fail. */
void	status_observe_commit(struct broker *b, int64_t us, uint64_t batch);
/* Updates the per-minute history and the rates; call at least once a second. */
void	status_tick(struct broker *b);
/* The figures of one query ("status", "units", "backlog", "overdue", "registry") as new
 * JSON (the caller owns it, json_decref), or NULL for an unknown query. */
json_t	*status_query(struct broker *b, const char *what);
/* Everything http.c shows, as new JSON owned by the caller: {"status", "units", "backlog",
 * "overdue", "commit_seconds", "batch_size", "accepted_per_minute"}. */
json_t	*status_snapshot(struct broker *b);
/* Monotonic microseconds. Cannot fail. */
int64_t	status_now_us(void);
extern const double status_commit_bounds_s[STATUS_COMMIT_BUCKETS];
extern const double status_batch_bounds[STATUS_BATCH_BUCKETS];

/* frontend.c */
/* Makes the ZeroMQ context, the ZAP handler and the agents' CURVE socket, bound to
 * cfg.endpoint. Returns 0, CB_ENOMEM or CB_EIO. */
int	frontend_open(struct broker *b);
/* Closes what frontend_open made, also when it stopped halfway. Cannot fail. */
void	frontend_close(struct broker *b);
/* Receives and handles up to `max` frames without blocking. Returns frames handled. */
size_t	frontend_drain(struct broker *b, size_t max);
/* Commits the round (round_commit) and sends its replies on the agents' socket. */
void	frontend_commit(struct broker *b);
/* The frontend's timers (call every 100 ms or so): refusal summaries of units that went
 * quiet, and memory freed after a burst of large frames given back to the system. */
void	frontend_timers(struct broker *b, int64_t now_mono);

/* zap.c */
/* Binds the ZAP handler (before any CURVE socket accepts). Returns 0 or CB_EIO. */
int	zap_open(struct broker *b);
void	zap_close(struct broker *b);
/* Answers every waiting ZAP request without blocking. */
void	zap_handle(struct broker *b);

/* delivery.c */
/* Sends what fits in each online unit's window. Stops the broker (fatalx) when a backlog
 * or the workflow state a delivery refers to is corrupt. */
void	delivery_pump(struct broker *b);
void	delivery_timers(struct broker *b, int64_t now_mono);

/* pipeline.c */
/* Handles a Publish from `uq` (NULL when unauthenticated): its reply (Accepted, Rejected,
 * or "unavailable, retry" on a store error) is deferred to the round. Borrows `f`. `pre`
 * (may be NULL) is its signature check done in advance; used only if made with the key
 * that is the sender's now. `raw` is the frame as received, hashed in a rejection summary.
 * Cannot fail: errors are answered, and a corrupt store stops the broker. */
void	pipeline_publish(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const Cluebus__Frame *f, const struct verify_job *pre, const void *raw, size_t rawlen);
/* How many refusals are logged: a registered unit's own (cut off when it keeps on), and
 * all unauthenticated peers' together (log lines only: they get no entries; never cut
 * off, since a refusal is how an agent learns to say hello again after a restart). */
extern const struct ratelimit_policy refusal_policy_unit, refusal_policy_anon;

/* A refused frame, as its summary and its answer need it. Everything is borrowed. */
struct refusal {
	const uint8_t	*rid;
	size_t		 ridlen;
	const char	*claimed;	/* the sender the frame names ("" none; sanitized here) */
	const uint8_t	*id;		/* the id it is answered with (idlen MESSAGE_ID_LEN, or
					 * 0 for none) */
	size_t		 idlen;
	int		 id_verified;	/* id is the signed id, under a verified signature */
	const void	*raw;		/* the frame as received (hashed), or NULL */
	size_t		 rawlen;
};

/* Refuses a frame of `uq` (NULL when unauthenticated) with verdict `v`. Within the peer's
 * refusal budget (lib/ratelimit.h, RATELIMIT_POLICY_DEFAULT) it logs a line and, for a
 * unit, a rejection summary entry; past it, the refusal is answered and counted but not
 * logged (the next logged one says how many were not); a unit that keeps on is cut off:
 * its frames are dropped unanswered for a while (frontend.c drops them unread). The
 * Rejected reply is deferred to the round. Cannot fail (a store error fails the round). */
void	pipeline_reject(struct broker *b, struct unitq *uq, const struct refusal *r,
    const struct verdict *v);
/* For the timers: a unit whose refusals were not all logged, and that stopped, gets one
 * REJECT_RATE_LIMITED summary entry saying how many. Cannot fail. */
void	pipeline_refusal_summaries(struct broker *b, int64_t now_mono);

/* workflow.c: see workflow.h */

/* genesis.c */
/* Rebuilds b->reg from the log (none when b->store is NULL: no log yet), then appends what
 * the registry file adds or changes (one transaction, committed here). With `dry_run`
 * (--check, and a start's checks before it binds) the changes are applied in memory only
 * and nothing is written. Refuses (CB_EKEY, logged with both key ids) broker keys other
 * than the registered ones unless b->rotate_from is the registered key, and another
 * administrator's key unless b->replace_admin_key. Returns 0 or an error (startup must
 * stop). */
int	genesis_sync(struct broker *b, int dry_run);

/* ckpt.c */
/* Loads the latest stored checkpoint. Returns 0, CB_ENOMEM, CB_ECORRUPT or CB_ESTORE. */
int	ckpt_open(struct broker *b);
/* Frees the state. Accepts a broker without it. */
void	ckpt_close(struct broker *b);
/* Signs, stores (its own transaction; none may be open: CB_EAGAIN) and pushes a checkpoint
 * of the committed head when the head is past the latest one. Returns 0 (also when there
 * was nothing new), or an error, logged, with nothing changed. */
int	ckpt_make(struct broker *b);
/* Between rounds: ckpt_make when checkpoint_interval_ms passed since the last one. */
void	ckpt_tick(struct broker *b, int64_t now_mono);
/* Answers a CheckpointRequest of `uq`'s connection `rid` (nothing while there is no
 * checkpoint yet). Cannot fail: what cannot be proven is left out and logged. */
void	ckpt_request(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const Cluebus__CheckpointRequest *r);
/* The latest checkpoint's size (0: none), note (NULL: none; borrowed until the next one)
 * and signing time (wall clock ms; 0: none). Cannot fail. */
uint64_t ckpt_size(const struct broker *b);
const char *ckpt_note(const struct broker *b);
int64_t	ckpt_signed_ms(const struct broker *b);
/* {"tree_size", "log_head", "note"} as new JSON owned by the caller. */
json_t	*ckpt_json(struct broker *b);

/* round.c */
/* Sends one reply; `arg` is what the caller of round_commit gave. Borrows `reply`. */
typedef void round_send_fn(void *arg, const uint8_t *rid, size_t ridlen,
    const Cluebus__Frame *reply);
/* Ensures the round's transaction is open. Returns 0, or CB_ESTORE (or the store's error)
 * with the round marked failed. */
int	round_txn(struct broker *b) __attribute__((warn_unused_result));
/* A store error during the round: CB_ECORRUPT stops the broker (fatalx); anything else
 * marks the round failed, so that it is aborted at commit. */
void	round_store_error(struct broker *b, int rc);
/* Queues a reply to be sent after the round's commit; `accepted` says it is an Accepted
 * that depends on the commit (then `msgid` is its id, else it may be NULL). Takes
 * ownership of `reply`. Returns 0, or CB_ENOMEM (reply NULL, or no room: reply freed). */
int	round_defer(struct broker *b, const uint8_t *rid, size_t ridlen, Cluebus__Frame *reply,
    int accepted, const uint8_t *msgid);
/* Tells delivery that these units' backlogs grew. Cannot fail. */
void	round_wake(struct broker *b, char *const *units, size_t n);
/* Appends a broker-signed message to the round's transaction (opened if needed). Borrows
 * `m` and restores its id, key id and sender fields before returning. Returns 0 or an
 * error (the round must then fail). */
int	round_append_own(struct broker *b, Cluebus__Message *m, char **recipients,
    size_t nrecipients, int registry);
/* Records an Ack from `uq` (logged at the next commit). Cannot fail. */
void	round_ack(struct broker *b, struct unitq *uq, uint64_t upto);
/* Whether the round must be committed now: it wrote or owes replies, or acks have waited
 * ACK_LINGER_MS. */
int	round_due(const struct broker *b);
/* Logs the acks, commits the round's transaction (if it wrote anything, else aborts a
 * failed one), then hands every deferred reply to `send(arg, ...)` in arrival order and
 * frees them. Afterwards no transaction is open and nothing is pending. */
void	round_commit(struct broker *b, round_send_fn *send, void *arg);

/* units.c */
/* Makes delivery state for every unit of b->reg (room for REGISTRY_MAX_UNITS). Returns 0
 * or CB_ENOMEM. */
int	units_init(struct broker *b);
/* Frees the table; accepts a broker whose table was never made. */
void	units_free(struct broker *b);
/* The unit's delivery state, or NULL when it is not registered. Borrowed from `b`. */
struct unitq *units_find(struct broker *b, const char *unit);
/* Makes delivery state for a unit added at run time. Returns 0 or CB_ENOMEM (full). */
int	units_add(struct broker *b, const char *unit);
/* Drops every session of `unit` (its keys changed or were revoked): it must connect and
 * say hello again, with keys valid now. */
void	units_forget(struct broker *b, const char *unit);
/* Finds or makes the session of `uq` for `rid`. A unit holds at most SESSIONS_PER_UNIT:
 * beyond that its own longest-silent session gives way; when the whole table is full the
 * longest-silent session of any unit does. A session that gives way must say hello again.
 * Cannot fail. */
struct session *units_session_bind(struct broker *b, const uint8_t *rid, size_t ridlen,
    struct unitq *uq);
/* The session a frame from `rid` belongs to: only one whose unit is `peer`, the unit the
 * connection's CURVE key belongs to (ZAP User-Id). NULL when unauthenticated. */
struct session *units_session_of(struct broker *b, const uint8_t *rid, size_t ridlen,
    const char *peer);
/* Forgets sessions silent for longer than peer_timeout_ms. */
void	units_expire(struct broker *b, int64_t now_mono);

/* reply.c */
/* Build a reply (new, owned by the caller, freed with cluebus__frame__free_unpacked).
 * NULL when out of memory. `msgid` is MESSAGE_ID_LEN bytes (Rejected: idlen, 0 for none);
 * an Accepted names the log entry's recipients (copied). */
Cluebus__Frame *reply_accepted(const uint8_t *msgid, uint64_t seq, const uint8_t *hash,
    int duplicate, int64_t time_ms, char *const *recipients, size_t nrecipients);
Cluebus__Frame *reply_rejected(const uint8_t *msgid, size_t idlen, int code,
    const char *reason);
/* Sends `reply` to `rid` on the ROUTER socket `sock`; a peer gone or a full queue is
 * logged at debug level (the agent retries). Borrows `reply`. A round_send_fn. */
void	reply_send(void *sock, const uint8_t *rid, size_t ridlen, const Cluebus__Frame *reply);
/* Sets `v` to refuse with `code` and a printf-style reason (and no field). Returns 0: a
 * refusal is a result, not an error. */
int	reply_verdict(struct verdict *v, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* reply_verdict naming the message's `field` at fault (a JSON path, as intake names it). */
int	reply_verdict_field(struct verdict *v, int code, const char *field, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* The Rejected reply of a verdict: its code, field and reason. */
Cluebus__Frame *reply_refusal(const uint8_t *msgid, size_t idlen, const struct verdict *v);

/* limits.c */
/* Between rounds: grows the map when three quarters are used (up to cfg.map_max), and
 * sets b->fig.unavailable to why new messages are refused (the ceiling is near, the disk
 * is almost full) or to "" when they are not. Cannot fail. */
void	limits_check(struct broker *b);

/* check.c */
/* Checks every configured key file (present, a regular file, private ones mode 0600, each
 * parses) and the HTTP token file, logging each problem as "what PATH: reason". Returns
 * the number of problems (0: all good). */
int	check_keys(const broker_config_t *cfg);
/* Reads the bearer token of `path` (one line, 16..254 printable characters, file mode 0600)
 * into `token` (size `len`; may be NULL to check only). Returns 0, or 1 after logging the
 * problem. */
int	check_token_file(const char *path, char *token, size_t len);

/* clock.c */
/* Refuses a test clock in a production build (exits). */
void	broker_clock_init(void);
/* Milliseconds since the epoch as the broker sees it (real time, plus a test offset in test
 * builds). Cannot fail. */
int64_t	broker_clock_ms(void);
/* Makes the next broker_clock_ms() re-read the test clock file at once (tests that move
 * the clock; a no-op in a production build). Cannot fail. */
void	broker_clock_reload(void);

#endif
