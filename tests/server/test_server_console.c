/*
 * test_server_console.c - back-office accounts and sessions (issue #15):
 * login and its cookie, CSRF on every state change, logout, the login rate
 * limits per account and per address, roles (what a manager and a viewer
 * are refused), disabling and password changes ending sessions, the bearer
 * token still working, and the audit log naming every actor.
 *
 * Most requests go through fss_handle() in process, so each can come from
 * a chosen address; one test goes over HTTP for the headers (Cookie,
 * X-CSRF-Token, Set-Cookie, Cache-Control).
 */
#include "server_testkit.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#define PW "correct horse"
#define ZERO_ID "00000000-0000-7000-8000-000000000000"

typedef struct sess {
    char cookie[128]; /* "fss_session=<hex>" */
    char csrf[80];
} sess;

typedef struct reply {
    int status;
    char body[4096];
    char set_cookie[256];
    char actor[80];
} reply;

/* One request in process. auth: a bearer token or NULL; se: a session or
 * NULL; csrf: the X-CSRF-Token to send (NULL: none). */
static int call(tk_server *t, const char *method, const char *path, const char *remote,
                const char *auth, const sess *se, const char *csrf, const char *body,
                reply *out)
{
    char authz[128], pathbuf[256];
    fss_request rq = {0};
    fss_response rs;
    char *q;

    snprintf(pathbuf, sizeof pathbuf, "%s", path);
    q = strchr(pathbuf, '?');
    if (q)
        *q++ = '\0';
    rq.method = method;
    rq.path = pathbuf;
    rq.query = q;
    rq.remote_addr = remote ? remote : "192.0.2.1";
    if (auth) {
        snprintf(authz, sizeof authz, "Bearer %s", auth);
        rq.authorization = authz;
    }
    rq.cookie = se ? se->cookie : NULL;
    rq.csrf_token = csrf;
    if (body) {
        rq.content_type = "application/json";
        rq.body = (const uint8_t *)body;
        rq.body_len = strlen(body);
    }
    fss_handle(t->s, &rq, &rs);
    memset(out, 0, sizeof *out);
    out->status = rs.status;
    snprintf(out->body, sizeof out->body, "%.*s", (int)rs.body_len, (const char *)rs.body);
    snprintf(out->set_cookie, sizeof out->set_cookie, "%s", rs.set_cookie);
    snprintf(out->actor, sizeof out->actor, "%s", rs.actor);
    fss_response_free(&rs);
    return out->status;
}

static int admin_call(tk_server *t, const char *method, const char *path, const char *body)
{
    reply r;
    return call(t, method, path, NULL, TK_ADMIN_TOKEN, NULL, NULL, body, &r);
}

static void json_field(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p;
    size_t n = 0;

    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    if (!(p = strstr(json, pat)))
        fail_msg("no %s in %s", key, json);
    p += strlen(pat);
    while (p[n] && p[n] != '"' && n + 1 < cap) {
        out[n] = p[n];
        n++;
    }
    out[n] = 0;
}

/* Logs in (asserts the status); on 200 fills *se from the cookie and body. */
static int login_from(tk_server *t, const char *remote, const char *name, const char *pw,
                      sess *se)
{
    char body[256];
    reply r;
    const char *semi;

    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, pw);
    call(t, "POST", "/admin/v1/login", remote, NULL, NULL, NULL, body, &r);
    if (r.status == 200 && se) {
        semi = strchr(r.set_cookie, ';');
        assert_non_null(semi);
        snprintf(se->cookie, sizeof se->cookie, "%.*s", (int)(semi - r.set_cookie),
                 r.set_cookie);
        json_field(r.body, "csrf", se->csrf, sizeof se->csrf);
    }
    return r.status;
}

static int login(tk_server *t, const char *name, const char *pw, sess *se)
{
    return login_from(t, NULL, name, pw, se);
}

static void add_user(tk_server *t, const char *name, const char *role, const char *terr)
{
    fs_error err = {0};
    const char *list[] = {terr, NULL};

    if (fss_user_add(t->s, name, role, terr ? list : NULL, PW, "test", &err) != FSS_OK)
        fail_msg("user-add %s: %s", name, err.text);
}

/* Two territories, an admin, a manager and a viewer of north. */
static void setup_people(tk_server *t)
{
    assert_int_equal(admin_call(t, "POST", "/admin/v1/territories", "{\"code\":\"north\"}"),
                     200);
    assert_int_equal(admin_call(t, "POST", "/admin/v1/territories", "{\"code\":\"south\"}"),
                     200);
    add_user(t, "ada", "admin", NULL);
    add_user(t, "max", "manager", "north");
    add_user(t, "vic", "viewer", "north");
}

static void test_user_add_rules(void **state)
{
    tk_server t;
    fs_error err = {0};
    const char *north[] = {"north", NULL}, *nowhere[] = {"nowhere", NULL};
    static const struct {
        const char *name, *role;
        const char *const *terr;
        const char *pw;
        fss_status want;
    } cases[] = {
        {"ok.user", "manager", NULL, PW, FSS_OK},             /* terr filled below */
        {"ok.user", "manager", NULL, PW, FSS_EEXISTS},        /* taken */
        {"", "admin", NULL, PW, FSS_EINVAL},                  /* empty name */
        {"has space", "admin", NULL, PW, FSS_EINVAL},         /* bad name */
        {"boss", "root", NULL, PW, FSS_EINVAL},               /* bad role */
        {"boss", "admin", NULL, "short", FSS_EINVAL},         /* short password */
        {"boss", "manager", NULL, PW, FSS_EINVAL},            /* manager, no territory */
        {"boss", "admin", NULL, PW, FSS_OK},
    };
    reply r;

    (void)state;
    tk_start(&t, NULL);
    assert_int_equal(admin_call(&t, "POST", "/admin/v1/territories", "{\"code\":\"north\"}"),
                     200);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *terr = i < 2 ? north : cases[i].terr;
        memset(&err, 0, sizeof err);
        assert_int_equal(fss_user_add(t.s, cases[i].name, cases[i].role, terr, cases[i].pw,
                                      "test", &err),
                         cases[i].want);
    }
    assert_int_equal(fss_user_add(t.s, "ghost", "viewer", nowhere, PW, "test", &err),
                     FSS_ENOTFOUND);
    assert_int_equal(fss_user_add(t.s, "adm2", "admin", north, PW, "test", &err), FSS_EINVAL);
    /* The list names roles and territories, never a hash. */
    call(&t, "GET", "/admin/v1/users", NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"name\":\"ok.user\",\"role\":\"manager\""));
    assert_non_null(strstr(r.body, "\"territories\":[\"north\"]"));
    assert_null(strstr(r.body, "argon2"));
    assert_null(strstr(r.body, "ghost"));
    tk_stop(&t);
}

static void test_login_session_logout(void **state)
{
    tk_server t;
    sess se, other;
    reply r;

    (void)state;
    tk_start(&t, NULL);
    setup_people(&t);
    assert_int_equal(login(&t, "max", "wrong password", NULL), 401);
    assert_int_equal(login(&t, "nobody", PW, NULL), 401);
    assert_int_equal(login(&t, "max", PW, &se), 200);
    assert_int_equal(strlen(se.cookie), strlen("fss_session=") + 64);
    assert_int_equal(strlen(se.csrf), 64);
    /* The session authorises the API as its user. */
    call(&t, "GET", "/admin/v1/me", NULL, NULL, &se, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"user\":\"max\",\"role\":\"manager\""));
    assert_non_null(strstr(r.body, "\"territories\":[\"north\"]"));
    assert_string_equal(r.actor, "user:max");
    /* A second login is a second session; ending one leaves the other. */
    assert_int_equal(login(&t, "max", PW, &other), 200);
    assert_string_not_equal(other.cookie, se.cookie);
    assert_string_not_equal(other.csrf, se.csrf);
    /* Logout is a state change: without the CSRF token it is refused. */
    assert_int_equal(call(&t, "POST", "/admin/v1/logout", NULL, NULL, &se, NULL, NULL, &r),
                     403);
    assert_int_equal(call(&t, "GET", "/admin/v1/me", NULL, NULL, &se, NULL, NULL, &r), 200);
    assert_int_equal(call(&t, "POST", "/admin/v1/logout", NULL, NULL, &se, se.csrf, NULL, &r),
                     200);
    assert_non_null(strstr(r.set_cookie, "Max-Age=0"));
    assert_int_equal(call(&t, "GET", "/admin/v1/me", NULL, NULL, &se, NULL, NULL, &r), 401);
    assert_int_equal(call(&t, "GET", "/admin/v1/me", NULL, NULL, &other, NULL, NULL, &r), 200);
    /* A made-up session id opens nothing. */
    snprintf(se.cookie, sizeof se.cookie, "fss_session=%064d", 7);
    assert_int_equal(call(&t, "GET", "/admin/v1/me", NULL, NULL, &se, NULL, NULL, &r), 401);
    tk_stop(&t);
}

