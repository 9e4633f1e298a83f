/*
 * test_conflict_money.c - ISO 4217 exponents, money and percent text
 * (fs_money.c) as data tables: formatting across currencies with 0, 2 and 3
 * decimals, parsing what people type, refusals with their reasons, and the
 * round trip minor units -> text -> minor units.
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

static void test_exponents(void **state)
{
    static const struct { const char *code; int exp; } cases[] = {
        {"JPY", 0}, {"KRW", 0}, {"EUR", 2}, {"USD", 2}, {"CNY", 2},
        {"BHD", 3}, {"KWD", 3}, {"TND", 3}, {"XYZ", -1}, {"eur", -1},
        {"EU", -1}, {"", -1},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++)
        assert_int_equal(fs_currency_exponent(cases[i].code), cases[i].exp);
    assert_int_equal(fs_currency_exponent(NULL), -1);
}

static void test_normalise(void **state)
{
    static const struct { const char *in, *out; } cases[] = {
        {"eur", "EUR"}, {"Eur", "EUR"}, {"JPY", "JPY"}, {"bhd", "BHD"},
        {"xyz", NULL}, {"euro", NULL}, {"e", NULL}, {"", NULL},
    };
    char out[4];
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        bool ok = fs_currency_normalise(cases[i].in, out);
        assert_int_equal(ok, cases[i].out != NULL);
        if (ok)
            assert_string_equal(out, cases[i].out);
    }
}

static void test_format(void **state)
{
    static const struct {
        int64_t minor;
        const char *cur;
        fs_money_style style;
        const char *want;
    } cases[] = {
        {125629, "EUR", FS_MONEY_CODE, "EUR 1,256.29"},
        {125629, "EUR", FS_MONEY_SYMBOL, "\xe2\x82\xac" "1,256.29"},
        {5, "EUR", FS_MONEY_CODE, "EUR 0.05"},
        {0, "USD", FS_MONEY_SYMBOL, "$0.00"},
        {-1999, "GBP", FS_MONEY_SYMBOL, "-\xc2\xa3" "19.99"},
        {1234567, "JPY", FS_MONEY_CODE, "JPY 1,234,567"},
        {1234567, "JPY", FS_MONEY_SYMBOL, "\xc2\xa5" "1,234,567"},
        {1234, "BHD", FS_MONEY_CODE, "BHD 1.234"},
        {1, "KWD", FS_MONEY_SYMBOL, "KWD 0.001"}, /* no symbol: the code */
        {100000000, "CHF", FS_MONEY_SYMBOL, "CHF 1,000,000.00"},
        {999, "EUR", FS_MONEY_CODE, "EUR 9.99"},
        {100000, "EUR", FS_MONEY_CODE, "EUR 1,000.00"},
        {INT64_MIN, "JPY", FS_MONEY_CODE, "-JPY 9,223,372,036,854,775,808"},
        {42, "XYZ", FS_MONEY_CODE, "XYZ 42"}, /* unknown: the stored integer */
    };
    char out[64];
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        size_t n = fs_money_format(cases[i].minor, cases[i].cur, cases[i].style,
                                   out, sizeof out);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    /* snprintf semantics: a short buffer is cut, the length still told. */
    assert_int_equal(fs_money_format(125629, "EUR", FS_MONEY_CODE, out, 5), 12);
    assert_string_equal(out, "EUR ");
}

