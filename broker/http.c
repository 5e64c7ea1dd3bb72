/* broker/http.c — libmicrohttpd serving /metrics (Prometheus) and / (the status page).
 *
 * Operators' monitoring reads the broker over HTTP, but the broker's state belongs to its
 * event loop, which never waits for a reader. So the loop publishes a finished snapshot
 * (status_snapshot's JSON) about once a second, and libmicrohttpd's own thread
 * (MHD_USE_INTERNAL_POLLING_THREAD) renders each answer from the latest snapshot.
 * Invariants: (1) the HTTP thread touches nothing of the broker but `struct http`, and
 * the snapshot only while holding its mutex; a snapshot is never changed once published
 * and is freed only after it was replaced under the mutex; (2) every request needs the
 * token of http_token (a 0600 file): "Authorization: Bearer TOKEN", or, so that a
 * browser can log in to the page, HTTP Basic with the token as the password (any user
 * name); anything else is refused with 401 before any figure is rendered; (3) the token
 * is compared in constant time and never logged. */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "broker.h"
#include "log.h"
#include "util.h"

#define HTTP_TOKEN_MAX	256

struct http {
	struct MHD_Daemon	*daemon;
	pthread_mutex_t		 mu;
	json_t			*snap;		/* guarded by mu; NULL until the first */
	char			 token[HTTP_TOKEN_MAX];
};

/* Whether `given` (not NUL-terminated, `len` bytes) is the token, in constant time for
 * tokens of the right length. */
static int
http_token_ok(const struct http *h, const char *given, size_t len)
{
	size_t tlen = strlen(h->token);

	return given != NULL && len == tlen && CRYPTO_memcmp(given, h->token, tlen) == 0;
}

static int
http_authorized(const struct http *h, struct MHD_Connection *c)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	char *user, *pass = NULL;
	int ok;

	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		return http_token_ok(h, auth + 7, strlen(auth + 7));
	if ((user = MHD_basic_auth_get_username_password(c, &pass)) == NULL)
		return 0;
	ok = pass != NULL && http_token_ok(h, pass, strlen(pass));
	if (pass != NULL) {
		OPENSSL_cleanse(pass, strlen(pass));
		MHD_free(pass);
	}
	MHD_free(user);
	return ok;
}

static enum MHD_Result
http_send(struct MHD_Connection *c, unsigned status, const char *type, char *body,
    size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if ((r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED) {	/* two challenges, a browser's first */
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Basic realm=\"cluebus\", charset=\"UTF-8\"");
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"cluebus\"");
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
http_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char *body = strdup(text);

	return body != NULL ? http_send(c, status, "text/plain; charset=utf-8", body,
	    strlen(body)) : MHD_NO;
}

static enum MHD_Result
http_answer(void *arg, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
	struct http *h = arg;
	char *body = NULL;
	size_t len = 0;
	int page;
	FILE *f;

	(void)version;
	(void)upload;
	if (*con_cls == NULL) {		/* headers only so far: answer when complete */
		*con_cls = h;
		return MHD_YES;
	}
	if (*upload_len != 0)
		return http_text(c, MHD_HTTP_BAD_REQUEST, "no request body expected\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return http_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (!http_authorized(h, c))
		return http_text(c, MHD_HTTP_UNAUTHORIZED, "a bearer token is required\n");
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/") != 0)
		return http_text(c, MHD_HTTP_NOT_FOUND, "no such page (/ or /metrics)\n");
	page = strcmp(url, "/") == 0;
	if ((f = open_memstream(&body, &len)) == NULL)
		return MHD_NO;
	pthread_mutex_lock(&h->mu);
	if (h->snap != NULL) {
		if (page)
			page_render(h->snap, f);
		else
			metrics_render(h->snap, f);
	}
	pthread_mutex_unlock(&h->mu);
	if (fclose(f) != 0) {
		free(body);
		return MHD_NO;
	}
	if (len == 0) {
		free(body);
		return http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting, no figures yet\n");
	}
	return http_send(c, MHD_HTTP_OK, page ? "text/html; charset=utf-8" :
	    "text/plain; version=0.0.4; charset=utf-8", body, len);
}

/* Parses "ADDR:PORT" ("[ADDR]:PORT" for IPv6) into `ss`. Returns 0 or CB_ECONFIG. */
static int
http_address(const char *listen, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *ai = NULL;
	char host[64];
	const char *colon = strrchr(listen, ':');
	size_t hlen;

	if (colon == NULL || colon == listen || colon[1] == '\0')
		return CB_ECONFIG;
	hlen = (size_t)(colon - listen);
	if (listen[0] == '[' && hlen >= 2 && listen[hlen - 1] == ']') {
		listen++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return CB_ECONFIG;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return CB_ECONFIG;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static int
http_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int
http_open(struct broker *b)
{
	struct sockaddr_storage ss;
	struct http *h;

	if (b->cfg.http_listen[0] == '\0')
		return 0;
	if (http_address(b->cfg.http_listen, &ss) != 0) {
		log_warnx("http_listen %s: not ADDR:PORT with a numeric address",
		    b->cfg.http_listen);
		return CB_ECONFIG;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return CB_ENOMEM;
	if (check_token_file(b->cfg.http_token_path, h->token, sizeof(h->token)) != 0) {
		free(h);
		return CB_EPERM;
	}
	pthread_mutex_init(&h->mu, NULL);
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
	    (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, http_answer, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)8,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	    MHD_OPTION_END);
	if (h->daemon == NULL) {
		log_warnx("http: cannot listen on %s", b->cfg.http_listen);
		pthread_mutex_destroy(&h->mu);
		OPENSSL_cleanse(h->token, sizeof(h->token));
		free(h);
		return CB_EIO;
	}
	b->http = h;
	log_info("http: /metrics and the status page on %s%s", b->cfg.http_listen,
	    http_loopback(&ss) ? "" : " (not loopback: keep it behind a firewall)");
	return 0;
}

void
http_publish(struct broker *b, json_t *snap)
{
	json_t *old;

	if (b->http == NULL) {
		json_decref(snap);
		return;
	}
	pthread_mutex_lock(&b->http->mu);
	old = b->http->snap;
	b->http->snap = snap;
	pthread_mutex_unlock(&b->http->mu);
	json_decref(old);
}

void
http_close(struct broker *b)
{
	struct http *h = b->http;

	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);	/* joins its thread: nobody reads the snapshot now */
	json_decref(h->snap);
	pthread_mutex_destroy(&h->mu);
	OPENSSL_cleanse(h->token, sizeof(h->token));
	free(h);
	b->http = NULL;
}
