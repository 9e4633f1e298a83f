/*
 * fs_store.h - merged rows in SQLite (public API of libfsstore).
 *
 * The one piece of code that both the sync server and the field client use to
 * keep merged rows (fs_row, see fs_conflict.h) in SQLite: tables generated
 * from the schema and migrated on open, load/save/delete of one row, the
 * row's root (the customer it hangs off), paged iteration by server sequence
 * number, decoding rows from the caller's own SELECTs, and the canonical JSON
 * export that client and server replicas are compared with. No merge logic
 * (that is fs_merge()) and no HTTP.
 *
 * Tables: for each entity `<prefix><entity>` with the columns
 *   id BLOB PRIMARY KEY (16 bytes), seq INTEGER, root BLOB (16 bytes or NULL),
 *   deleted INTEGER, del_hlc INTEGER, del_dev BLOB, meta BLOB,
 *   one column per field, named after the field, in schema order
 * and indexes on (seq, id) and (root, seq). See docs/ARCHITECTURE.md "## Store"
 * for the meta blob format and the export layout.
 *
 * Ownership and threading:
 *  - The fss_sql connection is borrowed: the caller opens and closes it and
 *    owns every transaction. The store never BEGINs or COMMITs (it only uses a
 *    SAVEPOINT inside fs_store_open, which nests in any caller transaction).
 *  - An fs_store caches prepared statements, so one handle serves one thread
 *    at a time and must be closed before the connection.
 *  - Entity pointers are the static ones from fs_schema_entities().
 *  - Rows passed as outputs must be zeroed ({0}) or initialised rows; the
 *    store reuses their cell array when the entity matches, and the caller
 *    releases them with fs_row_free() (also after an error).
 *  - Strings returned by fs_store_table()/fs_store_columns() are owned by the
 *    store and valid until fs_store_close().
 *
 * Errors: every function returns fs_store_status (FS_STORE_OK = 0) and, on
 * failure, fills the optional caller-supplied fs_error with the same code and
 * a readable message (SQLite's message included for FS_STORE_ESQL).
 */
#ifndef FS_STORE_H
#define FS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fs_store_sql.h"

#include "fs_conflict.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. Appended, never renumbered. */
typedef enum fs_store_status {
    FS_STORE_OK = 0,
    FS_STORE_EINVAL,          /* a required argument is NULL or inconsistent */
    FS_STORE_ENOMEM,          /* allocation failed */
    FS_STORE_ESQL,            /* SQLite reported an error (text has its message) */
    FS_STORE_EUNKNOWN_ENTITY, /* entity is not one of fs_schema_entities() */
    FS_STORE_ECORRUPT,        /* a stored row cannot be decoded (bad id, meta
                                 blob or column type) */
    FS_STORE_ENOPARENT,       /* fs_store_root: the parent row is not stored */
    FS_STORE_ESCHEMA,         /* tables written by a newer store format, or a
                                 table that cannot be migrated */
    FS_STORE_EWRITE           /* an export writer callback or FILE failed */
} fs_store_status;

/* Static, never NULL. */
const char *fs_store_strerror(fs_store_status st);

/* Opaque handle: one table set (one prefix) over a borrowed connection. */
typedef struct fs_store fs_store;

/* Per-row bookkeeping kept beside the merged state. */
typedef struct fs_store_rowinfo {
    int64_t seq;   /* server sequence number of the last applied change */
    bool has_root; /* false for reference data (product) and rows whose
                      parent is unset */
    fs_id root;    /* the customer the row hangs off (valid if has_root) */
} fs_store_rowinfo;

/*
 * Opens a table set over `db` (borrowed; must outlive the store). `prefix`
 * (copied; NULL means "") is prepended to every table name and must match
 * [a-z_][a-z0-9_]*, at most 32 bytes: e.g. "" for the client's displayed replica and
 * "base_" for its server-confirmed copy. Missing tables, columns and indexes
 * are created (ALTER TABLE ADD COLUMN for fields added to the schema); old
 * rows are kept. A table set written by a newer store format is
 * FS_STORE_ESCHEMA. On success *out is new and freed with fs_store_close().
 * Returns OK, EINVAL, ENOMEM, ESQL, ESCHEMA.
 */
fs_store_status fs_store_open(fss_sql *db, const char *prefix, fs_store **out,
                              fs_error *err);

/* Finalises the cached statements and frees the handle. Accepts NULL. */
void fs_store_close(fs_store *s);

