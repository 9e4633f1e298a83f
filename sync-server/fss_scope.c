/*
 * fss_scope.c - the repository for scopes, saved rows, re-sequenced
 * subtrees, scope exits and conflict records (fss_repo.h).
 *
 * A rep's scope is every live (not tombstoned) customer whose owner_rep is
 * the rep's UUID or whose territory is one of the rep's territories, every
 * row whose stored root is such a customer, and all products. Scope is
 * evaluated in SQL against the fs_store tables (their `root` column), so a
 * pull never materialises the scope in memory.
 *
 * When a customer's owner, territory or tombstone changes, the set of reps
 * that can see it changes. Reps that gained it must receive its whole subtree
 * even though its rows are older than their cursors: the subtree is
 * re-sequenced (every row gets a fresh seq), which puts it after every
 * cursor. Reps that lost it get a row in fss_scope_exits (numbered from the
 * same sequence), from which their devices' pulls derive scope exits. Which
 * reps gained or lost it is decided in fss_write.c (fss__scope_changed);
 * this file reads and writes the rows.
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

fss_status fss__customer_in_scope(fss_conn *c, const char *rep,
                                  const fs_id *cust, bool *in, fs_error *err)
{
    /* Asked for every pushed change and every exported row: prepared once
     * per connection. */
    fss_status rc = fss__conn_stmt(c, &c->in_scope,
                                   "SELECT 1 FROM customer c WHERE c.id = ?1 AND "
                                   FSS_SCOPE_COND("?2"), err);
    fss_stmt *st = c->in_scope;
    int r;

    *in = false;
    if (rc != FSS_OK)
        return rc;
    fss_bind_blob(st, 1, cust->b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 2, rep, -1, FSS_SQL_STATIC);
    r = fss_step(st);
    if (r == FSS_SQL_ROW)
        *in = true;
    else if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "scope");
    fss_reset(st);
    fss_clear_bindings(st);
    return rc;
}

fss_status fss__save_row(fss_conn *c, const fs_row *row, int64_t *seq_out,
                         bool search, fs_error *err)
{
    fs_id root = {{0}};
    bool has_root = false;
    int64_t seq = 0;
    fss_status st;
    fs_error serr = {0};

    if (fs_store_root(c->store, row, &root, &has_root, &serr) != FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "root: %s", serr.text);
    st = fss__next_seq(c, &seq, err);
    if (st != FSS_OK)
        return st;
    if (seq_out)
        *seq_out = seq;
    /* In a sync request (the row cache on) the write is batched with the
     * request's other saves (fss_repo_batch.c). */
    if (c->rows)
        return fss__rowcache_save(c, row, seq, has_root ? &root : NULL, search,
                                  err);
    if (fs_store_save(c->store, row, seq, has_root ? &root : NULL, &serr) !=
        FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "save: %s", serr.text);
    /* the console search's folded text follows every save that changes it */
    return search ? fss__repo_search_put(c, row, has_root ? &root : NULL, err)
                  : FSS_OK;
}

fss_status fss__customer_reps(fss_conn *c, const fs_id *cust, fss_repset *out,
                              fs_error *err)
{
    /* Asked for every pushed customer change (before and after it is
     * saved): prepared once per connection. The scope condition decides,
     * but only for the reps it can hold - the owner and the reps of the
     * customer's territory, found by index: asked of every rep, it cost a
     * scan of all reps per change (2,500 in the morning bench;
     * test_customer_reps_work). */
    fss_status rc = fss__conn_stmt(
        c, &c->customer_reps,
        "SELECT r.uuid FROM customer c CROSS JOIN fss_reps r WHERE c.id = ?1"
        " AND r.uuid IN (SELECT c.owner_rep UNION ALL SELECT t.rep FROM"
        " fss_rep_territories t WHERE t.territory = c.territory) AND "
        FSS_SCOPE_COND("r.uuid"),
        err);
    fss_stmt *st = c->customer_reps;
    int r;

    out->n = 0;
    if (rc != FSS_OK)
        return rc;
    fss_bind_blob(st, 1, cust->b, 16, FSS_SQL_STATIC);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        const char *id = (const char *)fss_column_text(st, 0);
        if (id && (rc = fss__repset_add(out, id, err)) != FSS_OK)
            goto done;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "customer reps");
