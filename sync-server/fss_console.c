/*
 * fss_console.c - the console's list endpoints (docs/ADMIN-API.md, "Lists
 * for the console"): rows from the repository under the actor's territory
 * restriction, written as JSON or as CSV in C (never in SQL).
 *
 * CSV follows RFC 4180 (CRLF lines, a field holding a comma, a quote, CR
 * or LF is quoted, a quote doubled) and is safe to open in a spreadsheet:
 * a cell that begins with = + - @, a tab or a CR is prefixed with a single
 * quote, so a customer named "=HYPERLINK(...)" is shown as text, never run
 * as a formula (the OWASP "CSV injection" advice). Numbers we write
 * ourselves (coordinates) are not prefixed.
 */
#include "fss_int.h"
#include "fs_geo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fss__csv_cell(fss_buf *b, const char *v, bool first)
{
    bool quote;

    if (!first)
        fss_buf_puts(b, ",");
    if (!v)
        return;
    quote = strpbrk(v, ",\"\r\n") != NULL || strchr("=+-@\t\r", v[0]) != NULL;
    if (!quote) {
        fss_buf_puts(b, v);
        return;
    }
    fss_buf_puts(b, "\"");
    if (v[0] && strchr("=+-@\t\r", v[0]))
        fss_buf_puts(b, "'");
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            fss_buf_puts(b, "\"\"");
        else
            fss_buf_add(b, p, 1);
    }
    fss_buf_puts(b, "\"");
}

/* ---- one page of a list ---- */

/* A list's total is counted exactly up to this many matches; beyond, the
 * answer says "total_capped":true with total = the cap (counting every
 * one of 500,000 visits to show 50 is what made the lists slow; 20 pages
 * of 50 are counted exactly). */
#define LIST_COUNT_CAP 1000

/* The checks every list makes first (in this order, before its own). */
static fss_status page_check(int64_t limit, int64_t offset, fs_error *err)
{
    if (limit < 1 || limit > 1000)
        return fss__fail(err, FSS_EINVAL, "limit must be 1..1000");
    if (offset < 0)
        return fss__fail(err, FSS_EINVAL, "offset must be 0 or more");
    return FSS_OK;
}

/* The repository's query of a page: rows through the list's writer,
 * *total the count (up to count_cap when that is not 0). */
typedef fss_status (*page_query_fn)(fss_conn *c, void *ctx, int64_t count_cap,
                                    int64_t *total, fs_error *err);

typedef struct page_spec {
    const char *what, *csv_header;
    bool csv;
    int64_t limit, offset;
    const char *next_cursor; /* filled by the query ("" or NULL: none) */
} page_spec;

/* Writes one page: CSV (the header line, then the rows) or
 * {"items":[...],"total":N,"limit":L,"offset":O}, the count and the rows
 * read in one read transaction so they agree. */
static fss_status run_page(fss_server *s, const page_spec *p, page_query_fn query,
                           void *ctx, fss_buf *out, fs_error *err)
{
    int64_t total = 0;
    fss_conn *c;
    fss_status st;

    if ((st = page_check(p->limit, p->offset, err)) != FSS_OK)
        return st;
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, p->csv ? p->csv_header : "{\"items\":[");
    if ((st = fss__begin_read(c, err)) == FSS_OK) {
        st = query(c, ctx, LIST_COUNT_CAP + 1, &total, err);
        (void)fss__commit(c, NULL);
    }
    fss__conn_put(s, c);
    if (!p->csv)
        fss_buf_printf(out, "],\"total\":%lld,\"limit\":%lld,\"offset\":%lld%s%s%s%s}\n",
                       (long long)(total > LIST_COUNT_CAP ? LIST_COUNT_CAP : total),
                       (long long)p->limit, (long long)p->offset,
                       total > LIST_COUNT_CAP ? ",\"total_capped\":true" : "",
                       p->next_cursor && p->next_cursor[0] ? ",\"next_cursor\":\"" : "",
                       p->next_cursor && p->next_cursor[0] ? p->next_cursor : "",
                       p->next_cursor && p->next_cursor[0] ? "\"" : "");
    if (st == FSS_OK && out->oom)
        st = fss__fail(err, FSS_ENOMEM, "%s", p->what);
    return st;
}

typedef struct customers_out {
    fss_buf *out;
    bool csv, any;
} customers_out;

static void real_or_null(fss_buf *b, bool has, double v, bool csv)
{
    char r[FS_REAL_STRLEN + 1];

    if (!has) {
        if (!csv)
            fss_buf_puts(b, "null");
        return;
    }
    fs_real_format(v, r);
    fss_buf_puts(b, r);
}

