/*
 * fss_sql_pg.c - the PostgreSQL driver of fss_sql.h over libpq. One of the
 * two server files that include a database client header (check_seam.sh).
 *
 * Statements: the portable text's `?` / `?N` placeholders become `$n` once,
 * when a text is first prepared on a connection; the server-side prepared
 * statement is then cached per connection by its text, so a statement
 * finalized and prepared again (as SQLite code does freely) costs no round
 * trip. Parameters go as text, blobs as binary bytea; results come back in
 * text format and are decoded by column type (bytea from its hex form,
 * booleans as 0/1), so a column reads the same as from SQLite.
 *
 * Pipeline (fss_sql_pipeline): while on, a statement that returns no rows
 * is sent in libpq's pipeline mode and its result read later, with the
 * next statement that needs one, in a single round trip (PQpipelineSync);
 * the first failure among them is that statement's error. PostgreSQL
 * skips what follows a failure up to the sync, so a COMMIT sent behind a
 * failed write never commits; a COMMIT answered "ROLLBACK" (a transaction
 * aborted earlier) is an error too, so no failed write is ever reported
 * committed.
 *
 * Errors: SQLSTATE class 23 (integrity) is FSS_SQL_CONSTRAINT, serialization
 * failures, deadlocks and lock timeouts FSS_SQL_BUSY, the rest
 * FSS_SQL_ERROR, each with the server's message. A failed statement inside
 * a transaction aborts that transaction (PostgreSQL's rule): the store's
 * callers roll back on any error, which is what they do on SQLite too.
 */
#include "fss_sql_int.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A statement text prepared on the server under name "s<n>". */
typedef struct pg_cached {
    char *sql;
    uint64_t hash;
    int nparams;
    bool rowless; /* INSERT / UPDATE / DELETE without RETURNING */
    char name[24];
} pg_cached;

/* Placeholders a text may number (?1 .. ?MAX_PARAMS). */
#define MAX_PARAMS 999

typedef struct pg_db {
    fss_sql base;
    PGconn *h;
    char *err;
    int errcode;
    int64_t changes;
    bool ending; /* the server said it is ending the session (on_notice) */
    int pending; /* statements sent in pipeline mode, results not read */
    pg_cached **cache; /* entries never move: statements point at them */
    size_t ncache, capcache;
} pg_db;

typedef struct pg_stmt {
    fss_stmt base;
    const pg_cached *prep;
    char **vals;
    int *lens;
    int *fmts;
    PGresult *res;
    int row, nrows;
    bool ran;
    /* decoded bytea of the current row, per column, on first read */
    unsigned char **blob;
    size_t *bloblen;
    int ncols;
} pg_stmt;

#define DB(db) ((pg_db *)(db))
#define ST(st) ((pg_stmt *)(st))

/* PostgreSQL type OIDs (pg_type.h, stable across versions). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700
};

static int set_err(pg_db *db, int code, const char *msg)
{
    size_t n;

    free(db->err);
    db->err = strdup(msg ? msg : "unknown error");
    if (db->err) {
        n = strlen(db->err);
        while (n > 0 && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
            db->err[--n] = '\0';
    }
    db->errcode = code;
    return code;
}

/* The fss_sql code for a failed result's SQLSTATE. */
static int code_of(const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (!state)
        return FSS_SQL_ERROR;
    if (strncmp(state, "23", 2) == 0)
        return FSS_SQL_CONSTRAINT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0)
        return FSS_SQL_BUSY;
    return FSS_SQL_ERROR;
}

static int result_err(pg_db *db, PGresult *r)
{
    const char *msg = r ? PQresultErrorMessage(r) : NULL;

    if (!msg || !*msg)
        msg = PQerrorMessage(db->h);
    return set_err(db, code_of(r), msg);
}

