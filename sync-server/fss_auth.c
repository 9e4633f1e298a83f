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
#include "fss_sqlite.h"

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
    sqlite3_stmt *st = NULL;
    const char *tok;
    uint8_t hash[32];
    fss_auth_result ar = FSS_AUTH_BAD;
    bool match = false;
    int r;

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
    if (sqlite3_prepare_v2(c->db,
                           "SELECT rep, token_hash, revoked FROM fss_devices "
                           "WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_blob(st, 1, dev->id.b, 16, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r != SQLITE_ROW || sqlite3_column_bytes(st, 1) != 32)
        goto done;
    match = fss_ct_equal(sqlite3_column_blob(st, 1), hash, 32);
    if (!match)
        goto done;
    snprintf(dev->rep, sizeof dev->rep, "%s",
             (const char *)sqlite3_column_text(st, 0));
    dev->revoked = sqlite3_column_int(st, 2) != 0;
    ar = dev->revoked ? FSS_AUTH_REVOKED : FSS_AUTH_OK;
done:
    sqlite3_finalize(st);
    if (ar == FSS_AUTH_BAD || ar == FSS_AUTH_MISSING)
        fss__rate_fail(s, remote);
    if (ar == FSS_AUTH_OK) {
        /* Best effort: last_seen is informational for the back office. */
        if (sqlite3_prepare_v2(c->db,
                               "UPDATE fss_devices SET last_seen = ?1 WHERE id = ?2",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)fss_now_ms());
            sqlite3_bind_blob(st, 2, dev->id.b, 16, SQLITE_STATIC);
            (void)sqlite3_step(st);
        }
        sqlite3_finalize(st);
    }
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
    sqlite3_stmt *st = NULL;
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
    if ((rc = fss__rep_known(c, repid, err)) != FSS_OK)
        goto done;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO fss_enroll_codes(hash, rep, created_at,"
                           " expires_at) VALUES(?1, ?2, ?3, ?4)", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = fss__dbfail(err, c->db, "enroll code");
        goto done;
    }
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, repid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)now);
    sqlite3_bind_int64(st, 4, (int64_t)(now + 1000ull * (ttl_s ? ttl_s
                                                              : s->cfg.enroll_ttl_s)));
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "enroll code");
done:
    sqlite3_finalize(st);
    fss__conn_put(s, c);
    if (rc != FSS_OK)
        memset(code_out, 0, FSS_CODE_LEN + 1);
    return rc;
}

typedef enum enroll_verdict { EV_OK, EV_UNKNOWN, EV_USED, EV_EXPIRED } enroll_verdict;

static fss_status enroll_tx(fss_server *s, fss_conn *c, const char *code,
                            const char *devname, fs_enroll_response *out,
                            enroll_verdict *v, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    uint8_t hash[32], secret[32];
    char hex[65], idtxt[FS_ID_STRLEN + 1];
    int64_t expires;
    fss_status rc;
    int r;

    *v = EV_OK;
    fss_sha256(code, FSS_CODE_LEN, hash);
    if ((rc = fss__begin_immediate(c, err)) != FSS_OK)
        return rc;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT rep, expires_at, used_at FROM fss_enroll_codes "
                           "WHERE hash = ?1", -1, &st, NULL) != SQLITE_OK) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        *v = EV_UNKNOWN;
        goto done;
    }
    if (r != SQLITE_ROW) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    expires = sqlite3_column_int64(st, 1);
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
        *v = EV_USED;
        goto done;
    }
    if ((uint64_t)expires <= fss_now_ms()) {
        *v = EV_EXPIRED;
        goto done;
    }
    if (fs_id_parse((const char *)sqlite3_column_text(st, 0), FS_ID_STRLEN,
                    &out->rep_id, NULL) != FS_OK) {
        rc = fss__fail(err, FSS_EDB, "stored rep id is malformed");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;

    if (fs_id_new(fss_now_ms(), &out->device_id, err) != FS_OK ||
        (rc = fss_random(secret, sizeof secret, err)) != FSS_OK) {
        rc = FSS_ERANDOM;
        goto done;
    }
    fs_id_format(&out->device_id, idtxt);
    fss_hex(secret, sizeof secret, hex);
    snprintf(out->token, sizeof out->token, "%s.%s", idtxt, hex);
    fss_sha256(out->token, strlen(out->token), hash);
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO fss_devices(id, rep, name, token_hash,"
                           " created_at) SELECT ?1, rep, ?2, ?3, ?4 FROM"
                           " fss_enroll_codes WHERE hash = ?5", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    {
        uint8_t chash[32];
        fss_sha256(code, FSS_CODE_LEN, chash);
        sqlite3_bind_blob(st, 1, out->device_id.b, 16, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, devname, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)fss_now_ms());
        sqlite3_bind_blob(st, 5, chash, 32, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = fss__dbfail(err, c->db, "enroll");
            goto done;
        }
        sqlite3_finalize(st);
        st = NULL;
        if (sqlite3_prepare_v2(c->db,
                               "UPDATE fss_enroll_codes SET used_at = ?1, device = ?2"
                               " WHERE hash = ?3", -1, &st, NULL) != SQLITE_OK) {
            rc = fss__dbfail(err, c->db, "enroll");
            goto done;
        }
        sqlite3_bind_int64(st, 1, (int64_t)fss_now_ms());
        sqlite3_bind_blob(st, 2, out->device_id.b, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, chash, 32, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = fss__dbfail(err, c->db, "enroll");
            goto done;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = fss__commit(c, err);
done:
    sqlite3_finalize(st);
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
