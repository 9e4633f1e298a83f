/*
 * fss_repo_sync.c - the repository (both backends) for a sync request's own store
 * access (fss_repo.h): the stored batches that make a push exactly-once per
 * (device, batch id), and the pull's two query plans with their counts.
 * Which plan runs, and the cost argument for it, is fss_sync.c's
 * choose_plan(); this file only runs the plan it is given.
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

fss_status fss__repo_batch_get(fss_conn *c, const fs_id *device,
                               const fs_id *batch, bool *found,
                               uint8_t digest[32], fss_buf *results,
                               fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int r;

    *found = false;
    memset(digest, 0, 32);
    if ((rc = fss__stmt(c, "SELECT digest, results FROM fss_batches WHERE "
                           "device = ?1 AND batch_id = ?2", &st, err)) != FSS_OK)
        goto done;
    fss_bind_blob(st, 1, device->b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 2, batch->b, 16, FSS_SQL_STATIC);
    r = fss_step(st);
    if (r == FSS_SQL_DONE)
        goto done;
    if (r != FSS_SQL_ROW) {
        rc = fss__dbfail(err, c->db, "batch lookup");
        goto done;
    }
    *found = true;
    /* A digest of another length matches nothing (left all zero: a real
     * SHA-256 of a batch is never that). */
    if (fss_column_bytes(st, 0) == 32)
        memcpy(digest, fss_column_blob(st, 0), 32);
    fss_buf_add(results, fss_column_blob(st, 1),
                (size_t)fss_column_bytes(st, 1));
    if (results->oom)
        rc = fss__fail(err, FSS_ENOMEM, "batch results");
done:
    fss__stmt_done(c, st);
    return rc;
}

fss_status fss__repo_batch_put(fss_conn *c, const fs_id *device,
                               const fs_id *batch, const uint8_t digest[32],
                               const void *results, size_t len, int64_t now_ms,
                               int keep, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    if ((rc = fss__stmt(c, "INSERT INTO fss_batches(device, batch_id, digest,"
                           " results, created_at) VALUES(?1, ?2, ?3, ?4, ?5)",
                        &st, err)) != FSS_OK)
        goto done;
    fss_bind_blob(st, 1, device->b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 2, batch->b, 16, FSS_SQL_STATIC);
    fss_bind_blob(st, 3, digest, 32, FSS_SQL_STATIC);
    fss_bind_blob(st, 4, results ? results : "", (int)len, FSS_SQL_STATIC);
    fss_bind_int64(st, 5, now_ms);
    if (fss_step(st) != FSS_SQL_DONE) {
        rc = fss__dbfail(err, c->db, "batch store");
        goto done;
    }
    fss__stmt_done(c, st);
    st = NULL;
    /* Retention. A client sends a new batch only after it has durably
     * applied the answer to the previous one (PROTOCOL.md section 6), so only
     * a device's newest batch can ever be retried; the few before it are
     * kept as a margin. The table stays at most `keep` rows per device
     * instead of growing with every sync. Newest first by arrival time,
     * not SQLite's rowid (PostgreSQL has none); the batch just stored
     * first of all, so a tie in the millisecond can never drop it. */
    if ((rc = fss__stmt(c, "DELETE FROM fss_batches WHERE device = ?1 AND batch_id NOT IN"
                           " (SELECT batch_id FROM fss_batches WHERE device = ?1"
                           " ORDER BY batch_id = ?3 DESC, created_at DESC, batch_id"
                           " LIMIT ?2)",
                        &st, err)) != FSS_OK)
        goto done;
    fss_bind_blob(st, 1, device->b, 16, FSS_SQL_STATIC);
    fss_bind_int(st, 2, keep);
    fss_bind_blob(st, 3, batch->b, 16, FSS_SQL_STATIC);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "batch retention");
done:
    fss__stmt_done(c, st);
    return rc;
}

