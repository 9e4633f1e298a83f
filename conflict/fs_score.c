/*
 * fs_score.c - customer value (grade A-E, core, RFM) and churn rules.
 *
 * The rules of CRM.md sections 2 and 3, once, in pure C: the server's
 * `analyze` feeds them rows from its store and writes back what they return,
 * and the tests feed them data tables. Definitions chosen here (and in
 * docs/ARCHITECTURE.md, "Customer value"):
 *
 *   - median: the value at position n/2 of the sorted values (the upper
 *     median for an even n), so a threshold is always a value some buyer
 *     has, and a tie at the median counts as high ("at or above");
 *   - unit: revenue / count rounded down, in minor units;
 *   - core: buyers by descending revenue (ties: the caller's index, i.e. the
 *     store's order) are taken until they cover core_share_pct of the
 *     currency's revenue; a currency with no revenue has no core customers;
 *   - RFM score of a value v: ceil(bins x F(v)), F(v) = the share of the
 *     currency's buyers whose value is at most v (the empirical distribution),
 *     so equal values score equal and the best fifth scores 5. Recency is
 *     scored on the newest purchase time, so a more recent buyer scores
 *     higher (recency "inverted").
 */
#include "fs_score.h"
#include "fs_conflict_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 wide; /* exact products of money and percent */

void fs_score_params_default(fs_score_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->window_days = 365;
    p->count_threshold = 0;
    p->core_share_pct = 80;
    p->rfm_bins = 5;
    p->quiet_days_valued = 30;
    p->quiet_days_other = 90;
    p->complaint_window_days = 90;
    p->complaint_count = 2;
    p->overdue_pct = 150;
}

fs_status fs_score_params_check(const fs_score_params *p, fs_error *err)
{
    if (!p) {
        fs_error_set(err, FS_EINVAL, "no parameters");
        return FS_EINVAL;
    }
    static const struct { const char *name; size_t off; int lo, hi; } ints[] = {
        {"window_days", offsetof(fs_score_params, window_days), 1, 36500},
        {"core_share_pct", offsetof(fs_score_params, core_share_pct), 1, 100},
        {"rfm_bins", offsetof(fs_score_params, rfm_bins), 2, 9},
        {"quiet_days_valued", offsetof(fs_score_params, quiet_days_valued), 1, 36500},
        {"quiet_days_other", offsetof(fs_score_params, quiet_days_other), 1, 36500},
        {"complaint_window_days", offsetof(fs_score_params, complaint_window_days), 1, 36500},
        {"complaint_count", offsetof(fs_score_params, complaint_count), 1, 1000},
        {"overdue_pct", offsetof(fs_score_params, overdue_pct), 100, 10000},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int v;
        memcpy(&v, (const char *)p + ints[i].off, sizeof v);
        if (v < ints[i].lo || v > ints[i].hi) {
            fs_error_set(err, FS_ERANGE, "%s is %d; it must lie in %d..%d",
                         ints[i].name, v, ints[i].lo, ints[i].hi);
            return FS_ERANGE;
        }
    }
    if (p->count_threshold < 0) {
        fs_error_set(err, FS_ERANGE, "count_threshold must be 0 (median) or more");
        return FS_ERANGE;
    }
    if (p->n_unit_fixed > FS_SCORE_MAX_FIXED) {
        fs_error_set(err, FS_ERANGE, "at most %d fixed unit thresholds", FS_SCORE_MAX_FIXED);
        return FS_ERANGE;
    }
    for (size_t i = 0; i < p->n_unit_fixed; i++) {
        if (fs_currency_exponent(p->unit_fixed[i].currency) < 0 || p->unit_fixed[i].minor < 0) {
            fs_error_set(err, FS_ERANGE, "unit threshold %zu: a currency code and an amount of 0 or more", i + 1);
            return FS_ERANGE;
        }
    }
    return FS_OK;
}

