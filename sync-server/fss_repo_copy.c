/*
 * fss_repo_copy.c - `sync-server copy-store`: moves everything a SQLite
 * store holds into an empty PostgreSQL store (or any empty store), then
 * proves the move by comparing every rep's canonical export on both sides.
 *
 * Both stores are opened as servers (so both are migrated to this build's
 * schema first, and the versions must agree). The copy is generic over
 * the tables the source has - the row store's tables, the server's fss_*
 * tables and whatever later migrations add - column by column by name,
 * each value bound with its stored type, all inside one write transaction
 * on the destination: a failure leaves the destination as it was. Only
 * fss_migrations is not copied (both sides are at the same version by
 * then). Identity columns (`id INTEGER PRIMARY KEY` on SQLite) continue
 * after the highest copied id on PostgreSQL.
 */
#include "fss_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The source's table names (SQLite catalogue), malloc'd. */
static fss_status source_tables(fss_conn *c, char ***out, size_t *n,
                                fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    *out = NULL;
    *n = 0;
    if (fss_sql_backend_of(c->db) != FSS_SQL_SQLITE)
        return fss__fail(err, FSS_EINVAL, "copy-store: the source must be a SQLite store");
    if (fss_prepare(c->db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                           " AND name NOT LIKE 'sqlite_%' ORDER BY name",
                    -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "source tables");
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        char **grown = realloc(*out, (*n + 1) * sizeof *grown);
        if (!grown || !(grown[*n] = strdup((const char *)fss_column_text(st, 0)))) {
            if (grown)
                *out = grown;
            rc = fss__fail(err, FSS_ENOMEM, "copy-store");
            break;
        }
        *out = grown;
        (*n)++;
    }
    if (rc == FSS_OK && r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "source tables");
    fss_finalize(st);
    return rc;
}

/* Binds the source's current value of column i as parameter i + 1. */
static void bind_value(fss_stmt *src, fss_stmt *dst, int i)
{
    switch (fss_column_type(src, i)) {
    case FSS_SQL_INTEGER:
        fss_bind_int64(dst, i + 1, fss_column_int64(src, i));
        break;
    case FSS_SQL_FLOAT:
        fss_bind_double(dst, i + 1, fss_column_double(src, i));
        break;
    case FSS_SQL_TEXT:
        fss_bind_text(dst, i + 1, (const char *)fss_column_text(src, i),
                      fss_column_bytes(src, i), FSS_SQL_TRANSIENT);
        break;
    case FSS_SQL_BLOB:
        fss_bind_blob(dst, i + 1, fss_column_blob(src, i),
                      fss_column_bytes(src, i), FSS_SQL_TRANSIENT);
        break;
    default:
        fss_bind_null(dst, i + 1);
        break;
    }
}

/* After explicit ids went into an identity column, its sequence continues
 * after the highest (PostgreSQL; nothing to do on SQLite). */
