/*
 * fss_repo_admin.c - the repository (both backends) for the back office's lists
 * (reps, territories, devices, conflict records; fss_repo.h). Queries
 * return plain rows through a callback; fss_admin.c turns them into JSON,
 * so the SQL stays portable (no json_*, hex or date functions) and a second
 * backend only has to produce the same rows in the same order.
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

static const char *col_text(fss_stmt *st, int i)
{
    return fss_column_type(st, i) == FSS_SQL_NULL
               ? NULL : (const char *)fss_column_text(st, i);
}

static bool col_int(fss_stmt *st, int i, int64_t *out)
{
    *out = fss_column_int64(st, i);
    return fss_column_type(st, i) != FSS_SQL_NULL;
}

static bool col_id(fss_stmt *st, int i, fs_id *out)
{
    memset(out, 0, sizeof *out);
    if (fss_column_type(st, i) == FSS_SQL_NULL ||
        fss_column_bytes(st, i) != 16)
        return false;
    memcpy(out->b, fss_column_blob(st, i), 16);
    return true;
}

typedef void (*row_fn)(fss_stmt *st, void *ctx);
/* Runs sql (built with a territory restriction; freed here) and calls row
 * for every result row: ?1 = t1 (when
 * given), ?2 = i2 (when has_i2), the codes from ?first. */
static fss_status each_row_terr(fss_conn *c, fss_buf *sql, const char *t1,
                                bool has_i2, int64_t i2,
                                const char *const *terr, int first,
                                row_fn row, void *ctx, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    if (sql->oom) {
        rc = fss__fail(err, FSS_ENOMEM, "query");
        goto done;
    }
    if (fss_prepare(c->db, sql->data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "query");
        goto done;
    }
    if (t1)
        fss_bind_text(st, 1, t1, -1, FSS_SQL_STATIC);
    if (has_i2)
        fss_bind_int64(st, 2, i2);
    fss__sql_terr_bind(st, terr, first);
    while ((r = fss_step(st)) == FSS_SQL_ROW)
        row(st, ctx);
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "query");
done:
    fss_finalize(st);
    fss_buf_free(sql);
    return rc;
}

typedef struct list_ctx {
    fss_rep_item_fn rep;
    fss_territory_item_fn territory;
    fss_device_item_fn device;
    fss_conflict_item_fn conflict;
    void *arg;
} list_ctx;

fss_status fss__repo_reps_count(fss_conn *c, int64_t *out, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    *out = 0;
    if (fss_prepare(c->db, "SELECT count(*) FROM fss_reps", -1, &st,
                           NULL) != FSS_SQL_OK || fss_step(st) != FSS_SQL_ROW)
        rc = fss__dbfail(err, c->db, "count reps");
    else
        *out = fss_column_int64(st, 0);
    fss_finalize(st);
    return rc;
}

static void rep_row(fss_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_rep_item r = {
        .id = col_text(st, 0), .name = col_text(st, 1),
        .email = col_text(st, 2), .devices = fss_column_int64(st, 3),
        .territory = col_text(st, 4), .active = fss_column_int64(st, 5) != 0,
    };
    x->rep(&r, x->arg);
}

fss_status fss__repo_reps_list(fss_conn *c, const char *const *terr,
                               fss_rep_item_fn fn, void *arg, fs_error *err)
{
    list_ctx x = {.rep = fn, .arg = arg};
    fss_buf sql = {0};

    /* Restricted: the reps of the territories, with those memberships. */
    fss_buf_puts(&sql, "SELECT r.uuid, r.name, r.email, (SELECT count(*) FROM fss_devices d"
                       " WHERE d.rep = r.uuid AND d.revoked = 0), rt.territory, r.active"
                       " FROM fss_reps r LEFT JOIN fss_rep_territories rt ON rt.rep = r.uuid");
    fss__sql_terr_in(&sql, "rt.territory", terr, 1);
    if (terr)
        fss_buf_puts(&sql, " WHERE rt.territory IS NOT NULL");
    fss_buf_puts(&sql, " ORDER BY r.name, r.uuid, rt.territory NULLS FIRST");
    return each_row_terr(c, &sql, NULL, false, 0, terr, 1, rep_row, &x, err);
}

static void territory_row(fss_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_territory_item t = {
        .code = col_text(st, 0), .name = col_text(st, 1),
        .customers = fss_column_int64(st, 2), .rep = col_text(st, 3),
    };
    x->territory(&t, x->arg);
}

