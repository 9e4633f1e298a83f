/*
 * bench_common.h - helpers shared by bench/sync and bench/load (compiled
 * into each; this folder has no CMakeLists.txt on purpose, so the bench
 * folder glob does not build it on its own).
 *
 *  - result lines: `BENCH <bench> <case> <metric> <value> <unit> ...` on
 *    stdout (the contract with bench/run.sh), human text on stderr;
 *  - clocks, percentiles, peak RSS of a process (VmHWM);
 *  - a temp dir that is removed with everything in it;
 *  - the real sync-server binary as a child process (start, wait for its
 *    "listening on" line, graceful stop, always reaped);
 *  - a central store populated quickly through the server library and the
 *    store API (reps, territories, enrollment codes, synthetic rows of
 *    customers / contacts / visits / quotes with fresh sequence numbers);
 *  - a raw-protocol device (fs_proto codec + a libcurl easy handle that keeps
 *    its connection): enroll and one sync round.
 *
 * Every helper exits the process with a message on an unexpected failure:
 * a bench that cannot set itself up has nothing to measure.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "fs_proto.h"
#include "fs_server.h"

/* ---- output and clocks ---- */

/* Prints one BENCH line. baseline/ratio are printed when baseline > 0;
 * target when non-NULL. */
void bc_result(const char *bench, const char *cs, const char *metric,
               double value, const char *unit, double baseline,
               const char *target);
/* Prints to stderr and exits 1. */
void bc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
double bc_now_ms(void); /* CLOCK_MONOTONIC */
void bc_sleep_ms(double ms);
/* Percentile p (0..100) of n samples (sorted in place), nearest-rank. */
double bc_percentile(double *v, size_t n, double p);

/* Peak resident set (VmHWM) of a live process in KiB; 0 if unreadable. */
long bc_vmhwm_kib(pid_t pid);
/* User + system CPU a live process has used so far (/proc), 0 if unknown. */
double bc_proc_cpu_ms(pid_t pid);
/* Raises RLIMIT_NOFILE's soft limit to `want` (or the hard limit). */
void bc_raise_nofile(rlim_t want);

/* xorshift64: deterministic data, independent of the libc. */
uint64_t bc_rnd(uint64_t *state);

/* ---- temp dir ---- */

typedef struct bc_tmp {
    char dir[128];
} bc_tmp;
void bc_tmp_make(bc_tmp *t, const char *tag);
/* dir/name into out. */
void bc_tmp_path(const bc_tmp *t, const char *name, char *out, size_t cap);
/* Removes every file in the dir (flat: the benches make no subdirs) and the
 * dir itself. */
void bc_tmp_remove(bc_tmp *t);

/* ---- sync-server child ---- */

typedef struct bc_server {
    pid_t pid;
    char url[128];     /* http://127.0.0.1:PORT */
    char log[256];     /* its stdout/stderr */
    double cpu_ms;     /* user + system CPU, set by bc_server_stop */
} bc_server;

/* Starts `bin --db db --listen 127.0.0.1 --port 0 --threads N serve` (extra:
 * NULL-terminated further options, may be NULL) and waits (at most 15 s)
 * for its "listening on" line. A db that is a PostgreSQL connection string
 * (key=value or postgres:// URI) is passed as --store instead. */
void bc_server_start(bc_server *s, const char *bin, const char *db,
                     unsigned threads, const char *const *extra,
                     const bc_tmp *tmp);
/* SIGTERM, wait up to 30 s (then SIGKILL); always reaps. Returns the exit
 * status (or -1 if it had to be killed). */
int bc_server_stop(bc_server *s);

/* ---- populating a central store ---- */

/* Rows generated per customer: 1 customer, 2 contacts, 4 visits, 1 quote. */
#define BC_ROWS_PER_CUSTOMER 8

typedef struct bc_scope {
    fs_id rep;
    char territory[32];
    fs_id *customers;  /* owned */
    fs_id *visits;     /* owned */
    size_t ncustomers, nvisits;
} bc_scope;
void bc_scope_free(bc_scope *sc);

/*
 * Creates the store at db (migrations through fss_server_open), adds
 * `nreps` reps, each in its own territory "t<i>", issues `codes_per_rep`
 * enrollment codes per rep (codes[rep * codes_per_rep + k], caller-sized),
 * closes the server and then writes `rows_per_rep` rows into each rep's
 * territory directly with fs_store_save (one transaction, one seq each,
 * fss_meta.seq advanced to match). scopes[] (nreps entries) gets each rep's
 * id and row ids. Rows are typical: ~200-byte visit notes, GPS, names.
 */
void bc_populate(const char *db, size_t nreps, size_t rows_per_rep,
                 size_t codes_per_rep, char (*codes)[FSS_CODE_LEN + 1],
                 bc_scope *scopes, uint64_t seed);

/* ---- raw-protocol device ---- */

typedef struct bc_device {
    CURL *h;           /* owned; keeps the device's connection alive */
    char url[128];     /* server base URL */
    fs_id id, rep;
    char token[FS_PROTO_TOKEN_MAX + 1];
    uint64_t cursor;
    fs_hlc clock;
} bc_device;

/* Result of one HTTP exchange. */
typedef struct bc_reply {
    long status;       /* 0 = network error (err says why) */
    char err[160];
    uint8_t *body;     /* owned, free() */
    size_t len;
    char cenc[32];
} bc_reply;

/* POSTs /v1/enroll with code; fills d (id, rep, token, clock) on 200.
 * Returns the HTTP status (0 = network error, text in err). */
long bc_device_enroll(bc_device *d, const char *url, const char *code,
                      char *err, size_t cap);
/* One POST /v1/sync carrying changes (borrowed) from d->cursor with page
 * size `page`. On 200, *resp is decoded (free with
 * fs_proto_sync_response_free) and d->cursor / d->clock advance. Returns
 * the HTTP status (0 = network error or undecodable answer; err says). */
long bc_device_sync(bc_device *d, fs_change *changes, size_t n, uint32_t page,
                    fs_sync_response *resp, char *err, size_t cap);
void bc_device_close(bc_device *d);
/* A fresh stamp from d's clock and the wall clock. */
fs_hlc bc_device_stamp(bc_device *d);
/* A change by d: text field `field` of row (entity) set to text. */
void bc_change_text(bc_device *d, fs_change *c, const char *entity,
                    const fs_id *row, const char *field, const char *text);

#endif /* BENCH_COMMON_H */
