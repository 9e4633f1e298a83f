/*
 * test_server_owner.c - the ownership lifecycle (issue 17) over HTTP: a rep
 * offboarded in one step (customers to a rep or the pool, territories
 * removed, codes voided, enrollment refused, devices revoked: 401 + wipe),
 * with --drain (every queued change pushed and judged once, nothing
 * pulled, then wiped; the drained count recorded), reactivation, the
 * refusals, and the admin API's offboard and reactivate.
 */
#include "server_testkit.h"

#include "fss_sql.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void admin(tk_server *t, const char *method, const char *path,
                  const char *body, tk_http *r)
{
    const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN,
                       "Content-Type: application/json", NULL};

    tk_request(t, method, path, h, body, body ? strlen(body) : 0, r);
}

/* The owner_rep of customer `cust` as device d (which must see it) pulls
 * it from scratch; "" when it has none. */
static void owner_seen(tk_server *t, tk_device *d, const fs_id *cust,
                       char out[FS_ID_STRLEN + 1])
{
    fs_sync_response r;
    fs_error_body eb;
    const fs_pulled_row *pr;
    const char *o;

    assert_int_equal(tk_sync(t, d, NULL, NULL, 0, 0, 5000, FS_PROTO_IDENTITY,
                             &r, &eb), 200);
    pr = tk_find_row(&r, cust);
    assert_non_null(pr);
    o = tk_row_text(&pr->row, "owner_rep");
    snprintf(out, FS_ID_STRLEN + 1, "%s", o ? o : "");
    fs_proto_sync_response_free(&r);
}

static void free_changes(fs_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fs_change_free(&c[i]);
}

static const char *rid_of(const fs_id *id, char out[FS_ID_STRLEN + 1])
{
    fs_id_format(id, out);
    return out;
}

/* Leaves one customer with rep as a crash between two of an offboarding's
 * batches leaves it (written past the server, as only a test may). */
static void give_back(tk_server *t, const fs_id *cust, const char *rep)
{
    fss_sql *db = tk_sql(t);
    fss_stmt *st = NULL;

    assert_int_equal(fss_prepare(db, "UPDATE customer SET owner_rep = ? WHERE id = ?",
                                 -1, &st, NULL), FSS_SQL_OK);
    fss_bind_text(st, 1, rep, -1, FSS_SQL_TRANSIENT);
    fss_bind_blob(st, 2, cust->b, 16, FSS_SQL_TRANSIENT);
    assert_int_equal(fss_step(st), FSS_SQL_DONE);
    fss_finalize(st);
    fss_sql_close(db);
}

