/*
 * test_proto_limits.c - hard limits and hostile bodies for libfsproto.
 *
 * Each limit is tested at its boundary (accepted) and one past it (refused
 * with its own status and a message naming the limit and the value). Then
 * truncated, bit-flipped and random bodies under every framing, and a zip
 * bomb that must be refused without the decoder ever holding its inflated
 * size, proven with a counting allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "fs_proto.h"
#include "proto_fixtures.h"

static const fs_proto_encoding encodings[] = {FS_PROTO_IDENTITY, FS_PROTO_DEFLATE,
                                              FS_PROTO_GZIP};
#define NENC (sizeof encodings / sizeof encodings[0])

static void expect_msg(const fs_error *err, const char *a, const char *b)
{
    if (!strstr(err->text, a) || (b && !strstr(err->text, b)))
        fail_msg("message \"%s\" should name \"%s\" and \"%s\"", err->text, a, b ? b : "");
}

/* Decodes a request body with lim and returns the status; frees on success. */
static fs_proto_status decode_req(const fs_proto_buf *b, fs_proto_encoding enc,
                                  const fs_proto_limits *lim, fs_error *err)
{
    fs_sync_request back;
    fs_proto_status st = fs_proto_sync_request_decode(b->data, b->len, enc, lim, &back,
                                                      NULL, err);
    fs_proto_sync_request_free(&back);
    return st;
}