fss_status fss__repo_territories_list(fss_conn *c, const char *const *terr,
                                      fss_territory_item_fn fn, void *arg,
                                      fs_error *err)
{
    list_ctx x = {.territory = fn, .arg = arg};
    fss_buf sql = {0};

    /* Reps of a territory by uuid (a stable order on both backends). */
    fss_buf_puts(&sql, "SELECT t.code, t.name, (SELECT count(*) FROM customer c"
                       " WHERE c.territory = t.code AND c.deleted = 0), rt.rep"
                       " FROM fss_territories t LEFT JOIN fss_rep_territories rt"
                       " ON rt.territory = t.code WHERE 1 = 1");
    fss__sql_terr_in(&sql, "t.code", terr, 1);
    fss_buf_puts(&sql, " ORDER BY t.code, rt.rep NULLS FIRST");
    return each_row_terr(c, &sql, NULL, false, 0, terr, 1, territory_row, &x, err);
}

void fss__device_of(fss_stmt *st, fss_device_item *d)
{
    memset(d, 0, sizeof *d);
    d->rep = col_text(st, 1);
    d->rep_name = col_text(st, 2);
    d->name = col_text(st, 3);
    d->created_at = fss_column_int64(st, 4);
    d->revoked = fss_column_int(st, 6) != 0;
    (void)col_id(st, 0, &d->id);
    d->has_last_seen = col_int(st, 5, &d->last_seen);
    d->has_revoked_at = col_int(st, 7, &d->revoked_at);
    d->has_pending_changes = col_int(st, 8, &d->pending_changes);
    d->has_rejected_changes = col_int(st, 9, &d->rejected_changes);
    d->has_reported_at = col_int(st, 10, &d->reported_at);
}

static void device_row(fss_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_device_item d;

    fss__device_of(st, &d);
    x->device(&d, x->arg);
}

fss_status fss__repo_devices_list(fss_conn *c, const char *const *terr,
                                  fss_device_item_fn fn, void *arg,
                                  fs_error *err)
{
    list_ctx x = {.device = fn, .arg = arg};
    fss_buf sql = {0};

    fss_buf_puts(&sql, "SELECT " FSS_DEVICE_COLS " FROM fss_devices d");
    if (terr) {
        /* The devices of reps who work in one of the territories. */
        fss_buf_puts(&sql, " WHERE d.rep IN (SELECT rt.rep FROM fss_rep_territories rt"
                           " WHERE 1 = 1");
        fss__sql_terr_in(&sql, "rt.territory", terr, 1);
        fss_buf_puts(&sql, ")");
    }
    fss_buf_puts(&sql, " ORDER BY d.created_at, d.id");
    return each_row_terr(c, &sql, NULL, false, 0, terr, 1, device_row, &x, err);
}

void fss__conflict_of(fss_stmt *st, fss_conflict_item *k)
{
    memset(k, 0, sizeof *k);
    k->id = fss_column_int64(st, 0);
    k->created_at = fss_column_int64(st, 1);
    k->entity = col_text(st, 2);
    k->field = col_text(st, 4);
    k->base = fss_column_int(st, 5) ? col_text(st, 6) : NULL;
    k->theirs = col_text(st, 7);
    k->yours = col_text(st, 8);
    k->rule = col_text(st, 13);
    k->yours_won = fss_column_int(st, 14) != 0;
    k->status = col_text(st, 15);
    k->rep = col_text(st, 16);
    k->detail = col_text(st, 17);
    k->anc_entity = col_text(st, 18);
    k->resolved_by = col_text(st, 20);
    k->resolution = col_text(st, 21);
    k->has_row = col_id(st, 3, &k->row);
    k->has_theirs_hlc = col_int(st, 9, &k->theirs_hlc);
    k->has_yours_hlc = col_int(st, 10, &k->yours_hlc);
    k->has_theirs_device = col_id(st, 11, &k->theirs_device);
    k->has_yours_device = col_id(st, 12, &k->yours_device);
    k->has_anc_row = col_id(st, 19, &k->anc_row);
    k->has_resolved_at = col_int(st, 22, &k->resolved_at);
}

static void conflict_row(fss_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_conflict_item k;

    fss__conflict_of(st, &k);
    x->conflict(&k, x->arg);
}

