/*
 * fss_repo_search.c - the repository (both backends) for the console's
 * customer search (issue 15): fss_search holds, per customer and per
 * contact, the folded text (fs_fold.h) of its searchable fields (the
 * schema's FS_FIELD_SEARCH ones: a customer's name, address and tags, a
 * contact's name and email), each field folded and joined by "\n", keyed
 * by the row's id with the customer it belongs to (its root).
 *
 * The fold is C, not SQL: neither store's lower() folds accents, and
 * PostgreSQL's unaccent is an extension a store may not have; one C
 * function for the stored text and the query is what makes both stores
 * answer the same. So the text is computed when the row is saved: every
 * save passes fss__save_row (device pushes, back-office edits, imports,
 * merges of duplicates, the demo), which calls fss__repo_search_put, at
 * once or, in a sync request's write-behind, when the queued rows are
 * written (fss_repo_batch.c). A tombstoned row keeps an empty text (no
 * query matches it). The migration that created the table fills it for
 * the rows a store already had (fss__repo_search_backfill); copy-store
 * copies it like any fss_* table. It is never synced: devices search
 * with their own FTS index (field-client/fc_search.c).
 */
#include "fss_store.h"

#include "fs_fold.h"

#include <stdlib.h>
#include <string.h>

/* Does entity e have a searchable field? */
static bool searchable(const fs_entity *e)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (e->fields[i].flags & FS_FIELD_SEARCH)
            return true;
    return false;
}

/* Appends the fold of one field's text (NULL: nothing) to *buf, after a
 * "\n" when it already holds a field; false when out of memory. */
static bool add_field(fss_buf *buf, const char *text, size_t n)
{
    char *f;
    size_t len;

    if (!text || n == 0)
        return true;
    if (!(f = malloc(FS_FOLD_CAP(n))))
        return false;
    len = fs_fold(f, FS_FOLD_CAP(n), text, n);
    if (buf->len)
        fss_buf_add(buf, "\n", 1);
    fss_buf_add(buf, f, len);
    free(f);
    return !buf->oom;
}

/* Writes (id, customer, folded) over any earlier text of the row. */
static fss_status put(fss_conn *c, const fs_id *id, const fs_id *customer,
                      const char *folded, size_t n, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = fss__stmt(c, "INSERT INTO fss_search(id, customer, folded)"
                                 " VALUES(?1, ?2, ?3) ON CONFLICT(id) DO UPDATE"
                                 " SET customer = excluded.customer,"
                                 " folded = excluded.folded",
                              &st, err);

    if (rc != FSS_OK)
        return rc;
    fss_bind_blob(st, 1, id->b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 2, customer->b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 3, folded ? folded : "", (int)n, FSS_SQL_STATIC);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "search text");
    fss__stmt_done(c, st);
    return rc;
}

/* The folded text of a row ("" when tombstoned) into *text; false when
 * out of memory. */
static bool row_text(const fs_row *row, fss_buf *text)
{
    for (size_t i = 0; !row->deleted && i < row->entity->nfields; i++) {
        const fs_value *v = &row->cells[i].v;
        if (!(row->entity->fields[i].flags & FS_FIELD_SEARCH) || v->kind != FS_VAL_TEXT)
            continue;
        if (!add_field(text, v->u.text.p, v->u.text.n))
            return false;
    }
    return true;
}

fss_status fss__repo_search_put(fss_conn *c, const fs_row *row,
                                const fs_id *root, fs_error *err)
{
    fss_buf text = {0};
    fss_status rc;

    /* A row of no customer (reference data) is not searched for. */
    if (!root || !searchable(row->entity))
        return FSS_OK;
    if (!row_text(row, &text))
        rc = fss__fail(err, FSS_ENOMEM, "search text");
    else
        rc = put(c, &row->id, root, text.data, text.len, err);
    fss_buf_free(&text);
    return rc;
}