/* A pull returns, in seq order, the rows of the rep's scope and the rep's
 * scope exits after the cursor: a page of them, plus one to learn has_more.
 * Two plans give the same answer at different costs (tests/server
 * test_pull_plans proves they agree):
 *
 * SEQ walks each table's (seq, id) index from the cursor and tests each
 * row's customer with a primary-key lookup, stopping after a page. When the
 * scope holds most of what changed (a bootstrap), a page costs about page x
 * tables steps whatever the scope size. But it visits every row anyone
 * changed since the cursor: at 1,000 devices an incremental pull of a few
 * dozen rows walked thousands of other reps' rows.
 *
 * SCOPE lists the scope's customers (indexes on customer owner_rep and
 * territory, migration 2), probes each table's (root, seq) index per
 * customer from the cursor and sorts what it finds. It costs customers x
 * tables probes plus the scope's rows after the cursor, whatever others
 * changed; but each page sorts all of those rows again, so a pull of many
 * pages would be quadratic (filtering by "root in the scope" was the first
 * pull query: 206 s for a 200k-row bootstrap).
 *
 * choose_plan() takes SCOPE only when both costs are bounded: the probes
 * are fewer than the seqs handed out since the cursor (an upper bound of
 * what SEQ visits) and the scope has at most PULL_SCOPE_MAX_CUSTOMERS_PER_PAGE
 * x page customers, and the whole pull fits in PULL_SCOPE_MAX_PAGES pages.
 * Both questions are counts with a LIMIT, so deciding costs at most a few
 * thousand index steps (about 1 ms for a 25,000-customer scope's bootstrap
 * page).
 *
 * SCOPE's probes are written `r.root IN (SELECT id FROM pull_scope)`, one
 * table per arm, not as a join of pull_scope with the table: SQLite plans a
 * join from the statistics that ANALYZE keeps (fss_db.c), and when they
 * guess the scope larger than the table (a NULL owner_rep on most
 * customers makes the owner index look unselective) it builds a Bloom
 * filter over the inner table first - a full scan of every contact, visit
 * and quote of the store on each pull. That made each bootstrap of the
 * morning bench cost the whole store (setup of 10,000 devices unfinished
 * after 400 s; docs/BENCHMARKS.md, session 8). A single-table arm has no
 * join to filter: SQLite looks up the IN list's ids in the (root, seq)
 * index (test_pull_scope_work holds its work to the scope's size).
 *
 * The outer table is always aliased: a bare `root` inside the scope
 * subquery would name the customer's own root and silently make it
 * uncorrelated. Table names come from the static schema, never from input.
 * Parameters: ?1 cursor, ?2 rep, ?3 limit (-1 = none). */
#define PULL_IN_SCOPE(col)                                                  \
    "EXISTS (SELECT 1 FROM customer c WHERE c.id = " col " AND "            \
    FSS_SCOPE_COND("?2") ")"

/* The customers of rep ?2's scope, as a compound SELECT of their ids: the
 * owned ones through the owner index, the territories' through the
 * territory index - the two halves of FSS_SCOPE_COND (fss_store.h), so the
 * same rows (test_pull_plans: the SEQ plan tests each row with
 * FSS_SCOPE_COND, and the plans agree), in a form where a small scope is
 * never found by scanning the customer table: written as FSS_SCOPE_COND's
 * OR, SQLite's planner took ANALYZE's statistics of a store where most
 * customers share an owner (none) or a territory as "matches half the
 * table" and scanned all of it on every SCOPE pull (docs/BENCHMARKS.md,
 * "Session 8"). SQLite is told the index (INDEXED BY: a dropped index is
 * an error, not a slow plan); PostgreSQL plans each arm by its per-value
 * statistics. */
