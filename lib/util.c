/* lib/util.c — hex, clocks, RFC 3339, big-endian integers and durable file writes.
 *
 * file_write_atomic is the only way cluebus writes a file another program will read
 * (spool receipts, inbound messages, keys): readers never see a partial file, and after
 * it returns the file survives a crash. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "cluebus/err.h"
#include "util.h"

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *in, uint8_t *out, size_t len)
{
	if (in == NULL || strlen(in) != 2 * len)
		return CB_EMALFORMED;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_nibble(in[2 * i]), lo = hex_nibble(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return CB_EMALFORMED;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
clock_format_rfc3339(int64_t ms, char *out, size_t outlen)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static int
parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
clock_parse_rfc3339(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, frac_ms = 0, off = 0;
	const char *p = s;

	if (s == NULL || parse_digits(&p, 4, &y) || *p++ != '-' ||
	    parse_digits(&p, 2, &mo) || *p++ != '-' || parse_digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't') || (p++, parse_digits(&p, 2, &h)) || *p++ != ':' ||
	    parse_digits(&p, 2, &mi) || *p++ != ':' || parse_digits(&p, 2, &sec))
		return CB_EMALFORMED;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return CB_EMALFORMED;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return CB_EMALFORMED;
	if (*p == '.') {
		int ndig = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (ndig < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
			ndig++;
			p++;
		}
		if (ndig == 0 || ndig > 9)
			return CB_EMALFORMED;
		for (int i = ndig; i < 3; i++)
			frac_ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;

		if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return CB_EMALFORMED;
		off = sign * (oh * 60 + om);
	} else {
		return CB_EMALFORMED;
	}
	if (*p != '\0')
		return CB_EMALFORMED;
	if (sec == 60)
		sec = 59;	/* a leap second is clamped to the second before it */
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	    (int64_t)off * 60) * 1000 + frac_ms;
	return 0;
}

void
be64_put(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t
be64_get(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

int
file_read_all(const char *path, size_t max, char **buf, size_t *len)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return CB_EIO;
	rc = file_read_fd(fd, max, buf, len);
	close(fd);
	return rc;
}

int
file_read_fd(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int rc = CB_EIO;

	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = CB_ETOOBIG;
		goto out;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	/* The file may have grown after fstat: refuse rather than silently truncate. */
	{
		char extra;

		if (read(fd, &extra, 1) != 0) {
			rc = CB_ETOOBIG;
			goto out;
		}
	}
	data[got] = '\0';
	*buf = data;
	*len = got;
	data = NULL;
	rc = 0;
out:
	free(data);
	return rc;
}

int
file_sync_dir(const char *dir)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return CB_EIO;
	if (fsync(fd) != 0)
		rc = CB_EIO;
	close(fd);
	return rc;
}

int
file_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
file_temp_path(const char *path, long pid, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	int n;

	n = snprintf(out, outlen, "%.*s.%s.tmp%ld", slash != NULL ? (int)(slash - path + 1) : 0,
	    path, slash != NULL ? slash + 1 : path, pid);
	if (n < 0 || (size_t)n >= outlen)
		return errno = ENAMETOOLONG, CB_EIO;
	return 0;
}

int
file_write_new(const char *path, const void *data, size_t len, int mode, int sync)
{
	int fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		return CB_EIO;
	if (file_write_all(fd, data, len) != 0 || fchmod(fd, (mode_t)mode) != 0 ||
	    (sync && fsync(fd) != 0))
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(path);
	errno = saved;
	return CB_EIO;
}

int
file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int saved;

	if (slash != NULL) {
		size_t dlen = (size_t)(slash - path);

		if (dlen >= sizeof(dir))
			return errno = ENAMETOOLONG, CB_EIO;
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	} else {
		strcpy(dir, ".");
	}
	if (file_temp_path(path, (long)getpid(), tmp, sizeof(tmp)) != 0 ||
	    file_write_new(tmp, data, len, mode, 1) != 0)
		return CB_EIO;
	if (rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return CB_EIO;
	}
	return file_sync_dir(dir);
}

int
file_mkdirs(const char *path, int mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return errno = EINVAL, CB_EIO;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return CB_EIO;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return CB_EIO;
	return 0;
}

int
rand_bytes(uint8_t *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : CB_ECRYPTO;
}

int
unit_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return 0;
	for (; id[n] != '\0'; n++) {
		char c = id[n];

		if (n >= CB_UNIT_ID_MAX || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return n > 0;
}

void
str_sanitize(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < inlen && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
}

int
u64_push(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		uint64_t *nv = realloc(*v, ncap * sizeof(*nv));

		if (nv == NULL)
			return CB_ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* jansson's UTF-8 check (json_stringn refuses invalid sequences and NUL bytes) decides
 * between keeping the text and escaping it. */
void
str_text_copy(const char *in, size_t inlen, char *out, size_t outlen)
{
	json_t	*probe;
	size_t	 n = 0;

	if (outlen == 0)
		return;
	if ((probe = json_stringn(in, inlen)) == NULL) {
		str_sanitize(in, inlen, out, outlen);
		return;
	}
	json_decref(probe);
	for (; n < inlen && n + 1 < outlen; n++) {
		unsigned char c = (unsigned char)in[n];

		out[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (n < inlen)	/* cut: drop a character whose continuation bytes did not fit */
		while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
			n--;
	out[n] = '\0';
}

void
str_utf8_trim(char *s)
{
	size_t n = strlen(s), lead = n, need;
	unsigned char c;

	while (lead > 0 && n - lead < 3 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	c = (unsigned char)s[lead - 1];
	if (c < 0xc0)
		return;		/* ASCII, or continuation bytes without a lead: not a cut */
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (n - (lead - 1) < need)
		s[lead - 1] = '\0';
}
