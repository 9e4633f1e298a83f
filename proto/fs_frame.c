/*
 * fs_frame.c - body framing (identity / deflate / gzip), limits, allocator
 * plumbing and status text for libfsproto.
 *
 * Everything that touches zlib lives here. Compression is for bodies we
 * build ourselves; decompression handles untrusted bodies, so it checks the
 * wire size before starting and the inflated size while it runs. It inflates
 * twice: a first pass writes into a fixed 64 KiB scratch window, counts, and
 * stops the moment the count passes max_inflated; only then is a buffer of
 * the measured size allocated and filled by a second pass. So a zip bomb
 * costs 64 KiB plus zlib's state however far it would expand, a legitimate
 * body costs exactly its size (no growth copies), and a declared size (gzip's
 * ISIZE trailer) is never trusted. The price is inflating accepted bodies
 * twice, which is cheap next to unpacking and merging them.
 */
#include "fs_proto_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

/* The window the measuring inflate pass writes into and discards. */
#define INFLATE_SCRATCH ((size_t)64 * 1024)

/* zlib counts in uInt; larger inputs are fed in slices of this size. */
#define ZLIB_SLICE ((size_t)UINT_MAX)

/* ------------------------------------------------------------------------ */
/* Status text                                                               */
/* ------------------------------------------------------------------------ */

const char *fs_proto_strerror(fs_proto_status st)
{
    switch (st) {
    case FS_PROTO_OK: return "ok";
    case FS_PROTO_EINVAL: return "invalid argument";
    case FS_PROTO_ENOMEM: return "out of memory";
    case FS_PROTO_EBODY_LIMIT: return "body too large";
    case FS_PROTO_EINFLATED_LIMIT: return "inflated body too large";
    case FS_PROTO_ECHANGES_LIMIT: return "too many changes";
    case FS_PROTO_EROWS_LIMIT: return "too many rows";
    case FS_PROTO_EFIELDS_LIMIT: return "too many fields";
    case FS_PROTO_ESTRING_LIMIT: return "string too long";
    case FS_PROTO_EDEVICES_LIMIT: return "device table too long";
    case FS_PROTO_EENCODING: return "unsupported content encoding";
    case FS_PROTO_EFRAMING: return "corrupt compressed body";
    case FS_PROTO_EPROTOBUF: return "malformed protobuf";
    case FS_PROTO_EVALUE: return "invalid value";
    case FS_PROTO_ECELLS_LIMIT: return "too many field values";
    case FS_PROTO_EVERSION: return "unsupported protocol version";
    }
    return "unknown status";
}

int fs_proto_http_status(fs_proto_status st)
{
    switch (st) {
    case FS_PROTO_OK: return 200;
    case FS_PROTO_EBODY_LIMIT:
    case FS_PROTO_EINFLATED_LIMIT: return 413;
    case FS_PROTO_EENCODING: return 415;
    case FS_PROTO_ENOMEM: return 500;
    default: return 400;
    }
}

fs_proto_error_code fs_proto_status_error_code(fs_proto_status st)
{
    switch (st) {
    case FS_PROTO_OK: return FS_PROTO_ERR_UNSPECIFIED;
    case FS_PROTO_EBODY_LIMIT:
    case FS_PROTO_EINFLATED_LIMIT:
    case FS_PROTO_ECHANGES_LIMIT:
    case FS_PROTO_EROWS_LIMIT:
    case FS_PROTO_EFIELDS_LIMIT:
    case FS_PROTO_ESTRING_LIMIT:
    case FS_PROTO_EDEVICES_LIMIT:
    case FS_PROTO_ECELLS_LIMIT: return FS_PROTO_ERR_TOO_LARGE;
    case FS_PROTO_EENCODING: return FS_PROTO_ERR_UNSUPPORTED_ENCODING;
    case FS_PROTO_EVERSION: return FS_PROTO_ERR_UNSUPPORTED_VERSION;
    case FS_PROTO_ENOMEM: return FS_PROTO_ERR_INTERNAL;
    default: return FS_PROTO_ERR_BAD_REQUEST;
    }
}

