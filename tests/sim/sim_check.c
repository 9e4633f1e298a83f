/*
 * sim_check.c - quiescence and the end-of-run checks of DESIGN.md section 8.
 *
 * Faults off, every device syncs until nothing is left, twice. Then:
 *  (a) convergence: each live device's fc_export equals, byte for byte, the
 *      server's export of its rep's scope (GET /admin/v1/reps/{id}/export);
 *  (b) no silent loss: every local write the harness made reached the
 *      server (one distinct change per write, from the request log), and
 *      every change the server answered is, in the server's store, applied
 *      (the cell carries its stamp or a newer one), superseded with a stored
 *      conflict record naming it, or rejected with a stored record; and
 *      under deletes (check_hidden_writes): a write hidden by its row's or
 *      an ancestor's tombstone that the delete had not seen (standing and
 *      newer than it, or sent after the delete stood) is named by a record;
 *  (c) exactly once: no conflict record stored twice for one write, one
 *      stored rejection per rejected change, each device's newest answered
 *      batch recorded (the online checks add: one batch id per change, a
 *      replayed batch gets the same verdicts);
 *  (f) the revoked device was wiped and its files are gone.
 * (d) scope and (e) e-sign are checked online (sim_net.c, sim_work.c).
 * The store checks read the server's SQLite file after a graceful stop.
 */
#include "sim.h"
#include "fs_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct membuf {
    char *p;
    size_t n, cap;
} membuf;

static int membuf_write(const char *buf, size_t n, void *payload)
{
    membuf *m = payload;
    if (m->n + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        char *np;
        while (cap < m->n + n + 1)
            cap *= 2;
        if (!(np = realloc(m->p, cap)))
            return -1;
        m->p = np;
        m->cap = cap;
    }
    memcpy(m->p + m->n, buf, n);
    m->n += n;
    m->p[m->n] = '\0';
    return 0;
}

static void quiesce(sim *s)
{
    s->in_quiesce = true;
    for (unsigned i = 0; i < s->ndev; i++)
        s->dev[i].faults_on = false;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < s->ndev; i++) {
            sim_dev *d = &s->dev[i];
            fs_error err = {0};
            fc_status rc;
            if (d->wiped)
                continue;
            rc = sim_sync(d, &err);
            if (rc != FC_OK && !(rc == FC_EWIPED && d->revoked))
                sim_violation("quiescence: dev%d sync: %s (%s)", d->index,
                              fc_strerror(rc), err.text);
            sim_observe_replica(d, "quiescence");
        }
    }
    for (unsigned i = 0; i < s->ndev; i++) {
        sim_dev *d = &s->dev[i];
        fc_info info;
        if (d->revoked && !d->wiped)
            sim_violation("dev%d was revoked but never wiped", d->index);
        if (d->wiped || !d->c || fc_info_get(d->c, &info, NULL) != FC_OK)
            continue;
        if (info.pending || info.in_flight)
            sim_violation("dev%d still has %zu pending (%zu in flight) after quiescence",
                          d->index, info.pending, info.in_flight);
    }
}

/* Prints where two exports first differ. */
static void report_diff(int dev, const char *a, const char *b)
{
    size_t line = 1;
    const char *la = a, *lb = b;

    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    sim_violation("convergence: dev%d export differs from the server's at line %zu:\n"
                  "    device: %.130s\n    server: %.130s", dev, line, la, lb);
}

static void check_convergence(sim *s)
{
    for (unsigned i = 0; i < s->ndev; i++) {
        sim_dev *d = &s->dev[i];
        membuf mine = {0};
        sim_http h = {0};
        fs_error err = {0};
        char path[128];

        if (d->wiped || !d->c)
            continue;
        if (fc_export(d->c, membuf_write, &mine, &err) != FC_OK || !mine.p) {
            sim_violation("dev%d: fc_export: %s", d->index, err.text);
        } else {
            snprintf(path, sizeof path, "reps/%s/export", s->reps[d->rep].uuid);
            if (sim_admin(&s->srv, "GET", path, NULL, &h) != 200 || !h.body)
                sim_violation("server export for rep%d: HTTP %ld", d->rep, h.status);
            else if (h.len != mine.n || memcmp(h.body, mine.p, mine.n) != 0)
                report_diff(d->index, mine.p, (const char *)h.body);
        }
        sim_http_free(&h);
        free(mine.p);
    }
}

