/*
 * test_server_records.c - records a sales team can trust, at the server:
 * one door for every write (an import with a Latin-1 byte is refused with
 * its row and field and every rep still syncs; a device create without a
 * name, a checkout before the stored check-in, a plan in 1970 and a
 * latitude without longitude are refused as invalid), honest reports
 * (activity counts done visits, never plans, per business day in a time
 * zone with DST, with filters; pipeline per currency with quote values) and
 * `check` finding rows an older version let in.
 */
#include "server_testkit.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void admin(tk_server *t, const char *method, const char *path, const char *ctype,
                  const char *body, tk_http *r)
{
    char ct[96];
    const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN, ct, NULL};

    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    tk_request(t, method, path, h, body, body ? strlen(body) : 0, r);
}

static const char *body_of(const tk_http *r)
{
    return r->body ? (const char *)r->body : "";
}

/* An import with invalid UTF-8 is refused (422, row and field named) and
 * nothing reaches the reps, who keep syncing. */
static void test_import_door(void **state)
{
    tk_server t;
    tk_device d;
    tk_http r;
    fs_id rep;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    assert_int_equal(tk_pull_all(&t, &d, NULL, NULL, NULL, NULL), 1);

    admin(&t, "POST", "/admin/v1/import/customers", "text/csv",
          "name,territory,address\n"
          "Good Farm,north,1 Lane\n"
          "Caf\xe9 du Nord,north,2 Lane\n", &r);
    assert_int_equal(r.status, 422);
    /* Header = row 1, so the bad record is row 3. */
    if (!strstr(body_of(&r), "{\"row\":3,\"error\":\"name: field name is not valid UTF-8\"}"))
        fail_msg("%s", body_of(&r));
    assert_non_null(strstr(body_of(&r), "\"imported\":false"));
    tk_http_free(&r);
    admin(&t, "POST", "/admin/v1/import/customers", "application/json",
          "[{\"name\":\"Ok\",\"territory\":\"north\"},"
          "{\"name\":\"Half placed\",\"territory\":\"north\",\"lat\":50.1}]", &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(body_of(&r), "\"row\":2"));
    assert_non_null(strstr(body_of(&r), "customer.lon: coordinates need both lat and lon"));
    tk_http_free(&r);
    admin(&t, "POST", "/admin/v1/import/customers", "application/json",
          "[{\"territory\":\"north\",\"phone\":\"1\"}]", &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(body_of(&r), "a new customer needs a name"));
    tk_http_free(&r);

    /* Nothing was imported; the rep syncs, and still sees one customer. */
    d.cursor = 0;
    assert_int_equal(tk_pull_all(&t, &d, NULL, NULL, NULL, NULL), 1);
    tk_stop(&t);
}

/* A device write that breaks a row rule is REJECTED with reason invalid and
 * a message naming the field; nothing is stored. */