static void customer_row(const fss_customer_item *c, void *arg)
{
    customers_out *x = arg;
    fss_buf *b = x->out;
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&c->id, id);
    if (x->csv) {
        fss__csv_cell(b, id, true);
        fss__csv_cell(b, c->name, false);
        fss__csv_cell(b, c->address, false);
        fss__csv_cell(b, c->phone, false);
        fss__csv_cell(b, c->segment, false);
        fss__csv_cell(b, c->territory, false);
        fss__csv_cell(b, c->owner, false);
        fss__csv_cell(b, c->owner_name, false);
        fss_buf_puts(b, ",");
        real_or_null(b, c->has_lat, c->lat, true);
        fss_buf_puts(b, ",");
        real_or_null(b, c->has_lon, c->lon, true);
        fss_buf_puts(b, "\r\n");
        return;
    }
    fss_buf_puts(b, x->any ? ",{\"id\":" : "{\"id\":");
    x->any = true;
    fss_json_cstr(b, id);
    fss_buf_puts(b, ",\"name\":");
    fss_json_cstr(b, c->name);
    fss_buf_puts(b, ",\"address\":");
    fss_json_cstr(b, c->address);
    fss_buf_puts(b, ",\"phone\":");
    fss_json_cstr(b, c->phone);
    fss_buf_puts(b, ",\"segment\":");
    fss_json_cstr(b, c->segment);
    fss_buf_puts(b, ",\"territory\":");
    fss_json_cstr(b, c->territory);
    fss_buf_puts(b, ",\"owner_rep\":");
    fss_json_cstr(b, c->owner);
    fss_buf_puts(b, ",\"owner_name\":");
    fss_json_cstr(b, c->owner_name);
    fss_buf_puts(b, ",\"lat\":");
    real_or_null(b, c->has_lat, c->lat, false);
    fss_buf_puts(b, ",\"lon\":");
    real_or_null(b, c->has_lon, c->lon, false);
    fss_buf_puts(b, "}");
}

typedef struct customers_q {
    customers_out x;
    const fss_customer_query *q;
    const char *const *terr;
} customers_q;

static fss_status customers_query(fss_conn *c, void *ctx, int64_t cap, int64_t *total,
                                  fs_error *err)
{
    customers_q *y = ctx;
    fss_customer_query q = *y->q;

    q.count_cap = cap;
    return fss__repo_customers_list(c, &q, y->terr, total, customer_row, &y->x, err);
}

fss_status fss__admin_customers(fss_server *s, const fss_customer_query *q,
                                const char *const *terr, bool csv, fss_buf *out,
                                fs_error *err)
{
    customers_q y = {.x = {.out = out, .csv = csv}, .q = q, .terr = terr};
    const page_spec p = {"customers",
                         "id,name,address,phone,segment,territory,owner_rep,owner_name,"
                         "lat,lon\r\n",
                         csv, q->limit, q->offset, NULL};

    return run_page(s, &p, customers_query, &y, out, err);
}

#define DAY_MS INT64_C(86400000)

fss_status fss__admin_today(fss_server *s, const char *const *terr, int64_t now_ms,
                            fss_buf *out, fs_error *err)
{
    int64_t day = fss__calendar_day(&s->calendar, now_ms);
    int64_t start = fss__calendar_start(&s->calendar, day),
            end = fss__calendar_start(&s->calendar, day + 1);
    fss_today t;
    fss_conn *c;
    fss_status st;

    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((st = fss__begin_read(c, err)) == FSS_OK) {
        st = fss__repo_today(c, terr, start, end, now_ms - 3 * DAY_MS, &t, err);
        (void)fss__commit(c, NULL);
    }
    fss__conn_put(s, c);
    if (st != FSS_OK)
        return st;
    fss_buf_printf(out, "{\"day_start\":%lld,\"day_end\":%lld,\"tz\":", (long long)start,
                   (long long)end);
    fss_json_cstr(out, s->calendar.tz);
    fss_buf_printf(out, ",\"visits_done\":%lld,\"visits_planned\":%lld,"
                        "\"devices_synced\":%lld,\"devices_silent\":%lld,"
                        "\"open_conflicts\":%lld,\"rejected_waiting\":%lld}\n",
                   (long long)t.visits_done, (long long)t.visits_planned,
                   (long long)t.devices_synced, (long long)t.devices_silent,
                   (long long)t.open_conflicts, (long long)t.rejected_waiting);
    return out->oom ? fss__fail(err, FSS_ENOMEM, "today") : FSS_OK;
}

