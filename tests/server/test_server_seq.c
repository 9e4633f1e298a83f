/*
 * test_server_seq.c - no pull ever skips a change (issue 18 item 4;
 * docs/ARCHITECTURE.md, "Sequence numbers").
 *
 * A writer that has taken a low sequence number is held open while a
 * second writer saves a row; pulls meanwhile must not return the second
 * writer's higher number before the first one's lower number is visible,
 * or a device whose cursor moved past it would never see the lower one.
 * The store's technique (one counter row, locked from a writer's first
 * number until its commit) makes the second writer wait; the test watches
 * it wait (PostgreSQL: its lock shows in pg_locks, no timing involved),
 * pulls, lets the first commit, and checks both rows arrive in order.
 *
 * The control: the naive technique - a plain PostgreSQL sequence read
 * with "seq > cursor" - run through the same steps does skip the lower
 * number, so this test can tell the two apart.
 *
 * Runs on SQLite (test_server_seq) and PostgreSQL (test_server_seq_pg);
 * the naive control needs PostgreSQL.
 */
#include "server_testkit.h"

#include "fss_repo.h"
#include "fss_sql.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct seen {
    int64_t seq[16];
    size_t n;
} seen;

static fss_status on_item(const fss_pull_item *it, void *arg, bool *stop,
                          fs_error *err)
{
    seen *s = arg;

    (void)stop;
    (void)err;
    if (s->n < 16)
        s->seq[s->n++] = it->seq;
    return FSS_OK;
}

/* A pull from cursor for rep, in its own read transaction. */
static seen pull(fss_server *s, const char *rep, int64_t cursor)
{
    seen out = {0};
    fss_conn *c = fss__conn_get(s, 5000);
    fs_error err = {0};

    assert_non_null(c);
    assert_int_equal(fss__begin_read(c, &err), FSS_OK);
    if (fss__repo_pull(c, FSS_PULL_SEQ, rep, (uint64_t)cursor, 100, on_item,
                       &out, &err) != FSS_OK)
        fail_msg("pull: %s", err.text);
    fss__rollback(c);
    fss__conn_put(s, c);
    return out;
}

/* Saves customer id again (a new seq) inside c's open write transaction. */
static int64_t resave(fss_conn *c, const fs_id *id)
{
    fs_row row = {0};
    bool found = false;
    int64_t seq = 0;
    fs_error err = {0};

    if (fss__repo_row_load(c, fs_schema_entity("customer"), id, &row, NULL, &found,
                           &err) != FSS_OK || !found)
        fail_msg("load: %s", err.text);
    if (fss__save_row(c, &row, &seq, true, &err) != FSS_OK)
        fail_msg("save: %s", err.text);
    fs_row_free(&row);
    return seq;
}

typedef struct writer {
    fss_server *s;
    fs_id cust;
    int64_t seq;
    fss_status st;
    bool late; /* fss__begin_late + fss__lock_late (the sync push's way) */
    int done; /* set (atomically) when the writer has committed */
} writer;

/* The second writer: begins, saves (waits here while the first writer
 * holds the counter), commits. */
