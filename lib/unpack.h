/* lib/unpack.h — protobuf-c decoding of outside input within a memory budget.
 *
 * protobuf-c makes one allocation per field it decodes: a 2-byte empty string costs a
 * pointer, a 1-byte string and a 32-byte scan record, so a crafted 1 MiB input of empty
 * repeated fields or unknown fields costs about 36 MiB before any check of ours runs.
 * unpack_bounded() decodes with an allocator that counts what one decode allocates and
 * refuses the allocation that would pass unpack_budget(len); protobuf-c then frees what it
 * made and fails.
 *
 * What it returns is allocated with malloc and freed, as everywhere else, with
 * protobuf_c_message_free_unpacked(m, NULL) (or the generated __free_unpacked(m, NULL)):
 * the budget allocator is malloc and free underneath and keeps no state past the call. */
#ifndef CB_UNPACK_H
#define CB_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* The budget of one decode of `len` bytes: UNPACK_FACTOR bytes per input byte plus
 * UNPACK_SLACK. What legitimate messages need is mostly their strings and bytes (about one
 * byte per input byte) plus fixed-size structs, bounded in number by message_validate. */
#define UNPACK_FACTOR	4
#define UNPACK_SLACK	(64 * 1024)
/* What one allocation is counted for beyond the bytes asked: about malloc's own cost of a
 * chunk, so that a million 1-byte strings are counted as the memory they take. */
#define UNPACK_CHUNK_OVERHEAD	16

/* Returns UNPACK_FACTOR * len + UNPACK_SLACK (SIZE_MAX if that overflows). Cannot fail. */
size_t	unpack_budget(size_t len);

/* Decodes `len` bytes at `buf` as a message of `desc`, allocating at most
 * unpack_budget(len) bytes in total (each allocation counted as its size plus
 * UNPACK_CHUNK_OVERHEAD; frees are not subtracted, so the count also bounds the peak).
 * Returns 0 with *out set to a new message that the caller owns (free it with
 * protobuf_c_message_free_unpacked(*out, NULL)); CB_ETOOBIG when decoding would allocate
 * more than the budget; CB_EMALFORMED when the bytes do not parse; CB_ENOMEM when malloc
 * failed. *out is left untouched on failure. Borrows `buf` for the call only: the message
 * holds copies. */
int	unpack_bounded(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
    ProtobufCMessage **out) __attribute__((warn_unused_result));
/* unpack_bounded() for a record this program stored itself (an LMDB value, a logged
 * message): any failure but CB_ENOMEM means the store is damaged and is CB_ECORRUPT. */
int	unpack_stored(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
    ProtobufCMessage **out) __attribute__((warn_unused_result));

#endif