static void test_offboard_to_rep(void **state)
{
    int64_t moved = 0;
    tk_server t;
    tk_device a, b, late;
    fs_error err = {0};
    fs_error_body eb;
    fs_sync_response r;
    fss_offboard_result res;
    char code[FSS_CODE_LEN + 1], owner[FS_ID_STRLEN + 1], bid[FS_ID_STRLEN + 1];
    fs_id ra, rb, own, terr;
    fss_buf list = {0};
    size_t seen = 0, exits = 0;
    fs_exit_reason why = 0;

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Ann", "north");
    rb = tk_rep(&t, "Bob", "south");
    own = tk_customer(&t, "Owned Ltd", "south", &ra, 53.4, -2.2);
    terr = tk_customer(&t, "Northern Co", "north", NULL, 53.5, -2.3);
    tk_enroll(&t, &ra, &a);
    tk_enroll(&t, &rb, &b);
    tk_pull_all(&t, &a, NULL, NULL, NULL, NULL);
    tk_pull_all(&t, &b, NULL, NULL, NULL, NULL);
    /* An unused code issued before the offboarding. */
    assert_int_equal(fss_admin_enroll_code(t.s, &ra, 0, code, &err), FSS_OK);

    assert_int_equal(fss_admin_offboard(t.s, &ra, &rb, false, "test", &res, &err),
                     FSS_OK);
    assert_int_equal(res.customers, 1);
    assert_int_equal(res.territories, 1);
    assert_int_equal(res.devices, 1);
    assert_int_equal(res.codes, 1);
    assert_false(res.drain);

    /* The device: 401 + wipe. */
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, a.cursor, 0,
                             FS_PROTO_IDENTITY, &r, &eb), 401);
    assert_true(eb.wipe);
    assert_int_equal(eb.code, FS_PROTO_ERR_REVOKED);
    /* The heir pulls the customer (in a territory it does not cover) and
     * owns it; the territory customer is not its. */
    tk_pull_all(&t, &b, &own, &seen, &exits, &why);
    assert_int_equal(seen, 1);
    owner_seen(&t, &b, &own, owner);
    fs_id_format(&rb, bid);
    assert_string_equal(owner, bid);
    /* The old code is void; no new code until reactivated. */
    assert_int_equal(tk_enroll_code(&t, code, &late, &eb), 403);
    assert_non_null(strstr(eb.message, "offboarded"));
    assert_int_equal(fss_admin_enroll_code(t.s, &ra, 0, code, &err), FSS_EINVAL);
    assert_non_null(strstr(err.text, "deactivated"));
    /* Offboarding twice, to oneself, to an offboarded rep: refused. */
    assert_int_equal(fss_admin_offboard(t.s, &ra, NULL, false, NULL, &res, &err),
                     FSS_EINVAL);
    assert_int_equal(fss_admin_offboard(t.s, &rb, &rb, false, NULL, &res, &err),
                     FSS_EINVAL);
    assert_int_equal(fss_admin_offboard(t.s, &rb, &ra, false, NULL, &res, &err),
                     FSS_EINVAL);
    assert_int_equal(fss_admin_rep_reactivate(t.s, &rb, &err), FSS_EINVAL);
    /* A deactivated rep is shown so, and gets no customer, territory or
     * customer import until reactivated; each refusal changes nothing. */
    assert_int_equal(fss_admin_reps_list(t.s, &list, &err), FSS_OK);
    assert_non_null(strstr(list.data, "\"name\":\"Ann\",\"email\":null,\"active\":false,"
                                      "\"territories\":[]"));
    assert_non_null(strstr(list.data, "\"name\":\"Bob\",\"email\":null,\"active\":true,"));
    fss_buf_free(&list);
    assert_int_equal(fss_admin_customer_assign(t.s, &terr, rid_of(&ra, owner), NULL,
                                               &err), FSS_EINVAL);
    assert_non_null(strstr(err.text, "deactivated (offboarded): reactivate it before "
                                     "assigning it customers"));
    owner_seen(&t, &b, &own, owner);
    assert_string_equal(owner, bid);
    assert_int_equal(fss_admin_rep_territory(t.s, &ra, "north", true, &err), FSS_EINVAL);
    assert_non_null(strstr(err.text, "before adding a territory"));
    assert_int_equal(fss_admin_reps_list(t.s, &list, &err), FSS_OK);
    assert_non_null(strstr(list.data, "\"active\":false,\"territories\":[]"));
    fss_buf_free(&list);
    {
        char json[300], path[200], aid[FS_ID_STRLEN + 1], cid[FS_ID_STRLEN + 1];
        tk_http h;
        rid_of(&ra, aid);
        snprintf(json, sizeof json, "[{\"name\":\"Late Ltd\",\"owner_rep\":\"%s\"}]", aid);
        admin(&t, "POST", "/admin/v1/import/customers", json, &h);
        assert_int_equal(h.status, 422);
        assert_non_null(strstr((const char *)h.body, "deactivated"));
        tk_http_free(&h);
        snprintf(path, sizeof path, "/admin/v1/customers/%s/assign", rid_of(&terr, cid));
        snprintf(json, sizeof json, "{\"owner_rep\":\"%s\"}", aid);
        admin(&t, "POST", path, json, &h);
        assert_int_equal(h.status, 400);
        assert_non_null(strstr((const char *)h.body, "deactivated"));
        tk_http_free(&h);
        snprintf(path, sizeof path, "/admin/v1/reps/%s/territories", aid);
        admin(&t, "POST", path, "{\"territory\":\"north\"}", &h);
        assert_int_equal(h.status, 400);
        tk_http_free(&h);
        snprintf(path, sizeof path, "/admin/v1/reps/%s/enrollment-codes", aid);
        admin(&t, "POST", path, "{}", &h);
        assert_int_equal(h.status, 400);
        assert_non_null(strstr((const char *)h.body, "before issuing an enrollment code"));
        tk_http_free(&h);
    }
    /* An offboarding cut short (here: a customer left with the rep, as a
     * crash between two of its batches leaves it) is finished by running
     * it again, to the recorded heir. */
    give_back(&t, &terr, rid_of(&ra, owner));
    assert_int_equal(fss_admin_offboard(t.s, &ra, NULL, false, NULL, &res, &err),
                     FSS_OK);
    assert_int_equal(res.customers, 1);
    owner_seen(&t, &b, &terr, owner);
    assert_string_equal(owner, bid);
    /* ... and by `serve` on its own (fss_offboards_finish), once. */
    give_back(&t, &terr, rid_of(&ra, owner));
    assert_int_equal(fss_offboards_finish(t.s, &moved, &err), FSS_OK);
    assert_int_equal(moved, 1);
    owner_seen(&t, &b, &terr, owner);
    assert_string_equal(owner, bid);
    assert_int_equal(fss_offboards_finish(t.s, &moved, &err), FSS_OK);
    assert_int_equal(moved, 0);
    /* Reactivation is explicit: then a new code enrolls; the old device
     * stays revoked. What a reactivated rep owns is its own again: nothing
     * finishes an offboarding that was undone. */
    assert_int_equal(fss_admin_rep_reactivate(t.s, &ra, &err), FSS_OK);
    give_back(&t, &terr, rid_of(&ra, owner));
    assert_int_equal(fss_offboards_finish(t.s, &moved, &err), FSS_OK);
    assert_int_equal(moved, 0);
    tk_enroll(&t, &ra, &late);
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, 0, 0, FS_PROTO_IDENTITY, &r,
                             &eb), 401);
    assert_int_equal(fss_admin_offboards_list(t.s, NULL, &list, &err), FSS_OK);
    assert_non_null(strstr(list.data, "\"customers_moved\":3")); /* with both resumes */
    assert_null(strstr(list.data, "\"reactivated_at\":null"));
    fss_buf_free(&list);
    tk_stop(&t);
}

