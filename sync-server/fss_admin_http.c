/*
 * fss_admin_http.c - the admin API: JSON over HTTP under /admin/v1/, behind
 * a bearer admin token (compared as SHA-256 digests in constant time). Each
 * route parses its small JSON body or query and calls one fss_admin_*
 * function; every refusal is a 4xx with {"error": "..."}. The route table is
 * documented in docs/ARCHITECTURE.md ("Sync server").
 */
#include "fss_json.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGS 6

typedef struct route_ctx {
    fss_server *s;
    const fss_request *req;
    fss_response *resp;
    char *segs[MAX_SEGS];
    size_t nsegs;
    char pathbuf[512];
    fsj body;
} route_ctx;

static bool admin_authorised(fss_server *s, const char *auth)
{
    uint8_t want[32], got[32];
    const char *tok;

    if (!s->admin_token || !auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    tok = auth + 7;
    while (*tok == ' ')
        tok++;
    /* Hash both sides so the comparison is fixed-length and constant-time
     * whatever the lengths. */
    fss_sha256(s->admin_token, strlen(s->admin_token), want);
    fss_sha256(tok, strlen(tok), got);
    return fss_ct_equal(want, got, 32);
}

static bool query_get(const char *q, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);

    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
            size_t vl = n - kl - 1;
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, q + kl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        q = amp ? amp + 1 : NULL;
    }
    return false;
}

static void reply_status(route_ctx *x, fss_status st, const fs_error *err)
{
    fss__error_json(x->resp, fss__status_http(st), "%s",
                    err->text[0] ? err->text : fss_strerror(st));
}

static void reply_buf(route_ctx *x, int http, fss_buf *b)
{
    fss__respond_buf(x->resp, http, "application/json", b);
}

static bool ctype_json(const char *ct)
{
    return ct && strncasecmp(ct, "application/json", 16) == 0;
}

static bool need_json_body(route_ctx *x)
{
    fs_error err = {0};

    if (!ctype_json(x->req->content_type)) {
        fss__error_json(x->resp, 415, "Content-Type must be application/json");
        return false;
    }
    if (fsj_parse((const char *)x->req->body, x->req->body_len, &x->body, &err) !=
        FSS_OK) {
        fss__error_json(x->resp, 400, "%s", err.text);
        return false;
    }
    if (x->body.kind != FSJ_OBJ) {
        fss__error_json(x->resp, 400, "body must be a JSON object");
        return false;
    }
    return true;
}

static bool parse_id_seg(route_ctx *x, size_t i, fs_id *out, const char *what)
{
    if (i >= x->nsegs || fs_id_parse(x->segs[i], strlen(x->segs[i]), out, NULL) != FS_OK) {
        fss__error_json(x->resp, 400, "%s id is not a UUID", what);
        return false;
    }
    return true;
}

static bool is(route_ctx *x, const char *method, size_t nsegs, const char *s0,
               const char *s2)
{
    return strcmp(x->req->method, method) == 0 && x->nsegs == nsegs &&
           strcmp(x->segs[0], s0) == 0 && (!s2 || strcmp(x->segs[2], s2) == 0);
}

/* A scalar JSON value back to text (conflict "value"). */
static void scalar_json(fss_buf *b, const fsj *v)
{
    switch (v->kind) {
    case FSJ_NULL: fss_buf_puts(b, "null"); break;
    case FSJ_BOOL: fss_buf_puts(b, v->b ? "true" : "false"); break;
    case FSJ_NUM:
        if (v->is_int)
            fss_buf_printf(b, "%lld", (long long)v->i);
        else {
            char r[FS_REAL_STRLEN + 1];
            fs_real_format(v->num, r);
            fss_buf_puts(b, r);
        }
        break;
    case FSJ_STR: fss_json_str(b, v->str, v->len); break;
    default: fss_buf_puts(b, "null"); break;
    }
}

