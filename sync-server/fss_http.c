/*
 * fss_http.c - the server's lifecycle and its HTTP face: opening the store,
 * starting libmicrohttpd with a thread pool (optionally TLS through
 * GnuTLS), accumulating request bodies under a hard cap, routing to the
 * handlers, the error bodies (protobuf ErrorBody for /v1, JSON for admin),
 * the JSON-lines request log, and the graceful stop (quiesce, drain, stop).
 *
 * The routing function fss_handle() works on an fss_request struct, so the
 * same code serves sockets, in-process tests and fuzzers.
 */
#include "fss_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* A connection's memory pool in libmicrohttpd (see fss_server_start). */
#define FSS_HTTP_CONN_POOL (32 * 1024)

void fss_config_default(fss_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->db_path = "fieldsync.db";
    cfg->bind_addr = "127.0.0.1";
    cfg->port = 8080;
    cfg->threads = 4;
    cfg->page_size = 500;
    cfg->max_page_size = 5000;
    cfg->deflate_level = 1;
    cfg->max_body = 8u << 20;
    cfg->max_inflated = 32u << 20;
    cfg->max_ahead_ms = 5 * 60 * 1000;
    cfg->geofence_m = 200.0;
    cfg->time_check_ms = 10 * 60 * 1000;
    cfg->enroll_ttl_s = 7 * 24 * 3600;
    cfg->wal = true;
    cfg->auth_fail_limit = 10;
    cfg->auth_fail_window_s = 60;
    cfg->drain_timeout_s = 30;
    fs_score_params_default(&cfg->score);
    cfg->analyze_every_s = 86400;
    cfg->analyze_batch = 500;
    cfg->pool_reclaim_days = 60; /* CRM.md section 5 */
    cfg->pool_warn_days = 7;
    cfg->pool_bar_days = 30;
    cfg->pool_daily_quota = 5;
    cfg->reclaim_every_s = 3600;
    cfg->session_ttl_s = 8 * 3600;
    cfg->login_fail_limit = 5;
    cfg->login_fail_window_s = 900;
    cfg->survey_delay_s = 2 * 86400;
    cfg->vendor_root = "/usr/share/javascript";
}

static int route_of(const char *path)
{
    if (!path)
        return FSS_ROUTE_OTHER;
    if (strcmp(path, "/v1/sync") == 0)
        return FSS_ROUTE_SYNC;
    if (strcmp(path, "/v1/enroll") == 0)
        return FSS_ROUTE_ENROLL;
    if (strcmp(path, "/healthz") == 0)
        return FSS_ROUTE_HEALTH;
    if (strcmp(path, "/metrics") == 0)
        return FSS_ROUTE_METRICS;
    if (strncmp(path, "/admin/v1/", 10) == 0)
        return FSS_ROUTE_ADMIN;
    return FSS_ROUTE_OTHER;
}

static void handle_health(fss_server *s, const fss_request *req,
                          fss_response *resp)
{
    fss_conn *c;
    fss_buf b = {0};
    bool ok = false;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        fss__error_json(resp, 405, "use GET");
        return;
    }
    c = fss__conn_get(s, 2000);
    if (c) {
        ok = fss__repo_ping(c);
        fss__conn_put(s, c);
    }
    fss_buf_puts(&b, ok ? "{\"status\":\"ok\"}\n"
                        : "{\"status\":\"unavailable\"}\n");
    fss__respond_buf(resp, ok ? 200 : 503, "application/json", &b);
}

/* PROTOCOL.md: an ErrorBody is framed like the request. The handlers build
 * it identity-framed (the request's framing may be what is wrong); when the
 * request named a coding we speak, the body is re-framed here. */
static void frame_error_like_request(const fss_request *req, fss_response *resp)
{
    fs_proto_encoding enc;
    fs_proto_buf out = {0};
    uint8_t *copy;

    if (resp->status < 300 || resp->content_encoding || !resp->body ||
        !resp->content_type || strcmp(resp->content_type, "application/x-protobuf") != 0 ||
        !req->content_encoding ||
        fs_proto_encoding_parse(req->content_encoding, strlen(req->content_encoding),
                                &enc, NULL) != FS_PROTO_OK ||
        enc == FS_PROTO_IDENTITY)
        return;
    if (fs_proto_compress(enc, resp->body, resp->body_len, NULL, &out, NULL) !=
        FS_PROTO_OK)
        return; /* identity stays valid: no Content-Encoding header is sent */
    copy = malloc(out.len ? out.len : 1);
    if (copy) {
        memcpy(copy, out.data, out.len);
        free(resp->body);
        resp->body = copy;
        resp->body_len = out.len;
        resp->content_encoding = fs_proto_encoding_name(enc);
    }
    fs_proto_buf_free(&out);
}

