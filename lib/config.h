/* lib/config.h — broker and agent configuration files (libconfig syntax).
 *
 * Relative paths in a config file are resolved against the file's own directory, so a
 * deployment directory can be moved as a whole. Loading reports the first error as
 * "file:line: reason"; `--check` in the daemons prints it and exits. Config files that are
 * group- or world-writable are refused. */
#ifndef CB_CONFIG_H
#define CB_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "cluebus/ids.h"
#include "route.h"

#define CONFIG_MAX_FILE	(1024 * 1024)

typedef struct broker_config {
	char		 endpoint[256];		/* ZeroMQ endpoint to bind */
	char		 data_dir[PATH_MAX];
	char		 key_path[PATH_MAX];	/* broker's Ed25519 private key */
	char		 transport_key_path[PATH_MAX];	/* broker's CURVE secret key */
	char		 registry_path[PATH_MAX];
	char		 admin_endpoint[256];	/* local admin socket ("" = none) */
	char		 admin_key_path[PATH_MAX];	/* the admin's public key ("" = none) */
	size_t		 map_size;		/* LMDB map size at start, in bytes */
	size_t		 map_max;		/* the map grows up to this (>= map_size) */
	size_t		 disk_min_free;		/* below this much free disk, refuse new
						 * messages (bytes) */
	char		 log_file[PATH_MAX];	/* "" = stderr */
	char		 http_listen[64];	/* "ADDR:PORT" of /metrics and / ("" = off) */
	char		 http_token_path[PATH_MAX];	/* bearer token file (mode 0600) */
	unsigned	 batch_max;		/* messages per group commit */
	unsigned	 window;		/* deliveries in flight per unit */
	int64_t		 redeliver_ms;		/* resend unacked deliveries after */
	int64_t		 peer_timeout_ms;	/* a silent peer is offline after */
	int64_t		 clock_skew_ms;		/* accepted |created - now| */
	int		 verify_threads;	/* signature-check workers besides the
						 * loop's thread; -1: one per other CPU */
	/* Default due times of a referral, by Priority (index 1..3), relative to its log
	 * time (SPEC §4; seed Art 23). */
	int64_t		 receipt_due_ms[4];
	int64_t		 feedback_due_ms[4];
	/* The unit whose petition clues are referrals. */
	char		 petition_unit[CB_UNIT_ID_SIZE];
	/* Correlation (broker/match.c, docs/correlation.md). */
	unsigned	 match_list_max;	/* entries per token before it is hot */
	int64_t		 match_bundle_window_ms;	/* 0: no bundling suggestions */
	unsigned	 match_notices_max;	/* match notices for one new clue */
	unsigned	 match_stage_max;	/* staged postings before a merge (0: the
						 * default) */
	unsigned	 match_merge_slice;	/* postings a round merges (0: the
						 * default) */
	route_t		*route;			/* owned */
	calendar_t	 calendar;		/* periodic report duties (`duties`) */
	int64_t		 checkpoint_interval_ms;	/* sign a checkpoint this often while
						 * entries arrive */
	char		 checkpoint_origin[256];	/* the checkpoints' origin and key name */
	int		 require_sealed;	/* refuse personal data in clear (SPEC §10) */
} broker_config_t;

#define CONFIG_MAX_DIVISIONS	64	/* entries of an agent's `divisions` */
#define CONFIG_DIVISION_SIZE	72	/* bytes of one, with its NUL */
#define CONFIG_MAX_OLD_SEAL_KEYS 8	/* entries of an agent's `seal_old_keys` */

typedef struct agent_config {
	char		 unit[CB_UNIT_ID_SIZE];
	char		 key_path[PATH_MAX];
	char		 transport_key_path[PATH_MAX];	/* the unit's CURVE secret key */
	char		 broker[256];		/* ZeroMQ endpoint to connect */
	char		 spool_dir[PATH_MAX];
	char		 state_dir[PATH_MAX];	/* the agent's own LMDB store */
	char		 registry_path[PATH_MAX];	/* public keys, to re-verify deliveries */
	int64_t		 resend_ms;		/* resend an unanswered publish after */
	int64_t		 heartbeat_ms;
	int64_t		 poll_ms;		/* spool scan interval */
	int64_t		 resign_after_ms;	/* re-sign waiting publishes older than */
	unsigned	 window;		/* publishes in flight */
	size_t		 n_divisions;		/* 0: intake accepts any jurisdiction */
	char		 divisions[CONFIG_MAX_DIVISIONS][CONFIG_DIVISION_SIZE];
						/* "CODE" or "CODE NAME" */
	char		 correlation_key_path[PATH_MAX];	/* "": no blind tokens */
	char		 correlation_key_previous_path[PATH_MAX]; /* "": none; tokens under
						 * it too while units move to the new key */
	/* Sealing (docs/sealing.md §8); all empty: this agent neither seals nor opens. */
	char		 seal_key_path[PATH_MAX];	/* the unit's X25519 private key */
	char		 seal_keys_path[PATH_MAX];	/* units' public sealing keys */
	char		 seal_routing_path[PATH_MAX];	/* a config with the routing table */
	size_t		 n_seal_old_keys;		/* the unit's earlier sealing keys, */
	char		 seal_old_keys[CONFIG_MAX_OLD_SEAL_KEYS][PATH_MAX]; /* to open old */
} agent_config_t;

/* Parses a config from memory (`name` is used in messages and to resolve relative paths).
 * Returns 0, CB_ECONFIG with `errbuf` set to "name:line: reason", or CB_ENOMEM. On success
 * the caller owns cfg->route (free with config_broker_free). */
int	config_broker_parse(const char *name, const char *text, broker_config_t *cfg,
    char *errbuf, size_t errlen) __attribute__((warn_unused_result));
int	config_broker_load(const char *path, broker_config_t *cfg, char *errbuf, size_t errlen)
    __attribute__((warn_unused_result));
void	config_broker_free(broker_config_t *cfg);

/* Whether `ep` (a ZeroMQ endpoint) is ipc:// or on the loopback interface. */
int	config_endpoint_local(const char *ep);

int	config_agent_parse(const char *name, const char *text, agent_config_t *cfg,
    char *errbuf, size_t errlen) __attribute__((warn_unused_result));
int	config_agent_load(const char *path, agent_config_t *cfg, char *errbuf, size_t errlen)
    __attribute__((warn_unused_result));

#endif
