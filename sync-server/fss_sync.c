/*
 * fss_sync.c - POST /v1/sync: one push-and-pull round.
 *
 * Order of work for one request: content type, connection, token, framing
 * and decode (all bounded by fs_proto limits), version and device checks;
 * then one transaction (IMMEDIATE when the batch has changes):
 *   - a batch id seen before for this device returns the stored results and
 *     applies nothing (409 if the same id arrives with different changes);
 *   - otherwise every change is scope-checked, merged with fs_merge(),
 *     stamped with server-owned fields (rep_id, planned_by / created_by,
 *     owner_rep of a rep-created customer, the rep of the check-in that
 *     stands, visit verification/time_check) through a second fs_merge
 *     with FS_ORIGIN_SERVER, saved with the next seq if it changed, and its
 *     conflict records stored; the results are stored under the batch id;
 *   - the pull reads rows and scope exits after the cursor in seq order,
 *     filtered to the rep's scope in SQL, one page at a time.
 * The response carries the server's HLC so the device can advance its own.
 * The server holds no merge logic of its own: every decision is fs_merge's.
 */
#include "fss_int.h"
#include "fs_geo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>

#define RESULT_DETAIL_MAX 159

/* ---------------------------------------------------------------------- */
/* Batch digest and stored results                                         */
/* ---------------------------------------------------------------------- */

static void dig_u64(gnutls_hash_hd_t h, uint64_t v)
{
    uint8_t b[8];
    int i;

    for (i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    gnutls_hash(h, b, 8);
}

static void dig_value(gnutls_hash_hd_t h, const fs_value *v)
{
    dig_u64(h, (uint64_t)v->kind);
    switch (v->kind) {
    case FS_VAL_NULL: break;
    case FS_VAL_INT: dig_u64(h, (uint64_t)v->u.i); break;
    case FS_VAL_REAL: {
        uint64_t bits;
        memcpy(&bits, &v->u.r, 8);
        dig_u64(h, bits);
        break;
    }
    case FS_VAL_TEXT:
        dig_u64(h, v->u.text.n);
        gnutls_hash(h, v->u.text.p, v->u.text.n);
        break;
    case FS_VAL_ID: gnutls_hash(h, v->u.id.b, 16); break;
    }
}

/* A digest of what the batch asks to change (not of the body bytes: a retry
 * may carry a newer cursor, page size or client time, and may be framed
 * differently, yet it is the same batch). */
static fss_status batch_digest(const fs_sync_request *rq, uint8_t out[32],
                               fs_error *err)
{
    gnutls_hash_hd_t h;
    size_t i, k;

    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        return fss__fail(err, FSS_ENOMEM, "hash init");
    dig_u64(h, rq->nchanges);
    for (i = 0; i < rq->nchanges; i++) {
        const fs_change *c = &rq->changes[i];
        dig_u64(h, c->entity ? c->entity->tag : 0);
        gnutls_hash(h, c->row.b, 16);
        dig_u64(h, c->nfields);
        for (k = 0; k < c->nfields; k++) {
            const fs_field_change *f = &c->fields[k];
            dig_u64(h, f->slot);
            dig_value(h, &f->v);
            dig_u64(h, f->hlc);
            dig_u64(h, f->has_base);
            if (f->has_base) {
                dig_value(h, &f->base);
                dig_u64(h, f->base_hlc);
            }
        }
        dig_u64(h, (uint64_t)c->has_tomb | ((uint64_t)c->deleted << 1));
        dig_u64(h, c->tomb_hlc);
    }
    for (i = 0; i < rq->nerrors; i++)
        dig_u64(h, rq->errors[i].index);
    gnutls_hash_deinit(h, out);
    return FSS_OK;
}

/* Stored results: per result index u32, outcome u8, reason u8, detail
 * length u8, detail bytes. Little-endian; versioned by the leading byte. */
static fss_status results_pack(const fs_sync_result *r, size_t n, fss_buf *b,
                               fs_error *err)
{
    size_t i;
    uint8_t v = 1;

    fss_buf_add(b, &v, 1);
    for (i = 0; i < n; i++) {
        uint8_t hdr[7];
        size_t dl = strnlen(r[i].detail, RESULT_DETAIL_MAX);
        hdr[0] = (uint8_t)r[i].index;
        hdr[1] = (uint8_t)(r[i].index >> 8);
        hdr[2] = (uint8_t)(r[i].index >> 16);
        hdr[3] = (uint8_t)(r[i].index >> 24);
        hdr[4] = (uint8_t)r[i].outcome;
        hdr[5] = (uint8_t)r[i].reason;
        hdr[6] = (uint8_t)dl;
        fss_buf_add(b, hdr, 7);
        fss_buf_add(b, r[i].detail, dl);
    }
    return b->oom ? fss__fail(err, FSS_ENOMEM, "results") : FSS_OK;
}

static fss_status results_unpack(const uint8_t *p, size_t n,
                                 fs_sync_result **out, size_t *nout,
                                 fs_error *err)
{
    size_t pos = 1, cap = 0, cnt = 0;
    fs_sync_result *r = NULL;

    *out = NULL;
    *nout = 0;
    if (n < 1 || p[0] != 1)
        return fss__fail(err, FSS_EDB, "stored batch results: bad format");
    while (pos < n) {
        size_t dl;
        if (n - pos < 7)
            goto bad;
        dl = p[pos + 6];
        if (n - pos - 7 < dl || dl > RESULT_DETAIL_MAX)
            goto bad;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            void *q = realloc(r, nc * sizeof *r);
            if (!q) {
                free(r);
                return fss__fail(err, FSS_ENOMEM, "results");
            }
            r = q;
            cap = nc;
        }
        memset(&r[cnt], 0, sizeof r[cnt]);
        r[cnt].index = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 |
                       (uint32_t)p[pos + 2] << 16 | (uint32_t)p[pos + 3] << 24;
        r[cnt].outcome = (fs_outcome)p[pos + 4];
        r[cnt].reason = (fs_reason)p[pos + 5];
        memcpy(r[cnt].detail, p + pos + 7, dl);
        cnt++;
        pos += 7 + dl;
    }
    *out = r;
    *nout = cnt;
    return FSS_OK;
bad:
    free(r);
    return fss__fail(err, FSS_EDB, "stored batch results: truncated");
}

/* ---------------------------------------------------------------------- */
/* Applying one change                                                     */
/* ---------------------------------------------------------------------- */

/* Scope answers already known in this request's transaction, so the two
 * checks per change (the stored row's root, the merged row's root) and the
 * many changes of one customer's subtree in a batch ask SQL once per
 * customer. Direct-mapped on a hash of the id; a collision just
 * replaces the slot. Valid only inside one transaction (IMMEDIATE: no other
 * writer interleaves) and cleared whenever this request saves a customer,
 * the only row whose change can move a subtree in or out of a scope. */
#define SCOPE_MEMO_SLOTS 1024
typedef struct scope_memo {
    fs_id id[SCOPE_MEMO_SLOTS];
    bool known[SCOPE_MEMO_SLOTS];
    bool in[SCOPE_MEMO_SLOTS];
} scope_memo;

typedef struct sync_ctx {
    fss_server *s;
    fss_conn *c;
    const fss_device *dev;
    fs_conflict_list conflicts; /* reused per change */
    fs_conflict_list server_conflicts;
    scope_memo scope;
    /* The request's cursor: the pushing device had pulled nothing saved
     * after it, which is what its deletes had seen (fs_delete_saw). */
    uint64_t cursor;
    /* The change being applied claims a pool customer and the claim
     * stands: server_stamps makes the rep its owner. */
    bool claim_won;
    /* Customer ids the batch names that are no merged duplicate, sorted:
     * their redirect lookup is skipped (prefetch_batch). */
    fs_id *unmerged;
    size_t nunmerged;
    /* The request is recorded on the device's row (sync_record). */
    bool recorded;
} sync_ctx;

static size_t memo_slot(const fs_id *cust)
{
    uint64_t h = 0;

    /* All 16 bytes: UUIDv7 tails are random, but imported ids need not be. */
    for (int i = 0; i < 16; i++)
        h = (h ^ cust->b[i]) * UINT64_C(0x100000001b3);
    return (size_t)(h >> 32) % SCOPE_MEMO_SLOTS;
}

/* fss__customer_in_scope for the device's rep, answered from the memo when
 * this request has asked before. */
