/*
 * fss_account.c - the back office's people: accounts with a role (admin,
 * manager, viewer; a manager and a viewer bound to territories), login
 * with rate limits, sessions, the actor of an admin request and its
 * territory restriction, and the audit log (docs/ADMIN-API.md,
 * "Accounts and sessions"; docs/ARCHITECTURE.md, "Back-office accounts and
 * scope").
 *
 * Passwords are hashed with libsodium's Argon2id (crypto_pwhash_str, the
 * "interactive" limits) and never stored, logged or echoed. A login that
 * names no account still runs one verification (against a hash made once),
 * so the answer's timing does not tell which names exist. Failed logins
 * count per address (the in-memory table of fss_rate.c, shared with bad
 * device and admin tokens) and per account name (a store table, so every
 * server process of one store counts together); past either limit a login
 * is refused with 429 without checking the password at all.
 *
 * A session id is 32 random bytes (libsodium) sent once in the cookie as
 * hex; the store keeps only its SHA-256, so a copy of the store opens no
 * session. Each session has its own CSRF token, which every state-changing
 * request made with the cookie must echo in X-CSRF-Token.
 */
#include "fss_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static bool sodium_ok;
static char dummy_hash[crypto_pwhash_STRBYTES];

static void sodium_setup(void)
{
    sodium_ok = sodium_init() >= 0 &&
                crypto_pwhash_str(dummy_hash, "no such account", 15,
                                  crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                  crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

static fss_status need_sodium(fs_error *err)
{
    pthread_once(&sodium_once, sodium_setup);
    return sodium_ok ? FSS_OK
                     : fss__fail(err, FSS_ENOMEM, "libsodium could not start "
                                                  "(memory for Argon2id?)");
}

const char *fss__role_name(fss_role r)
{
    return r == FSS_ROLE_ADMIN ? "admin" : r == FSS_ROLE_MANAGER ? "manager" : "viewer";
}

static bool role_parse(const char *text, fss_role *out)
{
    for (int r = FSS_ROLE_ADMIN; r <= FSS_ROLE_VIEWER; r++)
        if (text && strcmp(text, fss__role_name((fss_role)r)) == 0) {
            *out = (fss_role)r;
            return true;
        }
    return false;
}

const char *const *fss__actor_territories(const fss_actor *a)
{
    if (a->token || a->role == FSS_ROLE_ADMIN)
        return NULL;
    return a->terr_list;
}

void fss__actor_label(const fss_actor *a, char *out, size_t cap)
{
    if (a->token)
        snprintf(out, cap, "token");
    else
        snprintf(out, cap, "user:%s", a->name);
}

/* Names people type and logs show: letters, digits and . _ @ - only. */
static fss_status check_name(const char *name, fs_error *err)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > FSS_USER_NAME_MAX)
        return fss__fail(err, FSS_EINVAL, "user name must be 1..%d characters",
                         FSS_USER_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._@-", name[i]))
            return fss__fail(err, FSS_EINVAL, "user name may hold letters, digits "
                                              "and . _ @ - only");
    return FSS_OK;
}

static fss_status hash_password(const char *pw, char out[FSS_PWHASH_MAX],
                                fs_error *err)
{
    size_t n = pw ? strlen(pw) : 0;

    if (n < FSS_PASSWORD_MIN || n > FSS_PASSWORD_MAX)
        return fss__fail(err, FSS_EINVAL, "a password must be %d..%d bytes",
                         FSS_PASSWORD_MIN, FSS_PASSWORD_MAX);
    if (need_sodium(err) != FSS_OK)
        return FSS_ENOMEM;
    if (crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return fss__fail(err, FSS_ENOMEM, "not enough memory to hash the password");
    return FSS_OK;
}

static bool password_ok(const char *hash, const char *pw)
{
    return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}


void fss__audit(fss_server *s, const char *actor, const char *action,
                const char *target, int status, const char *remote)
{
    fss_audit_item a = {.at = (int64_t)fss_now_ms(), .actor = actor, .action = action,
                        .target = target, .status = status,
                        .remote = remote && remote[0] ? remote : NULL};
    fs_error err = {0};
    fss_tx t;
    fss_status st;

    if ((st = fss__tx_begin(s, &t, &err)) == FSS_OK)
        st = fss__tx_end(&t, fss__repo_audit_add(t.c, &a, &err), &err);
    if (st != FSS_OK)
        fprintf(stderr, "sync-server: audit log: %s (%s by %s)\n", err.text, action, actor);
}

fss_status fss_user_add(fss_server *s, const char *name, const char *role,
                        const char *const *territories, const char *password,
                        const char *actor, fs_error *err)
{
    char hash[FSS_PWHASH_MAX];
    fss_role r;
    fss_tx t;
    fss_status st;
    int64_t id = 0;
    size_t n = 0;
    bool found;

    if ((st = check_name(name, err)) != FSS_OK)
        return st;
    if (!role_parse(role, &r))
        return fss__fail(err, FSS_EINVAL, "role must be admin, manager or viewer");
    while (territories && territories[n])
        n++;
    if (r == FSS_ROLE_ADMIN && n)
        return fss__fail(err, FSS_EINVAL, "an admin sees every territory; give no "
                                          "--territory");
    if (r != FSS_ROLE_ADMIN && n == 0)
        return fss__fail(err, FSS_EINVAL, "a %s needs at least one territory",
                         fss__role_name(r));
    if (n > FSS_ACTOR_MAX_TERR)
        return fss__fail(err, FSS_EINVAL, "at most %d territories", FSS_ACTOR_MAX_TERR);
    if ((st = hash_password(password, hash, err)) != FSS_OK)
        return st;
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    st = fss__repo_user_add(t.c, name, fss__role_name(r), hash, (int64_t)fss_now_ms(),
                            &id, err);
    for (size_t i = 0; st == FSS_OK && i < n; i++) {
        if ((st = fss__repo_territory_exists(t.c, territories[i], &found, err)) != FSS_OK)
            break;
        if (!found)
            st = fss__fail(err, FSS_ENOTFOUND, "no territory %s (territory-add it first)",
                           territories[i]);
        else
            st = fss__repo_user_territory_add(t.c, id, territories[i], err);
    }
    sodium_memzero(hash, sizeof hash);
    st = fss__tx_end(&t, st, err);
    if (st == FSS_OK)
        fss__audit(s, actor ? actor : "cli", "user-add", name, 200, NULL);
    return st;
}

typedef struct users_out {
    fss_buf *out;
    const char *last;   /* the user whose object is open */
    char name[FSS_USER_NAME_MAX + 1];
    bool any_terr;
} users_out;

static void close_user(users_out *u)
{
    if (u->name[0])
        fss_buf_puts(u->out, "]}");
}

static void user_row(const fss_user_item *it, void *arg)
{
    users_out *u = arg;

    if (!u->name[0] || strcmp(u->name, it->name) != 0) {
        if (u->name[0]) {
            close_user(u);
            fss_buf_puts(u->out, ",");
        }
        snprintf(u->name, sizeof u->name, "%s", it->name);
        fss_buf_puts(u->out, "{\"name\":");
        fss_json_cstr(u->out, it->name);
        fss_buf_puts(u->out, ",\"role\":");
        fss_json_cstr(u->out, it->role);
        fss_buf_printf(u->out, ",\"disabled\":%s,\"created_at\":%lld,\"territories\":[",
                       it->disabled ? "true" : "false", (long long)it->created_at);
        u->any_terr = false;
    }
    if (it->territory) {
        if (u->any_terr)
            fss_buf_puts(u->out, ",");
        fss_json_cstr(u->out, it->territory);
        u->any_terr = true;
    }
}

fss_status fss_users_list(fss_server *s, fss_buf *out, fs_error *err)
{
    users_out u = {.out = out};
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status st;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    st = fss__repo_users_list(c, user_row, &u, err);
    close_user(&u);
    fss_buf_puts(out, "]\n");
    fss__conn_put(s, c);
    if (st == FSS_OK && out->oom)
        st = fss__fail(err, FSS_ENOMEM, "output");
    return st;
}

/* Loads user `name` inside t; ENOTFOUND when there is none. */
static fss_status user_find(fss_tx *t, const char *name, fss_user_row *u,
                            fs_error *err)
{
    bool found;
    fss_status st = fss__repo_user_get(t->c, name ? name : "", u, &found, err);

    if (st == FSS_OK && !found)
        st = fss__fail(err, FSS_ENOTFOUND, "no user %s", name ? name : "");
    return st;
}

fss_status fss_user_disable(fss_server *s, const char *name, bool disabled,
                            const char *actor, fs_error *err)
{
    fss_user_row u;
    fss_tx t;
    fss_status st;

    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    st = user_find(&t, name, &u, err);
    if (st == FSS_OK)
        st = fss__repo_user_set_disabled(t.c, u.id, disabled, err);
    if (st == FSS_OK && disabled)
        st = fss__repo_sessions_revoke_user(t.c, u.id, err);
    st = fss__tx_end(&t, st, err);
    if (st == FSS_OK)
        fss__audit(s, actor ? actor : "cli", disabled ? "user-disable" : "user-enable",
                   name, 200, NULL);
    return st;
}

fss_status fss_user_password(fss_server *s, const char *name,
                             const char *password, const char *actor,
                             fs_error *err)
{
    char hash[FSS_PWHASH_MAX];
    fss_user_row u;
    fss_tx t;
    fss_status st;

    if ((st = hash_password(password, hash, err)) != FSS_OK)
        return st;
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    st = user_find(&t, name, &u, err);
    if (st == FSS_OK)
        st = fss__repo_user_set_password(t.c, u.id, hash, err);
    if (st == FSS_OK)
        st = fss__repo_sessions_revoke_user(t.c, u.id, err);
    sodium_memzero(hash, sizeof hash);
    st = fss__tx_end(&t, st, err);
    if (st == FSS_OK)
        fss__audit(s, actor ? actor : "cli", "passwd", name, 200, NULL);
    return st;
}

fss_status fss__own_password(fss_server *s, const fss_actor *a,
                             const char *current, const char *password,
                             bool *ok, fs_error *err)
{
    fss_user_row u;
    fss_tx t;
    fss_status st;
    char label[FSS_USER_NAME_MAX + 8];

    *ok = false;
    if ((st = need_sodium(err)) != FSS_OK)
        return st;
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    st = user_find(&t, a->name, &u, err);
    if (st == FSS_OK)
        *ok = current && password_ok(u.pw_hash, current);
    st = fss__tx_end(&t, st, err);
    if (st != FSS_OK || !*ok)
        return st;
    fss__actor_label(a, label, sizeof label);
    return fss_user_password(s, a->name, password, label, err);
}

/* ---- sessions ---- */

static fss_status add_territory(const char *code, void *arg, fs_error *err)
{
    fss_actor *a = arg;

    if (a->nterr == FSS_ACTOR_MAX_TERR)
        return fss__fail(err, FSS_EINVAL, "too many territories");
    snprintf(a->terr[a->nterr], sizeof a->terr[0], "%s", code);
    a->terr_list[a->nterr] = a->terr[a->nterr];
    a->nterr++;
    a->terr_list[a->nterr] = NULL;
    return FSS_OK;
}

/* Fills *a from the user's row and territories. */
static fss_status actor_of(fss_conn *c, const fss_user_row *u, fss_actor *a,
                           fs_error *err)
{
    a->token = false;
    a->user_id = u->id;
    snprintf(a->name, sizeof a->name, "%s", u->name);
    if (!role_parse(u->role, &a->role))
        a->role = FSS_ROLE_VIEWER; /* an unknown stored role may do least */
    a->nterr = 0;
    a->terr_list[0] = NULL;
    return fss__repo_user_territories(c, u->id, add_territory, a, err);
}

/* The session id in a Cookie header: 64 hex digits after "fss_session=". */
static bool cookie_sid(const char *cookie, char sid[FSS_CSRF_LEN + 1])
{
    const char *p = cookie;
    size_t kl = strlen(FSS_SESSION_COOKIE);

    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, FSS_SESSION_COOKIE, kl) == 0 && p[kl] == '=') {
            size_t n = 0;
            p += kl + 1;
            while (n < FSS_CSRF_LEN && isxdigit((unsigned char)p[n]))
                n++;
            if (n != FSS_CSRF_LEN || (p[n] && p[n] != ';' && p[n] != ' '))
                return false;
            memcpy(sid, p, n);
            sid[n] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

fss_status fss__session_actor(fss_server *s, const char *cookie, fss_actor *a,
                              bool *found, fs_error *err)
{
    char sid[FSS_CSRF_LEN + 1];
    fss_user_row u;
    fss_conn *c;
    fss_status st;

    *found = false;
    if (!cookie_sid(cookie, sid))
        return FSS_OK;
    memset(a, 0, sizeof *a);
    fss_sha256(sid, strlen(sid), a->session);
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    st = fss__repo_session_get(c, a->session, (int64_t)fss_now_ms(), &u, a->csrf,
                               &a->expires_ms, found, err);
    if (st == FSS_OK && *found)
        st = actor_of(c, &u, a, err);
    fss__conn_put(s, c);
    sodium_memzero(sid, sizeof sid);
    return st;
}

static fss_status random_hex(char out[FSS_CSRF_LEN + 1], fs_error *err)
{
    uint8_t r[FSS_CSRF_LEN / 2];

    if (need_sodium(err) != FSS_OK)
        return FSS_ENOMEM;
    randombytes_buf(r, sizeof r);
    fss_hex(r, sizeof r, out);
    sodium_memzero(r, sizeof r);
    return FSS_OK;
}

fss_status fss__login(fss_server *s, const char *name, const char *password,
                      const char *remote, fss_actor *a,
                      char sid[FSS_CSRF_LEN + 1], fss_login_result *res,
                      fs_error *err)
{
    unsigned limit = s->cfg.login_fail_limit ? s->cfg.login_fail_limit : 5;
    int64_t window = (int64_t)(s->cfg.login_fail_window_s ? s->cfg.login_fail_window_s
                                                           : 900) * 1000;
    uint32_t ttl = s->cfg.session_ttl_s ? s->cfg.session_ttl_s : 8 * 3600;
    int64_t now = (int64_t)fss_now_ms(), fails = 0, wstart = 0;
    fss_user_row u;
    fss_tx t;
    fss_status st;
    bool found = false, good;

    *res = FSS_LOGIN_BAD;
    memset(a, 0, sizeof *a);
    if ((st = need_sodium(err)) != FSS_OK)
        return st;
    if (!name || !password || strlen(name) > FSS_USER_NAME_MAX ||
        strlen(password) > FSS_PASSWORD_MAX)
        name = "", password = "";
    if (fss__rate_limited(s, remote)) {
        *res = FSS_LOGIN_LIMITED;
        return FSS_OK;
    }
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    st = fss__repo_login_fails(t.c, name, now - window, &fails, &wstart, err);
    if (st == FSS_OK && fails >= (int64_t)limit) {
        *res = FSS_LOGIN_LIMITED;
        return fss__tx_end(&t, st, err);
    }
    if (st == FSS_OK)
        st = fss__repo_user_get(t.c, name, &u, &found, err);
    /* Commit before the slow hash: the store is not held for it. */
    if ((st = fss__tx_end(&t, st, err)) != FSS_OK)
        return st;
    good = found ? password_ok(u.pw_hash, password) : (password_ok(dummy_hash, password), false);
    good = good && !u.disabled;
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    if (!good) {
        fss__rate_fail(s, remote);
        st = fss__repo_login_fail_add(t.c, name, now - window, now, err);
        return fss__tx_end(&t, st, err);
    }
    st = fss__repo_login_fails_clear(t.c, name, err);
    if (st == FSS_OK)
        st = random_hex(sid, err);
    if (st == FSS_OK)
        st = random_hex(a->csrf, err);
    if (st == FSS_OK) {
        fss_sha256(sid, strlen(sid), a->session);
        a->expires_ms = now + (int64_t)ttl * 1000;
        st = fss__repo_session_add(t.c, a->session, u.id, a->csrf, now, a->expires_ms,
                                   err);
    }
    if (st == FSS_OK)
        st = actor_of(t.c, &u, a, err);
    if ((st = fss__tx_end(&t, st, err)) == FSS_OK)
        *res = FSS_LOGIN_OK;
    return st;
}

fss_status fss__logout(fss_server *s, const fss_actor *a, fs_error *err)
{
    fss_tx t;
    fss_status st;

    if (a->token)
        return FSS_OK;
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    return fss__tx_end(&t, fss__repo_session_revoke(t.c, a->session, err), err);
}

/* ---- the audit log ---- */

static void audit_row(const fss_audit_item *a, void *arg)
{
    fss_buf *b = arg;

    if (b->len > 1)
        fss_buf_puts(b, ",");
    fss_buf_printf(b, "{\"id\":%lld,\"at\":%lld,\"actor\":", (long long)a->id,
                   (long long)a->at);
    fss_json_cstr(b, a->actor);
    fss_buf_puts(b, ",\"action\":");
    fss_json_cstr(b, a->action);
    fss_buf_puts(b, ",\"target\":");
    fss_json_cstr(b, a->target);
    fss_buf_printf(b, ",\"status\":%lld,\"remote\":", (long long)a->status);
    fss_json_cstr(b, a->remote);
    fss_buf_puts(b, "}");
}

fss_status fss_audit_list(fss_server *s, int64_t before_id, uint32_t limit,
                          fss_buf *out, fs_error *err)
{
    fss_conn *c;
    fss_buf b = {0};
    fss_status st;

    if (limit == 0 || limit > 1000)
        return fss__fail(err, FSS_EINVAL, "limit must be 1..1000");
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(&b, "[");
    st = fss__repo_audit_list(c, before_id, limit, audit_row, &b, err);
    fss_buf_puts(&b, "]\n");
    fss__conn_put(s, c);
    if (st == FSS_OK && b.oom)
        st = fss__fail(err, FSS_ENOMEM, "output");
    if (st == FSS_OK)
        fss_buf_add(out, b.data, b.len);
    fss_buf_free(&b);
    return st;
}

fss_status fss__in_territories(fss_server *s, const char *const *terr,
                               const fs_entity *e, const fs_id *row,
                               const fs_id *device, int64_t conflict, bool *in,
                               fs_error *err)
{
    fss_conn *c;
    fss_status st;

    *in = true;
    if (!terr)
        return FSS_OK;
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if (e && row)
        st = fss__repo_row_in_territories(c, e, row, terr, in, err);
    else if (device)
        st = fss__repo_device_in_territories(c, device, terr, in, err);
    else
        st = fss__repo_conflict_in_territories(c, conflict, terr, in, err);
    fss__conn_put(s, c);
    return st;
}

fss_status fss__rep_in_territories(fss_server *s, const char *const *terr,
                                   const char *rep, bool *in, fs_error *err)
{
    fss_conn *c;
    fss_status st;

    *in = true;
    if (!terr)
        return FSS_OK;
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    st = fss__repo_rep_in_territories(c, rep, terr, in, err);
    fss__conn_put(s, c);
    return st;
}
