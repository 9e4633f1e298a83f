/*
 * fs_store.c - opening a table set: names, DDL, migration, statement cache.
 *
 * The tables are generated from the static schema (fs_schema_entities()), so
 * every SQL string here is assembled from compile-time names plus the
 * caller's prefix, which is restricted to [a-z0-9_]; values always travel as
 * bound parameters. Opening checks a fingerprint of the schema recorded in
 * the `<prefix>fs_store_meta` table: when it matches, the tables are known to
 * be current and open costs two small queries; otherwise every table is
 * inspected and missing tables, columns and indexes are added (never
 * dropped), all inside one SAVEPOINT so a failed migration leaves nothing
 * half-done, even inside the caller's transaction.
 *
 * Tables are ordinary rowid tables, chosen by measurement (tests/store/
 * bench_store.c, 100k visit rows): WITHOUT ROWID avoids the second b-tree
 * for the 16-byte key, but stores whole rows in an index b-tree, whose small
 * local payload limit pushes rows of a few hundred bytes (visits with notes)
 * into overflow pages; plain inserts were 1.6x and upserts 1.3x faster with
 * rowid tables, loads about equal. The numbers are in docs/ARCHITECTURE.md.
 */
#include "fs_store_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef FS_STORE_WITHOUT_ROWID
#define FS_STORE_TABLE_SUFFIX ""
#else
/* Only for measuring the alternative (see the comment at the top). */
#define FS_STORE_TABLE_SUFFIX " WITHOUT ROWID"
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

const char *fs_store_strerror(fs_store_status st)
{
    switch (st) {
    case FS_STORE_OK: return "ok";
    case FS_STORE_EINVAL: return "invalid argument";
    case FS_STORE_ENOMEM: return "out of memory";
    case FS_STORE_ESQL: return "SQLite error";
    case FS_STORE_EUNKNOWN_ENTITY: return "unknown entity";
    case FS_STORE_ECORRUPT: return "stored row is corrupt";
    case FS_STORE_ENOPARENT: return "parent row not stored";
    case FS_STORE_ESCHEMA: return "store schema cannot be used";
    case FS_STORE_EWRITE: return "export write failed";
    }
    return "unknown store status";
}

fs_store_status fs_store__fail(fs_error *err, fs_store_status code,
                               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fs_error_vset(err, (int)code, fmt, ap);
    va_end(ap);
    return code;
}

fs_store_status fs_store__sqlfail(fs_store *s, fs_error *err, const char *what)
{
    int rc = fss_errcode(s->db);
    fs_store_status st = rc == FSS_SQL_NOMEM ? FS_STORE_ENOMEM : FS_STORE_ESQL;

    return fs_store__fail(err, st, "%s: %s", what, fss_errmsg(s->db));
}

/* ------------------------------------------------------------------------ */
/* A growable string for assembling SQL at open time                         */
/* ------------------------------------------------------------------------ */

typedef struct sqlbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sqlbuf;

