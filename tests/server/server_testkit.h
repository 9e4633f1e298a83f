/*
 * server_testkit.h - helpers for the sync-server integration tests: a server
 * on 127.0.0.1 with an ephemeral port and a temporary store, an HTTP client
 * (libcurl), enrollment and sync rounds through the proto codec, and change
 * builders. Every loop in the tests is bounded; every helper asserts.
 */
#ifndef SERVER_TESTKIT_H
#define SERVER_TESTKIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fs_proto.h"
#include "fs_server.h"

#define TK_ADMIN_TOKEN "test-admin-token"

typedef struct tk_server {
    char dir[256];
    char db[300];
    char pg_db[64];     /* the test's own PostgreSQL database, or "" */
    char store[1024];   /* its conninfo (cfg.store) */
    fss_config cfg;
    fss_server *s;
    char base[160]; /* http://127.0.0.1:PORT */
} tk_server;

/* The PostgreSQL variant of a test (ctest runs it with FS_TEST_STORE=pg):
 * every server the test starts keeps its store in a database of its own,
 * created on the cluster FS_TEST_PG names (a libpq key=value connection
 * string) and dropped by tk_stop, so tests run in parallel. Without
 * FS_TEST_PG the variant says so loudly and passes (the test kit checks
 * this before main). */
bool tk_pg(void);
/* Creates a fresh database on FS_TEST_PG; its conninfo into out. */
void tk_pg_create(char *name, size_t name_cap, char *out, size_t cap);
void tk_pg_drop(const char *name);

/* A second connection to the store t's server uses (SQLite file or the
 * test's PostgreSQL database), through the SQL driver (fss_sql.h), for
 * checks that read the tables directly. The caller closes it. */
struct fss_sql *tk_sql(tk_server *t);

/* Opens and starts a server; cfg_edit (optional) adjusts the config. */
void tk_start(tk_server *t, void (*cfg_edit)(fss_config *cfg));
void tk_stop(tk_server *t); /* stops, closes, removes the temp dir */

typedef struct tk_http {
    long status;
    uint8_t *body;
    size_t len;
    char content_type[128];
    char content_encoding[32];
    char retry_after[16];
    char set_cookie[256];
    char cache_control[64];
    char next_cursor[32];         /* Fieldsync-Next-Cursor, "" = absent */
} tk_http;
void tk_http_free(tk_http *r);

/* One request; headers are "Name: value" strings, NULL-terminated list. */
void tk_request(tk_server *t, const char *method, const char *path,
                const char *const *headers, const void *body, size_t len,
                tk_http *out);

typedef struct tk_device {
    fs_id id, rep;
    char token[FS_PROTO_TOKEN_MAX + 1];
    uint64_t cursor;
    fs_hlc clock;
    /* Added to the wall clock the device's stamps tick from (ms): a device
     * "offline an hour ago" is behind by that much, whatever the second
     * its test runs in. */
    int64_t skew_ms;
    bool count_pending; /* tk_sync asks for fs_sync_response.pending */
    /* tk_sync reports these as the outbox (SyncRequest 12, 13) when
     * report; otherwise it reports nothing, as an older client. */
    bool report;
    uint32_t outbox_pending, rejected_held;
} tk_device;

/* Adds a rep (in territory, if non-NULL; the territory is created). */
fs_id tk_rep(tk_server *t, const char *name, const char *territory);
/* Issues a code and enrolls a device for rep over HTTP (asserts 200). */
void tk_enroll(tk_server *t, const fs_id *rep, tk_device *d);
/* POST /v1/enroll with a given code; returns the HTTP status and fills the
 * error body (if non-2xx). */
long tk_enroll_code(tk_server *t, const char *code, tk_device *d,
                    fs_error_body *eb);

/* One sync round. Returns the HTTP status; on 200 *resp is decoded (free
 * with fs_proto_sync_response_free), otherwise *eb is. The device's cursor
 * is NOT advanced (tests decide). batch may be NULL (random id). */
long tk_sync(tk_server *t, const tk_device *d, const fs_id *batch,
             fs_change *changes, size_t n, uint64_t cursor, uint32_t page,
             fs_proto_encoding enc, fs_sync_response *resp, fs_error_body *eb);
/* Syncs with no changes until has_more is false (bounded), advancing
 * d->cursor; returns the total rows and counts rows of entity `count_entity`
 * whose id is `watch` into *seen (optional). */
size_t tk_pull_all(tk_server *t, tk_device *d, const fs_id *watch,
                   size_t *seen, size_t *exits_seen, fs_exit_reason *last_exit);

/* A change by device d on entity/row; fields set with tk_set_*. */
void tk_change(fs_change *c, tk_device *d, const char *entity, const fs_id *row);
void tk_set_text(fs_change *c, tk_device *d, const char *field, const char *v);
void tk_set_int(fs_change *c, tk_device *d, const char *field, int64_t v);
void tk_set_real(fs_change *c, tk_device *d, const char *field, double v);
void tk_set_id(fs_change *c, tk_device *d, const char *field, const fs_id *v);
fs_id tk_new_id(void);

/* Imports customers from JSON through the admin function (asserts OK). */
void tk_import(tk_server *t, const char *entity, const char *json);
/* Creates one customer in territory / owned by rep (either may be NULL). */
fs_id tk_customer(tk_server *t, const char *name, const char *territory,
                  const fs_id *owner, double lat, double lon);

/* Starts t with rep Alice (territory north) and customer Greenfield (*cust),
 * enrolls devices a and b, and builds two unsent changes to its phone: *ca
 * ("new", a's clock) and *cb ("old", stamped a minute earlier on b), so the
 * server records a stale-write conflict when ca is synced before cb. */
void tk_stale_phone_writes(tk_server *t, tk_device *a, tk_device *b,
                           fs_id *cust, fs_change *ca, fs_change *cb);

/* Decodes an ErrorBody from an HTTP answer (asserts it decodes). */
void tk_error_body(const tk_http *r, fs_error_body *eb);
/* Finds a pulled row by id; NULL if absent. */
const fs_pulled_row *tk_find_row(const fs_sync_response *r, const fs_id *id);
/* Text value of a field in a row, or NULL. */
const char *tk_row_text(const fs_row *row, const char *field);
/* Counts a JSON substring in an admin list (cheap checks). */
size_t tk_count(const char *hay, const char *needle);

#endif /* SERVER_TESTKIT_H */
