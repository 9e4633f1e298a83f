/*
 * test_server_auth.c - identity over HTTP: single-use and expiring
 * enrollment codes, bearer tokens (missing, malformed, wrong), revoked
 * devices (401 + wipe), and slowing down an address that keeps guessing.
 */
#include "server_testkit.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrollment_codes),
        cmocka_unit_test(test_tokens_and_revoke),
        cmocka_unit_test(test_bad_tokens_slowed_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
