/*
 * bench_sync.c - first sync (bootstrap) and incremental sync of a real
 * field client against a real sync-server over loopback HTTP (issue #7
 * items 3 and 4, issue #5's measurement). bench/sync/README.md explains the
 * model; in short, per scope size N (10k, 50k, 200k rows; --quick: 2k, 5k,
 * 10k):
 *
 *  1. A central store is populated with one rep's scope of N rows
 *     (customers, contacts, visits, quotes: 1/2/4/1 per customer) through
 *     the server library and the store API; not timed.
 *  2. Baseline, same launch: the same rows inserted with plain prepared
 *     INSERTs into the base_ tables of a fresh replica file created by
 *     fc_open (so the same schema, indexes and pragmas as the client), one
 *     transaction per 500-row page (the server's default pull page).
 *  3. The sync-server binary runs as a child; a second child,
 *     bench_sync_client (linked with libfieldclient only, so its memory is
 *     a client's), does fc_open + fc_enroll + fc_sync into an empty replica. Wall time of fc_sync, rows/s against
 *     the baseline, the client's peak RSS (wait4 ru_maxrss) and the
 *     server's (VmHWM before it is stopped).
 *  4. At the largest N, incremental rounds on the bootstrapped replica: a
 *     second device (raw protocol) pushes 100 visit edits (not timed), the
 *     measured device makes 100 local customer edits (not timed) and runs
 *     fc_sync, which pushes its 100 and pulls the other's; the fc_sync wall
 *     time is one sample. p50 / p99 over the rounds.
 *
 * Output: BENCH lines on stdout (bench/run.sh contract), progress on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_common.h"
#include "fieldclient.h"

#define PAGE_ROWS 500        /* the server's default pull page */
#define INC_CHANGES 100      /* changes pushed and pulled per round */
#define CLIENT_RSS_TARGET_MIB 16.0

typedef struct bench_opts {
    bool quick;
    const char *server_bin;
    const char *client_bin;  /* bench_sync_client */
    const char *server_log;  /* --server-log FILE: the server's request log */
    size_t sizes[3];
    size_t nsizes;
    size_t only;             /* --size N: this bootstrap alone, no rounds */
    bool only_rounds;        /* --incremental: and the rounds after it */
    unsigned rounds;         /* incremental rounds */
} bench_opts;

/* What one bootstrap child reports. */
typedef struct boot_result {
    size_t rows;
    double ms;
    long rss_before_kib;     /* VmHWM after enroll, before fc_sync */
    long rss_peak_kib;       /* ru_maxrss of the child */
    double cpu_ms;           /* user + system CPU of the child, whole run */
} boot_result;

static void size_name(size_t n, char *out, size_t cap)
{
    if (n % 1000 == 0)
        snprintf(out, cap, "%zuk", n / 1000);
    else
        snprintf(out, cap, "%zu", n);
}

/* ------------------------------------------------------------------------ */
/* Bootstrap: a fresh client in its own process                              */
/* ------------------------------------------------------------------------ */

/* Runs bench_sync_client (libfieldclient only, so the peak RSS is the
 * client's own) and collects its numbers. */
static void run_bootstrap_child(const bench_opts *o, const bc_tmp *tmp,
                                const char *replica,
                                const char *url, const char *code,
                                boot_result *out)
{
    char result[256];
    struct rusage ru;
    int status = 0;
    pid_t pid;
    FILE *f;

    bc_tmp_path(tmp, "bootstrap.result", result, sizeof result);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        bc_die("fork: %s", strerror(errno));
    if (pid == 0) {
        execl(o->client_bin, o->client_bin, replica, url, code, result,
              (char *)NULL);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        bc_die("bootstrap child failed (status %d)", status);
    memset(out, 0, sizeof *out);
    f = fopen(result, "r");
    if (!f || fscanf(f, "%zu %lf %ld", &out->rows, &out->ms, &out->rss_before_kib) != 3)
        bc_die("bootstrap child left no result");
    fclose(f);
    out->rss_peak_kib = ru.ru_maxrss; /* KiB on Linux */
    out->cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* ------------------------------------------------------------------------ */
/* Baseline: raw prepared INSERTs of the same rows                           */
/* ------------------------------------------------------------------------ */

static void sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        bc_die("%s: %s", sql, msg ? msg : "?");
}

/* Reads the next page of `src` (rows after *last_rowid) into vals
 * (ncol values per row, duplicated so the source statement can move on).
 * Returns the rows read. */
static size_t read_page(sqlite3_stmt *src, int ncol, int64_t *last_rowid,
                        sqlite3_value **vals)
{
    size_t n = 0;

    sqlite3_bind_int64(src, 1, *last_rowid);
    while (n < PAGE_ROWS && sqlite3_step(src) == SQLITE_ROW) {
        *last_rowid = sqlite3_column_int64(src, 0);
        for (int k = 0; k < ncol; k++)
            if (!(vals[n * (size_t)ncol + (size_t)k] =
                      sqlite3_value_dup(sqlite3_column_value(src, k + 1))))
                bc_die("out of memory");
        n++;
    }
    sqlite3_reset(src);
    return n;
}

/* Inserts one page in one transaction; returns its wall time. */
static double insert_page(sqlite3 *dst, sqlite3_stmt *ins, int ncol,
                          sqlite3_value **vals, size_t n)
{
    double t0 = bc_now_ms();

    sql_exec(dst, "BEGIN");
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < ncol; k++)
            sqlite3_bind_value(ins, k + 1, vals[i * (size_t)ncol + (size_t)k]);
        if (sqlite3_step(ins) != SQLITE_DONE)
            bc_die("raw insert: %s", sqlite3_errmsg(dst));
        sqlite3_reset(ins);
    }
    sql_exec(dst, "COMMIT");
    return bc_now_ms() - t0;
}