done:
    fss_reset(st);
    fss_clear_bindings(st);
    return rc;
}

int64_t fss__customer_reps_steps(fss_conn *c)
{
    return c->customer_reps ? fss_stmt_steps(c->customer_reps) : 0;
}

/* The restamp's statements, prepared once per connection: one SELECT of
 * every row under a customer across the entity tables (kind = the table's
 * index in c->restamp.upd), and an UPDATE of seq per table. Prepared per
 * call they were 2 x 10 prepares for every customer an offboarding or a
 * reassignment moves (docs/BENCHMARKS.md, offboard). */
static fss_status restamp_prepare(fss_conn *c, fs_error *err)
{
    size_t ne = 0, i, n = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    fss_buf sql = {0};
    char upd[160];
    fss_status rc = FSS_OK;

    if (c->restamp.sel)
        return FSS_OK;
    fss_buf_puts(&sql, "SELECT k, id FROM (");
    for (i = 0; i < ne && rc == FSS_OK; i++) {
        const char *table = fs_store_table(c->store, ents[i]);
        if (!table)
            continue;
        if (n == FSS_RESTAMP_TABLES) {
            rc = fss__fail(err, FSS_EDB, "restamp: more than %d tables", FSS_RESTAMP_TABLES);
            break;
        }
        fss_buf_printf(&sql, "%sSELECT %zu AS k, id, seq FROM \"%s\" WHERE root = ?1",
                       n ? " UNION ALL " : "", n, table);
        snprintf(upd, sizeof upd, "UPDATE \"%s\" SET seq = ?1 WHERE id = ?2", table);
        rc = fss__conn_stmt(c, &c->restamp.upd[n++], upd, err);
    }
    /* Collected first, in the rows' old order: updating seq while reading
     * the (root, seq) index could visit a row twice. */
    fss_buf_puts(&sql, ") u ORDER BY seq, k, id");
    if (rc == FSS_OK && sql.oom)
        rc = fss__fail(err, FSS_ENOMEM, "restamp");
    if (rc == FSS_OK)
        rc = fss__conn_stmt(c, &c->restamp.sel, sql.data, err);
    c->restamp.n = n;
    fss_buf_free(&sql);
    return rc;
}

void fss__restamp_close(fss_conn *c)
{
    fss_finalize(c->restamp.sel);
    for (size_t i = 0; i < FSS_RESTAMP_TABLES; i++)
        fss_finalize(c->restamp.upd[i]);
    memset(&c->restamp, 0, sizeof c->restamp);
}

fss_status fss__restamp_subtree(fss_conn *c, const fs_id *cust, fs_error *err)
{
    struct { fs_id id; size_t k; } *rows = NULL;
    size_t n = 0, cap = 0, i;
    fss_stmt *upd;
    fss_status rc;
    int r;

    if ((rc = restamp_prepare(c, err)) != FSS_OK)
        return rc;
    /* the cached rows' seqs are about to change */
    fss__rowcache_clear(c);
    fss_bind_blob(c->restamp.sel, 1, cust->b, 16, FSS_SQL_STATIC);
    while ((r = fss_step(c->restamp.sel)) == FSS_SQL_ROW) {
        int64_t k = fss_column_int64(c->restamp.sel, 0);
        if (fss_column_bytes(c->restamp.sel, 1) != 16 || k < 0 ||
            (size_t)k >= c->restamp.n)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            void *p = realloc(rows, nc * sizeof *rows);
            if (!p) {
                rc = fss__fail(err, FSS_ENOMEM, "restamp");
                goto done;
            }
            rows = p;
            cap = nc;
        }
        memcpy(rows[n].id.b, fss_column_blob(c->restamp.sel, 1), 16);
        rows[n++].k = (size_t)k;
    }
    if (r != FSS_SQL_DONE) {
        rc = fss__dbfail(err, c->db, "restamp");
        goto done;
    }
    fss_reset(c->restamp.sel);
    for (i = 0; i < n; i++) {
        int64_t seq;
        if ((rc = fss__next_seq(c, &seq, err)) != FSS_OK)
            goto done;
        upd = c->restamp.upd[rows[i].k];
        fss_bind_int64(upd, 1, seq);
        fss_bind_blob(upd, 2, rows[i].id.b, 16, FSS_SQL_STATIC);
        r = fss_step(upd);
        fss_reset(upd);
        if (r != FSS_SQL_DONE) {
            rc = fss__dbfail(err, c->db, "restamp");
            goto done;
        }
    }
