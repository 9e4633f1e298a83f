/*
 * fc_http.c - the HTTP transport: libcurl POST and retry with backoff.
 *
 * The library talks to the server only through an fc_post_fn, so tests can
 * script answers (a page, a rejection, garbage, a dropped connection) without
 * a network. The default implementation here uses one libcurl easy handle
 * per request, with a total timeout and a hard cap on the answer size
 * enforced while receiving, so a hostile or broken server cannot make the
 * client allocate without bound.
 *
 * The connections stay open between requests (HTTP keep-alive) in a cache
 * the client handle owns (fc_conns, a libcurl share of its connection
 * cache, used from the caller's thread and the thread that asks for pages
 * ahead): a first sync is one request per page, and a new connection per
 * page cost a TCP (and, over HTTPS, a TLS) handshake each, about a tenth
 * of a 10k-row bootstrap on loopback (docs/BENCHMARKS.md, session 10). A
 * kept connection the server has closed meanwhile (its idle timeout is
 * 60 s) is noticed by libcurl, which connects anew; one is not reused after
 * FC_CONN_MAX_AGE_S. A request that a dying connection may have delivered
 * is a network error, retried like any other (the batch id makes a resend
 * harmless).
 *
 * A connection cut anywhere in the answer, the header block included, is a
 * network error like a refused connection (on_header, fc__curl_post).
 *
 * fc__post_retry wraps any transport: network failures and 502/503/504 are
 * retried with exponential backoff (base * 2^attempt, capped) and full
 * jitter in [delay/2, delay], so many devices coming back online at once do
 * not hammer the server in lockstep.
 */
#include "fc_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define FC_CONN_MAX_AGE_S 30L

/*
 * Compressing a sync answer costs the server about 1 ms and the client
 * 0.5 ms per 110 KiB page (deflate level 1, inflate; bench/sync profiles,
 * docs/BENCHMARKS.md session 10) and saves three quarters of its bytes on
 * the link: worth it below about 55 MB/s. Above FC_FAST_LINK the client
 * sends its sync requests uncompressed, and the server answers in the
 * request's encoding. An answer body shorter than FC_LINK_SAMPLE arrives
 * in one or two packets on any link and says nothing about its speed.
 */
#define FC_FAST_LINK (64.0 * 1024 * 1024)
#define FC_LINK_SAMPLE (16u * 1024)

/* The client's open connections: a libcurl share of the connection cache,
 * with a lock per kind of shared data (libcurl may take the share's own
 * lock while it holds the cache's). */
struct fc_conns {
    CURLSH *share;
    pthread_mutex_t mu[CURL_LOCK_DATA_LAST];
};

static void conns_lock(CURL *h, curl_lock_data data, curl_lock_access access,
                       void *userptr)
{
    fc_conns *k = userptr;

    (void)h;
    (void)access;
    pthread_mutex_lock(&k->mu[data]);
}

static void conns_unlock(CURL *h, curl_lock_data data, void *userptr)
{
    fc_conns *k = userptr;

    (void)h;
    pthread_mutex_unlock(&k->mu[data]);
}

fc_conns *fc__conns_new(void)
{
    fc_conns *k = calloc(1, sizeof *k);
    int i = 0;

    if (!k)
        return NULL;
    for (; i < CURL_LOCK_DATA_LAST; i++)
        if (pthread_mutex_init(&k->mu[i], NULL) != 0)
            goto fail;
    k->share = curl_share_init();
    if (!k->share ||
        curl_share_setopt(k->share, CURLSHOPT_LOCKFUNC, conns_lock) != CURLSHE_OK ||
        curl_share_setopt(k->share, CURLSHOPT_UNLOCKFUNC, conns_unlock) != CURLSHE_OK ||
        curl_share_setopt(k->share, CURLSHOPT_USERDATA, k) != CURLSHE_OK ||
        curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)
        goto fail;
    return k;
fail:
    if (k->share)
        curl_share_cleanup(k->share);
    while (i-- > 0)
        pthread_mutex_destroy(&k->mu[i]);
    free(k);
    return NULL;
}

/* Closes the kept connections; no request may be running. */
void fc__conns_free(fc_conns *k)
{
    if (!k)
        return;
    curl_share_cleanup(k->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&k->mu[i]);
    free(k);
}

