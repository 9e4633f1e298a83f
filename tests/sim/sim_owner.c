/*
 * sim_owner.c - issue 17's ownership lifecycle in the simulation: the back
 * office merges duplicate customers mid-run while devices hold offline
 * edits of the duplicate and offline-created rows under it; the reclaim
 * run puts customers back in the public pool, devices claim pool customers
 * offline (two of them racing for one), and a rep is offboarded while its
 * devices hold pending changes (with --drain on odd seeds, without on even
 * ones).
 *
 * A merge is the admin API's `POST customers/{survivor}/merge`. The model
 * then marks the duplicate merged (and deleted: nobody sees it again) and
 * resolves it to the survivor wherever a row's customer is looked up (the
 * scope check of pulled rows, sim_in_scope). What the checks learn
 * (sim_check.c): a write answered MERGED / REDIRECTED was applied to the
 * survivor (a customer change: the survivor's cell carries it, or a record
 * names it there; a new row: its parent is the survivor), and a write the
 * duplicate held when it was merged is superseded by the merge, which is
 * recorded (fss_merged / fss_merges), never silently.
 *
 * The pool: the server runs with --pool-reclaim-days 0 and no scheduled
 * reclaim (sim_server.c), so the one reclaim the harness asks for (POST
 * pool/reclaim, forced mid-run, after importing one owned customer so that
 * it always has one to take) returns every owned customer without an open
 * quote, named in its answer: the model clears their owner. A claim is a
 * device write (fc_customer_claim); the model learns that one stood from
 * its answer (sim_owner_result) and makes the claimer the owner. Once per
 * run two devices of different reps of the customer's territory claim one
 * pool customer offline (a reclaimed one if any, else any, else one the back
 * office makes: race_make) and sync one after the other (faults off for these
 * syncs, so the order of arrival is the harness's): the admin API's claim
 * list must show the first as `won` and the second as `taken` "already
 * claimed by" the first's rep, and the second's change REJECTED / CLAIM
 * (sim_check.c finds its stored record). Other claims happen at random.
 *
 * Offboarding: one rep (never the revoked last device's) is offboarded to
 * another rep or the pool after each of its devices made offline changes.
 * The model moves the rep's customers to the heir, clears its territories
 * and marks its devices revoked; with --drain they are held to what a live
 * device is (every write sent and answered, sim_check.c), otherwise their
 * pending work is lost with the wipe by design. The answer's counts are
 * checked against the model, and at the end the offboarding's record
 * (GET offboards) must count drained changes exactly when it drained.
 *
 * Every choice here comes from the sim's own stream `owner`, so the other
 * streams (scheduler, devices, faults) draw what they always drew; the
 * world they act on differs, by these events.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_owner_init(sim *s)
{
    sim_rng_seed(&s->owner, s->seed, 8);
    s->offboarded = -1;
    for (unsigned r = 0; r < SIM_MAX_REPS; r++)
        s->reps[r].heir = -1;
}

int sim_customer_final(sim *s, int ci)
{
    for (int hops = 0; ci >= 0 && s->cust[ci].merged && hops < SIM_MAX_CUSTOMERS; hops++)
        ci = s->cust[ci].survivor;
    return ci;
}

/* A live customer the server has, not merged; `dup` also one that never
 * took a duplicate in (no redirect chains), `other` excluded. */
static int pick_live(sim *s, bool dup, int other)
{
    for (int tries = 0; tries < 60 && s->ncust; tries++) {
        int ci = (int)sim_below(&s->owner, (uint32_t)s->ncust);
        const sim_customer *c = &s->cust[ci];
        if (ci != other && c->at_server && !c->deleted && !c->merged &&
            !(dup && c->survived))
            return ci;
    }
    return -1;
}

/* The back office merges a duplicate into a survivor. Half of the time the
 * survivor is a customer of the duplicate's territory (what the duplicate
 * list mostly finds), otherwise any customer. */
