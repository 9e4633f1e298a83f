/*
 * fss_int.h - private declarations shared by the files of libfsserver.
 *
 * The server handle, the connection pool, the byte-buffer and JSON writer
 * helpers, metrics, and the entry points each file offers the others. Names
 * are fss__* for internal non-static functions.
 */
#ifndef FSS_INT_H
#define FSS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "fs_proto.h"
#include "fs_server.h"
#include "fss_repo.h"

/* Routes, for metrics. */
enum {
    FSS_ROUTE_SYNC, FSS_ROUTE_ENROLL, FSS_ROUTE_HEALTH, FSS_ROUTE_METRICS,
    FSS_ROUTE_ADMIN, FSS_ROUTE_OTHER, FSS_ROUTE_COUNT
};
#define FSS_LAT_BUCKETS 10

typedef struct fss_metrics {
    pthread_mutex_t mu;
    uint64_t requests[FSS_ROUTE_COUNT][6]; /* by status class 0..5 (1xx..5xx) */
    uint64_t lat_bucket[FSS_ROUTE_COUNT][FSS_LAT_BUCKETS + 1];
    double lat_sum[FSS_ROUTE_COUNT];
    uint64_t rows_pushed, rows_pulled, exits_sent, batches_replayed;
    uint64_t push_rereads; /* fss_sync.c sync_push: reads made again under the lock */
    uint64_t push_reads_kept; /* ... and kept: the counter moved, not their rows */
    uint64_t pulls[3];   /* by fss_pull_plan (AUTO unused) */
    uint64_t connections; /* HTTP connections accepted (fss_http.c) */
    uint64_t conflicts[FS_RULE_LAST + 1];
    uint64_t rejects[FS_REASON_INVALID + 1];
    uint64_t refusals[FS_PROTO_ERR_INTERNAL + 1]; /* error bodies by code */
} fss_metrics;

/* Failed authentications per client address (fss_rate.c): an exact count
 * per address (IPv6 per /64) in a fixed-size table, plus one shared
 * overflow entry for addresses the table cannot hold. */
#define FSS_RATE_CAP 4096
#define FSS_RATE_PROBES 32
typedef struct fss_rate_entry {
    uint8_t key[16];
    uint64_t window_start_s;
    unsigned fails;
    bool used;
} fss_rate_entry;
typedef struct fss_rate_table {
    fss_rate_entry e[FSS_RATE_CAP];
    fss_rate_entry overflow;
    uint64_t seed; /* random per server: probe runs cannot be aimed at */
} fss_rate_table;
/* The 16-byte key of a textual address (IPv4 mapped, IPv6 cut to /64, not
 * an address: all zero). */
void fss_rate_key(const char *remote, uint8_t key[16]);
/* Failures counted against remote's address in the current window. */
unsigned fss_rate_fails(fss_rate_table *t, const char *remote, uint64_t now_s,
                        unsigned window_s);
/* Counts one failure against remote's address. */
void fss_rate_add(fss_rate_table *t, const char *remote, uint64_t now_s,
                  unsigned window_s);

/* The business calendar (fss_report.c): the UTC instant each local day of
 * the business time zone begins, computed once when the server opens. No
 * table (ndays 0) means UTC. */
typedef struct fss_calendar {
    char tz[72];
    int64_t first_day;     /* days since 1970-01-01 of midnight_ms[0] */
    int64_t *midnight_ms;  /* owned, ndays entries, ascending */
    size_t ndays;
} fss_calendar;
fss_status fss__calendar_open(const char *tz, fss_calendar *cal, fs_error *err);
void fss__calendar_close(fss_calendar *cal);
/* The business day (days since 1970-01-01, local) of Unix ms. */
int64_t fss__calendar_day(const fss_calendar *cal, int64_t ms);
/* "YYYY-MM-DD" to days since 1970-01-01 (false when it is not a date). */
bool fss__parse_date(const char *s, int64_t *day);
/* The UTC instant (Unix ms) local day `day` begins. */
int64_t fss__calendar_start(const fss_calendar *cal, int64_t day);