static void scope_customers_sql(fss_conn *c, fss_buf *b)
{
    bool lite = fss_sql_backend_of(c->db) != FSS_SQL_PG;

    fss_buf_printf(b,
                   "SELECT c.id FROM customer c%s WHERE c.deleted = 0 AND "
                   FSS_SCOPE_BY_OWNER("?2")
                   " UNION SELECT c.id FROM customer c%s WHERE c.deleted = 0 AND "
                   FSS_SCOPE_BY_TERRITORY("?2"),
                   lite ? " INDEXED BY fss_customer_owner" : "",
                   lite ? " INDEXED BY fss_customer_territory" : "");
}

/* The pull statement returns each row whole, so the page needs no second
 * lookup per row (loading each pulled row again by id was a fifth of the
 * server's time serving a bootstrap; docs/BENCHMARKS.md, session 9). The
 * arms of its compound SELECT, one per table, must have the same columns,
 * and on PostgreSQL each column one type in every arm; the tables have
 * different fields. So the columns are: kind (0 row, 1 exit), entity tag or
 * exit reason, then the store's 7 fixed columns (id, seq, root, deleted,
 * del_hlc, del_dev, meta: the same in every table; an exit has its
 * customer and seq there), then typed slots: as many integer, real, text
 * and id columns as the entity with most of each kind has fields of it.
 * An arm puts its fields in the slots of their kind in schema order and
 * NULL in the rest (fs_store_decode_at reads them back by that map).
 * PostgreSQL types a compound's columns one set operation at a time, left
 * to right, and a column NULL in the first two arms becomes text there, so
 * its NULLs carry their slot's type (the only spelling that differs by
 * store, like INDEXED BY on SQLite). */
#define PULL_COL_FIXED 2 /* the store's fixed columns start here */
#define PULL_COL_SEQ (PULL_COL_FIXED + 1)
#define PULL_KINDS 4
/* Bounds of the static schema (an entity has at most 255 fields: the
 * store's meta blob indexes them with a byte). */
#define PULL_MAX_FIELDS 255
#define PULL_MAX_ENTITIES 64

static int pull_kind(const fs_field *f)
{
    switch (fs_type_kind(f->type)) {
    case FS_VAL_INT: return 0;
    case FS_VAL_REAL: return 1;
    case FS_VAL_TEXT: return 2;
    default: return 3; /* FS_VAL_ID */
    }
}

/* The first result column of each kind's slots, and their number. */
static void pull_slots(int first[PULL_KINDS], int *ncols)
{
    size_t ne = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    int width[PULL_KINDS] = {0};

    for (size_t i = 0; i < ne; i++) {
        int n[PULL_KINDS] = {0};
        for (size_t j = 0; j < ents[i]->nfields; j++)
            n[pull_kind(&ents[i]->fields[j])]++;
        for (int k = 0; k < PULL_KINDS; k++)
            if (n[k] > width[k])
                width[k] = n[k];
    }
    first[0] = PULL_COL_FIXED + FS_STORE_NFIXED_COLUMNS;
    for (int k = 1; k < PULL_KINDS; k++)
        first[k] = first[k - 1] + width[k - 1];
    *ncols = first[PULL_KINDS - 1] + width[PULL_KINDS - 1];
}

/* cols[j]: the result column of field j of e. */
static void pull_field_cols(const fs_entity *e, int *cols)
{
    int first[PULL_KINDS], n[PULL_KINDS] = {0}, ncols;

    pull_slots(first, &ncols);
    for (size_t j = 0; j < e->nfields; j++) {
        int k = pull_kind(&e->fields[j]);
        cols[j] = first[k] + n[k]++;
    }
}

/* A NULL in result column `at` (of the slot kinds starting at first). */
static void pull_null(fss_buf *b, bool pg, const int first[PULL_KINDS], int at)
{
    /* the store's fixed columns (an exit fills only the first two) */
    static const char *const fixed_pg[FS_STORE_NFIXED_COLUMNS] = {
        "bytea", "bigint", "bytea", "bigint", "bigint", "bytea", "bytea"};
    static const char *const slot_pg[PULL_KINDS] = {"bigint", "float8", "text",
                                                    "bytea"};
    int k = PULL_KINDS - 1;

    if (!pg) {
        fss_buf_puts(b, ", NULL");
        return;
    }
    if (at < first[0]) {
        fss_buf_printf(b, ", NULL::%s", fixed_pg[at - PULL_COL_FIXED]);
        return;
    }
    while (k > 0 && at < first[k])
        k--;
    fss_buf_printf(b, ", NULL::%s", slot_pg[k]);
}

