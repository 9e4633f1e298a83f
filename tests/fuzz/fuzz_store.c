/*
 * fuzz_store.c - the temporary central store behind fuzz_sync and
 * fuzz_import (see fuzz_store.h).
 *
 * The store lives in /dev/shm when it exists: the server has no setting to
 * turn syncing off (it runs WAL with synchronous=NORMAL, so checkpoints
 * still fsync), and on a tmpfs those cost nothing; fuzz_sync then runs about
 * 4,000 inputs per second on an idle core. The limits are lowered so the
 * fuzzer reaches the size checks with small inputs.
 */
#include "fuzz_store.h"

#include "fuzz_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void fz_die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void temp_dir(fz_store *z)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

    snprintf(z->dir, sizeof z->dir, "%s/fieldsync-fuzz-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(z->dir))
        fz_die("mkdtemp", z->dir);
    snprintf(z->db, sizeof z->db, "%s/central.db", z->dir);
}

static void import_json(fz_store *z, const char *entity, const char *json)
{
    fss_buf report = {0};
    fs_error err = {0};

    if (fss_admin_import(z->s, entity, "json", json, strlen(json), &report, &err) != FSS_OK)
        fz_die("fixture import", report.data ? report.data : err.text);
    fss_buf_free(&report);
}

/* The fixed rows of fuzz_fixture.h, with the rep's real id as owner. */
static void fixed_rows(fz_store *z)
{
    char json[1024], north[FS_ID_STRLEN + 1], owned[FS_ID_STRLEN + 1],
        south[FS_ID_STRLEN + 1], product[FS_ID_STRLEN + 1];
    fs_id id;

    fz_id(FZ_CUST_NORTH, &id);
    fs_id_format(&id, north);
    fz_id(FZ_CUST_OWNED, &id);
    fs_id_format(&id, owned);
    fz_id(FZ_CUST_SOUTH, &id);
    fs_id_format(&id, south);
    fz_id(FZ_PRODUCT, &id);
    fs_id_format(&id, product);
    snprintf(json, sizeof json,
             "[{\"id\":\"%s\",\"name\":\"Bäckerei Nord\",\"lat\":52.52,\"lon\":13.405,"
             "\"territory\":\"north\"},"
             "{\"id\":\"%s\",\"name\":\"Owned GmbH\",\"lat\":48.137,\"lon\":11.575,"
             "\"owner_rep\":\"%s\"},"
             "{\"id\":\"%s\",\"name\":\"Süd AG\",\"lat\":47.37,\"lon\":8.54,"
             "\"territory\":\"south\"}]",
             north, owned, z->rep_text, south);
    import_json(z, "customer", json);
    snprintf(json, sizeof json,
             "[{\"id\":\"%s\",\"sku\":\"SKU-1\",\"name\":\"Widget\",\"price\":1999,"
             "\"currency\":\"EUR\"}]", product);
    import_json(z, "product", json);
}

void fz_store_open(fz_store *z)
{
    fss_config cfg;
    fs_error err = {0};

    memset(z, 0, sizeof *z);
    temp_dir(z);
    fss_config_default(&cfg);
    cfg.db_path = z->db;
    cfg.threads = 1;
    /* Bad tokens and codes are most of what the fuzzer sends: without this
     * the per-address limit would answer 429 to everything after ten. */
    cfg.auth_fail_limit = 0;
    cfg.max_body = 64 * 1024;
    cfg.max_inflated = 256 * 1024;
    cfg.page_size = 50;
    cfg.max_page_size = 200;
    if (fss_server_open(&cfg, &z->s, &err) != FSS_OK)
        fz_die("server open", err.text);
    if (fss_admin_rep_add(z->s, "Fuzz Rep", "rep@example.com", &z->rep, &err) != FSS_OK ||
        fss_admin_territory_add(z->s, "north", "North", &err) != FSS_OK ||
        fss_admin_territory_add(z->s, "south", "South", &err) != FSS_OK ||
        fss_admin_rep_territory(z->s, &z->rep, "north", true, &err) != FSS_OK)
        fz_die("fixture admin", err.text);
    fs_id_format(&z->rep, z->rep_text);
    fixed_rows(z);
}

void fz_store_close(fz_store *z)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char path[400];

    if (!z->s)
        return;
    fss_server_close(z->s);
    z->s = NULL;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(path, sizeof path, "%s%s", z->db, suffix[i]);
        unlink(path);
    }
    rmdir(z->dir);
}

void fz_replace(uint8_t *buf, size_t n, const void *from, const void *to,
                size_t len)
{
    size_t i = 0;

    while (len && n >= len && i <= n - len) {
        if (memcmp(buf + i, from, len) == 0) {
            memcpy(buf + i, to, len);
            i += len;
        } else {
            i++;
        }
    }
}