static void test_offboard_drain_to_pool(void **state)
{
    tk_server t;
    tk_device a, c;
    fs_error err = {0};
    fs_error_body eb;
    fs_sync_response r;
    fss_offboard_result res;
    fs_change ch[3], more[1];
    fs_id ra, rc, cust, visit = tk_new_id(), fresh = tk_new_id();
    char owner[FS_ID_STRLEN + 1];
    fss_buf list = {0};
    const char *phone;
    const fs_pulled_row *pr;

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Ann", NULL);
    rc = tk_rep(&t, "Cid", "north");
    cust = tk_customer(&t, "Greenfield", "north", &ra, 53.4812, -2.2426);
    tk_enroll(&t, &ra, &a);
    tk_enroll(&t, &rc, &c);
    tk_pull_all(&t, &a, NULL, NULL, NULL, NULL);
    /* Offline work on Ann's device: an edit, a visit under the customer,
     * a new customer; one more edit in a second batch. */
    tk_change(&ch[0], &a, "customer", &cust);
    tk_set_text(&ch[0], &a, "phone", "+44 161 555 0100");
    tk_change(&ch[1], &a, "visit", &visit);
    tk_set_id(&ch[1], &a, "customer_id", &cust);
    tk_set_int(&ch[1], &a, "planned_at", (int64_t)fs_hlc_ms(a.clock) + 3600000);
    tk_set_text(&ch[1], &a, "status", "planned");
    tk_change(&ch[2], &a, "customer", &fresh);
    tk_set_text(&ch[2], &a, "name", "Met at the fair");
    tk_change(&more[0], &a, "customer", &cust);
    tk_set_text(&more[0], &a, "address", "1 Mill Lane");

    assert_int_equal(fss_admin_offboard(t.s, &ra, NULL, true, "test", &res, &err),
                     FSS_OK);
    assert_int_equal(res.customers, 1);
    assert_int_equal(res.devices, 1);
    assert_true(res.drain);

    /* Each batch is judged against what Ann had; nothing is pulled and the
     * device is asked for more while it pushes. */
    assert_int_equal(tk_sync(&t, &a, NULL, ch, 3, a.cursor, 0, FS_PROTO_IDENTITY,
                             &r, &eb), 200);
    assert_int_equal(r.nresults, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(r.results[i].outcome, FS_APPLIED);
    assert_int_equal(r.nrows, 0);
    assert_int_equal(r.nexits, 0);
    assert_false(r.wipe);
    assert_true(r.has_more);
    fs_proto_sync_response_free(&r);
    assert_int_equal(tk_sync(&t, &a, NULL, more, 1, a.cursor, 0,
                             FS_PROTO_IDENTITY, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    /* The outbox is empty: the drain ends with a wipe, then 401 + wipe. */
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, a.cursor, 0,
                             FS_PROTO_IDENTITY, &r, &eb), 200);
    assert_true(r.wipe);
    assert_int_equal(r.nrows, 0);
    fs_proto_sync_response_free(&r);
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, a.cursor, 0,
                             FS_PROTO_IDENTITY, &r, &eb), 401);
    assert_true(eb.wipe);

    /* The pool: no owner; Cid (territory north) sees the drained edits. */
    owner_seen(&t, &c, &cust, owner);
    assert_string_equal(owner, "");
    assert_int_equal(tk_sync(&t, &c, NULL, NULL, 0, 0, 5000, FS_PROTO_IDENTITY,
                             &r, &eb), 200);
    pr = tk_find_row(&r, &cust);
    assert_non_null(pr);
    phone = tk_row_text(&pr->row, "phone");
    assert_non_null(phone);
    assert_string_equal(phone, "+44 161 555 0100");
    assert_string_equal(tk_row_text(&pr->row, "address"), "1 Mill Lane");
    assert_non_null(tk_find_row(&r, &visit));
    fs_proto_sync_response_free(&r);
    assert_int_equal(fss_admin_offboards_list(t.s, NULL, &list, &err), FSS_OK);
    assert_non_null(strstr(list.data, "\"changes_drained\":4"));
    assert_non_null(strstr(list.data, "\"to\":\"pool\""));
    fss_buf_free(&list);
    free_changes(ch, 3);
    free_changes(more, 1);
    tk_stop(&t);
}

