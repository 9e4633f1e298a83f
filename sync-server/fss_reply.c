/*
 * fss_reply.c - the response helpers every handler shares: error bodies
 * (protobuf ErrorBody for /v1, JSON for admin), a body from a buffer, the
 * HTTP status of an fss_status, and the one Content-Type check of the
 * protobuf routes.
 *
 * They live apart from the router (fss_http.c) so that the handlers
 * (fss_sync.c, fss_auth.c, fss_admin_http.c) depend on this file and the
 * router depends on the handlers, never the other way round.
 */
#include "fss_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fss_response_free(fss_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

/* ---------------------------------------------------------------------- */
/* Error bodies                                                            */
/* ---------------------------------------------------------------------- */

static void set_body(fss_response *r, int http, const char *ctype,
                     uint8_t *body, size_t len)
{
    free(r->body);
    r->status = http;
    r->content_type = ctype;
    r->content_encoding = NULL;
    r->body = body;
    r->body_len = len;
}

void fss__error_proto(fss_server *s, fss_response *r, int http,
                      fs_proto_error_code code, bool wipe, const char *fmt, ...)
{
    fs_error_body eb;
    fs_proto_buf buf = {0};
    uint8_t *copy;
    va_list ap;

    memset(&eb, 0, sizeof eb);
    eb.code = code;
    eb.wipe = wipe;
    va_start(ap, fmt);
    fs_utf8_vformat(eb.message, sizeof eb.message, fmt, ap);
    va_end(ap);
    if (s)
        fss__metrics_refusal(&s->metrics, code);
    if (fs_proto_error_body_encode(&eb, FS_PROTO_IDENTITY, NULL, &buf, NULL) ==
            FS_PROTO_OK &&
        (copy = malloc(buf.len ? buf.len : 1)) != NULL) {
        memcpy(copy, buf.data, buf.len);
        set_body(r, http, "application/x-protobuf", copy, buf.len);
    } else {
        /* Only when out of memory: the message is valid UTF-8 by
         * construction (fs_utf8_vformat), so the encoder never refuses it.
         * The status line alone still tells the client. */
        set_body(r, http, "text/plain", NULL, 0);
    }
    fs_proto_buf_free(&buf);
}

void fss__error_json(fss_response *r, int http, const char *fmt, ...)
{
    fss_buf b = {0};
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    fs_utf8_vformat(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fss_buf_puts(&b, "{\"error\":");
    fss_json_cstr(&b, msg);
    fss_buf_puts(&b, "}\n");
    fss__respond_buf(r, http, "application/json", &b);
}

void fss__respond_buf(fss_response *r, int http, const char *ctype, fss_buf *b)
{
    if (b->oom) {
        fss_buf_free(b);
        set_body(r, 500, "text/plain", NULL, 0);
        return;
    }
    set_body(r, http, ctype, (uint8_t *)b->data, b->len);
    memset(b, 0, sizeof *b);
}

int fss__status_http(fss_status st)
{
    switch (st) {
    case FSS_OK: return 200;
    case FSS_EINVAL: return 400;
    case FSS_ENOTFOUND: return 404;
    case FSS_EEXISTS: return 409;
    case FSS_EIMPORT: return 422;
    default: return 500;
    }
}

/* ---------------------------------------------------------------------- */
/* Routing                                                                 */
/* ---------------------------------------------------------------------- */

bool fss__ctype_is_protobuf(const char *ct)
{
    size_t n;

    /* The media type, parameters (";charset=...") and trailing blanks aside;
     * anything else after it ("application/x-protobuf junk") is refused. */
    if (!ct)
        return false;
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return (n == 22 && strncasecmp(ct, "application/x-protobuf", 22) == 0) ||
           (n == 20 && strncasecmp(ct, "application/protobuf", 20) == 0);
}
