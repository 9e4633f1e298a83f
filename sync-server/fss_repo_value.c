/*
 * fss_repo_value.c - the repository for customer value and churn
 * (fss_repo.h, "customer value"): what `analyze` (fss_value.c) reads and
 * sorts, so that its memory does not grow with the customers.
 *
 *   - batches of customers by id (fss__repo_value_batch_end) and cursors
 *     over the live rows of one entity whose customer lies in a batch, so
 *     analyze walks customers, purchases, visits, tasks and tickets side by
 *     side, one batch at a time (PostgreSQL's driver holds a statement's
 *     whole result: a batch bounds it);
 *   - the work table: every buying customer's per-currency summary line,
 *     in a TEMP table of the connection (no other connection sees it, no
 *     migration, nothing left behind), read back sorted: the value at a
 *     position of one key's order, and the lines by descending revenue in
 *     pages.
 *
 * The rules themselves are conflict/fs_score.c's; nothing here decides a
 * grade or a risk, sums money or computes a share. Portable SQL: ids are
 * 16-byte blobs compared bytewise by both SQLite and PostgreSQL (bytea),
 * the same order as memcmp.
 */
#include "fss_store.h"

#include <stdlib.h>
#include <string.h>

struct fss_value_cursor {
    fss_conn *c;
    const fs_entity *e;
    fss_stmt *st;
    bool is_customer;
    /* fss__repo_value_open_fields: the fields selected (their cells only),
     * else whole rows through the store's decoder */
    bool narrow;
    int fields[16];
    size_t nfields;
};

/* " AND col > ?1" / " AND col <= ?2" for the bounds given. */
static void range(char *sql, size_t cap, const char *col, const fs_id *after,
                  const fs_id *upto)
{
    size_t k = strlen(sql);
    if (after)
        k += (size_t)snprintf(sql + k, cap - k, " AND %s > ?1", col);
    if (upto)
        snprintf(sql + k, cap - k, " AND %s <= ?2", col);
}

static void bind_range(fss_stmt *st, const fs_id *after, const fs_id *upto)
{
    if (after)
        fss_bind_blob(st, 1, after->b, 16, FSS_SQL_TRANSIENT);
    if (upto)
        fss_bind_blob(st, 2, upto->b, 16, FSS_SQL_TRANSIENT);
}

fss_status fss__repo_value_batch_end(fss_conn *c, const fs_id *after, size_t limit,
                                     fs_id *end, bool *found, fs_error *err)
{
    const fs_entity *e = fs_schema_entity("customer");
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    char sql[512];
    int s;

    *found = false;
    snprintf(sql, sizeof sql, "SELECT id FROM \"%s\" WHERE deleted = 0",
             fs_store_table(c->store, e));
    range(sql, sizeof sql, "id", after, NULL);
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql), " ORDER BY id LIMIT 1 OFFSET %zu",
             limit ? limit - 1 : 0);
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "customer batch");
    bind_range(st, after, NULL);
    s = fss_step(st);
    if (s == FSS_SQL_ROW && fss_column_bytes(st, 0) == 16) {
        memcpy(end->b, fss_column_blob(st, 0), 16);
        *found = true;
    } else if (s != FSS_SQL_DONE && s != FSS_SQL_ROW)
        rc = fss__dbfail(err, c->db, "customer batch");
    fss_finalize(st);
    return rc;
}

/* Completes cur's statement (sql: its SELECT list) with the live rows of
 * its entity in the customer range (after, upto] and opens it; frees cur
 * on failure. */
static fss_status cursor_open(fss_value_cursor *cur, char *sql, size_t cap,
                              const fs_id *after, const fs_id *upto,
                              fss_value_cursor **out, fs_error *err)
{
    fss_conn *c = cur->c;
    fss_status rc;
    size_t k = strlen(sql);

    snprintf(sql + k, cap - k, " FROM \"%s\" WHERE deleted = 0%s",
             fs_store_table(c->store, cur->e),
             cur->is_customer ? "" : " AND root IS NOT NULL");
    range(sql, cap, cur->is_customer ? "id" : "root", after, upto);
    /* Rows below a customer in the order of the (root, seq) index: read
     * from it as they are, where "root, id" sorted every customer's rows. */
    k = strlen(sql);
    snprintf(sql + k, cap - k, "%s", cur->is_customer ? " ORDER BY id" : " ORDER BY root, seq");
    if (fss_prepare(c->db, sql, -1, &cur->st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, cur->e->name);
        fss__repo_value_close(cur);
        return rc;
    }
    bind_range(cur->st, after, upto);
    *out = cur;
    return FSS_OK;
}