static void test_csrf_required(void **state)
{
    tk_server t;
    sess se;
    reply r;
    char wrong[80];

    (void)state;
    tk_start(&t, NULL);
    setup_people(&t);
    assert_int_equal(login(&t, "ada", PW, &se), 200);
    snprintf(wrong, sizeof wrong, "%s", se.csrf);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    /* Reads need no token; every state change does, and nothing changes
     * without it. */
    assert_int_equal(call(&t, "GET", "/admin/v1/territories", NULL, NULL, &se, NULL, NULL, &r),
                     200);
    assert_int_equal(call(&t, "POST", "/admin/v1/territories", NULL, NULL, &se, NULL,
                          "{\"code\":\"east\"}", &r), 403);
    assert_int_equal(call(&t, "POST", "/admin/v1/territories", NULL, NULL, &se, wrong,
                          "{\"code\":\"east\"}", &r), 403);
    assert_int_equal(call(&t, "POST", "/admin/v1/territories", NULL, NULL, &se, "",
                          "{\"code\":\"east\"}", &r), 403);
    call(&t, "GET", "/admin/v1/territories", NULL, NULL, &se, NULL, NULL, &r);
    assert_null(strstr(r.body, "east"));
    assert_int_equal(call(&t, "POST", "/admin/v1/territories", NULL, NULL, &se, se.csrf,
                          "{\"code\":\"east\"}", &r), 200);
    call(&t, "GET", "/admin/v1/territories", NULL, NULL, &se, NULL, NULL, &r);
    assert_non_null(strstr(r.body, "east"));
    /* The bearer token needs no CSRF token (no cookie involved). */
    assert_int_equal(admin_call(&t, "POST", "/admin/v1/territories", "{\"code\":\"west\"}"),
                     200);
    tk_stop(&t);
}

static void account_limit_cfg(fss_config *cfg)
{
    cfg->login_fail_limit = 3;
    cfg->auth_fail_limit = 1000;
}

static void test_login_limit_per_account(void **state)
{
    tk_server t;
    sess se;

    (void)state;
    tk_start(&t, account_limit_cfg);
    setup_people(&t);
    /* From different addresses: the account's own count stops them. */
    assert_int_equal(login_from(&t, "198.51.100.1", "max", "guess one", NULL), 401);
    assert_int_equal(login_from(&t, "198.51.100.2", "max", "guess two", NULL), 401);
    assert_int_equal(login_from(&t, "198.51.100.3", "max", "guess three", NULL), 401);
    /* Now even the right password is refused for the window. */
    assert_int_equal(login_from(&t, "198.51.100.4", "max", PW, NULL), 429);
    /* Other accounts are unaffected; an unknown name counts the same way. */
    assert_int_equal(login_from(&t, "198.51.100.4", "vic", PW, &se), 200);
    for (int i = 0; i < 3; i++)
        assert_int_equal(login_from(&t, "198.51.100.5", "nobody", "x", NULL), 401);
    assert_int_equal(login_from(&t, "198.51.100.5", "nobody", "x", NULL), 429);
    tk_stop(&t);
}

static void address_limit_cfg(fss_config *cfg)
{
    cfg->login_fail_limit = 1000;
    cfg->auth_fail_limit = 3;
}

static void test_login_limit_per_address(void **state)
{
    tk_server t;

    (void)state;
    tk_start(&t, address_limit_cfg);
    setup_people(&t);
    /* One address guessing across names. */
    assert_int_equal(login_from(&t, "203.0.113.9", "max", "guess", NULL), 401);
    assert_int_equal(login_from(&t, "203.0.113.9", "vic", "guess", NULL), 401);
    assert_int_equal(login_from(&t, "203.0.113.9", "ada", "guess", NULL), 401);
    assert_int_equal(login_from(&t, "203.0.113.9", "ada", PW, NULL), 429);
    /* Another address is not held back. */
    assert_int_equal(login_from(&t, "203.0.113.10", "ada", PW, NULL), 200);
    tk_stop(&t);
}

/* What each role may call: a data table of routes x roles. "scoped" routes
 * are open to managers (and to viewers when they do not change anything);
 * the rest are an admin's. */
static void test_roles(void **state)
{
    static const struct {
        const char *method, *path, *body;
        int admin, manager, viewer; /* HTTP status expected */
    } routes[] = {
        {"GET", "/admin/v1/me", NULL, 200, 200, 200},
        {"GET", "/admin/v1/users", NULL, 200, 403, 403},
        {"POST", "/admin/v1/users", "{\"name\":\"x\",\"role\":\"admin\",\"password\":\"" PW
                                    "\"}", 201, 403, 403},
        {"POST", "/admin/v1/users/max/disable", NULL, 200, 403, 403},
        {"POST", "/admin/v1/users/max/enable", NULL, 200, 403, 403},
        {"GET", "/admin/v1/audit", NULL, 200, 403, 403},
        {"POST", "/admin/v1/territories", "{\"code\":\"east\"}", 200, 403, 403},
        {"POST", "/admin/v1/reps", "{\"name\":\"R\"}", 201, 403, 403},
        {"POST", "/admin/v1/import/customers", "[]", 200, 403, 403},
        {"POST", "/admin/v1/quotes/expire", NULL, 200, 403, 403},
        {"POST", "/admin/v1/reps/" ZERO_ID "/enrollment-codes", NULL, 404, 403, 403},
        {"POST", "/admin/v1/reps/" ZERO_ID "/territories", "{\"territory\":\"north\"}",
         404, 403, 403},
        {"DELETE", "/admin/v1/customers/" ZERO_ID, NULL, 404, 403, 403},
        {"GET", "/admin/v1/reps/" ZERO_ID "/export", NULL, 404, 403, 403},
        {"GET", "/admin/v1/pool", NULL, 200, 403, 403},
        {"GET", "/admin/v1/claims", NULL, 200, 403, 403},
        {"GET", "/admin/v1/duplicates", NULL, 200, 403, 403},
        {"GET", "/admin/v1/offboards", NULL, 200, 403, 403},
        /* The value and ticket reports, within one's territories: another
         * territory asked for by name is refused. */
        {"GET", "/admin/v1/reports/at-risk", NULL, 200, 200, 200},
        {"GET", "/admin/v1/reports/lost", NULL, 200, 200, 200},
        {"GET", "/admin/v1/reports/value", NULL, 200, 200, 200},
        {"GET", "/admin/v1/reports/satisfaction", NULL, 200, 200, 200},
        {"GET", "/admin/v1/tickets", NULL, 200, 200, 200},
        {"GET", "/admin/v1/reports/at-risk?territory=north", NULL, 200, 200, 200},
        {"GET", "/admin/v1/reports/at-risk?territory=south", NULL, 200, 403, 403},
        {"GET", "/admin/v1/reports/value?territory=south", NULL, 200, 403, 403},
        {"GET", "/admin/v1/reports/movements", NULL, 200, 200, 200},
        {"GET", "/admin/v1/reports/movements?territory=south", NULL, 200, 403, 403},
        {"GET", "/admin/v1/tickets?territory=south", NULL, 200, 403, 403},
        {"GET", "/admin/v1/reports/satisfaction?territory=south", NULL, 200, 403, 403},
        /* Scoped to the territories (test_scope_by_territory checks what). */
        {"GET", "/admin/v1/reps", NULL, 200, 200, 200},
        {"GET", "/admin/v1/customers", NULL, 200, 200, 200},
        {"GET", "/admin/v1/today", NULL, 200, 200, 200},
        {"GET", "/admin/v1/visits", NULL, 200, 200, 200},
        {"GET", "/admin/v1/quotes", NULL, 200, 200, 200},
        {"GET", "/admin/v1/territories", NULL, 200, 200, 200},
        {"GET", "/admin/v1/devices", NULL, 200, 200, 200},
        {"GET", "/admin/v1/conflicts", NULL, 200, 200, 200},
        {"GET", "/admin/v1/pipeline", NULL, 200, 200, 200},
        {"GET", "/admin/v1/activity", NULL, 200, 200, 200},
        {"POST", "/admin/v1/conflicts/1/resolve", "{\"choice\":\"theirs\"}", 404, 404, 403},
        {"POST", "/admin/v1/devices/" ZERO_ID "/revoke", NULL, 404, 404, 403},
        {"POST", "/admin/v1/customers/" ZERO_ID "/assign", "{\"territory\":\"north\"}",
         404, 404, 403},
        {"POST", "/admin/v1/quotes/" ZERO_ID "/status", "{\"status\":\"accepted\"}",
         404, 404, 403},
    };
    tk_server t;
    sess s[3];
    const char *who[3] = {"ada", "max", "vic"};
    reply r;

    (void)state;
    tk_start(&t, NULL);
    setup_people(&t);
    for (int role = 0; role < 3; role++)
        assert_int_equal(login(&t, who[role], PW, &s[role]), 200);
    /* The viewer and the manager first: the admin's pass disables max
     * (ending his session) and creates users. */
    for (int role = 2; role >= 0; role--) {
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
            int want = role == 0 ? routes[i].admin : role == 1 ? routes[i].manager
                                                               : routes[i].viewer;
            call(&t, routes[i].method, routes[i].path, NULL, NULL, &s[role], s[role].csrf,
                 routes[i].body, &r);
            if (r.status != want)
                fail_msg("%s %s %s: HTTP %d, want %d (%s)", who[role], routes[i].method,
                         routes[i].path, r.status, want, r.body);
        }
    }
    tk_stop(&t);
}

