/*
 * fss_repo.h - the repository seam: the one interface through which the
 * server reaches its central store.
 *
 * Everything above this line (HTTP, auth, sync steps, the merge, admin
 * handlers) sees an opaque connection and the functions below; nothing
 * above it includes sqlite3.h or libpq-fe.h. The implementation lives in
 * the files that include fss_store.h (fss_db.c, fss_scope.c,
 * fss_repo_*.c), written once against the SQL driver (fss_sql.h), which
 * runs it on SQLite or PostgreSQL. docs/ARCHITECTURE.md ("Central
 * store") maps each concern to its functions and says what a backend must
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
#include "fs_proto.h"
#include "fs_server.h"

/* One store connection, used by one thread at a time (borrowed from the
 * pool for one request). Its layout belongs to the backend. */
typedef struct fss_conn fss_conn;

/* ---- pool and transactions (fss_db.c) ---- */
fss_status fss__db_open_pool(fss_server *s, fs_error *err);
void fss__db_close_pool(fss_server *s);
/* Borrow a connection (waits up to timeout_ms); NULL when none came free.
 * fss__conn_put rolls back any transaction the borrower left open. */
fss_conn *fss__conn_get(fss_server *s, unsigned timeout_ms);
void fss__conn_put(fss_server *s, fss_conn *c);
/* A write transaction: from begin to commit no other writer can take a
 * sequence number (see fss__next_seq). */
fss_status fss__begin_immediate(fss_conn *c, fs_error *err);
/* A write transaction whose first reads run before the counter's lock
 * (issue 18: the lock is then held for the writes alone). On PostgreSQL
 * fss__begin_late begins it and notes the counter row's version; reads
 * may follow, but no sequence number; fss__lock_late then takes the lock
 * and sets *stale when a write transaction committed in between, in which
 * case everything read before it must be read again (it may be out of
 * date; the request's row cache is dropped here). On SQLite fss__begin_late is fss__begin_immediate and *stale is
 * always false. */
fss_status fss__begin_late(fss_conn *c, fs_error *err);
fss_status fss__lock_late(fss_conn *c, bool *stale, fs_error *err);
/* Waits (up to 120 ms) while this process has writers waiting in
 * fss__begin_immediate (or a request's last_seen update): a job writing
 * in batches calls it between them. */
void fss__yield_to_writers(fss_server *s);
/* A read transaction: every read until commit or rollback sees one
 * snapshot (the current seq and the pull agree). */
fss_status fss__begin_read(fss_conn *c, fs_error *err);
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
/* Database round trips of every pooled connection since open (PostgreSQL;
 * 0 on SQLite): what bench/roundtrips counts per sync request. */
uint64_t fss__repo_round_trips(fss_server *s);
/* Traces every round trip of every pooled connection (fss_sql_trace;
 * bench/roundtrips' profile): fn(arg, what, sql), called from the request's
 * thread. A connection reopened after a loss (fss__conn_get) is not
 * traced. fn NULL stops. */
void fss__repo_trace(fss_server *s,
                     void (*fn)(void *arg, const char *what, const char *sql),
                     void *arg);

/* ---- devices and enrollment codes (fss_repo_auth.c) ---- */
typedef struct fss_device_row {
    char rep[FS_ID_STRLEN + 1];
    uint8_t token_hash[32];
    bool has_hash;   /* false when the stored hash is not 32 bytes */
    bool revoked;
    bool drain;      /* revoked, but may push its outbox once (offboard --drain) */
} fss_device_row;
fss_status fss__repo_device_get(fss_conn *c, const fs_id *id,
                                fss_device_row *out, bool *found,
                                fs_error *err);
/* Records the device's last request time (best effort: no error). */
void fss__repo_device_seen(fss_conn *c, const fs_id *id, int64_t now_ms);

/* ---- device outbox report (issue #15, Devices screen) ---- */

/* What a sync request said of the device's outbox (SyncRequest 12, 13);
 * has_ false = not reported (stored NULL, never 0). */
typedef struct fss_outbox_report {
    bool has_pending, has_rejected;
    uint32_t pending, rejected;
} fss_outbox_report;
/* Records a sync request on its device's row: last_seen and reported_at
 * = now_ms, pending_changes and rejected_changes = r's (each NULL when not
 * reported). One statement, in the caller's transaction if one is open
 * (the push's write transaction), else on its own. */
fss_status fss__repo_device_report(fss_conn *c, const fs_id *id, int64_t now_ms,
                                   const fss_outbox_report *r, fs_error *err);

typedef struct fss_code_row {
    char rep[FS_ID_STRLEN + 1];
    int64_t expires_at;
    bool used;
    bool voided;     /* its rep was offboarded before it was used */
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

/* ---- reps and territories (fss_repo_admin.c) ---- */
/* FSS_OK if the rep (canonical UUID text) exists, else FSS_ENOTFOUND. */
fss_status fss__rep_known(fss_conn *c, const char *rep, fs_error *err);
fss_status fss__territory_known(fss_conn *c, const char *code, fs_error *err);

/* ---- admin lists (fss_repo_admin.c) ----
 * Each list calls fn once per row, in the list's order; the row's strings
 * are borrowed for the call only. NULL pointers and has_* = false are SQL
 * NULLs. The caller builds JSON (fss_admin.c); no JSON is built in SQL. */

/* How many reps there are. */
fss_status fss__repo_reps_count(fss_conn *c, int64_t *out, fs_error *err);

/* The rows a back-office reference may name (fss_admin_find), best rank
 * first, at most FSS_FIND_MAX: rank 0 the id itself (hex = its 32
 * lowercase hex digits), 1 a rep's email, 2 a rep's or live customer's
 * name (text, compared case-insensitively, whole), 3 an id ending in the
 * short id `text` (when short_id: 8..32 lowercase hex digits). Devices and
 * quotes are named by id only. */
#define FSS_FIND_MAX 20
typedef struct fss_find_item {
    const char *id;     /* canonical UUID text */
    const char *label;  /* what a person reads: "Ann <ann@x>", a customer's name */
    int rank;
} fss_find_item;
typedef void (*fss_find_item_fn)(const fss_find_item *f, void *arg);
fss_status fss__repo_find(fss_conn *c, fss_ref_kind kind, const char *text,
                          bool short_id, const char *hex, fss_find_item_fn fn,
                          void *arg, fs_error *err);

/* Every list and report below takes `terr`, the actor's territory
 * restriction (fss__actor_territories: NULL = all, else a NULL-terminated
 * list of codes); rows outside it never leave the store. */

/* Reps by name, uuid; one row per (rep, territory) in territory order, or
 * one row with territory NULL for a rep with none. */
typedef struct fss_rep_item {
    const char *id, *name, *email;
    int64_t devices;         /* devices not revoked */
    const char *territory;
    bool active;             /* false: offboarded (fss_owner.c) */
} fss_rep_item;
typedef void (*fss_rep_item_fn)(const fss_rep_item *r, void *arg);
fss_status fss__repo_reps_list(fss_conn *c, const char *const *terr,
                               fss_rep_item_fn fn, void *arg, fs_error *err);

/* Territories by code; one row per (territory, rep) in assignment order, or
 * one row with rep NULL. */
typedef struct fss_territory_item {
    const char *code, *name;
    int64_t customers;       /* live customers in it */
    const char *rep;
} fss_territory_item;
typedef void (*fss_territory_item_fn)(const fss_territory_item *t, void *arg);
fss_status fss__repo_territories_list(fss_conn *c, const char *const *terr,
                                      fss_territory_item_fn fn, void *arg,
                                      fs_error *err);

/* Devices by created_at, id. */
typedef struct fss_device_item {
    fs_id id;
    const char *rep, *rep_name, *name;
    int64_t created_at, last_seen, revoked_at;
    bool has_last_seen, has_revoked_at, revoked;
    /* The outbox its last sync request reported (fss_outbox_report) and
     * that request's time; has_ false = not reported / never synced. */
    int64_t pending_changes, rejected_changes, reported_at;
    bool has_pending_changes, has_rejected_changes, has_reported_at;
} fss_device_item;
typedef void (*fss_device_item_fn)(const fss_device_item *d, void *arg);
fss_status fss__repo_devices_list(fss_conn *c, const char *const *terr,
                                  fss_device_item_fn fn, void *arg,
                                  fs_error *err);

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
                                    int64_t limit, const char *const *terr,
                                    fss_conflict_item_fn fn, void *arg,
                                    fs_error *err);

