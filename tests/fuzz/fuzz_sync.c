/*
 * fuzz_sync.c - libFuzzer target for the in-process request handler:
 * fss_handle() on POST /v1/sync and POST /v1/enroll against a real central
 * store (fuzz_store.c), with a device enrolled once per process.
 *
 * Input layout: byte 0 selects how the rest is sent, the rest is a
 * protobuf SyncRequest or EnrollRequest (the seeds are real ones, written by
 * mkcorpus_sync.c):
 *   bits 0-1  Content-Encoding: identity, deflate, gzip, or "br" (refused)
 *   bit  2    route: 0 = /v1/sync, 1 = /v1/enroll
 *   bit  3    0 = the harness frames the body with that encoding, so
 *             mutations land in the protobuf and reach the handler's logic;
 *             1 = the body is sent as it is (mutations land in the framing)
 *   bits 4-5  Authorization: 0, 1 = the enrolled device's token, 2 = none,
 *             3 = the token of a revoked device
 * Before sending, the placeholder device id and enrollment code of
 * fuzz_fixture.h are swapped for the real ones.
 *
 * The store persists between inputs, so sequences of requests (create, then
 * edit, then delete; a batch, then its retry) are explored too. It is
 * rebuilt every FZ_RESET_EVERY inputs so it stays small and fast.
 *
 * Oracle, besides the sanitizers and the leak check: the status is one a
 * client is documented to handle (never 500); a 200 answer decodes with the
 * codec (a SyncResponse with one result per pushed change, in order, or an
 * EnrollResponse with a token); a push answered 200 and sent again gets the
 * same results (exactly-once); every other answer decodes as an ErrorBody
 * with a message.
 */
#include "fs_proto.h"
#include "fs_server.h"
#include "fuzz_fixture.h"
#include "fuzz_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RESET_EVERY 2000

#define SEL_ENC(b) ((b) & 3u)
#define SEL_ENROLL(b) (((b) >> 2) & 1u)
#define SEL_RAW(b) (((b) >> 3) & 1u)
#define SEL_AUTH(b) (((b) >> 4) & 3u)

typedef struct world {
    fz_store z;
    fs_id device;
    char auth[FS_PROTO_TOKEN_MAX + 16];         /* "Bearer <token>" */
    char revoked_auth[FS_PROTO_TOKEN_MAX + 16];
    char code[FSS_CODE_LEN + 1];                /* unused enrollment code */
    unsigned long inputs;
} world;

static world w;

static const char *const enc_header[] = {NULL, "deflate", "gzip", "br"};

static void call(const char *path, const char *enc, const char *auth,
                 const uint8_t *body, size_t len, fss_response *resp)
{
    fss_request req = {.method = "POST",
                       .path = path,
                       .content_type = "application/x-protobuf",
                       .content_encoding = enc,
                       .authorization = auth,
                       .remote_addr = "192.0.2.7",
                       .body = body,
                       .body_len = len};

    fss_handle(w.z.s, &req, resp);
}

static void new_code(void)
{
    fs_error err = {0};

    if (fss_admin_enroll_code(w.z.s, &w.z.rep, 0, w.code, &err) != FSS_OK)
        fz_die("enroll code", err.text);
}

/* Enrolls a device through the real route; its token goes into auth. */
static void enroll(fs_id *device, char *auth, size_t cap)
{
    fs_enroll_request rq = {.version = FS_PROTO_VERSION};
    fs_enroll_response out;
    fs_proto_buf body = {0};
    fss_response resp;

    new_code();
    snprintf(rq.code, sizeof rq.code, "%s", w.code);
    snprintf(rq.device_name, sizeof rq.device_name, "fuzz tablet");
    if (fs_proto_enroll_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &body, NULL) != FS_PROTO_OK)
        fz_die("enroll", "encode");
    call("/v1/enroll", NULL, NULL, body.data, body.len, &resp);
    if (resp.status != 200 ||
        fs_proto_enroll_response_decode(resp.body, resp.body_len, FS_PROTO_IDENTITY, NULL,
                                        &out, NULL, NULL) != FS_PROTO_OK)
        fz_die("enroll", "not 200");
    *device = out.device_id;
    snprintf(auth, cap, "Bearer %s", out.token);
    fss_response_free(&resp);
    fs_proto_buf_free(&body);
}

