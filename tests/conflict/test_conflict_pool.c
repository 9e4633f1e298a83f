/*
 * test_conflict_pool.c - the public pool's rules (conflict/fs_pool.c) as
 * tables: reclaim and warning boundaries (N and N - M exactly, an open
 * quote, no owner, a warning already given, a clock in the future), and
 * claims (first arrival: taken by someone else, the claimer's own, outside
 * the territory, the former owner inside and past the bar, the quota).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs_pool.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define D FS_DAY_MS

static void test_reclaim(void **state)
{
    static const struct {
        const char *what;
        bool owner, quote, warned;
        int64_t idle;
        fs_reclaim_action want;
    } cases[] = {
        {"fresh", true, false, false, 0, FS_RECLAIM_KEEP},
        {"just before the warning", true, false, false, 53 * D - 1, FS_RECLAIM_KEEP},
        {"warning day", true, false, false, 53 * D, FS_RECLAIM_WARN},
        {"warned already", true, false, true, 55 * D, FS_RECLAIM_KEEP},
        {"just before due", true, false, true, 60 * D - 1, FS_RECLAIM_KEEP},
        {"due", true, false, true, 60 * D, FS_RECLAIM_NOW},
        {"due without a warning", true, false, false, 90 * D, FS_RECLAIM_NOW},
        {"open quote", true, true, false, 400 * D, FS_RECLAIM_KEEP},
        {"no owner", false, false, false, 400 * D, FS_RECLAIM_KEEP},
        {"clock ahead", true, false, false, -D, FS_RECLAIM_KEEP},
    };
    fs_pool_policy p = fs_pool_policy_default();
    const int64_t now = 1000 * D;

    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        fs_reclaim_facts f = {cases[i].owner, now - cases[i].idle, cases[i].quote,
                              cases[i].warned};
        fs_reclaim_action got = fs_pool_reclaim(&p, &f, now);
        if (got != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].what, (int)got,
                     (int)cases[i].want);
    }
}

static void test_claim(void **state)
{
    static const struct {
        const char *what, *owner, *former;
        bool in_territory;
        unsigned today;
        int64_t pooled_ago;
        fs_claim_verdict want;
        const char *says;
    } cases[] = {
        {"pool, first", NULL, NULL, true, 0, 0, FS_CLAIM_OK, ""},
        {"empty owner", "", NULL, true, 4, 0, FS_CLAIM_OK, ""},
        {"taken by Bob", "bob", NULL, true, 0, 0, FS_CLAIM_TAKEN,
         "already claimed by Bob Road"},
        {"mine", "ann", NULL, true, 9, 0, FS_CLAIM_MINE, ""},
        {"outside the territory", NULL, NULL, false, 0, 0, FS_CLAIM_TERRITORY,
         "territory"},
        {"former owner, day 1", NULL, "ann", true, 0, D, FS_CLAIM_BARRED,
         "again in 29 day(s)"},
        {"former owner, last minute", NULL, "ann", true, 0, 30 * D - 60000,
         FS_CLAIM_BARRED, "again in 1 day(s)"},
        {"former owner, bar over", NULL, "ann", true, 0, 30 * D, FS_CLAIM_OK, ""},
        {"someone else's former", NULL, "bob", true, 0, D, FS_CLAIM_OK, ""},
        {"quota used", NULL, NULL, true, 5, 0, FS_CLAIM_QUOTA, "quota"},
        {"quota not yet", NULL, NULL, true, 4, 0, FS_CLAIM_OK, ""},
        {"taken beats quota", "bob", NULL, true, 5, 0, FS_CLAIM_TAKEN, "Bob"},
    };
    fs_pool_policy p = fs_pool_policy_default();
    const int64_t now = 1000 * D;

    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        char why[160];
        fs_claim_facts f = {"ann", cases[i].owner,
                            cases[i].owner && strcmp(cases[i].owner, "bob") == 0
                                ? "Bob Road" : NULL,
                            cases[i].in_territory, cases[i].today,
                            cases[i].former,
                            cases[i].pooled_ago ? now - cases[i].pooled_ago : 0};
        fs_claim_verdict got = fs_pool_claim(&p, &f, now, why, sizeof why);
        if (got != cases[i].want)
            fail_msg("%s: got %s, want %s", cases[i].what,
                     fs_claim_verdict_name(got), fs_claim_verdict_name(cases[i].want));
        if (!strstr(why, cases[i].says))
            fail_msg("%s: \"%s\" does not say \"%s\"", cases[i].what, why,
                     cases[i].says);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reclaim),
        cmocka_unit_test(test_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
