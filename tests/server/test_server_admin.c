/*
 * test_server_admin.c - the admin API over HTTP: territories, reps,
 * membership, enrollment codes, JSON import, devices, export, activity and
 * pipeline feeds, metrics; and conflict resolution becoming a new change
 * that syncs out to devices.
 */
#include "server_testkit.h"

#include <stdlib.h>
#include <string.h>

static void admin(tk_server *t, const char *method, const char *path,
                  const char *body, tk_http *r)
{
    const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN,
                       "Content-Type: application/json", NULL};

    tk_request(t, method, path, h, body, body ? strlen(body) : 0, r);
}

/* Copies the string value of "key":"..." from JSON text. */
static void json_field(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p;
    size_t n = 0;

    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    p = strstr(json, pat);
    if (!p)
        fail_msg("no %s in %s", key, json);
    p += strlen(pat);
    while (p[n] && p[n] != '"' && n + 1 < cap) {
        out[n] = p[n];
        n++;
    }
    out[n] = 0;
}

static void test_admin_http_flow(void **state)
{
    tk_server t;
    tk_device d;
    tk_http r;
    fs_error_body eb;
    fs_sync_response resp;
    fs_change c[2];
    char rep[64], code[32], path[256], body[512], devid[FS_ID_STRLEN + 1];
    fs_id visit = tk_new_id(), quote = tk_new_id(), cust;
    size_t rows;

    (void)state;
    tk_start(&t, NULL);
    admin(&t, "POST", "/admin/v1/territories", "{\"code\":\"north\",\"name\":\"North\"}", &r);
    assert_int_equal(r.status, 200);
    tk_http_free(&r);
    admin(&t, "POST", "/admin/v1/reps", "{\"name\":\"Alice\",\"email\":\"a@x.io\"}", &r);
    assert_int_equal(r.status, 201);
    json_field((const char *)r.body, "id", rep, sizeof rep);
    tk_http_free(&r);
    admin(&t, "POST", "/admin/v1/reps", "{\"name\":\"Alice 2\",\"email\":\"a@x.io\"}", &r);
    assert_int_equal(r.status, 409); /* email taken */
    tk_http_free(&r);
    snprintf(path, sizeof path, "/admin/v1/reps/%s/territories", rep);
    admin(&t, "POST", path, "{\"territory\":\"north\"}", &r);
    assert_int_equal(r.status, 200);
    tk_http_free(&r);
    admin(&t, "POST", "/admin/v1/import/customers",
          "[{\"name\":\"Greenfield\",\"territory\":\"north\",\"lat\":53.48,\"lon\":-2.24},"
          " {\"name\":\"Hillside\",\"territory\":\"north\"}]", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "\"created\":2"));
    tk_http_free(&r);
    snprintf(path, sizeof path, "/admin/v1/reps/%s/enrollment-codes", rep);
    admin(&t, "POST", path, "{\"ttl_s\":600}", &r);
    assert_int_equal(r.status, 201);
    json_field((const char *)r.body, "code", code, sizeof code);
    tk_http_free(&r);
    assert_int_equal(tk_enroll_code(&t, code, &d, &eb), 200);
    rows = tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    assert_int_equal(rows, 2);

    /* A visit and a quote for the activity and pipeline feeds. */
    admin(&t, "GET", "/admin/v1/territories", NULL, &r);
    tk_http_free(&r);
    {
        fss_buf out = {0};
        char cid[FS_ID_STRLEN + 1];
        assert_int_equal(fss_admin_export(t.s, &d.rep, &out, NULL), FSS_OK);
        /* The first customer id in the export (rows sorted by id). */
        json_field(out.data, "id", cid, sizeof cid);
        assert_int_equal(fs_id_parse(cid, strlen(cid), &cust, NULL), FS_OK);
        fss_buf_free(&out);
    }
    tk_change(&c[0], &d, "visit", &visit);
    tk_set_id(&c[0], &d, "customer_id", &cust);
    tk_set_text(&c[0], &d, "status", "completed");
    tk_set_text(&c[0], &d, "outcome", "ordered");
    tk_set_int(&c[0], &d, "checkin_at", (int64_t)fs_hlc_ms(d.clock));
    tk_change(&c[1], &d, "quote", &quote);
    tk_set_id(&c[1], &d, "customer_id", &cust);
    tk_set_text(&c[1], &d, "currency", "EUR");
    tk_set_text(&c[1], &d, "status", "sent");
    assert_int_equal(tk_sync(&t, &d, NULL, c, 2, d.cursor, 0, FS_PROTO_DEFLATE, &resp, &eb),
                     200);
    assert_int_equal(resp.results[0].outcome, FS_APPLIED);
    assert_int_equal(resp.results[1].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&c[0]);
    fs_change_free(&c[1]);
    admin(&t, "GET", "/admin/v1/activity", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "\"visits\":1"));
    assert_non_null(strstr((const char *)r.body, "\"completed\":1"));
    assert_non_null(strstr((const char *)r.body, "ordered"));
    assert_non_null(strstr((const char *)r.body, rep));
    tk_http_free(&r);
    admin(&t, "GET", "/admin/v1/pipeline", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "{\"status\":\"sent\",\"currency\":\"EUR\","
                                                 "\"count\":1,\"value\":0,\"unpriced\":0}"));
    tk_http_free(&r);

    /* Devices: listed, then revoked over HTTP. */
    admin(&t, "GET", "/admin/v1/devices", NULL, &r);
    assert_int_equal(r.status, 200);
    fs_id_format(&d.id, devid);
    assert_non_null(strstr((const char *)r.body, devid));
    assert_non_null(strstr((const char *)r.body, "\"revoked\":false"));
    tk_http_free(&r);
    snprintf(path, sizeof path, "/admin/v1/reps/%s/export", rep);
    admin(&t, "GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "Greenfield"));
    tk_http_free(&r);
    snprintf(path, sizeof path, "/admin/v1/devices/%s/revoke", devid);
    admin(&t, "POST", path, NULL, &r);
    assert_int_equal(r.status, 200);
    tk_http_free(&r);
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &resp, &eb), 401);
    assert_true(eb.wipe);

    /* Metrics reflect the traffic. */
    tk_request(&t, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "fieldsync_rows_pushed_total 2"));
    assert_non_null(strstr((const char *)r.body, "fieldsync_requests_total{route=\"sync\",code=\"2xx\"}"));
    assert_non_null(strstr((const char *)r.body, "fieldsync_refusals_total{code=\"revoked\"} 1"));
    tk_http_free(&r);
    (void)body;
    tk_stop(&t);
}

