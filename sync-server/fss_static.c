/*
 * fss_static.c - the back-office console's files over HTTP: "/" is the
 * console's index.html, "/console/NAME" its other files (compiled into the
 * binary, fss_static.h), "/vendor/leaflet/..." and "/vendor/chart.js/..."
 * the third-party scripts Debian's libjs-leaflet and libjs-chart.js
 * install under cfg.vendor_root (404 when the package is absent: the page
 * then shows tables instead of a map or chart).
 *
 * Every answer carries the console's Content-Security-Policy (fss_int.h).
 * A vendor path is checked segment by segment before it touches the file
 * system: only [A-Za-z0-9._-] characters, no empty segment and no segment
 * beginning with '.', so "..", hidden files and encoded tricks (the '%' of
 * an escape that libmicrohttpd did not decode, a backslash) never reach
 * open(); and only regular files with a known extension are served.
 */
#include "fss_int.h"
#include "fss_static.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VENDOR_MAX_BYTES (8u << 20)

static const char *const vendor_pkgs[] = {"leaflet", "chart.js", NULL};

bool fss__static_path(const char *path)
{
    return path && (strcmp(path, "/") == 0 ||
                    strncmp(path, "/console/", 9) == 0 ||
                    strncmp(path, "/vendor/", 8) == 0);
}

static void not_found(fss_response *resp, const char *path)
{
    fss__error_json(resp, 404, "no such file %s", path);
    resp->console_headers = true;
}

static void respond_bytes(fss_response *resp, const char *ctype,
                          const unsigned char *data, size_t len,
                          const char *cache)
{
    fss_buf b = {0};

    fss_buf_add(&b, data, len);
    fss__respond_buf(resp, 200, ctype, &b);
    resp->cache_control = cache;
    resp->console_headers = true;
}

static const fss_static_file *console_file(const char *name)
{
    const fss_static_file *f;

    for (f = fss_console_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* The Content-Type of a vendor file by its extension, NULL to refuse it. */
static const char *vendor_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    size_t i;

    if (!dot || strchr(dot, '/'))
        return NULL;
    for (i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* True when rel ("pkg/dir/file.js") is safe to join under the root. */
static bool vendor_rel_ok(const char *rel)
{
    const char *p = rel, *seg = rel;
    size_t i;
    bool pkg_ok = false;

    if (strlen(rel) > 200)
        return false;
    for (i = 0; vendor_pkgs[i]; i++) {
        size_t n = strlen(vendor_pkgs[i]);
        if (strncmp(rel, vendor_pkgs[i], n) == 0 && rel[n] == '/')
            pkg_ok = true;
    }
    if (!pkg_ok)
        return false;
    for (;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == seg || *seg == '.')
                return false; /* empty, "..", "." or hidden */
            if (*p == '\0')
                return true;
            seg = p + 1;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            return false;
    }
}

static void serve_vendor(fss_server *s, const char *path, fss_response *resp)
{
    const char *rel = path + 8; /* after "/vendor/" */
    const char *ctype = vendor_type(rel);
    const char *root = s->cfg.vendor_root ? s->cfg.vendor_root : "";
    char full[1024];
    struct stat st;
    fss_buf b = {0};
    int fd = -1;
    ssize_t got;

    if (!ctype || !vendor_rel_ok(rel) || !root[0] ||
        snprintf(full, sizeof full, "%s/%s", root, rel) >= (int)sizeof full) {
        not_found(resp, path);
        return;
    }
    fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > (off_t)VENDOR_MAX_BYTES) {
        not_found(resp, path);
        goto done;
    }
    if (st.st_size > 0) {
        uint8_t *data = malloc((size_t)st.st_size);
        size_t have = 0;
        if (!data) {
            fss__error_json(resp, 500, "out of memory");
            goto done;
        }
        while (have < (size_t)st.st_size &&
               (got = read(fd, data + have, (size_t)st.st_size - have)) > 0)
            have += (size_t)got;
        fss_buf_add(&b, data, have);
        free(data);
    }
    fss__respond_buf(resp, 200, ctype, &b);
    /* Debian's copies change only with a package upgrade. */
    resp->cache_control = "public, max-age=86400";
    resp->console_headers = true;
done:
    if (fd >= 0)
        close(fd);
}

void fss__handle_static(fss_server *s, const fss_request *req,
                        fss_response *resp)
{
    const fss_static_file *f = NULL;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        fss__error_json(resp, 405, "use GET");
        return;
    }
    if (strncmp(req->path, "/vendor/", 8) == 0) {
        serve_vendor(s, req->path, resp);
        return;
    }
    if (strcmp(req->path, "/") == 0)
        f = console_file("index.html");
    else if (strchr(req->path + 9, '/') == NULL)
        f = console_file(req->path + 9);
    if (!f) {
        not_found(resp, req->path);
        return;
    }
    /* "no-cache": the browser revalidates, so an upgraded binary's console
     * is used at once; nothing in these files is private. */
    respond_bytes(resp, f->content_type, f->data, f->len, "no-cache");
}
