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
 *   bits 6-7  hostile bytes (issue 12): 0 = none; 1 = a header from the
 *             input; 2 = a text value from the input; 3 = both
 * With hostile bytes, the input goes on with one byte h and a chunk of
 * the next byte's count of bytes (cut at the input's end):
 *   header (mode 1, 3): h bits 0-1 pick it: 0 = the path "/v1/<chunk>",
 *             1 = Content-Type, 2 = Content-Encoding, 3 = the whole path;
 *   value (mode 2): the chunk is the text of one change the harness writes
 *             in raw protobuf (the codec's encoder would refuse a bad
 *             value), h picks its entity/field (hostile_fields); the rest
 *             of the input is not used.
 *   mode 3: a header chunk as in mode 1, then a value as in mode 2.
 * A NUL in a header chunk ends the header. Before sending, the placeholder
 * device id and enrollment code of fuzz_fixture.h are swapped for the real
 * ones.
 *
 * The store persists between inputs, so sequences of requests (create, then
 * edit, then delete; a batch, then its retry) are explored too. It is
 * rebuilt every FZ_RESET_EVERY inputs so it stays small and fast.
 *
 * Oracle, besides the sanitizers and the leak check: the status is one a
 * client is documented to handle (never 5xx); a 200 answer decodes with the
 * codec (a SyncResponse with one result per pushed change, in order, or an
 * EnrollResponse with a token); a push answered 200 and sent again gets the
 * same results (exactly-once: a batch always gets its answer); every other
 * answer on /v1/ decodes as an ErrorBody with a message (the codec refuses
 * invalid UTF-8), and elsewhere is a JSON error in valid UTF-8.
 */
#include "fs_proto.h"
#include "fs_server.h"
#include "fuzz_fixture.h"
#include "fuzz_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RESET_EVERY 2000

#define SEL_ENC(b) ((b) & 3u)
#define SEL_ENROLL(b) (((b) >> 2) & 1u)
#define SEL_RAW(b) (((b) >> 3) & 1u)
#define SEL_AUTH(b) (((b) >> 4) & 3u)
#define SEL_HOSTILE(b) (((b) >> 6) & 3u)

/* The fields a hostile value is written to: refused values quoted in a
 * message at a byte limit (currency 8, enum 32), free text on a row in
 * scope (applied, then pulled back), a length limit, a field tag this
 * server does not know, an unknown entity. Entity and field are wire tags. */
static const struct {
    uint32_t entity, field;
    unsigned char row; /* fixture row tag, or 0 for a new row */
} hostile_fields[] = {
    {4, 3, 0},             /* quote.currency */
    {3, 11, 0},            /* visit.status */
    {1, 1, FZ_CUST_NORTH}, /* customer.name */
    {1, 5, FZ_CUST_NORTH}, /* customer.phone (40 bytes) */
    {1, 5, FZ_CUST_SOUTH}, /* out of scope */
    {1, 200, FZ_CUST_NORTH},
    {99, 1, 0},
    {4, 4, 0},             /* quote.status */
};

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

/* The Content-Type of the current input (hostile or the right one). */
static const char *content_type = "application/x-protobuf";

