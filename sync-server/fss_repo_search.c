/*
 * fss_repo_search.c - the repository (both backends) for the console's
 * customer search (issue 15): fss_search holds, per customer, one folded
 * text (fs_fold.h) of every searchable field (the schema's
 * FS_FIELD_SEARCH ones) of the customer and of its live rows below it: a
 * customer's name, address and tags, then each live contact's name and
 * email - what the client's FTS index holds. Each field is folded on its
 * own and joined by "\n", which the fold never outputs, so a match never
 * spans two fields. One row per customer keeps the search a 1:1 join:
 * the narrow table is scanned for a rare text, or probed by id while the
 * customers are read in name order for a common one.
 *
 * The fold is C, not SQL: neither store's lower() folds accents, and
 * PostgreSQL's unaccent is an extension a store may not have; one C
 * function for the stored text and the query is what makes both stores
 * answer the same. So the text is rebuilt from the stored rows whenever a
 * customer or a row below it with searchable fields is saved: every save
 * passes fss__save_row (device pushes, back-office edits, imports,
 * decisions, merges of duplicates, the demo), which calls
 * fss__repo_search_put, at once or, in a sync request's write-behind, once
 * per customer after the queued rows are written (fss_repo_batch.c). The
 * migration that created the table builds it for the customers a store
 * already had (fss__repo_search_backfill); copy-store copies it like any
 * fss_* table. It is never synced: devices search with their own FTS
 * index (field-client/fc_search.c).
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

bool fss__search_changed(const fs_row *orig, const fs_row *row, bool found)
{
    const fs_entity *e = row->entity;

    if (!found || orig->deleted != row->deleted)
        return true;
    for (size_t i = 0; i < e->nfields; i++)
        if ((e->fields[i].flags & FS_FIELD_SEARCH) &&
            !fs_value_eq(&orig->cells[i].v, &row->cells[i].v))
            return true;
    return false;
}

/* The statements that read the searchable fields of a customer's live
 * rows, one per entity with such fields (schema order: the customer
 * first, then its contacts), each in id order; ?1 the customer (its root
 * is its own id). Prepared once per connection and kept there
 * (fss_conn.search, finalized with the connection's statements). */
typedef struct fss_search_sel selects;

static void selects_free(selects *x)
{
    for (size_t i = 0; i < x->n; i++)
        fss_finalize(x->st[i]);
    x->n = 0;
    x->ready = false;
}

static fss_status selects_prepare(fss_conn *c, selects *x, fs_error *err)
{
    size_t ne = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    fss_status rc = FSS_OK;

    if (x->ready)
        return FSS_OK;
    x->n = 0;
    for (size_t i = 0; rc == FSS_OK && i < ne; i++) {
        const fs_entity *e = ents[i];
        fss_buf sql = {0};
        if (!searchable(e) || !fs_store_table(c->store, e))
            continue;
        if (x->n == FSS_SEARCH_ENTITIES) {
            rc = fss__fail(err, FSS_EINVAL, "search text: too many searchable entities");
            break;
        }
        fss_buf_puts(&sql, "SELECT 0");
        for (size_t k = 0; k < e->nfields; k++)
            if (e->fields[k].flags & FS_FIELD_SEARCH)
                fss_buf_printf(&sql, ", \"%s\"", e->fields[k].name);
        fss_buf_printf(&sql, " FROM \"%s\" WHERE root = ?1 AND deleted = 0 ORDER BY id",
                       fs_store_table(c->store, e));
        if (sql.oom || fss_prepare(c->db, sql.data, -1, &x->st[x->n], NULL) != FSS_SQL_OK)
            rc = fss__dbfail(err, c->db, "search text");
        else
            x->n++;
        fss_buf_free(&sql);
    }
    if (rc != FSS_OK)
        selects_free(x);
    else
        x->ready = true;
    return rc;
}

void fss__search_sel_close(fss_conn *c)
{
    selects_free(&c->search);
}

