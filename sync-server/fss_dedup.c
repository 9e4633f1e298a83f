/*
 * fss_dedup.c - duplicate customers at the server (issue 17; CRM.md
 * section 5; docs/ARCHITECTURE.md "Ownership lifecycle: merges"): the list
 * of likely duplicates, the merge, and the redirect of later device writes
 * addressed to a merged customer.
 *
 * Detection is conflict/fs_dedup.c's (normalised name, phone, tax id);
 * this file buckets the customers by each key so only rows that share one
 * are scored. A merge is one IMMEDIATE transaction: the survivor takes the
 * duplicates' values for its empty fields (a server change), every row
 * below each duplicate is re-parented to the survivor (the server's own
 * operation: the parent cell gets the survivor and keeps its stamp, so the
 * write-once rule still holds, and the row is saved with a fresh seq and
 * its new root; rows further down are re-saved for their root), each
 * duplicate becomes a tombstone that redirects (fss_merged), devices that
 * lose it get the exit "merged", and the merge is recorded.
 */
#include "fss_json.h"

#include "fs_dedup.h"

#include <stdlib.h>
#include <string.h>

/* ---- likely duplicates ---- */

typedef struct dcust {
    fs_id id;
    char *name;
    fs_dedup_keys k;
} dcust;

typedef struct dlist {
    dcust *v;
    size_t n, cap;
} dlist;

static fss_status collect(const fs_id *id, const char *name, const char *phone,
                          const char *tax_id, void *arg, fs_error *err)
{
    dlist *l = arg;
    dcust *d;

    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        void *p = realloc(l->v, nc * sizeof *l->v);
        if (!p)
            return fss__fail(err, FSS_ENOMEM, "duplicates");
        l->v = p;
        l->cap = nc;
    }
    d = &l->v[l->n];
    d->id = *id;
    d->name = strdup(name ? name : "");
    if (!d->name)
        return fss__fail(err, FSS_ENOMEM, "duplicates");
    fs_dedup_keys_of(name, phone, tax_id, &d->k);
    l->n++;
    return FSS_OK;
}

typedef struct dpair {
    uint32_t a, b;
} dpair;

/* A customer's key of the kind being sorted, beside its index: qsort's
 * comparator needs no state outside its arguments, so concurrent requests
 * never share one. */
typedef struct dkeyed {
    const char *key;
    uint32_t i;
} dkeyed;

static const char *key_of(const dcust *d, int which)
{
    return which == 0 ? d->k.name : which == 1 ? d->k.phone : d->k.tax;
}

static int by_key(const void *x, const void *y)
{
    return strcmp(((const dkeyed *)x)->key, ((const dkeyed *)y)->key);
}

static int by_pair(const void *x, const void *y)
{
    const dpair *a = x, *b = y;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b;
}

/* A bucket of more than this many customers sharing one key (a switchboard
 * number, "Shop") is not a duplicate signal: it is skipped. */
#define DEDUP_BUCKET_MAX 50

