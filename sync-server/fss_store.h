/*
 * fss_store.h - private to the implementation of the repository
 * (fss_repo.h) over the SQL driver (fss_sql.h): the connection layout, the
 * cached statements, the scope condition in SQL, and the helpers that turn
 * driver errors into fss_status. The same code and SQL text serve SQLite
 * and PostgreSQL.
 *
 * Only the files that implement the store include this header (fss_db.c,
 * fss_scope.c, fss_repo_*.c); every other server file sees fss_repo.h
 * alone.
 */
#ifndef FSS_STORE_H
#define FSS_STORE_H

#include "fss_sql.h"

#include "fs_store.h"
#include "fss_int.h"

#define FSS_STMT_CACHE 32

/* The statement_timeout and idle_in_transaction_session_timeout every
 * PostgreSQL connection sets: how long one statement, and one transaction
 * left idle, may hold locks (above all the sequence counter's row lock,
 * docs/ARCHITECTURE.md "Sequence numbers") before PostgreSQL ends it. */
#define FSS_PG_STATEMENT_TIMEOUT "30s"
#define FSS_PG_IDLE_TX_TIMEOUT "10s"

/* One store connection with its row store; used by one thread at a time.
 * The statements run for every saved row or checked change are prepared
 * once per connection (fss__conn_stmt) and finalized when the pool closes. */
#define FSS_SEARCH_ENTITIES 8
#define FSS_RESTAMP_TABLES 16
struct fss_conn {
    fss_sql *db;
    atomic_uint *writers_waiting; /* the server's (fss__begin_immediate) */
    atomic_uint_fast64_t *write_lock_ns; /* the server's; locked_at_ns: when
                                            this transaction took the lock */
    uint64_t locked_at_ns;
    fs_store *store;
    fss_stmt *next_seq;  /* fss__next_seq */
    fss_stmt *in_scope;  /* fss__customer_in_scope */
    fss_stmt *customer_reps; /* fss__customer_reps */
    fss_stmt *pull[2][2];    /* fss_sync.c: [plan][count?] */
    fss_stmt *scope_size;    /* fss_sync.c: customers in a scope */
    /* fss__repo_scope_size: the last scope size counted on this
     * connection (count(*) ... LIMIT `limit`, so exact only below it),
     * for `rep` at current seq `at`; reused by the next pages of a pull. */
    struct {
        char rep[40];
        int64_t at, limit, customers;
    } scope_seen;
    /* fss__stmt: statements run on every request, keyed by their SQL
     * literal's address. */
    struct {
        const char *sql;
        fss_stmt *st;
    } cached[FSS_STMT_CACHE];
    bool busy;
    /* The write transaction's sequence counter (fss__begin_immediate to
     * fss__commit / fss__rollback): the counter row is this transaction's
     * alone from BEGIN (its lock), so it is read once, numbers are handed
     * out here, and the last one is written back once, at commit
     * (docs/ARCHITECTURE.md, "Sequence numbers"). */
    bool seq_locked; /* inside fss__begin_immediate's transaction */
    bool seq_known;  /* seq holds the counter's value */
    bool seq_dirty;  /* numbers handed out that are not written back */
    int64_t seq;
    /* fss__begin_late's transaction before fss__lock_late: the counter
     * row's version (its xmin), its value and the other writers' counter
     * ('gen', fss__commit) when the transaction began (fss__repo_reads_fresh). */
    bool seq_late;
    int64_t seq_ver, seq_begin, gen_begin;
    fss_stmt *reads_fresh; /* fss__repo_reads_fresh */
    /* PostgreSQL, after fss__lock_late: the transaction's writes are
     * pipelined and go out with its COMMIT (fss_sql_pipeline). */
    bool pipelined;
    /* The request's row cache (fss_repo_batch.c): NULL when off. */
    struct fss_rowcache *rows;
    /* fss_repo_search.c: the statements reading a customer's searchable
     * fields, one per entity that has some. */
    struct fss_search_sel {
        fss_stmt *st[FSS_SEARCH_ENTITIES];
        size_t n;
        bool ready;
    } search;
    /* fss__restamp_subtree (fss_scope.c): the rows under a customer, and
     * an UPDATE of seq per entity table. */
    struct {
        fss_stmt *sel;
        fss_stmt *upd[FSS_RESTAMP_TABLES];
        size_t n;
    } restamp;
};