static void merge_pair(sim *s)
{
    int dup = pick_live(s, true, -1), surv = -1;
    char path[160], body[160], st[FS_ID_STRLEN + 1], dt[FS_ID_STRLEN + 1];
    sim_http h = {0};
    long rc;

    if (dup < 0)
        return;
    if (sim_chance(&s->owner, 500) && s->cust[dup].territory >= 0) {
        for (int tries = 0; tries < 20 && surv < 0; tries++) {
            int ci = pick_live(s, false, dup);
            if (ci >= 0 && s->cust[ci].territory == s->cust[dup].territory)
                surv = ci;
        }
    }
    if (surv < 0)
        surv = pick_live(s, false, dup);
    if (surv < 0)
        return;
    fs_id_format(&s->cust[surv].id, st);
    fs_id_format(&s->cust[dup].id, dt);
    snprintf(path, sizeof path, "customers/%s/merge", st);
    snprintf(body, sizeof body, "{\"duplicates\":[\"%s\"],\"by\":\"sim\"}", dt);
    rc = sim_admin(&s->srv, "POST", path, body, &h);
    if (rc == 200) {
        s->cust[dup].merged = true;
        s->cust[dup].deleted = true;
        s->cust[dup].survivor = surv;
        s->cust[surv].survived = true;
        /* Survivorship (fss_admin_merge): an empty field of the survivor
         * takes the duplicate's value, placement included. */
        if (s->cust[surv].owner < 0)
            s->cust[surv].owner = s->cust[dup].owner;
        if (s->cust[surv].territory < 0)
            s->cust[surv].territory = s->cust[dup].territory;
        sim_sh->faults[SIM_F_MERGE]++;
        if (s->verbose)
            fprintf(stderr, "sim: merge %s into %s\n", dt, st);
    } else {
        sim_violation("admin merge %s into %s: HTTP %ld %.200s", dt, st, rc,
                      h.body ? (const char *)h.body : "");
    }
    sim_http_free(&h);
}

/* ------------------------------------------------------------------------ */
/* The public pool                                                           */
/* ------------------------------------------------------------------------ */

/* The text of member `name` ("name":"...") at or after p, or false. */
static bool member_at(const char *p, const char *end, const char *name, char *out,
                      size_t cap)
{
    char pat[48];
    const char *q;
    size_t n = 0;

    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    if (!(q = strstr(p, pat)) || q >= end)
        return false;
    q += strlen(pat);
    while (q[n] && q[n] != '"' && n + 1 < cap)
        n++;
    memcpy(out, q, n);
    out[n] = '\0';
    return true;
}

static long member_num(const char *json, const char *name)
{
    char pat[48];
    const char *q;

    snprintf(pat, sizeof pat, "\"%s\":", name);
    return json && (q = strstr(json, pat)) ? strtol(q + strlen(pat), NULL, 10) : -1;
}

/* The reclaim run on demand. It always has a customer to take: one owned,
 * imported just before (no quote, no follow-up). */
static void reclaim(sim *s)
{
    int owner = (int)sim_below(&s->owner, s->nrep), ci;
    char body[300], idt[FS_ID_STRLEN + 1], cid[FS_ID_STRLEN + 1];
    const char *p;
    sim_http h = {0};
    unsigned n = 0;
    fs_id id;

    if (s->reps[owner].off || fs_id_new(1700000000000, &id, NULL) != FS_OK ||
        (ci = sim_add_customer(s, &id, owner, -1)) < 0)
        return;
    fs_id_format(&id, idt);
    snprintf(body, sizeof body, "[{\"id\":\"%s\",\"name\":\"Pool bait %u\","
             "\"owner_rep\":\"%s\"}]", idt, (unsigned)ci, s->reps[owner].uuid);
    if (sim_admin(&s->srv, "POST", "import/customers", body, &h) != 200) {
        sim_violation("admin import before the reclaim: HTTP %ld", h.status);
        goto done;
    }
    s->cust[ci].at_server = true;
    sim_http_free(&h);
    if (sim_admin(&s->srv, "POST", "pool/reclaim", "{}", &h) != 200 || !h.body) {
        sim_violation("admin pool/reclaim: HTTP %ld", h.status);
        goto done;
    }
    for (p = strstr((const char *)h.body, "{\"customer\":"); p;
         p = strstr(p + 1, "{\"customer\":")) {
        const char *end = strchr(p, '}');
        char action[16] = "";
        fs_id cust;
        int k;
        if (!end || !member_at(p, end, "customer", cid, sizeof cid) ||
            !member_at(p, end, "action", action, sizeof action) ||
            fs_id_parse(cid, strlen(cid), &cust, NULL) != FS_OK) {
            sim_violation("reclaim answer unreadable: %.200s", p);
            break;
        }
        if (strcmp(action, "reclaim") != 0)
            continue;
        if ((k = sim_customer_index(s, &cust)) < 0 || s->cust[k].owner < 0 ||
            s->cust[k].deleted) {
            sim_violation("reclaim took customer %s, which the model has %s", cid,
                          k < 0 ? "never seen" : s->cust[k].deleted ? "deleted"
                                                                 : "without an owner");
            continue;
        }
        s->cust[k].former = s->cust[k].owner;
        s->cust[k].owner = -1;
        s->cust[k].pooled = true;
        s->cust[k].at_server = true;
        sim_sh->faults[SIM_F_RECLAIM]++;
        n++;
    }
    if (!s->cust[ci].pooled)
        sim_violation("reclaim kept customer %s (owned, no quote, no follow-up)", idt);
    if (s->verbose)
        fprintf(stderr, "sim: reclaim: %u customer(s) back to the pool\n", n);
done:
    sim_http_free(&h);
}