/* ---- rows (fss_db.c, over the shared fs_store) ---- */
typedef struct fss_rowinfo {
    int64_t seq;    /* seq of the last saved change */
    bool has_root;  /* false for reference data and rows with no parent */
    fs_id root;     /* the customer the row hangs off */
} fss_rowinfo;
/* Loads row (e, id) into *row (initialised for e) and, if info is not
 * NULL, its bookkeeping; *found false when it is not stored. */
fss_status fss__repo_row_load(fss_conn *c, const fs_entity *e, const fs_id *id,
                              fs_row *row, fss_rowinfo *info, bool *found,
                              fs_error *err);
/* The customer a (merged, maybe unsaved) row hangs off. FSS_ENOTFOUND when
 * an intermediate parent is not stored; *has_root false when the row has
 * no customer (reference data, unset parent). */
fss_status fss__repo_row_root(fss_conn *c, const fs_row *row, fs_id *root,
                              bool *has_root, fs_error *err);

/* ---- batched loads: the request's row cache (fss_repo_batch.c; issue 18)
 * Inside one transaction, rows named in advance are loaded with one
 * statement per entity and chunk of ids, and fss__repo_row_load answers
 * from them (and remembers what it loads itself) until the transaction
 * ends: any commit, rollback or begin turns the cache off. */
typedef struct fss_rowref {
    const fs_entity *e;
    fs_id id;
} fss_rowref;
/* Turns the cache on and loads the rows refs[] names that it lacks (absent
 * ones are remembered as absent); with `ancestors`, also the parents those
 * rows name, level by level. On SQLite (no round trips) it only turns the
 * cache on: rows load one by one on demand, and are then remembered. */
fss_status fss__repo_rows_prefetch(fss_conn *c, const fss_rowref *refs,
                                   size_t n, bool ancestors, fs_error *err);
/* After fss__lock_late found the counter moved (PostgreSQL): *fresh when
 * what the push read before the lock still is what a read under it would
 * return - no writer other than a sync push committed since
 * fss__begin_late ('gen' unchanged), the batch is still unrecorded, and
 * no row in the row cache (found or absent) nor any of custs[] (the
 * customers its scope memo answered for) has a seq above the counter's
 * value at fss__begin_late. One statement, one round trip; an entity with
 * more than FSS_FRESH_IDS ids to check answers "not fresh". Not fresh: the
 * row cache is emptied, for the reads to be made again. The argument
 * is in docs/ARCHITECTURE.md, "A push takes the lock late". */
#define FSS_FRESH_IDS 32
fss_status fss__repo_reads_fresh(fss_conn *c, const fs_id *device, const fs_id *batch,
                                 const fs_id *custs, size_t ncusts, bool *fresh,
                                 fs_error *err);
/* Which of ids[] are merged duplicates (have a row in fss_merged): merged[i]
 * set for those; one statement per chunk of ids. */
fss_status fss__repo_merged_which(fss_conn *c, const fs_id *ids, size_t n,
                                  bool *merged, fs_error *err);
/* True when a statement is a round trip (PostgreSQL): batched queries pay
 * for themselves; on SQLite a row at a time is cheaper. */
bool fss__repo_batched(fss_conn *c);
/* Which of the customers ids[] are in rep's scope (fss__customer_in_scope
 * for each): in[i] set for those; one statement per chunk of ids. */
fss_status fss__repo_in_scope_which(fss_conn *c, const char *rep,
                                    const fs_id *ids, size_t n, bool *in,
                                    fs_error *err);

/* ---- batches: exactly-once per (device, batch id) (fss_repo_sync.c) */
/* *found says whether the batch was stored; then digest and the packed
 * results (appended to results) are its stored ones. */
fss_status fss__repo_batch_get(fss_conn *c, const fs_id *device,
                               const fs_id *batch, bool *found,
                               uint8_t digest[32], fss_buf *results,
                               fs_error *err);
/* Stores a batch's digest and packed results and keeps only the device's
 * newest `keep` batches. Inside the request's write transaction. */
fss_status fss__repo_batch_put(fss_conn *c, const fs_id *device,
                               const fs_id *batch, const uint8_t digest[32],
                               const void *results, size_t len, int64_t now_ms,
                               int keep, fs_error *err);

/* ---- pulls and counts (fss_repo_sync.c) ----
 * Both plans return the same items (rows of the rep's scope and the rep's
 * scope exits after the cursor, in seq order) at different costs; which one
 * runs is fss_sync.c's choice (choose_plan). */