fss_status fss__repo_conflicts_list(fss_conn *c, const char *status,
                                    int64_t limit, const char *const *terr,
                                    fss_conflict_item_fn fn, void *arg,
                                    fs_error *err)
{
    list_ctx x = {.conflict = fn, .arg = arg};
    fss_buf sql = {0};

    fss_buf_puts(&sql, "SELECT " FSS_CONFLICT_COLS " FROM fss_conflicts k"
                       " WHERE (k.status = ?1 OR ?1 IS NULL)");
    if (terr) {
        /* Records of rows under the territories' customers. */
        fss_buf_puts(&sql, " AND ");
        fss__sql_conflict_customer(&sql, "k");
        fss_buf_puts(&sql, " IN (SELECT c.id FROM customer c WHERE 1 = 1");
        fss__sql_terr_in(&sql, "c.territory", terr, 3);
        fss_buf_puts(&sql, ")");
    }
    fss_buf_puts(&sql, " ORDER BY k.id LIMIT ?2");
    return each_row_terr(c, &sql, status, true, limit, terr, 3, conflict_row, &x, err);
}

/* ---- back-office writes and lookups ---- */

/* Runs one statement with up to three text parameters. A constraint
 * violation is FSS_EEXISTS; *changes (optional) gets the rows changed. */
static fss_status exec_text(fss_conn *c, const char *sql, const char *t1,
                            const char *t2, const char *t3, int64_t i4,
                            int *changes, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "prepare");
    if (t1) fss_bind_text(st, 1, t1, -1, FSS_SQL_STATIC);
    if (t2) fss_bind_text(st, 2, t2, -1, FSS_SQL_STATIC);
    if (t3) fss_bind_text(st, 3, t3, -1, FSS_SQL_STATIC);
    if (fss_bind_parameter_count(st) >= 4)
        fss_bind_int64(st, 4, i4);
    r = fss_step(st);
    if (r == FSS_SQL_CONSTRAINT)
        rc = fss__fail(err, FSS_EEXISTS, "%s", fss_errmsg(c->db));
    else if (r != FSS_SQL_DONE && r != FSS_SQL_ROW)
        rc = fss__dbfail(err, c->db, "exec");
    if (changes)
        *changes = fss_changes(c->db);
    fss_finalize(st);
    return rc;
}

static fss_status exists_text(fss_conn *c, const char *sql, const char *t1,
                              bool *yes, fs_error *err)
{
    fss_stmt *st = NULL;
    int r;

    *yes = false;
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "prepare");
    fss_bind_text(st, 1, t1, -1, FSS_SQL_STATIC);
    r = fss_step(st);
    *yes = r == FSS_SQL_ROW;
    fss_finalize(st);
    if (r != FSS_SQL_ROW && r != FSS_SQL_DONE)
        return fss__dbfail(err, c->db, "lookup");
    return FSS_OK;
}

fss_status fss__rep_known(fss_conn *c, const char *rep, fs_error *err)
{
    bool yes;
    fss_status st = exists_text(c, "SELECT 1 FROM fss_reps WHERE uuid = ?1", rep,
                                &yes, err);
    if (st == FSS_OK && !yes)
        st = fss__fail(err, FSS_ENOTFOUND, "no rep %s", rep);
    return st;
}

fss_status fss__territory_known(fss_conn *c, const char *code, fs_error *err)
{
    bool yes;
    fss_status st = exists_text(c, "SELECT 1 FROM fss_territories WHERE code = ?1",
                                code, &yes, err);
    if (st == FSS_OK && !yes)
        st = fss__fail(err, FSS_ENOTFOUND, "no territory \"%s\"", code);
    return st;
}

fss_status fss__repo_rep_add(fss_conn *c, const char *uuid, const char *name,
                             const char *email, int64_t now_ms, fs_error *err)
{
    return exec_text(c, "INSERT INTO fss_reps(uuid, name, email, created_at) "
                        "VALUES(?1, ?2, ?3, ?4)",
                     uuid, name, email, now_ms, NULL, err);
}

fss_status fss__repo_territory_put(fss_conn *c, const char *code,
                                   const char *name, fs_error *err)
{
    return exec_text(c, "INSERT INTO fss_territories(code, name) VALUES(?1, ?2) "
                        "ON CONFLICT(code) DO UPDATE SET name = excluded.name",
                     code, name, NULL, 0, NULL, err);
}

