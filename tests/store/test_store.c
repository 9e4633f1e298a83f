/*
 * test_store.c - cmocka tests for libfsstore (store/fs_store.h).
 *
 * Every test opens its own in-memory SQLite database, so tests are
 * independent and need no files. Rows are built from the static schema so
 * that a field added to fs_schema.c is covered without touching this file;
 * the export golden test is the exception on purpose: its expected bytes are
 * the contract client and server are compared with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs_store.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static sqlite3 *db_open(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    return db;
}

static void db_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("SQL failed: %s\n  %s\n", msg ? msg : "?", sql);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Readable ids for golden output: 01000000-0000-0000-0000-0000000000nn. */
static fs_id id_n(unsigned n)
{
    fs_id id = {{0}};
    id.b[0] = 0x01;
    id.b[14] = (uint8_t)(n >> 8);
    id.b[15] = (uint8_t)n;
    return id;
}

static fs_id dev_n(unsigned n)
{
    fs_id id = {{0}};
    id.b[0] = 0xde;
    id.b[15] = (uint8_t)n;
    return id;
}

static const fs_entity *entity(const char *name)
{
    const fs_entity *e = fs_schema_entity(name);
    assert_non_null(e);
    return e;
}

static int slot(const fs_entity *e, const char *name)
{
    int i = fs_entity_field_index(e, name);
    assert_true(i >= 0);
    return i;
}

/* A string literal and its length (which may include embedded NULs). */
#define LIT(s) (s), (sizeof(s) - 1)

static void set_text(fs_row *r, const char *field, const char *s, size_t n,
                     fs_hlc hlc, unsigned dev)
{
    fs_cell *c = &r->cells[slot(r->entity, field)];
    fs_value_clear(&c->v);
    assert_int_equal(fs_value_text(&c->v, s, n, NULL), FS_OK);
    c->hlc = hlc;
    c->device = dev_n(dev);
}

static void set_val(fs_row *r, const char *field, fs_value v, fs_hlc hlc,
                    unsigned dev)
{
    fs_cell *c = &r->cells[slot(r->entity, field)];
    fs_value_clear(&c->v);
    c->v = v;
    c->hlc = hlc;
    c->device = dev_n(dev);
}

/* A value for every field type; `k` varies it. */
static void fill_all(fs_row *r, unsigned k)
{
    const fs_entity *e = r->entity;
    static const char *const texts[] = {
        "plain", "with \"quotes\" and \\backslash\\", "two\nlines\r\tand tab",
        "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x98\x80", ""};

    for (size_t j = 0; j < e->nfields; j++) {
        const fs_field *f = &e->fields[j];
        fs_cell *c = &r->cells[j];
        fs_value_clear(&c->v);
        c->hlc = fs_hlc_make(1700000000000 + j, (uint16_t)k);
        c->device = dev_n(1 + (unsigned)(j % 3)); /* several devices per row */
        switch (f->type) {
        case FS_TYPE_TEXT: {
            const char *t = texts[(j + k) % 5];
            assert_int_equal(fs_value_text(&c->v, t, strlen(t), NULL), FS_OK);
            break;
        }
        case FS_TYPE_ENUM:
            assert_int_equal(fs_value_text(&c->v, f->enum_values[k % 2],
                                           strlen(f->enum_values[k % 2]), NULL),
                             FS_OK);
            break;
        case FS_TYPE_CURRENCY:
            assert_int_equal(fs_value_text(&c->v, "EUR", 3, NULL), FS_OK);
            break;
        case FS_TYPE_INT:
        case FS_TYPE_MONEY:
            c->v = fs_value_int((int64_t)(k * 1000 + j) - 7);
            break;
        case FS_TYPE_TIME:
            c->v = fs_value_int(INT64_C(1700000000123) + k);
            break;
        case FS_TYPE_BOOL:
            c->v = fs_value_int(k & 1);
            break;
        case FS_TYPE_REAL:
            c->v = fs_value_real(k == 0 ? 0.1 : 48.137154 + k / 3.0);
            break;
        case FS_TYPE_ID: {
            fs_id ref = id_n(0x200 + k);
            c->v = fs_value_idv(&ref);
            break;
        }
        }
    }
}

static fs_store *store_open(sqlite3 *db, const char *prefix)
{
    fs_store *s = NULL;
    fs_error err = {0};
    fs_store_status st = fs_store_open(db, prefix, &s, &err);
    if (st != FS_STORE_OK)
        print_error("fs_store_open: %s\n", err.text);
    assert_int_equal(st, FS_STORE_OK);
    assert_non_null(s);
    return s;
}

static void save(fs_store *s, const fs_row *r, int64_t seq, const fs_id *root)
{
    fs_error err = {0};
    fs_store_status st = fs_store_save(s, r, seq, root, &err);
    if (st != FS_STORE_OK)
        print_error("fs_store_save: %s\n", err.text);
    assert_int_equal(st, FS_STORE_OK);
}

