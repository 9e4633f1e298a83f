/*
 * bench_store.c - save/load throughput of libfsstore against raw SQLite.
 *
 * Not a test (timings are not assertions): `store_bench [rows] [file]`
 * builds N visit rows, then in one run and one database times
 *   raw INSERT      of the same values into an identically shaped table,
 *   fs_store_save   into an empty table set (the client's bootstrap),
 *   raw upsert      (INSERT ... ON CONFLICT DO UPDATE) over existing rows,
 *   fs_store_save   over existing rows (the server's merge write),
 *   fs_store_load   of every row, and the canonical export,
 * each inside one transaction, and prints rows/s and the ratio to raw. The
 * raw statements bind a meta blob of the same size, so the comparison is
 * the cost of the store's own work (encoding, decoding, checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die_sql(sqlite3 *db, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die_sql(db, sql);
}

static void check(fs_store_status st, const fs_error *err)
{
    if (st != FS_STORE_OK) {
        fprintf(stderr, "store: %s\n", err->text);
        exit(1);
    }
}

static fs_id mk_id(unsigned tag, size_t i)
{
    fs_id id = {{0}};
    uint8_t rnd[10] = {0};
    rnd[0] = (uint8_t)tag;
    for (int k = 0; k < 8; k++)
        rnd[2 + k] = (uint8_t)(i >> (8 * k));
    fs_id_from_parts(1700000000000 + i / 64, rnd, &id);
    return id;
}

static void make_rows(const fs_entity *e, fs_row *rows, size_t n, unsigned gen)
{
    fs_id dev = mk_id(0xde, 1);
    for (size_t i = 0; i < n; i++) {
        fs_id id = mk_id(1, i), cust = mk_id(2, i / 10);
        fs_row *r = &rows[i];
        char note[96];
        int len = snprintf(note, sizeof note, "visit %zu gen %u: talked about the renewal",
                           i, gen);

        if (!r->cells && fs_row_init(r, e, &id, NULL) != FS_OK)
            exit(1);
        for (size_t j = 0; j < e->nfields; j++) {
            const fs_field *f = &e->fields[j];
            fs_cell *c = &r->cells[j];
            fs_value_clear(&c->v);
            c->hlc = fs_hlc_make(1700000000000 + i + gen, (uint16_t)j);
            c->device = dev;
            switch (fs_type_kind(f->type)) {
            case FS_VAL_INT: c->v = fs_value_int((int64_t)(i * 31 + j + gen)); break;
            case FS_VAL_REAL: c->v = fs_value_real(48.1 + (double)i / 1e5); break;
            case FS_VAL_ID: c->v = fs_value_idv(&cust); break;
            case FS_VAL_TEXT:
                if (f->type == FS_TYPE_ENUM)
                    fs_value_text(&c->v, f->enum_values[0], strlen(f->enum_values[0]), NULL);
                else
                    fs_value_text(&c->v, note, (size_t)(len > 40 && f->max_len < 100 ? 40 : len),
                                  NULL);
                break;
            case FS_VAL_NULL: break;
            }
        }
    }
}

/* Binds the same values the store would, into a raw statement. */
static void raw_bind(sqlite3_stmt *st, const fs_row *r, int64_t seq, const uint8_t *meta,
                     int mlen)
{
    sqlite3_bind_blob(st, 1, r->id.b, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_blob(st, 3, r->cells[0].v.u.id.b, 16, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, 0);
    sqlite3_bind_int64(st, 5, 0);
    sqlite3_bind_null(st, 6);
    sqlite3_bind_blob(st, 7, meta, mlen, SQLITE_STATIC);
    for (size_t j = 0; j < r->entity->nfields; j++) {
        const fs_value *v = &r->cells[j].v;
        int p = 8 + (int)j;
        switch (v->kind) {
        case FS_VAL_NULL: sqlite3_bind_null(st, p); break;
        case FS_VAL_INT: sqlite3_bind_int64(st, p, v->u.i); break;
        case FS_VAL_REAL: sqlite3_bind_double(st, p, v->u.r); break;
        case FS_VAL_TEXT:
            sqlite3_bind_text(st, p, v->u.text.p, (int)v->u.text.n, SQLITE_STATIC);
            break;
        case FS_VAL_ID: sqlite3_bind_blob(st, p, v->u.id.b, 16, SQLITE_STATIC); break;
        }
    }
}

static double raw_run(sqlite3 *db, const char *sql, fs_row *rows, size_t n, int64_t seq0,
                      int mlen)
{
    sqlite3_stmt *st = NULL;
    uint8_t meta[512] = {1, 1};
    double t0;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die_sql(db, sql);
    t0 = now_s();
    exec(db, "BEGIN");
    for (size_t i = 0; i < n; i++) {
        raw_bind(st, &rows[i], seq0 + (int64_t)i, meta, mlen);
        if (sqlite3_step(st) != SQLITE_DONE)
            die_sql(db, "raw step");
        sqlite3_reset(st);
    }
    exec(db, "COMMIT");
    sqlite3_finalize(st);
    return now_s() - t0;
}

static double store_run(sqlite3 *db, fs_store *s, fs_row *rows, size_t n, int64_t seq0)
{
    fs_error err = {0};
    double t0 = now_s();

    exec(db, "BEGIN");
    for (size_t i = 0; i < n; i++)
        check(fs_store_save(s, &rows[i], seq0 + (int64_t)i, &rows[i].cells[0].v.u.id, &err),
              &err);
    exec(db, "COMMIT");
    return now_s() - t0;
}

static int null_write(const char *buf, size_t n, void *payload)
{
    (void)buf;
    *(size_t *)payload += n;
    return 0;
}

static void report(const char *what, size_t n, double t, double raw)
{
    printf("%-34s %9.0f rows/s", what, (double)n / t);
    if (raw > 0)
        printf("   %.2fx raw", raw / t);
    printf("\n");
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    const char *path = argc > 2 ? argv[2] : "/tmp/fs_store_bench.db";
    const fs_entity *e = fs_schema_entity("visit");
    sqlite3 *db = NULL;
    fs_store *raw = NULL, *s = NULL, *warm = NULL;
    fs_row *rows = calloc(n, sizeof *rows), got = {0};
    fs_error err = {0};
    char sql[8192], cols[2048] = "", qs[512] = "", upd[2048] = "";
    double t_raw_ins, t_ins, t_raw_up, t_up, t;
    int mlen = 2 + 16 + 11 * (int)e->nfields;
    size_t bytes = 0;
    bool found;

    remove(path);
    if (!rows || sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=NORMAL");
    /* The raw table: the store's own DDL under another prefix, so the shape
     * (columns, WITHOUT ROWID, indexes) is identical. */
    check(fs_store_open(db, "raw_", &raw, &err), &err);
    check(fs_store_open(db, "", &s, &err), &err);
    check(fs_store_open(db, "warm_", &warm, &err), &err);
    make_rows(e, rows, n, 0);
    /* Warm-up: the first bulk write into a new file pays for growing it,
     * which would bias whichever measurement came first. */
    store_run(db, warm, rows, n, 1);
    exec(db, "DELETE FROM warm_visit");

    strcat(cols, "id,seq,root,deleted,del_hlc,del_dev,meta");
    strcat(upd, "seq=excluded.seq,root=excluded.root,deleted=excluded.deleted,"
                "del_hlc=excluded.del_hlc,del_dev=excluded.del_dev,meta=excluded.meta");
    strcat(qs, "?,?,?,?,?,?,?");
    for (size_t j = 0; j < e->nfields; j++) {
        char b[128];
        snprintf(b, sizeof b, ",\"%s\"", e->fields[j].name);
        strcat(cols, b);
        strcat(qs, ",?");
        snprintf(b, sizeof b, ",\"%s\"=excluded.\"%s\"", e->fields[j].name,
                 e->fields[j].name);
        strcat(upd, b);
    }

    snprintf(sql, sizeof sql, "INSERT INTO raw_visit(%s) VALUES(%s)", cols, qs);
    t_raw_ins = raw_run(db, sql, rows, n, 1, mlen);
    t_ins = store_run(db, s, rows, n, 1);
    make_rows(e, rows, n, 1);
    snprintf(sql, sizeof sql,
             "INSERT INTO raw_visit(%s) VALUES(%s) ON CONFLICT(id) DO UPDATE SET %s", cols,
             qs, upd);
    t_raw_up = raw_run(db, sql, rows, n, (int64_t)n + 1, mlen);
    t_up = store_run(db, s, rows, n, (int64_t)n + 1);

    printf("%zu visit rows (%zu fields), file %s, WAL, one transaction each\n", n,
           e->nfields, path);
    report("raw INSERT", n, t_raw_ins, 0);
    report("fs_store_save into empty tables", n, t_ins, t_raw_ins);
    report("raw upsert over existing rows", n, t_raw_up, 0);
    report("fs_store_save over existing rows", n, t_up, t_raw_up);

    t = now_s();
    exec(db, "BEGIN");
    for (size_t i = 0; i < n; i++)
        check(fs_store_load(s, e, &rows[i].id, &got, NULL, &found, &err), &err);
    exec(db, "COMMIT");
    report("fs_store_load", n, now_s() - t, 0);

    t = now_s();
    exec(db, "BEGIN");
    for (size_t i = 0; i < n; i++) {
        check(fs_store_load(s, e, &rows[i].id, &got, NULL, &found, &err), &err);
        check(fs_store_save(s, &got, (int64_t)(2 * n + i), &rows[i].cells[0].v.u.id, &err),
              &err);
    }
    exec(db, "COMMIT");
    report("fs_store_load + save (merge path)", n, now_s() - t, t_raw_up);

    t = now_s();
    check(fs_store_export(s, NULL, NULL, null_write, &bytes, &err), &err);
    t = now_s() - t;
    printf("%-34s %9.0f rows/s   %.1f MB\n", "fs_store_export", (double)n / t,
           (double)bytes / 1e6);

    fs_row_free(&got);
    for (size_t i = 0; i < n; i++)
        fs_row_free(&rows[i]);
    free(rows);
    fs_store_close(warm);
    fs_store_close(raw);
    fs_store_close(s);
    sqlite3_close(db);
    remove(path);
    return 0;
}
