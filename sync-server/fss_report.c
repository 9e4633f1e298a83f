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
#include "fss_sqlite.h"

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
static bool parse_date(const char *s, int64_t *day)
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
static int64_t calendar_start(const fss_calendar *cal, int64_t day)
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

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

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
    fss_buf outcomes;
    bool open;
} act_group;

static void group_flush(act_group *g, fss_buf *out, bool *first)
{
    char day[DATE_LEN];

    if (!g->open)
        return;
    fss_buf_puts(out, *first ? "{\"rep\":" : ",{\"rep\":");
    *first = false;
    fss_json_cstr(out, g->rep);
    fss_buf_puts(out, ",\"rep_name\":");
    fss_json_cstr(out, g->rep_name);
    fss_buf_puts(out, ",\"day\":");
    if (g->has_day) {
        format_date(g->day, day);
        fss_json_cstr(out, day);
    } else {
        fss_buf_puts(out, "null");
    }
    fss_buf_printf(out, ",\"visits\":%lld,\"completed\":%lld,\"abandoned\":%lld,"
                        "\"verified\":%lld,\"outside_geofence\":%lld,\"unverified\":%lld,"
                        "\"time_suspect\":%lld,\"outcomes\":[%s]}",
                   (long long)g->visits, (long long)g->completed, (long long)g->abandoned,
                   (long long)g->verified, (long long)g->outside, (long long)g->unverified,
                   (long long)g->suspect, g->outcomes.data ? g->outcomes.data : "");
    free(g->rep);
    free(g->rep_name);
    fss_buf_free(&g->outcomes);
    memset(g, 0, sizeof *g);
}

fss_status fss_admin_activity(fss_server *s, const fss_activity_query *q, fss_buf *out,
                              fs_error *err)
{
    fss_conn *c = NULL;
    sqlite3_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int64_t from_day = 0, to_day = 0;
    bool has_from = false, has_to = false, first = true;
    act_group g;
    int r;
    /* One row per live visit in the range; ordered by rep, then time, so
     * the days of one rep come in order and a group is a run of rows. */
    static const char sql[] =
        "SELECT v.rep_id, (SELECT name FROM fss_reps WHERE uuid = v.rep_id),"
        " coalesce(v.checkin_at, v.checkout_at, v.planned_at) AS t, v.status,"
        " v.verification, v.time_check, v.outcome"
        " FROM visit v LEFT JOIN customer k ON k.id = v.customer_id"
        " WHERE v.deleted = 0 AND (?1 IS NULL OR v.rep_id = ?1)"
        " AND (?2 IS NULL OR k.territory = ?2)"
        " AND (?3 IS NULL OR coalesce(v.checkin_at, v.checkout_at, v.planned_at) >= ?3)"
        " AND (?4 IS NULL OR coalesce(v.checkin_at, v.checkout_at, v.planned_at) < ?4)"
        " ORDER BY v.rep_id, t, v.id";

    memset(&g, 0, sizeof g);
    if (q && q->from && !(has_from = parse_date(q->from, &from_day)))
        return fss__fail(err, FSS_EINVAL, "from \"%.32s\" is not a date (YYYY-MM-DD)", q->from);
    if (q && q->to && !(has_to = parse_date(q->to, &to_day)))
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
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = fss__dbfail(err, c->db, "activity");
        goto done;
    }
    if (q && q->rep)
        sqlite3_bind_text(st, 1, q->rep, -1, SQLITE_STATIC);
    if (q && q->territory)
        sqlite3_bind_text(st, 2, q->territory, -1, SQLITE_STATIC);
    if (has_from)
        sqlite3_bind_int64(st, 3, calendar_start(&s->calendar, from_day));
    if (has_to)
        sqlite3_bind_int64(st, 4, calendar_start(&s->calendar, to_day + 1));
    fss_buf_puts(out, "[");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *rep = col_text(st, 0), *status = col_text(st, 3);
        const char *ver = col_text(st, 4), *tc = col_text(st, 5), *outcome = col_text(st, 6);
        bool has_day = sqlite3_column_type(st, 2) != SQLITE_NULL;
        int64_t day = has_day ? fss__calendar_day(&s->calendar, sqlite3_column_int64(st, 2)) : 0;

        if (!is_done(status))
            continue;
        if (g.open && (!same_text(g.rep, rep) || g.has_day != has_day || g.day != day))
            group_flush(&g, out, &first);
        if (!g.open) {
            g.open = true;
            g.rep = dup_or_null(rep);
            g.rep_name = dup_or_null(col_text(st, 1));
            g.has_day = has_day;
            g.day = day;
            if ((rep && !g.rep) || (col_text(st, 1) && !g.rep_name)) {
                rc = fss__fail(err, FSS_ENOMEM, "activity");
                goto done;
            }
        }
        g.visits++;
        g.completed += strcmp(status, "completed") == 0;
        g.abandoned += strcmp(status, "abandoned") == 0;
        g.verified += same_text(ver, "verified");
        g.outside += same_text(ver, "outside_geofence");
        g.unverified += !ver || strcmp(ver, "unverified") == 0;
        g.suspect += same_text(tc, "suspect");
        if (outcome) {
            if (g.outcomes.len)
                fss_buf_puts(&g.outcomes, ",");
            fss_json_cstr(&g.outcomes, outcome);
        }
    }
    if (r != SQLITE_DONE) {
        rc = fss__dbfail(err, c->db, "activity");
        goto done;
    }
    group_flush(&g, out, &first);
    fss_buf_puts(out, "]\n");
    if (out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "activity");
