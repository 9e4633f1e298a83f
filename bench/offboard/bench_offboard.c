/*
 * bench_offboard.c - the ownership lifecycle under load (issue 17,
 * "Measure"): offboarding a rep who owns N customers (default 20,000, each
 * with 10 child rows: bc_populate's 2 contacts, 4 visits and 1 quote, and
 * 3 more visits, so 200,000 child rows as the issue asks), then merging M
 * duplicate pairs (default 1,000, each duplicate with its 7 rows), while
 * a device of another rep pushes one change every 10 ms over
 * HTTP to the same in-process server. Prints the wall time of each
 * operation and the longest any of those sync requests took (target: no
 * sync request waits more than 1 s), as BENCH lines.
 *
 * The customers are made the rep's own directly in the store (one
 * transaction, fresh seqs) after bc_populate, so setting up does not take
 * as long as what is measured. --quick: 2,000 customers, 100 pairs.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "fs_store.h"

typedef struct prober {
    bc_device d;
    atomic_bool stop;
    double max_ms;
    size_t n, errors;
    pthread_mutex_t mu;
} prober;

static void *probe(void *arg)
{
    prober *p = arg;

    while (!atomic_load(&p->stop)) {
        fs_change c;
        fs_sync_response r;
        fs_id id;
        char err[160];
        double t0, ms;
        long st;
        if (fs_id_new((uint64_t)bc_now_ms(), &id, NULL) != FS_OK)
            bc_die("id");
        bc_change_text(&p->d, &c, "customer", &id, "name", "probe customer");
        t0 = bc_now_ms();
        st = bc_device_sync(&p->d, &c, 1, 100, &r, err, sizeof err);
        ms = bc_now_ms() - t0;
        fs_change_free(&c);
        if (st == 200)
            fs_proto_sync_response_free(&r);
        pthread_mutex_lock(&p->mu);
        if (ms > p->max_ms)
            p->max_ms = ms;
        p->n++;
        if (st != 200)
            p->errors++;
        pthread_mutex_unlock(&p->mu);
        bc_sleep_ms(10);
    }
    return NULL;
}

/* Child rows each owned customer gets beside bc_populate's 7: copies of
 * its first visit under new ids (20,000 customers x 10 = 200,000). */
#define EXTRA_VISITS 3

/* Makes every customer of sc owned by its rep, straight in the store, and
 * gives it EXTRA_VISITS more visits. */
