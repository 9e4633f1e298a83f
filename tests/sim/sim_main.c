/*
 * sim_main.c - the `fieldsync_sim` executable: options, the seed loop, the
 * per-seed summary and, for a failing seed, the exact command that replays
 * it.
 *
 *   fieldsync_sim [--seed S | --seeds A-B | --seed-list S,S,...] [--long]
 *                 [--devices N] [--steps K] [--verbose] [--keep]
 *                 [--server PATH] [--page-size N] [--cut-pages]
 *                 [--servers N] [--store CONNINFO] [--merges] [--pairs P]
 *
 * Environment (overridden by flags): FS_SIM_SEED (one seed), FS_SIM_SEEDS
 * ("A-B"), FS_SIM_STEPS, FS_SIM_LONG=1 (seeds 1-300). A seed fixes every
 * choice the harness makes: which device acts, what it writes, when it
 * syncs, which request is dropped, lost, duplicated, delayed or hit by the
 * server kill, where the client kill lands, which customers move. What it
 * cannot fix is timing inside real processes (e.g. whether the server had
 * committed when the SIGKILL arrived) and the random ids the client library
 * makes, so a replay takes the same path but not necessarily to the byte.
 */
#define _XOPEN_SOURCE 700
#include "sim.h"

#include <curl/curl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef SYNC_SERVER_BIN
#define SYNC_SERVER_BIN "sync-server"
#endif

#ifdef FS_SIM_SANITIZED
#define DEFAULT_STEPS 400 /* ASan + UBSan: fewer steps, same seeds and devices */
#else
#define DEFAULT_STEPS 600
#endif
/* Of the syncs a step starts, per mille run beside another device's sync
 * (SIM_F_PAIR): about 20 pairs in a 600-step seed. */
#define DEFAULT_PAIRS 150

#define MAX_SEEDS 100000

typedef struct opts {
    uint64_t *seeds;
    size_t nseeds;
    unsigned devices, steps, page_size, pairs;
    bool verbose, keep, cut_pages, merges;
    const char *server;
    const char *pull_plan;   /* the server's --pull-plan */
    unsigned servers;        /* sync-server processes on the one store */
    const char *store;       /* the server's --store, or NULL: a SQLite file */
    const char *argv0;
} opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void add_seed(opts *o, uint64_t s)
{
    if (o->nseeds < MAX_SEEDS)
        o->seeds[o->nseeds++] = s;
}

/* "A-B" or "A..B" or "A". */
static bool parse_range(opts *o, const char *t)
{
    char *end;
    unsigned long long a = strtoull(t, &end, 10), b = a;

    if (end == t)
        return false;
    if (*end == '-' || (end[0] == '.' && end[1] == '.')) {
        const char *p = end + (*end == '-' ? 1 : 2);
        b = strtoull(p, &end, 10);
        if (end == p)
            return false;
    }
    if (*end || b < a || b - a >= MAX_SEEDS)
        return false;
    for (unsigned long long s = a; s <= b; s++)
        add_seed(o, s);
    return true;
}

static bool parse_list(opts *o, const char *t)
{
    char buf[4096], *save = NULL;
    snprintf(buf, sizeof buf, "%s", t);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (!parse_range(o, tok))
            return false;
    return true;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: fieldsync_sim [--seed S | --seeds A-B | --seed-list S,S,... | --long]\n"
            "                     [--devices N (2..%d, default 8)] [--steps K]\n"
            "                     [--verbose] [--keep] [--server PATH]\n"
            "                     [--pull-plan auto|seq|scope]\n"
            "                     [--page-size N (devices' page, default 25)] [--cut-pages]\n"
            "                     [--merges (the back office merges duplicates mid-run)]\n"
            "                     [--pairs P (per mille of syncs run at the same moment\n"
            "                      as another device's, default %d; 0: none)]\n"
            "                     [--servers N (1..%d processes on one store, default 1)]\n"
            "                     [--store CONNINFO (passed to sync-server --store;\n"
            "                      {seed} in it becomes the seed)]\n"
            "env: FS_SIM_SEED, FS_SIM_SEEDS=A-B, FS_SIM_STEPS, FS_SIM_LONG=1\n",
            SIM_MAX_DEVICES, DEFAULT_PAIRS, SIM_MAX_SERVERS);
    return 2;
}

