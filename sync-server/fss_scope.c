/*
 * fss_scope.c - who may see which rows, and the server's own writes.
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
 * same sequence), from which their devices' pulls derive scope exits.
 *
 * Server-side writes (admin edits, stamps on device rows, conflict
 * resolutions) are ordinary fs_change's merged with FS_ORIGIN_SERVER, so the
 * merge engine decides them too.
 */
#include "fss_sqlite.h"

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
    sqlite3_stmt *st = c->in_scope;
    int r;

    *in = false;
    if (rc != FSS_OK)
        return rc;
    sqlite3_bind_blob(st, 1, cust->b, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rep, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *in = true;
    else if (r != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "scope");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

fss_status fss__save_row(fss_conn *c, const fs_row *row, int64_t *seq_out,
                         fs_error *err)
{
    fs_id root;
    bool has_root = false;
    int64_t seq = 0;
    fss_status st;
    fs_error serr = {0};

    if (fs_store_root(c->store, row, &root, &has_root, &serr) != FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "root: %s", serr.text);
    st = fss__next_seq(c, &seq, err);
    if (st != FSS_OK)
        return st;
    if (fs_store_save(c->store, row, seq, has_root ? &root : NULL, &serr) !=
        FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "save: %s", serr.text);
    if (seq_out)
        *seq_out = seq;
    return FSS_OK;
}

void fss_repset_free(fss_repset *r)
{
    free(r->ids);
    memset(r, 0, sizeof *r);
}

static bool repset_has(const fss_repset *r, const char *id)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (strcmp(r->ids[i], id) == 0)
            return true;
    return false;
}

static fss_status repset_add(fss_repset *r, const char *id, fs_error *err)
{
    if (repset_has(r, id) || strlen(id) != FS_ID_STRLEN)
        return FSS_OK;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        void *p = realloc(r->ids, cap * sizeof *r->ids);
        if (!p)
            return fss__fail(err, FSS_ENOMEM, "rep set");
        r->ids = p;
        r->cap = cap;
    }
    memcpy(r->ids[r->n++], id, FS_ID_STRLEN + 1);
    return FSS_OK;
}

fss_status fss__customer_reps(fss_conn *c, const fs_id *cust, fss_repset *out,
                              fs_error *err)
{
    /* Asked for every pushed customer change (before and after it is
     * saved): prepared once per connection. */
    fss_status rc = fss__conn_stmt(
        c, &c->customer_reps,
        "SELECT r.uuid FROM fss_reps r, customer c WHERE c.id = ?1 AND "
        FSS_SCOPE_COND("r.uuid"),
        err);
    sqlite3_stmt *st = c->customer_reps;
    int r;

    out->n = 0;
    if (rc != FSS_OK)
        return rc;
    sqlite3_bind_blob(st, 1, cust->b, 16, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (id && (rc = repset_add(out, id, err)) != FSS_OK)
            goto done;
    }
    if (r != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "customer reps");
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

fss_status fss__restamp_subtree(fss_conn *c, const fs_id *cust, fs_error *err)
{
    size_t ne = 0, i, k;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    sqlite3_stmt *sel = NULL, *upd = NULL;
    fs_id *ids = NULL;
    size_t nids = 0, cap = 0;
    fss_status rc = FSS_OK;
    char sql[256];
    int r;

    for (i = 0; i < ne; i++) {
        const char *table = fs_store_table(c->store, ents[i]);
        if (!table)
            continue;
        nids = 0;
        /* Collect first: updating seq while iterating the (root, seq)
         * index could visit a row twice. */
        snprintf(sql, sizeof sql,
                 "SELECT id FROM \"%s\" WHERE root = ?1 ORDER BY seq, id", table);
        if (sqlite3_prepare_v2(c->db, sql, -1, &sel, NULL) != SQLITE_OK) {
            rc = fss__dbfail(err, c->db, "restamp");
            goto done;
        }
        sqlite3_bind_blob(sel, 1, cust->b, 16, SQLITE_STATIC);
        while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
            if (sqlite3_column_bytes(sel, 0) != 16)
                continue;
            if (nids == cap) {
                size_t nc = cap ? cap * 2 : 16;
                void *p = realloc(ids, nc * sizeof *ids);
                if (!p) {
                    rc = fss__fail(err, FSS_ENOMEM, "restamp");
                    goto done;
                }
                ids = p;
                cap = nc;
            }
            memcpy(ids[nids++].b, sqlite3_column_blob(sel, 0), 16);
        }
        if (r != SQLITE_DONE) {
            rc = fss__dbfail(err, c->db, "restamp");
            goto done;
        }
        sqlite3_finalize(sel);
        sel = NULL;
        snprintf(sql, sizeof sql, "UPDATE \"%s\" SET seq = ?1 WHERE id = ?2",
                 table);
        if (sqlite3_prepare_v2(c->db, sql, -1, &upd, NULL) != SQLITE_OK) {
            rc = fss__dbfail(err, c->db, "restamp");
            goto done;
        }
        for (k = 0; k < nids; k++) {
            int64_t seq;
            if ((rc = fss__next_seq(c, &seq, err)) != FSS_OK)
                goto done;
            sqlite3_reset(upd);
            sqlite3_bind_int64(upd, 1, seq);
            sqlite3_bind_blob(upd, 2, ids[k].b, 16, SQLITE_STATIC);
            if (sqlite3_step(upd) != SQLITE_DONE) {
                rc = fss__dbfail(err, c->db, "restamp");
                goto done;
            }
        }
        sqlite3_finalize(upd);
        upd = NULL;
    }
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    free(ids);
    return rc;
}

