/*
 * fss_repo_batch.c - the repository (both backends) for batched loads: the
 * request's row cache, filled by one statement per entity and chunk of ids
 * instead of one per row (issue 18: on PostgreSQL every statement is a
 * round trip, and a push of 100 changes took 615 of them).
 *
 * A sync request turns the cache on inside its transaction and loads the
 * rows it will need in batches (fss__repo_rows_prefetch: the pushed rows
 * and their ancestors; a pull page's rows come whole from the pull
 * statement itself, fss_repo_sync.c); fss__repo_row_load then
 * answers from the cache, and loads and remembers what the batch did not
 * name. It stays true for the transaction because nothing else changes the
 * rows meanwhile: a write transaction holds the one-writer lock from BEGIN
 * (docs/ARCHITECTURE.md, "Sequence numbers"), a read transaction reads one
 * snapshot, and this connection's own writes update it (fss__save_row puts
 * the saved row, fss__restamp_subtree clears it). Every transaction
 * boundary turns it off (fss_db.c), so it never outlives the transaction
 * whose rows it holds. The merge and its rules see the same rows either
 * way: only where they come from changes.
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

/* Ids per load statement: one fixed text per entity (prepared once per
 * connection; a short chunk repeats its first id), and few enough
 * parameters for either backend. */
#define PREFETCH_CHUNK 64
/* Levels of ancestors a prefetch follows (quote_line -> quote -> customer). */
#define PREFETCH_DEPTH 4
/* Rows per multi-row upsert of the write-behind, at most (fewer for an
 * entity whose columns would pass the parameter bound). */
#define FSS_SAVE_CHUNK 64
#define FSS_SAVE_MAX_PARAMS 999

typedef struct rc_entry {
    const fs_entity *e; /* NULL: a free slot */
    fs_id id;
    bool found;
    fs_row row; /* found: the stored row */
    fss_rowinfo info;
} rc_entry;

/* A saved row not yet written (write-behind). */
typedef struct pending_row {
    fs_row row;
    int64_t seq;
    bool has_root;
    bool search; /* its customer's search text is rebuilt (fss__save_row) */
    fs_id root;
} pending_row;

struct fss_rowcache {
    rc_entry *slots;
    size_t cap, n; /* cap a power of two, n <= cap / 2 */
    pending_row *pending;
    size_t npending, cappending;
    bool flushing; /* pending_flush is running: its statements must not
                    * start another (the driver's hook would) */
};

static size_t rc_hash(const fs_entity *e, const fs_id *id)
{
    uint64_t h = (uint64_t)(uintptr_t)e;

    for (int i = 0; i < 16; i++)
        h = (h ^ id->b[i]) * UINT64_C(0x100000001b3);
    return (size_t)(h ^ (h >> 29));
}

static rc_entry *rc_find(struct fss_rowcache *rc, const fs_entity *e,
                         const fs_id *id)
{
    size_t k = rc_hash(e, id) & (rc->cap - 1);

    while (rc->slots[k].e) {
        if (rc->slots[k].e == e && fs_id_cmp(&rc->slots[k].id, id) == 0)
            return &rc->slots[k];
        k = (k + 1) & (rc->cap - 1);
    }
    return &rc->slots[k]; /* the free slot where it would go */
}

static void rc_free_entries(struct fss_rowcache *rc)
{
    for (size_t i = 0; i < rc->cap; i++)
        if (rc->slots[i].e)
            fs_row_free(&rc->slots[i].row);
    memset(rc->slots, 0, rc->cap * sizeof *rc->slots);
    rc->n = 0;
}

/* Doubles the slot table. Only the table is replaced: the write-behind
 * queue (pending) stays as it is. Replacing the whole struct leaked the
 * queue's buffer on every growth (test_big_batch_all_stored under
 * LeakSanitizer) and would have dropped any rows queued at that moment:
 * a save of a row not loaded before grows the cache with its own row
 * queued (a push loads its rows first, so there the cache grew during
 * reads, with the queue empty). */