static void test_disable_and_password_end_sessions(void **state)
{
    tk_server t;
    sess a, m, v;
    reply r;
    fs_error err = {0};

    (void)state;
    tk_start(&t, NULL);
    setup_people(&t);
    assert_int_equal(login(&t, "ada", PW, &a), 200);
    assert_int_equal(login(&t, "max", PW, &m), 200);
    assert_int_equal(login(&t, "vic", PW, &v), 200);
    /* An admin disables max: his session ends and he cannot log in. */
    assert_int_equal(call(&t, "POST", "/admin/v1/users/max/disable", NULL, NULL, &a, a.csrf,
                          NULL, &r), 200);
    assert_int_equal(call(&t, "GET", "/admin/v1/me", NULL, NULL, &m, NULL, NULL, &r), 401);
    assert_int_equal(login(&t, "max", PW, NULL), 401);
    assert_int_equal(call(&t, "POST", "/admin/v1/users/max/enable", NULL, NULL, &a, a.csrf,
                          NULL, &r), 200);
    assert_int_equal(login(&t, "max", PW, &m), 200);
    /* A new password ends the sessions; the old one stops working. */
    assert_int_equal(fss_user_password(t.s, "vic", "new password 1", "test", &err), FSS_OK);
    assert_int_equal(call(&t, "GET", "/admin/v1/me", NULL, NULL, &v, NULL, NULL, &r), 401);
    assert_int_equal(login(&t, "vic", PW, NULL), 401);
    assert_int_equal(login(&t, "vic", "new password 1", &v), 200);
    /* One's own password: the current one is needed. */
    assert_int_equal(call(&t, "POST", "/admin/v1/me/password", NULL, NULL, &v, v.csrf,
                          "{\"current\":\"nope\",\"password\":\"another one\"}", &r), 403);
    assert_int_equal(call(&t, "POST", "/admin/v1/me/password", NULL, NULL, &v, v.csrf,
                          "{\"current\":\"new password 1\",\"password\":\"another one\"}",
                          &r), 200);
    assert_int_equal(login(&t, "vic", "another one", NULL), 200);
    assert_int_equal(fss_user_disable(t.s, "nobody", true, "test", &err), FSS_ENOTFOUND);
    tk_stop(&t);
}

static void test_audit_names_actors(void **state)
{
    tk_server t;
    sess a, m;
    reply r;

    (void)state;
    tk_start(&t, NULL);
    setup_people(&t);
    assert_int_equal(login(&t, "ada", PW, &a), 200);
    assert_int_equal(login(&t, "max", "bad password", NULL), 401);
    assert_int_equal(login(&t, "max", PW, &m), 200);
    call(&t, "POST", "/admin/v1/territories", NULL, NULL, &a, a.csrf, "{\"code\":\"east\"}",
         &r);
    call(&t, "POST", "/admin/v1/territories", NULL, NULL, &m, m.csrf, "{\"code\":\"x\"}", &r);
    call(&t, "POST", "/admin/v1/territories", NULL, NULL, &m, NULL, "{\"code\":\"y\"}", &r);
    call(&t, "GET", "/admin/v1/audit?limit=50", NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    /* The token's own writes (setup), the CLI-style calls, each login. */
    assert_non_null(strstr(r.body, "\"actor\":\"token\",\"action\":\"POST /territories\""));
    assert_non_null(strstr(r.body, "\"actor\":\"test\",\"action\":\"user-add\",\"target\":"
                                   "\"max\""));
    assert_non_null(strstr(r.body, "\"actor\":\"user:max\",\"action\":\"login\",\"target\":"
                                   "null,\"status\":401"));
    assert_non_null(strstr(r.body, "\"actor\":\"user:ada\",\"action\":\"POST /territories\","
                                   "\"target\":null,\"status\":200"));
    /* Refused changes are there too, with their status. */
    assert_non_null(strstr(r.body, "\"actor\":\"user:max\",\"action\":\"POST /territories\","
                                   "\"target\":null,\"status\":403"));
    assert_non_null(strstr(r.body, "\"target\":\"no CSRF token\",\"status\":403"));
    /* Never a password. */
    assert_null(strstr(r.body, PW));
    assert_null(strstr(r.body, "bad password"));
    tk_stop(&t);
}

static void test_cookie_over_http(void **state)
{
    tk_server t;
    tk_http r;
    char cookie[160], csrf[80], hdr[200], hdr2[200];
    const char *jh[] = {"Content-Type: application/json", NULL};
    const char *semi;

    (void)state;
    tk_start(&t, NULL);
    setup_people(&t);
    tk_request(&t, "POST", "/admin/v1/login", jh, "{\"name\":\"ada\",\"password\":\"" PW "\"}",
               strlen("{\"name\":\"ada\",\"password\":\"" PW "\"}"), &r);
    assert_int_equal(r.status, 200);
    /* HttpOnly, SameSite=Strict, a path, an expiry; no Secure on plain HTTP. */
    assert_non_null(strstr(r.set_cookie, "; HttpOnly"));
    assert_non_null(strstr(r.set_cookie, "; SameSite=Strict"));
    assert_non_null(strstr(r.set_cookie, "; Path=/"));
    assert_non_null(strstr(r.set_cookie, "; Max-Age=28800"));
    assert_null(strstr(r.set_cookie, "Secure"));
    assert_string_equal(r.cache_control, "no-store");
    semi = strchr(r.set_cookie, ';');
    snprintf(cookie, sizeof cookie, "%.*s", (int)(semi - r.set_cookie), r.set_cookie);
    json_field((const char *)r.body, "csrf", csrf, sizeof csrf);
    tk_http_free(&r);
    snprintf(hdr, sizeof hdr, "Cookie: %s", cookie);
    snprintf(hdr2, sizeof hdr2, "X-CSRF-Token: %s", csrf);
    {
        const char *h1[] = {hdr, NULL};
        const char *h2[] = {hdr, "Content-Type: application/json", NULL};
        const char *h3[] = {hdr, hdr2, "Content-Type: application/json", NULL};
        tk_request(&t, "GET", "/admin/v1/me", h1, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr((const char *)r.body, "\"user\":\"ada\""));
        tk_http_free(&r);
        tk_request(&t, "POST", "/admin/v1/territories", h2, "{\"code\":\"e\"}", 12, &r);
        assert_int_equal(r.status, 403);
        tk_http_free(&r);
        tk_request(&t, "POST", "/admin/v1/territories", h3, "{\"code\":\"e\"}", 12, &r);
        assert_int_equal(r.status, 200);
        tk_http_free(&r);
    }
    tk_stop(&t);
}

static void test_cookie_secure_under_tls(void **state)
{
    tk_server t;
    fss_config cfg;
    fss_server *s = NULL;
    fs_error err = {0};
    fss_request rq = {0};
    fss_response rs;
    const char *body = "{\"name\":\"ada\",\"password\":\"" PW "\"}";

    (void)state;
    tk_start(&t, NULL);
    setup_people(&t);
    /* A second handle on the same store configured for TLS (not started:
     * fss_handle answers in process). */
    cfg = t.cfg;
    cfg.tls_cert_pem = "cert";
    cfg.tls_key_pem = "key";
    assert_int_equal(fss_server_open(&cfg, &s, &err), FSS_OK);
    rq.method = "POST";
    rq.path = "/admin/v1/login";
    rq.content_type = "application/json";
    rq.body = (const uint8_t *)body;
    rq.body_len = strlen(body);
    fss_handle(s, &rq, &rs);
    assert_int_equal(rs.status, 200);
    assert_non_null(strstr(rs.set_cookie, "; Secure"));
    assert_non_null(strstr(rs.set_cookie, "; HttpOnly"));
    fss_response_free(&rs);
    fss_server_close(s);
    tk_stop(&t);
}

static void no_token_cfg(fss_config *cfg)
{
    cfg->admin_token = NULL;
}

static void test_sessions_without_token(void **state)
{
    tk_server t;
    sess se;
    reply r;
    fs_error err = {0};

    (void)state;
    tk_start(&t, no_token_cfg);
    assert_int_equal(fss_user_add(t.s, "ada", "admin", NULL, PW, "test", &err), FSS_OK);
    /* No token configured: bearer requests are refused, sessions work. */
    assert_int_equal(call(&t, "GET", "/admin/v1/reps", NULL, "anything", NULL, NULL, NULL, &r),
                     403);
    assert_int_equal(login(&t, "ada", PW, &se), 200);
    assert_int_equal(call(&t, "GET", "/admin/v1/reps", NULL, NULL, &se, NULL, NULL, &r), 200);
    tk_stop(&t);
}

/* ---- role scope: a manager or viewer never sees or changes another
 * territory's rows ---- */

typedef struct side {
    fs_id rep, cust, visit, quote, contract;
    tk_device a, b;
    char rep_s[FS_ID_STRLEN + 1], cust_s[FS_ID_STRLEN + 1], dev_a[FS_ID_STRLEN + 1],
        dev_b[FS_ID_STRLEN + 1], quote_s[FS_ID_STRLEN + 1];
    long long conflict;
} side;

/* A territory's rep (two devices), customer, completed visit, sent quote in
 * currency, a contract in contract_currency, and a stale-write conflict on
 * the customer's phone. */
static void make_side(tk_server *t, side *x, const char *terr, const char *rep_name,
                      const char *cust_name, const char *currency,
                      const char *contract_currency)
{
    fs_change c[3];
    fs_sync_response resp;
    fs_error_body eb;

    x->rep = tk_rep(t, rep_name, terr);
    x->cust = tk_customer(t, cust_name, terr, NULL, 50, 0);
    tk_enroll(t, &x->rep, &x->a);
    tk_enroll(t, &x->rep, &x->b);
    tk_pull_all(t, &x->a, NULL, NULL, NULL, NULL);
    fs_id_format(&x->rep, x->rep_s);
    fs_id_format(&x->cust, x->cust_s);
    fs_id_format(&x->a.id, x->dev_a);
    fs_id_format(&x->b.id, x->dev_b);
    x->visit = tk_new_id();
    x->quote = tk_new_id();
    x->contract = tk_new_id();
    fs_id_format(&x->quote, x->quote_s);
    tk_change(&c[0], &x->a, "visit", &x->visit);
    tk_set_id(&c[0], &x->a, "customer_id", &x->cust);
    tk_set_text(&c[0], &x->a, "status", "completed");
    tk_set_int(&c[0], &x->a, "checkin_at", (int64_t)fs_hlc_ms(x->a.clock));
    tk_change(&c[1], &x->a, "quote", &x->quote);
    tk_set_id(&c[1], &x->a, "customer_id", &x->cust);
    tk_set_text(&c[1], &x->a, "currency", currency);
    tk_set_text(&c[1], &x->a, "status", "sent");
    tk_change(&c[2], &x->a, "contract", &x->contract);
    tk_set_id(&c[2], &x->a, "customer_id", &x->cust);
    tk_set_text(&c[2], &x->a, "currency", contract_currency);
    tk_set_int(&c[2], &x->a, "amount", 1000);
    assert_int_equal(tk_sync(t, &x->a, NULL, c, 3, x->a.cursor, 0, FS_PROTO_DEFLATE, &resp,
                             &eb), 200);
    for (int i = 0; i < 3; i++) {
        if (resp.results[i].outcome != FS_APPLIED)
            fail_msg("%s change %d not applied", terr, i);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&resp);
    /* The conflict: a newer phone from a (a minute ahead, within the
     * clock guard, so a slow run cannot make b's later stamp newer), then
     * an older one from b. */
    x->a.clock += UINT64_C(60000) << 16;
    tk_change(&c[0], &x->a, "customer", &x->cust);
    tk_set_text(&c[0], &x->a, "phone", "new");
    tk_change(&c[1], &x->b, "customer", &x->cust);
    tk_set_text(&c[1], &x->b, "phone", "old");
    assert_int_equal(tk_sync(t, &x->a, NULL, &c[0], 1, 0, 0, FS_PROTO_DEFLATE, &resp, &eb),
                     200);
    fs_proto_sync_response_free(&resp);
    assert_int_equal(tk_sync(t, &x->b, NULL, &c[1], 1, 0, 0, FS_PROTO_DEFLATE, &resp, &eb),
                     200);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&c[0]);
    fs_change_free(&c[1]);
}

