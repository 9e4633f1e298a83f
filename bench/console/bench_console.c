/*
 * bench_console.c - the console's list endpoints on a big store: 10
 * territories of 12,500 customers (125,000 customers, each with 4
 * completed visits: 500,000 visits, plus contacts and quotes; written
 * straight into the store by bc_populate), the queries run in process
 * through fss_handle (the admin routing, the repository, the JSON or CSV
 * writing; no sockets), each 15 times, median reported. One page of 50
 * rows with a filter, as an admin (bearer token) and as a manager of one
 * territory (a session: the territory restriction in every query).
 * Target (issue #15): median under 100 ms per list endpoint.
 * --quick: 2 territories (25,000 customers, 100,000 visits).
 * --store CONNINFO: the same lists again on PostgreSQL, the populated
 * store copied there first with the server's own copy-store (cases
 * prefixed pg_).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_report.h"
#include "bench_common.h"
#include "fss_repo.h"

#define RUNS 15
#define TOKEN "bench-token"

static int call(fss_server *s, const char *method, const char *path, const char *query,
                const char *cookie, const char *body)
{
    char authz[64];
    fss_request rq = {0};
    fss_response rs;
    int status;

    snprintf(authz, sizeof authz, "Bearer %s", TOKEN);
    rq.method = method;
    rq.path = path;
    rq.query = query;
    rq.remote_addr = "192.0.2.7";
    if (cookie)
        rq.cookie = cookie;
    else
        rq.authorization = authz;
    if (body) {
        rq.content_type = "application/json";
        rq.body = (const uint8_t *)body;
        rq.body_len = strlen(body);
    }
    fss_handle(s, &rq, &rs);
    status = rs.status;
    if (status != 200)
        bc_die("%s %s?%s: HTTP %d %.*s", method, path, query ? query : "", status,
               (int)rs.body_len, (const char *)rs.body);
    fss_response_free(&rs);
    return status;
}

static const struct {
    const char *name, *path, *query;
} lists[] = {
    {"customers_territory", "/admin/v1/customers", "territory=t1&limit=50"},
    {"customers_search", "/admin/v1/customers", "q=market street 1&limit=50"},
    {"customers_csv", "/admin/v1/customers", "territory=t1&limit=50&format=csv"},
    {"visits_territory", "/admin/v1/visits", "territory=t1&limit=50"},
    {"visits_date", "/admin/v1/visits", "from=2020-01-01&to=2030-12-31&limit=50"},
    {"visits_territory_page20", "/admin/v1/visits", "territory=t1&limit=50&offset=1000"},
    /* the same page 21 by keyset: the cursor of page 20 is appended */
    {"visits_territory_cursor20", "/admin/v1/visits", "territory=t1&limit=50"},
    {"quotes_status", "/admin/v1/quotes", "status=sent&limit=50"},
    {"customers_search_all", "/admin/v1/customers", "q=market street&limit=50"},
    {"devices", "/admin/v1/devices", "limit=50"},
    {"conflicts_open", "/admin/v1/conflicts", "status=open&limit=50"},
    {"today", "/admin/v1/today", NULL},
};

/* The next_cursor of GET path?query (page 20 of a cursor case) appended
 * to q as "&cursor=...". */
static void append_cursor(fss_server *s, const char *path, const char *cookie, char *q,
                          size_t cap)
{
    char authz[64], page[200];
    fss_request rq = {0};
    fss_response rs;
    const char *p, *end;
    char *body;

    snprintf(authz, sizeof authz, "Bearer %s", TOKEN);
    snprintf(page, sizeof page, "%s&offset=950", q);
    rq.method = "GET";
    rq.path = path;
    rq.query = page;
    rq.remote_addr = "192.0.2.7";
    if (cookie)
        rq.cookie = cookie;
    else
        rq.authorization = authz;
    fss_handle(s, &rq, &rs);
    if (!(body = malloc(rs.body_len + 1)))
        bc_die("out of memory");
    memcpy(body, rs.body, rs.body_len);
    body[rs.body_len] = '\0';
    p = strstr(body, "\"next_cursor\":\"");
    end = p ? strchr(p + 15, '"') : NULL;
    if (rs.status != 200 || !p || !end)
        bc_die("%s?%s: no next_cursor (HTTP %d)", path, page, rs.status);
    snprintf(q + strlen(q), cap - strlen(q), "&cursor=%.*s", (int)(end - p - 15), p + 15);
    free(body);
    fss_response_free(&rs);
}

/* Logs in the manager of t0 (made on the first store) and runs every list
 * as the admin and as that manager; cases prefixed with `prefix`. */