/* The scope condition on a customer row aliased `c`, the rep's UUID bound
 * at `rep` (an SQL parameter). The one definition of a rep's scope: the
 * scope check, the pull and the export all use it. */
#define FSS_SCOPE_COND(rep) "c.deleted = 0 AND " FSS_SCOPE_PLACEMENT(rep)
/* The placement half alone: the rep would see the customer were it not
 * deleted (fss_hide.c: writes under a deleted customer). */
#define FSS_SCOPE_PLACEMENT(rep)                                            \
    "(" FSS_SCOPE_BY_OWNER(rep) " OR " FSS_SCOPE_BY_TERRITORY(rep) ")"
/* Its two ways in, each answerable by one index of customer (the SCOPE
 * pull asks them as two arms of a UNION, fss_repo_sync.c). */
#define FSS_SCOPE_BY_OWNER(rep) "c.owner_rep = " rep
#define FSS_SCOPE_BY_TERRITORY(rep)                                         \
    "c.territory IN (SELECT territory FROM fss_rep_territories WHERE rep = " rep ")"

/* A territory restriction (NULL-terminated codes, NULL = all; see
 * fss__actor_territories) in SQL (fss_repo_console.c): appends
 * " AND col IN (?first, ?first+1, ...)" (nothing for NULL, a false
 * condition for an empty list); _bind binds the codes from ?first and
 * returns the next free parameter number. */
void fss__sql_terr_in(fss_buf *sql, const char *col, const char *const *terr,
                      int first);
int fss__sql_terr_bind(fss_stmt *st, const char *const *terr, int first);
/* The customer id a conflict record (aliased `alias`) belongs to, as an
 * SQL expression over the entity tables' root column. */
void fss__sql_conflict_customer(fss_buf *sql, const char *alias);

/* A device row (aliased d) and a conflict record (aliased k) as the lists
 * select them, and their conversion (fss_repo_admin.c; the strings are
 * the statement's until its next step). */
#define FSS_DEVICE_COLS                                                     \
    "d.id, d.rep, (SELECT name FROM fss_reps WHERE uuid = d.rep), d.name,"  \
    " d.created_at, d.last_seen, d.revoked, d.revoked_at,"                 \
    " d.pending_changes, d.rejected_changes, d.reported_at"
#define FSS_CONFLICT_COLS                                                   \
    "k.id, k.created_at, k.entity, k.row, k.field, k.has_base, k.base,"     \
    " k.theirs, k.yours, k.theirs_hlc, k.yours_hlc, k.theirs_device,"       \
    " k.yours_device, k.rule, k.yours_won, k.status, k.rep, k.detail,"      \
    " k.anc_entity, k.anc_row, k.resolved_by, k.resolution, k.resolved_at"
void fss__device_of(fss_stmt *st, fss_device_item *d);
void fss__conflict_of(fss_stmt *st, fss_conflict_item *k);

/* ---- one list query (fss_repo_list.c) ----
 * A list's " FROM ... WHERE ..." and the parameters its filters bound, in
 * order: _init with the FROM and the fixed WHERE; _text / _int append a
 * condition whose every '?' is one new parameter (skipped when the value
 * is NULL; the value is borrowed until _free); _terr the territory
 * restriction; _raw plain SQL. Then _count (at most cap matches, 0 = all)
 * and _rows (a page, ORDER BY order ASC|DESC, then tie) run the same
 * text. Errors name the list (`what`). */
