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
 * Output: BENCH lines on stdout, progress and the first errors on stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define NREPS 50
#define ROWS_PER_REP 240
#define MAX_PUSH 5            /* edits per sync: 1..MAX_PUSH */
#define MAX_REQ_PER_SYNC 10   /* has_more rounds within one sync */
#define CATCHUP_ROUNDS 100    /* bound on the untimed catch-up pull */
#define MAX_ERRORS_SHOWN 5
#define DEVICE_STACK (256 * 1024)

typedef struct load_params {
    size_t devices;
    unsigned syncs;           /* K per device */
    double ramp_ms;           /* arrivals spread over this window */
    double think_min_ms, think_max_ms;
    double cap_ms;            /* no request starts after this (phase time) */
    unsigned threads;         /* server worker threads */
} load_params;

/* Shared by all device threads of one case. */
typedef struct load_run {
    const load_params *p;
    const char *url;
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
    double *lat_ms;           /* one per request of the phase */
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
    size_t rep = d->index % NREPS, k = d->index / NREPS;
    char err[200];
    long st = bc_device_enroll(&d->dev, run->url,
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
    const bc_scope *sc = &d->run->scopes[d->index % NREPS];
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

    if (d->nlat == d->cap)
        return;
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
/* One case                                                                  */
/* ------------------------------------------------------------------------ */

static void report(const load_params *p, load_run *run, device_ctx *devs,
                   double phase_ms, long server_kib)
{
    size_t nreq = 0, pushed = 0, pulled = 0, syncs = 0, ready = 0, k = 0;
    double *all;
    char cs[32];

    for (size_t i = 0; i < p->devices; i++) {
        nreq += devs[i].nlat;
        pushed += devs[i].rows_pushed;
        pulled += devs[i].rows_pulled;
        syncs += devs[i].syncs_done;
        ready += devs[i].ready;
    }
    all = calloc(nreq ? nreq : 1, sizeof *all);
    if (!all)
        bc_die("out of memory");
    for (size_t i = 0; i < p->devices; i++)
        for (size_t j = 0; j < devs[i].nlat; j++)
            all[k++] = devs[i].lat_ms[j];
    snprintf(cs, sizeof cs, "%zu_devices", p->devices);
    fprintf(stderr, "load %s: %zu/%zu devices ready, %zu syncs, %zu requests in"
            " %.1f s, %zu rows pushed, %zu pulled, %zu errors\n", cs, ready,
            p->devices, syncs, nreq, phase_ms / 1000, pushed, pulled, run->errors);
    for (size_t i = 0; i < run->errors && i < MAX_ERRORS_SHOWN; i++)
        fprintf(stderr, "  error: %s\n", run->first_errors[i]);
    bc_result("load", cs, "requests_per_s", (double)nreq / (phase_ms / 1000), "req/s",
              0, NULL);
    bc_result("load", cs, "rows_per_s", (double)(pushed + pulled) / (phase_ms / 1000),
              "rows/s", 0, NULL);
    bc_result("load", cs, "p50_ms", bc_percentile(all, nreq, 50), "ms", 0, NULL);
    bc_result("load", cs, "p99_ms", bc_percentile(all, nreq, 99), "ms", 0,
              p->devices >= 1000 ? "<250" : NULL);
    bc_result("load", cs, "max_ms", bc_percentile(all, nreq, 100), "ms", 0, NULL);
    bc_result("load", cs, "errors", (double)run->errors, "count", 0, "0");
    bc_result("load", cs, "server_peak_rss_mib", server_kib / 1024.0, "MiB", 0, NULL);
    free(all);
}

static void run_case(const load_params *p, const char *server_bin)
{
    bc_tmp tmp;
    bc_server srv;
    bc_scope scopes[NREPS];
    load_run run;
    device_ctx *devs = calloc(p->devices, sizeof *devs);
    pthread_t *th = calloc(p->devices, sizeof *th);
    pthread_attr_t attr;
    size_t codes_per_rep = (p->devices + NREPS - 1) / NREPS, started = 0;
    char db[256];
    double phase_ms, setup_t0;
    long server_kib;

    if (!devs || !th)
        bc_die("out of memory");
    memset(&run, 0, sizeof run);
    run.p = p;
    run.codes_per_rep = codes_per_rep;
    run.codes = calloc(NREPS * codes_per_rep, sizeof *run.codes);
    if (!run.codes)
        bc_die("out of memory");
    bc_tmp_make(&tmp, "bench-load");
    bc_tmp_path(&tmp, "central.db", db, sizeof db);
    bc_populate(db, NREPS, ROWS_PER_REP, codes_per_rep, run.codes, scopes, 0x10ad);
    bc_server_start(&srv, server_bin, db, p->threads, NULL, &tmp);
    run.url = srv.url;
    run.scopes = scopes;
    pthread_mutex_init(&run.mu, NULL);
    pthread_barrier_init(&run.ready, NULL, (unsigned)p->devices + 1);
    pthread_barrier_init(&run.go, NULL, (unsigned)p->devices + 1);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, DEVICE_STACK);
    fprintf(stderr, "load %zu devices: enrolling and catching up...\n", p->devices);
    setup_t0 = bc_now_ms();
    for (size_t i = 0; i < p->devices; i++) {
        devs[i].run = &run;
        devs[i].index = i;
        devs[i].rnd = 0x9e3779b97f4a7c15ull ^ (i + 1) * 0x100000001b3ull;
        devs[i].cap = (size_t)p->syncs * MAX_REQ_PER_SYNC;
        devs[i].lat_ms = calloc(devs[i].cap, sizeof *devs[i].lat_ms);
        if (!devs[i].lat_ms)
            bc_die("out of memory");
        if (pthread_create(&th[i], &attr, device_main, &devs[i]) != 0)
            bc_die("pthread_create device %zu: %s", i, strerror(errno));
        started++;
    }
    /* Every device is enrolled and caught up once `ready` opens; the phase
     * clock starts then, and `go` publishes it to the devices. */
    pthread_barrier_wait(&run.ready);
    fprintf(stderr, "load %zu devices: ready after %.1f s; phase starts\n",
            p->devices, (bc_now_ms() - setup_t0) / 1000);
    run.t0 = bc_now_ms();
    pthread_barrier_wait(&run.go);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    phase_ms = bc_now_ms() - run.t0;
    server_kib = bc_vmhwm_kib(srv.pid);
    report(p, &run, devs, phase_ms, server_kib);
    for (size_t i = 0; i < p->devices; i++) {
        bc_device_close(&devs[i].dev);
        free(devs[i].lat_ms);
    }
    if (bc_server_stop(&srv) != 0)
        fprintf(stderr, "bench_load: sync-server did not exit cleanly (%s)\n", srv.log);
    fprintf(stderr, "load %zu_devices: server CPU %.1f s over its whole run"
            " (setup, catch-up and phase)\n", p->devices, srv.cpu_ms / 1000);
    for (size_t r = 0; r < NREPS; r++)
        bc_scope_free(&scopes[r]);
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&run.ready);
    pthread_barrier_destroy(&run.go);
    pthread_mutex_destroy(&run.mu);
    bc_tmp_remove(&tmp);
    free(run.codes);
    free(devs);
    free(th);
}

int main(int argc, char **argv)
{
    const char *server_bin = SYNC_SERVER_BIN;
    bool quick = false;
    unsigned threads = 4;
    load_params p;
    size_t full[] = {100, 500, 1000}, small[] = {20, 50, 100}, only = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            server_bin = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc)
            only = (size_t)strtoul(argv[++i], NULL, 10);
        else
            bc_die("usage: bench_load [--quick] [--server PATH] [--threads N]"
                   " [--devices N (one case only)]");
    }
    /* D device sockets here, D connections at the server (it inherits). */
    bc_raise_nofile(8192);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t c = 0; c < 3; c++) {
        memset(&p, 0, sizeof p);
        p.threads = threads ? threads : 4;
        if (only && c > 0)
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
        run_case(&p, server_bin);
    }
    curl_global_cleanup();
    return 0;
}