int64_t fs_score_unit_fixed_for(const fs_score_params *p, const char *currency)
{
    for (size_t i = 0; p && currency && i < p->n_unit_fixed && i < FS_SCORE_MAX_FIXED; i++)
        if (strcmp(p->unit_fixed[i].currency, currency) == 0)
            return p->unit_fixed[i].minor;
    return -1;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

size_t fs_score_summarize(const fs_score_purchase *purchases, size_t n,
                          int64_t now_ms, const fs_score_params *p,
                          uint32_t customer, fs_score_line *out, size_t cap)
{
    int64_t from = now_ms - (int64_t)p->window_days * FS_SCORE_MS_PER_DAY;
    size_t nout = 0;
    bool over = false;
    /* Few currencies per customer: a linear search per purchase, the lines
     * kept in currency order by insertion. */
    for (size_t i = 0; i < n; i++) {
        const fs_score_purchase *pu = &purchases[i];
        char code[4];
        memcpy(code, pu->currency, 3);
        code[3] = '\0';
        if (pu->at_ms <= from)
            continue;
        size_t j = 0;
        while (j < nout && strcmp(out[j].currency, code) < 0)
            j++;
        if (j == nout || strcmp(out[j].currency, code) != 0) {
            if (nout == cap) {
                over = true;
                continue;
            }
            memmove(&out[j + 1], &out[j], (nout - j) * sizeof out[0]);
            memset(&out[j], 0, sizeof out[j]);
            out[j].customer = customer;
            memcpy(out[j].currency, code, 4);
            nout++;
        }
        out[j].count++;
        out[j].revenue = add_sat(out[j].revenue, pu->amount);
        if (out[j].count == 1 || pu->at_ms > out[j].last_ms)
            out[j].last_ms = pu->at_ms;
    }
    return over ? cap + 1 : nout;
}

/* ---- Grading a population --------------------------------------------- */

/* qsort has no context argument in C11: the comparators read the lines
 * through a pointer stored beside each index. */
typedef struct ref {
    const fs_score_line *l;
    uint32_t i;
} ref;

static int cmp_currency(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    int c = strcmp(x->l->currency, y->l->currency);
    if (c)
        return c;
    return (x->i > y->i) - (x->i < y->i);
}

static int cmp_revenue_desc(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    if (x->l->revenue != y->l->revenue)
        return x->l->revenue < y->l->revenue ? 1 : -1;
    if (x->l->customer != y->l->customer)
        return x->l->customer < y->l->customer ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Number of sorted values <= v. */
static size_t count_le(const int64_t *sorted, size_t n, int64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ceil(bins x le / n), in 1..bins for le >= 1. */
static uint8_t bin_of(size_t le, size_t n, int bins)
{
    size_t s = ((size_t)bins * le + n - 1) / n;
    return (uint8_t)(s < 1 ? 1 : s);
}

typedef enum { KEY_UNIT, KEY_COUNT, KEY_RECENT, KEY_REVENUE } key_kind;

static int64_t key_of(const fs_score_line *l, key_kind k)
{
    switch (k) {
    case KEY_UNIT: return l->unit;
    case KEY_COUNT: return l->count;
    case KEY_RECENT: return l->last_ms;
    case KEY_REVENUE: return l->revenue;
    }
    return 0;
}

/* Sorted values of one key over a group (refs[0..n)) into scratch. */
static void sorted_keys(const ref *refs, size_t n, key_kind k, int64_t *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = key_of(refs[i].l, k);
    qsort(scratch, n, sizeof *scratch, cmp_i64);
}

static void grade_group(fs_score_line *lines, ref *refs, size_t n,
                        const fs_score_params *p, int64_t *scratch,
                        fs_score_currency *cur)
{
    memset(cur, 0, sizeof *cur);
    memcpy(cur->currency, refs[0].l->currency, 4);
    cur->buyers = n;

    /* Thresholds: fixed in the configuration, else the (upper) median. */
    int64_t ut = fs_score_unit_fixed_for(p, cur->currency);
    cur->unit_fixed = ut >= 0;
    if (!cur->unit_fixed) {
        sorted_keys(refs, n, KEY_UNIT, scratch);
        ut = scratch[n / 2];
    }
    int64_t ct = p->count_threshold;
    cur->count_fixed = ct > 0;
    if (!cur->count_fixed) {
        sorted_keys(refs, n, KEY_COUNT, scratch);
        ct = scratch[n / 2];
    }
    cur->unit_threshold = ut;
    cur->count_threshold = ct;

    for (size_t i = 0; i < n; i++) {
        fs_score_line *l = &lines[refs[i].i];
        bool hu = l->unit >= ut, hc = l->count >= ct;
        l->grade = hc ? (hu ? 'E' : 'D') : (hu ? 'C' : 'B');
        cur->revenue = add_sat(cur->revenue, l->revenue);
    }

    /* RFM by the empirical distribution of each key. */
    static const key_kind keys[3] = {KEY_RECENT, KEY_COUNT, KEY_REVENUE};
    for (int k = 0; k < 3; k++) {
        sorted_keys(refs, n, keys[k], scratch);
        for (size_t i = 0; i < n; i++) {
            fs_score_line *l = &lines[refs[i].i];
            uint8_t s = bin_of(count_le(scratch, n, key_of(l, keys[k])), n, p->rfm_bins);
            if (k == 0)
                l->r = s;
            else if (k == 1)
                l->f = s;
            else
                l->m = s;
        }
    }

    /* Pareto: the smallest prefix by descending revenue covering the share. */
    qsort(refs, n, sizeof *refs, cmp_revenue_desc);
    wide goal = (wide)cur->revenue * p->core_share_pct;
    wide acc = 0;
    for (size_t i = 0; i < n; i++) {
        fs_score_line *l = &lines[refs[i].i];
        l->core = acc * 100 < goal;
        if (l->core) {
            acc += l->revenue;
            cur->core++;
            cur->core_revenue = add_sat(cur->core_revenue, l->revenue);
        }
    }
}

fs_status fs_score_grade(fs_score_line *lines, size_t n, const fs_score_params *p,
                         fs_score_currency *cur, size_t cap, size_t *ncur,
                         fs_error *err)
{
    fs_status st = FS_OK;
    ref *refs = NULL;
    int64_t *scratch = NULL;
    size_t groups = 0;

    if ((!lines && n) || !p || (!cur && cap)) {
        st = FS_EINVAL;
        fs_error_set(err, st, "fs_score_grade: missing argument");
        goto done;
    }
    if ((st = fs_score_params_check(p, err)) != FS_OK)
        goto done;
    if (n > UINT32_MAX) {
        st = FS_ERANGE;
        fs_error_set(err, st, "too many lines to grade: %zu", n);
        goto done;
    }
    if (n) {
        refs = malloc(n * sizeof *refs);
        scratch = malloc(n * sizeof *scratch);
        if (!refs || !scratch) {
            st = FS_ENOMEM;
            fs_error_set(err, st, "out of memory grading %zu lines", n);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        fs_score_line *l = &lines[i];
        l->currency[3] = '\0';
        l->unit = l->count > 0 ? l->revenue / l->count : 0;
        l->grade = 'A';
        l->core = false;
        l->r = l->f = l->m = 0;
        refs[i] = (ref){l, (uint32_t)i};
    }
    if (n)
        qsort(refs, n, sizeof *refs, cmp_currency);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && strcmp(refs[b].l->currency, refs[a].l->currency) == 0)
            b++;
        fs_score_currency one;
        grade_group(lines, refs + a, b - a, p, scratch, &one);
        if (groups < cap)
            cur[groups] = one;
        groups++;
        a = b;
    }
done:
    if (ncur)
        *ncur = groups;
    free(refs);
    free(scratch);
    return st;
}

void fs_score_value_of(const fs_score_line *lines, size_t n, fs_score_value *out)
{
    memset(out, 0, sizeof *out);
    out->grade = 'A';
    const fs_score_line *main = NULL;
    for (size_t i = 0; i < n; i++) {
        const fs_score_line *l = &lines[i];
        if (l->core)
            out->core = true;
        if (!main || l->count > main->count ||
            (l->count == main->count &&
             (l->last_ms > main->last_ms ||
              (l->last_ms == main->last_ms && strcmp(l->currency, main->currency) < 0))))
            main = l;
    }
    if (!main)
        return;
    out->grade = main->grade;
    snprintf(out->rfm, sizeof out->rfm, "%u%u%u", (unsigned)main->r % 10,
             (unsigned)main->f % 10, (unsigned)main->m % 10);
    memcpy(out->currency, main->currency, 4);
    out->currency[3] = '\0';
}

/* ---- Churn ------------------------------------------------------------- */

static const char *const risk_names[] = {"none", "watch", "at_risk"};
static const char *const rule_names[] = {"quiet", "complaint", "overdue"};
_Static_assert(sizeof rule_names / sizeof rule_names[0] == FS_CHURN_NRULES,
               "a name for every churn rule");

const char *fs_risk_name(fs_risk r)
{
    return (unsigned)r < 3 ? risk_names[r] : "none";
}

bool fs_risk_parse(const char *s, fs_risk *out)
{
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, risk_names[i]) == 0) {
            *out = (fs_risk)i;
            return true;
        }
    return false;
}

