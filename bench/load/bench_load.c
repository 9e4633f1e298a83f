/*
 * bench_load.c - many simulated devices doing incremental syncs against the
 * real sync-server binary over loopback (issue #7 item 6). Model and
 * choices are in bench/load/README.md; in short, per device count D (100,
 * 500, 1000; --quick: 20, 50, 100):
 *
 *  - A fresh central store with 50 reps, each in its own territory with 240
 *    rows (30 customers with contacts, visits, quotes); D devices spread
 *    round-robin over the reps. Populating, enrolling and each device's
 *    catch-up pull happen before the measured phase and are not timed.
 *  - One thread per device, each with its own libcurl easy handle, so each
 *    device keeps its own keep-alive connection to the server, as real
 *    devices would (D open connections at the server). Blocking loops,
 *    bounded by K syncs per device and by a wall-time cap for the phase.
 *  - "Evening reconnect": every device comes online at a uniformly random
 *    moment in a ramp window, then does K syncs separated by a uniformly
 *    random think time; each sync pushes 1-5 edits of rows in its rep's
 *    scope and pulls (repeating while has_more, at most 10 requests).
 *  - Latency is libcurl's total time of one request (connect reuse, send,
 *    server, receive); encode/decode on the generator side is excluded.
 *    Errors: any non-200 answer or network error; the first few are printed.
 *
 *  - "Closed loop" (--closed): the server's ceiling. C devices each sync
 *    again as soon as the answer arrives (no think time), C = 1, 2, 4, ...
 *    doubling for a fixed step time each, until p99 passes 250 ms; the
 *    saturation figure is the best requests/s (and its rows/s) of a step
 *    whose p99 stayed under 250 ms.
 *  - "Morning" (--morning): N devices (10,000) each come online once at a
 *    uniformly random moment in a 60 s window, on a fresh connection, do
 *    one incremental sync and go offline. A pool of generator threads runs
 *    the arrivals in order; how late an arrival started is reported, so a
 *    generator that could not keep up is seen, not hidden.
 *  - The devices are spread round-robin over one or more servers: N
 *    processes of the binary on the same store (--servers N), or running
 *    servers named with --url (repeatable) on a store the bench populates
 *    at --store before they are started. --pg CONNINFO: the spawned
 *    servers use that empty PostgreSQL database, which gets the populated
 *    store through `sync-server copy-store` (not timed).
 *
 * Output: BENCH lines on stdout, progress and the first errors on stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "bench_common.h"

#define NREPS 50
#define ROWS_PER_REP 240
#define MAX_SERVERS 16
#define P99_LIMIT_MS 250.0
#define MAX_PUSH 5            /* edits per sync: 1..MAX_PUSH */
#define MAX_REQ_PER_SYNC 10   /* has_more rounds within one sync */
#define CATCHUP_ROUNDS 100    /* bound on the untimed catch-up pull */
#define MAX_ERRORS_SHOWN 5
#define DEVICE_STACK (256 * 1024)

/* The closed loop's case name: "closed", or "closed_pg<N>" for N spawned
 * servers on PostgreSQL (--pg), so one run.sh table holds both. */
static char closed_label[24] = "closed";

typedef enum load_mode { LOAD_EVENING, LOAD_CLOSED, LOAD_MORNING } load_mode;

typedef struct load_params {
    load_mode mode;
    size_t devices;           /* closed loop: the most devices of a step */
    size_t nreps, rows_per_rep;
    unsigned workers;         /* morning: generator threads */
    double step_ms;           /* closed loop: duration of one step */
    unsigned syncs;           /* K per device */
    double ramp_ms;           /* arrivals spread over this window */
    double think_min_ms, think_max_ms;
    double cap_ms;            /* no request starts after this (phase time) */
    unsigned threads;         /* server worker threads */
} load_params;

/* Shared by all device threads of one case. */
typedef struct load_run {
    const load_params *p;
    const char *const *urls;  /* device i talks to urls[i % nurls] */
    size_t nurls;
    pid_t pids[MAX_SERVERS];  /* spawned servers (none with --url) */
    size_t npids;
    char (*codes)[FSS_CODE_LEN + 1];
    size_t codes_per_rep;
    const bc_scope *scopes;
    pthread_barrier_t ready;  /* devices enrolled and caught up */
    pthread_barrier_t go;     /* t0 set: the phase starts */
    double t0;                /* phase start, written before `go` opens */
    pthread_mutex_t mu;       /* guards the error list below */
    size_t errors;
    char first_errors[MAX_ERRORS_SHOWN][200];
} load_run;