fss_status fss__repo_value_open(fss_conn *c, const fs_entity *e, const fs_id *after,
                                const fs_id *upto, fss_value_cursor **out, fs_error *err)
{
    fss_value_cursor *cur = NULL;
    char sql[2048];

    *out = NULL;
    if (!(cur = calloc(1, sizeof *cur)))
        return fss__fail(err, FSS_ENOMEM, "value cursor");
    cur->c = c;
    cur->e = e;
    cur->is_customer = strcmp(e->name, "customer") == 0;
    /* Table and column names come from the schema, never from input. */
    snprintf(sql, sizeof sql, "SELECT %s", fs_store_columns(c->store, e));
    return cursor_open(cur, sql, sizeof sql, after, upto, out, err);
}

fss_status fss__repo_value_open_fields(fss_conn *c, const fs_entity *e, const fs_id *after,
                                       const fs_id *upto, const char *const *fields,
                                       size_t nfields, fss_value_cursor **out, fs_error *err)
{
    fss_value_cursor *cur = NULL;
    char sql[2048];
    size_t k;

    *out = NULL;
    if (nfields > sizeof cur->fields / sizeof cur->fields[0])
        return fss__fail(err, FSS_EINVAL, "value cursor: too many fields");
    if (!(cur = calloc(1, sizeof *cur)))
        return fss__fail(err, FSS_ENOMEM, "value cursor");
    cur->c = c;
    cur->e = e;
    cur->is_customer = strcmp(e->name, "customer") == 0;
    cur->narrow = true;
    cur->nfields = nfields;
    /* Names are the schema's (checked here), never input. A customer is
     * its own customer: its id twice (no fields: the id index alone). */
    k = (size_t)snprintf(sql, sizeof sql, "SELECT id, %s", cur->is_customer ? "id" : "root");
    for (size_t i = 0; i < nfields; i++) {
        cur->fields[i] = fs_entity_field_index(e, fields[i]);
        if (cur->fields[i] < 0) {
            fss__repo_value_close(cur);
            return fss__fail(err, FSS_EINVAL, "value cursor: no field %s", fields[i]);
        }
        k += (size_t)snprintf(sql + k, sizeof sql - k, ", \"%s\"", fields[i]);
    }
    return cursor_open(cur, sql, sizeof sql, after, upto, out, err);
}

/* A field-list cursor's row: id, customer and the selected cells' values
 * (no stamps), of the types the schema gives them. */
static fss_status next_fields(fss_value_cursor *cur, fs_row *row, fs_id *cust, fs_error *err)
{
    const fs_entity *e = cur->e;
    fss_stmt *st = cur->st;
    fs_error ferr = {0};
    fs_id id;

    if (fss_column_bytes(st, 0) != 16 || fss_column_bytes(st, 1) != 16)
        return fss__fail(err, FSS_EDB, "%s row: id or root is not 16 bytes", e->name);
    memcpy(id.b, fss_column_blob(st, 0), 16);
    memcpy(cust->b, fss_column_blob(st, 1), 16);
    if (row->entity != e || !row->cells) {
        fs_row_free(row);
        if (fs_row_init(row, e, &id, &ferr) != FS_OK)
            return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
    }
    row->id = id;
    for (size_t i = 0; i < cur->nfields; i++) {
        const fs_field *f = &e->fields[cur->fields[i]];
        fs_value *v = &row->cells[cur->fields[i]].v;
        int col = 2 + (int)i, t = fss_column_type(st, col);
        bool ok = true;

        fs_value_clear(v);
        if (t == FSS_SQL_NULL)
            continue;
        switch (fs_type_kind(f->type)) {
        case FS_VAL_INT:
            if ((ok = t == FSS_SQL_INTEGER))
                *v = fs_value_int(fss_column_int64(st, col));
            break;
        case FS_VAL_REAL:
            if ((ok = t == FSS_SQL_FLOAT || t == FSS_SQL_INTEGER))
                *v = fs_value_real(fss_column_double(st, col));
            break;
        case FS_VAL_TEXT:
            if ((ok = t == FSS_SQL_TEXT) &&
                fs_value_text(v, (const char *)fss_column_text(st, col),
                              (size_t)fss_column_bytes(st, col), &ferr) != FS_OK)
                return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
            break;
        case FS_VAL_ID:
            if ((ok = t == FSS_SQL_BLOB && fss_column_bytes(st, col) == 16)) {
                fs_id ref;
                memcpy(ref.b, fss_column_blob(st, col), 16);
                *v = fs_value_idv(&ref);
            }
            break;
        default:
            ok = false;
        }
        if (!ok)
            return fss__fail(err, FSS_EDB, "%s row: column %s has the wrong type", e->name,
                             f->name);
    }
    return FSS_OK;
}

