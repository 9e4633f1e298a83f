/*
 * test_server_batch.c - the push and pull in batched statements (issue 18,
 * "Measure": round trips per sync request a small constant).
 *
 * A sync request loads the rows its batch names with one statement per
 * entity and chunk of ids (the row cache), takes its sequence numbers from
 * a counter it reads once and writes back at commit, and writes its saved
 * rows in multi-row upserts just before the next statement runs
 * (fss_repo_batch.c). What must stay true: every change is judged against
 * the rows as saved so far in the batch (a row written twice, a line below
 * a quote made in the same batch, whose root is read from the stored
 * quote), every saved row version gets its own number, the next request's
 * numbers come after them, and a pull page carries whole rows. And on
 * PostgreSQL the number of round trips of a push no longer grows with its
 * changes.
 *
 * Runs on SQLite (test_server_batch) and PostgreSQL (test_server_batch_pg);
 * the round-trip count needs PostgreSQL (the SQLite driver has no round
 * trips to count).
 */
#include "server_testkit.h"

#include "fss_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pushes n new contacts under cust (names "<tag> i") in one batch and
 * returns the round trips the request took. */
static uint64_t push_contacts(tk_server *t, tk_device *d, const fs_id *cust,
                              size_t n, const char *tag)
{
    fs_change *c = calloc(n, sizeof *c);
    fs_sync_response r = {0};
    fs_error_body eb;
    uint64_t before = fss__repo_round_trips(t->s);
    char name[64];

    assert_non_null(c);
    for (size_t i = 0; i < n; i++) {
        fs_id id = tk_new_id();
        tk_change(&c[i], d, "contact", &id);
        tk_set_id(&c[i], d, "customer_id", cust);
        snprintf(name, sizeof name, "%s %zu", tag, i);
        tk_set_text(&c[i], d, "name", name);
    }
    assert_int_equal(tk_sync(t, d, NULL, c, n, d->cursor, 500, FS_PROTO_DEFLATE,
                             &r, &eb), 200);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r.results[i].outcome, FS_APPLIED);
        fs_change_free(&c[i]);
    }
    d->cursor = r.next_cursor;
    fs_proto_sync_response_free(&r);
    free(c);
    return fss__repo_round_trips(t->s) - before;
}

static void one_thread(fss_config *cfg)
{
    cfg->threads = 1; /* one pooled connection: its statements prepared once */
}

/* Round trips of a push grow by chunks, not by rows: 80 changes cost at
 * most a few more than 20 (one per extra chunk of loads and of upserts),
 * where one statement per change cost 6 per change. */
static void test_round_trips_constant(void **state)
{
    tk_server t;
    tk_device d;
    fs_id rep, cust;
    uint64_t small, big;

    (void)state;
    if (!tk_pg()) {
        printf("SKIPPED: round trips are counted on PostgreSQL only\n");
        return;
    }
    tk_start(&t, one_thread);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    /* warm: every statement text of both sizes prepared once */
    (void)push_contacts(&t, &d, &cust, 20, "warm");
    (void)push_contacts(&t, &d, &cust, 80, "warm80");
    small = push_contacts(&t, &d, &cust, 20, "small");
    big = push_contacts(&t, &d, &cust, 80, "big");
    printf("round trips: push of 20 %llu, push of 80 %llu\n",
           (unsigned long long)small, (unsigned long long)big);
    assert_true(small < 40);
    assert_true(big <= small + 8);
    tk_stop(&t);
}

/* One batch: a contact, 70 more (past one chunk of loads and of upserts),
 * the first contact again, a quote and a line below it. Everything is
 * applied as if saved one by one, each version numbered apart, and a second
 * batch is numbered after the first. */
