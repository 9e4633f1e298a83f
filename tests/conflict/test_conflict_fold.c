/*
 * test_conflict_fold.c - search folding (fs_fold.c): a table of inputs and
 * their folded form per script (Latin accents and ligatures, Greek,
 * Cyrillic, fullwidth, pinyin tones, combining marks, CJK kept), invalid
 * UTF-8 repaired, cuts at whole characters, and the properties the server
 * relies on: folding is idempotent, its output is valid UTF-8 within
 * FS_FOLD_CAP, and it never holds a newline (the field separator).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conflict/fs_testkit.h"
#include "fs_fold.h"

#define FFFD "\xEF\xBF\xBD"

typedef struct fold_case {
    const char *name, *in, *want;
} fold_case;

static const fold_case cases[] = {
    {"empty", "", ""},
    {"ascii lowered", "ACME Trading Co.", "acme trading co."},
    {"digits and punctuation kept", "100%_off @ #3", "100%_off @ #3"},
    {"german umlauts", "M\xC3\xBCller B\xC3\xA4" "ckerei \xC3\x96l", "muller backerei ol"},
    {"capital umlaut", "M\xC3\x9CLLER", "muller"},
    {"french", "Cr\xC3\xA8me Br\xC3\xBBl\xC3\xA9" "e \xC3\x87" "A", "creme brulee ca"},
    {"cafe both cases", "CAF\xC3\x89 caf\xC3\xA9", "cafe cafe"},
    {"portuguese", "S\xC3\xA3o Paulo", "sao paulo"},
    {"spanish", "Espa\xC3\xB1" "a \xC3\x91" "U\xC3\x91" "EZ", "espana nunez"},
    {"scandinavian", "\xC3\x85lesund \xC3\x98resund \xC3\x86r\xC3\xB8", "alesund oresund aero"},
    {"sharp s", "Stra\xC3\x9F" "e \xE1\xBA\x9E", "strasse ss"},
    {"ligatures", "\xC5\x92uvre \xC5\x93il \xC4\xB2" "ssel", "oeuvre oeil ijssel"},
    {"thorn and eth", "\xC3\x9E\xC3\xB3r \xC3\x90\xC3\xB0", "thor dd"},
    {"hungarian", "Gy\xC5\x91r \xC5\x90" "r \xC5\xB0z", "gyor or uz"},
    {"turkish", "\xC5\x9E" "i\xC5\x9Fli \xC4\xB0stanbul \xC4\xB1\xC4\x9F",
     "sisli istanbul ig"},
    {"polish", "\xC5\x81\xC3\xB3" "d\xC5\xBA \xC5\x81\xC5\x82", "lodz ll"},
    {"croatian", "\xC4\x90ur\xC4\x91" "evac \xC4\x8C\xC4\x87", "durdevac cc"},
    {"czech", "\xC5\x98\xC3\xAD\xC4\x8D" "any \xC5\xBD\xC5\xBE\xC5\xA0\xC5\xA1", "ricany zzss"},
    {"romanian comma below", "\xC8\x98" "tefan \xC8\x9B", "stefan t"},
    {"pinyin tones", "B\xC4\x9Bij\xC4\xAB" "ng L\xC7\x9A" " n\xC7\x8E", "beijing lu na"},
    {"combining marks dropped", "Cre\xCC\x80me e\xCC\x81", "creme e"},
    {"greek", "\xCE\x91\xCE\x98\xCE\x97\xCE\x9D\xCE\x91", "\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1"},
    {"greek tonos and final sigma", "\xCE\x86\xCE\xB8\xCF\x89\xCF\x82 \xCE\x8C",
     "\xCE\xB1\xCE\xB8\xCF\x89\xCF\x83 \xCE\xBF"},
    {"cyrillic", "\xD0\x9C\xD0\x9E\xD0\xA1\xD0\x9A\xD0\x92\xD0\x90",
     "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"},
    {"cyrillic yo", "\xD0\x81\xD0\xBB\xD0\xBA\xD0\xB0 \xD1\x91", "\xD0\xB5\xD0\xBB\xD0\xBA\xD0\xB0 \xD0\xB5"},
    {"cyrillic djerv", "\xD0\x82\xD0\x8F", "\xD1\x92\xD1\x9F"},
    {"cyrillic supplement pair", "\xD2\x90\xD2\x91", "\xD2\x91\xD2\x91"},
    {"fullwidth letters", "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBD\x83", "abc"},
    {"fullwidth digits", "\xEF\xBC\x90\xEF\xBC\x99", "09"},
    {"fullwidth at", "\xEF\xBC\xA0", "@"},
    {"chinese kept", "\xE5\x8C\x97\xE4\xBA\xAC\xE8\xB4\xB8\xE6\x98\x93",
     "\xE5\x8C\x97\xE4\xBA\xAC\xE8\xB4\xB8\xE6\x98\x93"},
    {"ideographic space kept", "\xE5\x8C\x97\xE3\x80\x80\xE4\xBA\xAC",
     "\xE5\x8C\x97\xE3\x80\x80\xE4\xBA\xAC"},
    {"japanese and korean kept", "\xE3\x82\xAB\xED\x95\x9C", "\xE3\x82\xAB\xED\x95\x9C"},
    {"emoji kept", "\xF0\x9F\x98\x80" "A", "\xF0\x9F\x98\x80" "a"},
    {"times and divide kept", "\xC3\x97\xC3\xB7", "\xC3\x97\xC3\xB7"},
    {"controls become spaces", "a\nb\tc\rd\x7F" "e", "a b c d e"},
    {"invalid byte", "M\xFCller", "m" FFFD "ller"},
    {"lone continuation", "\x80" "A", FFFD "a"},
    {"truncated sequence", "caf\xC3", "caf" FFFD},
    {"overlong", "\xC0\xAF", FFFD FFFD},
    {"surrogate", "\xED\xA0\x80", FFFD FFFD FFFD},
};

static void test_fold_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        char out[256];
        size_t len = fs_fold(out, sizeof out, cases[i].in, n);

        if (strcmp(out, cases[i].want) != 0 || len != strlen(out))
            fail_msg("%s: folded \"%s\", want \"%s\"", cases[i].name, out, cases[i].want);
    }
}

/* The server folds stored text and the query with the same function: a
 * folded query must find itself in the folded text, so folding twice
 * changes nothing; the output is valid and fits FS_FOLD_CAP. */
