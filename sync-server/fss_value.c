/*
 * fss_value.c - `analyze`: customer value and churn, computed centrally and
 * written as server-owned customer fields that sync to every rep's device.
 *
 * The rules are conflict/fs_score.c's; this file only feeds them from the
 * store and writes back what they return. Three passes over the customers
 * in id order (fss_analyze below says what each does), the first and the
 * last in batches of cfg.analyze_batch customers, each batch its own short
 * transaction: memory holds one batch, never every customer, and a
 * device's push waits for at most one batch.
 *
 * Only differing values are written, so a run over an unchanged store hands
 * out no sequence number. A batch reads its customers' generated tasks in
 * the IMMEDIATE transaction that writes them, so two runs (the schedule in
 * `serve` and an operator's `sync-server analyze`) never open a task twice:
 * the second waits for the first's batch and sees its tasks.
 *
 * The value report (fss_report_value) lists every customer's point, so it
 * holds every line in memory and grades them with fs_score_grade, which
 * is built on the same steps.
 */
#include "fss_json.h"

#include <stdlib.h>
#include <string.h>

#define GROW(arr, n, cap, err, what)                                        \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            size_t ncap_ = (cap) ? (cap) * 2 : 64;                          \
            void *p_ = realloc((arr), ncap_ * sizeof *(arr));               \
            if (!p_)                                                        \
                return fss__fail((err), FSS_ENOMEM, "analyze: %s", (what)); \
            (arr) = p_;                                                     \
            (cap) = ncap_;                                                  \
        }                                                                   \
    } while (0)

/* The same, for functions that hold resources: sets rc and jumps to done. */
#define GROW_OR_DONE(arr, n, cap, err, what)                               \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            size_t ncap_ = (cap) ? (cap) * 2 : 64;                          \
            void *p_ = realloc((arr), ncap_ * sizeof *(arr));               \
            if (!p_) {                                                      \
                rc = fss__fail((err), FSS_ENOMEM, "analyze: %s", (what));   \
                goto done;                                                  \
            }                                                               \
            (arr) = p_;                                                     \
            (cap) = ncap_;                                                  \
        }                                                                   \
    } while (0)

/* One entity's rows in customer order, with the next row held back. */
typedef struct stream {
    fss_value_cursor *cur;
    fs_row row;
    fs_id cust;
    bool has;
} stream;

static fss_status stream_next(stream *st, fs_error *err)
{
    if (!st->cur) {
        st->has = false;
        return FSS_OK;
    }
    return fss__repo_value_next(st->cur, &st->row, &st->cust, &st->has, err);
}

/* Reads an opened stream's first row; closes it on failure. */
static fss_status stream_first(stream *st, fs_error *err)
{
    fss_status rc = stream_next(st, err);

    if (rc != FSS_OK) {
        fss__repo_value_close(st->cur);
        fs_row_free(&st->row);
        memset(st, 0, sizeof *st);
    }
    return rc;
}

static fss_status stream_open(fss_conn *c, const char *entity, const fs_id *after,
                              const fs_id *upto, stream *st, fs_error *err)
{
    const fs_entity *e = fs_schema_entity(entity);
    fss_status rc;

    memset(st, 0, sizeof *st);
    if (!e)
        return FSS_OK; /* an entity this build does not have: no rows */
    if ((rc = fss__repo_value_open(c, e, after, upto, &st->cur, err)) != FSS_OK)
        return rc;
    return stream_first(st, err);
}

/* The purchases and visits, the most numerous rows analyze reads: only
 * the fields take_purchases and take_visits look at. */
static const char *const purchase_fields[] = {"amount", "currency", "purchased_at"};
static const char *const visit_fields[] = {"checkin_at", "checkout_at", "planned_at",
                                           "status"};

/* (customers: their ids alone) */
static fss_status stream_open_fields(fss_conn *c, const char *entity, const fs_id *after,
                                     const fs_id *upto, stream *st, fs_error *err)
{
    const fs_entity *e = fs_schema_entity(entity);
    bool visit = strcmp(entity, "visit") == 0, customer = strcmp(entity, "customer") == 0;
    fss_status rc;
    const char *const *fields = visit ? visit_fields : purchase_fields;
    size_t n = customer ? 0
               : visit  ? sizeof visit_fields / sizeof *visit_fields
                        : sizeof purchase_fields / sizeof *purchase_fields;

    memset(st, 0, sizeof *st);
    if (!e)
        return FSS_OK;
    if ((rc = fss__repo_value_open_fields(c, e, after, upto, fields, n, &st->cur, err)) !=
        FSS_OK)
        return rc;
    return stream_first(st, err);
}

static void stream_close(stream *st)
{
    fss__repo_value_close(st->cur);
    fs_row_free(&st->row);
    memset(st, 0, sizeof *st);
}

/* Rows of customers before `id` are orphans of deleted customers: skipped. */
static fss_status stream_skip_to(stream *st, const fs_id *id, fs_error *err)
{
    fss_status rc = FSS_OK;
    while (rc == FSS_OK && st->has && memcmp(st->cust.b, id->b, 16) < 0)
        rc = stream_next(st, err);
    return rc;
}

static bool stream_at(const stream *st, const fs_id *id)
{
    return st->has && memcmp(st->cust.b, id->b, 16) == 0;
}

/* ---- reading cells ----------------------------------------------------- */

static const fs_cell *cell(const fs_row *row, const char *name)
{
    int i = fs_entity_field_index(row->entity, name);
    return i < 0 ? NULL : &row->cells[i];
}