void fss_handle(fss_server *s, const fss_request *req, fss_response *resp)
{
    int route = route_of(req->path);

    memset(resp, 0, sizeof *resp);
    if (!req->method) {
        fss__error_json(resp, 400, "no method");
        return;
    }
    switch (route) {
    case FSS_ROUTE_SYNC: fss_handle_sync(s, req, resp); break;
    case FSS_ROUTE_ENROLL: fss_handle_enroll(s, req, resp); break;
    case FSS_ROUTE_HEALTH: handle_health(s, req, resp); break;
    case FSS_ROUTE_METRICS: {
        fss_buf b = {0};
        if (strcmp(req->method, "GET") != 0) {
            fss__error_json(resp, 405, "use GET");
            break;
        }
        fss_metrics_render(s, &b);
        fss__respond_buf(resp, 200, "text/plain; version=0.0.4", &b);
        break;
    }
    case FSS_ROUTE_ADMIN: fss_handle_admin(s, req, resp); break;
    default:
        if (fss__static_path(req->path)) {
            fss__handle_static(s, req, resp);
            resp->csp = s->console_csp; /* NULL: FSS_CONSOLE_CSP */
        }
        else if (req->path && strncmp(req->path, "/v1/", 4) == 0)
            fss__error_proto(s, resp, 404, FS_PROTO_ERR_BAD_REQUEST, false,
                             "no such endpoint %s", req->path);
        else
            fss__error_json(resp, 404, "no such endpoint %s",
                            req->path ? req->path : "");
        break;
    }
    if (route == FSS_ROUTE_SYNC || route == FSS_ROUTE_ENROLL ||
        (req->path && strncmp(req->path, "/v1/", 4) == 0))
        frame_error_like_request(req, resp);
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                               */
/* ---------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

fss_status fss_server_open(const fss_config *cfg, fss_server **out,
                           fs_error *err)
{
    fss_server *s = NULL;
    fss_status st = FSS_OK;
    fs_hlc h;

    *out = NULL;
    if (!cfg || ((!cfg->db_path || !cfg->db_path[0]) &&
                 (!cfg->store || !cfg->store[0])))
        return fss__fail(err, FSS_EINVAL, "db_path or store is required");
    if (cfg->threads == 0 || cfg->threads > 256)
        return fss__fail(err, FSS_EINVAL, "threads must be 1..256");
    s = calloc(1, sizeof *s);
    if (!s)
        return fss__fail(err, FSS_ENOMEM, "server");
    /* Synchronisation first, so every failure below can unwind through
     * fss_server_close. */
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->clock_mu, NULL);
    pthread_mutex_init(&s->rate_mu, NULL);
    pthread_mutex_init(&s->log_mu, NULL);
    pthread_mutex_init(&s->flight_mu, NULL);
    pthread_cond_init(&s->flight_cv, NULL);
    fss__metrics_init(&s->metrics);
    s->cfg = *cfg;
    if (!s->cfg.page_size)
        s->cfg.page_size = 500;
    if (s->cfg.deflate_level < 1 || s->cfg.deflate_level > 9)
        s->cfg.deflate_level = 1;
    if (s->cfg.max_page_size < s->cfg.page_size)
        s->cfg.max_page_size = s->cfg.page_size;
    s->db_path = strdup(cfg->db_path ? cfg->db_path : "");
    s->store = dup_or_null(cfg->store);
    s->admin_token = dup_or_null(cfg->admin_token);
    s->cfg.db_path = s->db_path;
    s->cfg.store = s->store;
    s->cfg.admin_token = s->admin_token;
    if (!s->db_path || (cfg->store && !s->store) ||
        (cfg->admin_token && !s->admin_token)) {
        st = fss__fail(err, FSS_ENOMEM, "server");
        goto fail;
    }
    (void)fs_hlc_tick(&s->clock, fss_now_ms(), &h, NULL);
    if ((st = fss_random(&s->rate.seed, sizeof s->rate.seed, err)) != FSS_OK)
        goto fail;
    st = fss__calendar_open(cfg->business_tz, &s->calendar, err);
    if (st != FSS_OK)
        goto fail;
    s->cfg.business_tz = s->calendar.tz;
    if (cfg->map_tiles && cfg->map_tiles[0]) {
        if ((st = fss__tiles_csp(cfg->map_tiles, &s->console_csp, err)) != FSS_OK)
            goto fail;
    } else {
        s->cfg.map_tiles = NULL;
    }
    st = fss__db_open_pool(s, err);
    if (st != FSS_OK)
        goto fail;
    *out = s;
    return FSS_OK;
