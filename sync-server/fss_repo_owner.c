/*
 * fss_repo_owner.c - the repository for the ownership lifecycle
 * (issue 17; fss_repo.h, "ownership lifecycle"): a rep's active flag and
 * heir, the customers and territories an offboarding takes away, voiding
 * enrollment codes, revoking (or draining) a rep's devices, the drain scope
 * and the offboarding records. The rules (what an offboarding does, in
 * which order) live in fss_owner.c; this file only reads and writes rows,
 * in portable SQL (`?` placeholders, no SQLite-only functions).
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

/* Binds the values of one statement: 't' text (NULL = SQL NULL), 'i'
 * int64, 'b' a 16-byte id. */
typedef struct bindv {
    char kind;
    const char *t;
    int64_t i;
    const fs_id *id;
} bindv;

static fss_status prep(fss_conn *c, const char *sql, const bindv *v, size_t n,
                       fss_stmt **st, fs_error *err)
{
    size_t k;

    *st = NULL;
    if (fss_prepare(c->db, sql, -1, st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "prepare");
    for (k = 0; k < n; k++) {
        int at = (int)k + 1;
        if (v[k].kind == 'i')
            fss_bind_int64(*st, at, v[k].i);
        else if (v[k].kind == 'b')
            fss_bind_blob(*st, at, v[k].id->b, 16, FSS_SQL_STATIC);
        else if (v[k].t)
            fss_bind_text(*st, at, v[k].t, -1, FSS_SQL_STATIC);
        else
            fss_bind_null(*st, at);
    }
    return FSS_OK;
}

/* Runs a statement that returns no rows; *changes (optional) = rows hit. */
static fss_status run(fss_conn *c, const char *sql, const bindv *v, size_t n,
                      int64_t *changes, fs_error *err)
{
    fss_stmt *st;
    fss_status rc = prep(c, sql, v, n, &st, err);

    if (rc == FSS_OK && fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "owner write");
    if (rc == FSS_OK && changes)
        *changes = fss_changes(c->db);
    fss_finalize(st);
    return rc;
}

/* Collects the 16-byte ids of column 0 into *ids (plain malloc). */
static fss_status ids_of(fss_conn *c, const char *sql, const bindv *v, size_t n,
                         fs_id **ids, size_t *count, fs_error *err)
{
    fss_stmt *st;
    size_t cap = 0;
    int r;
    fss_status rc = prep(c, sql, v, n, &st, err);

    *ids = NULL;
    *count = 0;
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        if (fss_column_bytes(st, 0) != 16)
            continue;
        if (*count == cap) {
            size_t nc = cap ? cap * 2 : 64;
            void *p = realloc(*ids, nc * sizeof **ids);
            if (!p) {
                rc = fss__fail(err, FSS_ENOMEM, "customer list");
                goto done;
            }
            *ids = p;
            cap = nc;
        }
        memcpy((*ids)[(*count)++].b, fss_column_blob(st, 0), 16);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "customer list");
done:
    fss_finalize(st);
    if (rc != FSS_OK) {
        free(*ids);
        *ids = NULL;
        *count = 0;
    }
    return rc;
}

fss_status fss__repo_rep_state(fss_conn *c, const char *rep,
                               fss_rep_state *out, bool *found, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}};
    fss_stmt *st;
    fss_status rc;
    int r;

    memset(out, 0, sizeof *out);
    *found = false;
    rc = prep(c, "SELECT active, offboarded_to, deactivated_at FROM fss_reps"
                 " WHERE uuid = ?", v, 1, &st, err);
    if (rc != FSS_OK)
        goto done;
    r = fss_step(st);
    if (r == FSS_SQL_ROW) {
        *found = true;
        out->active = fss_column_int(st, 0) != 0;
        if (fss_column_type(st, 1) != FSS_SQL_NULL)
            snprintf(out->heir, sizeof out->heir, "%s",
                     (const char *)fss_column_text(st, 1));
        out->deactivated_at = fss_column_int64(st, 2);
    } else if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "rep state");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_rep_set_active(fss_conn *c, const char *rep, bool active,
                                    const char *heir, int64_t now_ms,
                                    fs_error *err)
{
    bindv off[] = {{'t', heir, 0, NULL}, {'i', NULL, now_ms, NULL},
                   {'t', rep, 0, NULL}};
    bindv on[] = {{'t', rep, 0, NULL}};

    if (!active)
        return run(c, "UPDATE fss_reps SET active = 0, offboarded_to = ?,"
                      " deactivated_at = ? WHERE uuid = ?", off, 3, NULL, err);
    return run(c, "UPDATE fss_reps SET active = 1, offboarded_to = NULL,"
                  " deactivated_at = NULL WHERE uuid = ?", on, 1, NULL, err);
}

