/*
 * fss_sqlite_admin.c - the SQLite repository for the back office's lists
 * (reps, territories, devices, conflict records; fss_repo.h). Queries
 * return plain rows through a callback; fss_admin.c turns them into JSON,
 * so the SQL stays portable (no json_*, hex or date functions) and a second
 * backend only has to produce the same rows in the same order.
 */
#include "fss_sqlite.h"

#include <string.h>

static const char *col_text(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? NULL : (const char *)sqlite3_column_text(st, i);
}

static bool col_int(sqlite3_stmt *st, int i, int64_t *out)
{
    *out = sqlite3_column_int64(st, i);
    return sqlite3_column_type(st, i) != SQLITE_NULL;
}

static bool col_id(sqlite3_stmt *st, int i, fs_id *out)
{
    memset(out, 0, sizeof *out);
    if (sqlite3_column_type(st, i) == SQLITE_NULL ||
        sqlite3_column_bytes(st, i) != 16)
        return false;
    memcpy(out->b, sqlite3_column_blob(st, i), 16);
    return true;
}

/* Prepares sql, lets bind set parameters, calls row for every result row. */
typedef void (*row_fn)(sqlite3_stmt *st, void *ctx);
static fss_status each_row(fss_conn *c, const char *sql, const char *t1,
                           int64_t i2, row_fn row, void *ctx, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = fss__dbfail(err, c->db, "query");
        goto done;
    }
    if (sqlite3_bind_parameter_count(st) >= 1 && t1)
        sqlite3_bind_text(st, 1, t1, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, i2);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        row(st, ctx);
    if (r != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "query");
done:
    sqlite3_finalize(st);
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
    sqlite3_stmt *st = NULL;
    fss_status rc = FSS_OK;

    *out = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM fss_reps", -1, &st,
                           NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        rc = fss__dbfail(err, c->db, "count reps");
    else
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

static void rep_row(sqlite3_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_rep_item r = {
        .id = col_text(st, 0), .name = col_text(st, 1),
        .email = col_text(st, 2), .devices = sqlite3_column_int64(st, 3),
        .territory = col_text(st, 4),
    };
    x->rep(&r, x->arg);
}

fss_status fss__repo_reps_list(fss_conn *c, fss_rep_item_fn fn, void *arg,
                               fs_error *err)
{
    list_ctx x = {.rep = fn, .arg = arg};

    return each_row(
        c,
        "SELECT r.uuid, r.name, r.email, (SELECT count(*) FROM fss_devices d"
        " WHERE d.rep = r.uuid AND d.revoked = 0), rt.territory"
        " FROM fss_reps r LEFT JOIN fss_rep_territories rt ON rt.rep = r.uuid"
        " ORDER BY r.name, r.uuid, rt.territory",
        NULL, 0, rep_row, &x, err);
}

static void territory_row(sqlite3_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_territory_item t = {
        .code = col_text(st, 0), .name = col_text(st, 1),
        .customers = sqlite3_column_int64(st, 2), .rep = col_text(st, 3),
    };
    x->territory(&t, x->arg);
}

fss_status fss__repo_territories_list(fss_conn *c, fss_territory_item_fn fn,
                                      void *arg, fs_error *err)
{
    list_ctx x = {.territory = fn, .arg = arg};

    /* Reps of a territory in assignment order (the rowid), as the list has
     * always shown them. */
    return each_row(
        c,
        "SELECT t.code, t.name, (SELECT count(*) FROM customer c"
        " WHERE c.territory = t.code AND c.deleted = 0), rt.rep"
        " FROM fss_territories t LEFT JOIN fss_rep_territories rt"
        " ON rt.territory = t.code ORDER BY t.code, rt.rowid",
        NULL, 0, territory_row, &x, err);
}

static void device_row(sqlite3_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_device_item d = {
        .rep = col_text(st, 1), .rep_name = col_text(st, 2),
        .name = col_text(st, 3), .created_at = sqlite3_column_int64(st, 4),
        .revoked = sqlite3_column_int(st, 6) != 0,
    };

    (void)col_id(st, 0, &d.id);
    d.has_last_seen = col_int(st, 5, &d.last_seen);
    d.has_revoked_at = col_int(st, 7, &d.revoked_at);
    x->device(&d, x->arg);
}

fss_status fss__repo_devices_list(fss_conn *c, fss_device_item_fn fn,
                                  void *arg, fs_error *err)
{
    list_ctx x = {.device = fn, .arg = arg};

    return each_row(
        c,
        "SELECT d.id, d.rep, (SELECT name FROM fss_reps WHERE uuid = d.rep),"
        " d.name, d.created_at, d.last_seen, d.revoked, d.revoked_at"
        " FROM fss_devices d ORDER BY d.created_at, d.id",
        NULL, 0, device_row, &x, err);
}

static void conflict_row(sqlite3_stmt *st, void *ctx)
{
    list_ctx *x = ctx;
    fss_conflict_item k = {
        .id = sqlite3_column_int64(st, 0),
        .created_at = sqlite3_column_int64(st, 1),
        .entity = col_text(st, 2), .field = col_text(st, 4),
        .base = sqlite3_column_int(st, 5) ? col_text(st, 6) : NULL,
        .theirs = col_text(st, 7), .yours = col_text(st, 8),
        .rule = col_text(st, 13),
        .yours_won = sqlite3_column_int(st, 14) != 0,
        .status = col_text(st, 15), .rep = col_text(st, 16),
        .detail = col_text(st, 17), .anc_entity = col_text(st, 18),
        .resolved_by = col_text(st, 20), .resolution = col_text(st, 21),
    };

    k.has_row = col_id(st, 3, &k.row);
    k.has_theirs_hlc = col_int(st, 9, &k.theirs_hlc);
    k.has_yours_hlc = col_int(st, 10, &k.yours_hlc);
    k.has_theirs_device = col_id(st, 11, &k.theirs_device);
    k.has_yours_device = col_id(st, 12, &k.yours_device);
    k.has_anc_row = col_id(st, 19, &k.anc_row);
    k.has_resolved_at = col_int(st, 22, &k.resolved_at);
    x->conflict(&k, x->arg);
}

fss_status fss__repo_conflicts_list(fss_conn *c, const char *status,
                                    int64_t limit, fss_conflict_item_fn fn,
                                    void *arg, fs_error *err)
{
    list_ctx x = {.conflict = fn, .arg = arg};

    return each_row(
        c,
        "SELECT id, created_at, entity, row, field, has_base, base, theirs,"
        " yours, theirs_hlc, yours_hlc, theirs_device, yours_device, rule,"
        " yours_won, status, rep, detail, anc_entity, anc_row, resolved_by,"
        " resolution, resolved_at FROM fss_conflicts"
        " WHERE (?1 IS NULL OR status = ?1) ORDER BY id LIMIT ?2",
        status, limit, conflict_row, &x, err);
}