done:
    free(g.rep);
    free(g.rep_name);
    fss_buf_free(&g.outcomes);
    sqlite3_finalize(st);
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

static fss_status money_flush(money_group *g, const char *status_key, const char *value_key,
                              const char *unpriced_key, fss_buf *out, bool *first)
{
    if (!g->open)
        return FSS_OK;
    fss_buf_printf(out, "%s{\"%s\":", *first ? "" : ",", status_key);
    *first = false;
    fss_json_cstr(out, g->status);
    fss_buf_puts(out, ",\"currency\":");
    fss_json_cstr(out, g->currency);
    fss_buf_printf(out, ",\"count\":%lld,\"%s\":%lld,\"%s\":%lld}", (long long)g->count,
                   value_key, (long long)g->value, unpriced_key, (long long)g->unpriced);
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

static fss_status pipeline_quotes(fss_conn *c, fss_buf *out, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    money_group g;
    fs_quote_line_amount *lines = NULL;
    size_t n = 0, cap = 0;
    int64_t discount = 0;
    bool first = true, have_quote = false;
    uint8_t cur[16];
    fss_status rc = FSS_OK;
    int r;
    /* A quote row per line (or one with NULL line columns), grouped by
     * status and currency, a quote's lines together. */
    static const char sql[] =
        "SELECT q.id, q.status, q.currency, q.discount, l.id, l.qty, l.unit_price,"
        " l.discount FROM quote q LEFT JOIN quote_line l ON l.quote_id = q.id"
        " AND l.deleted = 0 WHERE q.deleted = 0"
        " ORDER BY q.status, q.currency, q.id";

    memset(&g, 0, sizeof g);
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fss__dbfail(err, c->db, "pipeline");
    fss_buf_puts(out, "\"quotes\":[");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        /* An unset status reads as draft, as on the device (fs_quote.c). */
        const char *status = col_text(st, 1) ? col_text(st, 1)
                                             : fs_quote_state_name(FS_QUOTE_DRAFT);
        const char *currency = col_text(st, 2);
        const void *id = sqlite3_column_blob(st, 0);
        bool same_quote = have_quote && sqlite3_column_bytes(st, 0) == 16 &&
                          memcmp(id, cur, 16) == 0;

        if (!same_quote) {
            if (have_quote && (rc = quote_add(&g, lines, n, discount, err)) != FSS_OK)
                goto done;
            if (g.open && (!same_text(g.status, status) || !same_text(g.currency, currency)))
                money_flush(&g, "status", "value", "unpriced", out, &first);
            if (!g.open && (rc = money_open(&g, status, currency, err)) != FSS_OK)
                goto done;
            memset(cur, 0, sizeof cur);
            if (sqlite3_column_bytes(st, 0) == 16)
                memcpy(cur, id, 16);
            have_quote = true;
            n = 0;
            discount = sqlite3_column_int64(st, 3); /* NULL reads 0 */
        }
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                fs_quote_line_amount *p = realloc(lines, nc * sizeof *p);
                if (!p) {
                    rc = fss__fail(err, FSS_ENOMEM, "pipeline");
                    goto done;
                }
                lines = p;
                cap = nc;
            }
            lines[n].qty = sqlite3_column_int64(st, 5);
            lines[n].unit_price = sqlite3_column_int64(st, 6);
            lines[n].discount_bp = sqlite3_column_int64(st, 7);
            n++;
        }
    }
    if (r != SQLITE_DONE) {
        rc = fss__dbfail(err, c->db, "pipeline");
        goto done;
    }
    if (have_quote && (rc = quote_add(&g, lines, n, discount, err)) != FSS_OK)
        goto done;
    money_flush(&g, "status", "value", "unpriced", out, &first);
    fss_buf_puts(out, "]");
