/*
 * test_conflict_dedup.c - likely duplicates (conflict/fs_dedup.c) as data
 * tables: normalised names in English, German, French, Chinese and
 * Japanese forms (有限公司, 股份有限公司, 株式会社, fullwidth brackets),
 * phones in several notations, tax ids, and the score of pairs: equal tax
 * id, different tax ids, name, phone, both, nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs_dedup.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_names(void **state)
{
    static const struct { const char *in, *key; } cases[] = {
        {"Acme Ltd.", "acme"},
        {"ACME Limited", "acme"},
        {"acme", "acme"},
        {"Acme Tools, Inc.", "acmetools"},
        {"Müller GmbH", "m\xc3\xbcller"},
        {"MÜLLER GMBH & Co. KG", "m\xc3\xbcller"},
        {"Société Générale S.A.", "soci\xc3\xa9t\xc3\xa9g\xc3\xa9n\xc3\xa9rale"},
        {"深圳市腾达科技有限公司", "深圳市腾达科技"},
        {"深圳市腾达科技", "深圳市腾达科技"},
        {"深圳市 腾达科技 股份有限公司", "深圳市腾达科技"},
        {"腾达科技（深圳）有限公司", "腾达科技深圳"},
        {"华为技术有限责任公司", "华为技术"},
        {"トヨタ株式会社", "トヨタ"},
        {"Co", "co"},           /* a name that is only a form stays */
        {"Disco Ltd", "disco"}, /* "co" inside a word is not a form */
        {"", ""},
        {" ... ", ""},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        char out[FS_DEDUP_KEY];
        fs_dedup_name(cases[i].in, out);
        if (strcmp(out, cases[i].key) != 0)
            fail_msg("name \"%s\" -> \"%s\", want \"%s\"", cases[i].in, out,
                     cases[i].key);
    }
}

static void test_phones_and_tax(void **state)
{
    static const struct { const char *in, *key; } phones[] = {
        {"+44 161 555 0100", "615550100"},
        {"0161-555-0100", "615550100"},
        {"(0161) 555 0100", "615550100"},
        {"+86 755 8888 1234", "588881234"},
        {"0755-88881234", "588881234"},
        {"555 0100", ""},  /* fewer than 9 digits: no key */
        {"", ""},
    };
    static const struct { const char *in, *key; } taxes[] = {
        {"gb 123 4567 89", "GB123456789"},
        {"91440300MA5F-XXXX", "91440300MA5FXXXX"},
        {"", ""},
    };
    (void)state;
    for (size_t i = 0; i < N(phones); i++) {
        char out[FS_DEDUP_KEY];
        fs_dedup_phone(phones[i].in, out);
        if (strcmp(out, phones[i].key) != 0)
            fail_msg("phone \"%s\" -> \"%s\", want \"%s\"", phones[i].in, out,
                     phones[i].key);
    }
    for (size_t i = 0; i < N(taxes); i++) {
        char out[FS_DEDUP_KEY];
        fs_dedup_tax(taxes[i].in, out);
        if (strcmp(out, taxes[i].key) != 0)
            fail_msg("tax \"%s\" -> \"%s\", want \"%s\"", taxes[i].in, out,
                     taxes[i].key);
    }
}

static void test_pairs(void **state)
{
    static const struct {
        const char *an, *ap, *at, *bn, *bp, *bt;
        int score;
        unsigned reasons;
    } cases[] = {
        {"Acme Ltd", NULL, NULL, "ACME Limited", NULL, NULL, 60, FS_DEDUP_NAME},
        {"Acme", "+44 161 555 0100", NULL, "Other", "0161 555 0100", NULL, 50,
         FS_DEDUP_PHONE},
        {"Acme", "+44 161 555 0100", NULL, "acme ltd", "01615550100", NULL, 100,
         FS_DEDUP_NAME | FS_DEDUP_PHONE},
        {"A", NULL, "GB1", "B", NULL, "gb 1", 100, FS_DEDUP_TAX},
        {"Acme", NULL, "GB1", "Acme", NULL, "GB2", 0, 0}, /* two companies */
        {"深圳市腾达科技有限公司", NULL, NULL, "深圳市腾达科技", NULL, NULL, 60,
         FS_DEDUP_NAME},
        {"深圳市腾达科技有限公司", "0755-88881234", "91440300MA5F", "腾达",
         "+86 755 8888 1234", NULL, 50, FS_DEDUP_PHONE},
        {"Acme", NULL, NULL, "Apex", NULL, NULL, 0, 0},
        {"", NULL, NULL, "", NULL, NULL, 0, 0}, /* no name is no match */
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        fs_dedup_keys a, b;
        unsigned why = 99;
        int sc;
        fs_dedup_keys_of(cases[i].an, cases[i].ap, cases[i].at, &a);
        fs_dedup_keys_of(cases[i].bn, cases[i].bp, cases[i].bt, &b);
        sc = fs_dedup_score(&a, &b, &why);
        if (sc != cases[i].score || why != cases[i].reasons)
            fail_msg("%s / %s: score %d reasons %u, want %d %u", cases[i].an,
                     cases[i].bn, sc, why, cases[i].score, cases[i].reasons);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_phones_and_tax),
        cmocka_unit_test(test_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
