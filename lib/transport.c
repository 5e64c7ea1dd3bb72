/* lib/transport.c — CURVE key files and encodings (libzmq's CurveZMQ primitives). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zmq.h>

#include "cluebus/err.h"
#include "transport.h"

int
transport_z85_decode(const char *z85, uint8_t raw[TRANSPORT_KEY_LEN])
{
	if (z85 == NULL || strlen(z85) != TRANSPORT_Z85_LEN || zmq_z85_decode(raw, z85) == NULL)
		return CB_EKEY;
	return 0;
}

int
transport_z85_encode(const uint8_t *raw, size_t len, char z85[TRANSPORT_Z85_LEN + 1])
{
	if (raw == NULL || len != TRANSPORT_KEY_LEN || zmq_z85_encode(z85, raw, len) == NULL)
		return CB_EKEY;
	return 0;
}

/* Reads one Z85 key (40 characters, an optional newline) from a file. */
static int
read_z85(int fd, char out[TRANSPORT_Z85_LEN + 1])
{
	char buf[TRANSPORT_Z85_LEN + 3];
	uint8_t raw[TRANSPORT_KEY_LEN];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n < TRANSPORT_Z85_LEN)
		return CB_EKEY;
	buf[n] = '\0';
	if (n > TRANSPORT_Z85_LEN && strcmp(buf + TRANSPORT_Z85_LEN, "\n") != 0)
		return CB_EKEY;
	buf[TRANSPORT_Z85_LEN] = '\0';
	if (transport_z85_decode(buf, raw) != 0)
		return CB_EKEY;
	memcpy(out, buf, TRANSPORT_Z85_LEN + 1);
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int
transport_load_secret(const char *path, transport_keypair_t *kp)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return CB_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = CB_EIO;
	else if ((st.st_mode & 077) != 0)
		rc = CB_EPERM;
	else if ((rc = read_z85(fd, kp->secret_z85)) == 0 &&
	    zmq_curve_public(kp->public_z85, kp->secret_z85) != 0)
		rc = CB_EKEY;
	close(fd);
	return rc;
}

int
transport_load_public(const char *path, char public_z85[TRANSPORT_Z85_LEN + 1])
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return CB_EIO;
	rc = read_z85(fd, public_z85);
	close(fd);
	return rc;
}

static int
write_line(const char *path, const char *line, int mode, int exclusive)
{
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), mode);
	if (fd < 0)
		return errno == EEXIST ? CB_EEXIST : CB_EIO;
	ok = write(fd, line, strlen(line)) == (ssize_t)strlen(line) && write(fd, "\n", 1) == 1 &&
	    fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (!ok) {
		unlink(path);
		return CB_EIO;
	}
	return 0;
}

int
transport_keygen(const char *dir, const char *name)
{
	transport_keypair_t kp;
	char path[4096];
	int rc;

	if (zmq_curve_keypair(kp.public_z85, kp.secret_z85) != 0)
		return CB_ECRYPTO;
	snprintf(path, sizeof(path), "%s/%s.curve", dir, name);
	if ((rc = write_line(path, kp.secret_z85, 0600, 1)) == 0) {
		snprintf(path, sizeof(path), "%s/%s.curve.pub", dir, name);
		rc = write_line(path, kp.public_z85, 0644, 0);
	}
	OPENSSL_cleanse(&kp, sizeof(kp));
	return rc;
}