#define FSS_LQ_PARAMS 48
typedef struct fss_lq {
    const char *what;
    fss_buf sql;
    int np;
    bool full;
    struct {
        const char *text;
        int64_t num;
        bool is_text;
        const fs_id *id; /* non-NULL: bound as a 16-byte blob */
    } p[FSS_LQ_PARAMS];
} fss_lq;
typedef void (*fss_lq_row_fn)(fss_stmt *st, void *ctx);
typedef struct fss_lq_sort {
    const char *name, *expr; /* ?sort=name (or -name) orders by expr */
} fss_lq_sort;
void fss__lq_init(fss_lq *q, const char *what, const char *from_where);
void fss__lq_raw(fss_lq *q, const char *sql);
void fss__lq_text(fss_lq *q, const char *cond, const char *v);
void fss__lq_int(fss_lq *q, const char *cond, const int64_t *v);
void fss__lq_id(fss_lq *q, const char *cond, const fs_id *v);
void fss__lq_terr(fss_lq *q, const char *col, const char *const *terr);
fss_status fss__lq_count(fss_conn *c, fss_lq *q, int64_t cap, int64_t *out,
                         fs_error *err);
fss_status fss__lq_rows(fss_conn *c, fss_lq *q, const char *select,
                        const char *order, bool desc, const char *tie,
                        int64_t limit, int64_t offset, fss_lq_row_fn row,
                        void *ctx, fs_error *err);
void fss__lq_free(fss_lq *q);
/* The expression sort names in tab ("-" before the name: *desc); NULL
 * when it names none. */
const char *fss__lq_sort(const fss_lq_sort *tab, size_t n, const char *sort,
                         bool *desc);
/* The request's row cache (fss_repo_batch.c): on, off (freed; every
 * transaction boundary), cleared (entries dropped, still on: after a write
 * the cache cannot follow); get answers a cached (e, id) like
 * fss__repo_row_load (false: not cached, or the cache is off); put records
 * a row as stored (row NULL: as absent). */
struct fss_rowcache;
fss_status fss__rowcache_on(fss_conn *c, fs_error *err);
void fss__rowcache_off(fss_conn *c);
void fss__rowcache_clear(fss_conn *c);
bool fss__rowcache_get(fss_conn *c, const fs_entity *e, const fs_id *id,
                       fs_row *row, fss_rowinfo *info, bool *found,
                       fss_status *rc, fs_error *err);
void fss__rowcache_put(fss_conn *c, const fs_entity *e, const fs_id *id,
                       const fs_row *row, const fss_rowinfo *info);
/* fss__save_row while the cache is on (write-behind): the row joins the
 * cache and a queue, and is written, with the queued rows of its entity in
 * multi-row upserts, before the next statement runs on the connection
 * (the driver's before-hook) - at the latest by the COMMIT. */
fss_status fss__rowcache_save(fss_conn *c, const fs_row *row, int64_t seq,
                              const fs_id *root, bool search, fs_error *err);

/* Finalizes the connection's search statements (fss_repo_search.c). */
void fss__search_sel_close(fss_conn *c);
/* Finalizes the connection's restamp statements (fss_scope.c). */
void fss__restamp_close(fss_conn *c);
fss_status fss__dbfail(fs_error *err, fss_sql *db, const char *what);
fss_status fss__exec(fss_conn *c, const char *sql, fs_error *err);
/* The statement cached in *slot, prepared from sql on first use (borrowed:
 * the caller resets it after use and never finalizes it). */
fss_status fss__conn_stmt(fss_conn *c, fss_stmt **slot, const char *sql,
                          fs_error *err);
/* The statement for `sql`, prepared on its first use by this connection
 * and kept: for queries every sync request runs (authentication, the
 * batch, the open conflicts), whose parsing was a fifth of a saturated
 * server's CPU (docs/BENCHMARKS.md, "The server's ceiling"). `sql` must be
 * a string literal: its address is the key. Give it back with
 * fss__stmt_done (reset, bindings cleared), never fss_finalize. Past
 * FSS_STMT_CACHE literals a statement is prepared for the one use and
 * fss__stmt_done finalizes it. */
fss_status fss__stmt(fss_conn *c, const char *sql, fss_stmt **out,
                     fs_error *err);
void fss__stmt_done(fss_conn *c, fss_stmt *st);

#endif /* FSS_STORE_H */