/* A pool customer rep may claim: no owner, in one of its territories, not
 * one it lost to the pool (the bar). */
static bool claimable(const sim *s, int ci, int rep)
{
    const sim_customer *c = &s->cust[ci];

    return c->at_server && !c->deleted && !c->merged && c->owner < 0 &&
           c->territory >= 0 && !s->reps[rep].off &&
           (s->reps[rep].terr & (1u << c->territory)) && c->former != rep;
}

static bool device_live(sim_dev *d)
{
    return !d->revoked && !d->wiped && sim_device_open(d) == 0;
}

/* A device claims, offline, a pool customer it shows. The claim is a
 * write like any other: counted, judged at the device's next sync. */
static bool claim_on(sim_dev *d, const fs_id *id, bool must)
{
    fs_error err = {0};
    fc_status rc = fc_customer_claim(d->c, id, &err);
    char t[FS_ID_STRLEN + 1];

    if (rc == FC_OK) {
        sim_note_write(d, id);
        return true;
    }
    d->sim->ops_refused++;
    fs_id_format(id, t);
    /* At random a replica may show an owner the model has not learnt of
     * yet (another claim in flight): a refusal on the device. Not so after
     * a sync in a quiet moment. */
    if (must || (rc != FC_EINVAL && rc != FC_ENOTFOUND))
        sim_violation("dev%d: claim of pool customer %s: %s (%s)", d->index, t,
                      fc_strerror(rc), err.text);
    return false;
}

static void claim_random(sim *s)
{
    sim_dev *d = &s->dev[sim_below(&s->owner, s->ndev)];

    if (!device_live(d) || !s->ncust)
        return;
    for (int tries = 0; tries < 30; tries++) {
        int ci = (int)sim_below(&s->owner, (uint32_t)s->ncust);
        fs_row row = {0};
        bool shown;
        if (!claimable(s, ci, d->rep))
            continue;
        shown = fc_get(d->c, "customer", &s->cust[ci].id, &row, NULL) == FC_OK;
        fs_row_free(&row);
        if (shown)
            claim_on(d, &s->cust[ci].id, false);
        return;
    }
}

/* One sync with faults off (its order of arrival is the harness's). */
static bool sync_quiet(sim_dev *d)
{
    bool was = d->faults_on;
    fs_error err = {0};
    fc_status rc = FC_ENETWORK;

    d->faults_on = false;
    for (int i = 0; i < 3 && rc != FC_OK; i++)
        rc = sim_sync(d, &err);
    d->faults_on = was;
    if (rc != FC_OK)
        sim_violation("dev%d: a sync without faults failed: %s", d->index, err.text);
    return rc == FC_OK;
}

/* The outcome and detail of d's claim of customer cid in the claim list
 * (its latest record), or false. */
