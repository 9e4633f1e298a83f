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

static const fs_score_int_param int_params[] = {
    {"window_days", "value-window-days", offsetof(fs_score_params, window_days), 1, 36500},
    {"core_share_pct", "value-core-share", offsetof(fs_score_params, core_share_pct), 1, 100},
    {"rfm_bins", "value-rfm-bins", offsetof(fs_score_params, rfm_bins), 2, 9},
    {"quiet_days_valued", "churn-quiet-days", offsetof(fs_score_params, quiet_days_valued), 1, 36500},
    {"quiet_days_other", "churn-quiet-days-other", offsetof(fs_score_params, quiet_days_other), 1, 36500},
    {"complaint_window_days", "churn-complaint-days", offsetof(fs_score_params, complaint_window_days), 1, 36500},
    {"complaint_count", "churn-complaints", offsetof(fs_score_params, complaint_count), 1, 1000},
    {"overdue_pct", "churn-overdue-pct", offsetof(fs_score_params, overdue_pct), 100, 10000},
};

const fs_score_int_param *fs_score_int_params(size_t *n)
{
    *n = sizeof int_params / sizeof int_params[0];
    return int_params;
}

fs_status fs_score_params_check(const fs_score_params *p, fs_error *err)
{
    if (!p) {
        fs_error_set(err, FS_EINVAL, "no parameters");
        return FS_EINVAL;
    }
    size_t nints;
    const fs_score_int_param *ints = fs_score_int_params(&nints);
    for (size_t i = 0; i < nints; i++) {
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

int64_t fs_score_key_of(const fs_score_line *l, fs_score_key k)
{
    switch (k) {
    case FS_SCORE_KEY_UNIT: return l->unit;
    case FS_SCORE_KEY_COUNT: return l->count;
    case FS_SCORE_KEY_RECENT: return l->last_ms;
    case FS_SCORE_KEY_REVENUE: return l->revenue;
    case FS_SCORE_NKEYS: break;
    }
    return 0;
}

void fs_score_currency_start(fs_score_currency *c, const char *currency,
                             const fs_score_params *p)
{
    memset(c, 0, sizeof *c);
    memcpy(c->currency, currency, 3);
    c->currency[3] = '\0';
    c->unit_threshold = fs_score_unit_fixed_for(p, c->currency);
    c->unit_fixed = c->unit_threshold >= 0;
    c->count_fixed = p->count_threshold > 0;
    c->count_threshold = p->count_threshold;
}

void fs_score_currency_add(fs_score_currency *c, fs_score_line *l)
{
    l->unit = l->count > 0 ? l->revenue / l->count : 0;
    c->buyers++;
    c->revenue = add_sat(c->revenue, l->revenue);
}

/*
 * The cut points. A threshold is the (upper) median, the value at position
 * n/2. The RFM score of v is ceil(bins x le(v) / n), le(v) = values <= v;
 * it is s or more exactly when le(v) > (s-1)n/bins, i.e. when v is at
 * least the value at position floor((s-1)n/bins): that value is the cut.
 */
size_t fs_score_cuts(fs_score_currency *c, const fs_score_params *p,
                     fs_score_cut out[FS_SCORE_MAX_CUTS])
{
    static const fs_score_key rfm_keys[3] = {FS_SCORE_KEY_RECENT, FS_SCORE_KEY_COUNT,
                                             FS_SCORE_KEY_REVENUE};
    size_t n = c->buyers, k = 0;
    int bins = p->rfm_bins < 2 ? 2 : p->rfm_bins > FS_SCORE_MAX_BINS ? FS_SCORE_MAX_BINS
                                                                     : p->rfm_bins;
    if (!n)
        return 0;
    if (!c->unit_fixed)
        out[k++] = (fs_score_cut){FS_SCORE_KEY_UNIT, n / 2, &c->unit_threshold};
    if (!c->count_fixed)
        out[k++] = (fs_score_cut){FS_SCORE_KEY_COUNT, n / 2, &c->count_threshold};
    for (int r = 0; r < 3; r++)
        for (int sc = 2; sc <= bins; sc++)
            out[k++] = (fs_score_cut){rfm_keys[r], (size_t)(((wide)(sc - 1) * n) / bins),
                                      &c->rfm_cut[r][sc - 2]};
    /* in key order, so a caller sorts by each key once */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && out[j].key < out[j - 1].key; j--) {
            fs_score_cut t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return k;
}

/* The smallest prefix by descending revenue covering core_share_pct of the
 * currency's revenue: a line is core while the revenue before it falls
 * short of the share. A currency with no revenue has no core. */
bool fs_score_core_take(fs_score_currency *c, const fs_score_params *p, int64_t revenue,
                        const fs_id *key)
{
    if ((wide)c->core_revenue * 100 >= (wide)c->revenue * p->core_share_pct)
        return false;
    c->core++;
    c->core_revenue = add_sat(c->core_revenue, revenue);
    c->core_min = revenue;
    c->core_last = *key;
    return true;
}

void fs_score_line_grade(const fs_score_currency *c, const fs_score_params *p,
                         const fs_id *key, fs_score_line *l)
{
    int bins = p->rfm_bins < 2 ? 2 : p->rfm_bins > FS_SCORE_MAX_BINS ? FS_SCORE_MAX_BINS
                                                                     : p->rfm_bins;
    static const fs_score_key rfm_keys[3] = {FS_SCORE_KEY_RECENT, FS_SCORE_KEY_COUNT,
                                             FS_SCORE_KEY_REVENUE};
    uint8_t sc[3];

    l->unit = l->count > 0 ? l->revenue / l->count : 0;
    bool hu = l->unit >= c->unit_threshold, hc = l->count >= c->count_threshold;
    l->grade = hc ? (hu ? 'E' : 'D') : (hu ? 'C' : 'B');
    for (int r = 0; r < 3; r++) {
        int64_t v = fs_score_key_of(l, rfm_keys[r]);
        sc[r] = 1;
        for (int s = 2; s <= bins; s++)
            if (v >= c->rfm_cut[r][s - 2])
                sc[r] = (uint8_t)s;
    }
    l->r = sc[0];
    l->f = sc[1];
    l->m = sc[2];
    l->core = c->core > 0 &&
              (l->revenue > c->core_min ||
               (l->revenue == c->core_min && memcmp(key->b, c->core_last.b, 16) <= 0));
}

/* fs_score_grade's key for a line: the customer index, then the line's
 * own index (a customer has one line per currency, so never needed). */
static fs_id key_of_ref(const ref *r)
{
    fs_id k;
    memset(&k, 0, sizeof k);
    for (int i = 0; i < 4; i++) {
        k.b[i] = (uint8_t)(r->l->customer >> (24 - 8 * i));
        k.b[4 + i] = (uint8_t)(r->i >> (24 - 8 * i));
    }
    return k;
}

static void grade_group(fs_score_line *lines, ref *refs, size_t n,
                        const fs_score_params *p, int64_t *scratch,
                        fs_score_currency *cur)
{
    fs_score_cut cuts[FS_SCORE_MAX_CUTS];
    size_t ncuts;
    int sorted = -1;

    fs_score_currency_start(cur, refs[0].l->currency, p);
    for (size_t i = 0; i < n; i++)
        fs_score_currency_add(cur, &lines[refs[i].i]);
    ncuts = fs_score_cuts(cur, p, cuts);
    for (size_t c = 0; c < ncuts; c++) {
        if ((int)cuts[c].key != sorted) {
            for (size_t i = 0; i < n; i++)
                scratch[i] = fs_score_key_of(refs[i].l, cuts[c].key);
            qsort(scratch, n, sizeof *scratch, cmp_i64);
            sorted = (int)cuts[c].key;
        }
        *cuts[c].value = scratch[cuts[c].pos];
    }
    qsort(refs, n, sizeof *refs, cmp_revenue_desc);
    for (size_t i = 0; i < n; i++) {
        fs_id k = key_of_ref(&refs[i]);
        if (!fs_score_core_take(cur, p, refs[i].l->revenue, &k))
            break;
    }
    for (size_t i = 0; i < n; i++) {
        fs_id k = key_of_ref(&refs[i]);
        fs_score_line_grade(cur, p, &k, &lines[refs[i].i]);
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
