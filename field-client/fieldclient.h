/*
 * fieldclient.h - libfieldclient, the embeddable fieldsync field client.
 *
 * A client handle owns one local SQLite replica (WAL) of the rep's scope and
 * an outbox of local changes not yet confirmed by the server. Every local
 * write goes through this API and is appended to the outbox in the same
 * transaction that updates the displayed replica, so a crash at any instant
 * loses nothing. `fc_sync` pushes the outbox and pulls the scope in one
 * exchange per round (POST /v1/sync), applying each page in one transaction.
 * The CLI (field-client) is a thin user of this header; a handheld app links
 * the library the same way. docs/ARCHITECTURE.md "## Field client" explains
 * the replica model (base_ tables + displayed tables + outbox overlay).
 *
 * Ownership:
 *  - fc_client is opaque; fc_open gives a new handle freed with fc_close
 *    (which accepts NULL). One handle serves one thread at a time; several
 *    processes may open the same replica (SQLite locking, busy timeout).
 *  - Every `const char *` argument is borrowed for the duration of the call.
 *  - Rows handed to callbacks (const fs_row *) are borrowed and only valid
 *    during the callback. Rows returned through an fs_row * output belong to
 *    the caller, who releases them with fs_row_free (also after an error);
 *    pass a zeroed fs_row.
 *  - Strings inside the info structs are fixed-size arrays (no heap).
 *
 * Errors: every fallible function returns fc_status (FC_OK = 0) and fills
 * the optional caller-supplied fs_error with the same code and one readable
 * sentence naming the field / id / value at fault. A failed write changes
 * nothing (replica and outbox stay as they were).
 */
#ifndef FIELDCLIENT_H
#define FIELDCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_conflict.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. Appended, never renumbered. */
typedef enum fc_status {
    FC_OK = 0,
    FC_EINVAL,        /* bad argument or malformed input (id, GPS, number, time) */
    FC_ENOMEM,        /* allocation failed */
    FC_EDB,           /* SQLite failed (disk full, locked too long, corrupt) */
    FC_ENOTFOUND,     /* no such (live) row in the replica */
    FC_EVALUE,        /* a value failed the schema's checks (type, length,
                         enum, currency, range) */
    FC_ETRANSITION,   /* e-sign or visit status change that is not allowed */
    FC_EFROZEN,       /* the quote is no longer a draft: its terms and lines
                         are read-only (revise it) */
    FC_ENOTENROLLED,  /* sync/enroll state missing: run enroll first */
    FC_EENROLLED,     /* enroll on a replica that is already enrolled */
    FC_ENETWORK,      /* could not reach the server (after retries) */
    FC_EHTTP,         /* the server refused the request (status + reason) */
    FC_EPROTOCOL,     /* the server answered something undecodable */
    FC_EWIPED,        /* the device was revoked: the replica has been deleted */
    FC_ESERVEROWNED,  /* a field only the back office / server may write,
                         or a customer delete (the back office's) */
    FC_EBUSY,         /* another sync is running on this replica */
    FC_EDENIED,       /* the rep may not do this on their device (delete
                         another rep's task...): the back office can */
    FC_EAMBIGUOUS,    /* a short id or name matches several rows (the
                         message lists them); nothing was done */
    FC_EOFFLINE       /* no connection to the server could be made (refused,
                         no route, name not resolved): nothing was sent, the
                         changes stay waiting to send */
} fc_status;

/* Static, never NULL. */
const char *fc_strerror(fc_status st);

/* ------------------------------------------------------------------------ */
/* Transport                                                                 */
/* ------------------------------------------------------------------------ */

/* One HTTP answer. `body` is malloc'd by the transport and freed by the
 * library with free(). */
typedef struct fc_http_response {
    long status;                 /* HTTP status code */
    uint8_t *body;               /* owned by the receiver of the struct */
    size_t len;
    char content_encoding[32];   /* response Content-Encoding, "" = identity */
    /* Header Fieldsync-Next-Cursor (a sync page with more to come): the
     * page after it may be asked for before this one is decoded. A
     * transport may leave it unset (false): pages are then asked for one
     * after another. */
    bool has_next;
    uint64_t next_cursor;
    /* How fast the answer's body arrived after its first byte, in bytes/s;
     * 0 = not measured (the built-in transport measures bodies of 16 KiB
     * and more). It decides whether the next sync request, and so its
     * answer, is compressed (docs/PROTOCOL.md, "Framing"). */
    double link_bytes_per_s;
} fc_http_response;

