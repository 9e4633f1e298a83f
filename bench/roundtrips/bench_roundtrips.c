/*
 * bench_roundtrips.c - database round trips per sync request on
 * PostgreSQL (issue 18, "Measure"): one device pushes 100 new contacts in
 * one batch and pulls one page, then pulls a 500-row page with nothing to
 * push; the count is the SQL driver's (every prepare, execute and exec is
 * one round trip; prepared statements are cached per connection, so the
 * first request of a connection pays its prepares once - both the cold
 * and the warm figure are printed). Needs FS_TEST_PG (a libpq key=value
 * connection string of a cluster it may create a database on).
 *
 * The profile: during the warm push and the pull every round trip is traced
 * (fss__repo_trace) and counted by statement text; the table, most
 * frequent first, goes to stdout, so the per-row statements show. BENCH
 * lines (bench_report.h): roundtrips push100_pull round_trips (cold and
 * warm), per_change, pull500 round_trips.
 */
#include "server_testkit.h"

#include "fss_repo.h"

#include "bench_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Round trips by statement text (the server runs one worker: no lock). */
#define MAX_PROFILE 128
typedef struct prof_entry {
    char what[12];
    char *sql;
    unsigned n;
} prof_entry;
static prof_entry prof[MAX_PROFILE];
static size_t nprof;

/* Round trips from the counter's lock (its FOR UPDATE) to the COMMIT,
 * both included: how long the push holds the lock every writer of the
 * store queues for. "pipeline" is a statement sent without waiting (not a
 * round trip); a COMMIT sent that way ends with the next "sync". */
static unsigned under_lock;
static int lock_state; /* 0 not held, 1 held, 2 COMMIT queued */

static void count_lock(const char *what, const char *sql)
{
    bool trip = strcmp(what, "pipeline") != 0;

    if (lock_state == 0 && trip && strstr(sql, "FOR UPDATE"))
        lock_state = 1;
    if (lock_state == 0)
        return;
    if (trip)
        under_lock++;
    if (strncmp(sql, "COMMIT", 6) == 0 || strstr(sql, "; COMMIT"))
        lock_state = trip ? 0 : 2;
    else if (lock_state == 2 && trip)
        lock_state = 0;
}

static void on_trip(void *arg, const char *what, const char *sql)
{
    (void)arg;
    count_lock(what, sql);
    for (size_t i = 0; i < nprof; i++)
        if (strcmp(prof[i].what, what) == 0 && strcmp(prof[i].sql, sql) == 0) {
            prof[i].n++;
            return;
        }
    if (nprof == MAX_PROFILE)
        return;
    snprintf(prof[nprof].what, sizeof prof[nprof].what, "%s", what);
    prof[nprof].sql = strdup(sql);
    prof[nprof++].n = 1;
}

static int by_count(const void *a, const void *b)
{
    const prof_entry *x = a, *y = b;
    return (int)y->n - (int)x->n;
}

/* The profile, most frequent first; each statement's text on one line,
 * whitespace squeezed, cut at 150 characters. */
static void print_profile(const char *what, uint64_t total)
{
    qsort(prof, nprof, sizeof *prof, by_count);
    printf("profile of the %s (round trips by statement; \"pipeline\": sent\n"
           "without waiting, its result read with the next \"sync\"):\n", what);
    printf("  %5s %6s  %-8s %s\n", "count", "share", "kind", "statement");
    for (size_t i = 0; i < nprof; i++) {
        char line[151];
        size_t o = 0;
        bool space = false;

        for (const char *p = prof[i].sql; *p && o < sizeof line - 1; p++) {
            if (*p == ' ' || *p == '\n' || *p == '\t') {
                space = o > 0;
                continue;
            }
            if (space && o < sizeof line - 2)
                line[o++] = ' ';
            space = false;
            line[o++] = *p;
        }
        line[o] = '\0';
        printf("  %5u %5.1f%%  %-8s %s\n", prof[i].n,
               total ? 100.0 * prof[i].n / (double)total : 0.0, prof[i].what, line);
        free(prof[i].sql);
    }
    nprof = 0;
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
    fss__repo_trace(t.s, on_trip, NULL);
    warm = push_round(&t, &d, &cust, 1);
    fss__repo_trace(t.s, NULL, NULL);
    print_profile("warm push of 100 + pull page", warm);
    fss__repo_trace(t.s, on_trip, NULL);
    pull = pull_round(&t, &d);
    fss__repo_trace(t.s, NULL, NULL);
    printf("round trips per sync request on PostgreSQL:\n");
    printf("  push %d changes + pull page, first request of the connection: %llu\n",
           NCHANGES, (unsigned long long)cold);
    printf("  push %d changes + pull page, warm:                           %llu"
           " (%.1f per change)\n", NCHANGES, (unsigned long long)warm,
           (double)warm / NCHANGES);
    printf("  pull of a 500-row page, nothing pushed, warm:                %llu\n",
           (unsigned long long)pull);
    printf("  of the warm push, under the counter's lock (FOR UPDATE to COMMIT): %u\n",
           under_lock);
    print_profile("pull of a 500-row page", pull);
    bench_result("roundtrips", "push100_pull_cold", "round_trips", (double)cold,
                 "count", NAN, NULL);
    bench_result("roundtrips", "push100_pull", "round_trips", (double)warm, "count",
                 NAN, NULL);
    bench_result("roundtrips", "push100_pull", "per_change",
                 (double)warm / NCHANGES, "count", NAN, NULL);
    bench_result("roundtrips", "pull500", "round_trips", (double)pull, "count", NAN,
                 NULL);
    bench_result("roundtrips", "push100_under_lock", "round_trips", (double)under_lock,
                 "count", NAN, NULL);
    tk_stop(&t);
    return 0;
}
