/*
 * fss_admin_http.c - the admin API: JSON over HTTP under /admin/v1/, behind
 * a bearer admin token (compared as SHA-256 digests in constant time) or a
 * console session (cookie plus X-CSRF-Token on every state change; see
 * fss_account.c). Each route parses its small JSON body or query and calls
 * one fss_admin_* function; every refusal is a 4xx with {"error": "..."}.
 * Who may call a route is decided here once (route_allowed), before the
 * route runs; every state-changing request is written to the audit log
 * with its actor and outcome. The route table is documented in
 * docs/ARCHITECTURE.md ("Sync server") and docs/ADMIN-API.md.
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
    fss_actor *actor;
    char actor_label[FSS_USER_NAME_MAX + 8];
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

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The value of key in a query string (key=value&...), %XX decoded (the
 * HTTP layer re-escapes a value's '%', '&' and '='; anything else after a
 * '%' stays as it is), cut to cap - 1 bytes. */
static bool query_get(const char *q, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);

    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
            const char *v = q + kl + 1, *end = q + n;
            size_t o = 0;
            while (v < end && o + 1 < cap) {
                if (*v == '%' && end - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
                    v += 3;
                } else {
                    out[o++] = *v++;
                }
            }
            out[o] = '\0';
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

/* The actor's territory restriction (fss__actor_territories), for every
 * list, report and scoped change below. */
#define TERR(x) fss__actor_territories((x)->actor)

/* A scoped change names something outside the actor's territories: the
 * answer is the same 404 as for something that does not exist, so a
 * manager learns nothing about other territories. false = refused. */
static bool in_scope(route_ctx *x, const fs_entity *e, const fs_id *row,
                     const fs_id *device, int64_t conflict, const char *what)
{
    fs_error err = {0};
    bool in = false;

    if (fss__in_territories(x->s, TERR(x), e, row, device, conflict, &in, &err) != FSS_OK) {
        fss__error_json(x->resp, 500, "%s", err.text);
        return false;
    }
    if (!in)
        fss__error_json(x->resp, 404, "no such %s", what);
    return in;
}

/* A territory a manager moves a customer into must be one of theirs (and
 * a manager cannot take a customer out of every territory). */
static bool territory_allowed(route_ctx *x, const char *code)
{
    const char *const *terr = TERR(x);

    if (!terr || !code)
        return true;
    for (size_t i = 0; terr[i]; i++)
        if (strcmp(terr[i], code) == 0)
            return true;
    fss__error_json(x->resp, 403, "territory %s is not one of yours", code[0] ? code : "(none)");
    return false;
}

/* The rep a manager makes a customer's owner works in their territories. */
static bool rep_in_territories_ok(route_ctx *x, const char *rep)
{
    fs_error err = {0};
    bool in = false;

    if (fss__rep_in_territories(x->s, TERR(x), rep, &in, &err) != FSS_OK) {
        fss__error_json(x->resp, 500, "%s", err.text);
        return false;
    }
    if (!in)
        fss__error_json(x->resp, 404, "no such rep");
    return in;
}

/* The territories a report covers: the ?territory=CODE filter, within the
 * actor's own territories (a manager asking for another territory gets
 * 403), else the actor's territories (NULL = all). *n counts the codes;
 * one[0] holds the filter. false = refused (answered). */
typedef struct report_terr {
    char one_buf[80];
    const char *one[1];
    const char *const *codes;
    size_t n;
} report_terr;

