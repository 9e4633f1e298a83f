/*
 * fss_repo.h - the repository seam: the one interface through which the
 * server reaches its central store.
 *
 * Everything above this line (HTTP, auth, sync steps, the merge, admin
 * handlers) sees an opaque connection and the functions below; nothing
 * above it includes sqlite3.h (or, later, libpq-fe.h). The SQLite
 * implementation lives in the files that include fss_sqlite.h (fss_db.c
 * for the pool, transactions and sequence numbers, fss_sqlite_auth.c for
 * devices and codes); a second backend provides the same functions over
 * its own connection type. docs/ARCHITECTURE.md ("Central store") lists
 * which concerns are behind the seam so far and what a backend must
 * guarantee, above all for sequence numbers.
 *
 * Conventions: every function returns fss_status (FSS_EDB with the
 * backend's message in err for store failures); lookups that may find
 * nothing say so through a bool *found rather than a status; rows come back
 * as plain structs the caller owns (no pointers into backend buffers).
 */
#ifndef FSS_REPO_H
#define FSS_REPO_H

#include <stdbool.h>
#include <stdint.h>

#include "fs_conflict.h"
#include "fs_server.h"

/* One store connection, used by one thread at a time (borrowed from the
 * pool for one request). Its layout belongs to the backend. */
typedef struct fss_conn fss_conn;

/* ---- pool and transactions (SQLite: fss_db.c) ---- */
fss_status fss__db_open_pool(fss_server *s, fs_error *err);
void fss__db_close_pool(fss_server *s);
/* Borrow a connection (waits up to timeout_ms); NULL when none came free.
 * fss__conn_put rolls back any transaction the borrower left open. */
fss_conn *fss__conn_get(fss_server *s, unsigned timeout_ms);
void fss__conn_put(fss_server *s, fss_conn *c);
/* A write transaction: from begin to commit no other writer can take a
 * sequence number (see fss__next_seq). */
fss_status fss__begin_immediate(fss_conn *c, fs_error *err);
fss_status fss__commit(fss_conn *c, fs_error *err);
/* No-op outside a transaction. */
void fss__rollback(fss_conn *c);
/* Next global sequence number (inside a write transaction). The backend
 * guarantees that numbers become visible to readers in increasing order:
 * a reader that sees n never later sees a newly committed m < n. */
fss_status fss__next_seq(fss_conn *c, int64_t *out, fs_error *err);
fss_status fss__current_seq(fss_conn *c, int64_t *out, fs_error *err);
/* Is the store answering? (/healthz) */
bool fss__repo_ping(fss_conn *c);

/* ---- devices and enrollment codes (SQLite: fss_sqlite_auth.c) ---- */
typedef struct fss_device_row {
    char rep[FS_ID_STRLEN + 1];
    uint8_t token_hash[32];
    bool has_hash;   /* false when the stored hash is not 32 bytes */
    bool revoked;
} fss_device_row;
fss_status fss__repo_device_get(fss_conn *c, const fs_id *id,
                                fss_device_row *out, bool *found,
                                fs_error *err);
/* Records the device's last request time (best effort: no error). */
void fss__repo_device_seen(fss_conn *c, const fs_id *id, int64_t now_ms);

typedef struct fss_code_row {
    char rep[FS_ID_STRLEN + 1];
    int64_t expires_at;
    bool used;
} fss_code_row;
/* Stores a new code by its SHA-256. */
fss_status fss__repo_code_add(fss_conn *c, const uint8_t hash[32],
                              const char *rep, int64_t created_ms,
                              int64_t expires_ms, fs_error *err);
fss_status fss__repo_code_get(fss_conn *c, const uint8_t hash[32],
                              fss_code_row *out, bool *found, fs_error *err);
/* Inside a write transaction: creates the device for the code's rep and
 * marks the code used by it. */
fss_status fss__repo_code_redeem(fss_conn *c, const uint8_t code_hash[32],
                                 const fs_id *device, const char *name,
                                 const uint8_t token_hash[32], int64_t now_ms,
                                 fs_error *err);

/* ---- reps and territories (SQLite: fss_admin.c) ---- */
/* FSS_OK if the rep (canonical UUID text) exists, else FSS_ENOTFOUND. */
fss_status fss__rep_known(fss_conn *c, const char *rep, fs_error *err);
fss_status fss__territory_known(fss_conn *c, const char *code, fs_error *err);

/* ---- admin lists (SQLite: fss_sqlite_admin.c) ----
 * Each list calls fn once per row, in the list's order; the row's strings
 * are borrowed for the call only. NULL pointers and has_* = false are SQL
 * NULLs. The caller builds JSON (fss_admin.c); no JSON is built in SQL. */

/* Reps by name, uuid; one row per (rep, territory) in territory order, or
 * one row with territory NULL for a rep with none. */
typedef struct fss_rep_item {
    const char *id, *name, *email;
    int64_t devices;         /* devices not revoked */
    const char *territory;
} fss_rep_item;
typedef void (*fss_rep_item_fn)(const fss_rep_item *r, void *arg);
fss_status fss__repo_reps_list(fss_conn *c, fss_rep_item_fn fn, void *arg,
                               fs_error *err);

/* Territories by code; one row per (territory, rep) in assignment order, or
 * one row with rep NULL. */
typedef struct fss_territory_item {
    const char *code, *name;
    int64_t customers;       /* live customers in it */
    const char *rep;
} fss_territory_item;
typedef void (*fss_territory_item_fn)(const fss_territory_item *t, void *arg);
fss_status fss__repo_territories_list(fss_conn *c, fss_territory_item_fn fn,
                                      void *arg, fs_error *err);

/* Devices by created_at, id. */
typedef struct fss_device_item {
    fs_id id;
    const char *rep, *rep_name, *name;
    int64_t created_at, last_seen, revoked_at;
    bool has_last_seen, has_revoked_at, revoked;
} fss_device_item;
typedef void (*fss_device_item_fn)(const fss_device_item *d, void *arg);
fss_status fss__repo_devices_list(fss_conn *c, fss_device_item_fn fn,
                                  void *arg, fs_error *err);

/* Conflict records by id, status NULL for all, at most limit. base, theirs
 * and yours are the stored JSON texts of the values (base NULL when the
 * record has none). */
typedef struct fss_conflict_item {
    int64_t id, created_at, theirs_hlc, yours_hlc, resolved_at;
    bool has_theirs_hlc, has_yours_hlc, has_resolved_at;
    const char *entity, *field, *base, *theirs, *yours, *rule, *status, *rep,
        *detail, *anc_entity, *resolved_by, *resolution;
    fs_id row, theirs_device, yours_device, anc_row;
    bool has_row, has_theirs_device, has_yours_device, has_anc_row, yours_won;
} fss_conflict_item;
typedef void (*fss_conflict_item_fn)(const fss_conflict_item *k, void *arg);
fss_status fss__repo_conflicts_list(fss_conn *c, const char *status,
                                    int64_t limit, fss_conflict_item_fn fn,
                                    void *arg, fs_error *err);

#endif /* FSS_REPO_H */