/* One arm's column list: e's row (alias r), or with e NULL an exit's
 * (alias x) with NULL for everything a row has beyond it. */
static void pull_arm_cols(fss_conn *c, fss_buf *b, const fs_entity *e)
{
    static const char *const fixed[FS_STORE_NFIXED_COLUMNS] = {
        "id", "seq", "root", "deleted", "del_hlc", "del_dev", "meta"};
    bool pg = fss_sql_backend_of(c->db) == FSS_SQL_PG;
    int first[PULL_KINDS], ncols, at;
    int cols[PULL_MAX_FIELDS];

    pull_slots(first, &ncols);
    if (!e) {
        fss_buf_puts(b, "SELECT 1, x.reason, x.customer, x.seq");
        for (at = PULL_COL_FIXED + 2; at < ncols; at++)
            pull_null(b, pg, first, at);
        return;
    }
    fss_buf_printf(b, "SELECT 0 AS kind, %u AS ent", (unsigned)e->tag);
    for (int i = 0; i < FS_STORE_NFIXED_COLUMNS; i++)
        fss_buf_printf(b, ", r.%s", fixed[i]);
    pull_field_cols(e, cols);
    for (at = PULL_COL_FIXED + FS_STORE_NFIXED_COLUMNS; at < ncols; at++) {
        const char *name = NULL;
        for (size_t j = 0; j < e->nfields && !name; j++)
            if (cols[j] == at)
                name = e->fields[j].name;
        if (name)
            fss_buf_printf(b, ", r.\"%s\"", name);
        else
            pull_null(b, pg, first, at);
    }
}

/* The pull query of `plan`: the items (columns above) ORDER BY seq
 * LIMIT ?3; or, with `count`, how many such items there are, at most ?3. */
static fss_status pull_sql(fss_conn *c, fss_pull_plan plan, bool count,
                           fss_buf *b, fs_error *err)
{
    bool by_scope = plan == FSS_PULL_SCOPE;
    size_t ne = 0, i;
    const fs_entity *const *ents = fs_schema_entities(&ne);

    if (by_scope) {
        fss_buf_puts(b, "WITH pull_scope(id) AS MATERIALIZED (");
        scope_customers_sql(c, b);
        fss_buf_puts(b, ") ");
    }
    if (count)
        fss_buf_puts(b, "SELECT count(*) FROM (");
    for (i = 0; i < ne; i++) {
        const char *t = fs_store_table(c->store, ents[i]);
        bool scoped = fss__scoped_entity(ents[i]);
        if (!t)
            return fss__fail(err, FSS_EDB, "no table for %s", ents[i]->name);
        if (ents[i]->nfields > PULL_MAX_FIELDS || ne > PULL_MAX_ENTITIES)
            return fss__fail(err, FSS_EDB, "%s: schema too large for the pull",
                             ents[i]->name);
        if (count)
            fss_buf_puts(b, "SELECT 1");
        else
            pull_arm_cols(c, b, ents[i]);
        fss_buf_printf(b, " FROM \"%s\" r WHERE r.seq > ?1", t);
        if (scoped)
            fss_buf_puts(b, by_scope ? " AND r.root IN (SELECT id FROM pull_scope)"
                                     : " AND " PULL_IN_SCOPE("r.root"));
        fss_buf_puts(b, " UNION ALL ");
    }
    if (count)
        fss_buf_puts(b, "SELECT 1");
    else
        pull_arm_cols(c, b, NULL);
    fss_buf_puts(b, " FROM fss_scope_exits x WHERE x.rep = ?2 AND x.seq > ?1"
                    " AND NOT " PULL_IN_SCOPE("x.customer"));
    /* A compound SELECT with ORDER BY is a merge of its arms (EXPLAIN QUERY
     * PLAN: MERGE (UNION ALL)), each read lazily in seq order: a seq-plan
     * page visits about page rows in all, not a page per table. */
    if (count)
        fss_buf_puts(b, " LIMIT ?3) n");
    else
        fss_buf_printf(b, " ORDER BY %d LIMIT ?3", PULL_COL_SEQ + 1);
    return b->oom ? fss__fail(err, FSS_ENOMEM, "pull sql") : FSS_OK;
}

