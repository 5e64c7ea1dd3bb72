/* broker/limits.c — the log's room: the map grows up to its ceiling; at the ceiling or on a
 * full disk new messages are refused, and delivery goes on.
 *
 * LMDB's map is a fixed-size address range that the data file may fill; a write beyond it
 * fails with MDB_MAP_FULL, and a write to a full disk with ENOSPC, each failing the whole
 * commit round. So the broker looks ahead between rounds: it grows the map (doubling, up
 * to map_max_mb) while a quarter of it is left, and when the log comes within a reserve
 * of the ceiling, or the disk below disk_min_free_mb, it refuses new messages with
 * REJECT_UNAVAILABLE and a reason saying why (b->fig.unavailable, which pipeline.c reads
 * after its dedup step, so that resends of logged messages still get their answer). Acks, deliveries and the broker's own escalations keep writing into
 * the reserve, so recipients still drain their backlogs.
 * Invariants: (1) the map is resized only between rounds (no transaction of the loop
 * open); (2) b->fig.unavailable is "" exactly when new messages are accepted, and every
 * change of it is logged once; (3) the used size is LMDB's high-water mark, which never
 * shrinks: once refusing at the ceiling, the broker stays so until an operator raises
 * map_max_mb and restarts. */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "broker.h"
#include "log.h"

#define LIMITS_RESERVE_MIN	((size_t)256 << 10)	/* bytes kept for acks at the ceiling */

static size_t
limits_reserve(const struct broker *b)
{
	size_t r = b->cfg.map_max / 16;

	return r > LIMITS_RESERVE_MIN ? r : LIMITS_RESERVE_MIN;
}

static void
limits_grow(struct broker *b, const struct store_usage *u)
{
	size_t next;

	if (u->map_size >= b->cfg.map_max || u->used_bytes < u->map_size / 4 * 3)
		return;
	next = u->map_size * 2 < b->cfg.map_max ? u->map_size * 2 : b->cfg.map_max;
	if (store_set_map_size(b->store, next) != 0)
		log_warnx("store: cannot grow the map to %zu MiB", next >> 20);
	else
		log_info("store: map grown to %zu MiB (%.1f MiB used, ceiling %zu MiB)",
		    next >> 20, (double)u->used_bytes / 1048576.0, b->cfg.map_max >> 20);
}

void
limits_check(struct broker *b)
{
	char reason[sizeof(b->fig.unavailable)] = "";
	struct store_usage u;
	struct statvfs vfs;

	if (b->txn != NULL)
		return;
	store_usage(b->store, &u);
	limits_grow(b, &u);
	if (u.used_bytes + limits_reserve(b) >= b->cfg.map_max)
		snprintf(reason, sizeof(reason), "log at its size ceiling (map_max_mb %zu, "
		    "%.1f MiB used): new messages refused until map_max_mb is raised",
		    b->cfg.map_max >> 20, (double)u.used_bytes / 1048576.0);
	else if (statvfs(b->cfg.data_dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < b->cfg.disk_min_free)
		snprintf(reason, sizeof(reason), "disk almost full (%.1f MiB free, %zu MiB kept "
		    "free): new messages refused until space is freed",
		    (double)vfs.f_bavail * (double)vfs.f_frsize / 1048576.0,
		    b->cfg.disk_min_free >> 20);
	if (strcmp(reason, b->fig.unavailable) == 0)
		return;
	if (reason[0] != '\0' && b->fig.unavailable[0] == '\0')
		log_warnx("refusing new messages: %s; delivery goes on", reason);
	else if (reason[0] == '\0')
		log_info("accepting new messages again");
	memcpy(b->fig.unavailable, reason, sizeof(reason));
}