fss_status fss_admin_duplicates(fss_server *s, const char *const *territories,
                                fss_buf *out, fs_error *err)
{
    dlist l = {0};
    dkeyed *idx = NULL;
    dpair *pairs = NULL;
    size_t np = 0, capp = 0, i, j, k;
    bool any = false;
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status st;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((st = fss__begin_read(c, err)) != FSS_OK ||
        (st = fss__repo_dedup_rows(c, territories, collect, &l, err)) != FSS_OK)
        goto done;
    idx = malloc((l.n ? l.n : 1) * sizeof *idx);
    if (!idx) {
        st = fss__fail(err, FSS_ENOMEM, "duplicates");
        goto done;
    }
    /* One sort per key; every pair inside a run of equal keys. */
    for (int which = 0; which < 3 && l.n; which++) {
        for (i = 0; i < l.n; i++) {
            idx[i].key = key_of(&l.v[i], which);
            idx[i].i = (uint32_t)i;
        }
        qsort(idx, l.n, sizeof *idx, by_key);
        for (i = 0; i < l.n; i = j) {
            const char *key = idx[i].key;
            for (j = i + 1; j < l.n && strcmp(key, idx[j].key) == 0; j++)
                ;
            if (!key[0] || j - i < 2 || j - i > DEDUP_BUCKET_MAX)
                continue;
            for (size_t p = i; p < j; p++)
                for (size_t q = p + 1; q < j; q++) {
                    if (np == capp) {
                        size_t nc = capp ? capp * 2 : 64;
                        void *m = realloc(pairs, nc * sizeof *pairs);
                        if (!m) {
                            st = fss__fail(err, FSS_ENOMEM, "duplicates");
                            goto done;
                        }
                        pairs = m;
                        capp = nc;
                    }
                    pairs[np].a = idx[p].i < idx[q].i ? idx[p].i : idx[q].i;
                    pairs[np].b = idx[p].i < idx[q].i ? idx[q].i : idx[p].i;
                    np++;
                }
        }
    }
    if (np)
        qsort(pairs, np, sizeof *pairs, by_pair);
    fss_buf_puts(out, "[");
    for (k = 0; k < np; k++) {
        unsigned why = 0;
        int score;
        const dcust *a, *b;
        if (k && pairs[k].a == pairs[k - 1].a && pairs[k].b == pairs[k - 1].b)
            continue;
        a = &l.v[pairs[k].a];
        b = &l.v[pairs[k].b];
        score = fs_dedup_score(&a->k, &b->k, &why);
        if (score < 50)
            continue;
        fss_buf_puts(out, any ? ",{\"a\":" : "{\"a\":");
        any = true;
        fss_json_id(out, &a->id);
        fss_buf_puts(out, ",\"a_name\":");
        fss_json_cstr(out, a->name);
        fss_buf_puts(out, ",\"b\":");
        fss_json_id(out, &b->id);
        fss_buf_puts(out, ",\"b_name\":");
        fss_json_cstr(out, b->name);
        fss_buf_printf(out, ",\"score\":%d,\"reasons\":[%s%s%s%s%s]}", score,
                       why & FS_DEDUP_TAX ? "\"tax_id\"" : "",
                       (why & FS_DEDUP_TAX) && (why & (FS_DEDUP_NAME | FS_DEDUP_PHONE))
                           ? "," : "",
                       why & FS_DEDUP_NAME ? "\"name\"" : "",
                       (why & FS_DEDUP_NAME) && (why & FS_DEDUP_PHONE) ? "," : "",
                       why & FS_DEDUP_PHONE ? "\"phone\"" : "");
    }
    fss_buf_puts(out, "]\n");
    if (out->oom)
        st = fss__fail(err, FSS_ENOMEM, "output");
done:
    fss__rollback(c);
    fss__conn_put(s, c);
    for (i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
    free(idx);
    free(pairs);
    return st;
}

/* ---- merge ---- */

/* Re-saves every row of the entities below pe hanging off `parent` (all
 * under customer root `old_root`), so each gets a fresh seq and its new
 * root; the direct children of a customer also get the survivor as their
 * parent. *moved counts the rows. */
static fss_status move_below(fss_conn *c, const fs_entity *pe, const fs_id *parent,
                             const fs_id *old_root, const fs_id *survivor,
                             int64_t *moved, fs_error *err)
{
    size_t ne = 0, i, k, nkids;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    fss_status st = FSS_OK;

    for (i = 0; i < ne && st == FSS_OK; i++) {
        const fs_entity *ce = ents[i];
        fss_child *kids = NULL;
        if (ce->parent < 0 || !ce->parent_entity ||
            strcmp(ce->parent_entity, pe->name) != 0)
            continue;
        if ((st = fss__repo_children(c, ce, parent, old_root, &kids, &nkids, err)) !=
            FSS_OK)
            break;
        for (k = 0; k < nkids && st == FSS_OK; k++) {
            fs_row row = {0};
            bool found = false;
            st = fss__repo_row_load(c, ce, &kids[k].id, &row, NULL, &found, err);
            if (st == FSS_OK && found) {
                if (strcmp(pe->name, "customer") == 0) {
                    /* The server's re-parenting: the value changes, the
                     * stamp stays (docs/ARCHITECTURE.md). */
                    fs_value_clear(&row.cells[ce->parent].v);
                    row.cells[ce->parent].v = fs_value_idv(survivor);
                }
                st = fss__save_row(c, &row, NULL, true, err);
                if (st == FSS_OK)
                    (*moved)++;
                if (st == FSS_OK)
                    st = move_below(c, ce, &kids[k].id, old_root, survivor, moved,
                                    err);
            }
            fs_row_free(&row);
        }
        free(kids);
    }
    return st;
}

static bool cell_empty(const fs_cell *cell)
{
    return cell->v.kind == FS_VAL_NULL ||
           (cell->v.kind == FS_VAL_TEXT && cell->v.u.text.n == 0);
}

fss_status fss_admin_merge(fss_server *s, const fs_id *survivor,
                           const fs_id *dups, size_t ndups, const char *by,
                           fss_merge_result *out, fs_error *err)
{
    const fs_entity *ce = fs_schema_entity("customer");
    fss_conn *c = NULL;
    fs_row surv = {0}, dup = {0};
    fs_change fill, tomb;
    fs_error ferr = {0};
    fss_merge_item rec;
    fss_merged_row mr;
    fss_buf detail = {0};
    bool found = false, filled[64] = {0};
    int64_t merge_id = 0;
    size_t i, k;
    fss_status st;

    memset(out, 0, sizeof *out);
    memset(&fill, 0, sizeof fill);
    memset(&tomb, 0, sizeof tomb);
    if (ndups == 0)
        return fss__fail(err, FSS_EINVAL, "name at least one duplicate");
    for (i = 0; i < ndups; i++) {
        if (fs_id_cmp(&dups[i], survivor) == 0)
            return fss__fail(err, FSS_EINVAL, "the survivor cannot be its own duplicate");
        for (k = 0; k < i; k++)
            if (fs_id_cmp(&dups[i], &dups[k]) == 0)
                return fss__fail(err, FSS_EINVAL, "a duplicate is named twice");
    }
    c = fss__conn_get(s, 10000);
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((st = fss__begin_immediate(c, err)) != FSS_OK)
        goto done;
    /* Every customer named is live and not merged already. */
    for (i = 0; i <= ndups; i++) {
        const fs_id *id = i == ndups ? survivor : &dups[i];
        char t[FS_ID_STRLEN + 1];
        fs_id_format(id, t);
        fs_row_free(&dup);
        if ((st = fss__repo_row_load(c, ce, id, &dup, NULL, &found, err)) != FSS_OK)
            goto done;
        if (!found) {
            st = fss__fail(err, FSS_ENOTFOUND, "no customer %s", t);
            goto done;
        }
        if (dup.deleted) {
            if ((st = fss__repo_merged_get(c, id, &mr, &found, err)) != FSS_OK)
                goto done;
            st = fss__fail(err, FSS_EINVAL, "customer %s is %s", t,
                           found ? "merged already" : "deleted");
            goto done;
        }
    }
    fs_row_free(&dup);
    if ((st = fss__repo_row_load(c, ce, survivor, &surv, NULL, &found, err)) != FSS_OK)
        goto done;
    /* The survivor keeps its values; an empty field takes the first
     * duplicate's value that has one (in the order named). */
    if (fs_change_init(&fill, ce, survivor, &fss_server_device, &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        goto done;
    }
    fss_buf_puts(&detail, "{\"duplicates\":[");
    for (i = 0; i < ndups; i++) {
        fs_hlc hlc = fss__tick(s);
        if ((st = fss__repo_row_load(c, ce, &dups[i], &dup, NULL, &found, err)) != FSS_OK)
            goto done;
        for (k = 0; k < ce->nfields && k < 64; k++) {
            const char *fname = ce->fields[k].name;
            if (strcmp(fname, "claimed_by") == 0 || filled[k] ||
                !cell_empty(&surv.cells[k]) || cell_empty(&dup.cells[k]))
                continue;
            if (fs_change_set(&fill, (int)k, &dup.cells[k].v, hlc, &ferr) != FS_OK) {
                st = fss__fail(err, FSS_EINVAL, "%s: %s", fname, ferr.text);
                goto done;
            }
            filled[k] = true;
            out->fields++;
        }
        fss_buf_puts(&detail, i ? "," : "");
        fss_json_id(&detail, &dups[i]);
        fs_row_free(&dup);
    }
    if (fill.nfields && (st = fss__server_write(s, c, &fill, err)) != FSS_OK)
        goto done;
    memset(&rec, 0, sizeof rec);
    rec.survivor = *survivor;
    rec.at = (int64_t)fss_now_ms();
    rec.by = by;
    rec.duplicates = (int64_t)ndups;
    for (i = 0; i < ndups; i++) {
        const fs_value *ov, *tv;
        char own[FS_ID_STRLEN + 1] = "", terr[65] = "";
        if ((st = fss__repo_row_load(c, ce, &dups[i], &dup, NULL, &found, err)) != FSS_OK)
            goto done;
        ov = &dup.cells[fs_entity_field_index(ce, "owner_rep")].v;
        tv = &dup.cells[fs_entity_field_index(ce, "territory")].v;
        if (ov->kind == FS_VAL_TEXT)
            snprintf(own, sizeof own, "%s", ov->u.text.p);
        if (tv->kind == FS_VAL_TEXT)
            snprintf(terr, sizeof terr, "%s", tv->u.text.p);
        fs_row_free(&dup);
        /* Children first, so the tombstone hides nothing. */
        if ((st = move_below(c, ce, &dups[i], &dups[i], survivor, &out->children,
                             err)) != FSS_OK)
            goto done;
        fs_change_free(&tomb);
        if (fs_change_init(&tomb, ce, &dups[i], &fss_server_device, &ferr) != FS_OK) {
            st = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
            goto done;
        }
        fs_change_tombstone(&tomb, true, fss__tick(s));
        if ((st = fss__server_write_why(s, c, &tomb, FS_EXIT_MERGED, err)) != FSS_OK)
            goto done;
        /* The redirect needs the merge's id: recorded with the first
         * duplicate, its count of moved rows set once all have moved. */
        if (!merge_id) {
            fss_buf_printf(&detail, "],\"fields_filled\":%lld}", (long long)out->fields);
            rec.detail = detail.data;
            if ((st = fss__repo_merge_record(c, &rec, &merge_id, err)) != FSS_OK)
                goto done;
        }
        if ((st = fss__repo_merged_add(c, &dups[i], survivor, merge_id,
                                       own[0] ? own : NULL, terr[0] ? terr : NULL,
                                       err)) != FSS_OK)
            goto done;
    }
    out->duplicates = (int64_t)ndups;
    out->merge_id = merge_id;
    st = fss__repo_merge_children(c, merge_id, out->children, err);
    if (st == FSS_OK)
        st = fss__commit(c, err);
done:
    if (c) {
        fss__rollback(c);
        fss__conn_put(s, c);
    }
    fs_row_free(&surv);
    fs_row_free(&dup);
    fs_change_free(&fill);
    fs_change_free(&tomb);
    fss_buf_free(&detail);
    return st;
}

fss_status fss__redirect_of(fss_conn *c, const fs_id *id, fs_id *to,
                            fss_merged_row *first, bool *redirected,
                            fs_error *err)
{
    fss_merged_row mr;
    bool found = true;
    fss_status st = FSS_OK;

    *redirected = false;
    *to = *id;
    /* A survivor may be merged later in turn: follow the chain (bounded). */
    for (int hop = 0; hop < 16 && found; hop++) {
        if ((st = fss__repo_merged_get(c, to, &mr, &found, err)) != FSS_OK)
            return st;
        if (found) {
            if (!*redirected && first)
                *first = mr;
            *redirected = true;
            *to = mr.survivor;
        }
    }
    return st;
}

typedef struct merges_out {
    fss_buf *out;
    bool any;
} merges_out;

static void merge_item(const fss_merge_item *m, void *arg)
{
    merges_out *x = arg;
    fss_buf *b = x->out;

    fss_buf_printf(b, "%s{\"id\":%lld,\"survivor\":", x->any ? "," : "",
                   (long long)m->id);
    x->any = true;
    fss_json_id(b, &m->survivor);
    fss_buf_printf(b, ",\"at\":%lld,\"by\":", (long long)m->at);
    fss_json_cstr(b, m->by);
    fss_buf_printf(b, ",\"duplicates_merged\":%lld,\"children_moved\":%lld,"
                      "\"fields_filled\":%lld,\"detail\":%s}",
                   (long long)m->duplicates, (long long)m->children,
                   (long long)m->fields, m->detail ? m->detail : "null");
}

fss_status fss_admin_merges_list(fss_server *s, const fs_id *survivor,
                                 fss_buf *out, fs_error *err)
{
    merges_out x = {.out = out};
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    rc = fss__repo_merges_list(c, survivor, merge_item, &x, err);
    fss_buf_puts(out, "]\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "output");
    fss__conn_put(s, c);
    return rc;
}