static void load_expect(fs_store *s, const fs_row *want, int64_t seq)
{
    fs_row got = {0};
    fs_store_rowinfo info;
    bool found = false;
    fs_error err = {0};
    fs_store_status st =
        fs_store_load(s, want->entity, &want->id, &got, &info, &found, &err);
    if (st != FS_STORE_OK)
        print_error("fs_store_load: %s\n", err.text);
    assert_int_equal(st, FS_STORE_OK);
    assert_true(found);
    assert_true(fs_row_eq(&got, want));
    assert_int_equal(info.seq, seq);
    fs_row_free(&got);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */
/* ------------------------------------------------------------------------ */

static void test_roundtrip_every_entity(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    size_t ne = 0;
    const fs_entity *const *es = fs_schema_entities(&ne);
    (void)state;

    for (size_t i = 0; i < ne; i++) {
        for (unsigned k = 0; k < 3; k++) {
            fs_row r = {0};
            fs_id id = id_n((unsigned)(i * 16 + k));
            assert_int_equal(fs_row_init(&r, es[i], &id, NULL), FS_OK);
            if (k == 0) {
                fill_all(&r, 0);
            } else if (k == 1) {
                /* Some cells never written, one written as NULL. */
                fill_all(&r, 1);
                fs_value_clear(&r.cells[0].v);
                r.cells[0].hlc = 0;
                r.cells[0].device = (fs_id){{0}};
                fs_value_clear(&r.cells[es[i]->nfields - 1].v);
            } else {
                /* A tombstone over an otherwise empty row. */
                r.deleted = true;
                r.del_hlc = fs_hlc_make(1700000000999, 3);
                r.del_device = dev_n(9);
            }
            save(s, &r, (int64_t)(i * 10 + k), NULL);
            load_expect(s, &r, (int64_t)(i * 10 + k));
            /* Saving again (the upsert path) with a changed row. */
            if (k == 0) {
                fill_all(&r, 2);
                r.deleted = true;
                r.del_hlc = 77;
                r.del_device = dev_n(4);
                save(s, &r, 1000, NULL);
                load_expect(s, &r, 1000);
            }
            fs_row_free(&r);
        }
    }
    fs_store_close(s);
    sqlite3_close(db);
}

static void test_roundtrip_text_and_reals(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, "");
    const fs_entity *cust = entity("customer");
    static const double reals[] = {0.1, 1.0 / 3.0, -45.5, 1e-300, 1.7976931348623157e308,
                                   89.99999999999999, 5e-324, 1.0};
    static const char nul_text[] = "a\0b";
    (void)state;

    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++) {
        fs_row r = {0};
        fs_id id = id_n(0x300 + (unsigned)k);
        assert_int_equal(fs_row_init(&r, cust, &id, NULL), FS_OK);
        set_val(&r, "lat", fs_value_real(reals[k]), 5, 1);
        set_val(&r, "lon", fs_value_real(-reals[k]), 6, 1);
        set_text(&r, "name", LIT("O'Brien \"&\" Sons\n\ttab \xe6\x97\xa5\xe6\x9c\xac"), 7, 2);
        set_text(&r, "address", LIT(nul_text), 8, 2); /* embedded NUL survives */
        save(s, &r, 1, &id);
        load_expect(s, &r, 1);
        fs_row_free(&r);
    }

    /* SQLite does not keep the sign of a zero: -0.0 reads back as 0.0 (on
     * client and server alike, and the export prints both as 0). */
    {
        fs_row r = {0}, got = {0};
        fs_id id = id_n(0x3ff);
        bool found = false;
        assert_int_equal(fs_row_init(&r, cust, &id, NULL), FS_OK);
        set_val(&r, "lat", fs_value_real(-0.0), 5, 1);
        save(s, &r, 1, &id);
        assert_int_equal(fs_store_load(s, cust, &id, &got, NULL, &found, NULL),
                         FS_STORE_OK);
        assert_true(found);
        assert_int_equal(got.cells[slot(cust, "lat")].v.kind, FS_VAL_REAL);
        assert_true(got.cells[slot(cust, "lat")].v.u.r == 0.0);
        fs_row_free(&r);
        fs_row_free(&got);
    }
    fs_store_close(s);
    sqlite3_close(db);
}

static void test_load_missing_gives_fresh_row(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    const fs_entity *cust = entity("customer"), *ct = entity("contact");
    fs_row r = {0};
    fs_store_rowinfo info = {.seq = 99};
    bool found = true;
    fs_id id = id_n(5);
    (void)state;

    /* Reuse of a row of another entity must re-initialise it. */
    assert_int_equal(fs_row_init(&r, ct, &id, NULL), FS_OK);
    fill_all(&r, 0);
    assert_int_equal(fs_store_load(s, cust, &id, &r, &info, &found, NULL),
                     FS_STORE_OK);
    assert_false(found);
    assert_ptr_equal(r.entity, cust);
    assert_false(fs_row_exists(&r));
    assert_int_equal(info.seq, 0);
    fs_row_free(&r);
    fs_store_close(s);
    sqlite3_close(db);
}