/*
 * POST `len` bytes of `body` to `url` with Content-Type `content_type`,
 * Content-Encoding `content_encoding` and, when `token` is non-NULL,
 * "Authorization: Bearer <token>". Fills *resp (zeroed by the caller) and
 * returns FC_OK whenever an HTTP answer arrived (any status), FC_EOFFLINE
 * when it knows the request never left the device (no connection made),
 * when it did not (connect failure, timeout, connection dropped mid-answer,
 * answer larger than the cap), with a readable err. payload comes last.
 */
typedef fc_status (*fc_post_fn)(const char *url, const char *content_type,
                                const char *content_encoding, const char *token,
                                const uint8_t *body, size_t len,
                                fc_http_response *resp, fs_error *err,
                                void *payload);

/* Options for fc_open. Zero-initialise, then set what you need. */
typedef struct fc_options {
    fc_post_fn post;          /* NULL = built-in libcurl transport */
    void *post_payload;
    long timeout_ms;          /* libcurl total timeout; 0 = 30 s */
    size_t max_response;      /* libcurl answer cap in bytes; 0 = 16 MiB */
    unsigned retries;         /* attempts after the first on network errors
                                 and 502/503/504; 0 = 4; use FC_NO_RETRY */
    unsigned backoff_ms;      /* first retry delay; doubles, with jitter;
                                 0 = 500 ms */
    unsigned backoff_max_ms;  /* cap of one delay; 0 = 30 s */
    uint32_t page_size;       /* rows per pull page; 0 = server default */
    uint32_t max_batch;       /* changes pushed per round; 0 = 500 */
    /* Pull pipelining: while a pulled page is applied, the request for the
     * next one (a request without changes) is already in flight from a
     * second thread. FC_PIPELINE_AUTO (0): only with the built-in
     * transport; FC_PIPELINE_ON: also with `post`, which must then be safe
     * to call from another thread and must not use this replica;
     * FC_PIPELINE_OFF: never. Retries of a request sent ahead are not
     * reported to the progress callback. */
    int pipeline;
    /* Wall clock in Unix ms for tests; NULL = the system clock. */
    uint64_t (*now_ms)(void *payload);
    void *now_payload;
} fc_options;

#define FC_NO_RETRY ((unsigned)-1)
#define FC_PIPELINE_AUTO 0
#define FC_PIPELINE_ON 1
#define FC_PIPELINE_OFF (-1)

/* ------------------------------------------------------------------------ */
/* Handle                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct fc_client fc_client;

/*
 * Opens (creating if needed, mode 0600) the replica at `db_path`, in WAL
 * mode, creating or migrating its tables. `opt` may be NULL (defaults; it is
 * copied). A new replica gets a provisional device id until enroll.
 * Returns OK, EINVAL, ENOMEM, EDB.
 */
fc_status fc_open(const char *db_path, const fc_options *opt, fc_client **out,
                  fs_error *err);
void fc_close(fc_client *c);

/* ------------------------------------------------------------------------ */
/* Writes: every one is validated fully, then applied in one transaction     */
/* that appends exactly one change to the outbox.                            */
/* ------------------------------------------------------------------------ */

/*
 * A field assignment as text, parsed by the field's type: text/enum/currency
 * as given; int, money (integer minor units) and basis points as decimal
 * integers; real as a decimal number; bool as true/false/yes/no/1/0; time as
 * Unix milliseconds, "now", "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC);
 * id as a UUID. value NULL or "" clears the field.
 */
typedef struct fc_kv {
    const char *field;
    const char *value;
} fc_kv;

/* Parses text for field f into *out (new; fs_value_clear it). Checks it with
 * fs_field_check. Returns OK, EINVAL, EVALUE, ENOMEM. */
fc_status fc_value_parse(const fs_field *f, const char *text, fs_value *out,
                         fs_error *err);