/* One simulated device; written by its thread only, read after join. */
typedef struct device_ctx {
    load_run *run;
    size_t index;
    bc_device dev;
    uint64_t rnd;
    double *lat_ms;           /* one per request of the phase (grows) */
    size_t nlat, cap;
    size_t rows_pushed, rows_pulled, syncs_done;
    bool ready;               /* enrolled and caught up */
} device_ctx;

static void record_error(load_run *run, size_t dev, const char *what,
                         const char *msg)
{
    pthread_mutex_lock(&run->mu);
    if (run->errors < MAX_ERRORS_SHOWN)
        snprintf(run->first_errors[run->errors], sizeof run->first_errors[0],
                 "device %zu %s: %.150s", dev, what, msg);
    run->errors++;
    pthread_mutex_unlock(&run->mu);
}

static double uniform(uint64_t *rnd, double lo, double hi)
{
    return lo + (hi - lo) * (double)(bc_rnd(rnd) % 1000001) / 1e6;
}

/* Enroll and pull the rep's scope (not timed). */
static bool device_setup(device_ctx *d)
{
    load_run *run = d->run;
    size_t rep = d->index % run->p->nreps, k = d->index / run->p->nreps;
    char err[200];
    long st = bc_device_enroll(&d->dev, run->urls[d->index % run->nurls],
                               run->codes[rep * run->codes_per_rep + k], err,
                               sizeof err);

    if (st != 200) {
        record_error(run, d->index, "enroll", err);
        return false;
    }
    for (unsigned r = 0; r < CATCHUP_ROUNDS; r++) {
        fs_sync_response resp;
        bool more;
        st = bc_device_sync(&d->dev, NULL, 0, 0, &resp, err, sizeof err);
        if (st != 200) {
            record_error(run, d->index, "catch-up", err);
            return false;
        }
        more = resp.has_more;
        fs_proto_sync_response_free(&resp);
        if (!more)
            return true;
    }
    record_error(run, d->index, "catch-up", "did not finish");
    return false;
}

/* Builds 1..MAX_PUSH edits of rows in the device's rep scope. */
static size_t build_edits(device_ctx *d, fs_change *ch)
{
    const bc_scope *sc = &d->run->scopes[d->index % d->run->p->nreps];
    size_t n = 1 + bc_rnd(&d->rnd) % MAX_PUSH;
    char text[96];

    for (size_t i = 0; i < n; i++) {
        if (bc_rnd(&d->rnd) % 4 == 0) {
            const fs_id *cu = &sc->customers[bc_rnd(&d->rnd) % sc->ncustomers];
            snprintf(text, sizeof text, "+33 6 %02u %02u %02u %02u",
                     (unsigned)(bc_rnd(&d->rnd) % 100), (unsigned)(d->index % 100),
                     (unsigned)(i % 100), (unsigned)(bc_rnd(&d->rnd) % 100));
            bc_change_text(&d->dev, &ch[i], "customer", cu, "phone", text);
        } else {
            const fs_id *v = &sc->visits[bc_rnd(&d->rnd) % sc->nvisits];
            snprintf(text, sizeof text, "device %zu: call back next week (%zu)",
                     d->index, d->syncs_done);
            bc_change_text(&d->dev, &ch[i], "visit", v, "next_step", text);
        }
    }
    return n;
}

static void add_latency(device_ctx *d)
{
    curl_off_t us = 0;

    if (d->nlat == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        double *g = realloc(d->lat_ms, cap * sizeof *g);
        if (!g)
            bc_die("out of memory");
        d->lat_ms = g;
        d->cap = cap;
    }
    curl_easy_getinfo(d->dev.h, CURLINFO_TOTAL_TIME_T, &us);
    d->lat_ms[d->nlat++] = (double)us / 1000.0;
}

/* One sync: push the edits, then pull while has_more. False on an error. */
static bool device_sync(device_ctx *d)
{
    fs_change ch[MAX_PUSH];
    size_t n = build_edits(d, ch);
    char err[200];
    bool ok = true;

    for (unsigned r = 0; r < MAX_REQ_PER_SYNC; r++) {
        fs_sync_response resp;
        long st = bc_device_sync(&d->dev, r == 0 ? ch : NULL, r == 0 ? n : 0, 0,
                                 &resp, err, sizeof err);
        bool more;

        add_latency(d);
        if (st != 200) {
            record_error(d->run, d->index, "sync", err);
            ok = false;
            break;
        }
        if (r == 0)
            d->rows_pushed += n;
        d->rows_pulled += resp.nrows;
        more = resp.has_more;
        fs_proto_sync_response_free(&resp);
        if (!more)
            break;
    }
    for (size_t i = 0; i < n; i++)
        fs_change_free(&ch[i]);
    return ok;
}

