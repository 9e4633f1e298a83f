/*
 * test_server_copy.c - copy-store (fss_copy_store): a SQLite store with
 * reps, territories, customers, devices, batches and a conflict record is
 * copied into a new store - PostgreSQL in test_server_copy_pg, another
 * SQLite file in test_server_copy - and comes out whole: every rep's export
 * identical (the copy checks that itself), the same sequence number, the
 * same devices, batches and conflicts, and a device enrolled on the old
 * store syncs on the new one with its old token. The new store copies
 * back into a SQLite file whole (PostgreSQL as the source in the _pg
 * variant: the simulation reads its PostgreSQL store that way). A
 * destination that is not empty is refused and left as it was.
 */
#include "server_testkit.h"

#include "fss_repo.h"
#include "fss_sql.h"

#include <stdio.h>
#include <string.h>

static void source_on_sqlite(fss_config *cfg)
{
    cfg->store = NULL; /* the source is always a SQLite file */
}

static int64_t count(fss_sql *db, const char *table)
{
    char sql[128];
    fss_stmt *st = NULL;
    int64_t n = -1;

    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    assert_int_equal(fss_prepare(db, sql, -1, &st, NULL), FSS_SQL_OK);
    if (fss_step(st) == FSS_SQL_ROW)
        n = fss_column_int64(st, 0);
    fss_finalize(st);
    return n;
}

static int64_t seq_of(fss_server *s)
{
    fss_conn *c = fss__conn_get(s, 5000);
    int64_t seq = -1;

    assert_non_null(c);
    assert_int_equal(fss__current_seq(c, &seq, NULL), FSS_OK);
    fss__conn_put(s, c);
    return seq;
}

static void test_copy_store(void **state)
{
    tk_server src, dst, back;
    tk_device a, b;
    fs_id cust, rep;
    fs_change ca, cb;
    fs_sync_response resp;
    fs_error_body eb;
    fss_copy_report r;
    fs_error err = {0};
    fss_sql *x, *y, *z;
    static const char *const tables[] = {"fss_reps", "fss_territories",
                                         "fss_rep_territories", "fss_devices",
                                         "fss_enroll_codes", "fss_batches",
                                         "fss_conflicts", "customer"};

    (void)state;
    tk_start(&src, source_on_sqlite);
    rep = tk_rep(&src, "Alice", "north");
    cust = tk_customer(&src, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&src, &rep, &a);
    tk_enroll(&src, &rep, &b);
    tk_change(&ca, &a, "customer", &cust);
    tk_set_text(&ca, &a, "phone", "new");
    b.clock -= UINT64_C(60000) << 16; /* b wrote earlier: a conflict record */
    b.skew_ms = -60000;
    tk_change(&cb, &b, "customer", &cust);
    tk_set_text(&cb, &b, "phone", "old");
    memset(&resp, 0, sizeof resp);
    assert_int_equal(tk_sync(&src, &a, NULL, &ca, 1, 0, 0, FS_PROTO_DEFLATE,
                             &resp, &eb), 200);
    fs_proto_sync_response_free(&resp);
    assert_int_equal(tk_sync(&src, &b, NULL, &cb, 1, 0, 0, FS_PROTO_DEFLATE,
                             &resp, &eb), 200);
    fs_proto_sync_response_free(&resp);
    fs_change_free(&ca);
    fs_change_free(&cb);
    tk_rep(&src, "Bob", "south");
    tk_customer(&src, "Southfield", "south", NULL, 50.1, -1.2);

    /* The destination: a new store of the variant's backend. */
    tk_start(&dst, NULL);
    assert_int_equal(fss_copy_store(src.s, dst.s, &r, &err), FSS_OK);
    assert_int_equal(r.reps_verified, 2);
    assert_true(r.rows > 0);
    assert_int_equal(seq_of(dst.s), seq_of(src.s));
    x = tk_sql(&src);
    y = tk_sql(&dst);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        assert_true(count(x, tables[i]) > 0);
        assert_int_equal(count(y, tables[i]), count(x, tables[i]));
    }
    fss_sql_close(x);
    fss_sql_close(y);

    /* Device a, enrolled on the old store, syncs on the new one. */
    assert_int_equal(tk_sync(&dst, &a, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE,
                             &resp, &eb), 200);
    assert_true(resp.nrows > 0);
    fs_proto_sync_response_free(&resp);

    /* And back again, into a SQLite file. */
    tk_start(&back, source_on_sqlite);
    assert_int_equal(fss_copy_store(dst.s, back.s, &r, &err), FSS_OK);
    assert_int_equal(r.reps_verified, 2);
    assert_int_equal(seq_of(back.s), seq_of(dst.s));
    y = tk_sql(&dst);
    z = tk_sql(&back);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        assert_int_equal(count(z, tables[i]), count(y, tables[i]));
    fss_sql_close(y);
    fss_sql_close(z);
    tk_stop(&back);

    /* A second copy into the filled store is refused. */
    assert_int_equal(fss_copy_store(src.s, dst.s, &r, &err), FSS_EEXISTS);
    assert_non_null(strstr(err.text, "not empty"));
    tk_stop(&dst);
    tk_stop(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
