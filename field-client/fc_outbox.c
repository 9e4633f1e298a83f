/*
 * fc_outbox.c - the outbox and the overlay that makes local edits visible.
 *
 * Every local write is one fs_change appended here (state pending). The
 * displayed row of (entity, id) is always recomputed, never edited in place:
 *
 *     displayed = fs_merge(base_ row, each pending/in-flight/awaiting
 *                          change in outbox order)
 *                                     (origin DEVICE, no clock bound)
 *
 * so a pulled server row (which replaces the base_ row) and the rep's
 * not-yet-confirmed edits combine through the same merge function the server
 * uses, and a rejected change simply leaves the overlay. An awaiting change
 * (the server answered "merged") stays in the overlay until the server's
 * resulting row has been pulled (fc_sync.c): dropping it at the answer would
 * show the older base_ copy until then, i.e. go back below what was shown.
 *
 * base_ is sparse: a row without pending/in-flight changes is displayed as
 * the server confirmed it, so it needs no base_ copy (a bootstrap writes
 * each row once). The copy is made from the displayed row when the row's
 * first change is queued (ensure_base); fc_sync.c writes pulls of rows with
 * queued changes into base_ and the others straight to the displayed table,
 * deleting any stale copy. A queued row without a copy has no confirmed
 * state (created locally), which is what fs_merge starts from. Changes are kept as
 * a small private binary format (below) rather than protobuf: the outbox is
 * local, must survive protocol upgrades of the wire format, and encoding it
 * must not depend on a network message's limits.
 *
 * Change blob, little-endian:
 *   "FC" u8 version=1 | u16 entity tag | id row[16] | id device[16]
 *   | u8 flags (1 = has tombstone, 2 = deleted) | u64 tomb_hlc | u16 nfields
 *   | per field: u16 field tag | value | u64 hlc | u8 has_base
 *                [| value base | u64 base_hlc]
 *   value: u8 kind | INT i64 | REAL 8 bytes | TEXT u32 len + bytes | ID 16
 */
#include "fc_int.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Change blob                                                               */
/* ------------------------------------------------------------------------ */

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} wbuf;