static bool cell_int(const fs_row *row, const char *name, int64_t *out)
{
    const fs_cell *k = cell(row, name);
    if (!k || k->v.kind != FS_VAL_INT)
        return false;
    *out = k->v.u.i;
    return true;
}

static const char *cell_text(const fs_row *row, const char *name)
{
    const fs_cell *k = cell(row, name);
    return k && k->v.kind == FS_VAL_TEXT ? k->v.u.text.p : NULL;
}

static bool text_is(const fs_row *row, const char *name, const char *want)
{
    const char *t = cell_text(row, name);
    return t && strcmp(t, want) == 0;
}

/* ---- one customer's rows ------------------------------------------------ */

typedef struct bundle {
    fs_score_purchase *pu;
    size_t npu, cappu;
    fs_score_visit *vi;
    size_t nvi, capvi;
    fs_score_task *ta;
    size_t nta, capta;
    fs_score_ticket *ti;
    size_t nti, capti;
    bool has_open[FS_CHURN_NRULES]; /* an open generated task per rule */
    fs_id open_task[FS_CHURN_NRULES];
} bundle;

static void bundle_free(bundle *b)
{
    free(b->pu);
    free(b->vi);
    free(b->ta);
    free(b->ti);
    memset(b, 0, sizeof *b);
}

static fss_status take_purchases(stream *st, const fs_id *id, bundle *b,
                                 fs_error *err)
{
    fss_status rc = stream_skip_to(st, id, err);
    b->npu = 0;
    while (rc == FSS_OK && stream_at(st, id)) {
        int64_t amount, at;
        const char *cur = cell_text(&st->row, "currency");
        /* A purchase with no amount, currency or time cannot be placed in
         * a window or a currency: it counts nowhere (`check` lists rows
         * missing values). */
        if (cell_int(&st->row, "amount", &amount) &&
            cell_int(&st->row, "purchased_at", &at) && cur && strlen(cur) == 3) {
            GROW(b->pu, b->npu, b->cappu, err, "purchases");
            fs_score_purchase *p = &b->pu[b->npu++];
            p->at_ms = at;
            p->amount = amount;
            memcpy(p->currency, cur, 4);
        }
        rc = stream_next(st, err);
    }
    return rc;
}

static fss_status take_visits(stream *st, const fs_id *id, bundle *b, fs_error *err)
{
    fss_status rc = stream_skip_to(st, id, err);
    b->nvi = 0;
    while (rc == FSS_OK && stream_at(st, id)) {
        int64_t at = 0;
        if (cell_int(&st->row, "checkin_at", &at) ||
            cell_int(&st->row, "checkout_at", &at) ||
            cell_int(&st->row, "planned_at", &at)) {
            GROW(b->vi, b->nvi, b->capvi, err, "visits");
            b->vi[b->nvi++] = (fs_score_visit){at, text_is(&st->row, "status", "completed")};
        }
        rc = stream_next(st, err);
    }
    return rc;
}

static int rule_of(const char *name)
{
    for (int r = 0; name && r < FS_CHURN_NRULES; r++)
        if (strcmp(name, fs_churn_rule_name((fs_churn_rule)r)) == 0)
            return r;
    return -1;
}

static fss_status take_tasks(stream *st, const fs_id *id, bundle *b, fs_error *err)
{
    fss_status rc = stream_skip_to(st, id, err);
    b->nta = 0;
    memset(b->has_open, 0, sizeof b->has_open);
    while (rc == FSS_OK && stream_at(st, id)) {
        int64_t done = 0, at = 0;
        const fs_cell *dc = cell(&st->row, "done");
        cell_int(&st->row, "done", &done);
        /* A task records no completion time: a done task counts when its
         * done flag was written (that cell's stamp), an open one at its due
         * time. */
        if (done && dc && dc->hlc)
            at = (int64_t)fs_hlc_ms(dc->hlc);
        else
            cell_int(&st->row, "due_at", &at);
        GROW(b->ta, b->nta, b->capta, err, "tasks");
        b->ta[b->nta++] = (fs_score_task){at, text_is(&st->row, "kind", "follow_up"),
                                          done != 0};
        int r = rule_of(cell_text(&st->row, "generated"));
        if (r >= 0 && !done) {
            b->has_open[r] = true;
            b->open_task[r] = st->row.id;
        }
        rc = stream_next(st, err);
    }
    return rc;
}

static fss_status take_tickets(stream *st, const fs_id *id, bundle *b, fs_error *err)
{
    fss_status rc = stream_skip_to(st, id, err);
    b->nti = 0;
    while (rc == FSS_OK && stream_at(st, id)) {
        int64_t at = 0;
        if (!cell_int(&st->row, "opened_at", &at)) {
            const fs_cell *k = cell(&st->row, "kind");
            at = k && k->hlc ? (int64_t)fs_hlc_ms(k->hlc) : 0;
        }
        GROW(b->ti, b->nti, b->capti, err, "tickets");
        b->ti[b->nti++] = (fs_score_ticket){
            at, text_is(&st->row, "kind", "complaint"),
            text_is(&st->row, "status", "open") || text_is(&st->row, "status", "in_progress")};
        rc = stream_next(st, err);
    }
    return rc;
}

/* When the customer entered the store: its oldest stamp. */
static int64_t known_since(const fs_row *row)
{
    fs_hlc first = 0;
    for (size_t i = 0; i < row->entity->nfields; i++)
        if (row->cells[i].hlc && (!first || row->cells[i].hlc < first))
            first = row->cells[i].hlc;
    return first ? (int64_t)fs_hlc_ms(first) : 0;
}

/* ---- collected writes ---------------------------------------------------- */

