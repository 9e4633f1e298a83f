/*
 * bench_analyze.c - `analyze` (sync-server/fss_value.c over conflict/
 * fs_score.c) on a large store, issue #16's measure: 100,000 customers with
 * 1,000,000 purchases and 500,000 visits (--quick: a tenth). Prints the
 * wall time of the first run (which writes every customer's values and the
 * generated tasks), of a second run over the unchanged store, the rows the
 * second run re-sequenced (target 0), and the peak resident memory the runs
 * added over the populated process (VmHWM before and after).
 *
 * The store is written directly with fs_store_save (one transaction, one
 * seq per row, fss_meta.seq advanced), as bench/common does: populating
 * through the server would take longer than what is measured.
 */
#include "bench_report.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs_server.h"
#include "fs_store.h"

#define DAY INT64_C(86400000)

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_analyze: %s: %s\n", what, why ? why : "?");
    exit(1);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0)
            kib = strtol(line + n, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static long vmhwm_kib(void)
{
    return status_kib("VmHWM:");
}

typedef struct gen {
    fs_store *store;
    int64_t seq;
    fs_hlc hlc;
    fs_id dev;
    uint64_t rnd;
} gen;

static void set(gen *g, fs_row *row, const char *field, fs_value v)
{
    int i = fs_entity_field_index(row->entity, field);
    if (i < 0)
        die("schema", field);
    row->cells[i].v = v;
    row->cells[i].hlc = g->hlc++;
    row->cells[i].device = g->dev;
}

static void set_text(gen *g, fs_row *row, const char *field, const char *s)
{
    fs_value v = {0};
    if (fs_value_text(&v, s, strlen(s), NULL) != FS_OK)
        die("text", "out of memory");
    set(g, row, field, v);
}

static fs_id new_id(gen *g, int64_t ms)
{
    uint8_t r[10];
    uint64_t a = rnd(&g->rnd), b = rnd(&g->rnd);
    fs_id id;
    memcpy(r, &a, 8);
    memcpy(r + 8, &b, 2);
    fs_id_from_parts((uint64_t)ms, r, &id);
    return id;
}

static void save(gen *g, fs_row *row, const fs_id *root)
{
    fs_error err = {0};
    if (fs_store_save(g->store, row, ++g->seq, root, &err) != FS_STORE_OK)
        die("save", err.text);
    fs_row_free(row);
}

static void start(fs_row *row, const char *entity, const fs_id *id)
{
    memset(row, 0, sizeof *row);
    if (fs_row_init(row, fs_schema_entity(entity), id, NULL) != FS_OK)
        die("row", entity);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg);
}

