/*
 * fss_value_report.c - the back office's view of customer value and churn:
 * analyze's report (JSON and sentences, with the parameters it ran with),
 * the customers at risk with their reasons, and the lost customers grouped
 * by reason. Rows come from the repository (fss__repo_customers_where, with
 * a territory restriction); grouping and JSON are done here in C. The A-E
 * matrix and Pareto curve need analyze's summaries and live in fss_value.c.
 */
#include "fss_json.h"

#include <stdlib.h>
#include <string.h>

static const char *cell_text(const fs_row *row, const char *name)
{
    int i = fs_entity_field_index(row->entity, name);
    return i >= 0 && row->cells[i].v.kind == FS_VAL_TEXT ? row->cells[i].v.u.text.p : NULL;
}

/* ---- the report ---------------------------------------------------------- */

static const char *const grade_names[] = {"A", "B", "C", "D", "E"};

/* Share in percent with one decimal, as text ("17.3"). */
static void pct(int64_t part, int64_t whole, char out[48])
{
    int64_t tenths = whole > 0 ? (part * 1000 + whole / 2) / whole : 0;
    snprintf(out, 48, "%lld.%lld", (long long)(tenths / 10), (long long)(tenths % 10));
}

void fss_analyze_json(const fss_server *s, const fss_analyze_result *r, fss_buf *out)
{
    const fs_score_params *p = &s->cfg.score;
    char share[48];

    fss_buf_printf(out, "{\"now_ms\":%lld,\"customers\":%lld,\"buyers\":%lld,"
                   "\"changed\":%lld,\"tasks_opened\":%lld,\"tasks_closed\":%lld,"
                   "\"no_owner\":%lld,",
                   (long long)r->now_ms, (long long)r->customers, (long long)r->buyers,
                   (long long)r->changed, (long long)r->tasks_opened,
                   (long long)r->tasks_closed, (long long)r->no_owner);
    fss_buf_puts(out, "\"grades\":{");
    for (int g = 0; g < 5; g++)
        fss_buf_printf(out, "%s\"%s\":%lld", g ? "," : "", grade_names[g],
                       (long long)r->grades[g]);
    fss_buf_printf(out, "},\"risk\":{\"none\":%lld,\"watch\":%lld,\"at_risk\":%lld},",
                   (long long)r->risk[0], (long long)r->risk[1], (long long)r->risk[2]);
    fss_buf_puts(out, "\"movements\":[");
    bool first = true;
    for (int f = 0; f < 6; f++)
        for (int t = 0; t < 5; t++) {
            if (!r->moves[f][t] || f == t + 1)
                continue;
            fss_buf_printf(out, "%s{\"from\":%s%s%s,\"to\":\"%s\",\"customers\":%lld}",
                           first ? "" : ",", f ? "\"" : "", f ? grade_names[f - 1] : "null",
                           f ? "\"" : "", grade_names[t], (long long)r->moves[f][t]);
            first = false;
        }
    fss_buf_puts(out, "],\"currencies\":[");
    for (size_t i = 0; i < r->ncur && i < 8; i++) {
        const fs_score_currency *c = &r->cur[i];
        pct((int64_t)c->core, (int64_t)c->buyers, share);
        fss_buf_printf(out,
                       "%s{\"currency\":\"%s\",\"buyers\":%zu,\"core\":%zu,"
                       "\"core_share_pct\":%s,\"revenue\":%lld,\"core_revenue\":%lld,"
                       "\"unit_threshold\":%lld,\"unit_fixed\":%s,"
                       "\"count_threshold\":%lld,\"count_fixed\":%s}",
                       i ? "," : "", c->currency, c->buyers, c->core, share,
                       (long long)c->revenue, (long long)c->core_revenue,
                       (long long)c->unit_threshold, c->unit_fixed ? "true" : "false",
                       (long long)c->count_threshold, c->count_fixed ? "true" : "false");
    }
    fss_buf_printf(out,
                   "],\"params\":{\"window_days\":%d,\"count_threshold\":%lld,"
                   "\"core_share_pct\":%d,\"rfm_bins\":%d,\"quiet_days_valued\":%d,"
                   "\"quiet_days_other\":%d,\"complaint_window_days\":%d,"
                   "\"complaint_count\":%d,\"overdue_pct\":%d,\"unit_thresholds\":{",
                   p->window_days, (long long)p->count_threshold, p->core_share_pct,
                   p->rfm_bins, p->quiet_days_valued, p->quiet_days_other,
                   p->complaint_window_days, p->complaint_count, p->overdue_pct);
    for (size_t i = 0; i < p->n_unit_fixed && i < FS_SCORE_MAX_FIXED; i++)
        fss_buf_printf(out, "%s\"%s\":%lld", i ? "," : "", p->unit_fixed[i].currency,
                       (long long)p->unit_fixed[i].minor);
    fss_buf_puts(out, "}}}\n");
}

