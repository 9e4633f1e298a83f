/*
 * fss_report.c - the back office's reports and the store audit: `activity`
 * (visits done per performing rep per business day), `pipeline` (quotes and
 * contracts per status per currency) and `check` (every stored row that
 * breaks today's schema rules).
 *
 * Queries return plain rows; C groups them and writes the JSON, so the SQL
 * stays portable (a PostgreSQL backend is planned) and no report adds two
 * currencies: every money figure is grouped by its currency code, and a
 * quote's value is its derived total from fs_quote_totals_compute, the one
 * totals function.
 *
 * Business days: a visit counts on the calendar day, in the configured
 * business time zone (fss_config.business_tz, a TZ database name, default
 * UTC), of its check-in (else check-out, else planned time). The C library
 * converts times through the process-global TZ variable, which is not safe
 * while other threads read it; so fss__calendar_open() asks it once, under a
 * lock, when the server is opened (before any HTTP thread runs): the UTC
 * instant at which each local day from 1970 to 2100 begins. A report then
 * looks days up in that table, with no time zone calls at all.
 */
#include "fss_json.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS INT64_C(86400000)
#define CAL_FIRST_YEAR 1970
#define CAL_LAST_YEAR 2100

/* ---------------------------------------------------------------------- */
/* Civil dates (proleptic Gregorian), days counted from 1970-01-01        */
/* ---------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* "YYYY-MM-DD" (a real date) into days since 1970-01-01. */
bool fss__parse_date(const char *s, int64_t *day)
{
    int y, m, d, yy, mm, dd;
    char tail;

    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    *day = days_from_civil(y, m, d);
    civil_from_days(*day, &yy, &mm, &dd);
    return yy == y && mm == m && dd == d; /* no 2026-02-30 */
}

#define DATE_LEN 32 /* "YYYY-MM-DD" and room for any int the compiler imagines */
static void format_date(int64_t day, char out[DATE_LEN])
{
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(out, DATE_LEN, "%04d-%02d-%02d", y, m, d);
}

/* ---------------------------------------------------------------------- */
/* The business calendar                                                   */
/* ---------------------------------------------------------------------- */

/* Serialises the only code that touches the TZ variable (one server per
 * process is the norm; tests open several, one after the other). */
static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;

static bool tz_name_ok(const char *tz)
{
    char path[512];
    const char *dir = getenv("TZDIR");

    if (!tz || !*tz || strlen(tz) > 64 || tz[0] == '/' || strstr(tz, ".."))
        return false;
    for (const char *p = tz; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' || *p == '-' ||
              *p == '+'))
            return false;
    /* glibc quietly reads an unknown name as UTC: make sure it is known. */
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    return access(path, R_OK) == 0;
}

fss_status fss__calendar_open(const char *tz, fss_calendar *cal, fs_error *err)
{
    int64_t first = days_from_civil(CAL_FIRST_YEAR, 1, 1);
    int64_t last = days_from_civil(CAL_LAST_YEAR, 1, 1);
    char *old = NULL;
    const char *env;
    fss_status st = FSS_OK;

    memset(cal, 0, sizeof *cal);
    if (!tz || !*tz || strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0) {
        snprintf(cal->tz, sizeof cal->tz, "UTC");
        return FSS_OK; /* no table: a day is floor(ms / 86400000) */
    }
    if (!tz_name_ok(tz))
        return fss__fail(err, FSS_EINVAL,
                         "business time zone \"%.64s\" is not a known TZ database "
                         "name (e.g. Europe/London, America/New_York, UTC)", tz);
    snprintf(cal->tz, sizeof cal->tz, "%s", tz);
    cal->first_day = first;
    cal->ndays = (size_t)(last - first);
    cal->midnight_ms = malloc(cal->ndays * sizeof *cal->midnight_ms);
    if (!cal->midnight_ms)
        return fss__fail(err, FSS_ENOMEM, "business calendar");

    pthread_mutex_lock(&tz_mu);
    env = getenv("TZ");
    if (env && !(old = strdup(env))) {
        pthread_mutex_unlock(&tz_mu);
        fss__calendar_close(cal);
        return fss__fail(err, FSS_ENOMEM, "business calendar");
    }
    setenv("TZ", tz, 1);
    tzset();
    for (size_t i = 0; i < cal->ndays; i++) {
        struct tm tm;
        int y, m, d;
        time_t t;
        civil_from_days(first + (int64_t)i, &y, &m, &d);
        memset(&tm, 0, sizeof tm);
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        tm.tm_isdst = -1;
        /* Where midnight does not exist (a DST jump at 00:00), mktime gives
         * the first instant of the day that does. */
        t = mktime(&tm);
        if (t == (time_t)-1 && i > 0)
            t = (time_t)(cal->midnight_ms[i - 1] / 1000 + 86400);
        cal->midnight_ms[i] = (int64_t)t * 1000;
    }
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    pthread_mutex_unlock(&tz_mu);
    free(old);
    return st;
}

