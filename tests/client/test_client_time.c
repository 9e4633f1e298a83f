/*
 * test_client_time.c - times as a rep types and reads them (fc_time.c), as
 * data tables run in time zones with and without daylight saving (TZ is
 * set per case): local wall-clock times, offsets, dates, relative forms
 * across a DST change, refusals, display with the offset, and the local
 * day's bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fieldclient.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BAD INT64_MIN

static void zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* Unix ms of a UTC calendar time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};

    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * 1000;
}

static void test_parse(void **state)
{
    const int64_t dec = utc(2026, 12, 5, 12, 0, 0); /* 13:00 in Berlin */
    const int64_t mar = utc(2026, 3, 28, 12, 0, 0); /* the day before CEST */
    const struct {
        const char *tz, *text;
        int64_t now, want; /* BAD: refused */
        bool day;
    } cases[] = {
        {"Europe/Berlin", "now", dec, dec, false},
        {"Europe/Berlin", "today", dec, utc(2026, 12, 4, 23, 0, 0), true},
        {"Europe/Berlin", "tomorrow", dec, utc(2026, 12, 5, 23, 0, 0), true},
        {"Europe/Berlin", "yesterday", dec, utc(2026, 12, 3, 23, 0, 0), true},
        {"Europe/Berlin", "2026-12-08", dec, utc(2026, 12, 7, 23, 0, 0), true},
        {"Europe/Berlin", "2026-12-08T09:00", dec, utc(2026, 12, 8, 8, 0, 0), false},
        {"Europe/Berlin", "2026-12-08 09:00", dec, utc(2026, 12, 8, 8, 0, 0), false},
        {"Europe/Berlin", "2026-07-08T09:00", dec, utc(2026, 7, 8, 7, 0, 0), false},
        {"Europe/Berlin", "2026-12-08T09:00:30", dec, utc(2026, 12, 8, 8, 0, 30), false},
        {"Europe/Berlin", "2026-12-08T09:00Z", dec, utc(2026, 12, 8, 9, 0, 0), false},
        {"Europe/Berlin", "2026-12-08T09:00+01:00", dec, utc(2026, 12, 8, 8, 0, 0), false},
        {"Europe/Berlin", "2026-12-08T09:00:30.5-05:00", dec,
         utc(2026, 12, 8, 14, 0, 30) + 500, false},
        {"Europe/Berlin", "2026-12-08T09:00+0530", dec, utc(2026, 12, 8, 3, 30, 0), false},
        {"Europe/Berlin", "+3d", dec, dec + 3 * 86400000LL, false},
        {"Europe/Berlin", "+1w", dec, dec + 7 * 86400000LL, false},
        {"Europe/Berlin", "+2h", dec, dec + 2 * 3600000LL, false},
        {"Europe/Berlin", "-30m", dec, dec - 30 * 60000LL, false},
        /* +1d across the spring change: the same wall-clock time, 23 h. */
        {"Europe/Berlin", "+1d", mar, mar + 23 * 3600000LL, false},
        {"Europe/Berlin", "tomorrow", mar, utc(2026, 3, 28, 23, 0, 0), true},
        {"America/New_York", "2026-12-08T09:00", dec, utc(2026, 12, 8, 14, 0, 0), false},
        {"America/New_York", "today", dec, utc(2026, 12, 5, 5, 0, 0), true},
        {"UTC", "2026-12-08T09:00", dec, utc(2026, 12, 8, 9, 0, 0), false},
        {"UTC", "1767222000000", dec, 1767222000000LL, false},
        {"UTC", "2026-02-31", dec, BAD, false},
        {"UTC", "2026-13-01", dec, BAD, false},
        {"UTC", "2026-12-08T25:00", dec, BAD, false},
        {"UTC", "2026-12-08T09", dec, BAD, false},
        {"UTC", "2026-12-08T09:00+1", dec, BAD, false},
        {"UTC", "12:00", dec, BAD, false},
        {"UTC", "+3x", dec, BAD, false},
        {"UTC", "+", dec, BAD, false},
        {"UTC", "+d", dec, BAD, false},
        {"UTC", "soon", dec, BAD, false},
        {"UTC", "-5", dec, BAD, false},
        {"UTC", "", dec, BAD, false},
    };
    fs_error err;
    int64_t v;
    bool day;

    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        zone(cases[i].tz);
        memset(&err, 0, sizeof err);
        day = !cases[i].day;
        fc_status st = fc_time_parse(cases[i].text, cases[i].now, &v, &day, &err);
        if (cases[i].want == BAD) {
            if (st != FC_EINVAL || !strstr(err.text, "is not a time"))
                fail_msg("'%s' in %s: accepted (%lld)", cases[i].text, cases[i].tz,
                         (long long)v);
            continue;
        }
        if (st != FC_OK)
            fail_msg("'%s' in %s: %s", cases[i].text, cases[i].tz, err.text);
        if (v != cases[i].want)
            fail_msg("'%s' in %s: %lld, want %lld", cases[i].text, cases[i].tz,
                     (long long)v, (long long)cases[i].want);
        assert_int_equal(day, cases[i].day);
    }
}

static void test_format_and_days(void **state)
{
    const struct { const char *tz; int64_t ms; const char *want, *utc; } fmt[] = {
        {"Europe/Berlin", utc(2026, 12, 8, 8, 0, 0), "2026-12-08 09:00 +01:00",
         "2026-12-08T08:00:00Z"},
        {"Europe/Berlin", utc(2026, 7, 8, 7, 0, 0), "2026-07-08 09:00 +02:00",
         "2026-07-08T07:00:00Z"},
        {"America/New_York", utc(2026, 12, 8, 8, 0, 0), "2026-12-08 03:00 -05:00",
         "2026-12-08T08:00:00Z"},
        {"Asia/Kolkata", utc(2026, 12, 8, 8, 0, 0), "2026-12-08 13:30 +05:30",
         "2026-12-08T08:00:00Z"},
        {"UTC", utc(1970, 1, 1, 0, 0, 0), "1970-01-01 00:00 +00:00", "1970-01-01T00:00:00Z"},
    };
    char out[64];
    int64_t a, b;

    (void)state;
    for (size_t i = 0; i < N(fmt); i++) {
        zone(fmt[i].tz);
        assert_int_equal(fc_time_format(fmt[i].ms, false, out, sizeof out),
                         strlen(fmt[i].want));
        assert_string_equal(out, fmt[i].want);
        fc_time_format(fmt[i].ms, true, out, sizeof out);
        assert_string_equal(out, fmt[i].utc);
    }
    /* The local day: 23 hours on the spring change, 25 in the autumn. */
    zone("Europe/Berlin");
    assert_int_equal(fc_day_bounds(utc(2026, 3, 29, 12, 0, 0), &a, &b, NULL), FC_OK);
    assert_int_equal(a, utc(2026, 3, 28, 23, 0, 0));
    assert_int_equal(b - a, 23 * 3600000LL);
    assert_int_equal(fc_day_bounds(utc(2026, 10, 25, 12, 0, 0), &a, &b, NULL), FC_OK);
    assert_int_equal(b - a, 25 * 3600000LL);
    /* 23:30 local on the 5th is still the 5th, though it is the 5th in UTC
     * only until 23:00. */
    assert_int_equal(fc_day_bounds(utc(2026, 12, 5, 22, 30, 0), &a, &b, NULL), FC_OK);
    assert_int_equal(a, utc(2026, 12, 4, 23, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_format_and_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
