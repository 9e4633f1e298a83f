/*
 * fss_repo_ticket.c - the repository for service tickets
 * (fss_repo.h, "tickets"): the live tickets of the customers of some
 * territories, optionally only those in given statuses, for the back
 * office's lists and reports. Which status means what is conflict/
 * fs_ticket.c's; the caller passes the names. Portable SQL: `?`
 * placeholders, no functions beyond COALESCE.
 */
#include "fss_store.h"

#include <stdio.h>
#include <string.h>

fss_status fss__repo_tickets(fss_conn *c, const char *const *territories, size_t nterr,
                             const char *const *statuses, size_t nstat,
                             fss_row_fn fn, void *arg, fs_error *err)
{
    const fs_entity *e = fs_schema_entity("ticket"), *ce = fs_schema_entity("customer");
    fss_stmt *st = NULL;
    fs_row row = {0};
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    char sql[4096];
    int k, s, b = 1;

    if (!e || !ce || nterr > 256 || nstat > 8)
        return fss__fail(err, FSS_EINVAL, "tickets: bad restriction");
    k = snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE deleted = 0",
                 fs_store_columns(c->store, e), fs_store_table(c->store, e));
    if (statuses) {
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND COALESCE(status, '%s') IN (",
                      fs_ticket_state_name(FS_TICKET_OPEN));
        for (size_t i = 0; i < nstat; i++)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "%s?", i ? "," : "");
        k += snprintf(sql + k, sizeof sql - (size_t)k, "%s)", nstat ? "" : "NULL");
    }
    if (territories) {
        /* One placeholder per code: a manager's territories (NULL = all). */
        k += snprintf(sql + k, sizeof sql - (size_t)k,
                      " AND root IN (SELECT id FROM \"%s\" WHERE territory IN (",
                      fs_store_table(c->store, ce));
        for (size_t i = 0; i < nterr; i++)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "%s?", i ? "," : "");
        k += snprintf(sql + k, sizeof sql - (size_t)k, "%s))", nterr ? "" : "NULL");
    }
    snprintf(sql + k, sizeof sql - (size_t)k, " ORDER BY opened_at, id");
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "tickets");
        goto done;
    }
    for (size_t i = 0; statuses && i < nstat; i++)
        fss_bind_text(st, b++, statuses[i], -1, FSS_SQL_STATIC);
    for (size_t i = 0; territories && i < nterr; i++)
        fss_bind_text(st, b++, territories[i], -1, FSS_SQL_STATIC);
    while (rc == FSS_OK && (s = fss_step(st)) == FSS_SQL_ROW) {
        if (fs_store_decode(c->store, e, st, 0, &row, NULL, &serr) != FS_STORE_OK) {
            rc = fss__fail(err, FSS_EDB, "decode ticket: %s", serr.text);
            goto done;
        }
        rc = fn(&row, arg, err);
    }
    if (rc == FSS_OK && s != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "tickets");
done:
    fss_finalize(st);
    fs_row_free(&row);
    return rc;
}