static bool claim_record(const char *json, const char *cid, const sim_dev *d, char *outcome,
                         size_t ocap, char *detail, size_t dcap)
{
    char pat[FS_ID_STRLEN + 20], dev[FS_ID_STRLEN + 1], got[FS_ID_STRLEN + 1];
    const char *p;
    bool found = false;

    fs_id_format(&d->id, dev);
    snprintf(pat, sizeof pat, "\"customer\":\"%s\"", cid);
    for (p = json ? strstr(json, pat) : NULL; p; p = strstr(p + 1, pat)) {
        const char *end = strstr(p, "},{");
        if (!end)
            end = p + strlen(p);
        if (!member_at(p, end, "device", got, sizeof got) || strcmp(got, dev) != 0)
            continue;
        found = member_at(p, end, "outcome", outcome, ocap);
        if (!member_at(p, end, "detail", detail, dcap))
            detail[0] = '\0';
    }
    return found;
}

/* Two live devices of different reps that may both claim customer ci. */
static bool race_pair(sim *s, int ci, int start, sim_dev **a, sim_dev **b)
{
    *a = *b = NULL;
    for (unsigned i = 0; i < s->ndev && !*b; i++) {
        sim_dev *d = &s->dev[(i + (unsigned)start) % s->ndev];
        if (!claimable(s, ci, d->rep) || !device_live(d))
            continue;
        if (!*a)
            *a = d;
        else if (d->rep != (*a)->rep)
            *b = d;
    }
    return *b != NULL;
}

/* When no pool customer has two claimants (a seed where memberships
 * drifted), the back office makes one: both reps of two live devices in
 * one territory, a new customer of it without an owner. */
static int race_make(sim *s, int start, sim_dev **pa, sim_dev **pb)
{
    static const char *const codes[SIM_NTERR] = {"north", "south", "east"};
    sim_dev *a = NULL, *b = NULL;
    char path[160], body[300], idt[FS_ID_STRLEN + 1];
    sim_http h = {0};
    int t = 0, ci;
    fs_id id;

    for (unsigned i = 0; i < s->ndev && !b; i++) {
        sim_dev *d = &s->dev[(i + (unsigned)start) % s->ndev];
        if (s->reps[d->rep].off || !device_live(d))
            continue;
        if (!a)
            a = d;
        else if (d->rep != a->rep)
            b = d;
    }
    if (!b)
        return -1;
    while (t < SIM_NTERR - 1 && !(s->reps[a->rep].terr & (1u << t)))
        t++;
    for (int k = 0; k < 2; k++) {
        sim_rep *r = &s->reps[(k ? b : a)->rep];
        if (r->terr & (1u << t))
            continue;
        snprintf(path, sizeof path, "reps/%s/territories", r->uuid);
        snprintf(body, sizeof body, "{\"territory\":\"%s\"}", codes[t]);
        if (sim_admin(&s->srv, "POST", path, body, &h) != 200) {
            sim_violation("claim race: territory for a claimant: HTTP %ld", h.status);
            sim_http_free(&h);
            return -1;
        }
        sim_http_free(&h);
        r->terr |= 1u << t;
    }
    if (fs_id_new(1700000000000, &id, NULL) != FS_OK ||
        (ci = sim_add_customer(s, &id, -1, t)) < 0)
        return -1;
    fs_id_format(&id, idt);
    snprintf(body, sizeof body, "[{\"id\":\"%s\",\"name\":\"Race Co %d\","
             "\"territory\":\"%s\"}]", idt, ci, codes[t]);
    if (sim_admin(&s->srv, "POST", "import/customers", body, &h) != 200) {
        sim_violation("claim race: import: HTTP %ld", h.status);
        sim_http_free(&h);
        return -1;
    }
    sim_http_free(&h);
    s->cust[ci].at_server = true;
    *pa = a;
    *pb = b;
    return ci;
}

/* Two devices of different reps claim one pool customer offline (each
 * synced first, so both show it); the first syncs, then the second. */
