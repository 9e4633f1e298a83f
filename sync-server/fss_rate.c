/*
 * fss_rate.c - failed authentications counted per client address, exactly,
 * in bounded memory.
 *
 * Bad tokens, bad enrollment codes and bad admin tokens count against the
 * address they came from; past the limit within the window the address is
 * refused (429) until its window ends. The counts must be per address: the
 * first version kept 256 hash slots and reset a slot whenever another
 * address landed in it, so two addresses taking turns never reached the
 * limit.
 *
 * The key is the address as 16 bytes: IPv4 as an IPv4-mapped IPv6 address,
 * IPv6 cut to its /64 (a subscriber is routinely handed a whole /64, so
 * counting single IPv6 addresses would let one client rotate through 2^64
 * of them). Text that is not an address (an in-process caller without a
 * remote) maps to the all-zero key, so such callers share one count.
 *
 * The table is open-addressed with FSS_RATE_CAP entries and probes at most
 * FSS_RATE_PROBES of them from the key's hash (seeded per server, so nobody
 * can aim at long probe runs). An entry whose window has ended is free to
 * take. Entries are never emptied, only reused in place, so a lookup walks
 * the whole probe run before it claims a slot: the same key can never sit
 * in two entries. When every probed entry is live, the address is counted
 * in one shared overflow entry: under a flood of more addresses than the
 * table holds the limit gets stricter for the newcomers, never looser for
 * anyone.
 */
#include "fss_int.h"

#include <arpa/inet.h>
#include <string.h>

void fss_rate_key(const char *remote, uint8_t key[16])
{
    struct in_addr a4;

    memset(key, 0, 16);
    if (!remote || !*remote)
        return;
    if (inet_pton(AF_INET, remote, &a4) == 1) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &a4, 4);
    } else if (inet_pton(AF_INET6, remote, key) == 1) {
        memset(key + 8, 0, 8); /* the /64 */
    }
}

static uint64_t key_hash(const fss_rate_table *t, const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ULL ^ t->seed;

    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static bool live(const fss_rate_entry *e, uint64_t now_s, unsigned window_s)
{
    return e->used && now_s - e->window_start_s < window_s;
}

/* Walks key's probe run: its entry (restarted if its window ended), or NULL
 * with *spare = the first entry free to take (NULL when every probed entry
 * is live: the address belongs in the overflow). */
static fss_rate_entry *probe(fss_rate_table *t, const uint8_t key[16],
                             uint64_t now_s, unsigned window_s,
                             fss_rate_entry **spare)
{
    size_t at = (size_t)(key_hash(t, key) % FSS_RATE_CAP);
    fss_rate_entry *e;

    *spare = NULL;
    for (unsigned i = 0; i < FSS_RATE_PROBES; i++) {
        e = &t->e[(at + i) % FSS_RATE_CAP];
        if (e->used && memcmp(e->key, key, 16) == 0) {
            if (!live(e, now_s, window_s)) {
                e->window_start_s = now_s;
                e->fails = 0;
            }
            return e;
        }
        if (!*spare && !live(e, now_s, window_s))
            *spare = e;
        if (!e->used)
            break; /* the end of the probe run: the key is not further on */
    }
    return NULL;
}

static void restart(fss_rate_entry *e, const uint8_t key[16], uint64_t now_s)
{
    memcpy(e->key, key, 16);
    e->used = true;
    e->window_start_s = now_s;
    e->fails = 0;
}

unsigned fss_rate_fails(fss_rate_table *t, const char *remote, uint64_t now_s,
                        unsigned window_s)
{
    uint8_t key[16];
    fss_rate_entry *e, *spare;

    fss_rate_key(remote, key);
    if ((e = probe(t, key, now_s, window_s, &spare)) != NULL)
        return e->fails;
    if (!spare && live(&t->overflow, now_s, window_s))
        return t->overflow.fails;
    return 0;
}

void fss_rate_add(fss_rate_table *t, const char *remote, uint64_t now_s,
                  unsigned window_s)
{
    uint8_t key[16];
    fss_rate_entry *e, *spare;

    fss_rate_key(remote, key);
    if (!(e = probe(t, key, now_s, window_s, &spare))) {
        e = spare ? spare : &t->overflow;
        if (e == spare || !live(e, now_s, window_s))
            restart(e, key, now_s);
    }
    e->fails++;
}