/* A time as a rep types it, in the rep's time zone (TZ, else the
 * system's): now, today, tomorrow, yesterday, +3d/-2h/+30m/+1w, YYYY-MM-DD
 * (local midnight), YYYY-MM-DDTHH:MM[:SS[.fff]] (local wall-clock time) or
 * with Z/+01:00/-0500 (that offset), or Unix ms. *date_only (optional)
 * tells whether it named a whole day. FC_EINVAL with the accepted forms. */
fc_status fc_time_parse(const char *text, int64_t now_ms, int64_t *out_ms,
                        bool *date_only, fs_error *err);
/* Local midnight of the day holding ms and of the next day: the rep's day
 * ("due today", "overdue" by the rep's calendar). */
fc_status fc_day_bounds(int64_t ms, int64_t *start_ms, int64_t *end_ms, fs_error *err);
/* "2026-12-08 09:00 +01:00" in the rep's zone, or with utc
 * "2026-12-08T08:00:00Z"; returns the length written (0 on failure). */
size_t fc_time_format(int64_t ms, bool utc, char *out, size_t cap);

/* Formats v for display (times in the rep's zone with its offset as
 * fc_time_format: "2024-05-01 11:30 +02:00"; UUIDs for ids; "" for NULL) into out (always NUL-terminated, truncated to cap). */
void fc_value_format(const fs_field *f, const fs_value *v, char *out, size_t cap);

/* Customers and contacts. Server-owned fields (territory, owner_rep) are
 * refused with FC_ESERVEROWNED. On create, *out_id (optional) gets the id. */
fc_status fc_customer_add(fc_client *c, const fc_kv *kv, size_t n,
                          fs_id *out_id, fs_error *err);
/* Claims a customer of the public pool: queued like any write, judged by the
 * server at sync (docs/PROTOCOL.md "Claims"). */
fc_status fc_customer_claim(fc_client *c, const fs_id *id, fs_error *err);
fc_status fc_customer_edit(fc_client *c, const fs_id *id, const fc_kv *kv,
                           size_t n, fs_error *err);
fc_status fc_contact_add(fc_client *c, const fs_id *customer_id,
                         const fc_kv *kv, size_t n, fs_id *out_id, fs_error *err);
fc_status fc_contact_edit(fc_client *c, const fs_id *id, const fc_kv *kv,
                          size_t n, fs_error *err);

/* Generic edit/delete of any writable row (used by the specific calls). */
fc_status fc_row_edit(fc_client *c, const char *entity, const fs_id *id,
                      const fc_kv *kv, size_t n, fs_error *err);
/* Deleting, as a rep may (docs/ARCHITECTURE.md, "Who may delete"): their
 * own tasks, contacts they created, lines of a draft quote. A customer is
 * FC_ESERVEROWNED (only the back office deletes one, FS_ENTITY_SERVER_DELETE);
 * anything else is FC_EDENIED with the reason. */
fc_status fc_row_delete(fc_client *c, const char *entity, const fs_id *id,
                        fs_error *err);
/* Takes back a delete that has not been sent yet: the queued delete of row
 * `id` (any entity) leaves the outbox and the row is displayed again.
 * FC_ENOTFOUND when no unsent delete of it is queued (a delete already sent,
 * or being sent, is at the server: the back office can restore it). */
fc_status fc_restore(fc_client *c, const fs_id *id, fs_error *err);
/* Whose row it is: the row's rep (rep_id, or created_by for a contact) is
 * this device's rep, or the row has no rep yet and was created on this
 * device (a create not yet synced). *mine false for rows without an owner. */
fc_status fc_row_mine(fc_client *c, const fs_row *row, bool *mine, fs_error *err);

/* Calls fn for every id in one transaction: every call succeeds and all are
 * committed, or the first failure undoes all of them (nothing is changed);
 * *failed (optional) gets the index of the id that failed. */
typedef fc_status (*fc_id_fn)(fc_client *c, const fs_id *id, void *arg,
                              fs_error *err);
fc_status fc_each_id(fc_client *c, const fs_id *ids, size_t n, fc_id_fn fn,
                     void *arg, size_t *failed, fs_error *err);