static void *device_main(void *arg)
{
    device_ctx *d = arg;
    load_run *run = d->run;
    const load_params *p = run->p;
    double start;

    d->ready = device_setup(d);
    pthread_barrier_wait(&run->ready);
    pthread_barrier_wait(&run->go);
    if (!d->ready)
        return NULL;
    /* Arrival in the ramp window, then K syncs with think time between. */
    start = run->t0 + uniform(&d->rnd, 0, p->ramp_ms);
    bc_sleep_ms(start - bc_now_ms());
    for (unsigned k = 0; k < p->syncs; k++) {
        if (bc_now_ms() - run->t0 > p->cap_ms)
            break;
        if (!device_sync(d))
            break;
        d->syncs_done++;
        if (k + 1 < p->syncs)
            bc_sleep_ms(uniform(&d->rnd, p->think_min_ms, p->think_max_ms));
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Closed loop and morning                                                   */
/* ------------------------------------------------------------------------ */

/* A pool of threads working through devices[next..n): setup, or one morning
 * sync each. */
typedef struct pool {
    load_run *run;
    device_ctx *devs;
    size_t *order;            /* morning: device indexes by arrival time */
    double *arrival_ms;       /* morning: per device, from t0 */
    size_t n;
    atomic_size_t next;
    bool morning;
    double late_max_ms;       /* morning: worst start after its arrival */
    pthread_mutex_t mu;       /* guards late_max_ms */
} pool;

static void *pool_main(void *arg)
{
    pool *pl = arg;

    for (;;) {
        size_t k = atomic_fetch_add(&pl->next, 1), i;
        device_ctx *d;

        if (k >= pl->n)
            return NULL;
        i = pl->order ? pl->order[k] : k;
        d = &pl->devs[i];
        if (!pl->morning) {
            d->ready = device_setup(d);
            /* Offline until its phase: the next request opens a fresh
             * connection, as a device waking up would. */
            bc_device_close(&d->dev);
            continue;
        }
        if (!d->ready)
            continue;
        {
            double due = pl->run->t0 + pl->arrival_ms[i], late;
            bc_sleep_ms(due - bc_now_ms());
            late = bc_now_ms() - due;
            pthread_mutex_lock(&pl->mu);
            if (late > pl->late_max_ms)
                pl->late_max_ms = late;
            pthread_mutex_unlock(&pl->mu);
        }
        if (device_sync(d))
            d->syncs_done++;
        bc_device_close(&d->dev);
    }
}

static void run_pool(pool *pl, unsigned nthreads)
{
    pthread_t th[512];
    pthread_attr_t attr;
    unsigned started = 0;

    if (nthreads > 512)
        nthreads = 512;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, DEVICE_STACK);
    atomic_store(&pl->next, 0);
    for (unsigned t = 0; t < nthreads; t++) {
        if (pthread_create(&th[t], &attr, pool_main, pl) != 0)
            bc_die("pthread_create pool: %s", strerror(errno));
        started++;
    }
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_attr_destroy(&attr);
}

/* Totals of devs[0..n) since their counters were last reset. */
typedef struct totals {
    size_t nreq, rows, syncs, ready;
    double *all;              /* every latency, owned */
} totals;

static totals collect(device_ctx *devs, size_t n)
{
    totals t;
    size_t k = 0;

    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < n; i++) {
        t.nreq += devs[i].nlat;
        t.rows += devs[i].rows_pushed + devs[i].rows_pulled;
        t.syncs += devs[i].syncs_done;
        t.ready += devs[i].ready;
    }
    t.all = calloc(t.nreq ? t.nreq : 1, sizeof *t.all);
    if (!t.all)
        bc_die("out of memory");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < devs[i].nlat; j++)
            t.all[k++] = devs[i].lat_ms[j];
    return t;
}

static void reset_counters(device_ctx *devs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        devs[i].nlat = 0;
        devs[i].rows_pushed = devs[i].rows_pulled = devs[i].syncs_done = 0;
    }
}

/* CPU time (user + system, ms) the spawned servers have used so far: per
 * request it is a figure the neighbours on a shared box disturb far less
 * than throughput. 0 when the servers are not ours. */
static double servers_cpu_ms(const load_run *run)
{
    double ms = 0;
    long tick = sysconf(_SC_CLK_TCK);

    for (size_t i = 0; i < run->npids; i++) {
        char path[64], buf[1024], *p;
        unsigned long ut = 0, st = 0;
        FILE *f;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)run->pids[i]);
        if (!(f = fopen(path, "r")))
            continue;
        p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
        /* After "(comm)": state is field 3, utime 14 and stime 15. */
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                        &ut, &st) == 2)
            ms += (double)(ut + st) * 1000.0 / (double)(tick > 0 ? tick : 100);
        fclose(f);
    }
    return ms;
}

