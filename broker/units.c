/* broker/units.c — the table of registered units and of their authenticated sessions.
 *
 * One `struct unitq` per registered unit holds its delivery state; one `struct session` per
 * connection that said a valid hello binds a routing id to a unit. Invariants: (1) the
 * unit array has room for REGISTRY_MAX_UNITS from the start and never moves, because
 * sessions point into it; (2) a unit holds at most SESSIONS_PER_UNIT sessions, and the whole
 * table at most SESSIONS_MAX, so one unit opening connections by the thousand cannot push
 * the others out; (3) the broker's own and the administrator's pseudo-units get no entry:
 * nobody connects as them. Nothing here touches a socket or the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "util.h"

int
units_init(struct broker *b)
{
	size_t n = registry_count(b->reg);

	if ((b->units = calloc(REGISTRY_MAX_UNITS, sizeof(*b->units))) == NULL)
		return CB_ENOMEM;
	b->nunits = 0;
	for (size_t i = 0; i < n; i++) {
		const reg_unit_t *u = registry_at(b->reg, i);

		if (strcmp(u->id, REGISTRY_BROKER_UNIT) == 0 ||
		    strcmp(u->id, REGISTRY_ADMIN_UNIT) == 0)
			continue;
		snprintf(b->units[b->nunits++].unit, CB_UNIT_ID_SIZE, "%s", u->id);
	}
	return 0;
}

void
units_free(struct broker *b)
{
	free(b->units);
	b->units = NULL;
	b->nunits = 0;
	b->nsessions = 0;
}

struct unitq *
units_find(struct broker *b, const char *unit)
{
	for (size_t i = 0; i < b->nunits; i++)
		if (strcmp(b->units[i].unit, unit) == 0)
			return &b->units[i];
	return NULL;
}

int
units_add(struct broker *b, const char *unit)
{
	if (units_find(b, unit) != NULL)
		return 0;
	if (b->nunits >= REGISTRY_MAX_UNITS)
		return CB_ENOMEM;
	memset(&b->units[b->nunits], 0, sizeof(b->units[0]));
	snprintf(b->units[b->nunits++].unit, CB_UNIT_ID_SIZE, "%s", unit);
	return 0;
}

void
units_forget(struct broker *b, const char *unit)
{
	struct unitq *uq = units_find(b, unit);

	if (uq == NULL)
		return;
	for (size_t i = 0; i < b->nsessions;) {
		if (b->sessions[i].uq == uq)
			b->sessions[i] = b->sessions[--b->nsessions];
		else
			i++;
	}
	uq->online = 0;
	uq->ridlen = 0;
	uq->inflight = 0;
	log_info("unit %s: sessions dropped (keys changed)", unit);
}

static struct session *
units_session(struct broker *b, const uint8_t *rid, size_t ridlen)
{
	for (size_t i = 0; i < b->nsessions; i++)
		if (b->sessions[i].ridlen == ridlen &&
		    memcmp(b->sessions[i].rid, rid, ridlen) == 0)
			return &b->sessions[i];
	return NULL;
}

/* The longest-silent session, of `uq` only when it is not NULL. */
static struct session *
units_session_oldest(struct broker *b, const struct unitq *uq)
{
	struct session *old = NULL;

	for (size_t i = 0; i < b->nsessions; i++)
		if ((uq == NULL || b->sessions[i].uq == uq) &&
		    (old == NULL || b->sessions[i].last_seen_ms < old->last_seen_ms))
			old = &b->sessions[i];
	return old;
}

struct session *
units_session_bind(struct broker *b, const uint8_t *rid, size_t ridlen, struct unitq *uq)
{
	struct session *s = units_session(b, rid, ridlen);
	size_t mine = 0;

	for (size_t i = 0; s == NULL && i < b->nsessions; i++)
		mine += b->sessions[i].uq == uq;
	if (s == NULL && mine >= SESSIONS_PER_UNIT)
		s = units_session_oldest(b, uq);
	if (s == NULL && b->nsessions < SESSIONS_MAX)
		s = &b->sessions[b->nsessions++];
	if (s == NULL)
		s = units_session_oldest(b, NULL);
	memcpy(s->rid, rid, ridlen);
	s->ridlen = ridlen;
	s->uq = uq;
	return s;
}

struct session *
units_session_of(struct broker *b, const uint8_t *rid, size_t ridlen, const char *peer)
{
	struct session *s = units_session(b, rid, ridlen);

	/* A session belongs to the unit its transport key proved: never to another. */
	if (s != NULL && (peer == NULL || strcmp(s->uq->unit, peer) != 0))
		return NULL;
	return s;
}

void
units_expire(struct broker *b, int64_t now)
{
	for (size_t i = 0; i < b->nsessions;) {
		if (now - b->sessions[i].last_seen_ms <= b->cfg.peer_timeout_ms) {
			i++;
			continue;
		}
		b->sessions[i] = b->sessions[--b->nsessions];
	}
}