fss_status fss__repo_rep_owned(fss_conn *c, const char *rep, fs_id **ids,
                               size_t *n, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}};

    return ids_of(c, "SELECT id FROM customer WHERE owner_rep = ? AND"
                     " deleted = 0 ORDER BY id", v, 1, ids, n, err);
}

fss_status fss__repo_offboards_unfinished(fss_conn *c, fss_rep_uuid **reps,
                                         size_t *n, fs_error *err)
{
    fss_stmt *st;
    size_t cap = 0;
    int r;
    fss_status rc = prep(c, "SELECT r.uuid FROM fss_reps r WHERE r.active = 0"
                            " AND EXISTS (SELECT 1 FROM customer c WHERE"
                            " c.owner_rep = r.uuid AND c.deleted = 0)"
                            " ORDER BY r.uuid", NULL, 0, &st, err);

    *reps = NULL;
    *n = 0;
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        const char *u = (const char *)fss_column_text(st, 0);
        if (!u || strlen(u) != FS_ID_STRLEN)
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            void *p = realloc(*reps, nc * sizeof **reps);
            if (!p) {
                rc = fss__fail(err, FSS_ENOMEM, "unfinished offboardings");
                goto done;
            }
            *reps = p;
            cap = nc;
        }
        memcpy((*reps)[(*n)++].s, u, FS_ID_STRLEN + 1);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "unfinished offboardings");
done:
    fss_finalize(st);
    if (rc != FSS_OK) {
        free(*reps);
        *reps = NULL;
        *n = 0;
    }
    return rc;
}

fss_status fss__repo_rep_scope(fss_conn *c, const char *rep, fs_id **ids,
                               size_t *n, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}, {'t', rep, 0, NULL}};

    return ids_of(c, "SELECT c.id FROM customer c WHERE "
                     FSS_SCOPE_COND("?") " ORDER BY c.id", v, 2, ids, n, err);
}

fss_status fss__repo_rep_territories_clear(fss_conn *c, const char *rep,
                                           int64_t *n, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}};

    return run(c, "DELETE FROM fss_rep_territories WHERE rep = ?", v, 1, n, err);
}

fss_status fss__repo_rep_codes_void(fss_conn *c, const char *rep,
                                    int64_t now_ms, int64_t *n, fs_error *err)
{
    bindv v[] = {{'i', NULL, now_ms, NULL}, {'t', rep, 0, NULL}};

    return run(c, "UPDATE fss_enroll_codes SET voided_at = ? WHERE rep = ? AND"
                  " used_at IS NULL AND voided_at IS NULL", v, 2, n, err);
}

fss_status fss__repo_rep_devices_revoke(fss_conn *c, const char *rep,
                                        int64_t now_ms, bool drain, int64_t *n,
                                        fs_error *err)
{
    bindv v[] = {{'i', NULL, drain ? 1 : 0, NULL},
                 {'i', NULL, now_ms, NULL},
                 {'t', rep, 0, NULL}};

    /* Only devices still in use: a device revoked before keeps its state
     * (it is wiped already, or will be) and is not counted again. */
    return run(c, "UPDATE fss_devices SET revoked = 1, drain = ?,"
                  " revoked_at = COALESCE(revoked_at, ?)"
                  " WHERE rep = ? AND revoked = 0", v, 3, n, err);
}

fss_status fss__repo_rep_drain_end(fss_conn *c, const char *rep, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}};
    fss_status rc = run(c, "UPDATE fss_devices SET drain = 0 WHERE rep = ?", v,
                        1, NULL, err);

    if (rc == FSS_OK)
        rc = run(c, "DELETE FROM fss_drain_scope WHERE rep = ?", v, 1, NULL, err);
    return rc;
}