static void populate(const char *path, const char *rep, size_t ncust, size_t buys,
                     size_t visits, int64_t now)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    fs_error err = {0};
    gen g = {.rnd = 88172645463325252ull};
    char name[64];

    g.hlc = fs_hlc_make((uint64_t)(now - 800 * DAY), 0);
    fs_id_parse("00000000-0000-0000-0000-00000000f5f5", 36, &g.dev, NULL);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", path);
    exec(db, "BEGIN IMMEDIATE");
    if (fs_store_open(db, "", &g.store, &err) != FS_STORE_OK)
        die("store", err.text);
    if (sqlite3_prepare_v2(db, "SELECT value FROM fss_meta WHERE key = 'seq'", -1, &st,
                           NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        die("seq", sqlite3_errmsg(db));
    g.seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (size_t c = 0; c < ncust; c++) {
        fs_row row;
        fs_id cid = new_id(&g, now - 700 * DAY + (int64_t)c);
        start(&row, "customer", &cid);
        snprintf(name, sizeof name, "Customer %zu", c);
        set_text(&g, &row, "name", name);
        set_text(&g, &row, "territory", "t0");
        set_text(&g, &row, "owner_rep", rep);
        save(&g, &row, &cid);
        /* Two currencies: one customer in ten buys in USD as well. */
        for (size_t k = 0; k < buys; k++) {
            fs_id pid = new_id(&g, now - 400 * DAY);
            int64_t at = now - (int64_t)(rnd(&g.rnd) % (400 * (uint64_t)DAY));
            start(&row, "purchase", &pid);
            set(&g, &row, "customer_id", fs_value_idv(&cid));
            set(&g, &row, "amount", fs_value_int(1000 + (int64_t)(rnd(&g.rnd) % 200000)));
            set_text(&g, &row, "currency", (c % 10 == 0 && k % 2) ? "USD" : "EUR");
            set(&g, &row, "purchased_at", fs_value_int(at));
            save(&g, &row, &cid);
        }
        for (size_t k = 0; k < visits; k++) {
            fs_id vid = new_id(&g, now - 200 * DAY);
            int64_t at = now - (int64_t)(rnd(&g.rnd) % (200 * (uint64_t)DAY));
            start(&row, "visit", &vid);
            set(&g, &row, "customer_id", fs_value_idv(&cid));
            set_text(&g, &row, "rep_id", rep);
            set(&g, &row, "checkin_at", fs_value_int(at));
            set_text(&g, &row, "status", "completed");
            save(&g, &row, &cid);
        }
    }
    fs_store_close(g.store);
    if (sqlite3_prepare_v2(db, "UPDATE fss_meta SET value = ?1 WHERE key = 'seq'", -1, &st,
                           NULL) != SQLITE_OK)
        die("seq", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, g.seq);
    if (sqlite3_step(st) != SQLITE_DONE)
        die("seq", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    exec(db, "COMMIT");
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
}

int main(int argc, char **argv)
{
    bool quick = bench_quick(argc, argv);
    size_t ncust = quick ? 10000 : 100000;
    const char *bcase = quick ? "10k" : "100k";
    char dir[] = "/tmp/bench-analyze-XXXXXX", path[128], rep[FS_ID_STRLEN + 1], cmd[200];
    fss_config cfg;
    fss_server *s = NULL;
    fs_error err = {0};
    fs_id rid;
    fss_analyze_result a1, a2;
    struct timespec ts;
    int64_t now;
    double t0, t1;
    long rss0, rss1;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000;
    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    snprintf(path, sizeof path, "%s/store.db", dir);
    fss_config_default(&cfg);
    cfg.db_path = path;
    if (fss_server_open(&cfg, &s, &err) != FSS_OK ||
        fss_admin_territory_add(s, "t0", NULL, &err) != FSS_OK ||
        fss_admin_rep_add(s, "Rep", NULL, &rid, &err) != FSS_OK ||
        fss_admin_rep_territory(s, &rid, "t0", true, &err) != FSS_OK)
        die("setup", err.text);
    fss_server_close(s);
    s = NULL;
    fs_id_format(&rid, rep);
    fprintf(stderr, "bench_analyze: %zu customers, %zu purchases, %zu visits ...\n", ncust,
            ncust * 10, ncust * 5);
    populate(path, rep, ncust, 10, 5, now);
    if (fss_server_open(&cfg, &s, &err) != FSS_OK)
        die("open", err.text);

    /* Each run in a fresh child of a parent that never ran analyze: a new
     * process's VmHWM starts at its resident size and its heap holds no
     * pages freed by an earlier run, so the memory a run adds is its own.
     * The parent does nothing with the store meanwhile. */
    for (int run = 0; run < 2; run++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            die("fork", "failed");
        if (pid == 0) {
            fss_analyze_result *a = run ? &a2 : &a1;
            rss0 = status_kib("VmRSS:");
            t0 = bench_now_s();
            if (fss_analyze(s, now, a, &err) != FSS_OK)
                die("analyze", err.text);
            t1 = bench_now_s();
            rss1 = vmhwm_kib();
            fprintf(stderr, "%s: %lld changed, %lld tasks opened\n", run ? "rerun" : "first run",
                    (long long)a->changed, (long long)a->tasks_opened);
            if (!run) {
                bench_result("analyze", bcase, "first_run_s", t1 - t0, "s", NAN, NULL);
                bench_result("analyze", bcase, "first_run_rss_added",
                             (double)(rss1 - rss0) / 1024.0, "MiB", NAN, NULL);
            } else {
                bench_result("analyze", bcase, "rerun_s", t1 - t0, "s", NAN, "<10s");
                bench_result("analyze", bcase, "rerun_resequenced",
                             (double)(a->changed + a->tasks_opened + a->tasks_closed), "rows",
                             NAN, "0");
                bench_result("analyze", bcase, "rerun_rss_added",
                             (double)(rss1 - rss0) / 1024.0, "MiB", NAN, NULL);
            }
            fflush(NULL);
            _exit(0);
        }
        int wst = 0;
        if (waitpid(pid, &wst, 0) != pid || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
            die("analyze run", "the child failed");
    }
    fss_server_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_analyze: could not remove %s\n", dir);
    return 0;
}