static void on_notice(void *arg, const PGresult *r)
{
    pg_db *db = arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);

    /* NOTICEs ("relation exists, skipping") are not errors; drop them.
     * A FATAL or PANIC that reaches an idle connection (the server is
     * ending the session: pg_terminate_backend, shutdown) arrives here
     * too, before the socket's end-of-file may be visible: it marks the
     * connection lost (p_lost). */
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
        db->ending = true;
}

int fss_sql_open_pg(const char *conninfo, fss_sql **out)
{
    pg_db *db = calloc(1, sizeof *db);

    *out = NULL;
    if (!db)
        return FSS_SQL_NOMEM;
    db->base.ops = &fss__sql_pg_ops;
    db->base.backend = FSS_SQL_PG;
    *out = &db->base;
    db->h = PQconnectdb(conninfo);
    if (!db->h)
        return set_err(db, FSS_SQL_NOMEM, "out of memory");
    if (PQstatus(db->h) != CONNECTION_OK)
        return set_err(db, FSS_SQL_ERROR, PQerrorMessage(db->h));
    PQsetNoticeReceiver(db->h, on_notice, db);
    fss__sql_trip(&db->base, "connect", "");
    return FSS_SQL_OK;
}

static int p_close(fss_sql *d)
{
    pg_db *db = DB(d);

    for (size_t i = 0; i < db->ncache; i++) {
        free(db->cache[i]->sql);
        free(db->cache[i]);
    }
    free(db->cache);
    if (db->h)
        PQfinish(db->h);
    free(db->err);
    free(db);
    return FSS_SQL_OK;
}

static const char *p_errmsg(fss_sql *d)
{
    return DB(d)->err ? DB(d)->err : "not an error";
}
static int p_errcode(fss_sql *d) { return DB(d)->errcode; }

/* BEGIN IMMEDIATE / DEFERRED / EXCLUSIVE are SQLite's; PostgreSQL's
 * writers lock what they touch, and the sequence counter's row lock does
 * what IMMEDIATE does for the sequence (fss_db.c). */
static const char *begin_word(const char *sql)
{
    if (strncmp(sql, "BEGIN IMMEDIATE", 15) == 0 ||
        strncmp(sql, "BEGIN DEFERRED", 14) == 0 ||
        strncmp(sql, "BEGIN EXCLUSIVE", 15) == 0)
        return "BEGIN";
    return NULL;
}

/* Ends the pipeline: the sync, then every result in the order sent (one
 * round trip). The first failure is the connection's error and the return
 * value; *last (if given) gets the last statement's result on success. */
static int pipe_end(pg_db *db, PGresult **last)
{
    PGresult *r, *keep = NULL;
    int rc = FSS_SQL_OK, nulls = 0;

    if (!PQpipelineSync(db->h))
        rc = set_err(db, FSS_SQL_ERROR, PQerrorMessage(db->h));
    fss__sql_trip(&db->base, "sync", "");
    while (PQpipelineStatus(db->h) != PQ_PIPELINE_OFF) {
        ExecStatusType es;

        r = PQgetResult(db->h);
        if (!r) {
            /* one NULL ends each statement's results; more, or a
             * broken connection, and the sync will never come */
            if (PQstatus(db->h) == CONNECTION_BAD || ++nulls > db->pending) {
                if (rc == FSS_SQL_OK)
                    rc = set_err(db, FSS_SQL_ERROR, PQerrorMessage(db->h));
                break;
            }
            continue;
        }
        es = PQresultStatus(r);
        if (es == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK)
            db->changes = atoll(PQcmdTuples(r));
        else if (rc == FSS_SQL_OK)
            rc = es == PGRES_PIPELINE_ABORTED
                     ? set_err(db, FSS_SQL_ERROR, "skipped after a failed statement")
                     : result_err(db, r);
        PQclear(keep);
        keep = r;
    }
    (void)PQexitPipelineMode(db->h);
    db->pending = 0;
    if (last && rc == FSS_SQL_OK)
        *last = keep;
    else
        PQclear(keep);
    return rc;
}

