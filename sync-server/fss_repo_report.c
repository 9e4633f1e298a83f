/*
 * fss_repo_report.c - the repository (both backends) for the back office's reports
 * (fss_repo.h): the visits of the activity report, the quotes with their
 * lines and the contracts of the pipeline, and every stored row for the
 * store audit. Plain rows in a stated order; fss_report.c groups them,
 * applies the business calendar and writes the JSON.
 */
#include "fss_store.h"

#include <string.h>

static const char *col_text(fss_stmt *st, int i)
{
    return (const char *)fss_column_text(st, i);
}

fss_status fss__repo_activity(fss_conn *c, const char *rep, const char *territory,
                              const int64_t *from_ms, const int64_t *to_ms,
                              const char *const *terr, fss_visit_item_fn fn,
                              void *arg, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    fss_buf sql = {0};
    int r;

    /* One row per live visit in the range; ordered by rep, then time, so
     * the days of one rep come in order and a group is a run of rows. */
    fss_buf_puts(&sql,
        "SELECT v.rep_id, (SELECT name FROM fss_reps WHERE uuid = v.rep_id),"
        " coalesce(v.checkin_at, v.checkout_at, v.planned_at) AS t, v.status,"
        " v.verification, v.time_check, v.outcome"
        " FROM visit v LEFT JOIN customer k ON k.id = v.customer_id"
        " WHERE v.deleted = 0 AND (v.rep_id = ?1 OR ?1 IS NULL)"
        " AND (k.territory = ?2 OR ?2 IS NULL)"
        " AND (coalesce(v.checkin_at, v.checkout_at, v.planned_at) >= ?3 OR ?3 IS NULL)"
        " AND (coalesce(v.checkin_at, v.checkout_at, v.planned_at) < ?4 OR ?4 IS NULL)");
    fss__sql_terr_in(&sql, "k.territory", terr, 5);
    fss_buf_puts(&sql, " ORDER BY v.rep_id NULLS FIRST, t NULLS FIRST, v.id");
    if (sql.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "activity");
        goto done;
    }
    if (fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "activity");
        goto done;
    }
    if (rep)
        fss_bind_text(st, 1, rep, -1, FSS_SQL_STATIC);
    if (territory)
        fss_bind_text(st, 2, territory, -1, FSS_SQL_STATIC);
    if (from_ms)
        fss_bind_int64(st, 3, *from_ms);
    if (to_ms)
        fss_bind_int64(st, 4, *to_ms);
    fss__sql_terr_bind(st, terr, 5);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_visit_item v = {
            .rep = col_text(st, 0), .rep_name = col_text(st, 1),
            .has_t = fss_column_type(st, 2) != FSS_SQL_NULL,
            .t = fss_column_int64(st, 2), .status = col_text(st, 3),
            .verification = col_text(st, 4), .time_check = col_text(st, 5),
            .outcome = col_text(st, 6),
        };
        if ((rc = fn(&v, arg, err)) != FSS_OK)
            goto done;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "activity");
done:
    fss_buf_free(&sql);
    fss_finalize(st);
    return rc;
}

/* " AND <alias>.customer_id IN (customers of terr)" from ?1. */
static void customer_in_terr(fss_buf *sql, const char *alias, const char *const *terr)
{
    if (!terr)
        return;
    fss_buf_printf(sql, " AND %s.customer_id IN (SELECT k.id FROM customer k WHERE 1 = 1",
                   alias);
    fss__sql_terr_in(sql, "k.territory", terr, 1);
    fss_buf_puts(sql, ")");
}

fss_status fss__repo_pipeline_quotes(fss_conn *c, const char *const *terr,
                                     fss_quote_line_item_fn fn, void *arg,
                                     fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    fss_buf sql = {0};
    int r;

    /* A quote row per line (or one with NULL line columns), grouped by
     * status and currency, a quote's lines together. */
    fss_buf_puts(&sql,
        "SELECT q.id, q.status, q.currency, q.discount, l.id, l.qty, l.unit_price,"
        " l.discount FROM quote q LEFT JOIN quote_line l ON l.quote_id = q.id"
        " AND l.deleted = 0 WHERE q.deleted = 0");
    customer_in_terr(&sql, "q", terr);
    fss_buf_puts(&sql, " ORDER BY q.status NULLS FIRST, q.currency NULLS FIRST, q.id");
    if (sql.oom || fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "pipeline");
        goto done;
    }
    fss__sql_terr_bind(st, terr, 1);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_quote_line_item q = {
            .status = col_text(st, 1), .currency = col_text(st, 2),
            .discount_bp = fss_column_int64(st, 3), /* NULL reads 0 */
            .has_line = fss_column_type(st, 4) != FSS_SQL_NULL,
            .qty = fss_column_int64(st, 5),
            .unit_price = fss_column_int64(st, 6),
            .line_discount_bp = fss_column_int64(st, 7),
        };
        q.has_id = fss_column_bytes(st, 0) == 16;
        if (q.has_id)
            memcpy(q.id.b, fss_column_blob(st, 0), 16);
        if ((rc = fn(&q, arg, err)) != FSS_OK)
            goto done;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "pipeline");
done:
    fss_buf_free(&sql);
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_pipeline_contracts(fss_conn *c, const char *const *terr,
                                        fss_contract_item_fn fn, void *arg,
                                        fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    fss_buf sql = {0};
    int r;

    fss_buf_puts(&sql, "SELECT t.esign_status, t.currency, t.amount FROM contract t"
                       " WHERE t.deleted = 0");
    customer_in_terr(&sql, "t", terr);
    fss_buf_puts(&sql, " ORDER BY t.esign_status NULLS FIRST, t.currency NULLS FIRST");
    if (sql.oom || fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "pipeline");
        goto done;
    }
    fss__sql_terr_bind(st, terr, 1);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_contract_item k = {
            .status = col_text(st, 0), .currency = col_text(st, 1),
            .has_amount = fss_column_type(st, 2) != FSS_SQL_NULL,
            .amount = fss_column_int64(st, 2),
        };
        if ((rc = fn(&k, arg, err)) != FSS_OK)
            goto done;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "pipeline");
done:
    fss_buf_free(&sql);
    fss_finalize(st);
    return rc;
}

typedef struct each_ctx {
    fss_row_fn fn;
    void *arg;
    fs_error *err;
    fss_status rc;
} each_ctx;

static bool each_stored(const fs_row *row, const fs_store_rowinfo *info,
                        void *payload)
{
    each_ctx *x = payload;

    (void)info;
    x->rc = x->fn(row, x->arg, x->err);
    return x->rc == FSS_OK;
}

fss_status fss__repo_rows_each(fss_conn *c, const fs_entity *e, fss_row_fn fn,
                               void *arg, fs_error *err)
{
    each_ctx x = {fn, arg, err, FSS_OK};
    fs_error serr = {0};

    if (fs_store_since(c->store, e, -1, 0, each_stored, &x, NULL, &serr) !=
        FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "%s: %s", e->name, serr.text);
    return x.rc;
}