/* The table name of entity e ("base_customer"), or NULL if e is unknown. */
const char *fs_store_table(const fs_store *s, const fs_entity *e);

/*
 * The column list for entity e, each column qualified with the table name:
 * `"customer"."id","customer"."seq",...` (7 fixed columns, then one per
 * field). Use it as `SELECT <columns> FROM <table> WHERE ...` and pass the
 * stepped statement to fs_store_decode(). NULL if e is unknown.
 */
const char *fs_store_columns(const fs_store *s, const fs_entity *e);

/* The fixed columns every table starts with (id, seq, root, deleted,
 * del_hlc, del_dev, meta), before one column per field. */
#define FS_STORE_NFIXED_COLUMNS 7

/* Number of columns in fs_store_columns(): 7 + e->nfields. */
int fs_store_ncolumns(const fs_entity *e);

/*
 * Decodes the current result row of `stmt` (borrowed; the caller prepared it
 * with fs_store_columns(s, e) starting at result column `first_col` and has
 * just had FSS_SQL_ROW from fss_step) into `row` (zeroed or initialised;
 * re-initialised for e) and, if non-NULL, `info`.
 * Returns OK, EINVAL, EUNKNOWN_ENTITY, ENOMEM, ECORRUPT.
 */
fs_store_status fs_store_decode(fs_store *s, const fs_entity *e,
                                fss_stmt *stmt, int first_col, fs_row *row,
                                fs_store_rowinfo *info, fs_error *err);

/*
 * fs_store_decode for a statement whose field columns are not in a row:
 * the 7 fixed columns from `first_col` as in fs_store_columns(), and field
 * j of e (schema order) in result column field_cols[j] (borrowed, e->nfields
 * entries). For a compound SELECT whose arms, one per entity, share typed
 * columns (the server's pull: one statement returns the rows of every
 * table). Returns as fs_store_decode.
 */
fs_store_status fs_store_decode_at(fs_store *s, const fs_entity *e,
                                   fss_stmt *stmt, int first_col,
                                   const int *field_cols, fs_row *row,
                                   fs_store_rowinfo *info, fs_error *err);

/*
 * Loads row `id` of entity e into `row` (zeroed or initialised). *found is
 * set to whether the row is stored; when it is not, `row` is a fresh
 * never-written row for (e, id) (ready for fs_merge as a create) and `info`
 * is zeroed. Returns OK, EINVAL, EUNKNOWN_ENTITY, ENOMEM, ESQL, ECORRUPT.
 */
fs_store_status fs_store_load(fs_store *s, const fs_entity *e, const fs_id *id,
                              fs_row *row, fs_store_rowinfo *info, bool *found,
                              fs_error *err);

/*
 * Inserts or replaces the stored state of `row` (borrowed; entity taken from
 * row->entity) with sequence number `seq` and root `root` (NULL = none; see
 * fs_store_root). Returns OK, EINVAL, EUNKNOWN_ENTITY, ESQL.
 */
fs_store_status fs_store_save(fs_store *s, const fs_row *row, int64_t seq,
                              const fs_id *root, fs_error *err);

/*
 * fs_store_save for n rows of one entity in one statement (a multi-row
 * upsert): rows[i] with seqs[i] and roots[i] (NULL = none). No row twice,
 * at most FS_STORE_MAX_PARAMS / fs_store_ncolumns(e) rows. The server's
 * batched saves (one round trip instead of n on PostgreSQL).
 * Returns OK, EINVAL, EUNKNOWN_ENTITY, ENOMEM, ESQL.
 */
fs_store_status fs_store_save_many(fs_store *s, const fs_row *const *rows,
                                   const int64_t *seqs, const fs_id *const *roots,
                                   size_t n, fs_error *err);

/*
 * Computes the customer id `row` hangs off: the row itself for a parentless
 * synced entity (customer); nothing for parentless reference data (product);
 * otherwise the parent field's target, walking up the chain by reading the
 * stored parent's root (quote_line -> quote -> customer; one lookup per level
 * above the top). If the parent field is unset, *has_root = false and OK.
 * If an intermediate parent row is not stored: FS_STORE_ENOPARENT.
 * Returns OK, EINVAL, EUNKNOWN_ENTITY, ENOPARENT, ESQL, ECORRUPT.
 */
fs_store_status fs_store_root(fs_store *s, const fs_row *row, fs_id *root,
                              bool *has_root, fs_error *err);