static fs_proto_status decode_resp(const fs_proto_buf *b, fs_proto_encoding enc,
                                   const fs_proto_limits *lim, fs_error *err)
{
    fs_sync_response back;
    fs_proto_status st = fs_proto_sync_response_decode(b->data, b->len, enc, lim, &back,
                                                       NULL, err);
    fs_proto_sync_response_free(&back);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Each limit at the boundary and one past it                                */
/* ------------------------------------------------------------------------ */

static void test_limit_body(void **state)
{
    fs_sync_request req;
    (void)state;
    fx_request(&req, 3, 100);
    for (size_t e = 0; e < NENC; e++) {
        fs_proto_buf b;
        fs_error err;
        fs_proto_limits lim = fs_proto_limits_default();
        fx_counter cnt = {0};
        fs_proto_allocator a = fx_counting_allocator(&cnt);
        char want[64];
        assert_int_equal(fs_proto_sync_request_encode(&req, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        lim.max_body = b.len;
        assert_int_equal(decode_req(&b, encodings[e], &lim, &err), FS_PROTO_OK);
        lim.max_body = b.len - 1;
        lim.alloc = &a;
        assert_int_equal(decode_req(&b, encodings[e], &lim, &err), FS_PROTO_EBODY_LIMIT);
        assert_int_equal(err.code, FS_PROTO_EBODY_LIMIT);
        snprintf(want, sizeof want, "%zu bytes", b.len);
        expect_msg(&err, "max_body = ", want);
        /* Refused before a single byte was allocated. */
        assert_int_equal(cnt.calls, 0);
        /* The encoder refuses to build it too. */
        {
            fs_proto_buf b2;
            lim.alloc = NULL;
            assert_int_equal(fs_proto_sync_request_encode(&req, encodings[e], &lim, &b2, &err),
                             FS_PROTO_EBODY_LIMIT);
        }
        fs_proto_buf_free(&b);
    }
    fs_proto_sync_request_free(&req);
}

static void test_limit_inflated(void **state)
{
    fs_sync_request req;
    fs_proto_buf raw;
    fs_error err;
    (void)state;
    fx_request(&req, 3, 100);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_IDENTITY, NULL, &raw, &err),
                     FS_PROTO_OK);
    for (size_t e = 0; e < NENC; e++) {
        fs_proto_buf b;
        fs_proto_limits lim = fs_proto_limits_default();
        assert_int_equal(fs_proto_sync_request_encode(&req, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        lim.max_inflated = raw.len;
        assert_int_equal(decode_req(&b, encodings[e], &lim, &err), FS_PROTO_OK);
        lim.max_inflated = raw.len - 1;
        assert_int_equal(decode_req(&b, encodings[e], &lim, &err), FS_PROTO_EINFLATED_LIMIT);
        {
            char want[64];
            snprintf(want, sizeof want, "max_inflated = %zu", raw.len - 1);
            expect_msg(&err, want, NULL);
        }
        fs_proto_buf_free(&b);
    }
    fs_proto_buf_free(&raw);
    fs_proto_sync_request_free(&req);
}

static void test_limit_changes(void **state)
{
    fs_sync_request req;
    (void)state;
    fx_request(&req, 4, 10);
    for (size_t e = 0; e < NENC; e++) {
        fs_proto_buf b;
        fs_error err;
        fs_proto_limits lim = fs_proto_limits_default();
        assert_int_equal(fs_proto_sync_request_encode(&req, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        lim.max_changes = 4;
        assert_int_equal(decode_req(&b, encodings[e], &lim, &err), FS_PROTO_OK);
        lim.max_changes = 3;
        assert_int_equal(decode_req(&b, encodings[e], &lim, &err), FS_PROTO_ECHANGES_LIMIT);
        expect_msg(&err, "max_changes = 3", "4 entries");
        fs_proto_buf_free(&b);
        assert_int_equal(fs_proto_sync_request_encode(&req, encodings[e], &lim, &b, &err),
                         FS_PROTO_ECHANGES_LIMIT);
    }
    fs_proto_sync_request_free(&req);
}

static void test_limit_rows_and_exits(void **state)
{
    fs_sync_response resp;
    fs_proto_buf b;
    fs_error err;
    fs_proto_limits lim = fs_proto_limits_default();
    (void)state;
    fx_response(&resp, 5, 2); /* 5 rows, 2 exits, 3 results */
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_DEFLATE, NULL, &b, &err),
                     FS_PROTO_OK);
    lim.max_rows = 5;
    assert_int_equal(decode_resp(&b, FS_PROTO_DEFLATE, &lim, &err), FS_PROTO_OK);
    lim.max_rows = 4;
    assert_int_equal(decode_resp(&b, FS_PROTO_DEFLATE, &lim, &err), FS_PROTO_EROWS_LIMIT);
    expect_msg(&err, "max_rows = 4", "5 entries");
    /* Results count against max_changes. */
    lim = fs_proto_limits_default();
    lim.max_changes = 3;
    assert_int_equal(decode_resp(&b, FS_PROTO_DEFLATE, &lim, &err), FS_PROTO_OK);
    lim.max_changes = 2;
    assert_int_equal(decode_resp(&b, FS_PROTO_DEFLATE, &lim, &err), FS_PROTO_ECHANGES_LIMIT);
    expect_msg(&err, "results", "max_changes = 2");
    fs_proto_buf_free(&b);
    fs_proto_sync_response_free(&resp);

    /* Exits alone: 0 rows, 2 exits. */
    fx_response(&resp, 0, 1);
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_OK);
    lim = fs_proto_limits_default();
    lim.max_rows = 2;
    assert_int_equal(decode_resp(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_OK);
    lim.max_rows = 1;
    assert_int_equal(decode_resp(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_EROWS_LIMIT);
    expect_msg(&err, "exits", "max_rows = 1");
    fs_proto_buf_free(&b);
    fs_proto_sync_response_free(&resp);
}

static void test_limit_fields(void **state)
{
    fs_sync_request req;
    fs_sync_response resp;
    fs_proto_buf b;
    fs_error err;
    fs_proto_limits lim = fs_proto_limits_default();
    (void)state;

    fx_request(&req, 1, 10); /* one visit change with 8 fields */
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_OK);
    lim.max_fields = 8;
    assert_int_equal(decode_req(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_OK);
    lim.max_fields = 7;
    assert_int_equal(decode_req(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_EFIELDS_LIMIT);
    expect_msg(&err, "max_fields = 7", "8 columns");
    fs_proto_buf_free(&b);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, &lim, &b, &err),
                     FS_PROTO_EFIELDS_LIMIT);
    assert_null(b.data);
    fs_proto_sync_request_free(&req);

    fx_response(&resp, 1, 1); /* one visit row with 6 cells */
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_OK);
    lim.max_fields = 6;
    assert_int_equal(decode_resp(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_OK);
    lim.max_fields = 5;
    assert_int_equal(decode_resp(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_EFIELDS_LIMIT);
    expect_msg(&err, "SyncResponse.page", "max_fields = 5");
    fs_proto_buf_free(&b);
    fs_proto_sync_response_free(&resp);
}

static void test_limit_string(void **state)
{
    fs_sync_request req;
    fs_proto_buf b;
    fs_error err;
    fs_proto_limits lim = fs_proto_limits_default();
    (void)state;
    fx_request(&req, 1, 300); /* notes: 300 bytes, the longest string */
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_DEFLATE, NULL, &b, &err),
                     FS_PROTO_OK);
    lim.max_string = 300;
    assert_int_equal(decode_req(&b, FS_PROTO_DEFLATE, &lim, &err), FS_PROTO_OK);
    lim.max_string = 299;
    assert_int_equal(decode_req(&b, FS_PROTO_DEFLATE, &lim, &err), FS_PROTO_ESTRING_LIMIT);
    expect_msg(&err, "max_string = 299", "300 bytes");
    fs_proto_buf_free(&b);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_DEFLATE, &lim, &b, &err),
                     FS_PROTO_ESTRING_LIMIT);
    assert_null(b.data);
    fs_proto_sync_request_free(&req);
}

