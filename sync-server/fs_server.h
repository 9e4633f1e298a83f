/*
 * fs_server.h - the fieldsync sync server (public API of libfsserver).
 *
 * A server is opened from a config struct (central SQLite store, migrations,
 * a connection pool), optionally started as an HTTP server (libmicrohttpd,
 * thread pool) and stopped gracefully. Every HTTP route is also callable
 * in-process through fss_handle() on a request struct and a body buffer, so
 * tests and fuzzers can drive the sync handler without sockets. The admin
 * operations are plain C functions here as well: the JSON admin API and the
 * `sync-server` CLI subcommands both call them, so the two cannot drift.
 *
 * Ownership: the config's strings are borrowed for the lifetime of the
 * server. Everything returned through a pointer-to-pointer or an fss_buf is
 * new and owned by the caller (free with the matching *_free()). The server
 * handle is thread-safe: HTTP worker threads and the caller share it.
 *
 * Errors: fallible functions return fss_status (FSS_OK = 0) and fill an
 * optional caller-supplied fs_error with the same code and a readable text.
 */
#ifndef FS_SERVER_H
#define FS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fs_conflict.h"
#include "fs_score.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. Appended, never renumbered. */
typedef enum fss_status {
    FSS_OK = 0,
    FSS_EINVAL,     /* bad argument or bad input (maps to HTTP 400) */
    FSS_ENOMEM,     /* allocation failed */
    FSS_EDB,        /* SQLite or store failure */
    FSS_EHTTP,      /* the HTTP daemon could not start */
    FSS_ENOTFOUND,  /* no such rep, device, territory, conflict, row (404) */
    FSS_EEXISTS,    /* already exists (409) */
    FSS_ETLS,       /* TLS requested but unavailable or key/cert unreadable */
    FSS_EIMPORT,    /* an import had bad rows; nothing was written (422) */
    FSS_ERANDOM     /* the OS random source failed */
} fss_status;

const char *fss_strerror(fss_status st);

/* Growable owned byte buffer (JSON output, HTTP bodies). */
typedef struct fss_buf {
    char *data; /* NUL-terminated when len > 0 */
    size_t len, cap;
    bool oom;   /* an append failed; the content is truncated */
} fss_buf;
void fss_buf_free(fss_buf *b);

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

/* How a pull finds the rows of a device's scope (fss_sync.c explains both).
 * AUTO chooses per request; the others force one plan, for tests that
 * prove both give the same pages, and for diagnosis. */
typedef enum fss_pull_plan {
    FSS_PULL_AUTO = 0,
    FSS_PULL_SEQ,              /* walk the changes since the cursor */
    FSS_PULL_SCOPE             /* look up the scope's customers' rows */
} fss_pull_plan;