const char *fs_proto_error_code_name(fs_proto_error_code c)
{
    switch (c) {
    case FS_PROTO_ERR_UNSPECIFIED: return "unspecified";
    case FS_PROTO_ERR_BAD_REQUEST: return "bad_request";
    case FS_PROTO_ERR_TOO_LARGE: return "too_large";
    case FS_PROTO_ERR_UNSUPPORTED_ENCODING: return "unsupported_encoding";
    case FS_PROTO_ERR_UNSUPPORTED_VERSION: return "unsupported_version";
    case FS_PROTO_ERR_UNAUTHORIZED: return "unauthorized";
    case FS_PROTO_ERR_REVOKED: return "revoked";
    case FS_PROTO_ERR_ENROLL_CODE: return "enroll_code";
    case FS_PROTO_ERR_BATCH_CONFLICT: return "batch_conflict";
    case FS_PROTO_ERR_BAD_CURSOR: return "bad_cursor";
    case FS_PROTO_ERR_BUSY: return "busy";
    case FS_PROTO_ERR_INTERNAL: return "internal";
    }
    return "unspecified";
}

fs_proto_status fs_proto__fail(fs_error *err, fs_proto_status st,
                               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fs_error_vset(err, (int)st, fmt, ap);
    va_end(ap);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Limits and allocation                                                     */
/* ------------------------------------------------------------------------ */

fs_proto_limits fs_proto_limits_default(void)
{
    fs_proto_limits l;
    memset(&l, 0, sizeof l);
    l.max_body = (size_t)8 * 1024 * 1024;
    l.max_inflated = (size_t)32 * 1024 * 1024;
    l.max_changes = 5000;
    l.max_rows = 50000;
    l.max_fields = 64;
    l.max_string = (size_t)64 * 1024;
    l.max_devices = 50000;
    l.max_cells = 500000;
    l.alloc = NULL;
    return l;
}

void fs_proto__limits(const fs_proto_limits *in, fs_proto_limits *out)
{
    *out = in ? *in : fs_proto_limits_default();
}

void *fs_proto__alloc(const fs_proto_allocator *a, size_t n)
{
    if (n == 0)
        n = 1;
    return a ? a->alloc(a->payload, n) : malloc(n);
}

void fs_proto__free(const fs_proto_allocator *a, void *p)
{
    if (!p)
        return;
    if (a)
        a->free(a->payload, p);
    else
        free(p);
}

ProtobufCAllocator *fs_proto__pbc_allocator(const fs_proto_allocator *a,
                                            ProtobufCAllocator *storage)
{
    if (!a)
        return NULL;
    storage->alloc = a->alloc;
    storage->free = a->free;
    storage->allocator_data = a->payload;
    return storage;
}

/* zlib's allocation hooks, routed to the configured allocator so that a
 * counting allocator sees zlib's window and state as well. */
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    /* Two uInt factors cannot overflow a 64-bit size_t. */
    return fs_proto__alloc((const fs_proto_allocator *)opaque,
                           (size_t)items * (size_t)size);
}

static void zlib_free(voidpf opaque, voidpf p)
{
    fs_proto__free((const fs_proto_allocator *)opaque, p);
}

static void zlib_setup(z_stream *zs, const fs_proto_allocator *a)
{
    memset(zs, 0, sizeof *zs);
    zs->zalloc = zlib_alloc;
    zs->zfree = zlib_free;
    /* zlib's opaque is not const-qualified; it is only passed back to the
     * hooks above, which treat it as const. */
    zs->opaque = (voidpf)(uintptr_t)a;
}

/* ------------------------------------------------------------------------ */
/* Buffers                                                                   */
/* ------------------------------------------------------------------------ */

void fs_proto_buf_free(fs_proto_buf *buf)
{
    if (!buf)
        return;
    fs_proto__free(buf->alloc, buf->data);
    memset(buf, 0, sizeof *buf);
}

