/*
 * sim_multi.c - several `sync-server serve` processes on one store
 * (--servers N, issue 18): the harness's load balancer without sticky
 * sessions, and the process that goes down.
 *
 * Every process gets its own port; the devices enrolled with process 0's
 * address, and the transport (sim_net.c) sends each of their requests to a
 * process drawn at random (the `route` stream, so one seed routes the same
 * way every time), rewriting the address. Faults on top of the usual ones:
 * the server kill of SIM_F_SERVER_KILL hits the process that has the
 * request in flight (and restarts it at once), and SIM_F_PROC_DOWN kills a
 * random process between requests (never the last one up) and leaves it
 * down for 1-6 requests, so a device's retry may land on a dead port
 * (connection refused) or on a live peer. The second copy of a duplicated
 * request goes to a process of its own draw, so the same batch often
 * reaches two processes at once.
 * While the devices' faults are off (the crash child,
 * quiescence) only live processes are picked and nothing is killed.
 *
 * With --store the processes share that store (a PostgreSQL connection
 * string, passed through to `sync-server --store` as is); the final checks
 * read a SQLite copy of it made by `sync-server copy-store`.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int sim_servers_start(sim *s)
{
    if (s->nservers < 1)
        s->nservers = 1;
    s->all[0] = &s->srv;
    if (sim_server_start(&s->srv) != 0)
        return -1;
    for (unsigned i = 1; i < s->nservers; i++) {
        sim_server *p = &s->more[i - 1];
        memset(p, 0, sizeof *p);
        p->bin = s->srv.bin;
        p->pull_plan = s->srv.pull_plan;
        p->store = s->srv.store ? s->srv.store_buf : NULL;
        snprintf(p->dir, sizeof p->dir, "%s", s->srv.dir);
        snprintf(p->db, sizeof p->db, "%s", s->srv.db);
        p->index = i;
        s->all[i] = p;
        if (sim_server_start(p) != 0)
            return -1;
    }
    s->srv.ring = s->all;
    s->srv.nring = s->nservers;
    /* Its own stream: a run with one process draws nothing from it, so
     * every existing seed takes the path it always took. */
    sim_rng_seed(&s->route, s->seed, 7);
    return 0;
}

void sim_servers_stop(sim *s)
{
    sim_server_stop(&s->srv);
    for (unsigned i = 1; i < s->nservers; i++)
        sim_server_stop(&s->more[i - 1]);
}

/* The value of counter `name` in a /metrics answer (0 when absent). */
static unsigned long metric(const char *body, const char *name)
{
    size_t n = strlen(name);
    const char *l = body;

    while (l) {
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return strtoul(l + n + 1, NULL, 10);
        if ((l = strchr(l, '\n')) != NULL)
            l++;
    }
    return 0;
}

void sim_servers_push_reads(sim *s, unsigned long *kept, unsigned long *reread)
{
    *kept = *reread = 0;
    for (unsigned i = 0; i < s->nservers; i++) {
        char url[128], err[256];
        sim_http h;
        if (s->all[i]->pid <= 0)
            continue;
        snprintf(url, sizeof url, "%s/metrics", s->all[i]->base);
        if (sim_http_do("GET", url, NULL, NULL, 0, &h, NULL, err, sizeof err) == 0 &&
            h.status == 200 && h.body) {
            *kept += metric((const char *)h.body, "fieldsync_push_reads_kept_total");
            *reread += metric((const char *)h.body, "fieldsync_push_rereads_total");
        }
        sim_http_free(&h);
    }
}

void sim_servers_up(sim *s)
{
    for (unsigned i = 0; i < s->nservers; i++)
        if (s->all[i]->pid <= 0 && sim_server_start(s->all[i]) != 0)
            sim_violation("sync-server process %u did not restart", i);
}

sim_server *sim_route(sim_dev *d, const char *url, char *out, size_t cap)
{
    sim *s = d->sim;
    bool faults = d->faults_on && !s->in_quiesce && !d->in_child;
    size_t n0 = strlen(s->srv.base);
    sim_server *to = &s->srv;

    snprintf(out, cap, "%s", url);
    if (s->nservers < 2)
        return to;
    /* The crash child never starts or kills a process: they are the
     * parent's children. */
    if (!d->in_child)
        for (unsigned i = 0; i < s->nservers; i++) {
            sim_server *p = s->all[i];
            if (p->pid <= 0 && (!faults || s->requests >= p->up_at) &&
                sim_server_start(p) != 0)
                sim_violation("sync-server process %u did not restart", i);
        }
    if (faults && sim_chance(&s->route, 15)) {
        sim_server *p = s->all[sim_below(&s->route, s->nservers)];
        unsigned live = 0;
        for (unsigned i = 0; i < s->nservers; i++)
            live += s->all[i]->pid > 0;
        /* Never the last live one: the crash child, which sends with its
         * faults off, must find a process to answer it. */
        if (p->pid > 0 && live > 1) {
            sim_server_kill(p);
            p->up_at = s->requests + 1 + sim_below(&s->route, 6);
            sim_sh->faults[SIM_F_PROC_DOWN]++;
            if (s->verbose)
                fprintf(stderr, "sim:   process %u down until request %lu\n", p->index,
                        p->up_at);
        }
    }
    to = s->all[sim_below(&s->route, s->nservers)];
    for (unsigned i = 0; !faults && to->pid <= 0 && i < s->nservers; i++)
        to = s->all[i];
    if (strncmp(url, s->srv.base, n0) == 0)
        snprintf(out, cap, "%s%s", to->base, url + n0);
    to->routed++;
    return to;
}

void sim_route_copy(sim_dev *d, const char *url, char *out, size_t cap)
{
    sim *s = d->sim;
    size_t n0 = strlen(s->srv.base);
    sim_server *to;

    snprintf(out, cap, "%s", url);
    if (s->nservers < 2 || strncmp(url, s->srv.base, n0) != 0)
        return;
    to = s->all[sim_below(&s->route, s->nservers)];
    snprintf(out, cap, "%s%s", to->base, url + n0);
    to->routed++;
}

bool sim_store_for_checks(sim *s, char *path, size_t cap)
{
    char copy[400];
    pid_t pid;
    int st = 0;

    if (!s->srv.store) {
        snprintf(path, cap, "%s", s->srv.db);
        return true;
    }
    snprintf(copy, sizeof copy, "%s/check-copy.db", s->srv.dir);
    pid = fork();
    if (pid == 0) {
        execl(s->srv.bin, s->srv.bin, "copy-store", "--from", s->srv.store, "--to", copy,
              (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("SKIPPED: the server-store checks of this seed (no SQLite copy of %s: "
               "`sync-server copy-store --from STORE --to FILE` failed)\n", s->srv.store);
        return false;
    }
    snprintf(path, cap, "%s", copy);
    return true;
}