typedef struct fss_config {
    const char *db_path;       /* SQLite file; created on first start */
    const char *store;         /* PostgreSQL: a libpq connection string or
                                  postgresql:// URI (PG* variables fill the
                                  rest); when set, used instead of db_path */
    const char *bind_addr;     /* IPv4/IPv6 literal; default "127.0.0.1" */
    uint16_t port;             /* 0 = ephemeral (read back fss_server_port) */
    unsigned threads;          /* HTTP worker threads; default 4 */
    uint32_t page_size;        /* rows per pull when the device asks 0; 500 */
    uint32_t max_page_size;    /* cap on a device's page_size; 5000 */
    unsigned deflate_level;    /* zlib level of compressed sync answers,
                                  1-9; 1 (fss_sync.c: sync_reply) */
    size_t max_body;           /* bytes on the wire per request; 8 MiB */
    size_t max_inflated;       /* bytes after inflating; 32 MiB */
    uint64_t max_ahead_ms;     /* clock guard for device stamps; 5 min */
    double geofence_m;         /* visit verification radius; 200 m */
    uint64_t time_check_ms;    /* capture time vs HLC tolerance; 10 min */
    uint32_t enroll_ttl_s;     /* default code lifetime; 7 days */
    const char *admin_token;   /* admin API bearer token; NULL = admin API off */
    const char *tls_cert_pem;  /* PEM text (not a path); NULL = plain HTTP */
    const char *tls_key_pem;
    bool wal;                  /* journal_mode=WAL (default true) */
    unsigned auth_fail_limit;  /* bad tokens per address before 429; 10 */
    unsigned auth_fail_window_s; /* window of that count; 60 */
    unsigned drain_timeout_s;  /* graceful stop waits this long; 30 */
    FILE *log;                 /* JSON-lines request log; NULL = none */
    fss_pull_plan pull_plan;   /* AUTO */
    const char *business_tz;   /* TZ database name reports count days in;
                                  NULL = "UTC" (docs/ARCHITECTURE.md) */
    fs_score_params score;     /* customer value and churn rules
                                  (fs_score_params_default) */
    uint64_t analyze_every_s;  /* `serve` runs analyze this often; 1 day;
                                  0 = never (run `sync-server analyze`) */
    unsigned analyze_batch;    /* customers per analyze transaction; 500
                                  (bounds its memory and how long it holds
                                  the store's writer lock) */
    /* The public pool (CRM.md section 5, conflict/fs_pool.h). */
    unsigned pool_reclaim_days; /* no follow-up this long: reclaimed; 60 */
    unsigned pool_warn_days;    /* the owner is warned this long before; 7 */
    unsigned pool_bar_days;     /* the former owner may not re-claim; 30 */
    unsigned pool_daily_quota;  /* claims per rep per 24 hours; 5 */
    uint64_t reclaim_every_s;   /* `serve` runs the reclaim this often; 1 hour;
                                   0 = never (`reclaim --now` from cron) */
    /* Back-office accounts (fss_account.c): */
    uint32_t session_ttl_s;    /* a console login lasts this long; 8 h */
    unsigned login_fail_limit; /* failed logins per account name before
                                  429; 5 */
    unsigned login_fail_window_s; /* window of that count; 900 */
    uint64_t survey_delay_s;   /* a resolved ticket's satisfaction task is
                                  due this long after resolving; 2 days */
    /* The console (fss_static.c): third-party scripts from Debian's
     * libjs-* packages under this folder ("leaflet/", "chart.js/"). */
    const char *vendor_root;   /* default "/usr/share/javascript" */
    /* The visit map's tiles: an http(s) URL template with {z}, {x}, {y}
     * (fss_tiles.c); its origin joins the console's img-src. NULL = no
     * tiles (points on a plain background). Must outlive the server. */
    const char *map_tiles;
} fss_config;

/* The console's Content-Security-Policy (fss_static.c): only the server's own files, no inline
 * script or style, no framing, no request anywhere else. */
#define FSS_CONSOLE_CSP                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; "            \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "       \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* Fills *cfg with the defaults documented above (db_path "fieldsync.db"). */
void fss_config_default(fss_config *cfg);

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct fss_server fss_server;

/* Opens (creating and migrating) the central store. *out is new; free with
 * fss_server_close. Returns OK, EINVAL, ENOMEM, EDB. */
fss_status fss_server_open(const fss_config *cfg, fss_server **out,
                           fs_error *err);
/* Starts the HTTP daemon. Returns OK, EHTTP, ETLS. */
fss_status fss_server_start(fss_server *s, fs_error *err);
/* The bound port (after start), 0 if not listening. */
uint16_t fss_server_port(const fss_server *s);
/* Graceful stop: stop accepting, let in-flight requests finish (bounded by
 * drain_timeout_s), stop the daemon. Idempotent. */
void fss_server_stop(fss_server *s);
/* Stops if needed, checkpoints the WAL, closes the store. Accepts NULL. */
void fss_server_close(fss_server *s);

/* ------------------------------------------------------------------------ */
/* In-process request handling (HTTP routes without sockets)                 */
/* ------------------------------------------------------------------------ */

typedef struct fss_request {
    const char *method;           /* "POST" */
    const char *path;             /* "/v1/sync" */
    const char *query;            /* raw query string or NULL (admin lists) */
    const char *content_type;     /* header values or NULL */
    const char *content_encoding;
    const char *authorization;
    const char *remote_addr;      /* for rate limiting and logs; may be NULL */
    const char *cookie;           /* Cookie header (console session) or NULL */
    const char *csrf_token;       /* X-CSRF-Token header or NULL */
    const uint8_t *body;          /* borrowed */
    size_t body_len;
} fss_request;

