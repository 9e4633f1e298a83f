/*
 * bench_common.c - see bench_common.h. Helpers for the sync and load
 * benches: result lines, clocks, temp dirs, the sync-server child, fast
 * store population and a raw-protocol device over libcurl.
 */
#include "bench_common.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fs_store.h"
#include "../bench_report.h"

/* ------------------------------------------------------------------------ */
/* Output, clocks, statistics                                                */
/* ------------------------------------------------------------------------ */

/* The one BENCH line format lives in bench/bench_report.h; here a
 * baseline <= 0 means "none". */
void bc_result(const char *bench, const char *cs, const char *metric,
               double value, const char *unit, double baseline,
               const char *target)
{
    bench_result(bench, cs, metric, value, unit, baseline > 0 ? baseline : NAN, target);
}

void bc_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

double bc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void bc_sleep_ms(double ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bc_percentile(double *v, size_t n, double p)
{
    size_t rank;

    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

long bc_vmhwm_kib(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    long kib = 0;

    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

double bc_proc_cpu_ms(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    long tick = sysconf(_SC_CLK_TCK);
    double ms = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "r")))
        return 0;
    p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
    /* After "(comm)": state is field 3, utime 14 and stime 15. */
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                    &ut, &st) == 2)
        ms = (double)(ut + st) * 1000.0 / (double)(tick > 0 ? tick : 100);
    fclose(f);
    return ms;
}