fss_status fss__repo_drain_scope_fill(fss_conn *c, const char *rep,
                                      fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}, {'t', rep, 0, NULL}, {'t', rep, 0, NULL}};

    return run(c, "INSERT INTO fss_drain_scope(rep, customer) SELECT ?, c.id"
                  " FROM customer c WHERE " FSS_SCOPE_COND("?")
                  " ON CONFLICT(rep, customer) DO NOTHING", v, 3, NULL, err);
}

fss_status fss__repo_drain_scope_add(fss_conn *c, const char *rep,
                                     const fs_id *cust, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}, {'b', NULL, 0, cust}};

    return run(c, "INSERT INTO fss_drain_scope(rep, customer) VALUES(?, ?)"
                  " ON CONFLICT(rep, customer) DO NOTHING", v, 2, NULL, err);
}

fss_status fss__repo_drain_in_scope(fss_conn *c, const char *rep,
                                    const fs_id *cust, bool *in, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}, {'b', NULL, 0, cust}};
    fss_stmt *st;
    fss_status rc;
    int r;

    *in = false;
    rc = prep(c, "SELECT 1 FROM fss_drain_scope WHERE rep = ? AND customer = ?",
              v, 2, &st, err);
    if (rc == FSS_OK) {
        r = fss_step(st);
        *in = r == FSS_SQL_ROW;
        if (r != FSS_SQL_ROW && r != FSS_SQL_DONE)
            rc = fss__dbfail(err, c->db, "drain scope");
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_device_drained(fss_conn *c, const fs_id *device,
                                    fs_error *err)
{
    bindv d[] = {{'b', NULL, 0, device}};

    return run(c, "UPDATE fss_devices SET drain = 0 WHERE id = ?", d, 1, NULL,
               err);
}

fss_status fss__repo_device_drain_add(fss_conn *c, const char *rep,
                                      int64_t changes, fs_error *err)
{
    bindv o[] = {{'i', NULL, changes, NULL}, {'t', rep, 0, NULL},
                 {'t', rep, 0, NULL}};

    if (changes <= 0)
        return FSS_OK;
    return run(c, "UPDATE fss_offboards SET drained = drained + ? WHERE"
                  " rep = ? AND id = (SELECT max(id) FROM fss_offboards"
                  " WHERE rep = ?)", o, 3, NULL, err);
}

fss_status fss__repo_offboard_record(fss_conn *c, const fss_offboard_item *o,
                                     fs_error *err)
{
    bindv v[] = {{'t', o->rep, 0, NULL},       {'t', o->to_rep, 0, NULL},
                 {'i', NULL, o->at, NULL},       {'t', o->by, 0, NULL},
                 {'i', NULL, o->customers, NULL}, {'i', NULL, o->territories, NULL},
                 {'i', NULL, o->devices, NULL},   {'i', NULL, o->codes, NULL},
                 {'i', NULL, o->drain ? 1 : 0, NULL}};

    return run(c, "INSERT INTO fss_offboards(rep, to_rep, at, by_whom,"
                  " customers, territories, devices, codes, drain, drained)"
                  " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, 0)", v, 9, NULL, err);
}

fss_status fss__repo_offboard_reactivated(fss_conn *c, const char *rep,
                                          int64_t now_ms, fs_error *err)
{
    bindv v[] = {{'i', NULL, now_ms, NULL}, {'t', rep, 0, NULL},
                 {'t', rep, 0, NULL}};

    return run(c, "UPDATE fss_offboards SET reactivated_at = ? WHERE rep = ?"
                  " AND id = (SELECT max(id) FROM fss_offboards WHERE rep = ?)",
               v, 3, NULL, err);
}

fss_status fss__repo_offboards_list(fss_conn *c, const char *const *territories,
                                    fss_offboard_item_fn fn, void *arg,
                                    fs_error *err)
{
    fss_stmt *st;
    fss_status rc;
    int r;

    /* An offboarding is a rep's event, not a territory's: a manager bound
     * to territories sees every one (the rep's territories are gone by
     * then). The parameter is kept for the shared list shape. */
    (void)territories;
    rc = prep(c, "SELECT o.id, o.rep, r.name, o.to_rep, o.at, o.by_whom,"
                 " o.customers, o.territories, o.devices, o.codes, o.drain,"
                 " o.drained, o.reactivated_at FROM fss_offboards o"
                 " LEFT JOIN fss_reps r ON r.uuid = o.rep ORDER BY o.id",
              NULL, 0, &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_offboard_item o;
        memset(&o, 0, sizeof o);
#define TXT(i) (fss_column_type(st, i) == FSS_SQL_NULL \
                    ? NULL : (const char *)fss_column_text(st, i))
        o.id = fss_column_int64(st, 0);
        o.rep = TXT(1);
        o.rep_name = TXT(2);
        o.to_rep = TXT(3);
        o.at = fss_column_int64(st, 4);
        o.by = TXT(5);
        o.customers = fss_column_int64(st, 6);
        o.territories = fss_column_int64(st, 7);
        o.devices = fss_column_int64(st, 8);
        o.codes = fss_column_int64(st, 9);
        o.drain = fss_column_int(st, 10) != 0;
        o.drained = fss_column_int64(st, 11);
        o.has_reactivated_at = fss_column_type(st, 12) != FSS_SQL_NULL;
        o.reactivated_at = fss_column_int64(st, 12);
#undef TXT
        fn(&o, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "offboards");
done:
    fss_finalize(st);
    return rc;
}

/* ---- the public pool and claims ---- */

fss_status fss__repo_reclaim_candidates(fss_conn *c, fss_reclaim_item **out,
                                        size_t *n, fs_error *err)
{
    fss_stmt *st;
    size_t cap = 0;
    int r;
    fss_status rc;

    *out = NULL;
    *n = 0;
    /* Follow-ups are the owner's visits checked in or out; an open quote is
     * a live one in draft (or no status yet) or sent. */
    rc = prep(c, "SELECT c.id, c.owner_rep, c.name,"
                 " (SELECT max(COALESCE(v.checkout_at, v.checkin_at)) FROM visit v"
                 "  WHERE v.customer_id = c.id AND v.deleted = 0"
                 "  AND v.rep_id = c.owner_rep),"
                 " (SELECT count(*) FROM quote q WHERE q.customer_id = c.id"
                 "  AND q.deleted = 0 AND COALESCE(q.status, 'draft') IN"
                 "  ('draft', 'sent')),"
                 " p.since, p.warned_at, p.claimed_at, p.claimed_by"
                 " FROM customer c LEFT JOIN fss_pool_state p ON p.customer = c.id"
                 " WHERE c.deleted = 0 AND c.owner_rep IS NOT NULL"
                 " AND c.owner_rep <> '' ORDER BY c.id",
              NULL, 0, &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_reclaim_item *it;
        if (fss_column_bytes(st, 0) != 16)
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            void *p = realloc(*out, nc * sizeof **out);
            if (!p) {
                rc = fss__fail(err, FSS_ENOMEM, "reclaim candidates");
                goto done;
            }
            *out = p;
            cap = nc;
        }
        it = &(*out)[(*n)++];
        memset(it, 0, sizeof *it);
        memcpy(it->id.b, fss_column_blob(st, 0), 16);
        snprintf(it->owner, sizeof it->owner, "%s",
                 (const char *)fss_column_text(st, 1));
        snprintf(it->name, sizeof it->name, "%s",
                 fss_column_type(st, 2) == FSS_SQL_NULL
                     ? "" : (const char *)fss_column_text(st, 2));
        it->has_followup = fss_column_type(st, 3) != FSS_SQL_NULL;
        it->followup = fss_column_int64(st, 3);
        it->open_quote = fss_column_int64(st, 4) > 0;
        it->has_since = fss_column_type(st, 5) != FSS_SQL_NULL;
        it->since = fss_column_int64(st, 5);
        it->has_warned = fss_column_type(st, 6) != FSS_SQL_NULL;
        it->warned_at = fss_column_int64(st, 6);
        it->claimed_at = fss_column_int64(st, 7);
        it->claimed_by_owner =
            fss_column_type(st, 8) != FSS_SQL_NULL &&
            strcmp((const char *)fss_column_text(st, 8), it->owner) == 0;
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "reclaim candidates");
done:
    fss_finalize(st);
    if (rc != FSS_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

fss_status fss__repo_pool_seen(fss_conn *c, const fs_id *cust, int64_t now_ms,
                               fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, cust}, {'i', NULL, now_ms, NULL}};

    return run(c, "INSERT INTO fss_pool_state(customer, since) VALUES(?, ?)"
                  " ON CONFLICT(customer) DO NOTHING", v, 2, NULL, err);
}

