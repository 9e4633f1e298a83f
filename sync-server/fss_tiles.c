/*
 * fss_tiles.c - the visit map's tile URL (--map-tiles, issue #15): checked
 * once when the server opens, and turned into the console's
 * Content-Security-Policy with that one origin added to img-src, so the
 * page may load tiles from the server the operator chose and from nowhere
 * else. Without --map-tiles the console keeps FSS_CONSOLE_CSP and the map
 * shows its points on a plain background.
 *
 * The URL ends up inside a header, so it is held to a strict shape before
 * any of it is copied there: http:// or https://, a host of letters,
 * digits, dots, hyphens (and a :port), then a path of URL characters
 * holding {z}, {x} and {y}; no space, quote, comma or semicolon, which
 * could end the CSP directive or header.
 */
#include "fss_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TILES_MAX 512

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
}

/* URL characters a tile template needs (RFC 3986 unreserved and a few
 * delimiters, plus the braces of {z}/{x}/{y}); never ' " , ; or space. */
static bool path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~/?&=%{}+!*()@", c) != NULL;
}

fss_status fss__tiles_csp(const char *url, char **csp, fs_error *err)
{
    const char *host, *path;
    size_t n, origin_len;
    fss_buf b = {0};

    *csp = NULL;
    n = strlen(url);
    if (n > TILES_MAX)
        return fss__fail(err, FSS_EINVAL, "map-tiles: longer than %d bytes", TILES_MAX);
    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else
        return fss__fail(err, FSS_EINVAL,
                         "map-tiles \"%.80s\": must start with http:// or https://", url);
    for (path = host; *path && *path != '/'; path++)
        if (!host_char(*path))
            return fss__fail(err, FSS_EINVAL,
                             "map-tiles \"%.80s\": the host holds '%c'", url, *path);
    if (path == host || *path != '/')
        return fss__fail(err, FSS_EINVAL, "map-tiles \"%.80s\": no host and path", url);
    for (const char *p = path; *p; p++)
        if (!path_char(*p))
            return fss__fail(err, FSS_EINVAL,
                             "map-tiles \"%.80s\": the path holds '%c'", url, *p);
    if (!strstr(path, "{z}") || !strstr(path, "{x}") || !strstr(path, "{y}"))
        return fss__fail(err, FSS_EINVAL,
                         "map-tiles \"%.80s\": needs {z}, {x} and {y} in the path", url);
    origin_len = (size_t)(path - url);
    /* FSS_CONSOLE_CSP with the origin after img-src's 'self' data:. */
    {
        static const char csp_base[] = FSS_CONSOLE_CSP;
        const char *img = strstr(csp_base, "img-src 'self' data:");
        size_t head;
        if (!img)
            return fss__fail(err, FSS_EINVAL, "map-tiles: the CSP has no img-src");
        head = (size_t)(img - csp_base) + strlen("img-src 'self' data:");
        fss_buf_add(&b, csp_base, head);
        fss_buf_puts(&b, " ");
        fss_buf_add(&b, url, origin_len);
        fss_buf_puts(&b, csp_base + head);
    }
    if (b.oom) {
        fss_buf_free(&b);
        return fss__fail(err, FSS_ENOMEM, "map-tiles");
    }
    *csp = b.data;
    return FSS_OK;
}