typedef struct writes {
    fs_change *chg;
    size_t n, cap;
} writes;

static void writes_free(writes *w)
{
    for (size_t i = 0; i < w->n; i++)
        fs_change_free(&w->chg[i]);
    free(w->chg);
    memset(w, 0, sizeof *w);
}

static fss_status writes_new(writes *w, const fs_entity *e, const fs_id *row,
                             fs_change **out, fs_error *err)
{
    fs_error ferr = {0};
    GROW(w->chg, w->n, w->cap, err, "changes");
    if (fs_change_init(&w->chg[w->n], e, row, &fss_server_device, &ferr) != FS_OK)
        return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
    *out = &w->chg[w->n++];
    return FSS_OK;
}

/* Adds field=v to chg when it differs from the stored cell (row may be
 * NULL: a new row). v is consumed. */
static fss_status set_if_changed(fss_server *s, fs_change *chg, const fs_row *row,
                                 const char *field, fs_value *v, bool *added,
                                 fs_error *err)
{
    fs_error ferr = {0};
    fs_status fst = FS_OK;
    const fs_cell *k = row ? cell(row, field) : NULL;

    if (!(k && fs_value_eq(&k->v, v)) && !(!row && v->kind == FS_VAL_NULL)) {
        fst = fs_change_set_named(chg, field, v, fss__tick(s), &ferr);
        *added = true;
    }
    fs_value_clear(v);
    if (fst != FS_OK)
        return fss__fail(err, FSS_EINVAL, "analyze: %s: %s", field, ferr.text);
    return FSS_OK;
}

static fss_status text_value(const char *t, fs_value *v, fs_error *err)
{
    fs_error ferr = {0};
    memset(v, 0, sizeof *v);
    if (!t || !t[0])
        return FSS_OK; /* unset */
    if (fs_value_text(v, t, strlen(t), &ferr) != FS_OK)
        return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
    return FSS_OK;
}

static fss_status set_text_if(fss_server *s, fs_change *chg, const fs_row *row,
                              const char *field, const char *t, bool *added,
                              fs_error *err)
{
    fs_value v;
    fss_status rc = text_value(t, &v, err);
    if (rc != FSS_OK)
        return rc;
    return set_if_changed(s, chg, row, field, &v, added, err);
}

static fss_status set_int_if(fss_server *s, fs_change *chg, const fs_row *row,
                             const char *field, int64_t i, bool *added, fs_error *err)
{
    fs_value v = fs_value_int(i);
    return set_if_changed(s, chg, row, field, &v, added, err);
}

/* The customer's server-owned value fields, where they differ. */
static fss_status customer_write(fss_server *s, writes *w, const fs_row *cust,
                                 const fs_score_value *val, const fs_score_churn *ch,
                                 bool *changed, fs_error *err)
{
    fs_change *chg = NULL;
    bool added = false;
    char grade[2] = {val->grade, '\0'};
    fss_status rc;

    *changed = false;
    if ((rc = writes_new(w, cust->entity, &cust->id, &chg, err)) != FSS_OK)
        return rc;
    if ((rc = set_text_if(s, chg, cust, "grade", grade, &added, err)) != FSS_OK ||
        (rc = set_int_if(s, chg, cust, "core", val->core ? 1 : 0, &added, err)) != FSS_OK ||
        (rc = set_text_if(s, chg, cust, "rfm", val->rfm, &added, err)) != FSS_OK ||
        (rc = set_text_if(s, chg, cust, "risk", fs_risk_name(ch->risk), &added, err)) !=
            FSS_OK ||
        (rc = set_text_if(s, chg, cust, "risk_reason", ch->reason, &added, err)) != FSS_OK)
        return rc;
    if (!added) {
        fs_change_free(chg);
        w->n--;
    }
    *changed = added;
    return FSS_OK;
}

/* A generated follow-up task for the owner rep, due now. */
static fss_status task_open(fss_server *s, writes *w, const fs_id *cust,
                            const char *owner, fs_churn_rule rule, const char *why,
                            int64_t now_ms, fs_error *err)
{
    const fs_entity *te = fs_schema_entity("task");
    fs_change *chg = NULL;
    fs_id id;
    fs_error ferr = {0};
    fs_value v;
    bool added = false;
    char title[201];
    fss_status rc;

    if (fs_id_new((uint64_t)now_ms, &id, &ferr) != FS_OK)
        return fss__fail(err, FSS_ERANDOM, "%s", ferr.text);
    if ((rc = writes_new(w, te, &id, &chg, err)) != FSS_OK)
        return rc;
    snprintf(title, sizeof title, "Follow up: %s", why);
    title[fs_utf8_cut(title, strlen(title), 200)] = '\0';
    v = fs_value_idv(cust);
    if ((rc = set_if_changed(s, chg, NULL, "customer_id", &v, &added, err)) != FSS_OK ||
        (rc = set_text_if(s, chg, NULL, "rep_id", owner, &added, err)) != FSS_OK ||
        (rc = set_int_if(s, chg, NULL, "due_at", now_ms, &added, err)) != FSS_OK ||
        (rc = set_text_if(s, chg, NULL, "kind", "follow_up", &added, err)) != FSS_OK ||
        (rc = set_int_if(s, chg, NULL, "done", 0, &added, err)) != FSS_OK ||
        (rc = set_text_if(s, chg, NULL, "title", title, &added, err)) != FSS_OK ||
        (rc = set_text_if(s, chg, NULL, "generated", fs_churn_rule_name(rule), &added,
                          err)) != FSS_OK)
        return rc;
    return FSS_OK;
}