/* A drain is judged as usual: a write to a customer Ann never had is a
 * scope rejection, recorded; a replayed batch is not counted twice. */
static void test_drain_judged(void **state)
{
    tk_server t;
    tk_device a;
    fs_error err = {0};
    fs_error_body eb;
    fs_sync_response r;
    fss_offboard_result res;
    fs_change ch[1];
    fs_id ra, rb, other, batch = tk_new_id();
    fss_buf list = {0}, conf = {0};

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Ann", NULL);
    rb = tk_rep(&t, "Bob", "south");
    other = tk_customer(&t, "Not Ann's", "south", NULL, 53.4, -2.2);
    tk_enroll(&t, &ra, &a);
    tk_change(&ch[0], &a, "customer", &other);
    tk_set_text(&ch[0], &a, "phone", "1");
    assert_int_equal(fss_admin_offboard(t.s, &ra, &rb, true, NULL, &res, &err),
                     FSS_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tk_sync(&t, &a, &batch, ch, 1, 0, 0, FS_PROTO_IDENTITY,
                                 &r, &eb), 200);
        assert_int_equal(r.results[0].outcome, FS_REJECTED);
        assert_int_equal(r.results[0].reason, FS_REASON_SCOPE);
        fs_proto_sync_response_free(&r);
    }
    assert_int_equal(fss_admin_offboards_list(t.s, NULL, &list, &err), FSS_OK);
    assert_non_null(strstr(list.data, "\"changes_drained\":1"));
    assert_int_equal(fss_admin_conflicts_list(t.s, NULL, 100, &conf, &err), FSS_OK);
    assert_non_null(strstr(conf.data, "\"rule\":\"scope\""));
    fss_buf_free(&list);
    fss_buf_free(&conf);
    free_changes(ch, 1);
    tk_stop(&t);
}

static void test_offboard_admin_api(void **state)
{
    tk_server t;
    tk_http h;
    fs_id ra, rb;
    char path[200], body[200], rid[FS_ID_STRLEN + 1], bid[FS_ID_STRLEN + 1];

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Ann", "north");
    rb = tk_rep(&t, "Bob", NULL);
    tk_customer(&t, "A1", NULL, &ra, 1, 1);
    tk_customer(&t, "A2", NULL, &ra, 1, 1);
    fs_id_format(&ra, rid);
    fs_id_format(&rb, bid);
    snprintf(path, sizeof path, "/admin/v1/reps/%s/offboard", rid);
    admin(&t, "POST", path, "{\"to\":\"nobody\"}", &h);
    assert_int_equal(h.status, 400);
    tk_http_free(&h);
    admin(&t, "POST", path, "{}", &h);
    assert_int_equal(h.status, 400);
    tk_http_free(&h);
    snprintf(body, sizeof body, "{\"to\":\"%s\",\"drain\":false}", bid);
    admin(&t, "POST", path, body, &h);
    assert_int_equal(h.status, 200);
    assert_non_null(strstr((const char *)h.body, "\"customers_moved\":2"));
    assert_non_null(strstr((const char *)h.body, "\"territories_removed\":1"));
    tk_http_free(&h);
    admin(&t, "GET", "/admin/v1/offboards", NULL, &h);
    assert_int_equal(h.status, 200);
    assert_non_null(strstr((const char *)h.body, bid));
    tk_http_free(&h);
    snprintf(path, sizeof path, "/admin/v1/reps/%s/reactivate", rid);
    admin(&t, "POST", path, NULL, &h);
    assert_int_equal(h.status, 200);
    tk_http_free(&h);
    admin(&t, "POST", path, NULL, &h);
    assert_int_equal(h.status, 400); /* active already */
    tk_http_free(&h);
    tk_stop(&t);
}

