/* lib/pemfile.c — key files in PEM, of any key type (see pemfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cluebus/err.h"
#include "pemfile.h"

int
pemfile_read_private(const char *path, EVP_PKEY **out)
{
	struct stat st;
	EVP_PKEY *pkey;
	FILE *f;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return CB_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return CB_EIO;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return CB_EPERM;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return CB_EIO;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL)
		return CB_EKEY;
	*out = pkey;
	return 0;
}

int
pemfile_read_public(const char *path, EVP_PKEY **out)
{
	EVP_PKEY *pkey;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return CB_EIO;
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL)
		return CB_EKEY;
	*out = pkey;
	return 0;
}

int
pemfile_write(EVP_PKEY *pkey, const char *path, int private)
{
	FILE *f;
	int fd, ok;

	if (private) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return errno == EEXIST ? CB_EEXIST : CB_EIO;
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return CB_EIO;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return CB_EIO;
	}
	ok = private ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_PUBKEY(f, pkey);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (ok != 1) {
		unlink(path);
		return CB_ECRYPTO;
	}
	return 0;
}

int
pemfile_key_public(EVP_PKEY *pkey, int type, uint8_t pub[32], uint8_t id[8])
{
	uint8_t digest[32];
	size_t publen = 32;

	if (EVP_PKEY_get_id(pkey) != type)
		return CB_EKEY;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 || publen != 32 ||
	    EVP_Digest(pub, 32, digest, NULL, EVP_sha256(), NULL) != 1)
		return CB_ECRYPTO;
	memcpy(id, digest, 8);
	return 0;
}