static bool rc_grow(struct fss_rowcache *rc)
{
    struct fss_rowcache big = {.cap = rc->cap ? rc->cap * 2 : 256};

    big.slots = calloc(big.cap, sizeof *big.slots);
    if (!big.slots)
        return false;
    for (size_t i = 0; i < rc->cap; i++)
        if (rc->slots[i].e) {
            *rc_find(&big, rc->slots[i].e, &rc->slots[i].id) = rc->slots[i];
            big.n++;
        }
    free(rc->slots);
    rc->slots = big.slots;
    rc->cap = big.cap;
    rc->n = big.n;
    return true;
}

static void pending_drop(struct fss_rowcache *rc)
{
    for (size_t i = 0; i < rc->npending; i++)
        fs_row_free(&rc->pending[i].row);
    rc->npending = 0;
}

/* Rows of one multi-row upsert for entity e: a power of two (so each
 * entity has a handful of statement texts, each prepared once per
 * connection), within the parameter bound. */
static size_t save_chunk(const fs_entity *e, size_t left)
{
    size_t max = FSS_SAVE_CHUNK, k = 1;

    while (max > 1 && max * (size_t)fs_store_ncolumns(e) > FSS_SAVE_MAX_PARAMS)
        max /= 2;
    while (k * 2 <= left && k * 2 <= max)
        k *= 2;
    return k;
}

/* Writes the queued rows: per entity, a few multi-row upserts. The queue
 * is empty afterwards, written or not (a failure fails the transaction). */
static fss_status pending_flush(fss_conn *c, fs_error *err)
{
    struct fss_rowcache *rc = c->rows;
    size_t ne = 0, n = rc ? rc->npending : 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    const fs_row **rows = NULL, **srows = NULL;
    const fs_id **roots = NULL, **sroots = NULL;
    int64_t *seqs = NULL;
    fs_error serr = {0};
    fss_status st = FSS_OK;

    if (n == 0 || rc->flushing)
        return FSS_OK;
    rc->flushing = true;
    rows = calloc(n, sizeof *rows);
    roots = calloc(n, sizeof *roots);
    srows = calloc(n, sizeof *srows);
    sroots = calloc(n, sizeof *sroots);
    seqs = calloc(n, sizeof *seqs);
    if (!rows || !roots || !srows || !sroots || !seqs) {
        st = fss__fail(err, FSS_ENOMEM, "write-behind");
        goto done;
    }
    for (size_t k = 0; k < ne && st == FSS_OK; k++) {
        size_t m = 0, ms = 0;
        for (size_t i = 0; i < n; i++) {
            pending_row *p = &rc->pending[i];
            if (p->row.entity != ents[k])
                continue;
            rows[m] = &p->row;
            seqs[m] = p->seq;
            roots[m++] = p->has_root ? &p->root : NULL;
            if (p->search) {
                srows[ms] = &p->row;
                sroots[ms++] = p->has_root ? &p->root : NULL;
            }
        }
        for (size_t at = 0; at < m && st == FSS_OK;) {
            /* SQLite has no round trips to save: a row at a time through
             * the store's prepared upsert (fs_store_save) costs less than
             * compiling a statement of many rows. (fs_store_save_many
             * compiles its statement on every call: a row at a time through
             * it cost a compile per row, about 60 us: 9 s more CPU for
             * analyze's 165,000 writes at 100,000 customers.) */
            bool pg = fss_sql_backend_of(c->db) == FSS_SQL_PG;
            size_t len = pg ? save_chunk(ents[k], m - at) : 1;
            if ((pg ? fs_store_save_many(c->store, rows + at, seqs + at, roots + at, len,
                                         &serr)
                    : fs_store_save(c->store, rows[at], seqs[at], roots[at], &serr)) !=
                FS_STORE_OK)
                st = fss__fail(err, FSS_EDB, "save: %s", serr.text);
            at += len;
        }
        /* the console search's folded text, as fss__save_row does: once
         * per customer, after its rows are written */
        if (st == FSS_OK && ms)
            st = fss__repo_search_put_many(c, srows, sroots, ms, err);
    }
done:
    pending_drop(rc);
    rc->flushing = false;
    free(rows);
    free(roots);
    free(srows);
    free(sroots);
    free(seqs);
    return st;
}

