/*
 * fs_store_int.h - private declarations shared by the libfsstore sources.
 *
 * Not installed and not included by other components: the handle layout,
 * the per-entity statement cache and the helpers for errors, the meta blob
 * and row decoding live here so that fs_store.c (open, migrate, rows) and
 * fs_store_export.c (canonical JSON) share one definition.
 */
#ifndef FS_STORE_INT_H
#define FS_STORE_INT_H

#include "fs_store.h"

/* Version of the table layout and meta blob written by this code. A store
 * written by a higher version is refused (FS_STORE_ESCHEMA). */
#define FS_STORE_FORMAT 1

/* The meta blob indexes devices with one byte, so an entity has at most this
 * many fields (the schema has under 20 per entity). */
#define FS_STORE_MAX_FIELDS 255

/* Fixed columns before the fields, in this order, in every statement. */
enum {
    FS_STORE_COL_ID,
    FS_STORE_COL_SEQ,
    FS_STORE_COL_ROOT,
    FS_STORE_COL_DELETED,
    FS_STORE_COL_DEL_HLC,
    FS_STORE_COL_DEL_DEV,
    FS_STORE_COL_META,
    FS_STORE_NFIXED
};
_Static_assert(FS_STORE_NFIXED == FS_STORE_NFIXED_COLUMNS,
               "fs_store.h names the fixed columns' number");

/* Cached statements per entity, prepared on first use. */
enum {
    FS_STORE_ST_LOAD,
    FS_STORE_ST_SAVE,
    FS_STORE_ST_DELETE,
    FS_STORE_ST_ROOT,
    FS_STORE_ST_SINCE,
    FS_STORE_ST_EXPORT,
    FS_STORE_ST_DELETE_ROOT,
    FS_STORE_ST_FIX_ROOTS,
    FS_STORE_ST_COUNT
};

typedef struct fs_store_ent {
    const fs_entity *e;     /* static schema entry */
    int parent;             /* index in fs_store.ents of the parent entity, or -1 */
    char *table;            /* "<prefix><name>", owned */
    char *columns;          /* qualified column list, owned */
    fss_stmt *st[FS_STORE_ST_COUNT];
} fs_store_ent;

struct fs_store {
    fss_sql *db;            /* borrowed */
    char prefix[33];
    size_t nent;
    fs_store_ent *ents;     /* one per schema entity, schema order, owned */
    uint8_t *meta;          /* scratch for encoding one meta blob, owned */
    size_t metacap;
};

/* Sets err (if any) to code + message and returns code. */
fs_store_status fs_store__fail(fs_error *err, fs_store_status code,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ESQL (or ENOMEM for FSS_SQL_NOMEM) with SQLite's message for `what`. */
fs_store_status fs_store__sqlfail(fs_store *s, fs_error *err, const char *what);

/* The store's slot for e (pointer comparison, no name lookups), or NULL. */
fs_store_ent *fs_store__ent(const fs_store *s, const fs_entity *e);

/* The cached statement `which` of entity slot `ent`, preparing it on first
 * use. Borrowed; the caller resets it after use. */
/* Parameters one statement may carry on either backend (PostgreSQL's
 * driver numbers at most ?999): bounds fs_store_save_many. */
#define FS_STORE_MAX_PARAMS 999
/* The upsert of nrows rows of ent (malloc'd; NULL when out of memory). */
char *fs_store__save_sql(const fs_store *s, const fs_store_ent *ent, size_t nrows);
fs_store_status fs_store__stmt(fs_store *s, fs_store_ent *ent, int which,
                               fss_stmt **out, fs_error *err);

/* Decodes the current row of st (store columns of ent from result column
 * c0, or the fields where fcols says when it is not NULL) into row (zeroed
 * or initialised) and info (optional). */
fs_store_status fs_store__decode(const fs_store_ent *ent, fss_stmt *st,
                                 int c0, const int *fcols, fs_row *row,
                                 fs_store_rowinfo *info, fs_error *err);

#endif /* FS_STORE_INT_H */
