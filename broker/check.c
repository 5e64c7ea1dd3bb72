/* broker/check.c — the key files a start needs, each checked, every problem reported.
 *
 * `--check` and a start both run this before loading any key, so that an operator learns
 * in one run everything that is wrong with the key files, each as "what PATH: reason" in
 * words ("no such file", "mode 0644, must be 0600"), rather than the first error code.
 * Invariants: (1) every configured key file is checked, whatever an earlier one showed;
 * (2) a private key file is refused unless it is a regular file with no group or other
 * permission bits; (3) nothing is kept: the caller loads the keys afterwards. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "broker.h"
#include "log.h"
#include "transport.h"

enum check_kind { CHECK_SIGN_PRIVATE, CHECK_TRANSPORT_SECRET, CHECK_SIGN_PUBLIC };

/* Checks one key file; logs each problem. Returns the number of problems (0 or 1). */
static int
check_key_file(const char *what, const char *path, enum check_kind kind)
{
	transport_keypair_t tkey;
	cb_key_t *k = NULL;
	struct stat st;
	int rc;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			log_warnx("%s: no such file: %s", what, path);
		else
			log_warn("%s %s", what, path);
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s %s: not a regular file", what, path);
		return 1;
	}
	if (kind != CHECK_SIGN_PUBLIC && (st.st_mode & 077) != 0) {
		log_warnx("%s %s: mode %04o, must be 0600 (a private key readable by others)",
		    what, path, (unsigned)(st.st_mode & 07777));
		return 1;
	}
	switch (kind) {
	case CHECK_SIGN_PRIVATE:
		rc = key_load_private(path, &k);
		break;
	case CHECK_TRANSPORT_SECRET:
		rc = transport_load_secret(path, &tkey);
		OPENSSL_cleanse(&tkey, sizeof(tkey));
		break;
	default:
		rc = key_load_public(path, &k);
		break;
	}
	key_free(k);
	if (rc == 0)
		return 0;
	if (rc == CB_EIO)
		log_warnx("%s %s: cannot read: %s", what, path, strerror(errno));
	else
		log_warnx("%s %s: does not parse as %s", what, path,
		    kind == CHECK_SIGN_PRIVATE ? "a PEM Ed25519 private key" :
		    kind == CHECK_TRANSPORT_SECRET ? "a Z85 CURVE secret key" :
		    "a PEM Ed25519 public key");
	return 1;
}

int
check_keys(const broker_config_t *cfg)
{
	int problems = 0;

	problems += check_key_file("broker key", cfg->key_path, CHECK_SIGN_PRIVATE);
	problems += check_key_file("broker transport key", cfg->transport_key_path,
	    CHECK_TRANSPORT_SECRET);
	if (cfg->admin_key_path[0] != '\0')
		problems += check_key_file("admin key", cfg->admin_key_path,
		    CHECK_SIGN_PUBLIC);
	if (cfg->http_token_path[0] != '\0')
		problems += check_token_file(cfg->http_token_path, NULL, 0);
	return problems;
}

int
check_token_file(const char *path, char *token, size_t len)
{
	char buf[256];
	struct stat st;
	size_t n = 0;
	FILE *f;
	int c;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			log_warnx("http token: no such file: %s", path);
		else
			log_warn("http token %s", path);
		return 1;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		log_warnx("http token %s: mode %04o, must be a regular file of mode 0600", path,
		    (unsigned)(st.st_mode & 07777));
		fclose(f);
		return 1;
	}
	while ((c = fgetc(f)) != EOF && c != '\n' && isgraph(c) && n + 1 < sizeof(buf))
		buf[n++] = (char)c;
	buf[n] = '\0';
	fclose(f);
	if (n < 16 || (c != '\n' && c != EOF)) {
		log_warnx("http token %s: must be one line of 16 to %zu printable characters "
		    "without spaces", path,
		    sizeof(buf) - 2);
		OPENSSL_cleanse(buf, sizeof(buf));
		return 1;
	}
	if (token != NULL)
		snprintf(token, len, "%s", buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}