/* One closed-loop device: sync, sync, sync... until the step ends. */
typedef struct closed_arg {
    device_ctx *d;
    double end_ms;
} closed_arg;

static void *closed_main(void *arg)
{
    closed_arg *a = arg;

    while (bc_now_ms() < a->end_ms) {
        if (!device_sync(a->d))
            break;
        a->d->syncs_done++;
    }
    return NULL;
}

/* Appends an answer's bytes (servers_counter). */
static size_t grow_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    char **buf = userdata;
    size_t n = size * nmemb, had = *buf ? strlen(*buf) : 0;
    char *nb = realloc(*buf, had + n + 1);

    if (!nb)
        return 0;
    memcpy(nb + had, data, n);
    nb[had + n] = '\0';
    *buf = nb;
    return n;
}

/* A counter of the servers' GET /metrics (`name`, summed over the URLs the
 * devices use; 0 where a server does not say it): what the servers did
 * inside a step, e.g. pushes that read again under the counter's lock. */
static double servers_counter(const load_run *run, const char *name)
{
    double sum = 0;
    size_t nl = strlen(name);
    CURL *h = curl_easy_init();

    for (size_t i = 0; h && i < run->nurls; i++) {
        char url[600], *body = NULL;
        snprintf(url, sizeof url, "%s/metrics", run->urls[i]);
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
        const char *l = curl_easy_perform(h) == CURLE_OK ? body : NULL;
        while (l) {
            if (strncmp(l, name, nl) == 0 && l[nl] == ' ')
                sum += strtod(l + nl + 1, NULL);
            if ((l = strchr(l, '\n')) != NULL)
                l++;
        }
        free(body);
    }
    curl_easy_cleanup(h);
    return sum;
}

/* The ladder: C = 1, 2, 4, ... devices, each step p->step_ms long, until a
 * step's p99 passes P99_LIMIT_MS or C reaches p->devices. */
static void run_closed(const load_params *p, load_run *run, device_ctx *devs)
{
    size_t best_c = 0;
    double best_rps = 0, best_rows = 0, best_p99 = 0;
    closed_arg *args = calloc(p->devices, sizeof *args);
    pthread_t *th = calloc(p->devices, sizeof *th);
    pthread_attr_t attr;

    if (!args || !th)
        bc_die("out of memory");
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, DEVICE_STACK);
    for (size_t c = 1; c <= p->devices; c *= 2) {
        double t0, ms, p50, p99, rps, cpu0, cpu, reread0, kept0, lock0, lock;
        size_t started = 0;
        char cs[64];
        totals t;

        reset_counters(devs, c);
        reread0 = servers_counter(run, "fieldsync_push_rereads_total");
        kept0 = servers_counter(run, "fieldsync_push_reads_kept_total");
        lock0 = servers_counter(run, "fieldsync_write_lock_seconds_total");
        cpu0 = servers_cpu_ms(run);
        t0 = bc_now_ms();
        for (size_t i = 0; i < c; i++) {
            args[i].d = &devs[i];
            args[i].end_ms = t0 + p->step_ms;
            if (pthread_create(&th[i], &attr, closed_main, &args[i]) != 0)
                bc_die("pthread_create: %s", strerror(errno));
            started++;
        }
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        ms = bc_now_ms() - t0;
        cpu = servers_cpu_ms(run) - cpu0;
        t = collect(devs, c);
        rps = (double)t.nreq / (ms / 1000);
        p50 = bc_percentile(t.all, t.nreq, 50);
        p99 = bc_percentile(t.all, t.nreq, 99);
        snprintf(cs, sizeof cs, "%s_c%zu", closed_label, c);
        fprintf(stderr, "load %s: %zu requests in %.1f s, %.0f req/s, %.0f rows/s,"
                " p50 %.1f ms, p99 %.1f ms, max %.1f ms, %zu errors so far\n", cs,
                t.nreq, ms / 1000, rps, (double)t.rows / (ms / 1000), p50, p99,
                bc_percentile(t.all, t.nreq, 100), run->errors);
        bc_result("load", cs, "requests_per_s", rps, "req/s", 0, NULL);
        bc_result("load", cs, "rows_per_s", (double)t.rows / (ms / 1000), "rows/s", 0,
                  NULL);
        bc_result("load", cs, "p99_ms", p99, "ms", 0, NULL);
        if (run->npids && t.nreq)
            bc_result("load", cs, "server_cpu_us_per_request",
                      cpu * 1000.0 / (double)t.nreq, "us", 0, NULL);
        /* PostgreSQL: pushes whose counter moved while they read, made
         * again under the lock or kept (docs/ARCHITECTURE.md, "A push
         * takes the lock late") */
        bc_result("load", cs, "push_rereads",
                  servers_counter(run, "fieldsync_push_rereads_total") - reread0, "count",
                  0, NULL);
        bc_result("load", cs, "push_reads_kept",
                  servers_counter(run, "fieldsync_push_reads_kept_total") - kept0,
                  "count", 0, NULL);
        /* The one serialisation point every process shares: the share of
         * the step the write lock was held (summed over the processes),
         * and its hold per request. A lock busy x of the time caps what
         * more cores can add at about 1/x of this step's requests/s. */
        lock = servers_counter(run, "fieldsync_write_lock_seconds_total") - lock0;
        bc_result("load", cs, "write_lock_busy", lock / (ms / 1000), "share", 0, NULL);
        if (t.nreq)
            bc_result("load", cs, "write_lock_us_per_request",
                      lock * 1e6 / (double)t.nreq, "us", 0, NULL);
        if (p99 < P99_LIMIT_MS && rps > best_rps) {
            best_c = c;
            best_rps = rps;
            best_rows = (double)t.rows / (ms / 1000);
            best_p99 = p99;
        }
        free(t.all);
        if (p99 >= P99_LIMIT_MS)
            break;
    }
    bc_result("load", closed_label, "saturation_requests_per_s", best_rps, "req/s", 0,
              NULL);
    bc_result("load", closed_label, "saturation_rows_per_s", best_rows, "rows/s", 0,
              NULL);
    bc_result("load", closed_label, "saturation_devices", (double)best_c, "count", 0,
              NULL);
    bc_result("load", closed_label, "saturation_p99_ms", best_p99, "ms", 0, "<250");
    bc_result("load", closed_label, "errors", (double)run->errors, "count", 0, "0");
    pthread_attr_destroy(&attr);
    free(args);
    free(th);
}