void bc_raise_nofile(rlim_t want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        fprintf(stderr, "bench: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
}

uint64_t bc_rnd(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ------------------------------------------------------------------------ */
/* Temp dir                                                                  */
/* ------------------------------------------------------------------------ */

void bc_tmp_make(bc_tmp *t, const char *tag)
{
    const char *base = getenv("TMPDIR");

    snprintf(t->dir, sizeof t->dir, "%s/fs-%s-XXXXXX", base && *base ? base : "/tmp",
             tag);
    if (!mkdtemp(t->dir))
        bc_die("mkdtemp %s: %s", t->dir, strerror(errno));
}

void bc_tmp_path(const bc_tmp *t, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", t->dir, name);
}

void bc_tmp_remove(bc_tmp *t)
{
    DIR *d;
    struct dirent *e;
    char path[512];

    if (!t->dir[0])
        return;
    d = opendir(t->dir);
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", t->dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    if (rmdir(t->dir) != 0)
        fprintf(stderr, "bench: cannot remove %s: %s\n", t->dir, strerror(errno));
    t->dir[0] = '\0';
}

/* ------------------------------------------------------------------------ */
/* sync-server child                                                         */
/* ------------------------------------------------------------------------ */

static bool read_listen_url(const char *log, char *url, size_t cap)
{
    char buf[8192];
    FILE *f = fopen(log, "r");
    size_t n = 0, k = 0;
    const char *p;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strstr(buf, "listening on ");
    if (!p || !strchr(p, '\n'))
        return false;
    p += strlen("listening on ");
    while (p[k] && p[k] != '\n' && p[k] != ' ' && k + 1 < cap)
        k++;
    memcpy(url, p, k);
    url[k] = '\0';
    return k > 0;
}

void bc_server_start(bc_server *s, const char *bin, const char *db,
                     unsigned threads, const char *const *extra,
                     const bc_tmp *tmp)
{
    const char *argv[32];
    char th[16];
    int argc = 0, status;

    memset(s, 0, sizeof *s);
    bc_tmp_path(tmp, "server.log", s->log, sizeof s->log);
    snprintf(th, sizeof th, "%u", threads);
    argv[argc++] = bin;
    /* A PostgreSQL connection string (key=value or URI) is a --store. */
    argv[argc++] = strchr(db, '=') || strncmp(db, "postgres", 8) == 0 ? "--store"
                                                                      : "--db";
    argv[argc++] = db;
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--threads";
    argv[argc++] = th;
    for (; extra && *extra && argc < 28; extra++)
        argv[argc++] = *extra;
    argv[argc++] = "serve";
    argv[argc] = NULL;
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0)
        bc_die("fork: %s", strerror(errno));
    if (s->pid == 0) {
        if (!freopen(s->log, "w", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        setvbuf(stdout, NULL, _IOLBF, 0);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    /* Bounded wait: 300 x 50 ms. */
    for (int i = 0; i < 300; i++) {
        if (read_listen_url(s->log, s->url, sizeof s->url))
            return;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            bc_die("sync-server exited at start (see %s)", s->log);
        }
        bc_sleep_ms(50);
    }
    bc_server_stop(s);
    bc_die("sync-server did not start listening within 15 s");
}

static double ru_cpu_ms(const struct rusage *ru)
{
    return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e3 +
           (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e3;
}

int bc_server_stop(bc_server *s)
{
    struct rusage ru;
    int status = 0;

    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 600; i++) {  /* 30 s */
        pid_t r = wait4(s->pid, &status, WNOHANG, &ru);
        if (r == s->pid) {
            s->pid = 0;
            s->cpu_ms = ru_cpu_ms(&ru);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        }
        bc_sleep_ms(50);
    }
    kill(s->pid, SIGKILL);
    wait4(s->pid, &status, 0, &ru);
    s->pid = 0;
    s->cpu_ms = ru_cpu_ms(&ru);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Populating                                                                */
/* ------------------------------------------------------------------------ */

#define T0_MS INT64_C(1730419200000) /* 2024-11-01 */
#define DAY_MS INT64_C(86400000)

static const char *const words[] = {
    "customer", "asked", "about", "the", "new", "price", "list", "for", "next",
    "quarter", "and", "wants", "a", "demo", "of", "premium", "line", "met",
    "with", "purchasing", "manager", "who", "is", "happy", "delivery", "times",
    "but", "concerned", "invoice", "errors", "last", "month", "shelf", "space",
    "in", "store", "was", "reduced", "competitor", "offered", "discount", "ten",
    "percent", "on", "bulk", "orders", "follow", "up", "call", "needed",
    "before", "friday", "samples", "left", "at", "reception", "owner", "will",
};
#define NWORDS (sizeof words / sizeof words[0])

typedef struct gen {
    uint64_t rnd;
    fs_id server_dev;
    fs_hlc hlc;          /* increasing stamp for every written cell */
    fs_store *store;
    int64_t seq;
} gen;

static void words_text(gen *g, char *out, size_t cap, size_t target)
{
    size_t n = 0;

    out[0] = '\0';
    while (n + 16 < cap && n < target) {
        const char *w = words[bc_rnd(&g->rnd) % NWORDS];
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? " " : "", w);
    }
}

static fs_id gen_id(gen *g, int64_t ms)
{
    uint8_t r[10];
    uint64_t a = bc_rnd(&g->rnd), b = bc_rnd(&g->rnd);
    fs_id id;

    memcpy(r, &a, 8);
    memcpy(r + 8, &b, 2);
    fs_id_from_parts((uint64_t)ms, r, &id);
    return id;
}

static void cell_set(gen *g, fs_row *row, const char *field, fs_value v)
{
    int i = fs_entity_field_index(row->entity, field);

    if (i < 0)
        bc_die("schema has no %s.%s", row->entity->name, field);
    row->cells[i].v = v; /* the row owns text values now */
    row->cells[i].hlc = g->hlc++;
    row->cells[i].device = g->server_dev;
}

static void cell_text(gen *g, fs_row *row, const char *field, const char *s)
{
    fs_value v = {0};

    if (fs_value_text(&v, s, strlen(s), NULL) != FS_OK)
        bc_die("out of memory");
    cell_set(g, row, field, v);
}

static void save(gen *g, fs_row *row, const fs_id *root)
{
    fs_error err = {0};

    if (fs_store_save(g->store, row, ++g->seq, root, &err) != FS_STORE_OK)
        bc_die("store save: %s", err.text);
    fs_row_free(row);
}

static void new_row(fs_row *row, const char *entity, const fs_id *id)
{
    memset(row, 0, sizeof *row);
    if (fs_row_init(row, fs_schema_entity(entity), id, NULL) != FS_OK)
        bc_die("row init %s", entity);
}

/* One customer and its 7 children (2 contacts, 4 visits, 1 quote). */
static void gen_customer(gen *g, const char *territory, const char *rep,
                         fs_id *cust_out, fs_id *visits_out)
{
    char text[400];
    int64_t ms = T0_MS - (int64_t)(bc_rnd(&g->rnd) % (365 * DAY_MS));
    fs_id cid = gen_id(g, ms), id;
    double lat = 45 + (double)(bc_rnd(&g->rnd) % 100000) / 10000.0;
    double lon = 5 + (double)(bc_rnd(&g->rnd) % 100000) / 10000.0;
    fs_row row;

    new_row(&row, "customer", &cid);
    words_text(g, text, sizeof text, 24);
    cell_text(g, &row, "name", text);
    snprintf(text, sizeof text, "%u Market Street, Springfield %05u",
             (unsigned)(bc_rnd(&g->rnd) % 999), (unsigned)(bc_rnd(&g->rnd) % 99999));
    cell_text(g, &row, "address", text);
    cell_set(g, &row, "lat", fs_value_real(lat));
    cell_set(g, &row, "lon", fs_value_real(lon));
    cell_text(g, &row, "phone", "+33 1 23 45 67 89");
    cell_text(g, &row, "tags", "retail,key-account");
    cell_text(g, &row, "segment", "B");
    cell_text(g, &row, "territory", territory);
    save(g, &row, &cid);
    *cust_out = cid;

    for (int k = 0; k < 2; k++) {
        id = gen_id(g, ms + k + 1);
        new_row(&row, "contact", &id);
        cell_set(g, &row, "customer_id", fs_value_idv(&cid));
        words_text(g, text, sizeof text, 16);
        cell_text(g, &row, "name", text);
        cell_text(g, &row, "title", "Purchasing manager");
        cell_text(g, &row, "phone", "+33 6 12 34 56 78");
        cell_text(g, &row, "email", "buyer@example.com");
        save(g, &row, &cid);
    }
    for (int k = 0; k < 4; k++) {
        int64_t at = ms + (k + 1) * 7 * DAY_MS;
        id = gen_id(g, at);
        new_row(&row, "visit", &id);
        cell_set(g, &row, "customer_id", fs_value_idv(&cid));
        cell_text(g, &row, "rep_id", rep);
        cell_set(g, &row, "planned_at", fs_value_int(at));
        cell_set(g, &row, "checkin_at", fs_value_int(at + 60000));
        cell_set(g, &row, "checkin_lat", fs_value_real(lat + 0.0001));
        cell_set(g, &row, "checkin_lon", fs_value_real(lon - 0.0001));
        cell_text(g, &row, "status", "completed");
        cell_text(g, &row, "outcome", "order placed");
        words_text(g, text, sizeof text, 200);
        cell_text(g, &row, "notes", text);
        cell_text(g, &row, "verification", "verified");
        save(g, &row, &cid);
        visits_out[k] = id;
    }
    id = gen_id(g, ms + 5);
    new_row(&row, "quote", &id);
    cell_set(g, &row, "customer_id", fs_value_idv(&cid));
    cell_text(g, &row, "rep_id", rep);
    cell_text(g, &row, "currency", "EUR");
    cell_text(g, &row, "status", "sent");
    /* Valid for 30 days from now (wall clock), not from the row's synthetic
     * date: a sent quote past its date is expired by the server's
     * once-a-minute job, and at start that job rewrote every generated
     * quote (25k at 200k rows) in one write transaction, racing the bench's
     * enrollment (10 s busy timeout) and the bootstrap it measured. */
    cell_set(g, &row, "valid_until",
             fs_value_int((int64_t)time(NULL) * 1000 + 30 * DAY_MS));
    cell_set(g, &row, "discount", fs_value_int(500));
    save(g, &row, &cid);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        bc_die("%s: %s", sql, msg ? msg : "?");
}

/* Reps, territories and codes through the server library's admin calls. */
static void populate_admin(const char *db, size_t nreps, size_t codes_per_rep,
                           char (*codes)[FSS_CODE_LEN + 1], bc_scope *scopes)
{
    fss_config cfg;
    fss_server *s = NULL;
    fs_error err = {0};
    char name[64];

    fss_config_default(&cfg);
    cfg.db_path = db;
    if (fss_server_open(&cfg, &s, &err) != FSS_OK)
        bc_die("open store %s: %s", db, err.text);
    for (size_t r = 0; r < nreps; r++) {
        bc_scope *sc = &scopes[r];
        memset(sc, 0, sizeof *sc);
        snprintf(sc->territory, sizeof sc->territory, "t%zu", r);
        snprintf(name, sizeof name, "Rep %zu", r);
        if (fss_admin_territory_add(s, sc->territory, NULL, &err) != FSS_OK ||
            fss_admin_rep_add(s, name, NULL, &sc->rep, &err) != FSS_OK ||
            fss_admin_rep_territory(s, &sc->rep, sc->territory, true, &err) != FSS_OK)
            bc_die("admin setup: %s", err.text);
        for (size_t k = 0; k < codes_per_rep; k++)
            if (fss_admin_enroll_code(s, &sc->rep, 0, codes[r * codes_per_rep + k],
                                      &err) != FSS_OK)
                bc_die("enroll code: %s", err.text);
    }
    fss_server_close(s);
}

void bc_populate(const char *db, size_t nreps, size_t rows_per_rep,
                 size_t codes_per_rep, char (*codes)[FSS_CODE_LEN + 1],
                 bc_scope *scopes, uint64_t seed)
{
    sqlite3 *conn = NULL;
    sqlite3_stmt *st = NULL;
    gen g;
    fs_error err = {0};
    size_t ncust = (rows_per_rep + BC_ROWS_PER_CUSTOMER - 1) / BC_ROWS_PER_CUSTOMER;
    char rep[FS_ID_STRLEN + 1];

    populate_admin(db, nreps, codes_per_rep, codes, scopes);
    memset(&g, 0, sizeof g);
    g.rnd = seed ? seed : 88172645463325252ull;
    g.hlc = fs_hlc_make((uint64_t)(T0_MS - 400 * DAY_MS), 0);
    if (fs_id_parse("00000000-0000-0000-0000-00000000f5f5", 36, &g.server_dev,
                    NULL) != FS_OK)
        bc_die("server device id");
    if (sqlite3_open(db, &conn) != SQLITE_OK)
        bc_die("open %s", db);
    sqlite3_busy_timeout(conn, 10000);
    /* A million rows in one transaction, into tables whose indexes (the
     * migrations' included) are written in random order: with SQLite's
     * default 2 MB page cache most inserts re-read evicted index pages
     * from the OS (668 s for the console bench's store on a loaded
     * machine). A cache that holds the whole store writes each page once. */
    exec_sql(conn, "PRAGMA cache_size = -1048576");
    exec_sql(conn, "BEGIN IMMEDIATE");
    if (fs_store_open(conn, "", &g.store, &err) != FS_STORE_OK)
        bc_die("store open: %s", err.text);
    if (sqlite3_prepare_v2(conn, "SELECT value FROM fss_meta WHERE key = 'seq'", -1,
                           &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        bc_die("read seq: %s", sqlite3_errmsg(conn));
    g.seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (size_t r = 0; r < nreps; r++) {
        bc_scope *sc = &scopes[r];
        sc->customers = calloc(ncust ? ncust : 1, sizeof *sc->customers);
        sc->visits = calloc(ncust ? 4 * ncust : 1, sizeof *sc->visits);
        if (!sc->customers || !sc->visits)
            bc_die("out of memory");
        fs_id_format(&sc->rep, rep);
        for (size_t i = 0; i < ncust; i++)
            gen_customer(&g, sc->territory, rep, &sc->customers[i],
                         &sc->visits[4 * i]);
        sc->ncustomers = ncust;
        sc->nvisits = 4 * ncust;
    }
    fs_store_close(g.store);
    if (sqlite3_prepare_v2(conn, "UPDATE fss_meta SET value = ?1 WHERE key = 'seq'",
                           -1, &st, NULL) != SQLITE_OK)
        bc_die("seq: %s", sqlite3_errmsg(conn));
    sqlite3_bind_int64(st, 1, g.seq);
    if (sqlite3_step(st) != SQLITE_DONE)
        bc_die("seq: %s", sqlite3_errmsg(conn));
    sqlite3_finalize(st);
    exec_sql(conn, "COMMIT");
    exec_sql(conn, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(conn);
}

void bc_scope_free(bc_scope *sc)
{
    free(sc->customers);
    free(sc->visits);
    memset(sc, 0, sizeof *sc);
}

/* ------------------------------------------------------------------------ */
/* Raw-protocol device                                                       */
/* ------------------------------------------------------------------------ */

#define BC_MAX_REPLY (16u << 20)

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    bc_reply *r = ud;
    size_t add = sz * n;
    uint8_t *nb;

    if (r->len + add > BC_MAX_REPLY)
        return 0;
    nb = realloc(r->body, r->len + add + 1);
    if (!nb)
        return 0;
    r->body = nb;
    memcpy(r->body + r->len, p, add);
    r->len += add;
    return add;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    bc_reply *r = ud;
    size_t len = sz * n, k = 0;
    static const char name[] = "content-encoding:";

    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        const char *v = p + sizeof name - 1;
        size_t vl = len - (sizeof name - 1);
        while (vl && *v == ' ') {
            v++;
            vl--;
        }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        k = vl < sizeof r->cenc - 1 ? vl : sizeof r->cenc - 1;
        memcpy(r->cenc, v, k);
        r->cenc[k] = '\0';
    }
    return len;
}

/* One POST on the device's handle (reused: keep-alive). */
static void post(bc_device *d, const char *path, const char *token,
                 const fs_proto_buf *body, const char *cenc, bc_reply *r)
{
    struct curl_slist *hl = NULL;
    char url[256], auth[FS_PROTO_TOKEN_MAX + 40], ce[64];
    CURLcode cc;

    memset(r, 0, sizeof *r);
    if (!d->h && !(d->h = curl_easy_init())) {
        snprintf(r->err, sizeof r->err, "curl_easy_init failed");
        return;
    }
    snprintf(url, sizeof url, "%s%s", d->url, path);
    hl = curl_slist_append(hl, "Content-Type: application/x-protobuf");
    hl = curl_slist_append(hl, "Expect:");
    snprintf(ce, sizeof ce, "Content-Encoding: %s", cenc);
    hl = curl_slist_append(hl, ce);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, auth);
    }
    curl_easy_reset(d->h);
    curl_easy_setopt(d->h, CURLOPT_URL, url);
    curl_easy_setopt(d->h, CURLOPT_POST, 1L);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, (const char *)body->data);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(d->h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(d->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(d->h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(d->h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(d->h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(d->h);
    if (cc != CURLE_OK) {
        snprintf(r->err, sizeof r->err, "%s", curl_easy_strerror(cc));
        r->status = 0;
    } else {
        curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &r->status);
    }
    curl_slist_free_all(hl);
}

/* The ErrorBody message of a refusal, for the error report. */
static void refusal(const bc_reply *r, char *err, size_t cap)
{
    fs_error_body eb;
    fs_proto_encoding enc = FS_PROTO_IDENTITY;

    memset(&eb, 0, sizeof eb);
    fs_proto_encoding_parse(r->cenc, strlen(r->cenc), &enc, NULL);
    if (fs_proto_error_body_decode(r->body, r->len, enc, NULL, &eb, NULL, NULL) ==
        FS_PROTO_OK)
        snprintf(err, cap, "HTTP %ld: %.120s", r->status, eb.message);
    else
        snprintf(err, cap, "HTTP %ld", r->status);
}

long bc_device_enroll(bc_device *d, const char *url, const char *code,
                      char *err, size_t cap)
{
    fs_enroll_request rq;
    fs_enroll_response rs;
    fs_proto_buf b = {0};
    fs_error perr = {0};
    bc_reply r;
    long status;

    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    snprintf(rq.code, sizeof rq.code, "%s", code);
    snprintf(rq.device_name, sizeof rq.device_name, "bench device");
    snprintf(d->url, sizeof d->url, "%s", url);
    if (fs_proto_enroll_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &b, &perr))
        bc_die("encode enroll: %s", perr.text);
    post(d, "/v1/enroll", NULL, &b, "identity", &r);
    fs_proto_buf_free(&b);
    status = r.status;
    if (status == 0) {
        snprintf(err, cap, "%s", r.err);
    } else if (status != 200) {
        refusal(&r, err, cap);
    } else {
        memset(&rs, 0, sizeof rs);
        if (fs_proto_enroll_response_decode(r.body, r.len, FS_PROTO_IDENTITY, NULL,
                                            &rs, NULL, &perr) != FS_PROTO_OK) {
            snprintf(err, cap, "enroll answer: %s", perr.text);
            status = 0;
        } else {
            d->id = rs.device_id;
            d->rep = rs.rep_id;
            snprintf(d->token, sizeof d->token, "%s", rs.token);
            d->clock = rs.server_time;
            d->cursor = 0;
        }
    }
    free(r.body);
    return status;
}

long bc_device_sync(bc_device *d, fs_change *changes, size_t n, uint32_t page,
                    fs_sync_response *resp, char *err, size_t cap)
{
    fs_sync_request rq;
    fs_proto_buf b = {0};
    fs_error perr = {0};
    fs_proto_encoding enc = FS_PROTO_IDENTITY;
    bc_reply r;
    long status;

    memset(&rq, 0, sizeof rq);
    memset(resp, 0, sizeof *resp);
    rq.version = FS_PROTO_VERSION;
    rq.device_id = d->id;
    if (fs_id_new((uint64_t)time(NULL) * 1000, &rq.batch_id, NULL) != FS_OK)
        bc_die("batch id");
    rq.cursor = d->cursor;
    rq.page_size = page;
    rq.client_time = d->clock;
    rq.changes = changes;
    rq.nchanges = n;
    if (fs_proto_sync_request_encode(&rq, FS_PROTO_DEFLATE, NULL, &b, &perr))
        bc_die("encode sync: %s", perr.text);
    post(d, "/v1/sync", d->token, &b, "deflate", &r);
    fs_proto_buf_free(&b);
    status = r.status;
    if (status == 0) {
        snprintf(err, cap, "%s", r.err);
    } else if (status != 200) {
        refusal(&r, err, cap);
    } else if (fs_proto_encoding_parse(r.cenc, strlen(r.cenc), &enc, NULL) ||
               fs_proto_sync_response_decode(r.body, r.len, enc, NULL, resp, NULL,
                                             &perr) != FS_PROTO_OK) {
        snprintf(err, cap, "undecodable sync answer: %s", perr.text);
        status = 0;
    } else if (resp->nresults != n) {
        snprintf(err, cap, "%zu results for %zu changes", resp->nresults, n);
        fs_proto_sync_response_free(resp);
        status = 0;
    } else {
        fs_hlc folded;
        d->cursor = resp->next_cursor;
        if (fs_hlc_recv(&d->clock, (uint64_t)time(NULL) * 1000, resp->server_time,
                        &folded, NULL) != FS_OK)
            d->clock = resp->server_time;
    }
    free(r.body);
    return status;
}

void bc_device_close(bc_device *d)
{
    if (d->h)
        curl_easy_cleanup(d->h);
    d->h = NULL;
}

fs_hlc bc_device_stamp(bc_device *d)
{
    struct timespec ts;
    fs_hlc out = 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (fs_hlc_tick(&d->clock, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
                    &out, NULL) != FS_OK)
        bc_die("hlc tick");
    return out;
}

void bc_change_text(bc_device *d, fs_change *c, const char *entity,
                    const fs_id *row, const char *field, const char *text)
{
    fs_value v = {0};

    if (fs_change_init(c, fs_schema_entity(entity), row, &d->id, NULL) != FS_OK ||
        fs_value_text(&v, text, strlen(text), NULL) != FS_OK ||
        fs_change_set_named(c, field, &v, bc_device_stamp(d), NULL) != FS_OK)
        bc_die("build change %s.%s", entity, field);
    fs_value_clear(&v);
}
