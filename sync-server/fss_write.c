/*
 * fss_write.c - the server's one save path, and its own writes.
 *
 * Every write that stores a row ends in fss__save_merged: device changes
 * (fss_sync.c's apply_change) and server-origin changes (fss__server_write:
 * imports, admin edits, conflict resolutions, the demo loader) alike. It
 * saves the merged row with a fresh seq if it changed, records what a new
 * tombstone hides, and re-scopes a customer whose owner, territory or
 * tombstone moved. The two merge halves stay separate because they decide
 * different things: a device change is checked against the rep's scope,
 * frozen parents, hidden subtrees, contract totals and gets server stamps,
 * with a refusal reported per change in the batch's results; a server
 * change sees the whole store and a refusal is the caller's error
 * (FSS_EINVAL). Server-side writes are ordinary fs_change's merged with
 * FS_ORIGIN_SERVER, so the merge engine decides them too.
 *
 * No SQL here: rows, roots, seqs and conflict records go through the
 * repository (fss_repo.h) and the scope functions.
 */
#include "fss_int.h"

#include <stdlib.h>
#include <string.h>

void fss_repset_free(fss_repset *r)
{
    free(r->ids);
    memset(r, 0, sizeof *r);
}

bool fss__repset_has(const fss_repset *r, const char *id)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (strcmp(r->ids[i], id) == 0)
            return true;
    return false;
}

fss_status fss__repset_add(fss_repset *r, const char *id, fs_error *err)
{
    if (fss__repset_has(r, id) || strlen(id) != FS_ID_STRLEN)
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
        if (!fss__repset_has(before, after.ids[i]))
            gained = true;
    if (gained && (rc = fss__restamp_subtree(c, cust, err)) != FSS_OK)
        goto done;
    for (i = 0; i < before->n; i++) {
        if (fss__repset_has(&after, before->ids[i]))
            continue;
        rc = fss__add_exit(c, before->ids[i], cust, why, err);
        if (rc != FSS_OK)
            goto done;
    }
done:
    fss_repset_free(&after);
    return rc;
}

/* The stored form of one conflict record: values as JSON literals, the
 * field by name (`_deleted` for the tombstone), a detail made valid UTF-8
 * (details quote client bytes). */
static fss_status conflict_store(fss_conn *c, const fs_conflict *k,
                                 const char *entity, const fs_id *row,
                                 const char *rep, const char *detail,
                                 fs_error *err)
{
    fss_buf base = {0}, theirs = {0}, yours = {0};
    fss_conflict_rec rec;
    char text[FS_ERROR_TEXT];
    fss_status rc;

    memset(&rec, 0, sizeof rec);
    if (k->entity && k->field >= 0 && (size_t)k->field < k->entity->nfields)
        rec.field = k->entity->fields[k->field].name;
    else if (k->field == -1)
        rec.field = "_deleted";
    fss_json_value(&base, &k->base);
    fss_json_value(&theirs, &k->theirs);
    fss_json_value(&yours, &k->yours);
    if (base.oom || theirs.oom || yours.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "conflict values");
        goto done;
    }
    rec.created_at = (int64_t)fss_now_ms();
    rec.entity = entity;
    rec.row = *row;
    rec.has_base = k->has_base;
    rec.base = base.data ? base.data : "null";
    rec.theirs = theirs.data ? theirs.data : "null";
    rec.yours = yours.data ? yours.data : "null";
    rec.theirs_hlc = (int64_t)k->theirs_hlc;
    rec.yours_hlc = (int64_t)k->yours_hlc;
    rec.theirs_device = k->theirs_device;
    rec.yours_device = k->yours_device;
    rec.rule = fs_rule_name(k->rule);
    rec.yours_won = k->yours_won;
    rec.status = k->status == FS_CONFLICT_OPEN ? "open" : "auto";
    rec.rep = rep;
    if (detail) {
        fs_utf8_clean(text, sizeof text, detail, strlen(detail));
        rec.detail = text;
    }
    if (k->anc_entity) {
        rec.anc_entity = k->anc_entity->name;
        rec.anc_row = k->anc_row;
    }
    rc = fss__repo_conflict_insert(c, &rec, err);
done:
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
    fss_device_row d;
    fss_status rc = fss__repo_device_get(c, dev, &d, known, err);

    if (rc == FSS_OK && *known)
        snprintf(out, FS_ID_STRLEN + 1, "%s", d.rep);
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
            rc = conflict_store(c, k, k->entity ? k->entity->name : "?", &k->row,
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
        rc = conflict_store(c, &l.items[i], chg->entity ? chg->entity->name : "unknown",
                             &chg->row, rep, detail, err);
    fs_conflict_list_free(&l);
    return rc;
}