static void *second_writer(void *arg)
{
    writer *w = arg;
    fss_conn *c = fss__conn_get(w->s, 5000);
    fs_error err = {0};

    w->st = FSS_EDB;
    if (!c)
        return NULL;
    if (w->late) {
        bool stale = false;
        if (fss__begin_late(c, &err) == FSS_OK &&
            fss__lock_late(c, &stale, &err) == FSS_OK) {
            w->seq = resave(c, &w->cust);
            w->st = fss__commit(c, &err);
        }
    } else if (fss__begin_immediate(c, &err) == FSS_OK) {
        w->seq = resave(c, &w->cust);
        w->st = fss__commit(c, &err);
    }
    fss__conn_put(w->s, c);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Waits until some backend waits for a lock (PostgreSQL), or until the
 * second writer got through without waiting (a broken technique: the
 * pull below then sees its number and the test fails there). */
static void wait_for_lock_wait(tk_server *t, const writer *w)
{
    fss_sql *db = tk_sql(t);
    struct timespec pause = {0, 5 * 1000 * 1000};

    for (;;) {
        fss_stmt *st = NULL;
        int64_t n = 0;
        assert_int_equal(fss_prepare(db, "SELECT count(*) FROM pg_locks"
                                         " WHERE NOT granted", -1, &st, NULL),
                         FSS_SQL_OK);
        if (fss_step(st) == FSS_SQL_ROW)
            n = fss_column_int64(st, 0);
        fss_finalize(st);
        if (n > 0 || __atomic_load_n(&w->done, __ATOMIC_SEQ_CST))
            break;
        nanosleep(&pause, NULL);
    }
    fss_sql_close(db);
}

static void no_seq_skipped(bool late)
{
    tk_server t;
    fs_id rep, c1, c2;
    char repu[FS_ID_STRLEN + 1];
    fss_conn *a;
    fs_error err = {0};
    writer w = {0};
    pthread_t th;
    int64_t cursor, seq_a;
    seen mid, after;

    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    fs_id_format(&rep, repu);
    c1 = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    c2 = tk_customer(&t, "Brownfield", "north", NULL, 53.40, -2.20);
    after = pull(t.s, repu, 0);
    assert_int_equal(after.n, 2);
    cursor = after.seq[1];

    /* Writer A takes the lower number and stays open. */
    a = fss__conn_get(t.s, 5000);
    assert_non_null(a);
    assert_int_equal(fss__begin_immediate(a, &err), FSS_OK);
    seq_a = resave(a, &c1);
    assert_true(seq_a > cursor);

    /* Writer B starts and must wait for A (it never gets a number A
     * could still be below). */
    w.s = t.s;
    w.cust = c2;
    w.late = late;
    assert_int_equal(pthread_create(&th, NULL, second_writer, &w), 0);
    if (tk_pg())
        wait_for_lock_wait(&t, &w);

    /* Meanwhile a device pulls: nothing after its cursor is visible. */
    mid = pull(t.s, repu, cursor);
    assert_int_equal(mid.n, 0);

    assert_int_equal(fss__commit(a, &err), FSS_OK);
    fss__conn_put(t.s, a);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.st, FSS_OK);
    assert_true(w.seq > seq_a);

    /* Both arrive, the lower first. */
    after = pull(t.s, repu, cursor);
    assert_int_equal(after.n, 2);
    assert_int_equal(after.seq[0], seq_a);
    assert_int_equal(after.seq[1], w.seq);
    tk_stop(&t);
}

static void test_no_seq_skipped(void **state)
{
    (void)state;
    no_seq_skipped(false);
}

/* The same with the second writer taking the lock late (the sync push):
 * it waits in fss__lock_late and gets no number before the first commits. */
static void test_no_seq_skipped_late(void **state)
{
    (void)state;
    no_seq_skipped(true);
}

/* fss__lock_late says stale exactly when a writer committed after
 * fss__begin_late - with numbers (a saved row) or without (a write
 * transaction that took none, e.g. a rep's territories) - and a late
 * transaction takes no number before its lock. */
static void test_late_lock_sees_commits(void **state)
{
    tk_server t;
    fs_id c1;
    fss_conn *a, *b;
    fs_error err = {0};
    int64_t seq = 0;
    bool stale = true;

    (void)state;
    tk_start(&t, NULL);
    (void)tk_rep(&t, "Alice", "north");
    c1 = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    a = fss__conn_get(t.s, 5000);
    b = fss__conn_get(t.s, 5000);
    assert_non_null(a);
    assert_non_null(b);

    /* Nobody wrote in between. */
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    if (tk_pg())
        assert_int_not_equal(fss__next_seq(a, &seq, &err), FSS_OK);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_false(stale);
    assert_true(resave(a, &c1) > 0);
    assert_int_equal(fss__commit(a, &err), FSS_OK);
    if (!tk_pg()) {
        /* SQLite locks at BEGIN: a second writer cannot come in between. */
        fss__conn_put(t.s, a);
        fss__conn_put(t.s, b);
        tk_stop(&t);
        return;
    }

    /* A writer saved a row in between. */
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    assert_int_equal(fss__begin_immediate(b, &err), FSS_OK);
    (void)resave(b, &c1);
    assert_int_equal(fss__commit(b, &err), FSS_OK);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_true(stale);
    assert_int_equal(fss__commit(a, &err), FSS_OK);

    /* A writer that took no number committed in between. */
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    assert_int_equal(fss__begin_immediate(b, &err), FSS_OK);
    assert_int_equal(fss__commit(b, &err), FSS_OK);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_true(stale);
    assert_int_equal(fss__commit(a, &err), FSS_OK);

    /* A writer that rolled back changed nothing. */
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    assert_int_equal(fss__begin_immediate(b, &err), FSS_OK);
    (void)resave(b, &c1);
    fss__rollback(b);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_false(stale);
    assert_int_equal(fss__commit(a, &err), FSS_OK);

    fss__conn_put(t.s, a);
    fss__conn_put(t.s, b);
    tk_stop(&t);
}

/* What another writer does between a push's first reads and its lock
 * (test_late_reads_fresh). The PUSH_ ones are sync pushes (late lock,
 * pipelined commit); ADMIN is any other writer. */
