/*
 * fuzz_decode.c - libFuzzer target for everything a server or client decodes
 * from the network: framing (identity/deflate/gzip) + protobuf + domain
 * validation, for each message type.
 *
 * Input layout: byte 0 picks the message (low 3 bits) and the framing (next
 * 2 bits); the rest is the body. Oracle, besides the sanitizers: whatever
 * decodes must re-encode, and the re-encoded body must decode to the same
 * shape (a codec that accepts what it cannot produce, or produces what it
 * cannot read, is a bug).
 */
#include "fs_proto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits make the fuzzer reach the limit checks quickly. */
static fs_proto_limits fuzz_limits(void)
{
    fs_proto_limits lim = fs_proto_limits_default();
    lim.max_body = 1 << 16;
    lim.max_inflated = 1 << 18;
    lim.max_changes = 64;
    lim.max_rows = 64;
    lim.max_string = 4096;
    return lim;
}

static void sync_request(const uint8_t *b, size_t n, fs_proto_encoding enc,
                         const fs_proto_limits *lim)
{
    fs_sync_request req, again;
    fs_proto_buf buf = {0};
    fs_change *valid = NULL;
    size_t nvalid = 0;

    if (fs_proto_sync_request_decode(b, n, enc, lim, &req, NULL, NULL) != FS_PROTO_OK)
        return;
    /* Invalid changes are zeroed by the decoder; re-encode only valid ones. */
    valid = calloc(req.nchanges ? req.nchanges : 1, sizeof *valid);
    if (!valid)
        abort();
    for (size_t i = 0; i < req.nchanges; i++)
        if (req.changes[i].entity)
            valid[nvalid++] = req.changes[i];
    {
        fs_sync_request out = req;
        out.changes = valid;
        out.nchanges = nvalid;
        out.errors = NULL;
        out.nerrors = 0;
        if (fs_proto_sync_request_encode(&out, enc, lim, &buf, NULL) != FS_PROTO_OK)
            abort();
    }
    if (fs_proto_sync_request_decode(buf.data, buf.len, enc, lim, &again, NULL, NULL) !=
            FS_PROTO_OK ||
        again.nchanges != nvalid || again.nerrors != 0 || again.cursor != req.cursor)
        abort();
    fs_proto_sync_request_free(&again);
    fs_proto_buf_free(&buf);
    free(valid);
    fs_proto_sync_request_free(&req);
}

static void sync_response(const uint8_t *b, size_t n, fs_proto_encoding enc,
                          const fs_proto_limits *lim)
{
    fs_sync_response resp, again;
    fs_proto_buf buf = {0};

    if (fs_proto_sync_response_decode(b, n, enc, lim, &resp, NULL, NULL) != FS_PROTO_OK)
        return;
    if (fs_proto_sync_response_encode(&resp, enc, lim, &buf, NULL) != FS_PROTO_OK)
        abort();
    if (fs_proto_sync_response_decode(buf.data, buf.len, enc, lim, &again, NULL, NULL) !=
            FS_PROTO_OK ||
        again.nrows != resp.nrows || again.nresults != resp.nresults ||
        again.nexits != resp.nexits || again.next_cursor != resp.next_cursor)
        abort();
    for (size_t i = 0; i < resp.nrows; i++)
        if (!fs_row_eq(&resp.rows[i].row, &again.rows[i].row))
            abort();
    fs_proto_sync_response_free(&again);
    fs_proto_buf_free(&buf);
    fs_proto_sync_response_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fs_proto_limits lim = fuzz_limits();
    fs_proto_encoding enc;
    unsigned msg;

    if (size < 1)
        return 0;
    msg = data[0] & 7;
    enc = (fs_proto_encoding)((data[0] >> 3) % 3);
    data++;
    size--;
    switch (msg) {
    case 0:
    case 1:
        sync_request(data, size, enc, &lim);
        break;
    case 2:
    case 3:
        sync_response(data, size, enc, &lim);
        break;
    case 4: {
        fs_enroll_request r;
        (void)fs_proto_enroll_request_decode(data, size, enc, &lim, &r, NULL, NULL);
        break;
    }
    case 5: {
        fs_enroll_response r;
        (void)fs_proto_enroll_response_decode(data, size, enc, &lim, &r, NULL, NULL);
        break;
    }
    default: {
        fs_error_body r;
        (void)fs_proto_error_body_decode(data, size, enc, &lim, &r, NULL, NULL);
        break;
    }
    }
    return 0;
}