void fss__calendar_close(fss_calendar *cal)
{
    if (!cal)
        return;
    free(cal->midnight_ms);
    cal->midnight_ms = NULL;
    cal->ndays = 0;
}

int64_t fss__calendar_day(const fss_calendar *cal, int64_t ms)
{
    size_t lo = 0, hi;

    if (!cal->ndays)
        return floor_div(ms, DAY_MS);
    /* Outside the table: the offset at its nearest end. */
    if (ms < cal->midnight_ms[0])
        return cal->first_day + floor_div(ms - cal->midnight_ms[0], DAY_MS);
    if (ms >= cal->midnight_ms[cal->ndays - 1])
        return cal->first_day + (int64_t)cal->ndays - 1 +
               floor_div(ms - cal->midnight_ms[cal->ndays - 1], DAY_MS);
    /* The last day that starts at or before ms. */
    hi = cal->ndays;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->midnight_ms[mid] <= ms)
            lo = mid;
        else
            hi = mid;
    }
    return cal->first_day + (int64_t)lo;
}

/* The UTC instant local day `day` begins. */
int64_t fss__calendar_start(const fss_calendar *cal, int64_t day)
{
    int64_t i = day - cal->first_day;

    if (!cal->ndays)
        return day * DAY_MS;
    if (i < 0)
        return cal->midnight_ms[0] + i * DAY_MS;
    if (i >= (int64_t)cal->ndays)
        return cal->midnight_ms[cal->ndays - 1] + (i - (int64_t)cal->ndays + 1) * DAY_MS;
    return cal->midnight_ms[i];
}

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */
/* ---------------------------------------------------------------------- */

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---------------------------------------------------------------------- */
/* activity                                                                */
/* ---------------------------------------------------------------------- */

/* The visit statuses a visit report counts: the visit was done or given up.
 * A plan (planned / in_progress) is not activity. */
static const char *const done_statuses[] = {"completed", "abandoned", NULL};

static bool is_done(const char *status)
{
    for (size_t i = 0; status && done_statuses[i]; i++)
        if (strcmp(status, done_statuses[i]) == 0)
            return true;
    return false;
}

typedef struct act_group {
    char *rep, *rep_name;
    bool has_day;
    int64_t day;
    int64_t visits, completed, abandoned, verified, outside, unverified, suspect;
    fss_buf outcomes;     /* JSON strings, comma-separated */
    fss_buf outcomes_csv; /* the same as plain text, "; "-separated */
    bool open;
} act_group;

/* CSV: one line per group; outcomes joined with "; " in one cell. */
static void group_csv(const act_group *g, const char *day, fss_buf *out)
{
    fss__csv_cell(out, g->rep, true);
    fss__csv_cell(out, g->rep_name, false);
    fss__csv_cell(out, g->has_day ? day : NULL, false);
    fss_buf_printf(out, ",%lld,%lld,%lld,%lld,%lld,%lld,%lld,", (long long)g->visits,
                   (long long)g->completed, (long long)g->abandoned, (long long)g->verified,
                   (long long)g->outside, (long long)g->unverified, (long long)g->suspect);
    fss__csv_cell(out, g->outcomes_csv.len ? g->outcomes_csv.data : NULL, true);
    fss_buf_puts(out, "\r\n");
}