static void sb_add(sqlbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_add(sqlbuf *b, const char *fmt, ...)
{
    va_list ap;
    int need;

    if (b->oom)
        return;
    va_start(ap, fmt);
    need = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
        b->oom = true;
        return;
    }
    if (!b->p || b->n + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;

        while (cap < b->n + (size_t)need + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
    }
    b->n += (size_t)need;
}

/* Hands the string over (NULL after an allocation failure). */
static char *sb_take(sqlbuf *b)
{
    char *p = b->oom ? NULL : b->p;

    if (b->oom)
        free(b->p);
    memset(b, 0, sizeof *b);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Names and column definitions                                              */
/* ------------------------------------------------------------------------ */

static const char *const fixed_names[FS_STORE_NFIXED] = {
    "id", "seq", "root", "deleted", "del_hlc", "del_dev", "meta"};

/* Definitions for CREATE TABLE; the ALTER form drops "PRIMARY KEY" (the id
 * column cannot be added to an existing table, see migrate_table). */
static const char *const fixed_defs[FS_STORE_NFIXED] = {
    "BLOB PRIMARY KEY NOT NULL",
    "INTEGER NOT NULL DEFAULT 0",
    "BLOB",
    "INTEGER NOT NULL DEFAULT 0",
    "INTEGER NOT NULL DEFAULT 0",
    "BLOB",
    "BLOB"};

/* The column affinity for a field type, so back-office SQL compares and
 * aggregates real numbers, dates (ms) and text naturally. */
static const char *type_affinity(fs_type t)
{
    switch (t) {
    case FS_TYPE_INT:
    case FS_TYPE_BOOL:
    case FS_TYPE_TIME:
    case FS_TYPE_MONEY:
        return "INTEGER";
    case FS_TYPE_REAL:
        return "REAL";
    case FS_TYPE_ID:
        return "BLOB";
    case FS_TYPE_TEXT:
    case FS_TYPE_ENUM:
    case FS_TYPE_CURRENCY:
        break;
    }
    return "TEXT";
}

/* Names that end up in SQL must be plain lowercase identifiers. They come
 * from the static schema, but checking keeps a typo there from becoming an
 * SQL syntax surprise. */
static bool ident_ok(const char *s, size_t max, bool allow_empty)
{
    size_t n;

    if (!s)
        return false;
    for (n = 0; s[n]; n++) {
        char c = s[n];
        bool word = (c >= 'a' && c <= 'z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (!word && !(digit && n > 0))
            return false;
    }
    return (n > 0 || allow_empty) && n <= max;
}

/* FNV-1a over the parts of the schema that shape the tables. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static int64_t schema_fingerprint(void)
{
    size_t ne = 0;
    const fs_entity *const *es = fs_schema_entities(&ne);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    unsigned v = FS_STORE_FORMAT;

    h = fnv(h, &v, sizeof v);
    h = fnv(h, FS_STORE_TABLE_SUFFIX, sizeof FS_STORE_TABLE_SUFFIX);
    for (size_t i = 0; i < ne; i++) {
        h = fnv(h, es[i]->name, strlen(es[i]->name) + 1);
        for (size_t j = 0; j < es[i]->nfields; j++) {
            const fs_field *f = &es[i]->fields[j];
            unsigned t = (unsigned)f->type;
            h = fnv(h, f->name, strlen(f->name) + 1);
            h = fnv(h, &t, sizeof t);
        }
    }
    /* Stored as an SQL integer; the cast is a bit-for-bit reinterpretation. */
    return (int64_t)(h & INT64_MAX);
}

/* ------------------------------------------------------------------------ */
/* Running SQL                                                               */
/* ------------------------------------------------------------------------ */

/* Runs one statement without parameters (DDL assembled from schema names). */
/* Runs DDL or a savepoint statement. Through exec, not prepare: the
 * PostgreSQL driver maps the portable column types there (fss_sql_ddl). */
static fs_store_status run(fs_store *s, const char *sql, fs_error *err)
{
    if (!sql)
        return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory building SQL");
    if (fss_exec(s->db, sql, NULL, NULL, NULL) != FSS_SQL_OK)
        return fs_store__sqlfail(s, err, "running store DDL");
    return FS_STORE_OK;
}

fs_store_ent *fs_store__ent(const fs_store *s, const fs_entity *e)
{
    if (!s || !e)
        return NULL;
    for (size_t i = 0; i < s->nent; i++)
        if (s->ents[i].e == e)
            return &s->ents[i];
    return NULL;
}

char *fs_store__save_sql(const fs_store *s, const fs_store_ent *ent, size_t nrows)
{
    sqlbuf b = {0};
    const fs_entity *e = ent->e;
    size_t ncols = FS_STORE_NFIXED + e->nfields;

    (void)s;
    /* An upsert rather than INSERT OR REPLACE: REPLACE deletes and
     * re-inserts, touching every index even when seq and root did not
     * change. */
    sb_add(&b, "INSERT INTO \"%s\"(", ent->table);
    for (int i = 0; i < FS_STORE_NFIXED; i++)
        sb_add(&b, "%s%s", i ? "," : "", fixed_names[i]);
    for (size_t j = 0; j < e->nfields; j++)
        sb_add(&b, ",\"%s\"", e->fields[j].name);
    sb_add(&b, ") VALUES");
    for (size_t r = 0; r < nrows; r++) {
        sb_add(&b, "%s(", r ? "," : "");
        for (size_t i = 0; i < ncols; i++)
            sb_add(&b, "%s?%zu", i ? "," : "", r * ncols + i + 1);
        sb_add(&b, ")");
    }
    sb_add(&b, " ON CONFLICT(id) DO UPDATE SET ");
    for (int i = 1; i < FS_STORE_NFIXED; i++)
        sb_add(&b, "%s%s=excluded.%s", i > 1 ? "," : "", fixed_names[i],
               fixed_names[i]);
    for (size_t j = 0; j < e->nfields; j++)
        sb_add(&b, ",\"%s\"=excluded.\"%s\"", e->fields[j].name,
               e->fields[j].name);
    return sb_take(&b);
}

static char *build_stmt_sql(const fs_store *s, const fs_store_ent *ent, int which)
{
    sqlbuf b = {0};
    const fs_entity *e = ent->e;

    switch (which) {
    case FS_STORE_ST_LOAD:
        sb_add(&b, "SELECT %s FROM \"%s\" WHERE id = ?1", ent->columns, ent->table);
        break;
    case FS_STORE_ST_SAVE:
        return fs_store__save_sql(s, ent, 1);
    case FS_STORE_ST_DELETE:
        sb_add(&b, "DELETE FROM \"%s\" WHERE id = ?1", ent->table);
        break;
    case FS_STORE_ST_ROOT:
        sb_add(&b, "SELECT root FROM \"%s\" WHERE id = ?1", ent->table);
        break;
    case FS_STORE_ST_SINCE:
        sb_add(&b, "SELECT %s FROM \"%s\" WHERE seq > ?1 ORDER BY seq, id LIMIT ?2",
               ent->columns, ent->table);
        break;
    case FS_STORE_ST_EXPORT:
        sb_add(&b, "SELECT %s FROM \"%s\" WHERE deleted = 0 ORDER BY id",
               ent->columns, ent->table);
        break;
    case FS_STORE_ST_DELETE_ROOT:
        sb_add(&b, "DELETE FROM \"%s\" WHERE root = ?1", ent->table);
        break;
    case FS_STORE_ST_FIX_ROOTS:
        /* Only for entities with a parent (fs_store_fix_roots checks). */
        if (ent->parent < 0)
            break;
        sb_add(&b, "UPDATE \"%s\" SET root = (SELECT p.root FROM \"%s\" p"
               " WHERE p.id = \"%s\".\"%s\") WHERE root IS NULL AND \"%s\" IS NOT NULL",
               ent->table, s->ents[ent->parent].table, ent->table,
               e->fields[e->parent].name, e->fields[e->parent].name);
        break;
    default:
        break;
    }
    return sb_take(&b);
}

fs_store_status fs_store__stmt(fs_store *s, fs_store_ent *ent, int which,
                               fss_stmt **out, fs_error *err)
{
    char *sql = NULL;
    fs_store_status rc = FS_STORE_OK;

    if (ent->st[which]) {
        *out = ent->st[which];
        return FS_STORE_OK;
    }
    sql = build_stmt_sql(s, ent, which);
    if (!sql) {
        rc = fs_store__fail(err, FS_STORE_ENOMEM, "out of memory building SQL");
        goto done;
    }
    /* PERSISTENT: these statements live as long as the handle. */
    if (fss_prepare_persistent(s->db, sql, -1, &ent->st[which], NULL) !=
        FSS_SQL_OK) {
        rc = fs_store__sqlfail(s, err, ent->table);
        goto done;
    }
    *out = ent->st[which];
done:
    free(sql);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Migration                                                                 */
/* ------------------------------------------------------------------------ */

static fs_store_status meta_get(fs_store *s, const char *mtable, const char *key,
                                bool *found, int64_t *value, fs_error *err)
{
    sqlbuf b = {0};
    char *sql = NULL;
    fss_stmt *st = NULL;
    fs_store_status rc = FS_STORE_OK;
    int r;

    *found = false;
    sb_add(&b, "SELECT value FROM \"%s\" WHERE key = ?1", mtable);
    sql = sb_take(&b);
    if (!sql) {
        rc = fs_store__fail(err, FS_STORE_ENOMEM, "out of memory building SQL");
        goto done;
    }
    if (fss_prepare(s->db, sql, -1, &st, NULL) != FSS_SQL_OK ||
        fss_bind_text(st, 1, key, -1, FSS_SQL_STATIC) != FSS_SQL_OK) {
        rc = fs_store__sqlfail(s, err, mtable);
        goto done;
    }
    r = fss_step(st);
    if (r == FSS_SQL_ROW) {
        *found = true;
        *value = fss_column_int64(st, 0);
    } else if (r != FSS_SQL_DONE) {
        rc = fs_store__sqlfail(s, err, mtable);
    }
done:
    fss_finalize(st);
    free(sql);
    return rc;
}

static fs_store_status meta_put(fs_store *s, const char *mtable, const char *key,
                                int64_t value, fs_error *err)
{
    sqlbuf b = {0};
    char *sql = NULL;
    fss_stmt *st = NULL;
    fs_store_status rc = FS_STORE_OK;

    sb_add(&b, "INSERT INTO \"%s\"(key, value) VALUES(?1, ?2) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", mtable);
    sql = sb_take(&b);
    if (!sql) {
        rc = fs_store__fail(err, FS_STORE_ENOMEM, "out of memory building SQL");
        goto done;
    }
    if (fss_prepare(s->db, sql, -1, &st, NULL) != FSS_SQL_OK ||
        fss_bind_text(st, 1, key, -1, FSS_SQL_STATIC) != FSS_SQL_OK ||
        fss_bind_int64(st, 2, value) != FSS_SQL_OK ||
        fss_step(st) != FSS_SQL_DONE)
        rc = fs_store__sqlfail(s, err, mtable);
done:
    fss_finalize(st);
    free(sql);
    return rc;
}

/* Runs the SQL accumulated in b and empties b. */
static fs_store_status run_buf(fs_store *s, sqlbuf *b, fs_error *err)
{
    char *sql = sb_take(b);
    fs_store_status rc = run(s, sql, err);

    free(sql);
    return rc;
}

/* Creates ent's table, or adds the columns an older version lacks, then the
 * indexes. */
static fs_store_status migrate_table(fs_store *s, const fs_store_ent *ent,
                                     fs_error *err)
{
    const fs_entity *e = ent->e;
    size_t ncols = FS_STORE_NFIXED + e->nfields;
    bool *have = NULL;
    fss_stmt *st = NULL;
    sqlbuf b = {0};
    fs_store_status rc = FS_STORE_OK;
    size_t existing = 0;
    int r;

    have = calloc(ncols, sizeof *have);
    if (!have) {
        rc = fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
        goto done;
    }
    /* The table-valued pragma takes the table name as a bound parameter;
     * PostgreSQL lists columns in its catalog. */
    if (fss_prepare(s->db,
                    FS_STORE_PG(s->db)
                        ? "SELECT column_name FROM information_schema.columns"
                          " WHERE table_schema = current_schema()"
                          " AND table_name = ?1"
                        : "SELECT name FROM pragma_table_info(?1)",
                    -1, &st, NULL) != FSS_SQL_OK ||
        fss_bind_text(st, 1, ent->table, -1, FSS_SQL_STATIC) != FSS_SQL_OK) {
        rc = fs_store__sqlfail(s, err, "reading table columns");
        goto done;
    }
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        const char *name = (const char *)fss_column_text(st, 0);
        existing++;
        if (!name)
            continue;
        for (size_t i = 0; i < ncols; i++) {
            const char *want = i < FS_STORE_NFIXED
                                   ? fixed_names[i]
                                   : e->fields[i - FS_STORE_NFIXED].name;
            if (strcmp(name, want) == 0)
                have[i] = true;
        }
    }
    if (r != FSS_SQL_DONE) {
        rc = fs_store__sqlfail(s, err, "reading table columns");
        goto done;
    }

    if (existing == 0) {
        sb_add(&b, "CREATE TABLE \"%s\"(", ent->table);
        for (size_t i = 0; i < FS_STORE_NFIXED; i++)
            sb_add(&b, "%s%s %s", i ? ", " : "", fixed_names[i], fixed_defs[i]);
        for (size_t j = 0; j < e->nfields; j++)
            sb_add(&b, ", \"%s\" %s", e->fields[j].name,
                   type_affinity(e->fields[j].type));
        sb_add(&b, ")%s", FS_STORE_TABLE_SUFFIX);
        rc = run_buf(s, &b, err);
        if (rc != FS_STORE_OK)
            goto done;
    } else {
        /* Without the key column the rows cannot be addressed; this is not a
         * table an older store wrote. */
        if (!have[FS_STORE_COL_ID]) {
            rc = fs_store__fail(err, FS_STORE_ESCHEMA,
                                "table %s exists but has no id column", ent->table);
            goto done;
        }
        for (size_t i = 1; i < ncols; i++) {
            if (have[i])
                continue;
            if (i < FS_STORE_NFIXED)
                sb_add(&b, "ALTER TABLE \"%s\" ADD COLUMN %s %s", ent->table,
                       fixed_names[i], fixed_defs[i]);
            else
                sb_add(&b, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s", ent->table,
                       e->fields[i - FS_STORE_NFIXED].name,
                       type_affinity(e->fields[i - FS_STORE_NFIXED].type));
            rc = run_buf(s, &b, err);
            if (rc != FS_STORE_OK)
                goto done;
        }
    }

    /* Pulls scan by seq in (seq, id) order: with id in the index a page of
     * LIMIT rows is read straight off it, with no sort of everything after
     * the cursor. Scope queries and subtree removal go by root, and
     * (root, seq) also serves "root = ? and seq > ?". */
    sb_add(&b, "CREATE INDEX IF NOT EXISTS \"%s_seq\" ON \"%s\"(seq, id)", ent->table,
           ent->table);
    rc = run_buf(s, &b, err);
    if (rc != FS_STORE_OK)
        goto done;
    sb_add(&b, "CREATE INDEX IF NOT EXISTS \"%s_root\" ON \"%s\"(root, seq)",
           ent->table, ent->table);
    rc = run_buf(s, &b, err);
done:
    fss_finalize(st);
    free(have);
    free(b.p);
    return rc;
}

static fs_store_status migrate(fs_store *s, fs_error *err)
{
    sqlbuf b = {0};
    char *mtable = NULL;
    fs_store_status rc = FS_STORE_OK;
    int64_t format = 0, hash = 0, want = schema_fingerprint();
    bool has_format = false, has_hash = false;

    sb_add(&b, "%sfs_store_meta", s->prefix);
    mtable = sb_take(&b);
    if (!mtable) {
        rc = fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
        goto done;
    }
    sb_add(&b, "CREATE TABLE IF NOT EXISTS \"%s\"(key TEXT PRIMARY KEY NOT NULL, "
               "value INTEGER NOT NULL)%s", mtable,
           FS_STORE_PG(s->db) ? "" : " WITHOUT ROWID");
    rc = run_buf(s, &b, err);
    if (rc != FS_STORE_OK)
        goto done;
    rc = meta_get(s, mtable, "format", &has_format, &format, err);
    if (rc != FS_STORE_OK)
        goto done;
    if (has_format && format > FS_STORE_FORMAT) {
        rc = fs_store__fail(err, FS_STORE_ESCHEMA,
                            "tables \"%s*\" use store format %lld; this build "
                            "reads up to %d", s->prefix, (long long)format,
                            FS_STORE_FORMAT);
        goto done;
    }
    rc = meta_get(s, mtable, "schema_hash", &has_hash, &hash, err);
    if (rc != FS_STORE_OK)
        goto done;
    /* Same format and schema as last time: the tables are current. */
    if (has_format && format == FS_STORE_FORMAT && has_hash && hash == want)
        goto done;

    for (size_t i = 0; i < s->nent; i++) {
        rc = migrate_table(s, &s->ents[i], err);
        if (rc != FS_STORE_OK)
            goto done;
    }
    rc = meta_put(s, mtable, "format", FS_STORE_FORMAT, err);
    if (rc == FS_STORE_OK)
        rc = meta_put(s, mtable, "schema_hash", want, err);
done:
    free(mtable);
    free(b.p);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                            */
/* ------------------------------------------------------------------------ */

/* Names and the qualified column list of every entity, and the parent links
 * resolved to slots once, so no row operation looks a name up. */
static fs_store_status build_entities(fs_store *s, fs_error *err)
{
    size_t ne = 0;
    const fs_entity *const *es = fs_schema_entities(&ne);
    size_t maxf = 0;

    s->ents = calloc(ne ? ne : 1, sizeof *s->ents);
    if (!s->ents)
        return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
    s->nent = ne;
    for (size_t i = 0; i < ne; i++) {
        fs_store_ent *ent = &s->ents[i];
        const fs_entity *e = es[i];
        sqlbuf b = {0};

        ent->e = e;
        ent->parent = -1;
        if (!ident_ok(e->name, 64, false) || e->nfields > FS_STORE_MAX_FIELDS)
            return fs_store__fail(err, FS_STORE_ESCHEMA,
                                  "entity %s cannot be stored", e->name);
        for (size_t j = 0; j < e->nfields; j++) {
            if (!ident_ok(e->fields[j].name, 64, false))
                return fs_store__fail(err, FS_STORE_ESCHEMA,
                                      "field %s.%s is not a plain identifier",
                                      e->name, e->fields[j].name);
            for (int k = 0; k < FS_STORE_NFIXED; k++)
                if (strcmp(e->fields[j].name, fixed_names[k]) == 0)
                    return fs_store__fail(err, FS_STORE_ESCHEMA,
                                          "field %s.%s collides with a store column",
                                          e->name, e->fields[j].name);
        }
        if (e->nfields > maxf)
            maxf = e->nfields;

        sb_add(&b, "%s%s", s->prefix, e->name);
        ent->table = sb_take(&b);
        for (int k = 0; k < FS_STORE_NFIXED; k++)
            sb_add(&b, "%s\"%s%s\".%s", k ? "," : "", s->prefix, e->name,
                   fixed_names[k]);
        for (size_t j = 0; j < e->nfields; j++)
            sb_add(&b, ",\"%s%s\".\"%s\"", s->prefix, e->name, e->fields[j].name);
        ent->columns = sb_take(&b);
        if (!ent->table || !ent->columns)
            return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ne; i++) {
        const fs_entity *e = es[i];
        if (e->parent < 0)
            continue;
        if ((size_t)e->parent >= e->nfields || e->fields[e->parent].type != FS_TYPE_ID)
            return fs_store__fail(err, FS_STORE_ESCHEMA,
                                  "entity %s: parent slot is not an id field", e->name);
        for (size_t k = 0; k < ne; k++)
            if (e->parent_entity && strcmp(es[k]->name, e->parent_entity) == 0)
                s->ents[i].parent = (int)k;
        if (s->ents[i].parent < 0)
            return fs_store__fail(err, FS_STORE_ESCHEMA,
                                  "entity %s: unknown parent entity", e->name);
    }
    /* Meta blob: header, up to one device per cell, one record per cell. */
    s->metacap = 2 + maxf * (16 + 11);
    s->meta = malloc(s->metacap);
    if (!s->meta)
        return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
    return FS_STORE_OK;
}

fs_store_status fs_store_open(fss_sql *db, const char *prefix, fs_store **out,
                              fs_error *err)
{
    fs_store *s = NULL;
    fs_store_status rc = FS_STORE_OK;
    bool in_savepoint = false;

    if (out)
        *out = NULL;
    if (!db || !out)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_open: NULL argument");
    if (!prefix)
        prefix = "";
    if (!ident_ok(prefix, 32, true))
        return fs_store__fail(err, FS_STORE_EINVAL,
                              "store prefix must match [a-z_][a-z0-9_]*, at most 32 bytes");
    s = calloc(1, sizeof *s);
    if (!s)
        return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
    s->db = db;
    memcpy(s->prefix, prefix, strlen(prefix) + 1);

    rc = build_entities(s, err);
    if (rc != FS_STORE_OK)
        goto done;
    rc = run(s, "SAVEPOINT fs_store_open", err);
    if (rc != FS_STORE_OK)
        goto done;
    in_savepoint = true;
    rc = migrate(s, err);
    if (rc != FS_STORE_OK)
        goto done;
    rc = run(s, "RELEASE fs_store_open", err);
    if (rc != FS_STORE_OK)
        goto done;
    in_savepoint = false;
    *out = s;
    s = NULL;
done:
    if (in_savepoint) {
        /* Undo a half-done migration; errors here cannot improve on rc. */
        fs_error ignored;
        run(s, "ROLLBACK TO fs_store_open", &ignored);
        run(s, "RELEASE fs_store_open", &ignored);
    }
    fs_store_close(s);
    return rc;
}

void fs_store_close(fs_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nent; i++) {
        for (int k = 0; k < FS_STORE_ST_COUNT; k++)
            fss_finalize(s->ents[i].st[k]);
        free(s->ents[i].table);
        free(s->ents[i].columns);
    }
    free(s->ents);
    free(s->meta);
    free(s);
}

const char *fs_store_table(const fs_store *s, const fs_entity *e)
{
    const fs_store_ent *ent = fs_store__ent(s, e);
    return ent ? ent->table : NULL;
}

const char *fs_store_columns(const fs_store *s, const fs_entity *e)
{
    const fs_store_ent *ent = fs_store__ent(s, e);
    return ent ? ent->columns : NULL;
}

int fs_store_ncolumns(const fs_entity *e)
{
    return e ? FS_STORE_NFIXED + (int)e->nfields : 0;
}
