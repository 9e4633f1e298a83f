/*
 * fss_db.c - the central store: opening it (a SQLite file or a PostgreSQL
 * database, through the SQL driver fss_sql.h), the server's own schema and
 * its migrations, the connection pool, the global sequence number and the
 * server clock.
 *
 * Synced rows live in the fs_store tables (prefix ""); everything else the
 * server needs (reps, territories, devices, enrollment codes, batches,
 * conflicts, scope exits) lives in fss_* tables created by the numbered
 * migrations below. The migrations are one list for both backends, written
 * with SQLite's INTEGER / TEXT / BLOB / REAL (the PostgreSQL driver maps
 * them, fss_sql_ddl). Each runs once, inside the same write transaction
 * that records it in fss_migrations, so a crash mid-migration leaves the
 * previous version intact.
 *
 * Concurrency: every HTTP worker borrows one connection from the pool, and
 * every write path is one write transaction. Sequence numbers come from one
 * counter row (fss__next_seq) whose row lock a writer holds from its first
 * number until it commits, on either backend, so numbers become visible in
 * the order they were taken: a reader can never see seq n+1 committed while
 * n is still in flight (docs/ARCHITECTURE.md, "Sequence numbers"). SQLite
 * gets this from its single writer; PostgreSQL from the row lock.
 */
#include "fss_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* search (issue #15): the console's customer search, folded in C
 * (fss_repo_search.c); its rows are computed by the step after it. */
static const char mig_search[] =
    "CREATE TABLE fss_search(id BLOB PRIMARY KEY NOT NULL, folded TEXT NOT NULL);";