static void claim_race(sim *s)
{
    int start = s->ncust ? (int)sim_below(&s->owner, (uint32_t)s->ncust) : 0, ci = -1;
    char cid[FS_ID_STRLEN + 1], o1[16], o2[16], d1t[200], d2t[200], want[80];
    sim_dev *a = NULL, *b = NULL;
    sim_http h = {0};

    /* Reclaimed customers first, then any pool customer, else a new one. */
    for (int pass = 0; pass < 2 && ci < 0; pass++)
        for (size_t k = 0; k < s->ncust && ci < 0; k++) {
            int c = (int)((start + k) % s->ncust);
            if ((pass == 1 || s->cust[c].pooled) && s->cust[c].owner < 0 &&
                race_pair(s, c, start, &a, &b))
                ci = c;
        }
    if (ci < 0 && (ci = race_make(s, start, &a, &b)) < 0) {
        sim_violation("claim race: no two reps' devices to race");
        return;
    }
    if (!sync_quiet(a) || !sync_quiet(b) || !claimable(s, ci, a->rep) ||
        !claimable(s, ci, b->rep) || !claim_on(a, &s->cust[ci].id, true) ||
        !claim_on(b, &s->cust[ci].id, true) || !sync_quiet(a) || !sync_quiet(b))
        return;
    fs_id_format(&s->cust[ci].id, cid);
    if (sim_admin(&s->srv, "GET", "claims", NULL, &h) != 200 ||
        !claim_record((const char *)h.body, cid, a, o1, sizeof o1, d1t, sizeof d1t) ||
        !claim_record((const char *)h.body, cid, b, o2, sizeof o2, d2t, sizeof d2t)) {
        sim_violation("claim race on %s: both claims not in the claim list (HTTP %ld)",
                      cid, h.status);
    } else {
        snprintf(want, sizeof want, "already claimed by Rep %d", a->rep);
        if (strcmp(o1, "won") != 0 || strcmp(o2, "taken") != 0 || strcmp(d2t, want) != 0)
            sim_violation("claim race on %s: first dev%d %s, second dev%d %s (%s); "
                          "want won, then taken (%s)", cid, a->index, o1, b->index,
                          o2, d2t, want);
        else
            sim_sh->faults[SIM_F_CLAIM_RACE]++;
        if (s->cust[ci].owner != a->rep)
            sim_violation("claim race on %s: the winner's answer was not seen", cid);
    }
    if (s->verbose)
        fprintf(stderr, "sim: claim race on %s: dev%d won, dev%d refused\n", cid,
                a->index, b->index);
    sim_http_free(&h);
}