static void world_open(void)
{
    fs_id revoked;
    fs_error err = {0};

    fz_store_open(&w.z);
    enroll(&w.device, w.auth, sizeof w.auth);
    enroll(&revoked, w.revoked_auth, sizeof w.revoked_auth);
    if (fss_admin_device_revoke(w.z.s, &revoked, &err) != FSS_OK)
        fz_die("revoke", err.text);
    new_code();
}

static void world_close(void)
{
    fz_store_close(&w.z);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    world_open();
    atexit(world_close);
    return 0;
}

static bool status_allowed(bool is_enroll, int status)
{
    static const int sync_ok[] = {200, 400, 401, 403, 409, 413, 415};
    static const int enroll_ok[] = {200, 400, 403, 413, 415};
    const int *set = is_enroll ? enroll_ok : sync_ok;
    size_t n = is_enroll ? sizeof enroll_ok / sizeof *enroll_ok
                         : sizeof sync_ok / sizeof *sync_ok;

    for (size_t i = 0; i < n; i++)
        if (set[i] == status)
            return true;
    return false;
}

static fs_proto_encoding answer_encoding(const fss_response *resp)
{
    fs_proto_encoding enc = FS_PROTO_IDENTITY;
    const char *ce = resp->content_encoding;

    if (ce && fs_proto_encoding_parse(ce, strlen(ce), &enc, NULL) != FS_PROTO_OK)
        fz_die("answer", "unknown Content-Encoding on an answer");
    return enc;
}

static void check_error_body(const fss_response *resp)
{
    fs_error_body eb;
    char what[64];

    snprintf(what, sizeof what, "%d answer", resp->status);
    if (!resp->content_type || strcmp(resp->content_type, "application/x-protobuf") != 0)
        fz_die(what, "is not an ErrorBody");
    if (fs_proto_error_body_decode(resp->body, resp->body_len, answer_encoding(resp), NULL,
                                   &eb, NULL, NULL) != FS_PROTO_OK)
        fz_die(what, "ErrorBody does not decode");
    if (!eb.message[0])
        fz_die(what, "ErrorBody has no message");
}

/* A 200 sync answer: decodes, one result per pushed change, in order. The
 * request is decoded again here, the way the server did, to count them.
 * *out is new (free with fs_proto_sync_response_free); returns the number
 * of pushed changes. */
static size_t check_sync_ok(const fss_response *resp, const uint8_t *body, size_t len,
                            const char *enc, fs_sync_response *out)
{
    fs_sync_request rq;
    fs_proto_encoding renc = FS_PROTO_IDENTITY;
    size_t nchanges;

    if (fs_proto_sync_response_decode(resp->body, resp->body_len, answer_encoding(resp),
                                      NULL, out, NULL, NULL) != FS_PROTO_OK)
        fz_die("sync 200", "SyncResponse does not decode");
    if (enc && fs_proto_encoding_parse(enc, strlen(enc), &renc, NULL) != FS_PROTO_OK)
        fz_die("sync 200", "for a Content-Encoding the server cannot read");
    if (fs_proto_sync_request_decode(body, len, renc, NULL, &rq, NULL, NULL) != FS_PROTO_OK)
        fz_die("sync 200", "for a request the codec refuses");
    nchanges = rq.nchanges;
    fs_proto_sync_request_free(&rq);
    if (out->nresults != nchanges)
        fz_die("sync 200", "result count differs from the change count");
    for (size_t i = 0; i < out->nresults; i++) {
        if (out->results[i].index != i)
            fz_die("sync 200", "results out of order");
        if (getenv("FZ_TRACE"))
            fprintf(stderr, "  result %zu: outcome %d reason %d %s\n", i,
                    (int)out->results[i].outcome, (int)out->results[i].reason,
                    out->results[i].detail);
    }
    if (out->nrows > 200 || out->nexits > 200)
        fz_die("sync 200", "page larger than max_page_size");
    return nchanges;
}