/*
 * Removes row `id` of entity e physically (the client drops rows that left
 * its scope; a tombstone is a save with row->deleted). *removed (optional)
 * tells whether a row was there. Returns OK, EINVAL, EUNKNOWN_ENTITY, ESQL.
 */
fs_store_status fs_store_delete(fs_store *s, const fs_entity *e,
                                const fs_id *id, bool *removed, fs_error *err);

/*
 * Removes every row, of every entity, whose root is `root` (a customer and
 * its whole subtree leaving the scope). *count (optional) gets the number of
 * rows removed. Returns OK, EINVAL, ESQL.
 */
fs_store_status fs_store_delete_root(fs_store *s, const fs_id *root,
                                     int64_t *count, fs_error *err);

/*
 * Gives a root to rows that were saved without one because their parent row
 * was not stored yet (a pull may deliver a quote_line before the quote it
 * hangs off when the quote changed later: rows come in seq order), now that
 * the parent is there. Without it such a row would survive the removal of
 * its customer's subtree (fs_store_delete_root). *count (optional) gets the
 * number of rows updated, including ones whose parent is still missing.
 * Returns OK, EINVAL, ENOMEM, ESQL.
 */
fs_store_status fs_store_fix_roots(fs_store *s, int64_t *count, fs_error *err);

/*
 * Removes the rows fs_store_fix_roots could not give a root: their parent
 * was never stored. Called after a complete pull, when every row of the
 * scope has arrived, so such a parent is outside the scope (the customer
 * left before the parent's newer version could come). keep (optional) is
 * asked per orphan and may spare it (a row with queued local changes).
 * *count (optional) gets the number of rows removed.
 * Returns OK, EINVAL, ENOMEM, ESQL.
 */
typedef bool (*fs_store_keep_fn)(const fs_entity *e, const fs_id *id, void *payload);
fs_store_status fs_store_drop_orphans(fs_store *s, fs_store_keep_fn keep,
                                      void *payload, int64_t *count, fs_error *err);

/*
 * Called for each row by fs_store_since. `row` and `info` are borrowed and
 * only valid during the call. Return true to continue, false to stop.
 */
typedef bool (*fs_store_row_fn)(const fs_row *row, const fs_store_rowinfo *info,
                                void *payload);

/*
 * Calls fn for the rows of entity e with seq > after_seq, in seq order
 * (ties by id), at most `limit` rows (0 = no limit), tombstoned rows
 * included (a pull must carry deletes). *count (optional) gets the number of
 * rows passed to fn. The cursor is the seq alone, so the next page starts
 * after the last seq seen: give every saved row its own seq (the server's
 * per-change number), or a page that ends inside a run of equal seqs would
 * skip the rest of the run. The callback may use the store (load, save,
 * root) but must not modify the rows of e being iterated or call
 * fs_store_since for e.
 * Returns OK, EINVAL, EUNKNOWN_ENTITY, ENOMEM, ESQL, ECORRUPT.
 */
fs_store_status fs_store_since(fs_store *s, const fs_entity *e,
                               int64_t after_seq, int64_t limit,
                               fs_store_row_fn fn, void *payload,
                               int64_t *count, fs_error *err);

/*
 * Export filter: return true to include the row. `root` is NULL when the row
 * has none. All pointers borrowed for the call.
 */
typedef bool (*fs_store_filter_fn)(const fs_entity *e, const fs_row *row,
                                   const fs_id *root, void *payload);

/* Export sink: write n bytes; return 0 on success, nonzero to abort. */
typedef int (*fs_store_write_fn)(const char *buf, size_t n, void *payload);

/*
 * Writes the canonical JSON export of the table set (format in
 * docs/ARCHITECTURE.md "## Store": entities in schema order, rows sorted by
 * id, tombstoned rows excluded, every field in schema order, no stamps, one
 * row per line). `filter` (optional, NULL = every live row) selects rows.
 * Streams through a fixed buffer: memory does not grow with the tables.
 * Returns OK, EINVAL, ENOMEM, ESQL, ECORRUPT, EWRITE.
 */
fs_store_status fs_store_export(fs_store *s, fs_store_filter_fn filter,
                                void *filter_payload, fs_store_write_fn write,
                                void *write_payload, fs_error *err);

/* The same, written to `out` (borrowed; not closed, flushed). */
fs_store_status fs_store_export_file(fs_store *s, fs_store_filter_fn filter,
                                     void *filter_payload, FILE *out,
                                     fs_error *err);

#ifdef __cplusplus
}
#endif
#endif /* FS_STORE_H */