static void test_batch_as_one_by_one(void **state)
{
    tk_server t;
    tk_device d, other;
    fs_id rep, cust, twice = tk_new_id(), quote = tk_new_id(), line = tk_new_id();
    fs_change c[74];
    fs_sync_response r = {0};
    fs_error_body eb;
    size_t n = 0, i, j;
    int64_t cur = 0;
    fs_error err = {0};
    fss_conn *conn;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    tk_enroll(&t, &rep, &other);

    tk_change(&c[n], &d, "contact", &twice);
    tk_set_id(&c[n], &d, "customer_id", &cust);
    tk_set_text(&c[n++], &d, "name", "First");
    for (i = 0; i < 70; i++) {
        fs_id id = tk_new_id();
        char name[32];
        snprintf(name, sizeof name, "Bulk %zu", i);
        tk_change(&c[n], &d, "contact", &id);
        tk_set_id(&c[n], &d, "customer_id", &cust);
        tk_set_text(&c[n++], &d, "name", name);
    }
    /* the same contact again, merged onto the version saved above, while
     * that one and the 70 are still queued (no statement in between) */
    tk_change(&c[n], &d, "contact", &twice);
    tk_set_text(&c[n++], &d, "title", "Buyer");
    tk_change(&c[n], &d, "quote", &quote);
    tk_set_id(&c[n], &d, "customer_id", &cust);
    tk_set_text(&c[n], &d, "currency", "EUR");
    tk_set_text(&c[n++], &d, "status", "draft");
    /* its root is read from the stored quote, saved just before */
    tk_change(&c[n], &d, "quote_line", &line);
    tk_set_id(&c[n], &d, "quote_id", &quote);
    tk_set_int(&c[n], &d, "qty", 3);
    tk_set_int(&c[n++], &d, "unit_price", 250);
    assert_int_equal(tk_sync(&t, &d, NULL, c, n, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    for (i = 0; i < n; i++) {
        if (r.results[i].outcome != FS_APPLIED)
            fail_msg("change %zu: outcome %d (%s)", i, (int)r.results[i].outcome,
                     r.results[i].detail);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&r);

    /* a second batch, numbered after everything the first one saved */
    (void)push_contacts(&t, &d, &cust, 5, "later");

    /* the other device pulls it all, one page */
    assert_int_equal(tk_sync(&t, &other, NULL, NULL, 0, 0, 500, FS_PROTO_DEFLATE,
                             &r, &eb), 200);
    assert_false(r.has_more);
    /* customer, 71 contacts, quote, line, 5 later contacts */
    assert_int_equal(r.nrows, 1 + 71 + 2 + 5);
    for (i = 0; i < r.nrows; i++) {
        for (j = 0; j < i; j++)
            if (r.rows[j].seq >= r.rows[i].seq)
                fail_msg("rows %zu and %zu: seq %llu then %llu", j, i,
                         (unsigned long long)r.rows[j].seq,
                         (unsigned long long)r.rows[i].seq);
        assert_non_null(r.rows[i].row.entity);
        assert_int_equal(fs_row_exists(&r.rows[i].row), true);
    }
    {
        const fs_pulled_row *p = tk_find_row(&r, &twice);
        assert_non_null(p);
        assert_string_equal(tk_row_text(&p->row, "name"), "First");
        assert_string_equal(tk_row_text(&p->row, "title"), "Buyer");
        assert_non_null(tk_find_row(&r, &line));
    }
    /* the counter holds the last number handed out */
    conn = fss__conn_get(t.s, 5000);
    assert_non_null(conn);
    assert_int_equal(fss__begin_read(conn, &err), FSS_OK);
    assert_int_equal(fss__current_seq(conn, &cur, &err), FSS_OK);
    fss__rollback(conn);
    fss__conn_put(t.s, conn);
    assert_int_equal((uint64_t)cur, r.rows[r.nrows - 1].seq);
    assert_int_equal(r.next_cursor, (uint64_t)cur);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

/* A batch larger than the row cache's first sizes: every saved row is
 * stored. The cache grows while the batch's last save is still queued
 * (write-behind); growing once dropped the queue, so a few changes
 * answered APPLIED were never written (and the queue's buffer leaked). */
static void test_big_batch_all_stored(void **state)
{
    tk_server t;
    tk_device d, other;
    fs_id rep, cust;
    fs_sync_response r = {0};
    fs_error_body eb;
    size_t contacts = 0;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    tk_enroll(&t, &rep, &other);
    (void)push_contacts(&t, &d, &cust, 600, "many");
    assert_int_equal(tk_sync(&t, &other, NULL, NULL, 0, 0, 1000, FS_PROTO_DEFLATE,
                             &r, &eb), 200);
    assert_false(r.has_more);
    for (size_t i = 0; i < r.nrows; i++)
        contacts += strcmp(r.rows[i].row.entity->name, "contact") == 0;
    fs_proto_sync_response_free(&r);
    if (contacts != 600)
        fail_msg("%zu of 600 contacts answered APPLIED are stored", contacts);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips_constant),
        cmocka_unit_test(test_batch_as_one_by_one),
        cmocka_unit_test(test_big_batch_all_stored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