static void test_prefix_independent(void **state)
{
    sqlite3 *db = db_open();
    fs_store *a = store_open(db, NULL), *b = store_open(db, "base_");
    const fs_entity *cust = entity("customer");
    fs_row r = {0}, got = {0};
    fs_id id = id_n(1);
    bool found = true;
    (void)state;

    assert_string_equal(fs_store_table(a, cust), "customer");
    assert_string_equal(fs_store_table(b, cust), "base_customer");
    assert_int_equal(fs_row_init(&r, cust, &id, NULL), FS_OK);
    set_text(&r, "name", LIT("Acme"), 10, 1);
    save(a, &r, 1, &id);
    assert_int_equal(fs_store_load(b, cust, &id, &got, NULL, &found, NULL), FS_STORE_OK);
    assert_false(found);
    set_text(&r, "name", LIT("Acme Base"), 11, 1);
    save(b, &r, 2, &id);
    assert_int_equal(fs_store_load(a, cust, &id, &got, NULL, &found, NULL), FS_STORE_OK);
    assert_true(found);
    assert_string_equal(got.cells[0].v.u.text.p, "Acme");
    load_expect(b, &r, 2);
    assert_int_equal(db_int(db, "SELECT count(*) FROM base_fs_store_meta"), 2);
    fs_row_free(&r);
    fs_row_free(&got);
    fs_store_close(a);
    fs_store_close(b);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------------ */
/* Migration                                                                 */
/* ------------------------------------------------------------------------ */

static void test_migration_adds_columns_keeps_rows(void **state)
{
    sqlite3 *db = db_open();
    const fs_entity *cust = entity("customer");
    fs_store *s = NULL;
    fs_row want = {0};
    fs_id id = id_n(7);
    fs_error err = {0};
    (void)state;

    /* An older store: customer had only `name` and `phone`, and no meta
     * table existed yet. The meta blob stamps tag 1 (name) by device de..01
     * at hlc 0x1234 and tag 5 (phone) at 0x99 by the same device. */
    db_exec(db, "CREATE TABLE customer(id BLOB PRIMARY KEY NOT NULL, seq INTEGER NOT NULL "
                "DEFAULT 0, root BLOB, deleted INTEGER NOT NULL DEFAULT 0, del_hlc INTEGER "
                "NOT NULL DEFAULT 0, del_dev BLOB, meta BLOB, name TEXT, phone TEXT)");
    db_exec(db, "INSERT INTO customer(id, seq, root, meta, name, phone) VALUES("
                "x'01000000000000000000000000000007', 42, "
                "x'01000000000000000000000000000007', "
                "x'0101" "de000000000000000000000000000001"
                "0100" "00" "3412000000000000"
                "0500" "00" "9900000000000000', "
                "'Old Customer', '+49 30 1')");
    /* An older contact table even lacks a bookkeeping column. */
    db_exec(db, "CREATE TABLE contact(id BLOB PRIMARY KEY NOT NULL, seq INTEGER, "
                "root BLOB, deleted INTEGER, del_hlc INTEGER, del_dev BLOB, name TEXT)");

    s = store_open(db, NULL);
    assert_int_equal(fs_row_init(&want, cust, &id, NULL), FS_OK);
    set_text(&want, "name", LIT("Old Customer"), 0x1234, 1);
    set_text(&want, "phone", LIT("+49 30 1"), 0x99, 1);
    load_expect(s, &want, 42);

    /* The new columns exist and take writes. */
    assert_int_equal(db_int(db, "SELECT count(*) FROM pragma_table_info('customer')"),
                     7 + (int64_t)cust->nfields);
    assert_int_equal(db_int(db, "SELECT count(*) FROM pragma_table_info('contact') "
                                "WHERE name IN ('meta','email','customer_id')"), 3);
    set_val(&want, "lat", fs_value_real(52.5), 0x2000, 2);
    save(s, &want, 43, &id);
    load_expect(s, &want, 43);
    assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master WHERE type='index' "
                                "AND name IN ('customer_seq','customer_root')"), 2);
    fs_store_close(s);

    /* Reopening takes the fast path (fingerprint matches) and still works. */
    s = store_open(db, NULL);
    load_expect(s, &want, 43);
    fs_store_close(s);

    /* A store written by a newer format is refused, not misread. */
    db_exec(db, "UPDATE fs_store_meta SET value = 999 WHERE key = 'format'");
    s = (fs_store *)&err; /* must be reset to NULL on failure */
    assert_int_equal(fs_store_open(db, NULL, &s, &err), FS_STORE_ESCHEMA);
    assert_null(s);
    assert_int_equal(err.code, FS_STORE_ESCHEMA);
    assert_non_null(strstr(err.text, "999"));

    fs_row_free(&want);
    sqlite3_close(db);
}

static void test_open_inside_caller_transaction(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = NULL;
    (void)state;

    db_exec(db, "BEGIN");
    s = store_open(db, "tx_");
    db_exec(db, "ROLLBACK");
    fs_store_close(s);
    /* The caller's rollback undid the tables: the store does not commit. */
    assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'tx_%'"),
                     0);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------------ */
/* Roots                                                                     */
/* ------------------------------------------------------------------------ */

static void expect_root(fs_store *s, const fs_row *r, bool has, const fs_id *want)
{
    fs_id root = {{0}};
    bool has_root = !has;
    fs_error err = {0};
    fs_store_status st = fs_store_root(s, r, &root, &has_root, &err);
    if (st != FS_STORE_OK)
        print_error("fs_store_root: %s\n", err.text);
    assert_int_equal(st, FS_STORE_OK);
    assert_int_equal(has_root, has);
    if (has)
        assert_memory_equal(root.b, want->b, 16);
}

static void test_root_chains(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    fs_id cid = id_n(1), qid = id_n(2), lid = id_n(3), other = id_n(4);
    fs_row cust = {0}, quote = {0}, line = {0}, r = {0};
    fs_id root;
    bool has = false;
    fs_error err = {0};
    static const char *const children[] = {"contact", "visit", "quote", "contract",
                                           "task", "purchase"};
    (void)state;

    assert_int_equal(fs_row_init(&cust, entity("customer"), &cid, NULL), FS_OK);
    expect_root(s, &cust, true, &cid);

    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++) {
        assert_int_equal(fs_row_init(&r, entity(children[i]), &other, NULL), FS_OK);
        expect_root(s, &r, false, NULL); /* parent unset */
        set_val(&r, "customer_id", fs_value_idv(&cid), 1, 1);
        expect_root(s, &r, true, &cid);
        fs_row_free(&r);
    }
    assert_int_equal(fs_row_init(&r, entity("product"), &other, NULL), FS_OK);
    set_text(&r, "sku", LIT("SKU-1"), 1, 1);
    expect_root(s, &r, false, NULL); /* reference data */
    fs_row_free(&r);

    /* quote_line -> quote -> customer goes through the stored quote. */
    assert_int_equal(fs_row_init(&line, entity("quote_line"), &lid, NULL), FS_OK);
    set_val(&line, "quote_id", fs_value_idv(&qid), 1, 1);
    assert_int_equal(fs_store_root(s, &line, &root, &has, &err), FS_STORE_ENOPARENT);
    assert_int_equal(err.code, FS_STORE_ENOPARENT);
    assert_non_null(strstr(err.text, "quote"));
    assert_int_equal(fs_row_init(&quote, entity("quote"), &qid, NULL), FS_OK);
    set_val(&quote, "customer_id", fs_value_idv(&cid), 1, 1);
    expect_root(s, &quote, true, &cid);
    save(s, &quote, 1, &cid);
    expect_root(s, &line, true, &cid);

    fs_row_free(&cust);
    fs_row_free(&quote);
    fs_row_free(&line);
    fs_store_close(s);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------------ */