typedef struct fss_pull_item {
    bool is_exit;
    unsigned tag;          /* entity tag of a row, fs_exit_reason of an exit */
    fs_id id;              /* the row, or the exited customer */
    int64_t seq;
    /* The row as stored, read by the pull statement itself (no second
     * lookup per row); NULL for an exit and for an entity tag the schema
     * does not know. The callback may take it: move it out and leave it
     * zeroed. */
    fs_row *row;
} fss_pull_item;
/* Called per item; set *stop to end the page early (nothing more read).
 * A stored id that is not 16 bytes cannot name a row: such an item is
 * skipped, never passed on. */
typedef fss_status (*fss_pull_fn)(const fss_pull_item *it, void *arg,
                                  bool *stop, fs_error *err);
fss_status fss__repo_pull(fss_conn *c, fss_pull_plan plan, const char *rep,
                          uint64_t cursor, int64_t limit, fss_pull_fn fn,
                          void *arg, fs_error *err);
/* How many items a pull from cursor would return, counting at most limit
 * (-1: no limit). */
fss_status fss__repo_pull_count(fss_conn *c, fss_pull_plan plan,
                                const char *rep, uint64_t cursor,
                                int64_t limit, int64_t *out, fs_error *err);
/* The work plan's pull and count statements on c have done since they were
 * prepared, in the SQL driver's steps (fss_stmt_steps); -1 where the store
 * counts none (PostgreSQL). For tests: a plan's work, not its time. */
int64_t fss__repo_pull_steps(fss_conn *c, fss_pull_plan plan);
/* Customers in rep's scope, counting at most limit. The connection keeps
 * its last count: asked again for the same rep at a current seq `cur`
 * fewer than `reuse_seqs` after that count's, it answers from it without
 * a query (0 = always count). */
fss_status fss__repo_scope_size(fss_conn *c, const char *rep, int64_t limit,
                                int64_t cur, int64_t reuse_seqs,
                                int64_t *out, fs_error *err);

/* ---- scopes, saved rows, re-sequencing, exits, conflict records
 * (fss_scope.c) ---- */
/* Is customer `cust` in the scope of rep (canonical UUID text)? */
fss_status fss__customer_in_scope(fss_conn *c, const char *rep,
                                  const fs_id *cust, bool *in, fs_error *err);
/* Saves a merged row with a fresh seq and its root; search: the row's
 * searchable text may have changed (fss__search_changed), so its
 * customer's search text is rebuilt. */
fss_status fss__save_row(fss_conn *c, const fs_row *row, int64_t *seq_out,
                         bool search, fs_error *err);
/* Records the reps that can see customer `cust` right now (owner or
 * territory) into reps[] (UUID strings); *n in/out. */
typedef struct fss_repset {
    char (*ids)[FS_ID_STRLEN + 1];
    size_t n, cap;
} fss_repset;
void fss_repset_free(fss_repset *r);
fss_status fss__customer_reps(fss_conn *c, const fs_id *cust, fss_repset *out,
                              fs_error *err);
/* The work fss__customer_reps has done on c since its statement was
 * prepared (fss_stmt_steps; 0 before the first call, -1 where the store
 * counts none). For tests: its work, not its time. */
int64_t fss__customer_reps_steps(fss_conn *c);
/* Rep set helpers (fss_write.c): membership, add if absent. */
bool fss__repset_has(const fss_repset *r, const char *id);
fss_status fss__repset_add(fss_repset *r, const char *id, fs_error *err);
fss_status fss__add_exit(fss_conn *c, const char *rep, const fs_id *cust,
                         fs_exit_reason why, fs_error *err);
/* Re-sequence every row hanging off cust (so it sorts after every cursor). */
fss_status fss__restamp_subtree(fss_conn *c, const fs_id *cust, fs_error *err);
/* One conflict record as stored; strings borrowed for the call. base,
 * theirs and yours are JSON literals ("null" for none). */
typedef struct fss_conflict_rec {
    int64_t created_at, theirs_hlc, yours_hlc;
    const char *entity, *field, *base, *theirs, *yours, *rule, *status,
        *rep, *detail, *anc_entity;
    fs_id row, theirs_device, yours_device, anc_row;
    bool has_base, yours_won;
} fss_conflict_rec;
fss_status fss__repo_conflict_insert(fss_conn *c, const fss_conflict_rec *k,
                                     fs_error *err);
/* Fills out->conflicts (newest first, at most FS_PROTO_MAX_CONFLICTS; plain
 * malloc) and out->open_conflicts with the open conflicts one of rep's
 * devices took part in, and sets out->conflicts_listed. */
fss_status fss__open_conflicts(fss_conn *c, const char *rep,
                               fs_sync_response *out, fs_error *err);


/* Would rep see customer `cust` were it not deleted? (false when it is not
 * deleted: then fss__customer_in_scope answers) */
fss_status fss__customer_hidden_in_scope(fss_conn *c, const char *rep,
                                         const fs_id *cust, bool *in,
                                         fs_error *err);
/* The rows of entity ce whose parent is `parent` (all under customer
 * `root`), by id, with their seqs; *out plain malloc (free it). */
typedef struct fss_child {
    fs_id id;
    int64_t seq;
} fss_child;
fss_status fss__repo_children(fss_conn *c, const fs_entity *ce,
                              const fs_id *parent, const fs_id *root,
                              fss_child **out, size_t *n, fs_error *err);

/* ---- quote lookups (fss_repo_quote.c) ---- */
/* A quote's live lines by id; *out plain malloc, each row freed with
 * fs_row_free. */
fss_status fss__repo_quote_lines(fss_conn *c, const fs_id *quote, fs_row **out,
                                 size_t *n, fs_error *err);
/* Called per row; the row is freed after the call. */
typedef fss_status (*fss_row_fn)(const fs_row *row, void *arg, fs_error *err);
/* Live quotes in `status` whose valid_until is before before_ms, by id: the
 * candidates the expiry rule decides on. No write may happen inside fn (the
 * walk is still open). */
fss_status fss__repo_quotes_due(fss_conn *c, const char *status,
                                int64_t before_ms, fss_row_fn fn, void *arg,
                                fs_error *err);

/* ---- back-office writes and lookups (fss_repo_admin.c) ---- */
/* FSS_EEXISTS when the email is taken. */
fss_status fss__repo_rep_add(fss_conn *c, const char *uuid, const char *name,
                             const char *email, int64_t now_ms, fs_error *err);
/* Adds the territory or renames it. */
fss_status fss__repo_territory_put(fss_conn *c, const char *code,
                                   const char *name, fs_error *err);
/* Adds or removes a rep's membership; *changed false when it already was. */
fss_status fss__repo_rep_territory_set(fss_conn *c, const char *rep,
                                       const char *code, bool member,
                                       bool *changed, fs_error *err);
