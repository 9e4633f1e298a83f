/*
 * test_server_scope.c - scopes over HTTP: a device only ever receives rows
 * of its rep's customers (owner or territory) and products; writes outside
 * the scope are rejected with a reason and recorded; a customer entering
 * the scope arrives with its whole subtree even though older than the
 * cursor; leaving produces a scope exit (reassigned, deleted, revoked).
 */
#include "server_testkit.h"

#include "fss_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct world {
    tk_server t;
    fs_id alice, bob;       /* north, south */
    fs_id n1, n2, s1;       /* customers */
    fs_id s1_contact;
    tk_device da, db;
} world;

static void make_world(world *w)
{
    char json[400], idt[FS_ID_STRLEN + 1], cid[FS_ID_STRLEN + 1];

    tk_start(&w->t, NULL);
    w->alice = tk_rep(&w->t, "Alice", "north");
    w->bob = tk_rep(&w->t, "Bob", "south");
    w->n1 = tk_customer(&w->t, "North One", "north", NULL, 53, -2);
    w->n2 = tk_customer(&w->t, "North Two", "north", NULL, 53, -2);
    w->s1 = tk_customer(&w->t, "South One", "south", NULL, 51, -2);
    tk_import(&w->t, "product",
              "[{\"sku\":\"P1\",\"name\":\"Widget\",\"price\":100,\"currency\":\"EUR\"}]");
    tk_enroll(&w->t, &w->alice, &w->da);
    tk_enroll(&w->t, &w->bob, &w->db);
    /* Bob adds a contact to his south customer. */
    {
        fs_change c;
        fs_sync_response r;
        fs_error_body eb;
        w->s1_contact = tk_new_id();
        tk_change(&c, &w->db, "contact", &w->s1_contact);
        tk_set_id(&c, &w->db, "customer_id", &w->s1);
        tk_set_text(&c, &w->db, "name", "Sam South");
        assert_int_equal(tk_sync(&w->t, &w->db, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE,
                                 &r, &eb), 200);
        assert_int_equal(r.results[0].outcome, FS_APPLIED);
        fs_proto_sync_response_free(&r);
        fs_change_free(&c);
    }
    (void)json;
    (void)idt;
    (void)cid;
}