typedef struct fss_response {
    int status;                   /* HTTP status */
    const char *content_type;     /* static string */
    const char *content_encoding; /* static string or NULL */
    uint8_t *body;                /* owned (malloc); free with fss_response_free */
    size_t body_len;
    unsigned retry_after_s;       /* > 0: send Retry-After */
    char set_cookie[192];         /* Set-Cookie value, "" for none */
    const char *cache_control;    /* static string or NULL (the default) */
    bool console_headers;         /* the console's CSP and hardening headers */
    const char *csp;              /* that CSP when not FSS_CONSOLE_CSP (--map-tiles) */
    /* A pull page with more to come: its next_cursor, sent again as the
     * header Fieldsync-Next-Cursor so a client can ask for the page after
     * it before decoding this one (docs/PROTOCOL.md, "Pipelined pull"). */
    bool has_next;
    uint64_t next_cursor;
    /* Log fields. */
    char device[FS_ID_STRLEN + 1];
    char actor[80];               /* admin routes: who acted, "" for nobody */
    size_t rows_in, rows_out;
} fss_response;

void fss_response_free(fss_response *r);

/* Routes any request (every path the HTTP server serves). Never fails: every
 * problem becomes a 4xx/5xx response with a readable body. */
void fss_handle(fss_server *s, const fss_request *req, fss_response *resp);
/* POST /v1/sync alone (the fuzzing entry point). */
void fss_handle_sync(fss_server *s, const fss_request *req,
                     fss_response *resp);

/* ------------------------------------------------------------------------ */
/* Admin operations (shared by /admin/v1/ and the CLI)                       */
/* ------------------------------------------------------------------------ */

/* JSON output of every list/get operation is appended to *out. */

/* Adds a rep; *rep_out (optional) gets the new rep id. EEXISTS if the
 * email is taken. */
fss_status fss_admin_rep_add(fss_server *s, const char *name,
                             const char *email, fs_id *rep_out, fs_error *err);
fss_status fss_admin_reps_list(fss_server *s, fss_buf *out, fs_error *err);
/* Adds (or renames) a territory with a short code such as "north". */
fss_status fss_admin_territory_add(fss_server *s, const char *code,
                                   const char *name, fs_error *err);
fss_status fss_admin_territories_list(fss_server *s, fss_buf *out,
                                      fs_error *err);
/* Adds or removes a rep's membership of a territory. Customers entering the
 * rep's scope are re-sequenced so devices pull them; customers leaving it
 * produce scope exits (reason revoked). */
fss_status fss_admin_rep_territory(fss_server *s, const fs_id *rep,
                                   const char *territory, bool member,
                                   fs_error *err);
/* Reassigns a customer: owner_rep (NULL = keep, "" = clear) and territory
 * (NULL = keep, "" = clear). Through fs_merge as a server change. */
fss_status fss_admin_customer_assign(fss_server *s, const fs_id *customer,
                                     const char *owner_rep,
                                     const char *territory, fs_error *err);
/* Tombstones a customer (devices that had it get a scope exit "deleted"). */
fss_status fss_admin_customer_delete(fss_server *s, const fs_id *customer,
                                     fs_error *err);
/* Issues a single-use code for rep, valid ttl_s seconds (0 = config
 * default). code_out receives the code (NUL-terminated). */
#define FSS_CODE_LEN 14 /* "XXXX-XXXX-XXXX" */
fss_status fss_admin_enroll_code(fss_server *s, const fs_id *rep,
                                 uint32_t ttl_s, char code_out[FSS_CODE_LEN + 1],
                                 fs_error *err);
fss_status fss_admin_devices_list(fss_server *s, fss_buf *out, fs_error *err);
fss_status fss_admin_device_revoke(fss_server *s, const fs_id *device,
                                   fs_error *err);
/* status: NULL = all, or "open", "auto", "resolved". */
fss_status fss_admin_conflicts_list(fss_server *s, const char *status,
                                    uint32_t limit, fss_buf *out, fs_error *err);
/* Resolves conflict id: "theirs" (keep the stored value), "yours" (apply the
 * device's value), or "value" with value_json (a JSON literal of the field's
 * type). The chosen value is written as a new server change that syncs out. */