static double raw_copy_entity(sqlite3 *src_db, sqlite3 *dst, const char *entity,
                              size_t *rows)
{
    char sql[512], *ins_sql;
    sqlite3_stmt *src = NULL, *ins = NULL;
    sqlite3_value **vals;
    int ncol;
    int64_t last = 0;
    double ms = 0;
    size_t n;

    snprintf(sql, sizeof sql, "SELECT rowid, * FROM \"%s\" WHERE rowid > ?1"
             " ORDER BY rowid LIMIT %d", entity, PAGE_ROWS);
    if (sqlite3_prepare_v2(src_db, sql, -1, &src, NULL) != SQLITE_OK)
        bc_die("%s: %s", sql, sqlite3_errmsg(src_db));
    ncol = sqlite3_column_count(src) - 1;
    ins_sql = malloc((size_t)ncol * 3 + 64);
    vals = calloc((size_t)ncol * PAGE_ROWS, sizeof *vals);
    if (!ins_sql || !vals)
        bc_die("out of memory");
    n = (size_t)sprintf(ins_sql, "INSERT INTO \"base_%s\" VALUES(", entity);
    for (int k = 0; k < ncol; k++)
        n += (size_t)sprintf(ins_sql + n, k ? ",?" : "?");
    strcpy(ins_sql + n, ")");
    if (sqlite3_prepare_v2(dst, ins_sql, -1, &ins, NULL) != SQLITE_OK)
        bc_die("%s: %s", ins_sql, sqlite3_errmsg(dst));
    for (;;) {  /* bounded: each page advances the rowid */
        n = read_page(src, ncol, &last, vals);
        if (n == 0)
            break;
        ms += insert_page(dst, ins, ncol, vals, n);
        for (size_t i = 0; i < n * (size_t)ncol; i++)
            sqlite3_value_free(vals[i]);
        *rows += n;
    }
    sqlite3_finalize(src);
    sqlite3_finalize(ins);
    free(vals);
    free(ins_sql);
    return ms;
}

/* Rows/s of plain INSERTs of every row of the central store into the base_
 * tables of a fresh replica (schema made by fc_open itself). */
