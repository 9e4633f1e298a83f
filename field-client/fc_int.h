/*
 * fc_int.h - private declarations shared by the libfieldclient sources.
 *
 * The handle layout and the internal helpers of each concern: the replica
 * database (fc_db.c), the outbox and the overlay merge (fc_outbox.c), the
 * workflows (fc_workflow.c), sync (fc_sync.c) and the libcurl transport
 * (fc_http.c). Internal non-static names use the fc__ prefix.
 */
#ifndef FC_INT_H
#define FC_INT_H

#include "fieldclient.h"
#include "fs_proto.h"
#include "fs_store.h"

#include <sqlite3.h>
#include <stdatomic.h>

/* Version of the client's own tables (meta, outbox, notices, FTS). */
#define FC_DB_FORMAT 1

/* journal_size_limit in bytes, as SQL text (fc_open sets it; fc_sync lifts
 * it while it runs): a WAL grown by a sync is cut back to this when it is
 * next restarted. */
#define FC_WAL_LIMIT "4194304"

/* Slots of fc_client.st_page. */
enum fc_page_sql {
    FC_SQL_TOUCH_ADD, FC_SQL_TOUCH_HAS, FC_SQL_TOUCH_ALL, FC_SQL_TOUCH_CLEAR,
    FC_SQL_DIRTY_ADD, FC_SQL_DIRTY_CLEAR, FC_SQL_REJECT, FC_SQL_DROP,
    FC_SQL_FIXED, FC_SQL_ANY_QUEUED, FC_SQL_COUNT_QUEUED, FC_SQL_OUTBOX_REPORT,
    FC_SQL_AWAIT, FC_SQL_SETTLE_ROW, FC_SQL_SETTLE_TOUCH, FC_SQL_SETTLE_ALL,
    FC_SQL_FTS_SAME, FC_SQL_FTS_DEL, FC_SQL_FTS_UNMAP, FC_SQL_FTS_MAP, FC_SQL_FTS_INS,
    FC_SQL_SUB_DEL, FC_SQL_SUB_INS, FC_SQL_FTS_TEXT, FC_SQL_TEXT_CLEAR,
    FC_SQL_META_GET, FC_SQL_META_SET, FC_SQL_META_DEL,
    FC_SQL_COUNT
};

typedef struct fc_conns fc_conns;

struct fc_client {
    sqlite3 *db;          /* owned */
    fs_store *disp;       /* prefix "": the displayed replica */
    fs_store *base;       /* prefix "base_": last server-confirmed state */
    fc_options opt;
    char *path;           /* owned copy of the db path (wipe unlinks it) */
    bool wiped;           /* replica deleted: only fc_close is valid */
    fs_id device;         /* cached from meta */
    bool enrolled;
    /* Inside fc_each_id: fc__begin/commit/rollback are steps of its one
     * transaction (all ids or none). */
    bool in_each;
    /* fc_sync: pull-only pages applied in the transaction still open
     * (fc_sync.c, apply_response); 0 = none open. */
    unsigned held_pages;
    /* Statements run for every row a sync page touches, prepared on first
     * use (fc__cached) and finalized by fc_close / fc__wipe: preparing them
     * per row was most of a bootstrap's client time (bench/sync). */
    sqlite3_stmt *st_overlay;   /* fc__recompute: a row's pending changes */
    sqlite3_stmt *st_has_overlay; /* fc__has_overlay */
    sqlite3_stmt *st_base_any;  /* fc_sync.c base_tables_used */
    /* Statements run once or a few times per sync page (fc_sync.c,
     * fc__fts_refresh_dirty), indexed by fc_page_sql: parsing them per page
     * was ~7% of a small bootstrap's client CPU. */
    sqlite3_stmt *st_page[FC_SQL_COUNT];
    /* fc_http.c: connections kept open between requests, when the
     * built-in transport is used (opt.post NULL). */
    fc_conns *conns;
    /* fc_http.c: the last measured answer came over a link fast enough
     * that compressing costs more than it saves (fc__sync_encoding). Set
     * by whichever thread posted last. */
    atomic_bool fast_link;
};