#define DAY_MS INT64_C(86400000)

static void claim_change(fs_change *c, tk_device *d, const fs_id *cust)
{
    char rep[FS_ID_STRLEN + 1];

    fs_id_format(&d->rep, rep);
    tk_change(c, d, "customer", cust);
    tk_set_text(c, d, "claimed_by", rep);
}

/* Reclaim boundaries at the server: the clock starts when the pool first
 * sees a customer owned; the warning task once, N - M days on; nothing a
 * millisecond before N days, reclaimed at N (an open quote keeps one); the
 * former owner's device gets the exit "reclaimed" only for the customer no
 * territory of hers covers; a dry run changes nothing. */
static void test_reclaim(void **state)
{
    tk_server t;
    tk_device a;
    fs_error err = {0};
    fs_error_body eb;
    fs_sync_response r;
    fss_reclaim_result rr;
    fs_change q[1], late[1];
    fs_id ra, x, y, z, quote = tk_new_id();
    fss_buf rep = {0}, pool = {0}, conf = {0};
    int64_t t0 = (int64_t)time(NULL) * 1000 - 70 * DAY_MS;
    size_t seen = 0, exits = 0, tasks = 0;
    fs_exit_reason why = 0;
    char owner[FS_ID_STRLEN + 1];

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Ann", "north");
    assert_int_equal(fss_admin_territory_add(t.s, "south", NULL, &err), FSS_OK);
    x = tk_customer(&t, "Southside", "south", &ra, 1, 1);
    y = tk_customer(&t, "Northside", "north", &ra, 1, 1);
    z = tk_customer(&t, "Quoted", "south", &ra, 1, 1);
    tk_enroll(&t, &ra, &a);
    tk_pull_all(&t, &a, NULL, NULL, NULL, NULL);
    tk_change(&q[0], &a, "quote", &quote);
    tk_set_id(&q[0], &a, "customer_id", &z);
    tk_set_text(&q[0], &a, "currency", "EUR");
    assert_int_equal(tk_sync(&t, &a, NULL, q, 1, a.cursor, 0, FS_PROTO_IDENTITY,
                             &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    tk_pull_all(&t, &a, NULL, NULL, NULL, NULL);

    assert_int_equal(fss_pool_reclaim(t.s, t0, false, &rr, NULL, &err), FSS_OK);
    assert_int_equal(rr.checked, 3);
    assert_int_equal(rr.reclaimed + rr.warned, 0);
    assert_int_equal(fss_pool_reclaim(t.s, t0 + 53 * DAY_MS - 1, false, &rr, NULL,
                                      &err), FSS_OK);
    assert_int_equal(rr.warned, 0);
    assert_int_equal(fss_pool_reclaim(t.s, t0 + 53 * DAY_MS, true, &rr, &rep, &err),
                     FSS_OK);
    assert_int_equal(rr.warned, 2); /* dry run: says so, changes nothing */
    assert_non_null(strstr(rep.data, "\"action\":\"warn\""));
    assert_int_equal(fss_pool_reclaim(t.s, t0 + 53 * DAY_MS, false, &rr, NULL, &err),
                     FSS_OK);
    assert_int_equal(rr.warned, 2);
    assert_int_equal(fss_pool_reclaim(t.s, t0 + 54 * DAY_MS, false, &rr, NULL, &err),
                     FSS_OK);
    assert_int_equal(rr.warned, 0); /* once */
    /* Ann's device gets the two warning tasks. */
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, a.cursor, 5000,
                             FS_PROTO_IDENTITY, &r, &eb), 200);
    for (size_t i = 0; i < r.nrows; i++) {
        const char *title = tk_row_text(&r.rows[i].row, "title");
        if (strcmp(r.rows[i].row.entity->name, "task") == 0 && title &&
            strstr(title, "public pool"))
            tasks++;
    }
    assert_int_equal(tasks, 2);
    a.cursor = r.next_cursor;
    fs_proto_sync_response_free(&r);

    /* Ann edits Southside offline; it is reclaimed before she syncs. */
    tk_change(&late[0], &a, "customer", &x);
    tk_set_text(&late[0], &a, "phone", "+44 1 late");
    assert_int_equal(fss_pool_reclaim(t.s, t0 + 60 * DAY_MS - 1, false, &rr, NULL,
                                      &err), FSS_OK);
    assert_int_equal(rr.reclaimed, 0);
    assert_int_equal(fss_pool_reclaim(t.s, t0 + 60 * DAY_MS, false, &rr, NULL, &err),
                     FSS_OK);
    assert_int_equal(rr.reclaimed, 2);
    /* Her pending edit is pushed and judged (outside her scope now),
     * recorded for the back office, never dropped silently. */
    assert_int_equal(tk_sync(&t, &a, NULL, late, 1, a.cursor, 0,
                             FS_PROTO_IDENTITY, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_REJECTED);
    assert_int_equal(r.results[0].reason, FS_REASON_SCOPE);
    fs_proto_sync_response_free(&r);
    assert_int_equal(fss_admin_conflicts_list(t.s, NULL, 0, &conf, &err), FSS_OK);
    assert_non_null(strstr(conf.data, "+44 1 late"));
    fss_buf_free(&conf);
    tk_pull_all(&t, &a, &x, &seen, &exits, &why);
    assert_int_equal(exits, 1);
    assert_int_equal(why, FS_EXIT_RECLAIMED);
    owner_seen(&t, &a, &y, owner); /* north still covers it: no exit */
    assert_string_equal(owner, "");
    owner_seen(&t, &a, &z, owner); /* the open quote kept it */
    assert_true(owner[0] != '\0');
    assert_int_equal(fss_admin_pool_list(t.s, NULL, &pool, &err), FSS_OK);
    assert_non_null(strstr(pool.data, "Southside"));
    assert_non_null(strstr(pool.data, "Northside"));
    assert_null(strstr(pool.data, "Quoted"));
    fss_buf_free(&pool);
    {
        const char *only_south[] = {"south", NULL};
        assert_int_equal(fss_admin_pool_list(t.s, only_south, &pool, &err), FSS_OK);
        assert_null(strstr(pool.data, "Northside"));
        fss_buf_free(&pool);
    }
    fss_buf_free(&rep);
    free_changes(q, 1);
    free_changes(late, 1);
    tk_stop(&t);
}

static void quota_one(fss_config *cfg)
{
    cfg->pool_daily_quota = 1;
}

/* Claims: two reps of the territory claim one pool customer offline; the
 * first to arrive wins and owns it, the second is refused "already claimed
 * by <name>" and recorded; a rep outside the territory is refused; the
 * quota (here 1 a day); the former owner barred after a reclaim. */
static void test_claims(void **state)
{
    tk_server t;
    tk_device a, b, c;
    fs_error err = {0};
    fs_error_body eb;
    fs_sync_response r;
    fss_reclaim_result rr;
    fs_change cb[1], cc[1], c2[1], ca[1], out[1];
    fs_id ra, rb, rc, x, w, y;
    fss_buf claims = {0};
    char owner[FS_ID_STRLEN + 1], cid[FS_ID_STRLEN + 1];
    int64_t t0 = (int64_t)time(NULL) * 1000 - 61 * DAY_MS;

    (void)state;
    tk_start(&t, quota_one);
    ra = tk_rep(&t, "Ann", "north");
    rb = tk_rep(&t, "Bob", "south");
    rc = tk_rep(&t, "Cid", NULL);
    assert_int_equal(fss_admin_rep_territory(t.s, &rc, "south", true, &err), FSS_OK);
    x = tk_customer(&t, "Pool One", "south", NULL, 1, 1);
    w = tk_customer(&t, "Pool Two", "south", NULL, 1, 1);
    y = tk_customer(&t, "Ann's", "north", &ra, 1, 1);
    tk_enroll(&t, &ra, &a);
    tk_enroll(&t, &rb, &b);
    tk_enroll(&t, &rc, &c);
    /* Both claim offline; Cid's arrives first. */
    claim_change(&cb[0], &b, &x);
    claim_change(&cc[0], &c, &x);
    assert_int_equal(tk_sync(&t, &c, NULL, cc, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb),
                     200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    assert_int_equal(tk_sync(&t, &b, NULL, cb, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb),
                     200);
    assert_int_equal(r.results[0].outcome, FS_REJECTED);
    assert_int_equal(r.results[0].reason, FS_REASON_CLAIM);
    assert_non_null(strstr(r.results[0].detail, "already claimed by Cid"));
    fs_proto_sync_response_free(&r);
    owner_seen(&t, &c, &x, owner);
    fs_id_format(&rc, cid);
    assert_string_equal(owner, cid);
    /* Quota: Cid's second claim today is refused. */
    claim_change(&c2[0], &c, &w);
    assert_int_equal(tk_sync(&t, &c, NULL, c2, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb),
                     200);
    assert_int_equal(r.results[0].reason, FS_REASON_CLAIM);
    assert_non_null(strstr(r.results[0].detail, "quota"));
    fs_proto_sync_response_free(&r);
    /* Outside the territory: Ann cannot claim a south customer. */
    claim_change(&out[0], &a, &w);
    assert_int_equal(tk_sync(&t, &a, NULL, out, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb),
                     200);
    assert_int_equal(r.results[0].outcome, FS_REJECTED);
    fs_proto_sync_response_free(&r);
    /* A claim naming someone else is invalid. */
    free_changes(out, 1);
    tk_change(&out[0], &b, "customer", &w);
    tk_set_text(&out[0], &b, "claimed_by", cid);
    assert_int_equal(tk_sync(&t, &b, NULL, out, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb),
                     200);
    assert_int_equal(r.results[0].reason, FS_REASON_INVALID);
    fs_proto_sync_response_free(&r);
    /* The former owner: Ann's customer reclaimed, her claim barred. */
    assert_int_equal(fss_pool_reclaim(t.s, t0, false, &rr, NULL, &err), FSS_OK);
    assert_int_equal(fss_pool_reclaim(t.s, (int64_t)time(NULL) * 1000, false, &rr,
                                      NULL, &err), FSS_OK);
    assert_int_equal(rr.reclaimed, 1); /* Ann's; Cid's claim restarted its clock */
    claim_change(&ca[0], &a, &y);
    assert_int_equal(tk_sync(&t, &a, NULL, ca, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb),
                     200);
    assert_int_equal(r.results[0].reason, FS_REASON_CLAIM);
    assert_non_null(strstr(r.results[0].detail, "released"));
    fs_proto_sync_response_free(&r);
    assert_int_equal(fss_admin_claims_list(t.s, NULL, 0, &claims, &err), FSS_OK);
    assert_non_null(strstr(claims.data, "\"outcome\":\"won\""));
    assert_non_null(strstr(claims.data, "\"outcome\":\"taken\""));
    assert_non_null(strstr(claims.data, "\"outcome\":\"quota\""));
    assert_non_null(strstr(claims.data, "\"outcome\":\"barred\""));
    fss_buf_free(&claims);
    free_changes(cb, 1);
    free_changes(cc, 1);
    free_changes(c2, 1);
    free_changes(ca, 1);
    free_changes(out, 1);
    tk_stop(&t);
}

/* Two reps create the same company offline; detection pairs them (name and
 * phone, in Chinese and in two notations); the merge fills the survivor's
 * empty fields only, re-parents the duplicate's rows, and a late write to
 * the duplicate and a contact created offline under it are applied to the
 * survivor (MERGED / REDIRECTED), never lost; the device gets the exit
 * "merged" and the survivor's subtree with the new parent. */
static void test_duplicates_and_merge(void **state)
{
    tk_server t;
    tk_device a, b;
    fs_error err = {0};
    fs_error_body eb;
    fs_sync_response r;
    fss_merge_result mr;
    fs_change ca[2], cb[2], late[2];
    fs_id ra, rb, sa = tk_new_id(), sb = tk_new_id(), kb = tk_new_id(),
        knew = tk_new_id();
    fss_buf dups = {0}, merges = {0};
    const fs_pulled_row *pr;
    size_t exits = 0, seen = 0;
    fs_exit_reason why = 0;
    char sat[FS_ID_STRLEN + 1];

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Ann", "north");
    rb = tk_rep(&t, "Bob", NULL);
    (void)rb;
    tk_enroll(&t, &ra, &a);
    tk_enroll(&t, &rb, &b);
    tk_change(&ca[0], &a, "customer", &sa);
    tk_set_text(&ca[0], &a, "name", "深圳市腾达科技有限公司");
    tk_set_text(&ca[0], &a, "phone", "0755-88881234");
    tk_set_text(&ca[0], &a, "tax_id", "91440300MA5F");
    tk_change(&cb[0], &b, "customer", &sb);
    tk_set_text(&cb[0], &b, "name", "深圳市腾达科技");
    tk_set_text(&cb[0], &b, "phone", "+86 755 8888 1234");
    tk_set_text(&cb[0], &b, "address", "南山区");
    tk_set_text(&cb[0], &b, "tax_id", "");
    tk_change(&cb[1], &b, "contact", &kb);
    tk_set_id(&cb[1], &b, "customer_id", &sb);
    tk_set_text(&cb[1], &b, "name", "Li Wei");
    assert_int_equal(tk_sync(&t, &a, NULL, ca, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb), 200);
    fs_proto_sync_response_free(&r);
    assert_int_equal(tk_sync(&t, &b, NULL, cb, 2, 0, 0, FS_PROTO_IDENTITY, &r, &eb), 200);
    assert_int_equal(r.results[1].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    tk_pull_all(&t, &b, NULL, NULL, NULL, NULL);

    assert_int_equal(fss_admin_duplicates(t.s, NULL, &dups, &err), FSS_OK);
    assert_non_null(strstr(dups.data, "\"score\":100,\"reasons\":[\"name\",\"phone\"]"));
    fss_buf_free(&dups);

    /* Bob keeps working offline on his copy. */
    tk_change(&late[0], &b, "customer", &sb);
    tk_set_text(&late[0], &b, "segment", "vip");
    tk_change(&late[1], &b, "contact", &knew);
    tk_set_id(&late[1], &b, "customer_id", &sb);
    tk_set_text(&late[1], &b, "name", "Zhang Min");

    assert_int_equal(fss_admin_merge(t.s, &sa, &sa, 1, "test", &mr, &err), FSS_EINVAL);
    assert_int_equal(fss_admin_merge(t.s, &sa, &sb, 1, "test", &mr, &err), FSS_OK);
    assert_int_equal(mr.duplicates, 1);
    assert_int_equal(mr.children, 1);
    assert_int_equal(mr.fields, 1); /* the address; phone and tax id kept */
    assert_int_equal(fss_admin_merge(t.s, &sa, &sb, 1, "test", &mr, &err), FSS_EINVAL);
    assert_non_null(strstr(err.text, "merged already"));

    assert_int_equal(tk_sync(&t, &b, NULL, late, 2, b.cursor, 0, FS_PROTO_IDENTITY,
                             &r, &eb), 200);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(r.results[i].outcome, FS_MERGED);
        assert_int_equal(r.results[i].reason, FS_REASON_REDIRECTED);
    }
    fs_proto_sync_response_free(&r);
    tk_pull_all(&t, &b, &sb, &seen, &exits, &why);
    assert_int_equal(exits, 1);
    assert_int_equal(why, FS_EXIT_MERGED);
    /* Ann's device: the survivor with the filled field and Bob's late
     * write, both contacts under it. */
    fs_id_format(&sa, sat);
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, 0, 5000, FS_PROTO_IDENTITY, &r,
                             &eb), 200);
    pr = tk_find_row(&r, &sa);
    assert_non_null(pr);
    assert_string_equal(tk_row_text(&pr->row, "address"), "南山区");
    assert_string_equal(tk_row_text(&pr->row, "phone"), "0755-88881234");
    assert_string_equal(tk_row_text(&pr->row, "segment"), "vip");
    assert_null(tk_find_row(&r, &sb));
    for (size_t i = 0; i < 2; i++) {
        const fs_id *k = i ? &knew : &kb;
        int slot;
        pr = tk_find_row(&r, k);
        assert_non_null(pr);
        slot = fs_entity_field_index(pr->row.entity, "customer_id");
        assert_int_equal(fs_id_cmp(&pr->row.cells[slot].v.u.id, &sa), 0);
    }
    fs_proto_sync_response_free(&r);
    assert_int_equal(fss_admin_merges_list(t.s, &sa, &merges, &err), FSS_OK);
    assert_non_null(strstr(merges.data, "\"children_moved\":1"));
    assert_non_null(strstr(merges.data, "\"by\":\"test\""));
    fss_buf_free(&merges);
    free_changes(ca, 1);
    free_changes(cb, 2);
    free_changes(late, 2);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offboard_to_rep),
        cmocka_unit_test(test_offboard_drain_to_pool),
        cmocka_unit_test(test_drain_judged),
        cmocka_unit_test(test_offboard_admin_api),
        cmocka_unit_test(test_reclaim),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_duplicates_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