static fss_status task_close(fss_server *s, writes *w, const fs_id *task, fs_error *err)
{
    fs_change *chg = NULL;
    bool added = false;
    fss_status rc = writes_new(w, fs_schema_entity("task"), task, &chg, err);
    if (rc == FSS_OK)
        rc = set_int_if(s, chg, NULL, "done", 1, &added, err);
    return rc;
}

static int grade_index(const char *g)
{
    return g && g[0] >= 'A' && g[0] <= 'E' && !g[1] ? g[0] - 'A' : -1;
}

/* ---- the passes ---------------------------------------------------------- */

typedef struct span {
    uint32_t first, n;
} span;

typedef struct run {
    fss_server *s;
    fss_conn *c;
    int64_t now;
    const fs_score_params *p;
    bundle b;
    writes w;
    fss_analyze_result *out;
    /* analyze: the currencies (in code order) with their cut points, and
     * the work table holding the buying customers' lines */
    fs_score_currency *cur;
    size_t ncur, capcur;
    fss_value_work *work;
    /* the grade movements per territory (code order; "" = none) */
    struct terr_moves {
        char *code;
        int64_t moves[6][5];
    } *tm;
    size_t ntm, captm;
    /* fss_report_value only: every line in memory (the report lists every
     * customer anyway), which customers it shows (NULL territories = all),
     * and their ids. */
    fs_score_line *lines;
    size_t nlines, caplines;
    span *spans;
    size_t nspans, capspans;
    bool report;
    const char *const *terr;
    size_t nterr;
    bool *shown;
    fs_id *ids;
    size_t capshown, capids, nshown_ids;
} run;

static bool in_territories(const run *r, const fs_row *cust)
{
    const char *t = cell_text(cust, "territory");
    if (!r->terr)
        return true;
    for (size_t i = 0; t && i < r->nterr; i++)
        if (strcmp(r->terr[i], t) == 0)
            return true;
    return false;
}

/* One customer's purchases summarised into lines, one per currency. */
static fss_status summarize(run *r, const fs_id *id, fs_score_line *out, size_t *k,
                            fs_error *err)
{
    *k = fs_score_summarize(r->b.pu, r->b.npu, r->now, r->p, 0, out, FS_SCORE_MAX_FIXED);
    if (*k > FS_SCORE_MAX_FIXED) {
        char ids[FS_ID_STRLEN + 1];
        fs_id_format(id, ids);
        return fss__fail(err, FSS_EINVAL,
                         "analyze: customer %s bought in more than %d currencies", ids,
                         FS_SCORE_MAX_FIXED);
    }
    return FSS_OK;
}

/* The currency's population, created (in code order) when missing. */
static fss_status currency_of(run *r, const char *code, fs_score_currency **out,
                              fs_error *err)
{
    size_t i = 0;
    while (i < r->ncur && strcmp(r->cur[i].currency, code) < 0)
        i++;
    if (i == r->ncur || strcmp(r->cur[i].currency, code) != 0) {
        GROW(r->cur, r->ncur, r->capcur, err, "currencies");
        memmove(&r->cur[i + 1], &r->cur[i], (r->ncur - i) * sizeof r->cur[0]);
        fs_score_currency_start(&r->cur[i], code, r->p);
        r->ncur++;
    }
    *out = &r->cur[i];
    return FSS_OK;
}

static const fs_score_currency *currency_find(const run *r, const char *code)
{
    for (size_t i = 0; i < r->ncur; i++)
        if (strcmp(r->cur[i].currency, code) == 0)
            return &r->cur[i];
    return NULL;
}

/* A movement from (0 = never graded, 1..5 = A..E) to (0..4) in the
 * customer's territory. */
static fss_status move_count(run *r, const char *territory, int from, int to, fs_error *err)
{
    const char *code = territory ? territory : "";
    size_t lo = 0, hi = r->ntm;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->tm[mid].code, code) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->ntm || strcmp(r->tm[lo].code, code) != 0) {
        char *dup = strdup(code);
        if (!dup)
            return fss__fail(err, FSS_ENOMEM, "analyze: territories");
        if (r->ntm == r->captm) {
            size_t ncap = r->captm ? r->captm * 2 : 16;
            void *p = realloc(r->tm, ncap * sizeof *r->tm);
            if (!p) {
                free(dup);
                return fss__fail(err, FSS_ENOMEM, "analyze: territories");
            }
            r->tm = p;
            r->captm = ncap;
        }
        memmove(&r->tm[lo + 1], &r->tm[lo], (r->ntm - lo) * sizeof r->tm[0]);
        memset(&r->tm[lo], 0, sizeof r->tm[lo]);
        r->tm[lo].code = dup;
        r->ntm++;
    }
    r->tm[lo].moves[from][to]++;
    return FSS_OK;
}

/* The run's movements per territory replace the previous run's, in one
 * short transaction (a grade staying is not a movement). */
static fss_status moves_save(run *r, fs_error *err)
{
    static const char *const from_names[6] = {"", "A", "B", "C", "D", "E"};
    fss_status rc = fss__begin_immediate(r->c, err);

    if (rc == FSS_OK)
        rc = fss__repo_moves_clear(r->c, r->now, err);
    for (size_t i = 0; rc == FSS_OK && i < r->ntm; i++)
        for (int f = 0; rc == FSS_OK && f < 6; f++)
            for (int t = 0; rc == FSS_OK && t < 5; t++) {
                if (!r->tm[i].moves[f][t] || f == t + 1)
                    continue;
                fss_value_move m = {r->tm[i].code, from_names[f], from_names[t + 1],
                                    r->tm[i].moves[f][t]};
                rc = fss__repo_moves_add(r->c, &m, err);
            }
    if (rc == FSS_OK)
        rc = fss__commit(r->c, err);
    if (rc != FSS_OK)
        fss__rollback(r->c);
    return rc;
}