static void w_bytes(wbuf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        uint8_t *np;
        while (cap < b->n + n)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void w_u(wbuf *b, uint64_t v, size_t bytes)
{
    uint8_t t[8];
    for (size_t i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    w_bytes(b, t, bytes);
}

static void w_value(wbuf *b, const fs_value *v)
{
    uint64_t bits;

    w_u(b, (uint64_t)v->kind, 1);
    switch (v->kind) {
    case FS_VAL_NULL:
        break;
    case FS_VAL_INT:
        w_u(b, (uint64_t)v->u.i, 8);
        break;
    case FS_VAL_REAL:
        memcpy(&bits, &v->u.r, 8);
        w_u(b, bits, 8);
        break;
    case FS_VAL_TEXT:
        w_u(b, v->u.text.n, 4);
        w_bytes(b, v->u.text.p, v->u.text.n);
        break;
    case FS_VAL_ID:
        w_bytes(b, v->u.id.b, 16);
        break;
    }
}

fc_status fc__change_encode(const fs_change *ch, uint8_t **out, size_t *len,
                            fs_error *err)
{
    wbuf b = {0};

    w_bytes(&b, "FC\1", 3);
    w_u(&b, ch->entity->tag, 2);
    w_bytes(&b, ch->row.b, 16);
    w_bytes(&b, ch->device.b, 16);
    w_u(&b, (ch->has_tomb ? 1u : 0u) | (ch->deleted ? 2u : 0u), 1);
    w_u(&b, ch->tomb_hlc, 8);
    w_u(&b, ch->nfields, 2);
    for (size_t i = 0; i < ch->nfields; i++) {
        const fs_field_change *fc = &ch->fields[i];
        w_u(&b, ch->entity->fields[fc->slot].tag, 2);
        w_value(&b, &fc->v);
        w_u(&b, fc->hlc, 8);
        w_u(&b, fc->has_base ? 1 : 0, 1);
        if (fc->has_base) {
            w_value(&b, &fc->base);
            w_u(&b, fc->base_hlc, 8);
        }
    }
    if (b.oom) {
        free(b.p);
        return fc__fail(err, FC_ENOMEM, "out of memory encoding a change");
    }
    *out = b.p;
    *len = b.n;
    return FC_OK;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t n, off;
    bool bad;
} rbuf;

static const uint8_t *r_bytes(rbuf *b, size_t n)
{
    const uint8_t *p;
    if (b->bad || b->n - b->off < n) {
        b->bad = true;
        return NULL;
    }
    p = b->p + b->off;
    b->off += n;
    return p;
}

static uint64_t r_u(rbuf *b, size_t bytes)
{
    const uint8_t *p = r_bytes(b, bytes);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (size_t i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Reads a value; text is copied into *out (new). */
static fc_status r_value(rbuf *b, fs_value *out, fs_error *err)
{
    unsigned kind = (unsigned)r_u(b, 1);
    uint64_t bits;
    const uint8_t *p;
    uint32_t n;
    fs_error ferr = {0};

    memset(out, 0, sizeof *out);
    switch (kind) {
    case FS_VAL_NULL:
        out->kind = FS_VAL_NULL;
        break;
    case FS_VAL_INT:
        *out = fs_value_int((int64_t)r_u(b, 8));
        break;
    case FS_VAL_REAL: {
        double d;
        bits = r_u(b, 8);
        memcpy(&d, &bits, 8);
        *out = fs_value_real(d);
        break;
    }
    case FS_VAL_TEXT:
        n = (uint32_t)r_u(b, 4);
        p = r_bytes(b, n);
        if (!p)
            break;
        if (fs_value_text(out, (const char *)p, n, &ferr))
            return fc__fail(err, FC_ENOMEM, "out of memory decoding a change");
        break;
    case FS_VAL_ID: {
        fs_id id;
        p = r_bytes(b, 16);
        if (!p)
            break;
        memcpy(id.b, p, 16);
        *out = fs_value_idv(&id);
        break;
    }
    default:
        b->bad = true;
    }
    return FC_OK;
}

fc_status fc__change_decode(const uint8_t *p, size_t n, fs_change *out,
                            fs_error *err)
{
    rbuf b = {p, n, 0, false};
    const uint8_t *magic = r_bytes(&b, 3);
    const fs_entity *e;
    const uint8_t *idp;
    fs_id row = {{0}}, dev = {{0}};
    unsigned flags, nf;
    fs_hlc tomb;
    fs_error ferr = {0};
    fs_status fst;
    fc_status rc = FC_OK;
    fs_value v = {0}, base = {0};

    memset(out, 0, sizeof *out);
    if (!magic || memcmp(magic, "FC\1", 3) != 0)
        return fc__fail(err, FC_EDB, "outbox entry has an unknown format");
    e = fs_schema_entity_by_tag((unsigned)r_u(&b, 2));
    idp = r_bytes(&b, 16);
    if (idp)
        memcpy(row.b, idp, 16);
    idp = r_bytes(&b, 16);
    if (idp)
        memcpy(dev.b, idp, 16);
    flags = (unsigned)r_u(&b, 1);
    tomb = r_u(&b, 8);
    nf = (unsigned)r_u(&b, 2);
    if (b.bad || !e)
        return fc__fail(err, FC_EDB, "outbox entry is truncated or names an "
                        "unknown entity");
    fst = fs_change_init(out, e, &row, &dev, &ferr);
    if (fst)
        return fc__from_fs(fst, &ferr, err);
    if (flags & 1u)
        fs_change_tombstone(out, (flags & 2u) != 0, tomb);
    for (unsigned i = 0; i < nf; i++) {
        int slot = fs_entity_field_index_by_tag(e, (unsigned)r_u(&b, 2));
        fs_hlc hlc, base_hlc = 0;
        bool has_base;

        rc = r_value(&b, &v, err);
        if (rc)
            goto done;
        hlc = r_u(&b, 8);
        has_base = r_u(&b, 1) != 0;
        if (has_base) {
            rc = r_value(&b, &base, err);
            if (rc)
                goto done;
            base_hlc = r_u(&b, 8);
        }
        if (b.bad || slot < 0) {
            rc = fc__fail(err, FC_EDB, "outbox entry is corrupt");
            goto done;
        }
        fst = fs_change_set(out, slot, &v, hlc, &ferr);
        if (!fst && has_base)
            fst = fs_change_set_base(out, slot, &base, base_hlc, &ferr);
        if (fst) {
            rc = fc__from_fs(fst, &ferr, err);
            goto done;
        }
        fs_value_clear(&v);
        fs_value_clear(&base);
    }
    if (b.off != b.n)
        rc = fc__fail(err, FC_EDB, "outbox entry has trailing bytes");
done:
    fs_value_clear(&v);
    fs_value_clear(&base);
    if (rc)
        fs_change_free(out);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Append, overlay, recompute                                                */
/* ------------------------------------------------------------------------ */

fc_status fc__has_overlay(fc_client *c, const fs_entity *e, const fs_id *id,
                          bool *out, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;
    int s;

    *out = false;
    rc = fc__cached(c, &c->st_has_overlay, "SELECT 1 FROM fc_outbox WHERE"
                    " entity = ?1 AND row = ?2 AND state IN (0, 1, 3) LIMIT 1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, e->tag);
    sqlite3_bind_blob(st, 2, id->b, 16, SQLITE_STATIC);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *out = true;
    else if (s != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "read outbox");
    fc__release(st);
    return rc;
}

fc_status fc__save_base(fc_client *c, const fs_row *row, int64_t seq, fs_error *err)
{
    fs_error serr = {0};
    fs_id root;
    bool has_root = false;
    fs_store_status sst = fs_store_root(c->base, row, &root, &has_root, &serr);

    /* base_ is sparse, so the parent may only be in the displayed tables;
     * the root (a customer id) is the same in both. */
    if (sst == FS_STORE_ENOPARENT)
        sst = fs_store_root(c->disp, row, &root, &has_root, &serr);
    if (sst == FS_STORE_ENOPARENT)
        has_root = false; /* parent not here yet; see ARCHITECTURE.md */
    else if (sst)
        return fc__from_store(sst, &serr, err);
    sst = fs_store_save(c->base, row, seq, has_root ? &root : NULL, &serr);
    return fc__from_store(sst, &serr, err);
}

/* Before a row's first queued change: a row without a base_ copy and
 * without pending changes is displayed exactly as the server confirmed it,
 * so that displayed row becomes its base_ copy (the overlay is about to
 * start). A row with neither has no server state (a local create). */
static fc_status ensure_base(fc_client *c, const fs_change *ch, fs_error *err)
{
    fs_row row = {0};
    fs_store_rowinfo info;
    fs_error serr = {0};
    fs_store_status sst;
    fc_status rc = FC_OK;
    bool found = false, overlay = false;

    sst = fs_store_load(c->base, ch->entity, &ch->row, &row, NULL, &found, &serr);
    if (sst) {
        rc = fc__from_store(sst, &serr, err);
        goto done;
    }
    if (found)
        goto done;
    rc = fc__has_overlay(c, ch->entity, &ch->row, &overlay, err);
    if (rc || overlay)
        goto done;
    fs_row_free(&row);
    sst = fs_store_load(c->disp, ch->entity, &ch->row, &row, &info, &found, &serr);
    if (sst) {
        rc = fc__from_store(sst, &serr, err);
        goto done;
    }
    if (found)
        rc = fc__save_base(c, &row, info.seq, err);
done:
    fs_row_free(&row);
    return rc;
}

fc_status fc__outbox_append(fc_client *c, const fs_change *ch,
                            const char *summary, fs_error *err)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    sqlite3_stmt *st = NULL;
    fc_status rc;

    rc = ensure_base(c, ch, err);
    if (!rc)
        rc = fc__change_encode(ch, &blob, &len, err);
    if (rc)
        goto done;
    rc = fc__prepare(c, "INSERT INTO fc_outbox(entity, row, change, state, summary,"
                     " created_ms) VALUES(?1, ?2, ?3, 0, ?4, ?5)", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_int(st, 1, ch->entity->tag);
    sqlite3_bind_blob(st, 2, ch->row.b, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, blob, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, summary ? summary : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)fc__now_ms(c));
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "append to outbox");
done:
    sqlite3_finalize(st);
    free(blob);
    return rc;
}

/* The parent customer a contact belongs to, for the search index. */
static bool parent_of(const fs_row *row, fs_id *out)
{
    int p = row->entity->parent;
    if (p < 0 || !row->cells || row->cells[p].v.kind != FS_VAL_ID)
        return false;
    *out = row->cells[p].v.u.id;
    return true;
}

fc_status fc__recompute(fc_client *c, const fs_entity *e, const fs_id *id,
                        fs_error *err)
{
    fs_id cust;
    bool has_cust = false;
    fc_status rc = fc__recompute_row(c, e, id, &cust, &has_cust, err);

    if (!rc && has_cust)
        rc = fc__fts_refresh(c, &cust, err);
    return rc;
}

fc_status fc__recompute_row(fc_client *c, const fs_entity *e, const fs_id *id,
                            fs_id *search, bool *has_search, fs_error *err)
{
    fs_row row = {0}, old = {0};
    fs_store_rowinfo info;
    fs_change ch = {0};
    fs_conflict_list confl = {0};
    fs_merge_ctx ctx = {.origin = FS_ORIGIN_DEVICE};
    fs_merge_result res;
    fs_error ferr = {0};
    fs_store_status sst;
    sqlite3_stmt *st = NULL;
    fc_status rc = FC_OK;
    bool found = false, old_found = false;
    fs_id root;
    bool has_root = false;
    int s;

    *has_search = false;
    sst = fs_store_load(c->disp, e, id, &old, NULL, &old_found, &ferr);
    if (sst) {
        rc = fc__from_store(sst, &ferr, err);
        goto done;
    }
    sst = fs_store_load(c->base, e, id, &row, &info, &found, &ferr);
    if (sst) {
        rc = fc__from_store(sst, &ferr, err);
        goto done;
    }
    rc = fc__cached(c, &c->st_overlay, "SELECT change FROM fc_outbox WHERE"
                    " entity = ?1 AND row = ?2 AND state IN (0, 1, 3) ORDER BY id",
                    &st, err);
    if (rc)
        goto done;
    sqlite3_bind_int(st, 1, e->tag);
    sqlite3_bind_blob(st, 2, id->b, 16, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        fs_status fst;
        rc = fc__change_decode(sqlite3_column_blob(st, 0),
                               (size_t)sqlite3_column_bytes(st, 0), &ch, err);
        if (rc)
            goto done;
        fst = fs_merge(&ctx, &row, &ch, &res, &confl, &ferr);
        fs_change_free(&ch);
        fs_conflict_list_clear(&confl);
        if (fst) {
            rc = fc__from_fs(fst, &ferr, err);
            goto done;
        }
    }
    if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "read outbox");
        goto done;
    }
    fc__release(st);
    st = NULL;
    /* With no confirmed copy, the row is shown only if its queued changes
     * create it. Edits whose create is gone (refused by the server, or the
     * row left with a scope exit) stay queued to be judged, but would show
     * a partial row (a quote with a status and no currency). */
    if (fs_row_exists(&row) && (found || row.deleted || fs_row_complete(&row))) {
        sst = fs_store_root(c->disp, &row, &root, &has_root, &ferr);
        if (sst == FS_STORE_ENOPARENT) {
            /* The parent is not here (yet): keep the row without a root
             * rather than fail the page; see ARCHITECTURE.md. */
            has_root = false;
        } else if (sst) {
            rc = fc__from_store(sst, &ferr, err);
            goto done;
        }
        sst = fs_store_save(c->disp, &row, info.seq, has_root ? &root : NULL, &ferr);
    } else {
        sst = fs_store_delete(c->disp, e, id, NULL, &ferr);
    }
    if (sst) {
        rc = fc__from_store(sst, &ferr, err);
        goto done;
    }
    if (strcmp(e->name, "customer") == 0) {
        *search = *id;
        *has_search = true;
    } else if (strcmp(e->name, "contact") == 0) {
        *has_search = parent_of(&row, search) || (old_found && parent_of(&old, search));
    }
done:
    fc__release(st);
    fs_change_free(&ch);
    fs_conflict_list_free(&confl);
    fs_row_free(&row);
    fs_row_free(&old);
    return rc;
}

fc_status fc__outbox_restamp(fc_client *c, const fs_id *dev, fs_error *err)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    fs_change ch = {0};
    uint8_t *blob = NULL;
    size_t len;
    fc_status rc;
    int s;

    rc = fc__prepare(c, "SELECT id, change FROM fc_outbox ORDER BY id", &sel, err);
    if (!rc)
        rc = fc__prepare(c, "UPDATE fc_outbox SET change = ?2 WHERE id = ?1", &upd, err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(sel)) == SQLITE_ROW) {
        rc = fc__change_decode(sqlite3_column_blob(sel, 1),
                               (size_t)sqlite3_column_bytes(sel, 1), &ch, err);
        if (rc)
            goto done;
        ch.device = *dev;
        rc = fc__change_encode(&ch, &blob, &len, err);
        fs_change_free(&ch);
        if (rc)
            goto done;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_blob(upd, 2, blob, (int)len, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            rc = fc__sqlfail(c, err, "restamp outbox");
            goto done;
        }
        sqlite3_reset(upd);
        free(blob);
        blob = NULL;
    }
    if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "restamp outbox");
        goto done;
    }
    sqlite3_finalize(sel);
    sel = NULL;
    /* Rebuild every row the outbox touches so its cells carry the new id. */
    rc = fc__prepare(c, "SELECT DISTINCT entity, row FROM fc_outbox", &sel, err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(sel)) == SQLITE_ROW) {
        const fs_entity *e = fs_schema_entity_by_tag((unsigned)sqlite3_column_int(sel, 0));
        fs_id id;
        if (!e || sqlite3_column_bytes(sel, 1) != 16)
            continue;
        memcpy(id.b, sqlite3_column_blob(sel, 1), 16);
        rc = fc__recompute(c, e, &id, err);
        if (rc)
            goto done;
    }
    if (s != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "restamp outbox");
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    fs_change_free(&ch);
    free(blob);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Restoring an unsent delete                                                */
