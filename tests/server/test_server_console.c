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

#include <stdlib.h>
#include <string.h>

#define PW "correct horse"

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
        /* Not yet scoped to territories: closed to managers and viewers. */
        {"GET", "/admin/v1/reps", NULL, 200, 403, 403},
        {"GET", "/admin/v1/devices", NULL, 200, 403, 403},
        {"GET", "/admin/v1/conflicts", NULL, 200, 403, 403},
        {"GET", "/admin/v1/pipeline", NULL, 200, 403, 403},
        {"GET", "/admin/v1/activity", NULL, 200, 403, 403},
        {"POST", "/admin/v1/conflicts/1/resolve", "{\"choice\":\"theirs\"}", 404, 403, 403},
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
