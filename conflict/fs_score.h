/*
 * fs_score.h - customer value and churn rules (CRM.md sections 2 and 3),
 * pure code: no I/O, no SQL, no clock of its own (callers pass "now").
 *
 * The server feeds it from its store (sync-server analyze); tests feed it
 * data tables. Everything a rule decides is decided here, once:
 *
 *   - the A-E grade by unit price (average order value) and purchase count
 *     inside a window, against thresholds that are the medians of the
 *     buying customers unless fixed;
 *   - the core flag (the smallest set of customers, by descending revenue,
 *     that covers a share of the revenue, default 80%);
 *   - RFM scores 1..bins by the empirical distribution (quintiles by
 *     default);
 *   - the churn rules (quiet, complaint, overdue), the risk level and the
 *     reasons in words.
 *
 * Money: amounts of different currencies are never added. Each currency is
 * its own population (its own medians, Pareto set and quintiles) because a
 * conversion table would make a grade change when a rate moves although the
 * customer did nothing, and the store has no authoritative rates. A customer
 * who buys in several currencies is graded in each; its customer-level grade
 * and RFM are those of its main currency (the one with the most purchases
 * in the window; ties: the newest purchase, then the currency code), and it
 * is core when it is core in any of its currencies.
 *
 * Ownership: every pointer passed in is borrowed; nothing is kept after a
 * call returns. fs_score_grade allocates scratch memory and frees it.
 */
#ifndef FS_SCORE_H
#define FS_SCORE_H

#include "fs_conflict.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FS_SCORE_MS_PER_DAY INT64_C(86400000)
#define FS_SCORE_MAX_FIXED 8   /* fixed unit thresholds, one per currency */
#define FS_SCORE_REASON 256    /* risk_reason text, NUL included */

/* A fixed unit-price threshold for one currency, in its minor units. */
typedef struct fs_score_unit_fixed {
    char currency[4];
    int64_t minor;
} fs_score_unit_fixed;

/* Every parameter of the rules; fs_score_params_default gives CRM.md's. */
typedef struct fs_score_params {
    int window_days;          /* purchases counted for grades, core, RFM: 365 */
    int64_t count_threshold;  /* "high" count; 0 = the median of the buyers */
    size_t n_unit_fixed;      /* fixed unit thresholds; others use the median */
    fs_score_unit_fixed unit_fixed[FS_SCORE_MAX_FIXED];
    int core_share_pct;       /* revenue share the core customers cover: 80 */
    int rfm_bins;             /* RFM scores 1..bins (2..9): 5, quintiles */
    int quiet_days_valued;    /* no contact for N days, grades C/D/E or core: 30 */
    int quiet_days_other;     /* no contact for N days, everyone else: 90 */
    int complaint_window_days;/* complaints counted over N days: 90 */
    int complaint_count;      /* this many complaints in the window: 2 */
    int overdue_pct;          /* overdue past pct/100 x average interval: 150 */
} fs_score_params;

void fs_score_params_default(fs_score_params *p);

/* FS_OK, or FS_ERANGE with the first parameter out of range named in err. */
fs_status fs_score_params_check(const fs_score_params *p, fs_error *err);
/* The integer parameters as data, the one place their ranges live: name
 * (as reports show it), the server option that sets it, its place in
 * fs_score_params and its range. fs_score_params_check and the server's
 * option parser both walk it. */
typedef struct fs_score_int_param {
    const char *name, *option;
    size_t off;
    int lo, hi;
} fs_score_int_param;
const fs_score_int_param *fs_score_int_params(size_t *n);

/* The unit threshold fixed for a currency, or -1 when it uses the median. */
int64_t fs_score_unit_fixed_for(const fs_score_params *p, const char *currency);

/* One purchase (the `purchase` entity's amount, currency, purchased_at). */
typedef struct fs_score_purchase {
    int64_t at_ms;
    int64_t amount; /* minor units of currency */
    char currency[4];
} fs_score_purchase;

/*
 * One customer's purchases in one currency inside the window: the unit of
 * grading. Inputs are filled by fs_score_summarize; outputs by
 * fs_score_grade.
 */
