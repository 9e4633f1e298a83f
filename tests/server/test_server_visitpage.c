/*
 * test_server_visitpage.c - what the console's visit and customer pages
 * read (issue #15): GET visits and GET customers/{id} give each visit the
 * distance_m between its check-in and the customer (the geofence rule's
 * own number, conflict/fs_geo.c) beside the verification the server
 * stamped with the same rule, null without a check-in position; the CSV
 * carries the column; the customer page lists the customer's tickets;
 * the activity report comes as CSV too. --map-tiles: a good tile URL
 * is served to the page (GET settings) and its origin, only it, joins the
 * console's img-src; a bad one is refused with the reason. GET
 * customer-names names the ids the value report gives, within the
 * asker's territories.
 * Runs on both stores (test_server_visitpage_pg).
 */
#include "server_testkit.h"
#include "fss_int.h" /* fss__tiles_csp */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ACT_HEAD                                                              \
    "rep_id,rep_name,day,visits,completed,abandoned,verified,outside_geofence," \
    "unverified,time_suspect,outcomes\r\n"

static const char *const AUTH[] = {"Authorization: Bearer " TK_ADMIN_TOKEN, NULL};

/* GET path with the admin token; the body as a NUL-terminated string
 * (the caller frees it). */
static char *get(tk_server *t, const char *path, long want)
{
    tk_http r;
    char *s;

    tk_request(t, "GET", path, AUTH, NULL, 0, &r);
    if (r.status != want)
        fail_msg("GET %s: HTTP %ld, want %ld: %.*s", path, r.status, want, (int)r.len,
                 (const char *)r.body);
    s = malloc(r.len + 1);
    assert_non_null(s);
    memcpy(s, r.body, r.len);
    s[r.len] = 0;
    tk_http_free(&r);
    return s;
}

/* The JSON object in body that starts with {"id":"ID": its text up to the
 * next "id" object or the end, enough for the strstr checks below. */
static const char *object_of(const char *body, const char *id)
{
    char pat[160]; /* room for any id the callers pass */
    const char *p;

    snprintf(pat, sizeof pat, "{\"id\":\"%s\"", id);
    if (!(p = strstr(body, pat)))
        fail_msg("no object %s in %s", id, body);
    return p;
}

/* The number after "key": within the object at obj (before the next
 * object); NAN for null. */
static double number_in(const char *obj, const char *key)
{
    char pat[64];
    const char *p, *end = strstr(obj + 1, "{\"id\":");

    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(obj, pat);
    if (!p || (end && p > end))
        fail_msg("no %s in %.300s", key, obj);
    p += strlen(pat);
    if (strncmp(p, "null", 4) == 0)
        return NAN;
    return strtod(p, NULL);
}

static void text_in(const char *obj, const char *key, const char *want)
{
    char pat[128];
    const char *p, *end = strstr(obj + 1, "{\"id\":");

    snprintf(pat, sizeof pat, "\"%s\":\"%s\"", key, want);
    p = strstr(obj, pat);
    if (!p || (end && p > end))
        fail_msg("no %s in %.400s", pat, obj);
}

static void checkin(tk_server *t, tk_device *d, const fs_id *cust, const fs_id *visit,
                    bool with_pos, double lat, double lon)
{
    fs_change c;
    fs_sync_response resp;
    fs_error_body eb;

    tk_change(&c, d, "visit", visit);
    tk_set_id(&c, d, "customer_id", cust);
    tk_set_text(&c, d, "status", "completed");
    tk_set_int(&c, d, "checkin_at", (int64_t)fs_hlc_ms(d->clock));
    if (with_pos) {
        tk_set_real(&c, d, "checkin_lat", lat);
        tk_set_real(&c, d, "checkin_lon", lon);
    }
    assert_int_equal(tk_sync(t, d, NULL, &c, 1, d->cursor, 0, FS_PROTO_DEFLATE, &resp, &eb),
                     200);
    assert_int_equal(resp.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&c);
}

