/*
 * test_server_badinput.c - every class of bad input gets a clear 4xx with a
 * readable reason (ErrorBody for /v1, {"error": ...} for admin), leaves the
 * store unchanged, and the server keeps serving: wrong method, path,
 * content type and encoding; malformed, oversized and zip-bomb bodies;
 * unsupported version; device mismatch; cursor from the future; unknown
 * entities and fields (rejected per change); bad admin requests and imports.
 */
#include "server_testkit.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void small_limits(fss_config *cfg)
{
    cfg->max_body = 64 * 1024;
    cfg->max_inflated = 1024 * 1024;
}

typedef struct fixture {
    tk_server t;
    tk_device d;
    fs_id rep, cust;
    char auth[256];
} fixture;

static void setup_fx(fixture *f)
{
    tk_start(&f->t, small_limits);
    f->rep = tk_rep(&f->t, "Alice", "north");
    f->cust = tk_customer(&f->t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&f->t, &f->rep, &f->d);
    tk_pull_all(&f->t, &f->d, NULL, NULL, NULL, NULL);
    snprintf(f->auth, sizeof f->auth, "Authorization: Bearer %s", f->d.token);
}

/* The store is unchanged and the server still answers. */
static void assert_unchanged(fixture *f)
{
    tk_http r;
    uint64_t cur = f->d.cursor;

    assert_int_equal(tk_pull_all(&f->t, &f->d, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(f->d.cursor, cur);
    tk_request(&f->t, "GET", "/healthz", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    tk_http_free(&r);
}

static long post_sync(fixture *f, const char *ctype, const char *cenc,
                      const void *body, size_t len, fs_error_body *eb)
{
    tk_http r;
    char ct[128], ce[128];
    const char *h[4];
    int n = 0;
    long st;

    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h[n++] = ct;
    }
    if (cenc) {
        snprintf(ce, sizeof ce, "Content-Encoding: %s", cenc);
        h[n++] = ce;
    }
    h[n++] = f->auth;
    h[n] = NULL;
    tk_request(&f->t, "POST", "/v1/sync", h, body, len, &r);
    st = r.status;
    if (st != 200)
        tk_error_body(&r, eb);
    tk_http_free(&r);
    return st;
}

static void encode_req(fixture *f, uint32_t version, const fs_id *dev,
                       uint64_t cursor, fs_proto_buf *b)
{
    fs_sync_request rq;

    memset(&rq, 0, sizeof rq);
    rq.version = version;
    rq.device_id = *dev;
    rq.batch_id = tk_new_id();
    rq.cursor = cursor;
    assert_int_equal(fs_proto_sync_request_encode(&rq, FS_PROTO_IDENTITY, NULL, b, NULL),
                     FS_PROTO_OK);
}

static void test_http_level(void **state)
{
    fixture f;
    tk_http r;
    fs_error_body eb;
    fs_proto_buf b = {0};
    const char *h[] = {"Content-Type: application/x-protobuf", NULL, NULL};

    (void)state;
    setup_fx(&f);
    h[1] = f.auth;
    encode_req(&f, FS_PROTO_VERSION, &f.d.id, f.d.cursor, &b);
    /* Wrong method. */
    tk_request(&f.t, "GET", "/v1/sync", h, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    tk_error_body(&r, &eb);
    tk_http_free(&r);
    /* Wrong path. */
    tk_request(&f.t, "POST", "/v1/nope", h, b.data, b.len, &r);
    assert_int_equal(r.status, 404);
    tk_error_body(&r, &eb);
    tk_http_free(&r);
    tk_request(&f.t, "GET", "/nope", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr((const char *)r.body, "\"error\""));
    tk_http_free(&r);
    /* Wrong content type, wrong content encoding. */
    assert_int_equal(post_sync(&f, "application/json", NULL, b.data, b.len, &eb), 415);
    assert_non_null(strstr(eb.message, "Content-Type"));
    assert_int_equal(post_sync(&f, NULL, NULL, b.data, b.len, &eb), 415);
    assert_int_equal(post_sync(&f, "application/x-protobuf", "br", b.data, b.len, &eb), 415);
    assert_int_equal(eb.code, FS_PROTO_ERR_UNSUPPORTED_ENCODING);
    fs_proto_buf_free(&b);
    assert_unchanged(&f);
    tk_stop(&f.t);
}

static void test_bodies(void **state)
{
    fixture f;
    fs_error_body eb;
    fs_proto_buf b = {0};
    uint8_t garbage[64];
    uint8_t *big, *zeros, *bomb;
    uLongf bomb_len;
    size_t i;

    (void)state;
    setup_fx(&f);
    /* Malformed protobuf, identity and "deflate" that is not zlib. */
    for (i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)(0xff - i);
    assert_int_equal(post_sync(&f, "application/x-protobuf", NULL, garbage, sizeof garbage,
                               &eb), 400);
    assert_int_equal(post_sync(&f, "application/x-protobuf", "deflate", garbage,
                               sizeof garbage, &eb), 400);
    /* Oversized (100 KiB against a 64 KiB limit). */
    big = calloc(1, 100 * 1024);
    assert_non_null(big);
    assert_int_equal(post_sync(&f, "application/x-protobuf", NULL, big, 100 * 1024, &eb), 413);
    assert_int_equal(eb.code, FS_PROTO_ERR_TOO_LARGE);
    free(big);
    /* Zip bomb: 16 MiB of zeros deflate to ~16 KiB; the inflated limit is
     * 1 MiB. */
    zeros = calloc(1, 16u << 20);
    bomb_len = compressBound(16u << 20);
    bomb = malloc(bomb_len);
    assert_non_null(zeros);
    assert_non_null(bomb);
    assert_int_equal(compress2(bomb, &bomb_len, zeros, 16u << 20, 9), Z_OK);
    assert_true(bomb_len < 64 * 1024);
    assert_int_equal(post_sync(&f, "application/x-protobuf", "deflate", bomb, bomb_len,
                               &eb), 413);
    assert_int_equal(eb.code, FS_PROTO_ERR_TOO_LARGE);
    free(zeros);
    free(bomb);
    /* Unsupported version, another device's id, a cursor from the future. */
    encode_req(&f, 99, &f.d.id, f.d.cursor, &b);
    assert_int_equal(post_sync(&f, "application/x-protobuf", NULL, b.data, b.len, &eb), 400);
    assert_int_equal(eb.code, FS_PROTO_ERR_UNSUPPORTED_VERSION);
    fs_proto_buf_free(&b);
    {
        fs_id other = tk_new_id();
        encode_req(&f, FS_PROTO_VERSION, &other, f.d.cursor, &b);
        assert_int_equal(post_sync(&f, "application/x-protobuf", NULL, b.data, b.len, &eb),
                         403);
        fs_proto_buf_free(&b);
    }
    encode_req(&f, FS_PROTO_VERSION, &f.d.id, f.d.cursor + 1000, &b);
    assert_int_equal(post_sync(&f, "application/x-protobuf", NULL, b.data, b.len, &eb), 400);
    assert_int_equal(eb.code, FS_PROTO_ERR_BAD_CURSOR);
    fs_proto_buf_free(&b);
    assert_unchanged(&f);
    tk_stop(&f.t);
}

/* Hand-written protobuf: a newer client's changes with an unknown entity
 * and an unknown field tag. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* A length-delimited field: key, length, bytes. */
static size_t put_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
    size_t n = put_varint(p, (uint64_t)field << 3 | 2);
    n += put_varint(p + n, len);
    memcpy(p + n, data, len);
    return n + len;
}

static uint64_t be64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* A one-cell text column (sync.proto Column): kind TEXT, one text. */
static size_t put_text_column(uint8_t *p, unsigned entity, unsigned tag, const char *text)
{
    uint8_t col[64];
    size_t n = 0;
    col[n++] = 0x08;
    n += put_varint(col + n, entity);
    col[n++] = 0x10;
    n += put_varint(col + n, tag);
    col[n++] = 0x1A; /* kind: [TEXT] */
    col[n++] = 1;
    col[n++] = 6;
    col[n++] = 0x62; /* text_len: [len] */
    col[n++] = 1;
    col[n++] = (uint8_t)strlen(text);
    n += put_bytes(col + n, 15, text, strlen(text));
    return put_bytes(p, 14, col, n);
}

/* SyncRequest.changes (sync.proto Table) of two one-cell changes:
 * (entity0, row0, field tag0 = text0), (entity1, row1, tag1 = text1). */
static size_t put_changes(uint8_t *p, unsigned entity0, const fs_id *row0, unsigned tag0,
                          const char *text0, unsigned entity1, const fs_id *row1,
                          unsigned tag1, const char *text1)
{
    uint8_t t[256], ids[64], arr[32];
    size_t n = 0, k = 0, a = 0;
    uint64_t hi0 = be64(row0->b), hi1 = be64(row1->b), lo[2];

    a += put_varint(arr + a, entity0);
    a += put_varint(arr + a, entity1);
    n += put_bytes(t + n, 1, arr, a);                      /* entity */
    a = 0;                                                 /* ids.hi: deltas, zigzag */
    {
        int64_t d0 = (int64_t)hi0, d1 = (int64_t)(hi1 - hi0);
        a += put_varint(arr + a, ((uint64_t)d0 << 1) ^ (uint64_t)(d0 >> 63));
        a += put_varint(arr + a, ((uint64_t)d1 << 1) ^ (uint64_t)(d1 >> 63));
    }
    k += put_bytes(ids + k, 1, arr, a);
    lo[0] = be64(row0->b + 8);
    lo[1] = be64(row1->b + 8);
    k += put_bytes(ids + k, 2, lo, sizeof lo);             /* ids.lo (fixed64, LE host) */
    n += put_bytes(t + n, 2, ids, k);
    a = 0;                                                 /* hlc_ms: 1,000,000 ms, then +0 */
    a += put_varint(arr + a, 2000000);
    a += put_varint(arr + a, 0);
    n += put_bytes(t + n, 4, arr, a);
    arr[0] = 1;                                            /* mask: each its first column */
    arr[1] = 1;
    n += put_bytes(t + n, 6, arr, 2);
    n += put_text_column(t + n, entity0, tag0, text0);
    n += put_text_column(t + n, entity1, tag1, text1);
    return put_bytes(p, 11, t, n);                         /* SyncRequest.changes = 11 */
}

static void test_unknown_entity_and_field(void **state)
{
    fixture f;
    fs_error_body eb;
    fs_sync_response resp;
    fs_id batch = tk_new_id(), row = tk_new_id();
    uint8_t msg[512];
    size_t n = 0;
    tk_http r;
    const char *h[3] = {"Content-Type: application/x-protobuf", NULL, NULL};

    (void)state;
    setup_fx(&f);
    h[1] = f.auth;
    msg[n++] = 0x08;
    msg[n++] = FS_PROTO_VERSION;
    msg[n++] = 0x12;
    msg[n++] = 16;
    memcpy(msg + n, f.d.id.b, 16);
    n += 16;
    msg[n++] = 0x1a;
    msg[n++] = 16;
    memcpy(msg + n, batch.b, 16);
    n += 16;
    msg[n++] = 0x20; /* cursor */
    n += put_varint(msg + n, f.d.cursor);
    n += put_changes(msg + n, 99, &row, 1, "x",          /* unknown entity */
                     1, &f.cust, 200, "y");              /* unknown field */
    tk_request(&f.t, "POST", "/v1/sync", h, msg, n, &r);
    assert_int_equal(r.status, 200);
    memset(&resp, 0, sizeof resp);
    assert_int_equal(fs_proto_sync_response_decode(r.body, r.len, FS_PROTO_IDENTITY, NULL,
                                                   &resp, NULL, NULL), FS_PROTO_OK);
    assert_int_equal(resp.nresults, 2);
    assert_int_equal(resp.results[0].outcome, FS_REJECTED);
    assert_int_equal(resp.results[0].reason, FS_REASON_INVALID);
    assert_int_equal(resp.results[1].outcome, FS_REJECTED);
    assert_int_equal(resp.results[1].reason, FS_REASON_INVALID);
    assert_true(strlen(resp.results[0].detail) > 0);
    assert_int_equal(resp.nrows, 0);
    fs_proto_sync_response_free(&resp);
    tk_http_free(&r);
    (void)eb;
    assert_unchanged(&f);
    tk_stop(&f.t);
}

static void admin(fixture *f, const char *method, const char *path,
                  const char *ctype, const char *body, const char *token,
                  tk_http *r)
{
    char auth[128], ct[128];
    const char *h[3] = {NULL, NULL, NULL};
    int n = 0;

    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h[n++] = auth;
    }
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h[n++] = ct;
    }
    tk_request(&f->t, method, path, h, body, body ? strlen(body) : 0, r);
}