void fss_analyze_text(const fss_server *s, const fss_analyze_result *r, fss_buf *out)
{
    const fs_score_params *p = &s->cfg.score;
    char share[48], rev[48], money[64];

    fss_buf_printf(out, "%lld customers, %lld bought in the last %d days; "
                   "%lld row(s) changed\n",
                   (long long)r->customers, (long long)r->buyers, p->window_days,
                   (long long)r->changed);
    fss_buf_puts(out, "grades:");
    for (int g = 0; g < 5; g++)
        fss_buf_printf(out, " %s %lld", grade_names[g], (long long)r->grades[g]);
    fss_buf_puts(out, "\n");
    for (size_t i = 0; i < r->ncur && i < 8; i++) {
        const fs_score_currency *c = &r->cur[i];
        pct((int64_t)c->core, (int64_t)c->buyers, share);
        pct(c->core_revenue, c->revenue, rev);
        fs_money_format(c->unit_threshold, c->currency, FS_MONEY_CODE, money, sizeof money);
        fss_buf_printf(out,
                       "%s: %s%% of buying customers (%zu of %zu) bring %s%% of revenue "
                       "(target %d%%); high unit >= %s (%s), high count >= %lld (%s)\n",
                       c->currency, share, c->core, c->buyers, rev, p->core_share_pct, money,
                       c->unit_fixed ? "fixed" : "median", (long long)c->count_threshold,
                       c->count_fixed ? "fixed" : "median");
    }
    fss_buf_puts(out, "grade movements since the previous run:");
    bool any = false;
    for (int f = 0; f < 6; f++)
        for (int t = 0; t < 5; t++) {
            if (!r->moves[f][t] || f == t + 1)
                continue;
            fss_buf_printf(out, " %s->%s %lld", f ? grade_names[f - 1] : "new",
                           grade_names[t], (long long)r->moves[f][t]);
            any = true;
        }
    fss_buf_puts(out, any ? "\n" : " none\n");
    fss_buf_printf(out, "risk: at_risk %lld, watch %lld, none %lld; follow-up tasks "
                   "opened %lld, closed %lld",
                   (long long)r->risk[2], (long long)r->risk[1], (long long)r->risk[0],
                   (long long)r->tasks_opened, (long long)r->tasks_closed);
    if (r->no_owner)
        fss_buf_printf(out, "; %lld risky customer(s) have no owner rep (no task)",
                       (long long)r->no_owner);
    fss_buf_printf(out, "\nparameters: window %d days, core share %d%%, RFM bins %d, "
                   "quiet %d/%d days, %d complaints in %d days, overdue at %d%% of the "
                   "interval\n",
                   p->window_days, p->core_share_pct, p->rfm_bins, p->quiet_days_valued,
                   p->quiet_days_other, p->complaint_count, p->complaint_window_days,
                   p->overdue_pct);
}