typedef struct visits_out {
    fss_buf *out;
    bool csv, any;
    int64_t rows;
    /* "<time>.<id>" of the last row written, when it has a time: the
     * page's next_cursor once the page is full */
    char last[24 + FS_ID_STRLEN];
} visits_out;

static void int_or_null(fss_buf *b, bool has, int64_t v, bool csv)
{
    if (has)
        fss_buf_printf(b, "%lld", (long long)v);
    else if (!csv)
        fss_buf_puts(b, "null");
}

static void visit_row(const fss_visit_row *v, void *arg)
{
    visits_out *x = arg;
    fss_buf *b = x->out;
    char id[FS_ID_STRLEN + 1], cust[FS_ID_STRLEN + 1];
    struct { const char *key, *val; } texts[] = {
        {"customer_name", v->customer_name}, {"territory", v->territory},
        {"rep_id", v->rep}, {"rep_name", v->rep_name}, {"status", v->status},
        {"outcome", v->outcome}, {"verification", v->verification},
        {"time_check", v->time_check}};
    struct { const char *key; bool has; int64_t val; } times[] = {
        {"planned_at", v->has_planned_at, v->planned_at},
        {"checkin_at", v->has_checkin_at, v->checkin_at},
        {"checkout_at", v->has_checkout_at, v->checkout_at}};
    struct { const char *key; bool has; double val; } reals[] = {
        {"checkin_lat", v->has_checkin, v->checkin_lat},
        {"checkin_lon", v->has_checkin, v->checkin_lon},
        {"customer_lat", v->has_customer_pos, v->lat},
        {"customer_lon", v->has_customer_pos, v->lon},
        /* The geofence rule's own distance (fs_geo.h), so the page shows
         * the number the verification was decided on. */
        {"distance_m", v->has_checkin && v->has_customer_pos,
         fs_geo_distance_m(v->checkin_lat, v->checkin_lon, v->lat, v->lon)}};

    fs_id_format(&v->id, id);
    fs_id_format(&v->customer, cust);
    x->rows++;
    x->last[0] = '\0';
    /* the list's time, COALESCE(checkin_at, checkout_at, planned_at) */
    for (size_t i = 0; i < 3 && !x->last[0]; i++) {
        size_t k = i == 0 ? 1 : i == 1 ? 2 : 0;
        if (times[k].has)
            snprintf(x->last, sizeof x->last, "%lld.%s", (long long)times[k].val, id);
    }
    if (x->csv) {
        fss__csv_cell(b, id, true);
        fss__csv_cell(b, cust, false);
    } else {
        fss_buf_puts(b, x->any ? ",{\"id\":" : "{\"id\":");
        x->any = true;
        fss_json_cstr(b, id);
        fss_buf_puts(b, ",\"customer_id\":");
        fss_json_cstr(b, cust);
    }
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (x->csv) {
            fss__csv_cell(b, texts[i].val, false);
            continue;
        }
        fss_buf_printf(b, ",\"%s\":", texts[i].key);
        fss_json_cstr(b, texts[i].val);
    }
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        fss_buf_puts(b, ",");
        if (!x->csv)
            fss_buf_printf(b, "\"%s\":", times[i].key);
        int_or_null(b, times[i].has, times[i].val, x->csv);
    }
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        fss_buf_puts(b, ",");
        if (!x->csv)
            fss_buf_printf(b, "\"%s\":", reals[i].key);
        real_or_null(b, reals[i].has, reals[i].val, x->csv);
    }
    fss_buf_puts(b, x->csv ? "\r\n" : "}");
}

typedef struct visits_q {
    visits_out x;
    fss_visit_query q;
    const char *const *terr;
    char *next; /* the page's next_cursor (sizeof x.last) */
} visits_q;

static fss_status visits_query(fss_conn *c, void *ctx, int64_t cap, int64_t *total,
                               fs_error *err)
{
    visits_q *y = ctx;
    fss_status st;

    y->q.count_cap = cap;
    st = fss__repo_visits_list(c, &y->q, y->terr, total, visit_row, &y->x, err);
    /* A full page may have a next one: it starts after its last row. */
    if (st == FSS_OK && y->x.rows == y->q.limit)
        memcpy(y->next, y->x.last, sizeof y->x.last);
    return st;
}