static void test_limit_devices_and_cells(void **state)
{
    fs_sync_response resp;
    fs_sync_request req;
    fs_proto_buf b;
    fs_error err;
    fs_proto_limits lim = fs_proto_limits_default();
    (void)state;

    fx_response(&resp, 10, 3);
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_OK);
    lim.max_devices = 3;
    assert_int_equal(decode_resp(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_OK);
    lim.max_devices = 2;
    assert_int_equal(decode_resp(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_EDEVICES_LIMIT);
    expect_msg(&err, "max_devices = 2", "3 entries");
    fs_proto_buf_free(&b);
    fs_proto_sync_response_free(&resp);

    /* 3 visit changes x 8 fields + 1 tombstone-only change = 24 cells. */
    fx_request(&req, 4, 10);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_OK);
    lim = fs_proto_limits_default();
    lim.max_cells = 24;
    assert_int_equal(decode_req(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_OK);
    lim.max_cells = 23;
    assert_int_equal(decode_req(&b, FS_PROTO_GZIP, &lim, &err), FS_PROTO_ECELLS_LIMIT);
    expect_msg(&err, "max_cells = 23", "24 entries");
    fs_proto_buf_free(&b);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, &lim, &b, &err),
                     FS_PROTO_ECELLS_LIMIT);
    assert_null(b.data);
    fs_proto_buf_free(&b);
    fs_proto_sync_request_free(&req);
}

