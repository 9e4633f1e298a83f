/*
 * fss_sql.c - the SQL driver's public calls (fss_sql.h), each passed to the
 * connection's backend, and the one function that maps portable DDL to a
 * backend's column types (fss_sql_ddl).
 *
 * Nothing here knows SQLite or libpq; the drivers (fss_sql_sqlite.c,
 * fss_sql_pg.c) fill in fss_sql_ops.
 */
#include "fss_sql_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define OPS(db) ((db)->ops)
#define SOPS(st) ((st)->db->ops)

bool fss_sql_is_pg_target(const char *t)
{
    return t && (strncmp(t, "postgresql://", 13) == 0 ||
                 strncmp(t, "postgres://", 11) == 0 || strchr(t, '=') != NULL);
}

int fss_sql_close(fss_sql *db) { return db ? OPS(db)->close(db) : FSS_SQL_OK; }
fss_sql_backend fss_sql_backend_of(const fss_sql *db) { return db->backend; }
uint64_t fss_sql_round_trips(const fss_sql *db) { return db->round_trips; }
void fss_sql_trace(fss_sql *db, fss_sql_trace_fn fn, void *arg)
{
    db->trace = fn;
    db->trace_arg = arg;
}
void fss__sql_trip(fss_sql *db, const char *what, const char *sql)
{
    db->round_trips++;
    if (db->trace)
        db->trace(db->trace_arg, what, sql);
}
void fss__sql_sent(fss_sql *db, const char *what, const char *sql)
{
    if (db->trace)
        db->trace(db->trace_arg, what, sql);
}
void fss_sql_pipeline(fss_sql *db, bool on) { db->pipeline = on; }
bool fss_sql_connection_lost(fss_sql *db) { return !db || OPS(db)->lost(db); }
const char *fss_errmsg(fss_sql *db)
{
    return db ? OPS(db)->errmsg(db) : "out of memory";
}
int fss_errcode(fss_sql *db) { return db ? OPS(db)->errcode(db) : FSS_SQL_NOMEM; }

void fss_sql_before(fss_sql *db, fss_sql_before_fn fn, void *arg)
{
    db->before = fn;
    db->before_arg = arg;
}

/* The before-hook, not re-entered by the statements it runs. */
static int run_before(fss_sql *db)
{
    int r;

    db->in_before = true;
    r = db->before(db->before_arg);
    db->in_before = false;
    return r;
}

int fss_exec(fss_sql *db, const char *sql, void *unused_cb, void *unused_arg,
             char **errmsg)
{
    (void)unused_cb;
    (void)unused_arg;
    if (errmsg)
        *errmsg = NULL;
    if (db->before && !db->in_before) {
        int r = run_before(db);
        if (r != FSS_SQL_OK)
            return r;
    }
    return OPS(db)->exec(db, sql, errmsg);
}

void fss_free(void *p) { free(p); }
int fss_changes(fss_sql *db) { return (int)OPS(db)->changes(db); }
int64_t fss_changes64(fss_sql *db) { return OPS(db)->changes(db); }
int fss_get_autocommit(fss_sql *db) { return OPS(db)->autocommit(db); }

int fss_prepare(fss_sql *db, const char *sql, int nbyte, fss_stmt **out,
                const char **tail)
{
    if (tail)
        *tail = NULL;
    *out = NULL;
    return OPS(db)->prepare(db, sql, nbyte, out);
}

