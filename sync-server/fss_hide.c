/*
 * fss_hide.c - deletes that hide subtrees, at every depth.
 *
 * A tombstone hides the row and everything hanging off it: a customer's
 * contacts, visits, quotes with their lines, contracts and tasks; a quote's
 * lines. The merge engine decides the row itself (fs_merge: writes landing
 * in a deleted row, or in a row whose ancestor is deleted - ctx.hidden_by -
 * are merged hidden and recorded). What it cannot see is the rest of the
 * subtree when a delete lands: this file walks it through the parent
 * references (each child table is probed by its `root` index and the parent
 * column) and asks the one rule, fs_delete_saw via fs_hide_row, which
 * stored writes the delete had not seen; each becomes an open delete_wins
 * record naming the ancestor and attributed to the writer's rep
 * (fss__store_conflicts). Rows below that are deleted themselves are
 * skipped: their own delete answers for what hangs off them. A delete that
 * lands under a deleted ancestor still records what it had not seen below
 * it - each delete for itself, so a write both had not seen has a record
 * naming each (restoring one ancestor leaves the other in force).
 *
 * Restoring (the back office resolving such a record with "restore") is
 * the reverse walk: the row and each deleted ancestor get a tombstone write
 * deleted=false with a fresh server stamp through fss__server_write, whose
 * scope-change machinery re-sequences a restored customer's subtree for the
 * reps that regain it.
 */
#include "fss_int.h"

#include <stdlib.h>
#include <string.h>

/* Parent chains are at most customer <- quote <- quote_line; the bound only
 * guards against a corrupt store pointing in a circle. */
#define MAX_DEPTH FSS_HIDE_MAX_DEPTH

static const fs_value *parent_ref(const fs_row *row)
{
    const fs_entity *e = row->entity;

    if (e->parent < 0 || !e->parent_entity ||
        row->cells[e->parent].v.kind != FS_VAL_ID)
        return NULL;
    return &row->cells[e->parent].v;
}

fss_status fss__find_hider(fss_conn *c, const fs_entity *pe, const fs_id *parent,
                           fs_hider *out, bool *hidden, fs_error *err)
{
    fs_row row = {0};
    fs_id id = *parent;
    fss_status rc = FSS_OK;

    *hidden = false;
    for (int depth = 0; pe && depth < MAX_DEPTH; depth++) {
        bool found = false;
        const fs_value *up;

        fs_row_free(&row);
        if ((rc = fss__repo_row_load(c, pe, &id, &row, NULL, &found, err)) !=
            FSS_OK)
            break;
        if (!found)
            break;
        if (row.deleted) {
            out->entity = pe;
            out->row = id;
            out->hlc = row.del_hlc;
            out->device = row.del_device;
            *hidden = true;
            break;
        }
        if (!(up = parent_ref(&row)))
            break;
        id = up->u.id;
        pe = fs_schema_entity(pe->parent_entity);
    }
    fs_row_free(&row);
    return rc;
}

fss_status fss__row_hider(fss_conn *c, const fs_row *row, fs_hider *out,
                          bool *hidden, fs_error *err)
{
    const fs_value *up = parent_ref(row);

    *hidden = false;
    if (!up)
        return FSS_OK;
    return fss__find_hider(c, fs_schema_entity(row->entity->parent_entity),
                           &up->u.id, out, hidden, err);
}