/* Protocol constants held by fixed-size domain fields are limits too. */
static void test_limit_enroll_code(void **state)
{
    fs_enroll_request rq, back;
    fs_proto_buf b;
    fs_error err;
    (void)state;
    memset(&rq, 0, sizeof rq);
    memset(rq.code, 'A', FS_PROTO_CODE_MAX);
    assert_int_equal(fs_proto_enroll_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    assert_int_equal(fs_proto_enroll_request_decode(b.data, b.len, FS_PROTO_IDENTITY, NULL,
                                                    &back, NULL, &err),
                     FS_PROTO_OK);
    assert_int_equal(strlen(back.code), FS_PROTO_CODE_MAX);
    fs_proto_buf_free(&b);
    /* One more byte: hand-made body (field 2, length 65). */
    {
        uint8_t body[2 + FS_PROTO_CODE_MAX + 1];
        body[0] = 0x12;
        body[1] = FS_PROTO_CODE_MAX + 1;
        memset(body + 2, 'A', FS_PROTO_CODE_MAX + 1);
        assert_int_equal(fs_proto_enroll_request_decode(body, sizeof body, FS_PROTO_IDENTITY,
                                                        NULL, &back, NULL, &err),
                         FS_PROTO_ESTRING_LIMIT);
        expect_msg(&err, "FS_PROTO_CODE_MAX = 64", "65 bytes");
    }
}

/* ------------------------------------------------------------------------ */
/* Hostile bodies                                                            */
/* ------------------------------------------------------------------------ */

static void test_truncated(void **state)
{
    fs_sync_request req, back;
    (void)state;
    fx_request(&req, 3, 50);
    for (size_t e = 0; e < NENC; e++) {
        fs_proto_buf b;
        fs_error err;
        assert_int_equal(fs_proto_sync_request_encode(&req, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        for (size_t len = 0; len < b.len; len++) {
            fs_proto_status st = fs_proto_sync_request_decode(b.data, len, encodings[e], NULL,
                                                              &back, NULL, &err);
            if (encodings[e] != FS_PROTO_IDENTITY) {
                /* A compressed stream without its end and checksum is
                 * always refused. */
                if (st != FS_PROTO_EFRAMING)
                    fail_msg("%s truncated to %zu: status %d (%s)",
                             fs_proto_encoding_name(encodings[e]), len, st, err.text);
            } else if (st == FS_PROTO_OK) {
                /* A protobuf cut at a field boundary is a valid shorter
                 * message; it must then be a consistent prefix. */
                assert_true(back.nchanges <= req.nchanges);
            } else if (st != FS_PROTO_EPROTOBUF && st != FS_PROTO_EVALUE &&
                       !(st == FS_PROTO_EVERSION && len < 2)) {
                /* (Cut before its protocol_version, the body is version 0.) */
                fail_msg("identity truncated to %zu: status %d (%s)", len, st, err.text);
            }
            fs_proto_sync_request_free(&back);
        }
        fs_proto_buf_free(&b);
    }
    fs_proto_sync_request_free(&req);
}

static void test_bit_flips(void **state)
{
    fs_sync_response resp, back;
    (void)state;
    fx_response(&resp, 4, 2);
    for (size_t e = 0; e < NENC; e++) {
        fs_proto_buf b;
        fs_error err;
        size_t refused = 0, same = 0;
        assert_int_equal(fs_proto_sync_response_encode(&resp, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        for (size_t bit = 0; bit < b.len * 8; bit++) {
            fs_proto_status st;
            b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            st = fs_proto_sync_response_decode(b.data, b.len, encodings[e], NULL, &back, NULL,
                                               &err);
            b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (st != FS_PROTO_OK) {
                refused++;
                continue;
            }
            /* Compressed bodies are checksummed: a flip that is accepted
             * must be one that changes nothing (gzip header time, padding
             * bits). Identity bodies have no checksum; they only must not
             * crash or leak. */
            if (encodings[e] != FS_PROTO_IDENTITY) {
                if (!fx_response_eq(&resp, &back))
                    fail_msg("%s: flipped bit %zu accepted with different content",
                             fs_proto_encoding_name(encodings[e]), bit);
                same++;
            }
            fs_proto_sync_response_free(&back);
        }
        assert_true(refused > 0);
        fs_proto_buf_free(&b);
    }
    fs_proto_sync_response_free(&resp);
}

static void test_random_garbage(void **state)
{
    uint64_t s = 12345;
    uint8_t buf[600];
    (void)state;
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(fx_rand(&s) % sizeof buf);
        fs_proto_encoding enc = encodings[round % NENC];
        fs_sync_request rq;
        fs_sync_response rs;
        fs_enroll_request eq;
        fs_enroll_response es;
        fs_error_body eb;
        fs_error err;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)fx_rand(&s);
        /* Every decoder, every framing: no crash, no leak (ASan). */
        fs_proto_sync_request_decode(buf, n, enc, NULL, &rq, NULL, &err);
        fs_proto_sync_request_free(&rq);
        fs_proto_sync_response_decode(buf, n, enc, NULL, &rs, NULL, &err);
        fs_proto_sync_response_free(&rs);
        fs_proto_enroll_request_decode(buf, n, enc, NULL, &eq, NULL, &err);
        fs_proto_enroll_response_decode(buf, n, enc, NULL, &es, NULL, &err);
        fs_proto_error_body_decode(buf, n, enc, NULL, &eb, NULL, &err);
        if (enc != FS_PROTO_IDENTITY) {
            /* Random bytes are essentially never a valid zlib/gzip stream. */
            assert_int_not_equal(
                fs_proto_sync_request_decode(buf, n, enc, NULL, &rq, NULL, &err), FS_PROTO_OK);
        }
    }
    /* Garbage that is validly compressed reaches the protobuf checks. */
    for (int round = 0; round < 500; round++) {
        size_t n = 1 + (size_t)(fx_rand(&s) % sizeof buf);
        fs_proto_buf z;
        fs_sync_request rq;
        fs_error err;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)fx_rand(&s);
        assert_int_equal(fs_proto_compress(FS_PROTO_GZIP, buf, n, NULL, &z, &err), FS_PROTO_OK);
        if (fs_proto_sync_request_decode(z.data, z.len, FS_PROTO_GZIP, NULL, &rq, NULL, &err) ==
            FS_PROTO_OK)
            fs_proto_sync_request_free(&rq);
        fs_proto_buf_free(&z);
    }
}

/* Hand-written protobuf that lies: lengths past the end, huge varints,
 * groups, field 0, broken packed arrays. Each body starts with
 * protocol_version 2, so it reaches the scan. */
static void test_malformed_protobuf(void **state)
{
    static const struct {
        uint8_t b[16];
        size_t n;
    } cases[] = {
        {{0x5A, 0x7F, 0x08}, 3},                    /* changes: len 127, 1 byte */
        {{0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, 11}, /* varint 11B */
        {{0x0B, 0x0C}, 2},                          /* a group */
        {{0x00, 0x01}, 2},                          /* field 0 */
        {{0x0F}, 1},                                /* wire type 7 */
        {{0x12, 0x01, 0x01}, 3},                    /* device_id as 1 byte */
        {{0x08}, 1},                                /* key without value */
        {{0x5A, 0x02, 0x12, 0x05}, 4},              /* Table.ids past end */
        {{0x58, 0x01}, 2},                          /* changes with wire type 0 */
        {{0x12, 0x02, 0xC3, 0x28}, 4},              /* bytes field is fine; bad id length */
        {{0x5A, 0x03, 0x0A, 0x01, 0x80}, 5},        /* Table.entity: cut varint */
        {{0x5A, 0x05, 0x12, 0x03, 0x12, 0x01, 0x01}, 7}, /* Ids.lo: 1 byte of a fixed64 */
        {{0x5A, 0x04, 0x72, 0x02, 0x1A, 0x01}, 6},  /* Column.kind past its column */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_sync_request rq;
        fs_error err;
        uint8_t body[2 + 16] = {0x08, FS_PROTO_VERSION};
        fs_proto_status st;
        memcpy(body + 2, cases[i].b, cases[i].n);
        st = fs_proto_sync_request_decode(body, 2 + cases[i].n, FS_PROTO_IDENTITY, NULL, &rq,
                                          NULL, &err);
        if (st != FS_PROTO_EPROTOBUF && st != FS_PROTO_EVALUE)
            fail_msg("case %zu: status %d (%s)", i, st, err.text);
        assert_int_equal(rq.nchanges, 0);
    }
    /* Invalid UTF-8 in a string field (error message). */
    {
        const uint8_t body[] = {0x12, 0x02, 0xC3, 0x28};
        fs_error_body eb;
        fs_error err;
        assert_int_equal(fs_proto_error_body_decode(body, sizeof body, FS_PROTO_IDENTITY, NULL,
                                                    &eb, NULL, &err),
                         FS_PROTO_EPROTOBUF);
        expect_msg(&err, "UTF-8", NULL);
    }
}

/* A sync message of another protocol version is refused before the scan,
 * with its own status, whatever it carries (a version 1 batch of more
 * changes than max_fields would otherwise read as that many unknown
 * fields). */
static void test_version_refused(void **state)
{
    static const uint32_t versions[] = {0, 1, 3, 99};
    (void)state;
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        fs_sync_request req;
        fs_sync_response resp;
        fs_proto_buf b;
        fs_error err;
        fx_request(&req, 3, 10);
        req.version = versions[i] ? versions[i] : 1;
        assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_DEFLATE, NULL, &b, &err),
                         FS_PROTO_OK);
        if (versions[i] == 0) { /* no protocol_version at all: drop 08 02 */
            fs_proto_buf raw;
            assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_IDENTITY, NULL, &raw,
                                                          &err), FS_PROTO_OK);
            assert_int_equal(raw.data[0], 0x08);
            fs_proto_buf_free(&b);
            assert_int_equal(fs_proto_compress(FS_PROTO_DEFLATE, raw.data + 2, raw.len - 2,
                                               NULL, &b, &err), FS_PROTO_OK);
            fs_proto_buf_free(&raw);
        }
        assert_int_equal(decode_req(&b, FS_PROTO_DEFLATE, NULL, &err), FS_PROTO_EVERSION);
        assert_int_equal(fs_proto_status_error_code(FS_PROTO_EVERSION),
                         FS_PROTO_ERR_UNSUPPORTED_VERSION);
        assert_int_equal(fs_proto_http_status(FS_PROTO_EVERSION), 400);
        expect_msg(&err, "protocol_version", "speaks 2");
        fs_proto_buf_free(&b);
        fs_proto_sync_request_free(&req);

        fx_response(&resp, 3, 2);
        resp.version = versions[i] ? versions[i] : 1;
        assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, NULL, &b, &err),
                         FS_PROTO_OK);
        assert_int_equal(decode_resp(&b, FS_PROTO_GZIP, NULL, &err), FS_PROTO_EVERSION);
        fs_proto_buf_free(&b);
        fs_proto_sync_response_free(&resp);
    }
    /* Version 1 layout, hand-written: 70 changes (field 7) would be 70
     * unknown fields, more than max_fields; the version speaks first. */
    {
        uint8_t body[2 + 70 * 3];
        size_t n = 0;
        body[n++] = 0x08;
        body[n++] = 1;
        for (int i = 0; i < 70; i++) {
            body[n++] = 0x3A;
            body[n++] = 1;
            body[n++] = 0x00;
        }
        fs_sync_request rq;
        fs_error err;
        assert_int_equal(fs_proto_sync_request_decode(body, n, FS_PROTO_IDENTITY, NULL, &rq,
                                                      NULL, &err), FS_PROTO_EVERSION);
    }
}