static int cmp_arrival(const void *a, const void *b, void *ctx)
{
    const double *arr = ctx;
    double x = arr[*(const size_t *)a], y = arr[*(const size_t *)b];
    return (x > y) - (x < y);
}

/* Every device once, at a random moment of the window, on a fresh
 * connection. */
static void run_morning(const load_params *p, load_run *run, device_ctx *devs,
                        pool *pl)
{
    double ms, cpu0, cpu;
    uint64_t rnd = 0x6d6f726eull;
    char cs[48];
    totals t;

    pl->order = calloc(p->devices, sizeof *pl->order);
    pl->arrival_ms = calloc(p->devices, sizeof *pl->arrival_ms);
    if (!pl->order || !pl->arrival_ms)
        bc_die("out of memory");
    for (size_t i = 0; i < p->devices; i++) {
        pl->order[i] = i;
        pl->arrival_ms[i] = uniform(&rnd, 0, p->ramp_ms);
    }
    qsort_r(pl->order, p->devices, sizeof *pl->order, cmp_arrival, pl->arrival_ms);
    reset_counters(devs, p->devices);
    pl->morning = true;
    pl->late_max_ms = 0;
    cpu0 = servers_cpu_ms(run);
    run->t0 = bc_now_ms();
    run_pool(pl, p->workers);
    ms = bc_now_ms() - run->t0;
    cpu = servers_cpu_ms(run) - cpu0;
    t = collect(devs, p->devices);
    snprintf(cs, sizeof cs, "morning_%zu", p->devices);
    fprintf(stderr, "load %s: %zu/%zu devices synced, %zu requests in %.1f s,"
            " %zu rows, %zu errors, latest start %.0f ms after its arrival\n", cs,
            t.syncs, p->devices, t.nreq, ms / 1000, t.rows, run->errors,
            pl->late_max_ms);
    for (size_t i = 0; i < run->errors && i < MAX_ERRORS_SHOWN; i++)
        fprintf(stderr, "  error: %s\n", run->first_errors[i]);
    bc_result("load", cs, "devices_synced", (double)t.syncs, "count", 0, NULL);
    bc_result("load", cs, "phase_s", ms / 1000, "s", 0, NULL);
    bc_result("load", cs, "requests_per_s", (double)t.nreq / (ms / 1000), "req/s", 0,
              NULL);
    bc_result("load", cs, "rows_per_s", (double)t.rows / (ms / 1000), "rows/s", 0,
              NULL);
    bc_result("load", cs, "p50_ms", bc_percentile(t.all, t.nreq, 50), "ms", 0, NULL);
    bc_result("load", cs, "p99_ms", bc_percentile(t.all, t.nreq, 99), "ms", 0, "<250");
    bc_result("load", cs, "max_ms", bc_percentile(t.all, t.nreq, 100), "ms", 0, NULL);
    bc_result("load", cs, "errors", (double)run->errors, "count", 0, "0");
    bc_result("load", cs, "generator_late_max_ms", pl->late_max_ms, "ms", 0, NULL);
    if (run->npids && t.nreq)
        bc_result("load", cs, "server_cpu_us_per_request", cpu * 1000.0 / (double)t.nreq,
                  "us", 0, NULL);
    free(t.all);
    free(pl->order);
    free(pl->arrival_ms);
    pl->order = NULL;
    pl->arrival_ms = NULL;
}