fss_status fss_admin_conflict_resolve(fss_server *s, int64_t id,
                                      const char *choice,
                                      const char *value_json,
                                      const char *resolved_by, fs_error *err);
/* Imports customers or products from CSV or a JSON array of objects.
 * All-or-nothing: when any row is bad nothing is written, FSS_EIMPORT is
 * returned and *report lists every bad row. On success *report says how many
 * rows were created/updated. entity: "customer" or "product"; format: "csv"
 * or "json". */
fss_status fss_admin_import(fss_server *s, const char *entity,
                            const char *format, const char *data, size_t len,
                            fss_buf *report, fs_error *err);
/* Filters of the activity report; every member optional (NULL). */
typedef struct fss_activity_query {
    const char *from, *to;  /* business days "YYYY-MM-DD", both inclusive */
    const char *rep;        /* the performing rep's id (UUID text) */
    const char *territory;  /* the visited customer's territory code */
} fss_activity_query;
/* Completed and abandoned visits (never plans) per performing rep per
 * business day (cfg.business_tz), with outcomes and verification: a JSON
 * array. q may be NULL. FSS_EINVAL for a bad date or id, FSS_ENOTFOUND for
 * an unknown rep or territory. */
fss_status fss_admin_activity(fss_server *s, const fss_activity_query *q,
                              fss_buf *out, fs_error *err);
/* Quotes per status per currency (count, value = the sum of their derived
 * totals) and contracts per e-sign status per currency (count, amount):
 * no figure ever adds two currencies. */
fss_status fss_admin_pipeline(fss_server *s, fss_buf *out, fs_error *err);
/* Audits the store against today's schema rules (fs_row_violations): one
 * line per violation into out ("entity id field: reason", or a JSON object
 * per line with json), *bad (optional) = how many. FSS_OK even when rows
 * are bad: the caller decides what a finding means. */
fss_status fss_admin_check(fss_server *s, bool json, fss_buf *out, size_t *bad,
                           fs_error *err);
/* Copies every table of the store `from` (SQLite or PostgreSQL) into the
 * new, empty store `to` (either kind) in one transaction, then compares every
 * rep's canonical export on both sides: FSS_OK only when all are identical
 * byte for byte (fss_repo_copy.c). FSS_EEXISTS when `to` is not empty. */
typedef struct fss_copy_report {
    int64_t tables, rows;         /* copied */
    int64_t reps_verified;        /* reps whose exports were compared */
    int64_t export_bytes;         /* their total size */
} fss_copy_report;
fss_status fss_copy_store(fss_server *from, fss_server *to, fss_copy_report *rep,
                          fs_error *err);
/* Does target (a --store / --from / --to value) name a PostgreSQL server
 * (a postgres:// URI or a key=value connection string) rather than a
 * SQLite file? */
bool fss_store_is_postgres(const char *target);
/* The canonical JSON export of one rep's scope (fs_store_export format). */
fss_status fss_admin_export(fss_server *s, const fs_id *rep, fss_buf *out,
                            fs_error *err);
/* Names a row the way a person does (fss_admin.c explains the rules): a
 * full UUID, a short id (the last 8+ hex digits of the id, unique), a rep's
 * name or email, a customer's name. On success id_out gets the canonical
 * UUID and label (optional) a readable name. A well-formed UUID is returned
 * even when no row has it (the operation then reports "no such"). No match:
 * FSS_ENOTFOUND; several at the best rank: FSS_EINVAL, and candidates
 * (optional) gets one line per candidate ("  <uuid>  <label>"). */
typedef enum fss_ref_kind {
    FSS_REF_REP = 0,
    FSS_REF_CUSTOMER,
    FSS_REF_DEVICE,
    FSS_REF_QUOTE
} fss_ref_kind;
fss_status fss_admin_find(fss_server *s, fss_ref_kind kind, const char *ref,
                          char id_out[FS_ID_STRLEN + 1], char *label,
                          size_t label_cap, fss_buf *candidates, fs_error *err);
/* Loads demo data (territories, reps, customers, products) and issues one
 * enrollment code per rep; *summary gets a JSON description and *text
 * (optional) one readable line per rep: name, territories, code. */
