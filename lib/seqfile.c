/* lib/seqfile.c — a durable 64-bit number in a small file, one flush per update.
 *
 * Layout: SEQFILE_SIZE bytes, slot 0 at offset 0 and slot 1 at offset 512, each
 *
 *   "cbseq001" | value (BE64) | generation (BE64) | SHA-256 of the 24 bytes before
 *
 * Generation g lives in slot g & 1; the valid slot with the higher generation holds the
 * value. An update writes generation g+1 into the other slot, then fdatasyncs: a write
 * torn by a power loss spoils at most that slot, and the other still holds the previous
 * value, which is what was durable. The file is created whole (both slots, fsync, rename,
 * directory fsync), so its blocks are allocated before the first update and an update
 * changes no metadata that fdatasync would have to journal.
 *
 * Invariants: (1) the file always has a valid slot; (2) the in-memory generation moves
 * only after fdatasync succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cluebus/err.h"
#include "log.h"
#include "seqfile.h"
#include "util.h"

#define SEQFILE_MAGIC	"cbseq001"
#define SLOT_LEN	(8 + 8 + 8 + 32)
#define SLOT_STRIDE	512

struct seqfile {
	int		 fd;
	uint64_t	 generation;	/* of the slot holding the current value */
};

/* Fills `slot` with `value` at `generation`. */
static int
seqfile_slot_make(uint8_t slot[SLOT_LEN], uint64_t value, uint64_t generation)
{
	memcpy(slot, SEQFILE_MAGIC, 8);
	be64_put(slot + 8, value);
	be64_put(slot + 16, generation);
	if (EVP_Digest(slot, 24, slot + 24, NULL, EVP_sha256(), NULL) != 1)
		return CB_ECRYPTO;
	return 0;
}

/* Whether `slot` is whole: magic and digest. */
static int
seqfile_slot_valid(const uint8_t slot[SLOT_LEN])
{
	uint8_t digest[32];

	if (memcmp(slot, SEQFILE_MAGIC, 8) != 0 ||
	    EVP_Digest(slot, 24, digest, NULL, EVP_sha256(), NULL) != 1)
		return 0;
	return CRYPTO_memcmp(digest, slot + 24, 32) == 0;
}

/* Creates `path` whole with value 0 (slot 0 at generation 0, slot 1 at 1: generation g
 * always lives in slot g & 1). */
static int
seqfile_create(const char *path)
{
	uint8_t image[SEQFILE_SIZE];
	int rc;

	memset(image, 0, sizeof(image));
	if ((rc = seqfile_slot_make(image, 0, 0)) != 0 ||
	    (rc = seqfile_slot_make(image + SLOT_STRIDE, 0, 1)) != 0)
		return rc;
	return file_write_atomic(path, image, sizeof(image), 0600);
}

/* Reads the file's value and generation. */
static int
seqfile_read(seqfile_t *sf, const char *path, uint64_t *value)
{
	uint8_t image[SEQFILE_SIZE];
	struct stat st;
	int have = 0;

	if (fstat(sf->fd, &st) != 0)
		return CB_EIO;
	if (st.st_size != SEQFILE_SIZE) {
		log_warnx("%s: %lld bytes, not %d: not a watermark file", path,
		    (long long)st.st_size, SEQFILE_SIZE);
		return CB_ECORRUPT;
	}
	if (pread(sf->fd, image, sizeof(image), 0) != SEQFILE_SIZE)
		return CB_EIO;
	for (int i = 0; i < 2; i++) {
		const uint8_t *slot = image + i * SLOT_STRIDE;
		uint64_t gen = be64_get(slot + 16);

		if (!seqfile_slot_valid(slot) || (gen & 1) != (uint64_t)i ||
		    (have && gen <= sf->generation))
			continue;
		sf->generation = gen;
		*value = be64_get(slot + 8);
		have = 1;
	}
	if (!have) {
		log_warnx("%s: neither slot is whole", path);
		return CB_ECORRUPT;
	}
	return 0;
}

int
seqfile_open(const char *path, seqfile_t **out, uint64_t *value)
{
	seqfile_t *sf;
	int rc;

	*out = NULL;
	*value = 0;
	if (access(path, F_OK) != 0) {
		if (errno != ENOENT)
			return CB_EIO;
		if ((rc = seqfile_create(path)) != 0)
			return rc;
	}
	if ((sf = calloc(1, sizeof(*sf))) == NULL)
		return CB_ENOMEM;
	if ((sf->fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		free(sf);
		return CB_EIO;
	}
	if ((rc = seqfile_read(sf, path, value)) != 0) {
		seqfile_free(sf);
		return rc;
	}
	*out = sf;
	return 0;
}

int
seqfile_set(seqfile_t *sf, uint64_t value)
{
	uint64_t gen = sf->generation + 1;
	uint8_t slot[SLOT_LEN];
	int rc;

	if ((rc = seqfile_slot_make(slot, value, gen)) != 0)
		return rc;
	if (pwrite(sf->fd, slot, sizeof(slot), (off_t)(gen & 1) * SLOT_STRIDE) !=
	    (ssize_t)sizeof(slot) || fdatasync(sf->fd) != 0)
		return CB_EIO;
	sf->generation = gen;
	return 0;
}

void
seqfile_free(seqfile_t *sf)
{
	if (sf == NULL)
		return;
	close(sf->fd);
	free(sf);
}