typedef struct report_ctx {
    fss_buf *out;
    size_t n;
    /* lost: (reason, id, name) collected, grouped after sorting */
    struct lost_item { char *reason, *name; char id[FS_ID_STRLEN + 1]; } *items;
    size_t nitems, cap;
} report_ctx;

static void json_field(fss_buf *out, const char *key, const char *val, bool comma)
{
    fss_buf_printf(out, "%s\"%s\":", comma ? "," : "", key);
    if (val)
        fss_json_str(out, val, strlen(val));
    else
        fss_buf_puts(out, "null");
}

static fss_status at_risk_row(const fs_row *row, void *arg, fs_error *err)
{
    report_ctx *x = arg;
    const char *risk = cell_text(row, "risk");
    char id[FS_ID_STRLEN + 1];

    (void)err;
    if (!risk || strcmp(risk, "none") == 0)
        return FSS_OK;
    fs_id_format(&row->id, id);
    fss_buf_printf(x->out, "%s{\"id\":\"%s\"", x->n++ ? ",\n" : "", id);
    json_field(x->out, "name", cell_text(row, "name"), true);
    json_field(x->out, "owner_rep", cell_text(row, "owner_rep"), true);
    json_field(x->out, "territory", cell_text(row, "territory"), true);
    json_field(x->out, "grade", cell_text(row, "grade"), true);
    json_field(x->out, "risk", risk, true);
    json_field(x->out, "risk_reason", cell_text(row, "risk_reason"), true);
    fss_buf_puts(x->out, "}");
    return FSS_OK;
}

static fss_status report_run(fss_server *s, const char *field,
                             const char *const *territories, size_t nterr,
                             fss_row_fn fn, report_ctx *x, fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_read(c, err)) == FSS_OK) {
        rc = fss__repo_customers_where(c, field, territories, nterr, fn, x, err);
        fss__rollback(c);
    }
    fss__conn_put(s, c);
    return rc;
}

