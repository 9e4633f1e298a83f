/*
 * fss_owner.c - the ownership lifecycle's back-office operations (issue 17;
 * docs/ARCHITECTURE.md, "Ownership lifecycle"): a rep leaving in one step
 * (offboard), reactivating a rep, and the list of offboardings.
 *
 * An offboarding's first IMMEDIATE transaction makes the rep harmless, all
 * of it or none: (1) with --drain, the rep's scope is remembered as its
 * drain scope (a draining device's pushes are judged against it,
 * fss_sync.c); (3) the rep's territory memberships go, with an exit for
 * every customer that leaves its scope; (4) its unused enrollment codes
 * are voided; (5) its devices are revoked (draining with --drain); (6) the
 * rep is deactivated (no new codes, enrolling with an old one is refused)
 * and the offboarding recorded. Then (2) every live customer the rep owns
 * gets the new owner (or none: the pool) as an ordinary server change, so
 * the heir's devices pull it and the rep's devices get an exit, in short
 * transactions so that no device's push waits long behind a large book;
 * an offboarding cut short is finished by running it again. Reactivation is explicit
 * and restores only the right to enroll: customers and territories are
 * given back by ordinary assignments.
 */
#include "fss_json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static fss_status owner_begin(fss_server *s, fss_conn **c, fs_error *err)
{
    *c = fss__conn_get(s, 10000);
    if (!*c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if (fss__begin_immediate(*c, err) != FSS_OK) {
        fss__conn_put(s, *c);
        *c = NULL;
        return FSS_EDB;
    }
    return FSS_OK;
}

static fss_status owner_end(fss_server *s, fss_conn *c, fss_status st,
                            fs_error *err)
{
    if (!c)
        return st;
    if (st == FSS_OK)
        st = fss__commit(c, err);
    if (st != FSS_OK)
        fss__rollback(c);
    fss__conn_put(s, c);
    return st;
}

/* FSS_ENOTFOUND for an unknown rep; *active its state. */
static fss_status rep_state(fss_conn *c, const char *rep, fss_rep_state *rs,
                            fs_error *err)
{
    bool found = false;
    fss_status st = fss__repo_rep_state(c, rep, rs, &found, err);

    if (st == FSS_OK && !found)
        st = fss__fail(err, FSS_ENOTFOUND, "no rep %s", rep);
    return st;
}

fss_status fss__rep_active(fss_conn *c, const char *rep, const char *doing,
                           fs_error *err)
{
    fss_rep_state rs;
    fss_status st = rep_state(c, rep, &rs, err);

    if (st == FSS_OK && !rs.active)
        st = fss__fail(err, FSS_EINVAL, "rep %s is deactivated (offboarded): "
                       "reactivate it before %s", rep, doing);
    return st;
}

/* A server change giving customer `cust` the owner `to` ("" = none). */
static fss_status move_customer(fss_server *s, fss_conn *c, const fs_id *cust,
                                const char *to, fs_error *err)
{
    fs_change chg;
    fs_value v = {0};
    fs_error ferr = {0};
    fss_status st = FSS_OK;

    memset(&chg, 0, sizeof chg);
    if (fs_change_init(&chg, fs_schema_entity("customer"), cust,
                       &fss_server_device, &ferr) != FS_OK ||
        (to[0] && fs_value_text(&v, to, strlen(to), &ferr) != FS_OK) ||
        fs_change_set_named(&chg, "owner_rep", &v, fss__tick(s), &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ENOMEM, "offboard change: %s", ferr.text);
        goto done;
    }
    st = fss__server_write(s, c, &chg, err);
done:
    fs_value_clear(&v);
    fs_change_free(&chg);
    return st;
}

/* One transaction of the move: at most OFFBOARD_BATCH customers and
 * OFFBOARD_SLICE_MS of work, and it ends early, after OFFBOARD_MIN
 * customers, as soon as a device's request waits for the write lock. After
 * each commit the move waits while one does (fss__yield_to_writers), so a
 * push waits for at most one short slice, never the whole book; with no
 * one waiting it goes on at once. The fixed 110 ms pause after every 100
 * customers this replaces made a push wait up to 3.7 s at 200,000 rows,
 * because every request of a sync that writes (last seen, the push) had to
 * hit a pause, and cost 22 s of sleep per 20,000 customers
 * (docs/BENCHMARKS.md, offboard). */
#define OFFBOARD_BATCH 100
#define OFFBOARD_MIN 10
#define OFFBOARD_SLICE_MS 50

/* True when the transaction of the move that started at t0 with `done`
 * customers moved should commit now. */
static bool slice_over(fss_server *s, size_t done, uint64_t t0)
{
    if (done >= OFFBOARD_BATCH)
        return true;
    if (done < OFFBOARD_MIN)
        return false;
    return atomic_load(&s->writers_waiting) > 0 ||
           fss_now_ms() - t0 >= OFFBOARD_SLICE_MS;
}

/* Step (2): every live customer rep still owns goes to heir ("" = the
 * pool), a slice per transaction, each an ordinary server change. A
 * customer the back office assigned elsewhere meanwhile is left alone, and
 * so is everything when the rep was reactivated meanwhile. The
 * offboarding's record counts them as they go. */
static fss_status move_owned(fss_server *s, const char *rid, const char *heir,
                             int64_t *moved, fs_error *err)
{
    const fs_entity *ce = fs_schema_entity("customer");
    int io = fs_entity_field_index(ce, "owner_rep");
    fss_conn *c = NULL;
    fs_id *ids = NULL;
    size_t n = 0, i = 0, k;
    fss_status st;

    c = fss__conn_get(s, 10000);
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    st = fss__repo_rep_owned(c, rid, &ids, &n, err);
    fss__conn_put(s, c);
    c = NULL;
    while (st == FSS_OK && i < n) {
        int64_t batch = 0;
        fss_rep_state rs;
        uint64_t t0 = fss_now_ms();
        if ((st = owner_begin(s, &c, err)) != FSS_OK)
            break;
        /* A rep reactivated meanwhile keeps what it still owns. */
        if ((st = rep_state(c, rid, &rs, err)) == FSS_OK && rs.active) {
            st = owner_end(s, c, st, err);
            c = NULL;
            break;
        }
        for (k = i; st == FSS_OK && k < n && !slice_over(s, k - i, t0); k++) {
            fs_row row = {0};
            bool found = false;
            const fs_value *ov;
            st = fss__repo_row_load(c, ce, &ids[k], &row, NULL, &found, err);
            ov = st == FSS_OK && found ? &row.cells[io].v : NULL;
            if (ov && !row.deleted && ov->kind == FS_VAL_TEXT &&
                strcmp(ov->u.text.p, rid) == 0) {
                st = move_customer(s, c, &ids[k], heir, err);
                batch++;
            }
            fs_row_free(&row);
        }
        if (st == FSS_OK)
            st = fss__repo_offboard_moved(c, rid, batch, err);
        st = owner_end(s, c, st, err);
        c = NULL;
        if (st == FSS_OK)
            *moved += batch;
        i = k;
        if (st == FSS_OK && i < n)
            fss__yield_to_writers(s);
    }
    free(ids);
    return st;
}

fss_status fss_admin_offboard(fss_server *s, const fs_id *rep, const fs_id *to,
                              bool drain, const char *by,
                              fss_offboard_result *out, fs_error *err)
{
    fss_conn *c = NULL;
    fss_rep_state rs, ts;
    fss_offboard_item rec;
    char rid[FS_ID_STRLEN + 1], tid[FS_ID_STRLEN + 1] = "";
    fs_id *ids = NULL;
    size_t n = 0, i;
    int64_t now = (int64_t)fss_now_ms();
    fss_status st;

    memset(out, 0, sizeof *out);
    fs_id_format(rep, rid);
    if (to)
        fs_id_format(to, tid);
    if (to && fs_id_cmp(rep, to) == 0)
        return fss__fail(err, FSS_EINVAL,
                         "a rep cannot hand its customers to itself");
    if ((st = owner_begin(s, &c, err)) != FSS_OK)
        return st;
    if ((st = rep_state(c, rid, &rs, err)) != FSS_OK)
        goto done;
    if (!rs.active) {
        /* An offboarding cut short (a crash between batches) is finished by
         * running it again (or by `serve`, fss_offboards_finish): the
         * customers still owned go to the heir recorded then. */
        if ((st = fss__repo_rep_owned(c, rid, &ids, &n, err)) != FSS_OK)
            goto done;
        if (n == 0) {
            st = fss__fail(err, FSS_EINVAL, "rep %s is already offboarded", rid);
            goto done;
        }
        snprintf(tid, sizeof tid, "%s", rs.heir);
        st = owner_end(s, c, FSS_OK, err);
        c = NULL;
        if (st == FSS_OK)
            st = move_owned(s, rid, tid, &out->customers, err);
        goto done;
    }
    if (to) {
        if ((st = rep_state(c, tid, &ts, err)) != FSS_OK)
            goto done;
        if (!ts.active) {
            st = fss__fail(err, FSS_EINVAL,
                           "rep %s is offboarded and cannot take customers", tid);
            goto done;
        }
    }
    /* The first transaction makes the rep harmless at once: (1) what its
     * devices were working on is kept for a drain; (3) its territories go,
     * with an exit for what only they kept in scope (owned customers leave
     * with their move); (4)-(6) codes void, devices revoked, rep
     * deactivated, the offboarding recorded. */
    if (drain && (st = fss__repo_drain_scope_fill(c, rid, err)) != FSS_OK)
        goto done;
    if ((st = fss__repo_rep_scope(c, rid, &ids, &n, err)) != FSS_OK ||
        (st = fss__repo_rep_territories_clear(c, rid, &out->territories, err)) !=
            FSS_OK)
        goto done;
    for (i = 0; i < n; i++) {
        bool still = false;
        if ((st = fss__customer_in_scope(c, rid, &ids[i], &still, err)) != FSS_OK ||
            (!still &&
             (st = fss__add_exit(c, rid, &ids[i], FS_EXIT_REVOKED, err)) != FSS_OK))
            goto done;
    }
    if ((st = fss__repo_rep_codes_void(c, rid, now, &out->codes, err)) != FSS_OK ||
        (st = fss__repo_rep_devices_revoke(c, rid, now, drain, &out->devices,
                                           err)) != FSS_OK ||
        (st = fss__repo_rep_set_active(c, rid, false, to ? tid : NULL, now,
                                       err)) != FSS_OK)
        goto done;
    out->drain = drain;
    memset(&rec, 0, sizeof rec);
    rec.rep = rid;
    rec.to_rep = to ? tid : NULL;
    rec.at = now;
    rec.by = by;
    rec.territories = out->territories;
    rec.devices = out->devices;
    rec.codes = out->codes;
    rec.drain = drain;
    if ((st = fss__repo_offboard_record(c, &rec, err)) != FSS_OK)
        goto done;
    st = owner_end(s, c, st, err);
    c = NULL;
    /* (2) Then its customers, in short transactions. */
    if (st == FSS_OK)
        st = move_owned(s, rid, tid, &out->customers, err);
done:
    free(ids);
    return owner_end(s, c, st, err);
}

fss_status fss_offboards_finish(fss_server *s, int64_t *moved, fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    fss_rep_uuid *reps = NULL;
    size_t n = 0, i;
    fss_status st;

    *moved = 0;
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    st = fss__repo_offboards_unfinished(c, &reps, &n, err);
    for (i = 0; st == FSS_OK && i < n; i++) {
        fss_rep_state rs;
        if ((st = rep_state(c, reps[i].s, &rs, err)) != FSS_OK)
            break;
        /* Each batch checks again that the rep is inactive and owns the
         * customer (move_owned), so this read may be outside one. */
        fss__conn_put(s, c);
        c = NULL;
        st = move_owned(s, reps[i].s, rs.heir, moved, err);
        if (st == FSS_OK && !(c = fss__conn_get(s, 10000)))
            st = fss__fail(err, FSS_EDB, "no database connection free");
    }
    if (c)
        fss__conn_put(s, c);
    free(reps);
    return st;
}

fss_status fss_admin_rep_reactivate(fss_server *s, const fs_id *rep,
                                    fs_error *err)
{
    fss_conn *c = NULL;
    fss_rep_state rs;
    char rid[FS_ID_STRLEN + 1];
    int64_t now = (int64_t)fss_now_ms();
    fss_status st;

    fs_id_format(rep, rid);
    if ((st = owner_begin(s, &c, err)) != FSS_OK)
        return st;
    if ((st = rep_state(c, rid, &rs, err)) != FSS_OK)
        goto done;
    if (rs.active) {
        st = fss__fail(err, FSS_EINVAL, "rep %s is active", rid);
        goto done;
    }
    /* A drain not yet taken is over: the old devices stay revoked (their
     * next request wipes them); the rep enrolls new ones. */
    if ((st = fss__repo_rep_drain_end(c, rid, err)) != FSS_OK ||
        (st = fss__repo_rep_set_active(c, rid, true, NULL, now, err)) != FSS_OK)
        goto done;
    st = fss__repo_offboard_reactivated(c, rid, now, err);
done:
    return owner_end(s, c, st, err);
}

typedef struct offboards_out {
    fss_buf *out;
    bool any;
} offboards_out;

static void offboard_item(const fss_offboard_item *o, void *arg)
{
    offboards_out *x = arg;
    fss_buf *b = x->out;

    fss_buf_printf(b, "%s{\"id\":%lld,\"rep\":", x->any ? "," : "",
                   (long long)o->id);
    x->any = true;
    fss_json_cstr(b, o->rep);
    fss_buf_puts(b, ",\"rep_name\":");
    fss_json_cstr(b, o->rep_name);
    fss_buf_puts(b, ",\"to\":");
    fss_json_cstr(b, o->to_rep ? o->to_rep : "pool");
    fss_buf_printf(b, ",\"at\":%lld,\"by\":", (long long)o->at);
    fss_json_cstr(b, o->by);
    fss_buf_printf(b,
                   ",\"customers_moved\":%lld,\"territories_removed\":%lld,"
                   "\"devices_revoked\":%lld,\"codes_voided\":%lld,"
                   "\"drain\":%s,\"changes_drained\":%lld,\"reactivated_at\":",
                   (long long)o->customers, (long long)o->territories,
                   (long long)o->devices, (long long)o->codes,
                   o->drain ? "true" : "false", (long long)o->drained);
    if (o->has_reactivated_at)
        fss_buf_printf(b, "%lld}", (long long)o->reactivated_at);
    else
        fss_buf_puts(b, "null}");
}

fss_status fss_admin_offboards_list(fss_server *s,
                                    const char *const *territories,
                                    fss_buf *out, fs_error *err)
{
    offboards_out x = {.out = out};
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    rc = fss__repo_offboards_list(c, territories, offboard_item, &x, err);
    fss_buf_puts(out, "]\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "output");
    fss__conn_put(s, c);
    return rc;
}
