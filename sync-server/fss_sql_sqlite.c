/*
 * fss_sql_sqlite.c - the SQLite driver of fss_sql.h: every call is its
 * sqlite3 namesake, one for one. One of the two server files that include
 * a database client header (check_seam.sh).
 */
#include "fss_sql_int.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct lite_db {
    fss_sql base;
    sqlite3 *h;
} lite_db;

typedef struct lite_stmt {
    fss_stmt base;
    sqlite3_stmt *h;
} lite_stmt;

#define H(db) (((lite_db *)(db))->h)
#define S(st) (((lite_stmt *)(st))->h)

static sqlite3_destructor_type destructor(fss_sql_destructor d)
{
    return d == FSS_SQL_STATIC ? SQLITE_STATIC : SQLITE_TRANSIENT;
}

/* encode(blob, 'hex'): PostgreSQL's built-in, so portable SQL can name a
 * blob's lowercase hex digits on both backends. */
static void encode_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p, *fmt;
    int n;
    char *out;

    (void)argc;
    fmt = sqlite3_value_text(argv[1]);
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    if (!fmt || strcmp((const char *)fmt, "hex") != 0) {
        sqlite3_result_error(ctx, "encode: only 'hex' is supported", -1);
        return;
    }
    p = sqlite3_value_blob(argv[0]);
    n = sqlite3_value_bytes(argv[0]);
    out = sqlite3_malloc(2 * n + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (int i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
    sqlite3_result_text(ctx, out, 2 * n, sqlite3_free);
}

int fss_sql_open_sqlite(const char *path, fss_sql **out, int flags)
{
    lite_db *db = calloc(1, sizeof *db);
    int rc;

    *out = NULL;
    if (!db)
        return FSS_SQL_NOMEM;
    db->base.ops = &fss__sql_sqlite_ops;
    db->base.backend = FSS_SQL_SQLITE;
    *out = &db->base;
    rc = sqlite3_open_v2(path, &db->h, flags, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db->h, "encode", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                        encode_fn, NULL, NULL, NULL);
    return rc;
}

void fss_sql_busy_timeout(fss_sql *db, int ms)
{
    if (db && db->backend == FSS_SQL_SQLITE)
        sqlite3_busy_timeout(H(db), ms);
}

void fss_sql_checkpoint(fss_sql *db)
{
    if (db && db->backend == FSS_SQL_SQLITE)
        (void)sqlite3_wal_checkpoint_v2(H(db), NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                        NULL, NULL);
}

static int l_close(fss_sql *db)
{
    int rc = sqlite3_close(H(db));
    free(db);
    return rc;
}

static const char *l_errmsg(fss_sql *db)
{
    return H(db) ? sqlite3_errmsg(H(db)) : "out of memory";
}
static int l_errcode(fss_sql *db) { return sqlite3_errcode(H(db)) & 0xff; }

static int l_exec(fss_sql *db, const char *sql, char **errmsg)
{
    char *msg = NULL;
    int rc = sqlite3_exec(H(db), sql, NULL, NULL, errmsg ? &msg : NULL);

    if (errmsg && msg) {
        *errmsg = strdup(msg);
        sqlite3_free(msg);
    }
    return rc;
}

static int64_t l_changes(fss_sql *db) { return sqlite3_changes64(H(db)); }
static int l_autocommit(fss_sql *db) { return sqlite3_get_autocommit(H(db)); }

static int l_prepare(fss_sql *db, const char *sql, int nbyte, fss_stmt **out)
{
    lite_stmt *st = calloc(1, sizeof *st);
    int rc;

    if (!st)
        return FSS_SQL_NOMEM;
    /* PERSISTENT: the store keeps most statements for the connection's
     * life (fss__conn_stmt, the row store's cache). */
    rc = sqlite3_prepare_v3(H(db), sql, nbyte, SQLITE_PREPARE_PERSISTENT,
                            &st->h, NULL);
    if (rc != SQLITE_OK || !st->h) {
        sqlite3_finalize(st->h);
        free(st);
        return rc != SQLITE_OK ? rc : FSS_SQL_ERROR;
    }
    st->base.db = db;
    *out = &st->base;
    return FSS_SQL_OK;
}

static int l_nparams(fss_stmt *st) { return sqlite3_bind_parameter_count(S(st)); }
static int l_bind_int64(fss_stmt *st, int i, int64_t v) { return sqlite3_bind_int64(S(st), i, v); }
static int l_bind_double(fss_stmt *st, int i, double v) { return sqlite3_bind_double(S(st), i, v); }
static int l_bind_null(fss_stmt *st, int i) { return sqlite3_bind_null(S(st), i); }
static int l_bind_text(fss_stmt *st, int i, const char *s, int n, fss_sql_destructor d)
{
    return sqlite3_bind_text(S(st), i, s, n, destructor(d));
}
static int l_bind_blob(fss_stmt *st, int i, const void *p, int n, fss_sql_destructor d)
{
    return sqlite3_bind_blob(S(st), i, p, n, destructor(d));
}
static int l_step(fss_stmt *st) { return sqlite3_step(S(st)) & 0xff; }
static int l_ncols(fss_stmt *st) { return sqlite3_column_count(S(st)); }
static const char *l_cname(fss_stmt *st, int i) { return sqlite3_column_name(S(st), i); }
static int l_ctype(fss_stmt *st, int i) { return sqlite3_column_type(S(st), i); }
static int64_t l_cint64(fss_stmt *st, int i) { return sqlite3_column_int64(S(st), i); }
static double l_cdouble(fss_stmt *st, int i) { return sqlite3_column_double(S(st), i); }
static const unsigned char *l_ctext(fss_stmt *st, int i) { return sqlite3_column_text(S(st), i); }
static const void *l_cblob(fss_stmt *st, int i) { return sqlite3_column_blob(S(st), i); }
static int l_cbytes(fss_stmt *st, int i) { return sqlite3_column_bytes(S(st), i); }
static int l_reset(fss_stmt *st) { return sqlite3_reset(S(st)); }
static int l_clear(fss_stmt *st) { return sqlite3_clear_bindings(S(st)); }
static int l_finalize(fss_stmt *st)
{
    int rc = sqlite3_finalize(S(st));
    free(st);
    return rc;
}

static int64_t l_steps(fss_stmt *st)
{
    return sqlite3_stmt_status(S(st), SQLITE_STMTSTATUS_VM_STEP, 0);
}

/* A file has no connection to lose. */
static bool l_lost(fss_sql *d)
{
    (void)d;
    return false;
}

const fss_sql_ops fss__sql_sqlite_ops = {
    l_close,    l_errmsg,  l_errcode,     l_exec,      l_changes,
    l_autocommit, l_prepare, l_nparams,   l_bind_int64, l_bind_double,
    l_bind_null, l_bind_text, l_bind_blob, l_step,     l_ncols,      l_cname,
    l_ctype,    l_cint64,  l_cdouble,     l_ctext,     l_cblob,
    l_cbytes,   l_reset,   l_clear,       l_finalize,  l_lost,
    l_steps,
};