struct fss_server {
    fss_config cfg;
    char *console_csp;   /* FSS_CONSOLE_CSP with the map tiles' origin, or NULL */
    fss_calendar calendar; /* business_tz's days (fss_report.c) */
    char *db_path;       /* owned copy */
    char *store;         /* owned copy or NULL (PostgreSQL conninfo) */
    char *admin_token;   /* owned copy or NULL */
    fss_conn *conns;     /* pool */
    unsigned nconns;
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    /* Connections inside fss__begin_immediate, waiting for the write lock:
     * a long job writing in batches (analyze) lets them in between its
     * batches (fss__yield_to_writers). */
    atomic_uint writers_waiting;
    /* Nanoseconds this process's transactions held the write lock, from
     * fss__begin_immediate / fss__lock_late to their end (metrics:
     * fieldsync_write_lock_seconds_total). */
    atomic_uint_fast64_t write_lock_ns;

    pthread_mutex_t clock_mu;
    fs_hlc clock;        /* the server's HLC */

    fss_metrics metrics;

    pthread_mutex_t rate_mu;
    fss_rate_table rate;

    pthread_mutex_t log_mu;
    uint64_t next_request_id;
    char request_prefix[9];    /* random per process: request_id unique
                                  across restarts (fss_http.c) */

    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_mutex_t flight_mu;
    pthread_cond_t flight_cv;
    unsigned in_flight;
    bool stopping;
};

/* Entities filtered by scope: customers and everything under them
 * (products go to everyone). The pull (fss_sync.c and its repository)
 * uses it. */
static inline bool fss__scoped_entity(const fs_entity *e)
{
    return e->parent >= 0 || strcmp(e->name, "customer") == 0;
}

/* The fixed device id of server-side writes (admin edits, stamps). */
extern const fs_id fss_server_device;