fss_status fss__repo_search_put_many(fss_conn *c, const fs_row *const *rows,
                                     const fs_id *const *roots, size_t n,
                                     fs_error *err)
{
    fss_buf sql = {0}, *texts = NULL;
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    size_t m = 0;
    int p = 1;

    if (n == 0 || !searchable(rows[0]->entity))
        return FSS_OK;
    if (n == 1)
        return fss__repo_search_put(c, rows[0], roots[0], err);
    /* One statement for the lot (the write-behind's rows are distinct):
     * on PostgreSQL a statement per row is a round trip per row. */
    if (!(texts = calloc(n, sizeof *texts)))
        return fss__fail(err, FSS_ENOMEM, "search text");
    fss_buf_puts(&sql, "INSERT INTO fss_search(id, customer, folded) VALUES");
    for (size_t i = 0; i < n; i++) {
        if (!roots[i])
            continue;
        if (!row_text(rows[i], &texts[i])) {
            rc = fss__fail(err, FSS_ENOMEM, "search text");
            goto done;
        }
        fss_buf_printf(&sql, "%s(?%d, ?%d, ?%d)", m++ ? ", " : "", p, p + 1, p + 2);
        p += 3;
    }
    if (m == 0)
        goto done;
    fss_buf_puts(&sql, " ON CONFLICT(id) DO UPDATE SET customer = excluded.customer,"
                       " folded = excluded.folded");
    if (sql.oom || fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "search text");
        goto done;
    }
    p = 1;
    for (size_t i = 0; i < n; i++) {
        if (!roots[i])
            continue;
        fss_bind_blob(st, p, rows[i]->id.b, 16, FSS_SQL_STATIC);
        fss_bind_blob(st, p + 1, roots[i]->b, 16, FSS_SQL_STATIC);
        fss_bind_text(st, p + 2, texts[i].data ? texts[i].data : "", (int)texts[i].len,
                      FSS_SQL_STATIC);
        p += 3;
    }
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "search text");
done:
    fss_finalize(st);
    for (size_t i = 0; i < n; i++)
        fss_buf_free(&texts[i]);
    free(texts);
    fss_buf_free(&sql);
    return rc;
}

/* Backfills one entity's rows: id, root, deleted, then its searchable
 * columns in field order (the same text fss__repo_search_put builds). */
static fss_status backfill_entity(fss_conn *c, const fs_entity *e, fs_error *err)
{
    fss_buf sql = {0};
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    fss_buf_printf(&sql, "SELECT id, root, deleted");
    for (size_t i = 0; i < e->nfields; i++)
        if (e->fields[i].flags & FS_FIELD_SEARCH)
            fss_buf_printf(&sql, ", \"%s\"", e->fields[i].name);
    fss_buf_printf(&sql, " FROM \"%s\"", fs_store_table(c->store, e));
    if (sql.oom || fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "search backfill");
        goto done;
    }
    while (rc == FSS_OK && (r = fss_step(st)) == FSS_SQL_ROW) {
        fss_buf text = {0};
        fs_id id, root;
        int ncol = fss_column_count(st);

        if (fss_column_bytes(st, 0) != 16 || fss_column_bytes(st, 1) != 16)
            continue; /* no id or no customer: nothing to find it by */
        memcpy(id.b, fss_column_blob(st, 0), 16);
        memcpy(root.b, fss_column_blob(st, 1), 16);
        for (int k = 3; fss_column_int64(st, 2) == 0 && k < ncol; k++)
            if (!add_field(&text, (const char *)fss_column_text(st, k),
                           (size_t)fss_column_bytes(st, k)))
                rc = fss__fail(err, FSS_ENOMEM, "search backfill");
        if (rc == FSS_OK)
            rc = put(c, &id, &root, text.data, text.len, err);
        fss_buf_free(&text);
    }
    if (rc == FSS_OK && r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "search backfill");
done:
    fss_finalize(st);
    fss_buf_free(&sql);
    return rc;
}

fss_status fss__repo_search_backfill(fss_conn *c, fs_error *err)
{
    size_t ne = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    fss_status rc = FSS_OK;

    for (size_t i = 0; rc == FSS_OK && i < ne; i++)
        if (searchable(ents[i]) && fs_store_table(c->store, ents[i]))
            rc = backfill_entity(c, ents[i], err);
    return rc;
}

char *fss__search_pattern(const char *q)
{
    size_t n = strlen(q);
    char *f = malloc(FS_FOLD_CAP(n)), *out = NULL, *o;
    size_t len;

    if (!f)
        return NULL;
    len = fs_fold(f, FS_FOLD_CAP(n), q, n);
    if (!(out = malloc(2 * len + 3)))
        goto done;
    o = out;
    *o++ = '%';
    for (size_t i = 0; i < len; i++) {
        if (f[i] == '%' || f[i] == '_' || f[i] == '\\')
            *o++ = '\\';
        *o++ = f[i];
    }
    *o++ = '%';
    *o = '\0';
done:
    free(f);
    return out;
}
