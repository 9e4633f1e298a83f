/*
 * fs_store_sql.h - the database API libfsstore is written against, for its
 * two builds.
 *
 * The store's code calls the server's SQL driver API (fss_sql.h: fss_step,
 * fss_bind_text, FSS_SQL_ROW, ...), which has the sqlite3 API's shape.
 *  - The field client's build (libfsstore) maps every such name straight to
 *    its sqlite3 namesake below: no driver, no libpq, no cost.
 *  - The sync server's build (libfsstore_sql, FS_STORE_SQL defined) links
 *    the driver, so the same code keeps rows on SQLite or PostgreSQL; its
 *    public functions get an fs_store_sql_ prefix so a program linking both
 *    builds (the simulation: client and server) gets each where it belongs.
 * SQL the store writes is portable except where FS_STORE_PG(db) picks a
 * PostgreSQL text (reading a table's columns).
 */
#ifndef FS_STORE_SQL_H
#define FS_STORE_SQL_H

#ifdef FS_STORE_SQL

#include "fss_sql.h"

#define FS_STORE_PG(db) (fss_sql_backend_of(db) == FSS_SQL_PG)
/* the driver keeps every statement as SQLite's PERSISTENT */
#define fss_prepare_persistent fss_prepare

#define fs_store_open fs_store_sql_open
#define fs_store_close fs_store_sql_close
#define fs_store_table fs_store_sql_table
#define fs_store_columns fs_store_sql_columns
#define fs_store_ncolumns fs_store_sql_ncolumns
#define fs_store_decode fs_store_sql_decode
#define fs_store_decode_at fs_store_sql_decode_at
#define fs_store_load fs_store_sql_load
#define fs_store_save fs_store_sql_save
#define fs_store_save_many fs_store_sql_save_many
#define fs_store__save_sql fs_store_sql__save_sql
#define fs_store_root fs_store_sql_root
#define fs_store_delete fs_store_sql_delete
#define fs_store_delete_root fs_store_sql_delete_root
#define fs_store_fix_roots fs_store_sql_fix_roots
#define fs_store_drop_orphans fs_store_sql_drop_orphans
#define fs_store_since fs_store_sql_since
#define fs_store_export fs_store_sql_export
#define fs_store_export_file fs_store_sql_export_file
#define fs_store_strerror fs_store_sql_strerror
#define fs_store__fail fs_store_sql__fail
#define fs_store__sqlfail fs_store_sql__sqlfail
#define fs_store__ent fs_store_sql__ent
#define fs_store__stmt fs_store_sql__stmt
#define fs_store__decode fs_store_sql__decode

#else /* the client's build: sqlite3 itself */

#include <sqlite3.h>

#define FS_STORE_PG(db) 0

typedef sqlite3 fss_sql;
typedef sqlite3_stmt fss_stmt;
#define fss_prepare sqlite3_prepare_v2
#define fss_prepare_persistent(db, sql, n, out, tail) \
    sqlite3_prepare_v3(db, sql, n, SQLITE_PREPARE_PERSISTENT, out, tail)
#define fss_exec sqlite3_exec
#define fss_free sqlite3_free
#define fss_errmsg sqlite3_errmsg
#define fss_errcode sqlite3_errcode
#define fss_changes sqlite3_changes
#define fss_changes64 sqlite3_changes64
#define fss_get_autocommit sqlite3_get_autocommit
#define fss_bind_parameter_count sqlite3_bind_parameter_count
#define fss_bind_int sqlite3_bind_int
#define fss_bind_int64 sqlite3_bind_int64
#define fss_bind_double sqlite3_bind_double
#define fss_bind_null sqlite3_bind_null
#define fss_bind_text sqlite3_bind_text
#define fss_bind_blob sqlite3_bind_blob
#define fss_step sqlite3_step
#define fss_column_count sqlite3_column_count
#define fss_column_type sqlite3_column_type
#define fss_column_int sqlite3_column_int
#define fss_column_int64 sqlite3_column_int64
#define fss_column_double sqlite3_column_double
#define fss_column_text sqlite3_column_text
#define fss_column_blob sqlite3_column_blob
#define fss_column_bytes sqlite3_column_bytes
#define fss_reset sqlite3_reset
#define fss_clear_bindings sqlite3_clear_bindings
#define fss_finalize sqlite3_finalize
#define FSS_SQL_OK SQLITE_OK
#define FSS_SQL_ERROR SQLITE_ERROR
#define FSS_SQL_BUSY SQLITE_BUSY
#define FSS_SQL_NOMEM SQLITE_NOMEM
#define FSS_SQL_CONSTRAINT SQLITE_CONSTRAINT
#define FSS_SQL_ROW SQLITE_ROW
#define FSS_SQL_DONE SQLITE_DONE
#define FSS_SQL_INTEGER SQLITE_INTEGER
#define FSS_SQL_FLOAT SQLITE_FLOAT
#define FSS_SQL_TEXT SQLITE_TEXT
#define FSS_SQL_BLOB SQLITE_BLOB
#define FSS_SQL_NULL SQLITE_NULL
#define FSS_SQL_STATIC SQLITE_STATIC
#define FSS_SQL_TRANSIENT SQLITE_TRANSIENT

#endif /* FS_STORE_SQL */

#endif /* FS_STORE_SQL_H */
