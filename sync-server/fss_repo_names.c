/*
 * fss_repo_names.c - customer names by id for the console (GET
 * customer-names): the value report gives customer ids only, and the page
 * shows names, so it asks for the names of the rows it shows. One query
 * over the portable SQL driver, under the asker's territory restriction.
 */
#include "fss_store.h"

#include <string.h>

fss_status fss__repo_customer_names(fss_conn *c, const fs_id *ids, size_t n,
                                    const char *const *terr, fss_name_fn fn,
                                    void *arg, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_buf sql = {0};
    fss_status rc = FSS_OK;
    int r;

    if (n == 0)
        return FSS_OK;
    fss_buf_puts(&sql, "SELECT id, name FROM customer WHERE deleted = 0 AND id IN (");
    for (size_t i = 0; i < n; i++)
        fss_buf_printf(&sql, "%s?%zu", i ? ", " : "", i + 1);
    fss_buf_puts(&sql, ")");
    fss__sql_terr_in(&sql, "territory", terr, (int)n + 1);
    fss_buf_puts(&sql, " ORDER BY name, id");
    if (sql.oom || fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "customer names");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        fss_bind_blob(st, (int)i + 1, ids[i].b, 16, FSS_SQL_STATIC);
    fss__sql_terr_bind(st, terr, (int)n + 1);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fs_id id;
        if (fss_column_bytes(st, 0) != 16)
            continue;
        memcpy(id.b, fss_column_blob(st, 0), 16);
        fn(&id, fss_column_type(st, 1) == FSS_SQL_NULL
                    ? NULL : (const char *)fss_column_text(st, 1), arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "customer names");
done:
    fss_finalize(st);
    fss_buf_free(&sql);
    return rc;
}
