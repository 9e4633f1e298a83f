/*
 * fss_repo_console.c - the repository (over the SQL driver, fss_sql.h) for
 * the back office's own
 * people (console, issue #15): accounts and their territories, login
 * sessions, failed-login counts per account name, and the audit log
 * (fss_repo.h). Rules - hashing, expiry, limits, roles - stay in
 * fss_account.c; this file only reads and writes rows, in SQL that runs
 * unchanged on PostgreSQL.
 */
#include "fss_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *col_text(fss_stmt *st, int i)
{
    return fss_column_type(st, i) == FSS_SQL_NULL
               ? NULL : (const char *)fss_column_text(st, i);
}

static fss_status prep(fss_conn *c, const char *sql, fss_stmt **st,
                       fs_error *err)
{
    if (fss_prepare(c->db, sql, -1, st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "accounts");
    return FSS_OK;
}

/* Steps a statement that returns no rows. */
static fss_status run(fss_conn *c, fss_stmt *st, fs_error *err)
{
    if (fss_step(st) != FSS_SQL_DONE)
        return fss__dbfail(err, c->db, "accounts");
    return FSS_OK;
}

fss_status fss__repo_user_add(fss_conn *c, const char *name, const char *role,
                              const char *pw_hash, int64_t now_ms,
                              int64_t *id_out, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "INSERT INTO fss_users(name, role, pw_hash, disabled, created_at)"
                 " VALUES(?1, ?2, ?3, 0, ?4) ON CONFLICT(name) DO NOTHING RETURNING id",
              &st, err);
    if (rc != FSS_OK)
        goto done;
    fss_bind_text(st, 1, name, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 2, role, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 3, pw_hash, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 4, now_ms);
    /* RETURNING gives the new id; no row: the name is taken. */
    if ((r = fss_step(st)) == FSS_SQL_DONE) {
        rc = fss__fail(err, FSS_EEXISTS, "a user named %s already exists", name);
        goto done;
    }
    if (r != FSS_SQL_ROW) {
        rc = fss__dbfail(err, c->db, "user");
        goto done;
    }
    *id_out = fss_column_int64(st, 0);
done:
    fss_finalize(st);
    return rc;
}

static void user_of(fss_stmt *st, int at, fss_user_row *out)
{
    out->id = fss_column_int64(st, at);
    snprintf(out->name, sizeof out->name, "%s", (const char *)fss_column_text(st, at + 1));
    snprintf(out->role, sizeof out->role, "%s", (const char *)fss_column_text(st, at + 2));
    snprintf(out->pw_hash, sizeof out->pw_hash, "%s",
             (const char *)fss_column_text(st, at + 3));
    out->disabled = fss_column_int(st, at + 4) != 0;
    out->created_at = fss_column_int64(st, at + 5);
}

#define USER_COLS "u.id, u.name, u.role, u.pw_hash, u.disabled, u.created_at"

