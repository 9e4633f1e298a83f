/*
 * fc_time.c - times as a rep types them, read in the rep's own time zone.
 *
 * The replica stores instants as Unix milliseconds (UTC). A rep types
 * wall-clock times: "2026-12-08T09:00" means nine o'clock where the rep is
 * (TZ, else the system's zone), not in Greenwich. Accepted forms:
 *
 *   now | today | tomorrow | yesterday         (the day forms: local midnight)
 *   +3d -2h +90m +1w                           (relative to now; d and w move
 *                                               the local calendar, so "+1d"
 *                                               across a DST change is the
 *                                               same wall-clock time)
 *   2026-12-08                                 (local midnight of that day)
 *   2026-12-08T09:00[:SS[.fff]]  or with ' '   (local wall-clock time)
 *   ... followed by Z, +01:00, -0500           (that offset, RFC 3339)
 *   1767222000000                              (Unix ms, for scripts)
 *
 * A local time that does not exist (skipped by a DST change) or exists
 * twice is resolved the way mktime resolves it. The C library's zone
 * state is the process's: this file reads it (localtime_r, mktime) and
 * never changes it.
 */
#include "fc_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL

static const char forms[] =
    "now, today, tomorrow, yesterday, +3d/-2h/+30m/+1w, YYYY-MM-DD, "
    "YYYY-MM-DDTHH:MM[:SS] (your time zone) or with Z/+01:00";

/* Local midnight of the day `days` after the local day holding ms. */
static bool local_midnight(int64_t ms, int days, int64_t *out)
{
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;

    if (!localtime_r(&t, &tm))
        return false;
    tm.tm_mday += days;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    if ((t = mktime(&tm)) == (time_t)-1)
        return false;
    *out = (int64_t)t * 1000;
    return true;
}

fc_status fc_day_bounds(int64_t ms, int64_t *start_ms, int64_t *end_ms, fs_error *err)
{
    if (!local_midnight(ms, 0, start_ms) || !local_midnight(ms, 1, end_ms))
        return fc__fail(err, FC_EINVAL, "time %lld is outside the calendar",
                        (long long)ms);
    return FC_OK;
}

/* "+3d": now moved by n units; d and w move the local calendar. */
static bool relative(const char *s, int64_t now, int64_t *out)
{
    char *end;
    long n;
    time_t t;
    struct tm tm;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || end == s + 1 || end[0] == '\0' || end[1] != '\0' || n > 36500 ||
        n < -36500)
        return false;
    switch (*end) {
    case 'm': *out = now + (int64_t)n * 60000; return true;
    case 'h': *out = now + (int64_t)n * 3600000; return true;
    case 'd':
    case 'w':
        t = (time_t)(now / 1000);
        if (!localtime_r(&t, &tm))
            return false;
        tm.tm_mday += (int)(*end == 'w' ? n * 7 : n);
        tm.tm_isdst = -1;
        if ((t = mktime(&tm)) == (time_t)-1)
            return false;
        *out = (int64_t)t * 1000 + now % 1000;
        return true;
    default:
        return false;
    }
}

/* Reads exactly n digits at *s into *v and advances *s. */
static bool digits(const char **s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (!isdigit((unsigned char)**s))
            return false;
        *v = *v * 10 + (**s - '0');
    }
    return true;
}

/* A calendar date and optional time, local or with an offset. */
static bool absolute(const char *s, int64_t *out, bool *date_only)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, oh, om, sign = 0;
    time_t t;

    memset(&tm, 0, sizeof tm);
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d))
        return false;
    *date_only = *s == '\0';
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
            return false;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &sec))
                return false;
            if (*s == '.') { /* fractions: milliseconds kept, the rest cut */
                int k = 0;
                for (s++; isdigit((unsigned char)*s); s++, k++)
                    if (k < 3)
                        ms = ms * 10 + (*s - '0');
                if (!k)
                    return false;
                for (; k < 3; k++)
                    ms *= 10;
            }
        }
        if (*s == 'Z' || *s == 'z') {
            sign = 1, oh = om = 0;
            s++;
        } else if (*s == '+' || *s == '-') {
            sign = *s++ == '-' ? -1 : 1;
            if (!digits(&s, 2, &oh))
                return false;
            if (*s == ':')
                s++;
            if (!digits(&s, 2, &om) || oh > 23 || om > 59)
                return false;
        }
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (sign) {
        t = timegm(&tm);
        if (t == (time_t)-1 || tm.tm_mday != d)
            return false;
        t -= (time_t)sign * (oh * 3600 + om * 60);
    } else {
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t)-1 || (tm.tm_mday != d && h == 0 && mi == 0))
            return false; /* e.g. 2026-02-31 normalised into March */
        if (tm.tm_mon != mo - 1 && tm.tm_mday != d)
            return false;
    }
    *out = (int64_t)t * 1000 + ms;
    return true;
}

fc_status fc_time_parse(const char *text, int64_t now_ms, int64_t *out_ms,
                        bool *date_only, fs_error *err)
{
    bool day = false;
    int64_t v = 0;
    char *end;
    bool ok;

    if (!text || !out_ms)
        return fc__fail(err, FC_EINVAL, "time: NULL argument");
    if (strcmp(text, "now") == 0) {
        v = now_ms;
        ok = true;
    } else if (strcmp(text, "today") == 0 || strcmp(text, "tomorrow") == 0 ||
               strcmp(text, "yesterday") == 0) {
        day = true;
        ok = local_midnight(now_ms, text[0] == 'y' ? -1 : text[2] == 'm' ? 1 : 0, &v);
    } else if (text[0] == '+' || text[0] == '-') {
        ok = relative(text, now_ms, &v);
    } else if (strlen(text) >= 10 && text[4] == '-') {
        ok = absolute(text, &v, &day);
    } else {
        errno = 0;
        v = strtoll(text, &end, 10);
        ok = !errno && *text && !*end && v >= 0;
    }
    if (!ok)
        return fc__fail(err, FC_EINVAL, "'%.60s' is not a time (%s)", text, forms);
    *out_ms = v;
    if (date_only)
        *date_only = day;
    return FC_OK;
}

size_t fc_time_format(int64_t ms, bool utc, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;
    char zone[8] = "Z";
    size_t n;

    if (!cap)
        return 0;
    out[0] = '\0';
    if (!(utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)))
        return 0;
    if (utc)
        return strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = strftime(out, cap, "%Y-%m-%d %H:%M ", &tm);
    {
        long off = tm.tm_gmtoff / 60, a = off < 0 ? -off : off;
        snprintf(zone, sizeof zone, "%c%02ld:%02ld", off < 0 ? '-' : '+', (a / 60) % 100,
                 a % 60);
    }
    return n ? n + (size_t)snprintf(out + n, cap - n, "%s", zone) : 0;
}
