/*
 * test_conflict_utf8.c - the one UTF-8 implementation (fs_utf8.c): what is
 * valid (strict: overlongs, surrogates and code points past U+10FFFF are
 * not), where a cut may fall (never inside a 2-, 3- or 4-byte character),
 * how invalid bytes are repaired (one U+FFFD each), and that the messages the
 * domain rules build from client bytes are valid UTF-8 (issue 12 finding 3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "conflict/fs_testkit.h"

#define FFFD "\xEF\xBF\xBD"

typedef struct valid_case {
    const char *name;
    const char *s;
    size_t n;
    size_t first; /* fs_utf8_seq of the first byte */
    bool valid;
} valid_case;

#define V(name, lit, first, ok) {name, lit, sizeof lit - 1, first, ok}

static const valid_case valid_cases[] = {
    V("empty", "", 0, true),
    V("ascii", "abc", 1, true),
    V("nul is a character", "a\0b", 1, true),
    V("2-byte e-acute", "\xC3\xA9", 2, true),
    V("3-byte euro", "\xE2\x82\xAC", 3, true),
    V("4-byte emoji", "\xF0\x9F\x98\x80", 4, true),
    V("lowest 3-byte U+0800", "\xE0\xA0\x80", 3, true),
    V("highest U+10FFFF", "\xF4\x8F\xBF\xBF", 4, true),
    V("last before surrogates U+D7FF", "\xED\x9F\xBF", 3, true),
    V("first after surrogates U+E000", "\xEE\x80\x80", 3, true),
    V("lone continuation", "\x80", 0, false),
    V("overlong 2-byte C0", "\xC0\xAF", 0, false),
    V("overlong 2-byte C1", "\xC1\xBF", 0, false),
    V("overlong 3-byte", "\xE0\x9F\xBF", 0, false),
    V("overlong 4-byte", "\xF0\x8F\xBF\xBF", 0, false),
    V("surrogate U+D800", "\xED\xA0\x80", 0, false),
    V("surrogate U+DFFF", "\xED\xBF\xBF", 0, false),
    V("past U+10FFFF", "\xF4\x90\x80\x80", 0, false),
    V("F5 never starts", "\xF5\x80\x80\x80", 0, false),
    V("FF never starts", "\xFF", 0, false),
    V("2-byte cut", "\xC3", 0, false),
    V("3-byte cut after 2", "\xE2\x82", 0, false),
    V("4-byte cut after 3", "\xF0\x9F\x98", 0, false),
    V("bad second byte", "\xC3\x41", 0, false),
    V("bad third byte", "\xE2\x82\x41", 0, false),
    V("valid then invalid", "abc\xC3", 1, false),
    /* Eight ASCII bytes are judged at once: what follows a run of them,
     * or sits inside the last word, is still judged byte by byte. */
    V("eight ascii then cut", "abcdefgh\xC3", 1, false),
    V("seven ascii then 2-byte", "abcdefg\xC3\xA9", 1, true),
    V("continuation in second word", "abcdefghijklmno\x80", 1, false),
    V("2-byte across a word edge", "abcdefghijklmn\xC3\xA9z", 1, true),
    V("lone continuation after sixteen", "abcdefghijklmnop\x80q", 1, false),
    V("surrogate after eight", "abcdefgh\xED\xA0\x80", 1, false),
};

static void test_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        const valid_case *c = &valid_cases[i];
        print_message("%s\n", c->name);
        assert_int_equal(fs_utf8_seq(c->s, c->n), c->first);
        assert_int_equal(fs_utf8_valid(c->s, c->n), c->valid);
    }
}

typedef struct clean_case {
    const char *name;
    const char *in;
    size_t n;
    size_t cap;
    const char *out; /* expected NUL-terminated result */
    size_t cut_max;  /* fs_utf8_cut(in, n, cut_max) ... */
    size_t cut;      /* ... must be this */
} clean_case;

#define C(name, lit, cap, out, cut_max, cut) {name, lit, sizeof lit - 1, cap, out, cut_max, cut}

static const clean_case clean_cases[] = {
    C("fits", "abc", 8, "abc", 8, 3),
    C("ascii cut", "abcdef", 4, "abc", 3, 3),
    /* A cut inside a 2-, 3- and 4-byte character drops it whole. */
    C("cut inside 2-byte", "abcdefg\xC3\xA9", 9, "abcdefg", 8, 7),
    C("cut after 2-byte", "abcdefg\xC3\xA9", 10, "abcdefg\xC3\xA9", 9, 9),
    C("cut inside 3-byte at 1", "ab\xE2\x82\xAC", 4, "ab", 3, 2),
    C("cut inside 3-byte at 2", "ab\xE2\x82\xAC", 5, "ab", 4, 2),
    C("cut inside 4-byte at 3", "a\xF0\x9F\x98\x80", 5, "a", 4, 1),
    C("4-byte fits", "a\xF0\x9F\x98\x80", 6, "a\xF0\x9F\x98\x80", 5, 5),
    /* Each invalid byte becomes one U+FFFD. */
    C("lone continuation", "a\x80" "b", 16, "a" FFFD "b", 16, 3),
    C("truncated at end", "abc\xC3", 16, "abc" FFFD, 16, 4),
    C("overlong", "\xC0\xAF", 16, FFFD FFFD, 16, 2),
    C("surrogate", "\xED\xA0\x80", 16, FFFD FFFD FFFD, 16, 3),
    C("past U+10FFFF", "\xF4\x90\x80\x80", 16, FFFD FFFD FFFD FFFD, 16, 4),
    C("embedded NUL", "a\0b", 16, "a" FFFD "b", 16, 3),
    C("replacement does not fit", "ab\xFF", 5, "ab", 3, 3),
    C("replacement just fits", "ab\xFF", 6, "ab" FFFD, 3, 3),
    C("cap 1", "abc", 1, "", 0, 0),
};