static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE fss_meta(key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);"
    "INSERT INTO fss_meta(key, value) VALUES('seq', 0);"
    "CREATE TABLE fss_reps(uuid TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"
    " email TEXT UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE fss_territories(code TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL);"
    "CREATE TABLE fss_rep_territories(rep TEXT NOT NULL, territory TEXT NOT NULL,"
    " PRIMARY KEY(rep, territory));"
    "CREATE INDEX fss_rep_territories_t ON fss_rep_territories(territory);"
    "CREATE TABLE fss_devices(id BLOB PRIMARY KEY NOT NULL, rep TEXT NOT NULL,"
    " name TEXT, token_hash BLOB NOT NULL, created_at INTEGER NOT NULL,"
    " last_seen INTEGER, revoked INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER);"
    "CREATE TABLE fss_enroll_codes(hash BLOB PRIMARY KEY NOT NULL, rep TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER,"
    " device BLOB);"
    "CREATE TABLE fss_batches(device BLOB NOT NULL, batch_id BLOB NOT NULL,"
    " digest BLOB NOT NULL, results BLOB NOT NULL, created_at INTEGER NOT NULL,"
    " PRIMARY KEY(device, batch_id));"
    "CREATE TABLE fss_conflicts(id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL,"
    " entity TEXT NOT NULL, row BLOB NOT NULL, field TEXT, has_base INTEGER NOT NULL,"
    " base TEXT, theirs TEXT, yours TEXT, theirs_hlc INTEGER, yours_hlc INTEGER,"
    " theirs_device BLOB, yours_device BLOB, rule TEXT NOT NULL,"
    " yours_won INTEGER NOT NULL, status TEXT NOT NULL, rep TEXT, detail TEXT,"
    " resolved_by TEXT, resolution TEXT, resolved_at INTEGER);"
    "CREATE INDEX fss_conflicts_status ON fss_conflicts(status, id);"
    "CREATE TABLE fss_scope_exits(seq INTEGER PRIMARY KEY, rep TEXT NOT NULL,"
    " customer BLOB NOT NULL, reason INTEGER NOT NULL);"
    "CREATE INDEX fss_scope_exits_rep ON fss_scope_exits(rep, seq);",
    /* 2: a rep's live customers from the index alone, for the scope plan
     * of the pull (fss_sync.c). The store's tables exist by now: conn_open
     * opens the store before it migrates. */
    "CREATE INDEX fss_customer_owner ON customer(owner_rep, deleted);"
    "CREATE INDEX fss_customer_territory ON customer(territory, deleted);",
    /* 3: a delete_wins record of a write hidden by a deleted ancestor names
     * the ancestor, so the back office can restore it and resolve its
     * siblings (fss_hide.c). */
    "ALTER TABLE fss_conflicts ADD COLUMN anc_entity TEXT;"
    "ALTER TABLE fss_conflicts ADD COLUMN anc_row BLOB;"
    "CREATE INDEX fss_conflicts_anc ON fss_conflicts(anc_row) WHERE anc_row IS NOT NULL;",
    /* owner (issue 17, offboarding): a rep can be deactivated (and its
     * heir noted), a device can drain its outbox once after revocation,
     * an unused code can be voided; the drain scope and the offboarding
     * records (fss_owner.c). */
    "ALTER TABLE fss_reps ADD COLUMN active INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE fss_reps ADD COLUMN offboarded_to TEXT;"
    "ALTER TABLE fss_reps ADD COLUMN deactivated_at INTEGER;"
    "ALTER TABLE fss_devices ADD COLUMN drain INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE fss_enroll_codes ADD COLUMN voided_at INTEGER;"
    "CREATE INDEX fss_devices_rep ON fss_devices(rep);"
    "CREATE TABLE fss_drain_scope(rep TEXT NOT NULL, customer BLOB NOT NULL,"
    " PRIMARY KEY(rep, customer));"
    "CREATE TABLE fss_offboards(id INTEGER PRIMARY KEY, rep TEXT NOT NULL,"
    " to_rep TEXT, at INTEGER NOT NULL, by_whom TEXT, customers INTEGER NOT NULL,"
    " territories INTEGER NOT NULL, devices INTEGER NOT NULL,"
    " codes INTEGER NOT NULL, drain INTEGER NOT NULL, drained INTEGER NOT NULL,"
    " reactivated_at INTEGER);"
    "CREATE INDEX fss_offboards_rep ON fss_offboards(rep, id);"
    /* the public pool's clock and bar per customer, and every judged claim
     * (fss_pool.c) */
    "CREATE TABLE fss_pool_state(customer BLOB PRIMARY KEY NOT NULL,"
    " since INTEGER NOT NULL, warned_at INTEGER, pooled_at INTEGER,"
    " former_owner TEXT, claimed_at INTEGER, claimed_by TEXT);"
    "CREATE TABLE fss_claims(id INTEGER PRIMARY KEY, customer BLOB NOT NULL,"
    " rep TEXT NOT NULL, device BLOB, at INTEGER NOT NULL, outcome TEXT NOT NULL,"
    " detail TEXT);"
    "CREATE INDEX fss_claims_rep ON fss_claims(rep, outcome, at);"
    /* merges of duplicate customers: each merged id redirects to its
     * survivor (with its placement then, for the scope of late writes);
     * the merge record (fss_dedup.c) */
    "CREATE TABLE fss_merged(dup BLOB PRIMARY KEY NOT NULL, survivor BLOB NOT NULL,"
    " merge_id INTEGER NOT NULL, owner_rep TEXT, territory TEXT);"
    "CREATE TABLE fss_merges(id INTEGER PRIMARY KEY, survivor BLOB NOT NULL,"
    " at INTEGER NOT NULL, by_whom TEXT, duplicates INTEGER NOT NULL,"
    " children INTEGER NOT NULL, fields INTEGER NOT NULL, detail TEXT);"
    "CREATE INDEX fss_merges_survivor ON fss_merges(survivor, id);",
    /* console (issue #15): back-office accounts bound to territories, login
     * sessions (the id's SHA-256, never the id), failed logins per account
     * name, and the audit log of every back-office action
     * (fss_account.c, fss_repo_console.c). */
    "CREATE TABLE fss_users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL, pw_hash TEXT NOT NULL, disabled INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE fss_user_territories(user_id INTEGER NOT NULL,"
    " territory TEXT NOT NULL, PRIMARY KEY(user_id, territory));"
    "CREATE TABLE fss_sessions(id_hash BLOB PRIMARY KEY NOT NULL,"
    " user_id INTEGER NOT NULL, csrf TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL);"
    "CREATE INDEX fss_sessions_user ON fss_sessions(user_id);"
    "CREATE TABLE fss_login_fails(name TEXT PRIMARY KEY NOT NULL,"
    " window_start INTEGER NOT NULL, fails INTEGER NOT NULL);"
    "CREATE INDEX fss_login_fails_window ON fss_login_fails(window_start);"
    "CREATE TABLE fss_audit(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT,"
    " status INTEGER NOT NULL, remote TEXT);",
    /* list API (issue #15, the console's lists on a big store): visits
     * by customer (a territory's visits go through its customers) and by
     * the list's time, each holding what a capped count and the page's
     * order need without reading the row; the Today counts' day ranges;
     * quotes by status newest first; customers by name. A page of 50 is
     * then read off an index instead of sorting every match
     * (docs/BENCHMARKS.md, "Console lists"). */
    "CREATE INDEX fss_visit_customer ON visit(customer_id, deleted,"
    " (COALESCE(checkin_at, checkout_at, planned_at)), id);"
    "CREATE INDEX fss_visit_time ON visit((COALESCE(checkin_at, checkout_at, planned_at)),"
    " deleted, customer_id, id);"
    "CREATE INDEX fss_visit_checkin ON visit(checkin_at);"
    "CREATE INDEX fss_visit_planned ON visit(planned_at);"
    "CREATE INDEX fss_quote_status ON quote(status, deleted, id);"
    "CREATE INDEX fss_quote_customer ON quote(customer_id, deleted, status, id);"
    "CREATE INDEX fss_customer_name ON customer(name, id);",
    /* customer value (issue #16): the last analyze run's grade movements
     * per territory ('' = none; from_grade '' = never graded), so a
     * manager sees those of their territories; the run's time is
     * fss_meta's 'value_run_at' (fss_repo_value.c) */
    "CREATE TABLE fss_value_moves(territory TEXT NOT NULL, from_grade TEXT NOT NULL,"
    " to_grade TEXT NOT NULL, customers INTEGER NOT NULL,"
    " PRIMARY KEY(territory, from_grade, to_grade));",
    /* search (issue #15): per customer, the folded text of its and its
     * contacts' searchable fields for the console's accent-insensitive
     * search, built for the rows already stored by
     * fss__repo_search_backfill (mig_steps below) */
    mig_search,
    /* device outbox report (issue #15, Devices screen): the pending and
     * rejected changes the device reported with its last sync request
     * (SyncRequest 12, 13; NULL = its client does not report them) and
     * that request's time (fss__repo_device_report) */
    "ALTER TABLE fss_devices ADD COLUMN pending_changes INTEGER;"
    "ALTER TABLE fss_devices ADD COLUMN rejected_changes INTEGER;"
    "ALTER TABLE fss_devices ADD COLUMN reported_at INTEGER;",
};