static void test_distance_and_tickets(void **state)
{
    /* Check-ins around a customer at 50N 0E (geofence 200 m): 111.195 m
     * north (inside), 714.747 m east (outside), and one without a
     * position. Distances from an independent haversine. */
    static const struct {
        bool pos;
        double lat, lon, dist;
        const char *verification;
    } visits[] = {
        {true, 50.001, 0.0, 111.1949266, "verified"},
        {true, 50.0, 0.01, 714.7472105, "outside_geofence"},
        {false, 0, 0, NAN, "unverified"},
    };
    tk_server t;
    tk_device d;
    fs_id rep, cust, ids[3], ticket;
    char cust_s[FS_ID_STRLEN + 1], ids_s[3][FS_ID_STRLEN + 1], path[160];
    char *body;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Mill", "north", &rep, 50.0, 0.0);
    fs_id_format(&cust, cust_s);
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    for (size_t i = 0; i < 3; i++) {
        ids[i] = tk_new_id();
        fs_id_format(&ids[i], ids_s[i]);
        checkin(&t, &d, &cust, &ids[i], visits[i].pos, visits[i].lat, visits[i].lon);
    }
    {
        fs_change c;
        fs_sync_response resp;
        fs_error_body eb;
        ticket = tk_new_id();
        tk_change(&c, &d, "ticket", &ticket);
        tk_set_id(&c, &d, "customer_id", &cust);
        tk_set_text(&c, &d, "kind", "complaint");
        tk_set_text(&c, &d, "subject", "late delivery");
        tk_set_text(&c, &d, "status", "open");
        assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, d.cursor, 0, FS_PROTO_DEFLATE, &resp,
                                 &eb), 200);
        assert_int_equal(resp.results[0].outcome, FS_APPLIED);
        fs_proto_sync_response_free(&resp);
        fs_change_free(&c);
    }

    /* The visits list and the customer page agree with the rule. */
    for (int page = 0; page < 2; page++) {
        if (page == 0)
            body = get(&t, "/admin/v1/visits", 200);
        else {
            snprintf(path, sizeof path, "/admin/v1/customers/%s", cust_s);
            body = get(&t, path, 200);
        }
        for (size_t i = 0; i < 3; i++) {
            const char *obj = object_of(body, ids_s[i]);
            double m = number_in(obj, "distance_m");
            if (isnan(visits[i].dist) ? !isnan(m) : fabs(m - visits[i].dist) > 0.001)
                fail_msg("%s visit %zu: distance_m %f, want %f", page ? "customer page" : "list",
                         i, m, visits[i].dist);
            text_in(obj, "verification", visits[i].verification);
        }
        if (page == 1) {
            char tid[FS_ID_STRLEN + 1];
            fs_id_format(&ticket, tid);
            if (!strstr(body, "\"tickets\":[{"))
                fail_msg("customer page without tickets: %s", body);
            text_in(object_of(body, tid), "subject", "late delivery");
            text_in(object_of(body, tid), "status", "open");
        }
        free(body);
    }
    /* CSV: the column in the header and a number in the row. */
    body = get(&t, "/admin/v1/visits?format=csv&sort=time", 200);
    if (!strstr(body, ",customer_lat,customer_lon,distance_m\r\n") ||
        !strstr(body, ",50,0,111.19"))
        fail_msg("visits CSV: %s", body);
    free(body);
    /* The activity report as CSV: one line per rep and day, the three
     * check-ins counted by verdict. */
    body = get(&t, "/admin/v1/activity?format=csv", 200);
    if (strncmp(body, ACT_HEAD, strlen(ACT_HEAD)) != 0 ||
        !strstr(body, ",Alice,") || !strstr(body, ",3,3,0,1,1,1,0,\r\n"))
        fail_msg("activity CSV: %s", body);
    free(body);
    tk_stop(&t);
}