/* The connection's prepared statement for (plan, count), bound. The caller
 * resets it (pull_done) before the request ends: a statement left mid-step
 * would keep its read transaction open. */
static fss_status pull_stmt(fss_conn *c, fss_pull_plan plan, bool count,
                            const char *rep, uint64_t cursor, int64_t limit,
                            fss_stmt **out, fs_error *err)
{
    fss_stmt **slot = &c->pull[plan == FSS_PULL_SCOPE][count];
    fss_status rc = FSS_OK;

    if (!*slot) {
        fss_buf sql = {0};
        rc = pull_sql(c, plan, count, &sql, err);
        if (rc == FSS_OK)
            rc = fss__conn_stmt(c, slot, sql.data, err);
        fss_buf_free(&sql);
        if (rc != FSS_OK)
            return rc;
    }
    fss_bind_int64(*slot, 1, (int64_t)cursor);
    fss_bind_text(*slot, 2, rep, -1, FSS_SQL_STATIC);
    /* no limit as the largest one: PostgreSQL refuses a negative LIMIT */
    fss_bind_int64(*slot, 3, limit < 0 ? INT64_MAX : limit);
    *out = *slot;
    return FSS_OK;
}

static void pull_done(fss_stmt *st)
{
    fss_reset(st);
    fss_clear_bindings(st);
}

/* Runs a bound count(*) statement. */
static fss_status count_rows(fss_conn *c, fss_stmt *st, int64_t *out,
                             fs_error *err)
{
    fss_status rc = FSS_OK;

    if (fss_step(st) == FSS_SQL_ROW)
        *out = fss_column_int64(st, 0);
    else
        rc = fss__dbfail(err, c->db, "pull count");
    pull_done(st);
    return rc;
}

fss_status fss__repo_scope_size(fss_conn *c, const char *rep, int64_t limit,
                                int64_t cur, int64_t reuse_seqs,
                                int64_t *out, fs_error *err)
{
    fss_status rc;

    /* A count below its limit is exact; one at its limit means "at least
     * that", which still answers any smaller limit. */
    if (reuse_seqs > 0 && strcmp(c->scope_seen.rep, rep) == 0 &&
        cur >= c->scope_seen.at && cur - c->scope_seen.at < reuse_seqs &&
        (c->scope_seen.customers < c->scope_seen.limit ||
         limit <= c->scope_seen.limit)) {
        *out = c->scope_seen.customers < limit ? c->scope_seen.customers : limit;
        return FSS_OK;
    }
    c->scope_seen.rep[0] = '\0';
    *out = 0;
    if (!c->scope_size) {
        fss_buf sql = {0};
        fss_buf_puts(&sql, "SELECT count(*) FROM (");
        scope_customers_sql(c, &sql);
        fss_buf_puts(&sql, " LIMIT ?3) n");
        rc = sql.oom ? fss__fail(err, FSS_ENOMEM, "scope size sql")
                     : fss__conn_stmt(c, &c->scope_size, sql.data, err);
        fss_buf_free(&sql);
        if (rc != FSS_OK)
            return rc;
    }
    fss_bind_text(c->scope_size, 2, rep, -1, FSS_SQL_STATIC);
    fss_bind_int64(c->scope_size, 3, limit);
    rc = count_rows(c, c->scope_size, out, err);
    if (rc == FSS_OK && strlen(rep) < sizeof c->scope_seen.rep) {
        strcpy(c->scope_seen.rep, rep);
        c->scope_seen.at = cur;
        c->scope_seen.limit = limit;
        c->scope_seen.customers = *out;
    }
    return rc;
}