/* Migrations followed by a step in C, in the same transaction: what SQL
 * cannot compute portably (the search fold). Matched by the migration's
 * text, so the list above stays a plain list of statements. */
static const struct {
    const char *sql;
    fss_status (*step)(fss_conn *c, fs_error *err);
} mig_steps[] = {
    {mig_search, fss__repo_search_backfill},
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

fss_status fss__dbfail(fs_error *err, fss_sql *db, const char *what)
{
    return fss__fail(err, FSS_EDB, "%s: %s", what,
                     db ? fss_errmsg(db) : "no connection");
}

fss_status fss__exec(fss_conn *c, const char *sql, fs_error *err)
{
    char *msg = NULL;
    fss_status st = FSS_OK;

    if (fss_exec(c->db, sql, NULL, NULL, &msg) != FSS_SQL_OK)
        st = fss__fail(err, FSS_EDB, "%s", msg ? msg : "fss_exec failed");
    fss_free(msg);
    return st;
}

fss_status fss__conn_stmt(fss_conn *c, fss_stmt **slot, const char *sql,
                          fs_error *err)
{
    if (!*slot && fss_prepare(c->db, sql, -1, slot, NULL) != FSS_SQL_OK) {
        fss_finalize(*slot);
        *slot = NULL;
        return fss__dbfail(err, c->db, "prepare");
    }
    return FSS_OK;
}

fss_status fss__stmt(fss_conn *c, const char *sql, fss_stmt **out,
                     fs_error *err)
{
    size_t i;

    *out = NULL;
    for (i = 0; i < FSS_STMT_CACHE && c->cached[i].sql; i++)
        if (c->cached[i].sql == sql) {
            *out = c->cached[i].st;
            return FSS_OK;
        }
    if (i == FSS_STMT_CACHE) {
        if (fss_prepare(c->db, sql, -1, out, NULL) != FSS_SQL_OK) {
            fss_finalize(*out);
            *out = NULL;
            return fss__dbfail(err, c->db, "prepare");
        }
        return FSS_OK;
    }
    if (fss__conn_stmt(c, &c->cached[i].st, sql, err) != FSS_OK)
        return FSS_EDB;
    c->cached[i].sql = sql;
    *out = c->cached[i].st;
    return FSS_OK;
}

void fss__stmt_done(fss_conn *c, fss_stmt *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; i < FSS_STMT_CACHE && c->cached[i].sql; i++)
        if (c->cached[i].st == st) {
            /* A statement left stepping would keep its read snapshot. */
            fss_reset(st);
            fss_clear_bindings(st);
            return;
        }
    fss_finalize(st);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The write lock is this transaction's from now until tx_forget. */
static void lock_taken(fss_conn *c)
{
    c->seq_locked = true;
    c->locked_at_ns = now_ns();
}

/* Forgets the write transaction's counter and the request's row cache:
 * the transaction ended (or a new one begins). */
static void tx_forget(fss_conn *c)
{
    if (c->seq_locked && c->write_lock_ns)
        atomic_fetch_add(c->write_lock_ns, now_ns() - c->locked_at_ns);
    c->seq_locked = c->seq_known = c->seq_dirty = c->seq_late = false;
    if (c->pipelined) {
        fss_sql_pipeline(c->db, false);
        c->pipelined = false;
    }
    fss__rowcache_off(c);
}

fss_status fss__begin_immediate(fss_conn *c, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;

    if (c->writers_waiting)
        atomic_fetch_add(c->writers_waiting, 1);
    tx_forget(c);
    rc = fss__exec(c, "BEGIN IMMEDIATE", err);
    /* PostgreSQL: the same one-writer-at-a-time rule as SQLite's IMMEDIATE,
     * across every process on the database, by locking the sequence
     * counter's row until commit. Writers then merge against rows no one
     * else is changing, and take their numbers in commit order (the
     * argument is in docs/ARCHITECTURE.md, "Sequence numbers"). The same
     * round trip reads the counter, which is this transaction's from here
     * on (fss__next_seq hands out numbers without asking again). */
    if (rc == FSS_OK && fss_sql_backend_of(c->db) == FSS_SQL_PG) {
        rc = fss__stmt(c, "SELECT value FROM fss_meta WHERE key = 'seq' FOR UPDATE",
                       &st, err);
        if (rc == FSS_OK) {
            if (fss_step(st) == FSS_SQL_ROW) {
                c->seq = fss_column_int64(st, 0);
                c->seq_known = true;
            } else
                rc = fss__dbfail(err, c->db, "sequence counter lock");
        }
        fss__stmt_done(c, st);
        if (rc != FSS_OK)
            fss__rollback(c);
    }
    if (c->writers_waiting)
        atomic_fetch_sub(c->writers_waiting, 1);
    if (rc == FSS_OK)
        lock_taken(c);
    return rc;
}

/* The counter row's value and version (xmin: the transaction that last
 * wrote it; every write transaction that took the lock writes it at
 * commit, fss__commit), with its lock when `lock`; without it also the
 * other writers' counter ('gen', 0 before the first), into *gen. (Not
 * with the lock: after waiting for it, READ COMMITTED returns the locked
 * row's newest version but evaluates the rest of the statement on the
 * snapshot taken before the wait.) */
static fss_status counter_version(fss_conn *c, bool lock, int64_t *value,
                                  int64_t *ver, int64_t *gen, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = fss__stmt(
        c, lock ? "SELECT value, xmin::text::bigint FROM fss_meta "
                  "WHERE key = 'seq' FOR UPDATE"
                : "SELECT value, xmin::text::bigint,"
                  " (SELECT value FROM fss_meta WHERE key = 'gen')"
                  " FROM fss_meta WHERE key = 'seq'",
        &st, err);

    if (rc != FSS_OK)
        return rc;
    if (fss_step(st) == FSS_SQL_ROW) {
        *value = fss_column_int64(st, 0);
        *ver = fss_column_int64(st, 1);
        if (gen)
            *gen = fss_column_int64(st, 2);
    } else
        rc = fss__dbfail(err, c->db, "sequence counter");
    fss__stmt_done(c, st);
    return rc;
}

fss_status fss__begin_late(fss_conn *c, fs_error *err)
{
    fss_status rc;

    if (fss_sql_backend_of(c->db) != FSS_SQL_PG)
        return fss__begin_immediate(c, err);
    tx_forget(c);
    /* READ COMMITTED: each read sees what was committed when it ran, so a
     * commit between this version and fss__lock_late's is what can make
     * a read out of date - and every such commit changes the version. */
    rc = fss__exec(c, "BEGIN", err);
    if (rc == FSS_OK &&
        (rc = counter_version(c, false, &c->seq_begin, &c->seq_ver, &c->gen_begin,
                              err)) != FSS_OK)
        fss__rollback(c);
    c->seq_late = rc == FSS_OK;
    return rc;
}

fss_status fss__lock_late(fss_conn *c, bool *stale, fs_error *err)
{
    int64_t ver = 0;
    fss_status rc;

    *stale = false;
    if (!c->seq_late)
        return FSS_OK; /* SQLite: locked at BEGIN */
    if (c->writers_waiting)
        atomic_fetch_add(c->writers_waiting, 1);
    /* FOR UPDATE waits for the holder and then reads the row's newest
     * version, so a writer that committed meanwhile shows as a new xmin.
     * From here on it is fss__begin_immediate's transaction: numbers are
     * taken under the lock and become visible at its release, and the
     * reads made again below the lock see rows no other writer changes. */
    rc = counter_version(c, true, &c->seq, &ver, NULL, err);
    if (c->writers_waiting)
        atomic_fetch_sub(c->writers_waiting, 1);
    c->seq_late = false;
    if (rc != FSS_OK) {
        fss__rollback(c);
        return rc;
    }
    c->seq_known = true;
    lock_taken(c);
    /* What the push sends from here on is mostly writes nobody reads back
     * (its rows' upserts, the batch record, the device's row, the
     * counter): they go out without waiting, and the COMMIT collects
     * their results in one round trip, so the lock is held for about two
     * round trips instead of one per statement (issue 18). A failed write
     * fails the COMMIT (fss_sql_pipeline). */
    fss_sql_pipeline(c->db, true);
    c->pipelined = true;
    /* The caller decides whether its reads stand (fss__repo_reads_fresh)
     * or drops them (fss__rowcache_clear) and reads again. */
    *stale = ver != c->seq_ver;
    return FSS_OK;
}

void fss__yield_to_writers(fss_server *s)
{
    /* SQLite wakes a waiting writer by polling (the busy handler sleeps up
     * to 100 ms between tries): a job that takes the lock again right after
     * its commit would starve it. 120 ms covers one such sleep; bounded,
     * so a writer stuck elsewhere cannot stall the job. */
    for (int i = 0; i < 120 && atomic_load(&s->writers_waiting) > 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

fss_status fss__begin_read(fss_conn *c, fs_error *err)
{
    /* SQLite: DEFERRED, the snapshot starts at the first read.
     * PostgreSQL: REPEATABLE READ, one snapshot for every statement. */
    tx_forget(c);
    return fss__exec(c, fss_sql_backend_of(c->db) == FSS_SQL_PG
                            ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                            : "BEGIN",
                     err);
}

fss_status fss__commit(fss_conn *c, fs_error *err)
{
    fss_status rc;

    /* The numbers handed out go back into the counter in the same round
     * trip as the COMMIT (a failed UPDATE aborts the transaction, so the
     * COMMIT after it commits nothing). */
    /* On PostgreSQL every transaction that held the lock writes the row,
     * numbers or not: its new version is what tells fss__lock_late that a
     * writer committed (a rep's territories, a batch record, ...). Without
     * numbers the value stays what it is (copy-store writes it itself). */
    if (c->pipelined) {
        /* the counter's value (new or as read under the lock) as one
         * more queued write; the COMMIT sends it and waits for them all */
        fss_stmt *st = NULL;
        rc = fss__stmt(c, "UPDATE fss_meta SET value = ?1 WHERE key = 'seq'", &st,
                       err);
        if (rc == FSS_OK) {
            fss_bind_int64(st, 1, c->seq);
            if (fss_step(st) != FSS_SQL_DONE)
                rc = fss__dbfail(err, c->db, "sequence counter");
        }
        fss__stmt_done(c, st);
        if (rc == FSS_OK)
            rc = fss__exec(c, "COMMIT", err);
        if (rc != FSS_OK)
            fss__rollback(c);
    } else if (c->seq_dirty ||
               (c->seq_locked && fss_sql_backend_of(c->db) == FSS_SQL_PG)) {
        /* Every writer that is not a sync push (those are pipelined, above)
         * also counts itself in 'gen': a push whose counter moved while it
         * read keeps its reads only when no such writer came in between
         * (fss__repo_reads_fresh). The count wraps; only its change is
         * read. */
        bool pg = fss_sql_backend_of(c->db) == FSS_SQL_PG;
        char sql[320], value[32] = "value";
        if (c->seq_dirty)
            snprintf(value, sizeof value, "%lld", (long long)c->seq);
        snprintf(sql, sizeof sql, "UPDATE fss_meta SET value = %s WHERE key = 'seq'; %sCOMMIT",
                 value,
                 pg ? "INSERT INTO fss_meta(key, value) VALUES('gen', 1) ON CONFLICT (key)"
                      " DO UPDATE SET value = (fss_meta.value + 1) % 1000000000; "
                    : "");
        rc = fss__exec(c, sql, err);
        /* SQLite's exec stops at the failed UPDATE; PostgreSQL has aborted
         * the transaction: either way it must not stay open. */
        if (rc != FSS_OK)
            fss__rollback(c);
    } else
        rc = fss__exec(c, "COMMIT", err);
    tx_forget(c);
    return rc;
}

void fss__rollback(fss_conn *c)
{
    tx_forget(c);
    if (!fss_get_autocommit(c->db))
        (void)fss_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

uint64_t fss__repo_round_trips(fss_server *s)
{
    uint64_t n = 0;

    pthread_mutex_lock(&s->pool_mu);
    for (unsigned i = 0; i < s->nconns; i++)
        if (s->conns[i].db)
            n += fss_sql_round_trips(s->conns[i].db);
    pthread_mutex_unlock(&s->pool_mu);
    return n;
}

void fss__repo_trace(fss_server *s,
                     void (*fn)(void *arg, const char *what, const char *sql),
                     void *arg)
{
    pthread_mutex_lock(&s->pool_mu);
    for (unsigned i = 0; i < s->nconns; i++)
        if (s->conns[i].db)
            fss_sql_trace(s->conns[i].db, fn, arg);
    pthread_mutex_unlock(&s->pool_mu);
}

bool fss__repo_ping(fss_conn *c)
{
    return fss_exec(c->db, "SELECT 1", NULL, NULL, NULL) == FSS_SQL_OK;
}

static fss_status get_int(fss_conn *c, const char *sql, int64_t *out,
                          fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    *out = 0;
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "prepare");
        goto done;
    }
    switch (fss_step(st)) {
    case FSS_SQL_ROW: *out = fss_column_int64(st, 0); break;
    case FSS_SQL_DONE: break;
    default: rc = fss__dbfail(err, c->db, "step"); break;
    }
done:
    fss_finalize(st);
    return rc;
}

/* Reads the counter's value. */
static fss_status seq_read(fss_conn *c, int64_t *out, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = fss__stmt(c, "SELECT value FROM fss_meta WHERE key = 'seq'",
                              &st, err);

    if (rc != FSS_OK)
        return rc;
    switch (fss_step(st)) {
    case FSS_SQL_ROW: *out = fss_column_int64(st, 0); break;
    case FSS_SQL_DONE: *out = 0; break;
    default: rc = fss__dbfail(err, c->db, "current seq"); break;
    }
    fss__stmt_done(c, st);
    return rc;
}

fss_status fss__next_seq(fss_conn *c, int64_t *out, fs_error *err)
{
    fss_status rc;

    *out = 0;
    /* A number taken before fss__lock_late could become visible out of
     * order: never. */
    if (c->seq_late)
        return fss__fail(err, FSS_EDB, "sequence number before the counter's lock");
    /* Inside fss__begin_immediate's transaction the counter is ours until
     * commit: count in memory and write the last number back once
     * (fss__commit). That was one UPDATE per saved row, and the counter's
     * lock was held across all of those round trips (issue 18). */
    if (c->seq_locked) {
        if (!c->seq_known && (rc = seq_read(c, &c->seq, err)) != FSS_OK)
            return rc;
        c->seq_known = true;
        *out = ++c->seq;
        c->seq_dirty = true;
        return FSS_OK;
    }
    /* Any other transaction (migrations, copy-store): one row counter
     * instead of max(seq) over every table: O(1), and it also numbers
     * scope exits, which live in their own table. */
    rc = fss__conn_stmt(
        c, &c->next_seq,
        "UPDATE fss_meta SET value = value + 1 WHERE key = 'seq' RETURNING value",
        err);
    if (rc != FSS_OK)
        return rc;
    if (fss_step(c->next_seq) == FSS_SQL_ROW)
        *out = fss_column_int64(c->next_seq, 0);
    else
        rc = fss__dbfail(err, c->db, "next seq");
    fss_reset(c->next_seq);
    return rc;
}

fss_status fss__current_seq(fss_conn *c, int64_t *out, fs_error *err)
{
    fss_status rc = FSS_OK;

    *out = 0;
    /* The write transaction's own counter, with the numbers it handed out. */
    if (c->seq_locked) {
        if (!c->seq_known && (rc = seq_read(c, &c->seq, err)) == FSS_OK)
            c->seq_known = true;
        if (rc == FSS_OK)
            *out = c->seq;
        return rc;
    }
    return seq_read(c, out, err);
}

fss_status fss__repo_row_load(fss_conn *c, const fs_entity *e, const fs_id *id,
                              fs_row *row, fss_rowinfo *info, bool *found,
                              fs_error *err)
{
    fs_store_rowinfo si;
    fss_rowinfo ri;
    fs_error serr = {0};
    fss_status rc;

    if (e && id && fss__rowcache_get(c, e, id, row, info, found, &rc, err))
        return rc;
    if (fs_store_load(c->store, e, id, row, &si, found, &serr) != FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "load %s: %s", e ? e->name : "?",
                         serr.text);
    ri.seq = si.seq;
    ri.has_root = si.has_root;
    ri.root = si.root;
    if (info)
        *info = ri;
    fss__rowcache_put(c, e, id, *found ? row : NULL, &ri);
    return FSS_OK;
}

fss_status fss__repo_row_root(fss_conn *c, const fs_row *row, fs_id *root,
                              bool *has_root, fs_error *err)
{
    fs_error serr = {0};
    fs_store_status sst = fs_store_root(c->store, row, root, has_root, &serr);

    if (sst == FS_STORE_ENOPARENT)
        return fss__fail(err, FSS_ENOTFOUND, "parent row is not stored");
    if (sst != FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "root: %s", serr.text);
    return FSS_OK;
}

fs_hlc fss__tick(fss_server *s)
{
    fs_hlc out = 0;

    pthread_mutex_lock(&s->clock_mu);
    if (fs_hlc_tick(&s->clock, fss_now_ms(), &out, NULL) != FS_OK)
        out = s->clock;
    pthread_mutex_unlock(&s->clock_mu);
    return out;
}

void fss__clock_recv(fss_server *s, fs_hlc remote)
{
    fs_hlc out;

    pthread_mutex_lock(&s->clock_mu);
    (void)fs_hlc_recv(&s->clock, fss_now_ms(), remote, &out, NULL);
    pthread_mutex_unlock(&s->clock_mu);
}

/* Runs the migrations the store lacks, and opens (creating or upgrading)
 * the row store's tables, in one write transaction. */
static fss_status migrate(fss_conn *c, fs_error *err)
{
    /* not fss__begin_immediate: the counter it locks may not exist yet */
    fss_status st = fss__exec(c, "BEGIN IMMEDIATE", err);
    int64_t have = 0;
    fs_error serr = {0};

    if (st != FSS_OK)
        return st;
    /* Two PostgreSQL processes starting at once migrate one after the
     * other (SQLite's IMMEDIATE already serialises them). */
    if (fss_sql_backend_of(c->db) == FSS_SQL_PG) {
        st = fss__exec(c, "SELECT pg_advisory_xact_lock(1718580000)", err);
        /* an index on a big table may take longer than a request's bound */
        if (st == FSS_OK)
            st = fss__exec(c, "SET LOCAL statement_timeout = 0", err);
    }
    if (st == FSS_OK)
        st = fss__exec(c, "CREATE TABLE IF NOT EXISTS fss_migrations("
                          "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                       err);
    if (st == FSS_OK)
        st = get_int(c, "SELECT COALESCE(max(version), 0) FROM fss_migrations",
                     &have, err);
    if (st == FSS_OK && have > (int64_t)NMIGRATIONS)
        st = fss__fail(err, FSS_EDB,
                       "store schema version %lld is newer than this "
                       "server (%zu)", (long long)have, NMIGRATIONS);
    if (st == FSS_OK && fs_store_open(c->db, "", &c->store, &serr) != FS_STORE_OK)
        st = fss__fail(err, FSS_EDB, "store: %s", serr.text);
    for (size_t i = (size_t)have; st == FSS_OK && i < NMIGRATIONS; i++) {
        char rec[128];
        /* fss__exec maps the portable column types (fss_sql_ddl) */
        st = fss__exec(c, migrations[i], err);
        for (size_t k = 0; st == FSS_OK && k < sizeof mig_steps / sizeof mig_steps[0]; k++)
            if (mig_steps[k].sql == migrations[i])
                st = mig_steps[k].step(c, err);
        if (st != FSS_OK)
            break;
        snprintf(rec, sizeof rec,
                 "INSERT INTO fss_migrations VALUES(%zu, %llu)", i + 1,
                 (unsigned long long)fss_now_ms());
        st = fss__exec(c, rec, err);
    }
    if (st == FSS_OK)
        st = fss__commit(c, err);
    if (st != FSS_OK)
        fss__rollback(c);
    return st;
}

static fss_status conn_open(fss_server *s, fss_conn *c, bool first,
                            fs_error *err)
{
    fss_status st = FSS_OK;
    fs_error serr = {0};
    bool pg = s->store && s->store[0];
    int rc;

    c->writers_waiting = &s->writers_waiting;
    c->write_lock_ns = &s->write_lock_ns;

    if (pg) {
        rc = fss_sql_open_pg(s->store, &c->db);
    } else {
        rc = fss_sql_open_sqlite(s->db_path, &c->db,
                                 FSS_SQL_OPEN_READWRITE | FSS_SQL_OPEN_CREATE |
                                     FSS_SQL_OPEN_NOMUTEX);
    }
    if (rc != FSS_SQL_OK) {
        st = fss__dbfail(err, c->db, pg ? "PostgreSQL" : s->db_path);
        goto done;
    }
    if (pg) {
        /* The bound on what one stuck transaction costs everybody else:
         * a writer holds the sequence counter's row lock until it ends
         * (docs/ARCHITECTURE.md, "Sequence numbers"). */
        st = fss__exec(c, "SET idle_in_transaction_session_timeout = '"
                          FSS_PG_IDLE_TX_TIMEOUT "'", err);
        if (st == FSS_OK)
            st = fss__exec(c, "SET statement_timeout = '"
                              FSS_PG_STATEMENT_TIMEOUT "'", err);
        if (st != FSS_OK)
            goto done;
    } else {
        fss_sql_busy_timeout(c->db, 10000);
        if (first && s->cfg.wal) {
            st = fss__exec(c, "PRAGMA journal_mode=WAL", err);
            if (st != FSS_OK)
                goto done;
        }
        /* NORMAL is durable against process crashes in WAL mode (only a
         * power loss can drop the last commits), and much cheaper than
         * FULL. */
        st = fss__exec(c, s->cfg.wal ? "PRAGMA synchronous=NORMAL"
                                     : "PRAGMA synchronous=FULL", err);
        /* ANALYZE reads at most about this many rows of each index, so
         * fss_store_analyze stays a few milliseconds on a big store. */
        if (st == FSS_OK)
            st = fss__exec(c, "PRAGMA analysis_limit=1000", err);
        if (st != FSS_OK)
            goto done;
    }
    if (first) {
        st = migrate(c, err);
        /* The planner's statistics, so a list is read off the index that
         * suits its filter (docs/BENCHMARKS.md, "Console lists"), taken at
         * each open. Statistics also change the plans of the sync path:
         * the pull's scope queries are written so that no statistics can
         * turn them into scans (fss_repo_sync.c, test_pull_scope_work). */
        if (st == FSS_OK)
            st = fss__exec(c, "ANALYZE", err);
        goto done;
    }
    /* The row store's open checks its tables inside a savepoint, which
     * PostgreSQL allows only inside a transaction. */
    st = fss__begin_read(c, err);
    if (st == FSS_OK && fs_store_open(c->db, "", &c->store, &serr) != FS_STORE_OK)
        st = fss__fail(err, FSS_EDB, "store: %s", serr.text);
    if (st == FSS_OK)
        st = fss__commit(c, err);
    if (st != FSS_OK)
        fss__rollback(c);
done:
    return st;
}

static void conn_close(fss_conn *c)
{
    fss_finalize(c->next_seq);
    fss_finalize(c->in_scope);
    fss_finalize(c->customer_reps);
    c->next_seq = c->in_scope = c->customer_reps = NULL;
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++) {
            fss_finalize(c->pull[i][j]);
            c->pull[i][j] = NULL;
        }
    fss_finalize(c->scope_size);
    c->scope_size = NULL;
    fss_finalize(c->reads_fresh);
    c->reads_fresh = NULL;
    for (size_t i = 0; i < FSS_STMT_CACHE; i++) {
        fss_finalize(c->cached[i].st);
        c->cached[i].st = NULL;
        c->cached[i].sql = NULL;
    }
    fss__rowcache_off(c);
    fss__search_sel_close(c);
    fss__restamp_close(c);
    fs_store_close(c->store);
    c->store = NULL;
    fss_sql_close(c->db);
    c->db = NULL;
}

fss_status fss__db_open_pool(fss_server *s, fs_error *err)
{
    fss_status st = FSS_OK;
    unsigned i;

    /* One connection per HTTP worker, plus one for the admin caller (CLI or
     * an in-process test) so it never waits behind the workers. */
    s->nconns = s->cfg.threads + 1;
    s->conns = calloc(s->nconns, sizeof *s->conns);
    if (!s->conns)
        return fss__fail(err, FSS_ENOMEM, "connection pool");
    for (i = 0; i < s->nconns; i++) {
        st = conn_open(s, &s->conns[i], i == 0, err);
        if (st != FSS_OK)
            break;
    }
    if (st != FSS_OK)
        fss__db_close_pool(s);
    return st;
}

void fss__db_close_pool(fss_server *s)
{
    unsigned i;

    if (!s->conns)
        return;
    if (s->conns[0].db && s->cfg.wal)
        fss_sql_checkpoint(s->conns[0].db);
    for (i = 0; i < s->nconns; i++)
        conn_close(&s->conns[i]);
    free(s->conns);
    s->conns = NULL;
    s->nconns = 0;
}

static void release(fss_server *s, fss_conn *c)
{
    pthread_mutex_lock(&s->pool_mu);
    c->busy = false;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* A pooled connection whose database server ended the session
 * (PostgreSQL restarted, an administrator terminated the backend, the
 * network dropped) is closed and opened afresh when it is next borrowed,
 * instead of failing every request it serves. Closing drops everything
 * tied to the old session: the fss_stmt pointers the connection caches
 * (fss__stmt, fss__conn_stmt, the row store's), and with the driver's
 * connection its server-side prepared statements, which are prepared again
 * on first use. The request that met the dead connection has already
 * failed (500/503, nothing acknowledged; the device retries). When the
 * database is still unreachable the connection stays closed (db NULL) and
 * the borrower gets none, as when the pool is exhausted. */
static bool conn_reopen(fss_server *s, fss_conn *c)
{
    fs_error err = {0};

    conn_close(c);
    if (conn_open(s, c, false, &err) == FSS_OK) {
        fprintf(stderr, "sync-server: database connection was lost; "
                        "reconnected\n");
        return true;
    }
    fprintf(stderr, "sync-server: database connection lost; reconnect "
                    "failed: %s\n", err.text);
    conn_close(c);
    return false;
}

fss_conn *fss__conn_get(fss_server *s, unsigned timeout_ms)
{
    struct timespec until;
    fss_conn *got = NULL;
    unsigned i;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->pool_mu);
    for (;;) {
        for (i = 0; i < s->nconns; i++) {
            if (!s->conns[i].busy) {
                s->conns[i].busy = true;
                got = &s->conns[i];
                break;
            }
        }
        if (got)
            break;
        if (pthread_cond_timedwait(&s->pool_cv, &s->pool_mu, &until) ==
            ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (got && fss_sql_connection_lost(got->db) && !conn_reopen(s, got)) {
        release(s, got);
        got = NULL;
    }
    return got;
}

void fss__conn_put(fss_server *s, fss_conn *c)
{
    if (!c)
        return;
    if (c->db)
        fss__rollback(c); /* never hand on an open transaction */
    release(s, c);
}