static bool report_territories(route_ctx *x, report_terr *r)
{
    const char *const *terr = TERR(x);

    r->codes = terr;
    r->n = 0;
    if (query_get(x->req->query, "territory", r->one_buf, sizeof r->one_buf)) {
        if (!territory_allowed(x, r->one_buf))
            return false;
        r->one[0] = r->one_buf;
        r->codes = r->one;
        r->n = 1;
        return true;
    }
    for (size_t i = 0; terr && terr[i]; i++)
        r->n++;
    return true;
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

/* limit (default 50), offset and format of a list; false with a 400 in
 * err when one is not a number or format is neither json nor csv. */
static fss_status page_args(route_ctx *x, int64_t *limit, int64_t *offset, bool *csv,
                            fs_error *err)
{
    char num[32], fmt[16];
    char *end;

    *limit = 50;
    *offset = 0;
    if (query_get(x->req->query, "limit", num, sizeof num)) {
        *limit = strtoll(num, &end, 10);
        if (*end || !num[0])
            return fss__fail(err, FSS_EINVAL, "limit must be a number");
    }
    if (query_get(x->req->query, "offset", num, sizeof num)) {
        *offset = strtoll(num, &end, 10);
        if (*end || !num[0])
            return fss__fail(err, FSS_EINVAL, "offset must be a number");
    }
    *csv = false;
    if (query_get(x->req->query, "format", fmt, sizeof fmt)) {
        if (strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)
            return fss__fail(err, FSS_EINVAL, "format must be json or csv");
        *csv = strcmp(fmt, "csv") == 0;
    }
    return FSS_OK;
}

/* A list's text arguments: each query name, the most bytes kept of its
 * value (it is cut there) and where the value goes; `nonempty`: an empty
 * value counts as absent. */
typedef struct query_arg {
    const char *name;
    size_t cap;
    const char **dst;
    bool nonempty;
} query_arg;

#define QUERY_ARGS_MAX 8
typedef struct query_vals {
    char buf[QUERY_ARGS_MAX][256];
} query_vals;

/* Reads every argument of args from the query into vals, pointing its
 * dst at the value when it is present. */
static void query_args(route_ctx *x, const query_arg *args, size_t n, query_vals *vals)
{
    for (size_t i = 0; i < n && i < QUERY_ARGS_MAX; i++) {
        size_t cap = args[i].cap < sizeof vals->buf[i] ? args[i].cap : sizeof vals->buf[i];
        if (query_get(x->req->query, args[i].name, vals->buf[i], cap) &&
            (!args[i].nonempty || vals->buf[i][0]))
            *args[i].dst = vals->buf[i];
    }
}

#define NARGS(a) (sizeof(a) / sizeof((a)[0]))

/* GET visits?from=&to=&rep=&territory=&status=&sort=&limit=&offset=&cursor=&format= */
static fss_status route_visits(route_ctx *x, fss_buf *out, bool *csv, fs_error *err)
{
    fss_visits_args a = {0};
    const query_arg args[] = {{"from", 32, &a.from, false},
                              {"to", 32, &a.to, false},
                              {"rep", 64, &a.rep, false},
                              {"territory", 80, &a.territory, false},
                              {"status", 32, &a.status, false},
                              {"sort", 16, &a.sort, false},
                              {"cursor", 80, &a.cursor, false}};
    query_vals v;
    fss_status st;

    if ((st = page_args(x, &a.limit, &a.offset, csv, err)) != FSS_OK)
        return st;
    query_args(x, args, NARGS(args), &v);
    return fss__admin_visits(x->s, &a, TERR(x), *csv, out, err);
}

/* GET quotes?status=&currency=&rep=&territory=&sort=&limit=&offset=&format= */
static fss_status route_quotes(route_ctx *x, fss_buf *out, bool *csv, fs_error *err)
{
    fss_quote_query q = {0};
    const query_arg args[] = {{"status", 32, &q.status, false},
                              {"currency", 8, &q.currency, false},
                              {"rep", 64, &q.rep, false},
                              {"territory", 80, &q.territory, false},
                              {"sort", 8, &q.sort, false}};
    query_vals v;
    fss_status st;

    if ((st = page_args(x, &q.limit, &q.offset, csv, err)) != FSS_OK)
        return st;
    query_args(x, args, NARGS(args), &v);
    return fss__admin_quotes(x->s, &q, TERR(x), *csv, out, err);
}

/* GET customers?limit=&offset=&territory=&owner=&segment=&q=&sort=&format= */
static fss_status route_customers(route_ctx *x, fss_buf *out, bool *csv, fs_error *err)
{
    fss_customer_query q = {0};
    const query_arg args[] = {{"territory", 80, &q.territory, false},
                              {"owner", 80, &q.owner, false},
                              {"segment", 80, &q.segment, false},
                              {"q", 256, &q.text, true},
                              {"sort", 32, &q.sort, false}};
    query_vals v;
    fss_status st;

    if ((st = page_args(x, &q.limit, &q.offset, csv, err)) != FSS_OK)
        return st;
    query_args(x, args, NARGS(args), &v);
    return fss__admin_customers(x->s, &q, TERR(x), *csv, out, err);
}

/* GET devices?rep=&territory=&revoked=&sort=&limit=&offset=&format= */
static fss_status route_devices(route_ctx *x, fss_buf *out, bool *csv, fs_error *err)
{
    fss_devices_args a = {0};
    const query_arg args[] = {{"rep", 64, &a.rep, false},
                              {"territory", 80, &a.territory, false},
                              {"revoked", 16, &a.revoked, false},
                              {"sort", 32, &a.sort, false}};
    query_vals v;
    fss_status st;

    if ((st = page_args(x, &a.limit, &a.offset, csv, err)) != FSS_OK)
        return st;
    query_args(x, args, NARGS(args), &v);
    return fss__admin_devices(x->s, &a, TERR(x), *csv, out, err);
}

/* GET conflicts?status=&rep=&territory=&from=&to=&sort=&limit=&offset=&format= */
static fss_status route_conflicts(route_ctx *x, fss_buf *out, bool *csv, fs_error *err)
{
    fss_conflicts_args a = {0};
    const query_arg args[] = {{"status", 16, &a.status, false},
                              {"rep", 64, &a.rep, false},
                              {"territory", 80, &a.territory, false},
                              {"from", 32, &a.from, false},
                              {"to", 32, &a.to, false},
                              {"sort", 16, &a.sort, false}};
    query_vals v;
    fss_status st;

    if ((st = page_args(x, &a.limit, &a.offset, csv, err)) != FSS_OK)
        return st;
    query_args(x, args, NARGS(args), &v);
    return fss__admin_conflicts(x->s, &a, TERR(x), *csv, out, err);
}

/* format=csv asked for (the reports whose JSON is not a page). */
static bool want_csv(route_ctx *x)
{
    char fmt[16];

    return query_get(x->req->query, "format", fmt, sizeof fmt) && strcmp(fmt, "csv") == 0;
}

/*
 * format= of a report whose JSON is not a page (reports/..., tickets):
 * json (the default) or csv, with table= choosing one of its tables
 * (fss__report_csv). Checked before the report is built: *csv says which.
 */
static fss_status report_format(route_ctx *x, bool *csv, fs_error *err)
{
    char fmt[16];

    *csv = false;
    if (!query_get(x->req->query, "format", fmt, sizeof fmt) || strcmp(fmt, "json") == 0)
        return FSS_OK;
    if (strcmp(fmt, "csv") != 0)
        return fss__fail(err, FSS_EINVAL, "format must be json or csv");
    *csv = true;
    return FSS_OK;
}

/* Answers the report's JSON in out as the CSV of its table= (true), or
 * leaves it to the JSON reply (false: not CSV, or the report failed). */
static bool report_csv_reply(route_ctx *x, const char *report, bool csv, fss_status *st,
                             fss_buf *out, fs_error *err)
{
    char table[32];
    fss_buf b = {0};

    if (!csv || *st != FSS_OK)
        return false;
    if (!query_get(x->req->query, "table", table, sizeof table))
        table[0] = '\0';
    *st = fss__report_csv(report, table, out, &b, err);
    if (*st != FSS_OK) {
        fss_buf_free(&b);
        return false;
    }
    fss_buf_free(out);
    fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &b);
    return true;
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
    return fss__admin_activity(x->s, &q, TERR(x), want_csv(x), out, err);
}