/* The live customers of a territory; *ids plain malloc. */
fss_status fss__repo_territory_customers(fss_conn *c, const char *code,
                                         fs_id **ids, size_t *n, fs_error *err);
/* Marks a device revoked (keeps the first revocation time); *found false
 * when there is no such device. */
fss_status fss__repo_device_revoke(fss_conn *c, const fs_id *device,
                                   int64_t now_ms, bool *found, fs_error *err);
/* One conflict record through fn (as in the list), *found false if none. */
fss_status fss__repo_conflict_get(fss_conn *c, int64_t id,
                                  fss_conflict_item_fn fn, void *arg,
                                  bool *found, fs_error *err);
/* Marks a record resolved with the back office's resolution (JSON). */
fss_status fss__repo_conflict_resolve(fss_conn *c, int64_t id, const char *by,
                                      const char *resolution, int64_t now_ms,
                                      fs_error *err);
/* Resolves the open records of writes hidden by one delete: the hider's row
 * (or rows below it, anc_row) and the delete's stamp del_hlc. */
fss_status fss__repo_conflicts_resolve_hidden(fss_conn *c, const fs_id *hider,
                                              int64_t del_hlc, const char *by,
                                              const char *resolution,
                                              int64_t now_ms, fs_error *err);
/* The canonical JSON export (docs/ARCHITECTURE.md "Store") of the rows the
 * filter keeps, written through write (nonzero return aborts). The same
 * shapes as the store library's export callbacks. */
typedef bool (*fss_export_filter_fn)(const fs_entity *e, const fs_row *row,
                                     const fs_id *root, void *arg);
typedef int (*fss_export_write_fn)(const char *buf, size_t n, void *arg);
fss_status fss__repo_export(fss_conn *c, fss_export_filter_fn filter,
                            void *filter_arg, fss_export_write_fn write,
                            void *write_arg, fs_error *err);

/* ---- reports (fss_repo_report.c) ----
 * Callbacks get borrowed rows; a status other than FSS_OK stops the walk
 * and is returned. */
typedef struct fss_visit_item {
    const char *rep, *rep_name, *status, *verification, *time_check, *outcome;
    int64_t t;       /* check-in, else check-out, else planned time (Unix ms) */
    bool has_t;
} fss_visit_item;
typedef fss_status (*fss_visit_item_fn)(const fss_visit_item *v, void *arg,
                                        fs_error *err);
/* Live visits, optionally of one rep, of customers in one territory, with
 * t in [*from_ms, *to_ms) (NULL: unbounded), by rep, t, id. */
fss_status fss__repo_activity(fss_conn *c, const char *rep, const char *territory,
                              const int64_t *from_ms, const int64_t *to_ms,
                              const char *const *terr, fss_visit_item_fn fn,
                              void *arg, fs_error *err);

typedef struct fss_quote_line_item {
    fs_id id;                 /* the quote */
    bool has_id;
    const char *status, *currency;
    int64_t discount_bp;      /* the quote's (NULL reads 0) */
    bool has_line;            /* false: a quote without live lines */
    int64_t qty, unit_price, line_discount_bp;
} fss_quote_line_item;
typedef fss_status (*fss_quote_line_item_fn)(const fss_quote_line_item *q,
                                             void *arg, fs_error *err);
/* Live quotes, one row per live line (or one for a quote without), by
 * status, currency, quote id. */
fss_status fss__repo_pipeline_quotes(fss_conn *c, const char *const *terr,
                                     fss_quote_line_item_fn fn, void *arg,
                                     fs_error *err);

typedef struct fss_contract_item {
    const char *status, *currency;
    int64_t amount;
    bool has_amount;
} fss_contract_item;
typedef fss_status (*fss_contract_item_fn)(const fss_contract_item *k,
                                           void *arg, fs_error *err);
/* Live contracts by e-sign status, currency. */
fss_status fss__repo_pipeline_contracts(fss_conn *c, const char *const *terr,
                                        fss_contract_item_fn fn, void *arg,
                                        fs_error *err);

/* Every stored row of entity e (tombstones included). */
fss_status fss__repo_rows_each(fss_conn *c, const fs_entity *e, fss_row_fn fn,
                               void *arg, fs_error *err);

/* ---- customer value and churn (fss_repo_value.c) ----
 * analyze walks the customers in batches by id. The id of the limit-th live
 * customer after `after` (NULL = from the first) ends a batch; *found is
 * false when fewer are left (the last batch runs to the end). */
fss_status fss__repo_value_batch_end(fss_conn *c, const fs_id *after, size_t limit,
                                     fs_id *end, bool *found, fs_error *err);
/* A cursor over the live rows of one entity whose customer lies in
 * (after, upto] (either bound NULL = open): customers by id, rows below a
 * customer (purchases, visits, tasks, tickets) by their customer, then
 * seq. analyze (fss_value.c) walks several side by side. */
typedef struct fss_value_cursor fss_value_cursor;
fss_status fss__repo_value_open(fss_conn *c, const fs_entity *e, const fs_id *after,
                                const fs_id *upto, fss_value_cursor **out, fs_error *err);
/* The same, reading only the fields named (at most 16, maybe none): the
 * rows come with their id and those cells' values alone, no stamps. What
 * analyze reads of the many purchases and visits (and of the customers,
 * when it needs their ids alone), at less cost than whole rows. */
fss_status fss__repo_value_open_fields(fss_conn *c, const fs_entity *e, const fs_id *after,
                                       const fs_id *upto, const char *const *fields,
                                       size_t nfields, fss_value_cursor **out,
                                       fs_error *err);
/* The next row into *row (re-initialised for the entity) and its customer
 * into *cust; *has false past the end. */
fss_status fss__repo_value_next(fss_value_cursor *cur, fs_row *row, fs_id *cust,
                                bool *has, fs_error *err);
void fss__repo_value_close(fss_value_cursor *cur); /* accepts NULL */
/* The work table: each buying customer's summary line per currency, in a
 * temporary table of the connection (created by open, dropped by close),
 * indexed once all lines are in (fss__repo_work_index), then read back
 * sorted. Writing it needs no write transaction on the store. */
typedef struct fss_value_work fss_value_work;
typedef struct fss_work_line {
    int64_t revenue;
    fs_id cust;
} fss_work_line;
fss_status fss__repo_work_open(fss_conn *c, fss_value_work **out, fs_error *err);
fss_status fss__repo_work_add(fss_value_work *w, const fs_id *cust, const fs_score_line *l,
                              fs_error *err);