/* Resizes buf to exactly newcap (>= len) with the buffer's allocator. The
 * allocator interface has no realloc, so this is allocate-copy-free. */
static fs_proto_status buf_resize(fs_proto_buf *buf, size_t newcap, fs_error *err)
{
    uint8_t *p = fs_proto__alloc(buf->alloc, newcap);
    if (!p)
        return fs_proto__fail(err, FS_PROTO_ENOMEM,
                              "cannot allocate a %zu-byte body buffer", newcap);
    if (buf->len)
        memcpy(p, buf->data, buf->len);
    fs_proto__free(buf->alloc, buf->data);
    buf->data = p;
    buf->cap = newcap;
    return FS_PROTO_OK;
}

/* Makes buf an exact copy of the n bytes at in. */
static fs_proto_status buf_copy(fs_proto_buf *buf, const uint8_t *in, size_t n,
                                fs_error *err)
{
    fs_proto_status st = buf_resize(buf, n, err);
    if (st != FS_PROTO_OK)
        return st;
    if (n)
        memcpy(buf->data, in, n);
    buf->len = n;
    return FS_PROTO_OK;
}

/* ------------------------------------------------------------------------ */
/* Content-Encoding                                                          */
/* ------------------------------------------------------------------------ */

const char *fs_proto_encoding_name(fs_proto_encoding enc)
{
    switch (enc) {
    case FS_PROTO_IDENTITY: return "identity";
    case FS_PROTO_DEFLATE: return "deflate";
    case FS_PROTO_GZIP: return "gzip";
    }
    return "identity";
}

fs_proto_status fs_proto_encoding_parse(const char *value, size_t len,
                                        fs_proto_encoding *out, fs_error *err)
{
    if (!out)
        return fs_proto__fail(err, FS_PROTO_EINVAL, "encoding_parse: out is NULL");
    if (!value)
        len = 0;
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;

    if (len == 0 || (len == 8 && strncasecmp(value, "identity", 8) == 0))
        *out = FS_PROTO_IDENTITY;
    else if (len == 7 && strncasecmp(value, "deflate", 7) == 0)
        *out = FS_PROTO_DEFLATE;
    else if ((len == 4 && strncasecmp(value, "gzip", 4) == 0) ||
             (len == 6 && strncasecmp(value, "x-gzip", 6) == 0))
        *out = FS_PROTO_GZIP;
    else
        return fs_proto__fail(err, FS_PROTO_EENCODING,
                              "unsupported Content-Encoding \"%.*s\" "
                              "(supported: identity, deflate, gzip)",
                              (int)fs_utf8_cut(value, len, 64), value);
    return FS_PROTO_OK;
}

static int window_bits(fs_proto_encoding enc)
{
    /* 15 = 32 KiB window with the zlib wrapper (HTTP "deflate");
     * +16 = gzip wrapper. */
    return enc == FS_PROTO_GZIP ? 15 + 16 : 15;
}

/* The deflate window and memory level for an input of n bytes. A window
 * (and hash table) larger than the input finds no more matches, and
 * deflateInit allocates and fills them (~256 KiB at 15 bits, level 8) for
 * every body: for a bootstrap's ~100-byte page requests that was ~5% of
 * the client's CPU (docs/BENCHMARKS.md, branch first3). Any inflater
 * accepts a smaller window than its own (the header says which). */
static void deflate_params(fs_proto_encoding enc, size_t n, int *wbits, int *mem_level)
{
    int w = 9; /* zlib's smallest with its wrapper */

    while (w < 15 && ((size_t)1 << w) < n)
        w++;
    *mem_level = w >= 15 ? 8 : (w - 7 > 1 ? w - 7 : 1);
    *wbits = enc == FS_PROTO_GZIP ? w + 16 : w;
}

/* ------------------------------------------------------------------------ */
/* Compress                                                                  */
/* ------------------------------------------------------------------------ */

