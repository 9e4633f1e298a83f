/*
 * fss_sql.h - the server's small SQL driver: one API shaped like the
 * sqlite3 C API, with a SQLite driver (fss_sql_sqlite.c) and a PostgreSQL
 * driver over libpq (fss_sql_pg.c) behind it.
 *
 * The store's code (fss_db.c, fss_scope.c, fss_repo_*.c and the server's
 * build of store/) is written once against this API with one portable SQL
 * text per query; only the two driver files include sqlite3.h or
 * libpq-fe.h. The shape follows sqlite3 name for name and argument for
 * argument, so a file written against sqlite3 converts by renaming
 * (docs/ARCHITECTURE.md, "The SQL driver", has the table; the only
 * non-rename is prepare_v2 / prepare_v3 -> fss_prepare, same arguments):
 * parameters are 1-based, result columns 0-based, step returns
 * FSS_SQL_ROW until FSS_SQL_DONE, text and blobs bound with
 * FSS_SQL_STATIC stay the caller's until the next step or reset.
 *
 * SQL text is SQLite's portable subset: `?` and `?N` placeholders (the
 * PostgreSQL driver numbers them `$n` once per statement), INTEGER / TEXT /
 * BLOB / REAL column types in DDL (the PostgreSQL driver maps them in
 * fss_exec, see fss_sql_ddl), 0/1 for booleans.
 */
#ifndef FSS_SQL_H
#define FSS_SQL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fss_sql fss_sql;   /* one connection, one thread at a time */
typedef struct fss_stmt fss_stmt; /* one prepared statement */

typedef enum fss_sql_backend {
    FSS_SQL_SQLITE,
    FSS_SQL_PG
} fss_sql_backend;

/* Result codes (the values of their sqlite3 namesakes). */
enum {
    FSS_SQL_OK = 0,
    FSS_SQL_ERROR = 1,
    FSS_SQL_BUSY = 5,
    FSS_SQL_NOMEM = 7,
    FSS_SQL_CONSTRAINT = 19,
    FSS_SQL_ROW = 100,
    FSS_SQL_DONE = 101
};

/* Column types (fss_column_type). */
enum {
    FSS_SQL_INTEGER = 1,
    FSS_SQL_FLOAT = 2,
    FSS_SQL_TEXT = 3,
    FSS_SQL_BLOB = 4,
    FSS_SQL_NULL = 5
};

/* Open flags of the SQLite driver (sqlite3's values). */
#define FSS_SQL_OPEN_READWRITE 0x00000002
#define FSS_SQL_OPEN_CREATE 0x00000004
#define FSS_SQL_OPEN_NOMUTEX 0x00008000

/* Lifetime of bound text and blobs: STATIC = the caller keeps the bytes
 * until the next step or reset; TRANSIENT = the driver copies them. */
typedef void (*fss_sql_destructor)(void *);
#define FSS_SQL_STATIC ((fss_sql_destructor)0)
#define FSS_SQL_TRANSIENT ((fss_sql_destructor)-1)

/* ---- connections ---- */
/* A SQLite file (flags as for SQLite's open_v2). On failure *out may still hold
 * a connection for fss_errmsg; close it either way. */
int fss_sql_open_sqlite(const char *path, fss_sql **out, int flags);
/* A PostgreSQL server: any libpq connection string or postgresql:// URI;
 * PG* environment variables fill what it leaves out. Same failure rule. */
int fss_sql_open_pg(const char *conninfo, fss_sql **out);
/* True for a target naming PostgreSQL (postgres:// URI or key=value). */
bool fss_sql_is_pg_target(const char *target);
int fss_sql_close(fss_sql *db);
fss_sql_backend fss_sql_backend_of(const fss_sql *db);
/* True when the connection to the database server is gone (PostgreSQL:
 * the server ended the session, restarted, or the network dropped); the
 * owner then closes it and opens a new one. Reads what the server may have
 * sent an idle connection without waiting and without a round trip. Always
 * false for SQLite; true for NULL. */
bool fss_sql_connection_lost(fss_sql *db);
/* Round trips to the database server since open (PostgreSQL; 0 for
 * SQLite): every prepare, execute and exec counts one. */
uint64_t fss_sql_round_trips(const fss_sql *db);
/* Calls fn(arg, what, sql) for every round trip from now on (what is
 * "prepare", "execute" or "exec"; sql the statement's portable text, or
 * the exec'd text): the profile of bench/roundtrips. fn NULL stops. */
typedef void (*fss_sql_trace_fn)(void *arg, const char *what, const char *sql);
void fss_sql_trace(fss_sql *db, fss_sql_trace_fn fn, void *arg);

