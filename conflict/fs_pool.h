/*
 * fs_pool.h - the public pool's rules (CRM.md section 5, issue 17) as pure
 * functions: when an owned customer is reclaimed to the pool (or its owner
 * warned first), and whether a rep's claim on a customer stands. No I/O:
 * the server gathers the facts (fss_pool.c) and acts on the verdict; the
 * rules live here once and are table-tested (tests/conflict/test_conflict_pool.c).
 */
#ifndef FS_POOL_H
#define FS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_DAY_MS INT64_C(86400000)

typedef struct fs_pool_policy {
    int64_t reclaim_after_ms; /* N: no follow-up for this long (60 days) */
    int64_t warn_before_ms;   /* M: the owner is warned this long before (7 days) */
    int64_t bar_ms;           /* D: the former owner may not re-claim (30 days) */
    unsigned daily_quota;     /* claims per rep per 24 hours (5); 0 = none */
} fs_pool_policy;

/* The defaults of CRM.md section 5. */
fs_pool_policy fs_pool_policy_default(void);

typedef enum fs_reclaim_action {
    FS_RECLAIM_KEEP = 0, /* nothing to do */
    FS_RECLAIM_WARN,     /* warn the owner (once per clock) */
    FS_RECLAIM_NOW       /* back to the pool */
} fs_reclaim_action;

/* What the reclaim rule looks at for one customer. The clock runs from the
 * latest of: the owner's last follow-up (a visit checked in or out), the
 * owner's claim, and when the pool first saw the customer owned. Back-office
 * assignments and offboarding set none of these: they do not start the
 * clock. */
typedef struct fs_reclaim_facts {
    bool has_owner;
    int64_t clock_ms;    /* the latest of the times above */
    bool open_quote;     /* a draft or sent quote: never reclaimed */
    bool warned;         /* a warning was issued after clock_ms */
} fs_reclaim_facts;

/* Due when now - clock >= N (and no open quote); a warning when
 * now - clock >= N - M and none was issued for this clock. */
fs_reclaim_action fs_pool_reclaim(const fs_pool_policy *p,
                                  const fs_reclaim_facts *f, int64_t now_ms);

typedef enum fs_claim_verdict {
    FS_CLAIM_OK = 0,      /* the claim stands: the claimer becomes owner */
    FS_CLAIM_MINE,        /* the claimer owns it already: nothing changes */
    FS_CLAIM_TAKEN,       /* someone else owns it ("already claimed by ...") */
    FS_CLAIM_TERRITORY,   /* the claimer is not a rep of its territory */
    FS_CLAIM_QUOTA,       /* the claimer's daily quota is used up */
    FS_CLAIM_BARRED       /* the former owner, inside the bar */
} fs_claim_verdict;

typedef struct fs_claim_facts {
    const char *claimer;      /* rep id */
    const char *owner;        /* current owner rep id; NULL or "" = in the pool */
    const char *owner_name;   /* for the message (NULL: the id) */
    bool in_territory;        /* the claimer is a rep of the customer's territory */
    unsigned claims_last_day; /* claims the claimer won in the last 24 hours */
    const char *former_owner; /* who owned it when it was reclaimed (NULL: none) */
    int64_t pooled_at_ms;     /* when it was reclaimed (0: never) */
} fs_claim_facts;

/* Judges a claim; why (optional) gets the reason in plain words, for the
 * rep. Checked in this order: mine, taken, territory, barred, quota. */
fs_claim_verdict fs_pool_claim(const fs_pool_policy *p, const fs_claim_facts *f,
                               int64_t now_ms, char *why, size_t cap);

const char *fs_claim_verdict_name(fs_claim_verdict v);

#endif /* FS_POOL_H */