static void own_all(const char *db, const bc_scope *sc)
{
    sqlite3 *conn = NULL;
    fs_store *store = NULL;
    fs_error err = {0};
    sqlite3_stmt *st = NULL;
    int64_t seq = 0;
    char rep[FS_ID_STRLEN + 1];
    const fs_entity *ce = fs_schema_entity("customer"), *ve = fs_schema_entity("visit");
    int io = fs_entity_field_index(ce, "owner_rep");

    fs_id_format(&sc->rep, rep);
    if (sqlite3_open(db, &conn) != SQLITE_OK ||
        sqlite3_exec(conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        fs_store_open(conn, "", &store, &err) != FS_STORE_OK)
        bc_die("own_all: open %s", db);
    if (sqlite3_prepare_v2(conn, "SELECT value FROM fss_meta WHERE key = 'seq'", -1,
                           &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        bc_die("own_all: seq");
    seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (size_t i = 0; i < sc->ncustomers; i++) {
        fs_row row = {0};
        bool found = false;
        if (fs_store_load(store, ce, &sc->customers[i], &row, NULL, &found, &err) !=
                FS_STORE_OK || !found)
            bc_die("own_all: load");
        fs_value_clear(&row.cells[io].v);
        if (fs_value_text(&row.cells[io].v, rep, strlen(rep), NULL) != FS_OK)
            bc_die("own_all: value");
        row.cells[io].hlc = row.cells[0].hlc;
        row.cells[io].device = row.cells[0].device;
        if (fs_store_save(store, &row, ++seq, &sc->customers[i], &err) != FS_STORE_OK)
            bc_die("own_all: save %s", err.text);
        fs_row_free(&row);
        if (fs_store_load(store, ve, &sc->visits[4 * i], &row, NULL, &found, &err) !=
                FS_STORE_OK || !found)
            bc_die("own_all: load visit");
        for (int k = 0; k < EXTRA_VISITS; k++) {
            if (fs_id_new((uint64_t)bc_now_ms(), &row.id, NULL) != FS_OK ||
                fs_store_save(store, &row, ++seq, &sc->customers[i], &err) != FS_STORE_OK)
                bc_die("own_all: save visit %s", err.text);
        }
        fs_row_free(&row);
    }
    if (sqlite3_prepare_v2(conn, "UPDATE fss_meta SET value = ?1 WHERE key = 'seq'",
                           -1, &st, NULL) != SQLITE_OK)
        bc_die("own_all: seq update");
    sqlite3_bind_int64(st, 1, seq);
    if (sqlite3_step(st) != SQLITE_DONE)
        bc_die("own_all: seq update");
    sqlite3_finalize(st);
    fs_store_close(store);
    if (sqlite3_exec(conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        bc_die("own_all: commit");
    sqlite3_close(conn);
}

static void probe_start(prober *p, pthread_t *th)
{
    p->max_ms = 0;
    p->n = p->errors = 0;
    atomic_store(&p->stop, false);
    if (pthread_create(th, NULL, probe, p) != 0)
        bc_die("thread");
    /* Warm up (connection, first checkpoint), then count from zero: only
     * the requests made while the operation runs are measured. */
    bc_sleep_ms(1000);
    pthread_mutex_lock(&p->mu);
    p->max_ms = 0;
    p->n = p->errors = 0;
    pthread_mutex_unlock(&p->mu);
}

static void probe_stop(prober *p, pthread_t th)
{
    bc_sleep_ms(300);
    atomic_store(&p->stop, true);
    pthread_join(th, NULL);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t ncust = quick ? 2000 : 20000, npairs = quick ? 100 : 1000;
    char codes[2][FSS_CODE_LEN + 1], db[200], pcode[FSS_CODE_LEN + 1], err[160],
        cs[64];
    bc_scope scopes[2];
    bc_tmp tmp;
    fss_config cfg;
    fss_server *s = NULL;
    fs_error ferr = {0};
    fs_id prep;
    fss_offboard_result orr;
    prober p;
    pthread_t th;
    double t0, wall, cpu0, cpu;
    size_t merged = 0;

    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    bc_tmp_make(&tmp, "offboard");
    bc_tmp_path(&tmp, "central.db", db, sizeof db);
    fprintf(stderr, "bench_offboard: populating %zu customers x 2 reps\n", ncust);
    bc_populate(db, 2, ncust * BC_ROWS_PER_CUSTOMER, 1, codes, scopes, 0x0ff);
    own_all(db, &scopes[0]);
    fss_config_default(&cfg);
    cfg.db_path = db;
    cfg.port = 0;
    cfg.threads = 4;
    if (fss_server_open(&cfg, &s, &ferr) != FSS_OK || fss_server_start(s, &ferr) != FSS_OK)
        bc_die("server: %s", ferr.text);
    /* The prober: a rep of its own with an empty scope, so each of its
     * requests is one small push that needs the write lock, and no pull. */
    if (fss_admin_rep_add(s, "Prober", NULL, &prep, &ferr) != FSS_OK ||
        fss_admin_enroll_code(s, &prep, 0, pcode, &ferr) != FSS_OK)
        bc_die("prober: %s", ferr.text);
    snprintf(cs, sizeof cs, "http://127.0.0.1:%u", (unsigned)fss_server_port(s));
    if (bc_device_enroll(&p.d, cs, pcode, err, sizeof err) != 200)
        bc_die("prober enroll: %s", err);

    probe_start(&p, &th);
    t0 = bc_now_ms();
    cpu0 = bc_proc_cpu_ms(getpid());
    if (fss_admin_offboard(s, &scopes[0].rep, &scopes[1].rep, false, "bench", &orr,
                           &ferr) != FSS_OK)
        bc_die("offboard: %s", ferr.text);
    wall = bc_now_ms() - t0;
    cpu = bc_proc_cpu_ms(getpid()) - cpu0;
    probe_stop(&p, th);
    snprintf(cs, sizeof cs, "customers_%zu", ncust);
    bc_result("offboard", cs, "wall_ms", wall, "ms", 0, NULL);
    bc_result("offboard", cs, "cpu_ms", cpu, "ms", 0, NULL);
    bc_result("offboard", cs, "customers_moved", (double)orr.customers, "count", 0, NULL);
    bc_result("offboard", cs, "max_sync_wait_ms", p.max_ms, "ms", 0, "<= 1000");
    bc_result("offboard", cs, "sync_errors", (double)p.errors, "count", 0, "0");
    fprintf(stderr, "offboard: %.0f ms (CPU %.0f ms) for %lld customers; %zu probe "
            "syncs, longest %.0f ms, %zu errors\n", wall, cpu, (long long)orr.customers,
            p.n, p.max_ms, p.errors);

    /* Merge pairs of the heir's customers (each duplicate brings 7 rows). */
    probe_start(&p, &th);
    t0 = bc_now_ms();
    cpu0 = bc_proc_cpu_ms(getpid());
    for (size_t i = 0; i + 1 < scopes[1].ncustomers && merged < npairs; i += 2) {
        fss_merge_result mr;
        if (fss_admin_merge(s, &scopes[1].customers[i], &scopes[1].customers[i + 1],
                            1, "bench", &mr, &ferr) != FSS_OK)
            bc_die("merge: %s", ferr.text);
        merged++;
    }
    wall = bc_now_ms() - t0;
    cpu = bc_proc_cpu_ms(getpid()) - cpu0;
    probe_stop(&p, th);
    snprintf(cs, sizeof cs, "pairs_%zu", merged);
    bc_result("merge_pairs", cs, "wall_ms", wall, "ms", 0, NULL);
    bc_result("merge_pairs", cs, "cpu_ms", cpu, "ms", 0, NULL);
    bc_result("merge_pairs", cs, "max_sync_wait_ms", p.max_ms, "ms", 0, "<= 1000");
    bc_result("merge_pairs", cs, "sync_errors", (double)p.errors, "count", 0, "0");
    fprintf(stderr, "merge: %.0f ms (CPU %.0f ms) for %zu pairs; %zu probe syncs, "
            "longest %.0f ms, %zu errors\n", wall, cpu, merged, p.n, p.max_ms, p.errors);

    bc_device_close(&p.d);
    fss_server_close(s);
    bc_scope_free(&scopes[0]);
    bc_scope_free(&scopes[1]);
    bc_tmp_remove(&tmp);
    return 0;
}
