/*
 * test_server_auth.c - identity over HTTP: single-use and expiring
 * enrollment codes, bearer tokens (missing, malformed, wrong), revoked
 * devices (401 + wipe), and slowing down an address that keeps guessing.
 */
#include "server_testkit.h"
#include "fss_int.h"

#include <string.h>
#include <time.h>

static long sync_with_auth(tk_server *t, const tk_device *d, const char *auth,
                           fs_error_body *eb)
{
    fs_sync_request rq;
    fs_proto_buf b = {0};
    tk_http r;
    const char *h[3] = {"Content-Type: application/x-protobuf", auth, NULL};
    long st;

    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    rq.device_id = d->id;
    rq.batch_id = tk_new_id();
    assert_int_equal(fs_proto_sync_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &b, NULL),
                     FS_PROTO_OK);
    tk_request(t, "POST", "/v1/sync", h, b.data, b.len, &r);
    fs_proto_buf_free(&b);
    st = r.status;
    if (st != 200)
        tk_error_body(&r, eb);
    tk_http_free(&r);
    return st;
}

static void test_enrollment_codes(void **state)
{
    tk_server t;
    tk_device d1, d2;
    fs_error_body eb;
    fs_id rep;
    char code[FSS_CODE_LEN + 1], lower[FSS_CODE_LEN + 1];
    struct timespec ts = {1, 300 * 1000 * 1000};
    size_t i;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    assert_int_equal(fss_admin_enroll_code(t.s, &rep, 0, code, NULL), FSS_OK);
    /* Codes are case-insensitive when typed. */
    for (i = 0; i <= FSS_CODE_LEN; i++)
        lower[i] = (char)((code[i] >= 'A' && code[i] <= 'Z') ? code[i] + 32 : code[i]);
    assert_int_equal(tk_enroll_code(&t, lower, &d1, &eb), 200);
    /* Reused code. */
    assert_int_equal(tk_enroll_code(&t, code, &d2, &eb), 403);
    assert_int_equal(eb.code, FS_PROTO_ERR_ENROLL_CODE);
    assert_non_null(strstr(eb.message, "already used"));
    /* Unknown and malformed codes. */
    assert_int_equal(tk_enroll_code(&t, "AAAA-BBBB-CCCC", &d2, &eb), 403);
    assert_non_null(strstr(eb.message, "unknown"));
    assert_int_equal(tk_enroll_code(&t, "nope", &d2, &eb), 403);
    /* Expired code (1 s lifetime). */
    assert_int_equal(fss_admin_enroll_code(t.s, &rep, 1, code, NULL), FSS_OK);
    nanosleep(&ts, NULL);
    assert_int_equal(tk_enroll_code(&t, code, &d2, &eb), 403);
    assert_non_null(strstr(eb.message, "expired"));
    /* A code for a rep that does not exist cannot be issued. */
    {
        fs_id nobody = tk_new_id();
        assert_int_equal(fss_admin_enroll_code(t.s, &nobody, 0, code, NULL), FSS_ENOTFOUND);
    }
    /* Enroll checks Content-Type exactly as sync does (one shared check):
     * parameters are fine, trailing junk after the media type is not. */
    {
        const char *junk[] = {"Content-Type: application/x-protobuf junk", NULL};
        const char *json[] = {"Content-Type: application/json", NULL};
        tk_http r;
        tk_request(&t, "POST", "/v1/enroll", junk, NULL, 0, &r);
        assert_int_equal(r.status, 415);
        tk_http_free(&r);
        tk_request(&t, "POST", "/v1/enroll", json, NULL, 0, &r);
        assert_int_equal(r.status, 415);
        tk_http_free(&r);
    }
    tk_stop(&t);
}

static void test_tokens_and_revoke(void **state)
{
    tk_server t;
    tk_device d;
    fs_error_body eb;
    fs_sync_response r;
    fs_id rep;
    char auth[256];

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    tk_enroll(&t, &rep, &d);
    assert_int_equal(sync_with_auth(&t, &d, "X-None: 1", &eb), 401);
    assert_int_equal(eb.code, FS_PROTO_ERR_UNAUTHORIZED);
    assert_int_equal(sync_with_auth(&t, &d, "Authorization: Bearer garbage", &eb), 401);
    assert_int_equal(eb.code, FS_PROTO_ERR_UNAUTHORIZED);
    /* Right device, wrong secret (last hex digit flipped). */
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d.token);
    auth[strlen(auth) - 1] = auth[strlen(auth) - 1] == '0' ? '1' : '0';
    assert_int_equal(sync_with_auth(&t, &d, auth, &eb), 401);
    assert_false(eb.wipe);
    /* The real token works. */
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    fs_proto_sync_response_free(&r);
    /* Revoked: 401 with a wipe instruction. */
    assert_int_equal(fss_admin_device_revoke(t.s, &d.id, NULL), FSS_OK);
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 401);
    assert_int_equal(eb.code, FS_PROTO_ERR_REVOKED);
    assert_true(eb.wipe);
    {
        fs_id nodev = tk_new_id();
        assert_int_equal(fss_admin_device_revoke(t.s, &nodev, NULL), FSS_ENOTFOUND);
    }
    tk_stop(&t);
}