/* Pass 1, one batch of customers in a read transaction: their lines into
 * the work table, each currency's buyers and revenue counted. */
static fss_status summarize_batch(run *r, const fs_id *after, const fs_id *upto,
                                  fs_error *err)
{
    stream cu, pu;
    fss_status rc;

    memset(&pu, 0, sizeof pu);
    if ((rc = stream_open_fields(r->c, "customer", after, upto, &cu, err)) != FSS_OK)
        return rc;
    if ((rc = stream_open_fields(r->c, "purchase", after, upto, &pu, err)) != FSS_OK)
        goto done;
    while (cu.has) {
        fs_score_line lines[FS_SCORE_MAX_FIXED];
        size_t k;
        if ((rc = take_purchases(&pu, &cu.row.id, &r->b, err)) != FSS_OK ||
            (rc = summarize(r, &cu.row.id, lines, &k, err)) != FSS_OK)
            goto done;
        for (size_t i = 0; i < k; i++) {
            fs_score_currency *c = NULL;
            if ((rc = currency_of(r, lines[i].currency, &c, err)) != FSS_OK)
                goto done;
            fs_score_currency_add(c, &lines[i]);
            if ((rc = fss__repo_work_add(r->work, &cu.row.id, &lines[i], err)) != FSS_OK)
                goto done;
        }
        if ((rc = stream_next(&cu, err)) != FSS_OK)
            goto done;
    }
    rc = fss__repo_work_flush(r->work, err);
done:
    stream_close(&cu);
    stream_close(&pu);
    return rc;
}

/* Runs fn over the customers in batches of cfg.analyze_batch, each inside
 * its own transaction (write: IMMEDIATE, else a read snapshot): short, so
 * a device's push waits for one batch at most, never for the whole run. */
typedef fss_status (*batch_fn)(run *r, const fs_id *after, const fs_id *upto,
                               fs_error *err);

static fss_status each_batch(run *r, bool write, batch_fn fn, fs_error *err)
{
    fs_id after, end;
    bool first = true, more = true;
    unsigned n = r->s->cfg.analyze_batch ? r->s->cfg.analyze_batch : 500;
    fss_status rc = FSS_OK;

    while (rc == FSS_OK && more) {
        rc = write ? fss__begin_immediate(r->c, err) : fss__begin_read(r->c, err);
        if (rc != FSS_OK)
            break;
        rc = fss__repo_value_batch_end(r->c, first ? NULL : &after, n, &end, &more, err);
        if (rc == FSS_OK)
            rc = fn(r, first ? NULL : &after, more ? &end : NULL, err);
        if (rc == FSS_OK)
            rc = fss__commit(r->c, err);
        if (rc != FSS_OK)
            fss__rollback(r->c);
        if (write)
            fss__yield_to_writers(r->s);
        after = end;
        first = false;
    }
    return rc;
}

/* Pass 2: each currency's cut points, read from the sorted work table
 * (medians, RFM cuts by position; the Pareto set by descending revenue). */
static fss_status cut_points(run *r, fs_error *err)
{
    /* pages of a batch's size (the tests' one-customer batches walk the
     * Pareto set line by line) */
    const size_t PAGE = r->s->cfg.analyze_batch ? r->s->cfg.analyze_batch : 500;
    fss_work_line *page = NULL;
    fss_status rc = FSS_OK;

    if (!(page = malloc(PAGE * sizeof *page)))
        return fss__fail(err, FSS_ENOMEM, "analyze: cut points");
    for (size_t i = 0; rc == FSS_OK && i < r->ncur; i++) {
        fs_score_currency *c = &r->cur[i];
        fs_score_cut cuts[FS_SCORE_MAX_CUTS];
        size_t k = fs_score_cuts(c, r->p, cuts), n = 0;
        bool taking = true;
        /* each key's positions in one forward read of its order */
        for (int key = 0; rc == FSS_OK && key < FS_SCORE_NKEYS; key++) {
            size_t pos[FS_SCORE_MAX_CUTS], m = 0;
            int64_t val[FS_SCORE_MAX_CUTS];
            for (size_t j = 0; j < k; j++)
                if ((int)cuts[j].key == key)
                    pos[m++] = cuts[j].pos;
            if (!m)
                continue;
            rc = fss__repo_work_values_at(r->work, c->currency, (fs_score_key)key, pos, val,
                                          m, err);
            for (size_t j = 0, v = 0; rc == FSS_OK && j < k; j++)
                if ((int)cuts[j].key == key)
                    *cuts[j].value = val[v++];
        }
        for (bool first = true; rc == FSS_OK && taking; first = false) {
            fss_work_line last = n ? page[n - 1] : (fss_work_line){0};
            rc = fss__repo_work_by_revenue(r->work, c->currency, first ? NULL : &last, page,
                                           PAGE, &n, err);
            for (size_t j = 0; rc == FSS_OK && taking && j < n; j++)
                taking = fs_score_core_take(c, r->p, page[j].revenue, &page[j].cust);
            if (n < PAGE)
                break;
        }
    }
    free(page);
    return rc;
}

/* A customer's lines graded against the cut points. A currency the first
 * pass did not see (bought in while the run went on) is graded alone. */