fss_status fss__add_exit(fss_conn *c, const char *rep, const fs_id *cust,
                           fs_exit_reason why, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    int64_t seq;
    fss_status rc = fss__next_seq(c, &seq, err);

    if (rc != FSS_OK)
        return rc;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO fss_scope_exits(seq, rep, customer, reason)"
                           " VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK) {
        rc = fss__dbfail(err, c->db, "scope exit");
        goto done;
    }
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, rep, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, cust->b, 16, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)why);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "scope exit");
done:
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__scope_changed(fss_conn *c, const fs_id *cust,
                              const fss_repset *before, fs_exit_reason why,
                              fs_error *err)
{
    fss_repset after = {0};
    fss_status rc;
    bool gained = false;
    size_t i;

    rc = fss__customer_reps(c, cust, &after, err);
    if (rc != FSS_OK)
        goto done;
    for (i = 0; i < after.n; i++)
        if (!repset_has(before, after.ids[i]))
            gained = true;
    if (gained && (rc = fss__restamp_subtree(c, cust, err)) != FSS_OK)
        goto done;
    for (i = 0; i < before->n; i++) {
        if (repset_has(&after, before->ids[i]))
            continue;
        rc = fss__add_exit(c, before->ids[i], cust, why, err);
        if (rc != FSS_OK)
            goto done;
    }
done:
    fss_repset_free(&after);
    return rc;
}

static fss_status conflict_insert(fss_conn *c, const fs_conflict *k,
                                  const char *entity, const fs_id *row,
                                  const char *rep, const char *detail,
                                  fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_buf base = {0}, theirs = {0}, yours = {0};
    fss_status rc = FSS_OK;
    const char *field = NULL;
    char text[FS_ERROR_TEXT];
    bool open;

    if (k->entity && k->field >= 0 && (size_t)k->field < k->entity->nfields)
        field = k->entity->fields[k->field].name;
    else if (k->field == -1)
        field = "_deleted";
    fss_json_value(&base, &k->base);
    fss_json_value(&theirs, &k->theirs);
    fss_json_value(&yours, &k->yours);
    if (base.oom || theirs.oom || yours.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "conflict values");
        goto done;
    }
    open = k->status == FS_CONFLICT_OPEN;
    if (sqlite3_prepare_v2(
            c->db,
            "INSERT INTO fss_conflicts(created_at, entity, row, field, has_base,"
            " base, theirs, yours, theirs_hlc, yours_hlc, theirs_device,"
            " yours_device, rule, yours_won, status, rep, detail, anc_entity, anc_row)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
            -1, &st, NULL) != SQLITE_OK) {
        rc = fss__dbfail(err, c->db, "conflict insert");
        goto done;
    }
    sqlite3_bind_int64(st, 1, (int64_t)fss_now_ms());
    sqlite3_bind_text(st, 2, entity, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, row->b, 16, SQLITE_STATIC);
    if (field)
        sqlite3_bind_text(st, 4, field, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, k->has_base);
    sqlite3_bind_text(st, 6, base.data ? base.data : "null", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, theirs.data ? theirs.data : "null", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, yours.data ? yours.data : "null", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (int64_t)k->theirs_hlc);
    sqlite3_bind_int64(st, 10, (int64_t)k->yours_hlc);
    sqlite3_bind_blob(st, 11, k->theirs_device.b, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 12, k->yours_device.b, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, fs_rule_name(k->rule), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 14, k->yours_won);
    sqlite3_bind_text(st, 15, open ? "open" : "auto", -1, SQLITE_STATIC);
    if (rep)
        sqlite3_bind_text(st, 16, rep, -1, SQLITE_STATIC);
    if (detail) {
        /* Details quote client bytes (a refused value): stored valid. */
        fs_utf8_clean(text, sizeof text, detail, strlen(detail));
        sqlite3_bind_text(st, 17, text, -1, SQLITE_STATIC);
    }
    if (k->anc_entity) {
        sqlite3_bind_text(st, 18, k->anc_entity->name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 19, k->anc_row.b, 16, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "conflict insert");
done:
    sqlite3_finalize(st);
    fss_buf_free(&base);
    fss_buf_free(&theirs);
    fss_buf_free(&yours);
    return rc;
}