fs_proto_status fs_proto_compress(fs_proto_encoding enc, const uint8_t *in,
                                  size_t n, const fs_proto_limits *limits,
                                  fs_proto_buf *out, fs_error *err)
{
    fs_proto_limits lim;
    fs_proto_buf buf;
    z_stream zs;
    bool zs_live = false;
    fs_proto_status st = FS_PROTO_OK;
    size_t fed = 0;
    int wbits, mem_level;

    memset(&buf, 0, sizeof buf);
    if (!out || (!in && n))
        return fs_proto__fail(err, FS_PROTO_EINVAL, "compress: NULL argument");
    memset(out, 0, sizeof *out);
    fs_proto__limits(limits, &lim);
    buf.alloc = lim.alloc;

    if (enc == FS_PROTO_IDENTITY) {
        if (n > lim.max_body) {
            st = fs_proto__fail(err, FS_PROTO_EBODY_LIMIT,
                                "body is %zu bytes; limit max_body = %zu", n,
                                lim.max_body);
            goto done;
        }
        st = buf_copy(&buf, in, n, err);
        goto done;
    }
    if (enc != FS_PROTO_DEFLATE && enc != FS_PROTO_GZIP) {
        st = fs_proto__fail(err, FS_PROTO_EENCODING, "unknown encoding %d", (int)enc);
        goto done;
    }

    zlib_setup(&zs, lim.alloc);
    deflate_params(enc, n, &wbits, &mem_level);
    if (deflateInit2(&zs,
                     lim.deflate_level >= 1 && lim.deflate_level <= 9
                         ? lim.deflate_level : Z_DEFAULT_COMPRESSION,
                     Z_DEFLATED, wbits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        st = fs_proto__fail(err, FS_PROTO_ENOMEM, "deflateInit2 failed");
        goto done;
    }
    zs_live = true;

    {
        /* deflateBound is exact enough for one allocation; the result may
         * still be capped by max_body, which we report rather than grow. */
        size_t bound = n <= ZLIB_SLICE ? (size_t)deflateBound(&zs, (uLong)n)
                                       : n + n / 1000 + 64;
        size_t cap = bound < lim.max_body + 1 ? bound : lim.max_body + 1;
        if (lim.max_body == SIZE_MAX)
            cap = bound;
        if ((st = buf_resize(&buf, cap, err)) != FS_PROTO_OK)
            goto done;
    }

    for (;;) {
        int rc, flush;
        size_t room = buf.cap - buf.len;
        if (zs.avail_in == 0 && fed < n) {
            size_t slice = n - fed < ZLIB_SLICE ? n - fed : ZLIB_SLICE;
            zs.next_in = (Bytef *)(uintptr_t)(in + fed);
            zs.avail_in = (uInt)slice;
            fed += slice;
        }
        flush = fed == n ? Z_FINISH : Z_NO_FLUSH;
        zs.next_out = buf.data + buf.len;
        zs.avail_out = (uInt)(room < ZLIB_SLICE ? room : ZLIB_SLICE);
        {
            uInt before = zs.avail_out;
            rc = deflate(&zs, flush);
            buf.len += before - zs.avail_out;
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st = fs_proto__fail(err, FS_PROTO_ENOMEM, "deflate failed (%d)", rc);
            goto done;
        }
        if (buf.len == buf.cap) {
            if (buf.cap > lim.max_body) {
                st = fs_proto__fail(err, FS_PROTO_EBODY_LIMIT,
                                    "compressed body is more than %zu bytes; "
                                    "limit max_body = %zu",
                                    lim.max_body, lim.max_body);
                goto done;
            }
            /* Only reached when deflateBound was not computable. */
            if ((st = buf_resize(&buf, buf.cap + buf.cap / 2 + 64, err)) != FS_PROTO_OK)
                goto done;
        }
    }
    if (buf.len > lim.max_body) {
        st = fs_proto__fail(err, FS_PROTO_EBODY_LIMIT,
                            "compressed body is %zu bytes; limit max_body = %zu",
                            buf.len, lim.max_body);
        goto done;
    }

done:
    if (zs_live)
        deflateEnd(&zs);
    if (st == FS_PROTO_OK)
        *out = buf;
    else
        fs_proto_buf_free(&buf);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Decompress                                                                */
/* ------------------------------------------------------------------------ */

/* An identity body is its own inflated form: both size limits apply to n. */
static fs_proto_status identity_check(size_t n, const fs_proto_limits *lim,
                                      fs_error *err)
{
    if (n > lim->max_body)
        return fs_proto__fail(err, FS_PROTO_EBODY_LIMIT,
                              "body is %zu bytes; limit max_body = %zu", n,
                              lim->max_body);
    if (n > lim->max_inflated)
        return fs_proto__fail(err, FS_PROTO_EINFLATED_LIMIT,
                              "body is %zu bytes; limit max_inflated = %zu", n,
                              lim->max_inflated);
    return FS_PROTO_OK;
}

/*
 * One inflate pass over the whole body. With dst == NULL it only measures:
 * output goes to a small scratch window and is thrown away, and the pass
 * stops as soon as the running total passes max_inflated. With dst it
 * writes exactly dst_cap bytes (the measured size). Both passes report
 * corrupt, truncated and trailing data.
 */
static fs_proto_status inflate_pass(fs_proto_encoding enc, const uint8_t *in, size_t n,
                                    const fs_proto_limits *lim, uint8_t *dst,
                                    size_t dst_cap, size_t *total, fs_error *err)
{
    z_stream zs;
    bool zs_live = false;
    uint8_t *scratch = NULL;
    size_t fed = 0, produced = 0;
    fs_proto_status st = FS_PROTO_OK;

    if (!dst) {
        scratch = fs_proto__alloc(lim->alloc, INFLATE_SCRATCH);
        if (!scratch) {
            st = fs_proto__fail(err, FS_PROTO_ENOMEM, "cannot allocate inflate scratch");
            goto done;
        }
    }
    zlib_setup(&zs, lim->alloc);
    if (inflateInit2(&zs, window_bits(enc)) != Z_OK) {
        st = fs_proto__fail(err, FS_PROTO_ENOMEM, "inflateInit2 failed");
        goto done;
    }
    zs_live = true;

    for (;;) {
        int rc;
        uInt before;
        if (zs.avail_in == 0 && fed < n) {
            size_t slice = n - fed < ZLIB_SLICE ? n - fed : ZLIB_SLICE;
            zs.next_in = (Bytef *)(uintptr_t)(in + fed);
            zs.avail_in = (uInt)slice;
            fed += slice;
        }
        if (dst) {
            size_t room = dst_cap - produced;
            zs.next_out = dst + produced;
            zs.avail_out = (uInt)(room < ZLIB_SLICE ? room : ZLIB_SLICE);
        } else {
            zs.next_out = scratch;
            zs.avail_out = (uInt)INFLATE_SCRATCH;
        }
        before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        produced += before - zs.avail_out;

        if (produced > lim->max_inflated) {
            st = fs_proto__fail(err, FS_PROTO_EINFLATED_LIMIT,
                                "%s body of %zu bytes inflates past %zu bytes; limit "
                                "max_inflated = %zu",
                                fs_proto_encoding_name(enc), n, lim->max_inflated,
                                lim->max_inflated);
            goto done;
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR && fed < n)
            continue; /* the next input slice */
        if (rc == Z_BUF_ERROR && dst && zs.avail_out == 0) {
            /* The measured size is exhausted but the stream goes on: the
             * body changed between passes, which cannot happen for const
             * input; refuse rather than trust it. */
            st = fs_proto__fail(err, FS_PROTO_EFRAMING, "%s body longer than measured",
                                fs_proto_encoding_name(enc));
            goto done;
        }
        if (rc == Z_BUF_ERROR) {
            st = fs_proto__fail(err, FS_PROTO_EFRAMING,
                                "%s body is truncated (%zu bytes end without the "
                                "stream's end marker)",
                                fs_proto_encoding_name(enc), n);
            goto done;
        }
        if (rc == Z_MEM_ERROR) {
            st = fs_proto__fail(err, FS_PROTO_ENOMEM, "inflate: out of memory");
            goto done;
        }
        st = fs_proto__fail(err, FS_PROTO_EFRAMING, "corrupt %s body: %s",
                            fs_proto_encoding_name(enc), zs.msg ? zs.msg : "inflate error");
        goto done;
    }
    if (zs.avail_in > 0 || fed < n) {
        st = fs_proto__fail(err, FS_PROTO_EFRAMING,
                            "%zu bytes of trailing data after the %s stream",
                            (size_t)zs.avail_in + (n - fed), fs_proto_encoding_name(enc));
        goto done;
    }
    *total = produced;

done:
    if (zs_live)
        inflateEnd(&zs);
    fs_proto__free(lim->alloc, scratch);
    return st;
}

fs_proto_status fs_proto_decompress(fs_proto_encoding enc, const uint8_t *in,
                                    size_t n, const fs_proto_limits *limits,
                                    fs_proto_buf *out, fs_error *err)
{
    fs_proto_limits lim;
    fs_proto_buf buf;
    fs_proto_status st = FS_PROTO_OK;
    size_t total = 0, total2 = 0;

    memset(&buf, 0, sizeof buf);
    if (!out || (!in && n))
        return fs_proto__fail(err, FS_PROTO_EINVAL, "decompress: NULL argument");
    memset(out, 0, sizeof *out);
    fs_proto__limits(limits, &lim);
    buf.alloc = lim.alloc;

    if (enc == FS_PROTO_IDENTITY) {
        st = identity_check(n, &lim, err);
        if (st == FS_PROTO_OK)
            st = buf_copy(&buf, in, n, err);
        goto done;
    }
    if (n > lim.max_body) {
        st = fs_proto__fail(err, FS_PROTO_EBODY_LIMIT,
                            "body is %zu bytes; limit max_body = %zu", n,
                            lim.max_body);
        goto done;
    }
    if (enc != FS_PROTO_DEFLATE && enc != FS_PROTO_GZIP) {
        st = fs_proto__fail(err, FS_PROTO_EENCODING, "unknown encoding %d", (int)enc);
        goto done;
    }
    if (n == 0) {
        st = fs_proto__fail(err, FS_PROTO_EFRAMING,
                            "empty body cannot be %s data", fs_proto_encoding_name(enc));
        goto done;
    }

    /* Pass 1 measures with a fixed scratch window, so a zip bomb costs
     * INFLATE_SCRATCH plus zlib's state however far it would expand. Only a
     * body that fits max_inflated gets a buffer, of its true size. */
    st = inflate_pass(enc, in, n, &lim, NULL, 0, &total, err);
    if (st != FS_PROTO_OK)
        goto done;
    if ((st = buf_resize(&buf, total, err)) != FS_PROTO_OK)
        goto done;
    st = inflate_pass(enc, in, n, &lim, buf.data, total, &total2, err);
    if (st != FS_PROTO_OK)
        goto done;
    buf.len = total2;

done:
    if (st == FS_PROTO_OK)
        *out = buf;
    else
        fs_proto_buf_free(&buf);
    return st;
}

fs_proto_status fs_proto__unframe(fs_proto_encoding enc, const uint8_t *in,
                                  size_t n, const fs_proto_limits *lim,
                                  fs_proto_buf *owned, const uint8_t **data,
                                  size_t *len, fs_error *err)
{
    fs_proto_status st;
    memset(owned, 0, sizeof *owned);
    if (!in && n)
        return fs_proto__fail(err, FS_PROTO_EINVAL, "body is NULL");
    if (enc == FS_PROTO_IDENTITY) {
        /* Same checks as fs_proto_decompress, without the copy. */
        st = identity_check(n, lim, err);
        if (st != FS_PROTO_OK)
            return st;
        *data = in;
        *len = n;
        return FS_PROTO_OK;
    }
    st = fs_proto_decompress(enc, in, n, lim, owned, err);
    if (st != FS_PROTO_OK)
        return st;
    *data = owned->data;
    *len = owned->len;
    return FS_PROTO_OK;
}
