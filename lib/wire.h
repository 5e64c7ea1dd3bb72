/* lib/wire.h — agent <-> broker frames over ZeroMQ.
 *
 * One Frame per ZeroMQ message (ROUTER side: routing id, then the frame). Decoding bounds
 * the size before parsing, the memory the parser may allocate while parsing, and refuses a
 * frame with no body set. */
#ifndef CB_WIRE_H
#define CB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "keys.h"

#define WIRE_MAX_FRAME	(1024 * 1024)
#define WIRE_PROTOCOL	1

/* Parses a frame. Returns 0 with a new Frame (free with wire_free; plain
 * cluebus__frame__free_unpacked(f, NULL) is right too); CB_ETOOBIG when the frame is larger
 * than WIRE_MAX_FRAME or would allocate more than unpack_budget(len) bytes to decode (empty
 * repeated fields, unknown fields); CB_EMALFORMED when it does not parse, sets no frame,
 * or is a publish or delivery without an envelope; CB_ENOMEM. *out is untouched on
 * failure. `err` (may be NULL) says why, e.g. "frame expands beyond 4259840 bytes when
 * decoded". */
int	wire_decode_err(const void *buf, size_t len, Cluebus__Frame **out, cb_error_t *err)
    __attribute__((warn_unused_result));
/* wire_decode_err without the reason. */
int	wire_decode(const void *buf, size_t len, Cluebus__Frame **out)
    __attribute__((warn_unused_result));
/* Sends `f` on `sock`, preceded by the routing id when `rid` is not NULL (ROUTER). Never
 * blocks (ZMQ_DONTWAIT). Returns 0, CB_EAGAIN (peer's queue full or peer gone), CB_ENOMEM
 * or CB_EIO. */
int	wire_send(void *sock, const void *rid, size_t ridlen, const Cluebus__Frame *f)
    __attribute__((warn_unused_result));
/* Bit of a frame type in wire_recv's mask. */
#define WIRE_BIT(frame_case)	(1u << (frame_case))
/* The frames a peer answers a Hello or a Publish with. */
#define WIRE_ANSWERS	(WIRE_BIT(CLUEBUS__FRAME__FRAME_WELCOME) | \
			 WIRE_BIT(CLUEBUS__FRAME__FRAME_ACCEPTED) | \
			 WIRE_BIT(CLUEBUS__FRAME__FRAME_REJECTED))
/* Receives on a DEALER socket until a frame whose type is in `mask` arrives or the
 * monotonic clock passes `deadline_ms`; other frames (and ones that do not parse) are
 * dropped and counted in *skipped when it is not NULL. For clients and test tools. Returns
 * 0 with *out (wire_free), CB_ETIMEOUT or CB_EIO. */
int	wire_recv(void *sock, int64_t deadline_ms, unsigned mask, Cluebus__Frame **out,
    long *skipped) __attribute__((warn_unused_result));
/* The lower-case name of a RejectCode ("bad_signature"), or "unknown". Cannot fail. */
const char *wire_reject_name(int code);

/* Frees a decoded frame. Accepts NULL. */
void	wire_free(Cluebus__Frame *f);

/* The bytes a Hello signs: "cluebus-hello-v1\0" unit "\0" be64(time_ms) nonce. Writes at
 * most `cap` bytes into `out` and returns the length, or 0 when `cap` is too small. */
size_t	wire_hello_bytes(const char *unit, int64_t time_ms, const uint8_t *nonce,
    size_t noncelen, uint8_t *out, size_t cap);

#define WIRE_NONCE_MAX	32

/* A signed Hello ready to send: `hello` points into the struct (nonce, signature), at
 * `unit` and at the signing key's id (both borrowed: keep them while `hello` is used). */
struct wire_hello {
	Cluebus__Hello	hello;
	uint8_t		nonce[WIRE_NONCE_MAX];
	uint8_t		sig[KEY_SIG_LEN];
};

/* Fills `wh` with a Hello as `unit` at `time_ms`, with a fresh random nonce of `noncelen`
 * bytes (at most WIRE_NONCE_MAX), signed with `key`. `unit` is not checked (test tools sign
 * invalid ones on purpose). Returns 0, CB_EINVAL (nonce too long), CB_ENOMEM or
 * CB_ECRYPTO. */
int	wire_hello_sign(struct wire_hello *wh, const char *unit, const cb_key_t *key,
    int64_t time_ms, size_t noncelen, int publish_only) __attribute__((warn_unused_result));

#endif
