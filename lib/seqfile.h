/* lib/seqfile.h — a durable 64-bit number in a small file, one flush per update.
 *
 * The client library keeps its inbound watermark here: moving it is the commit point of
 * every delivered batch, and an LMDB commit costs two flushes (pages, then the meta page)
 * where an overwrite in place of an already allocated block costs one (fdatasync with no
 * metadata to journal). */
#ifndef CB_SEQFILE_H
#define CB_SEQFILE_H

#include <stdint.h>

typedef struct seqfile seqfile_t;

/* Size of the file: two slots, each in its own 512-byte sector. */
#define SEQFILE_SIZE	1024

/* Opens the file at `path`, creating it durably (mode 0600, value 0) when it does not
 * exist, and writes its value to *value. Returns 0; CB_ECORRUPT when the file exists but
 * has the wrong size or no valid slot (the reason is logged); CB_EIO (errno set);
 * CB_ENOMEM; CB_ECRYPTO. The caller owns *out (seqfile_free). */
int	seqfile_open(const char *path, seqfile_t **out, uint64_t *value)
    __attribute__((warn_unused_result));

/* Stores `value` durably: writes the older slot (so a torn write leaves the newer one
 * whole) and fdatasyncs. Returns 0, or CB_EIO / CB_ECRYPTO when the value may be either the
 * old or the new one on disk (call again; the next write goes to the same slot). */
int	seqfile_set(seqfile_t *sf, uint64_t value) __attribute__((warn_unused_result));

/* Closes the file. Accepts NULL. */
void	seqfile_free(seqfile_t *sf);

#endif