/* Appends the fields st reads for customer cust to *text. */
static fss_status add_rows(fss_conn *c, fss_stmt *st, const fs_id *cust, fss_buf *text,
                           fs_error *err)
{
    fss_status rc = FSS_OK;
    int r = FSS_SQL_DONE;

    fss_bind_blob(st, 1, cust->b, 16, FSS_SQL_STATIC);
    while (rc == FSS_OK && (r = fss_step(st)) == FSS_SQL_ROW)
        /* counted per row: PostgreSQL knows the columns after a step */
        for (int k = 1, ncol = fss_column_count(st); rc == FSS_OK && k < ncol; k++)
            if (!add_field(text, (const char *)fss_column_text(st, k),
                           (size_t)fss_column_bytes(st, k)))
                rc = fss__fail(err, FSS_ENOMEM, "search text");
    if (rc == FSS_OK && r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "search text");
    fss_reset(st);
    fss_clear_bindings(st);
    return rc;
}

/* Rebuilds customer cust's text from its stored rows. */
static fss_status rebuild(fss_conn *c, const selects *x, const fs_id *cust, fs_error *err)
{
    fss_buf text = {0};
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    for (size_t i = 0; rc == FSS_OK && i < x->n; i++)
        rc = add_rows(c, x->st[i], cust, &text, err);
    if (rc != FSS_OK)
        goto done;
    if ((rc = fss__stmt(c, "INSERT INTO fss_search(id, folded) VALUES(?1, ?2)"
                           " ON CONFLICT(id) DO UPDATE SET folded = excluded.folded",
                        &st, err)) != FSS_OK)
        goto done;
    fss_bind_blob(st, 1, cust->b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 2, text.data ? text.data : "", (int)text.len, FSS_SQL_STATIC);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "search text");
    fss__stmt_done(c, st);
done:
    fss_buf_free(&text);
    return rc;
}

fss_status fss__repo_search_put(fss_conn *c, const fs_row *row,
                                const fs_id *root, fs_error *err)
{
    return fss__repo_search_put_many(c, &row, &root, 1, err);
}

fss_status fss__repo_search_put_many(fss_conn *c, const fs_row *const *rows,
                                     const fs_id *const *roots, size_t n,
                                     fs_error *err)
{
    selects *x = &c->search;
    fss_status rc;

    /* A row of no customer (reference data) is not searched for. */
    if (n == 0 || !searchable(rows[0]->entity))
        return FSS_OK;
    if ((rc = selects_prepare(c, x, err)) != FSS_OK)
        return rc;
    /* Once per customer: a push of 80 contacts under one customer
     * rebuilds its text once. */
    for (size_t i = 0; rc == FSS_OK && i < n; i++) {
        bool seen = !roots[i];
        for (size_t k = 0; !seen && k < i; k++)
            seen = roots[k] && fs_id_cmp(roots[k], roots[i]) == 0;
        if (!seen)
            rc = rebuild(c, x, roots[i], err);
    }
    return rc;
}

fss_status fss__repo_search_backfill(fss_conn *c, fs_error *err)
{
    fss_stmt *st = NULL;
    fs_id *ids = NULL;
    size_t n = 0, cap = 0;
    fss_status rc = FSS_OK;
    int r;

    /* The ids first: rebuilding while the scan is open would interleave
     * statements on one connection. */
    if (fss_prepare(c->db, "SELECT id FROM customer", -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "search backfill");
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        if (fss_column_bytes(st, 0) != 16)
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            fs_id *p = realloc(ids, nc * sizeof *p);
            if (!p) {
                rc = fss__fail(err, FSS_ENOMEM, "search backfill");
                break;
            }
            ids = p;
            cap = nc;
        }
        memcpy(ids[n++].b, fss_column_blob(st, 0), 16);
    }
    if (rc == FSS_OK && r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "search backfill");
    fss_finalize(st);
    if (rc == FSS_OK && (rc = selects_prepare(c, &c->search, err)) == FSS_OK)
        for (size_t i = 0; rc == FSS_OK && i < n; i++)
            rc = rebuild(c, &c->search, &ids[i], err);
    free(ids);
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
