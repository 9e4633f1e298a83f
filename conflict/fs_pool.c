/*
 * fs_pool.c - the public pool's rules (fs_pool.h): reclaim, the warning
 * before it, and the judging of a claim. Pure: the caller supplies every
 * fact and the time; nothing here reads a clock or a store.
 */
#include "fs_pool.h"

#include <stdio.h>
#include <string.h>

fs_pool_policy fs_pool_policy_default(void)
{
    fs_pool_policy p;

    p.reclaim_after_ms = 60 * FS_DAY_MS;
    p.warn_before_ms = 7 * FS_DAY_MS;
    p.bar_ms = 30 * FS_DAY_MS;
    p.daily_quota = 5;
    return p;
}

fs_reclaim_action fs_pool_reclaim(const fs_pool_policy *p,
                                  const fs_reclaim_facts *f, int64_t now_ms)
{
    int64_t idle;

    /* An open quote is live business: the customer is being followed. */
    if (!f->has_owner || f->open_quote || now_ms < f->clock_ms)
        return FS_RECLAIM_KEEP;
    idle = now_ms - f->clock_ms;
    if (idle >= p->reclaim_after_ms)
        return FS_RECLAIM_NOW;
    if (!f->warned && p->warn_before_ms > 0 &&
        idle >= p->reclaim_after_ms - p->warn_before_ms)
        return FS_RECLAIM_WARN;
    return FS_RECLAIM_KEEP;
}

fs_claim_verdict fs_pool_claim(const fs_pool_policy *p, const fs_claim_facts *f,
                               int64_t now_ms, char *why, size_t cap)
{
    char none[1];

    if (!why || !cap) {
        why = none;
        cap = sizeof none;
    }
    why[0] = '\0';
    if (f->owner && f->owner[0] && strcmp(f->owner, f->claimer) == 0)
        return FS_CLAIM_MINE;
    /* First arrival wins: whoever owns it now got there first. */
    if (f->owner && f->owner[0]) {
        snprintf(why, cap, "already claimed by %s",
                 f->owner_name && f->owner_name[0] ? f->owner_name : f->owner);
        return FS_CLAIM_TAKEN;
    }
    if (!f->in_territory) {
        snprintf(why, cap, "only reps of the customer's territory may claim it");
        return FS_CLAIM_TERRITORY;
    }
    if (f->former_owner && f->pooled_at_ms > 0 &&
        strcmp(f->former_owner, f->claimer) == 0 &&
        now_ms - f->pooled_at_ms < p->bar_ms) {
        int64_t left = p->bar_ms - (now_ms - f->pooled_at_ms);
        snprintf(why, cap, "you released this customer to the pool: you may "
                           "claim it again in %lld day(s)",
                 (long long)((left + FS_DAY_MS - 1) / FS_DAY_MS));
        return FS_CLAIM_BARRED;
    }
    if (p->daily_quota && f->claims_last_day >= p->daily_quota) {
        snprintf(why, cap, "daily claim quota used up (%u in the last 24 hours)",
                 p->daily_quota);
        return FS_CLAIM_QUOTA;
    }
    return FS_CLAIM_OK;
}

const char *fs_claim_verdict_name(fs_claim_verdict v)
{
    switch (v) {
    case FS_CLAIM_OK: return "won";
    case FS_CLAIM_MINE: return "mine";
    case FS_CLAIM_TAKEN: return "taken";
    case FS_CLAIM_TERRITORY: return "territory";
    case FS_CLAIM_QUOTA: return "quota";
    case FS_CLAIM_BARRED: return "barred";
    }
    return "unknown";
}