fss_status fss__admin_visits(fss_server *s, const fss_visits_args *a,
                             const char *const *terr, bool csv, fss_buf *out,
                             fs_error *err)
{
    visits_q y = {.x = {.out = out, .csv = csv},
                  .q = {.rep = a->rep, .territory = a->territory, .status = a->status,
                        .sort = a->sort, .limit = a->limit, .offset = a->offset},
                  .terr = terr};
    char next[sizeof y.x.last] = "";
    const page_spec p = {"visits",
                         "id,customer_id,customer_name,territory,rep_id,rep_name,status,"
                         "outcome,verification,time_check,planned_at,checkin_at,"
                         "checkout_at,checkin_lat,checkin_lon,customer_lat,"
                         "customer_lon,distance_m\r\n",
                         csv, a->limit, a->offset, next};
    int64_t from_day, to_day, from_ms, to_ms, after_t;
    fss_status st;
    fs_id rid, after_id;

    if ((st = page_check(a->limit, a->offset, err)) != FSS_OK)
        return st;
    if (a->cursor) {
        /* "<time>.<visit id>", as next_cursor wrote it */
        const char *dot = strchr(a->cursor, '.');
        char *end = NULL;
        if (dot && dot > a->cursor && (a->cursor[0] == '-' || (a->cursor[0] >= '0' && a->cursor[0] <= '9')))
            after_t = strtoll(a->cursor, &end, 10);
        if (!end || end != dot || fs_id_parse(dot + 1, strlen(dot + 1), &after_id, NULL) != FS_OK)
            return fss__fail(err, FSS_EINVAL, "cursor \"%.80s\" is not a next_cursor of this list",
                             a->cursor);
        y.q.after_t = &after_t;
        y.q.after_id = &after_id;
    }
    y.next = next;
    if (a->from && !fss__parse_date(a->from, &from_day))
        return fss__fail(err, FSS_EINVAL, "from \"%.32s\" is not a date (YYYY-MM-DD)", a->from);
    if (a->to && !fss__parse_date(a->to, &to_day))
        return fss__fail(err, FSS_EINVAL, "to \"%.32s\" is not a date (YYYY-MM-DD)", a->to);
    if (a->rep && fs_id_parse(a->rep, strlen(a->rep), &rid, NULL) != FS_OK)
        return fss__fail(err, FSS_EINVAL, "rep \"%.40s\" is not a UUID", a->rep);
    if (a->from) {
        from_ms = fss__calendar_start(&s->calendar, from_day);
        y.q.from_ms = &from_ms;
    }
    if (a->to) {
        to_ms = fss__calendar_start(&s->calendar, to_day + 1);
        y.q.to_ms = &to_ms;
    }
    return run_page(s, &p, visits_query, &y, out, err);
}

/* ---- one customer with its contacts and timeline ---- */

/* A live row as a JSON object: id and every set field by name. */
static void row_json(fss_buf *b, const fs_row *row)
{
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&row->id, id);
    fss_buf_puts(b, "{\"id\":");
    fss_json_cstr(b, id);
    for (size_t i = 0; i < row->entity->nfields; i++) {
        fss_buf_printf(b, ",\"%s\":", row->entity->fields[i].name);
        fss_json_value(b, &row->cells[i].v);
    }
}

static bool real_cell(const fs_row *row, const char *field, double *out)
{
    int i = fs_entity_field_index(row->entity, field);

    if (i < 0 || row->cells[i].v.kind != FS_VAL_REAL)
        return false;
    *out = row->cells[i].v.u.r;
    return true;
}

/* A visit's distance_m from the customer (fs_geo.h), null without both
 * positions: the number the geofence verdict is decided on. */
static void visit_distance_json(fss_buf *b, const fs_row *visit, const fs_row *cust)
{
    double vlat, vlon, clat, clon;
    bool both = real_cell(visit, "checkin_lat", &vlat) &&
                real_cell(visit, "checkin_lon", &vlon) && real_cell(cust, "lat", &clat) &&
                real_cell(cust, "lon", &clon);

    fss_buf_puts(b, ",\"distance_m\":");
    real_or_null(b, both, both ? fs_geo_distance_m(vlat, vlon, clat, clon) : 0, false);
}

/* The live children of entity `name` under the customer `cust`, one object
 * each (a quote with its derived totals, a visit with its distance). */