/* Delete and iteration                                                      */
/* ------------------------------------------------------------------------ */

typedef struct seen_rows {
    int64_t seqs[64];
    size_t n;
    size_t stop_after; /* 0 = never stop */
} seen_rows;

static bool collect(const fs_row *row, const fs_store_rowinfo *info, void *payload)
{
    seen_rows *sr = payload;
    assert_non_null(row->cells);
    if (sr->n < 64)
        sr->seqs[sr->n++] = info->seq;
    return !(sr->stop_after && sr->n >= sr->stop_after);
}

static void test_since_paging(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    const fs_entity *task = entity("task");
    fs_id cid = id_n(0x100);
    int64_t count = -1;
    seen_rows sr = {0};
    (void)state;

    /* Ten rows saved in an order unrelated to their seq. */
    for (unsigned i = 0; i < 10; i++) {
        fs_row r = {0};
        fs_id id = id_n(i);
        unsigned seq = (i * 7) % 10 + 1;
        assert_int_equal(fs_row_init(&r, task, &id, NULL), FS_OK);
        set_val(&r, "customer_id", fs_value_idv(&cid), 1, 1);
        if (seq == 5) {
            r.deleted = true; /* deletes travel in pulls */
            r.del_hlc = 9;
        }
        save(s, &r, seq, &cid);
        fs_row_free(&r);
    }
    assert_int_equal(fs_store_since(s, task, 3, 4, collect, &sr, &count, NULL),
                     FS_STORE_OK);
    assert_int_equal(count, 4);
    assert_int_equal(sr.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sr.seqs[i], 4 + (int64_t)i);

    memset(&sr, 0, sizeof sr);
    assert_int_equal(fs_store_since(s, task, 0, 0, collect, &sr, &count, NULL),
                     FS_STORE_OK);
    assert_int_equal(count, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(sr.seqs[i], 1 + (int64_t)i);

    memset(&sr, 0, sizeof sr);
    sr.stop_after = 2;
    assert_int_equal(fs_store_since(s, task, 0, 0, collect, &sr, &count, NULL),
                     FS_STORE_OK);
    assert_int_equal(count, 2);

    memset(&sr, 0, sizeof sr);
    assert_int_equal(fs_store_since(s, task, 10, 5, collect, &sr, &count, NULL),
                     FS_STORE_OK);
    assert_int_equal(count, 0);
    fs_store_close(s);
    sqlite3_close(db);
}

/* Paging and export must read rows in index order: a sort would need memory
 * (or temp space) proportional to the table, which bootstrap forbids. */
static bool plan_sorts(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char q[4096];
    bool sorts = false;

    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (strstr((const char *)sqlite3_column_text(st, 3), "TEMP B-TREE"))
            sorts = true;
    sqlite3_finalize(st);
    return sorts;
}

static void test_query_plans_do_not_sort(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    const fs_entity *v = entity("visit");
    char sql[4096];
    (void)state;

    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE seq > 5 ORDER BY seq, id LIMIT 10",
             fs_store_columns(s, v), fs_store_table(s, v));
    assert_false(plan_sorts(db, sql));
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE deleted = 0 ORDER BY id",
             fs_store_columns(s, v), fs_store_table(s, v));
    assert_false(plan_sorts(db, sql));
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE root = x'00' AND seq > 5 ORDER BY seq",
             fs_store_columns(s, v), fs_store_table(s, v));
    assert_false(plan_sorts(db, sql));
    fs_store_close(s);
    sqlite3_close(db);
}

