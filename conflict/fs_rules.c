/*
 * fs_rules.c - row-level rules: what must hold across the fields of one row,
 * which the per-field check (fs_field_check) cannot see.
 *
 * The rules: event times (fields flagged FS_FIELD_WINDOW) lie in the time
 * window [2000-01-01, now + 2 years]; a visit's check-out is not before its
 * check-in; a coordinate pair (lat/lon) is set together or not at all; a new
 * row sets every FS_FIELD_REQUIRED field. They are judged on the MERGED row,
 * so a change that writes only checkout_at is held against the stored
 * check-in. Every write path runs them: the client before it queues a
 * change, the server's sync apply and its one door for server-side writes
 * (imports, admin edits, conflict resolutions, the demo loader), and
 * `sync-server check` over a whole store. "Now" is a parameter: this
 * library has no clock.
 */
#include "fs_conflict_int.h"

#include <stdio.h>
#include <string.h>

/* "2026-12-05 10:30 UTC" for Unix milliseconds (proleptic Gregorian, the
 * days-to-civil conversion), so a message shows a date, not a number. */
void fs__format_utc(int64_t ms, char *out, size_t cap)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    snprintf(out, cap, "%04lld-%02lld-%02lld %02lld:%02lld UTC", (long long)y,
             (long long)m, (long long)d, (long long)(sod / 3600),
             (long long)(sod % 3600 / 60));
}

fs_status fs_time_window_check(const fs_entity *e, const fs_field *f, int64_t ms,
                               uint64_t now_ms, fs_error *err)
{
    char at[40], lim[40];

    if (!e || !f)
        return fs_error_set(err, FS_EINVAL, "fs_time_window_check: NULL argument");
    if (!(f->flags & FS_FIELD_WINDOW))
        return FS_OK;
    if (ms < FS_TIME_MIN_MS) {
        fs__format_utc(ms, at, sizeof at);
        return fs_error_set(err, FS_ERANGE, "%s.%s: %s is before 2000-01-01",
                            e->name, f->name, at);
    }
    if (now_ms && now_ms <= (uint64_t)INT64_MAX - FS_TIME_MAX_AHEAD_MS &&
        ms > (int64_t)now_ms + FS_TIME_MAX_AHEAD_MS) {
        fs__format_utc(ms, at, sizeof at);
        fs__format_utc((int64_t)now_ms + FS_TIME_MAX_AHEAD_MS, lim, sizeof lim);
        return fs_error_set(err, FS_ERANGE,
                            "%s.%s: %s is more than two years ahead (latest %s)",
                            e->name, f->name, at, lim);
    }
    return FS_OK;
}

/* Cross-field rules, declared as data. */
typedef enum rule_kind {
    RULE_PAIR,  /* a and b are both set or both unset */
    RULE_ORDER  /* when both are set, a <= b */
} rule_kind;

typedef struct row_rule {
    const char *entity;
    rule_kind kind;
    const char *a, *b;
    const char *what; /* readable names of a and b, for the message */
} row_rule;

static const row_rule row_rules[] = {
    {"customer", RULE_PAIR, "lat", "lon", "coordinates"},
    {"visit", RULE_PAIR, "checkin_lat", "checkin_lon", "check-in coordinates"},
    {"visit", RULE_PAIR, "checkout_lat", "checkout_lon", "check-out coordinates"},
    {"visit", RULE_ORDER, "checkin_at", "checkout_at", "check-out before check-in"},
};

/* Does change c (NULL = "judge everything") write slot s? */
static bool writes(const fs_change *c, int s)
{
    if (!c)
        return true;
    for (size_t i = 0; i < c->nfields; i++)
        if (c->fields[i].slot == s)
            return true;
    return false;
}

typedef struct first_ctx {
    fs_error *err;
    fs_status st;
} first_ctx;