/* ------------------------------------------------------------------------ */
/* One case                                                                  */
/* ------------------------------------------------------------------------ */

static void report(const load_params *p, load_run *run, device_ctx *devs,
                   double phase_ms, long server_kib)
{
    char cs[32];
    totals t = collect(devs, p->devices);

    snprintf(cs, sizeof cs, "%zu_devices", p->devices);
    fprintf(stderr, "load %s: %zu/%zu devices ready, %zu syncs, %zu requests in"
            " %.1f s, %zu rows, %zu errors\n", cs, t.ready, p->devices, t.syncs,
            t.nreq, phase_ms / 1000, t.rows, run->errors);
    for (size_t i = 0; i < run->errors && i < MAX_ERRORS_SHOWN; i++)
        fprintf(stderr, "  error: %s\n", run->first_errors[i]);
    bc_result("load", cs, "requests_per_s", (double)t.nreq / (phase_ms / 1000), "req/s",
              0, NULL);
    bc_result("load", cs, "rows_per_s", (double)t.rows / (phase_ms / 1000),
              "rows/s", 0, NULL);
    bc_result("load", cs, "p50_ms", bc_percentile(t.all, t.nreq, 50), "ms", 0, NULL);
    bc_result("load", cs, "p99_ms", bc_percentile(t.all, t.nreq, 99), "ms", 0,
              p->devices >= 1000 ? "<250" : NULL);
    bc_result("load", cs, "max_ms", bc_percentile(t.all, t.nreq, 100), "ms", 0, NULL);
    bc_result("load", cs, "errors", (double)run->errors, "count", 0, "0");
    if (server_kib > 0)
        bc_result("load", cs, "server_peak_rss_mib", server_kib / 1024.0, "MiB", 0,
                  NULL);
    free(t.all);
}

/* Where the servers are: spawned by the bench (n processes of bin on the
 * store) or running already (urls given, on a store populated at `store`). */
typedef struct server_set {
    const char *bin;
    unsigned nspawn;
    const char *urls[MAX_SERVERS];
    size_t nurls;
    const char *store;        /* --store: populate here (external servers) */
    const char *pg;           /* --pg: spawned servers on this PostgreSQL */
} server_set;

/* Copies the populated SQLite store at db into the empty PostgreSQL
 * database pg with the binary's own copy-store (verified rep by rep). */