/* ------------------------------------------------------------------------ */
/* Zip bomb (counting allocator)                                             */
/* ------------------------------------------------------------------------ */

/* deflate/gzip of `total` zero bytes, produced in slices so the test itself
 * never holds the inflated size either. */
static void make_bomb(fs_proto_encoding enc, size_t total, fs_proto_buf *out)
{
    static uint8_t zeros[1 << 16];
    z_stream zs;
    size_t cap = 1 << 20, left = total;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, enc == FS_PROTO_GZIP ? 31 : 15, 9,
                                  Z_DEFAULT_STRATEGY),
                     Z_OK);
    memset(out, 0, sizeof *out);
    out->data = malloc(cap);
    assert_non_null(out->data);
    out->cap = cap;
    for (;;) {
        size_t slice = left < sizeof zeros ? left : sizeof zeros;
        int rc;
        zs.next_in = zeros;
        zs.avail_in = (uInt)slice;
        left -= slice;
        do {
            zs.next_out = out->data + out->len;
            zs.avail_out = (uInt)(cap - out->len);
            rc = deflate(&zs, left ? Z_NO_FLUSH : Z_FINISH);
            out->len = cap - zs.avail_out;
            assert_true(out->len < cap);
        } while (zs.avail_out == 0);
        if (!left) {
            assert_int_equal(rc, Z_STREAM_END);
            break;
        }
    }
    deflateEnd(&zs);
}

