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

int fss_sql_open_sqlite(const char *path, fss_sql **out, int flags)
{
    lite_db *db = calloc(1, sizeof *db);

    *out = NULL;
    if (!db)
        return FSS_SQL_NOMEM;
    db->base.ops = &fss__sql_sqlite_ops;
    db->base.backend = FSS_SQL_SQLITE;
    *out = &db->base;
    return sqlite3_open_v2(path, &db->h, flags, NULL);
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

const fss_sql_ops fss__sql_sqlite_ops = {
    l_close,    l_errmsg,  l_errcode,     l_exec,      l_changes,
    l_autocommit, l_prepare, l_nparams,   l_bind_int64, l_bind_double,
    l_bind_null, l_bind_text, l_bind_blob, l_step,     l_ncols,
    l_ctype,    l_cint64,  l_cdouble,     l_ctext,     l_cblob,
    l_cbytes,   l_reset,   l_clear,       l_finalize,
};