/* The driver's before-hook (fss_sql_before): any statement about to run
 * may read the tables, so the queued rows are written first. */
static int flush_hook(void *arg)
{
    fss_conn *c = arg;
    fs_error err = {0};

    return pending_flush(c, &err) == FSS_OK ? FSS_SQL_OK : FSS_SQL_ERROR;
}

fss_status fss__rowcache_on(fss_conn *c, fs_error *err)
{
    if (c->rows)
        return FSS_OK;
    c->rows = calloc(1, sizeof *c->rows);
    if (!c->rows || !rc_grow(c->rows)) {
        free(c->rows);
        c->rows = NULL;
        return fss__fail(err, FSS_ENOMEM, "row cache");
    }
    fss_sql_before(c->db, flush_hook, c);
    return FSS_OK;
}

void fss__rowcache_off(fss_conn *c)
{
    if (!c->rows)
        return;
    /* Commit has written the queue (its exec ran the hook); anything
     * still queued belongs to a transaction that is being rolled back. */
    fss_sql_before(c->db, NULL, NULL);
    pending_drop(c->rows);
    free(c->rows->pending);
    rc_free_entries(c->rows);
    free(c->rows->slots);
    free(c->rows);
    c->rows = NULL;
}

fss_status fss__rowcache_save(fss_conn *c, const fs_row *row, int64_t seq,
                              const fs_id *root, bool search, fs_error *err)
{
    struct fss_rowcache *rc = c->rows;
    fss_rowinfo info = {.seq = seq, .has_root = root != NULL};
    pending_row *p;
    fss_status st;

    if (root)
        info.root = *root;
    /* One upsert cannot write a row twice: write the earlier save first. */
    for (size_t i = 0; i < rc->npending; i++)
        if (rc->pending[i].row.entity == row->entity &&
            fs_id_cmp(&rc->pending[i].row.id, &row->id) == 0) {
            if ((st = pending_flush(c, err)) != FSS_OK)
                return st;
            break;
        }
    if (rc->npending == rc->cappending) {
        size_t cap = rc->cappending ? rc->cappending * 2 : 64;
        void *np = realloc(rc->pending, cap * sizeof *rc->pending);
        if (!np)
            return fss__fail(err, FSS_ENOMEM, "write-behind");
        rc->pending = np;
        rc->cappending = cap;
    }
    p = &rc->pending[rc->npending];
    memset(p, 0, sizeof *p);
    if (fs_row_copy(&p->row, row, NULL) != FS_OK)
        return fss__fail(err, FSS_ENOMEM, "write-behind");
    p->seq = seq;
    p->search = search;
    p->has_root = root != NULL;
    if (root)
        p->root = *root;
    rc->npending++;
    fss__rowcache_put(c, row->entity, &row->id, row, &info);
    return FSS_OK;
}

void fss__rowcache_clear(fss_conn *c)
{
    if (c->rows)
        rc_free_entries(c->rows);
}

bool fss__rowcache_get(fss_conn *c, const fs_entity *e, const fs_id *id,
                       fs_row *row, fss_rowinfo *info, bool *found,
                       fss_status *rc, fs_error *err)
{
    rc_entry *x;
    fs_error serr = {0};
    fs_status st;

    if (!c->rows)
        return false;
    x = rc_find(c->rows, e, id);
    if (!x->e)
        return false;
    *found = x->found;
    if (info) {
        if (x->found)
            *info = x->info;
        else
            memset(info, 0, sizeof *info);
    }
    if (x->found)
        st = fs_row_copy(row, &x->row, &serr);
    else {
        /* as fs_store_load: a fresh never-written row for (e, id) */
        fs_row_free(row);
        st = fs_row_init(row, e, id, &serr);
    }
    *rc = st == FS_OK ? FSS_OK : fss__fail(err, FSS_ENOMEM, "row cache: %s", serr.text);
    return true;
}