static bool report(fs_violation_fn fn, void *payload, const fs_row *row, int field,
                   fs_status code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static bool report(fs_violation_fn fn, void *payload, const fs_row *row, int field,
                   fs_status code, const char *fmt, ...)
{
    fs_error e;
    va_list ap;

    va_start(ap, fmt);
    fs_error_vset(&e, code, fmt, ap);
    va_end(ap);
    return fn(row, field, code, e.text, payload);
}

size_t fs_row_violations(const fs_row *row, const fs_change *c, bool created,
                         uint64_t now_ms, fs_violation_fn fn, void *payload)
{
    const fs_entity *e;
    size_t n = 0;
    fs_error ferr;

    if (!row || !row->entity || !row->cells || !fn)
        return 0;
    e = row->entity;
    /* The whole-row audit re-checks every stored value as a write would. */
    for (size_t s = 0; !c && s < e->nfields; s++) {
        const fs_value *v = &row->cells[s].v;
        if (v->kind == FS_VAL_NULL)
            continue; /* required fields are the create rule's, below */
        memset(&ferr, 0, sizeof ferr);
        if (fs_field_check(&e->fields[s], v, &ferr) != FS_OK) {
            n++;
            if (!report(fn, payload, row, (int)s, (fs_status)ferr.code, "%s: %s",
                        e->name, ferr.text))
                return n;
        }
    }
    /* A deleted row is hidden; what it holds matters again on a restore,
     * which is a write of its own and judged then. */
    if (row->deleted)
        return n;
    for (size_t s = 0; s < e->nfields; s++) {
        const fs_field *f = &e->fields[s];
        const fs_value *v = &row->cells[s].v;
        if ((f->flags & FS_FIELD_REQUIRED) && v->kind == FS_VAL_NULL &&
            (created || !c)) {
            n++;
            if (!report(fn, payload, row, (int)s, FS_ERANGE,
                        "a new %s needs a %s (%s.%s is required)", e->name, f->name,
                        e->name, f->name))
                return n;
        }
        if ((f->flags & FS_FIELD_WINDOW) && v->kind == FS_VAL_INT && writes(c, (int)s)) {
            memset(&ferr, 0, sizeof ferr);
            if (fs_time_window_check(e, f, v->u.i, now_ms, &ferr) != FS_OK) {
                n++;
                if (!fn(row, (int)s, (fs_status)ferr.code, ferr.text, payload))
                    return n;
            }
        }
    }
    for (size_t r = 0; r < sizeof row_rules / sizeof row_rules[0]; r++) {
        const row_rule *rr = &row_rules[r];
        int a, b;
        const fs_value *va, *vb;
        if (strcmp(rr->entity, e->name) != 0)
            continue;
        a = fs_entity_field_index(e, rr->a);
        b = fs_entity_field_index(e, rr->b);
        if (a < 0 || b < 0 || !(writes(c, a) || writes(c, b)))
            continue;
        va = &row->cells[a].v;
        vb = &row->cells[b].v;
        if (rr->kind == RULE_PAIR && (va->kind == FS_VAL_NULL) != (vb->kind == FS_VAL_NULL)) {
            int missing = va->kind == FS_VAL_NULL ? a : b;
            n++;
            if (!report(fn, payload, row, missing, FS_ERANGE,
                        "%s.%s: %s need both %s and %s (%s is unset)", e->name,
                        e->fields[missing].name, rr->what, rr->a, rr->b,
                        e->fields[missing].name))
                return n;
        } else if (rr->kind == RULE_ORDER && va->kind == FS_VAL_INT &&
                   vb->kind == FS_VAL_INT && vb->u.i < va->u.i) {
            char ta[40], tb[40];
            fs__format_utc(va->u.i, ta, sizeof ta);
            fs__format_utc(vb->u.i, tb, sizeof tb);
            n++;
            if (!report(fn, payload, row, b, FS_ERANGE, "%s.%s: %s is before %s %s (%s)",
                        e->name, rr->b, tb, rr->a, ta, rr->what))
                return n;
        }
    }
    return n;
}

static bool take_first(const fs_row *row, int field, fs_status code,
                       const char *reason, void *payload)
{
    first_ctx *x = payload;

    (void)row;
    (void)field;
    x->st = code;
    fs_error_set(x->err, code, "%s", reason);
    return false;
}

fs_status fs_row_check(const fs_row *row, const fs_change *c, bool created,
                       uint64_t now_ms, fs_error *err)
{
    first_ctx x = {err, FS_OK};

    if (!row || !row->entity || !row->cells)
        return fs_error_set(err, FS_EINVAL, "fs_row_check: NULL argument");
    fs_row_violations(row, c, created, now_ms, take_first, &x);
    return x.st;
}

bool fs_row_complete(const fs_row *row)
{
    const fs_entity *e = row ? row->entity : NULL;

    if (!e || !row->cells)
        return false;
    for (size_t s = 0; s < e->nfields; s++)
        if ((e->fields[s].flags & FS_FIELD_REQUIRED) && row->cells[s].v.kind == FS_VAL_NULL)
            return false;
    return true;
}