typedef struct fs_score_line {
    uint32_t customer; /* the caller's index, carried through untouched */
    char currency[4];
    int64_t count;     /* purchases in the window (>= 1) */
    int64_t revenue;   /* their total, minor units */
    int64_t last_ms;   /* the newest of them */
    /* outputs */
    int64_t unit;      /* revenue / count, rounded down */
    char grade;        /* 'B'..'E' ('A' is a customer with no line) */
    bool core;
    uint8_t r, f, m;   /* 1..bins */
} fs_score_line;

/*
 * Summarise one customer's purchases (any order, any time) into lines, one
 * per currency with purchases in the window (now - window_days, now]. A
 * purchase dated after now counts (a device clock ahead must not hide it).
 * Lines are written to out in currency order; returns their number, or
 * cap + 1 when the customer bought in more than cap currencies (the caller
 * reports that as an error: a grade is never computed from part of the
 * history).
 */
size_t fs_score_summarize(const fs_score_purchase *purchases, size_t n,
                          int64_t now_ms, const fs_score_params *p,
                          uint32_t customer, fs_score_line *out, size_t cap);

#define FS_SCORE_MAX_BINS 9 /* rfm_bins' upper bound */

/* One currency's population: what fs_score_grade found, for the report,
 * and the cut points that grade any line of it (fs_score_line_grade). */
typedef struct fs_score_currency {
    char currency[4];
    size_t buyers;          /* lines of this currency */
    size_t core;            /* of them core */
    int64_t revenue;        /* total in the window */
    int64_t core_revenue;   /* of it from the core customers */
    int64_t unit_threshold; /* the threshold used */
    int64_t count_threshold;
    bool unit_fixed, count_fixed; /* fixed in the configuration, not medians */
    /* RFM: rfm_cut[k][s - 2] is the lowest value of key k (recency, count,
     * revenue) that scores s or more, s = 2..bins. */
    int64_t rfm_cut[3][FS_SCORE_MAX_BINS - 1];
    /* Pareto: the last core line by descending revenue, ties by ascending
     * key (the caller's customer order); core = at or before it. */
    int64_t core_min;
    fs_id core_last;
} fs_score_currency;

/*
 * Grade every line: per currency, thresholds (median unless fixed), grade,
 * core flag and RFM. Lines are not reordered. Writes at most cap currency
 * summaries to cur (in currency order) and their total number to *ncur.
 * Returns FS_OK, FS_EINVAL, FS_ERANGE (bad parameters) or FS_ENOMEM.
 */
fs_status fs_score_grade(fs_score_line *lines, size_t n, const fs_score_params *p,
                         fs_score_currency *cur, size_t cap, size_t *ncur,
                         fs_error *err);

/*
 * Grading in steps, for a population too large to hold (the server's
 * analyze): the same rules as fs_score_grade, which is built on them.
 *
 *   1. fs_score_currency_start, then fs_score_currency_add for every line
 *      of the currency (sets the line's unit; counts buyers and revenue);
 *   2. fs_score_cuts lists the cut points: for each, a key and a position
 *      in that key's ascending order over the lines; the caller stores the
 *      value found there through cut.value (a sorted read: count first,
 *      then positions);
 *   3. fs_score_core_take for the lines by descending revenue, ties by
 *      ascending key, until it returns false (the Pareto set);
 *   4. fs_score_line_grade grades any line against the result.
 *
 * A key is the caller's customer order as 16 bytes compared with memcmp
 * (fs_score_grade uses the line's index, big-endian; the server the
 * customer's id, which is its store order).
 */
typedef enum fs_score_key {
    FS_SCORE_KEY_UNIT = 0, FS_SCORE_KEY_COUNT, FS_SCORE_KEY_RECENT, FS_SCORE_KEY_REVENUE,
    FS_SCORE_NKEYS
} fs_score_key;
int64_t fs_score_key_of(const fs_score_line *l, fs_score_key k);

#define FS_SCORE_MAX_CUTS (2 + 3 * (FS_SCORE_MAX_BINS - 1))
typedef struct fs_score_cut {
    fs_score_key key;
    size_t pos;     /* 0-based, in ascending order of key, < buyers */
    int64_t *value; /* where the value at pos goes (inside the currency) */
} fs_score_cut;