/* ------------------------------------------------------------------------ */

/* A delete is one outbox change (a tombstone, no fields: fc_row_delete).
 * While it is pending nothing has left the device, so taking it back is
 * removing it: the row's overlay no longer holds the delete and the row is
 * displayed again, and the server never hears of it. Once it is in flight
 * (or synced) the server may already have applied it, so it is not removed
 * here. A deleted row cannot be changed further, so at most one delete is
 * queued per row. */
fc_status fc_restore(fc_client *c, const fs_id *id, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fs_change ch = {0};
    const fs_entity *e = NULL;
    int64_t oid = 0;
    bool in_flight = false, in_txn = false;
    char b[FS_ID_STRLEN + 1];
    fc_status rc;
    int s;

    if (!c || !id)
        return fc__fail(err, FC_EINVAL, "restore: NULL argument");
    rc = fc__begin(c, err);
    if (rc)
        return rc;
    in_txn = true;
    rc = fc__prepare(c, "SELECT id, entity, state, change FROM fc_outbox WHERE"
                     " row = ?1 AND state IN (0, 1) ORDER BY id", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_blob(st, 1, id->b, 16, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fc__change_decode(sqlite3_column_blob(st, 3),
                               (size_t)sqlite3_column_bytes(st, 3), &ch, err);
        if (rc)
            goto done;
        if (ch.has_tomb && ch.deleted) {
            if (sqlite3_column_int(st, 2) == 1) {
                in_flight = true;
            } else {
                oid = sqlite3_column_int64(st, 0);
                e = ch.entity;
            }
        }
        fs_change_free(&ch);
    }
    if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "read outbox");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    fs_id_format(id, b);
    if (in_flight) {
        rc = fc__fail(err, FC_ENOTFOUND, "the delete of %s is being sent to the "
                      "server; once synced only the back office can restore it", b);
        goto done;
    }
    if (!e) {
        rc = fc__fail(err, FC_ENOTFOUND, "no unsynced delete of %s to restore "
                      "(a delete already synced is restored by the back office)", b);
        goto done;
    }
    rc = fc__prepare(c, "DELETE FROM fc_outbox WHERE id = ?1 AND state = 0", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_int64(st, 1, oid);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "restore");
        goto done;
    }
    rc = fc__recompute(c, e, id, err);
    if (!rc)
        rc = fc__commit(c, err);
    in_txn = false;
