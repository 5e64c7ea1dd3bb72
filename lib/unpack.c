/* lib/unpack.c — protobuf-c decoding within a memory budget (see unpack.h).
 *
 * Invariants: (1) the allocator is malloc/free underneath and adds no header, so a decoded
 * message is freed with the system allocator (free_unpacked(m, NULL)) like any other;
 * (2) it only counts: the budget lives in a context on unpack_bounded()'s stack, one per
 * call, and no pointer to it outlives the call; (3) frees are not subtracted, so the count
 * is an upper bound of the memory the decode held at any moment, scan records included. */
#include <stdint.h>
#include <stdlib.h>

#include "cluebus/err.h"
#include "unpack.h"

struct unpack_budget {
	size_t	used;
	size_t	limit;
	int	exceeded;	/* an allocation was refused for the budget */
	int	failed;		/* malloc itself failed */
};

static void *
unpack_alloc(void *data, size_t size)
{
	struct unpack_budget *b = data;
	size_t cost = size + UNPACK_CHUNK_OVERHEAD;
	void *p;

	if (cost < size || cost > b->limit - b->used) {
		b->exceeded = 1;
		return NULL;
	}
	if ((p = malloc(size)) == NULL) {
		b->failed = 1;
		return NULL;
	}
	b->used += cost;
	return p;
}

static void
unpack_free(void *data, void *p)
{
	(void)data;
	free(p);
}

size_t
unpack_budget(size_t len)
{
	if (len > (SIZE_MAX - UNPACK_SLACK) / UNPACK_FACTOR)
		return SIZE_MAX;
	return UNPACK_FACTOR * len + UNPACK_SLACK;
}

int
unpack_bounded(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
    ProtobufCMessage **out)
{
	struct unpack_budget b = { .used = 0, .limit = unpack_budget(len) };
	ProtobufCAllocator alloc = {
		.alloc = unpack_alloc, .free = unpack_free, .allocator_data = &b,
	};
	ProtobufCMessage *m;

	if ((m = protobuf_c_message_unpack(desc, &alloc, len, buf)) == NULL)
		return b.exceeded ? CB_ETOOBIG : b.failed ? CB_ENOMEM : CB_EMALFORMED;
	*out = m;
	return 0;
}

int
unpack_stored(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
    ProtobufCMessage **out)
{
	int rc = unpack_bounded(desc, buf, len, out);

	return rc == 0 || rc == CB_ENOMEM ? rc : CB_ECORRUPT;
}
