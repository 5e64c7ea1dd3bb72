/* lib/clientcorr.h — the client library's side of distributing the city correlation key
 * (Kind 15, docs/correlation.md §6).
 *
 * Sending, by the city office's agent: a correlation_key document names a version; the key
 * of that version comes from the agent's own key ring (its configured key files), never
 * from the document, and is sealed to the message's recipients as the directory gives them
 * (every unit with a sealing key, or the units the document names). The outbox's clear
 * form of such a message holds no key: sealing again takes it from the ring again.
 *
 * Receiving: clientcorr_open opens the key with the unit's sealing key, checks it and
 * decides what to do with it; clientcorr_install writes it to STATE/correlation-V.key
 * (mode 0600, durably) and adds it to the ring. The client installs before the delivery
 * may be acknowledged, so a key whose delivery was acknowledged is on disk. From the key's
 * effective time the agent tokenises with it (matchkey_ring_pick). The inbound document
 * says what happened, never the key. */
#ifndef CB_CLIENTCORR_H
#define CB_CLIENTCORR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "matchkey.h"
#include "sealdir.h"
#include "sealkey.h"

/* Packs `m` (a correlation_key, sender and id set) into *clear (new, owned by the caller),
 * then seals the ring's key of the body's version to the recipients `d` gives. Returns 0;
 * CB_EMALFORMED naming "correlation_key.version" (no key of that version in the ring) or
 * what sealdir_recipients names; CB_EAGAIN (no directory yet) or CB_ENOTFOUND (no recipient
 * with a sealing key) as sealdir_recipients; CB_ENOMEM; CB_ECRYPTO. On error nothing is
 * allocated and `m` is unchanged. */
int	clientcorr_seal(sealdir_t *d, const matchkey_t *ring, size_t nring, Cluebus__Message *m,
    ProtobufCBinaryData *clear, cb_error_t *err) __attribute__((warn_unused_result));

/* What a receiving agent knows when a correlation key is delivered (all borrowed). */
typedef struct clientcorr_rx {
	const sealkey_t *const	*seal_keys;	/* the unit's sealing keys, current first */
	size_t			 n_seal_keys;
	const char		*unit;		/* this unit */
	const char		*office;	/* the city office (the directory's routing);
						 * NULL: not known yet */
	int			 verified;	/* this agent verified the signature */
	const matchkey_t	*ring;		/* the keys held now */
	size_t			 nring;
} clientcorr_rx_t;

/* Opens the key of a delivered correlation_key `m` (delivery `seq`). Returns the inbound
 * document's "correlation_key" member (a new reference, NULL when out of memory):
 * {"status": "installed" | "known" | "not_installed", "version", "effective_at", and for
 * "not_installed" "code" and "reason"}. With "installed", *install is a new key (owned by
 * the caller: free it with clientcorr_free) to write with clientcorr_install before the
 * delivery is acknowledged; else *install is NULL. "known": the ring holds this version
 * with the same bytes. Not installed: a sender other than the city office or a signature
 * this agent could not verify ("refused"), a seal it cannot open or a damaged key
 * ("unopened"), a different key of a version it holds ("conflict": the first one stays),
 * a version lower than all it holds ("old"). A warning is logged for each, without the
 * key. */
json_t	*clientcorr_open(const clientcorr_rx_t *rx, const Cluebus__Message *m, uint64_t seq,
    matchkey_t **install);

/* Writes `k` to STATE_DIR/correlation-VERSION.key (0600, durably), then adds it to the ring
 * ring[0..*n) of room `max`; does nothing when the ring holds that version already (a key
 * delivered twice before the first was installed: the first stays). Returns 0, or CB_EIO /
 * CB_ENOMEM with the ring unchanged. */
int	clientcorr_install(const char *state_dir, const matchkey_t *k, matchkey_t *ring,
    size_t *n, size_t max) __attribute__((warn_unused_result));

/* Adds to the ring every STATE_DIR/correlation-VERSION.key written by clientcorr_install
 * (after the configured keys, which win for their versions). A file that does not load is
 * logged and skipped. Returns 0 or CB_EIO (the directory cannot be read). */
int	clientcorr_load(const char *state_dir, matchkey_t *ring, size_t *n, size_t max)
    __attribute__((warn_unused_result));

/* Wipes and frees a key from clientcorr_open. Accepts NULL. */
void	clientcorr_free(matchkey_t *k);

#endif
