/*
 * bench_sync_client.c - the measured client of bench_sync's bootstrap: a
 * process that links libfieldclient and nothing else of the project, so its
 * peak RSS is what a field client needs (bench_sync reads it with wait4).
 *
 * Usage: bench_sync_client REPLICA SERVER-URL CODE RESULT-FILE
 * Opens an empty replica, enrolls with CODE, runs one fc_sync (the whole
 * bootstrap) and writes "<rows pulled> <fc_sync wall ms> <VmHWM KiB before
 * fc_sync>" to RESULT-FILE. Exit 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldclient.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long vmhwm_kib(void)
{
    char line[256];
    long kib = 0;
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    fc_client *c = NULL;
    fc_sync_report rep;
    fs_error err = {0};
    FILE *f;
    long before;
    double t0, t1;

    if (argc != 5) {
        fprintf(stderr, "usage: bench_sync_client REPLICA URL CODE RESULT\n");
        return 2;
    }
    if (fc_open(argv[1], NULL, &c, &err) != FC_OK ||
        fc_enroll(c, argv[2], argv[3], "bench laptop", &err) != FC_OK) {
        fprintf(stderr, "bench_sync_client: %s\n", err.text);
        fc_close(c);
        return 1;
    }
    before = vmhwm_kib();
    t0 = now_ms();
    if (fc_sync(c, NULL, NULL, &rep, &err) != FC_OK) {
        fprintf(stderr, "bench_sync_client: fc_sync: %s\n", err.text);
        fc_close(c);
        return 1;
    }
    t1 = now_ms();
    fc_close(c);
    f = fopen(argv[4], "w");
    if (!f)
        return 1;
    fprintf(f, "%zu %.3f %ld\n", rep.totals.rows, t1 - t0, before);
    return fclose(f) == 0 ? 0 : 1;
}