static void test_device_row_rules(void **state)
{
    tk_server t;
    tk_device d;
    fs_change c[5];
    fs_sync_response resp;
    fs_error_body eb;
    fs_id rep, cust, visit = tk_new_id(), plan = tk_new_id(), nameless = tk_new_id(),
                     halfplaced = tk_new_id();
    int64_t now;
    size_t i;
    static const struct {
        fs_outcome outcome;
        const char *detail;
    } want[] = {
        {FS_APPLIED, ""},
        {FS_REJECTED, "visit.checkout_at:"},
        {FS_REJECTED, "visit.planned_at: 1970-01-01 00:00 UTC is before 2000-01-01"},
        {FS_REJECTED, "a new customer needs a name (customer.name is required)"},
        {FS_REJECTED, "customer.lon: coordinates need both lat and lon"},
    };

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    now = (int64_t)fs_hlc_ms(d.clock);

    tk_change(&c[0], &d, "visit", &visit);
    tk_set_id(&c[0], &d, "customer_id", &cust);
    tk_set_int(&c[0], &d, "checkin_at", now);
    tk_set_real(&c[0], &d, "checkin_lat", 53.48);
    tk_set_real(&c[0], &d, "checkin_lon", -2.24);
    tk_set_text(&c[0], &d, "status", "in_progress");
    /* Written alone, judged against the stored check-in. */
    tk_change(&c[1], &d, "visit", &visit);
    tk_set_int(&c[1], &d, "checkout_at", now - 60000);
    tk_change(&c[2], &d, "visit", &plan);
    tk_set_id(&c[2], &d, "customer_id", &cust);
    tk_set_int(&c[2], &d, "planned_at", 1);
    tk_change(&c[3], &d, "customer", &nameless);
    tk_set_text(&c[3], &d, "phone", "+44 1");
    tk_change(&c[4], &d, "customer", &halfplaced);
    tk_set_text(&c[4], &d, "name", "Half placed");
    tk_set_real(&c[4], &d, "lat", 50.1);
    assert_int_equal(tk_sync(&t, &d, NULL, c, 5, d.cursor, 0, FS_PROTO_IDENTITY, &resp, &eb),
                     200);
    for (i = 0; i < 5; i++) {
        if (resp.results[i].outcome != want[i].outcome ||
            !strstr(resp.results[i].detail, want[i].detail))
            fail_msg("change %zu: outcome %d '%s', want %d '%s'", i,
                     (int)resp.results[i].outcome, resp.results[i].detail,
                     (int)want[i].outcome, want[i].detail);
        if (want[i].outcome == FS_REJECTED)
            assert_int_equal(resp.results[i].reason, FS_REASON_INVALID);
    }
    /* Nothing of the refused writes is stored. */
    assert_null(tk_find_row(&resp, &plan));
    assert_null(tk_find_row(&resp, &nameless));
    assert_null(tk_find_row(&resp, &halfplaced));
    {
        const fs_pulled_row *v = tk_find_row(&resp, &visit);
        int slot;
        assert_non_null(v);
        slot = fs_entity_field_index(v->row.entity, "checkout_at");
        assert_int_equal(v->row.cells[slot].v.kind, FS_VAL_NULL);
    }
    fs_proto_sync_response_free(&resp);
    for (i = 0; i < 5; i++)
        fs_change_free(&c[i]);
    tk_stop(&t);
}

/* Visit builder: status plus the times given (0 = unset). */
static void visit_change(fs_change *c, tk_device *d, const fs_id *cust, const char *status,
                         int64_t planned, int64_t checkin, int64_t checkout, const char *outcome)
{
    fs_id id = tk_new_id();

    tk_change(c, d, "visit", &id);
    tk_set_id(c, d, "customer_id", cust);
    tk_set_text(c, d, "status", status);
    if (planned)
        tk_set_int(c, d, "planned_at", planned);
    if (checkin) {
        tk_set_int(c, d, "checkin_at", checkin);
        tk_set_real(c, d, "checkin_lat", 40.71);
        tk_set_real(c, d, "checkin_lon", -74.0);
    }
    if (checkout)
        tk_set_int(c, d, "checkout_at", checkout);
    if (outcome)
        tk_set_text(c, d, "outcome", outcome);
}

static void new_york(fss_config *cfg)
{
    cfg->business_tz = "America/New_York";
}

/* 2026-03-08 04:30 UTC: 23:30 on 7 March in New York (EST, UTC-5). */
#define MAR08_0430Z INT64_C(1772944200000)
/* 2026-07-01 04:30 UTC: 00:30 on 1 July in New York (EDT, UTC-4); a fixed
 * UTC-5 would put it on 30 June. */
#define JUL01_0430Z INT64_C(1782880200000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

