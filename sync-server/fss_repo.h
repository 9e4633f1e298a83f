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

#endif /* FSS_REPO_H */