static int parse(opts *o, int argc, char **argv)
{
    const char *e;

    o->devices = 8;
    o->steps = (e = getenv("FS_SIM_STEPS")) ? (unsigned)atoi(e) : DEFAULT_STEPS;
    o->server = SYNC_SERVER_BIN;
    o->pull_plan = "auto";
    o->servers = 1;
    o->pairs = DEFAULT_PAIRS;
    o->argv0 = argv[0];
    if ((e = getenv("FS_SIM_SEED")) && !parse_range(o, e))
        return usage();
    if ((e = getenv("FS_SIM_SEEDS")) && !parse_list(o, e))
        return usage();
    if ((e = getenv("FS_SIM_LONG")) && *e == '1')
        parse_range(o, "1-300");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verbose") == 0) {
            o->verbose = true;
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = true;
        } else if (strcmp(a, "--cut-pages") == 0) {
            o->cut_pages = true;
        } else if (strcmp(a, "--merges") == 0) {
            o->merges = true;
        } else if (strcmp(a, "--long") == 0) {
            o->nseeds = 0;
            parse_range(o, "1-300");
        } else if (!v) {
            return usage();
        } else if (strcmp(a, "--seed") == 0 || strcmp(a, "--seeds") == 0 ||
                   strcmp(a, "--seed-list") == 0) {
            o->nseeds = 0;
            if (!parse_list(o, v))
                return usage();
            i++;
        } else if (strcmp(a, "--devices") == 0) {
            o->devices = (unsigned)atoi(v);
            i++;
        } else if (strcmp(a, "--steps") == 0) {
            o->steps = (unsigned)atoi(v);
            i++;
        } else if (strcmp(a, "--page-size") == 0) {
            o->page_size = (unsigned)atoi(v);
            if (o->page_size < 1 || o->page_size > 10000)
                return usage();
            i++;
        } else if (strcmp(a, "--pairs") == 0) {
            o->pairs = (unsigned)atoi(v);
            if (o->pairs > 1000)
                return usage();
            i++;
        } else if (strcmp(a, "--server") == 0) {
            o->server = v;
            i++;
        } else if (strcmp(a, "--pull-plan") == 0) {
            o->pull_plan = v;
            i++;
        } else if (strcmp(a, "--servers") == 0) {
            o->servers = (unsigned)atoi(v);
            if (o->servers < 1 || o->servers > SIM_MAX_SERVERS)
                return usage();
            i++;
        } else if (strcmp(a, "--store") == 0) {
            o->store = v;
            i++;
        } else {
            return usage();
        }
    }
    if (o->devices < 2 || o->devices > SIM_MAX_DEVICES || o->steps < 8)
        return usage();
    if (!o->nseeds)
        add_seed(o, 1);
    return 0;
}

static void sim_free(sim *s)
{
    for (unsigned i = 0; i < s->ndev; i++)
        sim_device_close(&s->dev[i]);
    sim_map_free(&s->cust_ix);
    sim_map_free(&s->roots);
    sim_map_free(&s->writes);
    sim_map_free(&s->sent_ix);
    sim_map_free(&s->sent_per_row);
    sim_map_free(&s->batches);
    sim_map_free(&s->esign_dev);
    sim_map_free(&s->esign_srv);
    sim_map_free(&s->deleted_at);
    free(s->sent);
    free(s);
}