void fss__rowcache_put(fss_conn *c, const fs_entity *e, const fs_id *id,
                       const fs_row *row, const fss_rowinfo *info)
{
    rc_entry *x;
    fs_row copy = {0};

    if (!c->rows)
        return;
    /* Out of memory only costs the cache: the row is forgotten and loaded
     * again when asked for. */
    if (row && fs_row_copy(&copy, row, NULL) != FS_OK) {
        x = rc_find(c->rows, e, id);
        if (x->e) {
            fss__rowcache_clear(c);
        }
        return;
    }
    x = rc_find(c->rows, e, id);
    if (x->e) {
        fs_row_free(&x->row);
    } else {
        if ((c->rows->n + 1) * 2 > c->rows->cap) {
            if (!rc_grow(c->rows)) {
                fs_row_free(&copy);
                return;
            }
            x = rc_find(c->rows, e, id);
        }
        c->rows->n++;
    }
    x->e = e;
    x->id = *id;
    x->found = row != NULL;
    x->row = copy;
    if (row && info)
        x->info = *info;
    else
        memset(&x->info, 0, sizeof x->info);
}

/* Is (e, id) already in the list or the cache? */
static bool known(fss_conn *c, const fss_rowref *refs, size_t n,
                  const fs_entity *e, const fs_id *id)
{
    if (rc_find(c->rows, e, id)->e)
        return true;
    for (size_t i = 0; i < n; i++)
        if (refs[i].e == e && fs_id_cmp(&refs[i].id, id) == 0)
            return true;
    return false;
}

/* Loads up to PREFETCH_CHUNK rows of e by id in one statement into the
 * cache (absent ones as absent); the parents the loaded rows name are
 * appended to *next (ancestors of the next level). */
static fss_status load_chunk(fss_conn *c, const fs_entity *e, const fs_id *ids,
                             size_t n, fss_rowref **next, size_t *nnext,
                             size_t *capnext, fs_error *err)
{
    const char *table = fs_store_table(c->store, e);
    const char *cols = fs_store_columns(c->store, e);
    const fs_entity *pe = e->parent >= 0 && e->parent_entity
                              ? fs_schema_entity(e->parent_entity) : NULL;
    fss_buf sql = {0};
    fss_stmt *st = NULL;
    fs_row row = {0};
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    bool seen[PREFETCH_CHUNK] = {false};
    int r;

    if (!table || !cols)
        return fss__fail(err, FSS_EDB, "no table for %s", e->name);
    fss_buf_printf(&sql, "SELECT %s FROM \"%s\" WHERE id IN (", cols, table);
    for (int i = 0; i < PREFETCH_CHUNK; i++)
        fss_buf_printf(&sql, "%s?%d", i ? "," : "", i + 1);
    fss_buf_puts(&sql, ")");
    if (sql.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "prefetch sql");
        goto done;
    }
    if (fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "prefetch");
        goto done;
    }
    for (size_t i = 0; i < PREFETCH_CHUNK; i++)
        fss_bind_blob(st, (int)i + 1, ids[i < n ? i : 0].b, 16, FSS_SQL_STATIC);
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        fs_store_rowinfo si;
        fss_rowinfo info;
        if (fs_store_decode(c->store, e, st, 0, &row, &si, &serr) != FS_STORE_OK) {
            rc = fss__fail(err, FSS_EDB, "prefetch %s: %s", e->name, serr.text);
            goto done;
        }
        info.seq = si.seq;
        info.has_root = si.has_root;
        info.root = si.root;
        for (size_t i = 0; i < n; i++)
            if (fs_id_cmp(&ids[i], &row.id) == 0)
                seen[i] = true;
        fss__rowcache_put(c, e, &row.id, &row, &info);
        if (pe && row.cells[e->parent].v.kind == FS_VAL_ID &&
            !known(c, *next, *nnext, pe, &row.cells[e->parent].v.u.id)) {
            if (*nnext == *capnext) {
                size_t cap = *capnext ? *capnext * 2 : 64;
                void *p = realloc(*next, cap * sizeof **next);
                if (!p) {
                    rc = fss__fail(err, FSS_ENOMEM, "prefetch");
                    goto done;
                }
                *next = p;
                *capnext = cap;
            }
            (*next)[*nnext].e = pe;
            (*next)[(*nnext)++].id = row.cells[e->parent].v.u.id;
        }
    }
    if (r != FSS_SQL_DONE) {
        rc = fss__dbfail(err, c->db, "prefetch");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (!seen[i] && !rc_find(c->rows, e, &ids[i])->e)
            fss__rowcache_put(c, e, &ids[i], NULL, NULL);
done:
    fs_row_free(&row);
    fss_finalize(st);
    fss_buf_free(&sql);
    return rc;
}

