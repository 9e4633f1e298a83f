/*
 * test_conflict_score.c - the customer value and churn rules (fs_score.c) as
 * golden data tables: grade boundaries, ties at the median, two currencies,
 * empty history and the window's edge, the Pareto cut-off and its ties,
 * quintile ties, fixed thresholds, bad parameters, and each churn rule with
 * its reason and the risk level it gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs_score.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY FS_SCORE_MS_PER_DAY
#define NOW (INT64_C(1800000000000))
#define MAXC 12

/* A purchase in a table: which customer, currency, amount, days ago. */
typedef struct buy {
    int customer;
    const char *cur;
    int64_t amount;
    int days_ago;
} buy;

typedef struct graded {
    fs_score_value v[MAXC];
    fs_score_line lines[64];
    size_t nlines;
    fs_score_currency cur[4];
    size_t ncur;
} graded;

/* Summarise and grade ncust customers from a table, like analyze does. */
static void grade_table(const buy *b, size_t nb, int ncust, const fs_score_params *p,
                        graded *g)
{
    memset(g, 0, sizeof *g);
    for (int c = 0; c < ncust; c++) {
        fs_score_purchase mine[32];
        size_t n = 0;
        for (size_t i = 0; i < nb; i++)
            if (b[i].customer == c) {
                mine[n].at_ms = NOW - (int64_t)b[i].days_ago * DAY;
                mine[n].amount = b[i].amount;
                memcpy(mine[n].currency, b[i].cur, 4);
                n++;
            }
        size_t k = fs_score_summarize(mine, n, NOW, p, (uint32_t)c, g->lines + g->nlines, 4);
        assert_true(k <= 4);
        g->nlines += k;
    }
    fs_error err = {0};
    assert_int_equal(fs_score_grade(g->lines, g->nlines, p, g->cur, N(g->cur), &g->ncur, &err), FS_OK);
    for (int c = 0; c < ncust; c++) {
        size_t first = 0, n = 0;
        for (size_t i = 0; i < g->nlines; i++)
            if (g->lines[i].customer == (uint32_t)c) {
                if (!n)
                    first = i;
                n++;
            }
        fs_score_value_of(g->lines + first, n, &g->v[c]);
    }
}

/* Golden grades: each case is a purchase table and the expected grade,
 * core flag ('*' core, '.' not) and RFM per customer. */
static void test_grades(void **state)
{
    static const struct {
        const char *name;
        buy b[16];
        int ncust;
        const char *grades, *core;
    } cases[] = {
        {"four quadrants (medians 300 and 3)",
         {{0, "EUR", 100, 1}, {1, "EUR", 300, 1},
          {2, "EUR", 100, 1}, {2, "EUR", 100, 2}, {2, "EUR", 100, 3},
          {3, "EUR", 300, 1}, {3, "EUR", 300, 2}, {3, "EUR", 300, 3}},
         4, "BCDE", ".***"},
        {"tie at the unit median is high",
         {{0, "EUR", 100, 1}, {1, "EUR", 200, 1}, {2, "EUR", 200, 1}},
         3, "DEE", ".**"},
        {"odd count: the middle value is the median, and high",
         {{0, "EUR", 100, 1}, {1, "EUR", 200, 1}, {2, "EUR", 300, 1}},
         3, "DEE", ".**"},
        {"unit rounded down: 201/2 = 100 is below 101",
         {{0, "EUR", 101, 1}, {1, "EUR", 101, 2}, {1, "EUR", 100, 3}, {2, "EUR", 102, 1}},
         3, "EDE", "***"},
        {"empty history and a purchase outside the window are grade A",
         {{1, "EUR", 500, 365}, {2, "EUR", 500, 364}},
         3, "AAE", "..*"},
        {"currencies are never added: JPY does not move EUR's medians",
         {{0, "EUR", 100, 1}, {1, "EUR", 300, 1}, {1, "EUR", 300, 2},
          {2, "JPY", 90000, 1}, {2, "EUR", 100, 5}, {2, "JPY", 10, 3}},
         3, "EEE", "***"},
        {"single buyer is its currency's median",
         {{0, "USD", 5, 10}},
         1, "E", "*"},
    };
    fs_score_params p;
    fs_score_params_default(&p);
    for (size_t i = 0; i < N(cases); i++) {
        graded g;
        size_t nb = 0;
        while (nb < N(cases[i].b) && cases[i].b[nb].cur)
            nb++;
        grade_table(cases[i].b, nb, cases[i].ncust, &p, &g);
        for (int c = 0; c < cases[i].ncust; c++) {
            if (g.v[c].grade != cases[i].grades[c] ||
                g.v[c].core != (cases[i].core[c] == '*'))
                fail_msg("%s: customer %d: grade %c core %d, want %c %c", cases[i].name,
                         c, g.v[c].grade, g.v[c].core, cases[i].grades[c], cases[i].core[c]);
        }
    }
}