static fss_status grade_lines(run *r, const fs_id *id, fs_score_line *lines, size_t k,
                              fs_error *err)
{
    for (size_t i = 0; i < k; i++) {
        const fs_score_currency *c = currency_find(r, lines[i].currency);
        if (c) {
            fs_score_line_grade(c, r->p, id, &lines[i]);
            continue;
        }
        fs_error serr = {0};
        if (fs_score_grade(&lines[i], 1, r->p, NULL, 0, NULL, &serr) != FS_OK)
            return fss__fail(err, FSS_EINVAL, "analyze: %s", serr.text);
    }
    return FSS_OK;
}

/* A batch's collected writes, through the one save path. On PostgreSQL
 * the rows they change are loaded in chunks first (a round trip per chunk,
 * not per row). The customers go first, so their saves queue up together
 * there (a new task's save looks up its parent, which writes the queue).
 * On SQLite rows load one by one, cheaper than a compiled IN: nothing is
 * kept, so memory stays flat (a row cache fed by the cursors grew the
 * first run's peak with the customers, docs/BENCHMARKS.md). */
static fss_status batch_write(run *r, fs_error *err)
{
    fss_rowref *refs = NULL;
    fss_status rc = FSS_OK;

    if (!r->w.n)
        return FSS_OK;
    if (!(refs = malloc(r->w.n * sizeof *refs)))
        return fss__fail(err, FSS_ENOMEM, "analyze: writes");
    for (size_t i = 0; i < r->w.n; i++)
        refs[i] = (fss_rowref){r->w.chg[i].entity, r->w.chg[i].row};
    if (fss__repo_batched(r->c))
        rc = fss__repo_rows_prefetch(r->c, refs, r->w.n, false, err);
    free(refs);
    for (int pass = 0; pass < 2 && rc == FSS_OK; pass++)
        for (size_t i = 0; i < r->w.n && rc == FSS_OK; i++)
            if ((strcmp(r->w.chg[i].entity->name, "customer") == 0) == (pass == 0))
                rc = fss__server_write(r->s, r->c, &r->w.chg[i], err);
    return rc;
}

/* Pass 3, one batch in a write transaction: evaluate the churn rules,
 * collect the customer fields that differ and the generated tasks to open
 * or close, then write them (after the cursors are closed). The tasks are
 * read inside the same transaction as they are written: a second run
 * waits for the batch and sees them. */
static fss_status churn_batch(run *r, const fs_id *after, const fs_id *upto, fs_error *err)
{
    static const char *const kids[] = {"purchase", "visit", "task", "ticket"};
    stream cu, st[4];
    fss_status rc;
    fss_analyze_result *o = r->out;

    memset(st, 0, sizeof st);
    if ((rc = stream_open(r->c, "customer", after, upto, &cu, err)) != FSS_OK)
        return rc;
    for (int i = 0; i < 4; i++)
        if ((rc = i < 2 ? stream_open_fields(r->c, kids[i], after, upto, &st[i], err)
                        : stream_open(r->c, kids[i], after, upto, &st[i], err)) !=
            FSS_OK)
            goto done;
    while (cu.has) {
        const fs_id *id = &cu.row.id;
        fs_score_line lines[FS_SCORE_MAX_FIXED];
        size_t k;
        fs_score_value val;
        fs_score_churn ch;
        bool changed = false;

        if ((rc = take_purchases(&st[0], id, &r->b, err)) != FSS_OK ||
            (rc = take_visits(&st[1], id, &r->b, err)) != FSS_OK ||
            (rc = take_tasks(&st[2], id, &r->b, err)) != FSS_OK ||
            (rc = take_tickets(&st[3], id, &r->b, err)) != FSS_OK ||
            (rc = summarize(r, id, lines, &k, err)) != FSS_OK ||
            (rc = grade_lines(r, id, lines, k, err)) != FSS_OK)
            goto done;
        fs_score_value_of(lines, k, &val);
        fs_score_churn_in in = {
            .now_ms = r->now, .known_since_ms = known_since(&cu.row), .value = val,
            .purchases = r->b.pu, .npurchases = r->b.npu,
            .visits = r->b.vi, .nvisits = r->b.nvi,
            .tasks = r->b.ta, .ntasks = r->b.nta,
            .tickets = r->b.ti, .ntickets = r->b.nti};
        fs_score_churn_eval(&in, r->p, &ch);
        /* A lost customer is past warning: no risk, no tasks (its open
         * generated tasks close below). Its grade still shows its history. */
        if (cell_text(&cu.row, "lost_reason")) {
            memset(&ch, 0, sizeof ch);
            o->lost++;
        }

        int from = grade_index(cell_text(&cu.row, "grade"));
        o->moves[from + 1][val.grade - 'A']++;
        if ((rc = move_count(r, cell_text(&cu.row, "territory"), from + 1,
                             val.grade - 'A', err)) != FSS_OK)
            goto done;
        o->grades[val.grade - 'A']++;
        o->risk[ch.risk]++;
        o->customers++;
        if (k)
            o->buyers++;
        if ((rc = customer_write(r->s, &r->w, &cu.row, &val, &ch, &changed, err)) != FSS_OK)
            goto done;
        if (changed)
            o->changed++;

        /* Generated tasks: one open per rule while its cause lasts. */
        const char *owner = cell_text(&cu.row, "owner_rep");
        for (int rule = 0; rule < FS_CHURN_NRULES; rule++) {
            bool fires = (ch.rules >> rule) & 1u;
            if (fires && !r->b.has_open[rule]) {
                if (!owner) {
                    o->no_owner++;
                    continue;
                }
                rc = task_open(r->s, &r->w, id, owner, (fs_churn_rule)rule,
                               ch.rule_reason[rule], r->now, err);
                o->tasks_opened++;
            } else if (!fires && r->b.has_open[rule]) {
                rc = task_close(r->s, &r->w, &r->b.open_task[rule], err);
                o->tasks_closed++;
            }
            if (rc != FSS_OK)
                goto done;
        }
        if ((rc = stream_next(&cu, err)) != FSS_OK)
            goto done;
    }
done:
    stream_close(&cu);
    for (int i = 0; i < 4; i++)
        stream_close(&st[i]);
    if (rc == FSS_OK)
        rc = batch_write(r, err);
    writes_free(&r->w);
    return rc;
}

