/*
 * fss_pool.c - the public pool at the server (issue 17; CRM.md section 5;
 * docs/ARCHITECTURE.md "Ownership lifecycle"): the reclaim run (on a
 * schedule inside `serve`, and `sync-server reclaim`), the judging of a
 * device's claim at sync, and the pool and claim lists.
 *
 * The rules are conflict/fs_pool.c's; this file gathers their facts
 * through the repository and acts on the verdicts with ordinary server
 * writes. The reclaim clock of a customer runs from the latest of: the
 * owner's last visit checked in or out, the owner's claim of it, and the
 * first reclaim run that saw it owned (so turning the pool on does not
 * empty every desk at once). An assignment by the back office or an
 * offboarding moves the owner without touching any of these: it does not
 * start the clock.
 */
#include "fss_json.h"

#include "fs_pool.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static fs_pool_policy policy_of(const fss_server *s)
{
    fs_pool_policy p = fs_pool_policy_default();

    p.reclaim_after_ms = (int64_t)s->cfg.pool_reclaim_days * FS_DAY_MS;
    p.warn_before_ms = (int64_t)s->cfg.pool_warn_days * FS_DAY_MS;
    p.bar_ms = (int64_t)s->cfg.pool_bar_days * FS_DAY_MS;
    p.daily_quota = s->cfg.pool_daily_quota;
    return p;
}

static fss_status set_value(fs_change *chg, const char *field, const fs_value *v,
                            fs_hlc hlc, fs_error *err)
{
    fs_error ferr = {0};

    if (fs_change_set_named(chg, field, v, hlc, &ferr) != FS_OK)
        return fss__fail(err, FSS_EINVAL, "%s: %s", field, ferr.text);
    return FSS_OK;
}

static fss_status set_text(fs_change *chg, const char *field, const char *text,
                           fs_hlc hlc, fs_error *err)
{
    fs_value v = {0};
    fs_error ferr = {0};
    fss_status st;

    if (text[0] && fs_value_text(&v, text, strlen(text), &ferr) != FS_OK)
        return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
    st = set_value(chg, field, &v, hlc, err);
    fs_value_clear(&v);
    return st;
}

/* Back to the pool: owner and claim cleared, one server change; the
 * owner's devices get the exit "reclaimed" (unless a territory covers it). */