static void test_fold_properties(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        char once[256], twice[256];
        size_t len = fs_fold(once, sizeof once, cases[i].in, n);

        assert_true(len + 1 <= FS_FOLD_CAP(n));
        assert_true(fs_utf8_valid(once, len));
        assert_null(strchr(once, '\n'));
        fs_fold(twice, sizeof twice, once, len);
        if (strcmp(once, twice) != 0)
            fail_msg("%s: not idempotent: \"%s\" then \"%s\"", cases[i].name, once, twice);
    }
    /* Every 1- to 3-byte pattern of interesting bytes: valid, bounded. */
    {
        static const unsigned char bytes[] = {0x00, 0x0A, 0x41, 0x7F, 0x80, 0xBF, 0xC0,
                                              0xC3, 0xCE, 0xD0, 0xE0, 0xE5, 0xED, 0xEF,
                                              0xF0, 0xF4, 0xFF, 0x9C, 0xBC, 0xA1};
        size_t nb = sizeof bytes;
        for (size_t a = 0; a < nb; a++)
            for (size_t b = 0; b < nb; b++)
                for (size_t c = 0; c < nb; c++) {
                    unsigned char in[3] = {bytes[a], bytes[b], bytes[c]};
                    char out[FS_FOLD_CAP(3)];
                    size_t len = fs_fold(out, sizeof out, in, 3);
                    assert_true(fs_utf8_valid(out, len));
                    assert_int_equal(strlen(out), len);
                }
    }
}

/* A small dst: cut before the first folded character that does not fit,
 * never inside one; cap 1 is the empty string. */
static void test_fold_cut(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(fs_fold(out, 1, "abc", 3), 0);
    assert_string_equal(out, "");
    assert_int_equal(fs_fold(out, 3, "a\xC3\x9F", 3), 1); /* "ss" does not fit */
    assert_string_equal(out, "a");
    assert_int_equal(fs_fold(out, 4, "a\xC3\x9F", 3), 3);
    assert_string_equal(out, "ass");
    assert_int_equal(fs_fold(out, 4, "a\xE5\x8C\x97", 4), 1);
    assert_string_equal(out, "a");
    assert_int_equal(fs_fold(out, sizeof out, NULL, 0), 0);
    assert_int_equal(fs_fold(NULL, 0, "a", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_table),
        cmocka_unit_test(test_fold_properties),
        cmocka_unit_test(test_fold_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