/* The id of the (auto-resolved) conflict record about row (from the admin list). */
static long long conflict_of(tk_server *t, const char *row)
{
    reply r;
    char pat[80];
    const char *at, *obj;

    call(t, "GET", "/admin/v1/conflicts?status=auto", NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL,
         &r);
    snprintf(pat, sizeof pat, "\"row\":\"%s\"", row);
    if (!(at = strstr(r.body, pat)))
        fail_msg("no conflict on %s in %s", row, r.body);
    for (obj = at; obj > r.body && strncmp(obj, "{\"id\":", 6) != 0; obj--)
        ;
    return atoll(obj + 6);
}

static void test_scope_by_territory(void **state)
{
    tk_server t;
    side n, so;
    sess se[3];
    const char *who[3] = {"ada", "max", "vic"};
    reply r;
    char path[256], body[256];
    struct timespec ts;
    long long set_up_ms;

    (void)state;
    tk_start(&t, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    set_up_ms = (long long)ts.tv_sec * 1000 - 1000; /* before the first check-in */
    make_side(&t, &n, "north", "Nina North", "North Co", "EUR", "EUR");
    make_side(&t, &so, "south", "Sam South", "South Co", "USD", "GBP");
    n.conflict = conflict_of(&t, n.cust_s);
    so.conflict = conflict_of(&t, so.cust_s);
    add_user(&t, "ada", "admin", NULL);
    add_user(&t, "max", "manager", "north");
    add_user(&t, "vic", "viewer", "north");
    for (int i = 0; i < 3; i++)
        assert_int_equal(login(&t, who[i], PW, &se[i]), 200);

    /* Every list and report: what the north shows, what the south shows.
     * An admin sees both; the north's manager and viewer the north only,
     * whatever filter they ask for. */
    {
        char north_conf[64], south_conf[64];
        const struct {
            const char *path, *north, *south;
        } reads[] = {
            {"/admin/v1/reps", n.rep_s, so.rep_s},
            {"/admin/v1/customers", n.cust_s, so.cust_s},
            {"/admin/v1/visits", n.cust_s, so.cust_s},
            {"/admin/v1/quotes", n.quote_s, so.quote_s},
            {"/admin/v1/quotes?format=csv", "North Co", "South Co"},
            {"/admin/v1/quotes?currency=USD", "\"total\":", so.quote_s},
            {"/admin/v1/visits?format=csv", "Nina North", "Sam South"},
            {"/admin/v1/visits?territory=south", "\"total\":", so.cust_s},
            {"/admin/v1/customers?format=csv", "North Co", "South Co"},
            {"/admin/v1/customers?territory=south", "\"total\":", so.cust_s},
            {"/admin/v1/reps", "Nina North", "Sam South"},
            {"/admin/v1/territories", "\"code\":\"north\"", "\"code\":\"south\""},
            {"/admin/v1/devices", n.dev_a, so.dev_a},
            {"/admin/v1/devices", n.dev_b, so.dev_b},
            {"/admin/v1/devices?format=csv", n.dev_a, so.dev_a},
            {"/admin/v1/devices?format=csv", "id,name,rep_id,rep_name,created_at", so.dev_b},
            {"/admin/v1/conflicts?format=csv", n.cust_s, so.cust_s},
            {"/admin/v1/conflicts", n.cust_s, so.cust_s},
            {"/admin/v1/conflicts?status=auto", north_conf, south_conf},
            {"/admin/v1/activity", n.rep_s, so.rep_s},
            {"/admin/v1/activity", "Nina North", "Sam South"},
            {"/admin/v1/activity?format=csv", "Nina North", "Sam South"},
            {"/admin/v1/pipeline", "\"currency\":\"EUR\"", "\"currency\":\"USD\""},
            {"/admin/v1/pipeline", "\"currency\":\"EUR\"", "\"currency\":\"GBP\""},
            {"/admin/v1/pipeline?format=csv", "quote,sent,EUR,1,0,0\r\n",
             "quote,sent,USD,1,0,0\r\n"},
            {"/admin/v1/pipeline?format=csv", "contract,draft,EUR,1,1000,0\r\n",
             "contract,draft,GBP,1,1000,0\r\n"},
        };
        snprintf(north_conf, sizeof north_conf, "{\"id\":%lld,", n.conflict);
        snprintf(south_conf, sizeof south_conf, "{\"id\":%lld,", so.conflict);
        for (int role = 0; role < 3; role++)
            for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
                call(&t, "GET", reads[i].path, NULL, NULL, &se[role], NULL, NULL, &r);
                if (r.status != 200)
                    fail_msg("%s GET %s: HTTP %d %s", who[role], reads[i].path, r.status,
                             r.body);
                if (!strstr(r.body, reads[i].north))
                    fail_msg("%s GET %s lacks %s: %s", who[role], reads[i].path,
                             reads[i].north, r.body);
                if ((strstr(r.body, reads[i].south) != NULL) != (role == 0))
                    fail_msg("%s GET %s: %s %s", who[role], reads[i].path, reads[i].south,
                             role == 0 ? "missing" : "leaked");
            }
        /* CSV rows of the conflicts list: the stored JSON values quoted. */
        call(&t, "GET", "/admin/v1/conflicts?format=csv", NULL, NULL, &se[0], NULL, NULL, &r);
        assert_non_null(strstr(r.body, ",phone,,\"\"\"new\"\"\",\"\"\"old\"\"\",lww,auto,"));
        assert_int_equal(call(&t, "GET", "/admin/v1/conflicts?format=csv&status=x", NULL,
                              NULL, &se[0], NULL, NULL, &r), 400);
        /* The Today numbers count the north only for its manager and
         * viewer: a visit checked in and two devices seen today each. */
        for (int role = 0; role < 3; role++) {
            const char *ds;
            call(&t, "GET", "/admin/v1/today", NULL, NULL, &se[role], NULL, NULL, &r);
            assert_int_equal(r.status, 200);
            /* The visits were checked in, and the devices seen, at set-up:
             * when the day turned since (a run across midnight), today
             * rightly counts none of them, so there is nothing to compare. */
            ds = strstr(r.body, "\"day_start\":");
            assert_non_null(ds);
            if (strtoll(ds + 12, NULL, 10) > set_up_ms) {
                print_message("the day turned during the test: Today's counts not compared\n");
                break;
            }
            if (!strstr(r.body, role ? "\"visits_done\":1," : "\"visits_done\":2,") ||
                !strstr(r.body, role ? "\"devices_synced\":2," : "\"devices_synced\":4,") ||
                !strstr(r.body, "\"devices_silent\":0,"))
                fail_msg("%s today: %s", who[role], r.body);
        }
        /* The visits list names people and customers beside the ids,
         * filters and refuses bad parameters. */
        {
            static const struct {
                const char *query;
                int status;
                const char *has;
            } v[] = {
                {"", 200, "\"customer_name\":\"North Co\",\"territory\":\"north\""},
                {"", 200, "\"rep_name\":\"Nina North\",\"status\":\"completed\""},
                {"", 200, "\"total\":2,"},
                {"?status=planned", 200, "\"total\":0,"},
                {"?from=2000-01-01&to=2000-01-02", 200, "\"total\":0,"},
                {"?territory=north&limit=1", 200, "\"total\":1,\"limit\":1,"},
                {"?sort=time", 200, "\"total\":2,"},
                {"?from=yesterday", 400, "not a date"},
                {"?rep=nope", 400, "not a UUID"},
                {"?sort=name", 400, "sort"},
                {"?limit=0", 400, "limit"},
                {"?format=pdf", 400, "format"},
            };
            static const struct {
                const char *query;
                int status;
                const char *has;
            } qv[] = {
                {"", 200, "\"customer_name\":\"North Co\",\"territory\":\"north\""},
                {"", 200, "\"status\":\"sent\",\"currency\":\"EUR\""},
                {"", 200, "\"lines\":0,\"subtotal\":0,\"discount_amount\":0,\"total\":0}"},
                {"", 200, "\"rep_name\":\"Nina North\""},
                {"?status=sent&currency=USD", 200, "\"total\":1,"},
                {"?status=draft", 200, "\"total\":0,"},
                {"?sort=id&limit=1", 200, "\"total\":2,\"limit\":1,"},
                {"?sort=name", 400, "sort"},
                {"?rep=x", 400, "not a UUID"},
                {"?offset=-1", 400, "offset"},
            };
            for (size_t i = 0; i < sizeof qv / sizeof qv[0]; i++) {
                snprintf(path, sizeof path, "/admin/v1/quotes%s", qv[i].query);
                call(&t, "GET", path, NULL, NULL, &se[0], NULL, NULL, &r);
                if (r.status != qv[i].status || !strstr(r.body, qv[i].has))
                    fail_msg("quotes%s: HTTP %d, want %d with %s: %s", qv[i].query, r.status,
                             qv[i].status, qv[i].has, r.body);
            }
            for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
                snprintf(path, sizeof path, "/admin/v1/visits%s", v[i].query);
                call(&t, "GET", path, NULL, NULL, &se[0], NULL, NULL, &r);
                if (r.status != v[i].status || !strstr(r.body, v[i].has))
                    fail_msg("visits%s: HTTP %d, want %d with %s: %s", v[i].query, r.status,
                             v[i].status, v[i].has, r.body);
            }
        }
        /* The devices and conflicts lists page, filter and sort like the
         * others ({items,total,limit,offset}), and refuse bad parameters. */
        {
            char nrep[96], srep[96], nconf[64];
            const struct {
                const char *list, *query;
                int status;
                const char *has, *lacks;
            } dk[] = {
                {"devices", "", 200, "\"total\":4,\"limit\":50,\"offset\":0}", NULL},
                {"devices", "", 200, "\"rep_name\":\"Nina North\"", NULL},
                {"devices", "?territory=north", 200, "\"total\":2,", so.dev_a},
                {"devices", "?territory=north", 200, n.dev_b, so.dev_b},
                {"devices", srep, 200, so.dev_a, n.dev_a},
                {"devices", "?revoked=true", 200, "\"items\":[],\"total\":0,", NULL},
                {"devices", "?revoked=false&limit=1&offset=3", 200,
                 "\"total\":4,\"limit\":1,\"offset\":3}", NULL},
                {"devices", "?sort=-name&format=csv&territory=south", 200,
                 "id,name,rep_id,rep_name,", n.dev_a},
                {"devices", "?sort=-last_seen", 200, "\"total\":4,", NULL},
                {"devices", "?revoked=maybe", 400, "revoked must be true or false", NULL},
                {"devices", "?rep=x", 400, "not a UUID", NULL},
                {"devices", "?sort=rep", 400, "sort must be", NULL},
                {"devices", "?limit=0", 400, "limit", NULL},
                {"devices", "?offset=-1", 400, "offset", NULL},
                {"conflicts", "?status=auto", 200, "\"total\":2,\"limit\":50,\"offset\":0}",
                 NULL},
                {"conflicts", "?territory=south", 200, so.cust_s, n.cust_s},
                {"conflicts", nrep, 200, n.cust_s, so.cust_s},
                {"conflicts", "?status=auto&sort=-id&limit=1&offset=1", 200, nconf, so.cust_s},
                {"conflicts", "?status=auto&sort=id&limit=1", 200, nconf, so.cust_s},
                {"conflicts", "?from=2000-01-01&to=2000-01-02", 200, "\"total\":0,", NULL},
                {"conflicts", "?format=csv&territory=north", 200, n.cust_s, so.cust_s},
                {"conflicts", "?status=x", 400, "status must be", NULL},
                {"conflicts", "?from=yesterday", 400, "not a date", NULL},
                {"conflicts", "?rep=x", 400, "not a UUID", NULL},
                {"conflicts", "?sort=time", 400, "sort must be", NULL},
                {"conflicts", "?limit=1001", 400, "limit", NULL},
            };
            snprintf(nrep, sizeof nrep, "?rep=%s", n.rep_s);
            snprintf(srep, sizeof srep, "?rep=%s", so.rep_s);
            snprintf(nconf, sizeof nconf, "{\"id\":%lld,", n.conflict);
            for (size_t i = 0; i < sizeof dk / sizeof dk[0]; i++) {
                snprintf(path, sizeof path, "/admin/v1/%s%s", dk[i].list, dk[i].query);
                call(&t, "GET", path, NULL, NULL, &se[0], NULL, NULL, &r);
                if (r.status != dk[i].status || !strstr(r.body, dk[i].has) ||
                    (dk[i].lacks && strstr(r.body, dk[i].lacks)))
                    fail_msg("%s: HTTP %d, want %d with %s%s%s: %s", path, r.status,
                             dk[i].status, dk[i].has, dk[i].lacks ? " without " : "",
                             dk[i].lacks ? dk[i].lacks : "", r.body);
            }
        }
        /* A customer's page: contacts and timeline, the quote with its
         * total; the other territory's customer is "no such" to the
         * manager and viewer. */
        for (int role = 0; role < 3; role++) {
            snprintf(path, sizeof path, "/admin/v1/customers/%s", n.cust_s);
            call(&t, "GET", path, NULL, NULL, &se[role], NULL, NULL, &r);
            if (r.status != 200 || !strstr(r.body, "\"name\":\"North Co\"") ||
                !strstr(r.body, "\"visits\":[{") || !strstr(r.body, "\"quotes\":[{") ||
                !strstr(r.body, "\"total\":0") || !strstr(r.body, "\"contracts\":[{") ||
                !strstr(r.body, "\"contacts\":[]") || !strstr(r.body, "\"conflicts\":[{") ||
                strstr(r.body, so.cust_s))
                fail_msg("%s customer page: HTTP %d %s", who[role], r.status, r.body);
            snprintf(path, sizeof path, "/admin/v1/customers/%s", so.cust_s);
            call(&t, "GET", path, NULL, NULL, &se[role], NULL, NULL, &r);
            if (r.status != (role == 0 ? 200 : 404) || (role && strstr(r.body, "South")))
                fail_msg("%s south customer page: HTTP %d %s", who[role], r.status, r.body);
        }
        assert_int_equal(call(&t, "GET", "/admin/v1/customers/" ZERO_ID, NULL, NULL, &se[0],
                              NULL, NULL, &r), 404);
        /* Asking for the other territory by filter gives nothing. */
        call(&t, "GET", "/admin/v1/activity?territory=south", NULL, NULL, &se[1], NULL, NULL,
             &r);
        assert_int_equal(r.status, 200);
        assert_null(strstr(r.body, so.rep_s));
        assert_null(strstr(r.body, "Sam South"));
    }

    /* Changes: the other territory's rows are "no such" (404) to the
     * manager, nothing changes; the viewer changes nothing at all. */
    {
        char conf_n[64], conf_s[64], rev_n[128], rev_s[128], asg_n[128], asg_s[128],
            qs_n[128], qs_s[128], own_s[128], own_n[128];
        const struct {
            const char *path, *body;
            int manager; /* the viewer always gets 403 */
        } writes[] = {
            {conf_s, "{\"choice\":\"yours\"}", 404},
            {rev_s, NULL, 404},
            {asg_s, "{\"territory\":\"north\"}", 404},
            {asg_n, "{\"territory\":\"south\"}", 403},
            {asg_n, "{\"territory\":\"\"}", 403},
            {asg_n, own_s, 404},
            {qs_s, "{\"status\":\"accepted\"}", 404},
            /* Within the north: done. */
            {conf_n, "{\"choice\":\"yours\"}", 200},
            {rev_n, NULL, 200},
            {asg_n, own_n, 200},
            {qs_n, "{\"status\":\"accepted\"}", 200},
        };
        snprintf(conf_n, sizeof conf_n, "/admin/v1/conflicts/%lld/resolve", n.conflict);
        snprintf(conf_s, sizeof conf_s, "/admin/v1/conflicts/%lld/resolve", so.conflict);
        snprintf(rev_n, sizeof rev_n, "/admin/v1/devices/%s/revoke", n.dev_b);
        snprintf(rev_s, sizeof rev_s, "/admin/v1/devices/%s/revoke", so.dev_b);
        snprintf(asg_n, sizeof asg_n, "/admin/v1/customers/%s/assign", n.cust_s);
        snprintf(asg_s, sizeof asg_s, "/admin/v1/customers/%s/assign", so.cust_s);
        snprintf(qs_n, sizeof qs_n, "/admin/v1/quotes/%s/status", n.quote_s);
        snprintf(qs_s, sizeof qs_s, "/admin/v1/quotes/%s/status", so.quote_s);
        snprintf(own_s, sizeof own_s, "{\"owner_rep\":\"%s\"}", so.rep_s);
        snprintf(own_n, sizeof own_n, "{\"owner_rep\":\"%s\"}", n.rep_s);
        for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
            call(&t, "POST", writes[i].path, NULL, NULL, &se[2], se[2].csrf,
                 writes[i].body ? writes[i].body : "{}", &r);
            if (r.status != 403)
                fail_msg("viewer POST %s: HTTP %d, want 403", writes[i].path, r.status);
            call(&t, "POST", writes[i].path, NULL, NULL, &se[1], se[1].csrf,
                 writes[i].body ? writes[i].body : "{}", &r);
            if (r.status != writes[i].manager)
                fail_msg("manager POST %s %s: HTTP %d, want %d (%s)", writes[i].path,
                         writes[i].body ? writes[i].body : "", r.status, writes[i].manager,
                         r.body);
        }
        /* Nothing of the south changed: its conflict open, device live,
         * customer in the south, quote still sent. */
        call(&t, "GET", "/admin/v1/conflicts?status=auto", NULL, TK_ADMIN_TOKEN, NULL, NULL,
             NULL, &r);
        assert_non_null(strstr(r.body, so.cust_s));
        call(&t, "GET", "/admin/v1/devices", NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r);
        snprintf(body, sizeof body, "\"id\":\"%s\"", so.dev_b);
        assert_non_null(strstr(r.body, body));
        assert_non_null(strstr(strstr(r.body, body), "\"revoked\":false"));
        call(&t, "GET", "/admin/v1/territories", NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r);
        assert_non_null(strstr(r.body, "{\"code\":\"south\""));
        call(&t, "GET", "/admin/v1/pipeline", NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r);
        assert_non_null(strstr(r.body, "{\"status\":\"sent\",\"currency\":\"USD\""));
        assert_non_null(strstr(r.body, "{\"status\":\"accepted\",\"currency\":\"EUR\""));
        /* The north's conflict was resolved in the manager's name. */
        call(&t, "GET", "/admin/v1/conflicts?status=resolved", NULL, TK_ADMIN_TOKEN, NULL,
             NULL, NULL, &r);
        assert_non_null(strstr(r.body, "\"resolved_by\":\"user:max\""));
        assert_null(strstr(r.body, so.cust_s));
    }
    (void)path;
    tk_stop(&t);
}

