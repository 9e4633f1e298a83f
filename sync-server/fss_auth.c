/*
 * fss_auth.c - device identity: enrollment codes, POST /v1/enroll, bearer
 * tokens, revocation, and slowing down guessing.
 *
 * An enrollment code is 12 characters from an alphabet without look-alikes
 * (about 59 bits), single-use and expiring; only its SHA-256 is stored. A
 * device token is "<device-uuid>.<64 hex chars>" (256 random bits); the
 * server stores SHA-256 of the whole token, finds the device by the id part
 * and compares hashes in constant time, so neither the database nor timing
 * reveals a usable token. Every failed token or code from one client address
 * counts against its address (fss_rate.c); past the limit the address gets
 * 429 with Retry-After until the window ends.
 */
#include "fss_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char code_alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

bool fss__rate_limited(fss_server *s, const char *remote)
{
    bool limited;

    if (!s->cfg.auth_fail_limit)
        return false;
    pthread_mutex_lock(&s->rate_mu);
    limited = fss_rate_fails(&s->rate, remote, fss_now_ms() / 1000,
                             s->cfg.auth_fail_window_s) >= s->cfg.auth_fail_limit;
    pthread_mutex_unlock(&s->rate_mu);
    return limited;
}

void fss__rate_fail(fss_server *s, const char *remote)
{
    pthread_mutex_lock(&s->rate_mu);
    fss_rate_add(&s->rate, remote, fss_now_ms() / 1000, s->cfg.auth_fail_window_s);
    pthread_mutex_unlock(&s->rate_mu);
}

fss_auth_result fss__authenticate(fss_server *s, fss_conn *c,
                                  const char *authorization,
                                  const char *remote, fss_device *dev)
{
    fss_device_row row;
    const char *tok;
    uint8_t hash[32];
    fss_auth_result ar = FSS_AUTH_BAD;
    bool found = false;
    fs_error err = {0};

    memset(dev, 0, sizeof *dev);
    if (fss__rate_limited(s, remote))
        return FSS_AUTH_LIMITED;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) {
        ar = FSS_AUTH_MISSING;
        goto done;
    }
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    if (strlen(tok) != FS_ID_STRLEN + 1 + 64 || tok[FS_ID_STRLEN] != '.' ||
        fs_id_parse(tok, FS_ID_STRLEN, &dev->id, NULL) != FS_OK)
        goto done;
    fss_sha256(tok, strlen(tok), hash);
    /* A store failure counts as a bad token, as it always has: the request
     * is refused and nothing is learned from the difference. */
    if (fss__repo_device_get(c, &dev->id, &row, &found, &err) != FSS_OK ||
        !found || !row.has_hash || !fss_ct_equal(row.token_hash, hash, 32))
        goto done;
    snprintf(dev->rep, sizeof dev->rep, "%s", row.rep);
    dev->revoked = row.revoked;
    ar = dev->revoked ? FSS_AUTH_REVOKED : FSS_AUTH_OK;
    if (dev->revoked && row.drain) {
        fss_rep_state rs;
        bool known = false;
        if (fss__repo_rep_state(c, dev->rep, &rs, &known, &err) != FSS_OK)
            goto done; /* refused as revoked: the drain waits for a retry */
        dev->draining = true;
        snprintf(dev->heir, sizeof dev->heir, "%s", known ? rs.heir : "");
        ar = FSS_AUTH_DRAIN;
    }
done:
    if (ar == FSS_AUTH_BAD || ar == FSS_AUTH_MISSING)
        fss__rate_fail(s, remote);
    /* last_seen is the caller's to record (fss_handle_sync): with the
     * request's outbox report, in its write transaction when it pushes. */
    return ar;
}

/* Canonical form of a typed code: upper case, blanks and dashes removed,
 * then re-dashed, so "abcd efgh-jkmn" matches "ABCD-EFGH-JKMN". */
static bool code_normalise(const char *in, char out[FSS_CODE_LEN + 1])
{
    char raw[13];
    size_t n = 0;

    for (; *in; in++) {
        if (*in == '-' || *in == ' ')
            continue;
        if (n == 12)
            return false;
        raw[n++] = (char)toupper((unsigned char)*in);
    }
    if (n != 12)
        return false;
    snprintf(out, FSS_CODE_LEN + 1, "%.4s-%.4s-%.4s", raw, raw + 4, raw + 8);
    return true;
}