/*
 * analyze in memory that does not grow with the customers:
 *
 *   1. customers in batches (read transactions): each customer's purchases
 *      summarised into per-currency lines (fs_score_summarize), written to
 *      the work table, each currency's buyers and revenue counted;
 *   2. the cut points from sorted reads of the work table: medians and RFM
 *      cuts at positions fs_score_cuts names, the Pareto set walked by
 *      descending revenue in pages (fs_score_core_take);
 *   3. customers in batches again (write transactions): lines recomputed,
 *      graded against the cut points (fs_score_line_grade), the churn rules
 *      evaluated, and only what differs written.
 *
 * What is held: one batch's rows, the writes of one batch, a page of the
 * Pareto walk, the currencies' cut points and the grade movements per
 * territory (saved at the end for the managers' report).
 */
fss_status fss_analyze(fss_server *s, int64_t now_ms, fss_analyze_result *out,
                       fs_error *err)
{
    fss_analyze_result local;
    run r;
    fss_status rc;

    memset(&r, 0, sizeof r);
    if (!out)
        out = &local;
    memset(out, 0, sizeof *out);
    out->now_ms = now_ms;
    r.s = s;
    r.now = now_ms;
    r.p = &s->cfg.score;
    r.out = out;
    if (!(r.c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    {
        fs_error perr = {0};
        if (fs_score_params_check(r.p, &perr) != FS_OK) {
            rc = fss__fail(err, FSS_EINVAL, "analyze: %s", perr.text);
            goto done;
        }
    }
    if ((rc = fss__repo_work_open(r.c, &r.work, err)) != FSS_OK ||
        (rc = each_batch(&r, false, summarize_batch, err)) != FSS_OK ||
        (rc = fss__repo_work_index(r.work, err)) != FSS_OK ||
        (rc = cut_points(&r, err)) != FSS_OK)
        goto done;
    if ((rc = each_batch(&r, true, churn_batch, err)) != FSS_OK ||
        (rc = moves_save(&r, err)) != FSS_OK)
        goto done;
    out->ncur = r.ncur;
    for (size_t i = 0; i < r.ncur && i < sizeof out->cur / sizeof out->cur[0]; i++)
        out->cur[i] = r.cur[i];
done:
    fss__rollback(r.c);
    fss__repo_work_close(r.work);
    fss__conn_put(s, r.c);
    free(r.cur);
    for (size_t i = 0; i < r.ntm; i++)
        free(r.tm[i].code);
    free(r.tm);
    bundle_free(&r.b);
    writes_free(&r.w);
    return rc;
}

/* The value report's pass: every line in memory, graded by fs_score_grade. */
static fss_status report_summarize(run *r, fs_error *err)
{
    stream cu, pu;
    fss_status rc;

    memset(&pu, 0, sizeof pu);
    if ((rc = stream_open(r->c, "customer", NULL, NULL, &cu, err)) != FSS_OK)
        return rc;
    if ((rc = stream_open_fields(r->c, "purchase", NULL, NULL, &pu, err)) != FSS_OK)
        goto done;
    while (cu.has) {
        fs_score_line tmp[FS_SCORE_MAX_FIXED];
        size_t k;
        if ((rc = take_purchases(&pu, &cu.row.id, &r->b, err)) != FSS_OK ||
            (rc = summarize(r, &cu.row.id, tmp, &k, err)) != FSS_OK)
            goto done;
        for (size_t i = 0; i < k; i++) {
            tmp[i].customer = (uint32_t)r->nspans;
            GROW_OR_DONE(r->lines, r->nlines, r->caplines, err, "lines");
            r->lines[r->nlines++] = tmp[i];
        }
        GROW_OR_DONE(r->spans, r->nspans, r->capspans, err, "customers");
        r->spans[r->nspans++] = (span){(uint32_t)(r->nlines - k), (uint32_t)k};
        size_t n = r->nshown_ids;
        GROW_OR_DONE(r->shown, n, r->capshown, err, "report");
        GROW_OR_DONE(r->ids, n, r->capids, err, "report");
        r->shown[n] = in_territories(r, &cu.row);
        r->ids[n] = cu.row.id;
        r->nshown_ids++;
        if ((rc = stream_next(&cu, err)) != FSS_OK)
            goto done;
    }
done:
    stream_close(&cu);
    stream_close(&pu);
    return rc;
}

/* ---- lost customers and the value reports ------------------------------- */

fss_status fss_admin_customer_lost(fss_server *s, const fs_id *customer,
                                   const char *reason, fs_error *err)
{
    fss_conn *c = NULL;
    fs_change chg;
    fs_row row = {0};
    fs_error ferr = {0};
    bool found = false, added = false;
    fss_status rc;

    memset(&chg, 0, sizeof chg);
    if (!reason)
        return fss__fail(err, FSS_EINVAL, "a lost customer needs a reason (\"\" = won back)");
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_immediate(c, err)) != FSS_OK)
        goto done;
    if ((rc = fss__repo_row_load(c, fs_schema_entity("customer"), customer, &row, NULL,
                                 &found, err)) != FSS_OK)
        goto done;
    if (!found || row.deleted) {
        rc = fss__fail(err, FSS_ENOTFOUND, "no such customer");
        goto done;
    }
    if (fs_change_init(&chg, row.entity, customer, &fss_server_device, &ferr) != FS_OK) {
        rc = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        goto done;
    }
    if ((rc = set_text_if(s, &chg, &row, "lost_reason", reason, &added, err)) != FSS_OK)
        goto done;
    if (reason[0] && !cell_text(&row, "lost_reason"))
        rc = set_int_if(s, &chg, &row, "lost_at", (int64_t)fss_now_ms(), &added, err);
    else if (!reason[0]) {
        fs_value v = {0};
        rc = set_if_changed(s, &chg, &row, "lost_at", &v, &added, err);
    }
    if (rc == FSS_OK && added)
        rc = fss__server_write(s, c, &chg, err);
done:
    if (c) {
        if (rc == FSS_OK)
            rc = fss__commit(c, err);
        if (rc != FSS_OK)
            fss__rollback(c);
        fss__conn_put(s, c);
    }
    fs_change_free(&chg);
    fs_row_free(&row);
    return rc;
}

