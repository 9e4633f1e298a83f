/*
 * fs_dedup.c - normalised keys and the duplicate score (fs_dedup.h). Pure:
 * text in, keys and numbers out. Names are compared after folding case and
 * dropping what people write differently for one company: punctuation,
 * spaces and the legal form ("Acme Ltd." and "ACME Limited" are one;
 * "深圳市腾达科技有限公司" and "深圳市腾达科技" are one).
 */
#include "fs_dedup.h"

#include <string.h>

void fs_dedup_phone(const char *in, char out[FS_DEDUP_KEY])
{
    char d[FS_DEDUP_KEY];
    size_t n = 0;

    for (; in && *in && n + 1 < sizeof d; in++)
        if (*in >= '0' && *in <= '9')
            d[n++] = *in;
    d[n] = '\0';
    if (n < 9)
        out[0] = '\0';
    else
        memcpy(out, d + n - 9, 10);
}

void fs_dedup_tax(const char *in, char out[FS_DEDUP_KEY])
{
    size_t n = 0;

    for (; in && *in && n + 1 < FS_DEDUP_KEY; in++) {
        char ch = *in;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            out[n++] = ch;
    }
    out[n] = '\0';
}

/* Latin legal forms, as whole trailing words (after folding). */
static const char *const latin_forms[] = {
    "ltd", "limited", "llc", "inc", "incorporated", "corp", "corporation",
    "co", "company", "gmbh", "ag", "kg", "sa", "sarl", "srl", "spa", "bv",
    "nv", "plc", "oy", "ab", "as", "pty", "llp", "lp", "kk", NULL};
/* CJK legal forms, as trailing text (no spaces in these names); longest
 * first so 股份有限公司 goes whole. */
static const char *const cjk_forms[] = {
    "股份有限公司", "有限责任公司", "有限公司", "株式会社", "公司", "集团", NULL};

/* Multibyte punctuation people put in CJK names: fullwidth parentheses,
 * comma, full stop, middle dot, brackets. */
static const char *const cjk_punct[] = {
    "（", "）", "，", "。", "·", "、", "【", "】", "《", "》", NULL};

static bool word_is_form(const char *w, size_t n)
{
    for (size_t i = 0; latin_forms[i]; i++)
        if (strlen(latin_forms[i]) == n && memcmp(latin_forms[i], w, n) == 0)
            return true;
    return false;
}

void fs_dedup_name(const char *in, char out[FS_DEDUP_KEY])
{
    char f[FS_DEDUP_KEY];  /* folded, words separated by one space */
    size_t n = 0, start, k;
    const unsigned char *p = (const unsigned char *)(in ? in : "");

    /* 1. Fold case, turn punctuation and spaces into one separator. */
    while (*p && n + 4 < sizeof f) {
        bool sep = false;
        /* A dot joins: "S.A." is the word "sa", "Co." the word "co". */
        if (*p == '.') {
            p++;
            continue;
        }
        for (k = 0; cjk_punct[k]; k++) {
            size_t l = strlen(cjk_punct[k]);
            if (strncmp((const char *)p, cjk_punct[k], l) == 0) {
                p += l;
                sep = true;
                break;
            }
        }
        if (sep || (*p < 0x80 && !((*p >= 'a' && *p <= 'z') ||
                                   (*p >= 'A' && *p <= 'Z') ||
                                   (*p >= '0' && *p <= '9')))) {
            if (!sep)
                p++;
            if (n && f[n - 1] != ' ')
                f[n++] = ' ';
            continue;
        }
        if (*p >= 'A' && *p <= 'Z') {
            f[n++] = (char)(*p++ - 'A' + 'a');
        } else if (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97) {
            /* Latin-1 capitals (À..Þ but ×) fold to their small letters. */
            f[n++] = (char)0xC3;
            f[n++] = (char)(p[1] + 0x20);
            p += 2;
        } else {
            f[n++] = (char)*p++;
        }
    }
    while (n && f[n - 1] == ' ')
        n--;
    f[n] = '\0';
    /* 2. Drop trailing Latin legal-form words. */
    for (;;) {
        start = n;
        while (start && f[start - 1] != ' ')
            start--;
        if (start == 0 || !word_is_form(f + start, n - start))
            break; /* a name that is only "Co" stays "co" */
        n = start;
        while (n && f[n - 1] == ' ')
            n--;
        f[n] = '\0';
    }
    /* 3. Drop the spaces, then trailing CJK legal forms. */
    for (k = 0, start = 0; k < n; k++)
        if (f[k] != ' ')
            out[start++] = f[k];
    out[start] = '\0';
    for (bool again = true; again;) {
        again = false;
        for (k = 0; cjk_forms[k]; k++) {
            size_t l = strlen(cjk_forms[k]), m = strlen(out);
            if (m > l && strcmp(out + m - l, cjk_forms[k]) == 0) {
                out[m - l] = '\0';
                again = true;
                break;
            }
        }
    }
}

void fs_dedup_keys_of(const char *name, const char *phone, const char *tax_id,
                      fs_dedup_keys *out)
{
    fs_dedup_name(name, out->name);
    fs_dedup_phone(phone, out->phone);
    fs_dedup_tax(tax_id, out->tax);
}

int fs_dedup_score(const fs_dedup_keys *a, const fs_dedup_keys *b,
                   unsigned *reasons)
{
    int score = 0;

    *reasons = 0;
    if (a->tax[0] && b->tax[0]) {
        if (strcmp(a->tax, b->tax) != 0)
            return 0; /* two registered companies */
        *reasons |= FS_DEDUP_TAX;
        score = 100;
    }
    if (a->name[0] && strcmp(a->name, b->name) == 0) {
        *reasons |= FS_DEDUP_NAME;
        score += 60;
    }
    if (a->phone[0] && strcmp(a->phone, b->phone) == 0) {
        *reasons |= FS_DEDUP_PHONE;
        score += 50;
    }
    return score > 100 ? 100 : score;
}