static void strict_limit(fss_config *cfg)
{
    cfg->auth_fail_limit = 3;
}

static void test_bad_tokens_slowed_down(void **state)
{
    tk_server t;
    tk_device d;
    fs_error_body eb;
    fs_sync_response r;
    fs_id rep;
    int i;

    (void)state;
    tk_start(&t, strict_limit);
    rep = tk_rep(&t, "Alice", "north");
    tk_enroll(&t, &rep, &d);
    for (i = 0; i < 3; i++)
        assert_int_equal(sync_with_auth(&t, &d, "Authorization: Bearer guess", &eb), 401);
    /* From now on this address is refused, even with a good token. */
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 429);
    assert_int_equal(eb.code, FS_PROTO_ERR_BUSY);
    tk_stop(&t);
}

/* One in-process sync with a bad token from `remote`: its HTTP status. */
static int guess_from(tk_server *t, const char *remote)
{
    fss_request rq = {0};
    fss_response rs = {0};
    int st;

    rq.method = "POST";
    rq.path = "/v1/sync";
    rq.content_type = "application/x-protobuf";
    rq.authorization = "Bearer guess";
    rq.remote_addr = remote;
    fss_handle(t->s, &rq, &rs);
    st = rs.status;
    fss_response_free(&rs);
    return st;
}

/* Regression: failures were counted in 256 hash slots and a slot restarted
 * whenever another address landed in it, so addresses taking turns were
 * never limited. 300 addresses (more than the old slots, so some collide)
 * take turns: each is limited after exactly its own 3 failures, and an
 * address that never failed is not. IPv6 counts per /64. */
static void test_rate_limit_per_address(void **state)
{
    tk_server t;
    char a[64];
    int round, i;

    (void)state;
    tk_start(&t, strict_limit);
    for (round = 0; round < 3; round++)
        for (i = 0; i < 300; i++) {
            snprintf(a, sizeof a, "198.51.%d.%d", i / 200, i % 200);
            assert_int_equal(guess_from(&t, a), 401);
        }
    for (i = 0; i < 300; i++) {
        snprintf(a, sizeof a, "198.51.%d.%d", i / 200, i % 200);
        assert_int_equal(guess_from(&t, a), 429);
    }
    assert_int_equal(guess_from(&t, "203.0.113.7"), 401);

    /* Two addresses of one /64 share a count; the next /64 does not. */
    assert_int_equal(guess_from(&t, "2001:db8:1:2::1"), 401);
    assert_int_equal(guess_from(&t, "2001:db8:1:2:ffff::9"), 401);
    assert_int_equal(guess_from(&t, "2001:db8:1:2::abcd"), 401);
    assert_int_equal(guess_from(&t, "2001:db8:1:2::1"), 429);
    assert_int_equal(guess_from(&t, "2001:db8:1:3::1"), 401);
    tk_stop(&t);
}

/* More live addresses than the table holds: the ones it cannot hold share
 * the overflow count, so the limit gets stricter for them, never looser,
 * and the table's own addresses keep their exact counts. */
static void test_rate_table_overflow(void **state)
{
    static fss_rate_table rt;
    char a[64];
    unsigned i, limited = 0;

    (void)state;
    memset(&rt, 0, sizeof rt);
    for (i = 0; i < FSS_RATE_CAP + 500; i++) {
        snprintf(a, sizeof a, "198.18.%u.%u", i / 256, i % 256);
        fss_rate_add(&rt, a, 1000, 60);
    }
    for (i = 0; i < FSS_RATE_CAP + 500; i++) {
        snprintf(a, sizeof a, "198.18.%u.%u", i / 256, i % 256);
        unsigned n = fss_rate_fails(&rt, a, 1000, 60);
        assert_true(n >= 1); /* every failure is counted somewhere */
        if (n > 1)
            limited++;
    }
    assert_true(limited > 0); /* the overflow is shared */
    assert_true(limited <= 600);
    /* The window ends: every count restarts. */
    assert_int_equal(fss_rate_fails(&rt, "198.18.0.0", 1060, 60), 0);
    fss_rate_add(&rt, "198.18.0.0", 1060, 60);
    assert_int_equal(fss_rate_fails(&rt, "198.18.0.0", 1060, 60), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrollment_codes),
        cmocka_unit_test(test_tokens_and_revoke),
        cmocka_unit_test(test_bad_tokens_slowed_down),
        cmocka_unit_test(test_rate_limit_per_address),
        cmocka_unit_test(test_rate_table_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
