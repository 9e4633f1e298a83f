/*
 * fss_util.c - small helpers for the rest of the server: status strings,
 * error filling, the growable output buffer with its JSON writer (output
 * only; escaping is the one thing that must be right), hashing and random
 * bytes (GnuTLS), and constant-time comparison for secrets.
 */
#include "fss_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

/* 00000000-0000-0000-0000-00000000f5f5: never produced by fs_id_new (not v7),
 * so no device can share it. */
const fs_id fss_server_device = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0xf5, 0xf5}};

const char *fss_strerror(fss_status st)
{
    switch (st) {
    case FSS_OK: return "ok";
    case FSS_EINVAL: return "invalid argument";
    case FSS_ENOMEM: return "out of memory";
    case FSS_EDB: return "database error";
    case FSS_EHTTP: return "HTTP daemon error";
    case FSS_ENOTFOUND: return "not found";
    case FSS_EEXISTS: return "already exists";
    case FSS_ETLS: return "TLS error";
    case FSS_EIMPORT: return "import rejected";
    case FSS_ERANDOM: return "random source failed";
    }
    return "unknown server status";
}

fss_status fss__fail(fs_error *err, fss_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fs_error_vset(err, (int)st, fmt, ap);
    va_end(ap);
    return st;
}

void fss_buf_free(fss_buf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

void fss_buf_add(fss_buf *b, const void *p, size_t n)
{
    size_t want;
    char *d;

    if (b->oom)
        return;
    want = b->len + n + 1;
    if (want > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < want)
            cap *= 2;
        d = realloc(b->data, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void fss_buf_puts(fss_buf *b, const char *s)
{
    fss_buf_add(b, s, strlen(s));
}

void fss_buf_printf(fss_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        fss_buf_add(b, small, (size_t)n);
        return;
    }
    {
        char *big = malloc((size_t)n + 1);
        if (!big) {
            b->oom = true;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        fss_buf_add(b, big, (size_t)n);
        free(big);
    }
}

void fss_json_str(fss_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;

    fss_buf_add(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[7];
        size_t elen = 0;

        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            elen = 2;
        } else if (ch == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (ch == '\r') {
            memcpy(esc, "\\r", 2);
            elen = 2;
        } else if (ch == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            elen = 6;
        } else if (ch >= 0x80) {
            /* Stored text may hold client bytes: a byte that does not start
             * a valid UTF-8 sequence is written as U+FFFD, so every JSON
             * answer and log line is valid UTF-8. */
            size_t len = fs_utf8_seq(s + i, n - i);
            if (!len) {
                memcpy(esc, "\\ufffd", 6);
                elen = 6;
            } else {
                run += len;
                i += len - 1;
                continue;
            }
        }
        if (elen) {
            fss_buf_add(b, s + i - run, run);
            run = 0;
            fss_buf_add(b, esc, elen);
        } else {
            run++;
        }
    }
    fss_buf_add(b, s + n - run, run);
    fss_buf_add(b, "\"", 1);
}

void fss_json_cstr(fss_buf *b, const char *s)
{
    if (!s)
        fss_buf_puts(b, "null");
    else
        fss_json_str(b, s, strlen(s));
}

void fss_json_id(fss_buf *b, const fs_id *id)
{
    char t[FS_ID_STRLEN + 1];

    fs_id_format(id, t);
    fss_json_str(b, t, FS_ID_STRLEN);
}

void fss_json_value(fss_buf *b, const fs_value *v)
{
    switch (v->kind) {
    case FS_VAL_NULL: fss_buf_puts(b, "null"); break;
    case FS_VAL_INT: fss_buf_printf(b, "%lld", (long long)v->u.i); break;
    case FS_VAL_REAL:
        if (isfinite(v->u.r)) {
            char r[FS_REAL_STRLEN + 1];
            fs_real_format(v->u.r, r);
            fss_buf_puts(b, r);
        } else
            fss_buf_puts(b, "null");
        break;
    case FS_VAL_TEXT: fss_json_str(b, v->u.text.p, v->u.text.n); break;
    case FS_VAL_ID: fss_json_id(b, &v->u.id); break;
    }
}

uint64_t fss_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fss_sha256(const void *p, size_t n, uint8_t out[32])
{
    /* SHA-256 of a short buffer cannot fail in GnuTLS short of a broken
     * library; zero the output first so a failure never matches a hash. */
    memset(out, 0, 32);
    (void)gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, out);
}

bool fss_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    /* Constant time: every byte is examined whatever the first mismatch. */
    volatile uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= (uint8_t)(a[i] ^ b[i]);
    return acc == 0;
}

fss_status fss_random(void *out, size_t n, fs_error *err)
{
    uint8_t *p = out;
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return fss__fail(err, FSS_ERANDOM, "getrandom: %s",
                             strerror(errno));
        }
        got += (size_t)r;
    }
    return FSS_OK;
}

void fss_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}