/* One seed from start to checks; returns the number of violations. */
static unsigned run_seed(const opts *o, uint64_t seed, unsigned long *faults,
                         unsigned long *others, unsigned long *kept)
{
    sim *s = calloc(1, sizeof *s);
    double t0 = now_s();
    unsigned nviol;

    if (!s) {
        fprintf(stderr, "sim: out of memory\n");
        return 1;
    }
    memset(sim_sh, 0, sizeof *sim_sh);
    s->seed = seed;
    s->ndev = o->devices;
    s->nrep = o->devices / 2 > SIM_MAX_REPS ? SIM_MAX_REPS : o->devices / 2;
    s->steps = o->steps;
    s->verbose = o->verbose;
    s->cut_pages = o->cut_pages;
    s->merges = o->merges;
    s->page_size = o->page_size;
    s->pairs = o->pairs;
    s->srv.bin = o->server;
    s->srv.pull_plan = o->pull_plan;
    if (o->store) {
        /* A fresh store per seed: "{seed}" in --store becomes the seed
         * (tests/sim/sim_pg.sh creates one PostgreSQL database each). */
        const char *ph = strstr(o->store, "{seed}");
        if (ph)
            snprintf(s->srv.store_buf, sizeof s->srv.store_buf, "%.*s%llu%s",
                     (int)(ph - o->store), o->store, (unsigned long long)seed,
                     ph + strlen("{seed}"));
        else
            snprintf(s->srv.store_buf, sizeof s->srv.store_buf, "%s", o->store);
        s->srv.store = s->srv.store_buf;
    }
    s->nservers = o->servers;
    sim_rng_seed(&s->sched, seed, 0);
    sim_rng_seed(&s->pair_rng, seed, 9);
    sim_owner_init(s);
    snprintf(s->srv.dir, sizeof s->srv.dir, "/tmp/fs-sim-%llu-XXXXXX",
             (unsigned long long)seed);
    if (!mkdtemp(s->srv.dir)) {
        perror("sim: mkdtemp");
        free(s);
        return 1;
    }
    snprintf(s->srv.db, sizeof s->srv.db, "%s/server.db", s->srv.dir);
    if (sim_servers_start(s) != 0 || sim_setup(s) != 0) {
        sim_violation("setup failed (server, admin API or enrollment)");
    } else {
        for (unsigned step = 0; step < s->steps; step++)
            sim_step(s, step);
        sim_quiesce_and_check(s);
    }
    sim_servers_stop(s);
    nviol = sim_sh->nviol;
    for (int f = 0; f < SIM_F_COUNT; f++)
        faults[f] += sim_sh->faults[f];
    printf("seed %llu: %s in %.1fs: %lu writes (%lu refused by state rules), %lu syncs "
           "(%lu failed under faults), %u requests (%u sent ahead, %u uncompressed), %lu rows "
           "pulled, %lu visits done by "
           "a rep who did not plan them; faults:",
           (unsigned long long)seed, nviol ? "FAILED" : "ok", now_s() - t0, s->ops_ok,
           s->ops_refused, s->syncs, s->syncs_failed, s->requests, s->requests_ahead,
           s->requests_plain, s->rows_pulled,
           s->checkins_other);
    *others += s->checkins_other;
    *kept += s->push_kept;
    for (int f = 0; f < SIM_F_COUNT; f++)
        printf(" %s=%lu", sim_fault_name(f), sim_sh->faults[f]);
    for (unsigned i = 0; i < s->nservers && s->nservers > 1; i++)
        printf("%s%lu", i ? "/" : "; requests per process: ", s->all[i]->routed);
    if (s->push_kept + s->push_reread)
        printf("; pushes that found the counter moved (since each process's last"
               " start): %lu kept their reads, %lu read again", s->push_kept,
               s->push_reread);
    printf("\n");
    if (nviol) {
        printf("  %u violation(s); first ones:\n", nviol);
        for (unsigned i = 0; i < nviol && i < 8; i++)
            printf("  - %s\n", sim_sh->viol[i]);
        printf("  replay: %s --seed %llu --devices %u --steps %u --server %s"
               " --pull-plan %s --page-size %u --pairs %u%s%s --servers %u%s%s%s\n",
               o->argv0, (unsigned long long)seed, o->devices, o->steps, o->server,
               o->pull_plan, o->page_size ? o->page_size : 25, o->pairs,
               o->cut_pages ? " --cut-pages" : "",
               o->merges ? " --merges" : "",
               o->servers, o->store ? " --store '" : "", o->store ? o->store : "",
               o->store ? "'" : "");
    }
    if (nviol && o->keep)
        printf("  kept %s\n", s->srv.dir);
    else
        nftw(s->srv.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    fflush(stdout);
    sim_free(s);
    return nviol;
}

int main(int argc, char **argv)
{
    opts o;
    unsigned long faults[SIM_F_COUNT] = {0}, others = 0, kept = 0;
    unsigned failed = 0;
    double t0 = now_s();
    int rc;

    memset(&o, 0, sizeof o);
    o.seeds = calloc(MAX_SEEDS, sizeof *o.seeds);
    if (!o.seeds)
        return 1;
    if ((rc = parse(&o, argc, argv)) != 0) {
        free(o.seeds);
        return rc;
    }
    sim_sh = mmap(NULL, sizeof *sim_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                  -1, 0);
    if (sim_sh == MAP_FAILED || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "sim: cannot set up\n");
        free(o.seeds);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("fieldsync_sim: %zu seed(s), %u devices, %u steps each, server %s", o.nseeds,
           o.devices, o.steps, o.server);
    if (o.servers > 1 || o.store)
        printf(" x %u process(es) on %s", o.servers, o.store ? o.store : "one SQLite file");
    printf("\n");
    for (size_t i = 0; i < o.nseeds; i++)
        if (run_seed(&o, o.seeds[i], faults, &others, &kept))
            failed++;
    /* A run that never injected some fault proved nothing about it. */
    for (int f = 0; f < SIM_F_COUNT && o.nseeds >= 5; f++)
        if (faults[f] == 0 && (f != SIM_F_CUT_PAGE || o.cut_pages) &&
            (f != SIM_F_PROC_DOWN || o.servers > 1) && (f != SIM_F_PAIR || o.pairs) &&
            (f < SIM_F_MERGE || o.merges)) {
            printf("FAIL: fault '%s' was never injected in this run\n", sim_fault_name(f));
            failed++;
        }
    /* On PostgreSQL with several processes, the pairs exist to reach the
     * late lock's "counter moved, reads still stand" branch (issue 18):
     * about two pushes a seed take it. */
    if (o.nseeds >= 5 && o.store && o.servers > 1 && o.pairs && kept == 0) {
        printf("FAIL: no push kept its reads after the counter moved in this run\n");
        failed++;
    }
    /* Likewise for check-ins at another rep's plan (issue 13). */
    if (o.nseeds >= 5 && others == 0) {
        printf("FAIL: no visit was done by a rep who did not plan it in this run\n");
        failed++;
    }
    printf("fieldsync_sim: %zu seed(s), %u failed, %.1fs\n", o.nseeds, failed, now_s() - t0);
    curl_global_cleanup();
    munmap(sim_sh, sizeof *sim_sh);
    free(o.seeds);
    return failed ? 1 : 0;
}