/* ---- util (fss_util.c) ---- */
void fss_buf_add(fss_buf *b, const void *p, size_t n);
void fss_buf_puts(fss_buf *b, const char *s);
void fss_buf_printf(fss_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* JSON string literal with escaping (n bytes of s). */
void fss_json_str(fss_buf *b, const char *s, size_t n);
void fss_json_cstr(fss_buf *b, const char *s); /* NULL -> null */
void fss_json_id(fss_buf *b, const fs_id *id);
void fss_json_value(fss_buf *b, const fs_value *v);
uint64_t fss_now_ms(void);
fss_status fss__fail(fs_error *err, fss_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* SHA-256 via GnuTLS. */
void fss_sha256(const void *p, size_t n, uint8_t out[32]);
bool fss_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
fss_status fss_random(void *out, size_t n, fs_error *err);
void fss_hex(const uint8_t *p, size_t n, char *out); /* 2n chars + NUL */

/* ---- server clock (fss_db.c); the store itself: fss_repo.h ---- */
fs_hlc fss__tick(fss_server *s);
void fss__clock_recv(fss_server *s, fs_hlc remote);

/* Compares (owner_rep, territory, deleted) of two customer rows: what
 * decides which reps see it (fss_write.c). */
bool fss__customer_placement_eq(const fs_row *a, const fs_row *b);

/* ---- scope changes, conflict records and server writes (fss_write.c) ---- */
/* After a customer's owner/territory/tombstone changed: re-sequence its
 * subtree for reps that gained it and write exits for reps that lost it. */
fss_status fss__scope_changed(fss_conn *c, const fs_id *cust,
                              const fss_repset *before, fs_exit_reason why,
                              fs_error *err);
/* The save half of every write (fss_write.c), device or server: saves the
 * merged row with a fresh seq if it differs from orig (*saved), records
 * what a new tombstone hides from writes saved after `horizon`, and re-scopes
 * a customer whose placement moved (before: its reps before the write).
 * Inside the caller's write transaction. */
fss_status fss__save_merged(fss_conn *c, const fs_row *orig, const fs_row *row,
                            bool found, const fss_repset *before,
                            int64_t horizon, bool *saved, fs_error *err);
/* The one door for server-side writes (imports, admin edits, conflict
 * resolutions, the demo loader): merges a server-origin change into the
 * stored row, runs the row rules (fs_row_check) on the merged row - FSS_EINVAL
 * with the rule's message, nothing saved - and saves it (if it changed),
 * handling scope changes of customers. Conflicts are stored. */
fss_status fss__server_write(fss_server *s, fss_conn *c, fs_change *chg,
                             fs_error *err);
/* The same, with the exit reason devices get when a customer leaves their
 * scope (FS_EXIT_UNKNOWN: reassigned / deleted as usual), e.g. reclaimed. */
fss_status fss__server_write_why(fss_server *s, fss_conn *c, fs_change *chg,
                                 fs_exit_reason why, fs_error *err);
/* A person's decision on an open conflict record: the same, except that an
 * e-sign or lifecycle field takes the chosen state even where the lattice
 * ranks the stored one higher (fs_merge_ctx.decision). */
fss_status fss__server_decide(fss_server *s, fss_conn *c, fs_change *chg,
                              fs_error *err);
fss_status fss__save_merged_why(fss_conn *c, const fs_row *orig,
                                const fs_row *row, bool found,
                                const fss_repset *before, int64_t horizon,
                                fs_exit_reason why, bool *saved, fs_error *err);
/* ---- offboarding (fss_owner.c) ---- */
/* FSS_ENOTFOUND for an unknown rep, FSS_EINVAL (saying so, and what was
 * refused: `doing`) for a deactivated one: an offboarded rep gets no
 * customer, territory or enrollment code until it is reactivated. */
fss_status fss__rep_active(fss_conn *c, const char *rep, const char *doing,
                           fs_error *err);
/* ---- the public pool (fss_pool.c) ---- */
/* Judges rep's claim on the stored customer by fs_pool_claim and records
 * it (unless the rep owns it already); *won: the claim stands (the caller
 * makes the rep the owner), else why says why not in plain words. */
fss_status fss__claim_judge(fss_server *s, fss_conn *c, const char *rep,
                            const fs_id *device, const fs_row *stored,
                            bool *won, char *why, size_t cap, fs_error *err);
/* ---- merges of duplicates (fss_dedup.c) ---- */
/* Where a write to customer id goes: *to = id, or the survivor it was
 * merged into (following later merges); *first (optional) gets the first
 * redirect's row (the duplicate's placement when merged). */
fss_status fss__redirect_of(fss_conn *c, const fs_id *id, fs_id *to,
                            fss_merged_row *first, bool *redirected,
                            fs_error *err);
/* ---- deletes that hide subtrees (fss_hide.c) ---- */
/* The nearest deleted ancestor of a row whose parent is (pe, parent), if
 * any: *hidden says whether there is one, *out names it. */
fss_status fss__find_hider(fss_conn *c, const fs_entity *pe, const fs_id *parent,
                           fs_hider *out, bool *hidden, fs_error *err);
/* The nearest deleted ancestor of a stored or merged row. */
fss_status fss__row_hider(fss_conn *c, const fs_row *row, fs_hider *out,
                          bool *hidden, fs_error *err);
/* A row's tombstone just went from live to deleted (and no ancestor hid it
 * already): records every write below it the delete had not seen
 * (fs_hide_row); rows saved after seq `horizon` changed after the deleter's
 * view (INT64_MAX for back-office and server deletes). */
fss_status fss__hide_subtree(fss_conn *c, const fs_row *deleted, int64_t horizon,
                             fs_error *err);
/* Un-tombstones row (e, id) if deleted and every deleted ancestor of it,
 * each with a fresh server stamp through fss__server_write. The deletes it
 * undid (at most FSS_HIDE_MAX_DEPTH) go to restored[], *n of them. */
#define FSS_HIDE_MAX_DEPTH 8
fss_status fss__restore_path(fss_server *s, fss_conn *c, const fs_entity *e,
                             const fs_id *id, fs_hider restored[FSS_HIDE_MAX_DEPTH],
                             size_t *n, fs_error *err);

/* True for application/x-protobuf or application/protobuf (parameters
 * allowed); the one Content-Type check of /v1/enroll and /v1/sync. */
bool fss__ctype_is_protobuf(const char *ct);

/* fss_quote.c: a device change to a contract that writes amount, currency
 * or quote_id must leave them equal to its quote's derived total and
 * currency. *ok = false with a readable reason in why (cap bytes) if not. */
fss_status fss__contract_quote_check(fss_conn *c, const fs_change *chg,
                                     const fs_row *merged, bool *ok, char *why,
                                     size_t cap, fs_error *err);

/* Stores conflict records (rep may be NULL), each with its own readable
 * detail from fs_conflict_describe. */
fss_status fss__store_conflicts(fss_conn *c, const fs_conflict_list *l,
                                const char *rep, fs_error *err);
/* The audit records of a change rejected before merge (scope, invalid,
 * undecodable): one per write, the refused value as `yours`
 * (fs_conflict_refused), each with the same detail. chg->entity may be NULL
 * (stored as entity "unknown"). */
fss_status fss__store_rejection(fss_conn *c, const fs_change *chg, fs_rule rule,
                                const char *rep, const char *detail, fs_error *err);

/* ---- auth (fss_auth.c) ---- */
typedef struct fss_device {
    fs_id id;
    char rep[FS_ID_STRLEN + 1];
    bool revoked;
    /* Offboarded with --drain and not drained yet: its pushes are judged
     * against the drain scope, nothing is pulled, then it is wiped. A
     * customer it creates goes to heir ("" = the pool). */
    bool draining;
    char heir[FS_ID_STRLEN + 1];
} fss_device;
typedef enum fss_auth_result {
    FSS_AUTH_OK, FSS_AUTH_MISSING, FSS_AUTH_BAD, FSS_AUTH_REVOKED,
    FSS_AUTH_LIMITED,
    FSS_AUTH_DRAIN     /* revoked, one drain of the outbox left */
} fss_auth_result;
/* Does not record the request on the device's row: the caller does
 * (fss__repo_device_report, or fss__repo_device_seen). */
fss_auth_result fss__authenticate(fss_server *s, fss_conn *c,
                                  const char *authorization,
                                  const char *remote, fss_device *dev);
void fss_handle_enroll(fss_server *s, const fss_request *req,
                       fss_response *resp);
/* Rate-limit bookkeeping. */
bool fss__rate_limited(fss_server *s, const char *remote);
void fss__rate_fail(fss_server *s, const char *remote);

/* ---- back-office accounts, sessions, audit (fss_account.c) ---- */
typedef enum fss_role {
    FSS_ROLE_ADMIN, FSS_ROLE_MANAGER, FSS_ROLE_VIEWER
} fss_role;
#define FSS_ACTOR_MAX_TERR 64
#define FSS_SESSION_COOKIE "fss_session"
/* Who makes an admin request: the bearer token (an admin) or a logged-in
 * user. terr_list points into terr: an actor is never copied. */
typedef struct fss_actor {
    bool token;
    int64_t user_id;
    char name[FSS_USER_NAME_MAX + 1];
    fss_role role;
    char terr[FSS_ACTOR_MAX_TERR][80];
    const char *terr_list[FSS_ACTOR_MAX_TERR + 1]; /* NULL-terminated */
    size_t nterr;
    char csrf[FSS_CSRF_LEN + 1];
    uint8_t session[32];     /* SHA-256 of the session id */
    int64_t expires_ms;
} fss_actor;
/* THE territory restriction of an actor, passed to every repository query
 * that lists, counts or changes customer-bound rows: NULL for an admin
 * (everything), else the NULL-terminated list of the actor's territory
 * codes. docs/ARCHITECTURE.md ("Back-office accounts and scope"). */
const char *const *fss__actor_territories(const fss_actor *a);
/* "token" or "user:NAME": the actor in the audit and request logs. */
void fss__actor_label(const fss_actor *a, char *out, size_t cap);
const char *fss__role_name(fss_role r);
/* The user behind the session cookie in `cookie` (a Cookie header), if it
 * names a live session. */
fss_status fss__session_actor(fss_server *s, const char *cookie, fss_actor *a,
                              bool *found, fs_error *err);
typedef enum fss_login_result {
    FSS_LOGIN_OK, FSS_LOGIN_BAD, FSS_LOGIN_LIMITED
} fss_login_result;
/* Checks a name and password under the per-address and per-account limits
 * and on success opens a session: sid gets the session id (hex) for the
 * cookie, *a the user. */
fss_status fss__login(fss_server *s, const char *name, const char *password,
                      const char *remote, fss_actor *a,
                      char sid[FSS_CSRF_LEN + 1], fss_login_result *res,
                      fs_error *err);
fss_status fss__logout(fss_server *s, const fss_actor *a, fs_error *err);
/* A user changes their own password (current one checked). *ok false
 * when current is wrong. */
fss_status fss__own_password(fss_server *s, const fss_actor *a,
                             const char *current, const char *password,
                             bool *ok, fs_error *err);
/* The admin lists and reports under a territory restriction (terr from
 * fss__actor_territories; NULL = all). The public fss_admin_* lists are
 * these with NULL. */
/* GET customer-names?ids=ID,...: [{id, name}] of those live customers
 * within terr (fss_names.c); FSS_EINVAL for a bad id or more than
 * FSS_NAMES_MAX (a page's worth; the console asks in chunks). */
#define FSS_NAMES_MAX 100
fss_status fss__admin_customer_names(fss_server *s, const char *ids_text,
                                     const char *const *terr, fss_buf *out,
                                     fs_error *err);
/* The console's CSP with the origin of the tile URL template `url` added
 * to img-src (malloc'd into *csp); FSS_EINVAL naming what is wrong with a
 * URL that is not http(s)://host/path with {z}, {x} and {y} (fss_tiles.c). */
fss_status fss__tiles_csp(const char *url, char **csp, fs_error *err);
/* activity: csv writes CSV (a header line, one line per rep and day). */
fss_status fss__admin_activity(fss_server *s, const fss_activity_query *q,
                               const char *const *terr, bool csv, fss_buf *out,
                               fs_error *err);
fss_status fss__admin_reps_list(fss_server *s, const char *const *terr,
                                fss_buf *out, fs_error *err);
fss_status fss__admin_territories_list(fss_server *s, const char *const *terr,
                                       fss_buf *out, fs_error *err);
fss_status fss__admin_devices_list(fss_server *s, const char *const *terr,
                                   fss_buf *out, fs_error *err);
fss_status fss__admin_conflicts_list(fss_server *s, const char *status,
                                     uint32_t limit, const char *const *terr,
                                     fss_buf *out, fs_error *err);
/* pipeline: csv writes "kind,status,currency,count,value,unpriced" lines
 * (kind quote or contract; a contract's value is its amount, unpriced its
 * no_amount). */
fss_status fss__admin_pipeline(fss_server *s, const char *const *terr, bool csv,
                               fss_buf *out, fs_error *err);
/* Is the thing a scoped change names inside terr? (NULL: yes) A row of
 * entity e (its customer's territory), a device (its rep's territories),
 * a conflict record (its row's customer). FSS_OK with *in false when not,
 * or when there is no such thing. */
fss_status fss__in_territories(fss_server *s, const char *const *terr,
                               const fs_entity *e, const fs_id *row,
                               const fs_id *device, int64_t conflict, bool *in,
                               fs_error *err);
/* The console's lists (fss_console.c): a page of customers as
 * {"items":[...],"total":N,"limit":L,"offset":O} or as CSV (header line,
 * RFC 4180, formula-safe cells). EINVAL for a bad limit, offset or sort. */
fss_status fss__admin_customers(fss_server *s, const fss_customer_query *q,
                                const char *const *terr, bool csv, fss_buf *out,
                                fs_error *err);
/* A page of visits (from/to: business days "YYYY-MM-DD", inclusive) as
 * {"items":[...],"total":N,"limit":L,"offset":O} or CSV. */
typedef struct fss_visits_args {
    const char *from, *to, *rep, *territory, *status, *sort;
    const char *cursor; /* a page's next_cursor: the page after it */
    int64_t limit, offset;
} fss_visits_args;
fss_status fss__admin_visits(fss_server *s, const fss_visits_args *a,
                             const char *const *terr, bool csv, fss_buf *out,
                             fs_error *err);
/* One customer (in terr, else ENOTFOUND) with its live contacts, visits,
 * quotes (with derived totals), contracts, tasks and conflict records. */
fss_status fss__admin_customer(fss_server *s, const fs_id *id, const char *const *terr,
                               fss_buf *out, fs_error *err);
/* A page of quotes with their derived totals, as JSON or CSV. */
fss_status fss__admin_quotes(fss_server *s, const fss_quote_query *q,
                             const char *const *terr, bool csv, fss_buf *out,
                             fs_error *err);
/* A page of devices (rep: UUID; territory: the devices of its reps;
 * revoked: "true" or "false") and of conflict records (status open, auto
 * or resolved; rep; territory: of the records' customers; from/to:
 * business days, inclusive, of created_at), as JSON pages or CSV. */
typedef struct fss_devices_args {
    const char *rep, *territory, *revoked, *sort;
    int64_t limit, offset;
} fss_devices_args;
fss_status fss__admin_devices(fss_server *s, const fss_devices_args *a,
                              const char *const *terr, bool csv, fss_buf *out,
                              fs_error *err);
typedef struct fss_conflicts_args {
    const char *status, *rep, *territory, *from, *to, *sort;
    int64_t limit, offset;
} fss_conflicts_args;
fss_status fss__admin_conflicts(fss_server *s, const fss_conflicts_args *a,
                                const char *const *terr, bool csv, fss_buf *out,
                                fs_error *err);
/* GET changes: {"version":"<16 hex>"}, a digest that moves whenever a row
 * is saved, a conflict record opens or closes, or a device syncs; the
 * console's live screens poll it and reload when it moves. */
fss_status fss__admin_changes(fss_server *s, fss_buf *out, fs_error *err);
/* One device / conflict record as the JSON object the lists give
 * (fss_admin.c). */
void fss__device_json(fss_buf *b, const fss_device_item *d);
void fss__conflict_json(fss_buf *b, const fss_conflict_item *k);
/* The Today numbers at now_ms (the business day of cfg.business_tz;
 * silent = not seen for 3 days) as one JSON object. */
fss_status fss__admin_today(fss_server *s, const char *const *terr, int64_t now_ms,
                            fss_buf *out, fs_error *err);
/* One CSV cell (a comma before it unless first; NULL = empty). */
void fss__csv_cell(fss_buf *b, const char *v, bool first);
/* The report `report`'s JSON (as built for GET reports/..., tickets) as
 * the CSV of its table `table` (NULL or "" = its default), header first
 * (fss_report_csv.c). FSS_EINVAL for a table it does not have. */
fss_status fss__report_csv(const char *report, const char *table, const fss_buf *json,
                           fss_buf *out, fs_error *err);
/* Is the rep (UUID text) a member of one of terr? (NULL: yes) */
fss_status fss__rep_in_territories(fss_server *s, const char *const *terr,
                                   const char *rep, bool *in, fs_error *err);

/* One audit entry (failures are reported on stderr, never block the
 * action, which has happened already). */
void fss__audit(fss_server *s, const char *actor, const char *action,
                const char *target, int status, const char *remote);

/* ---- responses (fss_reply.c) ---- */
void fss__error_proto(fss_server *s, fss_response *r, int http,
                      fs_proto_error_code code, bool wipe, const char *fmt,
                      ...) __attribute__((format(printf, 6, 7)));
/* The console (fss_static.c): paths it serves ("/", "/console/...",
 * "/vendor/..."), and the handler (GET and HEAD only). */
bool fss__static_path(const char *path);
void fss__handle_static(fss_server *s, const fss_request *req,
                        fss_response *resp);
void fss__error_json(fss_response *r, int http, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fss__respond_buf(fss_response *r, int http, const char *ctype,
                      fss_buf *b); /* steals b */
int fss__status_http(fss_status st);

/* ---- admin http (fss_admin_http.c) ---- */
void fss_handle_admin(fss_server *s, const fss_request *req,
                      fss_response *resp);

/* ---- metrics (fss_metrics.c) ---- */
void fss__metrics_init(fss_metrics *m);
void fss__metrics_destroy(fss_metrics *m);
void fss__metrics_request(fss_metrics *m, int route, int status, double ms);
void fss__metrics_add(fss_metrics *m, uint64_t pushed, uint64_t pulled,
                      uint64_t exits);
void fss__metrics_conflicts(fss_metrics *m, const fs_conflict_list *l);
void fss__metrics_reject(fss_metrics *m, fs_reason r);
void fss__metrics_refusal(fss_metrics *m, fs_proto_error_code c);
void fss__metrics_replay(fss_metrics *m);
void fss__metrics_push_reread(fss_metrics *m, bool kept);
void fss__metrics_pull(fss_metrics *m, fss_pull_plan plan);
void fss__metrics_connection(fss_metrics *m);

/* ---- a back-office write transaction (fss_admin.c) ----
 * A connection borrowed for one IMMEDIATE transaction: fss__tx_end commits
 * when st is FSS_OK (else rolls back), gives the connection back and
 * returns the final status. */
typedef struct fss_tx {
    fss_server *s;
    fss_conn *c;
} fss_tx;
fss_status fss__tx_begin(fss_server *s, fss_tx *t, fs_error *err);
fss_status fss__tx_end(fss_tx *t, fss_status st, fs_error *err);

#endif /* FSS_INT_H */