fss_status fss_demo_load(fss_server *s, fss_buf *summary, fss_buf *text,
                         fs_error *err);

/* The quote lifecycle's server-owned moves (conflict/fs_quote.c decides):
 * every sent quote whose valid_until is before now_ms becomes expired, as a
 * server change; *count (optional) = how many. Idempotent: a second run
 * changes nothing and hands out no sequence number. `serve` runs it every
 * minute. */
fss_status fss_quotes_expire(fss_server *s, int64_t now_ms, int64_t *count,
                             fs_error *err);
/* The back office accepts or rejects a sent quote: status "accepted" or
 * "rejected"; EINVAL with the lifecycle's reason if the move is not allowed,
 * ENOTFOUND for an unknown quote. */
fss_status fss_admin_quote_status(fss_server *s, const fs_id *quote,
                                  const char *status, fs_error *err);

/* ---- Customer value and churn (fss_value.c; rules in fs_score.c) ---- */

/* What one analyze run did. */
typedef struct fss_analyze_result {
    int64_t now_ms;
    int64_t customers;      /* live customers */
    int64_t buyers;         /* of them with a purchase in the window */
    int64_t changed;        /* customer rows re-sequenced (values changed) */
    int64_t tasks_opened;   /* generated follow-up tasks created */
    int64_t tasks_closed;   /* generated tasks closed: their cause went away */
    int64_t no_owner;       /* risky customers with no owner rep: no task */
    int64_t lost;           /* customers marked lost: no risk, no tasks */
    int64_t risk[3];        /* customers per fs_risk */
    int64_t grades[5];      /* customers per grade A..E */
    /* Grade movements since the previous run: moves[from][to], from 0 =
     * never graded, 1..5 = A..E; to 0..4 = A..E. */
    int64_t moves[6][5];
    size_t ncur;            /* per currency (at most 8 kept in cur) */
    fs_score_currency cur[8];
} fss_analyze_result;

/* Recomputes every customer's grade, core flag, RFM, risk and reason with
 * the configured parameters (cfg.score) as of now_ms, writes only the
 * values that changed (a run over an unchanged store hands out no sequence
 * number), opens a generated follow-up task for the owner rep per churn
 * rule that fires (at most one open per customer and rule) and closes the
 * ones whose cause went away. Memory does not grow with the customers; the
 * results are written in short transactions of cfg.analyze_batch
 * customers, each reading what it decides on, so two runs at once never
 * open a task twice. On an error the batches before it stay written (a
 * rerun completes them). out is optional. */
fss_status fss_analyze(fss_server *s, int64_t now_ms, fss_analyze_result *out,
                       fs_error *err);
/* The run's report as JSON (parameters included) or as text for people. */
void fss_analyze_json(const fss_server *s, const fss_analyze_result *r, fss_buf *out);
void fss_analyze_text(const fss_server *s, const fss_analyze_result *r, fss_buf *out);

/* Marks a customer lost with a reason (the back office's "exit
 * management"), or won back with reason "" (clears it). A lost customer
 * keeps its grade but gets no churn risk and no generated tasks at the
 * next analyze. ENOTFOUND for an unknown customer. */
fss_status fss_admin_customer_lost(fss_server *s, const fs_id *customer,
                                   const char *reason, fs_error *err);
/* Reports, each restricted to the territory codes given (NULL = all; a
 * manager's territories): customers at risk (risk watch or at_risk) with
 * their reasons, and lost customers grouped by reason. JSON arrays. */
fss_status fss_report_at_risk(fss_server *s, const char *const *territories,
                              size_t nterr, fss_buf *out, fs_error *err);
fss_status fss_report_lost(fss_server *s, const char *const *territories,
                           size_t nterr, fss_buf *out, fs_error *err);
/* The last analyze run's grade movements in the territories given (NULL =
 * all): {"run_at":ms|null,"movements":[{"from":"B"|null,"to":"E",
 * "customers":n}],"territories":[{"territory":"north",...}]}. */
fss_status fss_report_movements(fss_server *s, const char *const *territories,
                                size_t nterr, fss_buf *out, fs_error *err);