fss_status fss__repo_work_flush(fss_value_work *w, fs_error *err);
/* Flushes and indexes the lines: after the last add, before any read. */
fss_status fss__repo_work_index(fss_value_work *w, fs_error *err);
/* out[i] = the value at 0-based position pos[i] of key's ascending order
 * over the currency's lines, for n <= FS_SCORE_MAX_CUTS positions in any
 * order (the order is read once, forward). */
fss_status fss__repo_work_values_at(fss_value_work *w, const char *currency,
                                    fs_score_key key, const size_t *pos, int64_t *out,
                                    size_t n, fs_error *err);
/* Up to cap lines of the currency by descending revenue, ties by ascending
 * customer id, after the line `after` (NULL = from the first). */
fss_status fss__repo_work_by_revenue(fss_value_work *w, const char *currency,
                                     const fss_work_line *after, fss_work_line *out,
                                     size_t cap, size_t *n, fs_error *err);
void fss__repo_work_close(fss_value_work *w); /* accepts NULL */
/* The last run's grade movements per territory: replaced all at once with
 * the run's time (inside a write transaction), or read (restricted to the
 * territory codes given, NULL = all) in territory, from, to order, with
 * the run's time (*run_at 0: never). from "" = never graded, territory
 * "" = none. */
typedef struct fss_value_move {
    const char *territory, *from, *to;
    int64_t customers;
} fss_value_move;
fss_status fss__repo_moves_clear(fss_conn *c, int64_t run_at, fs_error *err);
fss_status fss__repo_moves_add(fss_conn *c, const fss_value_move *m, fs_error *err);
typedef fss_status (*fss_move_fn)(const fss_value_move *m, void *arg, fs_error *err);
fss_status fss__repo_moves_each(fss_conn *c, const char *const *territories, size_t nterr,
                                int64_t *run_at, fss_move_fn fn, void *arg, fs_error *err);
/* Live customers whose `field` (a customer field name: "risk",
 * "lost_reason") is set, in id order, restricted to the given territory
 * codes (NULL = all; an empty list = none). */
fss_status fss__repo_customers_where(fss_conn *c, const char *field,
                                     const char *const *territories, size_t nterr,
                                     fss_row_fn fn, void *arg, fs_error *err);
/* ---- ownership lifecycle: offboarding (fss_repo_owner.c) ---- */
typedef struct fss_rep_state {
    bool active;
    char heir[FS_ID_STRLEN + 1];  /* offboarded to this rep; "" = the pool */
    int64_t deactivated_at;
} fss_rep_state;
fss_status fss__repo_rep_state(fss_conn *c, const char *rep,
                               fss_rep_state *out, bool *found, fs_error *err);
/* Deactivates (heir: the rep the customers went to, NULL = the pool) or
 * reactivates a rep. */
fss_status fss__repo_rep_set_active(fss_conn *c, const char *rep, bool active,
                                    const char *heir, int64_t now_ms,
                                    fs_error *err);
/* The live customers rep owns / has in scope, by id; *ids plain malloc. */
fss_status fss__repo_rep_owned(fss_conn *c, const char *rep, fs_id **ids,
                               size_t *n, fs_error *err);
/* The offboarded reps that still own live customers (an offboarding cut
 * short between its batches), by uuid; *reps plain malloc. */
typedef struct fss_rep_uuid {
    char s[FS_ID_STRLEN + 1];
} fss_rep_uuid;
fss_status fss__repo_offboards_unfinished(fss_conn *c, fss_rep_uuid **reps,
                                         size_t *n, fs_error *err);
fss_status fss__repo_rep_scope(fss_conn *c, const char *rep, fs_id **ids,
                               size_t *n, fs_error *err);
/* Removes every territory membership of rep; *n = how many. */
fss_status fss__repo_rep_territories_clear(fss_conn *c, const char *rep,
                                           int64_t *n, fs_error *err);
/* Voids rep's unused enrollment codes; *n = how many. */
fss_status fss__repo_rep_codes_void(fss_conn *c, const char *rep,
                                    int64_t now_ms, int64_t *n, fs_error *err);
/* Revokes every device of rep not yet revoked, marking them draining when
 * drain; *n = how many. */
fss_status fss__repo_rep_devices_revoke(fss_conn *c, const char *rep,
                                        int64_t now_ms, bool drain, int64_t *n,
                                        fs_error *err);
/* Ends every drain of rep's devices and forgets its drain scope. */
fss_status fss__repo_rep_drain_end(fss_conn *c, const char *rep, fs_error *err);
/* The drain scope: the customers rep had in scope when offboarded with
 * --drain (plus those its draining devices created); a draining device's
 * writes are judged against it. */
fss_status fss__repo_drain_scope_fill(fss_conn *c, const char *rep,
                                      fs_error *err);
fss_status fss__repo_drain_scope_add(fss_conn *c, const char *rep,
                                     const fs_id *cust, fs_error *err);
fss_status fss__repo_drain_in_scope(fss_conn *c, const char *rep,
                                    const fs_id *cust, bool *in, fs_error *err);
/* The device's drain is over (its next request: 401 + wipe). */
fss_status fss__repo_device_drained(fss_conn *c, const fs_id *device,
                                    fs_error *err);
/* Adds changes drained to rep's latest offboarding record. */
fss_status fss__repo_device_drain_add(fss_conn *c, const char *rep,
                                      int64_t changes, fs_error *err);
/* One offboarding as recorded (strings borrowed for the call). */
typedef struct fss_offboard_item {
    int64_t id, at, customers, territories, devices, codes, drained,
        reactivated_at;
    const char *rep, *rep_name, *to_rep, *by;  /* to_rep NULL = the pool */
    bool drain, has_reactivated_at;
} fss_offboard_item;
typedef void (*fss_offboard_item_fn)(const fss_offboard_item *o, void *arg);
fss_status fss__repo_offboard_record(fss_conn *c, const fss_offboard_item *o,
                                     fs_error *err);
/* Adds n customers moved to rep's latest offboarding record. */
fss_status fss__repo_offboard_moved(fss_conn *c, const char *rep, int64_t n,
                                    fs_error *err);
fss_status fss__repo_offboard_reactivated(fss_conn *c, const char *rep,
                                          int64_t now_ms, fs_error *err);
/* Offboardings by id. territories: the caller's territory restriction
 * (NULL = all); offboardings are shown to every caller (see the SQL). */
fss_status fss__repo_offboards_list(fss_conn *c, const char *const *territories,
                                    fss_offboard_item_fn fn, void *arg,
                                    fs_error *err);