/* Visits. plan: status planned. checkin: planned -> in_progress with GPS
 * (lat in [-90,90], lon in [-180,180], accuracy >= 0 metres) and the time
 * captured (ms; 0 = now). note: sets notes (append = add a line to them).
 * checkout: in_progress -> completed with optional GPS (NaN = none) and an
 * outcome. abandon: planned / in_progress -> abandoned. Other status moves
 * are FC_ETRANSITION. */
fc_status fc_visit_plan(fc_client *c, const fs_id *customer_id,
                        int64_t planned_at_ms, fs_id *out_id, fs_error *err);
fc_status fc_visit_checkin(fc_client *c, const fs_id *visit_id, double lat,
                           double lon, double accuracy_m, int64_t at_ms,
                           fs_error *err);
fc_status fc_visit_note(fc_client *c, const fs_id *visit_id, const char *notes,
                        bool append, const char *next_step, fs_error *err);
fc_status fc_visit_checkout(fc_client *c, const fs_id *visit_id, double lat,
                            double lon, int64_t at_ms, const char *outcome,
                            fs_error *err);
fc_status fc_visit_abandon(fc_client *c, const fs_id *visit_id,
                           const char *outcome, fs_error *err);

/* Quotes. new: status draft in `currency` (ISO 4217). Lines: qty >= 0,
 * unit price in minor units >= 0, discount in basis points 0..10000.
 * The lifecycle is conflict/fs_quote.c's: once a quote is no longer a draft,
 * writes to its currency, valid_until, discount, tombstone or lines are
 * FC_EFROZEN; a status move the lifecycle does not allow a device is
 * FC_ETRANSITION with its reason. send moves draft -> sent. */
fc_status fc_quote_new(fc_client *c, const fs_id *customer_id,
                       const char *currency, fs_id *out_id, fs_error *err);
/* line_add and the catalog (the synced product rows): when `sku` is a
 * catalog SKU, description NULL takes the product's name and unit_price
 * FC_CATALOG_PRICE its price; a product priced in another currency than
 * the quote's is refused (FC_EVALUE, saying so). A SKU not in the catalog
 * is a free-text line and needs its price (FC_ENOTFOUND otherwise). */
#define FC_CATALOG_PRICE INT64_MIN
fc_status fc_quote_line_add(fc_client *c, const fs_id *quote_id, const char *sku,
                            const char *description, int64_t qty,
                            int64_t unit_price, int64_t discount_bp,
                            fs_id *out_id, fs_error *err);
fc_status fc_quote_line_edit(fc_client *c, const fs_id *line_id,
                             const fc_kv *kv, size_t n, fs_error *err);
fc_status fc_quote_line_remove(fc_client *c, const fs_id *line_id, fs_error *err);
fc_status fc_quote_discount(fc_client *c, const fs_id *quote_id,
                            int64_t discount_bp, fs_error *err);
fc_status fc_quote_send(fc_client *c, const fs_id *quote_id, fs_error *err);
/* accept | reject a sent quote: status "accepted" or "rejected" (any
 * status name, checked by fs_quote_check_transition). A sent quote past its
 * valid_until cannot be accepted (FC_ETRANSITION). */
fc_status fc_quote_set_status(fc_client *c, const fs_id *quote_id,
                              const char *status, fs_error *err);
/* Revises a quote that is no longer a draft: in one transaction, a new draft
 * with the same customer, currency, discount, valid_until (when still in the
 * future) and copies of its live lines, whose write-once `supersedes` names
 * quote_id. *out_id (optional) gets the new quote's id. A draft is
 * FC_ETRANSITION (edit it directly). */
fc_status fc_quote_revise(fc_client *c, const fs_id *quote_id, fs_id *out_id,
                          fs_error *err);
/* Totals from the displayed quote and its live lines (fs_quote_totals_rows). */
fc_status fc_quote_totals(fc_client *c, const fs_id *quote_id,
                          fs_quote_totals *out, fs_error *err);

/* Contracts: moves esign_status to `to` if fs_esign_check_transition allows
 * it (else FC_ETRANSITION with the lattice's reason), stamping
 * status_changed_at and, for signed/completed, signed_at. */
