/*
 * test_conflict_id.c - 128-bit time-ordered ids (UUIDv7): generation from
 * the OS random source, the deterministic constructor, formatting, parsing
 * (and rejection of every malformed form), ordering and the embedded time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conflict/fs_testkit.h"

static const char sample[] = "0190e7c2-1a2b-7c3d-8e4f-0123456789ab";

static void assert_v7(const fs_id *id)
{
    assert_int_equal(id->b[6] >> 4, 7);          /* version 7 */
    assert_int_equal(id->b[8] & 0xC0, 0x80);     /* RFC 9562 variant */
}

static void test_new_layout(void **state)
{
    (void)state;
    fs_id a, b;
    fs_error err = {0};
    uint64_t now = UINT64_C(1730000000123);

    assert_int_equal(fs_id_new(now, &a, &err), FS_OK);
    assert_int_equal(fs_id_new(now, &b, &err), FS_OK);
    assert_v7(&a);
    assert_v7(&b);
    assert_int_equal(fs_id_time_ms(&a), now);
    assert_int_equal(fs_id_time_ms(&b), now);
    /* 74 random bits: two ids in the same millisecond differ. */
    assert_int_not_equal(fs_id_cmp(&a, &b), 0);
    assert_false(fs_id_is_nil(&a));
}

static void test_new_unique_and_ordered(void **state)
{
    (void)state;
    enum { N = 2000 };
    static fs_id ids[N];

    for (int i = 0; i < N; i++) {
        assert_int_equal(fs_id_new(UINT64_C(1700000000000) + (uint64_t)i / 4, &ids[i], NULL),
                         FS_OK);
        assert_v7(&ids[i]);
    }
    for (int i = 1; i < N; i++) {
        /* A later millisecond always sorts later. */
        if (i % 4 == 0)
            assert_true(fs_id_cmp(&ids[i - 1], &ids[i]) < 0);
        for (int j = (i > 8 ? i - 8 : 0); j < i; j++)
            assert_int_not_equal(fs_id_cmp(&ids[j], &ids[i]), 0);
    }
    /* The random part varies in every byte over 2000 ids. */
    for (int byte = 6; byte < 16; byte++) {
        int varies = 0;
        for (int i = 1; i < N && !varies; i++)
            varies = ids[i].b[byte] != ids[0].b[byte];
        assert_true(varies);
    }
}

static void test_new_null(void **state)
{
    (void)state;
    fs_error err = {0};

    assert_int_equal(fs_id_new(1, NULL, &err), FS_EINVAL);
    assert_int_equal(err.code, FS_EINVAL);
    assert_true(strlen(err.text) > 0);
    assert_int_equal(fs_id_new(1, NULL, NULL), FS_EINVAL);
}

static void test_from_parts(void **state)
{
    (void)state;
    const uint8_t rnd[10] = {0xFC, 0x3D, 0x0E, 0x4F, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB};
    const uint8_t rnd2[10] = {0xFC, 0x3D, 0x0E, 0x4F, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAC};
    fs_id a, b, c;
    char s[FS_ID_STRLEN + 1];

    fs_id_from_parts(UINT64_C(0x0190e7c21a2b), rnd, &a);
    fs_id_from_parts(UINT64_C(0x0190e7c21a2b), rnd, &b);
    fs_id_from_parts(UINT64_C(0x0190e7c21a2b), rnd2, &c);
    assert_memory_equal(a.b, b.b, 16);
    assert_int_not_equal(fs_id_cmp(&a, &c), 0);
    assert_v7(&a);
    assert_int_equal(fs_id_time_ms(&a), UINT64_C(0x0190e7c21a2b));
    fs_id_format(&a, s);
    /* The time prefix is the big-endian millisecond count. */
    assert_memory_equal(s, "0190e7c2-1a2b-7", 15);
    /* The tail of the random bytes is copied verbatim. */
    assert_string_equal(s + 24, "0123456789ab");
}