static void test_clean_and_cut(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof clean_cases / sizeof clean_cases[0]; i++) {
        const clean_case *c = &clean_cases[i];
        char out[32];
        size_t n;
        print_message("%s\n", c->name);
        memset(out, 'x', sizeof out);
        n = fs_utf8_clean(out, c->cap, c->in, c->n);
        assert_string_equal(out, c->out);
        assert_int_equal(n, strlen(c->out));
        assert_true(n < c->cap);
        assert_true(fs_utf8_valid(out, n));
        assert_int_equal(fs_utf8_cut(c->in, c->n, c->cut_max), c->cut);
    }
    assert_int_equal(fs_utf8_clean((char[4]){0}, 4, NULL, 0), 0);
}

/* Every byte pattern of up to 3 bytes, cleaned into every small buffer:
 * the result is always valid and never longer than the buffer allows. */
static void test_clean_exhaustive(void **state)
{
    (void)state;
    for (uint32_t v = 0; v < (1u << 24); v += 7) {
        uint8_t in[3] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16)};
        for (size_t cap = 1; cap <= 10; cap += 3) {
            char out[16];
            size_t n = fs_utf8_clean(out, cap, in, 3);
            assert_true(n < cap);
            assert_int_equal(out[n], '\0');
            assert_true(fs_utf8_valid(out, n));
            assert_null(memchr(out, '\0', n));
        }
    }
}

/* The refusal messages the domain rules build quote the refused value: cut
 * at a character boundary, never inside one (the two values of finding 3,
 * and a long field name through fs_change_set_named). */
static void test_messages_quote_whole_characters(void **state)
{
    const fs_entity *quote = fs_schema_entity("quote");
    const fs_entity *visit = fs_schema_entity("visit");
    char status[64] = "a", field[80];
    fs_value v = {0};
    fs_error err = {0};
    fs_change c = {0};

    (void)state;
    for (int i = 0; i < 20; i++)
        strcat(status, "\xC3\xA9");
    assert_int_equal(fs_value_text(&v, "abcdefg\xC3\xA9", 9, NULL), FS_OK);
    assert_int_equal(fs_field_check(&quote->fields[fs_entity_field_index(quote, "currency")],
                                    &v, &err), FS_ERANGE);
    assert_true(fs_utf8_valid(err.text, strlen(err.text)));
    assert_non_null(strstr(err.text, "'abcdefg'"));
    fs_value_clear(&v);
    assert_int_equal(fs_value_text(&v, status, strlen(status), NULL), FS_OK);
    assert_int_equal(fs_field_check(&visit->fields[fs_entity_field_index(visit, "status")],
                                    &v, &err), FS_ERANGE);
    assert_true(fs_utf8_valid(err.text, strlen(err.text)));
    fs_value_clear(&v);
    /* 63 ASCII bytes then a 2-byte character straddling the 64-byte quote. */
    memset(field, 'f', 63);
    memcpy(field + 63, "\xC3\xA9", 3);
    c.entity = quote;
    assert_int_equal(fs_change_set_named(&c, field, &v, 1, &err), FS_EUNKNOWN_FIELD);
    assert_true(fs_utf8_valid(err.text, strlen(err.text)));
    fs_change_free(&c);
    /* fs_error itself: a message longer than its buffer, full of 3-byte
     * characters, is cut at a boundary; invalid bytes are replaced. */
    {
        char big[400];
        for (size_t i = 0; i + 3 < sizeof big; i += 3)
            memcpy(big + i, "\xE2\x82\xAC", 3);
        big[sizeof big - 1] = '\0';
        big[sizeof big - 2] = '\0';
        big[sizeof big - 3] = '\0';
        fs_error_set(&err, FS_EINVAL, "%s", big);
        assert_true(strlen(err.text) < sizeof err.text);
        assert_int_equal(strlen(err.text) % 3, 0);
        assert_true(fs_utf8_valid(err.text, strlen(err.text)));
        fs_error_set(&err, FS_EINVAL, "bad \xFF byte");
        assert_string_equal(err.text, "bad " FFFD " byte");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_clean_and_cut),
        cmocka_unit_test(test_clean_exhaustive),
        cmocka_unit_test(test_messages_quote_whole_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