static void group_flush(act_group *g, fss_buf *out, bool *first, bool csv)
{
    char day[DATE_LEN];

    if (!g->open)
        return;
    if (g->has_day)
        format_date(g->day, day);
    if (csv) {
        group_csv(g, day, out);
        goto reset;
    }
    fss_buf_puts(out, *first ? "{\"rep\":" : ",{\"rep\":");
    *first = false;
    fss_json_cstr(out, g->rep);
    fss_buf_puts(out, ",\"rep_name\":");
    fss_json_cstr(out, g->rep_name);
    fss_buf_puts(out, ",\"day\":");
    if (g->has_day)
        fss_json_cstr(out, day);
    else
        fss_buf_puts(out, "null");
    fss_buf_printf(out, ",\"visits\":%lld,\"completed\":%lld,\"abandoned\":%lld,"
                        "\"verified\":%lld,\"outside_geofence\":%lld,\"unverified\":%lld,"
                        "\"time_suspect\":%lld,\"outcomes\":[%s]}",
                   (long long)g->visits, (long long)g->completed, (long long)g->abandoned,
                   (long long)g->verified, (long long)g->outside, (long long)g->unverified,
                   (long long)g->suspect, g->outcomes.data ? g->outcomes.data : "");
reset:
    free(g->rep);
    free(g->rep_name);
    fss_buf_free(&g->outcomes);
    fss_buf_free(&g->outcomes_csv);
    memset(g, 0, sizeof *g);
}

/* The activity report being written: the open group and the output. */
typedef struct act_ctx {
    fss_server *s;
    act_group g;
    fss_buf *out;
    bool csv;
    bool first;
} act_ctx;

static fss_status act_visit(const fss_visit_item *v, void *arg, fs_error *err)
{
    act_ctx *x = arg;
    act_group *g = &x->g;
    int64_t day = v->has_t ? fss__calendar_day(&x->s->calendar, v->t) : 0;

    if (!is_done(v->status))
        return FSS_OK;
    if (g->open && (!same_text(g->rep, v->rep) || g->has_day != v->has_t || g->day != day))
        group_flush(g, x->out, &x->first, x->csv);
    if (!g->open) {
        g->open = true;
        g->rep = dup_or_null(v->rep);
        g->rep_name = dup_or_null(v->rep_name);
        g->has_day = v->has_t;
        g->day = day;
        if ((v->rep && !g->rep) || (v->rep_name && !g->rep_name))
            return fss__fail(err, FSS_ENOMEM, "activity");
    }
    g->visits++;
    g->completed += strcmp(v->status, "completed") == 0;
    g->abandoned += strcmp(v->status, "abandoned") == 0;
    g->verified += same_text(v->verification, "verified");
    g->outside += same_text(v->verification, "outside_geofence");
    g->unverified += !v->verification || strcmp(v->verification, "unverified") == 0;
    g->suspect += same_text(v->time_check, "suspect");
    if (v->outcome) {
        if (g->outcomes.len)
            fss_buf_puts(&g->outcomes, ",");
        fss_json_cstr(&g->outcomes, v->outcome);
        if (g->outcomes_csv.len)
            fss_buf_puts(&g->outcomes_csv, "; ");
        fss_buf_puts(&g->outcomes_csv, v->outcome);
    }
    return FSS_OK;
}

fss_status fss_admin_activity(fss_server *s, const fss_activity_query *q, fss_buf *out,
                              fs_error *err)
{
    return fss__admin_activity(s, q, NULL, false, out, err);
}

