/*
 * sim_owner.c - issue 17's ownership lifecycle in the simulation: the back
 * office merges duplicate customers mid-run while devices hold offline
 * edits of the duplicate and offline-created rows under it.
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
 * Every choice here comes from the sim's own stream `owner`, so the other
 * streams (scheduler, devices, faults) draw what they always drew; the
 * world they act on differs, by the merges.
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>

void sim_owner_init(sim *s)
{
    sim_rng_seed(&s->owner, s->seed, 8);
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

void sim_owner_step(sim *s, unsigned step)
{
    if (!s->merges)
        return;
    /* About three merges per run of 600 steps, at least one. */
    if (sim_chance(&s->owner, 4) || step == 2 * s->steps / 5)
        merge_pair(s);
}