fss_status fss__repo_pull_count(fss_conn *c, fss_pull_plan plan,
                                const char *rep, uint64_t cursor,
                                int64_t limit, int64_t *out, fs_error *err)
{
    fss_stmt *st;
    fss_status rc = pull_stmt(c, plan, true, rep, cursor, limit, &st, err);

    *out = 0;
    if (rc == FSS_OK)
        rc = count_rows(c, st, out, err);
    return rc;
}

int64_t fss__repo_pull_steps(fss_conn *c, fss_pull_plan plan)
{
    int64_t n = 0;

    for (size_t k = 0; k < 2; k++) {
        fss_stmt *st = c->pull[plan == FSS_PULL_SCOPE][k];
        int64_t s = st ? fss_stmt_steps(st) : 0;
        if (s < 0)
            return -1;
        n += s;
    }
    return n;
}

fss_status fss__repo_pull(fss_conn *c, fss_pull_plan plan, const char *rep,
                          uint64_t cursor, int64_t limit, fss_pull_fn fn,
                          void *arg, fs_error *err)
{
    size_t ne = 0, nf = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    fss_stmt *st = NULL;
    int *cols = NULL, *at[PULL_MAX_ENTITIES];
    fs_row row = {0};
    fs_error serr = {0};
    fss_status rc;
    bool stop = false;
    int r = FSS_SQL_DONE;

    /* each entity's field columns (pull_sql's layout), by schema index */
    if (ne > PULL_MAX_ENTITIES)
        return fss__fail(err, FSS_EDB, "pull: too many entities");
    for (size_t i = 0; i < ne; i++)
        nf += ents[i]->nfields;
    if (!(cols = calloc(nf ? nf : 1, sizeof *cols)))
        return fss__fail(err, FSS_ENOMEM, "pull columns");
    nf = 0;
    for (size_t i = 0; i < ne; i++) {
        at[i] = cols + nf;
        pull_field_cols(ents[i], at[i]);
        nf += ents[i]->nfields;
    }
    if ((rc = pull_stmt(c, plan, false, rep, cursor, limit, &st, err)) != FSS_OK)
        goto done;
    while (!stop && (r = fss_step(st)) == FSS_SQL_ROW) {
        fss_pull_item it;
        size_t k = ne;

        if (fss_column_bytes(st, PULL_COL_FIXED) != 16)
            continue;
        it.is_exit = fss_column_int(st, 0) != 0;
        it.tag = (unsigned)fss_column_int(st, 1);
        memcpy(it.id.b, fss_column_blob(st, PULL_COL_FIXED), 16);
        it.seq = fss_column_int64(st, PULL_COL_SEQ);
        it.row = NULL;
        for (size_t i = 0; !it.is_exit && i < ne && k == ne; i++)
            if (ents[i]->tag == it.tag)
                k = i;
        if (k < ne) {
            if (fs_store_decode_at(c->store, ents[k], st, PULL_COL_FIXED, at[k],
                                   &row, NULL, &serr) != FS_STORE_OK) {
                rc = fss__fail(err, FSS_EDB, "pull %s: %s", ents[k]->name,
                               serr.text);
                goto done;
            }
            it.row = &row;
        }
        if ((rc = fn(&it, arg, &stop, err)) != FSS_OK)
            goto done;
    }
    if (!stop && r != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "pull");
done:
    if (st)
        pull_done(st);
    fs_row_free(&row);
    free(cols);
    return rc;
}