static void copy_to_pg(const char *bin, const char *db, const char *pg)
{
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        bc_die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(bin, bin, "copy-store", "--from", db, "--to", pg, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        bc_die("%s copy-store --from %s --to %s failed", bin, db, pg);
}

/* Waits (at most 10 minutes) until every external server answers HTTP. */
static void wait_for_servers(const server_set *ss)
{
    CURL *h = curl_easy_init();

    if (!h)
        bc_die("curl_easy_init");
    for (size_t i = 0; i < ss->nurls; i++) {
        for (int tries = 0;; tries++) {
            curl_easy_reset(h);
            curl_easy_setopt(h, CURLOPT_URL, ss->urls[i]);
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
            if (curl_easy_perform(h) == CURLE_OK)
                break;
            if (tries == 1200)
                bc_die("server %s did not answer within 10 minutes", ss->urls[i]);
            bc_sleep_ms(500);
        }
    }
    curl_easy_cleanup(h);
}

static void run_case(const load_params *p, const server_set *ss)
{
    bc_tmp tmp;
    bc_server srv[MAX_SERVERS];
    bc_tmp stmp[MAX_SERVERS];
    bc_scope *scopes = calloc(p->nreps, sizeof *scopes);
    load_run run;
    device_ctx *devs = calloc(p->devices, sizeof *devs);
    pthread_t *th = NULL;
    pthread_attr_t attr;
    size_t codes_per_rep = (p->devices + p->nreps - 1) / p->nreps, started = 0;
    const char *urls[MAX_SERVERS];
    char db[256];
    double phase_ms = 0, setup_t0;
    long server_kib = 0;
    pool pl;

    if (!devs || !scopes)
        bc_die("out of memory");
    memset(&run, 0, sizeof run);
    memset(&pl, 0, sizeof pl);
    run.p = p;
    run.codes_per_rep = codes_per_rep;
    run.codes = calloc(p->nreps * codes_per_rep, sizeof *run.codes);
    if (!run.codes)
        bc_die("out of memory");
    bc_tmp_make(&tmp, "bench-load");
    if (ss->nurls)
        snprintf(db, sizeof db, "%s", ss->store);
    else
        bc_tmp_path(&tmp, "central.db", db, sizeof db);
    fprintf(stderr, "load: populating %zu reps x %zu rows, %zu codes...\n", p->nreps,
            p->rows_per_rep, p->nreps * codes_per_rep);
    setup_t0 = bc_now_ms();
    bc_populate(db, p->nreps, p->rows_per_rep, codes_per_rep, run.codes, scopes,
                0x10ad);
    fprintf(stderr, "load: store ready at %s after %.1f s\n", db,
            (bc_now_ms() - setup_t0) / 1000);
    if (ss->pg) {
        setup_t0 = bc_now_ms();
        copy_to_pg(ss->bin, db, ss->pg);
        fprintf(stderr, "load: copied to PostgreSQL after %.1f s\n",
                (bc_now_ms() - setup_t0) / 1000);
    }
    if (ss->nurls) {
        for (size_t i = 0; i < ss->nurls; i++)
            urls[i] = ss->urls[i];
        run.nurls = ss->nurls;
        fprintf(stderr, "load: waiting for the servers at --url to answer\n");
        wait_for_servers(ss);
    } else {
        for (unsigned i = 0; i < ss->nspawn; i++) {
            /* Each server its own dir: its log holds its "listening" line. */
            bc_tmp_make(&stmp[i], "bench-load-server");
            bc_server_start(&srv[i], ss->bin, ss->pg ? ss->pg : db, p->threads, NULL,
                            &stmp[i]);
            urls[i] = srv[i].url;
            run.pids[i] = srv[i].pid;
            fprintf(stderr, "load: server %u (pid %d) at %s\n", i, (int)srv[i].pid,
                    srv[i].url);
        }
        run.nurls = ss->nspawn;
        run.npids = ss->nspawn;
    }
    run.urls = urls;
    run.scopes = scopes;
    pthread_mutex_init(&run.mu, NULL);
    pthread_mutex_init(&pl.mu, NULL);
    for (size_t i = 0; i < p->devices; i++) {
        devs[i].run = &run;
        devs[i].index = i;
        devs[i].rnd = 0x9e3779b97f4a7c15ull ^ (i + 1) * 0x100000001b3ull;
    }
    fprintf(stderr, "load %zu devices: enrolling and catching up...\n", p->devices);
    setup_t0 = bc_now_ms();
    if (p->mode == LOAD_EVENING) {
        th = calloc(p->devices, sizeof *th);
        if (!th)
            bc_die("out of memory");
        pthread_barrier_init(&run.ready, NULL, (unsigned)p->devices + 1);
        pthread_barrier_init(&run.go, NULL, (unsigned)p->devices + 1);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, DEVICE_STACK);
        for (size_t i = 0; i < p->devices; i++) {
            if (pthread_create(&th[i], &attr, device_main, &devs[i]) != 0)
                bc_die("pthread_create device %zu: %s", i, strerror(errno));
            started++;
        }
        /* Every device is enrolled and caught up once `ready` opens; the
         * phase clock starts then, and `go` publishes it to the devices. */
        pthread_barrier_wait(&run.ready);
        fprintf(stderr, "load %zu devices: ready after %.1f s; phase starts\n",
                p->devices, (bc_now_ms() - setup_t0) / 1000);
        run.t0 = bc_now_ms();
        pthread_barrier_wait(&run.go);
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        phase_ms = bc_now_ms() - run.t0;
        pthread_attr_destroy(&attr);
        pthread_barrier_destroy(&run.ready);
        pthread_barrier_destroy(&run.go);
    } else {
        size_t ready = 0;
        pl.run = &run;
        pl.devs = devs;
        pl.n = p->devices;
        run_pool(&pl, 32);
        for (size_t i = 0; i < p->devices; i++)
            ready += devs[i].ready;
        fprintf(stderr, "load %zu devices: %zu ready after %.1f s; phase starts\n",
                p->devices, ready, (bc_now_ms() - setup_t0) / 1000);
        if (run.errors)
            bc_die("setup failed (%zu errors; first: %s)", run.errors,
                   run.first_errors[0]);
    }
    if (p->mode == LOAD_CLOSED)
        run_closed(p, &run, devs);
    else if (p->mode == LOAD_MORNING)
        run_morning(p, &run, devs, &pl);
    for (size_t i = 0; i < run.nurls && !ss->nurls; i++) {
        long k = bc_vmhwm_kib(srv[i].pid);
        if (k > server_kib)
            server_kib = k;
    }
    if (p->mode == LOAD_EVENING)
        report(p, &run, devs, phase_ms, server_kib);
    else if (server_kib > 0)
        bc_result("load", p->mode == LOAD_CLOSED ? closed_label : "morning",
                  "server_peak_rss_mib", server_kib / 1024.0, "MiB", 0, NULL);
    for (size_t i = 0; i < p->devices; i++) {
        bc_device_close(&devs[i].dev);
        free(devs[i].lat_ms);
    }
    for (size_t i = 0; i < run.nurls && !ss->nurls; i++) {
        if (bc_server_stop(&srv[i]) != 0)
            fprintf(stderr, "bench_load: sync-server did not exit cleanly (%s)\n",
                    srv[i].log);
        fprintf(stderr, "load %zu devices: server %zu CPU %.1f s over its whole run"
                " (setup, catch-up and phase)\n", p->devices, i, srv[i].cpu_ms / 1000);
        bc_tmp_remove(&stmp[i]);
    }
    for (size_t r = 0; r < p->nreps; r++)
        bc_scope_free(&scopes[r]);
    pthread_mutex_destroy(&run.mu);
    pthread_mutex_destroy(&pl.mu);
    bc_tmp_remove(&tmp);
    free(run.codes);
    free(scopes);
    free(devs);
    free(th);
}