/* (b), client side: every local write became exactly one distinct change in
 * the requests, except what a revoked device had not sent when it was
 * wiped. */
static void check_writes_sent(sim *s)
{
    char t[FS_ID_STRLEN + 1];

    for (size_t i = 0; i < s->writes.cap; i++) {
        int32_t dev;
        fs_id row;
        size_t *sent, made;
        if (!s->writes.used[i])
            continue;
        memcpy(&dev, s->writes.keys[i].b, sizeof dev);
        memcpy(row.b, s->writes.keys[i].b + 4, 16);
        made = s->writes.vals[i];
        sent = sim_map_get(&s->sent_per_row, &s->writes.keys[i]);
        fs_id_format(&row, t);
        /* An offboarding with --drain (issue 17) loses nothing either. */
        if (((!s->dev[dev].revoked || s->dev[dev].drain) && (sent ? *sent : 0) != made) ||
            (sent ? *sent : 0) > made)
            sim_violation("silent loss: dev%d made %zu writes to %s but sent %zu changes",
                          dev, made, t, sent ? *sent : 0);
    }
    for (size_t i = 0; i < s->sent_per_row.cap; i++)
        if (s->sent_per_row.used[i] && !sim_map_get(&s->writes, &s->sent_per_row.keys[i]))
            sim_violation("a device sent changes for a row it never wrote");
}

typedef struct store_ctx {
    sqlite3 *db;
    fs_store *st;
    sqlite3_stmt *by_yours, *rejections, *batch, *by_value;
} store_ctx;