fail:
    fss_server_close(s);
    return st;
}

uint16_t fss_server_port(const fss_server *s)
{
    return s ? s->port : 0;
}

typedef struct conn_state {
    uint8_t *body;
    size_t len, cap;
    bool too_big;
    uint64_t start_ms;
} conn_state;

static void log_request(fss_server *s, const fss_request *rq,
                        const fss_response *rs, double ms)
{
    fss_buf b = {0};
    uint64_t id;

    if (!s->cfg.log)
        return;
    pthread_mutex_lock(&s->log_mu);
    id = ++s->next_request_id;
    if (!s->request_prefix[0]) {
        /* request_id = "<8 random hex digits>-<counter>": the prefix is
         * drawn once per process, so ids stay unique across restarts
         * (a counter alone restarts at 1). The random part of a new id is
         * the random source; the clock is the fallback. */
        fs_id rid;
        char t[FS_ID_STRLEN + 1];
        if (fs_id_new(fss_now_ms(), &rid, NULL) == FS_OK) {
            fs_id_format(&rid, t);
            memcpy(s->request_prefix, t + FS_ID_STRLEN - 8, 8);
            s->request_prefix[8] = '\0';
        } else {
            snprintf(s->request_prefix, sizeof s->request_prefix, "%08llx",
                     (unsigned long long)(fss_now_ms() & 0xffffffffu));
        }
    }
    pthread_mutex_unlock(&s->log_mu);
    fss_buf_printf(&b, "{\"ts\":%llu,\"request_id\":\"%s-%llu\",\"remote\":",
                   (unsigned long long)fss_now_ms(), s->request_prefix,
                   (unsigned long long)id);
    fss_json_cstr(&b, rq->remote_addr);
    fss_buf_puts(&b, ",\"method\":");
    fss_json_cstr(&b, rq->method);
    fss_buf_puts(&b, ",\"path\":");
    fss_json_cstr(&b, rq->path);
    /* The actor of an admin request that passed authentication: "token"
     * (the shared admin token) or "user:NAME" (a console session). */
    fss_buf_puts(&b, ",\"actor\":");
    fss_json_cstr(&b, rs->actor[0] ? rs->actor : NULL);
    fss_buf_printf(&b, ",\"status\":%d,\"device\":", rs->status);
    fss_json_cstr(&b, rs->device[0] ? rs->device : NULL);
    fss_buf_printf(&b, ",\"rows_in\":%zu,\"rows_out\":%zu,\"bytes_in\":%zu,"
                       "\"bytes_out\":%zu,\"latency_ms\":%.3f}\n",
                   rs->rows_in, rs->rows_out, rq->body_len, rs->body_len, ms);
    if (!b.oom) {
        pthread_mutex_lock(&s->log_mu);
        fwrite(b.data, 1, b.len, s->cfg.log);
        fflush(s->cfg.log);
        pthread_mutex_unlock(&s->log_mu);
    }
    fss_buf_free(&b);
}

typedef struct query_acc {
    fss_buf q;
} query_acc;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    query_acc *a = cls;

    (void)kind;
    /* The decoded values are joined again as key=value&...; a value's own
     * '%', '&' and '=' are re-escaped (a search text may hold them), and
     * the admin routes' query_get decodes them. */
    if (a->q.len)
        fss_buf_add(&a->q, "&", 1);
    fss_buf_puts(&a->q, key);
    fss_buf_add(&a->q, "=", 1);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '%' || *p == '&' || *p == '=')
            fss_buf_printf(&a->q, "%%%02X", (unsigned char)*p);
        else
            fss_buf_add(&a->q, p, 1);
    }
    return MHD_YES;
}