/* {"user":..,"role":..,"territories":[..],"csrf":..,"expires_at":..} or,
 * for the token, {"user":null,"role":"admin","token":true}. */
static void actor_json(fss_buf *b, const fss_actor *a)
{
    if (a->token) {
        fss_buf_puts(b, "{\"user\":null,\"role\":\"admin\",\"token\":true,"
                        "\"territories\":null}\n");
        return;
    }
    fss_buf_puts(b, "{\"user\":");
    fss_json_cstr(b, a->name);
    fss_buf_puts(b, ",\"role\":");
    fss_json_cstr(b, fss__role_name(a->role));
    fss_buf_puts(b, ",\"token\":false,\"territories\":");
    if (a->role == FSS_ROLE_ADMIN) {
        fss_buf_puts(b, "null");
    } else {
        fss_buf_puts(b, "[");
        for (size_t i = 0; i < a->nterr; i++) {
            if (i)
                fss_buf_puts(b, ",");
            fss_json_cstr(b, a->terr[i]);
        }
        fss_buf_puts(b, "]");
    }
    fss_buf_puts(b, ",\"csrf\":");
    fss_json_cstr(b, a->csrf);
    fss_buf_printf(b, ",\"expires_at\":%lld}\n", (long long)a->expires_ms);
}

/* The strings of a JSON array of strings into list (NULL-terminated, at
 * most cap - 1); false (and a 400) when it is something else. */
static bool string_list(route_ctx *x, const fsj *arr, const char **list, size_t cap)
{
    size_t n = 0;

    list[0] = NULL;
    if (!arr)
        return true;
    if (arr->kind != FSJ_ARR || arr->n >= cap) {
        fss__error_json(x->resp, 400, "territories must be an array of at most %zu codes",
                        cap - 1);
        return false;
    }
    for (size_t i = 0; i < arr->n; i++) {
        if (arr->items[i].kind != FSJ_STR) {
            fss__error_json(x->resp, 400, "territories must be strings");
            return false;
        }
        list[n++] = arr->items[i].str;
    }
    list[n] = NULL;
    return true;
}