/* Two currencies: one report per currency, the customer's main currency
 * (most purchases) gives its grade and RFM, core in any currency counts. */
static void test_two_currencies(void **state)
{
    static const buy b[] = {
        {0, "EUR", 1000, 1}, {0, "JPY", 5, 2}, {0, "JPY", 5, 3},
        {1, "EUR", 10, 1}, {1, "EUR", 10, 2},
        {2, "JPY", 100000, 4},
    };
    fs_score_params p;
    fs_score_params_default(&p);
    graded g;
    grade_table(b, N(b), 3, &p, &g);
    assert_int_equal(g.ncur, 2);
    assert_string_equal(g.cur[0].currency, "EUR");
    assert_int_equal(g.cur[0].revenue, 1020);
    assert_int_equal(g.cur[0].buyers, 2);
    assert_string_equal(g.cur[1].currency, "JPY");
    assert_int_equal(g.cur[1].revenue, 100010);
    /* Customer 0: JPY is main (2 purchases); small in JPY, core in EUR. */
    assert_string_equal(g.v[0].currency, "JPY");
    assert_int_equal(g.v[0].grade, 'D'); /* JPY units [5,100000]: median 100000 */
    assert_true(g.v[0].core);            /* 1000 of EUR 1020 */
    assert_string_equal(g.v[1].currency, "EUR");
    assert_false(g.v[1].core);
    /* A tie in purchase counts: the newest purchase picks the currency. */
    static const buy tie[] = {{0, "USD", 1, 9}, {0, "EUR", 1, 3}};
    grade_table(tie, N(tie), 1, &p, &g);
    assert_string_equal(g.v[0].currency, "EUR");
}

/* The Pareto cut-off: the smallest prefix by revenue covering the share. */
static void test_pareto(void **state)
{
    static const struct {
        const char *name;
        int pct;
        int64_t rev[6];
        const char *core;
        size_t ncore;
    } cases[] = {
        {"exactly 80 stops the set", 80, {50, 30, 10, 10}, "**..", 2},
        {"79 needs one more", 80, {50, 29, 11, 10}, "***.", 3},
        {"order in the table does not matter", 80, {10, 30, 50, 10}, ".**.", 2},
        {"tie at the cut: the earlier customer", 40, {40, 40, 20}, "*..", 1},
        {"tie inside the set: both", 50, {40, 40, 20}, "**.", 2},
        {"100% takes every buyer with revenue", 100, {5, 5, 0}, "**.", 2},
        {"zero revenue: no core customers", 80, {0, 0}, "..", 0},
        {"one big customer", 80, {900, 50, 50}, "*..", 1},
    };
    for (size_t i = 0; i < N(cases); i++) {
        fs_score_params p;
        fs_score_params_default(&p);
        p.core_share_pct = cases[i].pct;
        fs_score_line lines[6];
        size_t n = strlen(cases[i].core);
        memset(lines, 0, sizeof lines);
        for (size_t c = 0; c < n; c++) {
            lines[c].customer = (uint32_t)c;
            memcpy(lines[c].currency, "EUR", 4);
            lines[c].count = 1;
            lines[c].revenue = cases[i].rev[c];
            lines[c].last_ms = NOW;
        }
        fs_score_currency cur;
        size_t ncur = 0;
        assert_int_equal(fs_score_grade(lines, n, &p, &cur, 1, &ncur, NULL), FS_OK);
        for (size_t c = 0; c < n; c++)
            if (lines[c].core != (cases[i].core[c] == '*'))
                fail_msg("%s: customer %zu core %d", cases[i].name, c, lines[c].core);
        assert_int_equal(cur.core, cases[i].ncore);
    }
}