/* Records the unseen writes of every live row below (e, id). */
static fss_status hide_below(fss_conn *c, const fs_hider *h, const fs_entity *e,
                             const fs_id *id, const fs_id *root, int64_t horizon,
                             int depth, fs_conflict_list *list, fs_error *err)
{
    size_t ne = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    fss_status rc = FSS_OK;

    if (depth >= MAX_DEPTH)
        return FSS_OK;
    for (size_t i = 0; i < ne && rc == FSS_OK; i++) {
        const fs_entity *ce = ents[i];
        fss_child *kids = NULL;
        size_t nk = 0;

        /* Reference data (purchases) is the server's own import, never a
         * rep's work. */
        if (ce->parent < 0 || !ce->parent_entity || (ce->flags & FS_ENTITY_READONLY) ||
            strcmp(ce->parent_entity, e->name) != 0)
            continue;
        if ((rc = fss__repo_children(c, ce, id, root, &kids, &nk, err)) != FSS_OK)
            break;
        for (size_t k = 0; k < nk && rc == FSS_OK; k++) {
            fs_row row = {0};
            fs_error serr = {0};
            bool found = false;
            rc = fss__repo_row_load(c, ce, &kids[k].id, &row, NULL, &found, err);
            if (rc == FSS_OK && found && !row.deleted) {
                /* A deleted row's own tombstone already hides it and what
                 * hangs off it. */
                fs_conflict_list_clear(list);
                if (fs_hide_row(&row, h, kids[k].seq > horizon, list, &serr) != FS_OK)
                    rc = fss__fail(err, FSS_ENOMEM, "%s", serr.text);
                if (rc == FSS_OK)
                    rc = fss__store_conflicts(c, list, NULL, err);
                if (rc == FSS_OK)
                    rc = hide_below(c, h, ce, &row.id, root, horizon, depth + 1, list,
                                    err);
            }
            fs_row_free(&row);
        }
        free(kids);
    }
    return rc;
}

fss_status fss__hide_subtree(fss_conn *c, const fs_row *deleted, int64_t horizon,
                             fs_error *err)
{
    fs_hider h;
    fs_conflict_list list = {0};
    fs_id root;
    bool has_root = false;
    fss_status rc;

    if (!deleted->deleted || (deleted->entity->flags & FS_ENTITY_READONLY))
        return FSS_OK;
    /* A delete landing under a deleted ancestor records what it had not
     * seen all the same: the ancestor's delete recorded only what IT had
     * not seen, and restoring the ancestor leaves this delete in force
     * (fieldsync_sim --seed 16: a line written after an offline quote
     * delete, before the customer's delete that had seen it). */
    if ((rc = fss__repo_row_root(c, deleted, &root, &has_root, err)) != FSS_OK)
        return rc == FSS_ENOTFOUND ? FSS_EDB : rc;
    if (!has_root)
        return FSS_OK;
    h.entity = deleted->entity;
    h.row = deleted->id;
    h.hlc = deleted->del_hlc;
    h.device = deleted->del_device;
    rc = hide_below(c, &h, deleted->entity, &deleted->id, &root, horizon, 0, &list, err);
    fs_conflict_list_free(&list);
    return rc;
}

fss_status fss__restore_path(fss_server *s, fss_conn *c, const fs_entity *e,
                             const fs_id *id, fs_hider restored[FSS_HIDE_MAX_DEPTH],
                             size_t *n, fs_error *err)
{
    fs_id cur = *id;
    fss_status rc = FSS_OK;

    *n = 0;
    for (int depth = 0; e && depth < MAX_DEPTH && rc == FSS_OK; depth++) {
        fs_row row = {0};
        fs_change chg;
        fs_error serr = {0};
        bool found = false;
        const fs_value *up;

        if ((rc = fss__repo_row_load(c, e, &cur, &row, NULL, &found, err)) !=
            FSS_OK) {
            fs_row_free(&row);
            return rc;
        }
        if (found && row.deleted) {
            restored[*n].entity = e;
            restored[*n].row = cur;
            restored[*n].hlc = row.del_hlc;
            restored[*n].device = row.del_device;
            (*n)++;
            if (fs_change_init(&chg, e, &cur, &fss_server_device, &serr) != FS_OK) {
                rc = fss__fail(err, FSS_ENOMEM, "%s", serr.text);
            } else {
                fs_change_tombstone(&chg, false, fss__tick(s));
                rc = fss__server_write(s, c, &chg, err);
                fs_change_free(&chg);
            }
        }
        up = found ? parent_ref(&row) : NULL;
        if (up) {
            cur = up->u.id;
            e = fs_schema_entity(e->parent_entity);
        } else {
            e = NULL;
        }
        fs_row_free(&row);
    }
    return rc;
}