/* One level: the refs not cached yet, grouped by entity and chunked. */
static fss_status load_level(fss_conn *c, const fss_rowref *refs, size_t n,
                             fss_rowref **next, size_t *nnext, size_t *capnext,
                             fs_error *err)
{
    size_t ne = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    fs_id chunk[PREFETCH_CHUNK];
    fss_status rc = FSS_OK;

    for (size_t k = 0; k < ne && rc == FSS_OK; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n && rc == FSS_OK; i++) {
            if (refs[i].e != ents[k] || rc_find(c->rows, refs[i].e, &refs[i].id)->e)
                continue;
            bool dup = false;
            for (size_t j = 0; j < m && !dup; j++)
                dup = fs_id_cmp(&chunk[j], &refs[i].id) == 0;
            if (dup)
                continue;
            chunk[m++] = refs[i].id;
            if (m == PREFETCH_CHUNK) {
                rc = load_chunk(c, ents[k], chunk, m, next, nnext, capnext, err);
                m = 0;
            }
        }
        if (rc == FSS_OK && m)
            rc = load_chunk(c, ents[k], chunk, m, next, nnext, capnext, err);
    }
    return rc;
}

fss_status fss__repo_rows_prefetch(fss_conn *c, const fss_rowref *refs,
                                   size_t n, bool ancestors, fs_error *err)
{
    fss_rowref *level = NULL, *next = NULL;
    size_t nlevel = 0, caplevel = 0, nnext = 0, capnext = 0;
    fss_status rc = fss__rowcache_on(c, err);

    /* SQLite loads a row in-process with a prepared statement: cheaper one
     * by one, on demand (and then cached), than through a compiled IN. */
    if (fss_sql_backend_of(c->db) != FSS_SQL_PG)
        return rc;

    for (int depth = 0; rc == FSS_OK && depth < PREFETCH_DEPTH; depth++) {
        nnext = 0;
        rc = load_level(c, depth ? level : refs, depth ? nlevel : n, &next,
                        &nnext, &capnext, err);
        if (rc != FSS_OK || !ancestors || nnext == 0)
            break;
        /* the parents just named are the next level */
        fss_rowref *t = level;
        level = next;
        nlevel = nnext;
        next = t;
        size_t tc = caplevel;
        caplevel = capnext;
        capnext = tc;
    }
    free(level);
    free(next);
    return rc;
}