fss_status fss__repo_value_next(fss_value_cursor *cur, fs_row *row, fs_id *cust,
                                bool *has, fs_error *err)
{
    fs_store_rowinfo info;
    fs_error serr = {0};
    fss_status rc;
    int s;

    *has = false;
    s = fss_step(cur->st);
    if (s == FSS_SQL_DONE)
        return FSS_OK;
    if (s != FSS_SQL_ROW)
        return fss__dbfail(err, cur->c->db, cur->e->name);
    if (cur->narrow) {
        rc = next_fields(cur, row, cust, err);
        *has = rc == FSS_OK;
        return rc;
    }
    if (fs_store_decode(cur->c->store, cur->e, cur->st, 0, row, &info, &serr) !=
        FS_STORE_OK)
        return fss__fail(err, FSS_EDB, "decode %s: %s", cur->e->name, serr.text);
    *cust = cur->is_customer ? row->id : info.root;
    *has = true;
    return FSS_OK;
}

void fss__repo_value_close(fss_value_cursor *cur)
{
    if (!cur)
        return;
    fss_finalize(cur->st);
    free(cur);
}

fss_status fss__repo_customers_where(fss_conn *c, const char *field,
                                     const char *const *territories, size_t nterr,
                                     fss_row_fn fn, void *arg, fs_error *err)
{
    const fs_entity *e = fs_schema_entity("customer");
    fss_stmt *st = NULL;
    fs_row row = {0};
    fs_error serr = {0};
    fss_status rc = FSS_OK;
    char sql[4096];
    int k, s;

    /* The field is a schema name (an identifier we own), never input. */
    if (fs_entity_field_index(e, field) < 0 || nterr > 256)
        return fss__fail(err, FSS_EINVAL, "customers where: bad field or restriction");
    k = snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE deleted = 0 AND \"%s\" IS NOT NULL",
                 fs_store_columns(c->store, e), fs_store_table(c->store, e), field);
    if (territories) {
        /* One placeholder per code: a manager's territories (NULL = all). */
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND territory IN (");
        for (size_t i = 0; i < nterr; i++)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "%s?", i ? "," : "");
        if (!nterr)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "NULL");
        k += snprintf(sql + k, sizeof sql - (size_t)k, ")");
    }
    snprintf(sql + k, sizeof sql - (size_t)k, " ORDER BY id");
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fss__dbfail(err, c->db, "customers where");
        goto done;
    }
    for (size_t i = 0; territories && i < nterr; i++)
        fss_bind_text(st, (int)i + 1, territories[i], -1, FSS_SQL_STATIC);
    while (rc == FSS_OK && (s = fss_step(st)) == FSS_SQL_ROW) {
        if (fs_store_decode(c->store, e, st, 0, &row, NULL, &serr) != FS_STORE_OK) {
            rc = fss__fail(err, FSS_EDB, "decode customer: %s", serr.text);
            goto done;
        }
        rc = fn(&row, arg, err);
    }
    if (rc == FSS_OK && s != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "customers where");
done:
    fss_finalize(st);
    fs_row_free(&row);
    return rc;
}

/* ---- the work table ------------------------------------------------------ */

/* Lines buffered per INSERT: one round trip for many on PostgreSQL. */
#define WORK_ROWS 64
#define WORK_COLS 7

struct fss_value_work {
    fss_conn *c;
    fss_stmt *insert; /* the INSERT of WORK_ROWS lines, prepared once */
    size_t n;
    struct {
        fs_id cust;
        char currency[4];
        int64_t v[5]; /* unit, cnt, recent, revenue, nrev */
    } buf[WORK_ROWS];
};

/* Column of each fs_score_key, the one map from key to SQL. */
static const char *const key_col[FS_SCORE_NKEYS] = {"unit", "cnt", "recent", "revenue"};

