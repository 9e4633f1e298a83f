/*
 * bench_roundtrips.c - database round trips per sync request on
 * PostgreSQL (issue 18, "Measure"): one device pushes 100 new contacts in
 * one batch and pulls one page, then pulls a 500-row page with nothing to
 * push; the count is the SQL driver's (every prepare, execute and exec is
 * one round trip; prepared statements are cached per connection, so the
 * first request of a connection pays its prepares once - both the cold
 * and the warm figure are printed). Needs FS_TEST_PG (a libpq key=value
 * connection string of a cluster it may create a database on).
 */
#include "server_testkit.h"

#include "fss_repo.h"

#include <stdio.h>
#include <stdlib.h>

#define NCHANGES 100

/* One push of NCHANGES contacts under cust plus a pull page; the round
 * trips it took. */
static uint64_t push_round(tk_server *t, tk_device *d, const fs_id *cust,
                           int round)
{
    fs_change c[NCHANGES];
    fs_sync_response resp = {0};
    fs_error_body eb;
    uint64_t before = fss__repo_round_trips(t->s);
    char name[64];

    for (int i = 0; i < NCHANGES; i++) {
        fs_id id = tk_new_id();
        tk_change(&c[i], d, "contact", &id);
        tk_set_id(&c[i], d, "customer_id", cust);
        snprintf(name, sizeof name, "Contact %d.%d", round, i);
        tk_set_text(&c[i], d, "name", name);
    }
    if (tk_sync(t, d, NULL, c, NCHANGES, d->cursor, 500, FS_PROTO_DEFLATE,
                &resp, &eb) != 200) {
        fprintf(stderr, "bench_roundtrips: sync failed\n");
        exit(1);
    }
    d->cursor = resp.next_cursor;
    fs_proto_sync_response_free(&resp);
    for (int i = 0; i < NCHANGES; i++)
        fs_change_free(&c[i]);
    return fss__repo_round_trips(t->s) - before;
}

static uint64_t pull_round(tk_server *t, tk_device *d)
{
    fs_sync_response resp = {0};
    fs_error_body eb;
    uint64_t before = fss__repo_round_trips(t->s);

    if (tk_sync(t, d, NULL, NULL, 0, 0, 500, FS_PROTO_DEFLATE, &resp, &eb) != 200) {
        fprintf(stderr, "bench_roundtrips: pull failed\n");
        exit(1);
    }
    fs_proto_sync_response_free(&resp);
    return fss__repo_round_trips(t->s) - before;
}

static void threads1(fss_config *cfg)
{
    cfg->threads = 1; /* one worker connection: cold, then warm */
}

int main(void)
{
    tk_server t;
    tk_device d;
    fs_id rep, cust;
    uint64_t cold, warm, pull;

    if (!getenv("FS_TEST_PG")) {
        printf("SKIPPED: PostgreSQL (FS_TEST_PG unset)\n");
        return 0;
    }
    setenv("FS_TEST_STORE", "pg", 1);
    tk_start(&t, threads1);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.48, -2.24);
    tk_enroll(&t, &rep, &d);
    cold = push_round(&t, &d, &cust, 0);
    warm = push_round(&t, &d, &cust, 1);
    pull = pull_round(&t, &d);
    printf("round trips per sync request on PostgreSQL:\n");
    printf("  push %d changes + pull page, first request of the connection: %llu\n",
           NCHANGES, (unsigned long long)cold);
    printf("  push %d changes + pull page, warm:                           %llu"
           " (%.1f per change)\n", NCHANGES, (unsigned long long)warm,
           (double)warm / NCHANGES);
    printf("  pull of a 500-row page, nothing pushed, warm:                %llu\n",
           (unsigned long long)pull);
    tk_stop(&t);
    return 0;
}