fss_status fss__repo_merged_which(fss_conn *c, const fs_id *ids, size_t n,
                                  bool *merged, fs_error *err)
{
    fss_buf sql = {0};
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r = FSS_SQL_DONE;

    memset(merged, 0, n * sizeof *merged);
    fss_buf_puts(&sql, "SELECT dup FROM fss_merged WHERE dup IN (");
    for (int i = 0; i < PREFETCH_CHUNK; i++)
        fss_buf_printf(&sql, "%s?%d", i ? "," : "", i + 1);
    fss_buf_puts(&sql, ")");
    if (sql.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "merged sql");
        goto done;
    }
    if (n && fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "merged");
        goto done;
    }
    for (size_t at = 0; at < n; at += PREFETCH_CHUNK) {
        size_t m = n - at < PREFETCH_CHUNK ? n - at : PREFETCH_CHUNK;
        fss_reset(st);
        for (size_t i = 0; i < PREFETCH_CHUNK; i++)
            fss_bind_blob(st, (int)i + 1, ids[at + (i < m ? i : 0)].b, 16,
                          FSS_SQL_STATIC);
        while ((r = fss_step(st)) == FSS_SQL_ROW) {
            if (fss_column_bytes(st, 0) != 16)
                continue;
            for (size_t i = 0; i < m; i++)
                if (memcmp(ids[at + i].b, fss_column_blob(st, 0), 16) == 0)
                    merged[at + i] = true;
        }
        if (r != FSS_SQL_DONE) {
            rc = fss__dbfail(err, c->db, "merged");
            goto done;
        }
    }
done:
    fss_finalize(st);
    fss_buf_free(&sql);
    return rc;
}

fss_status fss__repo_in_scope_which(fss_conn *c, const char *rep,
                                    const fs_id *ids, size_t n, bool *in,
                                    fs_error *err)
{
    fss_buf sql = {0};
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r = FSS_SQL_DONE;

    memset(in, 0, n * sizeof *in);
    if (n == 0)
        return FSS_OK;
    fss_buf_puts(&sql, "SELECT c.id FROM customer c WHERE c.id IN (");
    for (int i = 0; i < PREFETCH_CHUNK; i++)
        fss_buf_printf(&sql, "%s?%d", i ? "," : "", i + 1);
    fss_buf_printf(&sql, ") AND " FSS_SCOPE_COND("?%d"), PREFETCH_CHUNK + 1,
                   PREFETCH_CHUNK + 1);
    if (sql.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "scope sql");
        goto done;
    }
    if (fss_prepare(c->db, sql.data, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "scope");
        goto done;
    }
    for (size_t at = 0; at < n; at += PREFETCH_CHUNK) {
        size_t m = n - at < PREFETCH_CHUNK ? n - at : PREFETCH_CHUNK;
        fss_reset(st);
        for (size_t i = 0; i < PREFETCH_CHUNK; i++)
            fss_bind_blob(st, (int)i + 1, ids[at + (i < m ? i : 0)].b, 16,
                          FSS_SQL_STATIC);
        fss_bind_text(st, PREFETCH_CHUNK + 1, rep, -1, FSS_SQL_STATIC);
        while ((r = fss_step(st)) == FSS_SQL_ROW) {
            if (fss_column_bytes(st, 0) != 16)
                continue;
            for (size_t i = 0; i < m; i++)
                if (memcmp(ids[at + i].b, fss_column_blob(st, 0), 16) == 0)
                    in[at + i] = true;
        }
        if (r != FSS_SQL_DONE) {
            rc = fss__dbfail(err, c->db, "scope");
            goto done;
        }
    }
done:
    fss_finalize(st);
    fss_buf_free(&sql);
    return rc;
}

bool fss__repo_batched(fss_conn *c)
{
    return fss_sql_backend_of(c->db) == FSS_SQL_PG;
}

/* ---- fss__repo_reads_fresh ------------------------------------------- */

/* The ids to check, per entity of the schema (index into ents[]). */
typedef struct fresh_ids {
    fs_id id[FSS_FRESH_IDS];
    size_t n;
} fresh_ids;

/* Adds (e, id) to its entity's list; false when the list is full. */
static bool fresh_add(fresh_ids *per, const fs_entity *const *ents, size_t ne,
                      const fs_entity *e, const fs_id *id)
{
    for (size_t k = 0; k < ne; k++) {
        if (ents[k] != e)
            continue;
        for (size_t i = 0; i < per[k].n; i++)
            if (fs_id_cmp(&per[k].id[i], id) == 0)
                return true;
        if (per[k].n == FSS_FRESH_IDS)
            return false;
        per[k].id[per[k].n++] = *id;
        return true;
    }
    return false; /* not in the schema: cannot be checked */
}