static void run_lists(fss_server *s, const char *prefix, bool add_user)
{
    const char *terr[] = {"t0", NULL};
    char cookie[128] = "";
    fs_error err = {0};

    if (add_user &&
        fss_user_add(s, "bench-manager", "manager", terr, "bench password", "bench", &err) !=
            FSS_OK)
        bc_die("user: %s", err.text);
    {
        fss_request rq = {0};
        fss_response rs;
        const char *body = "{\"name\":\"bench-manager\",\"password\":\"bench password\"}";
        const char *semi;
        rq.method = "POST";
        rq.path = "/admin/v1/login";
        rq.content_type = "application/json";
        rq.body = (const uint8_t *)body;
        rq.body_len = strlen(body);
        fss_handle(s, &rq, &rs);
        semi = strchr(rs.set_cookie, ';');
        if (rs.status != 200 || !semi)
            bc_die("login: HTTP %d", rs.status);
        snprintf(cookie, sizeof cookie, "%.*s", (int)(semi - rs.set_cookie), rs.set_cookie);
        fss_response_free(&rs);
    }
    for (int who = 0; who < 2; who++) {
        for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
            double ms[RUNS];
            char name[128], q[160];
            /* The manager of t0 asks about t0 (t1 would be empty). */
            snprintf(q, sizeof q, "%s", lists[i].query ? lists[i].query : "");
            if (who == 1 && strstr(q, "territory=t1"))
                strstr(q, "territory=t1")[11] = '0';
            if (strstr(lists[i].name, "cursor"))
                append_cursor(s, lists[i].path, who ? cookie : NULL, q, sizeof q);
            for (int r = 0; r < RUNS; r++) {
                double t0 = bc_now_ms();
                call(s, "GET", lists[i].path, q[0] ? q : NULL, who ? cookie : NULL, NULL);
                ms[r] = bc_now_ms() - t0;
            }
            snprintf(name, sizeof name, "%s%s_%s", prefix, who ? "manager" : "admin",
                     lists[i].name);
            bc_result("console", name, "median_ms", bc_percentile(ms, RUNS, 50), "ms", 0,
                      "<100");
        }
    }
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *pg = NULL;
    size_t nreps, rows = 100000;
    bc_tmp tmp;
    char db[512];
    bc_scope *scopes;
    fss_config cfg;
    fss_server *s = NULL, *p = NULL;
    fs_error err = {0};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            pg = argv[++i];
        else
            bc_die("usage: bench_console [--quick] [--store POSTGRES-CONNINFO]");
    }
    nreps = quick ? 2 : 10;
    if (!(scopes = calloc(nreps, sizeof *scopes)))
        bc_die("out of memory");
    bc_tmp_make(&tmp, "console");
    bc_tmp_path(&tmp, "central.db", db, sizeof db);
    {
        double t0 = bc_now_ms();
        bc_populate(db, nreps, rows, 0, NULL, scopes, 0xc0501e);
        bc_result("console", "populate", "ms", bc_now_ms() - t0, "ms", 0, NULL);
    }
    fss_config_default(&cfg);
    cfg.db_path = db;
    cfg.admin_token = TOKEN;
    {
        /* Opening migrates: the list indexes are built here. */
        double t0 = bc_now_ms();
        if (fss_server_open(&cfg, &s, &err) != FSS_OK)
            bc_die("open: %s", err.text);
        bc_result("console", "open_migrate", "ms", bc_now_ms() - t0, "ms", 0, NULL);
    }
    {
        /* bc_populate writes the rows straight into the store, past the
         * server's save path: the customer search's folded text is built
         * here as the migration does for an existing store. */
        fss_conn *c = fss__conn_get(s, 10000);
        double t0 = bc_now_ms();
        if (!c || fss__begin_immediate(c, &err) != FSS_OK ||
            fss__repo_search_backfill(c, &err) != FSS_OK || fss__commit(c, &err) != FSS_OK)
            bc_die("search backfill: %s", err.text);
        fss__conn_put(s, c);
        bc_result("console", "search_backfill", "ms", bc_now_ms() - t0, "ms", 0, NULL);
        /* Reopened, as after the migration: opening runs ANALYZE, so the
         * planner knows the search table is not empty. */
        fss_server_close(s);
        if (fss_server_open(&cfg, &s, &err) != FSS_OK)
            bc_die("reopen: %s", err.text);
    }
    run_lists(s, "", true);
    if (pg) {
        fss_config pcfg = cfg;
        fss_copy_report rep;
        double t0 = bc_now_ms();
        pcfg.store = pg;
        if (fss_server_open(&pcfg, &p, &err) != FSS_OK)
            bc_die("open %s: %s", pg, err.text);
        if (fss_copy_store(s, p, &rep, &err) != FSS_OK)
            bc_die("copy-store: %s", err.text);
        bc_result("console", "pg_copy", "ms", bc_now_ms() - t0, "ms", 0, NULL);
        run_lists(p, "pg_", false);
        fss_server_close(p);
    }
    fss_server_close(s);
    for (size_t i = 0; i < nreps; i++)
        bc_scope_free(&scopes[i]);
    free(scopes);
    if (getenv("BENCH_CONSOLE_KEEP"))
        fprintf(stderr, "kept %s\n", db); /* for EXPLAIN QUERY PLAN by hand */
    else
        bc_tmp_remove(&tmp);
    return 0;
}