static fss_status in_scope(sync_ctx *x, const fs_id *cust, bool *in,
                           fs_error *err)
{
    size_t k = memo_slot(cust);
    fss_status rc;

    if (x->scope.known[k] && fs_id_cmp(&x->scope.id[k], cust) == 0) {
        *in = x->scope.in[k];
        return FSS_OK;
    }
    /* A draining device (offboard --drain) is judged against the scope its
     * rep had when it was offboarded: that is what it was working on. */
    rc = x->dev->draining
             ? fss__repo_drain_in_scope(x->c, x->dev->rep, cust, in, err)
             : fss__customer_in_scope(x->c, x->dev->rep, cust, in, err);
    /* A rep who could see a duplicate merged into cust may still write
     * there: its late writes to the duplicate are redirected to cust
     * (fss_dedup.c) and must not be lost to the scope check. */
    if (rc == FSS_OK && !*in)
        rc = fss__repo_merged_in_scope(x->c, x->dev->rep, cust, in, err);
    if (rc == FSS_OK) {
        x->scope.id[k] = *cust;
        x->scope.in[k] = *in;
        x->scope.known[k] = true;
    }
    return rc;
}

static const fs_value *cell_val(const fs_row *row, const char *field)
{
    int i = fs_entity_field_index(row->entity, field);
    return i < 0 ? NULL : &row->cells[i].v;
}

/* Is the row `id` of entity `e` stored and locked (fs_row_locked: a quote
 * that is no longer a draft)? */
static fss_status parent_locked(sync_ctx *x, const fs_entity *e, const fs_id *id,
                                bool *locked, fs_error *err)
{
    fs_row q = {0};
    bool found = false;
    fss_status rc;

    *locked = false;
    rc = fss__repo_row_load(x->c, e, id, &q, NULL, &found, err);
    if (rc == FSS_OK && found)
        *locked = fs_row_locked(&q);
    fs_row_free(&q);
    return rc;
}

static const fs_field_change *change_field(const fs_change *c, const char *name)
{
    int slot = fs_entity_field_index(c->entity, name);
    size_t i;

    for (i = 0; slot >= 0 && i < c->nfields; i++)
        if (c->fields[i].slot == slot)
            return &c->fields[i];
    return NULL;
}

/* ctx.frozen for a change: does its row hang off a locked row (a line of a
 * quote that is no longer a draft)? The parent is the stored one, or for a
 * new row the one the change names. A locked row's own fields need no flag:
 * fs_merge reads the lock from the stored row. */
static fss_status frozen_check(sync_ctx *x, const fs_change *chg,
                               const fs_row *stored, bool *frozen,
                               fs_error *err)
{
    const fs_entity *e = chg->entity;
    const fs_entity *pe = e->parent >= 0 ? fs_schema_entity(e->parent_entity) : NULL;
    const fs_value *pv;
    const fs_field_change *f;

    *frozen = false;
    if (!pe || !fs_entity_has_lifecycle(pe))
        return FSS_OK;
    pv = &stored->cells[e->parent].v;
    f = change_field(chg, e->fields[e->parent].name);
    if (pv->kind == FS_VAL_ID)
        return parent_locked(x, pe, &pv->u.id, frozen, err);
    if (f && f->v.kind == FS_VAL_ID)
        return parent_locked(x, pe, &f->v.u.id, frozen, err);
    return FSS_OK;
}

static bool real_of(const fs_value *v, double *out)
{
    if (!v || v->kind != FS_VAL_REAL)
        return false;
    *out = v->u.r;
    return true;
}

/* Queues a server write of the device's rep into field `name` of the row
 * when `when` holds and the field does not already say so. */
static fs_status stamp_rep(sync_ctx *x, fs_change *sc, const fs_row *row,
                           const char *name, bool when, fs_hlc now, fs_error *serr)
{
    int slot = fs_entity_field_index(row->entity, name);
    fs_value v = {0};
    fs_status st;

    if (slot < 0 || !when)
        return FS_OK;
    if (row->cells[slot].hlc != 0 && row->cells[slot].v.kind == FS_VAL_TEXT &&
        strcmp(row->cells[slot].v.u.text.p, x->dev->rep) == 0)
        return FS_OK;
    st = fs_value_text(&v, x->dev->rep, strlen(x->dev->rep), serr);
    if (st == FS_OK)
        st = fs_change_set(sc, slot, &v, now, serr);
    fs_value_clear(&v);
    return st;
}

/* Who did the visit: the rep whose check-in stands in the merged row. The
 * check-in fields are written together in one change, so checkin_at's
 * writer is the check-in's writer; when this device's check-in is the one
 * the merge kept, its rep becomes the visit's rep_id. A check-in that lost
 * to a concurrent one changes nothing, so whatever order two offline
 * check-ins arrive in, rep_id ends as the rep of the winning one
 * (docs/ARCHITECTURE.md, "Who did the visit"). */
static bool checkin_is_this_devices(const sync_ctx *x, const fs_change *dchg,
                                    const fs_row *row)
{
    int ci = fs_entity_field_index(row->entity, "checkin_at");

    return strcmp(row->entity->name, "visit") == 0 && ci >= 0 &&
           change_field(dchg, "checkin_at") && row->cells[ci].hlc != 0 &&
           fs_id_cmp(&row->cells[ci].device, &x->dev->id) == 0;
}

/* Server-owned stamps on a row a device just wrote: rep_id on rows it
 * created (and on a visit it checked in at), planned_by / created_by on
 * rows it created, owner_rep on customers it created, and visit
 * verification. */
static fss_status server_stamps(sync_ctx *x, const fs_change *dchg,
                                fs_row *row, bool created, fs_error *err)
{
    fs_change sc;
    fs_value v = {0};
    fs_hlc now = fss__tick(x->s);
    fs_merge_ctx ctx;
    fs_merge_result res;
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    int slot;
    const fs_entity *e = row->entity;

    if (fs_change_init(&sc, e, &row->id, &fss_server_device, &serr) != FS_OK)
        return fss__fail(err, FSS_ENOMEM, "%s", serr.text);

    slot = fs_entity_field_index(e, "rep_id");
    if (slot >= 0 &&
        stamp_rep(x, &sc, row, "rep_id",
                  row->cells[slot].hlc == 0 || checkin_is_this_devices(x, dchg, row),
                  now, &serr) != FS_OK)
        goto fail;
    if (stamp_rep(x, &sc, row, "planned_by", created, now, &serr) != FS_OK ||
        stamp_rep(x, &sc, row, "created_by", created, now, &serr) != FS_OK ||
        stamp_rep(x, &sc, row, "opened_by", created, now, &serr) != FS_OK)
        goto fail;
    slot = fs_entity_field_index(e, "owner_rep");
    if (created && slot >= 0 && row->cells[slot].hlc == 0 &&
        strcmp(e->name, "customer") == 0) {
        /* A customer a rep creates belongs to that rep until the back office
         * assigns it (docs/ARCHITECTURE.md, "Sync server"); one a draining
         * device created goes where its rep's customers went (the heir, or
         * the pool: no owner). */
        const char *owner = x->dev->draining ? x->dev->heir : x->dev->rep;
        if (owner[0] &&
            (fs_value_text(&v, owner, strlen(owner), &serr) != FS_OK ||
             fs_change_set(&sc, slot, &v, now, &serr) != FS_OK))
            goto fail;
        fs_value_clear(&v);
    }
    /* A claim that stood (claim_check): the claimer owns the customer. */
    if (x->claim_won && slot >= 0 &&
        (fs_value_text(&v, x->dev->rep, strlen(x->dev->rep), &serr) != FS_OK ||
         fs_change_set(&sc, slot, &v, now, &serr) != FS_OK))
        goto fail;
    fs_value_clear(&v);
    if (strcmp(e->name, "visit") == 0 &&
        (change_field(dchg, "checkin_lat") || change_field(dchg, "checkin_lon") ||
         change_field(dchg, "checkin_at"))) {
        const char *verdict = fs_geo_verdict(false, 0, 0);
        double vlat, vlon, clat, clon;
        const fs_value *pv = cell_val(row, "customer_id");
        int ci = fs_entity_field_index(e, "checkin_at");

        if (pv && pv->kind == FS_VAL_ID &&
            real_of(cell_val(row, "checkin_lat"), &vlat) &&
            real_of(cell_val(row, "checkin_lon"), &vlon)) {
            fs_row cust = {0};
            bool found = false;
            fs_error lerr = {0};
            if (fss__repo_row_load(x->c, fs_schema_entity("customer"), &pv->u.id,
                                   &cust, NULL, &found, &lerr) == FSS_OK &&
                found && real_of(cell_val(&cust, "lat"), &clat) &&
                real_of(cell_val(&cust, "lon"), &clon))
                verdict = fs_geo_verdict(true, fs_geo_distance_m(vlat, vlon, clat, clon),
                                         x->s->cfg.geofence_m);
            fs_row_free(&cust);
        }
        slot = fs_entity_field_index(e, "verification");
        if (fs_value_text(&v, verdict, strlen(verdict), &serr) != FS_OK ||
            fs_change_set(&sc, slot, &v, now, &serr) != FS_OK)
            goto fail;
        fs_value_clear(&v);
        if (ci >= 0 && row->cells[ci].v.kind == FS_VAL_INT) {
            /* The capture time must sit near the HLC of the write that
             * carried it: a check-in "captured" long before (or after) the
             * device's clock says it was written is suspect. */
            int64_t cap = row->cells[ci].v.u.i;
            int64_t wrote = (int64_t)fs_hlc_ms(row->cells[ci].hlc);
            int64_t diff = wrote > cap ? wrote - cap : cap - wrote;
            const char *tc = (uint64_t)diff > x->s->cfg.time_check_ms ? "suspect" : "ok";
            slot = fs_entity_field_index(e, "time_check");
            if (fs_value_text(&v, tc, strlen(tc), &serr) != FS_OK ||
                fs_change_set(&sc, slot, &v, now, &serr) != FS_OK)
                goto fail;
            fs_value_clear(&v);
        }
    }
    if (sc.nfields > 0) {
        memset(&ctx, 0, sizeof ctx);
        ctx.origin = FS_ORIGIN_SERVER;
        ctx.now = now;
        ctx.max_ahead_ms = x->s->cfg.max_ahead_ms;
        if (fs_merge(&ctx, row, &sc, &res, &x->server_conflicts, &serr) != FS_OK)
            goto fail;
    }
    fs_change_free(&sc);
    return rc;
fail:
    fs_value_clear(&v);
    fs_change_free(&sc);
    return fss__fail(err, FSS_EINVAL, "server stamp: %s", serr.text);
}