/* The statement, one text per connection: 'gen', the batch record, and per
 * entity with a table "any of these ids with a seq above ?3". */
static fss_status fresh_stmt(fss_conn *c, const fs_entity *const *ents, size_t ne,
                             fss_stmt **out, fs_error *err)
{
    fss_buf sql = {0};
    int p = 4;
    bool first = true;
    fss_status rc;

    if (c->reads_fresh) {
        *out = c->reads_fresh;
        return FSS_OK;
    }
    fss_buf_puts(&sql, "SELECT (SELECT value FROM fss_meta WHERE key = 'gen'),"
                       " EXISTS(SELECT 1 FROM fss_batches WHERE device = ?1"
                       " AND batch_id = ?2), ");
    for (size_t k = 0; k < ne; k++) {
        const char *table = fs_store_table(c->store, ents[k]);
        if (!table)
            continue;
        fss_buf_printf(&sql, "%sEXISTS(SELECT 1 FROM \"%s\" WHERE seq > ?3 AND id IN (",
                       first ? "" : " OR ", table);
        for (int i = 0; i < FSS_FRESH_IDS; i++)
            fss_buf_printf(&sql, "%s?%d", i ? "," : "", p++);
        fss_buf_puts(&sql, "))");
        first = false;
    }
    if (first)
        fss_buf_puts(&sql, "false");
    rc = sql.oom ? fss__fail(err, FSS_ENOMEM, "fresh sql")
                 : fss__conn_stmt(c, &c->reads_fresh, sql.data, err);
    fss_buf_free(&sql);
    *out = c->reads_fresh;
    return rc;
}

fss_status fss__repo_reads_fresh(fss_conn *c, const fs_id *device, const fs_id *batch,
                                 const fs_id *custs, size_t ncusts, bool *fresh,
                                 fs_error *err)
{
    size_t ne = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    const fs_entity *ce = fs_schema_entity("customer");
    const fs_id none = {{0}};
    fresh_ids *per = calloc(ne ? ne : 1, sizeof *per);
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    bool fits = true;
    int p = 4;

    *fresh = false;
    if (!per)
        return fss__fail(err, FSS_ENOMEM, "fresh ids");
    if (c->rows)
        for (size_t i = 0; fits && i < c->rows->cap; i++)
            if (c->rows->slots[i].e)
                fits = fresh_add(per, ents, ne, c->rows->slots[i].e,
                                 &c->rows->slots[i].id);
    for (size_t i = 0; fits && i < ncusts; i++)
        fits = fresh_add(per, ents, ne, ce, &custs[i]);
    if (!fits) /* too many to check in one statement: read again */
        goto done;
    if ((rc = fresh_stmt(c, ents, ne, &st, err)) != FSS_OK)
        goto done;
    fss_bind_blob(st, 1, device->b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 2, batch->b, 16, FSS_SQL_STATIC);
    fss_bind_int64(st, 3, c->seq_begin);
    for (size_t k = 0; k < ne; k++) {
        if (!fs_store_table(c->store, ents[k]))
            continue;
        for (size_t i = 0; i < FSS_FRESH_IDS; i++) {
            const fs_id *id = i < per[k].n ? &per[k].id[i]
                              : per[k].n ? &per[k].id[0] : &none;
            fss_bind_blob(st, p++, id->b, 16, FSS_SQL_STATIC);
        }
    }
    if (fss_step(st) == FSS_SQL_ROW)
        *fresh = fss_column_int64(st, 0) == c->gen_begin &&
                 fss_column_int64(st, 1) == 0 && fss_column_int64(st, 2) == 0;
    else
        rc = fss__dbfail(err, c->db, "reads fresh");
    fss_reset(st);
    fss_clear_bindings(st);
done:
    free(per);
    if (rc == FSS_OK && !*fresh)
        fss__rowcache_clear(c); /* its rows may be out of date */
    return rc;
}