static fss_status children_json(fss_conn *c, const char *name, const fs_row *custrow,
                                fss_buf *b, fs_error *err)
{
    const fs_id *cust = &custrow->id;
    const fs_entity *e = fs_schema_entity(name);
    fss_child *kids = NULL;
    size_t n = 0;
    bool any = false;
    fss_status st;

    fss_buf_printf(b, ",\"%ss\":[", name);
    if ((st = fss__repo_children(c, e, cust, cust, &kids, &n, err)) != FSS_OK)
        goto done;
    for (size_t i = 0; i < n && st == FSS_OK; i++) {
        fs_row row = {0};
        bool found = false;
        st = fss__repo_row_load(c, e, &kids[i].id, &row, NULL, &found, err);
        if (st == FSS_OK && found && !row.deleted) {
            if (any)
                fss_buf_puts(b, ",");
            any = true;
            row_json(b, &row);
            if (strcmp(name, "visit") == 0)
                visit_distance_json(b, &row, custrow);
            if (strcmp(name, "quote") == 0) {
                fs_row *lines = NULL;
                size_t nl = 0;
                fs_quote_totals t = {0};
                fs_error serr = {0};
                st = fss__repo_quote_lines(c, &row.id, &lines, &nl, err);
                if (st == FSS_OK && fs_quote_totals_rows(&row, lines, nl, &t, &serr) == FS_OK)
                    fss_buf_printf(b, ",\"lines\":%zu,\"subtotal\":%lld,\"discount_amount\":"
                                      "%lld,\"total\":%lld",
                                   t.lines, (long long)t.subtotal, (long long)t.discount,
                                   (long long)t.total);
                for (size_t k = 0; k < nl; k++)
                    fs_row_free(&lines[k]);
                free(lines);
            }
            fss_buf_puts(b, "}");
        }
        fs_row_free(&row);
    }
done:
    fss_buf_puts(b, "]");
    free(kids);
    return st;
}

static void customer_conflict(const fss_conflict_item *k, void *arg)
{
    fss_buf *b = arg;
    char row[FS_ID_STRLEN + 1] = "";

    if (b->data && b->data[b->len - 1] == '}')
        fss_buf_puts(b, ",");
    if (k->has_row)
        fs_id_format(&k->row, row);
    fss_buf_printf(b, "{\"id\":%lld,\"created_at\":%lld,\"entity\":", (long long)k->id,
                   (long long)k->created_at);
    fss_json_cstr(b, k->entity);
    fss_buf_puts(b, ",\"row\":");
    fss_json_cstr(b, k->has_row ? row : NULL);
    fss_buf_puts(b, ",\"field\":");
    fss_json_cstr(b, k->field);
    fss_buf_puts(b, ",\"status\":");
    fss_json_cstr(b, k->status);
    fss_buf_puts(b, ",\"rule\":");
    fss_json_cstr(b, k->rule);
    fss_buf_puts(b, ",\"detail\":");
    fss_json_cstr(b, k->detail);
    fss_buf_puts(b, ",\"resolved_by\":");
    fss_json_cstr(b, k->resolved_by);
    fss_buf_puts(b, "}");
}

fss_status fss__admin_customer(fss_server *s, const fs_id *id, const char *const *terr,
                               fss_buf *out, fs_error *err)
{
    static const char *const kids[] = {"contact", "visit", "quote", "contract", "task",
                                       "ticket"};
    fss_conn *c;
    fs_row cust = {0};
    fss_buf b = {0};
    bool found = false, in = false, began = false;
    fss_status st;

    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((st = fss__begin_read(c, err)) != FSS_OK)
        goto done;
    began = true;
    st = fss__repo_row_load(c, fs_schema_entity("customer"), id, &cust, NULL, &found, err);
    if (st == FSS_OK && found && !cust.deleted)
        st = fss__repo_row_in_territories(c, cust.entity, id, terr, &in, err);
    if (st == FSS_OK && !in) {
        /* Not there, deleted, or outside the asker's territories: one
         * answer for all three. */
        st = fss__fail(err, FSS_ENOTFOUND, "no such customer");
        goto done;
    }
    if (st != FSS_OK)
        goto done;
    fss_buf_puts(&b, "{\"customer\":");
    row_json(&b, &cust);
    fss_buf_puts(&b, "}");
    for (size_t i = 0; i < sizeof kids / sizeof kids[0] && st == FSS_OK; i++)
        st = children_json(c, kids[i], &cust, &b, err);
    if (st == FSS_OK) {
        fss_buf_puts(&b, ",\"conflicts\":[");
        st = fss__repo_customer_conflicts(c, id, 200, customer_conflict, &b, err);
        fss_buf_puts(&b, "]}\n");
    }
    if (st == FSS_OK && b.oom)
        st = fss__fail(err, FSS_ENOMEM, "customer");
    if (st == FSS_OK)
        fss_buf_add(out, b.data, b.len);
done:
    if (began)
        (void)fss__commit(c, NULL);
    fss__conn_put(s, c);
    fs_row_free(&cust);
    fss_buf_free(&b);
    return st;
}