static void set_result(fs_sync_result *r, size_t index, fs_outcome o,
                       fs_reason reason, const char *detail)
{
    memset(r, 0, sizeof *r);
    r->index = (uint32_t)index;
    r->outcome = o;
    r->reason = reason;
    /* The one place results are set: a detail quoting client bytes (a
     * validation message) is made valid UTF-8 and cut at a character
     * boundary to the result's size, so the stored results of a batch can
     * always be encoded, now and on every retry. */
    fs_utf8_clean(r->detail, sizeof r->detail, detail, detail ? strlen(detail) : 0);
}

static fss_status reject(sync_ctx *x, const fs_change *chg, size_t index,
                         fs_reason reason, fs_rule rule, const char *detail,
                         fs_sync_result *r, fs_error *err)
{
    set_result(r, index, FS_REJECTED, reason, detail);
    fss__metrics_reject(&x->s->metrics, reason);
    return fss__store_rejection(x->c, chg, rule, x->dev->rep, detail, err);
}

/* Scope of a customer for a write: in scope, or - deleted - in the scope the
 * rep would have were it not deleted. Such a write is kept, merged hidden
 * and recorded (fs_merge, ctx.hidden_by), like a write to a deleted row;
 * a write from outside the placement stays a scope rejection. */
static fss_status write_scope(sync_ctx *x, const fs_id *cust, bool *in,
                              fs_error *err)
{
    fss_status rc = in_scope(x, cust, in, err);

    if (rc == FSS_OK && !*in)
        rc = fss__customer_hidden_in_scope(x->c, x->dev->rep, cust, in, err);
    return rc;
}

/* The nearest deleted ancestor of the row a change writes: from the stored
 * row's parent, or for a new row from the parent the change sets. */
static fss_status change_hider(sync_ctx *x, const fs_change *chg,
                               const fs_row *stored, bool found, fs_hider *h,
                               bool *hidden, fs_error *err)
{
    const fs_entity *e = chg->entity;
    const fs_field_change *f;

    *hidden = false;
    if (found)
        return fss__row_hider(x->c, stored, h, hidden, err);
    if (e->parent < 0 || !e->parent_entity)
        return FSS_OK;
    f = change_field(chg, e->fields[e->parent].name);
    if (!f || f->v.kind != FS_VAL_ID)
        return FSS_OK;
    return fss__find_hider(x->c, fs_schema_entity(e->parent_entity), &f->v.u.id, h,
                           hidden, err);
}

/* A contract made from a quote carries the quote's derived total and
 * currency (fss_quote.c): a device change that leaves them different is
 * refused with both numbers in the reason, nothing stored. */
static fss_status contract_check(sync_ctx *x, const fs_change *chg,
                                 const fs_row *merged, size_t index,
                                 fs_sync_result *r, bool *refused, fs_error *err)
{
    char why[160];
    bool ok = true;
    fss_status rc = fss__contract_quote_check(x->c, chg, merged, &ok, why,
                                              sizeof why, err);

    *refused = false;
    if (rc != FSS_OK || ok)
        return rc;
    *refused = true;
    return reject(x, chg, index, FS_REASON_INVALID, FS_RULE_INVALID, why, r, err);
}

/* A device change to an existing customer that writes claimed_by claims it
 * from the public pool (docs/PROTOCOL.md, "Claims"): the value must be the
 * device's own rep; the claim is judged now, at arrival (fss__claim_judge:
 * the first to arrive wins), and refused whole with reason CLAIM and the
 * rule's words when it does not stand. */
static fss_status claim_check(sync_ctx *x, const fs_change *chg,
                              const fs_row *stored, size_t index,
                              fs_sync_result *r, bool *refused, fs_error *err)
{
    const fs_field_change *f = change_field(chg, "claimed_by");
    char why[160] = "";
    fss_status rc;

    *refused = false;
    x->claim_won = false;
    if (!f)
        return FSS_OK;
    if (f->v.kind != FS_VAL_TEXT || strcmp(f->v.u.text.p, x->dev->rep) != 0) {
        *refused = true;
        return reject(x, chg, index, FS_REASON_INVALID, FS_RULE_INVALID,
                      "claimed_by can only name your own rep (claim the "
                      "customer, or leave the field alone)", r, err);
    }
    rc = fss__claim_judge(x->s, x->c, x->dev->rep, &x->dev->id, stored,
                          &x->claim_won, why, sizeof why, err);
    if (rc != FSS_OK || x->claim_won)
        return rc;
    *refused = true;
    return reject(x, chg, index, FS_REASON_CLAIM, FS_RULE_CLAIM, why, r, err);
}

/* A ticket's status moves only as fs_ticket.c allows a device, judged
 * against the stored status before anything merges: a refused move (a rep
 * "resolving" a ticket, which is the back office's) rejects the change
 * whole with the rule's reason and is recorded; so does a second rating. */
static fss_status ticket_check(sync_ctx *x, const fs_change *chg,
                               const fs_row *stored, size_t index,
                               fs_sync_result *r, bool *refused, fs_error *err)
{
    const fs_field_change *f;
    fs_error terr = {0};
    char why[200];

    *refused = false;
    if (strcmp(chg->entity->name, "ticket") != 0)
        return FSS_OK;
    /* One score per ticket: the first to arrive stands, a later one (from
     * any device, same value or not) is refused and recorded. */
    if ((change_field(chg, "rating") || change_field(chg, "rating_note") ||
         change_field(chg, "rated_at")) &&
        fs_ticket_check_rate(stored, &terr) != FS_OK) {
        *refused = true;
        snprintf(why, sizeof why, "ticket rating: %.180s", terr.text);
        return reject(x, chg, index, FS_REASON_INVALID, FS_RULE_INVALID, why, r, err);
    }
    f = change_field(chg, "status");
    if (!f && fs_row_exists(stored))
        return FSS_OK;
    if (fs_ticket_check_write(stored, f ? &f->v : NULL, false, &terr) == FS_OK)
        return FSS_OK;
    *refused = true;
    snprintf(why, sizeof why, "ticket status: %.180s", terr.text);
    return reject(x, chg, index, FS_REASON_INVALID, FS_RULE_INVALID, why, r, err);
}