static fss_status continue_identity(fss_conn *to, const char *table,
                                    fs_error *err)
{
    char sql[256];
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    bool identity = false;

    if (fss_sql_backend_of(to->db) != FSS_SQL_PG)
        return FSS_OK;
    if (fss_prepare(to->db, "SELECT count(*) FROM information_schema.columns"
                            " WHERE table_schema = current_schema()"
                            " AND table_name = ?1 AND column_name = 'id'"
                            " AND is_identity = 'YES'",
                    -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, to->db, "identity");
    fss_bind_text(st, 1, table, -1, FSS_SQL_STATIC);
    if (fss_step(st) == FSS_SQL_ROW)
        identity = fss_column_int64(st, 0) > 0;
    fss_finalize(st);
    if (!identity)
        return FSS_OK;
    snprintf(sql, sizeof sql,
             "SELECT setval(pg_get_serial_sequence('\"%s\"', 'id'),"
             " COALESCE(max(id), 0) + 1, false) FROM \"%s\"", table, table);
    rc = fss__exec(to, sql, err);
    return rc;
}

/* Copies one table's rows (the destination's copy of it is emptied
 * first); *rows += how many. */
static fss_status copy_table(fss_conn *from, fss_conn *to, const char *table,
                             int64_t *rows, fs_error *err)
{
    char sql[256];
    fss_buf ins = {0};
    fss_stmt *src = NULL, *dst = NULL;
    fss_status rc = FSS_OK;
    int ncol = 0, r;

    snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", table);
    if ((rc = fss__exec(to, sql, err)) != FSS_OK)
        return rc;
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
    if (fss_prepare(from->db, sql, -1, &src, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, from->db, table);
        goto done;
    }
    while ((r = fss_step(src)) == FSS_SQL_ROW) {
        if (!dst) {
            ncol = fss_column_count(src);
            fss_buf_printf(&ins, "INSERT INTO \"%s\"(", table);
            for (int i = 0; i < ncol; i++)
                fss_buf_printf(&ins, "%s\"%s\"", i ? ", " : "",
                               fss_column_name(src, i));
            fss_buf_puts(&ins, ") VALUES(");
            for (int i = 0; i < ncol; i++)
                fss_buf_printf(&ins, "%s?%d", i ? ", " : "", i + 1);
            fss_buf_puts(&ins, ")");
            if (ins.oom) {
                rc = fss__fail(err, FSS_ENOMEM, "copy-store");
                goto done;
            }
            if (fss_prepare(to->db, ins.data, -1, &dst, NULL) != FSS_SQL_OK) {
                rc = fss__dbfail(err, to->db, table);
                goto done;
            }
        }
        for (int i = 0; i < ncol; i++)
            bind_value(src, dst, i);
        if (fss_step(dst) != FSS_SQL_DONE) {
            rc = fss__dbfail(err, to->db, table);
            goto done;
        }
        fss_reset(dst);
        fss_clear_bindings(dst);
        (*rows)++;
    }
    if (r != FSS_SQL_DONE) {
        rc = fss__dbfail(err, from->db, table);
        goto done;
    }
    rc = continue_identity(to, table, err);
done:
    fss_finalize(src);
    fss_finalize(dst);
    fss_buf_free(&ins);
    return rc;
}

/* The reps' uuids of a store, malloc'd. */
static fss_status rep_ids(fss_conn *c, fs_id **out, size_t *n, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    *out = NULL;
    *n = 0;
    if (fss_prepare(c->db, "SELECT uuid FROM fss_reps ORDER BY uuid", -1, &st,
                    NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "reps");
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fs_id *grown = realloc(*out, (*n + 1) * sizeof *grown);
        if (!grown) {
            rc = fss__fail(err, FSS_ENOMEM, "copy-store");
            break;
        }
        *out = grown;
        if (fs_id_parse((const char *)fss_column_text(st, 0),
                        (size_t)fss_column_bytes(st, 0), &grown[*n], NULL) == FS_OK)
            (*n)++;
    }
    if (rc == FSS_OK && r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "reps");
    fss_finalize(st);
    return rc;
}

/* Is the destination empty (no sequence number handed out, no rep)? */
static fss_status require_empty(fss_conn *to, fs_error *err)
{
    int64_t seq = 0;
    fss_status rc = fss__current_seq(to, &seq, err);
    int64_t reps = 0;

    if (rc == FSS_OK)
        rc = fss__repo_reps_count(to, &reps, err);
    if (rc == FSS_OK && (seq != 0 || reps != 0))
        rc = fss__fail(err, FSS_EEXISTS,
                       "the destination store is not empty (seq %lld, %lld reps);"
                       " copy-store only fills a new store",
                       (long long)seq, (long long)reps);
    return rc;
}

fss_status fss_copy_store(fss_server *from, fss_server *to, fss_copy_report *rep,
                          fs_error *err)
{
    fss_conn *a = fss__conn_get(from, 10000), *b = fss__conn_get(to, 10000);
    char **tables = NULL;
    size_t ntables = 0, i, nreps = 0;
    fs_id *reps = NULL;
    fss_status rc = FSS_OK;
    fss_buf ea = {0}, eb = {0};

    memset(rep, 0, sizeof *rep);
    if (!a || !b) {
        rc = fss__fail(err, FSS_EDB, "copy-store: no store connection");
        goto done;
    }
    /* One snapshot of the source (a running server may keep writing) and
     * one transaction on the destination. */
    if ((rc = fss__begin_read(a, err)) != FSS_OK ||
        (rc = fss__begin_immediate(b, err)) != FSS_OK ||
        (rc = require_empty(b, err)) != FSS_OK ||
        (rc = source_tables(a, &tables, &ntables, err)) != FSS_OK)
        goto done;
    for (i = 0; i < ntables; i++) {
        if (strcmp(tables[i], "fss_migrations") == 0)
            continue;
        rc = copy_table(a, b, tables[i], &rep->rows, err);
        if (rc != FSS_OK)
            goto done;
        rep->tables++;
    }
    if ((rc = fss__commit(b, err)) != FSS_OK)
        goto done;
    fss__rollback(a);
    fss__conn_put(from, a);
    fss__conn_put(to, b);
    a = b = NULL;

    /* The proof: every rep's export, byte for byte. */
    if (!(a = fss__conn_get(from, 10000))) {
        rc = fss__fail(err, FSS_EDB, "copy-store: no store connection");
        goto done;
    }
    rc = rep_ids(a, &reps, &nreps, err);
    fss__conn_put(from, a);
    a = NULL;
    if (rc != FSS_OK)
        goto done;
    for (i = 0; i < nreps; i++) {
        char uuid[FS_ID_STRLEN + 1];
        ea.len = eb.len = 0;
        if ((rc = fss_admin_export(from, &reps[i], &ea, err)) != FSS_OK ||
            (rc = fss_admin_export(to, &reps[i], &eb, err)) != FSS_OK)
            goto done;
        if (ea.len != eb.len || memcmp(ea.data, eb.data, ea.len) != 0) {
            fs_id_format(&reps[i], uuid);
            rc = fss__fail(err, FSS_EDB,
                           "copy-store: rep %s's export differs after the copy"
                           " (%zu bytes before, %zu after)", uuid, ea.len, eb.len);
            goto done;
        }
        rep->reps_verified++;
        rep->export_bytes += (int64_t)ea.len;
    }
done:
    if (a) {
        fss__rollback(a);
        fss__conn_put(from, a);
    }
    if (b) {
        fss__rollback(b);
        fss__conn_put(to, b);
    }
    for (i = 0; i < ntables; i++)
        free(tables[i]);
    free(tables);
    free(reps);
    fss_buf_free(&ea);
    fss_buf_free(&eb);
    return rc;
}