fc_status fc_contract_esign(fc_client *c, const fs_id *contract_id,
                            const char *to, fs_error *err);
/* Creates a contract (esign_status draft) for a sent or accepted quote: the
 * customer, currency and amount (the quote's total from the shared
 * fs_quote_totals derivation) come from the quote. envelope_id (optional) is
 * the e-signature provider's envelope. A draft quote is FC_ETRANSITION. */
fc_status fc_contract_new(fc_client *c, const fs_id *quote_id,
                          const char *envelope_id, fs_id *out_id, fs_error *err);

/* Tasks. kind: follow_up, call, email, meeting, demo, other. */
/* Service tickets (CRM.md section 4). open queues a new ticket (status open,
 * opened_at now; the server stamps opened_by with the device's rep): kind
 * complaint | repair | question | request, priority low | normal (default) |
 * high | urgent. note appends a line to the ticket's notes. set_status moves
 * it as fs_ticket.c allows a device (closed, or open to reopen): anything
 * else is FC_ETRANSITION with the reason, nothing queued. */
fc_status fc_ticket_open(fc_client *c, const fs_id *customer_id, const char *kind,
                         const char *subject, const char *priority,
                         const char *description, fs_id *out_id, fs_error *err);
fc_status fc_ticket_note(fc_client *c, const fs_id *ticket_id, const char *note,
                         fs_error *err);
fc_status fc_ticket_set_status(fc_client *c, const fs_id *ticket_id, const char *status,
                               fs_error *err);
/* The customer's satisfaction score 1-5 (FC_EVALUE outside) and an
 * optional note, recorded offline once the ticket is resolved or closed;
 * one score per ticket: a second is FC_ETRANSITION with the reason. */
fc_status fc_ticket_rate(fc_client *c, const fs_id *ticket_id, int64_t score,
                         const char *note, fs_error *err);

fc_status fc_task_add(fc_client *c, const fs_id *customer_id, const char *title,
                      const char *kind, int64_t due_at_ms, fs_id *out_id,
                      fs_error *err);