fss_status fss__admin_activity(fss_server *s, const fss_activity_query *q,
                               const char *const *terr, bool csv, fss_buf *out,
                               fs_error *err)
{
    fss_conn *c = NULL;
    fss_status rc = FSS_OK;
    int64_t from_day = 0, to_day = 0, from_ms = 0, to_ms = 0;
    bool has_from = false, has_to = false;
    act_ctx x;

    memset(&x, 0, sizeof x);
    x.s = s;
    x.out = out;
    x.first = true;
    x.csv = csv;
    if (q && q->from && !(has_from = fss__parse_date(q->from, &from_day)))
        return fss__fail(err, FSS_EINVAL, "from \"%.32s\" is not a date (YYYY-MM-DD)", q->from);
    if (q && q->to && !(has_to = fss__parse_date(q->to, &to_day)))
        return fss__fail(err, FSS_EINVAL, "to \"%.32s\" is not a date (YYYY-MM-DD)", q->to);
    if (has_from && has_to && to_day < from_day)
        return fss__fail(err, FSS_EINVAL, "to %s is before from %s", q->to, q->from);
    if (q && q->rep) {
        fs_id rid;
        if (fs_id_parse(q->rep, strlen(q->rep), &rid, NULL) != FS_OK)
            return fss__fail(err, FSS_EINVAL, "rep \"%.40s\" is not a UUID", q->rep);
    }
    c = fss__conn_get(s, 10000);
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if (q && q->rep && (rc = fss__rep_known(c, q->rep, err)) != FSS_OK)
        goto done;
    if (q && q->territory && (rc = fss__territory_known(c, q->territory, err)) != FSS_OK)
        goto done;
    if (has_from)
        from_ms = fss__calendar_start(&s->calendar, from_day);
    if (has_to)
        to_ms = fss__calendar_start(&s->calendar, to_day + 1);
    fss_buf_puts(out, x.csv ? "rep_id,rep_name,day,visits,completed,abandoned,verified,"
                              "outside_geofence,unverified,time_suspect,outcomes\r\n"
                            : "[");
    rc = fss__repo_activity(c, q ? q->rep : NULL, q ? q->territory : NULL,
                            has_from ? &from_ms : NULL, has_to ? &to_ms : NULL,
                            terr, act_visit, &x, err);
    if (rc != FSS_OK)
        goto done;
    group_flush(&x.g, out, &x.first, x.csv);
    if (!x.csv)
        fss_buf_puts(out, "]\n");
    if (out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "activity");
done:
    free(x.g.rep);
    free(x.g.rep_name);
    fss_buf_free(&x.g.outcomes);
    fss_buf_free(&x.g.outcomes_csv);
    fss__conn_put(s, c);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* pipeline                                                                */
/* ---------------------------------------------------------------------- */

typedef struct money_group {
    char *status, *currency;
    int64_t count, value, unpriced;
    bool open;
} money_group;

/* Writes the open group as a JSON object, or, when csv_kind is set, as a
 * CSV line "kind,status,currency,count,value,unpriced". */
static fss_status money_flush(money_group *g, const char *status_key, const char *value_key,
                              const char *unpriced_key, fss_buf *out, bool *first,
                              const char *csv_kind)
{
    if (!g->open)
        return FSS_OK;
    if (csv_kind) {
        fss__csv_cell(out, csv_kind, true);
        fss__csv_cell(out, g->status, false);
        fss__csv_cell(out, g->currency, false);
        fss_buf_printf(out, ",%lld,%lld,%lld\r\n", (long long)g->count, (long long)g->value,
                       (long long)g->unpriced);
        goto reset;
    }
    fss_buf_printf(out, "%s{\"%s\":", *first ? "" : ",", status_key);
    *first = false;
    fss_json_cstr(out, g->status);
    fss_buf_puts(out, ",\"currency\":");
    fss_json_cstr(out, g->currency);
    fss_buf_printf(out, ",\"count\":%lld,\"%s\":%lld,\"%s\":%lld}", (long long)g->count,
                   value_key, (long long)g->value, unpriced_key, (long long)g->unpriced);
reset:
    free(g->status);
    free(g->currency);
    memset(g, 0, sizeof *g);
    return FSS_OK;
}

static fss_status money_open(money_group *g, const char *status, const char *currency,
                             fs_error *err)
{
    g->open = true;
    g->status = dup_or_null(status);
    g->currency = dup_or_null(currency);
    if ((status && !g->status) || (currency && !g->currency))
        return fss__fail(err, FSS_ENOMEM, "pipeline");
    return FSS_OK;
}

/* Adds one quote's derived total (from its lines) to its group; a quote
 * whose totals cannot be computed (negative or overflowing numbers an older
 * version let in) is counted as unpriced, never dropped. */
static fss_status quote_add(money_group *g, const fs_quote_line_amount *lines, size_t n,
                            int64_t discount_bp, fs_error *err)
{
    fs_quote_totals t;

    g->count++;
    if (fs_quote_totals_compute(lines, n, discount_bp, &t, NULL) != FS_OK) {
        g->unpriced++;
        return FSS_OK;
    }
    if (__builtin_add_overflow(g->value, t.total, &g->value))
        return fss__fail(err, FSS_EINVAL, "pipeline: the %s total overflows",
                         g->currency ? g->currency : "(no currency)");
    return FSS_OK;
}

/* The quotes half of the pipeline being written. */
typedef struct quotes_ctx {
    money_group g;
    fs_quote_line_amount *lines;
    size_t n, cap;
    int64_t discount;
    bool first, have_quote;
    fs_id cur;
    fss_buf *out;
    const char *csv_kind; /* "quote" for CSV, NULL for JSON */
} quotes_ctx;

static fss_status quote_line_row(const fss_quote_line_item *q, void *arg,
                                 fs_error *err)
{
    quotes_ctx *x = arg;
    /* An unset status reads as draft, as on the device (fs_quote.c). */
    const char *status = q->status ? q->status : fs_quote_state_name(FS_QUOTE_DRAFT);
    bool same_quote = x->have_quote && q->has_id && fs_id_cmp(&q->id, &x->cur) == 0;
    fss_status rc;

    if (!same_quote) {
        if (x->have_quote &&
            (rc = quote_add(&x->g, x->lines, x->n, x->discount, err)) != FSS_OK)
            return rc;
        if (x->g.open && (!same_text(x->g.status, status) ||
                          !same_text(x->g.currency, q->currency)))
            money_flush(&x->g, "status", "value", "unpriced", x->out, &x->first, x->csv_kind);
        if (!x->g.open && (rc = money_open(&x->g, status, q->currency, err)) != FSS_OK)
            return rc;
        memset(&x->cur, 0, sizeof x->cur);
        if (q->has_id)
            x->cur = q->id;
        x->have_quote = true;
        x->n = 0;
        x->discount = q->discount_bp;
    }
    if (q->has_line) {
        if (x->n == x->cap) {
            size_t nc = x->cap ? x->cap * 2 : 16;
            fs_quote_line_amount *p = realloc(x->lines, nc * sizeof *p);
            if (!p)
                return fss__fail(err, FSS_ENOMEM, "pipeline");
            x->lines = p;
            x->cap = nc;
        }
        x->lines[x->n].qty = q->qty;
        x->lines[x->n].unit_price = q->unit_price;
        x->lines[x->n].discount_bp = q->line_discount_bp;
        x->n++;
    }
    return FSS_OK;
}

static fss_status pipeline_quotes(fss_conn *c, const char *const *terr, bool csv,
                                  fss_buf *out, fs_error *err)
{
    quotes_ctx x;
    fss_status rc;

    memset(&x, 0, sizeof x);
    x.first = true;
    x.out = out;
    x.csv_kind = csv ? "quote" : NULL;
    if (!csv)
        fss_buf_puts(out, "\"quotes\":[");
    rc = fss__repo_pipeline_quotes(c, terr, quote_line_row, &x, err);
    if (rc == FSS_OK && x.have_quote)
        rc = quote_add(&x.g, x.lines, x.n, x.discount, err);
    if (rc == FSS_OK) {
        money_flush(&x.g, "status", "value", "unpriced", out, &x.first, x.csv_kind);
        if (!csv)
            fss_buf_puts(out, "]");
    }
    free(x.g.status);
    free(x.g.currency);
    free(x.lines);
    return rc;
}

/* The contracts half of the pipeline being written. */
typedef struct contracts_ctx {
    money_group g;
    bool first;
    fss_buf *out;
    const char *csv_kind; /* "contract" for CSV, NULL for JSON */
} contracts_ctx;

static fss_status contract_row(const fss_contract_item *k, void *arg, fs_error *err)
{
    contracts_ctx *x = arg;
    const char *status = k->status ? k->status : "draft";
    fss_status rc;

    if (x->g.open && (!same_text(x->g.status, status) ||
                      !same_text(x->g.currency, k->currency)))
        money_flush(&x->g, "esign_status", "amount", "no_amount", x->out, &x->first,
                    x->csv_kind);
    if (!x->g.open && (rc = money_open(&x->g, status, k->currency, err)) != FSS_OK)
        return rc;
    x->g.count++;
    if (!k->has_amount)
        x->g.unpriced++;
    else if (__builtin_add_overflow(x->g.value, k->amount, &x->g.value))
        return fss__fail(err, FSS_EINVAL, "pipeline: the %s contract amount overflows",
                         k->currency ? k->currency : "(no currency)");
    return FSS_OK;
}

static fss_status pipeline_contracts(fss_conn *c, const char *const *terr, bool csv,
                                     fss_buf *out, fs_error *err)
{
    contracts_ctx x;
    fss_status rc;

    memset(&x, 0, sizeof x);
    x.first = true;
    x.out = out;
    x.csv_kind = csv ? "contract" : NULL;
    if (!csv)
        fss_buf_puts(out, "\"contracts\":[");
    rc = fss__repo_pipeline_contracts(c, terr, contract_row, &x, err);
    if (rc == FSS_OK) {
        money_flush(&x.g, "esign_status", "amount", "no_amount", out, &x.first, x.csv_kind);
        if (!csv)
            fss_buf_puts(out, "]");
    }
    free(x.g.status);
    free(x.g.currency);
    return rc;
}

fss_status fss_admin_pipeline(fss_server *s, fss_buf *out, fs_error *err)
{
    return fss__admin_pipeline(s, NULL, false, out, err);
}

fss_status fss__admin_pipeline(fss_server *s, const char *const *terr, bool csv,
                               fss_buf *out, fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    /* One read transaction: quotes and contracts from the same snapshot. */
    if ((rc = fss__begin_read(c, err)) != FSS_OK)
        goto done;
    fss_buf_puts(out, csv ? "kind,status,currency,count,value,unpriced\r\n" : "{");
    if ((rc = pipeline_quotes(c, terr, csv, out, err)) == FSS_OK) {
        if (!csv)
            fss_buf_puts(out, ",");
        rc = pipeline_contracts(c, terr, csv, out, err);
    }
    if (!csv)
        fss_buf_puts(out, "}\n");
    (void)fss__commit(c, NULL);
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "pipeline");
done:
    fss__conn_put(s, c);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* check                                                                   */
/* ---------------------------------------------------------------------- */

typedef struct check_ctx {
    fss_buf *out;
    bool json;
    uint64_t now_ms;
    size_t bad;
} check_ctx;

static bool check_violation(const fs_row *row, int field, fs_status code,
                            const char *reason, void *payload)
{
    check_ctx *x = payload;
    char id[FS_ID_STRLEN + 1];
    const char *f = field >= 0 ? row->entity->fields[field].name : "-";

    (void)code;
    fs_id_format(&row->id, id);
    x->bad++;
    if (x->json) {
        fss_buf_printf(x->out, "{\"entity\":\"%s\",\"id\":\"%s\",\"field\":\"%s\",\"reason\":",
                       row->entity->name, id, f);
        fss_json_cstr(x->out, reason);
        fss_buf_puts(x->out, "}\n");
    } else {
        fss_buf_printf(x->out, "%s %s %s: %s\n", row->entity->name, id, f, reason);
    }
    return true;
}

static fss_status check_row(const fs_row *row, void *payload, fs_error *err)
{
    check_ctx *x = payload;

    fs_row_violations(row, NULL, false, x->now_ms, check_violation, x);
    return x->out->oom ? FSS_ENOMEM : FSS_OK;
}

fss_status fss_admin_check(fss_server *s, bool json, fss_buf *out, size_t *bad,
                           fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    check_ctx x = {out, json, fss_now_ms(), 0};
    const fs_entity *const *all;
    size_t n = 0;
    fs_error serr = {0};
    fss_status rc;

    if (bad)
        *bad = 0;
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_read(c, err)) != FSS_OK)
        goto done;
    all = fs_schema_entities(&n);
    /* Out of memory stops the walk; the check below reports it. */
    for (size_t i = 0; i < n && rc == FSS_OK; i++)
        if ((rc = fss__repo_rows_each(c, all[i], check_row, &x, &serr)) == FSS_ENOMEM)
            rc = FSS_OK;
        else if (rc != FSS_OK)
            rc = fss__fail(err, FSS_EDB, "check %s", serr.text);
    (void)fss__commit(c, NULL);
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "check");
    if (bad)
        *bad = x.bad;
done:
    fss__conn_put(s, c);
    return rc;
}
