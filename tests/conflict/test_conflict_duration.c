/*
 * test_conflict_duration.c - durations as people type them (fs_duration.c)
 * as a table: every unit, combinations, bare seconds, and the refusals
 * with the error each gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs_conflict.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_accepted(void **state)
{
    static const struct { const char *in; uint64_t s; } cases[] = {
        {"1d", 86400}, {"12h", 43200}, {"30m", 1800}, {"2w", 1209600},
        {"90s", 90}, {"600", 600}, {"0", 0}, {"1h30m", 5400},
        {"1w2d", 777600}, {"7d", 604800}, {"0m", 0}, {"36h", 129600},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        uint64_t s = 12345;
        fs_error err = {0};
        if (fs_duration_parse(cases[i].in, &s, &err) != FS_OK)
            fail_msg("\"%s\" refused: %s", cases[i].in, err.text);
        if (s != cases[i].s)
            fail_msg("\"%s\" -> %llu, want %llu", cases[i].in,
                     (unsigned long long)s, (unsigned long long)cases[i].s);
    }
}

static void test_refused(void **state)
{
    static const struct { const char *in; fs_status st; const char *says; } cases[] = {
        {"", FS_ERANGE, "empty"},
        {"d", FS_ERANGE, "not a duration"},
        {"1y", FS_ERANGE, "unknown unit 'y'"},
        {"1 d", FS_ERANGE, "unknown unit ' '"},
        {"-1d", FS_ERANGE, "not a duration"},
        {"1.5h", FS_ERANGE, "unknown unit '.'"},
        {"1h30", FS_ERANGE, "without a unit"},
        {"1D", FS_ERANGE, "unknown unit 'D'"},
        {"99999999999999999999", FS_EOVERFLOW, "too long"},
        {"9999999999999999w", FS_EOVERFLOW, "too long"},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        uint64_t s = 777;
        fs_error err = {0};
        fs_status st = fs_duration_parse(cases[i].in, &s, &err);
        if (st != cases[i].st)
            fail_msg("\"%s\": status %d, want %d", cases[i].in, (int)st, (int)cases[i].st);
        if (!strstr(err.text, cases[i].says))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].in, err.text,
                     cases[i].says);
        assert_int_equal(s, 777); /* nothing written on a refusal */
    }
    assert_int_equal(fs_duration_parse(NULL, NULL, NULL), FS_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