enum between { PUSH_OTHER, PUSH_READ_ROW, PUSH_ABSENT_ROW, PUSH_BATCH, ADMIN };

typedef struct fresh_case {
    fs_id read, other, absent, device, batch;
} fresh_case;

/* b, as a sync push or another writer, commits `what` while a's late
 * transaction has read fc->read (found) and fc->absent (not found);
 * returns whether a's reads stand under the lock, given custs[] from its
 * scope memo. */
static bool reads_stand(fss_conn *a, fss_conn *b, const fresh_case *fc,
                        enum between what, const fs_id *custs, size_t ncusts)
{
    fss_rowref refs[2] = {{fs_schema_entity("customer"), fc->read},
                          {fs_schema_entity("customer"), fc->absent}};
    fs_error err = {0};
    bool stale = false, fresh = true;
    uint8_t digest[32] = {0};

    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    assert_int_equal(fss__repo_rows_prefetch(a, refs, 2, true, &err), FSS_OK);
    if (what == ADMIN) {
        assert_int_equal(fss__begin_immediate(b, &err), FSS_OK);
    } else {
        assert_int_equal(fss__begin_late(b, &err), FSS_OK);
        assert_int_equal(fss__lock_late(b, &stale, &err), FSS_OK);
    }
    if (what == PUSH_OTHER)
        (void)resave(b, &fc->other);
    else if (what == PUSH_READ_ROW)
        (void)resave(b, &fc->read);
    else if (what == PUSH_ABSENT_ROW) {
        fs_row row = {0};
        bool found = false;
        int64_t seq = 0;
        assert_int_equal(fss__repo_row_load(b, fs_schema_entity("customer"), &fc->other,
                                            &row, NULL, &found, &err), FSS_OK);
        assert_true(found);
        row.id = fc->absent;
        assert_int_equal(fss__save_row(b, &row, &seq, true, &err), FSS_OK);
        fs_row_free(&row);
    } else if (what == PUSH_BATCH)
        assert_int_equal(fss__repo_batch_put(b, &fc->device, &fc->batch, digest, "", 0,
                                             1, 4, &err), FSS_OK);
    assert_int_equal(fss__commit(b, &err), FSS_OK);
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_true(stale); /* the counter moved in every case */
    assert_int_equal(fss__repo_reads_fresh(a, &fc->device, &fc->batch, custs, ncusts,
                                           &fresh, &err), FSS_OK);
    fss__rollback(a);
    return fresh;
}

/* A push whose counter moved between its first reads and its lock keeps
 * those reads only when every writer in between was another sync push
 * that touched none of them (fss__repo_reads_fresh): kept after a push
 * saved another customer; read again after one saved the customer read,
 * created the row read as absent, recorded the push's batch, or saved a
 * customer the scope memo answered for, and after any other writer (one
 * that changed nothing of what the push read included: a rep's
 * territories carry no seq). */
static void test_late_reads_fresh(void **state)
{
    tk_server t;
    fresh_case fc;
    fss_conn *a, *b;

    (void)state;
    if (!tk_pg())
        skip(); /* SQLite locks at BEGIN: nothing comes in between */
    tk_start(&t, NULL);
    (void)tk_rep(&t, "Alice", "north");
    fc.read = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    fc.other = tk_customer(&t, "Blackmoor", "north", NULL, 53.40, -2.20);
    assert_int_equal(fs_id_new(1700000000000ull, &fc.absent, NULL), FS_OK);
    assert_int_equal(fs_id_new(1700000000001ull, &fc.device, NULL), FS_OK);
    assert_int_equal(fs_id_new(1700000000002ull, &fc.batch, NULL), FS_OK);
    a = fss__conn_get(t.s, 5000);
    b = fss__conn_get(t.s, 5000);
    assert_non_null(a);
    assert_non_null(b);

    assert_true(reads_stand(a, b, &fc, PUSH_OTHER, NULL, 0));
    assert_false(reads_stand(a, b, &fc, PUSH_READ_ROW, NULL, 0));
    assert_false(reads_stand(a, b, &fc, PUSH_OTHER, &fc.other, 1));
    assert_false(reads_stand(a, b, &fc, ADMIN, NULL, 0));
    assert_false(reads_stand(a, b, &fc, PUSH_ABSENT_ROW, NULL, 0));
    /* the row created above is now simply read */
    assert_true(reads_stand(a, b, &fc, PUSH_OTHER, NULL, 0));
    /* last: the batch stays recorded */
    assert_false(reads_stand(a, b, &fc, PUSH_BATCH, NULL, 0));

    fss__conn_put(t.s, a);
    fss__conn_put(t.s, b);
    tk_stop(&t);
}