done:
    free(g.status);
    free(g.currency);
    free(lines);
    sqlite3_finalize(st);
    return rc;
}

static fss_status pipeline_contracts(fss_conn *c, fss_buf *out, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    money_group g;
    bool first = true;
    fss_status rc = FSS_OK;
    int r;
    static const char sql[] =
        "SELECT esign_status, currency, amount FROM contract WHERE deleted = 0"
        " ORDER BY esign_status, currency";

    memset(&g, 0, sizeof g);
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fss__dbfail(err, c->db, "pipeline");
    fss_buf_puts(out, "\"contracts\":[");
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = col_text(st, 0) ? col_text(st, 0) : "draft";
        const char *currency = col_text(st, 1);
        if (g.open && (!same_text(g.status, status) || !same_text(g.currency, currency)))
            money_flush(&g, "esign_status", "amount", "no_amount", out, &first);
        if (!g.open && (rc = money_open(&g, status, currency, err)) != FSS_OK)
            goto done;
        g.count++;
        if (sqlite3_column_type(st, 2) == SQLITE_NULL)
            g.unpriced++;
        else if (__builtin_add_overflow(g.value, sqlite3_column_int64(st, 2), &g.value)) {
            rc = fss__fail(err, FSS_EINVAL, "pipeline: the %s contract amount overflows",
                           currency ? currency : "(no currency)");
            goto done;
        }
    }
    if (r != SQLITE_DONE) {
        rc = fss__dbfail(err, c->db, "pipeline");
        goto done;
    }
    money_flush(&g, "esign_status", "amount", "no_amount", out, &first);
    fss_buf_puts(out, "]");
done:
    free(g.status);
    free(g.currency);
    sqlite3_finalize(st);
    return rc;
}

fss_status fss_admin_pipeline(fss_server *s, fss_buf *out, fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    /* One read transaction: quotes and contracts from the same snapshot. */
    if ((rc = fss__exec(c, "BEGIN", err)) != FSS_OK)
        goto done;
    fss_buf_puts(out, "{");
    if ((rc = pipeline_quotes(c, out, err)) == FSS_OK) {
        fss_buf_puts(out, ",");
        rc = pipeline_contracts(c, out, err);
    }
    fss_buf_puts(out, "}\n");
    (void)fss__exec(c, "COMMIT", NULL);
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

static bool check_row(const fs_row *row, const fs_store_rowinfo *info, void *payload)
{
    check_ctx *x = payload;

    (void)info;
    fs_row_violations(row, NULL, false, x->now_ms, check_violation, x);
    return !x->out->oom;
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
    if ((rc = fss__exec(c, "BEGIN", err)) != FSS_OK)
        goto done;
    all = fs_schema_entities(&n);
    for (size_t i = 0; i < n && rc == FSS_OK; i++)
        if (fs_store_since(c->store, all[i], -1, 0, check_row, &x, NULL, &serr) !=
            FS_STORE_OK)
            rc = fss__fail(err, FSS_EDB, "check %s: %s", all[i]->name, serr.text);
    (void)fss__exec(c, "COMMIT", NULL);
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "check");
    if (bad)
        *bad = x.bad;
done:
    fss__conn_put(s, c);
    return rc;
}