fss_status fss__repo_pool_warned(fss_conn *c, const fs_id *cust,
                                 int64_t now_ms, fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, cust}, {'i', NULL, now_ms, NULL},
                 {'i', NULL, now_ms, NULL}, {'i', NULL, now_ms, NULL}};

    return run(c, "INSERT INTO fss_pool_state(customer, since, warned_at)"
                  " VALUES(?, ?, ?) ON CONFLICT(customer) DO UPDATE SET"
                  " warned_at = ?", v, 4, NULL, err);
}

fss_status fss__repo_pool_reclaimed(fss_conn *c, const fs_id *cust,
                                    const char *former, int64_t now_ms,
                                    fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, cust},        {'i', NULL, now_ms, NULL},
                 {'i', NULL, now_ms, NULL},    {'t', former, 0, NULL},
                 {'i', NULL, now_ms, NULL},    {'i', NULL, now_ms, NULL},
                 {'t', former, 0, NULL}};

    return run(c, "INSERT INTO fss_pool_state(customer, since, pooled_at,"
                  " former_owner) VALUES(?, ?, ?, ?) ON CONFLICT(customer) DO"
                  " UPDATE SET since = ?, pooled_at = ?, former_owner = ?,"
                  " warned_at = NULL, claimed_at = NULL, claimed_by = NULL",
               v, 7, NULL, err);
}