/* Sends the statement prepared as c with params in pipeline mode. */
static int pipe_send(pg_db *db, const pg_cached *c, char **vals, int *lens,
                     int *fmts)
{
    if (!db->pending && !PQenterPipelineMode(db->h))
        return set_err(db, FSS_SQL_ERROR, PQerrorMessage(db->h));
    if (!PQsendQueryPrepared(db->h, c->name, c->nparams,
                             (const char *const *)vals, lens, fmts, 0))
        return set_err(db, FSS_SQL_ERROR, PQerrorMessage(db->h));
    db->pending++;
    fss__sql_sent(&db->base, "pipeline", c->sql);
    return FSS_SQL_OK;
}

static int p_exec(fss_sql *d, const char *sql, char **errmsg)
{
    pg_db *db = DB(d);
    const char *b = begin_word(sql);
    char *ddl = b ? NULL : fss_sql_ddl(FSS_SQL_PG, sql);
    bool rollback = strncmp(sql, "ROLLBACK", 8) == 0;
    PGresult *r = NULL;
    int rc = FSS_SQL_OK;

    if (!b && !ddl)
        return set_err(db, FSS_SQL_NOMEM, "out of memory");
    if (db->pending && !rollback && !strchr(sql, ';')) {
        /* behind the queued writes, in the same round trip (COMMIT) */
        if (PQsendQueryParams(db->h, b ? b : ddl, 0, NULL, NULL, NULL, NULL, 0)) {
            db->pending++;
            fss__sql_sent(&db->base, "pipeline", sql);
            rc = pipe_end(db, &r);
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", PQerrorMessage(db->h));
            (void)pipe_end(db, NULL);
            rc = set_err(db, FSS_SQL_ERROR, msg);
        }
    } else {
        /* a ROLLBACK runs whatever the queued writes did */
        if (db->pending && (rc = pipe_end(db, NULL)) != FSS_SQL_OK && rollback)
            rc = FSS_SQL_OK;
        if (rc == FSS_SQL_OK) {
            r = PQexec(db->h, b ? b : ddl);
            fss__sql_trip(&db->base, "exec", sql);
            if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK &&
                       PQresultStatus(r) != PGRES_TUPLES_OK))
                rc = result_err(db, r);
        }
    }
    free(ddl);
    /* COMMIT of a transaction aborted by an earlier failure answers
     * "ROLLBACK" without an error: it committed nothing. */
    if (rc == FSS_SQL_OK && r && strncmp(sql, "COMMIT", 6) == 0 &&
        strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        rc = set_err(db, FSS_SQL_ERROR, "COMMIT rolled back: the transaction "
                                        "had failed");
    if (rc != FSS_SQL_OK && errmsg)
        *errmsg = strdup(db->err ? db->err : "error");
    PQclear(r);
    return rc;
}

static int64_t p_changes(fss_sql *d)
{
    /* a failure here shows again: the transaction is aborted, and its
     * next statement or COMMIT fails */
    if (DB(d)->pending)
        (void)pipe_end(DB(d), NULL);
    return DB(d)->changes;
}
static int p_autocommit(fss_sql *d)
{
    /* queued statements are always inside a transaction */
    return !DB(d)->pending && PQtransactionStatus(DB(d)->h) == PQTRANS_IDLE;
}

/* Whether a statement's text can return no rows: INSERT, UPDATE or DELETE
 * without RETURNING (the portable texts spell keywords in capitals). */
static bool rowless(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    if (strncmp(sql, "INSERT", 6) != 0 && strncmp(sql, "UPDATE", 6) != 0 &&
        strncmp(sql, "DELETE", 6) != 0)
        return false;
    return !strstr(sql, "RETURNING") && !strstr(sql, "returning");
}

/* sql with ? / ?N as $n (outside quotes and comments), malloc'd; *nparams
 * gets the highest number, used[k-1] says whether $k occurs. SQLite's
 * rule: a bare ? is one more than the highest number so far. */