static void test_activity(void **state)
{
    tk_server t;
    tk_device a, b;
    fs_change c[6];
    fs_sync_response resp;
    fs_error_body eb;
    fss_buf out = {0};
    fs_error err = {0};
    fs_id alice, bob, north, south;
    char aid[FS_ID_STRLEN + 1], bid[FS_ID_STRLEN + 1], want[600], path[200];
    tk_http r;
    size_t i;

    (void)state;
    tk_start(&t, new_york);
    alice = tk_rep(&t, "Alice", "north");
    bob = tk_rep(&t, "Bob", "south");
    fs_id_format(&alice, aid);
    fs_id_format(&bob, bid);
    north = tk_customer(&t, "Greenfield", "north", NULL, 40.71, -74.0);
    south = tk_customer(&t, "Sunvale", "south", NULL, 40.70, -74.0);
    tk_enroll(&t, &alice, &a);
    tk_enroll(&t, &bob, &b);
    tk_pull_all(&t, &a, NULL, NULL, NULL, NULL);
    tk_pull_all(&t, &b, NULL, NULL, NULL, NULL);

    /* Alice: a completed visit late on 7 March (local), one early on 1 July
     * (local, DST), a plan next month, one in progress, and an abandoned
     * plan of 1 July (no check-in: counted on its planned day). */
    visit_change(&c[0], &a, &north, "completed", 0, MAR08_0430Z, MAR08_0430Z + HOUR_MS,
                 "ordered");
    visit_change(&c[1], &a, &north, "completed", 0, JUL01_0430Z, JUL01_0430Z + HOUR_MS,
                 "demo booked");
    visit_change(&c[2], &a, &north, "planned", (int64_t)fs_hlc_ms(a.clock) + 30 * DAY_MS,
                 0, 0, NULL);
    visit_change(&c[3], &a, &north, "in_progress", 0, JUL01_0430Z + 2 * HOUR_MS, 0, NULL);
    visit_change(&c[4], &a, &north, "abandoned", JUL01_0430Z + 10 * HOUR_MS, 0, 0,
                 "closed");
    assert_int_equal(tk_sync(&t, &a, NULL, c, 5, a.cursor, 0, FS_PROTO_IDENTITY, &resp, &eb),
                     200);
    for (i = 0; i < 5; i++) {
        assert_int_equal(resp.results[i].outcome, FS_APPLIED);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&resp);
    /* Bob: one completed visit on 1 July (local). */
    visit_change(&c[5], &b, &south, "completed", 0, JUL01_0430Z + 5 * HOUR_MS,
                 JUL01_0430Z + 6 * HOUR_MS, NULL);
    assert_int_equal(tk_sync(&t, &b, NULL, &c[5], 1, b.cursor, 0, FS_PROTO_IDENTITY, &resp,
                             &eb), 200);
    assert_int_equal(resp.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&c[5]);

    /* Everything: plans and visits in progress are not activity. */
    assert_int_equal(fss_admin_activity(t.s, NULL, &out, &err), FSS_OK);
    assert_int_equal(tk_count(out.data, "\"rep\":"), 3);
    snprintf(want, sizeof want,
             "{\"rep\":\"%s\",\"rep_name\":\"Alice\",\"day\":\"2026-03-07\",\"visits\":1,"
             "\"completed\":1,\"abandoned\":0,\"verified\":1,\"outside_geofence\":0,"
             "\"unverified\":0,\"time_suspect\":1,\"outcomes\":[\"ordered\"]}", aid);
    if (!strstr(out.data, want))
        fail_msg("want %s in %s", want, out.data);
    snprintf(want, sizeof want,
             "{\"rep\":\"%s\",\"rep_name\":\"Alice\",\"day\":\"2026-07-01\",\"visits\":2,"
             "\"completed\":1,\"abandoned\":1,", aid);
    if (!strstr(out.data, want))
        fail_msg("want %s in %s", want, out.data);
    assert_non_null(strstr(out.data, "\"outcomes\":[\"demo booked\",\"closed\"]"));
    assert_null(strstr(out.data, "2026-06-30"));
    assert_null(strstr(out.data, "2026-03-08"));
    fss_buf_free(&out);

    /* Filters: a date range (inclusive), a rep, a territory. */
    {
        fss_activity_query q = {"2026-07-01", "2026-07-01", NULL, NULL};
        assert_int_equal(fss_admin_activity(t.s, &q, &out, &err), FSS_OK);
        assert_int_equal(tk_count(out.data, "\"rep\":"), 2);
        assert_null(strstr(out.data, "2026-03-07"));
        fss_buf_free(&out);
        q.rep = bid;
        assert_int_equal(fss_admin_activity(t.s, &q, &out, &err), FSS_OK);
        assert_int_equal(tk_count(out.data, "\"rep\":"), 1);
        assert_non_null(strstr(out.data, bid));
        fss_buf_free(&out);
        q.rep = NULL;
        q.from = "2026-03-07";
        q.to = "2026-03-07";
        assert_int_equal(fss_admin_activity(t.s, &q, &out, &err), FSS_OK);
        assert_int_equal(tk_count(out.data, "\"rep\":"), 1);
        assert_non_null(strstr(out.data, "\"day\":\"2026-03-07\""));
        fss_buf_free(&out);
        q.to = "2026-03-06";
        assert_int_equal(fss_admin_activity(t.s, &q, &out, &err), FSS_EINVAL);
        fss_buf_free(&out);
        q.to = "2026-02-30";
        assert_int_equal(fss_admin_activity(t.s, &q, &out, &err), FSS_EINVAL);
        fss_buf_free(&out);
    }
    snprintf(path, sizeof path, "/admin/v1/activity?territory=south&from=2026-01-01");
    admin(&t, "GET", path, "application/json", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(tk_count(body_of(&r), "\"rep\":"), 1);
    assert_non_null(strstr(body_of(&r), bid));
    tk_http_free(&r);
    admin(&t, "GET", "/admin/v1/activity?territory=atlantis", "application/json", NULL, &r);
    assert_int_equal(r.status, 404);
    tk_http_free(&r);
    tk_stop(&t);
}

static void bad_tz(fss_config *cfg)
{
    cfg->business_tz = "Mars/Olympus_Mons";
}

static void test_business_tz_refused(void **state)
{
    fss_config cfg;
    fss_server *s = NULL;
    fs_error err = {0};
    char dir[] = "/tmp/fss-tz-XXXXXX", db[64];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/c.db", dir);
    fss_config_default(&cfg);
    cfg.db_path = db;
    bad_tz(&cfg);
    assert_int_equal(fss_server_open(&cfg, &s, &err), FSS_EINVAL);
    assert_non_null(strstr(err.text, "Mars/Olympus_Mons"));
    assert_null(s);
    rmdir(dir);
}

/* Quotes and contracts per status per currency; quote value = the derived
 * total of its lines. GBP and EUR are never added. */
static void test_pipeline_per_currency(void **state)
{
    tk_server t;
    tk_device d;
    fs_change c[10];
    fs_sync_response resp;
    fs_error_body eb;
    fss_buf out = {0};
    fs_id rep, cust, q1 = tk_new_id(), q2 = tk_new_id(), q3 = tk_new_id(), id;
    size_t n = 0, i;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);

    /* q1 GBP sent: 2 x 10000 with 10% quote discount = 18000. Lines are
     * added while a quote is a draft; the sends come after them. */
    tk_change(&c[n], &d, "quote", &q1);
    tk_set_id(&c[n], &d, "customer_id", &cust);
    tk_set_text(&c[n], &d, "currency", "GBP");
    tk_set_int(&c[n++], &d, "discount", 1000);
    id = tk_new_id();
    tk_change(&c[n], &d, "quote_line", &id);
    tk_set_id(&c[n], &d, "quote_id", &q1);
    tk_set_int(&c[n], &d, "qty", 2);
    tk_set_int(&c[n++], &d, "unit_price", 10000);
    /* q2 EUR sent: 3 x 5000 at 20% line discount = 12000. */
    tk_change(&c[n], &d, "quote", &q2);
    tk_set_id(&c[n], &d, "customer_id", &cust);
    tk_set_text(&c[n++], &d, "currency", "EUR");
    id = tk_new_id();
    tk_change(&c[n], &d, "quote_line", &id);
    tk_set_id(&c[n], &d, "quote_id", &q2);
    tk_set_int(&c[n], &d, "qty", 3);
    tk_set_int(&c[n], &d, "unit_price", 5000);
    tk_set_int(&c[n++], &d, "discount", 2000);
    tk_change(&c[n], &d, "quote", &q1);
    tk_set_text(&c[n++], &d, "status", "sent");
    tk_change(&c[n], &d, "quote", &q2);
    tk_set_text(&c[n++], &d, "status", "sent");
    /* q3 GBP draft without lines = 0. */
    tk_change(&c[n], &d, "quote", &q3);
    tk_set_id(&c[n], &d, "customer_id", &cust);
    tk_set_text(&c[n++], &d, "currency", "GBP");
    /* Contracts: GBP 136430 and EUR 137700, both completed. */
    id = tk_new_id();
    tk_change(&c[n], &d, "contract", &id);
    tk_set_id(&c[n], &d, "customer_id", &cust);
    tk_set_int(&c[n], &d, "amount", 136430);
    tk_set_text(&c[n], &d, "currency", "GBP");
    tk_set_text(&c[n++], &d, "esign_status", "completed");
    id = tk_new_id();
    tk_change(&c[n], &d, "contract", &id);
    tk_set_id(&c[n], &d, "customer_id", &cust);
    tk_set_int(&c[n], &d, "amount", 137700);
    tk_set_text(&c[n], &d, "currency", "EUR");
    tk_set_text(&c[n++], &d, "esign_status", "completed");
    assert_int_equal(tk_sync(&t, &d, NULL, c, n, d.cursor, 0, FS_PROTO_IDENTITY, &resp, &eb),
                     200);
    for (i = 0; i < n; i++) {
        assert_int_equal(resp.results[i].outcome, FS_APPLIED);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&resp);

    assert_int_equal(fss_admin_pipeline(t.s, &out, NULL), FSS_OK);
    assert_string_equal(
        out.data,
        "{\"quotes\":["
        "{\"status\":\"draft\",\"currency\":\"GBP\",\"count\":1,\"value\":0,\"unpriced\":0},"
        "{\"status\":\"sent\",\"currency\":\"EUR\",\"count\":1,\"value\":12000,\"unpriced\":0},"
        "{\"status\":\"sent\",\"currency\":\"GBP\",\"count\":1,\"value\":18000,\"unpriced\":0}],"
        "\"contracts\":["
        "{\"esign_status\":\"completed\",\"currency\":\"EUR\",\"count\":1,\"amount\":137700,"
        "\"no_amount\":0},"
        "{\"esign_status\":\"completed\",\"currency\":\"GBP\",\"count\":1,\"amount\":136430,"
        "\"no_amount\":0}]}\n");
    assert_null(strstr(out.data, "274130"));
    fss_buf_free(&out);
    tk_stop(&t);
}