int fss_bind_parameter_count(fss_stmt *st) { return SOPS(st)->nparams(st); }
int fss_bind_int(fss_stmt *st, int i, int v) { return SOPS(st)->bind_int64(st, i, v); }
int fss_bind_int64(fss_stmt *st, int i, int64_t v) { return SOPS(st)->bind_int64(st, i, v); }
int fss_bind_double(fss_stmt *st, int i, double v) { return SOPS(st)->bind_double(st, i, v); }
int fss_bind_null(fss_stmt *st, int i) { return SOPS(st)->bind_null(st, i); }
int fss_bind_text(fss_stmt *st, int i, const char *s, int n, fss_sql_destructor d)
{
    return SOPS(st)->bind_text(st, i, s, n, d);
}
int fss_bind_blob(fss_stmt *st, int i, const void *p, int n, fss_sql_destructor d)
{
    return SOPS(st)->bind_blob(st, i, p, n, d);
}
int fss_step(fss_stmt *st)
{
    if (st->db->before && !st->db->in_before) {
        int r = run_before(st->db);
        if (r != FSS_SQL_OK)
            return r;
    }
    return SOPS(st)->step(st);
}
int fss_column_count(fss_stmt *st) { return SOPS(st)->ncols(st); }
const char *fss_column_name(fss_stmt *st, int i) { return SOPS(st)->cname(st, i); }
int fss_column_type(fss_stmt *st, int i) { return SOPS(st)->ctype(st, i); }
int fss_column_int(fss_stmt *st, int i) { return (int)SOPS(st)->cint64(st, i); }
int64_t fss_column_int64(fss_stmt *st, int i) { return SOPS(st)->cint64(st, i); }
double fss_column_double(fss_stmt *st, int i) { return SOPS(st)->cdouble(st, i); }
const unsigned char *fss_column_text(fss_stmt *st, int i) { return SOPS(st)->ctext(st, i); }
const void *fss_column_blob(fss_stmt *st, int i) { return SOPS(st)->cblob(st, i); }
int fss_column_bytes(fss_stmt *st, int i) { return SOPS(st)->cbytes(st, i); }
int fss_reset(fss_stmt *st) { return st ? SOPS(st)->reset(st) : FSS_SQL_OK; }
int fss_clear_bindings(fss_stmt *st) { return SOPS(st)->clear(st); }
int fss_finalize(fss_stmt *st) { return st ? SOPS(st)->finalize(st) : FSS_SQL_OK; }
int64_t fss_stmt_steps(fss_stmt *st) { return SOPS(st)->steps(st); }

/* ---- DDL types ---- */

static bool word_at(const char *p, const char *start, const char *w)
{
    size_t n = strlen(w);

    if (strncmp(p, w, n) != 0)
        return false;
    if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
        return false;
    return !(isalnum((unsigned char)p[n]) || p[n] == '_');
}

char *fss_sql_ddl(fss_sql_backend b, const char *sql)
{
    /* Worst growth: TEXT (4) -> TEXT COLLATE "C" (16) per 4 bytes, and
     * `id INTEGER PRIMARY KEY` grows by under 4x too. */
    size_t n = strlen(sql), cap = n * 4 + 64, o = 0;
    char *out = malloc(cap);
    const char *p = sql;
    char quote = 0;

    if (!out)
        return NULL;
    if (b != FSS_SQL_PG) {
        memcpy(out, sql, n + 1);
        return out;
    }
    while (*p) {
        const char *rep = NULL;
        size_t skip = 0;

        if (quote) {
            if (*p == quote)
                quote = 0;
            out[o++] = *p++;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            out[o++] = *p++;
            continue;
        }
        if (word_at(p, sql, "id") && strncmp(p, "id INTEGER PRIMARY KEY", 22) == 0 &&
            !(isalnum((unsigned char)p[22]) || p[22] == '_')) {
            /* SQLite's rowid alias: numbered by the store when not given. */
            rep = "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
            skip = 22;
        } else if (word_at(p, sql, "INTEGER")) {
            rep = "BIGINT";
            skip = 7;
        } else if (word_at(p, sql, "REAL")) {
            rep = "DOUBLE PRECISION";
            skip = 4;
        } else if (word_at(p, sql, "BLOB")) {
            rep = "BYTEA";
            skip = 4;
        } else if (word_at(p, sql, "TEXT")) {
            rep = "TEXT COLLATE \"C\"";
            skip = 4;
        }
        if (rep) {
            size_t rn = strlen(rep);
            memcpy(out + o, rep, rn);
            o += rn;
            p += skip;
            continue;
        }
        if (isalnum((unsigned char)*p) || *p == '_') {
            /* copy a whole word so "XINTEGER" never matches mid-word */
            while (isalnum((unsigned char)*p) || *p == '_')
                out[o++] = *p++;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}
