/*
 * fss_repo_quote.c - the repository for the quote rules' lookups
 * (fss_repo.h): a quote's live lines, and the sent quotes whose validity
 * may have ended. The rules themselves (totals, transitions, expiry) are
 * fs_quote.c's; fss_quote.c applies them.
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

fss_status fss__repo_quote_lines(fss_conn *c, const fs_id *quote, fs_row **out,
                                 size_t *n, fs_error *err)
{
    const fs_entity *le = fs_schema_entity("quote_line");
    fs_row *lines = NULL;
    size_t cap = 0;
    fss_stmt *st = NULL;
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    char sql[1024];
    int s;

    *out = NULL;
    *n = 0;
    /* Table and column names come from the schema, never from input. */
    snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE quote_id = ?1 AND deleted = 0 "
             "ORDER BY id", fs_store_columns(c->store, le), fs_store_table(c->store, le));
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "quote lines");
        goto done;
    }
    fss_bind_blob(st, 1, quote->b, 16, FSS_SQL_STATIC);
    while ((s = fss_step(st)) == FSS_SQL_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            fs_row *nl = realloc(lines, ncap * sizeof *nl);
            if (!nl) {
                rc = fss__fail(err, FSS_ENOMEM, "quote lines");
                goto done;
            }
            memset(nl + cap, 0, (ncap - cap) * sizeof *nl);
            lines = nl;
            cap = ncap;
        }
        if (fs_store_decode(c->store, le, st, 0, &lines[(*n)++], NULL, &serr) !=
            FS_STORE_OK) {
            rc = fss__fail(err, FSS_EDB, "decode quote line: %s", serr.text);
            goto done;
        }
    }
    if (s != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "quote lines");
done:
    fss_finalize(st);
    if (rc != FSS_OK) {
        for (size_t i = 0; i < *n; i++)
            fs_row_free(&lines[i]);
        free(lines);
        lines = NULL;
        *n = 0;
    }
    *out = lines;
    return rc;
}

fss_status fss__repo_quotes_due(fss_conn *c, const char *status,
                                int64_t before_ms, fss_row_fn fn, void *arg,
                                fs_error *err)
{
    const fs_entity *qe = fs_schema_entity("quote");
    fss_stmt *st = NULL;
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    char sql[1024];
    int r;

    snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE deleted = 0 AND status = ?1 "
             "AND valid_until < ?2 ORDER BY id", fs_store_columns(c->store, qe),
             fs_store_table(c->store, qe));
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "expire quotes");
        goto done;
    }
    fss_bind_text(st, 1, status, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 2, before_ms);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fs_row q = {0};
        if (fs_store_decode(c->store, qe, st, 0, &q, NULL, &serr) != FS_STORE_OK) {
            fs_row_free(&q);
            rc = fss__fail(err, FSS_EDB, "decode quote: %s", serr.text);
            goto done;
        }
        rc = fn(&q, arg, err);
        fs_row_free(&q);
        if (rc != FSS_OK)
            goto done;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "expire quotes");
done:
    fss_finalize(st);
    return rc;
}
