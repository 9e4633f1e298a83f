/*
 * fss_sql_int.h - private to the SQL driver (fss_sql.c and the two
 * drivers): the table of functions each backend provides and the common
 * head of its connection and statement structs. fss_sql.c dispatches the
 * public fss_* calls through it.
 */
#ifndef FSS_SQL_INT_H
#define FSS_SQL_INT_H

#include "fss_sql.h"

typedef struct fss_sql_ops {
    int (*close)(fss_sql *db);
    const char *(*errmsg)(fss_sql *db);
    int (*errcode)(fss_sql *db);
    int (*exec)(fss_sql *db, const char *sql, char **errmsg);
    int64_t (*changes)(fss_sql *db);
    int (*autocommit)(fss_sql *db);
    int (*prepare)(fss_sql *db, const char *sql, int nbyte, fss_stmt **out);
    int (*nparams)(fss_stmt *st);
    int (*bind_int64)(fss_stmt *st, int i, int64_t v);
    int (*bind_double)(fss_stmt *st, int i, double v);
    int (*bind_null)(fss_stmt *st, int i);
    int (*bind_text)(fss_stmt *st, int i, const char *s, int n,
                     fss_sql_destructor d);
    int (*bind_blob)(fss_stmt *st, int i, const void *p, int n,
                     fss_sql_destructor d);
    int (*step)(fss_stmt *st);
    int (*ncols)(fss_stmt *st);
    const char *(*cname)(fss_stmt *st, int i);
    int (*ctype)(fss_stmt *st, int i);
    int64_t (*cint64)(fss_stmt *st, int i);
    double (*cdouble)(fss_stmt *st, int i);
    const unsigned char *(*ctext)(fss_stmt *st, int i);
    const void *(*cblob)(fss_stmt *st, int i);
    int (*cbytes)(fss_stmt *st, int i);
    int (*reset)(fss_stmt *st);
    int (*clear)(fss_stmt *st);
    int (*finalize)(fss_stmt *st);
    bool (*lost)(fss_sql *db);
    int64_t (*steps)(fss_stmt *st);
} fss_sql_ops;

/* The head of every driver's connection. */
struct fss_sql {
    const fss_sql_ops *ops;
    fss_sql_backend backend;
    uint64_t round_trips;
    fss_sql_trace_fn trace; /* fss_sql_trace */
    void *trace_arg;
    fss_sql_before_fn before; /* fss_sql_before */
    void *before_arg;
    bool in_before;
    bool pipeline; /* fss_sql_pipeline (PostgreSQL's driver reads it) */
};

/* Counts one round trip to the database server and reports it to the
 * trace, if any (the drivers call it for every one). */
void fss__sql_trip(fss_sql *db, const char *what, const char *sql);
/* Reports a statement sent without waiting (pipeline) to the trace: not
 * a round trip of its own. */
void fss__sql_sent(fss_sql *db, const char *what, const char *sql);

/* The head of every driver's statement. */
struct fss_stmt {
    fss_sql *db;
};

extern const fss_sql_ops fss__sql_sqlite_ops;
extern const fss_sql_ops fss__sql_pg_ops;

#endif /* FSS_SQL_INT_H */
