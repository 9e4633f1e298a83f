/*
 * fs_id.c - 128-bit time-ordered row ids (RFC 9562 UUIDv7).
 *
 * Devices create rows offline, so ids must be unique without coordination:
 * 48 bits of Unix milliseconds (ids sort by creation time, which keeps the
 * primary-key B-trees append-mostly) followed by 74 random bits from the OS.
 */
#include "fs_conflict.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void fs_id_from_parts(uint64_t ms, const uint8_t rnd[10], fs_id *out)
{
    ms &= FS_HLC_MS_MAX;
    for (int i = 0; i < 6; i++)
        out->b[i] = (uint8_t)(ms >> (40 - 8 * i));
    memcpy(out->b + 6, rnd, 10);
    out->b[6] = (uint8_t)(0x70 | (out->b[6] & 0x0F)); /* version 7 */
    out->b[8] = (uint8_t)(0x80 | (out->b[8] & 0x3F)); /* variant 10 */
}

fs_status fs_id_new(uint64_t now_ms, fs_id *out, fs_error *err)
{
    uint8_t rnd[10];
    size_t got = 0;

    if (!out)
        return fs_error_set(err, FS_EINVAL, "fs_id_new: out is NULL");
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fs_error_set(err, FS_ERANDOM, "getrandom failed: %s",
                                strerror(errno));
        }
        got += (size_t)n;
    }
    fs_id_from_parts(now_ms, rnd, out);
    return FS_OK;
}

void fs_id_format(const fs_id *id, char out[FS_ID_STRLEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[id->b[i] >> 4];
        *p++ = hex[id->b[i] & 0x0F];
    }
    *p = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

fs_status fs_id_parse(const char *s, size_t len, fs_id *out, fs_error *err)
{
    fs_id tmp;
    size_t pos = 0;

    if (!s || !out)
        return fs_error_set(err, FS_EINVAL, "fs_id_parse: NULL argument");
    if (len != FS_ID_STRLEN)
        return fs_error_set(err, FS_EBADID,
                            "malformed id: %zu characters, want %d (8-4-4-4-12 hex)",
                            len, FS_ID_STRLEN);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (s[pos] != '-')
                return fs_error_set(err, FS_EBADID,
                                    "malformed id: expected '-' at offset %zu", pos);
            pos++;
        }
        int hi = hexval(s[pos]), lo = hexval(s[pos + 1]);
        if (hi < 0 || lo < 0)
            return fs_error_set(err, FS_EBADID,
                                "malformed id: non-hex character at offset %zu",
                                hi < 0 ? pos : pos + 1);
        tmp.b[i] = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    *out = tmp;
    return FS_OK;
}

int fs_id_cmp(const fs_id *a, const fs_id *b)
{
    return memcmp(a->b, b->b, sizeof a->b);
}

bool fs_id_is_nil(const fs_id *id)
{
    static const fs_id nil;
    return memcmp(id->b, nil.b, sizeof nil.b) == 0;
}

uint64_t fs_id_time_ms(const fs_id *id)
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | id->b[i];
    return ms;
}

bool fs_id_tail(const char *s, size_t min, char out[33])
{
    size_t n = 0;

    if (!s)
        return false;
    for (; *s; s++, n++) {
        char ch = *s;
        if (n == 32)
            return false;
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
        out[n] = ch;
    }
    out[n] = '\0';
    return n >= min;
}