/* Service tickets (fss_ticket.c). The back office works a ticket: any of
 * status (as conflict/fs_ticket.c allows the back office), assignee and
 * resolution (NULL = leave, "" = clear), written as one server change that
 * syncs to the customer's devices; resolving stamps resolved_at. FSS_EINVAL
 * with the rule's sentence for a refused move, FSS_ENOTFOUND for an unknown
 * or deleted ticket. */
fss_status fss_admin_ticket_update(fss_server *s, const fs_id *ticket, const char *status,
                                   const char *assignee, const char *resolution,
                                   fs_error *err);
/* Tickets of the territories given (NULL = all), oldest opened first, each
 * with its customer, territory, owner rep and age in whole days at now_ms;
 * open_only: only those waiting (open, in_progress). A JSON array. */
fss_status fss_report_tickets(fss_server *s, const char *const *territories, size_t nterr,
                              bool open_only, int64_t now_ms, fss_buf *out, fs_error *err);
/* Satisfaction scores (the ticket's rating, 1-5) of the territories given
 * (NULL = all), grouped by the customer's owner rep, its territory and the
 * month of rated_at (UTC): {"by_rep":[{"rep","surveys","sum","average"}],
 * "by_territory":[...],"by_month":[...]}, keys in order. */
fss_status fss_report_satisfaction(fss_server *s, const char *const *territories,
                                   size_t nterr, fss_buf *out, fs_error *err);
/* The A-E matrix and the Pareto curve as of now_ms, per currency: every
 * buying customer of the territories (NULL = all) with its unit price,
 * purchase count, revenue, grade, core flag and RFM (thresholds and grades
 * from the whole store), and the curve as 101 points [p, share]: the
 * revenue share of the top p% of those customers. */
fss_status fss_report_value(fss_server *s, const char *const *territories, size_t nterr,
                            int64_t now_ms, fss_buf *out, fs_error *err);
/* ---- ownership lifecycle (fss_owner.c; docs/ARCHITECTURE.md) ---- */
/* What one offboarding did. changes drained are counted later, as the
 * draining devices push (fss_admin_offboards_list). */
typedef struct fss_offboard_result {
    int64_t customers;    /* live customers moved to the heir or the pool */
    int64_t territories;  /* memberships removed */
    int64_t devices;      /* devices revoked (draining when drain) */
    int64_t codes;        /* unused enrollment codes voided */
    bool drain;
} fss_offboard_result;
/* A rep leaves: in one transaction its territories are removed, its unused
 * codes voided, its devices revoked (drain: each may push its outbox once,
 * then is wiped) and the rep deactivated; then its customers go to `to`
 * (NULL = the public pool) in short transactions. Called again for a rep
 * whose offboarding was cut short, it moves what is left to the recorded
 * heir. by (optional) names who did it. EINVAL when the rep is offboarded
 * with nothing left to move, or `to` is the rep or is offboarded;
 * ENOTFOUND for an unknown rep. */
fss_status fss_admin_offboard(fss_server *s, const fs_id *rep, const fs_id *to,
                              bool drain, const char *by,
                              fss_offboard_result *out, fs_error *err);
/* Finishes every offboarding cut short (an offboarded rep that still owns
 * live customers: the process died between batches): what is left goes
 * to the recorded heir, in the same short transactions. `serve` runs it at
 * start and with each reclaim tick, so no operator has to notice.
 * *moved = customers moved. */
fss_status fss_offboards_finish(fss_server *s, int64_t *moved, fs_error *err);
/* Makes an offboarded rep active again (it may get enrollment codes); its
 * old devices stay revoked. EINVAL when the rep is active. */
fss_status fss_admin_rep_reactivate(fss_server *s, const fs_id *rep,
                                    fs_error *err);
/* Offboardings, oldest first, as a JSON array. territories: the caller's
 * territory restriction (NULL = all). */
fss_status fss_admin_offboards_list(fss_server *s,
                                    const char *const *territories,
                                    fss_buf *out, fs_error *err);

/* The public pool (fss_pool.c). One reclaim run at now_ms: every owned
 * customer whose owner has not followed it up for pool_reclaim_days (and
 * has no open quote) goes back to the pool (owner cleared; its owner's
 * devices get the exit "reclaimed" unless a territory still covers it);
 * owners of customers pool_warn_days from that get one warning task.
 * dry_run: nothing changes, the counts and report say what would. report
 * (optional) gets a JSON array of {customer, name, owner, action}. */