fss_status fss__repo_work_open(fss_conn *c, fss_value_work **out, fs_error *err)
{
    /* Created without indexes: the lines are appended in pass 1 and indexed
     * once, sorted, when all are in (fss__repo_work_index). Indexes kept up
     * to date row by row cost most of the run at 100,000 customers (four
     * B-trees updated in random order, spilling out of SQLite's cache;
     * docs/BENCHMARKS.md). Dropped and created anew, so a table left by a
     * failed run takes no index maintenance into this one. */
    static const char *const ddl[] = {
        "DROP TABLE IF EXISTS fss_value_work",
        "CREATE TEMP TABLE fss_value_work(currency TEXT NOT NULL,"
        " cust BLOB NOT NULL, unit INTEGER NOT NULL, cnt INTEGER NOT NULL,"
        " recent INTEGER NOT NULL, revenue INTEGER NOT NULL, nrev INTEGER NOT NULL)",
    };
    fss_status rc = FSS_OK;

    *out = NULL;
    for (size_t i = 0; rc == FSS_OK && i < sizeof ddl / sizeof ddl[0]; i++)
        rc = fss__exec(c, ddl[i], err);
    if (rc != FSS_OK)
        return rc;
    if (!(*out = calloc(1, sizeof **out)))
        return fss__fail(err, FSS_ENOMEM, "work table");
    (*out)->c = c;
    return FSS_OK;
}

static void work_sql(char *sql, size_t cap, size_t rows)
{
    size_t k = (size_t)snprintf(sql, cap, "INSERT INTO fss_value_work(currency, cust, unit,"
                                          " cnt, recent, revenue, nrev) VALUES ");
    for (size_t i = 0; i < rows; i++)
        k += (size_t)snprintf(sql + k, cap - k, "%s(?,?,?,?,?,?,?)", i ? "," : "");
}