#define TILES "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?key=abc"

static void tiles_cfg(fss_config *cfg)
{
    cfg->map_tiles = TILES;
}

/* GET path (with its ?query) in process, for what the HTTP test client
 * cannot send (a long query) or see (the CSP chosen, rs->csp). */
static void handle(tk_server *t, const char *path, const char *auth, fss_response *rs)
{
    fss_request rq = {0};
    char *copy = strdup(path), *q;

    assert_non_null(copy);
    if ((q = strchr(copy, '?')))
        *q++ = '\0';
    rq.method = "GET";
    rq.path = copy;
    rq.query = q;
    rq.remote_addr = "192.0.2.1";
    rq.authorization = auth;
    fss_handle(t->s, &rq, rs);
    free(copy);
}

static void test_map_tiles(void **state)
{
    static const struct { const char *url, *says; } bad[] = {
        {"ftp://tiles.example.org/{z}/{x}/{y}.png", "must start with http"},
        {"tiles.example.org/{z}/{x}/{y}.png", "must start with http"},
        {"https:///{z}/{x}/{y}.png", "no host"},
        {"https://tiles.example.org", "no host and path"},
        {"https://tiles.example.org/{z}/{x}.png", "needs {z}, {x} and {y}"},
        {"https://tiles.example.org/{z}/{x}/{y}.png; script-src *", "the path holds ';'"},
        {"https://tiles.example.org/{z}/{x}/{y}.png 'unsafe-inline'", "the path holds ' '"},
        {"https://evil.org,https://x/{z}/{x}/{y}", "the host holds ','"},
        {"https://tiles.example.org/{z}/{x}/{y}.png\r\nX-Evil: 1", "the path holds"},
    };
    tk_server t;
    fss_response rs;
    char *csp = NULL;
    char *body;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fs_error err = {0};
        if (fss__tiles_csp(bad[i].url, &csp, &err) != FSS_EINVAL || csp)
            fail_msg("%s accepted", bad[i].url);
        if (!strstr(err.text, bad[i].says))
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].url, err.text, bad[i].says);
    }
    /* A server opened with a bad URL does not start. */
    {
        fss_config cfg;
        fss_server *s = NULL;
        fs_error err = {0};
        fss_config_default(&cfg);
        cfg.db_path = "/nonexistent/never-opened.db";
        cfg.map_tiles = "gopher://x/{z}/{x}/{y}";
        assert_int_equal(fss_server_open(&cfg, &s, &err), FSS_EINVAL);
        assert_null(s);
        assert_non_null(strstr(err.text, "map-tiles"));
    }

    /* Without tiles: the default CSP, settings say null. */
    tk_start(&t, NULL);
    handle(&t, "/", NULL, &rs);
    assert_int_equal(rs.status, 200);
    assert_true(rs.console_headers);
    assert_null(rs.csp);
    fss_response_free(&rs);
    body = get(&t, "/admin/v1/settings", 200);
    assert_string_equal(body, "{\"map_tiles\":null}\n");
    free(body);
    tk_stop(&t);

    /* With tiles: the page learns the URL, the CSP allows that origin's
     * images and nothing more. */
    tk_start(&t, tiles_cfg);
    body = get(&t, "/admin/v1/settings", 200);
    assert_non_null(strstr(body, "\"map_tiles\":\"https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?key=abc\""));
    free(body);
    for (int i = 0; i < 2; i++) {
        handle(&t, i ? "/console/app.js" : "/", NULL, &rs);
        assert_int_equal(rs.status, 200);
        assert_non_null(rs.csp);
        if (!strstr(rs.csp, "img-src 'self' data: https://tiles.example.org:8443; connect-src 'self';") ||
            !strstr(rs.csp, "default-src 'self'; script-src 'self';") || strstr(rs.csp, "/osm"))
            fail_msg("CSP: %s", rs.csp);
        fss_response_free(&rs);
    }
    tk_stop(&t);
}

