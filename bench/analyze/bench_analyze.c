/*
 * bench_analyze.c - `analyze` (sync-server/fss_value.c over conflict/
 * fs_score.c) on a large store, issue #16's measure: 100,000 customers with
 * 1,000,000 purchases and 500,000 visits, and the same at 25,000 customers
 * in the same launch (--quick: a tenth of each; --size N: only a store of
 * N customers, for profiling), so that the memory a run
 * adds can be compared across sizes: it must not grow with the customers.
 * For each size it prints the wall time of the first run (which writes
 * every customer's values and the generated tasks), of a second run over
 * the unchanged store, the rows the second run re-sequenced (target 0), the
 * peak resident memory each run added over the process before it (VmHWM
 * after minus VmRSS before), and the longest a device's push waited while
 * the run went on (a device pushing a new contact every 10 ms over HTTP to
 * the same server: analyze writes in short batches, so a push waits for
 * one batch, not for the run), beside the longest the same pushes took in
 * the second before the run (idle).
 *
 * The store is written directly with fs_store_save (one transaction, one
 * seq per row, fss_meta.seq advanced), as bench/common does: populating
 * through the server would take longer than what is measured.
 */
#include "bench_report.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
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

/* The device that pushes while analyze runs: a rep of its own with one
 * customer, each request one new contact of it (analyze reads no contact,
 * so the pushes change none of its results). */
typedef struct prober {
    bc_device d;
    fs_id cust;
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
        fs_value v = fs_value_idv(&p->cust);
        char err[160];
        double t0, ms;
        long st;
        if (fs_id_new((uint64_t)bc_now_ms(), &id, NULL) != FS_OK)
            bc_die("id");
        bc_change_text(&p->d, &c, "contact", &id, "name", "probe contact");
        if (fs_change_set_named(&c, "customer_id", &v, bc_device_stamp(&p->d), NULL) != FS_OK)
            bc_die("probe change");
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

/* CPU time of the calling thread, the one running analyze (not the
 * server's threads answering the pushes), seconds. On a machine shared
 * with other work the wall time says how long users wait, the CPU time
 * what the run costs. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What one run measured, written by the child into shared memory. */
typedef struct measured {
    double wall_s, cpu_s, rss_added_mib, max_push_ms, idle_push_ms;
    size_t pushes, push_errors;
    int64_t changed, tasks_opened, tasks_closed, customers;
    int ok;
} measured;

/* One analyze run in this (child) process, with the prober pushing. */
static void child_run(fss_server *s, const char *code, const fs_id *cust, int64_t now,
                      measured *m)
{
    prober p;
    pthread_t th;
    fs_error err = {0};
    fss_analyze_result a;
    char url[64], e[160];
    long rss0;
    double t0, cpu0;

    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    if (fss_server_start(s, &err) != FSS_OK)
        die("start", err.text);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)fss_server_port(s));
    if (bc_device_enroll(&p.d, url, code, e, sizeof e) != 200)
        die("prober enroll", e);
    p.cust = *cust;
    {
        fs_sync_response r;
        if (bc_device_sync(&p.d, NULL, 0, 100, &r, e, sizeof e) != 200)
            die("prober pull", e);
        fs_proto_sync_response_free(&r);
    }
    if (pthread_create(&th, NULL, probe, &p) != 0)
        die("thread", "create");
    bc_sleep_ms(500); /* warm up, then count from zero */
    pthread_mutex_lock(&p.mu);
    p.max_ms = 0;
    p.n = 0;
    pthread_mutex_unlock(&p.mu);
    bc_sleep_ms(1000);
    pthread_mutex_lock(&p.mu);
    m->idle_push_ms = p.max_ms; /* the same pushes with no analyze running */
    p.max_ms = 0;
    p.n = p.errors = 0;
    pthread_mutex_unlock(&p.mu);

    rss0 = status_kib("VmRSS:");
    cpu0 = cpu_s();
    t0 = bench_now_s();
    if (fss_analyze(s, now, &a, &err) != FSS_OK)
        die("analyze", err.text);
    m->wall_s = bench_now_s() - t0;
    m->cpu_s = cpu_s() - cpu0;
    m->rss_added_mib = (double)(vmhwm_kib() - rss0) / 1024.0;
    atomic_store(&p.stop, true);
    pthread_join(th, NULL);
    m->max_push_ms = p.max_ms;
    m->pushes = p.n;
    m->push_errors = p.errors;
    m->changed = a.changed;
    m->tasks_opened = a.tasks_opened;
    m->tasks_closed = a.tasks_closed;
    m->customers = a.customers;
    m->ok = 1;
    bc_device_close(&p.d);
}