/* ---- the console's lists ---- */

static void test_customers_list(void **state)
{
    tk_server t;
    reply r;
    const char *p;

    (void)state;
    tk_start(&t, NULL);
    assert_int_equal(admin_call(&t, "POST", "/admin/v1/territories", "{\"code\":\"north\"}"),
                     200);
    assert_int_equal(admin_call(&t, "POST", "/admin/v1/territories", "{\"code\":\"south\"}"),
                     200);
    tk_import(&t, "customer",
              "[{\"name\":\"=HYPERLINK(\\\"http://x\\\")\",\"territory\":\"north\"},"
              " {\"name\":\"Comma, Inc\",\"territory\":\"north\",\"segment\":\"retail\"},"
              " {\"name\":\"Quote \\\"Q\\\" Ltd\",\"territory\":\"south\"},"
              " {\"name\":\"Line\\nbreak\",\"territory\":\"south\",\"segment\":\"retail\"},"
              " {\"name\":\"<img src=x onerror=alert(1)>\",\"territory\":\"north\"},"
              " {\"name\":\"\\u5317\\u4eac\\u70e4\\u9e2d\\u5e97\",\"territory\":\"south\","
              "  \"address\":\"Wangfujing 1\"},"
              " {\"name\":\"@risk 100%_off\",\"territory\":\"north\",\"tags\":\"vip\"}]");
    /* A page, the total, the order by name. */
    call(&t, "GET", "/admin/v1/customers?limit=2", NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"total\":7,\"limit\":2,\"offset\":0}"));
    assert_int_equal(tk_count(r.body, "\"id\":"), 2);
    p = strstr(r.body, "<img");
    assert_non_null(p);
    assert_non_null(strstr(p, "=HYPERLINK")); /* '<' 0x3c sorts before '=' 0x3d */
    call(&t, "GET", "/admin/v1/customers?limit=2&offset=6", NULL, TK_ADMIN_TOKEN, NULL, NULL,
         NULL, &r);
    assert_int_equal(tk_count(r.body, "\"id\":"), 1);
    assert_non_null(strstr(r.body, "\\u5317") ? "" : strstr(r.body, "\xe5\x8c\x97"));
    /* Filters: territory, segment, text (ASCII case, LIKE wildcards as
     * text, Chinese substrings, addresses and tags). */
    static const struct {
        const char *query;
        int count;
        const char *has;
    } filters[] = {
        {"territory=north", 4, "Comma, Inc"},
        {"territory=south&segment=retail", 1, "Line\\nbreak"},
        {"segment=retail", 2, "Comma, Inc"},
        {"q=COMMA", 1, "Comma, Inc"},
        {"q=%_", 1, "@risk 100%_off"},
        {"q=_", 1, "@risk 100%_off"},
        {"q=\xe7\x83\xa4\xe9\xb8\xad", 1, "Wangfujing 1"}, /* in-process: decoded */
        {"q=wangfujing", 1, "Wangfujing 1"},
        {"q=VIP", 1, "@risk"},
        {"q=nothing-like-this", 0, "\"total\":0"},
        {"sort=-name&limit=1", 1, "\\u5317"},
        {"sort=territory&limit=1", 1, "\"territory\":\"north\""},
        {"sort=-territory&limit=1", 1, "\"territory\":\"south\""},
    };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "/admin/v1/customers?%s", filters[i].query);
        call(&t, "GET", path, NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r);
        if (r.status != 200 || (int)tk_count(r.body, "{\"id\":") != filters[i].count ||
            (!strstr(r.body, filters[i].has) &&
             !(strcmp(filters[i].has, "\\u5317") == 0 && strstr(r.body, "\xe5\x8c\x97"))))
            fail_msg("customers?%s: HTTP %d, want %d rows with %s: %s", filters[i].query,
                     r.status, filters[i].count, filters[i].has, r.body);
    }
    /* Bad parameters: refused with a reason. */
    static const char *const bad[] = {"limit=0", "limit=1001", "limit=x", "offset=-1",
                                      "sort=id", "sort=-", "format=xml"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/admin/v1/customers?%s", bad[i]);
        if (call(&t, "GET", path, NULL, TK_ADMIN_TOKEN, NULL, NULL, NULL, &r) != 400)
            fail_msg("customers?%s: HTTP %d, want 400", bad[i], r.status);
    }
    /* CSV: RFC 4180 quoting, CRLF, formula cells neutralised. */
    call(&t, "GET", "/admin/v1/customers?format=csv&limit=1000", NULL, TK_ADMIN_TOKEN, NULL,
         NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "id,name,address,phone,segment,territory,owner_rep,"
                                "owner_name,lat,lon\r\n", 64);
    assert_non_null(strstr(r.body, ",\"'=HYPERLINK(\"\"http://x\"\")\",,,,north,,,,\r\n"));
    assert_non_null(strstr(r.body, ",\"Comma, Inc\",,,retail,north,,,,\r\n"));
    assert_non_null(strstr(r.body, ",\"Quote \"\"Q\"\" Ltd\",,,,south,,,,\r\n"));
    assert_non_null(strstr(r.body, ",\"Line\nbreak\",,,retail,south,,,,\r\n"));
    assert_non_null(strstr(r.body, ",\"'@risk 100%_off\",,,,north,,,,\r\n"));
    assert_non_null(strstr(r.body, ",<img src=x onerror=alert(1)>,,,,north,,,,\r\n"));
    assert_int_equal(tk_count(r.body, "\r\n"), 8);
    /* Over HTTP the query is percent-decoded once: a search text may hold
     * '&', '=' and '%' of its own. */
    tk_import(&t, "customer", "[{\"name\":\"Smith & Sons=Co\",\"territory\":\"south\"}]");
    {
        static const struct {
            const char *query;
            const char *has;
        } over_http[] = {
            {"q=%26%20sons%3Dco", "Smith & Sons=Co"},
            {"q=%3Dco", "Smith & Sons=Co"},
            {"q=%25_", "@risk 100%_off"},
            {"q=%E7%83%A4%E9%B8%AD", "Wangfujing 1"},
        };
        const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN, NULL};
        for (size_t i = 0; i < sizeof over_http / sizeof over_http[0]; i++) {
            char path[128];
            tk_http hr;
            snprintf(path, sizeof path, "/admin/v1/customers?%s", over_http[i].query);
            tk_request(&t, "GET", path, h, NULL, 0, &hr);
            if (hr.status != 200 || !strstr((const char *)hr.body, over_http[i].has) ||
                !strstr((const char *)hr.body, "\"total\":1,"))
                fail_msg("HTTP customers?%s: %ld %.*s", over_http[i].query, hr.status,
                         (int)hr.len, (const char *)hr.body);
            tk_http_free(&hr);
        }
    }
    /* A count stops at 1,000 matches: exactly 1,000 is exact, one more
     * says total_capped (ADMIN-API.md); the page itself is unaffected. */
    {
        size_t cap = 64 * 1000, o = 0;
        char *many = malloc(cap);
        assert_non_null(many);
        for (int n = 0; n < 1000 - 8; n++) /* 8 so far */
            o += (size_t)snprintf(many + o, cap - o,
                                  "%s{\"name\":\"many %04d\",\"territory\":\"north\"}",
                                  n ? "," : "[", n);
        snprintf(many + o, cap - o, "]");
        tk_import(&t, "customer", many);
        free(many);
        call(&t, "GET", "/admin/v1/customers?limit=1&offset=999", NULL, TK_ADMIN_TOKEN, NULL,
             NULL, NULL, &r);
        assert_non_null(strstr(r.body, "\"total\":1000,\"limit\":1,\"offset\":999}"));
        assert_null(strstr(r.body, "total_capped"));
        tk_import(&t, "customer", "[{\"name\":\"one more\",\"territory\":\"south\"}]");
        call(&t, "GET", "/admin/v1/customers?limit=1&offset=1000", NULL, TK_ADMIN_TOKEN, NULL,
             NULL, NULL, &r);
        assert_non_null(
            strstr(r.body, "\"total\":1000,\"limit\":1,\"offset\":1000,\"total_capped\":true}"));
        assert_int_equal(tk_count(r.body, "{\"id\":"), 1);
        call(&t, "GET", "/admin/v1/customers?territory=south", NULL, TK_ADMIN_TOKEN, NULL, NULL,
             NULL, &r);
        assert_null(strstr(r.body, "total_capped"));
    }
    tk_stop(&t);
}

