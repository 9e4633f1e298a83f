/*
 * fss_repo_auth.c - the repository (both backends) for device identity: devices
 * by id, their last-seen time, enrollment codes and redeeming a code into a
 * device (fss_repo.h). The rules (hashing, expiry, constant-time compare,
 * rate limits) stay in fss_auth.c; this file only reads and writes rows.
 */
#include "fss_store.h"

#include <string.h>

fss_status fss__repo_device_get(fss_conn *c, const fs_id *id,
                                fss_device_row *out, bool *found,
                                fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    memset(out, 0, sizeof *out);
    *found = false;
    if ((rc = fss__stmt(c, "SELECT rep, token_hash, revoked, drain FROM fss_devices "
                           "WHERE id = ?1", &st, err)) != FSS_OK)
        goto done;
    fss_bind_blob(st, 1, id->b, 16, FSS_SQL_STATIC);
    r = fss_step(st);
    if (r == FSS_SQL_DONE)
        goto done;
    if (r != FSS_SQL_ROW) {
        rc = fss__dbfail(err, c->db, "device");
        goto done;
    }
    *found = true;
    snprintf(out->rep, sizeof out->rep, "%s",
             (const char *)fss_column_text(st, 0));
    out->has_hash = fss_column_bytes(st, 1) == 32;
    if (out->has_hash)
        memcpy(out->token_hash, fss_column_blob(st, 1), 32);
    out->revoked = fss_column_int(st, 2) != 0;
    out->drain = fss_column_int(st, 3) != 0;
done:
    fss__stmt_done(c, st);
    return rc;
}

void fss__repo_device_seen(fss_conn *c, const fs_id *id, int64_t now_ms)
{
    fss_stmt *st = NULL;

    if (fss__stmt(c, "UPDATE fss_devices SET last_seen = ?1 WHERE id = ?2", &st,
                  NULL) == FSS_OK) {
        fss_bind_int64(st, 1, now_ms);
        fss_bind_blob(st, 2, id->b, 16, FSS_SQL_STATIC);
        /* a write: it waits for the write lock like a push does, and a
         * job writing in batches lets it in (fss__yield_to_writers) */
        if (c->writers_waiting)
            atomic_fetch_add(c->writers_waiting, 1);
        (void)fss_step(st);
        if (c->writers_waiting)
            atomic_fetch_sub(c->writers_waiting, 1);
    }
    fss__stmt_done(c, st);
}

fss_status fss__repo_device_report(fss_conn *c, const fs_id *id, int64_t now_ms,
                                   const fss_outbox_report *r, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;
    bool counted;

    rc = fss__stmt(c, "UPDATE fss_devices SET last_seen = ?1, reported_at = ?1,"
                      " pending_changes = ?2, rejected_changes = ?3 WHERE id = ?4",
                   &st, err);
    if (rc != FSS_OK)
        goto done;
    fss_bind_int64(st, 1, now_ms);
    if (r->has_pending)
        fss_bind_int64(st, 2, r->pending);
    else
        fss_bind_null(st, 2);
    if (r->has_rejected)
        fss_bind_int64(st, 3, r->rejected);
    else
        fss_bind_null(st, 3);
    fss_bind_blob(st, 4, id->b, 16, FSS_SQL_STATIC);
    /* On its own (a pull): a write that waits for the lock like a push,
     * so a job writing in batches lets it in (fss__yield_to_writers). */
    counted = c->writers_waiting && fss_get_autocommit(c->db);
    if (counted)
        atomic_fetch_add(c->writers_waiting, 1);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "record the device's outbox report");
    if (counted)
        atomic_fetch_sub(c->writers_waiting, 1);
done:
    fss__stmt_done(c, st);
    return rc;
}

fss_status fss__repo_code_add(fss_conn *c, const uint8_t hash[32],
                              const char *rep, int64_t created_ms,
                              int64_t expires_ms, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    if (fss_prepare(c->db,
                           "INSERT INTO fss_enroll_codes(hash, rep, created_at,"
                           " expires_at) VALUES(?1, ?2, ?3, ?4)", -1, &st,
                           NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "enroll code");
        goto done;
    }
    fss_bind_blob(st, 1, hash, 32, FSS_SQL_STATIC);
    fss_bind_text(st, 2, rep, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 3, created_ms);
    fss_bind_int64(st, 4, expires_ms);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "enroll code");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_code_get(fss_conn *c, const uint8_t hash[32],
                              fss_code_row *out, bool *found, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    memset(out, 0, sizeof *out);
    *found = false;
    if (fss_prepare(c->db,
                           "SELECT rep, expires_at, used_at, voided_at FROM fss_enroll_codes "
                           "WHERE hash = ?1", -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    fss_bind_blob(st, 1, hash, 32, FSS_SQL_STATIC);
    r = fss_step(st);
    if (r == FSS_SQL_DONE)
        goto done;
    if (r != FSS_SQL_ROW) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    *found = true;
    snprintf(out->rep, sizeof out->rep, "%s",
             fss_column_type(st, 0) == FSS_SQL_NULL
                 ? "" : (const char *)fss_column_text(st, 0));
    out->expires_at = fss_column_int64(st, 1);
    out->used = fss_column_type(st, 2) != FSS_SQL_NULL;
    out->voided = fss_column_type(st, 3) != FSS_SQL_NULL;
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_code_redeem(fss_conn *c, const uint8_t code_hash[32],
                                 const fs_id *device, const char *name,
                                 const uint8_t token_hash[32], int64_t now_ms,
                                 fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    if (fss_prepare(c->db,
                           "INSERT INTO fss_devices(id, rep, name, token_hash,"
                           " created_at) SELECT ?1, rep, ?2, ?3, ?4 FROM"
                           " fss_enroll_codes WHERE hash = ?5", -1, &st,
                           NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    fss_bind_blob(st, 1, device->b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 2, name, -1, FSS_SQL_STATIC);
    fss_bind_blob(st, 3, token_hash, 32, FSS_SQL_STATIC);
    fss_bind_int64(st, 4, now_ms);
    fss_bind_blob(st, 5, code_hash, 32, FSS_SQL_STATIC);
    if (fss_step(st) != FSS_SQL_DONE) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    fss_finalize(st);
    st = NULL;
    if (fss_prepare(c->db,
                           "UPDATE fss_enroll_codes SET used_at = ?1, device = ?2"
                           " WHERE hash = ?3", -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "enroll");
        goto done;
    }
    fss_bind_int64(st, 1, now_ms);
    fss_bind_blob(st, 2, device->b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 3, code_hash, 32, FSS_SQL_STATIC);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "enroll");
done:
    fss_finalize(st);
    return rc;
}