static void test_parse(void **state)
{
    static const struct {
        const char *text, *cur;
        int64_t want;     /* when err is NULL */
        const char *err;  /* a part of the refusal's message */
    } cases[] = {
        {"39", "EUR", 3900, NULL},
        {"39.00", "EUR", 3900, NULL},
        {"39.5", "EUR", 3950, NULL},
        {"39.", "EUR", 3900, NULL},
        {".5", "EUR", 50, NULL},
        {"0", "EUR", 0, NULL},
        {"1256.29", "EUR", 125629, NULL},
        {"1000", "JPY", 1000, NULL},
        {"1.234", "BHD", 1234, NULL},
        {"1.2", "BHD", 1200, NULL},
        {"39.123", "EUR", 0, "more than 2 decimals"},
        {"10.5", "JPY", 0, "JPY has no decimals"},
        {"1.2345", "BHD", 0, "more than 3 decimals"},
        {"1,256.29", "EUR", 0, "'.' before the decimals"},
        {"39,50", "EUR", 0, "'.' before the decimals"},
        {"-5", "EUR", 0, "'.' before the decimals"},
        {"abc", "EUR", 0, "'.' before the decimals"},
        {"1.2.3", "EUR", 0, "'.' before the decimals"},
        {"", "EUR", 0, "empty"},
        {".", "EUR", 0, "no digits"},
        {"92233720368547759", "EUR", 0, "too large"},
        {"99999999999999999999", "JPY", 0, "too large"},
        {"39", "XYZ", 0, "not an ISO 4217"},
    };
    fs_error err;
    int64_t v;
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        memset(&err, 0, sizeof err);
        v = -1;
        fs_status st = fs_money_parse(cases[i].text, cases[i].cur, &v, &err);
        if (!cases[i].err) {
            assert_int_equal(st, FS_OK);
            assert_int_equal(v, cases[i].want);
        } else {
            assert_int_not_equal(st, FS_OK);
            assert_int_equal(v, -1); /* nothing written on failure */
            if (!strstr(err.text, cases[i].err))
                fail_msg("'%s' %s: '%s' lacks '%s'", cases[i].text, cases[i].cur,
                         err.text, cases[i].err);
        }
    }
}

/* Every amount formatted in the code style, with the grouping commas and
 * the code removed, parses back to the same minor units. */
static void test_round_trip(void **state)
{
    static const char *curs[] = {"JPY", "EUR", "BHD"};
    static const int64_t amounts[] = {0, 1, 9, 10, 99, 100, 101, 999, 1000,
                                      123456, 99999999, 1000000000000000LL};
    char out[64], typed[64];
    int64_t v;
    (void)state;
    for (size_t c = 0; c < N(curs); c++)
        for (size_t a = 0; a < N(amounts); a++) {
            size_t k = 0;
            fs_money_format(amounts[a], curs[c], FS_MONEY_CODE, out, sizeof out);
            for (const char *p = out + 4; *p; p++)
                if (*p != ',')
                    typed[k++] = *p;
            typed[k] = '\0';
            assert_int_equal(fs_money_parse(typed, curs[c], &v, NULL), FS_OK);
            assert_int_equal(v, amounts[a]);
        }
}

static void test_percent(void **state)
{
    static const struct { const char *text; int64_t bp; const char *err; } in[] = {
        {"2.5%", 250, NULL}, {"2.5", 250, NULL}, {"15%", 1500, NULL},
        {"0.01%", 1, NULL}, {"100%", 10000, NULL}, {"0", 0, NULL},
        {"100.01%", 0, "over 100%"}, {"0.001%", 0, "more than 2 decimals"},
        {"-1%", 0, "'.' before"}, {"%", 0, "empty"}, {"2,5%", 0, "'.' before"},
    };
    static const struct { int64_t bp; const char *text; } out[] = {
        {250, "2.5%"}, {1000, "10%"}, {1, "0.01%"}, {0, "0%"},
        {10000, "100%"}, {1234, "12.34%"}, {-50, "-0.5%"},
    };
    fs_error err;
    char buf[32];
    int64_t v;
    (void)state;
    for (size_t i = 0; i < N(in); i++) {
        memset(&err, 0, sizeof err);
        fs_status st = fs_percent_parse(in[i].text, &v, &err);
        if (!in[i].err) {
            assert_int_equal(st, FS_OK);
            assert_int_equal(v, in[i].bp);
        } else {
            assert_int_not_equal(st, FS_OK);
            if (!strstr(err.text, in[i].err))
                fail_msg("'%s': '%s' lacks '%s'", in[i].text, err.text, in[i].err);
        }
    }
    for (size_t i = 0; i < N(out); i++) {
        fs_percent_format(out[i].bp, buf, sizeof buf);
        assert_string_equal(buf, out[i].text);
    }
    /* Round trip over every basis point. */
    for (int64_t bp = 0; bp <= 10000; bp++) {
        fs_percent_format(bp, buf, sizeof buf);
        assert_int_equal(fs_percent_parse(buf, &v, NULL), FS_OK);
        assert_int_equal(v, bp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponents),  cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_format),     cmocka_unit_test(test_parse),
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