/* ---- live refresh: GET changes, and 20 consoles polling it ---- */

#define CONSOLES 20
#define POLLS 10

typedef struct poller {
    tk_server *t;
    const sess *se;
    long status[POLLS];
} poller;

static void *poll_changes(void *arg)
{
    poller *p = arg;
    char cookie[160];
    const char *h[] = {cookie, NULL};

    snprintf(cookie, sizeof cookie, "Cookie: %s", p->se->cookie);
    for (int i = 0; i < POLLS; i++) {
        tk_http r;
        tk_request(p->t, "GET", "/admin/v1/changes", h, NULL, 0, &r);
        p->status[i] = r.status;
        tk_http_free(&r);
    }
    return NULL;
}

static void version_of(tk_server *t, const sess *se, char out[32])
{
    reply r;

    assert_int_equal(call(t, "GET", "/admin/v1/changes", NULL, NULL, se, NULL, NULL, &r), 200);
    json_field(r.body, "version", out, 32);
    assert_int_equal(strlen(out), 16);
}

static void test_live_changes(void **state)
{
    tk_server t;
    sess se[CONSOLES];
    poller p[CONSOLES];
    pthread_t th[CONSOLES];
    char v0[32], v1[32], v2[32], v3[32];
    fs_change c;
    fs_sync_response resp;
    fs_error_body eb;
    tk_device d;
    fs_id rep, cust, visit;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Lena Live", "north");
    cust = tk_customer(&t, "Live Co", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    add_user(&t, "ada", "admin", NULL);
    add_user(&t, "max", "manager", "north");
    for (int i = 0; i < CONSOLES; i++)
        assert_int_equal(login(&t, i % 2 ? "max" : "ada", PW, &se[i]), 200);
    /* Nothing happens: the version stays; a device syncs (a pull only:
     * Today's "devices synced" may move), a device pushes a visit, the
     * back office writes: it moves each time. A manager gets the same
     * opaque digest as an admin (nothing of another territory). */
    version_of(&t, &se[0], v0);
    version_of(&t, &se[1], v1);
    assert_string_equal(v0, v1);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    version_of(&t, &se[0], v1);
    assert_string_not_equal(v0, v1);
    visit = tk_new_id();
    tk_change(&c, &d, "visit", &visit);
    tk_set_id(&c, &d, "customer_id", &cust);
    tk_set_text(&c, &d, "status", "completed");
    tk_set_int(&c, &d, "checkin_at", (int64_t)fs_hlc_ms(d.clock));
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, d.cursor, 0, FS_PROTO_DEFLATE, &resp, &eb),
                     200);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&c);
    version_of(&t, &se[1], v2);
    assert_string_not_equal(v1, v2);
    tk_import(&t, "customer", "[{\"name\":\"Another\",\"territory\":\"north\"}]");
    version_of(&t, &se[0], v3);
    assert_string_not_equal(v2, v3);
    /* 20 consoles polling at once over HTTP, from one office address:
     * every poll answered, none refused by a limit (429) or for want of
     * a connection (503). */
    for (int i = 0; i < CONSOLES; i++) {
        p[i] = (poller){.t = &t, .se = &se[i]};
        assert_int_equal(pthread_create(&th[i], NULL, poll_changes, &p[i]), 0);
    }
    for (int i = 0; i < CONSOLES; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < CONSOLES; i++)
        for (int k = 0; k < POLLS; k++)
            if (p[i].status[k] != 200)
                fail_msg("console %d poll %d: HTTP %ld", i, k, p[i].status[k]);
    tk_stop(&t);
}