/* me, logout, users, audit. false when the reply is already made. */
static bool route_accounts(route_ctx *x, fss_buf *out, fss_status *st, fs_error *err)
{
    fss_server *s = x->s;
    char q[32];

    if (is(x, "GET", 1, "me", NULL)) {
        actor_json(out, x->actor);
        *st = FSS_OK;
    } else if (is(x, "POST", 1, "logout", NULL)) {
        if ((*st = fss__logout(s, x->actor, err)) == FSS_OK) {
            snprintf(x->resp->set_cookie, sizeof x->resp->set_cookie,
                     FSS_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
                                        "SameSite=Strict%s",
                     s->cfg.tls_cert_pem ? "; Secure" : "");
            fss_buf_puts(out, "{\"ok\":true}\n");
        }
    } else if (is(x, "POST", 2, "me", NULL) && strcmp(x->segs[1], "password") == 0) {
        bool ok = false;
        if (x->actor->token) {
            fss__error_json(x->resp, 400, "the admin token has no password");
            return false;
        }
        if (!need_json_body(x))
            return false;
        *st = fss__own_password(s, x->actor, fsj_str(&x->body, "current"),
                                fsj_str(&x->body, "password"), &ok, err);
        if (*st == FSS_OK && !ok) {
            fss__error_json(x->resp, 403, "the current password is wrong");
            return false;
        }
        if (*st == FSS_OK)
            fss_buf_puts(out, "{\"ok\":true}\n");
    } else if (is(x, "GET", 1, "users", NULL)) {
        *st = fss_users_list(s, out, err);
    } else if (is(x, "POST", 1, "users", NULL)) {
        const char *terr[FSS_ACTOR_MAX_TERR + 1];
        if (!need_json_body(x) ||
            !string_list(x, fsj_get(&x->body, "territories"), terr, FSS_ACTOR_MAX_TERR + 1))
            return false;
        *st = fss_user_add(s, fsj_str(&x->body, "name"), fsj_str(&x->body, "role"), terr,
                           fsj_str(&x->body, "password"), x->actor_label, err);
        if (*st == FSS_OK) {
            fss_buf_puts(out, "{\"ok\":true}\n");
            reply_buf(x, 201, out);
            return false;
        }
    } else if (is(x, "POST", 3, "users", "disable") || is(x, "POST", 3, "users", "enable")) {
        *st = fss_user_disable(s, x->segs[1], strcmp(x->segs[2], "disable") == 0,
                               x->actor_label, err);
        if (*st == FSS_OK)
            fss_buf_puts(out, "{\"ok\":true}\n");
    } else if (is(x, "POST", 3, "users", "password")) {
        if (!need_json_body(x))
            return false;
        *st = fss_user_password(s, x->segs[1], fsj_str(&x->body, "password"),
                                x->actor_label, err);
        if (*st == FSS_OK)
            fss_buf_puts(out, "{\"ok\":true}\n");
    } else if (is(x, "GET", 1, "audit", NULL)) {
        uint32_t limit = 100;
        int64_t before = 0;
        if (query_get(x->req->query, "limit", q, sizeof q))
            limit = (uint32_t)strtoul(q, NULL, 10);
        if (query_get(x->req->query, "before", q, sizeof q))
            before = strtoll(q, NULL, 10);
        *st = fss_audit_list(s, before, limit, out, err);
    } else {
        fss__error_json(x->resp, 404, "no such admin endpoint: %s %s", x->req->method,
                        x->req->path);
        return false;
    }
    return true;
}

/* POST reps/{id}/offboard {"to": "<rep uuid>"|"pool", "drain": bool,
 * "by": "name"}: the counts of fss_admin_offboard. */
static fss_status route_offboard(route_ctx *x, const fs_id *rep, fss_buf *out,
                                 fs_error *err)
{
    const char *to = fsj_str(&x->body, "to");
    const fsj *drain = fsj_get(&x->body, "drain");
    fss_offboard_result r;
    fs_id heir;
    fss_status st;

    if (!to)
        return fss__fail(err, FSS_EINVAL,
                         "missing \"to\": a rep id or \"pool\"");
    if (strcmp(to, "pool") != 0 &&
        fs_id_parse(to, strlen(to), &heir, NULL) != FS_OK)
        return fss__fail(err, FSS_EINVAL, "\"to\" is neither a rep id nor \"pool\"");
    if (drain && drain->kind != FSJ_BOOL)
        return fss__fail(err, FSS_EINVAL, "\"drain\" must be true or false");
    st = fss_admin_offboard(x->s, rep, strcmp(to, "pool") == 0 ? NULL : &heir,
                            drain && drain->b, fsj_str(&x->body, "by"), &r, err);
    if (st == FSS_OK)
        fss_buf_printf(out,
                       "{\"customers_moved\":%lld,\"territories_removed\":%lld,"
                       "\"devices_revoked\":%lld,\"codes_voided\":%lld,"
                       "\"drain\":%s,\"changes_drained\":0}\n",
                       (long long)r.customers, (long long)r.territories,
                       (long long)r.devices, (long long)r.codes,
                       r.drain ? "true" : "false");
    return st;
}

/* POST customers/{id}/merge {"duplicates": ["<uuid>", ...], "by": "name"} */
static fss_status route_merge(route_ctx *x, const fs_id *survivor, fss_buf *out,
                              fs_error *err)
{
    const fsj *d = fsj_get(&x->body, "duplicates");
    fs_id ids[64];
    fss_merge_result r;
    fss_status st;
    size_t i;

    if (!d || d->kind != FSJ_ARR || d->n == 0 || d->n > 64)
        return fss__fail(err, FSS_EINVAL,
                         "\"duplicates\" must be an array of 1..64 customer ids");
    for (i = 0; i < d->n; i++)
        if (d->items[i].kind != FSJ_STR ||
            fs_id_parse(d->items[i].str, d->items[i].len, &ids[i], NULL) != FS_OK)
            return fss__fail(err, FSS_EINVAL, "duplicates[%zu] is not a UUID", i);
    st = fss_admin_merge(x->s, survivor, ids, d->n, fsj_str(&x->body, "by"), &r, err);
    if (st == FSS_OK)
        fss_buf_printf(out, "{\"merge_id\":%lld,\"duplicates_merged\":%lld,"
                            "\"children_moved\":%lld,\"fields_filled\":%lld}\n",
                       (long long)r.merge_id, (long long)r.duplicates,
                       (long long)r.children, (long long)r.fields);
    return st;
}