static void call(const char *path, const char *enc, const char *auth,
                 const uint8_t *body, size_t len, fss_response *resp)
{
    fss_request req = {.method = "POST",
                       .path = path,
                       .content_type = content_type,
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

/* route: 0 = /v1/sync, 1 = /v1/enroll, 2 = another /v1/ path, 3 = any
 * other path. */
static bool status_allowed(int route, int status)
{
    static const int sync_ok[] = {200, 400, 401, 403, 409, 413, 415};
    static const int enroll_ok[] = {200, 400, 403, 413, 415};
    static const int other_ok[] = {404, 405};
    static const int any_ok[] = {400, 401, 403, 404, 405, 414, 415, 429};
    const int *set = route == 0 ? sync_ok : route == 1 ? enroll_ok
                   : route == 2 ? other_ok : any_ok;
    size_t n = route == 0 ? sizeof sync_ok / sizeof *sync_ok
             : route == 1 ? sizeof enroll_ok / sizeof *enroll_ok
             : route == 2 ? sizeof other_ok / sizeof *other_ok
                          : sizeof any_ok / sizeof *any_ok;

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

/* An answer outside /v1/: a JSON error object in valid UTF-8. */
static void check_json_error(const fss_response *resp)
{
    if (!resp->content_type || strcmp(resp->content_type, "application/json") != 0 ||
        resp->body_len < 10 || memcmp(resp->body, "{\"error\":", 9) != 0)
        fz_die("non-/v1/ refusal", "is not a JSON error");
    if (!fs_utf8_valid(resp->body, resp->body_len) ||
        memchr(resp->body, '\0', resp->body_len))
        fz_die("non-/v1/ refusal", "JSON error is not valid UTF-8");
}

/* ---- hostile input ---- */

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

/* A length-delimited field: key, length, bytes (p has room: callers size
 * their buffers for the 255-byte chunk at most). */
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

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* A SyncRequest (sync.proto) pushing one change with one text cell, the
 * text being `text` as it is, written by hand: the codec's encoder checks
 * values and would refuse exactly the bytes this is for. The batch id and a
 * new row's id derive from the input, so a replay sends the same bytes. */
static size_t hostile_request(unsigned pick, const uint8_t *text, size_t tlen,
                              uint64_t seed, uint8_t *out)
{
    uint8_t col[300], tab[420], ids[40], arr[24];
    size_t c = 0, t = 0, k = 0, a = 0, n = 0;
    unsigned f = pick % (sizeof hostile_fields / sizeof *hostile_fields);
    uint8_t rnd[10];
    fs_id row, batch;
    uint64_t lo;

    if (hostile_fields[f].row) {
        fz_id(hostile_fields[f].row, &row);
    } else {
        memcpy(rnd, &seed, 8);
        rnd[8] = rnd[9] = 0x5A;
        fs_id_from_parts(FZ_EPOCH_MS, rnd, &row);
    }
    memcpy(rnd, &seed, 8);
    rnd[8] = rnd[9] = 0xBA;
    fs_id_from_parts(FZ_EPOCH_MS, rnd, &batch);
    /* Column: entity, tag, kind [TEXT], text_len [tlen], text. */
    col[c++] = 0x08;
    c += put_varint(col + c, hostile_fields[f].entity);
    col[c++] = 0x10;
    c += put_varint(col + c, hostile_fields[f].field);
    col[c++] = 0x1A;
    col[c++] = 1;
    col[c++] = 6;
    arr[0] = 0;
    a = put_varint(arr, tlen);
    c += put_bytes(col + c, 12, arr, a);
    c += put_bytes(col + c, 15, text, tlen);
    /* Table: entity, ids {hi, lo}, hlc_ms (now), mask, the column. */
    a = put_varint(arr, hostile_fields[f].entity);
    t += put_bytes(tab + t, 1, arr, a);
    a = put_varint(arr, zigzag((int64_t)be64(row.b)));
    k += put_bytes(ids + k, 1, arr, a);
    lo = be64(row.b + 8);
    k += put_bytes(ids + k, 2, &lo, sizeof lo); /* fixed64, little-endian host */
    t += put_bytes(tab + t, 2, ids, k);
    a = put_varint(arr, zigzag((int64_t)time(NULL) * 1000));
    t += put_bytes(tab + t, 4, arr, a);
    arr[0] = 1;
    t += put_bytes(tab + t, 6, arr, 1);
    t += put_bytes(tab + t, 14, col, c);
    /* SyncRequest: version, device_id, batch_id, changes. */
    out[n++] = 0x08;
    out[n++] = FS_PROTO_VERSION;
    n += put_bytes(out + n, 2, w.device.b, 16);
    n += put_bytes(out + n, 3, batch.b, 16);
    n += put_bytes(out + n, 11, tab, t);
    return n;
}

/* Takes [h, len, chunk...] from *p (at most what is left); returns h. */
static unsigned take_chunk(const uint8_t **p, size_t *left, const uint8_t **chunk,
                           size_t *clen)
{
    unsigned h = 0;

    *chunk = NULL;
    *clen = 0;
    if (*left >= 1) {
        h = (*p)[0];
        (*p)++, (*left)--;
    }
    if (*left >= 1) {
        *clen = (*p)[0] < *left - 1 ? (*p)[0] : *left - 1;
        (*p)++, (*left)--;
        *chunk = *p;
        *p += *clen;
        *left -= *clen;
    }
    return h;
}

/* Copies a header chunk as a C string (a NUL ends it). */
static void chunk_str(char *dst, size_t cap, const char *prefix, const uint8_t *chunk,
                      size_t clen)
{
    size_t n = strlen(prefix), k = 0;

    memcpy(dst, prefix, n);
    while (k < clen && chunk[k] && n + 1 < cap)
        dst[n++] = (char)chunk[k++];
    dst[n] = '\0';
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
    uint8_t *plain = NULL, hostile[800];
    const uint8_t *body, *rest, *chunk = NULL;
    size_t len, left, clen = 0;
    unsigned sel, hmode, which = 0;
    int route;
    const char *auth, *enc, *path;
    char why[96], hdr[300], pathbuf[300];

    if (size < 1)
        return 0;
    if (++w.inputs % FZ_RESET_EVERY == 0) {
        world_close();
        world_open();
    }
    sel = data[0];
    hmode = SEL_HOSTILE(sel);
    rest = data + 1;
    left = size - 1;
    enc = enc_header[SEL_ENC(sel)];
    path = SEL_ENROLL(sel) ? "/v1/enroll" : "/v1/sync";
    if (hmode & 1) {
        which = take_chunk(&rest, &left, &chunk, &clen) & 3u;
        switch (which) {
        case 0: chunk_str(pathbuf, sizeof pathbuf, "/v1/", chunk, clen); path = pathbuf; break;
        case 1: chunk_str(hdr, sizeof hdr, "", chunk, clen); content_type = hdr; break;
        case 2: chunk_str(hdr, sizeof hdr, "", chunk, clen); enc = hdr; break;
        default: chunk_str(pathbuf, sizeof pathbuf, "/", chunk, clen); path = pathbuf; break;
        }
    }
    len = left;
    /* An exact-size copy, so reading past the body is an ASan finding. */
    plain = malloc(len ? len : 1);
    if (!plain)
        fz_die("malloc", NULL);
    memcpy(plain, rest, len);
    fz_id(FZ_DEVICE, &placeholder);
    fz_replace(plain, len, placeholder.b, w.device.b, sizeof placeholder.b);
    fz_replace(plain, len, FZ_CODE_PLACEHOLDER, w.code, FSS_CODE_LEN);
    body = plain;
    if (hmode & 2) {
        /* The rest of the input is one hostile text value. */
        unsigned pick = take_chunk(&rest, &left, &chunk, &clen);
        uint64_t seed = 1469598103934665603u;
        for (size_t i = 0; i < size; i++)
            seed = (seed ^ data[i]) * 1099511628211u;
        len = hostile_request(pick, chunk ? chunk : (const uint8_t *)"", clen, seed, hostile);
        body = hostile;
    }
    if (!SEL_RAW(sel) && SEL_ENC(sel) != 0 && SEL_ENC(sel) != 3 && enc == enc_header[SEL_ENC(sel)]) {
        if (fs_proto_compress((fs_proto_encoding)SEL_ENC(sel), body, len, NULL, &framed,
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

    route = strcmp(path, "/v1/sync") == 0 ? 0 : strcmp(path, "/v1/enroll") == 0 ? 1
          : strncmp(path, "/v1/", 4) == 0 ? 2 : 3;
    call(path, enc, auth, body, len, &resp);
    snprintf(why, sizeof why, "status %d on route %d", resp.status, route);
    if (!status_allowed(route, resp.status)) {
        fs_error_body eb = {0};
        (void)fs_proto_error_body_decode(resp.body, resp.body_len, answer_encoding(&resp),
                                         NULL, &eb, NULL, NULL);
        fprintf(stderr, "fuzz: %s: %s\n", why, eb.message);
        fz_die("unexpected status", why);
    }
    if (getenv("FZ_TRACE"))
        fprintf(stderr, "fuzz_sync: %s\n", why);
    if (route == 3)
        check_json_error(&resp);
    else if (resp.status != 200)
        check_error_body(&resp);
    else if (route == 1)
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
    /* hdr dies with this call: the harness's own requests (enroll on a
     * world reset) send the right Content-Type. */
    content_type = "application/x-protobuf";
    return 0;
}