done:
    fss_reset(c->restamp.sel);
    fss_clear_bindings(c->restamp.sel);
    free(rows);
    return rc;
}

fss_status fss__add_exit(fss_conn *c, const char *rep, const fs_id *cust,
                           fs_exit_reason why, fs_error *err)
{
    fss_stmt *st = NULL;
    int64_t seq;
    fss_status rc = fss__next_seq(c, &seq, err);

    if (rc != FSS_OK)
        return rc;
    if ((rc = fss__stmt(c,
                        "INSERT INTO fss_scope_exits(seq, rep, customer, reason)"
                        " VALUES(?1, ?2, ?3, ?4)", &st, err)) != FSS_OK)
        return rc;
    fss_bind_int64(st, 1, seq);
    fss_bind_text(st, 2, rep, -1, FSS_SQL_STATIC);
    fss_bind_blob(st, 3, cust->b, 16, FSS_SQL_STATIC);
    fss_bind_int(st, 4, (int)why);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "scope exit");
    fss__stmt_done(c, st);
    return rc;
}

fss_status fss__repo_conflict_insert(fss_conn *c, const fss_conflict_rec *k,
                                     fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    /* prepared once per connection: a push may record a conflict per
     * change (unset parameters are NULL: fss__stmt_done clears them) */
    if ((rc = fss__stmt(
            c,
            "INSERT INTO fss_conflicts(created_at, entity, row, field, has_base,"
            " base, theirs, yours, theirs_hlc, yours_hlc, theirs_device,"
            " yours_device, rule, yours_won, status, rep, detail, anc_entity, anc_row)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
            &st, err)) != FSS_OK)
        return rc;
    fss_bind_int64(st, 1, k->created_at);
    fss_bind_text(st, 2, k->entity, -1, FSS_SQL_STATIC);
    fss_bind_blob(st, 3, k->row.b, 16, FSS_SQL_STATIC);
    if (k->field)
        fss_bind_text(st, 4, k->field, -1, FSS_SQL_STATIC);
    fss_bind_int(st, 5, k->has_base);
    fss_bind_text(st, 6, k->base, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 7, k->theirs, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 8, k->yours, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 9, k->theirs_hlc);
    fss_bind_int64(st, 10, k->yours_hlc);
    fss_bind_blob(st, 11, k->theirs_device.b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 12, k->yours_device.b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 13, k->rule, -1, FSS_SQL_STATIC);
    fss_bind_int(st, 14, k->yours_won);
    fss_bind_text(st, 15, k->status, -1, FSS_SQL_STATIC);
    if (k->rep)
        fss_bind_text(st, 16, k->rep, -1, FSS_SQL_STATIC);
    if (k->detail)
        fss_bind_text(st, 17, k->detail, -1, FSS_SQL_STATIC);
    if (k->anc_entity) {
        fss_bind_text(st, 18, k->anc_entity, -1, FSS_SQL_STATIC);
        fss_bind_blob(st, 19, k->anc_row.b, 16, FSS_SQL_STATIC);
    }
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "conflict insert");
    fss__stmt_done(c, st);
    return rc;
}

/* A text column into a fixed buffer as valid UTF-8 (NULL: empty). */
static void column_text(char *dst, size_t cap, fss_stmt *st, int col)
{
    const unsigned char *t = fss_column_text(st, col);

    fs_utf8_clean(dst, cap, t, t ? (size_t)fss_column_bytes(st, col) : 0);
}

/* "Concerns the rep": the pushing device was the rep's (k.rep) or the write
 * it met was made by one of the rep's devices. */
#define REP_DEVICES "(SELECT id FROM fss_devices WHERE rep = ?1)"
#define CONCERNS_REP \
    " FROM fss_conflicts k WHERE k.status = 'open' AND (k.rep = ?1" \
    " OR k.theirs_device IN " REP_DEVICES " OR k.yours_device IN " REP_DEVICES ")"