fss_status fss__repo_pool_claimed(fss_conn *c, const fs_id *cust,
                                  const char *rep, int64_t now_ms, fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, cust}, {'i', NULL, now_ms, NULL},
                 {'i', NULL, now_ms, NULL}, {'t', rep, 0, NULL},
                 {'i', NULL, now_ms, NULL}, {'t', rep, 0, NULL}};

    /* The bar (former_owner, pooled_at) is kept for the record; it only
     * matters while the customer is in the pool. */
    return run(c, "INSERT INTO fss_pool_state(customer, since, claimed_at,"
                  " claimed_by) VALUES(?, ?, ?, ?) ON CONFLICT(customer) DO"
                  " UPDATE SET claimed_at = ?, claimed_by = ?, warned_at = NULL",
               v, 6, NULL, err);
}

fss_status fss__repo_pool_get(fss_conn *c, const fs_id *cust,
                              fss_pool_row *out, fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, cust}};
    fss_stmt *st;
    fss_status rc;
    int r;

    memset(out, 0, sizeof *out);
    rc = prep(c, "SELECT pooled_at, former_owner FROM fss_pool_state WHERE"
                 " customer = ?", v, 1, &st, err);
    if (rc == FSS_OK) {
        r = fss_step(st);
        if (r == FSS_SQL_ROW) {
            out->pooled_at = fss_column_int64(st, 0);
            if (fss_column_type(st, 1) != FSS_SQL_NULL)
                snprintf(out->former_owner, sizeof out->former_owner, "%s",
                         (const char *)fss_column_text(st, 1));
        } else if (r != FSS_SQL_DONE)
            rc = fss__dbfail(err, c->db, "pool state");
    }
    fss_finalize(st);
    return rc;
}

/* One integer from a query (0 when it returns no row). */
static fss_status one_int(fss_conn *c, const char *sql, const bindv *v, size_t n,
                          int64_t *out, fs_error *err)
{
    fss_stmt *st;
    fss_status rc = prep(c, sql, v, n, &st, err);
    int r;

    *out = 0;
    if (rc == FSS_OK) {
        r = fss_step(st);
        if (r == FSS_SQL_ROW)
            *out = fss_column_int64(st, 0);
        else if (r != FSS_SQL_DONE)
            rc = fss__dbfail(err, c->db, "count");
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_claims_won_since(fss_conn *c, const char *rep,
                                      int64_t since_ms, int64_t *n,
                                      fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}, {'i', NULL, since_ms, NULL}};

    return one_int(c, "SELECT count(*) FROM fss_claims WHERE rep = ? AND"
                      " outcome = 'won' AND at >= ?", v, 2, n, err);
}

fss_status fss__repo_rep_in_territory(fss_conn *c, const char *rep,
                                      const char *territory, bool *yes,
                                      fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}, {'t', territory, 0, NULL}};
    int64_t n = 0;
    fss_status rc = one_int(c, "SELECT count(*) FROM fss_rep_territories WHERE"
                               " rep = ? AND territory = ?", v, 2, &n, err);

    *yes = n > 0;
    return rc;
}

