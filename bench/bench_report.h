/*
 * bench_report.h - the one output format every bench executable shares.
 *
 * bench/run.sh runs each bench several times and aggregates what it prints.
 * A result is one line on stdout:
 *
 *   BENCH <bench> <case> <metric> <value> <unit> [baseline=<value>]
 *         [ratio=<value>] [target=<text>]
 *
 * (one line; wrapped here), e.g.
 *   BENCH merge 100k rows_per_s 41234.5 rows/s baseline=80211.0 ratio=0.514
 *   target=>=0.5x
 * Names, units and the target text contain no spaces. One process launch is
 * one repetition: a baseline is measured in the same launch as the figure it
 * is compared with. Human-readable text goes to stderr. Every bench accepts
 * `--quick` (small sizes, a smoke run) and otherwise uses the sizes of
 * issue #7. Header-only, so a bench needs no extra library.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Monotonic wall-clock seconds. */
static inline double bench_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* True when argv holds --quick. */
static inline bool bench_quick(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            return true;
    return false;
}

/* A number with enough digits for the table and none to spare. */
static inline void bench_num(char *out, size_t cap, double v)
{
    snprintf(out, cap, fabs(v) >= 100 ? "%.1f" : "%.3f", v);
}

/*
 * Prints one result line. `baseline` is NAN when the metric has none; the
 * ratio is value / baseline and printed with it. `target` (NULL = none) is
 * a text such as ">=0.5x" or "<=0.5x" about the ratio.
 */
static inline void bench_result(const char *bench, const char *bcase,
                                const char *metric, double value,
                                const char *unit, double baseline,
                                const char *target)
{
    char v[48], b[48];

    bench_num(v, sizeof v, value);
    printf("BENCH %s %s %s %s %s", bench, bcase, metric, v, unit);
    if (!isnan(baseline)) {
        bench_num(b, sizeof b, baseline);
        printf(" baseline=%s", b);
        if (baseline != 0)
            printf(" ratio=%.3f", value / baseline);
    }
    if (target)
        printf(" target=%s", target);
    printf("\n");
    fflush(stdout);
}

#endif /* BENCH_REPORT_H */
