/*
 * fs_fold.c - search folding (fs_fold.h): case, diacritics and width
 * folded away so that a plain substring match of a folded query in a
 * folded text is accent- and case-insensitive.
 *
 * One table of code point ranges, sorted, searched by bisection: each range
 * either spells its characters as a short ASCII text (the Latin letters:
 * "é" is "e", "ß" is "ss"), maps them all to one code point (Greek letters
 * with tonos to the bare small letter), shifts them by a constant (capital
 * to small Greek and Cyrillic, fullwidth to ASCII), lowers upper/lower
 * pairs that alternate (Cyrillic supplements) or drops them (combining
 * marks). Characters outside the table are copied unchanged, which is
 * what keeps CJK substrings matching. The table is written out rather
 * than derived from Unicode's decompositions: the server and its tests
 * must agree byte for byte whatever the C library's locale is, and the
 * set of scripts a sales team writes customer names in is small.
 *
 * Decoding follows fs_utf8.c (fs_utf8_seq): an invalid byte is one U+FFFD,
 * as fs_utf8_clean repairs it, so a folded text is always valid UTF-8.
 */
#include "fs_fold.h"

#include "fs_conflict.h"

#include <stdint.h>
#include <string.h>

typedef enum fold_kind {
    SPELL, /* every character is `text` */
    ONE,   /* every character is the code point `to` */
    SHIFT, /* lo..hi become to..to + (hi - lo) */
    PAIR,  /* capital at an even offset from lo, its small letter after it */
    DROP   /* removed */
} fold_kind;

typedef struct fold_range {
    uint32_t lo, hi;
    fold_kind kind;
    uint32_t to;
    const char *text;
} fold_range;

#define SP(lo, hi, text) {lo, hi, SPELL, 0, text}
#define TO(lo, hi, to) {lo, hi, ONE, to, NULL}
#define SH(lo, hi, to) {lo, hi, SHIFT, to, NULL}
#define PR(lo, hi) {lo, hi, PAIR, 0, NULL}

/* Sorted by lo, not overlapping. */
static const fold_range ranges[] = {
    /* Latin-1 Supplement (× U+00D7 and ÷ U+00F7 stay) */
    SP(0x00C0, 0x00C5, "a"), SP(0x00C6, 0x00C6, "ae"), SP(0x00C7, 0x00C7, "c"),
    SP(0x00C8, 0x00CB, "e"), SP(0x00CC, 0x00CF, "i"), SP(0x00D0, 0x00D0, "d"),
    SP(0x00D1, 0x00D1, "n"), SP(0x00D2, 0x00D6, "o"), SP(0x00D8, 0x00D8, "o"),
    SP(0x00D9, 0x00DC, "u"), SP(0x00DD, 0x00DD, "y"), SP(0x00DE, 0x00DE, "th"),
    SP(0x00DF, 0x00DF, "ss"), SP(0x00E0, 0x00E5, "a"), SP(0x00E6, 0x00E6, "ae"),
    SP(0x00E7, 0x00E7, "c"), SP(0x00E8, 0x00EB, "e"), SP(0x00EC, 0x00EF, "i"),
    SP(0x00F0, 0x00F0, "d"), SP(0x00F1, 0x00F1, "n"), SP(0x00F2, 0x00F6, "o"),
    SP(0x00F8, 0x00F8, "o"), SP(0x00F9, 0x00FC, "u"), SP(0x00FD, 0x00FD, "y"),
    SP(0x00FE, 0x00FE, "th"), SP(0x00FF, 0x00FF, "y"),
    /* Latin Extended-A: capital and small alternate, grouped by base */
    SP(0x0100, 0x0105, "a"), SP(0x0106, 0x010D, "c"), SP(0x010E, 0x0111, "d"),
    SP(0x0112, 0x011B, "e"), SP(0x011C, 0x0123, "g"), SP(0x0124, 0x0127, "h"),
    SP(0x0128, 0x0131, "i"), SP(0x0132, 0x0133, "ij"), SP(0x0134, 0x0135, "j"),
    SP(0x0136, 0x0138, "k"), SP(0x0139, 0x0142, "l"), SP(0x0143, 0x014B, "n"),
    SP(0x014C, 0x0151, "o"), SP(0x0152, 0x0153, "oe"), SP(0x0154, 0x0159, "r"),
    SP(0x015A, 0x0161, "s"), SP(0x0162, 0x0167, "t"), SP(0x0168, 0x0173, "u"),
    SP(0x0174, 0x0175, "w"), SP(0x0176, 0x0178, "y"), SP(0x0179, 0x017E, "z"),
    SP(0x017F, 0x017F, "s"),
    /* Latin Extended-B: pinyin's third-tone and ü vowels, Romanian ș ț */
    SP(0x01CD, 0x01CE, "a"), SP(0x01CF, 0x01D0, "i"), SP(0x01D1, 0x01D2, "o"),
    SP(0x01D3, 0x01DC, "u"), SP(0x0218, 0x0219, "s"), SP(0x021A, 0x021B, "t"),
    /* combining diacritical marks */
    {0x0300, 0x036F, DROP, 0, NULL},
    /* Greek: tonos and dialytika dropped, capitals lowered, final sigma */
    TO(0x0386, 0x0386, 0x03B1), TO(0x0388, 0x0388, 0x03B5), TO(0x0389, 0x0389, 0x03B7),
    TO(0x038A, 0x038A, 0x03B9), TO(0x038C, 0x038C, 0x03BF), TO(0x038E, 0x038E, 0x03C5),
    TO(0x038F, 0x038F, 0x03C9), TO(0x0390, 0x0390, 0x03B9), SH(0x0391, 0x03A1, 0x03B1),
    SH(0x03A3, 0x03A9, 0x03C3), TO(0x03AA, 0x03AA, 0x03B9), TO(0x03AB, 0x03AB, 0x03C5),
    TO(0x03AC, 0x03AC, 0x03B1), TO(0x03AD, 0x03AD, 0x03B5), TO(0x03AE, 0x03AE, 0x03B7),
    TO(0x03AF, 0x03AF, 0x03B9), TO(0x03B0, 0x03B0, 0x03C5), TO(0x03C2, 0x03C2, 0x03C3),
    TO(0x03CA, 0x03CA, 0x03B9), TO(0x03CB, 0x03CB, 0x03C5), TO(0x03CC, 0x03CC, 0x03BF),
    TO(0x03CD, 0x03CD, 0x03C5), TO(0x03CE, 0x03CE, 0x03C9),
    /* Cyrillic: Ѐ Ё ѐ ё are е; capitals lowered; the supplements' pairs */
    TO(0x0400, 0x0401, 0x0435), SH(0x0402, 0x040F, 0x0452), SH(0x0410, 0x042F, 0x0430),
    TO(0x0450, 0x0451, 0x0435), PR(0x0460, 0x0481), PR(0x048A, 0x04BF), PR(0x04D0, 0x04FF),
    /* capital sharp s */
    SP(0x1E9E, 0x1E9E, "ss"),
    /* fullwidth ASCII (lowered afterwards like ASCII) */
    SH(0xFF01, 0xFF5E, 0x0021),
};