void sim_owner_result(sim_dev *d, const sim_sent *e)
{
    sim *s = d->sim;
    int ci;

    if (strcmp(e->e->name, "customer") != 0 || e->outcome == FS_REJECTED ||
        (ci = sim_customer_final(s, sim_customer_index(s, &e->row))) < 0)
        return;
    /* A customer an offboarded rep's device created: to the heir. */
    if (s->cust[ci].owner >= 0 && s->reps[s->cust[ci].owner].off) {
        s->cust[ci].owner = s->reps[s->cust[ci].owner].heir;
        sim_scope_changed(s, ci);
    }
    for (size_t f = 0; f < e->nf; f++) {
        if (strcmp(e->e->fields[e->slot[f]].name, "claimed_by") != 0)
            continue;
        if (s->cust[ci].owner != d->rep) {
            s->cust[ci].owner = d->rep;
            sim_scope_changed(s, ci);
            s->reps[d->rep].claims_won++;
            sim_sh->faults[SIM_F_CLAIM_WON]++;
        }
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Offboarding                                                               */
/* ------------------------------------------------------------------------ */

static void offboard(sim *s)
{
    int last = s->dev[s->ndev - 1].rep, r = -1, heir = -1;
    bool drain = s->seed & 1;
    char path[160], body[200];
    long moved_min = 0, moved_max = 0, revoke = 0;
    sim_http h = {0};

    for (int tries = 0; tries < 20 && r < 0; tries++) {
        int k = (int)sim_below(&s->owner, s->nrep);
        if (k != last && !s->reps[k].off)
            r = k;
    }
    if (r < 0)
        return;
    if (sim_chance(&s->owner, 500))
        heir = (r + 1 + (int)sim_below(&s->owner, s->nrep - 1)) % (int)s->nrep;
    if (heir >= 0 && s->reps[heir].off)
        heir = -1;
    /* Its devices hold pending work: a few offline changes each. */
    for (unsigned i = 0; i < s->ndev; i++) {
        sim_dev *d = &s->dev[i];
        fs_error err = {0};
        fc_kv kv[1] = {{"name", "Left behind"}};
        fs_id id;
        if (d->rep != r || !device_live(d))
            continue;
        for (int k = 0; k < 3; k++)
            sim_random_op(d);
        if (fc_customer_add(d->c, kv, 1, &id, &err) == FC_OK &&
            sim_add_customer(s, &id, r, -1) >= 0)
            sim_note_write(d, &id);
        else
            sim_violation("dev%d: customer add before the offboarding: %s", d->index,
                          err.text);
        revoke++;
    }
    for (size_t c = 0; c < s->ncust; c++) {
        const sim_customer *k = &s->cust[c];
        if (k->owner == r && !k->deleted && !k->merged) {
            moved_max++;
            moved_min += k->at_server;
        }
    }
    snprintf(path, sizeof path, "reps/%s/offboard", s->reps[r].uuid);
    snprintf(body, sizeof body, "{\"to\":\"%s\",\"drain\":%s,\"by\":\"sim\"}",
             heir >= 0 ? s->reps[heir].uuid : "pool", drain ? "true" : "false");
    if (sim_admin(&s->srv, "POST", path, body, &h) != 200 || !h.body) {
        sim_violation("admin offboard rep%d: HTTP %ld %.200s", r, h.status,
                      h.body ? (const char *)h.body : "");
        goto done;
    }
    {
        long moved = member_num((const char *)h.body, "customers_moved");
        long revoked = member_num((const char *)h.body, "devices_revoked");
        if (moved < moved_min || moved > moved_max || revoked != revoke)
            sim_violation("offboard rep%d: %ld customers moved (the model: %ld to %ld), "
                          "%ld devices revoked (the model: %ld)", r, moved, moved_min,
                          moved_max, revoked, revoke);
    }
    s->reps[r].off = true;
    s->reps[r].heir = heir;
    s->reps[r].terr = 0;
    for (size_t c = 0; c < s->ncust; c++)
        if (s->cust[c].owner == r)
            s->cust[c].owner = heir;
    for (unsigned i = 0; i < s->ndev; i++)
        if (s->dev[i].rep == r && !s->dev[i].revoked) {
            s->dev[i].revoked = true;
            s->dev[i].drain = drain;
        }
    s->offboarded = r;
    s->offboard_tick = s->tick;
    sim_sh->faults[SIM_F_OFFBOARD]++;
    if (s->verbose)
        fprintf(stderr, "sim: offboard rep%d to %s%s\n", r,
                heir >= 0 ? s->reps[heir].uuid : "the pool", drain ? " (drain)" : "");
done:
    sim_http_free(&h);
}

void sim_owner_check(sim *s)
{
    sim_http h = {0};
    long drained;
    bool sent_after = false;

    if (s->offboarded < 0)
        return;
    if (sim_admin(&s->srv, "GET", "offboards", NULL, &h) != 200 || !h.body ||
        (drained = member_num((const char *)h.body, "changes_drained")) < 0) {
        sim_violation("admin offboards: HTTP %ld", h.status);
        goto done;
    }
    /* A drain counts the changes its devices pushed after the offboarding
     * (first on the wire after it): at least one, each device made some. */
    for (size_t i = 0; i < s->nsent; i++)
        if (s->dev[s->sent[i].dev].rep == s->offboarded && s->sent[i].sent_at > s->offboard_tick)
            sent_after = true;
    if ((s->seed & 1) ? drained < 1 || !sent_after : drained != 0)
        sim_violation("offboard rep%d (%s): %ld changes drained", s->offboarded,
                      s->seed & 1 ? "drain" : "no drain", drained);
    else if (s->seed & 1)
        sim_sh->faults[SIM_F_DRAIN]++;
done:
    sim_http_free(&h);
}

void sim_owner_step(sim *s, unsigned step)
{
    if (!s->merges)
        return;
    /* About three merges per run of 600 steps, at least one. */
    if (sim_chance(&s->owner, 4) || step == 2 * s->steps / 5)
        merge_pair(s);
    /* One reclaim, racing claims after it, claims at random throughout,
     * and one offboarding late enough that every device did work. */
    if (step == s->steps / 2 - 7)
        reclaim(s);
    if (step == s->steps / 2 + 20)
        claim_race(s);
    if (sim_chance(&s->owner, 15))
        claim_random(s);
    if (step == 13 * s->steps / 20)
        offboard(s);
}