/* PostgreSQL's pipeline (libpq pipeline mode), for the writes of a
 * transaction whose results nobody reads before its COMMIT. While on,
 * stepping a statement that returns no rows (INSERT, UPDATE or DELETE
 * without RETURNING) sends it and returns FSS_SQL_DONE at once (traced as
 * "pipeline", no round trip counted). The next call that needs the server
 * - a step of any other statement, an exec, fss_changes, a first prepare -
 * sends its own statement behind them (an exec of one statement, such as
 * COMMIT, too) and waits for all of them in one round trip ("sync"). When
 * one of them failed, that call returns the first failure's code and
 * message, and PostgreSQL has skipped everything after it, the COMMIT
 * included: the caller rolls back as after any failed statement. A
 * ROLLBACK always runs, after the queued statements. Turning it off
 * leaves queued statements to the next call. No-op on SQLite. */
void fss_sql_pipeline(fss_sql *db, bool on);

/* Calls fn(arg) before every fss_step and fss_exec from now on (fn NULL
 * stops), except those fn runs itself; a return other than FSS_SQL_OK is
 * returned by that step or exec instead of running it. The repository's
 * write-behind (fss_repo_batch.c) writes its queued rows there, so no
 * statement runs before the rows it might read are stored. */
typedef int (*fss_sql_before_fn)(void *arg);
void fss_sql_before(fss_sql *db, fss_sql_before_fn fn, void *arg);

const char *fss_errmsg(fss_sql *db);
int fss_errcode(fss_sql *db);
/* Runs one or more statements without parameters or results (DDL,
 * transaction control). *errmsg (optional) gets a message to fss_free. */
int fss_exec(fss_sql *db, const char *sql, void *unused_cb, void *unused_arg,
             char **errmsg);
void fss_free(void *p);
/* Rows changed by the last INSERT / UPDATE / DELETE. */
int fss_changes(fss_sql *db);
int64_t fss_changes64(fss_sql *db);
/* 1 outside a transaction, 0 inside. */
int fss_get_autocommit(fss_sql *db);
/* SQLite: waits up to ms for a lock; checkpoints and truncates the WAL.
 * No-ops on PostgreSQL. */
void fss_sql_busy_timeout(fss_sql *db, int ms);
void fss_sql_checkpoint(fss_sql *db);

/* ---- statements ---- */
/* nbyte < 0: sql is NUL-terminated; tail must be NULL (one statement). */
int fss_prepare(fss_sql *db, const char *sql, int nbyte, fss_stmt **out,
                const char **tail);
int fss_bind_parameter_count(fss_stmt *st);
int fss_bind_int(fss_stmt *st, int i, int v);
int fss_bind_int64(fss_stmt *st, int i, int64_t v);
int fss_bind_double(fss_stmt *st, int i, double v);
int fss_bind_null(fss_stmt *st, int i);
/* n < 0: NUL-terminated. */
int fss_bind_text(fss_stmt *st, int i, const char *s, int n,
                  fss_sql_destructor d);
int fss_bind_blob(fss_stmt *st, int i, const void *p, int n,
                  fss_sql_destructor d);
int fss_step(fss_stmt *st);
int fss_column_count(fss_stmt *st);
/* The result column's name (valid until finalize). */
const char *fss_column_name(fss_stmt *st, int i);
int fss_column_type(fss_stmt *st, int i);
int fss_column_int(fss_stmt *st, int i);
int64_t fss_column_int64(fss_stmt *st, int i);
double fss_column_double(fss_stmt *st, int i);
/* Valid until the next step, reset or finalize. */
const unsigned char *fss_column_text(fss_stmt *st, int i);
const void *fss_column_blob(fss_stmt *st, int i);
int fss_column_bytes(fss_stmt *st, int i);
/* Ready to step again from the start; bindings stay. */
int fss_reset(fss_stmt *st);
int fss_clear_bindings(fss_stmt *st);
int fss_finalize(fss_stmt *st);
/* The work the statement has done since it was prepared, in SQLite's
 * virtual-machine steps (every row a plan visits costs some); -1 on
 * PostgreSQL, which counts no such thing. Tests use it to show a query's
 * work does not grow with rows it must never visit, without timing it. */
int64_t fss_stmt_steps(fss_stmt *st);

/* ---- portable SQL helpers ---- */
/* The DDL text sql for backend b, malloc'd: for PostgreSQL INTEGER ->
 * BIGINT, REAL -> DOUBLE PRECISION, BLOB -> BYTEA, TEXT -> TEXT COLLATE
 * "C" (SQLite's byte order), and `id INTEGER PRIMARY KEY` -> an identity
 * column; unchanged for SQLite. NULL when out of memory. */
char *fss_sql_ddl(fss_sql_backend b, const char *sql);

#endif /* FSS_SQL_H */