typedef struct recv_buf {
    uint8_t *p;
    size_t n, cap, max;
    bool toobig;
} recv_buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    recv_buf *b = userdata;
    size_t n = size * nmemb;

    if (n > b->max - b->n) {
        b->toobig = true;
        return 0; /* aborts the transfer */
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        uint8_t *np;
        while (cap < b->n + n)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        np = realloc(b->p, cap);
        if (!np)
            return 0;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return n;
}

/* complete: the header block's closing blank line arrived. libcurl hands
 * over what it got when the connection closes inside the headers as an
 * answer (status 200, no body), so only this tells a cut from an answer. */
typedef struct hdr_state {
    char enc[32];
    bool complete;
    bool has_next;
    uint64_t next_cursor;
} hdr_state;

/* The value of header `name` (lower case, with its colon) in the header
 * line data[0..n), trimmed, or NULL when the line is another header. */
static const char *header_value(const char *data, size_t n, const char *name,
                                size_t *len)
{
    size_t k = strlen(name);
    const char *v = data + k;

    if (n <= k || strncasecmp(data, name, k) != 0)
        return NULL;
    *len = n - k;
    while (*len && (*v == ' ' || *v == '\t')) {
        v++;
        (*len)--;
    }
    while (*len && (v[*len - 1] == '\r' || v[*len - 1] == '\n' || v[*len - 1] == ' '))
        (*len)--;
    return v;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    hdr_state *h = userdata;
    size_t n = size * nitems, len = 0;
    const char *v;

    /* A status line starts a new block (an interim 1xx has its own). */
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        h->complete = false;
        h->enc[0] = '\0';
        h->has_next = false;
    } else if ((n == 2 && data[0] == '\r' && data[1] == '\n') ||
               (n == 1 && data[0] == '\n')) {
        h->complete = true;
    }

    if ((v = header_value(data, n, "content-encoding:", &len)) != NULL) {
        if (len >= sizeof h->enc)
            len = sizeof h->enc - 1;
        memcpy(h->enc, v, len);
        h->enc[len] = '\0';
    } else if ((v = header_value(data, n, "fieldsync-next-cursor:", &len)) != NULL) {
        /* Digits only; anything else is no hint (the body decides). */
        uint64_t x = 0;
        size_t i = 0;
        while (i < len && i < 20 && v[i] >= '0' && v[i] <= '9')
            x = x * 10 + (uint64_t)(v[i++] - '0');
        h->has_next = i == len && i > 0 && i < 20;
        h->next_cursor = x;
    }
    return n;
}

fc_status fc__curl_post(const char *url, const char *content_type,
                        const char *content_encoding, const char *token,
                        const uint8_t *body, size_t len, fc_http_response *resp,
                        fs_error *err, void *payload)
{
    const fc_curl_ctx *ctx = payload;
    const fc_options *opt = ctx->opt;
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    recv_buf rb = {0};
    hdr_state hs = {{0}, false, false, 0};
    char line[512];
    CURLcode cc;
    curl_off_t clen = -1;
    fc_status rc = FC_OK;
    long timeout = opt && opt->timeout_ms ? opt->timeout_ms : 30000;

    rb.max = opt && opt->max_response ? opt->max_response : 16u << 20;
    memset(resp, 0, sizeof *resp);
    h = curl_easy_init();
    if (!h)
        return fc__fail(err, FC_ENOMEM, "cannot initialise libcurl");
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    hdrs = curl_slist_append(hdrs, line);
    if (content_encoding && strcmp(content_encoding, "identity") != 0) {
        snprintf(line, sizeof line, "Content-Encoding: %s", content_encoding);
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/x-protobuf");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (!hdrs) {
        rc = fc__fail(err, FC_ENOMEM, "out of memory building headers");
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (ctx->conns) {
        curl_easy_setopt(h, CURLOPT_SHARE, ctx->conns->share);
        curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, FC_CONN_MAX_AGE_S);
    }
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (rb.toobig)
            rc = fc__fail(err, FC_ENETWORK, "the server's answer is larger than "
                          "%zu bytes; refused", rb.max);
        else
            /* No connection at all: the request certainly never left. */
            rc = fc__fail(err, cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                                   cc == CURLE_COULDNT_RESOLVE_PROXY
                              ? FC_EOFFLINE : FC_ENETWORK,
                          "%s: %s", url, curl_easy_strerror(cc));
        goto done;
    }
    /* A cut anywhere in the answer is a network error (retried), never
     * an answer to decode: inside the headers (libcurl returns OK then),
     * or inside a body shorter than its Content-Length. */
    if (!hs.complete) {
        rc = fc__fail(err, FC_ENETWORK, "%s: the connection was cut inside the "
                      "answer's headers", url);
        goto done;
    }
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen) == CURLE_OK &&
        clen >= 0 && (uint64_t)clen != rb.n) {
        rc = fc__fail(err, FC_ENETWORK, "%s: the connection was cut inside the "
                      "answer (%zu of %lld bytes)", url, rb.n, (long long)clen);
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    {
        curl_off_t first = 0, total = 0;
        if (rb.n >= FC_LINK_SAMPLE &&
            curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &first) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total) == CURLE_OK)
            resp->link_bytes_per_s =
                (double)rb.n * 1e6 / (double)(total - first > 0 ? total - first : 1);
    }
    snprintf(resp->content_encoding, sizeof resp->content_encoding, "%s", hs.enc);
    resp->has_next = hs.has_next;
    resp->next_cursor = hs.next_cursor;
    resp->body = rb.p;
    resp->len = rb.n;
    rb.p = NULL;
