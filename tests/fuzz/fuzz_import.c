/*
 * fuzz_import.c - libFuzzer target for the back-office import
 * (fss_admin_import): CSV and JSON, customers and products, against a real
 * central store (fuzz_store.c).
 *
 * Input layout: byte 0 picks the import (low 2 bits: 0 customer CSV,
 * 1 customer JSON, 2 product CSV, 3 product JSON; the seeds use the digits
 * '0'..'3' so they stay readable), the rest is the file. The placeholder rep
 * id of fuzz_fixture.h is swapped for the real rep's, so owner_rep columns
 * in the seeds name a rep that exists.
 *
 * Oracle, besides the sanitizers and the leak check: the import either
 * succeeds, or fails with EINVAL/EIMPORT and a message (never ENOMEM, EDB or
 * a silent failure); a failed import leaves the store as it was (the global
 * sequence, which every saved row bumps, and the row and conflict counts,
 * read on a second connection); the report is valid JSON that says whether
 * the rows were imported.
 */
#include "fs_server.h"
#include "fss_json.h"
#include "fuzz_fixture.h"
#include "fuzz_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Successful imports add rows; rebuilding the store now and then keeps
 * every input's work small. */
#define FZ_RESET_EVERY 5000

static fz_store z;
static sqlite3 *probe; /* read-only second connection for the snapshots */
static unsigned long inputs;

typedef struct snapshot {
    int64_t seq, customers, products, conflicts;
} snapshot;

static void world_open(void)
{
    fz_store_open(&z);
    if (sqlite3_open_v2(z.db, &probe, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fz_die("probe open", sqlite3_errmsg(probe));
}

static void world_close(void)
{
    sqlite3_close(probe);
    probe = NULL;
    fz_store_close(&z);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    world_open();
    atexit(world_close);
    return 0;
}

static snapshot snap(void)
{
    snapshot s = {0};
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(probe,
                           "SELECT (SELECT value FROM fss_meta WHERE key = 'seq'),"
                           " (SELECT count(*) FROM customer),"
                           " (SELECT count(*) FROM product),"
                           " (SELECT count(*) FROM fss_conflicts)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        fz_die("snapshot", sqlite3_errmsg(probe));
    s.seq = sqlite3_column_int64(st, 0);
    s.customers = sqlite3_column_int64(st, 1);
    s.products = sqlite3_column_int64(st, 2);
    s.conflicts = sqlite3_column_int64(st, 3);
    sqlite3_finalize(st);
    return s;
}

/* The report must be one JSON object whose "imported" says what happened. */
static void check_report(const fss_buf *report, bool imported)
{
    fsj doc;
    const fsj *flag;

    if (!report->data || fsj_parse(report->data, report->len, &doc, NULL) != FSS_OK)
        fz_die("report", "is not JSON");
    flag = fsj_get(&doc, "imported");
    if (doc.kind != FSJ_OBJ || !flag || flag->kind != FSJ_BOOL || flag->b != imported)
        fz_die("report", report->data);
    fsj_free(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const entity[] = {"customer", "customer", "product", "product"};
    static const char *const format[] = {"csv", "json", "csv", "json"};
    fss_buf report = {0};
    fs_error err = {0};
    snapshot before, after;
    fss_status st;
    unsigned sel;
    uint8_t *text;
    size_t len;

    if (size < 1)
        return 0;
    if (++inputs % FZ_RESET_EVERY == 0) {
        world_close();
        world_open();
    }
    sel = data[0] & 3u;
    len = size - 1;
    /* An exact-size copy without a NUL: reading past it is an ASan finding. */
    text = malloc(len ? len : 1);
    if (!text)
        fz_die("malloc", NULL);
    memcpy(text, data + 1, len);
    fz_replace(text, len, FZ_REP_PLACEHOLDER, z.rep_text, FS_ID_STRLEN);

    before = snap();
    st = fss_admin_import(z.s, entity[sel], format[sel], (const char *)text, len, &report,
                          &err);
    after = snap();
    if (getenv("FZ_TRACE"))
        fprintf(stderr, "fuzz_import: %s %s: %s %s %s\n", entity[sel], format[sel],
                fss_strerror(st), err.text, report.data ? report.data : "");
    if (st == FSS_OK) {
        check_report(&report, true);
    } else {
        if (st != FSS_EINVAL && st != FSS_EIMPORT)
            fz_die(fss_strerror(st), err.text);
        if (!err.text[0])
            fz_die("failed import", "without a message");
        if (memcmp(&before, &after, sizeof before) != 0)
            fz_die("failed import", "changed the store");
        if (st == FSS_EIMPORT)
            check_report(&report, false);
    }
    fss_buf_free(&report);
    free(text);
    return 0;
}