fss_status fss__repo_rep_territory_set(fss_conn *c, const char *rep,
                                       const char *code, bool member,
                                       bool *changed, fs_error *err)
{
    int n = 0;
    fss_status rc = exec_text(
        c, member ? "INSERT INTO fss_rep_territories(rep, territory)"
                    " VALUES(?1, ?2) ON CONFLICT DO NOTHING"
                  : "DELETE FROM fss_rep_territories WHERE rep = ?1 AND"
                    " territory = ?2",
        rep, code, NULL, 0, &n, err);

    *changed = rc == FSS_OK && n > 0;
    return rc;
}

fss_status fss__repo_territory_customers(fss_conn *c, const char *code,
                                         fs_id **ids, size_t *n, fs_error *err)
{
    fss_stmt *st = NULL;
    size_t cap = 0;
    int r;

    *ids = NULL;
    *n = 0;
    if (fss_prepare(c->db, "SELECT id FROM customer WHERE territory = ?1"
                                  " AND deleted = 0", -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "territory customers");
    fss_bind_text(st, 1, code, -1, FSS_SQL_STATIC);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        if (fss_column_bytes(st, 0) != 16)
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            void *p = realloc(*ids, nc * sizeof **ids);
            if (!p) {
                fss_finalize(st);
                return fss__fail(err, FSS_ENOMEM, "territory customers");
            }
            *ids = p;
            cap = nc;
        }
        memcpy((*ids)[(*n)++].b, fss_column_blob(st, 0), 16);
    }
    fss_finalize(st);
    return r == FSS_SQL_DONE ? FSS_OK : fss__dbfail(err, c->db, "territory customers");
}