/* The rep of an enrolled device (the server's own writer has none). */
static fss_status device_rep(fss_conn *c, const fs_id *dev,
                             char out[FS_ID_STRLEN + 1], bool *known,
                             fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    *known = false;
    if (sqlite3_prepare_v2(c->db, "SELECT rep FROM fss_devices WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return fss__dbfail(err, c->db, "device rep");
    sqlite3_bind_blob(st, 1, dev->b, 16, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(out, FS_ID_STRLEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        *known = true;
    } else if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = fss__dbfail(err, c->db, "device rep");
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__store_conflicts(fss_conn *c, const fs_conflict_list *l,
                                const char *rep, fs_error *err)
{
    size_t i;
    fss_status rc = FSS_OK;
    char detail[160];

    /* Each record says why in its own words: one change can lose one field
     * and overwrite another, so the change's first reason fits only one. */
    for (i = 0; i < l->n && rc == FSS_OK; i++) {
        const fs_conflict *k = &l->items[i];
        char writer[FS_ID_STRLEN + 1];
        const char *who = rep;
        fs_conflict_describe(k, detail, sizeof detail);
        /* A write hidden by an ancestor's delete belongs to the rep whose
         * device wrote it (it is that rep's work the back office must
         * restore or give up), whoever deleted. */
        if (k->anc_entity) {
            bool known = false;
            rc = device_rep(c, &k->yours_device, writer, &known, err);
            who = known ? writer : NULL;
        }
        if (rc == FSS_OK)
            rc = conflict_insert(c, k, k->entity ? k->entity->name : "?", &k->row,
                                 who, detail, err);
    }
    return rc;
}

fss_status fss__store_rejection(fss_conn *c, const fs_change *chg, fs_rule rule,
                                const char *rep, const char *detail, fs_error *err)
{
    fs_conflict_list l = {0};
    fs_error serr = {0};
    fss_status rc = FSS_OK;

    /* Scope and validation rejections are decided by the server's rules;
     * they are kept for audit (FS_CONFLICT_AUTO), not for a human to
     * resolve, with the refused values so the back office sees them. */
    if (fs_conflict_refused(&l, chg, rule, &serr) != FS_OK)
        rc = fss__fail(err, FSS_ENOMEM, "rejection records: %s", serr.text);
    for (size_t i = 0; i < l.n && rc == FSS_OK; i++)
        rc = conflict_insert(c, &l.items[i], chg->entity ? chg->entity->name : "unknown",
                             &chg->row, rep, detail, err);
    fs_conflict_list_free(&l);
    return rc;
}

/* A text column into a fixed buffer as valid UTF-8 (NULL: empty). */
static void column_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    fs_utf8_clean(dst, cap, t, t ? (size_t)sqlite3_column_bytes(st, col) : 0);
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
    sqlite3_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    /* One query on every last page: the window count is taken before the
     * LIMIT, so it is the number of all open conflicts of the rep. */
    out->conflicts_listed = true;
    if (sqlite3_prepare_v2(
            c->db,
            "SELECT k.id, k.entity, k.row, k.field, k.rule, k.detail, k.created_at,"
            " CASE k.yours_won WHEN 0 THEN k.theirs_device ELSE k.yours_device END"
            " IN " REP_DEVICES ", count(*) OVER ()" CONCERNS_REP
            " ORDER BY k.id DESC LIMIT ?2",
            -1, &st, NULL) != SQLITE_OK)
        return fss__dbfail(err, c->db, "open conflicts");
    sqlite3_bind_text(st, 1, rep, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, FS_PROTO_MAX_CONFLICTS);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        fs_open_conflict *k;
        const fs_entity *e = fs_schema_entity((const char *)sqlite3_column_text(st, 1));
        if (!out->conflicts) {
            out->open_conflicts = (uint32_t)sqlite3_column_int64(st, 8);
            out->conflicts = calloc(FS_PROTO_MAX_CONFLICTS, sizeof *out->conflicts);
            if (!out->conflicts) {
                rc = fss__fail(err, FSS_ENOMEM, "open conflicts");
                goto done;
            }
        }
        if (!e || sqlite3_column_bytes(st, 2) != 16)
            continue; /* a record of a rejected unknown entity: nothing to show */
        k = &out->conflicts[out->nconflicts++];
        k->id = (uint64_t)sqlite3_column_int64(st, 0);
        k->entity = e;
        memcpy(k->row.b, sqlite3_column_blob(st, 2), 16);
        /* Cut at a character boundary (records written before text was
         * cleaned may still hold invalid bytes: repaired on the way out). */
        column_text(k->field, sizeof k->field, st, 3);
        column_text(k->rule, sizeof k->rule, st, 4);
        column_text(k->detail, sizeof k->detail, st, 5);
        k->created_ms = (uint64_t)sqlite3_column_int64(st, 6);
        k->mine_kept = sqlite3_column_int(st, 7) != 0;
    }
    if (r != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "open conflicts");
done:
    sqlite3_finalize(st);
    return rc;
}

/* Reads (owner_rep, territory, deleted) of a customer row. */
static bool customer_placement_eq(const fs_row *a, const fs_row *b)
{
    int io = fs_entity_field_index(a->entity, "owner_rep");
    int it = fs_entity_field_index(a->entity, "territory");

    if (a->deleted != b->deleted)
        return false;
    if (!fs_value_eq(&a->cells[io].v, &b->cells[io].v))
        return false;
    return fs_value_eq(&a->cells[it].v, &b->cells[it].v);
}

fss_status fss__server_write(fss_server *s, fss_conn *c, fs_change *chg,
                             fs_error *err)
{
    fs_row row = {0}, orig = {0};
    fs_store_rowinfo info;
    fs_conflict_list conflicts = {0};
    fs_merge_result res;
    fs_merge_ctx ctx;
    fss_repset before = {0};
    bool found = false, is_customer;
    fs_error serr = {0};
    fss_status rc = FSS_OK;

    is_customer = strcmp(chg->entity->name, "customer") == 0;
    if (fs_store_load(c->store, chg->entity, &chg->row, &row, &info, &found,
                      &serr) != FS_STORE_OK) {
        rc = fss__fail(err, FSS_EDB, "load: %s", serr.text);
        goto done;
    }
    if (fs_row_copy(&orig, &row, &serr) != FS_OK) {
        rc = fss__fail(err, FSS_ENOMEM, "row copy");
        goto done;
    }
    if (is_customer && found &&
        (rc = fss__customer_reps(c, &chg->row, &before, err)) != FSS_OK)
        goto done;
    memset(&ctx, 0, sizeof ctx);
    ctx.origin = FS_ORIGIN_SERVER;
    ctx.now = fss__tick(s);
    ctx.max_ahead_ms = s->cfg.max_ahead_ms;
    if (fs_merge(&ctx, &row, chg, &res, &conflicts, &serr) != FS_OK) {
        rc = fss__fail(err, FSS_EINVAL, "%s", serr.text);
        goto done;
    }
    /* The same row rules as a device write, on the merged row: an import,
     * an admin edit or a resolution cannot store what a device could not. */
    if (fs_row_check(&row, chg, !found, fs_hlc_ms(ctx.now), &serr) != FS_OK) {
        rc = fss__fail(err, FSS_EINVAL, "%s", serr.text);
        goto done;
    }
    if (!fs_row_eq(&orig, &row)) {
        if ((rc = fss__save_row(c, &row, NULL, err)) != FSS_OK)
            goto done;
        /* The back office (or the server) sees the whole store: only what
         * is newer than its delete was not seen. */
        if (row.deleted && !orig.deleted &&
            (rc = fss__hide_subtree(c, &row, INT64_MAX, err)) != FSS_OK)
            goto done;
        if (is_customer && (!found || !customer_placement_eq(&orig, &row))) {
            rc = fss__scope_changed(c, &chg->row, &before,
                                    row.deleted ? FS_EXIT_DELETED
                                                : FS_EXIT_REASSIGNED,
                                    err);
            if (rc != FSS_OK)
                goto done;
        }
    }
    rc = fss__store_conflicts(c, &conflicts, NULL, err);
done:
    fs_row_free(&row);
    fs_row_free(&orig);
    fs_conflict_list_free(&conflicts);
    fss_repset_free(&before);
    return rc;
}
