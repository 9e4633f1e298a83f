/*
 * fss_sqlite_console.c - the SQLite repository for the back office's own
 * people (console, issue #15): accounts and their territories, login
 * sessions, failed-login counts per account name, and the audit log
 * (fss_repo.h). Rules - hashing, expiry, limits, roles - stay in
 * fss_account.c; this file only reads and writes rows, in SQL that runs
 * unchanged on PostgreSQL.
 */
#include "fss_sqlite.h"

#include <stdio.h>
#include <string.h>

static const char *col_text(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? NULL : (const char *)sqlite3_column_text(st, i);
}

static fss_status prep(fss_conn *c, const char *sql, sqlite3_stmt **st,
                       fs_error *err)
{
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
        return fss__dbfail(err, c->db, "accounts");
    return FSS_OK;
}

/* Steps a statement that returns no rows. */
static fss_status run(fss_conn *c, sqlite3_stmt *st, fs_error *err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return fss__dbfail(err, c->db, "accounts");
    return FSS_OK;
}

fss_status fss__repo_user_add(fss_conn *c, const char *name, const char *role,
                              const char *pw_hash, int64_t now_ms,
                              int64_t *id_out, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "INSERT INTO fss_users(name, role, pw_hash, disabled, created_at)"
                 " VALUES(?1, ?2, ?3, 0, ?4) ON CONFLICT(name) DO NOTHING",
              &st, err);
    if (rc != FSS_OK)
        goto done;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, pw_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    if ((r = sqlite3_step(st)) != SQLITE_DONE) {
        rc = fss__dbfail(err, c->db, "user");
        goto done;
    }
    if (sqlite3_changes(c->db) == 0) {
        rc = fss__fail(err, FSS_EEXISTS, "a user named %s already exists", name);
        goto done;
    }
    *id_out = sqlite3_last_insert_rowid(c->db);
done:
    sqlite3_finalize(st);
    return rc;
}

static void user_of(sqlite3_stmt *st, int at, fss_user_row *out)
{
    out->id = sqlite3_column_int64(st, at);
    snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, at + 1));
    snprintf(out->role, sizeof out->role, "%s", (const char *)sqlite3_column_text(st, at + 2));
    snprintf(out->pw_hash, sizeof out->pw_hash, "%s",
             (const char *)sqlite3_column_text(st, at + 3));
    out->disabled = sqlite3_column_int(st, at + 4) != 0;
    out->created_at = sqlite3_column_int64(st, at + 5);
}

#define USER_COLS "u.id, u.name, u.role, u.pw_hash, u.disabled, u.created_at"

fss_status fss__repo_user_get(fss_conn *c, const char *name, fss_user_row *out,
                              bool *found, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc;
    int r;

    memset(out, 0, sizeof *out);
    *found = false;
    rc = prep(c, "SELECT " USER_COLS " FROM fss_users u WHERE u.name = ?1", &st, err);
    if (rc != FSS_OK)
        goto done;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        user_of(st, 0, out);
        *found = true;
    } else if (r != SQLITE_DONE) {
        rc = fss__dbfail(err, c->db, "user");
    }
done:
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_user_territory_add(fss_conn *c, int64_t user,
                                        const char *code, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc;

    rc = prep(c, "INSERT INTO fss_user_territories(user_id, territory) VALUES(?1, ?2)"
                 " ON CONFLICT(user_id, territory) DO NOTHING", &st, err);
    if (rc == FSS_OK) {
        sqlite3_bind_int64(st, 1, user);
        sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_user_territories(fss_conn *c, int64_t user, fss_text_fn fn,
                                      void *arg, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "SELECT territory FROM fss_user_territories WHERE user_id = ?1"
                 " ORDER BY territory", &st, err);
    if (rc != FSS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, user);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn((const char *)sqlite3_column_text(st, 0), arg, err)) != FSS_OK)
            goto done;
    if (r != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "user territories");
done:
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_users_list(fss_conn *c, fss_user_item_fn fn, void *arg,
                                fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "SELECT u.name, u.role, u.disabled, u.created_at, t.territory"
                 " FROM fss_users u LEFT JOIN fss_user_territories t"
                 " ON t.user_id = u.id ORDER BY u.name, t.territory", &st, err);
    if (rc != FSS_OK)
        goto done;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        fss_user_item u = {
            .name = col_text(st, 0), .role = col_text(st, 1),
            .disabled = sqlite3_column_int(st, 2) != 0,
            .created_at = sqlite3_column_int64(st, 3), .territory = col_text(st, 4)};
        fn(&u, arg);
    }
    if (r != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "users");