static void test_zip_bomb(void **state)
{
    const size_t inflated = (size_t)256 * 1024 * 1024; /* 256 MiB of zeros */
    (void)state;
    for (size_t e = 1; e < NENC; e++) {
        fs_proto_buf bomb, out;
        fx_counter cnt = {0};
        fs_proto_allocator a = fx_counting_allocator(&cnt);
        fs_proto_limits lim = fs_proto_limits_default();
        fs_sync_request rq;
        fs_error err;
        char want[64];

        make_bomb(encodings[e], inflated, &bomb);
        /* A small body: well inside max_body, 1000x+ expansion. */
        assert_true(bomb.len < lim.max_body);
        assert_true(bomb.len * 500 < inflated);
        lim.alloc = &a;

        assert_int_equal(fs_proto_sync_request_decode(bomb.data, bomb.len, encodings[e], &lim,
                                                      &rq, NULL, &err),
                         FS_PROTO_EINFLATED_LIMIT);
        snprintf(want, sizeof want, "max_inflated = %zu", lim.max_inflated);
        expect_msg(&err, want, NULL);
        /* The bomb is measured in a fixed window and refused before any
         * output buffer exists: peak = scratch + zlib state, whatever the
         * limit. */
        if (cnt.peak > 256 * 1024)
            fail_msg("peak %zu bytes while refusing a %zu-byte bomb", cnt.peak, inflated);
        assert_true(cnt.largest < 128 * 1024);
        assert_int_equal(cnt.cur, 0); /* everything given back */

        /* The same through fs_proto_decompress with a small limit. */
        memset(&cnt, 0, sizeof cnt);
        lim.max_inflated = 1024 * 1024;
        assert_int_equal(fs_proto_decompress(encodings[e], bomb.data, bomb.len, &lim, &out,
                                             &err),
                         FS_PROTO_EINFLATED_LIMIT);
        assert_null(out.data);
        assert_true(cnt.peak < 256 * 1024);
        assert_int_equal(cnt.cur, 0);
        free(bomb.data);
    }
}