/* ---- the value report: A-E matrix and Pareto curve ---------------------- */

static int cmp_rev_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* One currency: its shown customers as matrix points, then the Pareto
 * curve over them (101 points: the revenue share of the top p% of them). */
static fss_status value_currency(const run *r, const fs_score_currency *cur, fss_buf *out,
                                 fs_error *err)
{
    int64_t *rev = NULL, total = 0;
    size_t n = 0, idx = 0;
    char id[FS_ID_STRLEN + 1];

    fss_buf_printf(out, "{\"currency\":\"%s\",\"unit_threshold\":%lld,"
                   "\"count_threshold\":%lld,\"customers\":[",
                   cur->currency, (long long)cur->unit_threshold,
                   (long long)cur->count_threshold);
    if (!(rev = malloc((r->nlines ? r->nlines : 1) * sizeof *rev)))
        return fss__fail(err, FSS_ENOMEM, "value report");
    for (size_t c = 0; c < r->nspans; c++) {
        for (uint32_t k = 0; k < r->spans[c].n; k++) {
            const fs_score_line *l = &r->lines[r->spans[c].first + k];
            if (!r->shown[c] || strcmp(l->currency, cur->currency) != 0)
                continue;
            fs_id_format(&r->ids[c], id);
            fss_buf_printf(out, "%s{\"id\":\"%s\",\"unit\":%lld,\"count\":%lld,"
                           "\"revenue\":%lld,\"grade\":\"%c\",\"core\":%s,"
                           "\"rfm\":\"%u%u%u\"}",
                           n ? "," : "", id, (long long)l->unit, (long long)l->count,
                           (long long)l->revenue, l->grade, l->core ? "true" : "false",
                           (unsigned)l->r, (unsigned)l->f, (unsigned)l->m);
            rev[n++] = l->revenue;
            total += l->revenue;
        }
    }
    qsort(rev, n, sizeof *rev, cmp_rev_desc);
    fss_buf_puts(out, "],\"pareto\":[");
    int64_t acc = 0;
    for (int p = 0; p <= 100; p++) {
        size_t k = (n * (size_t)p + 99) / 100;
        while (idx < k)
            acc += rev[idx++];
        double share = total > 0 ? 100.0 * (double)acc / (double)total : 0.0;
        fss_buf_printf(out, "%s[%d,%.1f]", p ? "," : "", p, share);
    }
    fss_buf_puts(out, "]}");
    free(rev);
    return FSS_OK;
}

fss_status fss_report_value(fss_server *s, const char *const *territories, size_t nterr,
                            int64_t now_ms, fss_buf *out, fs_error *err)
{
    fs_score_currency cur[8];
    size_t ncur = 0;
    run r;
    fss_status rc;
    fs_error serr = {0};

    memset(&r, 0, sizeof r);
    r.s = s;
    r.now = now_ms;
    r.p = &s->cfg.score;
    r.report = true;
    r.terr = territories;
    r.nterr = nterr;
    if (!(r.c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_read(r.c, err)) != FSS_OK)
        goto done;
    if ((rc = report_summarize(&r, err)) != FSS_OK)
        goto done;
    /* Grades and thresholds come from the whole store (the medians are the
     * organisation's); the restriction chooses which customers are shown. */
    if (fs_score_grade(r.lines, r.nlines, r.p, cur, 8, &ncur, &serr) != FS_OK) {
        rc = fss__fail(err, FSS_EINVAL, "value report: %s", serr.text);
        goto done;
    }
    size_t prospects = 0;
    for (size_t c = 0; c < r.nspans; c++)
        if (r.shown[c] && r.spans[c].n == 0)
            prospects++;
    fss_buf_printf(out, "{\"now_ms\":%lld,\"window_days\":%d,\"prospects\":%zu,"
                   "\"currencies\":[", (long long)now_ms, r.p->window_days, prospects);
    for (size_t i = 0; i < ncur && i < 8 && rc == FSS_OK; i++) {
        if (i)
            fss_buf_puts(out, ",");
        rc = value_currency(&r, &cur[i], out, err);
    }
    fss_buf_puts(out, "]}\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "value report");
done:
    fss__rollback(r.c);
    fss__conn_put(s, r.c);
    free(r.lines);
    free(r.spans);
    free(r.shown);
    free(r.ids);
    bundle_free(&r.b);
    return rc;
}