static void test_delete_and_delete_root(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    fs_id c1 = id_n(1), c2 = id_n(2), v1 = id_n(3), v2 = id_n(4);
    fs_row r = {0};
    bool removed = false;
    int64_t n = -1;
    (void)state;

    assert_int_equal(fs_row_init(&r, entity("customer"), &c1, NULL), FS_OK);
    save(s, &r, 1, &c1);
    r.id = c2;
    save(s, &r, 2, &c2);
    fs_row_free(&r);
    assert_int_equal(fs_row_init(&r, entity("visit"), &v1, NULL), FS_OK);
    set_val(&r, "customer_id", fs_value_idv(&c1), 1, 1);
    save(s, &r, 3, &c1);
    r.id = v2;
    save(s, &r, 4, &c1);
    fs_row_free(&r);

    assert_int_equal(fs_store_delete(s, entity("customer"), &c2, &removed, NULL),
                     FS_STORE_OK);
    assert_true(removed);
    assert_int_equal(fs_store_delete(s, entity("customer"), &c2, &removed, NULL),
                     FS_STORE_OK);
    assert_false(removed);
    assert_int_equal(fs_store_delete_root(s, &c1, &n, NULL), FS_STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(db_int(db, "SELECT (SELECT count(*) FROM customer) + "
                                "(SELECT count(*) FROM visit)"), 0);
    fs_store_close(s);
    sqlite3_close(db);
}

/* A quote_line saved before its quote (pulled a page earlier) gets its root
 * once the quote is stored, and then leaves with the customer's subtree. */
static void test_fix_roots(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    fs_id cid = id_n(1), qid = id_n(2), lid = id_n(3), orphan = id_n(4), gone = id_n(5);
    fs_row quote = {0}, line = {0};
    int64_t n = -1;
    (void)state;

    assert_int_equal(fs_row_init(&line, entity("quote_line"), &lid, NULL), FS_OK);
    set_val(&line, "quote_id", fs_value_idv(&qid), 1, 1);
    save(s, &line, 1, NULL);
    line.id = orphan; /* its quote never comes */
    fs_value_clear(&line.cells[0].v);
    line.cells[0].v = fs_value_idv(&gone);
    save(s, &line, 2, NULL);
    assert_int_equal(fs_store_fix_roots(s, &n, NULL), FS_STORE_OK);
    assert_int_equal(db_int(db, "SELECT count(*) FROM quote_line WHERE root IS NULL"), 2);
    assert_int_equal(fs_row_init(&quote, entity("quote"), &qid, NULL), FS_OK);
    set_val(&quote, "customer_id", fs_value_idv(&cid), 1, 1);
    save(s, &quote, 3, &cid);
    assert_int_equal(fs_store_fix_roots(s, &n, NULL), FS_STORE_OK);
    assert_int_equal(db_int(db, "SELECT count(*) FROM quote_line WHERE root IS NULL"), 1);
    assert_int_equal(fs_store_delete_root(s, &cid, &n, NULL), FS_STORE_OK);
    assert_int_equal(n, 2); /* the quote and the fixed line */
    assert_int_equal(fs_store_fix_roots(NULL, NULL, NULL), FS_STORE_EINVAL);
    fs_row_free(&quote);
    fs_row_free(&line);
    fs_store_close(s);
    sqlite3_close(db);
}

static bool keep_id(const fs_entity *e, const fs_id *id, void *payload)
{
    (void)e;
    return fs_id_cmp(id, payload) == 0;
}

/* Rows whose parent never came go; rooted rows and the ones keep spares
 * stay. */
static void test_drop_orphans(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    fs_id cid = id_n(1), qid = id_n(2), rooted = id_n(3), spared = id_n(4), lost = id_n(5),
          gone = id_n(6);
    fs_row quote = {0}, line = {0};
    int64_t n = -1;
    (void)state;

    assert_int_equal(fs_row_init(&quote, entity("quote"), &qid, NULL), FS_OK);
    set_val(&quote, "customer_id", fs_value_idv(&cid), 1, 1);
    save(s, &quote, 1, &cid);
    assert_int_equal(fs_row_init(&line, entity("quote_line"), &rooted, NULL), FS_OK);
    set_val(&line, "quote_id", fs_value_idv(&qid), 1, 1);
    save(s, &line, 2, NULL);
    line.id = spared;
    fs_value_clear(&line.cells[0].v);
    line.cells[0].v = fs_value_idv(&gone);
    save(s, &line, 3, NULL);
    line.id = lost;
    save(s, &line, 4, NULL);
    assert_int_equal(fs_store_fix_roots(s, NULL, NULL), FS_STORE_OK);
    assert_int_equal(fs_store_drop_orphans(s, keep_id, &spared, &n, NULL), FS_STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(db_int(db, "SELECT count(*) FROM quote_line"), 2);
    assert_int_equal(db_int(db, "SELECT count(*) FROM quote"), 1);
    assert_int_equal(fs_store_drop_orphans(s, NULL, NULL, &n, NULL), FS_STORE_OK);
    assert_int_equal(n, 1); /* without keep, the spared one goes too */
    assert_int_equal(db_int(db, "SELECT count(*) FROM quote_line WHERE root IS NULL"), 0);
    assert_int_equal(fs_store_drop_orphans(NULL, NULL, NULL, NULL, NULL), FS_STORE_EINVAL);
    fs_row_free(&quote);
    fs_row_free(&line);
    fs_store_close(s);
    sqlite3_close(db);
}

static void test_decode_custom_query(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    const fs_entity *ct = entity("contact");
    fs_id c1 = id_n(1), c2 = id_n(2);
    sqlite3_stmt *st = NULL;
    char sql[2048];
    fs_row saved[4] = {{0}}, got = {0};
    fs_store_rowinfo info;
    int rows = 0;
    (void)state;

    assert_int_equal(fs_store_ncolumns(ct), 7 + (int)ct->nfields);
    for (unsigned i = 0; i < 4; i++) {
        fs_id id = id_n(0x10 + i);
        const fs_id *root = i % 2 ? &c2 : &c1;
        assert_int_equal(fs_row_init(&saved[i], ct, &id, NULL), FS_OK);
        fill_all(&saved[i], i);
        set_val(&saved[i], "customer_id", fs_value_idv(root), 1, 1);
        save(s, &saved[i], 10 + i, root);
    }
    /* The server's kind of query: its own WHERE, an extra leading column. */
    snprintf(sql, sizeof sql, "SELECT 1, %s FROM %s WHERE seq > ?1 AND root = ?2 ORDER BY seq",
             fs_store_columns(s, ct), fs_store_table(s, ct));
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, 10);
    sqlite3_bind_blob(st, 2, c2.b, 16, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_int_equal(fs_store_decode(s, ct, st, 1, &got, &info, NULL), FS_STORE_OK);
        assert_memory_equal(info.root.b, c2.b, 16);
        assert_true(info.has_root);
        /* Compared with the row that was saved, not with fs_store_load,
         * which goes through the same decoder. Rows 1 and 3 match. */
        assert_true(rows < 2);
        assert_int_equal(info.seq, 11 + 2 * rows);
        assert_true(fs_row_eq(&got, &saved[1 + 2 * rows]));
        rows++;
    }
    assert_int_equal(rows, 2);
    /* Wrong starting column: too few columns left. */
    sqlite3_reset(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(fs_store_decode(s, ct, st, 2, &got, NULL, NULL), FS_STORE_EINVAL);
    sqlite3_finalize(st);
    fs_row_free(&got);
    for (unsigned i = 0; i < 4; i++)
        fs_row_free(&saved[i]);
    fs_store_close(s);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------------ */
/* Export                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct sink {
    char *p;
    size_t n;
    int fail_after; /* fail the Nth call (1-based), 0 = never */
    int calls;
} sink;

static int sink_write(const char *buf, size_t n, void *payload)
{
    sink *k = payload;
    char *p;
    if (k->fail_after && ++k->calls >= k->fail_after)
        return -1;
    p = realloc(k->p, k->n + n + 1);
    assert_non_null(p);
    memcpy(p + k->n, buf, n);
    k->p = p;
    k->n += n;
    k->p[k->n] = '\0';
    return 0;
}

/* Builds the golden data set: two customers, a contact, a tombstoned
 * contact, a visit, a product. Saved in an order unlike id order. */
static void golden_rows(fs_store *s)
{
    fs_id c1 = id_n(0x11), c2 = id_n(0x0a), k1 = id_n(0x21), k2 = id_n(0x20);
    fs_id v1 = id_n(0x31), p1 = id_n(0x41);
    fs_row r = {0};

    assert_int_equal(fs_row_init(&r, entity("customer"), &c1, NULL), FS_OK);
    set_text(&r, "name", LIT("Zeta \"Z\" GmbH"), 1, 1);
    set_text(&r, "address", LIT("L1\nL2\t\x01 \xc3\xa4 \xff"), 1, 1);
    set_val(&r, "lat", fs_value_real(52.52), 1, 1);
    set_val(&r, "lon", fs_value_real(0.1 + 0.2), 1, 1);
    set_text(&r, "owner_rep", LIT("rep-1"), 1, 1);
    save(s, &r, 1, &c1);
    fs_row_free(&r);

    assert_int_equal(fs_row_init(&r, entity("customer"), &c2, NULL), FS_OK);
    set_text(&r, "name", LIT("Alpha"), 1, 2);
    set_val(&r, "lat", fs_value_real(-3.0), 1, 1);
    set_val(&r, "lon", fs_value_real(1e-7), 1, 1);
    set_text(&r, "owner_rep", LIT("rep-2"), 1, 1);
    save(s, &r, 2, &c2);
    fs_row_free(&r);

    assert_int_equal(fs_row_init(&r, entity("contact"), &k1, NULL), FS_OK);
    set_val(&r, "customer_id", fs_value_idv(&c1), 1, 1);
    set_text(&r, "name", LIT("Bob"), 1, 1);
    save(s, &r, 3, &c1);
    r.id = k2;
    r.deleted = true;
    r.del_hlc = 5;
    save(s, &r, 4, &c1);
    fs_row_free(&r);

    assert_int_equal(fs_row_init(&r, entity("visit"), &v1, NULL), FS_OK);
    set_val(&r, "customer_id", fs_value_idv(&c2), 1, 1);
    set_val(&r, "checkin_at", fs_value_int(INT64_C(1730000000123)), 1, 1);
    set_val(&r, "checkin_accuracy", fs_value_real(12.0), 1, 1);
    set_text(&r, "status", LIT("completed"), 1, 1);
    save(s, &r, 5, &c2);
    fs_row_free(&r);

    assert_int_equal(fs_row_init(&r, entity("product"), &p1, NULL), FS_OK);
    set_text(&r, "sku", LIT("SKU-1"), 1, 1);
    set_val(&r, "price", fs_value_int(1999), 1, 1);
    set_text(&r, "currency", LIT("EUR"), 1, 1);
    save(s, &r, 6, NULL);
    fs_row_free(&r);
}

static const char golden[] =
    "{\"customer\":[\n"
    "{\"id\":\"01000000-0000-0000-0000-00000000000a\",\"name\":\"Alpha\",\"address\":null,"
    "\"lat\":-3,\"lon\":1e-07,\"phone\":null,\"tags\":null,\"segment\":null,"
    "\"territory\":null,\"owner_rep\":\"rep-2\",\"tax_id\":null,\"grade\":null,\"core\":null,"
    "\"rfm\":null,\"risk\":null,\"risk_reason\":null,\"claimed_by\":null,\"lost_reason\":null,\"lost_at\":null},\n"
    "{\"id\":\"01000000-0000-0000-0000-000000000011\",\"name\":\"Zeta \\\"Z\\\" GmbH\","
    "\"address\":\"L1\\u000aL2\\u0009\\u0001 \xc3\xa4 \\ufffd\",\"lat\":52.52,"
    "\"lon\":0.30000000000000004,\"phone\":null,\"tags\":null,\"segment\":null,"
    "\"territory\":null,\"owner_rep\":\"rep-1\",\"tax_id\":null,\"grade\":null,\"core\":null,"
    "\"rfm\":null,\"risk\":null,\"risk_reason\":null,\"claimed_by\":null,\"lost_reason\":null,\"lost_at\":null}],\n"
    "\"contact\":[\n"
    "{\"id\":\"01000000-0000-0000-0000-000000000021\","
    "\"customer_id\":\"01000000-0000-0000-0000-000000000011\",\"name\":\"Bob\","
    "\"title\":null,\"phone\":null,\"email\":null,\"created_by\":null}],\n"
    "\"visit\":[\n"
    "{\"id\":\"01000000-0000-0000-0000-000000000031\","
    "\"customer_id\":\"01000000-0000-0000-0000-00000000000a\",\"rep_id\":null,"
    "\"planned_at\":null,\"checkin_at\":1730000000123,\"checkin_lat\":null,"
    "\"checkin_lon\":null,\"checkin_accuracy\":12,\"checkout_at\":null,"
    "\"checkout_lat\":null,\"checkout_lon\":null,\"status\":\"completed\","
    "\"outcome\":null,\"notes\":null,\"next_step\":null,\"verification\":null,"
    "\"time_check\":null,\"planned_by\":null}],\n"
    "\"quote\":[],\n"
    "\"quote_line\":[],\n"
    "\"contract\":[],\n"
    "\"task\":[],\n"
    "\"product\":[\n"
    "{\"id\":\"01000000-0000-0000-0000-000000000041\",\"sku\":\"SKU-1\",\"name\":null,"
    "\"price\":1999,\"currency\":\"EUR\"}],\n"
    "\"purchase\":[],\n\"ticket\":[]}\n";

static void test_export_golden(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    sink k = {0};
    FILE *f;
    char fbuf[8192];
    size_t fn;
    (void)state;

    golden_rows(s);
    assert_int_equal(fs_store_export(s, NULL, NULL, sink_write, &k, NULL), FS_STORE_OK);
    if (strcmp(k.p, golden) != 0)
        print_error("export was:\n%s\n", k.p);
    assert_string_equal(k.p, golden);

    /* The FILE* form writes the same bytes. */
    f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fs_store_export_file(s, NULL, NULL, f, NULL), FS_STORE_OK);
    rewind(f);
    fn = fread(fbuf, 1, sizeof fbuf - 1, f);
    fbuf[fn] = '\0';
    fclose(f);
    assert_string_equal(fbuf, golden);

    free(k.p);
    fs_store_close(s);
    sqlite3_close(db);
}

static void test_export_empty(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, "base_");
    sink k = {0};
    (void)state;

    assert_int_equal(fs_store_export(s, NULL, NULL, sink_write, &k, NULL), FS_STORE_OK);
    assert_string_equal(k.p, "{\"customer\":[],\n\"contact\":[],\n\"visit\":[],\n"
                             "\"quote\":[],\n\"quote_line\":[],\n\"contract\":[],\n"
                             "\"task\":[],\n\"product\":[],\n\"purchase\":[],\n\"ticket\":[]}\n");
    free(k.p);
    fs_store_close(s);
    sqlite3_close(db);
}