done:
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_user_set_disabled(fss_conn *c, int64_t user, bool disabled,
                                       fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_users SET disabled = ?1 WHERE id = ?2", &st, err);

    if (rc == FSS_OK) {
        sqlite3_bind_int(st, 1, disabled ? 1 : 0);
        sqlite3_bind_int64(st, 2, user);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_user_set_password(fss_conn *c, int64_t user,
                                       const char *pw_hash, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_users SET pw_hash = ?1 WHERE id = ?2", &st, err);

    if (rc == FSS_OK) {
        sqlite3_bind_text(st, 1, pw_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, user);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_territory_exists(fss_conn *c, const char *code, bool *found,
                                      fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "SELECT 1 FROM fss_territories WHERE code = ?1", &st, err);
    int r;

    *found = false;
    if (rc == FSS_OK) {
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            *found = true;
        else if (r != SQLITE_DONE)
            rc = fss__dbfail(err, c->db, "territory");
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_session_add(fss_conn *c, const uint8_t id_hash[32],
                                 int64_t user, const char *csrf, int64_t now_ms,
                                 int64_t expires_ms, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "INSERT INTO fss_sessions(id_hash, user_id, csrf, created_at,"
                            " expires_at, revoked) VALUES(?1, ?2, ?3, ?4, ?5, 0)",
                         &st, err);

    if (rc == FSS_OK) {
        sqlite3_bind_blob(st, 1, id_hash, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, user);
        sqlite3_bind_text(st, 3, csrf, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now_ms);
        sqlite3_bind_int64(st, 5, expires_ms);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_session_get(fss_conn *c, const uint8_t id_hash[32],
                                 int64_t now_ms, fss_user_row *user,
                                 char csrf[FSS_CSRF_LEN + 1], int64_t *expires_ms,
                                 bool *found, fs_error *err)
{
    sqlite3_stmt *st = NULL;
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
    sqlite3_bind_blob(st, 1, id_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        snprintf(csrf, FSS_CSRF_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        *expires_ms = sqlite3_column_int64(st, 1);
        user_of(st, 2, user);
        *found = true;
    } else if (r != SQLITE_DONE) {
        rc = fss__dbfail(err, c->db, "session");
    }
done:
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_session_revoke(fss_conn *c, const uint8_t id_hash[32],
                                    fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_sessions SET revoked = 1 WHERE id_hash = ?1",
                         &st, err);

    if (rc == FSS_OK) {
        sqlite3_bind_blob(st, 1, id_hash, 32, SQLITE_STATIC);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_sessions_revoke_user(fss_conn *c, int64_t user,
                                          fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "UPDATE fss_sessions SET revoked = 1 WHERE user_id = ?1",
                         &st, err);

    if (rc == FSS_OK) {
        sqlite3_bind_int64(st, 1, user);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_login_fails(fss_conn *c, const char *name, int64_t since_ms,
                                 int64_t *fails, int64_t *window_start,
                                 fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "SELECT fails, window_start FROM fss_login_fails"
                            " WHERE name = ?1 AND window_start >= ?2", &st, err);
    int r;

    *fails = 0;
    *window_start = 0;
    if (rc == FSS_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since_ms);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            *fails = sqlite3_column_int64(st, 0);
            *window_start = sqlite3_column_int64(st, 1);
        } else if (r != SQLITE_DONE) {
            rc = fss__dbfail(err, c->db, "login failures");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_login_fail_add(fss_conn *c, const char *name,
                                    int64_t since_ms, int64_t now_ms,
                                    fs_error *err)
{
    sqlite3_stmt *st = NULL;
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
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int64(st, 3, now_ms);
    if ((rc = run(c, st, err)) != FSS_OK)
        goto done;
    sqlite3_finalize(st);
    st = NULL;
    /* Names guessed once are not kept forever. */
    rc = prep(c, "DELETE FROM fss_login_fails WHERE window_start < ?1", &st, err);
    if (rc == FSS_OK) {
        sqlite3_bind_int64(st, 1, since_ms);
        rc = run(c, st, err);
    }
done:
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_login_fails_clear(fss_conn *c, const char *name,
                                       fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "DELETE FROM fss_login_fails WHERE name = ?1", &st, err);

    if (rc == FSS_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_audit_add(fss_conn *c, const fss_audit_item *a,
                               fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc = prep(c, "INSERT INTO fss_audit(at, actor, action, target, status,"
                            " remote) VALUES(?1, ?2, ?3, ?4, ?5, ?6)", &st, err);

    if (rc == FSS_OK) {
        sqlite3_bind_int64(st, 1, a->at);
        sqlite3_bind_text(st, 2, a->actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, a->action, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, a->target, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, a->status);
        sqlite3_bind_text(st, 6, a->remote, -1, SQLITE_STATIC);
        rc = run(c, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

fss_status fss__repo_audit_list(fss_conn *c, int64_t before_id, int64_t limit,
                                fss_audit_item_fn fn, void *arg, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fss_status rc;
    int r;

    rc = prep(c, "SELECT id, at, actor, action, target, status, remote FROM fss_audit"
                 " WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2", &st, err);
    if (rc != FSS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, before_id);
    sqlite3_bind_int64(st, 2, limit);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        fss_audit_item a = {
            .id = sqlite3_column_int64(st, 0), .at = sqlite3_column_int64(st, 1),
            .actor = col_text(st, 2), .action = col_text(st, 3),
            .target = col_text(st, 4), .status = sqlite3_column_int64(st, 5),
            .remote = col_text(st, 6)};
        fn(&a, arg);
    }
    if (r != SQLITE_DONE)
        rc = fss__dbfail(err, c->db, "audit log");
done:
    sqlite3_finalize(st);
    return rc;
}