static char *translate(const char *sql, int *nparams, bool *used)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 4 + 1);
    size_t o = 0;
    int max = 0;
    const char *p = sql;

    if (!out)
        return NULL;
    while (*p) {
        if (*p == '\'' || *p == '"') {
            char q = *p;
            out[o++] = *p++;
            while (*p && *p != q)
                out[o++] = *p++;
            if (*p)
                out[o++] = *p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                out[o++] = *p++;
        } else if (*p == '?') {
            int k;
            p++;
            if (*p >= '0' && *p <= '9') {
                k = (int)strtol(p, (char **)&p, 10);
            } else {
                k = max + 1;
            }
            if (k < 1 || k > MAX_PARAMS) {
                free(out);
                return NULL;
            }
            used[k - 1] = true;
            if (k > max)
                max = k;
            o += (size_t)sprintf(out + o, "$%d", k);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    *nparams = max;
    return out;
}

static uint64_t hash_of(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The cached server-side statement for sql, preparing it on first use. */
static int cached(pg_db *db, const char *sql, size_t n, const pg_cached **out)
{
    uint64_t h = hash_of(sql, n);
    pg_cached *c;
    char *text, *pg;
    PGresult *r;
    int np = 0;
    bool used[MAX_PARAMS] = {false};
    Oid types[MAX_PARAMS];

    for (size_t i = 0; i < db->ncache; i++) {
        c = db->cache[i];
        if (c->hash == h && strlen(c->sql) == n && memcmp(c->sql, sql, n) == 0) {
            *out = c;
            return FSS_SQL_OK;
        }
    }
    if (db->ncache == db->capcache) {
        size_t cap = db->capcache ? db->capcache * 2 : 32;
        pg_cached **nc = realloc(db->cache, cap * sizeof *nc);
        if (!nc)
            return set_err(db, FSS_SQL_NOMEM, "out of memory");
        db->cache = nc;
        db->capcache = cap;
    }
    text = strndup(sql, n);
    pg = text ? translate(text, &np, used) : NULL;
    c = calloc(1, sizeof *c);
    if (!pg || !c) {
        free(text);
        free(pg);
        free(c);
        return set_err(db, FSS_SQL_NOMEM, "out of memory");
    }
    snprintf(c->name, sizeof c->name, "s%zu", db->ncache);
    /* PostgreSQL infers each parameter's type from where it is used; one
     * the text never uses (SQLite allows gaps) gets text. */
    for (int k = 0; k < np; k++)
        types[k] = used[k] ? 0 : 25 /* text */;
    if (db->pending) { /* PQprepare waits for its answer: queued first */
        int prc = pipe_end(db, NULL);
        if (prc != FSS_SQL_OK) {
            free(text);
            free(pg);
            free(c);
            return prc;
        }
    }
    r = PQprepare(db->h, c->name, pg, np, types);
    fss__sql_trip(&db->base, "prepare", text);
    free(pg);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        int rc = result_err(db, r);
        PQclear(r);
        free(text);
        free(c);
        return rc;
    }
    PQclear(r);
    c->sql = text;
    c->hash = h;
    c->nparams = np;
    c->rowless = rowless(text);
    db->cache[db->ncache++] = c;
    *out = c;
    return FSS_SQL_OK;
}

static int p_prepare(fss_sql *d, const char *sql, int nbyte, fss_stmt **out)
{
    pg_db *db = DB(d);
    size_t n = nbyte < 0 ? strlen(sql) : (size_t)nbyte;
    const pg_cached *c = NULL;
    pg_stmt *st;
    int rc = cached(db, sql, n, &c);
    int np;

    if (rc != FSS_SQL_OK)
        return rc;
    st = calloc(1, sizeof *st);
    np = c->nparams > 0 ? c->nparams : 1;
    if (st) {
        st->vals = calloc((size_t)np, sizeof *st->vals);
        st->lens = calloc((size_t)np, sizeof *st->lens);
        st->fmts = calloc((size_t)np, sizeof *st->fmts);
    }
    if (!st || !st->vals || !st->lens || !st->fmts) {
        if (st) {
            free(st->vals);
            free(st->lens);
            free(st->fmts);
        }
        free(st);
        return set_err(db, FSS_SQL_NOMEM, "out of memory");
    }
    st->base.db = d;
    st->prep = c;
    *out = &st->base;
    return FSS_SQL_OK;
}

static int p_nparams(fss_stmt *s) { return ST(s)->prep->nparams; }

/* Stores a copy of n bytes as parameter i (1-based), format fmt. */
static int bind_bytes(fss_stmt *s, int i, const void *p, size_t n, int fmt)
{
    pg_stmt *st = ST(s);
    char *v = NULL;

    if (i < 1 || i > st->prep->nparams)
        return set_err(DB(s->db), 25 /* SQLITE_RANGE */, "bind index out of range");
    if (p) {
        v = malloc(n + 1);
        if (!v)
            return set_err(DB(s->db), FSS_SQL_NOMEM, "out of memory");
        if (n)
            memcpy(v, p, n);
        v[n] = '\0';
    }
    free(st->vals[i - 1]);
    st->vals[i - 1] = v;
    st->lens[i - 1] = (int)n;
    st->fmts[i - 1] = fmt;
    return FSS_SQL_OK;
}

static int p_bind_int64(fss_stmt *s, int i, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    return bind_bytes(s, i, b, (size_t)n, 0);
}

static int p_bind_double(fss_stmt *s, int i, double v)
{
    char b[40];
    int n = snprintf(b, sizeof b, "%.17g", v);
    return bind_bytes(s, i, b, (size_t)n, 0);
}

static int p_bind_null(fss_stmt *s, int i) { return bind_bytes(s, i, NULL, 0, 0); }

static int p_bind_text(fss_stmt *s, int i, const char *t, int n, fss_sql_destructor d)
{
    (void)d; /* always copied */
    if (!t)
        return p_bind_null(s, i);
    return bind_bytes(s, i, t, n < 0 ? strlen(t) : (size_t)n, 0);
}

static int p_bind_blob(fss_stmt *s, int i, const void *p, int n, fss_sql_destructor d)
{
    static const char empty = 0;

    (void)d;
    if (!p) /* SQLite binds a NULL pointer as NULL */
        return p_bind_null(s, i);
    return bind_bytes(s, i, n > 0 ? p : &empty, n > 0 ? (size_t)n : 0, 1);
}

static void drop_blobs(pg_stmt *st)
{
    if (!st->blob)
        return;
    for (int c = 0; c < st->ncols; c++) {
        if (st->blob[c])
            PQfreemem(st->blob[c]);
        st->blob[c] = NULL;
    }
}

static int p_step(fss_stmt *s)
{
    pg_stmt *st = ST(s);
    pg_db *db = DB(s->db);
    ExecStatusType es;

    if (!st->ran) {
        st->ran = true;
        if (db->base.pipeline && st->prep->rowless) {
            /* its result is read with the next statement's */
            int rc = pipe_send(db, st->prep, st->vals, st->lens, st->fmts);
            st->row = -1;
            st->nrows = 0;
            return rc == FSS_SQL_OK ? FSS_SQL_DONE : rc;
        }
        if (db->pending) {
            /* behind the queued writes: one round trip for all */
            int rc = pipe_send(db, st->prep, st->vals, st->lens, st->fmts);
            int erc = pipe_end(db, rc == FSS_SQL_OK ? &st->res : NULL);
            if (rc != FSS_SQL_OK || erc != FSS_SQL_OK)
                return rc != FSS_SQL_OK ? rc : erc;
        } else {
            st->res = PQexecPrepared(db->h, st->prep->name, st->prep->nparams,
                                     (const char *const *)st->vals, st->lens,
                                     st->fmts, 0);
            fss__sql_trip(&db->base, "execute", st->prep->sql);
        }
        es = st->res ? PQresultStatus(st->res) : PGRES_FATAL_ERROR;
        if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
            int rc = result_err(db, st->res);
            PQclear(st->res);
            st->res = NULL;
            return rc;
        }
        db->changes = atoll(PQcmdTuples(st->res));
        st->nrows = es == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
        st->row = -1;
        if (es == PGRES_TUPLES_OK && !st->blob) {
            st->ncols = PQnfields(st->res);
            st->blob = calloc((size_t)st->ncols + 1, sizeof *st->blob);
            st->bloblen = calloc((size_t)st->ncols + 1, sizeof *st->bloblen);
            if (!st->blob || !st->bloblen)
                return set_err(db, FSS_SQL_NOMEM, "out of memory");
        }
    }
    drop_blobs(st);
    if (!st->res)
        return FSS_SQL_DONE;
    if (st->row + 1 < st->nrows) {
        st->row++;
        return FSS_SQL_ROW;
    }
    st->row = st->nrows;
    return FSS_SQL_DONE;
}