static void test_conflict_resolution_syncs_out(void **state)
{
    tk_server t;
    tk_device a, b;
    tk_http r;
    fs_error_body eb;
    fs_sync_response resp;
    fs_change ca, cb;
    fs_id cust;
    char path[128];
    const char *p;
    long id;

    (void)state;
    tk_stale_phone_writes(&t, &a, &b, &cust, &ca, &cb);
    assert_int_equal(tk_sync(&t, &a, NULL, &ca, 1, 0, 0, FS_PROTO_DEFLATE, &resp, &eb), 200);
    a.cursor = resp.next_cursor;
    fs_proto_sync_response_free(&resp);
    assert_int_equal(tk_sync(&t, &b, NULL, &cb, 1, 0, 0, FS_PROTO_DEFLATE, &resp, &eb), 200);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&ca);
    fs_change_free(&cb);

    admin(&t, "GET", "/admin/v1/conflicts?status=auto&limit=10", NULL, &r);
    assert_int_equal(r.status, 200);
    p = strstr((const char *)r.body, "\"id\":");
    assert_non_null(p);
    id = strtol(p + 5, NULL, 10);
    assert_true(id > 0);
    assert_non_null(strstr((const char *)r.body, "\"yours\":\"old\""));
    tk_http_free(&r);
    /* Keep the losing device's value: a new server change. */
    snprintf(path, sizeof path, "/admin/v1/conflicts/%ld/resolve", id);
    admin(&t, "POST", path, "{\"choice\":\"yours\",\"by\":\"ops@example\"}", &r);
    assert_int_equal(r.status, 200);
    tk_http_free(&r);
    admin(&t, "POST", path, "{\"choice\":\"theirs\"}", &r);
    assert_int_equal(r.status, 409); /* already resolved */
    tk_http_free(&r);
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, a.cursor, 0, FS_PROTO_DEFLATE, &resp, &eb),
                     200);
    assert_non_null(tk_find_row(&resp, &cust));
    assert_string_equal(tk_row_text(&tk_find_row(&resp, &cust)->row, "phone"), "old");
    a.cursor = resp.next_cursor;
    fs_proto_sync_response_free(&resp);
    admin(&t, "GET", "/admin/v1/conflicts?status=resolved", NULL, &r);
    assert_non_null(strstr((const char *)r.body, "\"resolved_by\":\"ops@example\""));
    tk_http_free(&r);
    /* Set an explicit value through the C API (same code as the route). */
    assert_int_equal(fss_admin_conflict_resolve(t.s, id, "value", "\"+44 99\"", "cli", NULL),
                     FSS_EEXISTS);
    admin(&t, "POST", "/admin/v1/conflicts/999999/resolve", "{\"choice\":\"yours\"}", &r);
    assert_int_equal(r.status, 404);
    tk_http_free(&r);
    tk_stop(&t);
}

/* GET /admin/v1/devices (the paged list) with q; asserts 200 and returns
 * the body (free it). */
static char *devices_get(tk_server *t, const char *q)
{
    tk_http r;
    char path[128], *body;

    snprintf(path, sizeof path, "/admin/v1/devices%s", q);
    admin(t, "GET", path, NULL, &r);
    if (r.status != 200)
        fail_msg("%s: HTTP %d: %s", path, (int)r.status, (const char *)r.body);
    body = strdup((const char *)r.body);
    tk_http_free(&r);
    return body;
}

