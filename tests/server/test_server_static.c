/*
 * test_server_static.c - the console's files over HTTP (issue #15, point 1):
 * "/" and "/console/..." from the binary with their Content-Type,
 * Cache-Control and the console's Content-Security-Policy; "/vendor/..."
 * from a vendor root (a temp folder standing in for /usr/share/javascript)
 * with a missing package answered 404; and every path-traversal shape
 * refused before it reaches the file system (a file outside the packages
 * sits in the root to be found if the check breaks).
 */
#include "server_testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char vendor_dir[256];

static void write_file(const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", vendor_dir, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_vendor(void)
{
    char sub[512];

    snprintf(vendor_dir, sizeof vendor_dir, "/tmp/fs-static-XXXXXX");
    assert_non_null(mkdtemp(vendor_dir));
    snprintf(sub, sizeof sub, "%s/leaflet", vendor_dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/leaflet/images", vendor_dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file("leaflet/leaflet.js", "var L = {};\n");
    write_file("leaflet/leaflet.css", ".leaflet{}\n");
    write_file("leaflet/images/marker.png", "PNG");
    write_file("leaflet/.hidden.js", "SECRET-CONTENT\n");
    write_file("leaflet/notes.txt", "SECRET-CONTENT\n");
    /* Outside every package: reachable only through a traversal. */
    write_file("secret.js", "SECRET-CONTENT\n");
}

static void remove_vendor(void)
{
    char cmd[600];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", vendor_dir);
    assert_int_equal(system(cmd), 0);
}

static void vendor_cfg(fss_config *cfg)
{
    cfg->vendor_root = vendor_dir;
}

typedef struct static_case {
    const char *method, *path;
    int status;
    const char *ctype;  /* expected Content-Type (prefix), NULL: any */
    const char *cache;  /* expected Cache-Control, NULL: none set */
    const char *body;   /* a substring of the body, NULL: any */
} static_case;

static const static_case cases[] = {
    {"GET", "/", 200, "text/html; charset=utf-8", "no-cache", "<title>fieldsync console</title>"},
    {"HEAD", "/", 200, "text/html; charset=utf-8", "no-cache", NULL},
    {"GET", "/console/index.html", 200, "text/html; charset=utf-8", "no-cache", NULL},
    {"GET", "/console/app.js", 200, "text/javascript; charset=utf-8", "no-cache", "textContent"},
    {"GET", "/console/app.css", 200, "text/css; charset=utf-8", "no-cache", NULL},
    {"GET", "/console/nope.js", 404, "application/json", NULL, "no such file"},
    {"GET", "/console/", 404, "application/json", NULL, NULL},
    {"GET", "/console/sub/app.js", 404, "application/json", NULL, NULL},
    {"POST", "/", 405, "application/json", NULL, NULL},
    {"GET", "/vendor/leaflet/leaflet.js", 200, "text/javascript; charset=utf-8",
     "public, max-age=86400", "var L"},
    {"GET", "/vendor/leaflet/leaflet.css", 200, "text/css; charset=utf-8", NULL, ".leaflet"},
    {"GET", "/vendor/leaflet/images/marker.png", 200, "image/png", NULL, "PNG"},
    /* chart.js is not installed in this root: the page falls back to tables */
    {"GET", "/vendor/chart.js/chart.js", 404, "application/json", NULL, NULL},
    {"GET", "/vendor/leaflet/missing.js", 404, NULL, NULL, NULL},
    /* traversal and its cousins */
    {"GET", "/vendor/leaflet/../secret.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet/images/../../secret.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet/%2e%2e/secret.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet/..%2fsecret.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet/..\\secret.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet//leaflet.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet/./leaflet.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet/.hidden.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet/notes.txt", 404, NULL, NULL, NULL},
    {"GET", "/vendor/secret.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/../secret.js", 404, NULL, NULL, NULL},
    {"GET", "/vendor/leaflet", 404, NULL, NULL, NULL},
};

/* In process: status, type, cache and that the console headers are set. */
static void test_static_table(void **state)
{
    tk_server t;
    size_t i;

    (void)state;
    make_vendor();
    tk_start(&t, vendor_cfg);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const static_case *c = &cases[i];
        fss_request rq = {0};
        fss_response rs;

        rq.method = c->method;
        rq.path = c->path;
        rq.remote_addr = "127.0.0.1";
        fss_handle(t.s, &rq, &rs);
        if (rs.status != c->status)
            print_error("case %zu %s %s: status %d\n", i, c->method, c->path, rs.status);
        assert_int_equal(rs.status, c->status);
        if (c->status != 405)
            assert_true(rs.console_headers);
        if (c->ctype) {
            assert_non_null(rs.content_type);
            assert_int_equal(strncmp(rs.content_type, c->ctype, strlen(c->ctype)), 0);
        }
        if (c->status == 200)
            assert_non_null(rs.cache_control);
        if (c->cache)
            assert_string_equal(rs.cache_control, c->cache);
        if (c->status != 200)
            assert_null(rs.cache_control);
        if (c->body) {
            char *txt = calloc(1, rs.body_len + 1);
            assert_non_null(txt);
            memcpy(txt, rs.body, rs.body_len);
            if (!strstr(txt, c->body))
                print_error("case %zu %s: body %s\n", i, c->path, txt);
            assert_non_null(strstr(txt, c->body));
            free(txt);
        }
        if (c->status == 404 && rs.body_len) {
            char *txt = calloc(1, rs.body_len + 1);
            assert_non_null(txt);
            memcpy(txt, rs.body, rs.body_len);
            assert_null(strstr(txt, "SECRET-CONTENT"));
            free(txt);
        }
        fss_response_free(&rs);
    }
    tk_stop(&t);
    remove_vendor();
}

/* Over HTTP: the headers really go out (Content-Type, Cache-Control), and
 * the page names no script or style outside the server. */
static void test_static_http(void **state)
{
    tk_server t;
    tk_http r;
    char *page;

    (void)state;
    make_vendor();
    tk_start(&t, vendor_cfg);
    tk_request(&t, "GET", "/", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_string_equal(r.cache_control, "no-cache");
    page = calloc(1, r.len + 1);
    assert_non_null(page);
    memcpy(page, r.body, r.len);
    assert_non_null(strstr(page, "src=\"/console/app.js\""));
    assert_null(strstr(page, "http://"));
    assert_null(strstr(page, "https://"));
    assert_null(strstr(page, "<script>")); /* no inline script: the CSP forbids it */
    assert_null(strstr(page, "style=\""));
    free(page);
    tk_http_free(&r);
    tk_request(&t, "GET", "/vendor/leaflet/leaflet.js", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
    assert_string_equal(r.cache_control, "public, max-age=86400");
    tk_http_free(&r);
    tk_stop(&t);
    remove_vendor();
}

/* The exact policy sent (a weaker one must be a deliberate edit here). */
static void test_static_csp(void **state)
{
    (void)state;
    assert_string_equal(FSS_CONSOLE_CSP,
                        "default-src 'self'; script-src 'self'; style-src 'self'; "
                        "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_table),
        cmocka_unit_test(test_static_http),
        cmocka_unit_test(test_static_csp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