/* Records on (row, field) whose stored or incoming value is `json`. */
static int records_with_value(store_ctx *x, const fs_id *row, const char *field,
                              const char *json)
{
    int n = 0;
    sqlite3_reset(x->by_value);
    sqlite3_bind_blob(x->by_value, 1, row->b, 16, SQLITE_STATIC);
    sqlite3_bind_text(x->by_value, 2, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(x->by_value, 3, json, -1, SQLITE_STATIC);
    if (sqlite3_step(x->by_value) == SQLITE_ROW)
        n = sqlite3_column_int(x->by_value, 0);
    return n;
}

/* Conflict records naming (row, field, device, stamp) as the losing or
 * overwriting write; field NULL = any field. */
static int records_for(store_ctx *x, const fs_id *row, const char *field,
                       const fs_id *dev, fs_hlc hlc)
{
    int n = 0;
    sqlite3_reset(x->by_yours);
    sqlite3_bind_blob(x->by_yours, 1, row->b, 16, SQLITE_STATIC);
    sqlite3_bind_blob(x->by_yours, 2, dev->b, 16, SQLITE_STATIC);
    sqlite3_bind_int64(x->by_yours, 3, (int64_t)hlc);
    if (field)
        sqlite3_bind_text(x->by_yours, 4, field, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(x->by_yours, 4);
    if (sqlite3_step(x->by_yours) == SQLITE_ROW)
        n = sqlite3_column_int(x->by_yours, 0);
    return n;
}

static int rejections_for(store_ctx *x, const fs_id *row, const fs_id *dev)
{
    int n = 0;
    sqlite3_reset(x->rejections);
    sqlite3_bind_blob(x->rejections, 1, row->b, 16, SQLITE_STATIC);
    sqlite3_bind_blob(x->rejections, 2, dev->b, 16, SQLITE_STATIC);
    if (sqlite3_step(x->rejections) == SQLITE_ROW)
        n = sqlite3_column_int(x->rejections, 0);
    return n;
}

/* Issue 17: the customer a change to a merged customer went to (the
 * survivor), or NULL when the change's row is no merged customer. */
static const fs_id *survivor_of(sim *s, const sim_sent *e)
{
    int ci, fi;

    if (strcmp(e->e->name, "customer") != 0 || (ci = sim_customer_index(s, &e->row)) < 0 ||
        !s->cust[ci].merged)
        return NULL;
    fi = sim_customer_final(s, ci);
    return fi >= 0 ? &s->cust[fi].id : NULL;
}

/* A change answered REDIRECTED must have been addressed to a customer the
 * back office merged: the customer itself, or (a new row) its parent. */
static bool redirect_expected(sim *s, const sim_sent *e)
{
    sim_key k = sim_key_make(0, &e->row, 0);
    size_t *root;

    if (strcmp(e->e->name, "customer") == 0)
        return survivor_of(s, e) != NULL;
    root = sim_map_get(&s->roots, &k);
    return root && s->cust[*root].merged;
}

/* One answered change against the store. */
static void check_change(sim *s, store_ctx *x, const sim_sent *e)
{
    const fs_id *dev = &s->dev[e->dev].id, *surv = survivor_of(s, e);
    /* A change to a merged customer judged after the merge was applied to
     * (and recorded on) the survivor: the row to look at. */
    const fs_id *at = surv && e->reason == FS_REASON_REDIRECTED ? surv : &e->row;
    fs_row row = {0};
    bool found = false;
    char t[FS_ID_STRLEN + 1];
    int against = 0;

    fs_id_format(&e->row, t);
    if (e->reason == FS_REASON_REDIRECTED && !redirect_expected(s, e))
        sim_violation("dev%d's change to %s %s was answered redirected, but it names no "
                      "merged customer", e->dev, e->e->name, t);
    if (e->outcome == FS_REJECTED) {
        /* Server rejections (scope, invalid) carry no stamp; the merge
         * engine's (frozen, server-owned, read-only) carry the write's.
         * One judged after a merge is recorded on the survivor. */
        if (rejections_for(x, &e->row, dev) == 0 &&
            records_for(x, &e->row, NULL, dev, e->key) == 0 &&
            !(surv && (rejections_for(x, surv, dev) > 0 ||
                       records_for(x, surv, NULL, dev, e->key) > 0)))
            sim_violation("silent loss: dev%d's change to %s %s was rejected (%s) "
                          "without a stored record", e->dev, e->e->name, t,
                          fs_reason_name(e->reason));
        return;
    }
    if (fs_store_load(x->st, e->e, at, &row, NULL, &found, NULL) != FS_STORE_OK ||
        !found) {
        sim_violation("silent loss: %s %s answered %s for dev%d is not in the store",
                      e->e->name, t, e->outcome == FS_APPLIED ? "applied" : "merged",
                      e->dev);
        fs_row_free(&row);
        return;
    }
    for (size_t f = 0; f < e->nf; f++) {
        const fs_cell *cell = &row.cells[e->slot[f]];
        const char *name = e->e->fields[e->slot[f]].name;
        int rec = records_for(x, at, name, dev, e->hlc[f]);
        bool kept = fs_stamp_cmp(cell->hlc, &cell->device, e->hlc[f], dev) >= 0;
        if (e->esign[f] >= 0) {
            /* The lattice: a write is kept while the state is at least as
             * high (a higher state with an older stamp still contains it);
             * a terminal state beaten by another terminal one is recorded. */
            fs_esign now = cell->v.kind == FS_VAL_TEXT
                               ? fs_esign_parse(cell->v.u.text.p, cell->v.u.text.n)
                               : FS_ESIGN_INVALID;
            kept = (int)now >= e->esign[f] &&
                   ((int)now == e->esign[f] ||
                    !fs_esign_is_terminal((fs_esign)e->esign[f]));
            /* Equal states from two devices stand as one: the record of a
             * terminal clash names whichever stamp was stored. */
            if (!kept && rec == 0) {
                char json[32];
                snprintf(json, sizeof json, "\"%s\"", fs_esign_name((fs_esign)e->esign[f]));
                rec = records_with_value(x, &e->row, name, json);
            }
        }
        if (e->life[f] >= 0) {
            /* The quote lifecycle is a lattice too (fs_quote_state_rank): a
             * higher state contains a lower one, a final state beaten by
             * another final one is recorded. */
            fs_quote_state w = (fs_quote_state)e->life[f];
            fs_quote_state now = cell->v.kind == FS_VAL_TEXT
                                     ? fs_quote_state_parse(cell->v.u.text.p, cell->v.u.text.n)
                                     : FS_QUOTE_INVALID;
            kept = now == w || (fs_quote_state_rank(now) > fs_quote_state_rank(w) &&
                                !fs_quote_state_is_final(w));
            if (!kept && rec == 0) {
                char json[32];
                snprintf(json, sizeof json, "\"%s\"", fs_quote_state_name(w));
                rec = records_with_value(x, &e->row, name, json);
            }
        }
        against += rec;
        /* The write (or one that contains it) is in the cell, or a record
         * names it: lost, or overwritten later by a concurrent write. */
        if (!kept && rec == 0)
            sim_violation("silent loss: dev%d's write of %s.%s on %s is neither in the "
                          "store nor recorded (%s%s%s)", e->dev, e->e->name, name, t,
                          e->outcome == FS_APPLIED ? "applied" : "merged",
                          e->esign[f] >= 0 ? ", wrote " : "",
                          e->esign[f] >= 0 ? fs_esign_name((fs_esign)e->esign[f]) : "");
    }
    if (e->has_tomb) {
        int rec = records_for(x, at, "_deleted", dev, e->tomb_hlc);
        bool kept = fs_stamp_cmp(row.del_hlc, &row.del_device, e->tomb_hlc, dev) >= 0;
        against += rec;
        if (!kept && rec == 0)
            sim_violation("silent loss: dev%d's delete of %s %s is neither in the store "
                          "nor recorded", e->dev, e->e->name, t);
    }
    /* A redirect is recorded by the merge (fss_merged), checked above. */
    if (e->outcome == FS_MERGED && e->reason != FS_REASON_REDIRECTED && against == 0 &&
        records_for(x, at, NULL, dev, e->key) == 0)
        sim_violation("dev%d's change to %s %s was merged against it (%s) without any "
                      "stored record", e->dev, e->e->name, t, fs_reason_name(e->reason));
    fs_row_free(&row);
}

/* (b) under deletes (issue 12, finding 1; ARCHITECTURE.md "Delete vs
 * update"): a tombstone hides its row and every row below it, and a write it
 * hides that it had not seen must have a stored record, whoever deleted (a
 * device, the back office) and at whatever depth. The harness knows two
 * kinds of such writes without the server's cursors:
 *  - one that still stands in its cell (hlc and device) and whose stamp is
 *    higher than the nearest hiding tombstone's: the deleter had not seen it;
 *  - one first sent after the harness saw that delete stand at the server
 *    (sim.deleted_at): it landed in a hidden row. Either its value is what
 *    the row would show (recorded as hidden, answered MERGED) or a newer
 *    write of another value superseded it (recorded as the loser).
 * A write that was superseded while its row was still visible belongs to
 * the write that superseded it, which is checked in turn. Clamped stamps
 * (clock_bound) are followed to the stamp the server stored; the clamp
 * record itself does not count. */
typedef struct hide_ctx {
    store_ctx *x;
    sqlite3_stmt *clamp, *named, *merged;
} hide_ctx;

typedef struct hider {
    const fs_entity *e;
    fs_id row;
    fs_hlc hlc;
    fs_id dev;
} hider;

/* The nearest deleted row among `row` and its ancestors. */
static bool nearest_hider(store_ctx *x, const fs_row *row, hider *h)
{
    fs_row cur = {0}, up = {0};
    bool hit = false;

    if (fs_row_copy(&cur, row, NULL) != FS_OK)
        return false;
    for (int depth = 0; depth < 4; depth++) {
        const fs_entity *e = cur.entity;
        bool found = false;
        fs_id pid;
        if (cur.deleted) {
            h->e = e;
            h->row = cur.id;
            h->hlc = cur.del_hlc;
            h->dev = cur.del_device;
            hit = true;
            break;
        }
        if (e->parent < 0 || !e->parent_entity || cur.cells[e->parent].v.kind != FS_VAL_ID)
            break;
        pid = cur.cells[e->parent].v.u.id;
        fs_row_free(&up);
        if (fs_store_load(x->st, fs_schema_entity(e->parent_entity), &pid, &up, NULL, &found,
                          NULL) != FS_STORE_OK || !found)
            break;
        fs_row_free(&cur);
        cur = up;
        memset(&up, 0, sizeof up);
    }
    fs_row_free(&cur);
    fs_row_free(&up);
    return hit;
}

/* The stamp the server stored for a write: its own, or the clamp. */
static fs_hlc stored_stamp(hide_ctx *hc, const fs_id *row, const char *field,
                           const fs_id *dev, fs_hlc hlc)
{
    fs_hlc out = hlc;
    sqlite3_reset(hc->clamp);
    sqlite3_bind_blob(hc->clamp, 1, row->b, 16, SQLITE_STATIC);
    sqlite3_bind_text(hc->clamp, 2, field, -1, SQLITE_STATIC);
    sqlite3_bind_blob(hc->clamp, 3, dev->b, 16, SQLITE_STATIC);
    sqlite3_bind_int64(hc->clamp, 4, (int64_t)hlc);
    if (sqlite3_step(hc->clamp) == SQLITE_ROW)
        out = (fs_hlc)sqlite3_column_int64(hc->clamp, 0);
    return out;
}

/* Records other than clamps that name the write (as yours or theirs). */
static int named_records(hide_ctx *hc, const fs_id *row, const char *field,
                         const fs_id *dev, fs_hlc hlc, fs_hlc stored)
{
    int n = 0;
    sqlite3_reset(hc->named);
    sqlite3_bind_blob(hc->named, 1, row->b, 16, SQLITE_STATIC);
    sqlite3_bind_text(hc->named, 2, field, -1, SQLITE_STATIC);
    sqlite3_bind_blob(hc->named, 3, dev->b, 16, SQLITE_STATIC);
    sqlite3_bind_int64(hc->named, 4, (int64_t)hlc);
    sqlite3_bind_int64(hc->named, 5, (int64_t)stored);
    if (sqlite3_step(hc->named) == SQLITE_ROW)
        n = sqlite3_column_int(hc->named, 0);
    return n;
}

static void check_hidden_change(sim *s, hide_ctx *hc, const sim_sent *e)
{
    const fs_id *dev = &s->dev[e->dev].id;
    fs_row row = {0};
    hider h;
    bool found = false;
    sim_key dk;
    size_t *del_at;
    char t[FS_ID_STRLEN + 1], ht[FS_ID_STRLEN + 1];

    if (fs_store_load(hc->x->st, e->e, &e->row, &row, NULL, &found, NULL) != FS_STORE_OK ||
        !found || !nearest_hider(hc->x, &row, &h))
        goto done;
    /* A customer merged away (issue 17) is a tombstone too, but not a
     * delete: what it held when it was merged is superseded by the merge
     * (the survivor keeps its values, takes the duplicate's only for its
     * empty fields), which is recorded (fss_merged, fss_merges); what came
     * later was redirected (check_change). The record must be there. */
    if (strcmp(h.e->name, "customer") == 0) {
        int ci = sim_customer_index(s, &h.row);
        if (ci >= 0 && s->cust[ci].merged) {
            sqlite3_reset(hc->merged);
            sqlite3_bind_blob(hc->merged, 1, h.row.b, 16, SQLITE_STATIC);
            if (sqlite3_step(hc->merged) != SQLITE_ROW ||
                sqlite3_column_int(hc->merged, 0) != 1) {
                fs_id_format(&h.row, ht);
                sim_violation("merge: customer %s was merged but no redirect is stored", ht);
            }
            goto done;
        }
    }
    dk = sim_key_make(0, &h.row, 0);
    del_at = sim_map_get(&s->deleted_at, &dk);
    for (size_t f = 0; f < e->nf; f++) {
        const fs_cell *cell = &row.cells[e->slot[f]];
        const char *name = e->e->fields[e->slot[f]].name;
        fs_hlc ws = stored_stamp(hc, &e->row, name, dev, e->hlc[f]);
        bool standing = cell->hlc == ws && fs_id_cmp(&cell->device, dev) == 0;
        bool unseen = fs_stamp_cmp(ws, dev, h.hlc, &h.dev) > 0;
        bool landed_hidden = del_at && e->sent_at > *del_at;
        if (!(standing && unseen) && !landed_hidden)
            continue;
        if (named_records(hc, &e->row, name, dev, e->hlc[f], ws) > 0)
            continue;
        fs_id_format(&e->row, t);
        fs_id_format(&h.row, ht);
        sim_violation("silent loss: dev%d's write of %s.%s on %s (%s, %s) is hidden by the "
                      "delete of %s %s without a record", e->dev, e->e->name, name, t,
                      e->outcome == FS_APPLIED ? "applied" : "merged",
                      landed_hidden ? "sent after the delete stood"
                                    : "standing, newer than the delete",
                      h.e->name, ht);
    }
done:
    fs_row_free(&row);
}

static void check_hidden_writes(sim *s, store_ctx *x)
{
    hide_ctx hc = {x, NULL, NULL, NULL};

    if (sqlite3_prepare_v2(x->db,
                           "SELECT theirs_hlc FROM fss_conflicts WHERE row = ?1 AND"
                           " field = ?2 AND rule = 'clock_bound' AND yours_device = ?3"
                           " AND yours_hlc = ?4", -1, &hc.clamp, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(x->db,
                           "SELECT count(*) FROM fss_conflicts WHERE row = ?1 AND"
                           " field = ?2 AND rule != 'clock_bound' AND"
                           " (yours_device = ?3 AND yours_hlc IN (?4, ?5) OR"
                           "  theirs_device = ?3 AND theirs_hlc IN (?4, ?5))", -1,
                           &hc.named, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(x->db, "SELECT count(*) FROM fss_merged WHERE dup = ?1", -1,
                           &hc.merged, NULL) != SQLITE_OK) {
        sim_violation("cannot read the server store: %s", sqlite3_errmsg(x->db));
        goto done;
    }
    for (size_t i = 0; i < s->nsent; i++) {
        const sim_sent *e = &s->sent[i];
        if (e->answered && e->outcome != FS_REJECTED)
            check_hidden_change(s, &hc, e);
    }
done:
    sqlite3_finalize(hc.clamp);
    sqlite3_finalize(hc.named);
    sqlite3_finalize(hc.merged);
}

/* (c): the store shows every write merged once (a write hidden by two
 * deletes that had not seen it has one record per delete: anc_row). */
static void check_exactly_once(sim *s, store_ctx *x)
{
    sqlite3_stmt *st = NULL;
    sim_map rej = {0};

    if (sqlite3_prepare_v2(x->db,
                           "SELECT entity, field, rule, count(*) FROM fss_conflicts"
                           " WHERE yours_hlc != 0 GROUP BY row, field, yours_device,"
                           " yours_hlc, rule, anc_row HAVING count(*) > 1", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            sim_violation("exactly once: a %s.%s write has %d '%s' records (merged twice)",
                          (const char *)sqlite3_column_text(st, 0),
                          sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "-",
                          sqlite3_column_int(st, 3), (const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    /* One stored server rejection record per write of each rejected
     * change (the refused values are kept: fs_conflict_refused). */
    for (size_t i = 0; i < s->nsent; i++) {
        const sim_sent *e = &s->sent[i];
        sim_key k = sim_key_make(e->dev, &e->row, 0);
        size_t writes = e->nf + (e->has_tomb ? 1 : 0);
        /* Before or after a merge, a rejected change to the duplicate is
         * recorded on it or on the survivor: counted with the survivor's. */
        const fs_id *surv = survivor_of(s, e);
        if (surv)
            k = sim_key_make(e->dev, surv, 0);
        if (e->answered && e->outcome == FS_REJECTED &&
            (e->reason == FS_REASON_SCOPE || e->reason == FS_REASON_INVALID ||
             e->reason == FS_REASON_CLAIM))
            *sim_map_put(&rej, &k, 0, NULL) += writes ? writes : 1;
    }
    for (size_t i = 0; i < rej.cap; i++) {
        int32_t dev;
        fs_id row;
        int stored;
        if (!rej.used[i])
            continue;
        memcpy(&dev, rej.keys[i].b, sizeof dev);
        memcpy(row.b, rej.keys[i].b + 4, 16);
        stored = rejections_for(x, &row, &s->dev[dev].id);
        for (size_t c = 0; c < s->ncust; c++) /* the duplicates merged into it */
            if (s->cust[c].merged && fs_id_cmp(&s->cust[sim_customer_final(s, (int)c)].id,
                                               &row) == 0)
                stored += rejections_for(x, &s->cust[c].id, &s->dev[dev].id);
        if ((size_t)stored != rej.vals[i])
            sim_violation("exactly once: dev%d had %zu writes rejected by the server "
                          "for one row, the store records %d", dev, rej.vals[i], stored);
    }
    sim_map_free(&rej);
    /* Each device's newest answered batch is still recorded: that is the
     * one a retry is answered from (the server keeps a few per device). */
    for (unsigned d = 0; d < s->ndev; d++) {
        const sim_sent *last = NULL;
        for (size_t i = 0; i < s->nsent; i++)
            if (s->sent[i].dev == (int)d && s->sent[i].answered)
                last = &s->sent[i];
        if (!last || s->dev[d].revoked)
            continue;
        sqlite3_reset(x->batch);
        sqlite3_bind_blob(x->batch, 1, s->dev[d].id.b, 16, SQLITE_STATIC);
        sqlite3_bind_blob(x->batch, 2, last->batch.b, 16, SQLITE_STATIC);
        if (sqlite3_step(x->batch) != SQLITE_ROW)
            sim_violation("exactly once: dev%u's newest answered batch is not recorded", d);
    }
}

static int dev_of(const sim *s, const fs_id *id)
{
    for (unsigned d = 0; d < s->ndev; d++)
        if (fs_id_cmp(&s->dev[d].id, id) == 0)
            return (int)d;
    return -1;
}

static const char *cell_text(const fs_row *row, const char *field)
{
    int i = fs_entity_field_index(row->entity, field);
    return i >= 0 && row->cells[i].v.kind == FS_VAL_TEXT ? row->cells[i].v.u.text.p : NULL;
}

/* Who did the visit (issue 13): a visit someone checked in at is the rep's
 * whose check-in the merge kept (the writer of checkin_at), whoever planned
 * it and in whatever order concurrent check-ins arrived; planned_by is the
 * rep whose device created it (the writer of the write-once customer_id). */
static void check_attribution(sim *s, store_ctx *x)
{
    const fs_entity *e = fs_schema_entity("visit");
    int ci = fs_entity_field_index(e, "checkin_at"), pi = fs_entity_field_index(e, "customer_id");
    sqlite3_stmt *st = NULL;
    char sql[128], t[FS_ID_STRLEN + 1];
    fs_row row = {0};

    snprintf(sql, sizeof sql, "SELECT id FROM \"%s\"", fs_store_table(x->st, e));
    if (sqlite3_prepare_v2(x->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sim_violation("cannot read visits: %s", sqlite3_errmsg(x->db));
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        fs_id id;
        bool found = false;
        int by, planner;
        const char *rep, *planned;
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        memcpy(id.b, sqlite3_column_blob(st, 0), 16);
        fs_row_free(&row);
        if (fs_store_load(x->st, e, &id, &row, NULL, &found, NULL) != FS_STORE_OK || !found)
            continue;
        fs_id_format(&id, t);
        rep = cell_text(&row, "rep_id");
        planned = cell_text(&row, "planned_by");
        by = row.cells[ci].hlc ? dev_of(s, &row.cells[ci].device) : -1;
        planner = row.cells[pi].hlc ? dev_of(s, &row.cells[pi].device) : -1;
        if (by >= 0 && (!rep || strcmp(rep, s->reps[s->dev[by].rep].uuid) != 0))
            sim_violation("attribution: visit %s was checked in by dev%d (rep %s) but "
                          "rep_id is %s", t, by, s->reps[s->dev[by].rep].uuid,
                          rep ? rep : "unset");
        if (planner >= 0 && (!planned ||
                             strcmp(planned, s->reps[s->dev[planner].rep].uuid) != 0))
            sim_violation("attribution: visit %s was created by dev%d but planned_by is %s",
                          t, planner, planned ? planned : "unset");
        if (by >= 0 && planner >= 0 && s->dev[by].rep != s->dev[planner].rep)
            s->checkins_other++;
    }
    fs_row_free(&row);
    sqlite3_finalize(st);
}

static void check_store(sim *s)
{
    store_ctx x;
    fs_error err = {0};
    char path[400];

    memset(&x, 0, sizeof x);
    if (!sim_store_for_checks(s, path, sizeof path))
        return;
    if (sqlite3_open_v2(path, &x.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        fs_store_open(x.db, "", &x.st, &err) != FS_STORE_OK ||
        sqlite3_prepare_v2(x.db,
                           "SELECT count(*) FROM fss_conflicts WHERE row = ?1 AND"
                           " (yours_device = ?2 AND yours_hlc = ?3 OR"
                           "  theirs_device = ?2 AND theirs_hlc = ?3)"
                           " AND (?4 IS NULL OR field = ?4)", -1, &x.by_yours,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(x.db,
                           "SELECT count(*) FROM fss_conflicts WHERE row = ?1 AND"
                           " yours_device = ?2 AND rule IN ('scope', 'invalid', 'claim')", -1,
                           &x.rejections, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(x.db,
                           "SELECT 1 FROM fss_batches WHERE device = ?1 AND batch_id = ?2",
                           -1, &x.batch, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(x.db,
                           "SELECT count(*) FROM fss_conflicts WHERE row = ?1 AND"
                           " field = ?2 AND (theirs = ?3 OR yours = ?3)", -1, &x.by_value,
                           NULL) != SQLITE_OK) {
        sim_violation("cannot read the server store: %s %s", sqlite3_errmsg(x.db), err.text);
        goto done;
    }
    for (size_t i = 0; i < s->nsent; i++) {
        const sim_sent *e = &s->sent[i];
        if (!e->answered) {
            /* A revoked device may have sent changes whose answer it never
             * got; everyone else's outbox is empty, so every change was
             * answered. */
            if (!s->dev[e->dev].revoked || s->dev[e->dev].drain)
                sim_violation("dev%d's change to %s was never answered", e->dev, e->e->name);
            continue;
        }
        check_change(s, &x, e);
    }
    check_hidden_writes(s, &x);
    check_exactly_once(s, &x);
    check_attribution(s, &x);
done:
    sqlite3_finalize(x.by_yours);
    sqlite3_finalize(x.rejections);
    sqlite3_finalize(x.batch);
    sqlite3_finalize(x.by_value);
    fs_store_close(x.st);
    sqlite3_close(x.db);
}

void sim_quiesce_and_check(sim *s)
{
    quiesce(s);
    check_convergence(s);
    sim_owner_check(s);
    check_writes_sent(s);
    sim_servers_push_reads(s, &s->push_kept, &s->push_reread);
    sim_servers_stop(s);
    check_store(s);
}