fss_status fss__repo_rep_name(fss_conn *c, const char *rep, char *out,
                              size_t cap, fs_error *err)
{
    bindv v[] = {{'t', rep, 0, NULL}};
    fss_stmt *st;
    fss_status rc = prep(c, "SELECT name FROM fss_reps WHERE uuid = ?", v, 1,
                         &st, err);

    if (cap)
        out[0] = '\0';
    if (rc == FSS_OK && fss_step(st) == FSS_SQL_ROW &&
        fss_column_type(st, 0) != FSS_SQL_NULL)
        snprintf(out, cap, "%s", (const char *)fss_column_text(st, 0));
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_claim_record(fss_conn *c, const fss_claim_item *k,
                                  fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, &k->customer}, {'t', k->rep, 0, NULL},
                 {'b', NULL, 0, &k->device},   {'i', NULL, k->at, NULL},
                 {'t', k->outcome, 0, NULL},   {'t', k->detail, 0, NULL}};

    return run(c, "INSERT INTO fss_claims(customer, rep, device, at, outcome,"
                  " detail) VALUES(?, ?, ?, ?, ?, ?)", v, 6, NULL, err);
}

/* " AND <col> IN (?, ?, ...)" for a territory restriction (NULL: ""). */
static void territory_cond(char *buf, size_t cap, const char *col,
                           const char *const *territories, size_t *n)
{
    size_t k, used;

    *n = 0;
    buf[0] = '\0';
    if (!territories)
        return;
    for (k = 0; territories[k]; k++)
        ;
    *n = k;
    used = (size_t)snprintf(buf, cap, " AND %s IN (", col);
    for (k = 0; k < *n && used + 4 < cap; k++)
        used += (size_t)snprintf(buf + used, cap - used, k ? ", ?" : "?");
    if (*n == 0)
        snprintf(buf, cap, " AND 0 = 1"); /* bound to no territory: nothing */
    else
        snprintf(buf + used, cap - used, ")");
}

#define MAX_TERRITORY_BINDS 64