static void test_format_parse_roundtrip(void **state)
{
    (void)state;
    for (int i = 0; i < 500; i++) {
        fs_id a, b;
        char s[FS_ID_STRLEN + 2];
        memset(s, 'Z', sizeof s);
        assert_int_equal(fs_id_new(UINT64_C(1700000000000) + (uint64_t)i * 977, &a, NULL), FS_OK);
        fs_id_format(&a, s);
        assert_int_equal(strlen(s), FS_ID_STRLEN);
        assert_int_equal(s[FS_ID_STRLEN + 1], 'Z');
        assert_int_equal(s[8], '-');
        assert_int_equal(s[13], '-');
        assert_int_equal(s[18], '-');
        assert_int_equal(s[23], '-');
        for (int k = 0; k < FS_ID_STRLEN; k++)
            assert_true((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f') ||
                        s[k] == '-');
        assert_int_equal(fs_id_parse(s, strlen(s), &b, NULL), FS_OK);
        assert_memory_equal(a.b, b.b, 16);
    }
}

static void test_parse_known(void **state)
{
    (void)state;
    fs_id id, up;
    char s[FS_ID_STRLEN + 1];
    char upper[] = "0190E7C2-1A2B-7C3D-8E4F-0123456789AB";

    assert_int_equal(fs_id_parse(sample, strlen(sample), &id, NULL), FS_OK);
    assert_int_equal(id.b[0], 0x01);
    assert_int_equal(id.b[15], 0xab);
    assert_int_equal(fs_id_time_ms(&id), UINT64_C(0x0190e7c21a2b));
    fs_id_format(&id, s);
    assert_string_equal(s, sample);
    /* Either case; formatting is lowercase. */
    assert_int_equal(fs_id_parse(upper, strlen(upper), &up, NULL), FS_OK);
    assert_memory_equal(id.b, up.b, 16);
    /* Only len bytes are read: trailing bytes beyond len are ignored. */
    {
        char longer[64];
        snprintf(longer, sizeof longer, "%sXYZ", sample);
        assert_int_equal(fs_id_parse(longer, FS_ID_STRLEN, &up, NULL), FS_OK);
        assert_memory_equal(id.b, up.b, 16);
    }
    /* Any version is accepted (v4 here), and the nil id parses. */
    assert_int_equal(fs_id_parse("f47ac10b-58cc-4372-a567-0e02b2c3d479", 36, &up, NULL), FS_OK);
    assert_int_equal(fs_id_parse("00000000-0000-0000-0000-000000000000", 36, &up, NULL), FS_OK);
    assert_true(fs_id_is_nil(&up));
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        const char *s;
        int len; /* -1 = strlen */
    } bad[] = {
        {"empty", "", -1},
        {"one short", "0190e7c2-1a2b-7c3d-8e4f-0123456789a", -1},
        {"one long", "0190e7c2-1a2b-7c3d-8e4f-0123456789abc", -1},
        {"len shorter than text", "0190e7c2-1a2b-7c3d-8e4f-0123456789ab", 35},
        {"no hyphens", "0190e7c21a2b7c3d8e4f0123456789ab", -1},
        {"no hyphens, padded", "0190e7c21a2b7c3d8e4f0123456789abcdef", -1},
        {"hyphen moved", "0190e7c-21a2b-7c3d-8e4f-0123456789ab", -1},
        {"hyphen replaced", "0190e7c2_1a2b-7c3d-8e4f-0123456789ab", -1},
        {"last hyphen missing", "0190e7c2-1a2b-7c3d-8e4f00123456789ab", -1},
        {"non-hex g", "0190e7c2-1a2b-7c3d-8e4f-0123456789ag", -1},
        {"non-hex in first group", "z190e7c2-1a2b-7c3d-8e4f-0123456789ab", -1},
        {"space", "0190e7c2-1a2b-7c3d-8e4f-0123456789a ", -1},
        {"braces", "{190e7c2-1a2b-7c3d-8e4f-0123456789a}", -1},
        {"urn", "urn:uuid:0190e7c2-1a2b-7c3d-8e4f-0123", -1},
        {"sign", "+190e7c2-1a2b-7c3d-8e4f-0123456789ab", -1},
        {"extra hyphen", "0190e7c2--a2b-7c3d-8e4f-0123456789ab", -1},
        {"all hyphens", "------------------------------------", -1},
    };
    fs_id id;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fs_error err = {0};
        size_t len = bad[i].len < 0 ? strlen(bad[i].s) : (size_t)bad[i].len;
        memset(&id, 0x5A, sizeof id);
        fs_status st = fs_id_parse(bad[i].s, len, &id, &err);
        if (st != FS_EBADID)
            fail_msg("'%s' (%s): got %s, want malformed id", bad[i].s, bad[i].why,
                     fs_strerror(st));
        assert_int_equal(err.code, FS_EBADID);
        assert_true(strlen(err.text) > 0);
        /* A failed parse leaves out alone. */
        for (int k = 0; k < 16; k++)
            assert_int_equal(id.b[k], 0x5A);
    }
    /* Embedded NUL within len. */
    {
        char s[FS_ID_STRLEN + 1];
        memcpy(s, sample, sizeof s);
        s[30] = '\0';
        assert_int_equal(fs_id_parse(s, FS_ID_STRLEN, &id, NULL), FS_EBADID);
    }
}