fss_status fss_admin_enroll_code(fss_server *s, const fs_id *rep,
                                 uint32_t ttl_s, char code_out[FSS_CODE_LEN + 1],
                                 fs_error *err)
{
    fss_conn *c = NULL;
    char repid[FS_ID_STRLEN + 1], raw[13];
    uint8_t hash[32], rnd[64];
    size_t n = 0, i = 0;
    uint64_t now = fss_now_ms();
    fss_status rc;

    fs_id_format(rep, repid);
    /* Rejection sampling keeps every character equally likely. */
    while (n < 12) {
        if (i == 0 && (rc = fss_random(rnd, sizeof rnd, err)) != FSS_OK)
            return rc;
        if (rnd[i] < 31 * 8)
            raw[n++] = code_alphabet[rnd[i] % 31];
        i = (i + 1) % sizeof rnd;
    }
    snprintf(code_out, FSS_CODE_LEN + 1, "%.4s-%.4s-%.4s", raw, raw + 4, raw + 8);
    fss_sha256(code_out, FSS_CODE_LEN, hash);
    c = fss__conn_get(s, 10000);
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__rep_known(c, repid, err)) != FSS_OK ||
        (rc = fss__rep_active(c, repid, "issuing an enrollment code", err)) != FSS_OK)
        goto done;
    rc = fss__repo_code_add(c, hash, repid, (int64_t)now,
                            (int64_t)(now + 1000ull * (ttl_s ? ttl_s
                                                            : s->cfg.enroll_ttl_s)),
                            err);
done:
    fss__conn_put(s, c);
    if (rc != FSS_OK)
        memset(code_out, 0, FSS_CODE_LEN + 1);
    return rc;
}

typedef enum enroll_verdict {
    EV_OK, EV_UNKNOWN, EV_USED, EV_EXPIRED, EV_VOID
} enroll_verdict;

static fss_status enroll_tx(fss_server *s, fss_conn *c, const char *code,
                            const char *devname, fs_enroll_response *out,
                            enroll_verdict *v, fs_error *err)
{
    fss_code_row row;
    uint8_t chash[32], thash[32], secret[32];
    char hex[65], idtxt[FS_ID_STRLEN + 1];
    bool found = false;
    fss_status rc;

    (void)s;
    *v = EV_OK;
    fss_sha256(code, FSS_CODE_LEN, chash);
    if ((rc = fss__begin_immediate(c, err)) != FSS_OK)
        return rc;
    if ((rc = fss__repo_code_get(c, chash, &row, &found, err)) != FSS_OK)
        goto done;
    if (!found) {
        *v = EV_UNKNOWN;
        goto done;
    }
    if (row.used) {
        *v = EV_USED;
        goto done;
    }
    /* A code voided by an offboarding stays void after a reactivation;
     * a code of a deactivated rep is refused even if it escaped voiding. */
    if (row.voided) {
        *v = EV_VOID;
        goto done;
    }
    {
        fss_rep_state rs;
        bool known = false;
        if ((rc = fss__repo_rep_state(c, row.rep, &rs, &known, err)) != FSS_OK)
            goto done;
        if (known && !rs.active) {
            *v = EV_VOID;
            goto done;
        }
    }
    if ((uint64_t)row.expires_at <= fss_now_ms()) {
        *v = EV_EXPIRED;
        goto done;
    }
    if (fs_id_parse(row.rep, FS_ID_STRLEN, &out->rep_id, NULL) != FS_OK) {
        rc = fss__fail(err, FSS_EDB, "stored rep id is malformed");
        goto done;
    }
    if (fs_id_new(fss_now_ms(), &out->device_id, err) != FS_OK ||
        (rc = fss_random(secret, sizeof secret, err)) != FSS_OK) {
        rc = FSS_ERANDOM;
        goto done;
    }
    fs_id_format(&out->device_id, idtxt);
    fss_hex(secret, sizeof secret, hex);
    snprintf(out->token, sizeof out->token, "%s.%s", idtxt, hex);
    fss_sha256(out->token, strlen(out->token), thash);
    rc = fss__repo_code_redeem(c, chash, &out->device_id, devname, thash,
                               (int64_t)fss_now_ms(), err);
    if (rc == FSS_OK)
        rc = fss__commit(c, err);
done:
    if (rc != FSS_OK || *v != EV_OK)
        fss__rollback(c);
    return rc;
}