/* ---- ownership lifecycle: the public pool and claims
 * (fss_repo_owner.c; rules: conflict/fs_pool.h) ---- */
/* One owned live customer with the facts the reclaim rule needs. */
typedef struct fss_reclaim_item {
    fs_id id;
    char owner[FS_ID_STRLEN + 1];
    char name[201];
    int64_t followup, since, warned_at, claimed_at;
    bool has_followup, has_since, has_warned, open_quote;
    bool claimed_by_owner;   /* claimed_at is the owner's claim */
} fss_reclaim_item;
/* Every live customer with an owner, by id; *out plain malloc. */
fss_status fss__repo_reclaim_candidates(fss_conn *c, fss_reclaim_item **out,
                                        size_t *n, fs_error *err);
/* The pool's bookkeeping per customer (fss_pool_state): first seen owned
 * (the clock's start), warned, reclaimed (by whom, when), claimed. */
fss_status fss__repo_pool_seen(fss_conn *c, const fs_id *cust, int64_t now_ms,
                               fs_error *err);
fss_status fss__repo_pool_warned(fss_conn *c, const fs_id *cust,
                                 int64_t now_ms, fs_error *err);
fss_status fss__repo_pool_reclaimed(fss_conn *c, const fs_id *cust,
                                    const char *former, int64_t now_ms,
                                    fs_error *err);
fss_status fss__repo_pool_claimed(fss_conn *c, const fs_id *cust,
                                  const char *rep, int64_t now_ms, fs_error *err);
typedef struct fss_pool_row {
    int64_t pooled_at;                    /* 0: never reclaimed */
    char former_owner[FS_ID_STRLEN + 1];  /* "" if none */
} fss_pool_row;
fss_status fss__repo_pool_get(fss_conn *c, const fs_id *cust,
                              fss_pool_row *out, fs_error *err);
fss_status fss__repo_claims_won_since(fss_conn *c, const char *rep,
                                      int64_t since_ms, int64_t *n,
                                      fs_error *err);
fss_status fss__repo_rep_in_territory(fss_conn *c, const char *rep,
                                      const char *territory, bool *yes,
                                      fs_error *err);
/* The rep's name ("" when unknown). */
fss_status fss__repo_rep_name(fss_conn *c, const char *rep, char *out,
                              size_t cap, fs_error *err);
/* One judged claim (strings borrowed). outcome: fs_claim_verdict_name. */
typedef struct fss_claim_item {
    int64_t id, at;
    fs_id customer, device;
    const char *customer_name, *rep, *rep_name, *outcome, *detail;
} fss_claim_item;
typedef void (*fss_claim_item_fn)(const fss_claim_item *k, void *arg);
fss_status fss__repo_claim_record(fss_conn *c, const fss_claim_item *k,
                                  fs_error *err);
/* Claims by id, at most limit (<= 0: all), of customers in territories
 * (NULL: all). */
fss_status fss__repo_claims_list(fss_conn *c, const char *const *territories,
                                 int64_t limit, fss_claim_item_fn fn, void *arg,
                                 fs_error *err);
/* The pool: live customers without an owner, by territory, name; of
 * territories (NULL: all). */
typedef struct fss_pool_item {
    fs_id id;
    const char *name, *territory, *former_owner;
    int64_t pooled_at;
    bool has_pooled_at;
} fss_pool_item;
typedef void (*fss_pool_item_fn)(const fss_pool_item *p, void *arg);
fss_status fss__repo_pool_list(fss_conn *c, const char *const *territories,
                               fss_pool_item_fn fn, void *arg, fs_error *err);

/* ---- ownership lifecycle: duplicates and merges
 * (fss_repo_owner.c; rules: conflict/fs_dedup.h) ---- */
/* Every live customer of territories (NULL: all) with what duplicate
 * detection compares; a status other than FSS_OK from fn stops the walk. */
typedef fss_status (*fss_dedup_row_fn)(const fs_id *id, const char *name,
                                       const char *phone, const char *tax_id,
                                       void *arg, fs_error *err);
fss_status fss__repo_dedup_rows(fss_conn *c, const char *const *territories,
                                fss_dedup_row_fn fn, void *arg, fs_error *err);
/* A merged customer's redirect: its survivor and its placement when it
 * was merged. */
typedef struct fss_merged_row {
    fs_id survivor;
    char owner_rep[FS_ID_STRLEN + 1];
    char territory[65];
} fss_merged_row;
fss_status fss__repo_merged_get(fss_conn *c, const fs_id *dup,
                                fss_merged_row *out, bool *found, fs_error *err);
fss_status fss__repo_merged_add(fss_conn *c, const fs_id *dup,
                                const fs_id *survivor, int64_t merge_id,
                                const char *owner_rep, const char *territory,
                                fs_error *err);
/* One merge as recorded (strings borrowed). */
typedef struct fss_merge_item {
    int64_t id, at, duplicates, children, fields;
    fs_id survivor;
    const char *by, *detail;
} fss_merge_item;
typedef void (*fss_merge_item_fn)(const fss_merge_item *m, void *arg);
fss_status fss__repo_merge_record(fss_conn *c, const fss_merge_item *m,
                                  int64_t *id, fs_error *err);
/* Had rep a duplicate merged into survivor in its scope when it was
 * merged (owner, or one of rep's territories)? */
fss_status fss__repo_merged_in_scope(fss_conn *c, const char *rep,
                                     const fs_id *survivor, bool *in,
                                     fs_error *err);
fss_status fss__repo_merge_children(fss_conn *c, int64_t merge_id,
                                    int64_t children, fs_error *err);
/* Merges by id, of one survivor (NULL: all). */
fss_status fss__repo_merges_list(fss_conn *c, const fs_id *survivor,
                                 fss_merge_item_fn fn, void *arg, fs_error *err);
/* ---- back-office accounts, sessions, login failures, audit log
 * (console, issue #15; fss_repo_console.c) ----
 * The rules (hashing, expiry, rate limits, roles) live in fss_account.c;
 * these functions only read and write rows. */
typedef struct fss_user_row {
    int64_t id;
    char name[FSS_USER_NAME_MAX + 1];
    char role[16];
    char pw_hash[FSS_PWHASH_MAX];
    bool disabled;
    int64_t created_at;
} fss_user_row;
/* FSS_EEXISTS when the name is taken; *id_out the new user's id. */
fss_status fss__repo_user_add(fss_conn *c, const char *name, const char *role,
                              const char *pw_hash, int64_t now_ms,
                              int64_t *id_out, fs_error *err);
fss_status fss__repo_user_get(fss_conn *c, const char *name, fss_user_row *out,
                              bool *found, fs_error *err);