static double raw_insert_rate(const char *server_db, const char *raw_db,
                              size_t *rows_out)
{
    static const char *const ents[] = {"customer", "contact", "visit", "quote"};
    fc_client *c = NULL;
    sqlite3 *src = NULL, *dst = NULL;
    fs_error err = {0};
    double ms = 0;
    size_t rows = 0;

    if (fc_open(raw_db, NULL, &c, &err) != FC_OK)
        bc_die("raw replica: %s", err.text);
    fc_close(c);
    if (sqlite3_open_v2(server_db, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open(raw_db, &dst) != SQLITE_OK)
        bc_die("open for baseline");
    /* The pragmas fc_open uses. */
    sql_exec(dst, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
        ms += raw_copy_entity(src, dst, ents[i], &rows);
    sqlite3_close(src);
    sqlite3_close(dst);
    *rows_out = rows;
    return ms > 0 ? (double)rows / (ms / 1000.0) : 0;
}

/* ------------------------------------------------------------------------ */
/* Incremental rounds                                                        */
/* ------------------------------------------------------------------------ */

/* The other device pushes INC_CHANGES visit edits (not timed). */
static void other_device_pushes(bc_device *b, const bc_scope *sc, unsigned round)
{
    fs_change ch[INC_CHANGES];
    fs_sync_response resp;
    char text[96], err[200];
    long st;

    for (size_t i = 0; i < INC_CHANGES; i++) {
        const fs_id *v = &sc->visits[((size_t)round * INC_CHANGES + i) % sc->nvisits];
        snprintf(text, sizeof text, "follow-up call booked, round %u item %zu", round, i);
        bc_change_text(b, &ch[i], "visit", v, "next_step", text);
    }
    /* Page size 1: this device only writes; what it pulls does not matter. */
    st = bc_device_sync(b, ch, INC_CHANGES, 1, &resp, err, sizeof err);
    if (st != 200)
        bc_die("other device push: %s", err);
    fs_proto_sync_response_free(&resp);
    for (size_t i = 0; i < INC_CHANGES; i++)
        fs_change_free(&ch[i]);
}

/* The measured device's local edits (not timed). */
static void local_edits(fc_client *c, const bc_scope *sc, unsigned round)
{
    fs_error err = {0};
    char phone[40];

    for (size_t i = 0; i < INC_CHANGES; i++) {
        const fs_id *cust = &sc->customers[((size_t)round * INC_CHANGES + i) %
                                           sc->ncustomers];
        fc_kv kv = {"phone", phone};
        snprintf(phone, sizeof phone, "+33 1 %02u %02zu 00 00", round % 100, i);
        if (fc_row_edit(c, "customer", cust, &kv, 1, &err) != FC_OK)
            bc_die("local edit: %s", err.text);
    }
}

static void run_incremental(const bench_opts *o, const char *cs,
                            const char *replica, const char *url,
                            const char *code_b, const bc_scope *sc)
{
    bc_device b;
    fc_client *c = NULL;
    fs_error err = {0};
    char msg[200];
    double *lat = calloc(o->rounds, sizeof *lat), sum = 0;
    size_t pulled_min = SIZE_MAX;

    memset(&b, 0, sizeof b);
    if (!lat)
        bc_die("out of memory");
    if (bc_device_enroll(&b, url, code_b, msg, sizeof msg) != 200)
        bc_die("enroll other device: %s", msg);
    if (fc_open(replica, NULL, &c, &err) != FC_OK)
        bc_die("reopen replica: %s", err.text);
    for (unsigned r = 0; r < o->rounds; r++) {
        fc_sync_report rep;
        double t0;

        other_device_pushes(&b, sc, r);
        local_edits(c, sc, r);
        t0 = bc_now_ms();
        if (fc_sync(c, NULL, NULL, &rep, &err) != FC_OK)
            bc_die("incremental fc_sync: %s", err.text);
        lat[r] = bc_now_ms() - t0;
        sum += lat[r];
        if (rep.totals.pushed != INC_CHANGES || rep.totals.rows < INC_CHANGES)
            bc_die("round %u pushed %zu, pulled %zu (expected %d each)", r,
                   rep.totals.pushed, rep.totals.rows, INC_CHANGES);
        if (rep.totals.rows < pulled_min)
            pulled_min = rep.totals.rows;
    }
    fc_close(c);
    bc_device_close(&b);
    fprintf(stderr, "incremental %s: %u rounds, mean %.1f ms, min pulled %zu rows"
            " per round (the other device's %d + our own %d echoed)\n", cs,
            o->rounds, sum / o->rounds, pulled_min, INC_CHANGES, INC_CHANGES);
    bc_result("incremental", cs, "p50_ms", bc_percentile(lat, o->rounds, 50), "ms",
              0, NULL);
    bc_result("incremental", cs, "p99_ms", bc_percentile(lat, o->rounds, 99), "ms",
              0, NULL);
    bc_result("incremental", cs, "max_ms", bc_percentile(lat, o->rounds, 100), "ms",
              0, NULL);
    free(lat);
}

/* ------------------------------------------------------------------------ */
/* One scope size                                                            */
/* ------------------------------------------------------------------------ */

static long run_size(const bench_opts *o, size_t n, bool incremental)
{
    bc_tmp tmp;
    bc_server srv;
    bc_scope sc;
    boot_result br;
    char sdb[256], rdb[256], cdb[256], cs[32], codes[2][FSS_CODE_LEN + 1];
    size_t raw_rows = 0;
    double raw_rate, rate, server_cpu;
    long server_kib;

    size_name(n, cs, sizeof cs);
    bc_tmp_make(&tmp, "bench-sync");
    bc_tmp_path(&tmp, "central.db", sdb, sizeof sdb);
    bc_tmp_path(&tmp, "raw.db", rdb, sizeof rdb);
    bc_tmp_path(&tmp, "replica.db", cdb, sizeof cdb);
    fprintf(stderr, "bootstrap %s: populating %zu rows...\n", cs, n);
    bc_populate(sdb, 1, n, 2, codes, &sc, 0x5eed0000u + n);

    raw_rate = raw_insert_rate(sdb, rdb, &raw_rows);
    fprintf(stderr, "bootstrap %s: raw inserts %zu rows at %.0f rows/s\n", cs,
            raw_rows, raw_rate);

    const char *extra[] = {"--log", o->server_log, NULL};
    bc_server_start(&srv, o->server_bin, sdb, 4, o->server_log ? extra : NULL, &tmp);
    server_cpu = bc_proc_cpu_ms(srv.pid);
    run_bootstrap_child(o, &tmp, cdb, srv.url, codes[0], &br);
    server_cpu = bc_proc_cpu_ms(srv.pid) - server_cpu;
    server_kib = bc_vmhwm_kib(srv.pid);
    if (br.rows != raw_rows)
        bc_die("bootstrap pulled %zu rows, the scope has %zu", br.rows, raw_rows);
    rate = (double)br.rows / (br.ms / 1000.0);
    fprintf(stderr, "bootstrap %s: %zu rows in %.0f ms (client CPU %.0f ms, server"
            " CPU %.0f ms); client RSS %.1f MiB before sync, %.1f MiB peak; server"
            " peak %.1f MiB\n", cs, br.rows, br.ms, br.cpu_ms, server_cpu,
            br.rss_before_kib / 1024.0, br.rss_peak_kib / 1024.0, server_kib / 1024.0);
    bc_result("bootstrap", cs, "wall_ms", br.ms, "ms", 0, NULL);
    bc_result("bootstrap", cs, "rows_per_s", rate, "rows/s", raw_rate, ">=0.6x");
    bc_result("bootstrap", cs, "client_cpu_ms", br.cpu_ms, "ms", 0, NULL);
    bc_result("bootstrap", cs, "server_cpu_ms", server_cpu, "ms", 0, NULL);
    bc_result("bootstrap", cs, "client_peak_rss_mib", br.rss_peak_kib / 1024.0,
              "MiB", 0, "<16");
    bc_result("bootstrap", cs, "server_peak_rss_mib", server_kib / 1024.0, "MiB",
              0, NULL);
    if (incremental)
        run_incremental(o, cs, cdb, srv.url, codes[1], &sc);
    if (bc_server_stop(&srv) != 0)
        fprintf(stderr, "bench_sync: sync-server did not exit cleanly (%s)\n", srv.log);
    bc_scope_free(&sc);
    bc_tmp_remove(&tmp);
    return br.rss_peak_kib;
}

int main(int argc, char **argv)
{
    bench_opts o;
    long rss[3] = {0};
    char cs[64], a[16], b[16];

    memset(&o, 0, sizeof o);
    o.server_bin = SYNC_SERVER_BIN;
    o.client_bin = BENCH_SYNC_CLIENT_BIN;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            o.quick = true;
        else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            o.server_bin = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
                 (o.only = strtoul(argv[i + 1], NULL, 10)) > 0)
            i++;
        else if (strcmp(argv[i], "--incremental") == 0)
            o.only_rounds = true;
        else if (strcmp(argv[i], "--client") == 0 && i + 1 < argc)
            o.client_bin = argv[++i];
        else if (strcmp(argv[i], "--server-log") == 0 && i + 1 < argc)
            o.server_log = argv[++i];
        else
            bc_die("usage: bench_sync [--quick] [--server PATH-TO-sync-server]"
                   " [--client PATH-TO-bench_sync_client] [--server-log FILE]"
                   " [--size ROWS [--incremental]]");
    }
    if (o.quick) {
        o.sizes[0] = 2000, o.sizes[1] = 5000, o.sizes[2] = 10000;
        o.rounds = 20;
    } else {
        o.sizes[0] = 10000, o.sizes[1] = 50000, o.sizes[2] = 200000;
        o.rounds = 100;
    }
    o.nsizes = 3;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (o.only) { /* one bootstrap, for profiles and quick comparisons */
        run_size(&o, o.only, o.only_rounds);
        curl_global_cleanup();
        return 0;
    }
    for (size_t i = 0; i < o.nsizes; i++)
        rss[i] = run_size(&o, o.sizes[i], i + 1 == o.nsizes);
    /* Flatness: peak client RSS at the largest scope over the smallest. */
    size_name(o.sizes[0], a, sizeof a);
    size_name(o.sizes[o.nsizes - 1], b, sizeof b);
    snprintf(cs, sizeof cs, "%s_vs_%s", b, a);
    bc_result("bootstrap", cs, "client_rss_growth", (double)rss[o.nsizes - 1] / (double)rss[0],
              "x", 0, "<=1.1x");
    curl_global_cleanup();
    return 0;
}