/* The device's item in the list body: from its id to the item's end. */
static void expect_device(const char *body, const tk_device *d, const char *has,
                          const char *lacks)
{
    char id[FS_ID_STRLEN + 1], item[600];
    const char *p, *e;

    fs_id_format(&d->id, id);
    p = strstr(body, id);
    if (!p)
        fail_msg("no device %s in %s", id, body);
    e = strchr(p, '}');
    snprintf(item, sizeof item, "%.*s", (int)(e ? e - p : (ptrdiff_t)strlen(p)), p);
    if (!strstr(item, has) || (lacks && strstr(item, lacks)))
        fail_msg("device %s: want %s%s%s in: %s", id, has, lacks ? " without " : "",
                 lacks ? lacks : "", item);
}

/* The outbox a device reports with each sync request (SyncRequest 12, 13)
 * is kept on its row and listed (JSON, CSV, sortable): the last request's
 * numbers, by a pull or a push; not reported (an older client) is null,
 * never 0; a refused request changes nothing. */
static void test_device_outbox_report(void **state)
{
    tk_server t;
    tk_device d, d2;
    fs_sync_response resp;
    fs_error_body eb;
    fs_change c;
    fs_id rep, cust, visit = tk_new_id();
    char *b;
    char id1[FS_ID_STRLEN + 1], id2[FS_ID_STRLEN + 1];

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Olga Outbox", "north");
    cust = tk_customer(&t, "Outbox Co", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    tk_enroll(&t, &rep, &d2);
    b = devices_get(&t, "");
    expect_device(b, &d, "\"pending_changes\":null,\"rejected_changes\":null,"
                         "\"reported_at\":null", NULL);
    free(b);
    /* A pull reports 4 queued beyond it and 1 rejected held. */
    d.report = true;
    d.outbox_pending = 4;
    d.rejected_held = 1;
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 0, FS_PROTO_IDENTITY, &resp, &eb), 200);
    fs_proto_sync_response_free(&resp);
    b = devices_get(&t, "");
    expect_device(b, &d, "\"pending_changes\":4,\"rejected_changes\":1,\"reported_at\":",
                  "\"reported_at\":null");
    free(b);
    /* A push (recorded in its write transaction): a reported 0 is 0. */
    d.outbox_pending = 0;
    d.rejected_held = 2;
    tk_change(&c, &d, "visit", &visit);
    tk_set_id(&c, &d, "customer_id", &cust);
    tk_set_text(&c, &d, "status", "planned");
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &resp, &eb), 200);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&c);
    b = devices_get(&t, "");
    expect_device(b, &d, "\"pending_changes\":0,\"rejected_changes\":2,", NULL);
    free(b);
    /* Refused (its cursor is ahead of the server): the report stands. */
    d.outbox_pending = 7;
    d.rejected_held = 7;
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, UINT64_C(1) << 40, 0, FS_PROTO_IDENTITY,
                             &resp, &eb), 400);
    b = devices_get(&t, "");
    expect_device(b, &d, "\"pending_changes\":0,\"rejected_changes\":2,", NULL);
    free(b);
    /* The other device reports more pending: first by -pending_changes,
     * last by pending_changes (d's 0 before it; not reported before 0). */
    d2.report = true;
    d2.outbox_pending = 9;
    d2.rejected_held = 0;
    assert_int_equal(tk_sync(&t, &d2, NULL, NULL, 0, 0, 0, FS_PROTO_IDENTITY, &resp, &eb), 200);
    fs_proto_sync_response_free(&resp);
    fs_id_format(&d.id, id1);
    fs_id_format(&d2.id, id2);
    b = devices_get(&t, "?sort=-pending_changes");
    assert_true(strstr(b, id2) < strstr(b, id1));
    free(b);
    b = devices_get(&t, "?sort=pending_changes");
    assert_true(strstr(b, id1) < strstr(b, id2));
    free(b);
    b = devices_get(&t, "?sort=-rejected_changes&format=csv");
    assert_non_null(strstr(b, ",revoked_at,pending_changes,rejected_changes,reported_at\r\n"));
    assert_true(strstr(b, id1) < strstr(b, id2));
    assert_non_null(strstr(b, ",false,,0,2,"));
    assert_non_null(strstr(b, ",false,,9,0,"));
    free(b);
    /* An older client (neither field): null again, not 0. */
    d.report = false;
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 0, FS_PROTO_IDENTITY, &resp, &eb), 200);
    fs_proto_sync_response_free(&resp);
    b = devices_get(&t, "");
    expect_device(b, &d, "\"pending_changes\":null,\"rejected_changes\":null,\"reported_at\":",
                  "\"reported_at\":null");
    free(b);
    b = devices_get(&t, "?format=csv");
    assert_non_null(strstr(b, ",false,,,,"));
    free(b);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_http_flow),
        cmocka_unit_test(test_device_outbox_report),
        cmocka_unit_test(test_conflict_resolution_syncs_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