/* One statement on db, asserting success. */
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

/* The same steps with a plain sequence and "seq > cursor": the device
 * pulls the higher number, moves its cursor past the lower one, and never
 * sees it. This is what the counter's lock prevents. */
static void test_naive_sequence_skips(void **state)
{
    char name[64], conninfo[1024];
    fss_sql *a = NULL, *b = NULL, *r = NULL;
    int64_t low, high, cursor;
    char sql[128];

    (void)state;
    if (!tk_pg())
        skip(); /* SQLite has one writer: the race cannot be set up */
    tk_pg_create(name, sizeof name, conninfo, sizeof conninfo);
    assert_int_equal(fss_sql_open_pg(conninfo, &a), FSS_SQL_OK);
    assert_int_equal(fss_sql_open_pg(conninfo, &b), FSS_SQL_OK);
    assert_int_equal(fss_sql_open_pg(conninfo, &r), FSS_SQL_OK);
    run(a, "CREATE SEQUENCE naive_seq");
    run(a, "CREATE TABLE naive(seq BIGINT PRIMARY KEY)");

    run(a, "BEGIN");
    low = one_int(a, "INSERT INTO naive VALUES(nextval('naive_seq')) RETURNING seq");
    run(b, "BEGIN");
    high = one_int(b, "INSERT INTO naive VALUES(nextval('naive_seq')) RETURNING seq");
    run(b, "COMMIT");
    assert_true(low < high);

    /* The device pulls: it gets the higher number, the lower is invisible. */
    cursor = one_int(r, "SELECT COALESCE(max(seq), 0) FROM naive WHERE seq > 0");
    assert_int_equal(cursor, high);
    run(a, "COMMIT");
    /* Its next pull starts after the higher number: the lower one, now
     * committed and stored, is never returned. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM naive WHERE seq > %lld",
             (long long)cursor);
    assert_int_equal(one_int(r, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM naive WHERE seq = %lld",
             (long long)low);
    assert_int_equal(one_int(r, sql), 1);
    fss_sql_close(a);
    fss_sql_close(b);
    fss_sql_close(r);
    tk_pg_drop(name);
}

/* fieldsync_write_lock_seconds_total from the server's /metrics. */
static double lock_seconds(tk_server *t)
{
    static const char name[] = "\nfieldsync_write_lock_seconds_total ";
    tk_http r;
    const char *p;
    double v = -1;

    tk_request(t, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    if ((p = strstr((const char *)r.body, name)) != NULL)
        v = strtod(p + strlen(name), NULL);
    tk_http_free(&r);
    assert_true(v >= 0);
    return v;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hold(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The write lock's busy time (fieldsync_write_lock_seconds_total) counts a
 * transaction from its lock to its end, committed or rolled back: at least
 * what it held the lock, and for a late push (PostgreSQL) nothing of its
 * reads before fss__lock_late. Bounds only from what this test itself
 * measured around the calls; no speed is asserted. */
static void test_write_lock_time(void **state)
{
    tk_server t;
    fss_conn *a;
    fs_error err = {0};
    double m0, m1, m2, t0, t1;
    bool stale = false;

    (void)state;
    tk_start(&t, NULL);
    (void)tk_rep(&t, "Alice", "north");
    a = fss__conn_get(t.s, 5000);
    assert_non_null(a);
    m0 = lock_seconds(&t);
    assert_int_equal(fss__begin_immediate(a, &err), FSS_OK);
    hold(50);
    assert_int_equal(fss__commit(a, &err), FSS_OK);
    assert_int_equal(fss__begin_immediate(a, &err), FSS_OK);
    hold(50);
    fss__rollback(a);
    m1 = lock_seconds(&t);
    assert_true(m1 - m0 >= 0.1);
    /* A late transaction: 300 ms of reading before the lock. */
    assert_int_equal(fss__begin_late(a, &err), FSS_OK);
    hold(300);
    t0 = mono_s();
    assert_int_equal(fss__lock_late(a, &stale, &err), FSS_OK);
    assert_int_equal(fss__commit(a, &err), FSS_OK);
    t1 = mono_s();
    m2 = lock_seconds(&t);
    if (tk_pg())
        assert_true(m2 - m1 <= t1 - t0);
    else /* SQLite: fss__begin_late is fss__begin_immediate */
        assert_true(m2 - m1 >= 0.3);
    fss__conn_put(t.s, a);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_seq_skipped),
        cmocka_unit_test(test_no_seq_skipped_late),
        cmocka_unit_test(test_late_lock_sees_commits),
        cmocka_unit_test(test_late_reads_fresh),
        cmocka_unit_test(test_naive_sequence_skips),
        cmocka_unit_test(test_write_lock_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
