/*
 * fss_report_csv.c - format=csv of the reports whose JSON is not a list
 * page: the customer-value reports (grades and Pareto per currency, at
 * risk, lost by reason, grade movements), tickets and satisfaction.
 *
 * Each report is built once, as JSON, by its own code, which applies the
 * territory restriction; this walks the rows of one of its tables (the
 * specs below) and writes the named keys of each row, one CSV line per
 * row, text cells through fss__csv_cell (the lists' writer: quoting,
 * formula guard). So a report's CSV cannot say more, or other, than its
 * JSON, and a report that changes shape fails its CSV test rather than
 * writing wrong columns silently.
 */
#include "fss_json.h"

#include <stdio.h>
#include <string.h>

/* One column: its JSON key in the row (or "^key": the key of the object
 * enclosing the row's array; "0", "1": an element of an array row) and
 * its CSV header. */
typedef struct csv_col {
    const char *key, *header;
} csv_col;

/*
 * One table of one report. outer: NULL = the rows are at `rows` of the
 * root (the root itself when rows is NULL); "" = the root is an array of
 * enclosing objects, else the root's key holding that array; each
 * enclosing object then holds its rows at `rows`.
 */
typedef struct csv_spec {
    const char *report, *table; /* table "" = the default (no table=) */
    const char *outer, *rows;
    csv_col cols[10];
} csv_spec;

static const csv_spec specs[] = {
    {"value", "", "currencies", "customers",
     {{"^currency", "currency"}, {"id", "customer_id"}, {"grade", "grade"},
      {"core", "core"}, {"rfm", "rfm"}, {"unit", "unit_price"}, {"count", "purchases"},
      {"revenue", "revenue"}}},
    {"value", "pareto", "currencies", "pareto",
     {{"^currency", "currency"}, {"0", "top_customers_pct"}, {"1", "revenue_share_pct"}}},
    {"at-risk", "", NULL, NULL,
     {{"id", "customer_id"}, {"name", "name"}, {"territory", "territory"},
      {"owner_rep", "owner_rep"}, {"grade", "grade"}, {"risk", "risk"},
      {"risk_reason", "risk_reason"}}},
    {"lost", "", "", "list",
     {{"^reason", "reason"}, {"id", "customer_id"}, {"name", "name"}}},
    {"movements", "", NULL, "territories",
     {{"territory", "territory"}, {"from", "from_grade"}, {"to", "to_grade"},
      {"customers", "customers"}}},
    {"tickets", "", NULL, NULL,
     {{"id", "ticket_id"}, {"customer_id", "customer_id"}, {"customer", "customer"},
      {"territory", "territory"}, {"subject", "subject"}, {"kind", "kind"},
      {"priority", "priority"}, {"status", "status"}, {"opened_at", "opened_at"},
      {"age_days", "age_days"}}},
    {"satisfaction", "", NULL, "by_rep",
     {{"rep", "rep"}, {"surveys", "surveys"}, {"sum", "sum"}, {"average", "average"}}},
    {"satisfaction", "territory", NULL, "by_territory",
     {{"territory", "territory"}, {"surveys", "surveys"}, {"sum", "sum"},
      {"average", "average"}}},
    {"satisfaction", "month", NULL, "by_month",
     {{"month", "month"}, {"surveys", "surveys"}, {"sum", "sum"}, {"average", "average"}}},
};

/* One cell: text escaped as in the lists, numbers and booleans as JSON
 * writes them, null / absent / nested values empty. */
static void cell(fss_buf *b, const fsj *v, bool first)
{
    char num[64];

    if (!v || v->kind == FSJ_NULL || v->kind == FSJ_ARR || v->kind == FSJ_OBJ) {
        fss__csv_cell(b, NULL, first);
        return;
    }
    if (v->kind == FSJ_STR) {
        fss__csv_cell(b, v->str, first);
        return;
    }
    if (v->kind == FSJ_BOOL)
        snprintf(num, sizeof num, "%s", v->b ? "true" : "false");
    else if (v->is_int)
        snprintf(num, sizeof num, "%lld", (long long)v->i);
    else
        snprintf(num, sizeof num, "%.15g", v->num);
    /* Not through fss__csv_cell: its formula guard would quote "-5". */
    fss_buf_printf(b, "%s%s", first ? "" : ",", num);
}

static const fsj *col_value(const fsj *row, const fsj *outer, const char *key)
{
    if (key[0] == '^')
        return outer ? fsj_get(outer, key + 1) : NULL;
    if (row->kind == FSJ_ARR) {
        size_t i = (size_t)(key[0] - '0');
        return i < row->n ? &row->items[i] : NULL;
    }
    return row->kind == FSJ_OBJ ? fsj_get(row, key) : NULL;
}

static void rows_csv(const csv_spec *sp, const fsj *rows, const fsj *outer, fss_buf *out)
{
    if (!rows || rows->kind != FSJ_ARR)
        return;
    for (size_t r = 0; r < rows->n; r++) {
        for (size_t k = 0; k < sizeof sp->cols / sizeof sp->cols[0] && sp->cols[k].key; k++)
            cell(out, col_value(&rows->items[r], outer, sp->cols[k].key), k == 0);
        fss_buf_puts(out, "\r\n");
    }
}

fss_status fss__report_csv(const char *report, const char *table, const fss_buf *json,
                           fss_buf *out, fs_error *err)
{
    const csv_spec *sp = NULL;
    fsj doc;
    fss_status rc;
    size_t ntables = 0;
    char tables[160] = "";

    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        if (strcmp(specs[i].report, report) != 0)
            continue;
        if (specs[i].table[0])
            snprintf(tables + strlen(tables), sizeof tables - strlen(tables), "%s%s",
                     ntables++ ? ", " : "", specs[i].table);
        if (strcmp(specs[i].table, table ? table : "") == 0)
            sp = &specs[i];
    }
    if (!sp)
        return ntables ? fss__fail(err, FSS_EINVAL, "table must be one of: %s (or none)",
                                   tables)
                       : fss__fail(err, FSS_EINVAL, "the %s report has no tables "
                                   "(no table= parameter)", report);
    memset(&doc, 0, sizeof doc);
    if ((rc = fsj_parse(json->data ? json->data : "null", json->data ? json->len : 4, &doc,
                        err)) != FSS_OK)
        return rc;
    for (size_t k = 0; k < sizeof sp->cols / sizeof sp->cols[0] && sp->cols[k].key; k++)
        fss_buf_printf(out, "%s%s", k ? "," : "", sp->cols[k].header);
    fss_buf_puts(out, "\r\n");
    if (!sp->outer) {
        rows_csv(sp, sp->rows ? fsj_get(&doc, sp->rows) : &doc, NULL, out);
    } else {
        const fsj *o = sp->outer[0] ? fsj_get(&doc, sp->outer) : &doc;
        for (size_t i = 0; o && o->kind == FSJ_ARR && i < o->n; i++)
            rows_csv(sp, fsj_get(&o->items[i], sp->rows), &o->items[i], out);
    }
    fsj_free(&doc);
    if (out->oom)
        return fss__fail(err, FSS_ENOMEM, "%s report as CSV", report);
    return FSS_OK;
}