/* ---- the quotes list ---- */

/* A quote's derived totals (conflict/ rules over its live lines); *ok
 * false when the quote or a line is not readable as money. */
static fss_status totals_of(fss_conn *c, const fs_id *id, fs_quote_totals *t, bool *ok,
                            fs_error *err)
{
    fs_row q = {0}, *lines = NULL;
    size_t n = 0;
    bool found = false;
    fs_error serr = {0};
    fss_status st;

    *ok = false;
    memset(t, 0, sizeof *t);
    st = fss__repo_row_load(c, fs_schema_entity("quote"), id, &q, NULL, &found, err);
    if (st == FSS_OK && found)
        st = fss__repo_quote_lines(c, id, &lines, &n, err);
    if (st == FSS_OK && found)
        *ok = fs_quote_totals_rows(&q, lines, n, t, &serr) == FS_OK;
    for (size_t i = 0; i < n; i++)
        fs_row_free(&lines[i]);
    free(lines);
    fs_row_free(&q);
    return st;
}

typedef struct quotes_out {
    fss_conn *c;
    fss_buf *out;
    bool csv, any;
    fss_status st;
    fs_error *err;
} quotes_out;

static void quote_row(const fss_quote_row *q, void *arg)
{
    quotes_out *x = arg;
    fss_buf *b = x->out;
    char id[FS_ID_STRLEN + 1], cust[FS_ID_STRLEN + 1];
    fs_quote_totals t;
    bool ok = false;
    const char *keys[] = {"customer_name", "territory", "rep_id", "rep_name", "status",
                          "currency"};
    const char *vals[] = {q->customer_name, q->territory, q->rep, q->rep_name, q->status,
                          q->currency};

    if (x->st != FSS_OK)
        return;
    x->st = totals_of(x->c, &q->id, &t, &ok, x->err);
    fs_id_format(&q->id, id);
    fs_id_format(&q->customer, cust);
    if (x->csv) {
        fss__csv_cell(b, id, true);
        fss__csv_cell(b, cust, false);
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
            fss__csv_cell(b, vals[i], false);
        fss_buf_puts(b, ",");
        int_or_null(b, q->has_valid_until, q->valid_until, true);
        fss_buf_puts(b, ",");
        int_or_null(b, ok, (int64_t)t.lines, true);
        fss_buf_puts(b, ",");
        int_or_null(b, ok, t.subtotal, true);
        fss_buf_puts(b, ",");
        int_or_null(b, ok, t.discount, true);
        fss_buf_puts(b, ",");
        int_or_null(b, ok, t.total, true);
        fss_buf_puts(b, "\r\n");
        return;
    }
    fss_buf_puts(b, x->any ? ",{\"id\":" : "{\"id\":");
    x->any = true;
    fss_json_cstr(b, id);
    fss_buf_puts(b, ",\"customer_id\":");
    fss_json_cstr(b, cust);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        fss_buf_printf(b, ",\"%s\":", keys[i]);
        fss_json_cstr(b, vals[i]);
    }
    fss_buf_puts(b, ",\"valid_until\":");
    int_or_null(b, q->has_valid_until, q->valid_until, false);
    fss_buf_puts(b, ",\"lines\":");
    int_or_null(b, ok, (int64_t)t.lines, false);
    fss_buf_puts(b, ",\"subtotal\":");
    int_or_null(b, ok, t.subtotal, false);
    fss_buf_puts(b, ",\"discount_amount\":");
    int_or_null(b, ok, t.discount, false);
    fss_buf_puts(b, ",\"total\":");
    int_or_null(b, ok, t.total, false);
    fss_buf_puts(b, "}");
}

typedef struct quotes_q {
    quotes_out x;
    const fss_quote_query *q;
    const char *const *terr;
} quotes_q;

static fss_status quotes_query(fss_conn *c, void *ctx, int64_t cap, int64_t *total,
                               fs_error *err)
{
    quotes_q *y = ctx;
    fss_quote_query q = *y->q;
    fss_status st;

    q.count_cap = cap;
    y->x.c = c;
    st = fss__repo_quotes_list(c, &q, y->terr, total, quote_row, &y->x, err);
    return st == FSS_OK ? y->x.st : st;
}