done:
    if (in_txn)
        fc__rollback(c);
    sqlite3_finalize(st);
    fs_change_free(&ch);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Listing and dismissing                                                    */
/* ------------------------------------------------------------------------ */

fc_status fc_outbox_list(fc_client *c, fc_change_fn fn, void *payload,
                         fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;
    int s;

    if (!c || !fn)
        return fc__fail(err, FC_EINVAL, "fc_outbox_list: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    rc = fc__prepare(c, "SELECT id, entity, row, state, summary, reason, detail,"
                     " created_ms, change FROM fc_outbox ORDER BY id", &st, err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        fc_change_info ci;
        fs_change ch;
        bool more;
        memset(&ci, 0, sizeof ci);
        ci.id = sqlite3_column_int64(st, 0);
        ci.entity = fs_schema_entity_by_tag((unsigned)sqlite3_column_int(st, 1));
        if (sqlite3_column_bytes(st, 2) == 16)
            memcpy(ci.row.b, sqlite3_column_blob(st, 2), 16);
        ci.state = (fc_change_state)sqlite3_column_int(st, 3);
        snprintf(ci.summary, sizeof ci.summary, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(ci.reason, sizeof ci.reason, "%s", (const char *)sqlite3_column_text(st, 5));
        snprintf(ci.detail, sizeof ci.detail, "%s", (const char *)sqlite3_column_text(st, 6));
        ci.created_ms = sqlite3_column_int64(st, 7);
        if (!ci.entity)
            continue;
        /* A listing must not fail on one unreadable entry: it is shown
         * without its values. */
        if (fc__change_decode(sqlite3_column_blob(st, 8),
                              (size_t)sqlite3_column_bytes(st, 8), &ch, NULL) == FC_OK)
            ci.change = &ch;
        more = fn(&ci, payload);
        if (ci.change)
            fs_change_free(&ch);
        if (!more)
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "list outbox");
done:
    sqlite3_finalize(st);
    return rc;
}

fc_status fc_rejected_dismiss(fc_client *c, int64_t id, fs_error *err)
{
    bool deleted;
    fc_status rc;

    if (!c)
        return fc__fail(err, FC_EINVAL, "fc_rejected_dismiss: NULL argument");
    /* A rejected change is already out of the overlay, so dropping it does
     * not change any displayed row. */
    rc = fc__delete_one(c, "DELETE FROM fc_outbox WHERE id = ?1 AND state = 2", id,
                        "dismiss", &deleted, err);
    if (!rc && !deleted)
        rc = fc__fail(err, FC_ENOTFOUND, "no rejected change with id %lld "
                      "(pending changes cannot be dismissed)", (long long)id);
    return rc;
}