fss_status fss__open_conflicts(fss_conn *c, const char *rep,
                               fs_sync_response *out, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    /* One query on every last page: the window count is taken before the
     * LIMIT, so it is the number of all open conflicts of the rep. */
    out->conflicts_listed = true;
    if (fss__stmt(c,
                  "SELECT k.id, k.entity, k.row, k.field, k.rule, k.detail,"
                  " k.created_at, CASE k.yours_won WHEN 0 THEN k.theirs_device"
                  " ELSE k.yours_device END IN " REP_DEVICES ", count(*) OVER ()"
                  CONCERNS_REP " ORDER BY k.id DESC LIMIT ?2",
                  &st, err) != FSS_OK)
        return FSS_EDB;
    fss_bind_text(st, 1, rep, -1, FSS_SQL_STATIC);
    fss_bind_int(st, 2, FS_PROTO_MAX_CONFLICTS);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fs_open_conflict *k;
        const fs_entity *e = fs_schema_entity((const char *)fss_column_text(st, 1));
        if (!out->conflicts) {
            out->open_conflicts = (uint32_t)fss_column_int64(st, 8);
            out->conflicts = calloc(FS_PROTO_MAX_CONFLICTS, sizeof *out->conflicts);
            if (!out->conflicts) {
                rc = fss__fail(err, FSS_ENOMEM, "open conflicts");
                goto done;
            }
        }
        if (!e || fss_column_bytes(st, 2) != 16)
            continue; /* a record of a rejected unknown entity: nothing to show */
        k = &out->conflicts[out->nconflicts++];
        k->id = (uint64_t)fss_column_int64(st, 0);
        k->entity = e;
        memcpy(k->row.b, fss_column_blob(st, 2), 16);
        /* Cut at a character boundary (records written before text was
         * cleaned may still hold invalid bytes: repaired on the way out). */
        column_text(k->field, sizeof k->field, st, 3);
        column_text(k->rule, sizeof k->rule, st, 4);
        column_text(k->detail, sizeof k->detail, st, 5);
        k->created_ms = (uint64_t)fss_column_int64(st, 6);
        k->mine_kept = fss_column_int(st, 7) != 0;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "open conflicts");
done:
    fss__stmt_done(c, st);
    return rc;
}

fss_status fss__customer_hidden_in_scope(fss_conn *c, const char *rep,
                                         const fs_id *cust, bool *in,
                                         fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    *in = false;
    if (fss_prepare(c->db,
                           "SELECT 1 FROM customer c WHERE c.id = ?1 AND c.deleted != 0"
                           " AND " FSS_SCOPE_PLACEMENT("?2"), -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "hidden scope");
    fss_bind_blob(st, 1, cust->b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 2, rep, -1, FSS_SQL_STATIC);
    r = fss_step(st);
    if (r == FSS_SQL_ROW)
        *in = true;
    else if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "hidden scope");
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_children(fss_conn *c, const fs_entity *ce, const fs_id *parent,
                              const fs_id *root, fss_child **out, size_t *n,
                              fs_error *err)
{
    const char *table = fs_store_table(c->store, ce);
    fss_stmt *st = NULL;
    fss_child *v = NULL;
    size_t cap = 0;
    fss_status rc = FSS_OK;
    char sql[256];
    int r;

    *out = NULL;
    *n = 0;
    if (!table)
        return fss__fail(err, FSS_EDB, "no table for %s", ce->name);
    snprintf(sql, sizeof sql,
             "SELECT id, seq FROM \"%s\" WHERE root = ?1 AND \"%s\" = ?2 ORDER BY id",
             table, ce->fields[ce->parent].name);
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "subtree");
    fss_bind_blob(st, 1, root->b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 2, parent->b, 16, FSS_SQL_STATIC);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        if (fss_column_bytes(st, 0) != 16)
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            void *p = realloc(v, nc * sizeof *v);
            if (!p) {
                rc = fss__fail(err, FSS_ENOMEM, "subtree");
                goto done;
            }
            v = p;
            cap = nc;
        }
        memcpy(v[*n].id.b, fss_column_blob(st, 0), 16);
        v[*n].seq = fss_column_int64(st, 1);
        (*n)++;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "subtree");
done:
    fss_finalize(st);
    if (rc != FSS_OK) {
        free(v);
        v = NULL;
        *n = 0;
    }
    *out = v;
    return rc;
}