const char *fs_churn_rule_name(fs_churn_rule r)
{
    return (unsigned)r < FS_CHURN_NRULES ? rule_names[r] : "?";
}

/* "2026-10-25": reasons name the date of the last contact or purchase, not
 * a number of days, so the text changes only when the facts change and a
 * nightly run over an unchanged store re-sequences nothing. */
static void date_of(int64_t ms, char out[16])
{
    char full[48];
    fs__format_utc(ms, full, sizeof full);
    memcpy(out, full, 10);
    out[10] = '\0';
}

static bool rule_quiet(const fs_score_churn_in *in, const fs_score_params *p,
                       char *why, size_t cap)
{
    int64_t last = 0;
    for (size_t i = 0; i < in->nvisits; i++)
        if (in->visits[i].completed && in->visits[i].at_ms > last)
            last = in->visits[i].at_ms;
    for (size_t i = 0; i < in->ntasks; i++)
        if (in->tasks[i].follow_up && in->tasks[i].done && in->tasks[i].at_ms > last)
            last = in->tasks[i].at_ms;
    bool contacted = last > 0;
    if (!contacted)
        last = in->known_since_ms;
    char g = in->value.grade;
    bool valued = in->value.core || g == 'C' || g == 'D' || g == 'E';
    int64_t limit = (int64_t)(valued ? p->quiet_days_valued : p->quiet_days_other);
    if (last > 0 && in->now_ms - last < limit * FS_SCORE_MS_PER_DAY)
        return false;
    char day[16];
    date_of(last, day);
    if (last <= 0)
        snprintf(why, cap, "no visit or follow-up on record");
    else if (contacted)
        snprintf(why, cap, "no visit or follow-up since %s", day);
    else
        snprintf(why, cap, "no visit or follow-up ever (customer since %s)", day);
    return true;
}