void fs_score_currency_start(fs_score_currency *c, const char *currency,
                             const fs_score_params *p);
void fs_score_currency_add(fs_score_currency *c, fs_score_line *l);
/* The cut points of a currency with buyers >= 1, into out; their number
 * (at most FS_SCORE_MAX_CUTS), in key order. */
size_t fs_score_cuts(fs_score_currency *c, const fs_score_params *p,
                     fs_score_cut out[FS_SCORE_MAX_CUTS]);
bool fs_score_core_take(fs_score_currency *c, const fs_score_params *p, int64_t revenue,
                        const fs_id *key);
/* Grades l (a line of c's currency; key its customer's) against c: unit,
 * grade, core, r, f, m. */
void fs_score_line_grade(const fs_score_currency *c, const fs_score_params *p,
                         const fs_id *key, fs_score_line *l);

/* The synced, customer-level result of grading. */
typedef struct fs_score_value {
    char grade;       /* 'A'..'E' */
    bool core;
    char rfm[4];      /* "545"; "" for a customer with no purchase (grade A) */
    char currency[4]; /* the main currency; "" for grade A */
} fs_score_value;

/* Combine one customer's graded lines (n may be 0: grade A). */
void fs_score_value_of(const fs_score_line *lines, size_t n, fs_score_value *out);

/* ---- Churn --------------------------------------------------------------- */

typedef enum fs_risk { FS_RISK_NONE = 0, FS_RISK_WATCH, FS_RISK_AT_RISK } fs_risk;
const char *fs_risk_name(fs_risk r);                 /* "none", "watch", "at_risk" */
bool fs_risk_parse(const char *s, fs_risk *out);

/* The rules, each with its own generated follow-up task. Appended only. */
typedef enum fs_churn_rule {
    FS_CHURN_QUIET = 0, /* no completed visit or done follow-up for N days */
    FS_CHURN_COMPLAINT, /* an open complaint, or N complaints in the window */
    FS_CHURN_OVERDUE,   /* the next purchase is late by the customer's rhythm */
    FS_CHURN_NRULES
} fs_churn_rule;
const char *fs_churn_rule_name(fs_churn_rule r);    /* "quiet", "complaint", "overdue" */

typedef struct fs_score_visit {
    int64_t at_ms;  /* check-in (or planned) time */
    bool completed; /* status completed */
} fs_score_visit;

typedef struct fs_score_task {
    int64_t at_ms;  /* due time: a task records no completion time */
    bool follow_up; /* kind follow_up */
    bool done;
} fs_score_task;

typedef struct fs_score_ticket {
    int64_t opened_ms;
    bool complaint; /* kind complaint */
    bool open;      /* status open or in_progress */
} fs_score_ticket;

/* Everything the churn rules read about one customer. */
typedef struct fs_score_churn_in {
    int64_t now_ms;
    int64_t known_since_ms; /* when the customer entered the store: the quiet
                               clock starts here if there was never a contact */
    fs_score_value value;   /* its grade and core flag (fs_score_value_of) */
    const fs_score_purchase *purchases; size_t npurchases; /* all time */
    const fs_score_visit *visits; size_t nvisits;
    const fs_score_task *tasks; size_t ntasks;
    const fs_score_ticket *tickets; size_t ntickets;
} fs_score_churn_in;

typedef struct fs_score_churn {
    fs_risk risk;
    unsigned rules; /* bit (1u << fs_churn_rule) for every rule that fired */
    char rule_reason[FS_CHURN_NRULES][96]; /* each fired rule's reason */
    char reason[FS_SCORE_REASON]; /* the fired reasons joined by "; " */
} fs_score_churn;

/*
 * Apply the churn rules. Risk: at_risk when the complaint rule fires or two
 * or more rules fire, watch when one of quiet/overdue fires, none otherwise.
 */
void fs_score_churn_eval(const fs_score_churn_in *in, const fs_score_params *p,
                         fs_score_churn *out);

#ifdef __cplusplus
}
#endif

#endif /* FS_SCORE_H */