fss_status fss__repo_work_flush(fss_value_work *w, fs_error *err)
{
    char sql[WORK_ROWS * 24 + 160];
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    bool full = w->n == WORK_ROWS;

    if (!w->n)
        return FSS_OK;
    /* A full buffer reuses the one statement; the last, shorter one of a
     * batch is prepared for its use. */
    if (full && w->insert)
        st = w->insert;
    else {
        work_sql(sql, sizeof sql, w->n);
        if (fss_prepare(w->c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
            return fss__dbfail(err, w->c->db, "work table");
        if (full)
            w->insert = st;
    }
    for (size_t i = 0; i < w->n; i++) {
        int b = (int)i * WORK_COLS;
        fss_bind_text(st, b + 1, w->buf[i].currency, -1, FSS_SQL_STATIC);
        fss_bind_blob(st, b + 2, w->buf[i].cust.b, 16, FSS_SQL_STATIC);
        for (int j = 0; j < 5; j++)
            fss_bind_int64(st, b + 3 + j, w->buf[i].v[j]);
    }
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, w->c->db, "work table");
    if (st == w->insert)
        fss_reset(st);
    else
        fss_finalize(st);
    w->n = 0;
    return rc;
}

fss_status fss__repo_work_add(fss_value_work *w, const fs_id *cust, const fs_score_line *l,
                              fs_error *err)
{
    if (w->n == WORK_ROWS) {
        fss_status rc = fss__repo_work_flush(w, err);
        if (rc != FSS_OK)
            return rc;
    }
    w->buf[w->n].cust = *cust;
    memcpy(w->buf[w->n].currency, l->currency, 3);
    w->buf[w->n].currency[3] = '\0';
    for (int j = 0; j < FS_SCORE_NKEYS; j++)
        w->buf[w->n].v[j] = fs_score_key_of(l, (fs_score_key)j);
    /* descending revenue as an ascending index (INT64_MIN has no negation:
     * it sorts with INT64_MIN + 1, a sum no store reaches) */
    w->buf[w->n].v[4] = l->revenue == INT64_MIN ? INT64_MAX : -l->revenue;
    w->n++;
    return FSS_OK;
}

fss_status fss__repo_work_index(fss_value_work *w, fs_error *err)
{
    /* Each key's order with the customer as the tie (so a position can be
     * walked to from the previous one by keyset), and the Pareto order. */
    static const char *const ddl[] = {
        "CREATE INDEX fss_value_work_unit ON fss_value_work(currency, unit, cust)",
        "CREATE INDEX fss_value_work_cnt ON fss_value_work(currency, cnt, cust)",
        "CREATE INDEX fss_value_work_recent ON fss_value_work(currency, recent, cust)",
        "CREATE INDEX fss_value_work_revenue ON fss_value_work(currency, revenue, cust)",
        "CREATE INDEX fss_value_work_rev ON fss_value_work(currency, nrev, cust)",
    };
    fss_status rc = fss__repo_work_flush(w, err);

    for (size_t i = 0; rc == FSS_OK && i < sizeof ddl / sizeof ddl[0]; i++)
        rc = fss__exec(w->c, ddl[i], err);
    return rc;
}

/* The line at `skip` lines after (value, cust) in key's order (first: from
 * the start), its value and customer into *value, *cust. */
static fss_status work_step(fss_value_work *w, const char *currency, fs_score_key key,
                            bool first, size_t skip, int64_t *value, fs_id *cust,
                            fs_error *err)
{
    const char *col = key_col[key];
    char sql[320];
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;

    if (first)
        snprintf(sql, sizeof sql,
                 "SELECT %s, cust FROM fss_value_work WHERE currency = ?1"
                 " ORDER BY %s, cust LIMIT 1 OFFSET ?4",
                 col, col);
    else
        snprintf(sql, sizeof sql,
                 "SELECT %s, cust FROM fss_value_work WHERE currency = ?1"
                 " AND (%s, cust) > (?2, ?3) ORDER BY %s, cust LIMIT 1 OFFSET ?4",
                 col, col, col);
    if (fss_prepare(w->c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, w->c->db, "work table");
    fss_bind_text(st, 1, currency, -1, FSS_SQL_STATIC);
    if (!first) {
        fss_bind_int64(st, 2, *value);
        fss_bind_blob(st, 3, cust->b, 16, FSS_SQL_TRANSIENT);
    }
    fss_bind_int64(st, 4, (int64_t)skip);
    if (fss_step(st) == FSS_SQL_ROW && fss_column_bytes(st, 1) == 16) {
        *value = fss_column_int64(st, 0);
        memcpy(cust->b, fss_column_blob(st, 1), 16);
    } else
        rc = fss__fail(err, FSS_EDB, "work table: too few lines of %s", currency);
    fss_finalize(st);
    return rc;
}

fss_status fss__repo_work_values_at(fss_value_work *w, const char *currency,
                                    fs_score_key key, const size_t *pos, int64_t *out,
                                    size_t n, fs_error *err)
{
    size_t order[FS_SCORE_MAX_CUTS], at = 0;
    int64_t value = 0;
    fs_id cust;
    bool first = true;
    fss_status rc = FSS_OK;

    if ((unsigned)key >= FS_SCORE_NKEYS || n > FS_SCORE_MAX_CUTS)
        return fss__fail(err, FSS_EINVAL, "work table: no such key");
    memset(&cust, 0, sizeof cust);
    /* positions in ascending order, so the walk goes forward only: each
     * read starts after the line the previous one found (keyset) and skips
     * the lines between, so the key's order is read once in all, whatever
     * the number of cuts */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && pos[order[j - 1]] > pos[i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (size_t i = 0; rc == FSS_OK && i < n; i++) {
        size_t p = pos[order[i]];
        if (first || p > at) {
            rc = work_step(w, currency, key, first, first ? p : p - at - 1, &value, &cust,
                           err);
            at = p;
            first = false;
        }
        out[order[i]] = value;
    }
    return rc;
}

fss_status fss__repo_work_by_revenue(fss_value_work *w, const char *currency,
                                     const fss_work_line *after, fss_work_line *out,
                                     size_t cap, size_t *n, fs_error *err)
{
    char sql[320];
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    int s;

    *n = 0;
    snprintf(sql, sizeof sql,
             "SELECT revenue, cust FROM fss_value_work WHERE currency = ?1%s"
             " ORDER BY nrev, cust LIMIT %zu",
             after ? " AND (nrev, cust) > (?2, ?3)" : "", cap);
    if (fss_prepare(w->c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, w->c->db, "work table");
    fss_bind_text(st, 1, currency, -1, FSS_SQL_STATIC);
    if (after) {
        fss_bind_int64(st, 2, after->revenue == INT64_MIN ? INT64_MAX : -after->revenue);
        fss_bind_blob(st, 3, after->cust.b, 16, FSS_SQL_STATIC);
    }
    while (*n < cap && (s = fss_step(st)) == FSS_SQL_ROW) {
        out[*n].revenue = fss_column_int64(st, 0);
        if (fss_column_bytes(st, 1) != 16) {
            rc = fss__fail(err, FSS_EDB, "work table: a customer id of the wrong size");
            goto done;
        }
        memcpy(out[*n].cust.b, fss_column_blob(st, 1), 16);
        (*n)++;
    }
    if (*n < cap && s != FSS_SQL_DONE)
        rc = fss__dbfail(err, w->c->db, "work table");
done:
    fss_finalize(st);
    return rc;
}

void fss__repo_work_close(fss_value_work *w)
{
    if (!w)
        return;
    if (w->insert)
        fss_finalize(w->insert);
    /* Dropped, so the connection's temporary storage holds nothing between
     * runs; a failure leaves a table the next open drops. */
    (void)fss__exec(w->c, "DROP TABLE IF EXISTS fss_value_work", NULL);
    free(w);
}

/* ---- grade movements per territory ------------------------------------- */

fss_status fss__repo_moves_clear(fss_conn *c, int64_t run_at, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = fss__exec(c, "DELETE FROM fss_value_moves", err);

    if (rc == FSS_OK &&
        (rc = fss__stmt(c, "INSERT INTO fss_meta(key, value) VALUES('value_run_at', ?1)"
                           " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        &st, err)) == FSS_OK) {
        fss_bind_int64(st, 1, run_at);
        if (fss_step(st) != FSS_SQL_DONE)
            rc = fss__dbfail(err, c->db, "grade movements");
        fss__stmt_done(c, st);
    }
    return rc;
}

fss_status fss__repo_moves_add(fss_conn *c, const fss_value_move *m, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc;

    if ((rc = fss__stmt(c, "INSERT INTO fss_value_moves(territory, from_grade, to_grade,"
                           " customers) VALUES(?1, ?2, ?3, ?4)",
                        &st, err)) != FSS_OK)
        return rc;
    fss_bind_text(st, 1, m->territory, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 2, m->from, -1, FSS_SQL_STATIC);
    fss_bind_text(st, 3, m->to, -1, FSS_SQL_STATIC);
    fss_bind_int64(st, 4, m->customers);
    if (fss_step(st) != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "grade movements");
    fss__stmt_done(c, st);
    return rc;
}

fss_status fss__repo_moves_each(fss_conn *c, const char *const *territories, size_t nterr,
                                int64_t *run_at, fss_move_fn fn, void *arg, fs_error *err)
{
    fss_stmt *st = NULL;
    fss_status rc = FSS_OK;
    char sql[4096];
    int k, s;

    *run_at = 0;
    if (nterr > 256)
        return fss__fail(err, FSS_EINVAL, "grade movements: too many territories");
    if (fss_prepare(c->db, "SELECT value FROM fss_meta WHERE key = 'value_run_at'", -1, &st,
                    NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "grade movements");
    if ((s = fss_step(st)) == FSS_SQL_ROW)
        *run_at = fss_column_int64(st, 0);
    fss_finalize(st);
    st = NULL;
    if (s != FSS_SQL_ROW && s != FSS_SQL_DONE)
        return fss__dbfail(err, c->db, "grade movements");
    k = snprintf(sql, sizeof sql, "SELECT territory, from_grade, to_grade, customers"
                                  " FROM fss_value_moves");
    if (territories) {
        /* One placeholder per code: a manager's territories. */
        k += snprintf(sql + k, sizeof sql - (size_t)k, " WHERE territory IN (");
        for (size_t i = 0; i < nterr; i++)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "%s?", i ? "," : "");
        if (!nterr)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "NULL");
        k += snprintf(sql + k, sizeof sql - (size_t)k, ")");
    }
    snprintf(sql + k, sizeof sql - (size_t)k, " ORDER BY territory, from_grade, to_grade");
    if (fss_prepare(c->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        return fss__dbfail(err, c->db, "grade movements");
    for (size_t i = 0; territories && i < nterr; i++)
        fss_bind_text(st, (int)i + 1, territories[i], -1, FSS_SQL_STATIC);
    while (rc == FSS_OK && (s = fss_step(st)) == FSS_SQL_ROW) {
        const char *t = (const char *)fss_column_text(st, 0);
        const char *f = (const char *)fss_column_text(st, 1);
        const char *to = (const char *)fss_column_text(st, 2);
        fss_value_move m = {t ? t : "", f ? f : "", to ? to : "", fss_column_int64(st, 3)};
        rc = fn(&m, arg, err);
    }
    if (rc == FSS_OK && s != FSS_SQL_DONE)
        rc = fss__dbfail(err, c->db, "grade movements");
    fss_finalize(st);
    return rc;
}