/* Logs in over HTTP; the "Cookie: fss_session=..." header into hdr. */
static void login_cookie(tk_server *t, const char *name, const char *pw, char *hdr, size_t cap)
{
    char body[160];
    tk_http r;
    const char *semi;

    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, pw);
    {
        const char *const h[] = {"Content-Type: application/json", NULL};
        tk_request(t, "POST", "/admin/v1/login", h, body, strlen(body), &r);
    }
    assert_int_equal(r.status, 200);
    semi = strchr(r.set_cookie, ';');
    assert_non_null(semi);
    snprintf(hdr, cap, "Cookie: %.*s", (int)(semi - r.set_cookie), r.set_cookie);
    tk_http_free(&r);
}

static void test_customer_names(void **state)
{
    tk_server t;
    fs_id north, south;
    char n_s[FS_ID_STRLEN + 1], s_s[FS_ID_STRLEN + 1], path[600], cookie[200];
    const char *list[] = {"north", NULL};
    fs_error err = {0};
    tk_http r;
    char *body;

    (void)state;
    tk_start(&t, NULL);
    tk_rep(&t, "Nina", "north");
    tk_rep(&t, "Sam", "south");
    north = tk_customer(&t, "North Mill", "north", NULL, 50, 0);
    south = tk_customer(&t, "South Farm", "south", NULL, 51, 0);
    fs_id_format(&north, n_s);
    fs_id_format(&south, s_s);
    if (fss_user_add(t.s, "max", "manager", list, "correct horse", "test", &err) != FSS_OK)
        fail_msg("user-add: %s", err.text);

    /* The admin: both, by name; an unknown id is left out. */
    snprintf(path, sizeof path, "/admin/v1/customer-names?ids=%s,%s,%s", s_s, n_s,
             "00000000-0000-7000-8000-000000000000");
    body = get(&t, path, 200);
    snprintf(path, sizeof path, "[{\"id\":\"%s\",\"name\":\"North Mill\"},"
                                "{\"id\":\"%s\",\"name\":\"South Farm\"}]\n", n_s, s_s);
    assert_string_equal(body, path);
    free(body);
    body = get(&t, "/admin/v1/customer-names?ids=", 200);
    assert_string_equal(body, "[]\n");
    free(body);
    body = get(&t, "/admin/v1/customer-names?ids=nope", 400);
    assert_non_null(strstr(body, "not a UUID"));
    free(body);
    {
        fss_buf many = {0};
        fss_buf_puts(&many, "/admin/v1/customer-names?ids=");
        for (int i = 0; i < FSS_NAMES_MAX + 1; i++)
            fss_buf_printf(&many, "%s%s", i ? "," : "", n_s);
        fss_response rs;
        handle(&t, many.data, "Bearer " TK_ADMIN_TOKEN, &rs);
        if (rs.status != 400 || !memmem(rs.body, rs.body_len, "at most 100 ids", 15))
            fail_msg("101 ids: HTTP %d %.*s", rs.status, (int)rs.body_len, (const char *)rs.body);
        fss_response_free(&rs);
        fss_buf_free(&many);
    }

    /* The north's manager: the south's customer is left out. */
    login_cookie(&t, "max", "correct horse", cookie, sizeof cookie);
    snprintf(path, sizeof path, "/admin/v1/customer-names?ids=%s,%s", s_s, n_s);
    {
        const char *const h[] = {cookie, NULL};
        tk_request(&t, "GET", path, h, NULL, 0, &r);
    }
    assert_int_equal(r.status, 200);
    if (!memmem(r.body, r.len, "North Mill", 10) || memmem(r.body, r.len, "South", 5))
        fail_msg("manager: %.*s", (int)r.len, (const char *)r.body);
    tk_http_free(&r);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_and_tickets),
        cmocka_unit_test(test_map_tiles),
        cmocka_unit_test(test_customer_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