static void usage(void)
{
    bc_die("usage: bench_load [--quick] [--server PATH] [--threads N]\n"
           "         [--devices N (one evening case only)]\n"
           "         [--closed [MAX_DEVICES]] [--morning [DEVICES]]\n"
           "         [--servers N (processes on one store)]\n"
           "         [--url URL ... --store PATH (running servers)]\n"
           "         [--pg CONNINFO (spawned servers on PostgreSQL)]");
}

int main(int argc, char **argv)
{
    server_set ss;
    bool quick = false;
    unsigned threads = 4;
    load_mode mode = LOAD_EVENING;
    load_params p;
    size_t full[] = {100, 500, 1000}, small[] = {20, 50, 100}, only = 0;

    memset(&ss, 0, sizeof ss);
    ss.bin = SYNC_SERVER_BIN;
    ss.nspawn = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            ss.bin = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc)
            only = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--closed") == 0 || strcmp(argv[i], "--morning") == 0) {
            mode = argv[i][2] == 'c' ? LOAD_CLOSED : LOAD_MORNING;
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
                only = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--servers") == 0 && i + 1 < argc)
            ss.nspawn = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc && ss.nurls < MAX_SERVERS)
            ss.urls[ss.nurls++] = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            ss.store = argv[++i];
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
            ss.pg = argv[++i];
        else
            usage();
    }
    if (ss.nspawn == 0 || ss.nspawn > MAX_SERVERS || (ss.nurls && !ss.store) ||
        (ss.store && !ss.nurls))
        usage();
    if (ss.pg)
        snprintf(closed_label, sizeof closed_label, "closed_pg%u", ss.nspawn);
    /* D device sockets here, D connections at the server (it inherits). */
    bc_raise_nofile(65536);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    memset(&p, 0, sizeof p);
    p.mode = mode;
    p.threads = threads ? threads : 4;
    p.nreps = NREPS;
    p.rows_per_rep = ROWS_PER_REP;
    if (mode == LOAD_CLOSED) {
        /* 256 devices over 50 reps: each push reaches ~4 other devices. */
        p.devices = only ? only : quick ? 16 : 256;
        p.step_ms = quick ? 1000 : 5000;
        run_case(&p, &ss);
    } else if (mode == LOAD_MORNING) {
        /* A team's devices: 4 per rep, each rep with its own territory of
         * 80 rows (10 customers). */
        p.devices = only ? only : quick ? 400 : 10000;
        p.nreps = (p.devices + 3) / 4;
        p.rows_per_rep = 80;
        p.ramp_ms = quick ? 5000 : 60000;
        p.workers = 128;
        run_case(&p, &ss);
    } else {
        for (size_t c = 0; c < 3; c++) {
            if ((only || ss.nurls) && c > 0)
                break;
            if (quick) {
                p.devices = only ? only : small[c];
                p.syncs = 3;
                p.ramp_ms = 1000;
                p.think_min_ms = 200, p.think_max_ms = 600;
                p.cap_ms = 8000;
            } else {
                p.devices = only ? only : full[c];
                p.syncs = 4;
                p.ramp_ms = 10000;
                p.think_min_ms = 2000, p.think_max_ms = 6000;
                p.cap_ms = 40000;
            }
            run_case(&p, &ss);
        }
    }
    curl_global_cleanup();
    return 0;
}