static enum MHD_Result send_response(struct MHD_Connection *conn,
                                     fss_response *rs)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char ra[16];

    r = MHD_create_response_from_buffer(rs->body_len, rs->body,
                                        MHD_RESPMEM_MUST_FREE);
    if (!r)
        return MHD_NO;
    rs->body = NULL; /* MHD frees it */
    if (rs->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
    if (rs->content_encoding)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                rs->content_encoding);
    if (rs->retry_after_s) {
        snprintf(ra, sizeof ra, "%u", rs->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (rs->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (rs->has_next) {
        char nc[24];
        snprintf(nc, sizeof nc, "%" PRIu64, rs->next_cursor);
        MHD_add_response_header(r, "Fieldsync-Next-Cursor", nc);
    }
    if (rs->set_cookie[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, rs->set_cookie);
    if (rs->cache_control)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, rs->cache_control);
    else if (rs->actor[0] || rs->set_cookie[0])
        /* Back-office answers name people and customers: never cached. */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rs->console_headers) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                rs->csp ? rs->csp : FSS_CONSOLE_CSP);
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    }
    ret = MHD_queue_response(conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void remote_of(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  out, (socklen_t)cap);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
                  out, (socklen_t)cap);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    fss_server *s = cls;
    conn_state *cs = *con_cls;
    fss_request rq;
    fss_response rs;
    query_acc qa = {{0}};
    char remote[64];
    enum MHD_Result ret;
    double ms;
    int route;

    (void)version;
    if (!cs) {
        const char *cl;
        cs = calloc(1, sizeof *cs);
        if (!cs)
            return MHD_NO;
        cs->start_ms = fss_now_ms();
        *con_cls = cs;
        pthread_mutex_lock(&s->flight_mu);
        s->in_flight++;
        pthread_mutex_unlock(&s->flight_mu);
        /* Refuse a declared oversized body before reading any of it. */
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body)
            cs->too_big = true;
        if (!cs->too_big)
            return MHD_YES;
    }
    if (*upload_data_size && !cs->too_big) {
        size_t n = *upload_data_size;
        if (n > s->cfg.max_body - cs->len) {
            /* Stop keeping the body the moment it passes the cap; the rest is
             * drained and dropped. */
            cs->too_big = true;
            free(cs->body);
            cs->body = NULL;
            cs->len = cs->cap = 0;
        } else {
            if (cs->len + n > cs->cap) {
                size_t cap = cs->cap ? cs->cap : 16384;
                uint8_t *p;
                while (cap < cs->len + n)
                    cap *= 2;
                if (cap > s->cfg.max_body)
                    cap = s->cfg.max_body;
                p = realloc(cs->body, cap);
                if (!p)
                    return MHD_NO;
                cs->body = p;
                cs->cap = cap;
            }
            memcpy(cs->body + cs->len, upload_data, n);
            cs->len += n;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }

    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    remote_of(conn, remote, sizeof remote);
    rq.method = method;
    rq.path = url;
    rq.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_TYPE);
    rq.content_encoding = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    rq.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    rq.remote_addr = remote;
    rq.cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    rq.csrf_token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
    rq.body = cs->body;
    rq.body_len = cs->len;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &qa);
    rq.query = qa.q.data;
    route = route_of(url);
    if (cs->too_big) {
        if (route == FSS_ROUTE_ADMIN)
            fss__error_json(&rs, 413, "body larger than %zu bytes",
                            s->cfg.max_body);
        else
            fss__error_proto(s, &rs, 413, FS_PROTO_ERR_TOO_LARGE, false,
                             "body larger than the limit of %zu bytes",
                             s->cfg.max_body);
        if (route != FSS_ROUTE_ADMIN)
            frame_error_like_request(&rq, &rs);
    } else {
        fss_handle(s, &rq, &rs);
    }
    ms = (double)(fss_now_ms() - cs->start_ms);
    fss__metrics_request(&s->metrics, route, rs.status, ms);
    log_request(s, &rq, &rs, ms);
    ret = send_response(conn, &rs);
    fss_response_free(&rs);
    fss_buf_free(&qa.q);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    fss_server *s = cls;
    conn_state *cs = *con_cls;

    (void)conn;
    (void)toe;
    if (!cs)
        return;
    free(cs->body);
    free(cs);
    *con_cls = NULL;
    pthread_mutex_lock(&s->flight_mu);
    if (s->in_flight)
        s->in_flight--;
    pthread_cond_broadcast(&s->flight_cv);
    pthread_mutex_unlock(&s->flight_mu);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    fss_server *s = cls;

    (void)conn;
    (void)socket_ctx;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        fss__metrics_connection(&s->metrics);
}

