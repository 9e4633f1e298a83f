/*
 * test_server_reconnect.c - the server outlives its database connections
 * (docs/ARCHITECTURE.md, "Lost connections").
 *
 * PostgreSQL can end a session under the server: a restart, a failover, an
 * administrator's pg_terminate_backend, a dropped network. The pool must
 * not keep a dead connection for ever (every request it served failed and
 * /healthz said "unavailable" until the process restarted): a connection
 * found dead when borrowed is opened afresh, its cached statements
 * prepared again.
 *
 * The test ends every session of the server's database, waits until
 * PostgreSQL lists none (a wait, not a timing), then checks a sync and
 * /healthz succeed, twice over; and, at the driver, that a
 * statement on a terminated session fails and marks the connection lost.
 *
 * PostgreSQL only (test_server_reconnect_pg); the SQLite variant skips: a
 * file has no connection to lose.
 */
#include "server_testkit.h"

#include "fss_sql.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void run(fss_sql *db, const char *sql)
{
    if (fss_exec(db, sql, NULL, NULL, NULL) != FSS_SQL_OK)
        fail_msg("%s: %s", sql, fss_errmsg(db));
}

static int64_t one_int(fss_sql *db, const char *sql)
{
    fss_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(fss_prepare(db, sql, -1, &st, NULL), FSS_SQL_OK);
    if (fss_step(st) == FSS_SQL_ROW)
        v = fss_column_int64(st, 0);
    fss_finalize(st);
    return v;
}

/* Ends every other session on db's database and waits until PostgreSQL
 * lists none (a terminated backend leaves pg_stat_activity as it exits,
 * after it has told its client). */
static void terminate_others(fss_sql *db)
{
    const struct timespec tick = {0, 20 * 1000000L};

    (void)one_int(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    for (int i = 0; i < 1500; i++) {
        if (one_int(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()") == 0)
            return;
        nanosleep(&tick, NULL);
    }
    fail_msg("the terminated sessions never ended");
}

static void push_one(tk_server *t, tk_device *d, const char *name)
{
    fs_change c;
    fs_sync_response r;
    fs_error_body eb;
    fs_id cust = tk_new_id();
    long status;

    tk_change(&c, d, "customer", &cust);
    tk_set_text(&c, d, "name", name);
    status = tk_sync(t, d, NULL, &c, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb);
    if (status != 200)
        fail_msg("sync after the sessions ended: HTTP %ld", status);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
}

static void expect_healthy(tk_server *t)
{
    tk_http h;

    tk_request(t, "GET", "/healthz", NULL, NULL, 0, &h);
    assert_int_equal(h.status, 200);
    tk_http_free(&h);
}

static void test_server_reconnects(void **state)
{
    tk_server t;
    tk_device d;
    fs_id rep;
    fss_sql *admin;
    char name[32];

    (void)state;
    if (!tk_pg())
        skip();
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    tk_enroll(&t, &rep, &d);
    push_one(&t, &d, "Before");
    expect_healthy(&t);

    admin = tk_sql(&t);
    terminate_others(admin);
    /* Several rounds: each borrows a pooled connection (all are dead
     * now; the pool hands out the first free one). */
    for (unsigned i = 0; i < t.cfg.threads + 2; i++) {
        expect_healthy(&t);
        snprintf(name, sizeof name, "After %u", i);
        push_one(&t, &d, name);
    }
    assert_int_equal(one_int(admin, "SELECT count(*) FROM customer"),
                     (int64_t)t.cfg.threads + 3);
    /* Twice: the reopened connections can be lost again. */
    terminate_others(admin);
    expect_healthy(&t);
    push_one(&t, &d, "Again");
    fss_sql_close(admin);
    tk_stop(&t);
}

/* The driver: a statement on a terminated session fails (the request in
 * flight fails, as before) and the connection reports itself lost; a
 * live one does not. */
static void test_driver_reports_lost(void **state)
{
    tk_server t;
    fss_sql *admin, *victim = NULL;

    (void)state;
    if (!tk_pg())
        skip();
    tk_start(&t, NULL);
    assert_int_equal(fss_sql_open_pg(t.store, &victim), FSS_SQL_OK);
    admin = tk_sql(&t);
    run(victim, "SELECT 1");
    assert_false(fss_sql_connection_lost(victim));
    terminate_others(admin);
    assert_true(fss_exec(victim, "SELECT 1", NULL, NULL, NULL) != FSS_SQL_OK);
    assert_true(fss_sql_connection_lost(victim));
    assert_false(fss_sql_connection_lost(admin));
    fss_sql_close(victim);
    fss_sql_close(admin);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_reconnects),
        cmocka_unit_test(test_driver_reports_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