static bool rule_complaint(const fs_score_churn_in *in, const fs_score_params *p,
                           char *why, size_t cap)
{
    int64_t from = in->now_ms - (int64_t)p->complaint_window_days * FS_SCORE_MS_PER_DAY;
    size_t open = 0, recent = 0;
    for (size_t i = 0; i < in->ntickets; i++) {
        const fs_score_ticket *t = &in->tickets[i];
        if (!t->complaint)
            continue;
        if (t->open)
            open++;
        if (t->opened_ms > from)
            recent++;
    }
    bool many = recent >= (size_t)p->complaint_count;
    if (!open && !many)
        return false;
    if (open && many)
        snprintf(why, cap, "open complaint; %zu complaints in %d days", recent,
                 p->complaint_window_days);
    else if (open)
        snprintf(why, cap, "open complaint");
    else
        snprintf(why, cap, "%zu complaints in %d days", recent, p->complaint_window_days);
    return true;
}

static bool rule_overdue(const fs_score_churn_in *in, const fs_score_params *p,
                         char *why, size_t cap)
{
    if (in->npurchases < 2)
        return false;
    int64_t first = in->purchases[0].at_ms, last = first;
    for (size_t i = 1; i < in->npurchases; i++) {
        int64_t t = in->purchases[i].at_ms;
        if (t < first)
            first = t;
        if (t > last)
            last = t;
    }
    int64_t avg = (last - first) / (int64_t)(in->npurchases - 1);
    if (avg <= 0)
        return false; /* every purchase at one instant: no rhythm to miss */
    int64_t since = in->now_ms - last;
    if ((wide)since * 100 <= (wide)avg * p->overdue_pct)
        return false;
    int64_t every = (avg + FS_SCORE_MS_PER_DAY / 2) / FS_SCORE_MS_PER_DAY;
    char day[16];
    date_of(last, day);
    snprintf(why, cap, "no purchase since %s (usually every %" PRId64 " day%s)",
             day, every < 1 ? 1 : every, every > 1 ? "s" : "");
    return true;
}

void fs_score_churn_eval(const fs_score_churn_in *in, const fs_score_params *p,
                         fs_score_churn *out)
{
    typedef bool (*rule_fn)(const fs_score_churn_in *, const fs_score_params *, char *, size_t);
    static const rule_fn rules[FS_CHURN_NRULES] = {rule_quiet, rule_complaint, rule_overdue};
    memset(out, 0, sizeof *out);
    int fired = 0;
    size_t used = 0;
    for (int r = 0; r < FS_CHURN_NRULES; r++) {
        if (!rules[r](in, p, out->rule_reason[r], sizeof out->rule_reason[r]))
            continue;
        out->rules |= 1u << r;
        fired++;
        int w = snprintf(out->reason + used, sizeof out->reason - used, "%s%s",
                         used ? "; " : "", out->rule_reason[r]);
        if (w > 0)
            used += (size_t)w < sizeof out->reason - used ? (size_t)w : sizeof out->reason - used - 1;
    }
    if ((out->rules & (1u << FS_CHURN_COMPLAINT)) || fired >= 2)
        out->risk = FS_RISK_AT_RISK;
    else if (fired)
        out->risk = FS_RISK_WATCH;
    else
        out->risk = FS_RISK_NONE;
}
