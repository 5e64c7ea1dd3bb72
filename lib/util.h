/* lib/util.h — small helpers shared by every module: hex, time, bounded file I/O.
 *
 * Nothing here allocates except where a function says so; every function that touches
 * outside input bounds its sizes first. */
#ifndef CB_UTIL_H
#define CB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/ids.h"

/* Writes 2*len lowercase hex digits and a NUL to `out` (size >= 2*len+1). Cannot fail. */
void	hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly `len` bytes from a string of exactly 2*len hex digits.
 * Returns 0, or CB_EMALFORMED. */
int	hex_decode(const char *in, uint8_t *out, size_t len)
    __attribute__((warn_unused_result));

/* Milliseconds since the epoch, from CLOCK_REALTIME. Cannot fail. */
int64_t	clock_now_ms(void);
/* Milliseconds from CLOCK_MONOTONIC, for timers. Cannot fail. */
int64_t	clock_mono_ms(void);
/* Formats `ms` as RFC 3339 UTC with milliseconds ("2026-11-29T03:20:31.123Z") into
 * `out` (size >= 32). Cannot fail. */
void	clock_format_rfc3339(int64_t ms, char *out, size_t outlen);
/* Parses an RFC 3339 date-time (with 'Z' or a ±hh:mm offset, optional fraction up to
 * 9 digits) into ms since the epoch. Returns 0 or CB_EMALFORMED. Years 1970..9999. */
int	clock_parse_rfc3339(const char *s, int64_t *ms)
    __attribute__((warn_unused_result));

/* Big-endian 64-bit encode/decode. Cannot fail. */
void	be64_put(uint8_t out[8], uint64_t v);
uint64_t be64_get(const uint8_t in[8]);

/* Reads a whole regular file of at most `max` bytes into a new NUL-terminated buffer
 * (caller frees). Returns 0, CB_ETOOBIG, CB_EIO (errno set) or CB_ENOMEM. */
int	file_read_all(const char *path, size_t max, char **buf, size_t *len)
    __attribute__((warn_unused_result));
/* file_read_all for a file already open as `fd` (read from its current offset; borrowed,
 * left open), so that what was checked with fstat is what is read. */
int	file_read_fd(int fd, size_t max, char **buf, size_t *len)
    __attribute__((warn_unused_result));
/* Writes all `len` bytes to `fd`, retrying short writes and EINTR. Returns 0, or -1 with
 * errno set. */
int	file_write_all(int fd, const void *data, size_t len) __attribute__((warn_unused_result));
/* Writes to `out` the name of the temporary file that stands for `path` until it is renamed
 * into place: ".NAME.tmpPID" in the same directory, hidden from spool scanners (the agent
 * recognizes its own leftovers by this form). Returns 0, or CB_EIO (ENAMETOOLONG). */
int	file_temp_path(const char *path, long pid, char *out, size_t outlen)
    __attribute__((warn_unused_result));
/* Creates (or truncates) `path` with `mode` and writes `len` bytes to it, fsynced when
 * `sync`. Returns 0, or CB_EIO (errno set) with `path` removed. */
int	file_write_new(const char *path, const void *data, size_t len, int mode, int sync)
    __attribute__((warn_unused_result));
/* Writes `len` bytes to `path` atomically and durably: a temporary file in the same
 * directory (file_temp_path), fsync, rename over `path`, fsync of the directory. `mode` is
 * the new file's mode. Returns 0 or CB_EIO (errno set); on error `path` is untouched. */
int	file_write_atomic(const char *path, const void *data, size_t len, int mode)
    __attribute__((warn_unused_result));
/* fsyncs a directory. Returns 0 or CB_EIO. */
int	file_sync_dir(const char *dir) __attribute__((warn_unused_result));
/* mkdir -p with `mode` for created directories. Returns 0 or CB_EIO. */
int	file_mkdirs(const char *path, int mode) __attribute__((warn_unused_result));

/* Fills `buf` with `len` bytes from OpenSSL's CSPRNG. Returns 0 or CB_ECRYPTO. */
int	rand_bytes(uint8_t *buf, size_t len) __attribute__((warn_unused_result));

/* Appends `x` to the growing array *v of *n items (room for *cap), doubling it when full.
 * Returns 0, or CB_ENOMEM with *v unchanged. */
int	u64_push(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
    __attribute__((warn_unused_result));

/* Whether `id` is a valid unit id: [a-z0-9-]{1,32}. */
int	unit_id_valid(const char *id);

/* Copies `in` to `out` (size outlen) with bytes outside printable ASCII escaped as \xNN,
 * for logging strings that came from outside. Cannot fail. */
void	str_sanitize(const char *in, size_t inlen, char *out, size_t outlen);

/* Copies peer text `in` (inlen bytes) to `out` (size outlen) as written when it is valid
 * UTF-8: control characters become '?', and text that does not fit is cut at a character
 * boundary. Text that is not valid UTF-8 is escaped as str_sanitize() does. Cannot fail. */
void	str_text_copy(const char *in, size_t inlen, char *out, size_t outlen);

/* Drops an incomplete UTF-8 sequence at the end of `s` (left by a cut such as snprintf's),
 * so that valid UTF-8 stays valid. Cannot fail. */
void	str_utf8_trim(char *s);

#endif