/* Rows an older version let in (written here by raw SQL) are found by
 * check, one line each with entity, id, field and reason. */
static void test_check_finds_old_rows(void **state)
{
    tk_server t;
    fss_buf out = {0};
    sqlite3 *db = NULL;
    fs_id cust;
    char cid[FS_ID_STRLEN + 1], want[200];
    size_t bad = 99;

    (void)state;
    /* The broken row is invalid UTF-8 in a text column, which PostgreSQL
     * refuses to store at all: on it, the rows check has nothing to find. */
    if (tk_pg())
        skip();
    tk_start(&t, NULL);
    tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    fs_id_format(&cust, cid);
    assert_int_equal(fss_admin_check(t.s, false, &out, &bad, NULL), FSS_OK);
    assert_int_equal(bad, 0);
    assert_int_equal(out.len, 0);
    fss_buf_free(&out);

    assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE customer SET name = CAST(X'436166E9' AS TEXT),"
                                  " lon = NULL",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(fss_admin_check(t.s, false, &out, &bad, NULL), FSS_OK);
    assert_int_equal(bad, 2);
    snprintf(want, sizeof want, "customer %s name: customer: field name is not valid UTF-8\n",
             cid);
    assert_non_null(strstr(out.data, want));
    snprintf(want, sizeof want, "customer %s lon: customer.lon: coordinates need both", cid);
    assert_non_null(strstr(out.data, want));
    fss_buf_free(&out);
    assert_int_equal(fss_admin_check(t.s, true, &out, &bad, NULL), FSS_OK);
    snprintf(want, sizeof want, "{\"entity\":\"customer\",\"id\":\"%s\",\"field\":\"name\","
                                "\"reason\":\"customer: field name is not valid UTF-8\"}\n",
             cid);
    assert_non_null(strstr(out.data, want));
    fss_buf_free(&out);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_door),
        cmocka_unit_test(test_device_row_rules),
        cmocka_unit_test(test_activity),
        cmocka_unit_test(test_business_tz_refused),
        cmocka_unit_test(test_pipeline_per_currency),
        cmocka_unit_test(test_check_finds_old_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