fss_status fss__admin_quotes(fss_server *s, const fss_quote_query *q,
                             const char *const *terr, bool csv, fss_buf *out,
                             fs_error *err)
{
    quotes_q y = {.x = {.out = out, .csv = csv, .err = err}, .q = q, .terr = terr};
    const page_spec p = {"quotes",
                         "id,customer_id,customer_name,territory,rep_id,rep_name,status,"
                         "currency,valid_until,lines,subtotal,discount_amount,total\r\n",
                         csv, q->limit, q->offset, NULL};
    fss_status st;
    fs_id rid;

    if ((st = page_check(q->limit, q->offset, err)) != FSS_OK)
        return st;
    if (q->rep && fs_id_parse(q->rep, strlen(q->rep), &rid, NULL) != FS_OK)
        return fss__fail(err, FSS_EINVAL, "rep \"%.40s\" is not a UUID", q->rep);
    return run_page(s, &p, quotes_query, &y, out, err);
}

/* ---- CSV of the devices and conflicts lists ---- */

static void device_csv(const fss_device_item *d, void *arg)
{
    fss_buf *b = arg;
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&d->id, id);
    fss__csv_cell(b, id, true);
    fss__csv_cell(b, d->name, false);
    fss__csv_cell(b, d->rep, false);
    fss__csv_cell(b, d->rep_name, false);
    fss_buf_printf(b, ",%lld,", (long long)d->created_at);
    int_or_null(b, d->has_last_seen, d->last_seen, true);
    fss_buf_puts(b, d->revoked ? ",true," : ",false,");
    int_or_null(b, d->has_revoked_at, d->revoked_at, true);
    fss_buf_puts(b, ",");
    int_or_null(b, d->has_pending_changes, d->pending_changes, true);
    fss_buf_puts(b, ",");
    int_or_null(b, d->has_rejected_changes, d->rejected_changes, true);
    fss_buf_puts(b, ",");
    int_or_null(b, d->has_reported_at, d->reported_at, true);
    fss_buf_puts(b, "\r\n");
}

static void conflict_csv(const fss_conflict_item *k, void *arg)
{
    fss_buf *b = arg;
    char row[FS_ID_STRLEN + 1] = "";

    if (k->has_row)
        fs_id_format(&k->row, row);
    fss_buf_printf(b, "%lld,%lld", (long long)k->id, (long long)k->created_at);
    fss__csv_cell(b, k->entity, false);
    fss__csv_cell(b, k->has_row ? row : NULL, false);
    fss__csv_cell(b, k->field, false);
    fss__csv_cell(b, k->base, false);
    fss__csv_cell(b, k->theirs, false);
    fss__csv_cell(b, k->yours, false);
    fss__csv_cell(b, k->rule, false);
    fss__csv_cell(b, k->status, false);
    fss__csv_cell(b, k->rep, false);
    fss__csv_cell(b, k->detail, false);
    fss__csv_cell(b, k->resolved_by, false);
    fss_buf_puts(b, ",");
    int_or_null(b, k->has_resolved_at, k->resolved_at, true);
    fss_buf_puts(b, "\r\n");
}

/* ---- the devices and conflicts lists ---- */

typedef struct items_q {
    fss_buf *out;
    bool csv, any;
    const fss_device_query *dq;
    const fss_conflict_query *kq;
    const char *const *terr;
} items_q;

static void device_page_row(const fss_device_item *d, void *arg)
{
    items_q *y = arg;

    if (y->csv) {
        device_csv(d, y->out);
        return;
    }
    if (y->any)
        fss_buf_puts(y->out, ",");
    y->any = true;
    fss__device_json(y->out, d);
}

static fss_status devices_query(fss_conn *c, void *ctx, int64_t cap, int64_t *total,
                                fs_error *err)
{
    items_q *y = ctx;
    fss_device_query q = *y->dq;

    q.count_cap = cap;
    return fss__repo_devices_page(c, &q, y->terr, total, device_page_row, y, err);
}

fss_status fss__admin_devices(fss_server *s, const fss_devices_args *a,
                              const char *const *terr, bool csv, fss_buf *out,
                              fs_error *err)
{
    fss_device_query q = {.rep = a->rep, .territory = a->territory, .sort = a->sort,
                          .limit = a->limit, .offset = a->offset};
    items_q y = {.out = out, .csv = csv, .dq = &q, .terr = terr};
    const page_spec p = {"devices",
                         "id,name,rep_id,rep_name,created_at,last_seen,revoked,"
                         "revoked_at,pending_changes,rejected_changes,"
                         "reported_at\r\n",
                         csv, a->limit, a->offset, NULL};
    bool revoked;
    fss_status st;
    fs_id rid;

    if ((st = page_check(a->limit, a->offset, err)) != FSS_OK)
        return st;
    if (a->rep && fs_id_parse(a->rep, strlen(a->rep), &rid, NULL) != FS_OK)
        return fss__fail(err, FSS_EINVAL, "rep \"%.40s\" is not a UUID", a->rep);
    if (a->revoked) {
        if (strcmp(a->revoked, "true") != 0 && strcmp(a->revoked, "false") != 0)
            return fss__fail(err, FSS_EINVAL, "revoked must be true or false (got \"%.16s\")",
                             a->revoked);
        revoked = strcmp(a->revoked, "true") == 0;
        q.revoked = &revoked;
    }
    return run_page(s, &p, devices_query, &y, out, err);
}