void fss_handle_enroll(fss_server *s, const fss_request *req,
                       fss_response *resp)
{
    fs_enroll_request rq;
    fs_enroll_response out;
    fs_proto_limits lim = fs_proto_limits_default();
    fs_proto_encoding enc = FS_PROTO_IDENTITY;
    fs_proto_status pst;
    fs_proto_buf body = {0};
    fs_error err = {0};
    fss_conn *c = NULL;
    char code[FSS_CODE_LEN + 1];
    enroll_verdict v = EV_OK;

    memset(&rq, 0, sizeof rq);
    memset(&out, 0, sizeof out);
    lim.max_body = 64 * 1024; /* an enroll request is tiny */
    lim.max_inflated = 64 * 1024;
    if (!req->method || strcmp(req->method, "POST") != 0) {
        fss__error_proto(s, resp, 405, FS_PROTO_ERR_BAD_REQUEST, false,
                         "method not allowed on /v1/enroll (use POST)");
        goto done;
    }
    if (!fss__ctype_is_protobuf(req->content_type)) {
        fss__error_proto(s, resp, 415, FS_PROTO_ERR_BAD_REQUEST, false,
                         "Content-Type must be application/x-protobuf");
        goto done;
    }
    if (fss__rate_limited(s, req->remote_addr)) {
        fss__error_proto(s, resp, 429, FS_PROTO_ERR_BUSY, false,
                         "too many failed attempts from this address");
        resp->retry_after_s = s->cfg.auth_fail_window_s;
        goto done;
    }
    pst = fs_proto_encoding_parse(req->content_encoding,
                                  req->content_encoding ? strlen(req->content_encoding) : 0,
                                  &enc, &err);
    if (pst == FS_PROTO_OK)
        pst = fs_proto_enroll_request_decode(req->body, req->body_len, enc,
                                             &lim, &rq, NULL, &err);
    if (pst != FS_PROTO_OK) {
        fss__error_proto(s, resp, fs_proto_http_status(pst),
                         fs_proto_status_error_code(pst), false, "%s", err.text);
        goto done;
    }
    if (rq.version != FS_PROTO_VERSION) {
        fss__error_proto(s, resp, 400, FS_PROTO_ERR_UNSUPPORTED_VERSION, false,
                         "protocol_version %u not supported (server speaks %u)",
                         rq.version, FS_PROTO_VERSION);
        goto done;
    }
    if (!code_normalise(rq.code, code)) {
        fss__rate_fail(s, req->remote_addr);
        fss__error_proto(s, resp, 403, FS_PROTO_ERR_ENROLL_CODE, false,
                         "enrollment code is malformed (expected XXXX-XXXX-XXXX)");
        goto done;
    }
    c = fss__conn_get(s, 10000);
    if (!c) {
        fss__error_proto(s, resp, 503, FS_PROTO_ERR_BUSY, false, "server busy");
        resp->retry_after_s = 1;
        goto done;
    }
    if (enroll_tx(s, c, code, rq.device_name, &out, &v, &err) != FSS_OK) {
        fss__error_proto(s, resp, 500, FS_PROTO_ERR_INTERNAL, false,
                         "internal error: %s", err.text);
        goto done;
    }
    if (v != EV_OK) {
        fss__rate_fail(s, req->remote_addr);
        fss__error_proto(s, resp, 403, FS_PROTO_ERR_ENROLL_CODE, false, "%s",
                         v == EV_USED      ? "enrollment code already used"
                         : v == EV_EXPIRED ? "enrollment code expired"
                         : v == EV_VOID    ? "enrollment code void: its rep "
                                             "was offboarded"
                                           : "unknown enrollment code");
        goto done;
    }
    fs_id_format(&out.device_id, resp->device);
    out.version = FS_PROTO_VERSION;
    out.server_time = fss__tick(s);
    pst = fs_proto_enroll_response_encode(&out, enc, NULL, &body, &err);
    if (pst != FS_PROTO_OK) {
        fss__error_proto(s, resp, 500, FS_PROTO_ERR_INTERNAL, false,
                         "encode: %s", err.text);
        goto done;
    }
    resp->status = 200;
    resp->content_type = "application/x-protobuf";
    resp->content_encoding = enc == FS_PROTO_IDENTITY ? NULL
                                                      : fs_proto_encoding_name(enc);
    resp->body = malloc(body.len ? body.len : 1);
    if (!resp->body) {
        fss__error_proto(s, resp, 500, FS_PROTO_ERR_INTERNAL, false, "oom");
        goto done;
    }
    memcpy(resp->body, body.data, body.len);
    resp->body_len = body.len;
done:
    memset(&out.token, 0, sizeof out.token);
    fss__conn_put(s, c);
    fs_proto_buf_free(&body);
}