/* GET activity?from=YYYY-MM-DD&to=YYYY-MM-DD&rep=UUID&territory=CODE */
static fss_status route_activity(route_ctx *x, fss_buf *out, fs_error *err)
{
    char from[32], to[32], rep[64], terr[80];
    fss_activity_query q = {0};

    if (query_get(x->req->query, "from", from, sizeof from))
        q.from = from;
    if (query_get(x->req->query, "to", to, sizeof to))
        q.to = to;
    if (query_get(x->req->query, "rep", rep, sizeof rep))
        q.rep = rep;
    if (query_get(x->req->query, "territory", terr, sizeof terr))
        q.territory = terr;
    return fss_admin_activity(x->s, &q, out, err);
}

static void route(route_ctx *x)
{
    fss_server *s = x->s;
    fss_buf out = {0};
    fs_error err = {0};
    fss_status st;
    fs_id id;
    char q[64];

    if (x->nsegs == 0) {
        fss__error_json(x->resp, 404, "no such admin endpoint");
        return;
    }
    if (is(x, "GET", 1, "reps", NULL)) {
        st = fss_admin_reps_list(s, &out, &err);
    } else if (is(x, "POST", 1, "reps", NULL)) {
        if (!need_json_body(x))
            return;
        st = fss_admin_rep_add(s, fsj_str(&x->body, "name"), fsj_str(&x->body, "email"),
                               &id, &err);
        if (st == FSS_OK) {
            fss_buf_puts(&out, "{\"id\":");
            fss_json_id(&out, &id);
            fss_buf_puts(&out, "}\n");
            reply_buf(x, 201, &out);
            return;
        }
    } else if (is(x, "POST", 3, "reps", "territories")) {
        if (!parse_id_seg(x, 1, &id, "rep") || !need_json_body(x))
            return;
        if (!fsj_str(&x->body, "territory")) {
            fss__error_json(x->resp, 400, "missing \"territory\"");
            return;
        }
        st = fss_admin_rep_territory(s, &id, fsj_str(&x->body, "territory"), true, &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "DELETE", 4, "reps", "territories")) {
        if (!parse_id_seg(x, 1, &id, "rep"))
            return;
        st = fss_admin_rep_territory(s, &id, x->segs[3], false, &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "POST", 3, "reps", "enrollment-codes")) {
        char code[FSS_CODE_LEN + 1];
        const fsj *ttl = NULL;
        if (!parse_id_seg(x, 1, &id, "rep"))
            return;
        if (x->req->body_len) {
            if (!need_json_body(x))
                return;
            ttl = fsj_get(&x->body, "ttl_s");
            if (ttl && (ttl->kind != FSJ_NUM || !ttl->is_int || ttl->i <= 0 ||
                        ttl->i > 90 * 86400)) {
                fss__error_json(x->resp, 400, "ttl_s must be 1..7776000 seconds");
                return;
            }
        }
        st = fss_admin_enroll_code(s, &id, ttl ? (uint32_t)ttl->i : 0, code, &err);
        if (st == FSS_OK) {
            fss_buf_puts(&out, "{\"code\":");
            fss_json_cstr(&out, code);
            fss_buf_puts(&out, ",\"rep\":");
            fss_json_id(&out, &id);
            fss_buf_printf(&out, ",\"ttl_s\":%u}\n",
                           ttl ? (unsigned)ttl->i : s->cfg.enroll_ttl_s);
            reply_buf(x, 201, &out);
            return;
        }
    } else if (is(x, "GET", 3, "reps", "export")) {
        if (!parse_id_seg(x, 1, &id, "rep"))
            return;
        st = fss_admin_export(s, &id, &out, &err);
    } else if (is(x, "GET", 1, "territories", NULL)) {
        st = fss_admin_territories_list(s, &out, &err);
    } else if (is(x, "POST", 1, "territories", NULL)) {
        if (!need_json_body(x))
            return;
        st = fss_admin_territory_add(s, fsj_str(&x->body, "code"),
                                     fsj_str(&x->body, "name"), &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "POST", 3, "customers", "assign")) {
        if (!parse_id_seg(x, 1, &id, "customer") || !need_json_body(x))
            return;
        st = fss_admin_customer_assign(s, &id, fsj_str(&x->body, "owner_rep"),
                                       fsj_str(&x->body, "territory"), &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "POST", 3, "customers", "lost")) {
        const char *reason;
        if (!parse_id_seg(x, 1, &id, "customer") || !need_json_body(x))
            return;
        reason = fsj_str(&x->body, "reason");
        st = reason ? fss_admin_customer_lost(s, &id, reason, &err)
                    : fss__fail(&err, FSS_EINVAL, "reason is required (\"\" = won back)");
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (strcmp(x->req->method, "GET") == 0 && x->nsegs == 2 &&
               strcmp(x->segs[0], "reports") == 0 &&
               (strcmp(x->segs[1], "at-risk") == 0 || strcmp(x->segs[1], "lost") == 0 ||
                strcmp(x->segs[1], "value") == 0)) {
        /* ?territory=CODE restricts the report (a manager's territories). */
        char terr[80];
        const char *one[1] = {terr};
        bool restricted = query_get(x->req->query, "territory", terr, sizeof terr);
        const char *const *codes = restricted ? one : NULL;
        st = strcmp(x->segs[1], "lost") == 0 ? fss_report_lost(s, codes, 1, &out, &err)
             : strcmp(x->segs[1], "value") == 0
                 ? fss_report_value(s, codes, 1, (int64_t)fss_now_ms(), &out, &err)
                 : fss_report_at_risk(s, codes, 1, &out, &err);
    } else if (is(x, "GET", 1, "tickets", NULL)) {
        /* ?territory=CODE restricts the list; ?all=1 includes resolved and
         * closed tickets (default: those waiting, oldest first). */
        char terr[80], all[8];
        const char *one[1] = {terr};
        bool restricted = query_get(x->req->query, "territory", terr, sizeof terr);
        bool every = query_get(x->req->query, "all", all, sizeof all) && strcmp(all, "0");
        st = fss_report_tickets(s, restricted ? one : NULL, 1, !every,
                                (int64_t)fss_now_ms(), &out, &err);
    } else if (strcmp(x->req->method, "GET") == 0 && x->nsegs == 2 &&
               strcmp(x->segs[0], "reports") == 0 &&
               strcmp(x->segs[1], "satisfaction") == 0) {
        char terr[80];
        const char *one[1] = {terr};
        bool restricted = query_get(x->req->query, "territory", terr, sizeof terr);
        st = fss_report_satisfaction(s, restricted ? one : NULL, 1, &out, &err);
    } else if (is(x, "POST", 2, "tickets", NULL)) {
        /* {"status":..., "assignee":..., "resolution":...}, any of them. */
        if (!parse_id_seg(x, 1, &id, "ticket") || !need_json_body(x))
            return;
        st = fss_admin_ticket_update(s, &id, fsj_str(&x->body, "status"),
                                     fsj_str(&x->body, "assignee"),
                                     fsj_str(&x->body, "resolution"), &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "DELETE", 2, "customers", NULL)) {
        if (!parse_id_seg(x, 1, &id, "customer"))
            return;
        st = fss_admin_customer_delete(s, &id, &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (strcmp(x->req->method, "POST") == 0 && x->nsegs == 2 &&
               strcmp(x->segs[0], "import") == 0) {
        const char *ent = strcmp(x->segs[1], "customers") == 0  ? "customer"
                          : strcmp(x->segs[1], "products") == 0 ? "product"
                          : strcmp(x->segs[1], "purchases") == 0 ? "purchase"
                                                                : NULL;
        const char *fmt = ctype_json(x->req->content_type) ? "json"
                          : (x->req->content_type &&
                             strncasecmp(x->req->content_type, "text/csv", 8) == 0)
                              ? "csv" : NULL;
        if (!ent) {
            fss__error_json(x->resp, 404, "import customers, products or purchases");
            return;
        }
        if (!fmt) {
            fss__error_json(x->resp, 415, "Content-Type must be text/csv or application/json");
            return;
        }
        st = fss_admin_import(s, ent, fmt, (const char *)x->req->body, x->req->body_len,
                              &out, &err);
        if (st == FSS_EIMPORT) {
            reply_buf(x, 422, &out);
            return;
        }
    } else if (is(x, "POST", 3, "quotes", "status")) {
        if (!parse_id_seg(x, 1, &id, "quote") || !need_json_body(x))
            return;
        st = fss_admin_quote_status(s, &id, fsj_str(&x->body, "status"), &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (strcmp(x->req->method, "POST") == 0 && x->nsegs == 2 &&
               strcmp(x->segs[0], "quotes") == 0 && strcmp(x->segs[1], "expire") == 0) {
        /* What `serve` runs every minute, on demand (operators, tests). */
        int64_t n = 0;
        st = fss_quotes_expire(s, (int64_t)fss_now_ms(), &n, &err);
        if (st == FSS_OK)
            fss_buf_printf(&out, "{\"expired\":%lld}\n", (long long)n);
    } else if (strcmp(x->req->method, "POST") == 0 && x->nsegs == 1 &&
               strcmp(x->segs[0], "analyze") == 0) {
        /* What `serve` runs nightly, on demand: the report as JSON. */
        fss_analyze_result r;
        st = fss_analyze(s, (int64_t)fss_now_ms(), &r, &err);
        if (st == FSS_OK)
            fss_analyze_json(s, &r, &out);
    } else if (is(x, "GET", 1, "devices", NULL)) {
        st = fss_admin_devices_list(s, &out, &err);
    } else if (is(x, "POST", 3, "devices", "revoke")) {
        if (!parse_id_seg(x, 1, &id, "device"))
            return;
        st = fss_admin_device_revoke(s, &id, &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "GET", 1, "conflicts", NULL)) {
        char status[16];
        bool has_status = query_get(x->req->query, "status", status, sizeof status);
        uint32_t limit = 0;
        if (query_get(x->req->query, "limit", q, sizeof q))
            limit = (uint32_t)strtoul(q, NULL, 10);
        st = fss_admin_conflicts_list(s, has_status ? status : NULL, limit, &out, &err);
    } else if (is(x, "POST", 3, "conflicts", "resolve")) {
        char *endp;
        long long cid = strtoll(x->segs[1], &endp, 10);
        const fsj *val;
        fss_buf vj = {0};
        if (*endp || cid <= 0) {
            fss__error_json(x->resp, 400, "conflict id must be a positive integer");
            return;
        }
        if (!need_json_body(x))
            return;
        val = fsj_get(&x->body, "value");
        if (val)
            scalar_json(&vj, val);
        st = fss_admin_conflict_resolve(s, cid, fsj_str(&x->body, "choice"),
                                        val ? vj.data : NULL, fsj_str(&x->body, "by"),
                                        &err);
        fss_buf_free(&vj);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "GET", 1, "activity", NULL)) {
        st = route_activity(x, &out, &err);
    } else if (is(x, "GET", 1, "pipeline", NULL)) {
        st = fss_admin_pipeline(s, &out, &err);
    } else {
        fss__error_json(x->resp, 404, "no such admin endpoint: %s %s",
                        x->req->method, x->req->path);
        return;
    }
    if (st != FSS_OK) {
        fss_buf_free(&out);
        reply_status(x, st, &err);
        return;
    }
    reply_buf(x, 200, &out);
}

void fss_handle_admin(fss_server *s, const fss_request *req,
                      fss_response *resp)
{
    route_ctx x;
    char *p, *save = NULL;

    memset(&x, 0, sizeof x);
    x.s = s;
    x.req = req;
    x.resp = resp;
    if (!s->admin_token) {
        fss__error_json(resp, 403, "admin API disabled (start with --admin-token)");
        return;
    }
    if (fss__rate_limited(s, req->remote_addr)) {
        fss__error_json(resp, 429, "too many failed attempts from this address");
        resp->retry_after_s = s->cfg.auth_fail_window_s;
        return;
    }
    if (!admin_authorised(s, req->authorization)) {
        /* Admin guesses count against the same per-address limit. */
        fss__rate_fail(s, req->remote_addr);
        fss__error_json(resp, 401, "missing or wrong admin token");
        return;
    }
    if (strlen(req->path) >= sizeof x.pathbuf) {
        fss__error_json(resp, 414, "path too long");
        return;
    }
    snprintf(x.pathbuf, sizeof x.pathbuf, "%s", req->path + 10); /* after /admin/v1/ */
    for (p = strtok_r(x.pathbuf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (x.nsegs == MAX_SEGS) {
            fss__error_json(resp, 404, "no such admin endpoint");
            return;
        }
        x.segs[x.nsegs++] = p;
    }
    route(&x);
    fsj_free(&x.body);
}
