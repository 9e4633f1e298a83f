/*
 * fs_utf8.c - the one implementation of fieldsync's UTF-8 rules.
 *
 * Every text a fieldsync component builds for a human (an error message, a
 * result detail, a conflict record, a log line) may quote bytes a client
 * sent, and every wire string must be valid UTF-8 or the peer refuses the
 * whole message. So the codec's validation, the canonical export's JSON
 * escaping and every place that quotes client bytes use these functions: one
 * definition of "valid" (strict: no overlong forms, no surrogates, nothing
 * above U+10FFFF), one way to cut (at a character boundary), one way to
 * repair (each byte that does not start a valid sequence becomes U+FFFD).
 */
#include "fs_conflict.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t fs_utf8_seq(const void *s, size_t n)
{
    const unsigned char *p = s;
    unsigned c, lo = 0x80, hi = 0xBF;
    size_t len;

    if (n == 0)
        return 0;
    c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* below: an overlong form */
        else if (c == 0xED)
            hi = 0x9F; /* above: a UTF-16 surrogate */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* below: an overlong form */
        else if (c == 0xF4)
            hi = 0x8F; /* above: past U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

bool fs_utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t i = 0;

    while (i < n) {
        size_t len;
        /* Most wire text is ASCII: eight bytes with no high bit set are
         * eight valid characters, judged at once. */
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & UINT64_C(0x8080808080808080))) {
                i += 8;
                continue;
            }
        }
        len = fs_utf8_seq(p + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

size_t fs_utf8_cut(const void *s, size_t n, size_t max)
{
    const unsigned char *p = s;
    size_t i = 0;

    /* Walks whole sequences, so a cut lands on a boundary even in text
     * that holds invalid bytes (each counts as one character). */
    while (i < n) {
        size_t len = fs_utf8_seq(p + i, n - i);
        if (!len)
            len = 1;
        if (len > max - i)
            break;
        i += len;
    }
    return i;
}

size_t fs_utf8_clean(char *dst, size_t cap, const void *src, size_t n)
{
    static const char fffd[3] = {'\xEF', '\xBF', '\xBD'};
    const unsigned char *p = src;
    size_t i = 0, o = 0;

    if (!dst || cap == 0)
        return 0;
    while (p && i < n) {
        size_t len = p[i] ? fs_utf8_seq(p + i, n - i) : 0;
        const char *from = len ? (const char *)p + i : fffd;
        size_t put = len ? len : sizeof fffd;

        /* Whole characters only: a cut never leaves half of one. */
        if (put > cap - 1 - o)
            break;
        memcpy(dst + o, from, put);
        o += put;
        i += len ? len : 1;
    }
    dst[o] = '\0';
    return o;
}

size_t fs_utf8_vformat(char *dst, size_t cap, const char *fmt, va_list ap)
{
    /* Formatted at up to twice FS_ERROR_TEXT first: for the usual sizes the
     * cut is then made by fs_utf8_clean at a character boundary, well before
     * vsnprintf's byte cut could matter (a longer dst still gets valid text,
     * at worst ending in U+FFFD where the byte cut fell). */
    char raw[2 * FS_ERROR_TEXT];
    int n = vsnprintf(raw, sizeof raw, fmt, ap);

    if (n < 0)
        n = 0;
    return fs_utf8_clean(dst, cap, raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1);
}

size_t fs_utf8_format(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = fs_utf8_vformat(dst, cap, fmt, ap);
    va_end(ap);
    return n;
}
