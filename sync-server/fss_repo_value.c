/*
 * fss_repo_value.c - the repository for customer value and churn
 * (fss_repo.h, "customer value"): cursors over the live rows of one entity
 * in customer order, so that `analyze` (fss_value.c) can walk customers,
 * purchases, visits, tasks and tickets side by side, one customer at a time,
 * with memory that does not grow with the rows. The rules themselves are
 * conflict/fs_score.c's; nothing here decides a grade or a risk.
 *
 * Portable SQL: customers ordered by id, rows below a customer by their
 * root (the customer) and id. Ids are 16-byte blobs compared bytewise by
 * both SQLite and PostgreSQL (bytea), the same order as memcmp.
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

struct fss_value_cursor {
    fss_conn *c;
    const fs_entity *e;
    fss_stmt *st;
    bool is_customer;
};

fss_status fss__repo_value_open(fss_conn *c, const fs_entity *e,
                                fss_value_cursor **out, fs_error *err)
{
    fss_value_cursor *cur = NULL;
    fss_status rc = FSS_OK;
    char sql[2048];

    *out = NULL;
    if (!(cur = calloc(1, sizeof *cur)))
        return fss__fail(err, FSS_ENOMEM, "value cursor");
    cur->c = c;
    cur->e = e;
    cur->is_customer = strcmp(e->name, "customer") == 0;
    /* Table and column names come from the schema, never from input. */
    if (cur->is_customer)
        snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE deleted = 0 ORDER BY id",
                 fs_store_columns(c->store, e), fs_store_table(c->store, e));
    else
        snprintf(sql, sizeof sql,
                 "SELECT %s FROM \"%s\" WHERE deleted = 0 AND root IS NOT NULL"
                 " ORDER BY root, id",
                 fs_store_columns(c->store, e), fs_store_table(c->store, e));
    if (fss_prepare(c->db, sql, -1, &cur->st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, e->name);
        fss__repo_value_close(cur);
        return rc;
    }
    *out = cur;
    return FSS_OK;
}

fss_status fss__repo_value_next(fss_value_cursor *cur, fs_row *row, fs_id *cust,
                                bool *has, fs_error *err)
{
    fs_store_rowinfo info;
    fs_error serr = {0};
    int s;

    *has = false;
    s = fss_step(cur->st);
    if (s == FSS_SQL_DONE)
        return FSS_OK;
    if (s != FSS_SQL_ROW)
        return fss__dbfail(err, cur->c->db, cur->e->name);
    if (fs_store_decode(cur->c->store, cur->e, cur->st, 0, row, &info, &serr) !=
        FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "decode %s: %s", cur->e->name, serr.text);
    *cust = cur->is_customer ? row->id : info.root;
    *has = true;
    return FSS_OK;
}

void fss__repo_value_close(fss_value_cursor *cur)
{
    if (!cur)
        return;
    fss_finalize(cur->st);
    free(cur);
}

fss_status fss__repo_customers_where(fss_conn *c, const char *field,
                                     const char *const *territories, size_t nterr,
                                     fss_row_fn fn, void *arg, fs_error *err)
{
    const fs_entity *e = fs_schema_entity("customer");
    fss_stmt *st = NULL;
    fs_row row = {0};
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    char sql[4096];
    int k, s;

    /* The field is a schema name (an identifier we own), never input. */
    if (fs_entity_field_index(e, field) < 0 || nterr > 256)
        return fss__fail(err, FSS_EINVAL, "customers where: bad field or restriction");
    k = snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE deleted = 0 AND \"%s\" IS NOT NULL",
                 fs_store_columns(c->store, e), fs_store_table(c->store, e), field);
    if (territories) {
        /* One placeholder per code: a manager's territories (NULL = all). */
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND territory IN (");
        for (size_t i = 0; i < nterr; i++)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "%s?", i ? "," : "");
        if (!nterr)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "NULL");
        k += snprintf(sql + k, sizeof sql - (size_t)k, ")");
    }
    snprintf(sql + k, sizeof sql - (size_t)k, " ORDER BY id");
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "customers where");
        goto done;
    }
    for (size_t i = 0; territories && i < nterr; i++)
        fss_bind_text(st, (int)i + 1, territories[i], -1, FSS_SQL_STATIC);
    while (rc == FSS_OK && (s = fss_step(st)) == FSS_SQL_ROW) {
        if (fs_store_decode(c->store, e, st, 0, &row, NULL, &serr) != FS_STORE_OK) {
            rc = fss__fail(err, FSS_EDB, "decode customer: %s", serr.text);
            goto done;
        }
        rc = fn(&row, arg, err);
    }
    if (rc == FSS_OK && s != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "customers where");
done:
    fss_finalize(st);
    fs_row_free(&row);
    return rc;
}