/* RFM: ceil(bins x share of values <= v); ties score equal; recency by the
 * newest purchase, more recent scoring higher. */
static void test_rfm(void **state)
{
    static const struct {
        const char *name;
        int bins;
        int64_t count[10];
        size_t n;
        const char *want; /* F score per customer */
    } cases[] = {
        {"five distinct", 5, {1, 2, 3, 4, 5}, 5, "12345"},
        {"ten distinct: two per fifth", 5, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10, "1122334455"},
        {"ties take the upper share", 5, {1, 1, 2, 3, 4}, 5, "22345"},
        {"all equal: all best", 5, {7, 7, 7}, 3, "555"},
        {"order does not matter", 5, {5, 1, 4, 2, 3}, 5, "51423"},
        {"quartiles when configured", 4, {1, 2, 3, 4}, 4, "1234"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        fs_score_params p;
        fs_score_params_default(&p);
        p.rfm_bins = cases[i].bins;
        fs_score_line lines[10];
        memset(lines, 0, sizeof lines);
        for (size_t c = 0; c < cases[i].n; c++) {
            lines[c].customer = (uint32_t)c;
            memcpy(lines[c].currency, "EUR", 4);
            lines[c].count = cases[i].count[c];
            lines[c].revenue = 100 * cases[i].count[c];
            lines[c].last_ms = NOW - (11 - cases[i].count[c]) * DAY; /* more buys, newer */
        }
        assert_int_equal(fs_score_grade(lines, cases[i].n, &p, NULL, 0, NULL, NULL), FS_OK);
        for (size_t c = 0; c < cases[i].n; c++) {
            unsigned want = (unsigned)(cases[i].want[c] - '0');
            if (lines[c].f != want || lines[c].m != want ||
                lines[c].r != want)
                fail_msg("%s: customer %zu: r%u f%u m%u, want f=m=%u", cases[i].name, c,
                         lines[c].r, lines[c].f, lines[c].m, want);
        }
    }
    /* Recency ties at the upper share too: in "all equal", R is the best. */
    fs_score_params p;
    fs_score_params_default(&p);
    static const buy b[] = {{0, "EUR", 10, 1}, {1, "EUR", 10, 1}};
    graded g;
    grade_table(b, N(b), 2, &p, &g);
    assert_string_equal(g.v[0].rfm, "555");
    assert_string_equal(g.v[1].rfm, "555");
}

/* Fixed thresholds replace the medians, per currency for the unit. */
static void test_fixed_thresholds(void **state)
{
    static const buy b[] = {
        {0, "EUR", 100, 1}, {1, "EUR", 300, 1}, {1, "EUR", 300, 2},
        {2, "USD", 100, 1},
    };
    fs_score_params p;
    fs_score_params_default(&p);
    p.count_threshold = 2;
    p.n_unit_fixed = 1;
    memcpy(p.unit_fixed[0].currency, "EUR", 4);
    p.unit_fixed[0].minor = 250;
    graded g;
    grade_table(b, N(b), 3, &p, &g);
    assert_int_equal(g.v[0].grade, 'B'); /* 100 < 250, 1 < 2 */
    assert_int_equal(g.v[1].grade, 'E'); /* 300 >= 250, 2 >= 2 */
    assert_int_equal(g.v[2].grade, 'C'); /* USD: median unit 100, count 1 < 2 */
    assert_true(g.cur[0].unit_fixed && g.cur[0].count_fixed);
    assert_int_equal(g.cur[0].unit_threshold, 250);
    assert_false(g.cur[1].unit_fixed);
    assert_int_equal(g.cur[1].unit_threshold, 100);
}

static void test_params_check(void **state)
{
    static const struct { const char *field; int value; } bad[] = {
        {"window_days", 0}, {"core_share_pct", 101}, {"core_share_pct", 0},
        {"rfm_bins", 1}, {"rfm_bins", 10}, {"overdue_pct", 99},
        {"complaint_count", 0}, {"quiet_days_valued", 0},
    };
    fs_score_params p;
    fs_score_params_default(&p);
    assert_int_equal(fs_score_params_check(&p, NULL), FS_OK);
    for (size_t i = 0; i < N(bad); i++) {
        fs_score_params q = p;
        if (!strcmp(bad[i].field, "window_days")) q.window_days = bad[i].value;
        if (!strcmp(bad[i].field, "core_share_pct")) q.core_share_pct = bad[i].value;
        if (!strcmp(bad[i].field, "rfm_bins")) q.rfm_bins = bad[i].value;
        if (!strcmp(bad[i].field, "overdue_pct")) q.overdue_pct = bad[i].value;
        if (!strcmp(bad[i].field, "complaint_count")) q.complaint_count = bad[i].value;
        if (!strcmp(bad[i].field, "quiet_days_valued")) q.quiet_days_valued = bad[i].value;
        fs_error err = {0};
        assert_int_equal(fs_score_params_check(&q, &err), FS_ERANGE);
        assert_non_null(strstr(err.text, bad[i].field));
        fs_score_line l = {0};
        assert_int_equal(fs_score_grade(&l, 0, &q, NULL, 0, NULL, NULL), FS_ERANGE);
    }
    fs_score_params q = p;
    q.n_unit_fixed = 1;
    memcpy(q.unit_fixed[0].currency, "XYZ", 4);
    assert_int_equal(fs_score_params_check(&q, NULL), FS_ERANGE);
}

/* More currencies than the caller's room is an overflow, never a grade of
 * part of the history. */
static void test_summarize_overflow(void **state)
{
    fs_score_params p;
    fs_score_params_default(&p);
    fs_score_purchase pu[3] = {{NOW, 1, "EUR"}, {NOW, 1, "USD"}, {NOW, 1, "EUR"}};
    fs_score_line out[2];
    assert_int_equal(fs_score_summarize(pu, 3, NOW, &p, 0, out, 2), 2);
    assert_int_equal(out[0].count, 2);
    assert_int_equal(fs_score_summarize(pu, 3, NOW, &p, 0, out, 1), 2);
}

/* ---- Churn -------------------------------------------------------------- */

typedef struct churn_case {
    const char *name;
    char grade;
    bool core;
    int known_days;          /* customer entered the store this long ago */
    int visit_days;          /* a completed visit this long ago; -1 none */
    int planned_days;        /* a planned (not done) visit; -1 none */
    int followup_days;       /* a done follow-up task; -1 none */
    int call_days;           /* a done call task (not a follow-up); -1 none */
    int buys[4];             /* purchase days ago; 0 ends */
    struct { int days; bool complaint, open; } tickets[3];
    fs_risk risk;
    unsigned rules;
    const char *reason;
} churn_case;

#define Q (1u << FS_CHURN_QUIET)
#define C (1u << FS_CHURN_COMPLAINT)
#define O (1u << FS_CHURN_OVERDUE)

static void test_churn(void **state)
{
    static const churn_case cases[] = {
        {"valued customer, visit 31 days ago", 'E', false, 400, 31, -1, -1, -1, {0}, {{0}},
         FS_RISK_WATCH, Q, "no visit or follow-up since 2026-12-15"},
        {"valued customer, visit 29 days ago", 'E', false, 400, 29, -1, -1, -1, {0}, {{0}},
         FS_RISK_NONE, 0, ""},
        {"exactly 30 days fires", 'C', false, 400, 30, -1, -1, -1, {0}, {{0}},
         FS_RISK_WATCH, Q, "no visit or follow-up since 2026-12-16"},
        {"core grade B uses the short limit", 'B', true, 400, 31, -1, -1, -1, {0}, {{0}},
         FS_RISK_WATCH, Q, "no visit or follow-up since 2026-12-15"},
        {"grade B, 31 days is fine", 'B', false, 400, 31, -1, -1, -1, {0}, {{0}},
         FS_RISK_NONE, 0, ""},
        {"grade A, 91 days", 'A', false, 400, 91, -1, -1, -1, {0}, {{0}},
         FS_RISK_WATCH, Q, "no visit or follow-up since 2026-10-16"},
        {"a planned visit is no contact", 'D', false, 400, 40, 1, -1, -1, {0}, {{0}},
         FS_RISK_WATCH, Q, "no visit or follow-up since 2026-12-06"},
        {"a done follow-up task is contact", 'D', false, 400, 40, -1, 5, -1, {0}, {{0}},
         FS_RISK_NONE, 0, ""},
        {"a done call is not a follow-up", 'D', false, 400, 40, -1, -1, 5, {0}, {{0}},
         FS_RISK_WATCH, Q, "no visit or follow-up since 2026-12-06"},
        {"never contacted: counted from entering the store", 'A', false, 100, -1, -1, -1, -1, {0}, {{0}},
         FS_RISK_WATCH, Q, "no visit or follow-up ever (customer since 2026-10-07)"},
        {"new customer not yet due", 'A', false, 10, -1, -1, -1, -1, {0}, {{0}},
         FS_RISK_NONE, 0, ""},
        {"an open complaint", 'B', false, 400, 1, -1, -1, -1, {0}, {{3, true, true}},
         FS_RISK_AT_RISK, C, "open complaint"},
        {"two closed complaints in 90 days", 'B', false, 400, 1, -1, -1, -1, {0},
         {{3, true, false}, {80, true, false}},
         FS_RISK_AT_RISK, C, "2 complaints in 90 days"},
        {"one of two complaints older than 90 days", 'B', false, 400, 1, -1, -1, -1, {0},
         {{3, true, false}, {90, true, false}}, FS_RISK_NONE, 0, ""},
        {"an open repair is no complaint", 'B', false, 400, 1, -1, -1, -1, {0},
         {{3, false, true}, {4, false, true}}, FS_RISK_NONE, 0, ""},
        {"open and many", 'B', false, 400, 1, -1, -1, -1, {0},
         {{3, true, true}, {4, true, false}}, FS_RISK_AT_RISK, C,
         "open complaint; 2 complaints in 90 days"},
        {"purchase overdue (every 30, 70 since)", 'B', false, 400, 1, -1, -1, -1,
         {130, 100, 70, 0}, {{0}}, FS_RISK_WATCH, O,
         "no purchase since 2026-11-06 (usually every 30 days)"},
        {"purchase on rhythm (45 is 1.5 x 30, not past it)", 'B', false, 400, 1, -1, -1, -1,
         {105, 75, 45, 0}, {{0}}, FS_RISK_NONE, 0, ""},
        {"one purchase has no rhythm", 'B', false, 400, 1, -1, -1, -1, {300, 0}, {{0}},
         FS_RISK_NONE, 0, ""},
        {"two rules: at risk, both reasons", 'E', false, 400, 60, -1, -1, -1,
         {130, 100, 70, 0}, {{0}}, FS_RISK_AT_RISK, Q | O,
         "no visit or follow-up since 2026-11-16; no purchase since 2026-11-06 (usually every 30 days)"},
    };
    fs_score_params p;
    fs_score_params_default(&p);
    for (size_t i = 0; i < N(cases); i++) {
        const churn_case *k = &cases[i];
        fs_score_visit v[2];
        fs_score_task t[2];
        fs_score_purchase pu[4];
        fs_score_ticket tk[3];
        size_t nv = 0, nt = 0, np = 0, nk = 0;
        if (k->visit_days >= 0)
            v[nv++] = (fs_score_visit){NOW - k->visit_days * DAY, true};
        if (k->planned_days >= 0)
            v[nv++] = (fs_score_visit){NOW - k->planned_days * DAY, false};
        if (k->followup_days >= 0)
            t[nt++] = (fs_score_task){NOW - k->followup_days * DAY, true, true};
        if (k->call_days >= 0)
            t[nt++] = (fs_score_task){NOW - k->call_days * DAY, false, true};
        for (; np < 4 && k->buys[np]; np++)
            pu[np] = (fs_score_purchase){NOW - k->buys[np] * DAY, 100, "EUR"};
        for (; nk < 3 && k->tickets[nk].days; nk++)
            tk[nk] = (fs_score_ticket){NOW - k->tickets[nk].days * DAY,
                                       k->tickets[nk].complaint, k->tickets[nk].open};
        fs_score_churn_in in = {
            .now_ms = NOW, .known_since_ms = NOW - k->known_days * DAY,
            .value = {.grade = k->grade, .core = k->core},
            .purchases = pu, .npurchases = np, .visits = v, .nvisits = nv,
            .tasks = t, .ntasks = nt, .tickets = tk, .ntickets = nk};
        fs_score_churn out;
        fs_score_churn_eval(&in, &p, &out);
        if (out.risk != k->risk || out.rules != k->rules || strcmp(out.reason, k->reason))
            fail_msg("%s: risk %s rules %u reason \"%s\"", k->name, fs_risk_name(out.risk),
                     out.rules, out.reason);
    }
}

static void test_names(void **state)
{
    fs_risk r;
    assert_string_equal(fs_risk_name(FS_RISK_AT_RISK), "at_risk");
    assert_true(fs_risk_parse("watch", &r) && r == FS_RISK_WATCH);
    assert_false(fs_risk_parse("risky", &r));
    assert_string_equal(fs_churn_rule_name(FS_CHURN_OVERDUE), "overdue");
}

/* The cut points' positions: the median at n/2, the RFM cuts at
 * floor((s-1)n/bins), listed in key order. */
static void test_cut_positions(void **state)
{
    static const struct {
        size_t n;
        int bins;
        size_t median;
        size_t rfm[4]; /* the positions of the cuts for scores 2..bins */
    } cases[] = {
        {1, 5, 0, {0, 0, 0, 0}},
        {5, 5, 2, {1, 2, 3, 4}},
        {7, 5, 3, {1, 2, 4, 5}},
        {10, 5, 5, {2, 4, 6, 8}},
        {4, 4, 2, {1, 2, 3}},
        {100000, 5, 50000, {20000, 40000, 60000, 80000}},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        fs_score_params p;
        fs_score_currency c;
        fs_score_cut cuts[FS_SCORE_MAX_CUTS];
        fs_score_params_default(&p);
        p.rfm_bins = cases[i].bins;
        fs_score_currency_start(&c, "EUR", &p);
        c.buyers = cases[i].n;
        size_t k = fs_score_cuts(&c, &p, cuts), want = 2 + 3 * (size_t)(cases[i].bins - 1);
        assert_int_equal(k, want);
        for (size_t j = 0; j < k; j++) {
            if (j)
                assert_true(cuts[j - 1].key <= cuts[j].key);
            if (cuts[j].value == &c.unit_threshold || cuts[j].value == &c.count_threshold) {
                assert_int_equal(cuts[j].pos, cases[i].median);
                continue;
            }
            for (int r = 0; r < 3; r++)
                for (int sc = 2; sc <= cases[i].bins; sc++)
                    if (cuts[j].value == &c.rfm_cut[r][sc - 2])
                        assert_int_equal(cuts[j].pos, cases[i].rfm[sc - 2]);
        }
    }
    /* Fixed thresholds need no median. */
    fs_score_params p;
    fs_score_currency c;
    fs_score_cut cuts[FS_SCORE_MAX_CUTS];
    fs_score_params_default(&p);
    p.count_threshold = 3;
    p.n_unit_fixed = 1;
    p.unit_fixed[0] = (fs_score_unit_fixed){"EUR", 5000};
    fs_score_currency_start(&c, "EUR", &p);
    c.buyers = 3;
    assert_int_equal(fs_score_cuts(&c, &p, cuts), 12);
    assert_int_equal(c.unit_threshold, 5000);
    assert_int_equal(c.count_threshold, 3);
    c.buyers = 0;
    assert_int_equal(fs_score_cuts(&c, &p, cuts), 0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Grading in steps (what analyze does over a sorted store) gives exactly
 * fs_score_grade's lines: populations with ties everywhere, one buyer,
 * skewed revenue; keys are the customers' order as ids. */
static void test_steps_match_grade(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 40; seed++) {
        fs_score_params p;
        fs_score_line a[50], b[50];
        int64_t sorted[50];
        fs_id key[50];
        uint64_t x = seed * 2654435761u;
        size_t n = 1 + seed % 50;
        fs_score_params_default(&p);
        p.rfm_bins = 2 + (int)(seed % 8);
        p.core_share_pct = 50 + (int)(seed % 51);
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            memset(&a[i], 0, sizeof a[i]);
            a[i].customer = (uint32_t)i;
            memcpy(a[i].currency, "EUR", 4);
            /* few distinct values: ties at every cut */
            a[i].count = 1 + (int64_t)((x >> 33) % (seed % 3 ? 4 : 40));
            a[i].revenue = a[i].count * (100 + (int64_t)((x >> 45) % (seed % 2 ? 3 : 500)) * 50);
            a[i].last_ms = NOW - (int64_t)((x >> 20) % 5) * DAY;
            memset(&key[i], 0, sizeof key[i]);
            key[i].b[2] = (uint8_t)(i >> 8);
            key[i].b[3] = (uint8_t)i;
        }
        memcpy(b, a, sizeof a);
        fs_score_currency want, got;
        size_t ncur = 0;
        assert_int_equal(fs_score_grade(a, n, &p, &want, 1, &ncur, NULL), FS_OK);

        fs_score_currency_start(&got, "EUR", &p);
        for (size_t i = 0; i < n; i++)
            fs_score_currency_add(&got, &b[i]);
        fs_score_cut cuts[FS_SCORE_MAX_CUTS];
        size_t k = fs_score_cuts(&got, &p, cuts);
        for (size_t c = 0; c < k; c++) {
            for (size_t i = 0; i < n; i++)
                sorted[i] = fs_score_key_of(&b[i], cuts[c].key);
            qsort(sorted, n, sizeof sorted[0], cmp_i64);
            *cuts[c].value = sorted[cuts[c].pos];
        }
        /* descending revenue, ties by key: a selection each step */
        bool taken[50] = {false};
        for (size_t step = 0; step < n; step++) {
            size_t best = n;
            for (size_t i = 0; i < n; i++)
                if (!taken[i] && (best == n || b[i].revenue > b[best].revenue))
                    best = i; /* the first of equal revenue: the lower key */
            taken[best] = true;
            if (!fs_score_core_take(&got, &p, b[best].revenue, &key[best]))
                break;
        }
        for (size_t i = 0; i < n; i++) {
            fs_score_line_grade(&got, &p, &key[i], &b[i]);
            if (a[i].grade != b[i].grade || a[i].core != b[i].core || a[i].r != b[i].r ||
                a[i].f != b[i].f || a[i].m != b[i].m || a[i].unit != b[i].unit)
                fail_msg("seed %u line %zu: grade %c/%c core %d/%d rfm %u%u%u/%u%u%u", seed,
                         i, a[i].grade, b[i].grade, a[i].core, b[i].core, a[i].r, a[i].f,
                         a[i].m, b[i].r, b[i].f, b[i].m);
        }
        assert_int_equal(got.core, want.core);
        assert_int_equal(got.core_revenue, want.core_revenue);
        assert_int_equal(got.unit_threshold, want.unit_threshold);
        assert_int_equal(got.count_threshold, want.count_threshold);
    }
}

/* A line the population did not have (the store moved between analyze's
 * passes) still grades sensibly: below every cut scores 1, above every cut
 * scores bins; beyond the last core revenue is core. */
static void test_line_outside(void **state)
{
    fs_score_params p;
    fs_score_line l[3];
    fs_score_currency c;
    fs_id k = {{0}};
    (void)state;
    fs_score_params_default(&p);
    memset(l, 0, sizeof l);
    for (int i = 0; i < 3; i++) {
        l[i].customer = (uint32_t)i;
        memcpy(l[i].currency, "EUR", 4);
        l[i].count = 2 + i;
        l[i].revenue = 1000 * (i + 1);
        l[i].last_ms = NOW - (3 - i) * DAY;
    }
    assert_int_equal(fs_score_grade(l, 3, &p, &c, 1, NULL, NULL), FS_OK);
    fs_score_line lo = {.count = 1, .revenue = 10, .last_ms = NOW - 30 * DAY};
    fs_score_line hi = {.count = 9, .revenue = 90000, .last_ms = NOW};
    k.b[0] = 0xff;
    fs_score_line_grade(&c, &p, &k, &lo);
    fs_score_line_grade(&c, &p, &k, &hi);
    assert_int_equal(lo.grade, 'B');
    assert_int_equal(lo.r * 100 + lo.f * 10 + lo.m, 111);
    assert_false(lo.core);
    assert_int_equal(hi.grade, 'E');
    assert_int_equal(hi.r * 100 + hi.f * 10 + hi.m, 555);
    assert_true(hi.core);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grades),
        cmocka_unit_test(test_two_currencies),
        cmocka_unit_test(test_pareto),
        cmocka_unit_test(test_rfm),
        cmocka_unit_test(test_fixed_thresholds),
        cmocka_unit_test(test_params_check),
        cmocka_unit_test(test_summarize_overflow),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cut_positions),
        cmocka_unit_test(test_steps_match_grade),
        cmocka_unit_test(test_line_outside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