static void conflict_page_row(const fss_conflict_item *k, void *arg)
{
    items_q *y = arg;

    if (y->csv) {
        conflict_csv(k, y->out);
        return;
    }
    if (y->any)
        fss_buf_puts(y->out, ",");
    y->any = true;
    fss__conflict_json(y->out, k);
}

static fss_status conflicts_query(fss_conn *c, void *ctx, int64_t cap, int64_t *total,
                                  fs_error *err)
{
    items_q *y = ctx;
    fss_conflict_query q = *y->kq;

    q.count_cap = cap;
    return fss__repo_conflicts_page(c, &q, y->terr, total, conflict_page_row, y, err);
}

fss_status fss__admin_conflicts(fss_server *s, const fss_conflicts_args *a,
                                const char *const *terr, bool csv, fss_buf *out,
                                fs_error *err)
{
    fss_conflict_query q = {.status = a->status, .rep = a->rep, .territory = a->territory,
                            .sort = a->sort, .limit = a->limit, .offset = a->offset};
    items_q y = {.out = out, .csv = csv, .kq = &q, .terr = terr};
    /* base, theirs and yours are the stored JSON literals. */
    const page_spec p = {"conflicts",
                         "id,created_at,entity,row,field,base,theirs,yours,rule,status,"
                         "rep,detail,resolved_by,resolved_at\r\n",
                         csv, a->limit, a->offset, NULL};
    int64_t from_day, to_day, from_ms, to_ms;
    fss_status st;
    fs_id rid;

    if ((st = page_check(a->limit, a->offset, err)) != FSS_OK)
        return st;
    if (a->status && strcmp(a->status, "open") != 0 && strcmp(a->status, "auto") != 0 &&
        strcmp(a->status, "resolved") != 0)
        return fss__fail(err, FSS_EINVAL, "status must be open, auto or resolved (got \"%s\")",
                         a->status);
    if (a->from && !fss__parse_date(a->from, &from_day))
        return fss__fail(err, FSS_EINVAL, "from \"%.32s\" is not a date (YYYY-MM-DD)", a->from);
    if (a->to && !fss__parse_date(a->to, &to_day))
        return fss__fail(err, FSS_EINVAL, "to \"%.32s\" is not a date (YYYY-MM-DD)", a->to);
    if (a->rep && fs_id_parse(a->rep, strlen(a->rep), &rid, NULL) != FS_OK)
        return fss__fail(err, FSS_EINVAL, "rep \"%.40s\" is not a UUID", a->rep);
    if (a->from) {
        from_ms = fss__calendar_start(&s->calendar, from_day);
        q.from_ms = &from_ms;
    }
    if (a->to) {
        to_ms = fss__calendar_start(&s->calendar, to_day + 1);
        q.to_ms = &to_ms;
    }
    return run_page(s, &p, conflicts_query, &y, out, err);
}

/* ---- what changed: the live screens' poll ---- */

fss_status fss__admin_changes(fss_server *s, fss_buf *out, fs_error *err)
{
    int64_t v[4];
    uint8_t h[32];
    fss_conn *c;
    fss_status st;

    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((st = fss__begin_read(c, err)) == FSS_OK) {
        st = fss__repo_changes(c, v, err);
        (void)fss__commit(c, NULL);
    }
    fss__conn_put(s, c);
    if (st != FSS_OK)
        return st;
    /* Opaque: a digest of store-wide numbers, so a manager learns that
     * something changed, never a count of another territory's rows. */
    fss_sha256(v, sizeof v, h);
    fss_buf_puts(out, "{\"version\":\"");
    for (int i = 0; i < 8; i++)
        fss_buf_printf(out, "%02x", h[i]);
    fss_buf_puts(out, "\"}\n");
    return out->oom ? fss__fail(err, FSS_ENOMEM, "changes") : FSS_OK;
}
