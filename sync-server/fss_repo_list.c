/*
 * fss_repo_list.c - one builder for the console's list queries (visits,
 * quotes, customers, devices, conflicts, the Today counts; fss_store.h).
 * A list is its " FROM ... WHERE ..." text plus the parameters its filters
 * bound, kept together in order, so a filter is written once (its SQL and
 * its value side by side) and the same text serves the count and the page.
 * Parameters are numbered as they are added (?1, ?2, ...): the SQL runs
 * unchanged on SQLite and, through the driver's rewrite, PostgreSQL.
 *
 * Counting: fss__lq_count can stop at a cap (the console's lists count up
 * to 1,000 and say "1000+", fss_console.c); counting every one of 500,000
 * visits to show a page of 50 is what made the lists slow
 * (docs/BENCHMARKS.md, "Console lists").
 */
#include "fss_store.h"

#include <stdio.h>
#include <string.h>

void fss__lq_init(fss_lq *q, const char *what, const char *from_where)
{
    memset(q, 0, sizeof *q);
    q->what = what;
    fss_buf_puts(&q->sql, from_where);
}

void fss__lq_free(fss_lq *q)
{
    fss_buf_free(&q->sql);
}

void fss__lq_raw(fss_lq *q, const char *sql)
{
    fss_buf_puts(&q->sql, sql);
}

/* Appends cond with each '?' numbered as the next parameter (one value:
 * a condition may use it more than once). false: no room for it. */
static bool add_param(fss_lq *q, const char *cond)
{
    if (q->np == FSS_LQ_PARAMS) {
        q->full = true;
        return false;
    }
    q->np++;
    for (const char *p = cond; *p; p++) {
        if (*p == '?')
            fss_buf_printf(&q->sql, "?%d", q->np);
        else
            fss_buf_add(&q->sql, p, 1);
    }
    return true;
}

void fss__lq_text(fss_lq *q, const char *cond, const char *v)
{
    if (v && add_param(q, cond)) {
        q->p[q->np - 1].text = v;
        q->p[q->np - 1].is_text = true;
    }
}

void fss__lq_int(fss_lq *q, const char *cond, const int64_t *v)
{
    if (v && add_param(q, cond))
        q->p[q->np - 1].num = *v;
}

void fss__lq_id(fss_lq *q, const char *cond, const fs_id *v)
{
    if (v && add_param(q, cond))
        q->p[q->np - 1].id = v;
}

void fss__lq_terr(fss_lq *q, const char *col, const char *const *terr)
{
    size_t n = 0;

    if (!terr)
        return;
    while (terr[n])
        n++;
    if (n == 0) {
        fss_buf_puts(&q->sql, " AND 0 = 1"); /* bound to no territory: nothing */
        return;
    }
    fss_buf_printf(&q->sql, " AND %s IN (", col);
    for (size_t i = 0; i < n; i++)
        fss__lq_text(q, i ? ", ?" : "?", terr[i]);
    fss_buf_puts(&q->sql, ")");
}

const char *fss__lq_sort(const fss_lq_sort *tab, size_t n, const char *sort,
                         bool *desc)
{
    *desc = sort[0] == '-';
    for (size_t i = 0; i < n; i++)
        if (strcmp(sort + *desc, tab[i].name) == 0)
            return tab[i].expr;
    return NULL;
}

/* Prepares prefix + the list's text + suffix and binds its parameters. */
static fss_status open_stmt(fss_conn *c, fss_lq *q, const char *prefix,
                            const char *suffix, fss_stmt **st, fs_error *err)
{
    fss_buf sql = {0};
    fss_status rc = FSS_OK;

    *st = NULL;
    if (q->full)
        return fss__fail(err, FSS_EINVAL, "%s: too many filters", q->what);
    fss_buf_printf(&sql, "%s%s%s", prefix, q->sql.data ? q->sql.data : "", suffix);
    if (q->sql.oom || sql.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "%s", q->what);
        goto done;
    }
    if (fss_prepare(c->db, sql.data, -1, st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, q->what);
        goto done;
    }
    for (int i = 0; i < q->np; i++) {
        if (q->p[i].id)
            fss_bind_blob(*st, i + 1, q->p[i].id->b, 16, FSS_SQL_STATIC);
        else if (q->p[i].is_text)
            fss_bind_text(*st, i + 1, q->p[i].text, -1, FSS_SQL_STATIC);
        else
            fss_bind_int64(*st, i + 1, q->p[i].num);
    }
done:
    fss_buf_free(&sql);
    return rc;
}

fss_status fss__lq_count(fss_conn *c, fss_lq *q, int64_t cap, int64_t *out,
                         fs_error *err)
{
    fss_stmt *st = NULL;
    char suffix[48] = "";
    fss_status rc;

    *out = 0;
    /* Capped: count the first cap matches only (a subquery with a
     * LIMIT, which both backends stop reading at). */
    if (cap > 0)
        snprintf(suffix, sizeof suffix, " LIMIT %lld) capped", (long long)cap);
    rc = open_stmt(c, q, cap > 0 ? "SELECT count(*) FROM (SELECT 1 AS one" : "SELECT count(*)",
                   suffix, &st, err);
    if (rc != FSS_OK)
        goto done;
    if (fss_step(st) != FSS_SQL_ROW)
        rc = fss__dbfail(err, c->db, q->what);
    else
        *out = fss_column_int64(st, 0);
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__lq_rows(fss_conn *c, fss_lq *q, const char *select,
                        const char *order, bool desc, const char *tie,
                        int64_t limit, int64_t offset, fss_lq_row_fn row,
                        void *ctx, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_buf pre = {0}, post = {0};
    fss_status rc;
    int r;

    fss_buf_printf(&pre, "SELECT %s", select);
    fss_buf_printf(&post, " ORDER BY %s %s%s%s LIMIT %lld OFFSET %lld", order,
                   desc ? "DESC" : "ASC", tie ? ", " : "", tie ? tie : "", (long long)limit,
                   (long long)offset);
    if (pre.oom || post.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "%s", q->what);
        goto done;
    }
    if ((rc = open_stmt(c, q, pre.data, post.data, &st, err)) != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW)
        row(st, ctx);
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, q->what);
done:
    fss_finalize(st);
    fss_buf_free(&pre);
    fss_buf_free(&post);
    return rc;
}