fc_status fc_task_done(fc_client *c, const fs_id *task_id, fs_error *err);
/* done -> open again; FC_ETRANSITION if the task is not done. */
fc_status fc_task_reopen(fc_client *c, const fs_id *task_id, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Reads                                                                     */
/* ------------------------------------------------------------------------ */

/* Loads the displayed (live) row into *out (zeroed or initialised; the
 * caller frees it). FC_ENOTFOUND if absent or deleted. */
fc_status fc_get(fc_client *c, const char *entity, const fs_id *id,
                 fs_row *out, fs_error *err);

typedef struct fc_query {
    const fs_id *parent;      /* only rows whose parent field is this id */
    const char *search;       /* customers: FTS5 match over name, address,
                                 tags and contacts (plain words, prefix *) */
    int64_t due_before_ms;    /* tasks: due_at < this (0 = no bound) */
    bool open_only;           /* tasks: not done; tickets: not closed */
    uint32_t limit;           /* 0 = no limit */
    bool mine;                /* only the rep's own rows (fc_row_mine) */
    const char *grade;        /* customers: this value grade (A-E), as the
                                 server's analyze computed it */
    const char *risk;         /* customers: this churn risk (none, watch,
                                 at_risk) */
} fc_query;

/* Rows people can name (fc_names.c). A row's short id is the tail of its
 * id's hex digits (UUIDv7 ids share their leading, time-ordered digits):
 * the last 8, extended while another live row of the same entity shares
 * them. Load the entity's ids once per listing (fc_short_ids_load, outside
 * any fc_list callback), format each row (out: up to 32 hex digits + NUL),
 * free. fc_short_ids_format with s NULL gives the last 8 digits. */
typedef struct fc_short_ids fc_short_ids;
fc_status fc_short_ids_load(fc_client *c, const char *entity, fc_short_ids **out,
                            fs_error *err);
void fc_short_ids_format(const fc_short_ids *s, const fs_id *id, char out[33]);
void fc_short_ids_free(fc_short_ids *s);

/* What a rep typed for a row of `entity` (NULL = any entity) to its id: a
 * full id (returned as is, not looked up), a short id (any tail of at least
 * 4 hex digits of a live row's id, any case), for customers a name (exact,
 * any case; else a unique part of one) and for products a SKU likewise.
 * FC_EAMBIGUOUS when several rows match (the message names up to five with
 * their short ids), FC_ENOTFOUND when none does. */
fc_status fc_resolve(fc_client *c, const char *entity, const char *ref, fs_id *out,
                     fs_error *err);

/* The catalog's product with this SKU (exact). FC_ENOTFOUND if none. */
fc_status fc_product_by_sku(fc_client *c, const char *sku, fs_row *out, fs_error *err);

/* Called per row; return false to stop. */
typedef bool (*fc_row_fn)(const fs_row *row, void *payload);

/* Live rows of `entity` (customers by name, tasks by due date, others by
 * id), filtered by q (may be NULL). *count (optional) gets rows passed. */
fc_status fc_list(fc_client *c, const char *entity, const fc_query *q,
                  fc_row_fn fn, void *payload, size_t *count, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Sync state, rejected changes, notices                                     */
/* ------------------------------------------------------------------------ */

typedef struct fc_info {
    bool enrolled;
    char server[256];          /* base URL, "" if not enrolled */
    fs_id device_id;           /* provisional until enrolled */
    fs_id rep_id;
    uint64_t cursor;
    bool bootstrapped;         /* a full first sync has completed */
    int64_t last_sync_ms;      /* 0 = never */
    size_t pending;            /* changes not yet confirmed (incl. in flight) */
    size_t in_flight;          /* sent in a batch whose answer is not applied */
    size_t rejected;           /* rejected, not dismissed */
    size_t awaiting;           /* confirmed (merged), still shown until the
                                  server's row arrives: neither pending nor
                                  rejected, never resent */
    size_t notices;            /* scope exits / conflicts not dismissed */
    size_t open_conflicts;     /* open back-office conflicts concerning the
                                  rep, as of the last complete sync */
} fc_info;

fc_status fc_info_get(fc_client *c, fc_info *out, fs_error *err);

/* The outbox column `state` holds these values (stored: never renumber).
 * AWAITING: the server answered "merged"; the change is never resent but
 * stays in the overlay until a pulled version of its row is applied, its
 * row leaves the scope, or a pull completes (ARCHITECTURE.md). */
typedef enum fc_change_state {
    FC_CHANGE_PENDING, FC_CHANGE_IN_FLIGHT, FC_CHANGE_REJECTED, FC_CHANGE_AWAITING
} fc_change_state;

typedef struct fc_change_info {
    int64_t id;                /* outbox id (dismiss with it) */
    const fs_entity *entity;
    fs_id row;
    fc_change_state state;
    char summary[160];         /* what the rep did: "visit checkin" */
    char reason[32];           /* rejected: fs_reason_name */
    char detail[160];          /* rejected: the server's explanation */
    int64_t created_ms;
    const fs_change *change;   /* the writes (valid during the callback;
                                  NULL if the entry cannot be decoded): a
                                  rejected change's refused values */
} fc_change_info;

typedef bool (*fc_change_fn)(const fc_change_info *ch, void *payload);
/* Outbox entries in order (pending, in flight, rejected and awaiting). */
fc_status fc_outbox_list(fc_client *c, fc_change_fn fn, void *payload,
                         fs_error *err);
/* Drops a rejected change (the rep has seen it). FC_ENOTFOUND if there is no
 * rejected change with that id (pending changes cannot be dismissed). */
fc_status fc_rejected_dismiss(fc_client *c, int64_t id, fs_error *err);

typedef struct fc_notice {
    int64_t id;
    char kind[16];             /* "exit" or "conflict" */
    char entity[32];
    fs_id row;
    char label[128];           /* customer name etc. when known */
    char reason[32];           /* reassigned / deleted / revoked / rule */
    char detail[160];
    int64_t at_ms;
} fc_notice;

typedef bool (*fc_notice_fn)(const fc_notice *n, void *payload);
fc_status fc_notice_list(fc_client *c, fc_notice_fn fn, void *payload,
                         fs_error *err);
fc_status fc_notice_dismiss(fc_client *c, int64_t id, fs_error *err);

/* A conflict the server recorded and the back office has not resolved yet,
 * in which one of this rep's devices wrote one side (also a write of the rep
 * that won: the other side may still be restored). The merged value is
 * already in the replica; only the back office resolves. The list is the
 * server's as of the last complete sync (the newest FS_PROTO_MAX_CONFLICTS;
 * fc_info.open_conflicts counts all). */
typedef struct fc_conflict {
    uint64_t id;               /* the server's conflict id (back office) */
    char entity[32];
    fs_id row;
    char label[128];           /* the row's name, or its parent's (a contract:
                                  its customer's); "" if not in the replica */
    char field[32];            /* "_deleted" = the row's deletion */
    char rule[32];             /* stale, delete_wins, esign, ... */
    char detail[160];          /* the server's sentence */
    bool mine_kept;            /* the value kept is this rep's write */
    int64_t created_ms;
} fc_conflict;

typedef bool (*fc_conflict_fn)(const fc_conflict *k, void *payload);
/* Newest first. */
fc_status fc_conflict_list(fc_client *c, fc_conflict_fn fn, void *payload,
                           fs_error *err);

/* ------------------------------------------------------------------------ */
/* Enroll and sync                                                           */
/* ------------------------------------------------------------------------ */

/* Trades a one-time enrollment code for a device id and token at
 * `server_url` (e.g. "http://127.0.0.1:8080"); stores them in the replica.
 * Changes made before enrollment are re-stamped with the new device id.
 * Returns OK, EINVAL, EENROLLED, ENETWORK, EHTTP, EPROTOCOL, EDB. */
fc_status fc_enroll(fc_client *c, const char *server_url, const char *code,
                    const char *device_name, fs_error *err);

typedef struct fc_progress {
    unsigned round;            /* 1-based */
    size_t pushed;             /* changes sent so far this sync */
    size_t applied;            /* of which applied or merged */
    size_t rejected;           /* of which rejected */
    size_t rows;               /* rows pulled so far */
    size_t exits;              /* scope exits so far */
    bool has_more;
    bool bootstrap;            /* pulling the initial scope */
    unsigned retry;            /* >0 while waiting to retry */
    char note[160];            /* last retry reason */
    size_t total;              /* rows + exits this sync pulls: counted by
                                  the server at the second round when the
                                  first answer said more (the first answer
                                  alone otherwise), raised when rows written
                                  since arrive too (never below rows +
                                  exits); 0 = not known yet (before the
                                  count's answer) or an older server */
} fc_progress;

/* Called after each round that committed (pull-only pages applied in one
 * transaction report once, when it commits: fc_sync) and before each
 * retry; payload last. */
typedef void (*fc_progress_fn)(const fc_progress *p, void *payload);

typedef struct fc_sync_report {
    fc_progress totals;
    size_t notices;            /* new scope exits / conflicts recorded */
} fc_sync_report;

/*
 * Runs rounds until the server has nothing more and the outbox has no
 * pending change. Each answer is applied in one transaction (results, pulled
 * rows, exits, cursor, HLC); pull-only answers whose next page was requested
 * ahead share one, up to 8 of them (docs/ARCHITECTURE.md, "Held pages").
 * A network error is retried with exponential
 * backoff and jitter; an undecodable answer applies nothing and leaves the
 * in-flight batch to be resent with the same batch id. On a wipe instruction
 * the replica is deleted and FC_EWIPED returned (the handle is then only
 * good for fc_close). `progress`/`report` may be NULL.
 */
fc_status fc_sync(fc_client *c, fc_progress_fn progress, void *payload,
                  fc_sync_report *report, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Export                                                                    */
/* ------------------------------------------------------------------------ */

/* Canonical JSON of the displayed replica (fs_store_export, tombstones
 * excluded), the format of the server's per-rep export. */
typedef int (*fc_write_fn)(const char *buf, size_t n, void *payload);
fc_status fc_export(fc_client *c, fc_write_fn write, void *payload,
                    fs_error *err);

#ifdef __cplusplus
}
#endif
#endif /* FIELDCLIENT_H */