/* One size: a fresh store, then two runs, each in a fresh child. */
static void measure(size_t ncust, int64_t now, measured out[2])
{
    char dir[] = "/tmp/bench-analyze-XXXXXX", path[128], rep[FS_ID_STRLEN + 1], cmd[200];
    char codes[2][FSS_CODE_LEN + 1], json[300], pid_s[FS_ID_STRLEN + 1];
    fss_config cfg;
    fss_server *s = NULL;
    fs_error err = {0};
    fs_id rid, prid, pcust;
    fss_buf report = {0};

    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    snprintf(path, sizeof path, "%s/store.db", dir);
    fss_config_default(&cfg);
    cfg.db_path = path;
    cfg.port = 0;
    cfg.threads = 2;
    if (fss_server_open(&cfg, &s, &err) != FSS_OK ||
        fss_admin_territory_add(s, "t0", NULL, &err) != FSS_OK ||
        fss_admin_territory_add(s, "tp", NULL, &err) != FSS_OK ||
        fss_admin_rep_add(s, "Rep", NULL, &rid, &err) != FSS_OK ||
        fss_admin_rep_territory(s, &rid, "t0", true, &err) != FSS_OK ||
        fss_admin_rep_add(s, "Prober", NULL, &prid, &err) != FSS_OK ||
        fss_admin_rep_territory(s, &prid, "tp", true, &err) != FSS_OK ||
        fss_admin_enroll_code(s, &prid, 0, codes[0], &err) != FSS_OK ||
        fss_admin_enroll_code(s, &prid, 0, codes[1], &err) != FSS_OK)
        die("setup", err.text);
    if (fs_id_new((uint64_t)now, &pcust, NULL) != FS_OK)
        die("id", "random");
    fs_id_format(&pcust, pid_s);
    fs_id_format(&prid, rep);
    snprintf(json, sizeof json,
             "[{\"id\":\"%s\",\"name\":\"Probe\",\"territory\":\"tp\",\"owner_rep\":\"%s\"}]",
             pid_s, rep);
    if (fss_admin_import(s, "customer", "json", json, strlen(json), &report, &err) != FSS_OK)
        die("probe customer", err.text);
    fss_buf_free(&report);
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
            child_run(s, codes[run], &pcust, now, &out[run]);
            fprintf(stderr, "%s: %.2f s (cpu %.2f s), %lld changed, %lld tasks opened, %.1f MiB added, "
                    "%zu pushes, longest %.0f ms\n", run ? "rerun" : "first run",
                    out[run].wall_s, out[run].cpu_s, (long long)out[run].changed,
                    (long long)out[run].tasks_opened, out[run].rss_added_mib,
                    out[run].pushes, out[run].max_push_ms);
            fflush(NULL);
            _exit(0);
        }
        int wst = 0;
        if (waitpid(pid, &wst, 0) != pid || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0 ||
            !out[run].ok)
            die("analyze run", "the child failed");
    }
    fss_server_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_analyze: could not remove %s\n", dir);
}

/* `--size N`: only one store of N customers (for profiling one size);
 * 0 when not given. */
static size_t one_size(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--size") == 0)
            return (size_t)strtoull(argv[i + 1], NULL, 10);
    return 0;
}

int main(int argc, char **argv)
{
    bool quick = bench_quick(argc, argv);
    size_t sizes[2] = {quick ? 2500 : 25000, quick ? 10000 : 100000};
    const char *names[2] = {quick ? "2.5k" : "25k", quick ? "10k" : "100k"};
    size_t only = one_size(argc, argv);
    char only_name[32];
    struct timespec ts;
    int64_t now;
    measured *m;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000;
    /* [size][run], shared with the children */
    m = mmap(NULL, 4 * sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        die("mmap", "failed");
    memset(m, 0, 4 * sizeof *m);
    if (only) {
        snprintf(only_name, sizeof only_name, "%zu", only);
        sizes[1] = only;
        names[1] = only_name;
    }
    for (int z = only ? 1 : 0; z < 2; z++) {
        measured *r = &m[2 * z];
        const char *c = names[z];
        measure(sizes[z], now, r);
        bench_result("analyze", c, "first_run_s", r[0].wall_s, "s", NAN, NULL);
        bench_result("analyze", c, "first_run_cpu_s", r[0].cpu_s, "s", NAN, NULL);
        bench_result("analyze", c, "first_run_rss_added", r[0].rss_added_mib, "MiB", NAN,
                     NULL);
        bench_result("analyze", c, "first_run_max_push_ms", r[0].max_push_ms, "ms", NAN,
                     NULL);
        bench_result("analyze", c, "rerun_s", r[1].wall_s, "s", NAN,
                     z == 1 && !quick && !only ? "<10s" : NULL);
        bench_result("analyze", c, "rerun_cpu_s", r[1].cpu_s, "s", NAN, NULL);
        bench_result("analyze", c, "rerun_resequenced",
                     (double)(r[1].changed + r[1].tasks_opened + r[1].tasks_closed), "rows",
                     NAN, "0");
        bench_result("analyze", c, "rerun_rss_added", r[1].rss_added_mib, "MiB", NAN, NULL);
        bench_result("analyze", c, "rerun_max_push_ms", r[1].max_push_ms, "ms", NAN, NULL);
        bench_result("analyze", c, "idle_max_push_ms", r[1].idle_push_ms, "ms", NAN, NULL);
        bench_result("analyze", c, "push_errors",
                     (double)(r[0].push_errors + r[1].push_errors), "count", NAN, "0");
    }
    /* Flat memory: what the larger store adds per extra customer. */
    if (only) {
        munmap(m, 4 * sizeof *m);
        return 0;
    }
    double extra = (double)(sizes[1] - sizes[0]);
    bench_result("analyze", "growth", "first_run_rss_bytes_per_customer",
                 (m[2].rss_added_mib - m[0].rss_added_mib) * 1048576.0 / extra, "B", NAN,
                 NULL);
    bench_result("analyze", "growth", "rerun_rss_bytes_per_customer",
                 (m[3].rss_added_mib - m[1].rss_added_mib) * 1048576.0 / extra, "B", NAN,
                 "~0");
    munmap(m, 4 * sizeof *m);
    return 0;
}