/* ---- CSV of the customer-value reports, tickets and satisfaction ---- */

/* GET path as se (a session) or the token (se NULL); asserts the status
 * and that the body has `has` and lacks `lacks` (NULL: skip). */
static void csv_get(tk_server *t, const sess *se, const char *path, int status,
                    const char *has, const char *lacks)
{
    reply r;

    call(t, "GET", path, NULL, se ? NULL : TK_ADMIN_TOKEN, se, NULL, NULL, &r);
    if (r.status != status || (has && !strstr(r.body, has)) ||
        (lacks && strstr(r.body, lacks)))
        fail_msg("%s %s: HTTP %d, want %d with \"%s\"%s%s: %s", se ? "manager" : "token",
                 path, r.status, status, has ? has : "", lacks ? " without " : "",
                 lacks ? lacks : "", r.body);
}

/* Each list-like report answers format=csv (table= for a report with
 * several tables): a header, a row per item, text escaped as in the lists
 * (comma, quote, newline), within the manager's territories. */
static void test_report_csv(void **state)
{
    tk_server t;
    tk_device d;
    sess max;
    fss_analyze_result a;
    fs_sync_response resp;
    fs_error_body eb;
    fs_change c;
    fs_id alice, green, south, big, small, tk = tk_new_id();
    char json[300], id[FS_ID_STRLEN + 1], want[300];
    const int64_t now = (int64_t)time(NULL) * 1000, day = 86400000;
    const fs_id *buyers[2];

    (void)state;
    tk_start(&t, NULL);
    alice = tk_rep(&t, "Alice", "north");
    tk_rep(&t, "Bob", "south");
    add_user(&t, "max", "manager", "north");
    assert_int_equal(login(&t, "max", PW, &max), 200);
    green = tk_customer(&t, "Green, \\\"field\\\"\\nLtd", "north", &alice, 50, 0);
    south = tk_customer(&t, "Southmill", "south", NULL, 50, 0);
    big = tk_customer(&t, "Big", "north", &alice, 50, 0);
    small = tk_customer(&t, "Small", "south", NULL, 50, 0);
    buyers[0] = &big;
    buyers[1] = &small;
    for (int i = 0; i < 2; i++) {
        fs_id_format(buyers[i], id);
        snprintf(json, sizeof json,
                 "[{\"customer_id\":\"%s\",\"amount\":%d,\"currency\":\"EUR\","
                 "\"purchased_at\":%lld}]", id, i ? 100 : 900, (long long)(now - day));
        tk_import(&t, "purchase", json);
    }
    /* A ticket of Alice's customer, pushed by her device. */
    tk_enroll(&t, &alice, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    tk_change(&c, &d, "ticket", &tk);
    tk_set_id(&c, &d, "customer_id", &green);
    tk_set_text(&c, &d, "kind", "complaint");
    tk_set_text(&c, &d, "subject", "late, \"very\"");
    tk_set_text(&c, &d, "status", "open");
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, d.cursor, 0, FS_PROTO_DEFLATE, &resp, &eb),
                     200);
    assert_int_equal(resp.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&c);
    assert_int_equal(fss_analyze(t.s, now + 100 * day, &a, NULL), FSS_OK);

    /* At risk: the escaped name; the manager sees north only. */
    csv_get(&t, NULL, "/admin/v1/reports/at-risk?format=csv", 200,
            "customer_id,name,territory,owner_rep,grade,risk,risk_reason\r\n", NULL);
    fs_id_format(&green, id);
    snprintf(want, sizeof want, "%s,\"Green, \"\"field\"\"\nLtd\",north,", id);
    csv_get(&t, NULL, "/admin/v1/reports/at-risk?format=csv", 200, want, NULL);
    csv_get(&t, NULL, "/admin/v1/reports/at-risk?format=csv", 200, "Southmill", NULL);
    csv_get(&t, &max, "/admin/v1/reports/at-risk?format=csv", 200, want, "Southmill");
    csv_get(&t, &max, "/admin/v1/reports/at-risk?format=csv&territory=south", 403, NULL,
            "Southmill");
    /* The A-E matrix (per currency) and the Pareto curve. */
    fs_id_format(&big, id);
    snprintf(want, sizeof want, "EUR,%s,E,true,", id);
    csv_get(&t, NULL, "/admin/v1/reports/value?format=csv", 200,
            "currency,customer_id,grade,core,rfm,unit_price,purchases,revenue\r\n", NULL);
    csv_get(&t, NULL, "/admin/v1/reports/value?format=csv", 200, want, NULL);
    csv_get(&t, NULL, "/admin/v1/reports/value?format=csv", 200, ",900,1,900\r\n", NULL);
    csv_get(&t, &max, "/admin/v1/reports/value?format=csv", 200, want, ",100,1,100\r\n");
    csv_get(&t, NULL, "/admin/v1/reports/value?format=csv&table=pareto", 200,
            "currency,top_customers_pct,revenue_share_pct\r\n", NULL);
    csv_get(&t, NULL, "/admin/v1/reports/value?format=csv&table=pareto", 200,
            "\r\nEUR,50,90\r\n", NULL);
    csv_get(&t, NULL, "/admin/v1/reports/value?format=csv&table=pareto", 200,
            "\r\nEUR,100,100\r\n", NULL);
    /* Grade movements by territory. */
    csv_get(&t, NULL, "/admin/v1/reports/movements?format=csv", 200,
            "territory,from_grade,to_grade,customers\r\nnorth,", "\r\n\r\n");
    csv_get(&t, NULL, "/admin/v1/reports/movements?format=csv", 200, "\r\nsouth,", NULL);
    csv_get(&t, &max, "/admin/v1/reports/movements?format=csv", 200, "\r\nnorth,",
            "\r\nsouth,");
    /* Tickets waiting: the subject and customer escaped. */
    fs_id_format(&tk, id);
    snprintf(want, sizeof want, "\r\n%s,", id);
    csv_get(&t, &max, "/admin/v1/tickets?format=csv", 200,
            "ticket_id,customer_id,customer,territory,subject,kind,priority,status,"
            "opened_at,age_days\r\n", NULL);
    csv_get(&t, &max, "/admin/v1/tickets?format=csv", 200, want, NULL);
    csv_get(&t, &max, "/admin/v1/tickets?format=csv", 200,
            ",\"Green, \"\"field\"\"\nLtd\",north,\"late, \"\"very\"\"\",complaint,", NULL);
    /* Satisfaction: three tables (no score yet: headers only). */
    csv_get(&t, &max, "/admin/v1/reports/satisfaction?format=csv", 200,
            "rep,surveys,sum,average\r\n", NULL);
    csv_get(&t, &max, "/admin/v1/reports/satisfaction?format=csv&table=month", 200,
            "month,surveys,sum,average\r\n", NULL);
    csv_get(&t, NULL, "/admin/v1/reports/satisfaction?format=csv&table=territory", 200,
            "territory,surveys,sum,average\r\n", NULL);
    /* Lost, one line per customer with its reason (itself escaped). */
    assert_int_equal(fss_admin_customer_lost(t.s, &green, "price, \"too high\"", NULL), FSS_OK);
    assert_int_equal(fss_admin_customer_lost(t.s, &south, "moved away", NULL), FSS_OK);
    fs_id_format(&green, id);
    snprintf(want, sizeof want, "\r\n\"price, \"\"too high\"\"\",%s,", id);
    csv_get(&t, NULL, "/admin/v1/reports/lost?format=csv", 200, "reason,customer_id,name\r\n",
            NULL);
    csv_get(&t, NULL, "/admin/v1/reports/lost?format=csv", 200, want, NULL);
    csv_get(&t, NULL, "/admin/v1/reports/lost?format=csv", 200, "\r\nmoved away,", NULL);
    csv_get(&t, &max, "/admin/v1/reports/lost?format=csv", 200, want, "moved away");
    /* Bad input: a clear refusal. */
    csv_get(&t, NULL, "/admin/v1/reports/satisfaction?format=csv&table=week", 400,
            "table must be one of: territory, month", NULL);
    csv_get(&t, NULL, "/admin/v1/reports/at-risk?format=csv&table=x", 400, "table", NULL);
    csv_get(&t, NULL, "/admin/v1/reports/lost?format=xml", 400, "format must be json or csv",
            NULL);
    csv_get(&t, NULL, "/admin/v1/tickets?format=json", 200, "[", "\r\n");
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_add_rules),
        cmocka_unit_test(test_login_session_logout),
        cmocka_unit_test(test_csrf_required),
        cmocka_unit_test(test_login_limit_per_account),
        cmocka_unit_test(test_login_limit_per_address),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_disable_and_password_end_sessions),
        cmocka_unit_test(test_audit_names_actors),
        cmocka_unit_test(test_cookie_over_http),
        cmocka_unit_test(test_cookie_secure_under_tls),
        cmocka_unit_test(test_sessions_without_token),
        cmocka_unit_test(test_scope_by_territory),
        cmocka_unit_test(test_customers_list),
        cmocka_unit_test(test_live_changes),
        cmocka_unit_test(test_report_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