static bool has_value(pg_stmt *st, int i)
{
    return st->res && st->row >= 0 && st->row < st->nrows && i >= 0 &&
           i < PQnfields(st->res) && !PQgetisnull(st->res, st->row, i);
}

static int p_ncols(fss_stmt *s)
{
    return ST(s)->res ? PQnfields(ST(s)->res) : 0;
}

static const char *p_cname(fss_stmt *s, int i)
{
    return ST(s)->res ? PQfname(ST(s)->res, i) : NULL;
}

static int p_ctype(fss_stmt *s, int i)
{
    pg_stmt *st = ST(s);
    const char *v;

    if (!has_value(st, i))
        return FSS_SQL_NULL;
    switch (PQftype(st->res, i)) {
    case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
        return FSS_SQL_INTEGER;
    case OID_FLOAT4: case OID_FLOAT8:
        return FSS_SQL_FLOAT;
    case OID_NUMERIC:
        /* sum() of bigints is numeric: an integer when it has no point */
        v = PQgetvalue(st->res, st->row, i);
        return strpbrk(v, ".eEN") ? FSS_SQL_FLOAT : FSS_SQL_INTEGER;
    case OID_BYTEA:
        return FSS_SQL_BLOB;
    default:
        return FSS_SQL_TEXT;
    }
}