fss_status fss__repo_pool_list(fss_conn *c, const char *const *territories,
                               fss_pool_item_fn fn, void *arg, fs_error *err)
{
    char cond[MAX_TERRITORY_BINDS * 4 + 64], sql[1024];
    bindv v[MAX_TERRITORY_BINDS];
    size_t n, k;
    fss_stmt *st;
    fss_status rc;
    int r;

    territory_cond(cond, sizeof cond, "c.territory", territories, &n);
    if (n > MAX_TERRITORY_BINDS)
        return fss__fail(err, FSS_EINVAL, "too many territories");
    for (k = 0; k < n; k++)
        v[k] = (bindv){'t', territories[k], 0, NULL};
    snprintf(sql, sizeof sql,
             "SELECT c.id, c.name, c.territory, p.pooled_at, p.former_owner"
             " FROM customer c LEFT JOIN fss_pool_state p ON p.customer = c.id"
             " WHERE c.deleted = 0 AND (c.owner_rep IS NULL OR c.owner_rep = '')"
             "%s ORDER BY c.territory, c.name, c.id", cond);
    rc = prep(c, sql, v, n, &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_pool_item it;
        if (fss_column_bytes(st, 0) != 16)
            continue;
        memset(&it, 0, sizeof it);
        memcpy(it.id.b, fss_column_blob(st, 0), 16);
        it.name = (const char *)fss_column_text(st, 1);
        it.territory = (const char *)fss_column_text(st, 2);
        it.has_pooled_at = fss_column_type(st, 3) != FSS_SQL_NULL;
        it.pooled_at = fss_column_int64(st, 3);
        it.former_owner = (const char *)fss_column_text(st, 4);
        fn(&it, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "pool");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_claims_list(fss_conn *c, const char *const *territories,
                                 int64_t limit, fss_claim_item_fn fn, void *arg,
                                 fs_error *err)
{
    char cond[MAX_TERRITORY_BINDS * 4 + 64], sql[1024];
    bindv v[MAX_TERRITORY_BINDS + 1];
    size_t n, k;
    fss_stmt *st;
    fss_status rc;
    int r;

    territory_cond(cond, sizeof cond, "cu.territory", territories, &n);
    if (n > MAX_TERRITORY_BINDS)
        return fss__fail(err, FSS_EINVAL, "too many territories");
    for (k = 0; k < n; k++)
        v[k] = (bindv){'t', territories[k], 0, NULL};
    v[n] = (bindv){'i', NULL, limit > 0 ? limit : INT64_MAX, NULL};
    snprintf(sql, sizeof sql,
             "SELECT k.id, k.customer, cu.name, k.rep, r.name, k.device, k.at,"
             " k.outcome, k.detail FROM fss_claims k"
             " LEFT JOIN customer cu ON cu.id = k.customer"
             " LEFT JOIN fss_reps r ON r.uuid = k.rep WHERE 1 = 1%s"
             " ORDER BY k.id LIMIT ?", cond);
    rc = prep(c, sql, v, n + 1, &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_claim_item it;
        memset(&it, 0, sizeof it);
        it.id = fss_column_int64(st, 0);
        if (fss_column_bytes(st, 1) == 16)
            memcpy(it.customer.b, fss_column_blob(st, 1), 16);
        it.customer_name = (const char *)fss_column_text(st, 2);
        it.rep = (const char *)fss_column_text(st, 3);
        it.rep_name = (const char *)fss_column_text(st, 4);
        if (fss_column_bytes(st, 5) == 16)
            memcpy(it.device.b, fss_column_blob(st, 5), 16);
        it.at = fss_column_int64(st, 6);
        it.outcome = (const char *)fss_column_text(st, 7);
        it.detail = (const char *)fss_column_text(st, 8);
        fn(&it, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "claims");
done:
    fss_finalize(st);
    return rc;
}

/* ---- duplicates and merges ---- */

fss_status fss__repo_dedup_rows(fss_conn *c, const char *const *territories,
                                fss_dedup_row_fn fn, void *arg, fs_error *err)
{
    char cond[MAX_TERRITORY_BINDS * 4 + 64], sql[512];
    bindv v[MAX_TERRITORY_BINDS];
    size_t n, k;
    fss_stmt *st;
    fss_status rc;
    int r;

    territory_cond(cond, sizeof cond, "territory", territories, &n);
    if (n > MAX_TERRITORY_BINDS)
        return fss__fail(err, FSS_EINVAL, "too many territories");
    for (k = 0; k < n; k++)
        v[k] = (bindv){'t', territories[k], 0, NULL};
    snprintf(sql, sizeof sql,
             "SELECT id, name, phone, tax_id FROM customer WHERE deleted = 0%s"
             " ORDER BY id", cond);
    rc = prep(c, sql, v, n, &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW && rc == FSS_OK) {
        fs_id id;
        if (fss_column_bytes(st, 0) != 16)
            continue;
        memcpy(id.b, fss_column_blob(st, 0), 16);
        rc = fn(&id, (const char *)fss_column_text(st, 1),
                (const char *)fss_column_text(st, 2),
                (const char *)fss_column_text(st, 3), arg, err);
    }
    if (rc == FSS_OK && r != FSS_SQL_DONE && r != FSS_SQL_ROW)
        rc = fss__dbfail(err, c->db, "duplicates");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_merged_get(fss_conn *c, const fs_id *dup,
                                fss_merged_row *out, bool *found, fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, dup}};
    fss_stmt *st;
    fss_status rc;
    int r;

    *found = false;
    memset(out, 0, sizeof *out);
    rc = prep(c, "SELECT survivor, owner_rep, territory FROM fss_merged WHERE"
                 " dup = ?", v, 1, &st, err);
    if (rc == FSS_OK) {
        r = fss_step(st);
        if (r == FSS_SQL_ROW && fss_column_bytes(st, 0) == 16) {
            *found = true;
            memcpy(out->survivor.b, fss_column_blob(st, 0), 16);
            if (fss_column_type(st, 1) != FSS_SQL_NULL)
                snprintf(out->owner_rep, sizeof out->owner_rep, "%s",
                         (const char *)fss_column_text(st, 1));
            if (fss_column_type(st, 2) != FSS_SQL_NULL)
                snprintf(out->territory, sizeof out->territory, "%s",
                         (const char *)fss_column_text(st, 2));
        } else if (r != FSS_SQL_DONE && r != FSS_SQL_ROW)
            rc = fss__dbfail(err, c->db, "merged");
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_merge_record(fss_conn *c, const fss_merge_item *m,
                                  int64_t *id, fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, &m->survivor}, {'i', NULL, m->at, NULL},
                 {'t', m->by, 0, NULL},        {'i', NULL, m->duplicates, NULL},
                 {'i', NULL, m->children, NULL}, {'i', NULL, m->fields, NULL},
                 {'t', m->detail, 0, NULL}};
    fss_status rc = run(c, "INSERT INTO fss_merges(survivor, at, by_whom,"
                           " duplicates, children, fields, detail)"
                           " VALUES(?, ?, ?, ?, ?, ?, ?)", v, 7, NULL, err);

    if (rc == FSS_OK)
        rc = one_int(c, "SELECT max(id) FROM fss_merges", NULL, 0, id, err);
    return rc;
}

fss_status fss__repo_merged_add(fss_conn *c, const fs_id *dup,
                                const fs_id *survivor, int64_t merge_id,
                                const char *owner_rep, const char *territory,
                                fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, dup}, {'b', NULL, 0, survivor},
                 {'i', NULL, merge_id, NULL}, {'t', owner_rep, 0, NULL},
                 {'t', territory, 0, NULL}};

    return run(c, "INSERT INTO fss_merged(dup, survivor, merge_id, owner_rep,"
                  " territory) VALUES(?, ?, ?, ?, ?)", v, 5, NULL, err);
}