/* A legitimate decode releases every byte it took from the allocator. */
static void test_allocator_balance(void **state)
{
    fs_sync_response resp, back;
    fs_proto_buf b;
    fs_error err;
    fx_counter cnt = {0};
    fs_proto_allocator a = fx_counting_allocator(&cnt);
    fs_proto_limits lim = fs_proto_limits_default();
    (void)state;
    lim.alloc = &a;
    fx_response(&resp, 50, 4);
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, &lim, &b, &err),
                     FS_PROTO_OK);
    assert_int_equal(fs_proto_sync_response_decode(b.data, b.len, FS_PROTO_GZIP, &lim, &back,
                                                   NULL, &err),
                     FS_PROTO_OK);
    assert_true(cnt.calls > 10); /* zlib and protobuf-c went through it */
    assert_true(fx_response_eq(&resp, &back));
    fs_proto_buf_free(&b);
    assert_int_equal(cnt.cur, 0);
    fs_proto_sync_response_free(&back);
    fs_proto_sync_response_free(&resp);
}

/* Trailing bytes after a complete compressed stream are refused. */
static void test_trailing_data(void **state)
{
    fs_sync_request req;
    (void)state;
    fx_request(&req, 2, 20);
    for (size_t e = 1; e < NENC; e++) {
        fs_proto_buf b;
        fs_error err;
        uint8_t *p;
        assert_int_equal(fs_proto_sync_request_encode(&req, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        p = malloc(b.len + 3);
        assert_non_null(p);
        memcpy(p, b.data, b.len);
        memcpy(p + b.len, "xyz", 3);
        {
            fs_sync_request back;
            assert_int_equal(fs_proto_sync_request_decode(p, b.len + 3, encodings[e], NULL,
                                                          &back, NULL, &err),
                             FS_PROTO_EFRAMING);
            expect_msg(&err, "3 bytes of trailing data", NULL);
        }
        free(p);
        fs_proto_buf_free(&b);
    }
    fs_proto_sync_request_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_body),
        cmocka_unit_test(test_limit_inflated),
        cmocka_unit_test(test_limit_changes),
        cmocka_unit_test(test_limit_rows_and_exits),
        cmocka_unit_test(test_limit_fields),
        cmocka_unit_test(test_limit_string),
        cmocka_unit_test(test_limit_devices_and_cells),
        cmocka_unit_test(test_limit_enroll_code),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_malformed_protobuf),
        cmocka_unit_test(test_version_refused),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_allocator_balance),
        cmocka_unit_test(test_trailing_data),
    };
    return cmocka_run_group_tests_name("proto_limits", tests, NULL, NULL);
}