static void test_bootstrap_only_scope(void **state)
{
    world w;
    fs_sync_response r;
    fs_error_body eb;
    size_t i, customers = 0, products = 0;

    (void)state;
    make_world(&w);
    assert_int_equal(tk_sync(&w.t, &w.da, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_false(r.has_more);
    for (i = 0; i < r.nrows; i++) {
        const fs_row *row = &r.rows[i].row;
        assert_true(fs_id_cmp(&row->id, &w.s1) != 0);
        assert_true(fs_id_cmp(&row->id, &w.s1_contact) != 0);
        if (strcmp(row->entity->name, "customer") == 0)
            customers++;
        if (strcmp(row->entity->name, "product") == 0)
            products++;
    }
    assert_int_equal(customers, 2);
    assert_int_equal(products, 1);
    fs_proto_sync_response_free(&r);
    tk_stop(&w.t);
}

static void test_outside_scope_write_rejected(void **state)
{
    world w;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c[3];
    fs_id contact = tk_new_id();
    fss_buf out = {0};
    size_t seen = 0;

    (void)state;
    make_world(&w);
    tk_pull_all(&w.t, &w.da, NULL, NULL, NULL, NULL);
    /* Alice edits Bob's customer, adds a contact under it, and edits Bob's
     * contact: all three rejected (scope), nothing stored. */
    tk_change(&c[0], &w.da, "customer", &w.s1);
    tk_set_text(&c[0], &w.da, "phone", "hijack");
    tk_change(&c[1], &w.da, "contact", &contact);
    tk_set_id(&c[1], &w.da, "customer_id", &w.s1);
    tk_set_text(&c[1], &w.da, "name", "Intruder");
    tk_change(&c[2], &w.da, "contact", &w.s1_contact);
    tk_set_text(&c[2], &w.da, "name", "Renamed");
    assert_int_equal(tk_sync(&w.t, &w.da, NULL, c, 3, w.da.cursor, 0, FS_PROTO_DEFLATE,
                             &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_REJECTED);
    assert_int_equal(r.results[0].reason, FS_REASON_SCOPE);
    assert_int_equal(r.results[1].outcome, FS_REJECTED);
    assert_int_equal(r.results[1].reason, FS_REASON_SCOPE);
    assert_int_equal(r.results[2].outcome, FS_REJECTED);
    assert_int_equal(r.results[2].reason, FS_REASON_SCOPE);
    assert_true(strlen(r.results[0].detail) > 0);
    assert_int_equal(r.nrows, 0);
    fs_proto_sync_response_free(&r);
    /* Bob's view is unchanged and the intruding contact does not exist. */
    tk_pull_all(&w.t, &w.db, &contact, &seen, NULL, NULL);
    assert_int_equal(seen, 0);
    /* Issue 12 finding 6: the audit keeps what was refused, one record per
     * write (the new contact wrote two fields), each with the refused value
     * as "yours", its field and the writing device; never "_deleted". */
    assert_int_equal(fss_admin_conflicts_list(w.t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_int_equal(tk_count(out.data, "\"rule\":\"scope\""), 4);
    assert_int_equal(tk_count(out.data, "\"field\":\"phone\""), 1);
    assert_int_equal(tk_count(out.data, "\"yours\":\"hijack\""), 1);
    assert_int_equal(tk_count(out.data, "\"field\":\"customer_id\""), 1);
    assert_int_equal(tk_count(out.data, "\"yours\":\"Intruder\""), 1);
    assert_int_equal(tk_count(out.data, "\"yours\":\"Renamed\""), 1);
    assert_int_equal(tk_count(out.data, "\"_deleted\""), 0);
    assert_int_equal(tk_count(out.data, "\"yours\":null"), 0);
    assert_int_equal(tk_count(out.data, "\"yours_hlc\":0"), 0);
    /* Resolving such a record ("yours") acknowledges it: the refused value
     * is not written to Bob's customer. */
    {
        fs_error err = {0};
        const fs_pulled_row *pr;
        const char *hit = strstr(out.data, "\"yours\":\"hijack\""), *rec = hit;
        while (rec > out.data && strncmp(rec, "{\"id\":", 6) != 0)
            rec--;
        assert_non_null(hit);
        assert_int_equal(fss_admin_conflict_resolve(w.t.s, strtol(rec + 6, NULL, 10), "yours",
                                                    NULL, "ops", &err),
                         FSS_OK);
        w.db.cursor = 0;
        assert_int_equal(tk_sync(&w.t, &w.db, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb),
                         200);
        pr = tk_find_row(&r, &w.s1);
        assert_non_null(pr);
        assert_true(tk_row_text(&pr->row, "phone") == NULL ||
                    strcmp(tk_row_text(&pr->row, "phone"), "hijack") != 0);
        fs_proto_sync_response_free(&r);
    }
    fss_buf_free(&out);
    fs_change_free(&c[0]);
    fs_change_free(&c[1]);
    fs_change_free(&c[2]);
    tk_stop(&w.t);
}

/* One batch: writes under a customer, a device's delete of it, then more
 * writes under it. A device may not delete a customer (issue 13: the
 * tombstone is server-owned), so the delete is rejected with its reason and
 * the customer stays in scope: the writes after it stand. (The scope memo
 * is still cleared whenever a request saves a customer.) */
static void test_delete_then_write_in_one_batch(void **state)
{
    world w;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c[5];
    fs_id k1 = tk_new_id(), k2 = tk_new_id();
    fs_hlc h;
    size_t i;

    (void)state;
    make_world(&w);
    tk_pull_all(&w.t, &w.da, NULL, NULL, NULL, NULL);
    tk_change(&c[0], &w.da, "customer", &w.n1);
    tk_set_text(&c[0], &w.da, "phone", "+44 1");
    tk_change(&c[1], &w.da, "contact", &k1);
    tk_set_id(&c[1], &w.da, "customer_id", &w.n1);
    tk_set_text(&c[1], &w.da, "name", "Before");
    tk_change(&c[2], &w.da, "customer", &w.n1);
    assert_int_equal(fs_hlc_tick(&w.da.clock, (uint64_t)time(NULL) * 1000, &h, NULL), FS_OK);
    fs_change_tombstone(&c[2], true, h);
    tk_change(&c[3], &w.da, "contact", &k2);
    tk_set_id(&c[3], &w.da, "customer_id", &w.n1);
    tk_set_text(&c[3], &w.da, "name", "After");
    tk_change(&c[4], &w.da, "contact", &k1);
    tk_set_text(&c[4], &w.da, "title", "Buyer");
    assert_int_equal(tk_sync(&w.t, &w.da, NULL, c, 5, w.da.cursor, 0, FS_PROTO_DEFLATE,
                             &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    assert_int_equal(r.results[1].outcome, FS_APPLIED);
    assert_int_equal(r.results[2].outcome, FS_REJECTED);
    assert_int_equal(r.results[2].reason, FS_REASON_SERVER_OWNED);
    assert_int_equal(r.results[3].outcome, FS_APPLIED);
    assert_int_equal(r.results[4].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    for (i = 0; i < 5; i++)
        fs_change_free(&c[i]);
    tk_stop(&w.t);
}

static void test_enter_and_exit(void **state)
{
    world w;
    size_t seen = 0, contact_seen = 0, exits = 0;
    fs_exit_reason why = FS_EXIT_UNKNOWN;
    fs_error err = {0};

    (void)state;
    make_world(&w);
    tk_pull_all(&w.t, &w.da, NULL, NULL, NULL, NULL);
    tk_pull_all(&w.t, &w.db, NULL, NULL, NULL, NULL);

    /* South One moves to the north territory: Alice gets it and its older
     * contact; Bob gets an exit (reassigned). */
    assert_int_equal(fss_admin_customer_assign(w.t.s, &w.s1, NULL, "north", &err), FSS_OK);
    {
        uint64_t before = w.da.cursor;
        tk_pull_all(&w.t, &w.da, &w.s1, &seen, &exits, NULL);
        assert_int_equal(seen, 1);
        assert_int_equal(exits, 0);
        w.da.cursor = before;
        tk_pull_all(&w.t, &w.da, &w.s1_contact, &contact_seen, NULL, NULL);
        assert_int_equal(contact_seen, 1);
    }
    tk_pull_all(&w.t, &w.db, &w.s1, &seen, &exits, &why);
    assert_int_equal(seen, 0);
    assert_int_equal(exits, 1);
    assert_int_equal(why, FS_EXIT_REASSIGNED);

    /* Owner assignment: Bob owns it directly now (territory stays north),
     * so both see it. */
    {
        char bob[FS_ID_STRLEN + 1];
        fs_id_format(&w.bob, bob);
        assert_int_equal(fss_admin_customer_assign(w.t.s, &w.s1, bob, NULL, &err), FSS_OK);
    }
    tk_pull_all(&w.t, &w.db, &w.s1, &seen, &exits, NULL);
    assert_int_equal(seen, 1);
    assert_int_equal(exits, 0);

    /* Alice leaves the north territory: exit with reason revoked. */
    assert_int_equal(fss_admin_rep_territory(w.t.s, &w.alice, "north", false, &err), FSS_OK);
    tk_pull_all(&w.t, &w.da, &w.n1, &seen, &exits, &why);
    assert_int_equal(exits, 1);
    assert_int_equal(why, FS_EXIT_REVOKED);

    /* Deleting the customer: Bob gets an exit with reason deleted. */
    assert_int_equal(fss_admin_customer_delete(w.t.s, &w.s1, &err), FSS_OK);
    tk_pull_all(&w.t, &w.db, &w.s1, &seen, &exits, &why);
    assert_int_equal(exits, 1);
    assert_int_equal(why, FS_EXIT_DELETED);
    tk_stop(&w.t);
}

static void test_export_scope(void **state)
{
    world w;
    fss_buf out = {0};

    (void)state;
    make_world(&w);
    assert_int_equal(fss_admin_export(w.t.s, &w.alice, &out, NULL), FSS_OK);
    assert_non_null(out.data);
    assert_non_null(strstr(out.data, "North One"));
    assert_null(strstr(out.data, "South One"));
    assert_null(strstr(out.data, "Sam South"));
    assert_non_null(strstr(out.data, "Widget"));
    fss_buf_free(&out);
    assert_int_equal(fss_admin_export(w.t.s, &w.bob, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "Sam South"));
    assert_null(strstr(out.data, "North One"));
    fss_buf_free(&out);
    tk_stop(&w.t);
}

/* One pull (no changes, count_pending) through fss_handle_sync of s. */
static void plan_pull(fss_server *s, const tk_device *d, uint64_t cursor,
                      uint32_t page, fs_sync_response *out)
{
    fs_sync_request rq;
    fs_proto_buf b = {0};
    fs_error err = {0};
    fss_request req;
    fss_response resp;
    char auth[200];

    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    rq.device_id = d->id;
    rq.batch_id = tk_new_id();
    rq.cursor = cursor;
    rq.page_size = page;
    rq.count_pending = true;
    assert_int_equal(fs_proto_sync_request_encode(&rq, FS_PROTO_IDENTITY, NULL,
                                                  &b, &err), FS_PROTO_OK);
    snprintf(auth, sizeof auth, "Bearer %s", d->token);
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.method = "POST";
    req.path = "/v1/sync";
    req.content_type = "application/x-protobuf";
    req.authorization = auth;
    req.body = b.data;
    req.body_len = b.len;
    fss_handle_sync(s, &req, &resp);
    assert_int_equal(resp.status, 200);
    memset(out, 0, sizeof *out);
    if (fs_proto_sync_response_decode(resp.body, resp.body_len, FS_PROTO_IDENTITY,
                                      NULL, out, NULL, &err) != FS_PROTO_OK)
        fail_msg("sync response: %s", err.text);
    fss_response_free(&resp);
    fs_proto_buf_free(&b);
}

static void assert_same_page(const fs_sync_response *a, const fs_sync_response *b)
{
    assert_int_equal(a->nrows, b->nrows);
    for (size_t i = 0; i < a->nrows; i++) {
        assert_int_equal(a->rows[i].seq, b->rows[i].seq);
        assert_ptr_equal(a->rows[i].row.entity, b->rows[i].row.entity);
        assert_memory_equal(a->rows[i].row.id.b, b->rows[i].row.id.b, 16);
        assert_true(fs_row_eq(&a->rows[i].row, &b->rows[i].row));
    }
    assert_int_equal(a->nexits, b->nexits);
    for (size_t i = 0; i < a->nexits; i++) {
        assert_memory_equal(a->exits[i].row.b, b->exits[i].row.b, 16);
        assert_int_equal(a->exits[i].reason, b->exits[i].reason);
    }
    assert_int_equal(a->has_more, b->has_more);
    assert_int_equal(a->next_cursor, b->next_cursor);
    assert_true(a->has_pending && b->has_pending);
    assert_int_equal(a->pending, b->pending);
}

/* Every row of a pull's answer is the row as stored, field for field
 * (loaded by id; the pull statement reads each table's rows itself, with
 * the fields of every table in shared typed columns: fss_repo_sync.c), and
 * the answer holds rows of each kind of field. */
static void assert_rows_as_stored(fss_server *s, const fs_sync_response *r)
{
    fss_conn *c = fss__conn_get(s, 5000);
    fs_error err = {0};
    bool kinds[5] = {false};

    assert_non_null(c);
    assert_int_equal(fss__begin_read(c, &err), FSS_OK);
    for (size_t i = 0; i < r->nrows; i++) {
        const fs_row *got = &r->rows[i].row;
        fs_row want = {0};
        fss_rowinfo info;
        bool found = false;

        assert_int_equal(fss__repo_row_load(c, got->entity, &got->id, &want,
                                            &info, &found, &err), FSS_OK);
        assert_true(found);
        assert_int_equal(info.seq, (int64_t)r->rows[i].seq);
        if (!fs_row_eq(got, &want))
            fail_msg("pulled %s row %zu differs from the stored one",
                     got->entity->name, i);
        for (size_t j = 0; j < got->entity->nfields; j++)
            if (got->cells[j].v.kind < 5)
                kinds[got->cells[j].v.kind] = true;
        fs_row_free(&want);
    }
    fss__rollback(c);
    fss__conn_put(s, c);
    assert_true(kinds[FS_VAL_INT] && kinds[FS_VAL_REAL] && kinds[FS_VAL_TEXT] &&
                kinds[FS_VAL_ID]);
}

/* A pull plan's count in /metrics (fieldsync_pulls_total). */
static unsigned long pulls_by_plan(tk_server *t, const char *plan)
{
    tk_http r;
    char key[80];
    const char *p;
    unsigned long n = 0;

    tk_request(t, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    snprintf(key, sizeof key, "fieldsync_pulls_total{plan=\"%s\"} ", plan);
    p = strstr((const char *)r.body, key);
    assert_non_null(p);
    n = strtoul(p + strlen(key), NULL, 10);
    tk_http_free(&r);
    return n;
}

/* The two pull plans (fss_sync.c) give the same pages: every cursor, page
 * sizes from one row to all, both reps, in a store with both reps'
 * customers and children, an owner outside the territory, a reassignment,
 * a delete and a territory left (exits), and products. The server under
 * test (AUTO) answers the same too, and chose each plan at least once. */
static void test_pull_plans(void **state)
{
    static const uint32_t pages[] = {1, 2, 3, 7, 500};
    world w;
    fs_error err = {0};
    fss_server *by_seq = NULL, *by_scope = NULL;
    fss_config cfg;
    fs_sync_response r0;
    uint64_t cur;
    tk_device *devs[2];

    (void)state;
    make_world(&w);
    devs[0] = &w.da;
    devs[1] = &w.db;
    /* Bob's side grows large (many rows outside Alice's scope), Alice's
     * stays small; one south customer is owned by Alice. */
    for (int i = 0; i < 24; i++) {
        char name[32];
        bool alices = i % 8 == 3;
        fs_id cust;
        fs_change c[3];
        fs_sync_response r;
        fs_error_body eb;
        tk_device *d = alices ? &w.da : &w.db;

        snprintf(name, sizeof name, "South %d", i);
        cust = tk_customer(&w.t, name, "south", alices ? &w.alice : NULL, 51, -2);
        for (int k = 0; k < 3; k++) {
            fs_id row = tk_new_id();
            tk_change(&c[k], d, "contact", &row);
            tk_set_id(&c[k], d, "customer_id", &cust);
            tk_set_text(&c[k], d, "name", name);
        }
        assert_int_equal(tk_sync(&w.t, d, NULL, c, 3, 0, 1, FS_PROTO_DEFLATE,
                                 &r, &eb), 200);
        for (int k = 0; k < 3; k++) {
            assert_int_equal(r.results[k].outcome, FS_APPLIED);
            fs_change_free(&c[k]);
        }
        fs_proto_sync_response_free(&r);
    }
    assert_int_equal(fss_admin_customer_assign(w.t.s, &w.s1, NULL, "north", &err), FSS_OK);
    assert_int_equal(fss_admin_customer_delete(w.t.s, &w.n2, &err), FSS_OK);
    {
        fs_id carol = tk_rep(&w.t, "Carol", "east");
        fs_id east = tk_customer(&w.t, "East One", "east", NULL, 50, 0);
        (void)east;
        assert_int_equal(fss_admin_rep_territory(w.t.s, &w.alice, "east", true, &err), FSS_OK);
        assert_int_equal(fss_admin_rep_territory(w.t.s, &w.alice, "east", false, &err), FSS_OK);
        (void)carol;
    }

    cfg = w.t.cfg;
    cfg.pull_plan = FSS_PULL_SEQ;
    assert_int_equal(fss_server_open(&cfg, &by_seq, &err), FSS_OK);
    cfg.pull_plan = FSS_PULL_SCOPE;
    assert_int_equal(fss_server_open(&cfg, &by_scope, &err), FSS_OK);
    plan_pull(by_seq, &w.da, 0, 5000, &r0);
    cur = r0.next_cursor;
    assert_false(r0.has_more);
    assert_rows_as_stored(w.t.s, &r0);
    fs_proto_sync_response_free(&r0);
    plan_pull(by_scope, &w.db, 0, 5000, &r0);
    assert_rows_as_stored(w.t.s, &r0);
    fs_proto_sync_response_free(&r0);
    assert_true(cur > 100);

    for (size_t d = 0; d < 2; d++)
        for (uint64_t cursor = 0; cursor <= cur; cursor++)
            for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
                fs_sync_response a, b, c;
                plan_pull(by_seq, devs[d], cursor, pages[p], &a);
                plan_pull(by_scope, devs[d], cursor, pages[p], &b);
                plan_pull(w.t.s, devs[d], cursor, pages[p], &c);
                assert_same_page(&a, &b);
                assert_same_page(&a, &c);
                fs_proto_sync_response_free(&a);
                fs_proto_sync_response_free(&b);
                fs_proto_sync_response_free(&c);
            }
    assert_true(pulls_by_plan(&w.t, "seq") > 0);
    assert_true(pulls_by_plan(&w.t, "scope") > 0);
    fss_server_close(by_seq);
    fss_server_close(by_scope);
    tk_stop(&w.t);
}

/* Counts a pull's items (fss__repo_pull callback). */
static fss_status count_item(const fss_pull_item *it, void *arg, bool *stop,
                             fs_error *err)
{
    (void)it;
    (void)stop;
    (void)err;
    (*(size_t *)arg)++;
    return FSS_OK;
}

/* Bob's device adds n contacts, spread over the ncust customers cust,
 * 500 per sync. */
static void add_contacts(world *w, const fs_id *cust, size_t ncust, size_t n)
{
    fs_change *c = calloc(500, sizeof *c);

    assert_non_null(c);
    while (n > 0) {
        fs_sync_response r;
        fs_error_body eb;
        size_t k = n < 500 ? n : 500;

        for (size_t i = 0; i < k; i++) {
            fs_id row = tk_new_id();
            tk_change(&c[i], &w->db, "contact", &row);
            tk_set_id(&c[i], &w->db, "customer_id", &cust[(n + i) % ncust]);
            tk_set_text(&c[i], &w->db, "name", "Somebody South");
        }
        assert_int_equal(tk_sync(&w->t, &w->db, NULL, c, k, 0, 1, FS_PROTO_DEFLATE,
                                 &r, &eb), 200);
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(r.results[i].outcome, FS_APPLIED);
            fs_change_free(&c[i]);
        }
        fs_proto_sync_response_free(&r);
        n -= k;
    }
    free(c);
}

/* Alice's whole pull by the SCOPE plan on a server opened now (so with the
 * statistics ANALYZE takes of the store as it is, fss_db.c): its items,
 * and the work of the pull statement and of its count in the statement
 * steps of the driver (-1 where the store counts none: PostgreSQL). */
static void scope_pull_work(world *w, size_t *items, int64_t *steps)
{
    fss_config cfg = w->t.cfg;
    fss_server *s = NULL;
    fss_conn *c;
    fs_error err = {0};
    char alice[FS_ID_STRLEN + 1];
    int64_t n = 0;

    fs_id_format(&w->alice, alice);
    cfg.pull_plan = FSS_PULL_SCOPE;
    assert_int_equal(fss_server_open(&cfg, &s, &err), FSS_OK);
    c = fss__conn_get(s, 5000);
    assert_non_null(c);
    *items = 0;
    assert_int_equal(fss__begin_read(c, &err), FSS_OK);
    assert_int_equal(fss__repo_pull(c, FSS_PULL_SCOPE, alice, 0, -1, count_item,
                                    items, &err), FSS_OK);
    assert_int_equal(fss__repo_pull_count(c, FSS_PULL_SCOPE, alice, 0, -1, &n, &err),
                     FSS_OK);
    fss__rollback(c);
    assert_int_equal((size_t)n, *items);
    *steps = fss__repo_pull_steps(c, FSS_PULL_SCOPE);
    fss__conn_put(s, c);
    fss_server_close(s);
}

/* Rows outside Alice's scope added between two of her pulls (SCOPE plan,
 * each on a server opened then, so with ANALYZE's statistics of the store
 * as it is): the pulls return the same items, and the second must do no
 * more work than the first (a plan that visits the new rows costs several
 * steps each). `south` are 500 unowned customers of another territory. */
typedef void (*add_fn)(world *w, fs_id *south);

static void assert_pull_flat(add_fn add, const char *what)
{
    world w;
    char name[64];
    fs_id south[500];
    size_t items0 = 0, items1 = 0;
    int64_t steps0 = 0, steps1 = 0;

    make_world(&w);
    for (size_t i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "South unowned %zu", i);
        south[i] = tk_customer(&w.t, name, "south", NULL, 51, -2);
    }
    scope_pull_work(&w, &items0, &steps0);
    add(&w, south);
    scope_pull_work(&w, &items1, &steps1);
    print_message("scope pull: %zu items, %lld steps; after %s elsewhere: %zu items,"
                  " %lld steps\n", items0, (long long)steps0, what, items1,
                  (long long)steps1);
    assert_int_equal(items1, items0);
    assert_true(items0 >= 3); /* north's two customers and the product */
    if (steps0 >= 0 && steps1 - steps0 > 100)
        fail_msg("Alice's pull did %lld steps, %lld before %s outside her scope"
                 " were added: it reads them", (long long)steps1, (long long)steps0,
                 what);
    tk_stop(&w.t);
}

static void add_south_contacts(world *w, fs_id *south)
{
    add_contacts(w, south, 500, 5000);
}

static void add_south_customers(world *w, fs_id *south)
{
    char name[64];

    (void)south;
    for (size_t i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "South more %zu", i);
        (void)tk_customer(&w->t, name, "south", NULL, 51, -2);
    }
}

/* The SCOPE plan's work is the scope's, whatever the rest of the store
 * holds. Many unowned customers elsewhere make ANALYZE's statistics guess
 * a rep's scope larger than the contact table (owner_rep is NULL on
 * nearly all of them), and SQLite, given a join of the scope with the
 * table, then built a Bloom filter over the table first: every contact of
 * the store read on each pull (the morning bench's setup never finished;
 * fss_repo_sync.c). Here 5,000 contacts of another territory are added. */
static void test_pull_scope_work(void **state)
{
    (void)state;
    assert_pull_flat(add_south_contacts, "5,000 contacts");
}

/* The same for the scope's customers themselves: 2,000 more customers of
 * another territory. Written as FSS_SCOPE_COND's OR (or a UNION without
 * INDEXED BY), SQLite took ANALYZE's "about half the table per territory"
 * and scanned the customer table for the scope on every SCOPE pull
 * (fss_repo_sync.c, scope_customers_sql). */
static void test_pull_scope_customers_work(void **state)
{
    (void)state;
    assert_pull_flat(add_south_customers, "2,000 customers");
}

/* The reps that see a customer (asked for every pushed customer change)
 * are found from the customer's owner and territory, not by asking every
 * rep: 300 more reps elsewhere add no work. */
static void test_customer_reps_work(void **state)
{
    world w;
    fs_error err = {0};
    fss_repset reps = {0};
    int64_t steps[2] = {0, 0};
    char alice[FS_ID_STRLEN + 1], bob[FS_ID_STRLEN + 1];

    (void)state;
    make_world(&w);
    fs_id_format(&w.alice, alice);
    fs_id_format(&w.bob, bob);
    for (int round = 0; round < 2; round++) {
        fss_conn *c;
        int64_t before;

        if (round == 1)
            for (int i = 0; i < 300; i++) {
                char name[32], terr[32];
                snprintf(name, sizeof name, "Rep %d", i);
                snprintf(terr, sizeof terr, "t%d", i);
                (void)tk_rep(&w.t, name, terr);
            }
        c = fss__conn_get(w.t.s, 5000);
        assert_non_null(c);
        assert_int_equal(fss__begin_read(c, &err), FSS_OK);
        /* North One: Alice's by territory; South One: Bob's. */
        before = fss__customer_reps_steps(c);
        reps.n = 0;
        assert_int_equal(fss__customer_reps(c, &w.n1, &reps, &err), FSS_OK);
        steps[round] = before < 0 ? -1 : fss__customer_reps_steps(c) - before;
        assert_int_equal(reps.n, 1);
        assert_string_equal(reps.ids[0], alice);
        reps.n = 0;
        assert_int_equal(fss__customer_reps(c, &w.s1, &reps, &err), FSS_OK);
        assert_int_equal(reps.n, 1);
        assert_string_equal(reps.ids[0], bob);
        fss__rollback(c);
        fss__conn_put(w.t.s, c);
    }
    print_message("customer reps: %lld steps; with 300 more reps: %lld\n",
                  (long long)steps[0], (long long)steps[1]);
    if (steps[0] >= 0 && steps[1] - steps[0] > 20)
        fail_msg("customer reps: %lld steps with 300 more reps, %lld before: it"
                 " asks every rep", (long long)steps[1], (long long)steps[0]);
    fss_repset_free(&reps);
    tk_stop(&w.t);
}

/* Alice's first sync's first request (page of 1 row, count_pending) on a
 * server opened now: the progress total, and the work of both plans'
 * pull and count statements (-1 where the store counts none). */
static void first_request_work(world *w, uint64_t *pending, int64_t *steps)
{
    fss_config cfg = w->t.cfg;
    fss_server *s = NULL;
    fss_conn *c;
    fs_error err = {0};
    fs_sync_response r;
    int64_t a, b;

    assert_int_equal(fss_server_open(&cfg, &s, &err), FSS_OK);
    plan_pull(s, &w->da, 0, 1, &r);
    assert_true(r.has_pending);
    *pending = r.pending;
    fs_proto_sync_response_free(&r);
    /* the connection that served it: the first free one */
    c = fss__conn_get(s, 5000);
    assert_non_null(c);
    a = fss__repo_pull_steps(c, FSS_PULL_SEQ);
    b = fss__repo_pull_steps(c, FSS_PULL_SCOPE);
    *steps = a < 0 || b < 0 ? -1 : a + b;
    fss__conn_put(s, c);
    fss_server_close(s);
}

/* The progress total of a first sync is counted by the scope, not by
 * walking every row of the store (fss_sync.c, choose_plan): 5,000
 * contacts of another territory add no work to Alice's first request.
 * Her pull (her contacts make it more than PULL_SCOPE_MAX_PAGES pages of
 * one row) is served by the SEQ plan, which counted the whole store too
 * before. The total stays the pull's size. */
static void test_count_pending_work(void **state)
{
    world w;
    fs_id south[500], mine[12];
    fs_change c[12];
    fs_sync_response r;
    fs_error_body eb;
    uint64_t pending0 = 0, pending1 = 0;
    int64_t steps0 = 0, steps1 = 0;
    size_t items = 0;

    (void)state;
    make_world(&w);
    for (size_t i = 0; i < 12; i++) {
        mine[i] = tk_new_id();
        tk_change(&c[i], &w.da, "contact", &mine[i]);
        tk_set_id(&c[i], &w.da, "customer_id", &w.n1);
        tk_set_text(&c[i], &w.da, "name", "Nora North");
    }
    assert_int_equal(tk_sync(&w.t, &w.da, NULL, c, 12, 0, 1, FS_PROTO_DEFLATE,
                             &r, &eb), 200);
    for (size_t i = 0; i < 12; i++) {
        assert_int_equal(r.results[i].outcome, FS_APPLIED);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&r);
    for (size_t i = 0; i < 500; i++) {
        char name[64];
        snprintf(name, sizeof name, "South unowned %zu", i);
        south[i] = tk_customer(&w.t, name, "south", NULL, 51, -2);
    }
    first_request_work(&w, &pending0, &steps0);
    add_contacts(&w, south, 500, 5000);
    first_request_work(&w, &pending1, &steps1);
    print_message("first request: total %llu, %lld steps; after 5,000 contacts"
                  " elsewhere: total %llu, %lld steps\n",
                  (unsigned long long)pending0, (long long)steps0,
                  (unsigned long long)pending1, (long long)steps1);
    /* the total is the whole pull's size */
    plan_pull(w.t.s, &w.da, 0, 5000, &r);
    items = r.nrows + r.nexits;
    assert_false(r.has_more);
    fs_proto_sync_response_free(&r);
    assert_int_equal(pending0, items);
    assert_int_equal(pending1, items);
    assert_true(items > 4); /* more than PULL_SCOPE_MAX_PAGES pages of 1 */
    if (steps0 >= 0 && steps1 - steps0 > 100)
        fail_msg("Alice's first request did %lld steps, %lld before 5,000 contacts"
                 " outside her scope were added: its count reads them",
                 (long long)steps1, (long long)steps0);
    tk_stop(&w.t);
}

/* choose_plan's scope size is counted once per pull and kept on the
 * connection (fss__repo_scope_size): the same rep within reuse_seqs of
 * the count's current seq is answered from it - stale on purpose, since
 * both plans give the same pages (test_pull_plans) -, anything else is
 * counted again. Each step: rep, limit, current seq, reuse window, the
 * answer. Alice's scope has 2 customers (north), 3 once "North Three" is
 * added after step 0; Bob's has 1 (south). */
static void test_scope_size_reuse(void **state)
{
    static const struct {
        bool bob;
        int64_t limit, cur, reuse, want;
        const char *why;
    } steps[] = {
        {false, 100, 10, 1000, 2, "first count"},
        {false, 100, 15, 1000, 2, "reused: the third customer is not counted"},
        {false, 1, 15, 1000, 1, "reused, cut to a smaller limit"},
        {false, 100, 15, 0, 3, "no reuse asked: counted"},
        {false, 100, 5, 1000, 3, "seq went back: counted"},
        {false, 1, 2000, 1000, 1, "counted with limit 1: saturated"},
        {false, 100, 2000, 1000, 3, "a saturated count answers no larger limit"},
        {true, 100, 2000, 1000, 1, "another rep: counted"},
        {false, 100, 2500, 1000, 3, "after another rep's count: counted"},
        {false, 100, 3500, 1000, 3, "1,000 seqs later: counted"},
    };
    world w;
    char alice[FS_ID_STRLEN + 1], bob[FS_ID_STRLEN + 1];
    fs_error err = {0};
    fss_conn *c;

    (void)state;
    make_world(&w);
    fs_id_format(&w.alice, alice);
    fs_id_format(&w.bob, bob);
    /* One connection for the whole test: the server has no traffic now,
     * and the count lives on the connection. */
    c = fss__conn_get(w.t.s, 5000);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int64_t n = -1;
        assert_int_equal(fss__begin_read(c, &err), FSS_OK);
        assert_int_equal(fss__repo_scope_size(c, steps[i].bob ? bob : alice,
                                              steps[i].limit, steps[i].cur,
                                              steps[i].reuse, &n, &err), FSS_OK);
        fss__rollback(c);
        if (n != steps[i].want)
            fail_msg("step %zu (%s): %lld customers, want %lld", i, steps[i].why,
                     (long long)n, (long long)steps[i].want);
        if (i == 0) /* the scope grows (admin write, another connection) */
            tk_customer(&w.t, "North Three", "north", NULL, 53, -2);
    }
    fss__conn_put(w.t.s, c);
    tk_stop(&w.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_only_scope),
        cmocka_unit_test(test_outside_scope_write_rejected),
        cmocka_unit_test(test_delete_then_write_in_one_batch),
        cmocka_unit_test(test_enter_and_exit),
        cmocka_unit_test(test_export_scope),
        cmocka_unit_test(test_pull_plans),
        cmocka_unit_test(test_pull_scope_work),
        cmocka_unit_test(test_pull_scope_customers_work),
        cmocka_unit_test(test_customer_reps_work),
        cmocka_unit_test(test_scope_size_reuse),
        cmocka_unit_test(test_count_pending_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