fss_status fss_report_at_risk(fss_server *s, const char *const *territories,
                              size_t nterr, fss_buf *out, fs_error *err)
{
    report_ctx x = {.out = out};
    fss_status rc;

    fss_buf_puts(out, "[");
    rc = report_run(s, "risk", territories, nterr, at_risk_row, &x, err);
    fss_buf_puts(out, "]\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "at-risk report");
    return rc;
}

static fss_status lost_row(const fs_row *row, void *arg, fs_error *err)
{
    report_ctx *x = arg;
    const char *reason = cell_text(row, "lost_reason");
    const char *name = cell_text(row, "name");

    if (x->nitems == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 32;
        void *p = realloc(x->items, ncap * sizeof *x->items);
        if (!p)
            return fss__fail(err, FSS_ENOMEM, "lost report");
        x->items = p;
        x->cap = ncap;
    }
    struct lost_item *it = &x->items[x->nitems];
    it->reason = strdup(reason ? reason : "");
    it->name = strdup(name ? name : "");
    if (!it->reason || !it->name) {
        free(it->reason);
        free(it->name);
        return fss__fail(err, FSS_ENOMEM, "lost report");
    }
    fs_id_format(&row->id, it->id);
    x->nitems++;
    return FSS_OK;
}

static int lost_cmp(const void *a, const void *b)
{
    const struct lost_item *x = a, *y = b;
    int c = strcmp(x->reason, y->reason);
    return c ? c : strcmp(x->id, y->id);
}

fss_status fss_report_lost(fss_server *s, const char *const *territories,
                           size_t nterr, fss_buf *out, fs_error *err)
{
    report_ctx x = {.out = out};
    fss_status rc = report_run(s, "lost_reason", territories, nterr, lost_row, &x, err);

    if (rc == FSS_OK) {
        /* Grouped by reason in C (no aggregation in SQL), reasons in order. */
        if (x.nitems)
            qsort(x.items, x.nitems, sizeof *x.items, lost_cmp);
        fss_buf_puts(out, "[");
        for (size_t i = 0; i < x.nitems;) {
            size_t j = i;
            while (j < x.nitems && strcmp(x.items[j].reason, x.items[i].reason) == 0)
                j++;
            fss_buf_puts(out, i ? ",\n{" : "{");
            json_field(out, "reason", x.items[i].reason, false);
            fss_buf_printf(out, ",\"customers\":%zu,\"list\":[", j - i);
            for (size_t k = i; k < j; k++) {
                fss_buf_printf(out, "%s{\"id\":\"%s\"", k > i ? "," : "", x.items[k].id);
                json_field(out, "name", x.items[k].name, true);
                fss_buf_puts(out, "}");
            }
            fss_buf_puts(out, "]}");
            i = j;
        }
        fss_buf_puts(out, "]\n");
        if (out->oom)
            rc = fss__fail(err, FSS_ENOMEM, "lost report");
    }
    for (size_t i = 0; i < x.nitems; i++) {
        free(x.items[i].reason);
        free(x.items[i].name);
    }
    free(x.items);
    return rc;
}


/* ---- grade movements, within territories -------------------------------- */

typedef struct moves_ctx {
    int64_t run_at;
    int64_t moves[6][5]; /* summed over the territories shown */
    fss_buf terr;        /* the per-territory rows, as JSON */
    size_t nterr;
} moves_ctx;

static int grade_slot(const char *g)
{
    return g && g[0] >= 'A' && g[0] <= 'E' && !g[1] ? g[0] - 'A' + 1 : 0;
}

static void json_grade(fss_buf *out, const char *key, const char *g, bool comma)
{
    json_field(out, key, g && g[0] ? g : NULL, comma);
}

static fss_status move_row(const fss_value_move *m, void *arg, fs_error *err)
{
    moves_ctx *x = arg;
    int f = grade_slot(m->from), t = grade_slot(m->to);

    (void)err;
    if (t < 1)
        return FSS_OK; /* not a grade this build knows */
    x->moves[f][t - 1] += m->customers;
    fss_buf_printf(&x->terr, "%s{", x->nterr++ ? "," : "");
    json_field(&x->terr, "territory", m->territory[0] ? m->territory : NULL, false);
    json_grade(&x->terr, "from", m->from, true);
    json_grade(&x->terr, "to", m->to, true);
    fss_buf_printf(&x->terr, ",\"customers\":%lld}", (long long)m->customers);
    return FSS_OK;
}

fss_status fss_report_movements(fss_server *s, const char *const *territories,
                                size_t nterr, fss_buf *out, fs_error *err)
{
    moves_ctx x;
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;
    bool first = true;

    memset(&x, 0, sizeof x);
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    rc = fss__repo_moves_each(c, territories, nterr, &x.run_at, move_row, &x, err);
    fss__conn_put(s, c);
    if (rc == FSS_OK) {
        if (x.run_at)
            fss_buf_printf(out, "{\"run_at\":%lld,\"movements\":[", (long long)x.run_at);
        else
            fss_buf_puts(out, "{\"run_at\":null,\"movements\":[");
        for (int f = 0; f < 6; f++)
            for (int t = 0; t < 5; t++) {
                if (!x.moves[f][t])
                    continue;
                fss_buf_puts(out, first ? "{" : ",{");
                json_grade(out, "from", f ? grade_names[f - 1] : NULL, false);
                json_grade(out, "to", grade_names[t], true);
                fss_buf_printf(out, ",\"customers\":%lld}", (long long)x.moves[f][t]);
                first = false;
            }
        fss_buf_puts(out, "],\"territories\":[");
        if (x.terr.len)
            fss_buf_puts(out, x.terr.data);
        fss_buf_puts(out, "]}\n");
        if (out->oom || x.terr.oom)
            rc = fss__fail(err, FSS_ENOMEM, "grade movements");
    }
    fss_buf_free(&x.terr);
    return rc;
}