static int64_t p_cint64(fss_stmt *s, int i)
{
    pg_stmt *st = ST(s);
    const char *v;

    if (!has_value(st, i))
        return 0;
    v = PQgetvalue(st->res, st->row, i);
    switch (PQftype(st->res, i)) {
    case OID_BOOL:
        return v[0] == 't';
    case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
        return (int64_t)strtod(v, NULL);
    case OID_BYTEA:
        return 0;
    default:
        return strtoll(v, NULL, 10);
    }
}

static double p_cdouble(fss_stmt *s, int i)
{
    pg_stmt *st = ST(s);

    if (!has_value(st, i))
        return 0.0;
    if (PQftype(st->res, i) == OID_BOOL)
        return PQgetvalue(st->res, st->row, i)[0] == 't';
    return strtod(PQgetvalue(st->res, st->row, i), NULL);
}

/* The bytes of bytea column i in the current row (decoded once). */
static const unsigned char *bytea(pg_stmt *st, int i, size_t *n)
{
    if (!st->blob[i]) {
        st->blob[i] = PQunescapeBytea(
            (const unsigned char *)PQgetvalue(st->res, st->row, i),
            &st->bloblen[i]);
        if (!st->blob[i])
            st->bloblen[i] = 0;
    }
    *n = st->bloblen[i];
    return st->blob[i];
}

static const unsigned char *p_ctext(fss_stmt *s, int i)
{
    pg_stmt *st = ST(s);

    if (!has_value(st, i))
        return NULL;
    /* A bytea column read as text gives PostgreSQL's hex form (\x...);
     * the store reads blobs with fss_column_blob only. */
    if (PQftype(st->res, i) == OID_BOOL)
        return (const unsigned char *)(PQgetvalue(st->res, st->row, i)[0] == 't'
                                           ? "1" : "0");
    return (const unsigned char *)PQgetvalue(st->res, st->row, i);
}