fss_status fss_server_start(fss_server *s, fs_error *err)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *di;
    const char *addr = s->cfg.bind_addr ? s->cfg.bind_addr : "127.0.0.1";
    bool tls = s->cfg.tls_cert_pem || s->cfg.tls_key_pem;
    int fd, one = 1;

    if (s->daemon)
        return FSS_OK;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(s->cfg.port);
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(s->cfg.port);
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return fss__fail(err, FSS_EINVAL,
                         "bind address %s is not an IPv4/IPv6 literal", addr);
    }
    if (tls) {
        if (!s->cfg.tls_cert_pem || !s->cfg.tls_key_pem)
            return fss__fail(err, FSS_ETLS, "TLS needs both a certificate and a key");
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return fss__fail(err, FSS_ETLS, "libmicrohttpd was built without TLS");
        flags |= MHD_USE_TLS;
    }
    /* The listening socket is made here rather than by the daemon, so a
     * failure names the address, the port asked for and the reason
     * ("cannot listen on 127.0.0.1:8080: address already in use"). */
    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, sa, sa->sa_family == AF_INET6 ? sizeof a6 : sizeof a4) != 0 ||
        listen(fd, 128) != 0) {
        char why[128];
        snprintf(why, sizeof why, "%s", strerror(errno));
        why[0] = (char)tolower((unsigned char)why[0]);
        if (fd >= 0)
            close(fd);
        return fss__fail(err, FSS_EHTTP, "cannot listen on %s%s%s:%u: %s",
                         sa->sa_family == AF_INET6 ? "[" : "", addr,
                         sa->sa_family == AF_INET6 ? "]" : "", (unsigned)s->cfg.port, why);
    }
    /* Each connection's memory pool (headers, read buffer; bodies are
     * copied out as they arrive, on_request) is FSS_HTTP_CONN_POOL: at
     * 32 KiB libmicrohttpd takes it from malloc. Above that it maps it
     * with mmap and unmaps it when the connection closes, and each unmap
     * flushes the TLB of every CPU running the process: with a fresh
     * connection per device (the morning bench, docs/BENCHMARKS.md session
     * 8) that was 8% of the server's CPU. */
    if (tls)
        s->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)FSS_HTTP_CONN_POOL,
            MHD_OPTION_CONNECTION_TIMEOUT, 60u,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
            MHD_OPTION_HTTPS_MEM_KEY, s->cfg.tls_key_pem,
            MHD_OPTION_HTTPS_MEM_CERT, s->cfg.tls_cert_pem, MHD_OPTION_END);
    else
        s->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)FSS_HTTP_CONN_POOL,
            MHD_OPTION_CONNECTION_TIMEOUT, 60u,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        return fss__fail(err, tls ? FSS_ETLS : FSS_EHTTP,
                         "cannot start HTTP%s daemon on %s:%u%s", tls ? "S" : "", addr,
                         (unsigned)s->cfg.port, tls ? " (bad certificate or key?)" : "");
    }
    di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->cfg.port;
    return FSS_OK;
}

void fss_server_stop(fss_server *s)
{
    struct timespec until;
    MHD_socket fd;

    if (!s || !s->daemon)
        return;
    /* Stop accepting, then wait for requests already being handled (their
     * responses fully sent) before tearing the daemon down. */
    fd = MHD_quiesce_daemon(s->daemon);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->cfg.drain_timeout_s ? s->cfg.drain_timeout_s : 30;
    pthread_mutex_lock(&s->flight_mu);
    s->stopping = true;
    while (s->in_flight > 0) {
        if (pthread_cond_timedwait(&s->flight_cv, &s->flight_mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&s->flight_mu);
    MHD_stop_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    s->daemon = NULL;
    s->port = 0;
}

void fss_server_close(fss_server *s)
{
    if (!s)
        return;
    fss_server_stop(s);
    fss__db_close_pool(s);
    fss__metrics_destroy(&s->metrics);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->clock_mu);
    pthread_mutex_destroy(&s->rate_mu);
    pthread_mutex_destroy(&s->log_mu);
    pthread_mutex_destroy(&s->flight_mu);
    pthread_cond_destroy(&s->flight_cv);
    fss__calendar_close(&s->calendar);
    free(s->db_path);
    free(s->store);
    free(s->admin_token);
    free(s->console_csp);
    free(s);
}