/* One rep's scope: rows under customer ...0a, plus reference data. */
static bool scope_filter(const fs_entity *e, const fs_row *row, const fs_id *root,
                         void *payload)
{
    const fs_id *mine = payload;
    (void)row;
    if (!root)
        return (e->flags & FS_ENTITY_READONLY) != 0;
    return memcmp(root->b, mine->b, 16) == 0;
}

static void test_export_filter(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    fs_id mine = id_n(0x0a);
    sink k = {0};
    (void)state;

    golden_rows(s);
    assert_int_equal(fs_store_export(s, scope_filter, &mine, sink_write, &k, NULL),
                     FS_STORE_OK);
    assert_non_null(strstr(k.p, "\"Alpha\""));
    assert_null(strstr(k.p, "Zeta"));
    assert_null(strstr(k.p, "Bob"));
    assert_non_null(strstr(k.p, "\"contact\":[],\n"));
    assert_non_null(strstr(k.p, "\"checkin_at\":1730000000123"));
    assert_non_null(strstr(k.p, "SKU-1"));
    free(k.p);
    fs_store_close(s);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------------ */
/* Bad input                                                                 */
/* ------------------------------------------------------------------------ */

static void test_bad_arguments(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = NULL;
    const fs_entity *cust = entity("customer");
    fs_entity fake = *cust; /* same shape, but not the schema's entity */
    fs_row r = {0}, fr = {0};
    fs_id id = id_n(1), root;
    bool found, has;
    fs_error err = {0};
    (void)state;

    assert_int_equal(fs_store_open(NULL, NULL, &s, &err), FS_STORE_EINVAL);
    assert_int_equal(fs_store_open(db, NULL, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_open(db, "Bad-Prefix", &s, &err), FS_STORE_EINVAL);
    assert_int_equal(fs_store_open(db, "x\"; DROP TABLE t; --", &s, &err), FS_STORE_EINVAL);
    assert_int_equal(fs_store_open(db, "1abc", &s, &err), FS_STORE_EINVAL);
    assert_null(s);
    assert_int_equal(err.code, FS_STORE_EINVAL);
    s = store_open(db, NULL);

    assert_int_equal(fs_row_init(&r, cust, &id, NULL), FS_OK);
    assert_int_equal(fs_row_init(&fr, &fake, &id, NULL), FS_OK);

    assert_int_equal(fs_store_load(s, &fake, &id, &r, NULL, &found, &err),
                     FS_STORE_EUNKNOWN_ENTITY);
    assert_int_equal(err.code, FS_STORE_EUNKNOWN_ENTITY);
    assert_int_equal(fs_store_save(s, &fr, 1, NULL, &err), FS_STORE_EUNKNOWN_ENTITY);
    assert_int_equal(fs_store_root(s, &fr, &root, &has, &err), FS_STORE_EUNKNOWN_ENTITY);
    assert_int_equal(fs_store_delete(s, &fake, &id, NULL, &err), FS_STORE_EUNKNOWN_ENTITY);
    assert_int_equal(fs_store_since(s, &fake, 0, 0, collect, NULL, NULL, &err),
                     FS_STORE_EUNKNOWN_ENTITY);
    assert_null(fs_store_table(s, &fake));
    assert_null(fs_store_columns(s, &fake));
    assert_null(fs_store_columns(NULL, cust));

    assert_int_equal(fs_store_load(NULL, cust, &id, &r, NULL, &found, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_load(s, NULL, &id, &r, NULL, &found, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_load(s, cust, NULL, &r, NULL, &found, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_load(s, cust, &id, NULL, NULL, &found, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_load(s, cust, &id, &r, NULL, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_save(NULL, &r, 1, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_save(s, NULL, 1, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_root(s, &r, NULL, &has, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_root(s, NULL, &root, &has, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_delete(s, cust, NULL, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_delete_root(s, NULL, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_since(s, cust, 0, 0, NULL, NULL, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_since(s, cust, 0, -1, collect, NULL, NULL, NULL),
                     FS_STORE_EINVAL);
    assert_int_equal(fs_store_decode(s, cust, NULL, 0, &r, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_export(s, NULL, NULL, NULL, NULL, NULL), FS_STORE_EINVAL);
    assert_int_equal(fs_store_export_file(s, NULL, NULL, NULL, NULL), FS_STORE_EINVAL);

    /* A value of the wrong kind for its field is refused before it is stored. */
    set_val(&r, "lat", fs_value_int(5), 1, 1);
    assert_int_equal(fs_store_save(s, &r, 1, NULL, &err), FS_STORE_EINVAL);
    assert_non_null(strstr(err.text, "lat"));

    for (int c = 0; c <= FS_STORE_EWRITE + 1; c++)
        assert_non_null(fs_store_strerror((fs_store_status)c));
    fs_store_close(NULL);

    fs_row_free(&r);
    fs_row_free(&fr);
    fs_store_close(s);
    sqlite3_close(db);
}

static void test_corrupt_rows(void **state)
{
    sqlite3 *db = db_open();
    fs_store *s = store_open(db, NULL);
    const fs_entity *cust = entity("customer");
    fs_row r = {0};
    fs_id id = id_n(1);
    bool found;
    fs_error err = {0};
    sink k = {0};
    static const char *const bad[] = {
        "UPDATE customer SET meta = x'02'",                      /* version */
        "UPDATE customer SET meta = x'01'",                      /* too short */
        "UPDATE customer SET meta = x'0101de'",                  /* truncated dict */
        "UPDATE customer SET meta = x'0100" "0100003412000000000000'", /* dev idx */
        "UPDATE customer SET meta = x'0101de000000000000000000000000000001"
        "0100003412000000000000" "0100003412000000000000'", /* dup tag */
        "UPDATE customer SET meta = x'0101de000000000000000000000000000001" "01'",
        "UPDATE customer SET meta = 'text'",
        "UPDATE customer SET lat = 'north'",
        "UPDATE customer SET name = x'00ff'",
        "UPDATE customer SET root = x'0102'",
        "UPDATE customer SET seq = 'x'",
    };
    (void)state;

    assert_int_equal(fs_row_init(&r, cust, &id, NULL), FS_OK);
    fill_all(&r, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        save(s, &r, 1, &id);
        db_exec(db, bad[i]);
        memset(&err, 0, sizeof err);
        assert_int_equal(fs_store_load(s, cust, &id, &r, NULL, &found, &err),
                         FS_STORE_ECORRUPT);
        assert_int_equal(err.code, FS_STORE_ECORRUPT);
        assert_non_null(strstr(err.text, "customer"));
        /* Export reports it too, instead of skipping the row. */
        assert_int_equal(fs_store_export(s, NULL, NULL, sink_write, &k, NULL),
                         FS_STORE_ECORRUPT);
        fill_all(&r, 0);
        r.id = id;
    }
    /* An id of the wrong length in a row someone else inserted. */
    db_exec(db, "DELETE FROM customer");
    db_exec(db, "INSERT INTO customer(id, name) VALUES(x'0102', 'short id')");
    assert_int_equal(fs_store_export(s, NULL, NULL, sink_write, &k, &err),
                     FS_STORE_ECORRUPT);
    /* A failing writer aborts the export with EWRITE. */
    db_exec(db, "DELETE FROM customer");
    k.fail_after = 1;
    assert_int_equal(fs_store_export(s, NULL, NULL, sink_write, &k, &err), FS_STORE_EWRITE);
    free(k.p);
    fs_row_free(&r);
    fs_store_close(s);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_entity),
        cmocka_unit_test(test_roundtrip_text_and_reals),
        cmocka_unit_test(test_load_missing_gives_fresh_row),
        cmocka_unit_test(test_prefix_independent),
        cmocka_unit_test(test_migration_adds_columns_keeps_rows),
        cmocka_unit_test(test_open_inside_caller_transaction),
        cmocka_unit_test(test_root_chains),
        cmocka_unit_test(test_since_paging),
        cmocka_unit_test(test_query_plans_do_not_sort),
        cmocka_unit_test(test_delete_and_delete_root),
        cmocka_unit_test(test_fix_roots),
        cmocka_unit_test(test_drop_orphans),
        cmocka_unit_test(test_decode_custom_query),
        cmocka_unit_test(test_export_golden),
        cmocka_unit_test(test_export_empty),
        cmocka_unit_test(test_export_filter),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_corrupt_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