static const void *p_cblob(fss_stmt *s, int i)
{
    pg_stmt *st = ST(s);
    size_t n;

    if (!has_value(st, i))
        return NULL;
    if (PQftype(st->res, i) == OID_BYTEA)
        return bytea(st, i, &n);
    return PQgetvalue(st->res, st->row, i);
}

static int p_cbytes(fss_stmt *s, int i)
{
    pg_stmt *st = ST(s);
    size_t n = 0;

    if (!has_value(st, i))
        return 0;
    if (PQftype(st->res, i) == OID_BYTEA) {
        (void)bytea(st, i, &n);
        return (int)n;
    }
    if (PQftype(st->res, i) == OID_BOOL)
        return 1;
    return PQgetlength(st->res, st->row, i);
}

static int p_reset(fss_stmt *s)
{
    pg_stmt *st = ST(s);

    drop_blobs(st);
    PQclear(st->res);
    st->res = NULL;
    st->ran = false;
    st->row = -1;
    st->nrows = 0;
    return FSS_SQL_OK;
}

static int p_clear(fss_stmt *s)
{
    pg_stmt *st = ST(s);

    for (int i = 0; i < st->prep->nparams; i++) {
        free(st->vals[i]);
        st->vals[i] = NULL;
        st->lens[i] = 0;
        st->fmts[i] = 0;
    }
    return FSS_SQL_OK;
}

static int p_finalize(fss_stmt *s)
{
    pg_stmt *st = ST(s);

    p_reset(s);
    p_clear(s);
    free(st->vals);
    free(st->lens);
    free(st->fmts);
    free(st->blob);
    free(st->bloblen);
    free(st);
    return FSS_SQL_OK;
}

/* libpq learns that the server ended a session only when it next reads
 * the socket: a backend terminated by an administrator or a server restart
 * leaves a FATAL message (and, a moment later, end-of-file) unread on an
 * idle connection, and PQstatus stays CONNECTION_OK until then. libpq's
 * socket is always non-blocking: when poll says something is waiting,
 * PQconsumeInput reads it without waiting and PQisBusy parses it, which
 * hands an idle connection's FATAL to on_notice, or sets CONNECTION_BAD on
 * end-of-file. Only an idle connection is read: one inside a transaction
 * has results libpq must hand out in order, and a statement that found the
 * connection gone has already set CONNECTION_BAD. */
static bool p_lost(fss_sql *d)
{
    pg_db *db = DB(d);

    if (!db->h || db->ending || PQstatus(db->h) == CONNECTION_BAD)
        return true;
    if (db->pending || PQtransactionStatus(db->h) != PQTRANS_IDLE)
        return false;
    /* The FATAL message and the end-of-file can come as two reads:
     * read while the socket says something is waiting, a few times. */
    for (int i = 0; i < 4 && PQstatus(db->h) == CONNECTION_OK; i++) {
        struct pollfd p = {.fd = PQsocket(db->h), .events = POLLIN};

        if (p.fd < 0 || poll(&p, 1, 0) <= 0)
            break;
        if (!PQconsumeInput(db->h))
            break;
        (void)PQisBusy(db->h); /* parses what was read: on_notice */
    }
    return db->ending || PQstatus(db->h) == CONNECTION_BAD;
}

/* PostgreSQL reports no per-statement work counter (fss_stmt_steps). */
static int64_t p_steps(fss_stmt *st)
{
    (void)st;
    return -1;
}

const fss_sql_ops fss__sql_pg_ops = {
    p_close,    p_errmsg,  p_errcode,     p_exec,      p_changes,
    p_autocommit, p_prepare, p_nparams,   p_bind_int64, p_bind_double,
    p_bind_null, p_bind_text, p_bind_blob, p_step,     p_ncols,      p_cname,
    p_ctype,    p_cint64,  p_cdouble,     p_ctext,     p_cblob,
    p_cbytes,   p_reset,   p_clear,       p_finalize,  p_lost,
    p_steps,
};