/* fc_search.c: a customer search as SQL over fc_search and fc_sub. */
typedef struct fc_sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} fc_sbuf;
typedef struct fc_search_plan {
    fc_sbuf words;   /* FTS5 query for fc_search (word prefixes), or empty */
    fc_sbuf subs;    /* FTS5 query for fc_sub (fc_ngram phrases), or empty */
    bool any;        /* false: the query had no term */
} fc_search_plan;
/* Splits q into terms and plans each (free with fc__search_free). */
fc_status fc__search_plan_make(const char *q, fc_search_plan *p, fs_error *err);
void fc__search_free(fc_search_plan *p);
/* Writes the FROM clause matching `table`'s rows into out and points
 * *order at the rank expression; returns the clause's length. limit (0 =
 * none) may be applied inside when nothing after the index filters rows. */
int fc__search_sql(const fc_search_plan *p, const char *table, uint32_t limit,
                   char *out, size_t cap, const char **order);
/* Binds the plan's parameters (?1, ?4) to st. */
void fc__search_bind(const fc_search_plan *p, sqlite3_stmt *st);
/* Registers the fc_ngram tokenizer and the SQL function fc_digits on db,
 * which every connection to a replica needs (SQLite status). */
int fc__search_register(sqlite3 *db);

/* fc_db.c */
fc_status fc__fail(fs_error *err, fc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
fc_status fc__sqlfail(fc_client *c, fs_error *err, const char *what);
fc_status fc__from_store(fs_store_status st, const fs_error *serr, fs_error *err);
fc_status fc__from_fs(fs_status st, const fs_error *ferr, fs_error *err);
fc_status fc__exec(fc_client *c, const char *sql, fs_error *err);
fc_status fc__begin(fc_client *c, fs_error *err);   /* BEGIN IMMEDIATE */
fc_status fc__commit(fc_client *c, fs_error *err);
void fc__rollback(fc_client *c);
fc_status fc__prepare(fc_client *c, const char *sql, sqlite3_stmt **st,
                      fs_error *err);
/* The statement cached in *slot (prepared from sql on first use) into *st.
 * Borrowed: release it with fc__release, never finalize it. */
fc_status fc__cached(fc_client *c, sqlite3_stmt **slot, const char *sql,
                     sqlite3_stmt **st, fs_error *err);
/* Resets a cached statement and clears its bindings; accepts NULL. */
void fc__release(sqlite3_stmt *st);
uint64_t fc__now_ms(fc_client *c);
/* meta: integer and blob/text values by key */
fc_status fc__meta_get_int(fc_client *c, const char *key, int64_t *out,
                           bool *found, fs_error *err);
fc_status fc__meta_set_int(fc_client *c, const char *key, int64_t v, fs_error *err);
fc_status fc__meta_get_blob(fc_client *c, const char *key, void *out, size_t cap,
                            size_t *len, bool *found, fs_error *err);
fc_status fc__meta_set_blob(fc_client *c, const char *key, const void *p,
                            size_t n, fs_error *err);
fc_status fc__meta_del(fc_client *c, const char *key, fs_error *err);
/* Ticks the persisted HLC (inside the caller's transaction). */
fc_status fc__hlc_tick(fc_client *c, fs_hlc *out, fs_error *err);
fc_status fc__hlc_recv(fc_client *c, fs_hlc remote, fs_error *err);
/* Adds a customer to temp.fc_search_dirty, the set fc__fts_refresh_dirty
 * rebuilds from the displayed tables and then empties (a sync page marks
 * every customer it touches and refreshes once). */
fc_status fc__fts_mark(fc_client *c, const fs_id *customer, fs_error *err);
fc_status fc__fts_refresh_dirty(fc_client *c, fs_error *err);
/* Both, for one customer (a local write). */
fc_status fc__fts_refresh(fc_client *c, const fs_id *customer, fs_error *err);
/* Replaces the stored open-conflict list with the server's (k[0..n)) and
 * records the server's total; inside the caller's transaction. */
fc_status fc__conflicts_replace(fc_client *c, const fs_open_conflict *k,
                                size_t n, uint32_t open, fs_error *err);
fc_status fc__notice_add(fc_client *c, const char *kind, const fs_entity *e,
                         const fs_id *row, const char *label,
                         const char *reason, const char *detail, fs_error *err);
/* Runs a DELETE whose ?1 is `id` in its own transaction; *deleted tells
 * whether a row went (nothing is committed otherwise); `what` names the
 * step in an SQLite error. Used by the dismiss calls. */
fc_status fc__delete_one(fc_client *c, const char *sql, int64_t id,
                         const char *what, bool *deleted, fs_error *err);
/* Deletes every row of the replica and closes it, then unlinks the files. */
fc_status fc__wipe(fc_client *c, fs_error *err);

/* fc_outbox.c */
/* Serialises / parses one change (a compact private format, see the file). */
fc_status fc__change_encode(const fs_change *ch, uint8_t **out, size_t *len,
                            fs_error *err);
fc_status fc__change_decode(const uint8_t *p, size_t n, fs_change *out,
                            fs_error *err);
/* *out = the outbox holds a pending or in-flight change to (e, id). */
fc_status fc__has_overlay(fc_client *c, const fs_entity *e, const fs_id *id,
                          bool *out, fs_error *err);
/* Saves row into base_ with seq; its root comes from base_ or, when the
 * parent has no base_ copy, from the displayed tables. */
fc_status fc__save_base(fc_client *c, const fs_row *row, int64_t seq, fs_error *err);
/* Appends ch to the outbox as pending (in the caller's transaction); the
 * row's first queued change first copies its displayed row into base_ when
 * base_ has none (base_ is sparse: see fc_outbox.c). */
fc_status fc__outbox_append(fc_client *c, const fs_change *ch,
                            const char *summary, fs_error *err);
/* Recomputes the displayed row (e, id) = base + pending/in-flight overlay,
 * saves or removes it, and refreshes FTS when it is a customer or contact. */
fc_status fc__recompute(fc_client *c, const fs_entity *e, const fs_id *id,
                        fs_error *err);
/* The same without the FTS refresh: *search (when *has_search) is the
 * customer whose search entry the caller must refresh (fc__fts_refresh),
 * so a sync page refreshes each customer once, not once per contact. */
fc_status fc__recompute_row(fc_client *c, const fs_entity *e, const fs_id *id,
                            fs_id *search, bool *has_search, fs_error *err);
/* Re-stamps every outbox change with the device id `dev`. */
fc_status fc__outbox_restamp(fc_client *c, const fs_id *dev, fs_error *err);

/* fc_http.c */
/* The built-in transport's payload: the options and the client's kept
 * connections (NULL: a connection per request). */
typedef struct fc_curl_ctx {
    const fc_options *opt;
    fc_conns *conns;
} fc_curl_ctx;
/* The encoding of the next sync request, and so of its answer: identity
 * over a fast link, else deflate. */
fs_proto_encoding fc__sync_encoding(fc_client *c);
fc_conns *fc__conns_new(void);
void fc__conns_free(fc_conns *k);
fc_status fc__curl_post(const char *url, const char *content_type,
                        const char *content_encoding, const char *token,
                        const uint8_t *body, size_t len, fc_http_response *resp,
                        fs_error *err, void *payload);
/* POST with retries/backoff; progress (optional) is told about retries.
 * enc is the body's encoding (the server answers in the same). */
fc_status fc__post_retry(fc_client *c, const char *url, const char *token,
                         fs_proto_encoding enc,
                         const uint8_t *body, size_t len, fc_http_response *resp,
                         fc_progress *prog, fc_progress_fn progress,
                         void *payload, fs_error *err);

#endif /* FC_INT_H */
