/*
 * sim_util.c - small tools of the simulation: a seeded random generator
 * (splitmix64), a fixed-key hash map, growable arrays and the shared
 * violation report that a forked client can write into as well.
 */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sim_shared *sim_sh;

void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t stream)
{
    r->s = seed * UINT64_C(0x9E3779B97F4A7C15) ^ (stream + 1) * UINT64_C(0xD1B54A32D192ED03);
    (void)sim_rand(r);
}

uint64_t sim_rand(sim_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint32_t sim_below(sim_rng *r, uint32_t n)
{
    return n ? (uint32_t)(sim_rand(r) % n) : 0;
}

bool sim_chance(sim_rng *r, unsigned per_mille)
{
    return sim_below(r, 1000) < per_mille;
}

sim_key sim_key_make(int dev, const fs_id *id, uint64_t extra)
{
    sim_key k;
    int32_t d = dev;

    memset(&k, 0, sizeof k);
    memcpy(k.b, &d, sizeof d);
    if (id)
        memcpy(k.b + 4, id->b, 16);
    memcpy(k.b + 20, &extra, sizeof extra);
    return k;
}

static size_t key_hash(const sim_key *k)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < sizeof k->b; i++)
        h = (h ^ k->b[i]) * UINT64_C(1099511628211);
    return (size_t)h;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    return p;
}

static void map_rehash(sim_map *m, size_t cap)
{
    sim_map nm = {xcalloc(cap, sizeof *m->keys), xcalloc(cap, sizeof *m->vals),
                  xcalloc(cap, sizeof *m->used), 0, cap};
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i])
            *sim_map_put(&nm, &m->keys[i], m->vals[i], NULL) = m->vals[i];
    sim_map_free(m);
    *m = nm;
}

size_t *sim_map_get(sim_map *m, const sim_key *k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = key_hash(k) & (m->cap - 1), probes = 0; probes < m->cap;
         i = (i + 1) & (m->cap - 1), probes++) {
        if (!m->used[i])
            return NULL;
        if (memcmp(&m->keys[i], k, sizeof *k) == 0)
            return &m->vals[i];
    }
    return NULL;
}

size_t *sim_map_put(sim_map *m, const sim_key *k, size_t init, bool *inserted)
{
    size_t *v = sim_map_get(m, k);

    if (inserted)
        *inserted = v == NULL;
    if (v)
        return v;
    if ((m->n + 1) * 2 > m->cap)
        map_rehash(m, m->cap ? m->cap * 2 : 256);
    for (size_t i = key_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->used[i]) {
            m->used[i] = true;
            m->keys[i] = *k;
            m->vals[i] = init;
            m->n++;
            return &m->vals[i];
        }
    }
}

void sim_map_free(sim_map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}

void *sim_grow(void *p, size_t *cap, size_t n, size_t elem)
{
    void *np;

    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    np = realloc(p, *cap * elem);
    if (!np) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    return np;
}

/* Its own lock: two devices syncing at once (SIM_F_PAIR) may both report,
 * and callers may hold sim_observe_lock or not. */
static pthread_mutex_t viol_mu = PTHREAD_MUTEX_INITIALIZER;

void sim_violation(const char *fmt, ...)
{
    va_list ap;
    char msg[320];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&viol_mu);
    if (sim_sh->nviol < sizeof sim_sh->viol / sizeof sim_sh->viol[0])
        memcpy(sim_sh->viol[sim_sh->nviol], msg, sizeof msg);
    sim_sh->nviol++;
    pthread_mutex_unlock(&viol_mu);
    fprintf(stderr, "sim: VIOLATION: %s\n", msg);
}

const char *sim_fault_name(int f)
{
    static const char *const names[SIM_F_COUNT] = {
        "dropped", "lost-response", "duplicated", "duplicated-concurrent",
        "delayed", "server-kill", "client-kill", "reassign", "territory",
        "admin-delete", "revoke", "quote-decide", "quote-expire", "cut-after-page",
        "process-down", "concurrent-devices", "merge", "redirected-write", "reclaim", "claim-won",
        "claim-race", "offboard", "offboard-drain"};
    return f >= 0 && f < SIM_F_COUNT ? names[f] : "?";
}