static fss_status reclaim_one(fss_server *s, fss_conn *c, const fss_reclaim_item *it,
                              int64_t now, fs_error *err)
{
    fs_change chg;
    fs_error ferr = {0};
    fs_hlc hlc = fss__tick(s);
    fss_status st;

    memset(&chg, 0, sizeof chg);
    if (fs_change_init(&chg, fs_schema_entity("customer"), &it->id,
                       &fss_server_device, &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        goto done;
    }
    if ((st = set_text(&chg, "owner_rep", "", hlc, err)) != FSS_OK ||
        (st = set_text(&chg, "claimed_by", "", hlc, err)) != FSS_OK ||
        (st = fss__server_write_why(s, c, &chg, FS_EXIT_RECLAIMED, err)) != FSS_OK)
        goto done;
    st = fss__repo_pool_reclaimed(c, &it->id, it->owner, now, err);
done:
    fs_change_free(&chg);
    return st;
}

/* The warning: a follow-up task for the owner, due when the customer would
 * be reclaimed, saying so in plain words. */
static fss_status warn_one(fss_server *s, fss_conn *c, const fss_reclaim_item *it,
                           int64_t due_ms, int64_t now, fs_error *err)
{
    fs_change chg;
    fs_error ferr = {0};
    fs_hlc hlc = fss__tick(s);
    fs_id task;
    fs_value v;
    char title[200], day[16];
    time_t t = (time_t)(due_ms / 1000);
    struct tm tm;
    fss_status st;

    memset(&chg, 0, sizeof chg);
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(title, sizeof title,
             "Follow up with %.100s by %s, or it returns to the public pool",
             it->name[0] ? it->name : "this customer", day);
    if (fs_id_new((uint64_t)now, &task, &ferr) != FS_OK ||
        fs_change_init(&chg, fs_schema_entity("task"), &task, &fss_server_device,
                       &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        goto done;
    }
    v = fs_value_idv(&it->id);
    if ((st = set_value(&chg, "customer_id", &v, hlc, err)) != FSS_OK ||
        (st = set_text(&chg, "rep_id", it->owner, hlc, err)) != FSS_OK ||
        (st = set_text(&chg, "kind", "follow_up", hlc, err)) != FSS_OK ||
        (st = set_text(&chg, "title", title, hlc, err)) != FSS_OK)
        goto done;
    v = fs_value_int(due_ms);
    if ((st = set_value(&chg, "due_at", &v, hlc, err)) != FSS_OK ||
        (st = fss__server_write(s, c, &chg, err)) != FSS_OK)
        goto done;
    st = fss__repo_pool_warned(c, &it->id, now, err);
done:
    fs_change_free(&chg);
    return st;
}

fss_status fss_pool_reclaim(fss_server *s, int64_t now_ms, bool dry_run,
                            fss_reclaim_result *out, fss_buf *report,
                            fs_error *err)
{
    fs_pool_policy p = policy_of(s);
    fss_reclaim_item *items = NULL;
    fss_conn *c;
    size_t n = 0, i;
    bool any = false;
    fss_status st;

    memset(out, 0, sizeof *out);
    c = fss__conn_get(s, 10000);
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if (report)
        fss_buf_puts(report, "[");
    if ((st = fss__begin_immediate(c, err)) != FSS_OK ||
        (st = fss__repo_reclaim_candidates(c, &items, &n, err)) != FSS_OK)
        goto done;
    for (i = 0; i < n; i++) {
        const fss_reclaim_item *it = &items[i];
        fs_reclaim_facts f;
        fs_reclaim_action a;
        f.has_owner = true;
        f.clock_ms = it->has_since ? it->since : now_ms;
        if (it->has_followup && it->followup > f.clock_ms)
            f.clock_ms = it->followup;
        if (it->claimed_by_owner && it->claimed_at > f.clock_ms)
            f.clock_ms = it->claimed_at;
        f.open_quote = it->open_quote;
        f.warned = it->has_warned && it->warned_at >= f.clock_ms;
        a = fs_pool_reclaim(&p, &f, now_ms);
        out->checked++;
        if (a == FS_RECLAIM_KEEP) {
            if (!dry_run && !it->has_since &&
                (st = fss__repo_pool_seen(c, &it->id, now_ms, err)) != FSS_OK)
                goto done;
            continue;
        }
        if (a == FS_RECLAIM_NOW)
            out->reclaimed++;
        else
            out->warned++;
        if (report) {
            fss_buf_puts(report, any ? ",{\"customer\":" : "{\"customer\":");
            any = true;
            fss_json_id(report, &it->id);
            fss_buf_puts(report, ",\"name\":");
            fss_json_cstr(report, it->name);
            fss_buf_puts(report, ",\"owner\":");
            fss_json_cstr(report, it->owner);
            fss_buf_printf(report, ",\"action\":\"%s\",\"idle_days\":%lld}",
                           a == FS_RECLAIM_NOW ? "reclaim" : "warn",
                           (long long)((now_ms - f.clock_ms) / FS_DAY_MS));
        }
        if (dry_run)
            continue;
        st = a == FS_RECLAIM_NOW
                 ? reclaim_one(s, c, it, now_ms, err)
                 : warn_one(s, c, it, f.clock_ms + p.reclaim_after_ms, now_ms, err);
        if (st != FSS_OK)
            goto done;
    }
    st = dry_run ? FSS_OK : fss__commit(c, err);
done:
    if (report)
        fss_buf_puts(report, "]\n");
    if (st == FSS_OK && report && report->oom)
        st = fss__fail(err, FSS_ENOMEM, "report");
    fss__rollback(c);
    fss__conn_put(s, c);
    free(items);
    return st;
}

fss_status fss__claim_judge(fss_server *s, fss_conn *c, const char *rep,
                            const fs_id *device, const fs_row *stored,
                            bool *won, char *why, size_t cap, fs_error *err)
{
    fs_pool_policy p = policy_of(s);
    fs_claim_facts f;
    fss_pool_row pool;
    fss_claim_item rec;
    const fs_value *owner, *terr;
    char owner_txt[FS_ID_STRLEN + 1] = "", owner_name[200] = "";
    int64_t now = (int64_t)fss_now_ms(), recent = 0;
    bool in_terr = false;
    fs_claim_verdict v;
    fss_status st;

    *won = false;
    owner = &stored->cells[fs_entity_field_index(stored->entity, "owner_rep")].v;
    terr = &stored->cells[fs_entity_field_index(stored->entity, "territory")].v;
    if (owner->kind == FS_VAL_TEXT)
        snprintf(owner_txt, sizeof owner_txt, "%s", owner->u.text.p);
    if (owner_txt[0] &&
        (st = fss__repo_rep_name(c, owner_txt, owner_name, sizeof owner_name,
                                 err)) != FSS_OK)
        return st;
    if (terr->kind == FS_VAL_TEXT &&
        (st = fss__repo_rep_in_territory(c, rep, terr->u.text.p, &in_terr, err)) !=
            FSS_OK)
        return st;
    if ((st = fss__repo_pool_get(c, &stored->id, &pool, err)) != FSS_OK ||
        (st = fss__repo_claims_won_since(c, rep, now - FS_DAY_MS, &recent, err)) !=
            FSS_OK)
        return st;
    memset(&f, 0, sizeof f);
    f.claimer = rep;
    f.owner = owner_txt;
    f.owner_name = owner_name;
    f.in_territory = in_terr;
    f.claims_last_day = recent > 0 ? (unsigned)recent : 0;
    f.former_owner = pool.former_owner[0] ? pool.former_owner : NULL;
    f.pooled_at_ms = pool.pooled_at;
    v = fs_pool_claim(&p, &f, now, why, cap);
    *won = v == FS_CLAIM_OK || v == FS_CLAIM_MINE;
    if (v == FS_CLAIM_MINE)
        return FSS_OK; /* nothing happened: no record */
    memset(&rec, 0, sizeof rec);
    rec.customer = stored->id;
    rec.rep = rep;
    rec.device = *device;
    rec.at = now;
    rec.outcome = fs_claim_verdict_name(v);
    rec.detail = v == FS_CLAIM_OK ? NULL : why;
    if ((st = fss__repo_claim_record(c, &rec, err)) != FSS_OK)
        return st;
    if (v == FS_CLAIM_OK)
        st = fss__repo_pool_claimed(c, &stored->id, rep, now, err);
    return st;
}

typedef struct list_out {
    fss_buf *out;
    bool any;
} list_out;

static void pool_item(const fss_pool_item *p, void *arg)
{
    list_out *x = arg;
    fss_buf *b = x->out;

    fss_buf_puts(b, x->any ? ",{\"id\":" : "{\"id\":");
    x->any = true;
    fss_json_id(b, &p->id);
    fss_buf_puts(b, ",\"name\":");
    fss_json_cstr(b, p->name);
    fss_buf_puts(b, ",\"territory\":");
    fss_json_cstr(b, p->territory);
    fss_buf_puts(b, ",\"pooled_at\":");
    if (p->has_pooled_at)
        fss_buf_printf(b, "%lld", (long long)p->pooled_at);
    else
        fss_buf_puts(b, "null");
    fss_buf_puts(b, ",\"former_owner\":");
    fss_json_cstr(b, p->former_owner);
    fss_buf_puts(b, "}");
}

static void claim_item(const fss_claim_item *k, void *arg)
{
    list_out *x = arg;
    fss_buf *b = x->out;

    fss_buf_printf(b, "%s{\"id\":%lld,\"customer\":", x->any ? "," : "",
                   (long long)k->id);
    x->any = true;
    fss_json_id(b, &k->customer);
    fss_buf_puts(b, ",\"customer_name\":");
    fss_json_cstr(b, k->customer_name);
    fss_buf_puts(b, ",\"rep\":");
    fss_json_cstr(b, k->rep);
    fss_buf_puts(b, ",\"rep_name\":");
    fss_json_cstr(b, k->rep_name);
    fss_buf_puts(b, ",\"device\":");
    fss_json_id(b, &k->device);
    fss_buf_printf(b, ",\"at\":%lld,\"outcome\":", (long long)k->at);
    fss_json_cstr(b, k->outcome);
    fss_buf_puts(b, ",\"detail\":");
    fss_json_cstr(b, k->detail);
    fss_buf_puts(b, "}");
}

fss_status fss_admin_pool_list(fss_server *s, const char *const *territories,
                               fss_buf *out, fs_error *err)
{
    list_out x = {.out = out};
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    rc = fss__repo_pool_list(c, territories, pool_item, &x, err);
    fss_buf_puts(out, "]\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "output");
    fss__conn_put(s, c);
    return rc;
}

fss_status fss_admin_claims_list(fss_server *s, const char *const *territories,
                                 uint32_t limit, fss_buf *out, fs_error *err)
{
    list_out x = {.out = out};
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    rc = fss__repo_claims_list(c, territories, limit, claim_item, &x, err);
    fss_buf_puts(out, "]\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "output");
    fss__conn_put(s, c);
    return rc;
}