fss_status fss__repo_user_territory_add(fss_conn *c, int64_t user,
                                        const char *code, fs_error *err);
/* A user's territories by code, through fn. */
typedef fss_status (*fss_text_fn)(const char *text, void *arg, fs_error *err);
fss_status fss__repo_user_territories(fss_conn *c, int64_t user, fss_text_fn fn,
                                      void *arg, fs_error *err);
/* Users by name; territories one row each (NULL for none), name order. */
typedef struct fss_user_item {
    const char *name, *role, *territory;
    bool disabled;
    int64_t created_at;
} fss_user_item;
typedef void (*fss_user_item_fn)(const fss_user_item *u, void *arg);
fss_status fss__repo_users_list(fss_conn *c, fss_user_item_fn fn, void *arg,
                                fs_error *err);
fss_status fss__repo_user_set_disabled(fss_conn *c, int64_t user, bool disabled,
                                       fs_error *err);
fss_status fss__repo_user_set_password(fss_conn *c, int64_t user,
                                       const char *pw_hash, fs_error *err);
/* Does territory `code` exist? */
fss_status fss__repo_territory_exists(fss_conn *c, const char *code, bool *found,
                                      fs_error *err);

fss_status fss__repo_session_add(fss_conn *c, const uint8_t id_hash[32],
                                 int64_t user, const char *csrf, int64_t now_ms,
                                 int64_t expires_ms, fs_error *err);
/* A live session (not revoked, not expired at now_ms, its user enabled):
 * *found, and its user's row and CSRF token. */
fss_status fss__repo_session_get(fss_conn *c, const uint8_t id_hash[32],
                                 int64_t now_ms, fss_user_row *user,
                                 char csrf[FSS_CSRF_LEN + 1], int64_t *expires_ms,
                                 bool *found, fs_error *err);
fss_status fss__repo_session_revoke(fss_conn *c, const uint8_t id_hash[32],
                                    fs_error *err);
/* Revokes every session of a user (disable, password change). */
fss_status fss__repo_sessions_revoke_user(fss_conn *c, int64_t user,
                                          fs_error *err);

/* Failed logins of an account name in the window that began at
 * *window_start (0 fails when none is recorded since since_ms). */
fss_status fss__repo_login_fails(fss_conn *c, const char *name, int64_t since_ms,
                                 int64_t *fails, int64_t *window_start,
                                 fs_error *err);
/* Counts one failure (a window older than since_ms restarts at now_ms);
 * forgets other names' windows that ended before since_ms. */
fss_status fss__repo_login_fail_add(fss_conn *c, const char *name,
                                    int64_t since_ms, int64_t now_ms,
                                    fs_error *err);
fss_status fss__repo_login_fails_clear(fss_conn *c, const char *name,
                                       fs_error *err);

typedef struct fss_audit_item {
    int64_t id, at, status;
    const char *actor, *action, *target, *remote;
} fss_audit_item;
fss_status fss__repo_audit_add(fss_conn *c, const fss_audit_item *a,
                               fs_error *err);
typedef void (*fss_audit_item_fn)(const fss_audit_item *a, void *arg);
/* Newest first, ids below before_id (0: from the newest), at most limit. */
fss_status fss__repo_audit_list(fss_conn *c, int64_t before_id, int64_t limit,
                                fss_audit_item_fn fn, void *arg, fs_error *err);

/* Territory checks before a scoped change (terr NULL: always *in). Is the
 * customer row (e, id) hangs off in one of terr? Is the device's rep a
 * member of one? Is the conflict record's customer in one? */
fss_status fss__repo_row_in_territories(fss_conn *c, const fs_entity *e,
                                        const fs_id *id,
                                        const char *const *terr, bool *in,
                                        fs_error *err);
fss_status fss__repo_device_in_territories(fss_conn *c, const fs_id *device,
                                           const char *const *terr, bool *in,
                                           fs_error *err);
fss_status fss__repo_conflict_in_territories(fss_conn *c, int64_t id,
                                             const char *const *terr, bool *in,
                                             fs_error *err);
/* The customers list of the console (GET /admin/v1/customers): live
 * customers matching every given filter (NULL = any), in one of terr,
 * sorted by sort ("name", "territory", "segment"; "-" before it for
 * descending; ties by id), the page [offset, offset + limit); *total the
 * count of all matches. text matches, as a substring after both are
 * folded (fs_fold.h: case, accents, fullwidth; any script), the
 * customer's name, address or tags or the name or email of one of its
 * contacts (fss_search, fss_repo_search.c). */
typedef struct fss_customer_query {
    const char *territory, *owner, *segment, *text, *sort;
    int64_t limit, offset, count_cap; /* count_cap: *total counts at most this (0: all) */
} fss_customer_query;
typedef struct fss_customer_item {
    fs_id id;
    const char *name, *address, *phone, *segment, *territory, *owner,
        *owner_name;
    double lat, lon;
    bool has_lat, has_lon;
} fss_customer_item;
typedef void (*fss_customer_item_fn)(const fss_customer_item *c, void *arg);
fss_status fss__repo_customers_list(fss_conn *c, const fss_customer_query *q,
                                    const char *const *terr, int64_t *total,
                                    fss_customer_item_fn fn, void *arg,
                                    fs_error *err);
/* The visits list (GET /admin/v1/visits): live visits whose time t =
 * COALESCE(checkin_at, checkout_at, planned_at) is in [*from_ms, *to_ms)
 * (NULL: open), of rep, of customers of territory, with status (each NULL
 * = any), of customers in terr; by t ("time", "-time" the default), ties
 * by id; the page [offset, offset + limit); *total every match. */
typedef struct fss_visit_query {
    const int64_t *from_ms, *to_ms;
    const char *rep, *territory, *status, *sort;
    int64_t limit, offset, count_cap; /* as fss_customer_query */
    /* keyset paging: only the visits after (*after_t, *after_id) in the
     * sort's order (both set or both NULL); *total still counts them all */
    const int64_t *after_t;
    const fs_id *after_id;
} fss_visit_query;
typedef struct fss_visit_row {
    fs_id id, customer;
    const char *customer_name, *territory, *rep, *rep_name, *status, *outcome,
        *verification, *time_check;
    int64_t planned_at, checkin_at, checkout_at;
    bool has_planned_at, has_checkin_at, has_checkout_at;
    double checkin_lat, checkin_lon, lat, lon; /* lat/lon: the customer's */
    bool has_checkin, has_customer_pos;
} fss_visit_row;
typedef void (*fss_visit_row_fn)(const fss_visit_row *v, void *arg);
fss_status fss__repo_visits_list(fss_conn *c, const fss_visit_query *q,
                                 const char *const *terr, int64_t *total,
                                 fss_visit_row_fn fn, void *arg, fs_error *err);