fss_status fss__repo_merges_list(fss_conn *c, const fs_id *survivor,
                                 fss_merge_item_fn fn, void *arg, fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, survivor}};
    fss_stmt *st;
    fss_status rc;
    int r;

    rc = prep(c, survivor
                     ? "SELECT id, survivor, at, by_whom, duplicates, children,"
                       " fields, detail FROM fss_merges WHERE survivor = ?"
                       " ORDER BY id"
                     : "SELECT id, survivor, at, by_whom, duplicates, children,"
                       " fields, detail FROM fss_merges ORDER BY id",
              v, survivor ? 1 : 0, &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_merge_item m;
        memset(&m, 0, sizeof m);
        m.id = fss_column_int64(st, 0);
        if (fss_column_bytes(st, 1) == 16)
            memcpy(m.survivor.b, fss_column_blob(st, 1), 16);
        m.at = fss_column_int64(st, 2);
        m.by = (const char *)fss_column_text(st, 3);
        m.duplicates = fss_column_int64(st, 4);
        m.children = fss_column_int64(st, 5);
        m.fields = fss_column_int64(st, 6);
        m.detail = (const char *)fss_column_text(st, 7);
        fn(&m, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "merges");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_merge_children(fss_conn *c, int64_t merge_id,
                                    int64_t children, fs_error *err)
{
    bindv v[] = {{'i', NULL, children, NULL}, {'i', NULL, merge_id, NULL}};

    return run(c, "UPDATE fss_merges SET children = ? WHERE id = ?", v, 2, NULL,
               err);
}

fss_status fss__repo_merged_in_scope(fss_conn *c, const char *rep,
                                     const fs_id *survivor, bool *in,
                                     fs_error *err)
{
    bindv v[] = {{'b', NULL, 0, survivor}, {'t', rep, 0, NULL},
                 {'t', rep, 0, NULL}};
    int64_t n = 0;
    fss_status rc = one_int(c, "SELECT count(*) FROM fss_merged m WHERE"
                               " m.survivor = ? AND (m.owner_rep = ? OR"
                               " m.territory IN (SELECT territory FROM"
                               " fss_rep_territories WHERE rep = ?))",
                            v, 3, &n, err);

    *in = n > 0;
    return rc;
}

fss_status fss__repo_offboard_moved(fss_conn *c, const char *rep, int64_t n,
                                    fs_error *err)
{
    bindv v[] = {{'i', NULL, n, NULL}, {'t', rep, 0, NULL}, {'t', rep, 0, NULL}};

    if (n <= 0)
        return FSS_OK;
    return run(c, "UPDATE fss_offboards SET customers = customers + ? WHERE"
                  " rep = ? AND id = (SELECT max(id) FROM fss_offboards"
                  " WHERE rep = ?)", v, 3, NULL, err);
}