static void test_admin_bad_input(void **state)
{
    fixture f;
    tk_http r;
    fss_buf out = {0};

    (void)state;
    setup_fx(&f);
    admin(&f, "GET", "/admin/v1/reps", NULL, NULL, "wrong", &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr((const char *)r.body, "\"error\""));
    tk_http_free(&r);
    admin(&f, "GET", "/admin/v1/reps", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    tk_http_free(&r);
    admin(&f, "POST", "/admin/v1/reps", "application/json", "{\"name\": ", TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr((const char *)r.body, "JSON"));
    tk_http_free(&r);
    admin(&f, "POST", "/admin/v1/reps", "text/plain", "{}", TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 415);
    tk_http_free(&r);
    admin(&f, "POST", "/admin/v1/reps", "application/json", "{\"name\":\"\"}", TK_ADMIN_TOKEN,
          &r);
    assert_int_equal(r.status, 400);
    tk_http_free(&r);
    admin(&f, "GET", "/admin/v1/nothing", NULL, NULL, TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 404);
    tk_http_free(&r);
    admin(&f, "POST", "/admin/v1/devices/not-a-uuid/revoke", NULL, NULL, TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 400);
    tk_http_free(&r);
    admin(&f, "GET", "/admin/v1/conflicts?status=bogus", NULL, NULL, TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 400);
    tk_http_free(&r);
    /* An import with three bad rows out of four: every bad row reported,
     * nothing imported. */
    admin(&f, "POST", "/admin/v1/import/customers", "text/csv",
          "name,territory,lat,colour\n"
          "Good,north,50,\n"
          "Bad lat,north,abc,\n"
          ",north,50,\n"
          "Bad territory,atlantis,50,\n",
          TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr((const char *)r.body, "\"imported\":false"));
    assert_int_equal(tk_count((const char *)r.body, "\"row\":"), 4);
    tk_http_free(&r);
    admin(&f, "POST", "/admin/v1/import/customers", "text/csv",
          "name,territory,lat,lon\n"
          "Good,north,50,1\n"
          "Bad lat,north,abc,1\n"
          ",north,50,1\n"
          "Bad territory,atlantis,50,1\n",
          TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 422);
    assert_int_equal(tk_count((const char *)r.body, "\"row\":"), 3);
    /* Rows as a spreadsheet numbers them: the header is row 1. */
    assert_null(strstr((const char *)r.body, "\"row\":2"));
    assert_non_null(strstr((const char *)r.body, "\"row\":3"));
    assert_non_null(strstr((const char *)r.body, "\"row\":4"));
    assert_non_null(strstr((const char *)r.body, "\"row\":5"));
    tk_http_free(&r);
    /* JSON can say null, so an empty territory or owner is a mistake,
     * named as such (a CSV empty cell clears instead). */
    admin(&f, "POST", "/admin/v1/import/customers", "application/json",
          "[{\"name\":\"Empty territory\",\"territory\":\"\"},"
          "{\"name\":\"Empty owner\",\"owner_rep\":\"\"},"
          "{\"name\":\"Null territory\",\"territory\":null}]",
          TK_ADMIN_TOKEN, &r);
    assert_int_equal(r.status, 422);
    assert_int_equal(tk_count((const char *)r.body, "\"row\":"), 2);
    assert_non_null(strstr((const char *)r.body, "territory \\\"\\\" is empty: use null to clear it"));
    assert_non_null(strstr((const char *)r.body, "owner_rep \\\"\\\" is empty"));
    tk_http_free(&r);
    assert_int_equal(fss_admin_territories_list(f.t.s, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"customers\":1")); /* only Greenfield */
    fss_buf_free(&out);
    assert_unchanged(&f);
    tk_stop(&f.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_level),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_unknown_entity_and_field),
        cmocka_unit_test(test_admin_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