typedef struct fss_reclaim_result {
    int64_t reclaimed, warned, checked;
} fss_reclaim_result;
fss_status fss_pool_reclaim(fss_server *s, int64_t now_ms, bool dry_run,
                            fss_reclaim_result *out, fss_buf *report,
                            fs_error *err);
/* The pool (live customers without an owner) and the judged claims, as
 * JSON arrays; territories: the caller's restriction (NULL = all). */
fss_status fss_admin_pool_list(fss_server *s, const char *const *territories,
                               fss_buf *out, fs_error *err);
fss_status fss_admin_claims_list(fss_server *s, const char *const *territories,
                                 uint32_t limit, fss_buf *out, fs_error *err);

/* Duplicate customers (fss_dedup.c; rules: conflict/fs_dedup.h). Likely
 * duplicates of territories (NULL: all) as a JSON array of {a, a_name, b,
 * b_name, score, reasons: ["tax_id"|"name"|"phone"...]}. */
fss_status fss_admin_duplicates(fss_server *s, const char *const *territories,
                                fss_buf *out, fs_error *err);
typedef struct fss_merge_result {
    int64_t merge_id, duplicates, children, fields;
} fss_merge_result;
/* Merges dups into survivor in one transaction: empty fields of the
 * survivor take the duplicates' values (first named first), every row
 * below a duplicate moves under the survivor, each duplicate becomes a
 * tombstone that redirects later device writes to the survivor (devices
 * get the exit "merged"), and the merge is recorded (by: who). EINVAL: no
 * duplicate, the survivor among them, one named twice, a customer deleted
 * or merged already; ENOTFOUND: an unknown customer. */
fss_status fss_admin_merge(fss_server *s, const fs_id *survivor,
                           const fs_id *dups, size_t ndups, const char *by,
                           fss_merge_result *out, fs_error *err);
/* Recorded merges (of one survivor; NULL: all) as a JSON array. */
fss_status fss_admin_merges_list(fss_server *s, const fs_id *survivor,
                                 fss_buf *out, fs_error *err);
/* Back-office accounts (fss_account.c; docs/ADMIN-API.md "Accounts"):
 * role "admin" sees and does everything; "manager" and "viewer" are bound
 * to one or more territories (a viewer changes nothing). Passwords are
 * hashed with Argon2id (libsodium) and never stored or logged in clear.
 * `actor` names who did it in the audit log ("cli", "token", "user:NAME"). */
#define FSS_USER_NAME_MAX 64
#define FSS_PWHASH_MAX 128  /* crypto_pwhash_STRBYTES */
#define FSS_CSRF_LEN 64
#define FSS_PASSWORD_MIN 8
#define FSS_PASSWORD_MAX 1024
/* territories: NULL-terminated list (none for an admin, one or more for a
 * manager or viewer, each an existing territory). EEXISTS for a taken
 * name, EINVAL for a bad name, role, password, ENOTFOUND for an unknown
 * territory. */
fss_status fss_user_add(fss_server *s, const char *name, const char *role,
                        const char *const *territories, const char *password,
                        const char *actor, fs_error *err);
/* Users by name with role, territories, disabled (JSON array). */
fss_status fss_users_list(fss_server *s, fss_buf *out, fs_error *err);
/* Disables (or enables again) a user; disabling ends their sessions. */
fss_status fss_user_disable(fss_server *s, const char *name, bool disabled,
                            const char *actor, fs_error *err);
/* Sets a user's password and ends every session of theirs. */
fss_status fss_user_password(fss_server *s, const char *name,
                             const char *password, const char *actor,
                             fs_error *err);
/* The audit log, newest first: ids below before_id (0 = newest), at most
 * limit (1..1000) entries, as a JSON array. */
fss_status fss_audit_list(fss_server *s, int64_t before_id, uint32_t limit,
                          fss_buf *out, fs_error *err);

/* Prometheus text exposition of the server's counters. */
void fss_metrics_render(fss_server *s, fss_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* FS_SERVER_H */