/* Exactly-once: the same push again (a client retrying after a lost
 * answer) must be answered from the stored results of the first, result
 * for result, whatever the store did in between. */
static void check_retry(const char *enc, const char *auth, const uint8_t *body, size_t len,
                        const fs_sync_response *first)
{
    fss_response resp;
    fs_sync_response again;

    call("/v1/sync", enc, auth, body, len, &resp);
    if (resp.status != 200)
        fz_die("retry", "a push that was answered 200 is refused on retry");
    if (check_sync_ok(&resp, body, len, enc, &again) != first->nresults)
        fz_die("retry", "result count changed");
    for (size_t i = 0; i < again.nresults; i++)
        if (again.results[i].outcome != first->results[i].outcome ||
            again.results[i].reason != first->results[i].reason ||
            strcmp(again.results[i].detail, first->results[i].detail) != 0)
            fz_die("retry", "results differ from the first answer");
    fs_proto_sync_response_free(&again);
    fss_response_free(&resp);
}

static void check_enroll_ok(const fss_response *resp)
{
    fs_enroll_response out;

    if (fs_proto_enroll_response_decode(resp->body, resp->body_len, answer_encoding(resp),
                                        NULL, &out, NULL, NULL) != FS_PROTO_OK ||
        !out.token[0])
        fz_die("enroll 200", "EnrollResponse does not decode or has no token");
    /* The code is spent: the next enroll input gets a fresh one. */
    new_code();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fs_id placeholder;
    fs_proto_buf framed = {0};
    fss_response resp;
    uint8_t *plain;
    const uint8_t *body;
    size_t len;
    unsigned sel;
    bool is_enroll;
    const char *auth, *enc;
    char why[96];

    if (size < 1)
        return 0;
    if (++w.inputs % FZ_RESET_EVERY == 0) {
        world_close();
        world_open();
    }
    sel = data[0];
    len = size - 1;
    /* An exact-size copy, so reading past the body is an ASan finding. */
    plain = malloc(len ? len : 1);
    if (!plain)
        fz_die("malloc", NULL);
    memcpy(plain, data + 1, len);
    fz_id(FZ_DEVICE, &placeholder);
    fz_replace(plain, len, placeholder.b, w.device.b, sizeof placeholder.b);
    fz_replace(plain, len, FZ_CODE_PLACEHOLDER, w.code, FSS_CODE_LEN);

    is_enroll = SEL_ENROLL(sel);
    enc = enc_header[SEL_ENC(sel)];
    body = plain;
    if (!SEL_RAW(sel) && SEL_ENC(sel) != 0 && SEL_ENC(sel) != 3) {
        if (fs_proto_compress((fs_proto_encoding)SEL_ENC(sel), plain, len, NULL, &framed,
                              NULL) != FS_PROTO_OK)
            fz_die("compress", NULL);
        body = framed.data;
        len = framed.len;
    }
    switch (SEL_AUTH(sel)) {
    case 2: auth = NULL; break;
    case 3: auth = w.revoked_auth; break;
    default: auth = w.auth; break;
    }

    call(is_enroll ? "/v1/enroll" : "/v1/sync", enc, auth, body, len, &resp);
    snprintf(why, sizeof why, "status %d on %s", resp.status, is_enroll ? "enroll" : "sync");
    if (!status_allowed(is_enroll, resp.status)) {
        fs_error_body eb = {0};
        (void)fs_proto_error_body_decode(resp.body, resp.body_len, answer_encoding(&resp),
                                         NULL, &eb, NULL, NULL);
        fprintf(stderr, "fuzz: %s: %s\n", why, eb.message);
        fz_die("unexpected status", why);
    }
    if (getenv("FZ_TRACE"))
        fprintf(stderr, "fuzz_sync: %s\n", why);
    if (resp.status != 200)
        check_error_body(&resp);
    else if (is_enroll)
        check_enroll_ok(&resp);
    else {
        fs_sync_response out;
        if (check_sync_ok(&resp, body, len, enc, &out) > 0)
            check_retry(enc, auth, body, len, &out);
        fs_proto_sync_response_free(&out);
    }

    fss_response_free(&resp);
    fs_proto_buf_free(&framed);
    free(plain);
    return 0;
}