static const fold_range *range_of(uint32_t cp)
{
    size_t lo = 0, hi = sizeof ranges / sizeof ranges[0];

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < ranges[mid].lo)
            hi = mid;
        else if (cp > ranges[mid].hi)
            lo = mid + 1;
        else
            return &ranges[mid];
    }
    return NULL;
}

/* The code point of a valid sequence of len bytes. */
static uint32_t decode(const unsigned char *p, size_t len)
{
    static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t cp = p[0] & lead_mask[len];

    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    return cp;
}

/* cp as UTF-8 into out; its length. ASCII is lowered and its controls
 * become a space here, so a fullwidth letter lands as a small one. */
static size_t encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        if (cp < 0x20 || cp == 0x7F)
            cp = ' ';
        else if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t fs_fold(char *dst, size_t cap, const void *src, size_t n)
{
    const unsigned char *p = src;
    size_t i = 0, o = 0;

    if (!dst || cap == 0)
        return 0;
    while (p && i < n) {
        size_t len = fs_utf8_seq(p + i, n - i), put;
        char buf[4];
        const char *from = buf;

        if (len == 0) {
            /* not a character: one U+FFFD per byte, as fs_utf8_clean */
            from = "\xEF\xBF\xBD";
            put = 3;
            len = 1;
        } else {
            uint32_t cp = decode(p + i, len);
            const fold_range *r = cp < 0x80 ? NULL : range_of(cp);

            if (!r) {
                put = cp < 0x80 ? encode(cp, buf) : len;
                if (cp >= 0x80)
                    from = (const char *)p + i; /* kept as it is */
            } else if (r->kind == SPELL) {
                from = r->text;
                put = strlen(r->text);
            } else if (r->kind == DROP) {
                put = 0;
            } else {
                if (r->kind == ONE)
                    cp = r->to;
                else if (r->kind == SHIFT)
                    cp = cp - r->lo + r->to;
                else if ((cp - r->lo) % 2 == 0)
                    cp++; /* PAIR: the capital's small letter follows it */
                put = encode(cp, buf);
            }
        }
        /* Whole characters only: a cut never leaves half of one. */
        if (put > cap - 1 - o)
            break;
        memcpy(dst + o, from, put);
        o += put;
        i += len;
    }
    dst[o] = '\0';
    return o;
}