static fss_status apply_change(sync_ctx *x, const fs_change *chg, size_t index,
                               fs_sync_result *r, fs_error *err)
{
    fs_row row = {0}, orig = {0};
    fss_rowinfo info;
    fs_merge_result res;
    fs_merge_ctx ctx;
    fss_repset before = {0};
    fs_hider hider;
    bool found = false, in = false, frozen = false, is_customer, has_root;
    bool hidden = false, refused = false, saved = false;
    fs_id root;
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    char detail[200];

    fs_conflict_list_clear(&x->conflicts);
    fs_conflict_list_clear(&x->server_conflicts);
    is_customer = strcmp(chg->entity->name, "customer") == 0;
    if ((rc = fss__repo_row_load(x->c, chg->entity, &chg->row, &row, &info,
                                 &found, err)) != FSS_OK)
        goto done;
    /* An existing row must already be in the rep's scope (products are
     * reference data: fs_merge rejects device writes to them). */
    if (found && !(chg->entity->flags & FS_ENTITY_READONLY)) {
        if (!info.has_root)
            in = false;
        else if ((rc = write_scope(x, &info.root, &in, err)) != FSS_OK)
            goto done;
        if (!in) {
            rc = reject(x, chg, index, FS_REASON_SCOPE, FS_RULE_SCOPE,
                        "row is outside your scope", r, err);
            goto done;
        }
    }
    x->claim_won = false;
    if (is_customer && found &&
        ((rc = claim_check(x, chg, &row, index, r, &refused, err)) != FSS_OK ||
         refused))
        goto done;
    if (fs_row_copy(&orig, &row, &serr) != FS_OK) {
        rc = fss__fail(err, FSS_ENOMEM, "row copy");
        goto done;
    }
    if ((rc = ticket_check(x, chg, &row, index, r, &refused, err)) != FSS_OK || refused)
        goto done;
    if ((rc = frozen_check(x, chg, &row, &frozen, err)) != FSS_OK ||
        (rc = change_hider(x, chg, &row, found, &hider, &hidden, err)) != FSS_OK)
        goto done;
    if (is_customer && found &&
        (rc = fss__customer_reps(x->c, &chg->row, &before, err)) != FSS_OK)
        goto done;

    memset(&ctx, 0, sizeof ctx);
    ctx.origin = FS_ORIGIN_DEVICE;
    ctx.now = fss__tick(x->s);
    ctx.max_ahead_ms = x->s->cfg.max_ahead_ms;
    ctx.frozen = frozen;
    ctx.hidden_by = hidden ? &hider : NULL;
    ctx.row_unseen = found && info.seq > (int64_t)x->cursor;
    if (fs_merge(&ctx, &row, chg, &res, &x->conflicts, &serr) != FS_OK) {
        rc = reject(x, chg, index, FS_REASON_INVALID, FS_RULE_INVALID,
                    serr.text, r, err);
        goto done;
    }
    if (res.outcome == FS_REJECTED) {
        set_result(r, index, res.outcome, res.reason, res.detail);
        fss__metrics_reject(&x->s->metrics, res.reason);
        rc = fss__store_conflicts(x->c, &x->conflicts, x->dev->rep, err);
        fss__metrics_conflicts(&x->s->metrics, &x->conflicts);
        goto done;
    }
    /* The row rules judge the merged row (a checkout against the stored
     * check-in): a write that breaks one is refused whole, nothing stored. */
    if (fs_row_check(&row, chg, !found, fs_hlc_ms(ctx.now), &serr) != FS_OK) {
        rc = reject(x, chg, index, FS_REASON_INVALID, FS_RULE_INVALID, serr.text, r, err);
        goto done;
    }
    /* Where does the merged row hang? A new row must hang off a customer in
     * scope; a write-once parent cannot move an existing row elsewhere, but
     * check the merged placement all the same. A new customer is in scope
     * by construction (its creator becomes owner_rep below). */
    if (!(chg->entity->flags & FS_ENTITY_READONLY) && !(is_customer && !found)) {
        fs_error rerr = {0};
        fss_status rst = fss__repo_row_root(x->c, &row, &root, &has_root, &rerr);
        if (rst == FSS_ENOTFOUND || (rst == FSS_OK && !has_root)) {
            snprintf(detail, sizeof detail, "parent row of this %s is unknown",
                     chg->entity->name);
            rc = reject(x, chg, index, FS_REASON_SCOPE, FS_RULE_SCOPE, detail,
                        r, err);
            goto done;
        }
        if (rst != FSS_OK) {
            rc = fss__fail(err, FSS_EDB, "%s", rerr.text);
            goto done;
        }
        if ((rc = write_scope(x, &root, &in, err)) != FSS_OK)
            goto done;
        if (!in) {
            rc = reject(x, chg, index, FS_REASON_SCOPE, FS_RULE_SCOPE,
                        "parent customer is outside your scope", r, err);
            goto done;
        }
    }
    if ((rc = contract_check(x, chg, &row, index, r, &refused, err)) != FSS_OK ||
        refused)
        goto done;
    if ((rc = server_stamps(x, chg, &row, !found, err)) != FSS_OK)
        goto done;
    /* The device had seen nothing saved after its cursor. */
    rc = fss__save_merged(x->c, &orig, &row, found, &before,
                          (int64_t)x->cursor, &saved, err);
    /* A saved customer's tombstone (or a server stamp) may have moved it;
     * an edit that leaves owner, territory and tombstone alone cannot. */
    if (saved && is_customer && (!found || !fss__customer_placement_eq(&orig, &row)))
        memset(x->scope.known, 0, sizeof x->scope.known);
    /* A customer a draining device creates joins its drain scope, so the
     * rows it hangs below it in the same outbox are judged in scope. */
    if (rc == FSS_OK && saved && is_customer && !found && x->dev->draining)
        rc = fss__repo_drain_scope_add(x->c, x->dev->rep, &row.id, err);
    if (rc != FSS_OK)
        goto done;
    set_result(r, index, res.outcome, res.reason, res.detail);
    if (res.outcome != FS_APPLIED)
        fss__metrics_reject(&x->s->metrics, res.reason);
    fss__metrics_conflicts(&x->s->metrics, &x->conflicts);
    rc = fss__store_conflicts(x->c, &x->conflicts, x->dev->rep, err);
    if (rc == FSS_OK)
        rc = fss__store_conflicts(x->c, &x->server_conflicts, x->dev->rep, err);
done:
    fs_row_free(&row);
    fs_row_free(&orig);
    fss_repset_free(&before);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Pull                                                                    */
/* ---------------------------------------------------------------------- */

/* A pull returns, in seq order, the rows of the rep's scope and the rep's
 * scope exits after the cursor: a page of them, plus one to learn has_more.
 * The repository runs it by one of two plans that give the same answer at
 * different costs (tests/server test_pull_plans proves they agree; the
 * plans and their costs are described with the SQL, fss_repo_sync.c):
 * SEQ walks everything changed since the cursor, SCOPE probes the scope's
 * customers. choose_plan() takes SCOPE only when both costs are bounded:
 * the probes are fewer than the seqs handed out since the cursor (an upper
 * bound of what SEQ visits) and the scope has at most
 * PULL_SCOPE_MAX_CUSTOMERS_PER_PAGE x page customers, and the whole pull
 * fits in PULL_SCOPE_MAX_PAGES pages. Both questions are counts with a
 * LIMIT, so deciding costs at most a few thousand index steps - on every
 * page, which for a bootstrap of a large scope was 14% of the server's
 * time (docs/BENCHMARKS.md, issue 19) for an answer that never changes
 * from one page to the next. So the scope size is counted once per pull
 * and kept on the connection (fss__repo_scope_size): the next page of the same
 * rep reuses it while fewer than PULL_SCOPE_RECOUNT_SEQS seqs have been
 * handed out since. Both plans return the same page (test_pull_plans), so
 * a count gone stale can cost time, never a row.
 *
 * The progress total (count_pending, asked once per sync; libfieldclient
 * asks on its second request, while it applies the first page) counts the whole pull, and both plans count the same rows, so it
 * is counted by the cheaper one, whatever the scope's size and row count
 * (the page limits above are about SCOPE sorting a whole pull on every
 * page; a count is one pass without a sort). SEQ visits every row changed
 * since the cursor, reading the row for its root and then its customer
 * (two more b-tree descents); SCOPE probes each table's (root, seq) index
 * once per customer (an insert into the IN list and a descent) and steps
 * over the scope's entries, reading no row. So SCOPE counts when its
 * probes are fewer than PULL_COUNT_SCOPE_FACTOR x the seqs since the
 * cursor: at 1.1x (a first sync of a 10,000-row scope, 9 scoped tables,
 * 1,250 customers) it took 0.6x of SEQ's time, and on a first sync SEQ
 * counts the whole store, other reps' rows included (docs/BENCHMARKS.md,
 * session 9). Its answer also settles SCOPE's row bound, so no separate
 * limited count runs then. */
#define PULL_COUNT_SCOPE_FACTOR 2
#define PULL_SCOPE_MAX_PAGES 4
#define PULL_SCOPE_MAX_CUSTOMERS_PER_PAGE 8
#define PULL_SCOPE_RECOUNT_SEQS 1000

/* What a whole pull from `cursor` by `plan` brings: the progress total. */
static fss_status count_pending(sync_ctx *x, fss_pull_plan plan,
                                uint64_t cursor, uint64_t *out, fs_error *err)
{
    int64_t n = 0;
    fss_status rc = fss__repo_pull_count(x->c, plan, x->dev->rep, cursor, -1,
                                         &n, err);

    *out = (uint64_t)n;
    return rc;
}

/* The plan of this page and, when `pending` is not NULL, the whole pull's
 * count into it. */
static fss_status choose_plan(sync_ctx *x, uint64_t cursor, int64_t cur,
                              uint32_t page, uint64_t *pending,
                              fss_pull_plan *plan, fs_error *err)
{
    size_t ne = 0, i, tables = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    int64_t changed = cur - (int64_t)cursor, customers = 0, rows = 0;
    int64_t max_rows = (int64_t)PULL_SCOPE_MAX_PAGES * page;
    int64_t max_page_customers = (int64_t)PULL_SCOPE_MAX_CUSTOMERS_PER_PAGE * page;
    int64_t max_customers;
    fss_pull_plan counter = FSS_PULL_SEQ; /* the plan that counts */
    bool scope_pages = false;             /* SCOPE may serve the pages */
    fss_status rc;

    *plan = x->s->cfg.pull_plan;
    if (*plan != FSS_PULL_AUTO)
        return pending ? count_pending(x, *plan, cursor, pending, err) : FSS_OK;
    *plan = FSS_PULL_SEQ;
    for (i = 0; i < ne; i++)
        tables += fss__scoped_entity(ents[i]);
    /* SEQ visits at most `changed` rows: cheap already for a page */
    if (changed > (int64_t)page && tables > 0) {
        max_customers = changed / (int64_t)tables;
        if (pending)
            max_customers *= PULL_COUNT_SCOPE_FACTOR;
        else if (max_customers > max_page_customers)
            max_customers = max_page_customers;
        rc = fss__repo_scope_size(x->c, x->dev->rep, max_customers + 1, cur,
                                  PULL_SCOPE_RECOUNT_SEQS, &customers, err);
        if (rc != FSS_OK)
            return rc;
        scope_pages = customers <= max_page_customers &&
                      customers * (int64_t)tables < changed;
        if (customers * (int64_t)tables < PULL_COUNT_SCOPE_FACTOR * changed)
            counter = FSS_PULL_SCOPE;
    }
    if (pending) {
        if ((rc = count_pending(x, counter, cursor, pending, err)) != FSS_OK)
            return rc;
        rows = (int64_t)*pending;
    } else if (scope_pages &&
               (rc = fss__repo_pull_count(x->c, FSS_PULL_SCOPE, x->dev->rep,
                                          cursor, max_rows + 1, &rows,
                                          err)) != FSS_OK)
        return rc;
    if (scope_pages && rows <= max_rows)
        *plan = FSS_PULL_SCOPE;
    return FSS_OK;
}

/* One page being filled from the repository's pull items. */
typedef struct pull_page {
    sync_ctx *x;
    fs_sync_response *out;
    uint32_t page;
    size_t n;
    uint64_t last;
} pull_page;

static fss_status pull_item(const fss_pull_item *it, void *arg, bool *stop,
                            fs_error *err)
{
    pull_page *p = arg;
    fs_sync_response *out = p->out;

    (void)err;
    if (p->n == p->page) {
        out->has_more = true;
        *stop = true;
        return FSS_OK;
    }
    if (!it->is_exit) {
        if (!it->row)
            return FSS_OK; /* an entity this server does not know */
        /* the pull statement read the row: it is taken, not copied */
        out->rows[out->nrows].row = *it->row;
        memset(it->row, 0, sizeof *it->row);
        out->rows[out->nrows++].seq = (uint64_t)it->seq;
    } else {
        fs_scope_exit *ex = &out->exits[out->nexits++];
        ex->entity = fs_schema_entity("customer");
        ex->row = it->id;
        ex->reason = (fs_exit_reason)it->tag;
    }
    p->last = (uint64_t)it->seq;
    p->n++;
    return FSS_OK;
}

static fss_status pull(sync_ctx *x, fss_pull_plan plan, uint64_t cursor,
                       int64_t cur, uint32_t page, fs_sync_response *out,
                       fs_error *err)
{
    pull_page p = {.x = x, .out = out, .page = page, .last = cursor};
    fss_status rc;

    out->rows = calloc(page ? page : 1, sizeof *out->rows);
    out->exits = calloc(page ? page : 1, sizeof *out->exits);
    if (!out->rows || !out->exits)
        return fss__fail(err, FSS_ENOMEM, "pull page");
    rc = fss__repo_pull(x->c, plan, x->dev->rep, cursor, (int64_t)page + 1,
                        pull_item, &p, err);
    if (rc != FSS_OK)
        return rc;
    /* A complete pull has seen everything up to the current seq, including
     * rows outside the scope it skipped: the next cursor jumps there. */
    out->next_cursor = out->has_more ? p.last : (uint64_t)cur;
    if (out->next_cursor < cursor)
        out->next_cursor = cursor;
    return FSS_OK;
}

/* ---------------------------------------------------------------------- */
/* The handler                                                             */
/* ---------------------------------------------------------------------- */

/* The response was built here (not decoded), so it is released here: the
 * arrays are plain malloc and only the first nrows rows were loaded. */
static void response_free(fs_sync_response *out)
{
    size_t i;

    for (i = 0; i < out->nrows; i++)
        fs_row_free(&out->rows[i].row);
    free(out->rows);
    free(out->exits);
    free(out->results);
    free(out->conflicts);
    memset(out, 0, sizeof *out);
}


static fss_status lookup_batch(sync_ctx *x, const fs_id *batch,
                               const uint8_t digest[32], bool *seen,
                               bool *same, fs_sync_response *out,
                               fs_error *err)
{
    uint8_t stored[32];
    fss_buf results = {0};
    fss_status rc;

    *seen = *same = false;
    rc = fss__repo_batch_get(x->c, &x->dev->id, batch, seen, stored, &results,
                             err);
    if (rc != FSS_OK || !*seen || !fss_ct_equal(stored, digest, 32))
        goto done;
    *same = true;
    rc = results_unpack((const uint8_t *)results.data, results.len, &out->results,
                        &out->nresults, err);
done:
    fss_buf_free(&results);
    return rc;
}

#define FSS_BATCHES_KEPT 8 /* per device, newest first */

static fss_status store_batch(sync_ctx *x, const fs_id *batch,
                              const uint8_t digest[32],
                              const fs_sync_response *out, fs_error *err)
{
    fss_buf b = {0};
    fss_status rc = results_pack(out->results, out->nresults, &b, err);

    if (rc == FSS_OK)
        rc = fss__repo_batch_put(x->c, &x->dev->id, batch, digest, b.data,
                                 b.len, (int64_t)fss_now_ms(), FSS_BATCHES_KEPT,
                                 err);
    fss_buf_free(&b);
    return rc;
}

static const fs_proto_change_error *find_error(const fs_sync_request *rq,
                                               size_t index)
{
    size_t i;

    for (i = 0; i < rq->nerrors; i++)
        if (rq->errors[i].index == index)
            return &rq->errors[i];
    return NULL;
}

/* The steps of one request below return: go on, stop with the error body
 * already in the response, or stop with an internal error (err says why;
 * the handler rolls back and answers 500). */
typedef enum step {
    STEP_OK, STEP_REFUSED, STEP_INTERNAL
} step;

/* Method, content type, a pooled connection (x->c) and the bearer token. */
static step sync_admit(sync_ctx *x, const fss_request *req, fss_device *dev,
                       fss_response *resp)
{
    fss_server *s = x->s;
    fss_auth_result ar;

    if (!req->method || strcmp(req->method, "POST") != 0) {
        fss__error_proto(s, resp, 405, FS_PROTO_ERR_BAD_REQUEST, false,
                         "method %s not allowed on /v1/sync (use POST)",
                         req->method ? req->method : "?");
        return STEP_REFUSED;
    }
    if (!fss__ctype_is_protobuf(req->content_type)) {
        fss__error_proto(s, resp, 415, FS_PROTO_ERR_BAD_REQUEST, false,
                         "Content-Type must be application/x-protobuf, not %s",
                         req->content_type ? req->content_type : "(none)");
        return STEP_REFUSED;
    }
    x->c = fss__conn_get(s, 10000);
    if (!x->c) {
        fss__error_proto(s, resp, 503, FS_PROTO_ERR_BUSY, false,
                         "server busy, retry later");
        resp->retry_after_s = 1;
        return STEP_REFUSED;
    }
    ar = fss__authenticate(s, x->c, req->authorization, req->remote_addr, dev);
    if (ar == FSS_AUTH_OK || ar == FSS_AUTH_DRAIN) {
        fs_id_format(&dev->id, resp->device);
        return STEP_OK;
    }
    if (ar == FSS_AUTH_REVOKED)
        fss__error_proto(s, resp, 401, FS_PROTO_ERR_REVOKED, true,
                         "device revoked: delete the local replica and "
                         "enroll again");
    else if (ar == FSS_AUTH_LIMITED) {
        fss__error_proto(s, resp, 429, FS_PROTO_ERR_BUSY, false,
                         "too many failed authentications from this "
                         "address; retry later");
        resp->retry_after_s = s->cfg.auth_fail_window_s;
    } else
        fss__error_proto(s, resp, 401, FS_PROTO_ERR_UNAUTHORIZED, false,
                         ar == FSS_AUTH_MISSING
                             ? "missing \"Authorization: Bearer <token>\""
                             : "invalid device token");
    return STEP_REFUSED;
}

/* Framing and decode (bounded by lim), protocol version, the request's
 * device against the token's; folds a plausible device clock into ours and
 * settles the page size. */
static step sync_decode(sync_ctx *x, const fss_request *req,
                        const fs_proto_limits *lim, fs_proto_encoding *enc,
                        fs_sync_request *rq, uint32_t *page,
                        fss_response *resp, fs_error *err)
{
    fss_server *s = x->s;
    fs_proto_status pst;

    pst = fs_proto_encoding_parse(req->content_encoding,
                                  req->content_encoding ? strlen(req->content_encoding) : 0,
                                  enc, err);
    if (pst == FS_PROTO_OK)
        pst = fs_proto_sync_request_decode(req->body, req->body_len, *enc, lim,
                                           rq, NULL, err);
    if (pst != FS_PROTO_OK) {
        fss__error_proto(s, resp, fs_proto_http_status(pst),
                         fs_proto_status_error_code(pst), false, "%s",
                         err->text[0] ? err->text : fs_proto_strerror(pst));
        return STEP_REFUSED;
    }
    resp->rows_in = rq->nchanges;
    if (rq->version != FS_PROTO_VERSION) {
        fss__error_proto(s, resp, 400, FS_PROTO_ERR_UNSUPPORTED_VERSION, false,
                         "protocol_version %u not supported (server speaks %u)",
                         rq->version, FS_PROTO_VERSION);
        return STEP_REFUSED;
    }
    if (fs_id_cmp(&rq->device_id, &x->dev->id) != 0) {
        fss__error_proto(s, resp, 403, FS_PROTO_ERR_UNAUTHORIZED, false,
                         "device_id does not match the token's device");
        return STEP_REFUSED;
    }
    /* Fold the device's clock into ours only when it is plausible: a device
     * clock far in the future must not drag the server's HLC (and with it
     * the clock guard) forward. */
    if (rq->client_time &&
        fs_hlc_ms(rq->client_time) <= fss_now_ms() + s->cfg.max_ahead_ms)
        fss__clock_recv(s, rq->client_time);
    *page = rq->page_size ? rq->page_size : s->cfg.page_size;
    if (*page > s->cfg.max_page_size)
        *page = s->cfg.max_page_size;
    if (*page > lim->max_rows)
        *page = (uint32_t)lim->max_rows;
    return STEP_OK;
}

/* Opens the request's transaction (a write transaction when it pushes) and
 * checks the cursor against the current seq (*cur). */
static step sync_begin(sync_ctx *x, const fs_sync_request *rq, int64_t *cur,
                       fss_response *resp, fs_error *err)
{
    if ((rq->nchanges ? fss__begin_late(x->c, err)
                      : fss__begin_read(x->c, err)) != FSS_OK ||
        fss__current_seq(x->c, cur, err) != FSS_OK)
        return STEP_INTERNAL;
    if (rq->cursor > (uint64_t)*cur) {
        fss__error_proto(x->s, resp, 400, FS_PROTO_ERR_BAD_CURSOR, false,
                         "cursor %llu is ahead of the server (%lld): "
                         "bootstrap again with cursor 0",
                         (unsigned long long)rq->cursor, (long long)*cur);
        return STEP_REFUSED;
    }
    return STEP_OK;
}

static int id_order(const void *a, const void *b)
{
    return fs_id_cmp(a, b);
}

/* Known (prefetch_batch) to be no merged duplicate? */
static bool unmerged(const sync_ctx *x, const fs_id *id)
{
    return x->nunmerged &&
           bsearch(id, x->unmerged, x->nunmerged, sizeof *id, id_order) != NULL;
}

/* The customer a change names for redirect_change: the row of a customer
 * change, the parent of a row hanging off a customer. */
static const fs_id *named_customer(const fs_change *chg)
{
    const fs_entity *e = chg->entity;

    if (strcmp(e->name, "customer") == 0)
        return &chg->row;
    if (e->parent < 0 || !e->parent_entity || strcmp(e->parent_entity, "customer") != 0)
        return NULL;
    for (size_t k = 0; k < chg->nfields; k++)
        if ((int)chg->fields[k].slot == e->parent && chg->fields[k].v.kind == FS_VAL_ID)
            return &chg->fields[k].v.u.id;
    return NULL;
}

/* The scope memo, filled for the customers the batch's rows hang off with
 * one query per chunk (on PostgreSQL, where each scope check is a round
 * trip): only customers in scope are remembered - for the others in_scope
 * still asks its fallbacks. A draining device is judged against another
 * scope (its drain scope) and is left to in_scope. */
static fss_status prefill_scope(sync_ctx *x, const fss_rowref *refs, size_t n,
                                fs_error *err)
{
    fs_id *roots;
    bool *in;
    size_t nr = 0;
    fss_status rc = FSS_OK;

    if (x->dev->draining || !fss__repo_batched(x->c))
        return FSS_OK;
    roots = calloc(n + 1, sizeof *roots);
    in = calloc(n + 1, sizeof *in);
    if (!roots || !in) {
        rc = fss__fail(err, FSS_ENOMEM, "scope prefill");
        goto done;
    }
    for (size_t i = 0; i < n && rc == FSS_OK; i++) {
        fs_row row = {0};
        fss_rowinfo info;
        bool found = false;
        if (strcmp(refs[i].e->name, "customer") == 0) {
            roots[nr++] = refs[i].id;
            continue;
        }
        rc = fss__repo_row_load(x->c, refs[i].e, &refs[i].id, &row, &info, &found, err);
        if (rc == FSS_OK && found && info.has_root)
            roots[nr++] = info.root;
        fs_row_free(&row);
    }
    if (rc == FSS_OK && nr) {
        /* one question per customer, however many rows hang off it */
        size_t u = 1;
        qsort(roots, nr, sizeof *roots, id_order);
        for (size_t i = 1; i < nr; i++)
            if (fs_id_cmp(&roots[i], &roots[u - 1]) != 0)
                roots[u++] = roots[i];
        nr = u;
        rc = fss__repo_in_scope_which(x->c, x->dev->rep, roots, nr, in, err);
    }
    for (size_t i = 0; rc == FSS_OK && i < nr; i++) {
        size_t k = memo_slot(&roots[i]);
        if (!in[i])
            continue;
        x->scope.id[k] = roots[i];
        x->scope.in[k] = true;
        x->scope.known[k] = true;
    }
done:
    free(roots);
    free(in);
    return rc;
}

/* What the batch's changes will read, asked in a few statements instead of
 * a few per change (issue 18; on PostgreSQL each is a round trip, with the
 * sequence counter's lock held): every changed row and the parent its
 * change names, with their ancestors, into the row cache; and which of the
 * customers the changes name were merged away (the rest skip
 * redirect_change's lookup). The changes are then judged one by one as
 * before, against the same rows. */
static fss_status prefetch_batch(sync_ctx *x, const fs_sync_request *rq,
                                 fs_error *err)
{
    fss_rowref *refs = calloc(2 * rq->nchanges + 1, sizeof *refs);
    fs_id *custs = calloc(rq->nchanges + 1, sizeof *custs);
    bool *merged = calloc(rq->nchanges + 1, sizeof *merged);
    size_t n = 0, nc = 0, i;
    fss_status rc = FSS_OK;

    if (!refs || !custs || !merged) {
        rc = fss__fail(err, FSS_ENOMEM, "batch prefetch");
        goto done;
    }
    for (i = 0; i < rq->nchanges; i++) {
        const fs_change *chg = &rq->changes[i];
        const fs_entity *e = chg->entity;
        const fs_id *cust;
        if (!e || find_error(rq, i))
            continue;
        refs[n].e = e;
        refs[n++].id = chg->row;
        if (e->parent >= 0 && e->parent_entity) {
            const fs_field_change *f = change_field(chg, e->fields[e->parent].name);
            if (f && f->v.kind == FS_VAL_ID) {
                refs[n].e = fs_schema_entity(e->parent_entity);
                refs[n++].id = f->v.u.id;
            }
        }
        if ((cust = named_customer(chg)) != NULL)
            custs[nc++] = *cust;
    }
    if ((rc = fss__repo_rows_prefetch(x->c, refs, n, true, err)) != FSS_OK ||
        (rc = fss__repo_merged_which(x->c, custs, nc, merged, err)) != FSS_OK ||
        (rc = prefill_scope(x, refs, n, err)) != FSS_OK)
        goto done;
    x->nunmerged = 0;
    for (i = 0; i < nc; i++)
        if (!merged[i])
            custs[x->nunmerged++] = custs[i];
    qsort(custs, x->nunmerged, sizeof *custs, id_order);
    free(x->unmerged);
    x->unmerged = custs;
    custs = NULL;
done:
    free(refs);
    free(custs);
    free(merged);
    return rc;
}

/* A change addressed to a merged customer - the customer itself, or a new
 * row naming it as parent - goes to the survivor instead (docs/
 * ARCHITECTURE.md, "merges"): the change is rewritten in place before it is
 * judged. *from gets the merged id. */
static fss_status redirect_change(sync_ctx *x, fs_change *chg, bool *redirected,
                                  fs_id *from, fs_error *err)
{
    const fs_entity *e = chg->entity;
    fs_id to;
    fss_status rc;

    *redirected = false;
    if (!named_customer(chg) || unmerged(x, named_customer(chg)))
        return FSS_OK;
    if (strcmp(e->name, "customer") == 0) {
        *from = chg->row;
        rc = fss__redirect_of(x->c, &chg->row, &to, NULL, redirected, err);
        if (rc == FSS_OK && *redirected)
            chg->row = to;
        return rc;
    }
    if (e->parent < 0 || !e->parent_entity || strcmp(e->parent_entity, "customer") != 0)
        return FSS_OK;
    for (size_t k = 0; k < chg->nfields; k++) {
        fs_field_change *f = &chg->fields[k];
        if ((int)f->slot != e->parent || f->v.kind != FS_VAL_ID)
            continue;
        *from = f->v.u.id;
        rc = fss__redirect_of(x->c, &f->v.u.id, &to, NULL, redirected, err);
        if (rc == FSS_OK && *redirected)
            f->v.u.id = to;
        return rc;
    }
    return FSS_OK;
}

/* Every change of a new batch, in order, each with its result (its rows
 * read by prefetch_batch before). */
static fss_status apply_batch(sync_ctx *x, const fs_sync_request *rq,
                              fs_sync_response *out, fs_error *err)
{
    size_t i;

    out->results = calloc(rq->nchanges, sizeof *out->results);
    if (!out->results)
        return fss__fail(err, FSS_ENOMEM, "results");
    out->nresults = rq->nchanges;
    x->cursor = rq->cursor;
    for (i = 0; i < rq->nchanges; i++) {
        const fs_proto_change_error *ce = find_error(rq, i);
        fss_status rc;
        if (ce || !rq->changes[i].entity) {
            /* Audited under what the change named, as far as the decoder
             * could read it (entity, row, writes). */
            fs_change z;
            memset(&z, 0, sizeof z);
            z.device = x->dev->id;
            rc = reject(x, ce ? &ce->change : &z, i, FS_REASON_INVALID,
                        FS_RULE_INVALID, ce ? ce->text : "invalid change",
                        &out->results[i], err);
        } else {
            bool redirected = false;
            fs_id from;
            rc = redirect_change(x, &rq->changes[i], &redirected, &from, err);
            if (rc == FSS_OK)
                rc = apply_change(x, &rq->changes[i], i, &out->results[i], err);
            /* Tell the device where its write went (it learns the new
             * parent from the rows it pulls). */
            if (rc == FSS_OK && redirected && out->results[i].outcome != FS_REJECTED) {
                char from_t[FS_ID_STRLEN + 1], detail[160];
                fs_id_format(&from, from_t);
                snprintf(detail, sizeof detail,
                         "customer %.8s... was merged into another customer; "
                         "this change was applied there", from_t);
                set_result(&out->results[i], i, FS_MERGED, FS_REASON_REDIRECTED,
                           detail);
            }
        }
        if (rc != FSS_OK)
            return rc;
    }
    return FSS_OK;
}

/*
 * Records the request on the device's row: last_seen, and the outbox the
 * device reported (docs/PROTOCOL.md "Outbox report"). A push does it in
 * its write transaction (no statement or commit of its own); a pull on its
 * own, after its read transaction. x->recorded is set by the caller once
 * that is durable; a request refused after authentication records only
 * last_seen (fss_handle_sync).
 */
static fss_status sync_record(sync_ctx *x, const fs_sync_request *rq, fs_error *err)
{
    const fss_outbox_report r = {.has_pending = rq->has_outbox_pending,
                                 .has_rejected = rq->has_rejected_held,
                                 .pending = rq->outbox_pending,
                                 .rejected = rq->rejected_held};

    return fss__repo_device_report(x->c, &x->dev->id, (int64_t)fss_now_ms(), &r, err);
}

/* What a push reads before it writes: its batch record and, for a new
 * batch, the rows its changes will read (prefetch_batch). */
static fss_status push_reads(sync_ctx *x, const fs_sync_request *rq,
                             const uint8_t digest[32], bool *seen, bool *same,
                             fs_sync_response *out, fs_error *err)
{
    fss_status rc = lookup_batch(x, &rq->batch_id, digest, seen, same, out, err);

    if (rc == FSS_OK && !*seen)
        rc = prefetch_batch(x, rq, err);
    return rc;
}

/* Whether what push_reads read still stands under the lock although a
 * writer committed in between (fss__repo_reads_fresh): the customers the
 * scope memo answered for are checked with the cached rows. */
static fss_status reads_fresh(sync_ctx *x, const fs_id *batch, bool *fresh,
                              fs_error *err)
{
    fs_id custs[SCOPE_MEMO_SLOTS];
    size_t n = 0;

    for (size_t k = 0; k < SCOPE_MEMO_SLOTS; k++)
        if (x->scope.known[k])
            custs[n++] = x->scope.id[k];
    return fss__repo_reads_fresh(x->c, &x->dev->id, batch, custs, n, fresh, err);
}

/* Forgets what push_reads read: a writer committed before the lock and
 * the reads do not stand (fss__repo_reads_fresh has emptied the row
 * cache). */
static void push_forget(sync_ctx *x, fs_sync_response *out)
{
    memset(&x->scope, 0, sizeof x->scope);
    free(x->unmerged);
    x->unmerged = NULL;
    x->nunmerged = 0;
    free(out->results);
    out->results = NULL;
    out->nresults = 0;
}

/* The push, inside the write transaction: a batch id seen before answers
 * with its stored results (409 if its changes differ), a new one is applied
 * and stored. Commits, then opens the pull's read transaction (*cur anew).
 *
 * On PostgreSQL the reads come before the sequence counter's lock
 * (fss__begin_late), so the lock every writer of the store queues for is
 * held for the merge and the writes alone: at 2 processes the queue for it
 * was the convoy of issue 18 (docs/ARCHITECTURE.md, "Several processes").
 * When another writer committed in between, the reads are made again
 * under the lock, so the merge still sees rows no one else is changing. A
 * batch already recorded needs no lock: its answer is read, not written. */
static step sync_push(sync_ctx *x, const fs_sync_request *rq,
                      fs_sync_response *out, bool *seen, int64_t *cur,
                      fss_response *resp, fs_error *err)
{
    uint8_t digest[32];
    bool same = false, stale = false;

    if (batch_digest(rq, digest, err) != FSS_OK ||
        push_reads(x, rq, digest, seen, &same, out, err) != FSS_OK)
        return STEP_INTERNAL;
    if (!*seen) {
        bool fresh = false;
        if (fss__lock_late(x->c, &stale, err) != FSS_OK ||
            (stale && reads_fresh(x, &rq->batch_id, &fresh, err) != FSS_OK))
            return STEP_INTERNAL;
        if (stale)
            fss__metrics_push_reread(&x->s->metrics, fresh);
        if (stale && !fresh) {
            push_forget(x, out);
            if (push_reads(x, rq, digest, seen, &same, out, err) != FSS_OK)
                return STEP_INTERNAL;
        }
    }
    if (*seen && !same) {
        fss__error_proto(x->s, resp, 409, FS_PROTO_ERR_BATCH_CONFLICT, false,
                         "batch id already used with different changes");
        return STEP_REFUSED;
    }
    if (*seen)
        fss__metrics_replay(&x->s->metrics);
    else if (apply_batch(x, rq, out, err) != FSS_OK ||
             store_batch(x, &rq->batch_id, digest, out, err) != FSS_OK)
        return STEP_INTERNAL;
    if (sync_record(x, rq, err) != FSS_OK)
        return STEP_INTERNAL;
    /* The push commits on its own: the pull below only reads, and holding
     * the write lock through it would serialise every pushing device behind
     * every other's pull. The pull's snapshot is newer and includes this
     * batch; if it fails, the retried batch is answered from fss_batches. */
    if (fss__commit(x->c, err) != FSS_OK)
        return STEP_INTERNAL;
    x->recorded = true;
    if (fss__begin_read(x->c, err) != FSS_OK ||
        fss__current_seq(x->c, cur, err) != FSS_OK)
        return STEP_INTERNAL;
    return STEP_OK;
}

/* The pull page (with the pending count when asked, and the rep's open
 * conflicts on the last page), then the end of the read transaction. */
static fss_status sync_pull(sync_ctx *x, const fs_sync_request *rq,
                            int64_t cur, uint32_t page, fs_sync_response *out,
                            fs_error *err)
{
    fss_pull_plan plan = FSS_PULL_SEQ;
    fss_status rc;

    if ((rc = choose_plan(x, rq->cursor, cur, page,
                          rq->count_pending ? &out->pending : NULL, &plan,
                          err)) != FSS_OK)
        return rc;
    out->has_pending = rq->count_pending;
    fss__metrics_pull(&x->s->metrics, plan);
    if ((rc = pull(x, plan, rq->cursor, cur, page, out, err)) != FSS_OK)
        return rc;
    /* Read in the same transaction as the page, so the list matches it. */
    if (!out->has_more &&
        (rc = fss__open_conflicts(x->c, x->dev->rep, out, err)) != FSS_OK)
        return rc;
    return fss__commit(x->c, err);
}

/* The answer to a draining device (offboard --drain; docs/PROTOCOL.md,
 * "Offboarding"): nothing is pulled. While its requests carry changes the
 * drain stays open and has_more asks for the next batch of its outbox; the
 * first request without changes (outbox empty) ends the drain and answers
 * wipe, so every queued change is pushed and judged once before the wipe.
 * A replayed batch adds nothing to the drained count. */
static fss_status sync_drain(sync_ctx *x, const fs_sync_request *rq, bool seen,
                             fs_sync_response *out, fs_error *err)
{
    fss_status rc;

    fss__rollback(x->c); /* the push committed; this was a read */
    if ((rc = fss__begin_immediate(x->c, err)) != FSS_OK)
        return rc;
    if (rq->nchanges && !seen)
        rc = fss__repo_device_drain_add(x->c, x->dev->rep,
                                        (int64_t)rq->nchanges, err);
    if (rc == FSS_OK && !rq->nchanges)
        rc = fss__repo_device_drained(x->c, &x->dev->id, err);
    if (rc == FSS_OK)
        rc = fss__commit(x->c, err);
    out->next_cursor = rq->cursor;
    out->has_more = rq->nchanges > 0;
    out->wipe = rq->nchanges == 0;
    return rc;
}

/* Encodes the response in the request's framing into resp. The zlib level
 * is the config's (1 by default): at zlib's default (6) deflate was a
 * quarter of the server's time serving a bootstrap, for a few percent of
 * bytes on the wire (docs/BENCHMARKS.md, issue 19). */
static fss_status sync_reply(fss_server *s, fs_sync_response *out,
                             fs_proto_encoding enc, fss_response *resp,
                             fs_error *err)
{
    fs_proto_buf body = {0};
    fs_proto_limits lim = fs_proto_limits_default();
    fs_proto_status st;
    fss_status rc = FSS_OK;

    out->version = FS_PROTO_VERSION;
    out->server_time = fss__tick(s);
    lim.deflate_level = (int)s->cfg.deflate_level;
    st = fs_proto_sync_response_encode(out, enc, &lim, &body, err);
    /* An answer asked for uncompressed (a fast link, PROTOCOL.md "Framing")
     * that would pass max_body goes compressed instead: a client decodes
     * by the answer's Content-Encoding, and the page still fits. */
    if (st == FS_PROTO_EBODY_LIMIT && enc == FS_PROTO_IDENTITY) {
        enc = FS_PROTO_DEFLATE;
        st = fs_proto_sync_response_encode(out, enc, &lim, &body, err);
    }
    if (st != FS_PROTO_OK) {
        rc = FSS_EINVAL;
        goto done;
    }
    resp->body = malloc(body.len ? body.len : 1);
    if (!resp->body) {
        rc = fss__fail(err, FSS_ENOMEM, "response body");
        goto done;
    }
    memcpy(resp->body, body.data, body.len);
    resp->body_len = body.len;
    resp->status = 200;
    resp->content_type = "application/x-protobuf";
    resp->content_encoding = enc == FS_PROTO_IDENTITY ? NULL
                                                      : fs_proto_encoding_name(enc);
done:
    fs_proto_buf_free(&body);
    return rc;
}

void fss_handle_sync(fss_server *s, const fss_request *req,
                     fss_response *resp)
{
    sync_ctx x;
    fss_device dev;
    fs_sync_request rq;
    fs_sync_response out;
    fs_proto_limits lim = fs_proto_limits_default();
    fs_proto_encoding enc = FS_PROTO_IDENTITY;
    fs_error err = {0};
    uint32_t page = 0;
    int64_t cur = 0;
    bool seen = false, dev_ok;
    step st;

    memset(&x, 0, sizeof x);
    memset(&rq, 0, sizeof rq);
    memset(&out, 0, sizeof out);
    x.s = s;
    x.dev = &dev;
    lim.max_body = s->cfg.max_body;
    lim.max_inflated = s->cfg.max_inflated;

    st = sync_admit(&x, req, &dev, resp);
    dev_ok = st == STEP_OK;
    if (st == STEP_OK)
        st = sync_decode(&x, req, &lim, &enc, &rq, &page, resp, &err);
    if (st == STEP_OK)
        st = sync_begin(&x, &rq, &cur, resp, &err);
    if (st == STEP_OK && rq.nchanges)
        st = sync_push(&x, &rq, &out, &seen, &cur, resp, &err);
    if (st == STEP_OK && dev.draining) {
        if (sync_drain(&x, &rq, seen, &out, &err) != FSS_OK)
            st = STEP_INTERNAL;
    } else if (st == STEP_OK &&
               sync_pull(&x, &rq, cur, page, &out, &err) != FSS_OK)
        st = STEP_INTERNAL;
    /* A request without changes records itself once served, on its own
     * and best effort as last_seen always was: the page is answered even
     * if this write fails. */
    if (st == STEP_OK && !rq.nchanges)
        x.recorded = sync_record(&x, &rq, NULL) == FSS_OK;
    if (st == STEP_OK) {
        if (!seen)
            fss__metrics_add(&s->metrics, rq.nchanges, 0, 0);
        fss__metrics_add(&s->metrics, 0, out.nrows, out.nexits);
        resp->rows_out = out.nrows;
        if (sync_reply(s, &out, enc, resp, &err) != FSS_OK)
            st = STEP_INTERNAL;
        /* A drain's has_more asks for more of the outbox, not a page. */
        resp->has_next = st == STEP_OK && out.has_more && !dev.draining;
        resp->next_cursor = out.next_cursor;
    }
    if (st == STEP_INTERNAL) {
        if (x.c)
            fss__rollback(x.c);
        fss__error_proto(s, resp, 500, FS_PROTO_ERR_INTERNAL, false,
                         "internal error: %s", err.text);
    }
    /* Authenticated but not recorded (refused, or the push failed):
     * last_seen still says the device was here. */
    if (x.c && dev_ok && !x.recorded) {
        fss__rollback(x.c);
        fss__repo_device_seen(x.c, &dev.id, (int64_t)fss_now_ms());
    }
    if (x.c)
        fss__conn_put(s, x.c);
    fs_proto_sync_request_free(&rq);
    response_free(&out);
    fs_conflict_list_free(&x.conflicts);
    fs_conflict_list_free(&x.server_conflicts);
    free(x.unmerged);
}