static void test_parse_null(void **state)
{
    (void)state;
    fs_id id;
    fs_error err = {0};

    assert_int_equal(fs_id_parse(NULL, 36, &id, &err), FS_EINVAL);
    assert_true(strlen(err.text) > 0);
    assert_int_equal(fs_id_parse(sample, 36, NULL, &err), FS_EINVAL);
    assert_int_equal(fs_id_parse(NULL, 0, &id, NULL), FS_EINVAL);
}

static void test_cmp_nil_time(void **state)
{
    (void)state;
    fs_id zero, a, b;

    memset(&zero, 0, sizeof zero);
    assert_true(fs_id_is_nil(&zero));
    assert_int_equal(fs_id_time_ms(&zero), 0);
    tk_row_id(1, &a);
    tk_row_id(2, &b);
    assert_true(fs_id_cmp(&a, &b) < 0);
    assert_true(fs_id_cmp(&b, &a) > 0);
    assert_int_equal(fs_id_cmp(&a, &a), 0);
    assert_true(fs_id_cmp(&zero, &a) < 0);
    /* memcmp order: the last byte decides when all others are equal. */
    b = a;
    b.b[15] ^= 0x01;
    assert_int_not_equal(fs_id_cmp(&a, &b), 0);
    assert_int_equal(fs_id_cmp(&a, &b) < 0, a.b[15] < b.b[15]);
    assert_int_equal(fs_id_time_ms(&b), fs_id_time_ms(&a));
}

/* Short ids as people type them: a tail of min..32 hex digits, either case. */
static void test_id_tail(void **state)
{
    static const struct { const char *in; size_t min; const char *want; } cases[] = {
        {"ca669297", 8, "ca669297"}, {"CA669297", 8, "ca669297"},
        {"669297", 8, NULL},          {"669297", 4, "669297"},
        {"1436dbd1x", 4, NULL},       {"01a2-4760", 4, NULL},
        {"", 0, ""},                  {"0123456789abcdef0123456789abcdef", 8,
                                       "0123456789abcdef0123456789abcdef"},
        {"0123456789abcdef0123456789abcdef0", 8, NULL},
    };
    char out[33];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ok = fs_id_tail(cases[i].in, cases[i].min, out);
        assert_int_equal(ok, cases[i].want != NULL);
        if (ok)
            assert_string_equal(out, cases[i].want);
    }
    assert_false(fs_id_tail(NULL, 0, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_tail),
        cmocka_unit_test(test_new_layout),
        cmocka_unit_test(test_new_unique_and_ordered),
        cmocka_unit_test(test_new_null),
        cmocka_unit_test(test_from_parts),
        cmocka_unit_test(test_format_parse_roundtrip),
        cmocka_unit_test(test_parse_known),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_null),
        cmocka_unit_test(test_cmp_nil_time),
    };
    return cmocka_run_group_tests_name("conflict_id", tests, NULL, NULL);
}