done:
    free(rb.p);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static unsigned jitter(unsigned delay)
{
    uint32_t r = 0;

    if (delay < 2)
        return delay;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL);
    return delay / 2 + r % (delay / 2 + 1);
}

fs_proto_encoding fc__sync_encoding(fc_client *c)
{
    return atomic_load(&c->fast_link) ? FS_PROTO_IDENTITY : FS_PROTO_DEFLATE;
}

fc_status fc__post_retry(fc_client *c, const char *url, const char *token,
                         fs_proto_encoding enc,
                         const uint8_t *body, size_t len, fc_http_response *resp,
                         fc_progress *prog, fc_progress_fn progress,
                         void *payload, fs_error *err)
{
    fc_curl_ctx curl = {&c->opt, c->conns};
    fc_post_fn post = c->opt.post ? c->opt.post : fc__curl_post;
    void *pp = c->opt.post ? c->opt.post_payload : &curl;
    unsigned retries = c->opt.retries == FC_NO_RETRY ? 0
                       : c->opt.retries ? c->opt.retries : 4;
    unsigned base = c->opt.backoff_ms ? c->opt.backoff_ms : 500;
    unsigned cap = c->opt.backoff_max_ms ? c->opt.backoff_max_ms : 30000;
    fc_status rc = FC_OK;
    bool maybe_sent = false; /* an attempt may have reached the server */

    for (unsigned attempt = 0;; attempt++) {
        uint64_t delay;
        bool retryable;

        memset(resp, 0, sizeof *resp);
        rc = post(url, "application/x-protobuf", fs_proto_encoding_name(enc), token,
                  body, len, resp, err, pp);
        if (rc == FC_OK && resp->link_bytes_per_s > 0)
            atomic_store(&c->fast_link, resp->link_bytes_per_s >= FC_FAST_LINK);
        maybe_sent = maybe_sent || rc != FC_EOFFLINE;
        retryable = rc == FC_ENETWORK || rc == FC_EOFFLINE ||
                    (rc == FC_OK && (resp->status == 502 || resp->status == 503 ||
                                     resp->status == 504));
        if (!retryable || attempt >= retries)
            break;
        if (rc == FC_OK) {
            fc__fail(err, FC_EHTTP, "server busy (HTTP %ld)", resp->status);
            free(resp->body);
            memset(resp, 0, sizeof *resp);
        }
        delay = (uint64_t)base << (attempt < 20 ? attempt : 20);
        if (delay > cap)
            delay = cap;
        if (prog && progress) {
            prog->retry = attempt + 1;
            snprintf(prog->note, sizeof prog->note, "%.150s", err ? err->text : "retrying");
            progress(prog, payload);
        }
        sleep_ms(jitter((unsigned)delay));
    }
    if (prog)
        prog->retry = 0;
    /* Offline only if no attempt at all may have been delivered. */
    if (rc == FC_EOFFLINE && maybe_sent) {
        rc = FC_ENETWORK;
        if (err)
            err->code = FC_ENETWORK;
    }
    if (rc == FC_OK && (resp->status == 502 || resp->status == 503 ||
                        resp->status == 504) && err)
        snprintf(err->text, sizeof err->text, "server busy (HTTP %ld)", resp->status);
    return rc;
}