/* The quotes list (GET /admin/v1/quotes): live quotes with status,
 * currency, rep, customer territory (each NULL = any) of customers in
 * terr, newest id first ("-id", default) or "id"; the page; *total every
 * match. fn may read (not write) through c. */
typedef struct fss_quote_query {
    const char *status, *currency, *rep, *territory, *sort;
    int64_t limit, offset, count_cap; /* as fss_customer_query */
} fss_quote_query;
typedef struct fss_quote_row {
    fs_id id, customer;
    const char *customer_name, *territory, *rep, *rep_name, *status, *currency;
    int64_t valid_until;
    bool has_valid_until;
} fss_quote_row;
typedef void (*fss_quote_row_fn)(const fss_quote_row *q, void *arg);
fss_status fss__repo_quotes_list(fss_conn *c, const fss_quote_query *q,
                                 const char *const *terr, int64_t *total,
                                 fss_quote_row_fn fn, void *arg, fs_error *err);
/* The conflict records about rows under customer `cust`, newest first, at
 * most limit. */
fss_status fss__repo_customer_conflicts(fss_conn *c, const fs_id *cust,
                                        int64_t limit, fss_conflict_item_fn fn,
                                        void *arg, fs_error *err);
/* The Today numbers (GET /admin/v1/today) within terr: visits completed
 * (checked in) and planned in [day_start, day_end), devices not revoked
 * seen since day_start and those silent since before silent_before (never
 * seen: enrolled before it), open conflict records, and open records of
 * changes the server refused (rules scope and invalid) that devices still
 * show. */
typedef struct fss_today {
    int64_t visits_done, visits_planned, devices_synced, devices_silent,
        open_conflicts, rejected_waiting;
} fss_today;
fss_status fss__repo_today(fss_conn *c, const char *const *terr,
                           int64_t day_start, int64_t day_end,
                           int64_t silent_before, fss_today *out,
                           fs_error *err);
/* The paged devices list (GET /admin/v1/devices): devices of rep, of the
 * reps of territory, revoked or not (each NULL = any), of the reps of
 * terr; by sort ("created_at", the default, "last_seen" (never: first),
 * "name"; "-" before it: descending), ties by id; the page; *total every
 * match up to count_cap (0: all). */
typedef struct fss_device_query {
    const char *rep, *territory, *sort;
    const bool *revoked;
    int64_t limit, offset, count_cap;
} fss_device_query;
fss_status fss__repo_devices_page(fss_conn *c, const fss_device_query *q,
                                  const char *const *terr, int64_t *total,
                                  fss_device_item_fn fn, void *arg,
                                  fs_error *err);
/* The paged conflicts list (GET /admin/v1/conflicts): records with status,
 * about a rep (the record's rep), about rows of customers of territory,
 * created in [*from_ms, *to_ms) (each NULL = any), of the customers of
 * terr (as fss__repo_conflicts_list); by id ("id" or "-id", the default:
 * newest first); the page; *total every match up to count_cap (0: all). */
typedef struct fss_conflict_query {
    const char *status, *rep, *territory, *sort;
    const int64_t *from_ms, *to_ms;
    int64_t limit, offset, count_cap;
} fss_conflict_query;
fss_status fss__repo_conflicts_page(fss_conn *c, const fss_conflict_query *q,
                                    const char *const *terr, int64_t *total,
                                    fss_conflict_item_fn fn, void *arg,
                                    fs_error *err);
/* What the console's live screens watch (GET changes): the sequence
 * counter, the number of open conflict records, the newest record's id and
 * the latest device sync; any change of these is a reason to reload. */
fss_status fss__repo_changes(fss_conn *c, int64_t out[4], fs_error *err);
/* Is the rep (UUID text) a member of one of terr? */
fss_status fss__repo_rep_in_territories(fss_conn *c, const char *rep,
                                        const char *const *terr, bool *in,
                                        fs_error *err);

/* ---- service tickets (SQLite: fss_repo_ticket.c) ----
 * Live tickets, oldest opened first (then id), of the customers of the
 * given territory codes (NULL = all; an empty list = none), in one of the
 * given statuses (NULL = any; a ticket without a status counts as open).
 * No write may happen inside fn. */
fss_status fss__repo_tickets(fss_conn *c, const char *const *territories, size_t nterr,
                             const char *const *statuses, size_t nstat,
                             fss_row_fn fn, void *arg, fs_error *err);

/* ---- customer names for the console (issue #15; fss_repo_names.c) ----
 * The names of the live customers among ids[0..n) that lie in terr (NULL =
 * all), by name then id; ids not there (unknown, deleted, another
 * territory) are left out. fn gets each (id, name). */
typedef void (*fss_name_fn)(const fs_id *id, const char *name, void *arg);
fss_status fss__repo_customer_names(fss_conn *c, const fs_id *ids, size_t n,
                                    const char *const *terr, fss_name_fn fn,
                                    void *arg, fs_error *err);

/* ---- the customer search's folded text (issue #15; fss_repo_search.c) ----
 * fss_search(id, folded): per customer, the fold of the FS_FIELD_SEARCH
 * fields of it and of its live rows below (contacts), each field folded on
 * its own and joined by "\n". put rebuilds the text of a saved row's
 * customer (root) from the stored rows (called by fss__save_row and the
 * write-behind, after the row is written; rows of entities without
 * searchable fields or without a customer are skipped); put_many does it
 * once per customer of n rows of one entity; backfill rebuilds every
 * customer's (the migration that made the table). fss__search_pattern:
 * "%fold(q)%" with LIKE's wildcards escaped by '\\' (malloc'd; NULL when
 * out of memory). */
fss_status fss__repo_search_put(fss_conn *c, const fs_row *row,
                                const fs_id *root, fs_error *err);
fss_status fss__repo_search_put_many(fss_conn *c, const fs_row *const *rows,
                                     const fs_id *const *roots, size_t n,
                                     fs_error *err);
fss_status fss__repo_search_backfill(fss_conn *c, fs_error *err);
/* Does saving row over orig (found: orig exists) change what the search
 * text holds: a new or deleted row, or a searchable field's value? A
 * save that changes only other fields (analyze's values, an owner) does
 * not rebuild the text. */
bool fss__search_changed(const fs_row *orig, const fs_row *row, bool found);
char *fss__search_pattern(const char *q);

#endif /* FSS_REPO_H */
