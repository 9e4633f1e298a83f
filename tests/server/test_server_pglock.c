/*
 * test_server_pglock.c - what a push sends while it holds the sequence
 * counter's lock (issue 18; docs/ARCHITECTURE.md, "Writes go out with the
 * COMMIT"): on PostgreSQL its writes are pipelined and their results
 * collected with the next statement that waits, the COMMIT at the latest.
 *
 * - A push whose last write (the batch record, behind its rows) fails is
 *   answered 500 and leaves nothing behind (no row, no number, no batch
 *   record); the same batch pushed again is applied once.
 * - A failed queued write is reported by whatever comes next - the
 *   COMMIT, a read - or rolled back, and the connection then serves the
 *   next write transaction.
 * - PostgreSQL: a COMMIT of a transaction that failed earlier (answered
 *   "ROLLBACK") is an error, never a success.
 *
 * Runs on SQLite (test_server_pglock) and PostgreSQL
 * (test_server_pglock_pg): the same outcomes, the write failing at once.
 */
#include "server_testkit.h"

#include "fss_repo.h"
#include "fss_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs sql on t's store through a connection of its own. */
static void run(tk_server *t, const char *sql)
{
    fss_sql *db = tk_sql(t);
    char *msg = NULL;

    if (fss_exec(db, sql, NULL, NULL, &msg) != FSS_SQL_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    fss_free(msg);
    fss_sql_close(db);
}

/* The first column of the first row of sql (one blob parameter or none). */
static int64_t query_int(tk_server *t, const char *sql, const fs_id *id)
{
    fss_sql *db = tk_sql(t);
    fss_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(fss_prepare(db, sql, -1, &st, NULL), FSS_SQL_OK);
    if (id)
        fss_bind_blob(st, 1, id->b, 16, FSS_SQL_STATIC);
    if (fss_step(st) == FSS_SQL_ROW)
        v = fss_column_int64(st, 0);
    fss_finalize(st);
    fss_sql_close(db);
    return v;
}

/* Every insert into fss_batches fails from now on (until heal): the last
 * write of a push, behind its rows, before its COMMIT. */
static void break_batches(tk_server *t)
{
    if (tk_pg())
        run(t, "ALTER TABLE fss_batches ADD CONSTRAINT test_broken"
               " CHECK (created_at < 0) NOT VALID");
    else
        run(t, "CREATE TRIGGER test_broken BEFORE INSERT ON fss_batches"
               " BEGIN SELECT RAISE(ABORT, 'test_broken'); END");
}

static void heal_batches(tk_server *t)
{
    run(t, tk_pg() ? "ALTER TABLE fss_batches DROP CONSTRAINT test_broken"
                   : "DROP TRIGGER test_broken");
}

static int64_t counter(tk_server *t)
{
    return query_int(t, "SELECT value FROM fss_meta WHERE key = 'seq'", NULL);
}

/* A push whose last write fails is answered 500 and leaves nothing; the
 * same batch pushed again through the same process is applied, once. */
static void test_failed_write_not_acknowledged(void **state)
{
    tk_server t;
    tk_device d;
    fs_id rep, cust, contact = tk_new_id(), batch = tk_new_id();
    fs_change c[2];
    fs_sync_response resp = {0};
    fs_error_body eb;
    int64_t before;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    tk_change(&c[0], &d, "contact", &contact);
    tk_set_id(&c[0], &d, "customer_id", &cust);
    tk_set_text(&c[0], &d, "name", "Ann");
    tk_change(&c[1], &d, "customer", &cust);
    tk_set_text(&c[1], &d, "name", "Greenfield Ltd");

    break_batches(&t);
    before = counter(&t);
    for (int i = 0; i < 2; i++) { /* twice: the first failure freed the way */
        memset(&eb, 0, sizeof eb);
        assert_int_equal(tk_sync(&t, &d, &batch, c, 2, d.cursor, 100,
                                 FS_PROTO_IDENTITY, &resp, &eb),
                         500);
    }
    assert_int_equal(counter(&t), before);
    assert_int_equal(query_int(&t, "SELECT count(*) FROM contact WHERE id = ?1",
                               &contact),
                     0);
    assert_int_equal(query_int(&t, "SELECT count(*) FROM fss_batches WHERE"
                                   " batch_id = ?1", &batch),
                     0);

    heal_batches(&t);
    for (int i = 0; i < 2; i++) { /* applied, then answered from the record */
        assert_int_equal(tk_sync(&t, &d, &batch, c, 2, d.cursor, 100,
                                 FS_PROTO_IDENTITY, &resp, &eb),
                         200);
        assert_int_equal(resp.nresults, 2);
        assert_int_equal(resp.results[0].outcome, FS_APPLIED);
        fs_proto_sync_response_free(&resp);
    }
    assert_int_equal(counter(&t), before + 2);
    assert_int_equal(query_int(&t, "SELECT count(*) FROM contact WHERE id = ?1",
                               &contact),
                     1);
    fs_change_free(&c[0]);
    fs_change_free(&c[1]);
    tk_stop(&t);
}

/* What follows a write that failed inside a push's transaction after
 * the lock (on PostgreSQL a pipelined write, whose failure is collected
 * later). */
typedef enum after_fail { THEN_COMMIT, THEN_READ, THEN_ROLLBACK } after_fail;

/* The failed write is reported by the call that follows it (or is rolled
 * back), never committed; the connection then serves a new write
 * transaction that commits. */
static void failed_write_case(after_fail then)
{
    tk_server t;
    fss_conn *a;
    fs_error err = {0};
    fs_id dev = tk_new_id(), batch = tk_new_id();
    uint8_t digest[32] = {0};
    fss_buf results = {0};
    bool stale = false, seen = true;
    int64_t before;

    tk_start(&t, NULL);
    a = fss__conn_get(t.s, 5000);
    assert_non_null(a);
    /* Warm: the connection has prepared every statement below, so the
     * failed write is followed by nothing that could fail on its own. */
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_int_equal(fss__repo_batch_put(a, &dev, &dev, digest, "", 0, 1, 8, &err),
                     FSS_OK);
    assert_int_equal(fss__repo_batch_get(a, &dev, &batch, &seen, digest, &results,
                                         &err),
                     FSS_OK);
    assert_int_equal(fss__commit(a, &err), FSS_OK);
    break_batches(&t);
    before = counter(&t);
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    if (fss__repo_batch_put(a, &dev, &batch, digest, "", 0, 1, 8, &err) == FSS_OK) {
        /* queued: the failure comes with the next call that waits */
        assert_true(tk_pg());
        switch (then) {
        case THEN_COMMIT:
            assert_int_not_equal(fss__commit(a, &err), FSS_OK);
            break;
        case THEN_READ:
            assert_int_not_equal(fss__repo_batch_get(a, &dev, &batch, &seen, digest,
                                                     &results, &err),
                                 FSS_OK);
            fss__rollback(a);
            break;
        case THEN_ROLLBACK:
            fss__rollback(a);
            break;
        }
    } else
        fss__rollback(a);
    fss_buf_free(&results);
    assert_int_equal(counter(&t), before);
    assert_int_equal(query_int(&t, "SELECT count(*) FROM fss_batches"
                                   " WHERE batch_id = ?1", &batch),
                     0);

    heal_batches(&t);
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_int_equal(fss__repo_batch_put(a, &dev, &batch, digest, "", 0, 1, 8, &err),
                     FSS_OK);
    assert_int_equal(fss__commit(a, &err), FSS_OK);
    fss__conn_put(t.s, a);
    assert_int_equal(query_int(&t, "SELECT count(*) FROM fss_batches"
                                   " WHERE batch_id = ?1", &batch),
                     1);
    tk_stop(&t);
}

static void test_failed_write_then(void **state)
{
    static const after_fail ways[] = {THEN_COMMIT, THEN_READ, THEN_ROLLBACK};

    (void)state;
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++)
        failed_write_case(ways[i]);
}

/* PostgreSQL answers COMMIT with "ROLLBACK", and no error, when the
 * transaction failed earlier: the driver reports it as an error, so a
 * failure collected and lost on the way can never read as committed. */
static void test_commit_after_failure_fails(void **state)
{
    tk_server t;
    fss_sql *db;

    (void)state;
    if (!tk_pg()) {
        printf("(PostgreSQL only: SQLite's COMMIT after a failed statement "
               "commits what succeeded, and the store always rolls back)\n");
        return;
    }
    tk_start(&t, NULL);
    db = tk_sql(&t);
    assert_int_equal(fss_exec(db, "BEGIN", NULL, NULL, NULL), FSS_SQL_OK);
    assert_int_not_equal(fss_exec(db, "SELECT 1/0", NULL, NULL, NULL), FSS_SQL_OK);
    assert_int_not_equal(fss_exec(db, "COMMIT", NULL, NULL, NULL), FSS_SQL_OK);
    assert_non_null(strstr(fss_errmsg(db), "COMMIT rolled back"));
    fss_sql_close(db);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_write_not_acknowledged),
        cmocka_unit_test(test_failed_write_then),
        cmocka_unit_test(test_commit_after_failure_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