bool fss__customer_placement_eq(const fs_row *a, const fs_row *b)
{
    int io = fs_entity_field_index(a->entity, "owner_rep");
    int it = fs_entity_field_index(a->entity, "territory");

    if (a->deleted != b->deleted)
        return false;
    if (!fs_value_eq(&a->cells[io].v, &b->cells[io].v))
        return false;
    return fs_value_eq(&a->cells[it].v, &b->cells[it].v);
}

fss_status fss__save_merged(fss_conn *c, const fs_row *orig, const fs_row *row,
                            bool found, const fss_repset *before,
                            int64_t horizon, bool *saved, fs_error *err)
{
    return fss__save_merged_why(c, orig, row, found, before, horizon,
                                FS_EXIT_UNKNOWN, saved, err);
}

fss_status fss__save_merged_why(fss_conn *c, const fs_row *orig,
                                const fs_row *row, bool found,
                                const fss_repset *before, int64_t horizon,
                                fs_exit_reason why, bool *saved, fs_error *err)
{
    fss_status rc;

    *saved = false;
    if (fs_row_eq(orig, row))
        return FSS_OK;
    if ((rc = fss__save_row(c, row, NULL, fss__search_changed(orig, row, found),
                            err)) != FSS_OK)
        return rc;
    *saved = true;
    /* A delete that landed hides the rows below too: record what of them
     * the writer had not seen (anything saved after horizon, anything newer
     * than the delete). */
    if (row->deleted && !orig->deleted &&
        (rc = fss__hide_subtree(c, row, horizon, err)) != FSS_OK)
        return rc;
    if (strcmp(row->entity->name, "customer") == 0 &&
        (!found || !fss__customer_placement_eq(orig, row)))
        rc = fss__scope_changed(c, &row->id, before,
                                why != FS_EXIT_UNKNOWN ? why
                                : row->deleted         ? FS_EXIT_DELETED
                                                       : FS_EXIT_REASSIGNED,
                                err);
    return rc;
}

static fss_status server_write(fss_server *s, fss_conn *c, fs_change *chg,
                               fs_exit_reason why, bool decision, fs_error *err);

fss_status fss__server_write(fss_server *s, fss_conn *c, fs_change *chg,
                             fs_error *err)
{
    return fss__server_write_why(s, c, chg, FS_EXIT_UNKNOWN, err);
}

fss_status fss__server_write_why(fss_server *s, fss_conn *c, fs_change *chg,
                                 fs_exit_reason why, fs_error *err)
{
    return server_write(s, c, chg, why, false, err);
}

fss_status fss__server_decide(fss_server *s, fss_conn *c, fs_change *chg,
                              fs_error *err)
{
    return server_write(s, c, chg, FS_EXIT_UNKNOWN, true, err);
}

static fss_status server_write(fss_server *s, fss_conn *c, fs_change *chg,
                               fs_exit_reason why, bool decision, fs_error *err)
{
    fs_row row = {0}, orig = {0};
    fs_conflict_list conflicts = {0};
    fs_merge_result res;
    fs_merge_ctx ctx;
    fss_repset before = {0};
    bool found = false, is_customer, saved;
    fs_error serr = {0};
    fss_status rc = FSS_OK;

    is_customer = strcmp(chg->entity->name, "customer") == 0;
    if ((rc = fss__repo_row_load(c, chg->entity, &chg->row, &row, NULL, &found,
                                 err)) != FSS_OK)
        goto done;
    if (fs_row_copy(&orig, &row, &serr) != FS_OK) {
        rc = fss__fail(err, FSS_ENOMEM, "row copy");
        goto done;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.origin = FS_ORIGIN_SERVER;
    ctx.now = fss__tick(s);
    ctx.max_ahead_ms = s->cfg.max_ahead_ms;
    ctx.decision = decision;
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
    /* The reps who saw the customer before: only asked when its placement
     * moves (the one case fss__save_merged_why uses them), and before the
     * save, so the store still holds the row as it was. analyze writes
     * every customer's value fields and moves no placement: that was a
     * query per customer (docs/BENCHMARKS.md, analyze). */
    if (is_customer && found && !fss__customer_placement_eq(&orig, &row) &&
        (rc = fss__customer_reps(c, &chg->row, &before, err)) != FSS_OK)
        goto done;
    /* The back office (or the server) sees the whole store: only what is
     * newer than its delete was not seen. */
    if ((rc = fss__save_merged_why(c, &orig, &row, found, &before, INT64_MAX,
                                   why, &saved, err)) != FSS_OK)
        goto done;
    rc = fss__store_conflicts(c, &conflicts, NULL, err);
done:
    fs_row_free(&row);
    fs_row_free(&orig);
    fs_conflict_list_free(&conflicts);
    fss_repset_free(&before);
    return rc;
}