fss_status fss__repo_device_revoke(fss_conn *c, const fs_id *device,
                                   int64_t now_ms, bool *found, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    *found = false;
    if (fss_prepare(c->db,
                           "UPDATE fss_devices SET revoked = 1, revoked_at ="
                           " coalesce(revoked_at, ?2) WHERE id = ?1", -1, &st,
                           NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "revoke");
        goto done;
    }
    fss_bind_blob(st, 1, device->b, 16, FSS_SQL_STATIC);
    fss_bind_int64(st, 2, now_ms);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "revoke");
    else
        *found = fss_changes(c->db) != 0;
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_conflict_get(fss_conn *c, int64_t id,
                                  fss_conflict_item_fn fn, void *arg,
                                  bool *found, fs_error *err)
{
    list_ctx x = {.conflict = fn, .arg = arg};
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    *found = false;
    if (fss_prepare(c->db,
                           "SELECT id, created_at, entity, row, field, has_base,"
                           " base, theirs, yours, theirs_hlc, yours_hlc,"
                           " theirs_device, yours_device, rule, yours_won, status,"
                           " rep, detail, anc_entity, anc_row, resolved_by,"
                           " resolution, resolved_at FROM fss_conflicts"
                           " WHERE id = ?1", -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "conflict");
        goto done;
    }
    fss_bind_int64(st, 1, id);
    r = fss_step(st);
    if (r == FSS_SQL_ROW) {
        *found = true;
        conflict_row(st, &x);
    } else if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "conflict");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_conflict_resolve(fss_conn *c, int64_t id, const char *by,
                                      const char *resolution, int64_t now_ms,
                                      fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    if (fss_prepare(c->db,
                           "UPDATE fss_conflicts SET status = 'resolved',"
                           " resolved_by = ?2, resolution = ?3, resolved_at = ?4"
                           " WHERE id = ?1", -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "resolve");
        goto done;
    }
    fss_bind_int64(st, 1, id);
    fss_bind_text(st, 2, by, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 3, resolution, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 4, now_ms);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "resolve");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_conflicts_resolve_hidden(fss_conn *c, const fs_id *hider,
                                              int64_t del_hlc, const char *by,
                                              const char *resolution,
                                              int64_t now_ms, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    if (fss_prepare(c->db,
                           "UPDATE fss_conflicts SET status = 'resolved',"
                           " resolved_by = ?3, resolution = ?4, resolved_at = ?5"
                           " WHERE status = 'open' AND rule = 'delete_wins' AND"
                           " yours_won = 0 AND theirs_hlc = ?2 AND (anc_row = ?1 OR"
                           " (anc_row IS NULL AND row = ?1))", -1, &st,
                           NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "resolve siblings");
    fss_bind_blob(st, 1, hider->b, 16, FSS_SQL_STATIC);
    fss_bind_int64(st, 2, del_hlc);
    fss_bind_text(st, 3, by, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 4, resolution, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 5, now_ms);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "resolve siblings");
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_export(fss_conn *c, fss_export_filter_fn filter,
                            void *filter_arg, fss_export_write_fn write,
                            void *write_arg, fs_error *err)
{
    fs_error serr = {0};

    if (fs_store_export(c->store, filter, filter_arg, write, write_arg, &serr) !=
        FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "export: %s", serr.text);
    return FSS_OK;
}

/* ---- naming rows for people (fss_admin_find) ---- */

#define FIND_MAX "20" /* FSS_FIND_MAX */
/* Ids come back as 16-byte blobs (reps: their uuid text); encode(id, 'hex')
 * (PostgreSQL's, and the SQLite driver's own function of that name) gives
 * their lowercase hex digits to compare with the typed ones. */
static const char *const find_sql[] = {
    [FSS_REF_REP] =
        "SELECT uuid, name || coalesce(' <' || email || '>', ''), r FROM ("
        " SELECT uuid, name, email, CASE"
        "  WHEN replace(uuid, '-', '') = ?3 THEN 0"
        "  WHEN lower(email) = lower(?1) THEN 1"
        "  WHEN lower(name) = lower(?1) THEN 2"
        "  WHEN ?2 = 1 AND replace(uuid, '-', '') LIKE '%' || ?1 THEN 3 END AS r"
        " FROM fss_reps) x WHERE r IS NOT NULL ORDER BY r, name, uuid LIMIT " FIND_MAX "",
    [FSS_REF_CUSTOMER] =
        "SELECT id, coalesce(name, ''), r FROM ("
        " SELECT id, name, CASE"
        "  WHEN encode(id, 'hex') = ?3 THEN 0"
        "  WHEN deleted = 0 AND lower(name) = lower(?1) THEN 2"
        "  WHEN deleted = 0 AND ?2 = 1 AND encode(id, 'hex') LIKE '%' || ?1 THEN 3 END AS r"
        " FROM customer) x WHERE r IS NOT NULL ORDER BY r, name NULLS FIRST, id LIMIT " FIND_MAX "",
    [FSS_REF_DEVICE] =
        "SELECT id, coalesce(name, '') || ' (rep ' ||"
        " coalesce((SELECT name FROM fss_reps WHERE uuid = d.rep), d.rep) || ')', r"
        " FROM (SELECT id, name, rep, CASE"
        "  WHEN encode(id, 'hex') = ?3 THEN 0"
        "  WHEN ?2 = 1 AND encode(id, 'hex') LIKE '%' || ?1 THEN 3 END AS r"
        " FROM fss_devices) d WHERE r IS NOT NULL ORDER BY r, id LIMIT " FIND_MAX "",
    [FSS_REF_QUOTE] =
        "SELECT q.id, 'quote for ' || coalesce((SELECT name FROM"
        " customer c WHERE c.id = q.customer_id), '?'), r FROM (SELECT id,"
        " customer_id, CASE"
        "  WHEN encode(id, 'hex') = ?3 THEN 0"
        "  WHEN deleted = 0 AND ?2 = 1 AND encode(id, 'hex') LIKE '%' || ?1 THEN 3 END AS r"
        " FROM quote) q WHERE r IS NOT NULL ORDER BY r, id LIMIT " FIND_MAX "",
};

fss_status fss__repo_find(fss_conn *c, fss_ref_kind kind, const char *text,
                          bool short_id, const char *hex, fss_find_item_fn fn,
                          void *arg, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    char uuid[FS_ID_STRLEN + 1];
    int r;

    if ((unsigned)kind >= sizeof find_sql / sizeof find_sql[0])
        return fss__fail(err, FSS_EINVAL, "find: unknown kind");
    if (fss_prepare(c->db, find_sql[kind], -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "find");
    fss_bind_text(st, 1, text, -1, FSS_SQL_STATIC);
    fss_bind_int(st, 2, short_id);
    fss_bind_text(st, 3, hex, -1, FSS_SQL_STATIC);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_find_item f;
        fs_id id;
        if (col_id(st, 0, &id)) {
            fs_id_format(&id, uuid);
            f.id = uuid;
        } else {
            f.id = col_text(st, 0) ? col_text(st, 0) : "";
        }
        f.label = col_text(st, 1) ? col_text(st, 1) : "";
        f.rank = fss_column_int(st, 2);
        fn(&f, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "find");
    fss_finalize(st);
    return rc;
}