fss_status fss__repo_user_get(fss_conn *c, const char *name, fss_user_row *out,
                              bool *found, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;
    int r;

    memset(out, 0, sizeof *out);
    *found = false;
    rc = prep(c, "SELECT " USER_COLS " FROM fss_users u WHERE u.name = ?1", &st, err);
    if (rc != FSS_OK)
        goto done;
    fss_bind_text(st, 1, name, -1, FSS_SQL_STATIC);
    r = fss_step(st);
    if (r == FSS_SQL_ROW) {
        user_of(st, 0, out);
        *found = true;
    } else if (r != FSS_SQL_DONE) {
        rc = fss__dbfail(err, c->db, "user");
    }
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_user_territory_add(fss_conn *c, int64_t user,
                                        const char *code, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;

    rc = prep(c, "INSERT INTO fss_user_territories(user_id, territory) VALUES(?1, ?2)"
                 " ON CONFLICT(user_id, territory) DO NOTHING", &st, err);
    if (rc == FSS_OK) {
        fss_bind_int64(st, 1, user);
        fss_bind_text(st, 2, code, -1, FSS_SQL_STATIC);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_user_territories(fss_conn *c, int64_t user, fss_text_fn fn,
                                      void *arg, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "SELECT territory FROM fss_user_territories WHERE user_id = ?1"
                 " ORDER BY territory", &st, err);
    if (rc != FSS_OK)
        goto done;
    fss_bind_int64(st, 1, user);
    while ((r = fss_step(st)) == FSS_SQL_ROW)
        if ((rc = fn((const char *)fss_column_text(st, 0), arg, err)) != FSS_OK)
            goto done;
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "user territories");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_users_list(fss_conn *c, fss_user_item_fn fn, void *arg,
                                fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "SELECT u.name, u.role, u.disabled, u.created_at, t.territory"
                 " FROM fss_users u LEFT JOIN fss_user_territories t"
                 " ON t.user_id = u.id ORDER BY u.name, t.territory", &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_user_item u = {
            .name = col_text(st, 0), .role = col_text(st, 1),
            .disabled = fss_column_int(st, 2) != 0,
            .created_at = fss_column_int64(st, 3), .territory = col_text(st, 4)};
        fn(&u, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "users");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_user_set_disabled(fss_conn *c, int64_t user, bool disabled,
                                       fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_users SET disabled = ?1 WHERE id = ?2", &st, err);

    if (rc == FSS_OK) {
        fss_bind_int(st, 1, disabled ? 1 : 0);
        fss_bind_int64(st, 2, user);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_user_set_password(fss_conn *c, int64_t user,
                                       const char *pw_hash, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_users SET pw_hash = ?1 WHERE id = ?2", &st, err);

    if (rc == FSS_OK) {
        fss_bind_text(st, 1, pw_hash, -1, FSS_SQL_STATIC);
        fss_bind_int64(st, 2, user);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_territory_exists(fss_conn *c, const char *code, bool *found,
                                      fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "SELECT 1 FROM fss_territories WHERE code = ?1", &st, err);
    int r;

    *found = false;
    if (rc == FSS_OK) {
        fss_bind_text(st, 1, code, -1, FSS_SQL_STATIC);
        r = fss_step(st);
        if (r == FSS_SQL_ROW)
            *found = true;
        else if (r != FSS_SQL_DONE)
            rc = fss__dbfail(err, c->db, "territory");
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_session_add(fss_conn *c, const uint8_t id_hash[32],
                                 int64_t user, const char *csrf, int64_t now_ms,
                                 int64_t expires_ms, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "INSERT INTO fss_sessions(id_hash, user_id, csrf, created_at,"
                            " expires_at, revoked) VALUES(?1, ?2, ?3, ?4, ?5, 0)",
                         &st, err);

    if (rc == FSS_OK) {
        fss_bind_blob(st, 1, id_hash, 32, FSS_SQL_STATIC);
        fss_bind_int64(st, 2, user);
        fss_bind_text(st, 3, csrf, -1, FSS_SQL_STATIC);
        fss_bind_int64(st, 4, now_ms);
        fss_bind_int64(st, 5, expires_ms);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_session_get(fss_conn *c, const uint8_t id_hash[32],
                                 int64_t now_ms, fss_user_row *user,
                                 char csrf[FSS_CSRF_LEN + 1], int64_t *expires_ms,
                                 bool *found, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;
    int r;

    memset(user, 0, sizeof *user);
    *found = false;
    rc = prep(c, "SELECT s.csrf, s.expires_at, " USER_COLS
                 " FROM fss_sessions s JOIN fss_users u ON u.id = s.user_id"
                 " WHERE s.id_hash = ?1 AND s.revoked = 0 AND s.expires_at > ?2"
                 " AND u.disabled = 0", &st, err);
    if (rc != FSS_OK)
        goto done;
    fss_bind_blob(st, 1, id_hash, 32, FSS_SQL_STATIC);
    fss_bind_int64(st, 2, now_ms);
    r = fss_step(st);
    if (r == FSS_SQL_ROW) {
        snprintf(csrf, FSS_CSRF_LEN + 1, "%s", (const char *)fss_column_text(st, 0));
        *expires_ms = fss_column_int64(st, 1);
        user_of(st, 2, user);
        *found = true;
    } else if (r != FSS_SQL_DONE) {
        rc = fss__dbfail(err, c->db, "session");
    }
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_session_revoke(fss_conn *c, const uint8_t id_hash[32],
                                    fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_sessions SET revoked = 1 WHERE id_hash = ?1",
                         &st, err);

    if (rc == FSS_OK) {
        fss_bind_blob(st, 1, id_hash, 32, FSS_SQL_STATIC);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_sessions_revoke_user(fss_conn *c, int64_t user,
                                          fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_sessions SET revoked = 1 WHERE user_id = ?1",
                         &st, err);

    if (rc == FSS_OK) {
        fss_bind_int64(st, 1, user);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_login_fails(fss_conn *c, const char *name, int64_t since_ms,
                                 int64_t *fails, int64_t *window_start,
                                 fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "SELECT fails, window_start FROM fss_login_fails"
                            " WHERE name = ?1 AND window_start >= ?2", &st, err);
    int r;

    *fails = 0;
    *window_start = 0;
    if (rc == FSS_OK) {
        fss_bind_text(st, 1, name, -1, FSS_SQL_STATIC);
        fss_bind_int64(st, 2, since_ms);
        r = fss_step(st);
        if (r == FSS_SQL_ROW) {
            *fails = fss_column_int64(st, 0);
            *window_start = fss_column_int64(st, 1);
        } else if (r != FSS_SQL_DONE) {
            rc = fss__dbfail(err, c->db, "login failures");
        }
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_login_fail_add(fss_conn *c, const char *name,
                                    int64_t since_ms, int64_t now_ms,
                                    fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;

    /* A window that began before since_ms has ended: the count restarts. */
    rc = prep(c, "INSERT INTO fss_login_fails(name, window_start, fails)"
                 " VALUES(?1, ?3, 1) ON CONFLICT(name) DO UPDATE SET"
                 " fails = CASE WHEN fss_login_fails.window_start >= ?2"
                 " THEN fss_login_fails.fails + 1 ELSE 1 END,"
                 " window_start = CASE WHEN fss_login_fails.window_start >= ?2"
                 " THEN fss_login_fails.window_start ELSE ?3 END", &st, err);
    if (rc != FSS_OK)
        goto done;
    fss_bind_text(st, 1, name, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 2, since_ms);
    fss_bind_int64(st, 3, now_ms);
    if ((rc = run(c, st, err)) != FSS_OK)
        goto done;
    fss_finalize(st);
    st = NULL;
    /* Names guessed once are not kept forever. */
    rc = prep(c, "DELETE FROM fss_login_fails WHERE window_start < ?1", &st, err);
    if (rc == FSS_OK) {
        fss_bind_int64(st, 1, since_ms);
        rc = run(c, st, err);
    }
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_login_fails_clear(fss_conn *c, const char *name,
                                       fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "DELETE FROM fss_login_fails WHERE name = ?1", &st, err);

    if (rc == FSS_OK) {
        fss_bind_text(st, 1, name, -1, FSS_SQL_STATIC);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_audit_add(fss_conn *c, const fss_audit_item *a,
                               fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = prep(c, "INSERT INTO fss_audit(at, actor, action, target, status,"
                            " remote) VALUES(?1, ?2, ?3, ?4, ?5, ?6)", &st, err);

    if (rc == FSS_OK) {
        fss_bind_int64(st, 1, a->at);
        fss_bind_text(st, 2, a->actor, -1, FSS_SQL_STATIC);
        fss_bind_text(st, 3, a->action, -1, FSS_SQL_STATIC);
        fss_bind_text(st, 4, a->target, -1, FSS_SQL_STATIC);
        fss_bind_int64(st, 5, a->status);
        fss_bind_text(st, 6, a->remote, -1, FSS_SQL_STATIC);
        rc = run(c, st, err);
    }
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_audit_list(fss_conn *c, int64_t before_id, int64_t limit,
                                fss_audit_item_fn fn, void *arg, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "SELECT id, at, actor, action, target, status, remote FROM fss_audit"
                 " WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2", &st, err);
    if (rc != FSS_OK)
        goto done;
    fss_bind_int64(st, 1, before_id);
    fss_bind_int64(st, 2, limit);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_audit_item a = {
            .id = fss_column_int64(st, 0), .at = fss_column_int64(st, 1),
            .actor = col_text(st, 2), .action = col_text(st, 3),
            .target = col_text(st, 4), .status = fss_column_int64(st, 5),
            .remote = col_text(st, 6)};
        fn(&a, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "audit log");
done:
    fss_finalize(st);
    return rc;
}

/* ---- territory restrictions (fss__actor_territories) in SQL ---- */

void fss__sql_terr_in(fss_buf *sql, const char *col, const char *const *terr,
                      int first)
{
    size_t n = 0;

    if (!terr)
        return;
    while (terr[n])
        n++;
    if (n == 0) {
        fss_buf_puts(sql, " AND 0 = 1"); /* bound to no territory: nothing */
        return;
    }
    fss_buf_printf(sql, " AND %s IN (", col);
    for (size_t i = 0; i < n; i++)
        fss_buf_printf(sql, "%s?%d", i ? ", " : "", first + (int)i);
    fss_buf_puts(sql, ")");
}

int fss__sql_terr_bind(fss_stmt *st, const char *const *terr, int first)
{
    int i = 0;

    for (; terr && terr[i]; i++)
        fss_bind_text(st, first + i, terr[i], -1, FSS_SQL_STATIC);
    return first + i;
}

void fss__sql_conflict_customer(fss_buf *sql, const char *alias)
{
    size_t n = 0;
    const fs_entity *const *ents = fs_schema_entities(&n);

    /* The customer a conflict record's row hangs off: the row itself for a
     * customer, its stored root otherwise (NULL for reference data and
     * rows never stored: such records are an admin's only). */
    fss_buf_printf(sql, "(CASE %s.entity", alias);
    for (size_t i = 0; i < n; i++) {
        if (!fss__scoped_entity(ents[i]))
            continue;
        if (strcmp(ents[i]->name, "customer") == 0)
            fss_buf_printf(sql, " WHEN 'customer' THEN %s.row", alias);
        else
            fss_buf_printf(sql, " WHEN '%s' THEN (SELECT x.root FROM %s x WHERE x.id = %s.row)",
                           ents[i]->name, ents[i]->name, alias);
    }
    fss_buf_puts(sql, " END)");
}

/* Runs sql (params: ?1 = the id as bound by bind_id, then the territory
 * list from ?2) and says whether it returned a row. */
static fss_status in_terr(fss_conn *c, fss_buf *sql, const void *blob, int blob_len,
                          int64_t num, const char *const *terr, bool *in,
                          fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    *in = false;
    if (sql->oom)
        return fss__fail(err, FSS_ENOMEM, "query");
    if (fss_prepare(c->db, sql->data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "territory check");
        goto done;
    }
    if (blob && blob_len < 0)
        fss_bind_text(st, 1, blob, -1, FSS_SQL_STATIC);
    else if (blob)
        fss_bind_blob(st, 1, blob, blob_len, FSS_SQL_STATIC);
    else
        fss_bind_int64(st, 1, num);
    fss__sql_terr_bind(st, terr, 2);
    r = fss_step(st);
    if (r == FSS_SQL_ROW)
        *in = true;
    else if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "territory check");
done:
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_row_in_territories(fss_conn *c, const fs_entity *e,
                                        const fs_id *id,
                                        const char *const *terr, bool *in,
                                        fs_error *err)
{
    fss_buf sql = {0};
    fss_status rc;

    *in = true;
    if (!terr)
        return FSS_OK;
    *in = false;
    if (!fss__scoped_entity(e))
        return FSS_OK;
    if (strcmp(e->name, "customer") == 0)
        fss_buf_puts(&sql, "SELECT 1 FROM customer k WHERE k.id = ?1");
    else
        fss_buf_printf(&sql, "SELECT 1 FROM %s x JOIN customer k ON k.id = x.root"
                             " WHERE x.id = ?1", e->name);
    fss__sql_terr_in(&sql, "k.territory", terr, 2);
    rc = in_terr(c, &sql, id->b, 16, 0, terr, in, err);
    fss_buf_free(&sql);
    return rc;
}

fss_status fss__repo_device_in_territories(fss_conn *c, const fs_id *device,
                                           const char *const *terr, bool *in,
                                           fs_error *err)
{
    fss_buf sql = {0};
    fss_status rc;

    *in = true;
    if (!terr)
        return FSS_OK;
    fss_buf_puts(&sql, "SELECT 1 FROM fss_devices d JOIN fss_rep_territories rt"
                       " ON rt.rep = d.rep WHERE d.id = ?1");
    fss__sql_terr_in(&sql, "rt.territory", terr, 2);
    rc = in_terr(c, &sql, device->b, 16, 0, terr, in, err);
    fss_buf_free(&sql);
    return rc;
}

fss_status fss__repo_conflict_in_territories(fss_conn *c, int64_t id,
                                             const char *const *terr, bool *in,
                                             fs_error *err)
{
    fss_buf sql = {0};
    fss_status rc;

    *in = true;
    if (!terr)
        return FSS_OK;
    fss_buf_puts(&sql, "SELECT 1 FROM fss_conflicts k JOIN customer c ON c.id = ");
    fss__sql_conflict_customer(&sql, "k");
    fss_buf_puts(&sql, " WHERE k.id = ?1");
    fss__sql_terr_in(&sql, "c.territory", terr, 2);
    rc = in_terr(c, &sql, NULL, 0, id, terr, in, err);
    fss_buf_free(&sql);
    return rc;
}

fss_status fss__repo_rep_in_territories(fss_conn *c, const char *rep,
                                        const char *const *terr, bool *in,
                                        fs_error *err)
{
    fss_buf sql = {0};
    fss_status rc;

    *in = true;
    if (!terr)
        return FSS_OK;
    fss_buf_puts(&sql, "SELECT 1 FROM fss_rep_territories rt WHERE rt.rep = ?1");
    fss__sql_terr_in(&sql, "rt.territory", terr, 2);
    rc = in_terr(c, &sql, rep, -1, 0, terr, in, err);
    fss_buf_free(&sql);
    return rc;
}

/* Runs the list's page query, calling `row` per result row; keeps nothing. */
#define LQ_ROWS(c, q, sel, order, desc, tie, qq, row, ctx, err)                       \
    fss__lq_rows(c, q, sel, order, desc, tie, (qq)->limit, (qq)->offset, row, ctx, err)

/* The caller's callback (one per list) and its argument, for the row
 * converters below. */
typedef struct each {
    fss_customer_item_fn customer;
    fss_visit_row_fn visit;
    fss_quote_row_fn quote;
    fss_device_item_fn device;
    fss_conflict_item_fn conflict;
    void *arg;
} each;

/* ---- the console's customers list ---- */

static void customer_of(fss_stmt *st, void *ctx)
{
    const each *e = ctx;
    fss_customer_item it = {
        .name = col_text(st, 1), .address = col_text(st, 2), .phone = col_text(st, 3),
        .segment = col_text(st, 4), .territory = col_text(st, 5),
        .owner = col_text(st, 6), .owner_name = col_text(st, 7),
        .has_lat = fss_column_type(st, 8) != FSS_SQL_NULL,
        .lat = fss_column_double(st, 8),
        .has_lon = fss_column_type(st, 9) != FSS_SQL_NULL,
        .lon = fss_column_double(st, 9)};

    if (fss_column_bytes(st, 0) != 16)
        return; /* not a row id: cannot be named */
    memcpy(it.id.b, fss_column_blob(st, 0), 16);
    e->customer(&it, e->arg);
}

/* The three shapes of a text search (SQLite plans each as written;
 * PostgreSQL plans them as the same semi-join):
 * COUNT: the folded texts drive, each match's customer checked by a
 *   correlated EXISTS - a common text's capped count stops after the cap
 *   (a join would have SQLite build a Bloom filter over every customer
 *   first);
 * RARE: the customers whose id is among the matching texts (one pass over
 *   the narrow table), then sorted;
 * COMMON: the customers in the page's order (the name index), each one's
 *   text probed by id, stopping after the page. */
typedef enum search_shape { COUNT, RARE, COMMON } search_shape;

/* The customers matching q in terr; like: the folded text's pattern (NULL:
 * no text search) in the customer's one folded text (fss_repo_search.c). */
static void customers_lq(fss_lq *l, const fss_customer_query *q, const char *const *terr,
                         const char *like, search_shape shape)
{
    if (like && shape == COUNT)
        fss__lq_init(l, "customers", " FROM fss_search s WHERE EXISTS (SELECT 1"
                                     " FROM customer c WHERE c.id = s.id AND c.deleted = 0");
    else if (like && shape == COMMON)
        fss__lq_init(l, "customers", " FROM customer c CROSS JOIN fss_search s"
                                     " WHERE s.id = c.id AND c.deleted = 0");
    else
        fss__lq_init(l, "customers", " FROM customer c WHERE c.deleted = 0");
    fss__lq_text(l, " AND c.territory = ?", q->territory);
    fss__lq_text(l, " AND c.owner_rep = ?", q->owner);
    fss__lq_text(l, " AND c.segment = ?", q->segment);
    fss__lq_terr(l, "c.territory", terr);
    if (like && shape == COUNT)
        fss__lq_raw(l, ")");
    if (like && shape == RARE)
        fss__lq_text(l, " AND c.id IN (SELECT s.id FROM fss_search s"
                        " WHERE s.folded LIKE ? ESCAPE '\\')", like);
    else
        fss__lq_text(l, " AND s.folded LIKE ? ESCAPE '\\'", like);
}

fss_status fss__repo_customers_list(fss_conn *c, const fss_customer_query *q,
                                    const char *const *terr, int64_t *total,
                                    fss_customer_item_fn fn, void *arg,
                                    fs_error *err)
{
    static const fss_lq_sort sorts[] = {
        {"name", "c.name"}, {"territory", "c.territory"}, {"segment", "c.segment"}};
    const char *col;
    each e = {.customer = fn, .arg = arg};
    char *like = NULL;
    fss_lq l;
    bool desc;
    fss_status rc;

    *total = 0;
    col = fss__lq_sort(sorts, sizeof sorts / sizeof sorts[0], q->sort ? q->sort : "name",
                       &desc);
    if (!col)
        return fss__fail(err, FSS_EINVAL, "sort must be name, territory or segment "
                                          "(\"-\" before it: descending)");
    if (q->text && !(like = fss__search_pattern(q->text)))
        return fss__fail(err, FSS_ENOMEM, "customers");
    customers_lq(&l, q, terr, like, COUNT);
    /* The count (up to the cap), then the page. A text search that
     * matches fewer than the cap is sorted after one pass over the texts
     * (`col || ''`: the same order, but no index's); a common one is read
     * off the name index, stopping after the page. */
    if ((rc = fss__lq_count(c, &l, q->count_cap, total, err)) == FSS_OK) {
        char order[48];
        bool rare = q->text && !(q->count_cap > 0 && *total >= q->count_cap);
        snprintf(order, sizeof order, rare ? "%s || ''" : "%s", col);
        fss__lq_free(&l);
        customers_lq(&l, q, terr, like, rare ? RARE : COMMON);
        rc = LQ_ROWS(c, &l, "c.id, c.name, c.address, c.phone, c.segment, c.territory,"
                            " c.owner_rep, (SELECT r.name FROM fss_reps r WHERE r.uuid ="
                            " c.owner_rep), c.lat, c.lon",
                     order, desc, "c.id", q, customer_of, &e, err);
    }
    fss__lq_free(&l);
    free(like);
    return rc;
}

/* ---- the Today numbers ---- */

/* " AND <rep column> IN (the reps of terr)" (nothing for NULL). */
static void reps_in_terr(fss_lq *l, const char *rep_col, const char *const *terr)
{
    if (!terr)
        return;
    fss_buf_printf(&l->sql, " AND %s IN (SELECT rt.rep FROM fss_rep_territories rt"
                            " WHERE 1 = 1", rep_col);
    fss__lq_terr(l, "rt.territory", terr);
    fss__lq_raw(l, ")");
}

/* " AND <conflict's customer> IN (the customers of terr)". */
static void conflicts_in_terr(fss_lq *l, const char *const *terr)
{
    if (!terr)
        return;
    fss__lq_raw(l, " AND ");
    fss__sql_conflict_customer(&l->sql, "k");
    fss__lq_raw(l, " IN (SELECT c.id FROM customer c WHERE 1 = 1");
    fss__lq_terr(l, "c.territory", terr);
    fss__lq_raw(l, ")");
}

/* Counts the list l (freed here). */
static fss_status count_free(fss_conn *c, fss_lq *l, int64_t *out, fs_error *err)
{
    fss_status rc = fss__lq_count(c, l, 0, out, err);

    fss__lq_free(l);
    return rc;
}

fss_status fss__repo_today(fss_conn *c, const char *const *terr,
                           int64_t day_start, int64_t day_end,
                           int64_t silent_before, fss_today *out,
                           fs_error *err)
{
    fss_lq l;
    fss_status rc;

    memset(out, 0, sizeof *out);
    /* Visits by the visited customer's territory, read from the day's
     * visits (a few) out to their customers: CROSS JOIN keeps SQLite to
     * that order, where it chose to walk a territory's customers and all
     * their visits (183 ms for a manager at 500,000 visits); PostgreSQL
     * plans it as the inner join it is. */
    fss__lq_init(&l, "today", " FROM visit v CROSS JOIN customer k"
                              " WHERE k.id = v.customer_id"
                              " AND v.deleted = 0 AND v.status = 'completed'");
    fss__lq_int(&l, " AND v.checkin_at >= ?", &day_start);
    fss__lq_int(&l, " AND v.checkin_at < ?", &day_end);
    fss__lq_terr(&l, "k.territory", terr);
    if ((rc = count_free(c, &l, &out->visits_done, err)) != FSS_OK)
        return rc;
    fss__lq_init(&l, "today", " FROM visit v CROSS JOIN customer k"
                              " WHERE k.id = v.customer_id AND v.deleted = 0");
    fss__lq_int(&l, " AND v.planned_at >= ?", &day_start);
    fss__lq_int(&l, " AND v.planned_at < ?", &day_end);
    fss__lq_terr(&l, "k.territory", terr);
    if ((rc = count_free(c, &l, &out->visits_planned, err)) != FSS_OK)
        return rc;
    /* Devices by their rep's territories. */
    fss__lq_init(&l, "today", " FROM fss_devices d WHERE d.revoked = 0");
    fss__lq_int(&l, " AND d.last_seen >= ?", &day_start);
    reps_in_terr(&l, "d.rep", terr);
    if ((rc = count_free(c, &l, &out->devices_synced, err)) != FSS_OK)
        return rc;
    fss__lq_init(&l, "today", " FROM fss_devices d WHERE d.revoked = 0");
    fss__lq_int(&l, " AND COALESCE(d.last_seen, d.created_at) < ?", &silent_before);
    reps_in_terr(&l, "d.rep", terr);
    if ((rc = count_free(c, &l, &out->devices_silent, err)) != FSS_OK)
        return rc;
    /* Conflict records by their row's customer. */
    fss__lq_init(&l, "today", " FROM fss_conflicts k WHERE k.status = 'open'");
    conflicts_in_terr(&l, terr);
    if ((rc = count_free(c, &l, &out->open_conflicts, err)) != FSS_OK)
        return rc;
    fss__lq_init(&l, "today", " FROM fss_conflicts k WHERE k.status = 'open'"
                              " AND k.rule IN ('scope', 'invalid')");
    conflicts_in_terr(&l, terr);
    return count_free(c, &l, &out->rejected_waiting, err);
}

/* ---- the console's visits list ---- */

#define VISIT_T "COALESCE(v.checkin_at, v.checkout_at, v.planned_at)"

static void visit_of(fss_stmt *st, void *ctx)
{
    const each *e = ctx;
    fss_visit_row v = {
        .customer_name = col_text(st, 2), .territory = col_text(st, 3),
        .rep = col_text(st, 4), .rep_name = col_text(st, 5), .status = col_text(st, 6),
        .outcome = col_text(st, 7), .verification = col_text(st, 8),
        .time_check = col_text(st, 9),
        .has_planned_at = fss_column_type(st, 10) != FSS_SQL_NULL,
        .planned_at = fss_column_int64(st, 10),
        .has_checkin_at = fss_column_type(st, 11) != FSS_SQL_NULL,
        .checkin_at = fss_column_int64(st, 11),
        .has_checkout_at = fss_column_type(st, 12) != FSS_SQL_NULL,
        .checkout_at = fss_column_int64(st, 12),
        .has_checkin = fss_column_type(st, 13) != FSS_SQL_NULL &&
                       fss_column_type(st, 14) != FSS_SQL_NULL,
        .checkin_lat = fss_column_double(st, 13),
        .checkin_lon = fss_column_double(st, 14),
        .has_customer_pos = fss_column_type(st, 15) != FSS_SQL_NULL &&
                            fss_column_type(st, 16) != FSS_SQL_NULL,
        .lat = fss_column_double(st, 15), .lon = fss_column_double(st, 16)};

    if (fss_column_bytes(st, 0) != 16)
        return;
    memcpy(v.id.b, fss_column_blob(st, 0), 16);
    if (fss_column_bytes(st, 1) == 16)
        memcpy(v.customer.b, fss_column_blob(st, 1), 16);
    e->visit(&v, e->arg);
}

/* The visits matching q in terr. walk: the page's form - the visit
 * drives (CROSS JOIN: SQLite keeps that order) so the page is read off the
 * time index newest first, checking each visit's customer; for a filter
 * on the customer's territory that matches many visits, this stops after
 * about a page instead of sorting every match. Otherwise the LEFT JOIN
 * (a visit whose customer is not stored still lists), which lets the
 * planner go through the territory's customers: right for the count and
 * for a rare territory. Same rows either way: the territory conditions
 * already drop a visit without a customer. */
static void visits_lq(fss_lq *l, const fss_visit_query *q, const char *const *terr,
                      bool walk, bool desc, bool keyset)
{
    fss__lq_init(l, "visits",
                 walk ? " FROM visit v CROSS JOIN customer k WHERE k.id = v.customer_id"
                        " AND v.deleted = 0"
                      : " FROM visit v LEFT JOIN customer k ON k.id = v.customer_id"
                        " WHERE v.deleted = 0");
    fss__lq_int(l, " AND " VISIT_T " >= ?", q->from_ms);
    fss__lq_int(l, " AND " VISIT_T " < ?", q->to_ms);
    fss__lq_text(l, " AND v.rep_id = ?", q->rep);
    fss__lq_text(l, " AND k.territory = ?", q->territory);
    fss__lq_text(l, " AND v.status = ?", q->status);
    fss__lq_terr(l, "k.territory", terr);
    /* After the cursor's (time, id) in the page's order (ties by id
     * ascending either way): a page deep in the list starts where the
     * last one ended instead of reading and skipping every row before it. */
    if (keyset && q->after_t && q->after_id) {
        fss__lq_int(l, desc ? " AND (" VISIT_T " < ? OR (" VISIT_T " = ?"
                            : " AND (" VISIT_T " > ? OR (" VISIT_T " = ?", q->after_t);
        fss__lq_id(l, " AND v.id > ?))", q->after_id);
    }
}

fss_status fss__repo_visits_list(fss_conn *c, const fss_visit_query *q,
                                 const char *const *terr, int64_t *total,
                                 fss_visit_row_fn fn, void *arg, fs_error *err)
{
    static const fss_lq_sort sorts[] = {{"time", VISIT_T}};
    each e = {.visit = fn, .arg = arg};
    const char *col;
    fss_lq l;
    bool desc, walk;
    fss_status rc;

    *total = 0;
    col = fss__lq_sort(sorts, 1, q->sort ? q->sort : "-time", &desc);
    if (!col)
        return fss__fail(err, FSS_EINVAL, "sort must be time or -time");
    visits_lq(&l, q, terr, false, desc, false);
    rc = fss__lq_count(c, &l, q->count_cap, total, err);
    fss__lq_free(&l);
    if (rc != FSS_OK)
        return rc;
    /* Walk the time order when a territory condition matches at least
     * the count's cap (dense: a page is near); a count under the cap
     * means few enough matches to sort. */
    walk = (q->territory || terr) && q->count_cap > 0 && *total >= q->count_cap;
    visits_lq(&l, q, terr, walk, desc, true);
    rc = LQ_ROWS(c, &l, "v.id, v.customer_id, k.name, k.territory, v.rep_id,"
                        " (SELECT r.name FROM fss_reps r WHERE r.uuid = v.rep_id), v.status,"
                        " v.outcome, v.verification, v.time_check, v.planned_at, v.checkin_at,"
                        " v.checkout_at, v.checkin_lat, v.checkin_lon, k.lat, k.lon",
                 col, desc, "v.id", q, visit_of, &e, err);
    fss__lq_free(&l);
    return rc;
}

fss_status fss__repo_customer_conflicts(fss_conn *c, const fs_id *cust,
                                        int64_t limit, fss_conflict_item_fn fn,
                                        void *arg, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_buf sql = {0};
    fss_status rc = FSS_OK;
    int r;

    fss_buf_puts(&sql, "SELECT k.id, k.created_at, k.entity, k.row, k.field, k.status,"
                       " k.rule, k.detail, k.resolved_by, k.resolved_at, k.rep"
                       " FROM fss_conflicts k WHERE ");
    fss__sql_conflict_customer(&sql, "k");
    fss_buf_puts(&sql, " = ?1 ORDER BY k.id DESC LIMIT ?2");
    if (sql.oom || fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "customer conflicts");
        goto done;
    }
    fss_bind_blob(st, 1, cust->b, 16, FSS_SQL_STATIC);
    fss_bind_int64(st, 2, limit);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fss_conflict_item k = {
            .id = fss_column_int64(st, 0), .created_at = fss_column_int64(st, 1),
            .entity = col_text(st, 2), .field = col_text(st, 4), .status = col_text(st, 5),
            .rule = col_text(st, 6), .detail = col_text(st, 7),
            .resolved_by = col_text(st, 8), .rep = col_text(st, 10)};
        k.has_row = fss_column_bytes(st, 3) == 16;
        if (k.has_row)
            memcpy(k.row.b, fss_column_blob(st, 3), 16);
        k.has_resolved_at = fss_column_type(st, 9) != FSS_SQL_NULL;
        k.resolved_at = fss_column_int64(st, 9);
        fn(&k, arg);
    }
    if (r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "customer conflicts");
done:
    fss_finalize(st);
    fss_buf_free(&sql);
    return rc;
}

/* ---- the console's quotes list ---- */

static void quote_of(fss_stmt *st, void *ctx)
{
    const each *e = ctx;
    fss_quote_row v = {
        .customer_name = col_text(st, 2), .territory = col_text(st, 3),
        .rep = col_text(st, 4), .rep_name = col_text(st, 5), .status = col_text(st, 6),
        .currency = col_text(st, 7),
        .has_valid_until = fss_column_type(st, 8) != FSS_SQL_NULL,
        .valid_until = fss_column_int64(st, 8)};

    if (fss_column_bytes(st, 0) != 16)
        return;
    memcpy(v.id.b, fss_column_blob(st, 0), 16);
    if (fss_column_bytes(st, 1) == 16)
        memcpy(v.customer.b, fss_column_blob(st, 1), 16);
    e->quote(&v, e->arg);
}

fss_status fss__repo_quotes_list(fss_conn *c, const fss_quote_query *q,
                                 const char *const *terr, int64_t *total,
                                 fss_quote_row_fn fn, void *arg, fs_error *err)
{
    static const fss_lq_sort sorts[] = {{"id", "q.id"}};
    each e = {.quote = fn, .arg = arg};
    const char *col;
    fss_lq l;
    bool desc;
    fss_status rc;

    *total = 0;
    col = fss__lq_sort(sorts, 1, q->sort ? q->sort : "-id", &desc);
    if (!col)
        return fss__fail(err, FSS_EINVAL, "sort must be id or -id (newest first)");
    fss__lq_init(&l, "quotes", " FROM quote q LEFT JOIN customer k ON k.id = q.customer_id"
                               " WHERE q.deleted = 0");
    fss__lq_text(&l, " AND q.status = ?", q->status);
    fss__lq_text(&l, " AND q.currency = ?", q->currency);
    fss__lq_text(&l, " AND q.rep_id = ?", q->rep);
    fss__lq_text(&l, " AND k.territory = ?", q->territory);
    fss__lq_terr(&l, "k.territory", terr);
    if ((rc = fss__lq_count(c, &l, q->count_cap, total, err)) == FSS_OK)
        rc = LQ_ROWS(c, &l, "q.id, q.customer_id, k.name, k.territory, q.rep_id,"
                            " (SELECT r.name FROM fss_reps r WHERE r.uuid = q.rep_id), q.status,"
                            " q.currency, q.valid_until",
                     col, desc, NULL, q, quote_of, &e, err);
    fss__lq_free(&l);
    return rc;
}

/* ---- the console's devices and conflicts lists ---- */

static void device_of(fss_stmt *st, void *ctx)
{
    const each *e = ctx;
    fss_device_item d;

    fss__device_of(st, &d);
    e->device(&d, e->arg);
}

fss_status fss__repo_devices_page(fss_conn *c, const fss_device_query *q,
                                  const char *const *terr, int64_t *total,
                                  fss_device_item_fn fn, void *arg,
                                  fs_error *err)
{
    static const fss_lq_sort sorts[] = {{"created_at", "d.created_at"},
                                        {"last_seen", "COALESCE(d.last_seen, 0)"},
                                        {"name", "d.name"},
                                        /* not reported (NULL) sorts as -1:
                                         * below a reported 0 */
                                        {"pending_changes", "COALESCE(d.pending_changes, -1)"},
                                        {"rejected_changes", "COALESCE(d.rejected_changes, -1)"}};
    each e = {.device = fn, .arg = arg};
    const int64_t revoked = q->revoked && *q->revoked ? 1 : 0;
    const char *col;
    fss_lq l;
    bool desc;
    fss_status rc;

    *total = 0;
    col = fss__lq_sort(sorts, sizeof sorts / sizeof sorts[0],
                       q->sort ? q->sort : "created_at", &desc);
    if (!col)
        return fss__fail(err, FSS_EINVAL, "sort must be created_at, last_seen, name, "
                                          "pending_changes or rejected_changes "
                                          "(\"-\" before it: descending)");
    fss__lq_init(&l, "devices", " FROM fss_devices d WHERE 1 = 1");
    fss__lq_text(&l, " AND d.rep = ?", q->rep);
    fss__lq_text(&l, " AND d.rep IN (SELECT t.rep FROM fss_rep_territories t"
                     " WHERE t.territory = ?)", q->territory);
    fss__lq_int(&l, " AND d.revoked = ?", q->revoked ? &revoked : NULL);
    reps_in_terr(&l, "d.rep", terr);
    if ((rc = fss__lq_count(c, &l, q->count_cap, total, err)) == FSS_OK)
        rc = LQ_ROWS(c, &l, FSS_DEVICE_COLS, col, desc, "d.id", q, device_of, &e, err);
    fss__lq_free(&l);
    return rc;
}

static void conflict_of(fss_stmt *st, void *ctx)
{
    const each *e = ctx;
    fss_conflict_item k;

    fss__conflict_of(st, &k);
    e->conflict(&k, e->arg);
}

fss_status fss__repo_conflicts_page(fss_conn *c, const fss_conflict_query *q,
                                    const char *const *terr, int64_t *total,
                                    fss_conflict_item_fn fn, void *arg,
                                    fs_error *err)
{
    static const fss_lq_sort sorts[] = {{"id", "k.id"}};
    each e = {.conflict = fn, .arg = arg};
    const char *col;
    fss_lq l;
    bool desc;
    fss_status rc;

    *total = 0;
    col = fss__lq_sort(sorts, 1, q->sort ? q->sort : "-id", &desc);
    if (!col)
        return fss__fail(err, FSS_EINVAL, "sort must be id or -id (newest first)");
    fss__lq_init(&l, "conflicts", " FROM fss_conflicts k WHERE 1 = 1");
    fss__lq_text(&l, " AND k.status = ?", q->status);
    fss__lq_text(&l, " AND k.rep = ?", q->rep);
    fss__lq_int(&l, " AND k.created_at >= ?", q->from_ms);
    fss__lq_int(&l, " AND k.created_at < ?", q->to_ms);
    if (q->territory) {
        fss__lq_raw(&l, " AND ");
        fss__sql_conflict_customer(&l.sql, "k");
        fss__lq_text(&l, " IN (SELECT c.id FROM customer c WHERE c.territory = ?)",
                     q->territory);
    }
    conflicts_in_terr(&l, terr);
    if ((rc = fss__lq_count(c, &l, q->count_cap, total, err)) == FSS_OK)
        rc = LQ_ROWS(c, &l, FSS_CONFLICT_COLS, col, desc, NULL, q, conflict_of, &e, err);
    fss__lq_free(&l);
    return rc;
}

/* ---- what changed (the console's live refresh) ---- */

fss_status fss__repo_changes(fss_conn *c, int64_t out[4], fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;

    memset(out, 0, 4 * sizeof out[0]);
    /* Four small reads: the counter every saved row takes, the open
     * records (by the status index), the newest record, the latest sync. */
    rc = prep(c, "SELECT (SELECT value FROM fss_meta WHERE key = 'seq'),"
                 " (SELECT count(*) FROM fss_conflicts WHERE status = 'open'),"
                 " (SELECT COALESCE(max(id), 0) FROM fss_conflicts),"
                 " (SELECT COALESCE(max(last_seen), 0) FROM fss_devices)",
              &st, err);
    if (rc != FSS_OK)
        goto done;
    if (fss_step(st) != FSS_SQL_ROW) {
        rc = fss__dbfail(err, c->db, "changes");
        goto done;
    }
    for (int i = 0; i < 4; i++)
        out[i] = fss_column_int64(st, i);
done:
    fss_finalize(st);
    return rc;
}