static void route(route_ctx *x)
{
    fss_server *s = x->s;
    fss_buf out = {0};
    fs_error err = {0};
    fss_status st;
    fs_id id;

    if (x->nsegs == 0) {
        fss__error_json(x->resp, 404, "no such admin endpoint");
        return;
    }
    if (is(x, "GET", 1, "reps", NULL)) {
        st = fss__admin_reps_list(s, TERR(x), &out, &err);
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
    } else if (is(x, "POST", 3, "reps", "offboard")) {
        if (!parse_id_seg(x, 1, &id, "rep") || !need_json_body(x))
            return;
        st = route_offboard(x, &id, &out, &err);
    } else if (is(x, "POST", 3, "reps", "reactivate")) {
        if (!parse_id_seg(x, 1, &id, "rep"))
            return;
        st = fss_admin_rep_reactivate(s, &id, &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "GET", 1, "pool", NULL)) {
        st = fss_admin_pool_list(s, NULL, &out, &err);
    } else if (is(x, "GET", 1, "claims", NULL)) {
        char lim[16];
        long long n = 0;
        if (query_get(x->req->query, "limit", lim, sizeof lim))
            n = strtoll(lim, NULL, 10);
        if (n < 0 || n > 100000) {
            fss__error_json(x->resp, 400, "limit must be 0..100000");
            return;
        }
        st = fss_admin_claims_list(s, NULL, (uint32_t)n, &out, &err);
    } else if (is(x, "POST", 2, "pool", NULL) && strcmp(x->segs[1], "reclaim") == 0) {
        const fsj *dry = NULL;
        fss_reclaim_result rr;
        if (x->req->body_len) {
            if (!need_json_body(x))
                return;
            dry = fsj_get(&x->body, "dry_run");
            if (dry && dry->kind != FSJ_BOOL) {
                fss__error_json(x->resp, 400, "\"dry_run\" must be true or false");
                return;
            }
        }
        fss_buf_puts(&out, "{\"customers\":");
        st = fss_pool_reclaim(s, (int64_t)fss_now_ms(), dry && dry->b, &rr, &out, &err);
        if (st == FSS_OK) {
            if (out.len && out.data[out.len - 1] == '\n')
                out.data[--out.len] = '\0';
            fss_buf_printf(&out, ",\"reclaimed\":%lld,\"warned\":%lld,"
                           "\"checked\":%lld,\"dry_run\":%s}\n",
                           (long long)rr.reclaimed, (long long)rr.warned,
                           (long long)rr.checked, dry && dry->b ? "true" : "false");
        }
    } else if (is(x, "GET", 1, "duplicates", NULL)) {
        st = fss_admin_duplicates(s, NULL, &out, &err);
    } else if (is(x, "POST", 3, "customers", "merge")) {
        if (!parse_id_seg(x, 1, &id, "customer") || !need_json_body(x))
            return;
        st = route_merge(x, &id, &out, &err);
    } else if (is(x, "GET", 1, "merges", NULL)) {
        char sv[64];
        bool one = query_get(x->req->query, "survivor", sv, sizeof sv);
        if (one && fs_id_parse(sv, strlen(sv), &id, NULL) != FS_OK) {
            fss__error_json(x->resp, 400, "survivor is not a UUID");
            return;
        }
        st = fss_admin_merges_list(s, one ? &id : NULL, &out, &err);
    } else if (is(x, "GET", 1, "offboards", NULL)) {
        st = fss_admin_offboards_list(s, NULL, &out, &err);
    } else if (is(x, "GET", 3, "reps", "export")) {
        if (!parse_id_seg(x, 1, &id, "rep"))
            return;
        st = fss_admin_export(s, &id, &out, &err);
    } else if (is(x, "GET", 1, "territories", NULL)) {
        st = fss__admin_territories_list(s, TERR(x), &out, &err);
    } else if (is(x, "POST", 1, "territories", NULL)) {
        if (!need_json_body(x))
            return;
        st = fss_admin_territory_add(s, fsj_str(&x->body, "code"),
                                     fsj_str(&x->body, "name"), &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "POST", 3, "customers", "assign")) {
        const char *owner;
        if (!parse_id_seg(x, 1, &id, "customer") || !need_json_body(x) ||
            !in_scope(x, fs_schema_entity("customer"), &id, NULL, 0, "customer") ||
            !territory_allowed(x, fsj_str(&x->body, "territory")))
            return;
        owner = fsj_str(&x->body, "owner_rep");
        if (TERR(x) && owner && owner[0]) {
            /* The new owner must work in one of the manager's territories. */
            if (!rep_in_territories_ok(x, owner))
                return;
        }
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
                strcmp(x->segs[1], "value") == 0 || strcmp(x->segs[1], "movements") == 0)) {
        /* ?territory=CODE restricts the report, within the actor's. */
        report_terr rt;
        bool csv = false;
        if (!report_territories(x, &rt))
            return;
        st = report_format(x, &csv, &err);
        if (st == FSS_OK)
            st = strcmp(x->segs[1], "lost") == 0 ? fss_report_lost(s, rt.codes, rt.n, &out, &err)
                 : strcmp(x->segs[1], "movements") == 0
                     ? fss_report_movements(s, rt.codes, rt.n, &out, &err)
                 : strcmp(x->segs[1], "value") == 0
                     ? fss_report_value(s, rt.codes, rt.n, (int64_t)fss_now_ms(), &out, &err)
                     : fss_report_at_risk(s, rt.codes, rt.n, &out, &err);
        if (report_csv_reply(x, x->segs[1], csv, &st, &out, &err))
            return;
    } else if (is(x, "GET", 1, "tickets", NULL)) {
        /* ?territory=CODE restricts the list; ?all=1 includes resolved and
         * closed tickets (default: those waiting, oldest first). */
        char all[8];
        report_terr rt;
        bool every = query_get(x->req->query, "all", all, sizeof all) && strcmp(all, "0");
        bool csv = false;
        if (!report_territories(x, &rt))
            return;
        st = report_format(x, &csv, &err);
        if (st == FSS_OK)
            st = fss_report_tickets(s, rt.codes, rt.n, !every, (int64_t)fss_now_ms(), &out,
                                    &err);
        if (report_csv_reply(x, "tickets", csv, &st, &out, &err))
            return;
    } else if (strcmp(x->req->method, "GET") == 0 && x->nsegs == 2 &&
               strcmp(x->segs[0], "reports") == 0 &&
               strcmp(x->segs[1], "satisfaction") == 0) {
        report_terr rt;
        bool csv = false;
        if (!report_territories(x, &rt))
            return;
        st = report_format(x, &csv, &err);
        if (st == FSS_OK)
            st = fss_report_satisfaction(s, rt.codes, rt.n, &out, &err);
        if (report_csv_reply(x, "satisfaction", csv, &st, &out, &err))
            return;
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
        if (!in_scope(x, fs_schema_entity("quote"), &id, NULL, 0, "quote"))
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
        bool csv = false;
        st = route_devices(x, &out, &csv, &err);
        if (st == FSS_OK && csv) {
            fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &out);
            return;
        }
    } else if (is(x, "POST", 3, "devices", "revoke")) {
        if (!parse_id_seg(x, 1, &id, "device"))
            return;
        if (!in_scope(x, NULL, NULL, &id, 0, "device"))
            return;
        st = fss_admin_device_revoke(s, &id, &err);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (is(x, "GET", 1, "conflicts", NULL)) {
        bool csv = false;
        st = route_conflicts(x, &out, &csv, &err);
        if (st == FSS_OK && csv) {
            fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &out);
            return;
        }
    } else if (is(x, "POST", 3, "conflicts", "resolve")) {
        char *endp;
        long long cid = strtoll(x->segs[1], &endp, 10);
        const fsj *val;
        fss_buf vj = {0};
        if (*endp || cid <= 0) {
            fss__error_json(x->resp, 400, "conflict id must be a positive integer");
            return;
        }
        if (!need_json_body(x) || !in_scope(x, NULL, NULL, NULL, cid, "conflict"))
            return;
        val = fsj_get(&x->body, "value");
        if (val)
            scalar_json(&vj, val);
        /* A console user resolves under their own name; "by" is the
         * bearer token's automation only. */
        st = fss_admin_conflict_resolve(s, cid, fsj_str(&x->body, "choice"),
                                        val ? vj.data : NULL,
                                        x->actor->token ? fsj_str(&x->body, "by")
                                                        : x->actor_label,
                                        &err);
        fss_buf_free(&vj);
        if (st == FSS_OK)
            fss_buf_puts(&out, "{\"ok\":true}\n");
    } else if (x->nsegs >= 1 && (strcmp(x->segs[0], "me") == 0 ||
                                  strcmp(x->segs[0], "logout") == 0 ||
                                  strcmp(x->segs[0], "users") == 0 ||
                                  strcmp(x->segs[0], "audit") == 0)) {
        if (!route_accounts(x, &out, &st, &err))
            return;
    } else if (is(x, "GET", 1, "visits", NULL)) {
        bool csv = false;
        st = route_visits(x, &out, &csv, &err);
        if (st == FSS_OK && csv) {
            fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &out);
            return;
        }
    } else if (is(x, "GET", 2, "customers", NULL)) {
        if (!parse_id_seg(x, 1, &id, "customer"))
            return;
        st = fss__admin_customer(s, &id, TERR(x), &out, &err);
    } else if (is(x, "GET", 1, "quotes", NULL)) {
        bool csv = false;
        st = route_quotes(x, &out, &csv, &err);
        if (st == FSS_OK && csv) {
            fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &out);
            return;
        }
    } else if (is(x, "GET", 1, "changes", NULL)) {
        st = fss__admin_changes(s, &out, &err);
    } else if (is(x, "GET", 1, "today", NULL)) {
        st = fss__admin_today(s, TERR(x), (int64_t)fss_now_ms(), &out, &err);
    } else if (is(x, "GET", 1, "customers", NULL)) {
        bool csv = false;
        st = route_customers(x, &out, &csv, &err);
        if (st == FSS_OK && csv) {
            fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &out);
            return;
        }
    } else if (is(x, "GET", 1, "activity", NULL)) {
        st = route_activity(x, &out, &err);
        if (st == FSS_OK && want_csv(x)) {
            fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &out);
            return;
        }
    } else if (is(x, "GET", 1, "customer-names", NULL)) {
        char ids[(FS_ID_STRLEN + 1) * FSS_NAMES_MAX + 64];
        if (!query_get(x->req->query, "ids", ids, sizeof ids))
            ids[0] = '\0';
        st = fss__admin_customer_names(s, ids, TERR(x), &out, &err);
    } else if (is(x, "GET", 1, "settings", NULL)) {
        /* What the console needs to know of the server's configuration. */
        fss_buf_puts(&out, "{\"map_tiles\":");
        fss_json_cstr(&out, s->cfg.map_tiles);
        fss_buf_puts(&out, "}\n");
        st = out.oom ? fss__fail(&err, FSS_ENOMEM, "settings") : FSS_OK;
    } else if (is(x, "GET", 1, "pipeline", NULL)) {
        st = fss__admin_pipeline(s, TERR(x), want_csv(x), &out, &err);
        if (st == FSS_OK && want_csv(x)) {
            fss__respond_buf(x->resp, 200, "text/csv; charset=utf-8", &out);
            return;
        }
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

/* Who may call which route. The token and admins: everything. Managers
 * and viewers: only routes listed here, each of which applies the actor's
 * territory restriction (fss__actor_territories); a route not listed is
 * refused, so a new endpoint is closed to them until it is scoped.
 * Viewers never change anything. `write` marks what a viewer may not do. */
typedef struct route_rule {
    const char *method, *seg0, *seg2; /* seg2 NULL: any or none */
    size_t nsegs;
    bool write;
} route_rule;
static const route_rule scoped_routes[] = {
    {"GET", "me", NULL, 1, false},
    {"POST", "logout", NULL, 1, false},
    {"POST", "me", NULL, 2, false}, /* me/password: one's own */
    {"GET", "reps", NULL, 1, false},
    {"GET", "customers", NULL, 1, false},
    {"GET", "customers", NULL, 2, false}, /* customers/{id} */
    {"GET", "today", NULL, 1, false},
    {"GET", "changes", NULL, 1, false}, /* an opaque digest, nothing of a territory */
    {"GET", "visits", NULL, 1, false},
    {"GET", "quotes", NULL, 1, false},
    {"GET", "territories", NULL, 1, false},
    {"GET", "devices", NULL, 1, false},
    {"GET", "conflicts", NULL, 1, false},
    {"GET", "activity", NULL, 1, false},
    {"GET", "pipeline", NULL, 1, false},
    {"GET", "settings", NULL, 1, false},
    {"GET", "customer-names", NULL, 1, false},
    {"GET", "reports", NULL, 2, false}, /* at-risk, lost, value, movements, satisfaction */
    {"GET", "tickets", NULL, 1, false},
    {"POST", "conflicts", "resolve", 3, true},
    {"POST", "devices", "revoke", 3, true},
    {"POST", "customers", "assign", 3, true},
    {"POST", "quotes", "status", 3, true},
};

static bool route_allowed(const route_ctx *x)
{
    const fss_actor *a = x->actor;

    if (a->token || a->role == FSS_ROLE_ADMIN)
        return true;
    for (size_t i = 0; i < sizeof scoped_routes / sizeof scoped_routes[0]; i++) {
        const route_rule *r = &scoped_routes[i];
        if (strcmp(x->req->method, r->method) == 0 && x->nsegs == r->nsegs &&
            strcmp(x->segs[0], r->seg0) == 0 && (!r->seg2 || strcmp(x->segs[2], r->seg2) == 0))
            return !r->write || a->role == FSS_ROLE_MANAGER;
    }
    return false;
}

static bool state_changing(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* POST /admin/v1/login {name, password}: no credentials needed. */
static void handle_login(fss_server *s, const fss_request *req, fss_response *resp)
{
    fss_actor *a = NULL;
    fss_login_result res = FSS_LOGIN_BAD;
    fs_error err = {0};
    fsj body = {0};
    char sid[FSS_CSRF_LEN + 1] = "", label[FSS_USER_NAME_MAX + 8];
    const char *name;
    fss_buf out = {0};
    fss_status st;

    if (strcmp(req->method, "POST") != 0) {
        fss__error_json(resp, 405, "use POST");
        return;
    }
    if (!ctype_json(req->content_type)) {
        fss__error_json(resp, 415, "Content-Type must be application/json");
        return;
    }
    if (fsj_parse((const char *)req->body, req->body_len, &body, &err) != FSS_OK ||
        body.kind != FSJ_OBJ) {
        fss__error_json(resp, 400, "%s", err.text[0] ? err.text : "body must be a JSON object");
        goto done;
    }
    name = fsj_str(&body, "name");
    if (!(a = calloc(1, sizeof *a))) {
        fss__error_json(resp, 500, "out of memory");
        goto done;
    }
    st = fss__login(s, name, fsj_str(&body, "password"), req->remote_addr, a, sid, &res,
                    &err);
    if (st != FSS_OK) {
        fss__error_json(resp, fss__status_http(st), "%s", err.text);
        goto done;
    }
    snprintf(label, sizeof label, "user:%s", name && strlen(name) <= FSS_USER_NAME_MAX
                                                 ? name : "?");
    if (res == FSS_LOGIN_LIMITED) {
        fss__error_json(resp, 429, "too many failed logins; try again later");
        resp->retry_after_s = s->cfg.login_fail_window_s ? s->cfg.login_fail_window_s : 900;
        fss__audit(s, label, "login", NULL, 429, req->remote_addr);
        goto done;
    }
    if (res == FSS_LOGIN_BAD) {
        /* One answer for a wrong password, an unknown name and a disabled
         * account: the reply does not tell which names exist. */
        fss__error_json(resp, 401, "wrong name or password");
        fss__audit(s, label, "login", NULL, 401, req->remote_addr);
        goto done;
    }
    snprintf(resp->set_cookie, sizeof resp->set_cookie,
             FSS_SESSION_COOKIE "=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s", sid,
             s->cfg.session_ttl_s ? s->cfg.session_ttl_s : 8 * 3600,
             s->cfg.tls_cert_pem ? "; Secure" : "");
    snprintf(resp->actor, sizeof resp->actor, "%s", label);
    actor_json(&out, a);
    fss__respond_buf(resp, 200, "application/json", &out);
    fss__audit(s, label, "login", NULL, 200, req->remote_addr);
done:
    memset(sid, 0, sizeof sid);
    free(a);
    fsj_free(&body);
}

/* Authenticates x: the bearer token, else the session cookie (with the
 * CSRF token on state changes). false when the refusal is made. */
static bool authenticate(route_ctx *x)
{
    fss_server *s = x->s;
    const fss_request *req = x->req;
    fs_error err = {0};
    bool found = false;

    if (fss__rate_limited(s, req->remote_addr)) {
        fss__error_json(x->resp, 429, "too many failed attempts from this address");
        x->resp->retry_after_s = s->cfg.auth_fail_window_s;
        return false;
    }
    if (req->authorization || !req->cookie) {
        if (!s->admin_token) {
            fss__error_json(x->resp, 403, "admin API token disabled (start with "
                                          "--admin-token), or log in (POST /admin/v1/login)");
            return false;
        }
        if (!admin_authorised(s, req->authorization)) {
            /* Admin guesses count against the same per-address limit. */
            fss__rate_fail(s, req->remote_addr);
            fss__error_json(x->resp, 401, "missing or wrong admin token");
            return false;
        }
        x->actor->token = true;
        return true;
    }
    if (fss__session_actor(s, req->cookie, x->actor, &found, &err) != FSS_OK) {
        fss__error_json(x->resp, 500, "%s", err.text);
        return false;
    }
    if (!found) {
        /* An expired or ended session is not a guess: not counted. */
        fss__error_json(x->resp, 401, "not logged in (or the session ended)");
        return false;
    }
    if (state_changing(req->method)) {
        size_t n = req->csrf_token ? strlen(req->csrf_token) : 0;
        if (n != FSS_CSRF_LEN ||
            !fss_ct_equal((const uint8_t *)req->csrf_token, (const uint8_t *)x->actor->csrf,
                          FSS_CSRF_LEN)) {
            char label[FSS_USER_NAME_MAX + 8], action[600];
            fss__error_json(x->resp, 403, "missing or wrong X-CSRF-Token");
            fss__actor_label(x->actor, label, sizeof label);
            snprintf(action, sizeof action, "%s %s", req->method, req->path + 9);
            fss__audit(s, label, action, "no CSRF token", 403, req->remote_addr);
            return false;
        }
    }
    return true;
}

void fss_handle_admin(fss_server *s, const fss_request *req,
                      fss_response *resp)
{
    route_ctx x;
    char *p, *save = NULL, action[600];

    if (strcmp(req->path, "/admin/v1/login") == 0) {
        handle_login(s, req, resp);
        return;
    }
    memset(&x, 0, sizeof x);
    x.s = s;
    x.req = req;
    x.resp = resp;
    if (!(x.actor = calloc(1, sizeof *x.actor))) {
        fss__error_json(resp, 500, "out of memory");
        return;
    }
    if (!authenticate(&x))
        goto done;
    fss__actor_label(x.actor, x.actor_label, sizeof x.actor_label);
    snprintf(resp->actor, sizeof resp->actor, "%s", x.actor_label);
    if (strlen(req->path) >= sizeof x.pathbuf) {
        fss__error_json(resp, 414, "path too long");
        goto done;
    }
    snprintf(x.pathbuf, sizeof x.pathbuf, "%s", req->path + 10); /* after /admin/v1/ */
    for (p = strtok_r(x.pathbuf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (x.nsegs == MAX_SEGS) {
            fss__error_json(resp, 404, "no such admin endpoint");
            goto done;
        }
        x.segs[x.nsegs++] = p;
    }
    if (x.nsegs == 0 || route_allowed(&x))
        route(&x);
    else
        fss__error_json(resp, 403, "a %s cannot %s %s", fss__role_name(x.actor->role),
                        req->method, req->path);
    /* Every state change, done or refused, with its actor (never a body:
     * it may hold a password). */
    if (state_changing(req->method)) {
        snprintf(action, sizeof action, "%s %s", req->method, req->path + 9);
        fss__audit(s, x.actor_label, action, NULL, resp->status, req->remote_addr);
    }
done:
    fsj_free(&x.body);
    free(x.actor);
}
